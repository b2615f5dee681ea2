from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .security import checks, signin  # noqa: F401 - system check, sign-in receivers
        from .security.text import install_model_validators

        install_model_validators(self.get_models())
