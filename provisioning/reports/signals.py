"""Sign-ins and failed sign-ins are audited (F25): connected in ``ProvisioningConfig.ready``."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .audit_events import record_sign_in


@receiver(user_logged_in, dispatch_uid="provisioning-audit-sign-in")
def audit_sign_in(sender, request, user, **kwargs) -> None:
    record_sign_in(request, user)


# Failed sign-ins are audited by provisioning.security.signin, beside the throttle that decides
# whether an attempt during a lockout is audited at all.
