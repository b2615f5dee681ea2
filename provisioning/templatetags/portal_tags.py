"""Small display helpers for the portal templates."""

import json
import re
from datetime import timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import log_text
from ..choices import LogAction, LogStatus, MappingType

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON of an (already redacted) audit before/after value."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def duration(value: timedelta | None) -> str:
    """A cycle's duration as a person reads it: "2 min 5 s", "850 ms"."""
    if value is None:
        return ""
    total = value.total_seconds()
    if total < 1:
        return _("%(ms)d ms") % {"ms": round(total * 1000)}
    minutes, seconds = divmod(round(total), 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(n)d h", "%(n)d h", hours) % {"n": hours})
    if minutes:
        parts.append(ngettext("%(n)d min", "%(n)d min", minutes) % {"n": minutes})
    if seconds or not parts:
        parts.append(ngettext("%(n)d s", "%(n)d s", seconds) % {"n": seconds})
    return " ".join(parts)


@register.filter
def initials(name: str) -> str:
    """Two letters for the application's tile, as the Azure portal draws it."""
    words = [w for w in str(name).replace("-", " ").split() if w[:1].isalnum()]
    letters = "".join(w[0] for w in words[:2]) or str(name)[:2]
    return letters.upper()


@register.filter
def status_class(status: str) -> str:
    """CSS class of a Success/Failure/Skipped/Warning badge."""
    return {
        "Success": "ok",
        "Succeeded": "ok",
        "Failure": "bad",
        "Failed": "bad",
        "Warning": "warn",
        "CompletedWithFailures": "warn",
        "Skipped": "muted",
    }.get(str(status), "muted")


STEP_TITLES = {
    "Import": gettext_lazy("Import"),
    "Scope": gettext_lazy("Determine if in scope"),
    "Match": gettext_lazy("Match between source and target system"),
    "Action": gettext_lazy("Perform action"),
}


@register.filter
def step_title(name: str) -> str:
    """The title of an engine step (Import, Scope, Match, Action) as the portal shows it."""
    return str(STEP_TITLES.get(str(name), name))


@register.filter
def action_label(value: str) -> str:
    """The translated label of a log entry's action (Create, Update, Disable…)."""
    try:
        return str(LogAction(str(value)).label)
    except ValueError:
        return str(value)


@register.filter
def mapping_type_label(value: str) -> str:
    """The translated label of an attribute mapping's type (Direct, Constant, Expression, None)."""
    try:
        return str(MappingType(str(value)).label)
    except ValueError:
        return str(value)


CHANNEL_LABELS = {
    "portal": gettext_lazy("Portal"),
    "admin": gettext_lazy("Django admin"),
    "sign-in": gettext_lazy("Sign-in"),
    "system": gettext_lazy("System"),
}


@register.filter
def channel_label(value: str) -> str:
    """Where an audited change came from, as a reader reads it (``api:<token>`` keeps the name)."""
    value = str(value or "")
    if value.startswith("api:"):
        return _("API (%(token)s)") % {"token": value[4:]}
    return str(CHANNEL_LABELS.get(value, value))


@register.filter
def step_detail(step) -> str:
    """A log step's text in the reader's language (``provisioning/log_text.py``)."""
    return log_text.step_detail(step) if isinstance(step, dict) else ""


@register.filter
def status_label(value: str) -> str:
    """The translated label of a step's or entry's status (Success, Failure, Skipped, Warning)."""
    try:
        return str(LogStatus(str(value)).label)
    except ValueError:
        return str(value)


_MAPPING_NAME = re.compile(r"^Synchronize Azure Active Directory (Users|Groups) to (?P<app>.*)$")


@register.filter
def mapping_title(name: str) -> str:
    """An object mapping's stored (English) name, in the page's language (issue 15)."""
    match = _MAPPING_NAME.match(str(name))
    if match is None:
        return name
    if match.group(1) == "Users":
        text = _("Synchronize Azure Active Directory Users to %(app)s")
    else:
        text = _("Synchronize Azure Active Directory Groups to %(app)s")
    return text % {"app": match.group("app")}
