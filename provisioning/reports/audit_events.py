"""Audit events the reports package writes (F25, issue 11): sign-ins, Test Connection, and every
change made through the Django admin. All go through ``services.audit.record_audit``, the one place
that writes audit events (and redacts)."""

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db import models

from ..choices import AuditActivity
from ..connectors.base import ConnectionTestResult
from ..models import Application, ProvisioningJob
from ..services.audit import record_audit

AUDITED_ADMIN_APPS = frozenset({"provisioning", "auth"})
MAX_USERNAME = 150


def _client_address(request) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _channel(request) -> str:
    path = getattr(request, "path", "") or ""
    return "admin" if path.startswith("/admin/") else "portal"


def record_sign_in(request, user) -> None:
    record_audit(
        AuditActivity.SIGN_IN,
        actor=user,
        target=user.get_username(),
        after={"address": _client_address(request)},
        channel=_channel(request),
    )


def record_test_connection(
    job: ProvisioningJob, actor, submitted: Mapping[str, Any], result: ConnectionTestResult
) -> None:
    """Who, when (the event's date), against which URL, and the result; never a secret."""
    template = job.application.template
    endpoint = {
        field.name: str(submitted.get(field.name) or job.credentials.get(field.name) or "")
        for field in template.credential_fields
        if not field.secret
    }
    url = next(
        (endpoint[f.name] for f in template.credential_fields if f.kind == "url" and not f.secret),
        "",
    )
    record_audit(
        AuditActivity.TEST_CONNECTION,
        actor=actor,
        application=job.application,
        target=url,
        after={
            **endpoint,
            "result": "Success" if result.ok else "Failure",
            "message": result.message,
        },
    )


# -- the Django admin --------------------------------------------------------------------------


def _application_of(obj: models.Model) -> Application | None:
    if isinstance(obj, Application):
        return obj
    if isinstance(obj, ProvisioningJob):
        return obj.application
    application_id = getattr(obj, "application_id", None)
    if application_id is None and getattr(obj, "job_id", None):
        application_id = (
            ProvisioningJob.objects.filter(pk=obj.job_id)
            .values_list("application_id", flat=True)
            .first()
        )
    if application_id is None:
        return None
    return Application.objects.filter(pk=application_id).first()


def _describe(obj: models.Model) -> str:
    return f"{obj._meta.verbose_name}: {obj}"[:512]


def _values(obj: models.Model, names: list[str]) -> dict[str, Any]:
    """Plain values of the named concrete fields (JSON-safe text for anything else)."""
    values = {}
    for name in names:
        if "password" in name or "credential" in name:
            continue  # never a password hash nor stored credentials, even encrypted
        try:
            field = obj._meta.get_field(name)
        except Exception:  # a form-only field
            continue
        if not getattr(field, "concrete", False) or field.many_to_many:
            continue
        value = getattr(obj, field.attname, None)
        values[name] = (
            value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        )
    return values


def _record_admin(activity, request, obj, message: Any = "", before=None, after=None) -> None:
    if obj._meta.app_label not in AUDITED_ADMIN_APPS:
        return
    record_audit(
        activity,
        actor=getattr(request, "user", None),
        application=_application_of(obj),
        target=_describe(obj),
        before=before or {},
        after={
            "model": obj._meta.label,
            "object_id": str(obj.pk),
            "change": message or "",
            **(after or {}),
        },
        channel="admin",
    )


class AuditedAdminMixin:
    """Each add, change and delete made through the Django admin writes an audit event too,
    with the changed fields' old and new values (redacted like every audit value)."""

    def save_model(self, request, obj, form, change):
        changed = list(getattr(form, "changed_data", []) or [])
        before = {}
        if change and obj.pk is not None:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            if stored is not None:
                before = _values(stored, changed)
        request._audit_admin_values = (before, changed)
        return super().save_model(request, obj, form, change)

    def _changed_values(self, request, obj) -> tuple[dict, dict]:
        before, changed = getattr(request, "_audit_admin_values", ({}, []))
        return before, _values(obj, changed)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _before, after = self._changed_values(request, obj)
        _record_admin(AuditActivity.ADMIN_ADD, request, obj, message, after=after)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        before, after = self._changed_values(request, obj)
        _record_admin(AuditActivity.ADMIN_CHANGE, request, obj, message, before, after)
        return entry

    def log_deletions(self, request, queryset):
        # Called before the objects are deleted: they can still be described.
        for obj in queryset:
            _record_admin(AuditActivity.ADMIN_DELETE, request, obj)
        return super().log_deletions(request, queryset)


def audit_admin_changes(site: admin.AdminSite) -> None:
    """Mix ``AuditedAdminMixin`` into every ModelAdmin registered for a portal model."""
    for model, model_admin in site._registry.items():
        if model._meta.app_label not in AUDITED_ADMIN_APPS:
            continue
        cls = type(model_admin)
        if issubclass(cls, AuditedAdminMixin):
            continue
        model_admin.__class__ = type(f"Audited{cls.__name__}", (AuditedAdminMixin, cls), {})
