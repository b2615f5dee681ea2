"""Model fields. ``EncryptedJSONField`` keeps a JSON document encrypted at rest."""

import json
from typing import Any

from django.db import models

from .security.encryption import decrypt_text, encrypt_text


class EncryptedJSONField(models.TextField):
    """A JSON object stored as one Fernet token: the database column never holds plaintext.

    Values are decrypted when loaded; they must still never be rendered, logged or audited
    (see ``provisioning.security.redaction``).
    """

    description = "JSON object encrypted at rest"

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value in (None, ""):
            return {}
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return json.loads(decrypt_text(value))
        return value

    def get_prep_value(self, value: Any) -> str:
        if value in (None, "", {}):
            value = {}
        return encrypt_text(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj) -> str:
        # Serialisation (dumpdata) exports the ciphertext, never the plaintext.
        return self.get_prep_value(self.value_from_object(obj))


class BulkJSONField(models.JSONField):
    """A JSONField that ``bulk_create`` inserts with plain ``VALUES`` rows on PostgreSQL.

    Django 5.2 bulk-inserts on PostgreSQL with ``UNNEST(%s::jsonb[], …)``: each JSON document
    travels inside a text array literal that psycopg escapes quote by quote — most of an initial
    cycle's client CPU went there (docs/benchmarks.md). A field with ``get_placeholder`` makes
    Django use ``VALUES`` rows instead, where each document is adapted on its own.
    """

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"
