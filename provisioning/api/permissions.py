"""The portal's roles (F27) for the API: administrators change, auditors read, others nothing.

A token carries its user's role, looked up on each request, so removing someone from the
administrators takes effect on their tokens at once.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..views.access import can_change, can_read


class PortalRole(BasePermission):
    message = _("Your role does not allow this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return can_read(user)
        if not can_change(user):
            self.message = _("Your role can only read.")
            return False
        return True
