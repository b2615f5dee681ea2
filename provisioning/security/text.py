"""Single-line text: no control characters, no bidirectional overrides (issue 12).

A CR/LF in an application name broke the subject of its e-mails (Django refuses header
newlines, so they were silently dropped) and forged lines in logs; a right-to-left override in a
name shows reversed text to the next reader. Every single-line value the portal accepts — form
fields, model fields through their validators (the admin, future API serializers), CSV cells on
import — is checked here.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# Explicit embeddings, overrides and isolates (Unicode bidi controls); marks (LRM/RLM) are kept.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SUSPECT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def unsafe_character(value: str) -> str | None:
    """The first control, line-separator or bidi-override character of ``value``, or None."""
    match = _SUSPECT.search(value)
    return match.group() if match else None


def describe_character(char: str) -> str:
    name = unicodedata.name(char, "") or {
        "\t": "TAB",
        "\n": "LINE FEED",
        "\r": "CARRIAGE RETURN",
    }.get(char, "control character")
    return f"U+{ord(char):04X} ({name})"


def unsafe_character_message(char: str) -> str:
    if char in BIDI_CONTROLS:
        return _("contains the bidirectional-override character %(char)s") % {
            "char": describe_character(char)
        }
    return _("contains the control character %(char)s") % {"char": describe_character(char)}


def validate_single_line(value) -> None:
    """Django validator: refuse control characters and bidi overrides in a single-line value."""
    if not isinstance(value, str):
        return
    char = unsafe_character(value)
    if char is not None:
        raise ValidationError(
            _("This field %(problem)s; it must be a single line of text.")
            % {"problem": unsafe_character_message(char)},
            code="control_character",
        )


def _is_single_line(field: forms.Field) -> bool:
    return isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea)


class SingleLineFieldsMixin:
    """A form mixin adding :func:`validate_single_line` to every single-line text field."""

    def full_clean(self):
        # At validation time, so fields a form adds in its own __init__ are covered too.
        for field in self.fields.values():
            if _is_single_line(field) and validate_single_line not in field.validators:
                field.validators.append(validate_single_line)
        super().full_clean()


def install_model_validators(model_classes) -> None:
    """Add :func:`validate_single_line` to the ``CharField``\\ s of these models at start-up.

    Appended to the field's validator list at run time (not a constructor argument), so the
    migrations do not change; model forms (the admin) and ``full_clean`` use them.
    """
    for model in model_classes:
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.CharField)
                and not field.choices
                and validate_single_line not in field.validators
            ):
                field.validators.append(validate_single_line)


def escape_controls(text: str) -> str:
    """One printable line: tabs and line breaks become spaces; other control characters, line
    and paragraph separators and bidi overrides are written as escapes (``\\x1b``, ``\\u202e``)."""
    out = []
    for char in text:
        if char in "\n\r\t":
            out.append(" ")
        elif char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)
