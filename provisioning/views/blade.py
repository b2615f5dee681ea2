"""The blade around every page of one application: breadcrumb, left menu and header."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from ..models import Application
from .access import can_change

# (menu key, URL name, label, section)
APPLICATION_MENU = (
    ("overview", "application-overview", _("Overview"), ""),
    ("users-and-groups", "users-and-groups", _("Users and groups"), _("Manage")),
    ("single-sign-on", "single-sign-on", _("Single sign-on"), _("Manage")),
    ("provisioning", "provisioning", _("Provisioning"), _("Manage")),
    ("reconcile", "reconcile", _("Reconcile"), _("Manage")),
    ("provisioning-logs", "provisioning-logs", _("Provisioning logs"), _("Activity")),
    ("audit-logs", "audit-logs", _("Audit logs"), _("Activity")),
    ("insights", "insights", _("Insights"), _("Activity")),
)


def get_application(application_id: int) -> Application:
    return get_object_or_404(
        Application.objects.select_related("provisioning_job"), pk=application_id
    )


def blade_context(request: HttpRequest, application: Application, active: str, **extra) -> dict:
    """What ``provisioning/application_base.html`` needs, plus the page's own context."""
    sections: list[dict] = []
    for key, url_name, label, section in APPLICATION_MENU:
        if not sections or sections[-1]["title"] != section:
            sections.append({"title": section, "items": []})
        sections[-1]["items"].append(
            {"key": key, "url_name": url_name, "label": label, "active": key == active}
        )
    page_title = next((str(label) for key, _n, label, _s in APPLICATION_MENU if key == active), "")
    return {
        "application": application,
        "job": application.provisioning_job,
        "gallery_template": application.template,
        "menu_sections": sections,
        "active_page": active,
        "page_title": extra.pop("page_title", page_title),
        "can_change": can_change(request.user),
        **extra,
    }
