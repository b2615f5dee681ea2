"""Texts of provisioning-log steps, kept as message ids and parameters and translated when read.

A cycle runs in the worker's language (or a request's, for Provision on demand), but its log is
read later by people in theirs. So a step stores its text twice:

- ``detail``: the English text. Exports (CSV, zip, JSON) and the API give this, a stable language
  whoever downloads it; rows written before this change have only ``detail``.
- ``text``: the message id with its parameters (``{"id": "Matched on %(name)s", "params":
  {...}}``, parameters possibly messages themselves, ``{"join": [...]}`` for texts put together
  with ``+``). Pages render it with gettext in the reader's language (:func:`render`).

The engine keeps writing ``_("In scope")`` and ``_("Matched on %(name)s") % {...}``: its ``_`` is
:func:`gettext` below, which returns a :class:`LogText` — a ``str`` in the active language, so
every other use of the text is unchanged — that remembers how it was made. Text that did not go
through it (a target's own words, an f-string) is stored and shown as it is.

No settings are needed to import this module: connectors use it in plain scripts too.
"""

from __future__ import annotations

from typing import Any


class LogText(str):
    """A translated text that remembers its message id, parameters and concatenations."""

    data: dict[str, Any]

    def __new__(cls, value: str, data: dict[str, Any] | None = None) -> LogText:
        text = super().__new__(cls, value)
        text.data = data if data is not None else {"id": str(value)}
        return text

    def __reduce__(self):  # pickle and copy keep the message
        return (LogText, (str(self), self.data))

    def __mod__(self, params: Any) -> str:
        rendered = str.__mod__(self, params)
        if not isinstance(params, dict) or "id" not in self.data or "params" in self.data:
            return rendered
        return LogText(
            rendered, {**self.data, "params": {k: as_data(v) for k, v in params.items()}}
        )

    def __add__(self, other: Any) -> str:
        joined = str.__add__(self, other)
        return LogText(joined, {"join": [*_parts(self), *_parts(other)]})

    def __radd__(self, other: Any) -> str:
        return LogText(str(other) + str(self), {"join": [*_parts(other), *_parts(self)]})


def _parts(value: Any) -> list:
    data = as_data(value)
    return data["join"] if isinstance(data, dict) and "join" in data else [data]


def as_data(value: Any) -> Any:
    """What a step stores of ``value``: a LogText's message, else the value as JSON allows."""
    if isinstance(value, LogText):
        return value.data
    if value is None or isinstance(value, str | int | float | bool):
        return value if not isinstance(value, str) else str(value)
    return str(value)


def _active_gettext(message: str) -> str:
    try:
        from django.conf import settings

        if not settings.configured:
            return message
        from django.utils.translation import gettext as django_gettext

        return django_gettext(message)
    except Exception:  # no Django, or settings not ready: the source text
        return message


def gettext(message: str) -> LogText:
    """``message`` in the active language, remembering its id (for step texts)."""
    return LogText(_active_gettext(message), {"id": message})


def render(data: Any, *, translate: bool = True) -> str:
    """The text of stored ``data`` in the active language (English with ``translate=False``).

    A translation whose placeholders do not fit falls back to the English text, never to an
    error page.
    """
    if isinstance(data, dict):
        if "join" in data:
            return "".join(render(part, translate=translate) for part in data["join"])
        message = str(data.get("id", ""))
        template = _active_gettext(message) if translate else message
        params = data.get("params")
        if not isinstance(params, dict):
            return template
        values = {
            key: render(value, translate=translate) if isinstance(value, dict) else value
            for key, value in params.items()
        }
        try:
            return template % values
        except (KeyError, ValueError, TypeError):
            try:
                return message % values
            except (KeyError, ValueError, TypeError):
                return message
    return "" if data is None else str(data)


def english(value: Any) -> str:
    """The English text of ``value`` (a LogText or a plain value)."""
    return render(as_data(value), translate=False)


def step_dict(name: str, status: str, detail: Any) -> dict[str, Any]:
    """A step as stored: English ``detail``, plus ``text`` when the detail can be translated."""
    step: dict[str, Any] = {"name": name, "status": status, "detail": english(detail)}
    if isinstance(detail, LogText):
        step["text"] = detail.data
    return step


def step_detail(step: dict[str, Any]) -> str:
    """A stored step's text in the reader's language; rows with only ``detail`` show it as is."""
    text = step.get("text")
    if isinstance(text, dict | str):
        rendered = render(text)
        if rendered:
            return rendered
    return str(step.get("detail") or "")


def error_text(error: BaseException) -> tuple[str, Any]:
    """An error as a cycle stores it: the English text, and its message (or None) to translate.

    A connector's error reads "CODE: message"; an error raised with one LogText reads it.
    """
    message = getattr(error, "message", None)
    code = getattr(error, "code", None)
    if isinstance(message, LogText) and code is not None and str(error) == f"{code}: {message}":
        text = f"{code}: " + message
    elif len(error.args) == 1 and isinstance(error.args[0], LogText):
        text = error.args[0]
    else:
        return str(error), None
    return english(text), as_data(text)


def translated(message: Any, fallback: str) -> str:
    """A stored message in the reader's language, else the stored text."""
    return (render(message) if message else "") or fallback
