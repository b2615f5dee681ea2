"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from provisioning.models import EncryptionSentinel, ProvisioningJob
from provisioning.security.encryption import rotate_token


class Command(BaseCommand):
    help = (
        "Re-encrypt stored credentials with the first key in FIELD_ENCRYPTION_KEYS. Put the new "
        "key first, keep the old ones after it, run this, then remove the old keys."
    )

    def handle(self, *args, **options) -> None:
        table = connection.ops.quote_name(ProvisioningJob._meta.db_table)
        rotated = 0
        # The tokens are rotated as ciphertext, without passing through the model field, so the
        # plaintext never exists outside Fernet's own calls.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT id, credentials FROM {table} WHERE credentials <> ''")
            for pk, token in cursor.fetchall():
                cursor.execute(
                    f"UPDATE {table} SET credentials = %s WHERE id = %s", [rotate_token(token), pk]
                )
                rotated += 1
            sentinels = connection.ops.quote_name(EncryptionSentinel._meta.db_table)
            cursor.execute(f"SELECT id, token FROM {sentinels}")
            for pk, token in cursor.fetchall():
                cursor.execute(
                    f"UPDATE {sentinels} SET token = %s WHERE id = %s", [rotate_token(token), pk]
                )
        self.stdout.write(f"Re-encrypted the credentials of {rotated} provisioning job(s).")
