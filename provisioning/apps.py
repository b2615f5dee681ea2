from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from .directory.search import create_sqlite_search_indexes, install_sqlite_lower

        # The Users search's indexed lower case on SQLite (provisioning/directory/search.py).
        connection_created.connect(install_sqlite_lower, dispatch_uid="portal_lower")
        post_migrate.connect(create_sqlite_search_indexes, sender=self, dispatch_uid="user_fold")
        from .reports import signals  # noqa: F401  sign-ins and failed sign-ins are audited
        from .security import checks, signin  # noqa: F401 - system check, sign-in receivers
        from .security.text import install_model_validators

        install_model_validators(self.get_models())
