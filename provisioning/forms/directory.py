"""Directory pages (F31): the user and group forms, the list filters and the CSV upload.

The forms only shape what the browser sent; ``provisioning.services.directory`` validates it
against the directory and writes it, and its field errors are put back on these forms.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import DirectoryUser

YES_NO_ANY = [("", _("All")), ("yes", _("Yes")), ("no", _("No"))]
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the form's fields (or the form itself)."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class UserFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search by the start of a name, user principal name or mail, or an employee ID"),
        required=False,
        max_length=256,
    )
    department = forms.CharField(label=_("Department"), required=False, max_length=64)
    enabled = forms.ChoiceField(label=_("Account enabled"), choices=YES_NO_ANY, required=False)
    has_manager = forms.ChoiceField(label=_("Has manager"), choices=YES_NO_ANY, required=False)


class UserForm(forms.Form):
    """Create or edit a user; the manager is picked by user principal name."""

    use_required_attribute = False

    user_principal_name = forms.CharField(
        label=_("User principal name"),
        max_length=256,
        help_text=_("The sign-in name, such as name@contoso.com."),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=256)
    given_name = forms.CharField(label=_("First name"), max_length=64, required=False)
    surname = forms.CharField(label=_("Last name"), max_length=64, required=False)
    mail = forms.CharField(label=_("Email"), max_length=256, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=128, required=False)
    department = forms.CharField(label=_("Department"), max_length=64, required=False)
    employee_id = forms.CharField(label=_("Employee ID"), max_length=16, required=False)
    mobile = forms.CharField(label=_("Mobile phone"), max_length=64, required=False)
    country = forms.CharField(label=_("Country or region"), max_length=128, required=False)
    preferred_language = forms.CharField(
        label=_("Preferred language"), max_length=16, required=False
    )
    manager = forms.CharField(
        label=_("Manager"),
        max_length=256,
        required=False,
        help_text=_("The manager's user principal name; leave blank for none."),
    )
    account_enabled = forms.BooleanField(label=_("Account enabled"), required=False, initial=True)

    def __init__(self, *args, user: DirectoryUser | None = None, **kwargs):
        self.user = user
        if user is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(user, name) for name in self.base_fields if name != "manager"},
                "manager": user.manager.user_principal_name if user.manager_id else "",
            }
        super().__init__(*args, **kwargs)
        if user is not None:
            # Enabling and disabling have their own commands on the user's page.
            del self.fields["account_enabled"]

    def clean_manager(self):
        upn = self.cleaned_data["manager"].strip()
        if not upn:
            return None
        manager = DirectoryUser.objects.filter(user_principal_name__iexact=upn).first()
        if manager is None:
            raise ValidationError(_("No user has this user principal name."), code="unknown")
        return manager

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if self.user is not None:
            # Only what the form shows is changed.
            data.pop("account_enabled", None)
        return data


class GroupForm(forms.Form):
    use_required_attribute = False

    display_name = forms.CharField(label=_("Group name"), max_length=256)
    description = forms.CharField(
        label=_("Group description"), max_length=1024, required=False, widget=forms.Textarea
    )
    mail = forms.CharField(label=_("Email"), max_length=256, required=False)
    mail_nickname = forms.CharField(label=_("Mail nickname"), max_length=64, required=False)
    security_enabled = forms.BooleanField(label=_("Security enabled"), required=False, initial=True)

    def __init__(self, *args, group=None, **kwargs):
        if group is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(group, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class DirectoryImportForm(forms.Form):
    files = MultipleFileField(
        label=_("CSV files"),
        help_text=_(
            "Users, groups and memberships files, in the format of the import_directory command."
        ),
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        total = sum(upload.size for upload in files)
        if total > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The files are too large (at most %(mb)d MB in all).")
                % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
                code="too_large",
            )
        return files
