"""Sign-ins and failed sign-ins are audited (F25): connected in ``ProvisioningConfig.ready``."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .audit_events import record_failed_sign_in, record_sign_in


@receiver(user_logged_in, dispatch_uid="provisioning-audit-sign-in")
def audit_sign_in(sender, request, user, **kwargs) -> None:
    record_sign_in(request, user)


@receiver(user_login_failed, dispatch_uid="provisioning-audit-sign-in-failure")
def audit_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    record_failed_sign_in(request, credentials)
