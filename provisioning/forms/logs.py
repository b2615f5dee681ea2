"""Filters of the provisioning logs and the audit logs (F24, F25)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..choices import AuditActivity, LogAction, LogStatus


class ProvisioningLogFilterForm(forms.Form):
    identity = forms.CharField(label=_("Identity"), required=False, max_length=256)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *LogStatus.choices]
    )
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All")), *LogAction.choices]
    )
    cycle_id = forms.UUIDField(label=_("Cycle id"), required=False)


class AuditLogFilterForm(forms.Form):
    activity = forms.ChoiceField(
        label=_("Activity"), required=False, choices=[("", _("All")), *AuditActivity.choices]
    )
