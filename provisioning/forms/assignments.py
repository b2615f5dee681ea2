"""Users and groups: assigning a principal with an app role (F6)."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Application, AppRole
from .principals import PrincipalField


class AssignmentForm(forms.Form):
    principal = PrincipalField(label=_("Users and groups"))
    role = forms.ModelChoiceField(
        label=_("Select a role"), queryset=AppRole.objects.none(), empty_label=None
    )

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, **kwargs)
        roles = application.roles.all()
        self.fields["role"].queryset = roles
        # Role names come from the gallery (provisioning/gallery/messages.py): shown translated.
        self.fields["role"].label_from_instance = lambda role: gettext(role.name)
        if not self.is_bound:
            preferred = (
                roles.filter(name="User").first() or roles.filter(is_default_access=False).first()
            )
            if preferred is not None:
                self.initial.setdefault("role", preferred.pk)
