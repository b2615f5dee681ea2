"""Filters of the provisioning logs and the audit log, read from the query string.

A date range is a preset (last 24 hours, 7 days, 30 days) or a custom start/end; every other filter
is one field. ``select_entries``/``select_events`` turn a valid form into a queryset; each filter has
an index that ends in the page order (see ``ProvisioningLogEntry.Meta.indexes``).
"""

import uuid
from datetime import datetime, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import AuditActivity, LogAction, LogStatus, ObjectType
from ..models import Application, AuditEvent, DirectoryGroup, DirectoryUser, ProvisioningLogEntry

RANGE_PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RANGE_CHOICES = [
    ("", _("All (within retention)")),
    ("24h", _("Last 24 hours")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("custom", _("Custom range")),
]
# How many directory objects an identity text may stand for (display names, user principal names).
IDENTITY_DIRECTORY_MATCHES = 200


def application_choices() -> list[tuple[str, str]]:
    return [("", _("All applications"))] + [
        (str(pk), name)
        for pk, name in Application.objects.order_by("name").values_list("pk", "name")
    ]


class DateRangeForm(forms.Form):
    range = forms.ChoiceField(label=_("Date"), required=False, choices=RANGE_CHOICES)
    start = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label=_("To"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (start or end) and not data.get("range"):
            data["range"] = "custom"
        if start and end and start > end:
            raise forms.ValidationError(_("The start of the range is after its end."))
        return data

    def date_bounds(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """[since, until): ``until`` is exclusive; either may be None (open)."""
        data = getattr(self, "cleaned_data", None) or {}
        now = now or timezone.now()
        preset = data.get("range") or ""
        if preset in RANGE_PRESETS:
            return now - RANGE_PRESETS[preset], None
        if preset == "custom":
            return data.get("start"), data.get("end")
        return None, None


class ProvisioningLogFilterForm(DateRangeForm):
    identity = forms.CharField(
        label=_("Identity"),
        required=False,
        max_length=256,
        help_text=_("Source or target id, user principal name or display name"),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *LogStatus.choices]
    )
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All")), *LogAction.choices]
    )
    object_type = forms.ChoiceField(
        label=_("Object type"), required=False, choices=[("", _("All")), *ObjectType.choices]
    )
    cycle_id = forms.UUIDField(label=_("Cycle id"), required=False)
    change_id = forms.UUIDField(label=_("Change id"), required=False)
    application = forms.IntegerField(
        label=_("Application"), required=False, min_value=1, widget=forms.Select
    )

    FILTER_FIELDS = ("identity", "status", "action", "object_type", "cycle_id", "change_id")

    def __init__(self, *args, tenant_wide: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if tenant_wide:
            self.fields["application"].widget.choices = application_choices()
        else:
            del self.fields["application"]


class AuditLogFilterForm(DateRangeForm):
    activity = forms.ChoiceField(
        label=_("Activity"), required=False, choices=[("", _("All")), *AuditActivity.choices]
    )
    actor = forms.CharField(label=_("Initiated by"), required=False, max_length=150)
    application = forms.IntegerField(
        label=_("Application"), required=False, min_value=1, widget=forms.Select
    )

    def __init__(self, *args, tenant_wide: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if tenant_wide:
            self.fields["application"].widget.choices = application_choices()
        else:
            del self.fields["application"]


def bind(form_class, query, **kwargs):
    """A form bound to the query string (minus paging and format), or an unbound one."""
    params = query.copy()
    for name in ("after", "before", "page", "format"):
        params.pop(name, None)
    if any(v for v in params.values()):
        return form_class(params, **kwargs)
    return form_class(**kwargs)


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def identity_condition(text: str) -> Q:
    """Source or target id, change id, user principal name or display name (any part)."""
    text = text.strip()
    match = Q(source_display__icontains=text) | Q(target_id=text)
    object_id = _as_uuid(text)
    if object_id is not None:
        return match | Q(source_id=object_id) | Q(change_id=object_id)
    # Display names are the directory's: an entry keeps the user principal name or the group's
    # name, so a display name is looked up in the directory first.
    users = DirectoryUser.objects.filter(
        Q(display_name__icontains=text) | Q(user_principal_name__icontains=text)
    ).values_list("id", flat=True)[:IDENTITY_DIRECTORY_MATCHES]
    groups = DirectoryGroup.objects.filter(display_name__icontains=text).values_list(
        "id", flat=True
    )[:IDENTITY_DIRECTORY_MATCHES]
    ids = [*users, *groups]
    if ids:
        match |= Q(source_id__in=ids)
    return match


def select_entries(
    form: ProvisioningLogFilterForm, *, application_id: int | None = None, now=None
) -> QuerySet:
    """The entries a valid (or unbound) filter form selects; none when the form is invalid."""
    entries = ProvisioningLogEntry.objects.all()
    if application_id is not None:
        entries = entries.filter(application_id=application_id)
    if not form.is_bound:
        return entries
    if not form.is_valid():
        return entries.none()
    data = form.cleaned_data
    since, until = form.date_bounds(now)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    if data.get("application"):
        entries = entries.filter(application_id=data["application"])
    for name in ("status", "action", "object_type", "cycle_id", "change_id"):
        if data.get(name):
            entries = entries.filter(**{name: data[name]})
    if data.get("identity", "").strip():
        entries = entries.filter(identity_condition(data["identity"]))
    return entries


def select_events(form: AuditLogFilterForm, *, application_id: int | None = None, now=None):
    events = AuditEvent.objects.all()
    if application_id is not None:
        events = events.filter(application_id=application_id)
    if not form.is_bound:
        return events
    if not form.is_valid():
        return events.none()
    data = form.cleaned_data
    since, until = form.date_bounds(now)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    if data.get("application"):
        events = events.filter(application_id=data["application"])
    if data.get("activity"):
        events = events.filter(activity=data["activity"])
    if data.get("actor", "").strip():
        events = events.filter(actor_name__icontains=data["actor"].strip())
    return events
