"""Adding an application from the gallery (F4)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..gallery import all_templates
from ..models import Application
from ..security.text import SingleLineFieldsMixin


class AddApplicationForm(SingleLineFieldsMixin, forms.Form):
    template = forms.ChoiceField(label=_("Gallery application"), widget=forms.HiddenInput)
    name = forms.CharField(
        label=_("Name"),
        max_length=256,
        help_text=_("The name of this instance, as it appears in All applications."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(t.slug, t.name) for t in all_templates()]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."), code="required")
        if Application.objects.filter(name=name).exists():
            raise forms.ValidationError(
                _("An application named “%(name)s” already exists.") % {"name": name},
                code="taken",
            )
        return name
