"""Install the triggers that write every directory change to the change log (F16)."""

from django.db import migrations

from provisioning.directory.changes import install_triggers, remove_triggers


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0001_initial")]

    operations = [migrations.RunPython(install_triggers, remove_triggers)]
