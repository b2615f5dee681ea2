"""Model fields. ``EncryptedJSONField`` keeps a JSON document encrypted at rest."""

import json
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .security.encryption import decrypt_text, encrypt_text


class Ciphertext(str):
    """A Fernet token loaded from the database and not decrypted yet."""


class DecryptOnAccess(DeferredAttribute):
    """Decrypt the loaded token the first time the attribute is read, not when the row is loaded:
    a page that lists jobs never needs their credentials, so it never fails on them (e.g. after a
    wrong key was configured) and never holds their plaintext."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            value = json.loads(decrypt_text(value))
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value) -> None:
        # A data descriptor, so reads always go through __get__ even once the value is loaded.
        instance.__dict__[self.field.attname] = value


class EncryptedJSONField(models.TextField):
    """A JSON object stored as one Fernet token: the database column never holds plaintext.

    Values are decrypted when first read (:class:`DecryptOnAccess`); they must still never be
    rendered, logged or audited (see ``provisioning.security.redaction``).
    """

    description = "JSON object encrypted at rest"
    descriptor_class = DecryptOnAccess

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value in (None, ""):
            return {}
        return Ciphertext(value)

    def pre_save(self, model_instance, add):
        # Saving a row whose credentials were never read writes the token back as it was.
        if self.attname in model_instance.__dict__:
            return model_instance.__dict__[self.attname]
        return getattr(model_instance, self.attname)

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
        if isinstance(value, Ciphertext):
            return str(value)
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
