"""Replace password-like values already kept in plain text in last_exported by their keyed hash
(issue 12). Redact()ed paths are not known here; their next write stores the hash."""

from django.db import migrations


def hash_secret_values(apps, schema_editor):
    from provisioning.security.redaction import is_secret_key, protect_secret_values

    ProvisionedObject = apps.get_model("provisioning", "ProvisionedObject")
    changed = []
    for link in ProvisionedObject.objects.only("id", "last_exported").iterator(chunk_size=2000):
        exported = link.last_exported or {}
        protected = protect_secret_values(exported, is_secret_key)
        if protected != exported:
            link.last_exported = protected
            changed.append(link)
        if len(changed) >= 2000:
            ProvisionedObject.objects.bulk_update(changed, ["last_exported"])
            changed = []
    if changed:
        ProvisionedObject.objects.bulk_update(changed, ["last_exported"])


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0013_issue12_encryption_sentinel")]

    operations = [migrations.RunPython(hash_secret_values, migrations.RunPython.noop)]
