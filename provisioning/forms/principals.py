"""Picking a directory user or group: the principal field shared by assignments and on demand."""

import uuid

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import DirectoryGroup, DirectoryUser

PICKER_LIMIT = 25


def principal_value(principal: DirectoryUser | DirectoryGroup) -> str:
    kind = "user" if isinstance(principal, DirectoryUser) else "group"
    return f"{kind}:{principal.pk}"


def search_principals(text: str, *, limit: int = PICKER_LIMIT) -> dict[str, list]:
    """Users and groups whose name (or UPN, mail) contains ``text``; at most ``limit`` of each."""
    text = text.strip()
    users = DirectoryUser.objects.alive()
    groups = DirectoryGroup.objects.alive()
    if text:
        users = users.filter(
            Q(display_name__icontains=text)
            | Q(user_principal_name__icontains=text)
            | Q(mail__icontains=text)
        )
        groups = groups.filter(Q(display_name__icontains=text) | Q(mail__icontains=text))
    return {
        "users": list(users.order_by("display_name", "user_principal_name")[:limit]),
        "groups": list(groups.order_by("display_name")[:limit]),
    }


class PrincipalField(forms.Field):
    """A ``user:<uuid>`` or ``group:<uuid>`` value, cleaned to the (alive) directory object."""

    default_error_messages = {
        "invalid": _("Select a user or a group."),
        "gone": _("That user or group no longer exists."),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        kind, _sep, raw_id = str(value).partition(":")
        model = {"user": DirectoryUser, "group": DirectoryGroup}.get(kind)
        try:
            object_id = uuid.UUID(raw_id)
        except ValueError:
            model = None
        if model is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        principal = model.objects.alive().filter(pk=object_id).first()
        if principal is None:
            raise forms.ValidationError(self.error_messages["gone"], code="gone")
        return principal


def principal_choices(text: str, selected_value: str = "", *, limit: int = PICKER_LIMIT) -> dict:
    """What the picker lists for ``text``: users and groups as (value, label) options, and the
    selected principal first when the search no longer lists it."""
    found = search_principals(text, limit=limit)
    users = [
        (principal_value(u), f"{u.display_name} ({u.user_principal_name})") for u in found["users"]
    ]
    groups = [(principal_value(g), g.display_name) for g in found["groups"]]
    listed = {value for value, _label in [*users, *groups]}
    extra = None
    if selected_value and selected_value not in listed:
        try:
            principal = PrincipalField().clean(selected_value)
        except forms.ValidationError:
            principal = None
        if principal is not None:
            extra = (selected_value, str(principal))
    return {"users": users, "groups": groups, "extra": extra, "selected": selected_value}
