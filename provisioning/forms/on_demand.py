"""Provision on demand: one user, or one small group (F13)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .principals import PrincipalField


class ProvisionOnDemandForm(forms.Form):
    principal = PrincipalField(label=_("Selected user or group"))
