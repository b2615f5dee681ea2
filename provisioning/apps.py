from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .reports import signals  # noqa: F401  sign-ins and failed sign-ins are audited
        from .security import checks, signin  # noqa: F401 - system check, sign-in receivers
        from .security.text import install_model_validators

        install_model_validators(self.get_models())
