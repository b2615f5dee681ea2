"""The Provisioning tab: mode, admin credentials, notification e-mail and settings (F7–F9, F12).

Credential fields come from the application's gallery template (labels such as "Citrix
GoToMeeting Admin User Name"). Secret fields are password inputs that never carry the stored value:
they show "••••" as a placeholder and a blank submission keeps the stored secret.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext_lazy as _

from ..choices import ProvisioningMode, ProvisioningScope, ReconcileRepair
from ..models import ProvisioningJob
from ..security.outbound import outbound_refusal
from ..security.redaction import REDACTED
from ..security.text import SingleLineFieldsMixin
from ..services.configuration import ProvisioningSettings, reenter_message, secrets_to_reenter
from ..services.goto_authorization import authorization_status

CREDENTIAL_PREFIX = "credential_"
STATUS_CHOICES = [("on", _("On")), ("off", _("Off"))]


def split_addresses(text: str) -> list[str]:
    """Comma- (or semicolon-) separated e-mail addresses, blanks dropped."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class ProvisioningSettingsForm(SingleLineFieldsMixin, forms.Form):
    # Hidden sections and a browser's own validation bubbles do not mix; the server validates.
    use_required_attribute = False

    mode = forms.ChoiceField(label=_("Provisioning Mode"), choices=ProvisioningMode.choices)
    notification_email = forms.CharField(
        label=_("Notification Email"),
        required=False,
        max_length=512,
        help_text=_("One or more addresses, separated by commas."),
        widget=forms.TextInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    notify_on_failure = forms.BooleanField(
        label=_("Send an email notification when a failure occurs"), required=False
    )
    notification_language = forms.ChoiceField(
        label=_("Notification language"),
        required=False,
        choices=[("", _("Portal default")), *settings.LANGUAGES],
        help_text=_("The language of the notification e-mails."),
    )
    prevent_accidental_deletion = forms.BooleanField(
        label=_("Prevent accidental deletion"), required=False
    )
    deletion_threshold = forms.IntegerField(
        label=_("Accidental deletion threshold"),
        min_value=1,
        help_text=_("Cycles that would disable or delete more accounts than this are held."),
    )
    max_requests_in_flight = forms.IntegerField(
        label=_("Maximum requests in flight"),
        required=False,  # left out (older clients): the job keeps its value
        min_value=1,
        max_value=64,
        help_text=_(
            "At most this many requests are sent to the target at once (1–64). The engine starts "
            "lower, grows while the target answers fast, and halves on throttling or timeouts."
        ),
    )
    scope = forms.ChoiceField(label=_("Scope"), choices=ProvisioningScope.choices)
    interval_minutes = forms.IntegerField(
        label=_("Provisioning interval (minutes)"),
        min_value=1,
        help_text=_("Time between incremental cycles."),
    )
    # Reconcile (DESIGN B4, issue 13).
    reconcile_interval_hours = forms.IntegerField(
        label=_("Reconcile every (hours)"),
        required=False,  # absent (an older client): kept as it is
        min_value=0,
        max_value=24 * 365,
        help_text=_("The target is read back and compared with the directory; 0 turns it off."),
    )
    reconcile_repair = forms.ChoiceField(
        label=_("When a reconcile finds drift"), choices=ReconcileRepair.choices, required=False
    )
    reconcile_disable_unmanaged = forms.BooleanField(
        label=_("Disable unmanaged accounts"),
        required=False,
        help_text=_(
            "Accounts in the target that nothing here provisioned; guarded like deletions."
        ),
    )
    status = forms.ChoiceField(
        label=_("Provisioning Status"), choices=STATUS_CHOICES, widget=forms.RadioSelect
    )
    # Set by the "Save anyway" button after a failed connection test (issue 15).
    save_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, job: ProvisioningJob, **kwargs):
        self.job = job
        self.template = job.application.template
        initial = {
            "mode": job.mode,
            "notification_email": job.notification_email,
            "notify_on_failure": job.notify_on_failure,
            "notification_language": job.notification_language,
            "prevent_accidental_deletion": job.prevent_accidental_deletion,
            "deletion_threshold": job.deletion_threshold,
            "max_requests_in_flight": job.max_requests_in_flight,
            "scope": job.scope,
            "interval_minutes": job.interval_minutes,
            "status": "on" if job.status_on else "off",
            "reconcile_interval_hours": job.reconcile_interval_hours,
            "reconcile_repair": job.reconcile_repair,
            "reconcile_disable_unmanaged": job.reconcile_disable_unmanaged,
        }
        initial.update(kwargs.pop("initial", None) or {})
        super().__init__(*args, initial=initial, **kwargs)
        self.credential_field_names: list[str] = []
        # The Authorize button (GoTo apps): not an input; the page shows who authorized, when.
        self.authorize_field = None
        self.authorization: dict = {}
        for credential in self.template.credential_fields:
            if credential.kind == "oauth":
                self.authorize_field = credential
                self.authorization = authorization_status(job)
                continue
            name = CREDENTIAL_PREFIX + credential.name
            self.credential_field_names.append(name)
            stored = bool(job.credentials.get(credential.name))
            if credential.secret:
                help_text = _(credential.help_text) if credential.help_text else ""
                if stored:
                    help_text = _(
                        "A value is stored. Leave blank to keep it; after changing another "
                        "credential field it must be entered again."
                    )
                field = forms.CharField(
                    label=_(credential.label),
                    required=False,
                    strip=True,
                    help_text=help_text,
                    widget=forms.PasswordInput(
                        render_value=False,
                        attrs={
                            "placeholder": REDACTED if stored else "",
                            "autocomplete": "new-password",
                        },
                    ),
                )
            else:
                widget_class = {"url": forms.URLInput, "email": forms.EmailInput}.get(
                    credential.kind, forms.TextInput
                )
                field = forms.CharField(
                    label=_(credential.label),
                    required=False,
                    help_text=_(credential.help_text) if credential.help_text else "",
                    initial=job.credentials.get(credential.name, ""),
                    widget=widget_class(attrs={"autocomplete": "off", "spellcheck": "false"}),
                )
            field.credential = credential
            self.fields[name] = field
        # Display order: mode, credentials, then the settings.
        order = ["mode", *self.credential_field_names]
        self.order_fields(order)

    def ask_to_save_anyway(self) -> None:
        """The credentials failed their test: the page asks before saving."""
        self.connection_warning = True

    # -- groups of fields for the template ---------------------------------------------------

    @property
    def credential_fields(self):
        return [self[name] for name in self.credential_field_names]

    def credentials_input(self) -> dict[str, str]:
        """The typed credentials by template field name (works on unvalidated data too)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        values = {}
        for name in self.credential_field_names:
            raw = data.get(name) if name in data else self.data.get(self.add_prefix(name), "")
            values[name.removeprefix(CREDENTIAL_PREFIX)] = str(raw or "").strip()
        return values

    # -- validation ---------------------------------------------------------------------------

    def clean_notification_email(self) -> str:
        addresses = split_addresses(self.cleaned_data.get("notification_email", ""))
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(
                _("Not a valid e-mail address: %(addresses)s") % {"addresses": ", ".join(bad)},
                code="invalid",
            )
        return ", ".join(addresses)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("notify_on_failure")
            and not cleaned.get("notification_email")
            and "notification_email" not in self.errors
        ):
            self.add_error(
                "notification_email",
                ValidationError(
                    _("Enter the address that receives failure notifications."),
                    code="required",
                ),
            )
        automatic = cleaned.get("mode") == ProvisioningMode.AUTOMATIC
        submitted = self.credentials_input()
        stale = secrets_to_reenter(self.template, self.job.credentials, submitted)
        for credential in stale:
            self.add_error(
                CREDENTIAL_PREFIX + credential.name,
                ValidationError(
                    reenter_message(self.template, self.job.credentials, submitted),
                    code="reenter",
                ),
            )
        for name in self.credential_field_names:
            credential = self.fields[name].credential
            value = cleaned.get(name, "")
            if value and credential.kind == "url" and not credential.secret:
                try:
                    URLValidator(schemes=["http", "https"])(value)
                except ValidationError:
                    self.add_error(
                        name,
                        ValidationError(_("Enter an http:// or https:// URL."), code="invalid"),
                    )
                else:
                    refusal = outbound_refusal(value)
                    if refusal:
                        self.add_error(name, ValidationError(refusal, code="address_refused"))
            stored = bool(self.job.credentials.get(credential.name))
            keeps_secret = credential.secret and stored
            if automatic and credential.required and not value and not keeps_secret:
                self.add_error(
                    name,
                    ValidationError(
                        _("%(label)s is required for automatic provisioning.")
                        % {"label": credential.label},
                        code="required",
                    ),
                )
        return cleaned

    def settings(self) -> ProvisioningSettings:
        data = self.cleaned_data
        return ProvisioningSettings(
            mode=data["mode"],
            credentials=self.credentials_input(),
            notification_email=data["notification_email"],
            notify_on_failure=data["notify_on_failure"],
            scope=data["scope"],
            prevent_accidental_deletion=data["prevent_accidental_deletion"],
            deletion_threshold=data["deletion_threshold"],
            interval_minutes=data["interval_minutes"],
            status_on=data["status"] == "on",
            notification_language=data.get("notification_language") or "",
            reconcile_interval_hours=data.get("reconcile_interval_hours"),
            reconcile_repair=data.get("reconcile_repair") or None,
            reconcile_disable_unmanaged=data["reconcile_disable_unmanaged"],
            max_requests_in_flight=data.get("max_requests_in_flight"),
        )
