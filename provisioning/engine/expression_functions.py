"""The function library of attribute-mapping expressions: Azure's functions, values and dates.

Values flowing through an expression are plain Python: ``None`` (Azure's null), ``str``, ``bool``,
``int``/``float``, ``list`` (a multi-valued attribute) and ``datetime`` (always UTC-aware inside
the library; rendered as Azure's ``M/d/yyyy h:mm:ss tt`` string when it has to become text).

Every function is registered with :func:`_function` and receives an :class:`EvalContext` first.
Eager functions get their evaluated arguments (``None`` for an empty argument slot); lazy ones
(``IIF``, ``Switch``, ``Coalesce``, ``Replace``, ``SelectUniqueValue``) get :class:`Arg` objects,
so untaken branches are never evaluated and ``Replace`` can tell an empty slot from a null value.

Errors raised while a function runs are :class:`ExpressionEvaluationError`; the evaluator in
:mod:`provisioning.engine.expressions` prefixes them with the function's name and position.
"""

from __future__ import annotations

import base64
import calendar
import contextvars
import random as random_module
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import regex

__all__ = [
    "FUNCTIONS",
    "IGNORE_FLOW",
    "REDACTED",
    "Arg",
    "EvalContext",
    "ExpressionEvaluationError",
    "FunctionSpec",
    "RedactedValue",
    "format_azure_datetime",
    "format_dotnet_datetime",
    "lookup_function",
    "parse_dotnet_datetime",
    "reveal",
]


#: Limits that keep one expression from stalling or exhausting a worker: it runs for every object
#: of every cycle. An object whose expression breaks one fails alone (the cycle goes on).
REGEX_TIMEOUT_SECONDS = 0.5
# All the regular expressions of one evaluation together (nested Replace, multi-valued sources).
REGEX_BUDGET_SECONDS = 2.0
MAX_TEXT_LENGTH = 65_536  # characters in any one value a function returns
MAX_LIST_ITEMS = 10_000  # values in any one multi-valued result


# --------------------------------------------------------------------------------------------
# Errors, sentinels and wrapper values
# --------------------------------------------------------------------------------------------


class ExpressionEvaluationError(ValueError):
    """An expression failed while being evaluated (bad regex, unparseable date, two roles…).

    ``function`` is the canonical name of the failing function and ``position`` the 0-based
    offset of its name in the expression text (both ``None`` until the evaluator fills them in).
    """

    def __init__(
        self, message: str, *, function: str | None = None, position: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.function = function
        self.position = position

    def __str__(self) -> str:
        return self.message


class _IgnoreFlowType:
    """Type of :data:`IGNORE_FLOW`: a falsy singleton that pickles back to itself."""

    _instance: _IgnoreFlowType | None = None

    def __new__(cls) -> _IgnoreFlowType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IGNORE_FLOW"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "IGNORE_FLOW"


#: What an expression evaluates to when ``IgnoreFlowIfNullOrEmpty`` fired: don't flow the
#: target attribute at all (neither set nor clear it).
IGNORE_FLOW = _IgnoreFlowType()


class IgnoreFlowSignal(Exception):
    """Raised by IgnoreFlowIfNullOrEmpty; the evaluator turns it into :data:`IGNORE_FLOW`."""


#: The masked text that ``Redact`` shows in logs (Azure's literal).
REDACTED = "[Redact]"


class RedactedValue(str):
    """The result of ``Redact(x)``: a ``str`` equal to ``"[Redact]"`` that carries ``x``.

    Anything that prints, logs or JSON-encodes it sees only ``"[Redact]"``; the sync engine calls
    :func:`reveal` to get the real value it must send to the target (Azure flows the real value
    and only masks it in the provisioning logs).
    """

    value: Any

    def __new__(cls, value: Any) -> RedactedValue:
        obj = super().__new__(cls, REDACTED)
        obj.value = reveal(value)
        return obj

    def __repr__(self) -> str:
        return "RedactedValue('[Redact]')"

    def __reduce__(self) -> tuple[type[RedactedValue], tuple[Any]]:
        return (RedactedValue, (self.value,))


def reveal(value: Any) -> Any:
    """The real value behind a :class:`RedactedValue` (any other value is returned as is)."""
    while isinstance(value, RedactedValue):
        value = value.value
    return value


# --------------------------------------------------------------------------------------------
# Evaluation context and function registry
# --------------------------------------------------------------------------------------------


@dataclass
class EvalContext:
    """What one evaluation may consult besides its arguments."""

    now: datetime
    random: random_module.Random | None = None
    is_unique: Callable[[Any], bool] | None = None

    @property
    def rng(self) -> random_module.Random:
        return self.random if self.random is not None else _SYSTEM_RANDOM


_SYSTEM_RANDOM = random_module.SystemRandom()


class Arg:
    """One argument slot of a lazy function: ``present`` is False for an empty slot."""

    __slots__ = ("_done", "_evaluate", "_value", "present")

    def __init__(self, evaluate: Callable[[], Any] | None) -> None:
        self._evaluate = evaluate
        self.present = evaluate is not None
        self._done = False
        self._value: Any = None

    def __call__(self) -> Any:
        if not self._done:
            self._value = self._evaluate() if self._evaluate is not None else None
            self._done = True
        return self._value


@dataclass(frozen=True)
class FunctionSpec:
    """A function's canonical name, arity rules, implementation and usage line."""

    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    signature: str
    lazy: bool = False
    even_args: bool = False
    top_level_only: bool = False

    def arity_error(self, count: int) -> str | None:
        """The message for ``count`` arguments, or None when the count is acceptable."""
        ok = count >= self.min_args and (self.max_args is None or count <= self.max_args)
        if ok and not (self.even_args and count % 2):
            return None
        if ok:  # only the parity is wrong
            base = f"{self.name} expects an even number of arguments"
        elif self.max_args == self.min_args == 0:
            base = f"{self.name} takes no arguments"
        elif self.max_args == self.min_args:
            base = f"{self.name} expects exactly {_plural(self.min_args, 'argument')}"
        elif self.max_args is None:
            base = f"{self.name} expects at least {_plural(self.min_args, 'argument')}"
        else:
            base = f"{self.name} expects between {self.min_args} and {self.max_args} arguments"
        return f"{base}, got {count}. Usage: {self.signature}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


#: Every supported function, keyed by its lower-cased name (names are case-insensitive).
FUNCTIONS: dict[str, FunctionSpec] = {}


def check_output_size(value: Any, function: str = "") -> Any:
    """Refuse a value larger than the caps (:data:`MAX_TEXT_LENGTH`, :data:`MAX_LIST_ITEMS`)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_LENGTH:
            raise ExpressionEvaluationError(
                f"the result is longer than {MAX_TEXT_LENGTH} characters (the limit)"
            )
    elif isinstance(value, list | tuple):
        if len(value) > MAX_LIST_ITEMS:
            raise ExpressionEvaluationError(
                f"the result has more than {MAX_LIST_ITEMS} values (the limit)"
            )
        total = sum(len(item) for item in value if isinstance(item, str))
        if total > MAX_TEXT_LENGTH * 4:
            raise ExpressionEvaluationError(
                f"the result's values hold more than {MAX_TEXT_LENGTH * 4} characters (the limit)"
            )
    return value


def _ensure_room(size: int) -> None:
    """Refuse before building a text that would be over the cap (not after: it may not fit)."""
    if size > MAX_TEXT_LENGTH:
        raise ExpressionEvaluationError(
            f"the result would be longer than {MAX_TEXT_LENGTH} characters (the limit)"
        )


def lookup_function(name: str) -> FunctionSpec | None:
    return FUNCTIONS.get(name.lower())


def _function(
    signature: str,
    min_args: int,
    max_args: int | None,
    *,
    lazy: bool = False,
    even_args: bool = False,
    top_level_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    name = signature.split("(", 1)[0]

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name.lower()] = FunctionSpec(
            name=name,
            min_args=min_args,
            max_args=max_args,
            impl=impl,
            signature=signature,
            lazy=lazy,
            even_args=even_args,
            top_level_only=top_level_only,
        )
        return impl

    return register


# --------------------------------------------------------------------------------------------
# Coercions
# --------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")
_HEX_RE = re.compile(r"&[Hh]([0-9A-Fa-f]+)")


def is_null(value: Any) -> bool:
    """Azure's null: an absent attribute (None) or an empty multi-valued attribute."""
    value = reveal(value)
    return value is None or (isinstance(value, list | tuple) and not value)


def is_null_or_empty(value: Any) -> bool:
    value = reveal(value)
    return is_null(value) or value == ""


def _single(value: Any, what: str = "value") -> Any:
    """Unwrap a one-element list; refuse a multi-valued one where a single value is needed."""
    value = reveal(value)
    if isinstance(value, list | tuple):
        if not value:
            return None
        if len(value) == 1:
            return reveal(value[0])
        raise ExpressionEvaluationError(
            f"{what} must be a single value, got a multi-valued attribute with {len(value)} values"
        )
    return value


def to_text(value: Any, what: str = "value") -> str | None:
    """The string form Azure uses: ``True``/``False``, integers without ``.0``, dates M/d/yyyy."""
    value = _single(value, what)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return format_azure_datetime(to_datetime(value))
    return str(value)


def _parse_number(text: str) -> int | float | None:
    text = text.strip()
    if _NUMBER_RE.fullmatch(text):
        return float(text) if "." in text else int(text)
    hex_match = _HEX_RE.fullmatch(text)
    if hex_match:
        return int(hex_match.group(1), 16)
    return None


def to_number(value: Any, what: str = "value") -> int | float | None:
    value = _single(value, what)
    if value is None or isinstance(value, int | float):  # bool is an int: True → 1
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, str):
        number = _parse_number(value)
        if number is not None:
            return number
    raise ExpressionEvaluationError(f"{what} must be a number, got {value!r}")


def to_int(value: Any, what: str = "value") -> int | None:
    number = to_number(value, what)
    if isinstance(number, float):
        return round(number)  # VBA rounds a non-integral count to the nearest whole number
    return number


def to_bool(value: Any, *, strict: bool, what: str = "value") -> bool:
    """Azure's booleans: True/"True" (any case), non-zero numbers; null and "" are False.

    With ``strict`` (CBool) any other string is an error; otherwise (Not, IIF) it is False.
    """
    value = _single(value, what)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered in ("false", ""):
            return False
        number = _parse_number(lowered)
        if number is not None:
            return number != 0
    if strict:
        raise ExpressionEvaluationError(f"cannot convert {value!r} to a boolean")
    return False


def _as_list(value: Any) -> list[Any]:
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [reveal(item) for item in value]
    return [value]


def _map_text(value: Any, transform: Callable[[str], Any], what: str = "source") -> Any:
    """Apply a string transform to a value, or to each value of a multi-valued attribute."""
    value = reveal(value)
    if isinstance(value, list | tuple):
        return [_map_text(item, transform, what) for item in value]
    text = to_text(value, what)
    return None if text is None else transform(text)


# --------------------------------------------------------------------------------------------
# Dates: Azure's default text form, lenient parsing, .NET custom format strings
# --------------------------------------------------------------------------------------------

AZURE_DATETIME_FORMAT = "M/d/yyyy h:mm:ss tt"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

_ISO_RE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_US_RE = re.compile(
    r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?"
    r"\s*(?P<ampm>[AP]M)?)?\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_GENERALIZED_TIME_RE = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})"
    r"(?:\.(?P<f>\d+))?(?P<tz>Z|[+-]\d{4})?",
    re.IGNORECASE,
)


def _offset(text: str | None) -> timezone:
    if not text or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(f"invalid UTC offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _datetime_from_groups(groups: Mapping[str, str | None]) -> datetime:
    hour = int(groups.get("h") or 0)
    ampm = (groups.get("ampm") or "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} is not valid with {ampm}")
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    fraction = (groups.get("f") or "")[:6].ljust(6, "0")
    value = datetime(
        int(groups["y"] or 1),
        int(groups["mo"] or 1),
        int(groups["d"] or 1),
        hour,
        int(groups.get("mi") or 0),
        int(groups.get("s") or 0),
        int(fraction),
        tzinfo=_offset(groups.get("tz")),
    )
    return value.astimezone(UTC)


def parse_date_string(text: str) -> datetime:
    """Parse the date forms Azure's CDate meets: ISO 8601 (also ``2020-03-16-07:00``),
    Azure's own ``M/d/yyyy h:mm:ss tt`` and LDAP generalized time. Returns UTC."""
    stripped = text.strip()
    for pattern in (_ISO_RE, _US_RE, _GENERALIZED_TIME_RE):
        match = pattern.fullmatch(stripped)
        if match:
            try:
                return _datetime_from_groups(match.groupdict())
            except ValueError as exc:
                raise ExpressionEvaluationError(f"invalid date {text!r}: {exc}") from None
    raise ExpressionEvaluationError(f"cannot parse {text!r} as a date")


def to_datetime(value: Any, what: str = "date") -> datetime | None:
    """A UTC-aware datetime from a datetime (naive means UTC), a date or a date string."""
    value = _single(value, what)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        if not value.strip():
            return None
        return parse_date_string(value)
    raise ExpressionEvaluationError(f"{what} must be a date, got {value!r}")


def format_azure_datetime(value: datetime) -> str:
    """Azure's text form of a DateTime (CDate, DateAdd, Now): ``3/16/2020 7:00:00 AM``, UTC."""
    return format_dotnet_datetime(value, AZURE_DATETIME_FORMAT)


# The invariant (en-US) names, pinned so that a localized host can't change the output.
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
]  # fmt: skip
_MONTHS_ABBR = [m[:3] for m in _MONTHS]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAYS_ABBR = [d[:3] for d in _DAYS]

_SPECIFIER_CHARS = frozenset("dfFghHKmMstyz")
_MAX_RUN = {"d": 4, "h": 2, "H": 2, "m": 2, "M": 4, "s": 2, "t": 2, "z": 3, "g": 2, "K": 1}
# .NET standard (single-letter) formats, en-US.
_STANDARD_FORMATS = {
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}


def _tokenize_format(fmt: str) -> list[tuple[bool, str]]:
    """Split a .NET date format into (is_specifier, text) pieces; quotes and ``\\`` escape."""
    if len(fmt) == 1:
        if fmt not in _STANDARD_FORMATS:
            raise ExpressionEvaluationError(f"{fmt!r} is not a valid date format")
        fmt = _STANDARD_FORMATS[fmt]
    pieces: list[tuple[bool, str]] = []
    i, n = 0, len(fmt)
    while i < n:
        char = fmt[i]
        if char in _SPECIFIER_CHARS:
            j = i
            while j < n and fmt[j] == char:
                j += 1
            run = j - i
            if char in "fF" and run > 7:
                raise ExpressionEvaluationError(f"too many '{char}' in date format {fmt!r}")
            if char == "K":
                pieces.extend((True, "K") for _ in range(run))
            else:
                pieces.append((True, char * min(run, _MAX_RUN.get(char, run))))
            i = j
        elif char in "'\"":
            j, literal = i + 1, []
            while j < n and fmt[j] != char:
                if fmt[j] == "\\" and j + 1 < n:
                    j += 1
                literal.append(fmt[j])
                j += 1
            if j >= n:
                raise ExpressionEvaluationError(f"unterminated quote in date format {fmt!r}")
            pieces.append((False, "".join(literal)))
            i = j + 1
        elif char == "\\":
            if i + 1 >= n:
                raise ExpressionEvaluationError(f"date format {fmt!r} ends with a backslash")
            pieces.append((False, fmt[i + 1]))
            i += 2
        elif char == "%" and i + 1 < n and fmt[i + 1] in _SPECIFIER_CHARS:
            pieces.append((True, fmt[i + 1]))
            i += 2
        else:
            pieces.append((False, char))
            i += 1
    return pieces


def format_dotnet_datetime(value: datetime, fmt: str) -> str:
    """Format a datetime with a .NET custom (or standard) date and time format string."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    out: list[str] = []
    for is_spec, piece in _tokenize_format(fmt):
        if not is_spec:
            out.append(piece)
            continue
        char, run = piece[0], len(piece)
        if char == "d":
            if run <= 2:
                out.append(f"{value.day:0{run}d}")
            else:
                out.append((_DAYS_ABBR if run == 3 else _DAYS)[value.weekday()])
        elif char in "fF":
            digits = f"{value.microsecond:06d}0"[:run]
            if char == "F":
                digits = digits.rstrip("0")
                if not digits and out and out[-1] == ".":
                    out.pop()  # .NET drops the decimal point before an all-zero F fraction
            out.append(digits)
        elif char == "g":
            out.append("A.D.")
        elif char == "h":
            out.append(f"{(value.hour % 12) or 12:0{run}d}")
        elif char == "H":
            out.append(f"{value.hour:0{run}d}")
        elif char == "K":
            out.append(_format_offset(value, 3, zulu=True))
        elif char == "m":
            out.append(f"{value.minute:0{run}d}")
        elif char == "M":
            if run <= 2:
                out.append(f"{value.month:0{run}d}")
            else:
                out.append((_MONTHS_ABBR if run == 3 else _MONTHS)[value.month - 1])
        elif char == "s":
            out.append(f"{value.second:0{run}d}")
        elif char == "t":
            out.append(("AM" if value.hour < 12 else "PM")[:run])
        elif char == "y":
            if run <= 2:
                out.append(f"{value.year % 100:0{run}d}")
            else:
                out.append(f"{value.year:0{run}d}")
        elif char == "z":
            out.append(_format_offset(value, run))
    return "".join(out)


def _format_offset(value: datetime, run: int, *, zulu: bool = False) -> str:
    offset = value.utcoffset() or timedelta(0)
    if zulu and not offset:
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if run == 1:
        return f"{sign}{hours}"
    if run == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


def _names_pattern(names: list[str]) -> str:
    return "(?:" + "|".join(sorted(names, key=len, reverse=True)) + ")"


def parse_dotnet_datetime(
    text: str, fmt: str, *, default_date: date | None = None, trim: tuple[bool, bool] = (True, True)
) -> datetime:
    """Parse ``text`` exactly in a .NET custom date format (``ParseExact``). Returns UTC.

    Values with an offset (``zzz``, ``K``) are converted to UTC; values without one are UTC.
    A format with no date part takes ``default_date`` (today), as .NET does.
    """
    if trim[0]:
        text = text.lstrip()
    if trim[1]:
        text = text.rstrip()
    regex: list[str] = []
    fields: list[tuple[str, str]] = []  # (group name, specifier)
    for is_spec, piece in _tokenize_format(fmt):
        if not is_spec:
            regex.append(re.escape(piece))
            continue
        char, run = piece[0], len(piece)
        group = f"g{len(fields)}"
        if char == "d" and run >= 3:
            body = _names_pattern(_DAYS_ABBR if run == 3 else _DAYS)
        elif char == "M" and run >= 3:
            body = _names_pattern(_MONTHS_ABBR if run == 3 else _MONTHS)
        elif char in "dhHmMs":
            body = r"\d{1,2}" if run == 1 else r"\d{2}"
        elif char == "f":
            body = rf"\d{{{run}}}"
        elif char == "F":
            body = rf"\d{{0,{run}}}"
        elif char == "y":
            body = {1: r"\d{1,2}", 2: r"\d{2}", 3: r"\d{3,4}"}.get(run, rf"\d{{{run}}}")
        elif char == "t":
            body = "[AaPp]" if run == 1 else "[AaPp][Mm]"
        elif char == "z":
            body = {1: r"[+-]\d{1,2}", 2: r"[+-]\d{2}"}.get(run, r"[+-]\d{2}:\d{2}")
        elif char == "K":
            body = r"(?:Z|z|[+-]\d{2}:\d{2})?"
        else:  # g: the era
            body = r"(?:A\.D\.|AD)"
        regex.append(f"(?P<{group}>{body})")
        fields.append((group, piece))
    match = re.fullmatch("".join(regex), text, re.IGNORECASE)
    if match is None:
        raise ExpressionEvaluationError(f"{text!r} does not match the date format {fmt!r}")
    parts: dict[str, Any] = {}
    for group, piece in fields:
        raw = match.group(group)
        char, run = piece[0], len(piece)
        if char == "d" and run <= 2:
            parts["day"] = int(raw)
        elif char == "M":
            if run <= 2:
                parts["month"] = int(raw)
            else:
                names = [n.lower() for n in (_MONTHS_ABBR if run == 3 else _MONTHS)]
                parts["month"] = names.index(raw.lower()) + 1
        elif char == "y":
            year = int(raw)
            if run <= 2:  # .NET's two-digit-year window: 00-49 → 20xx, 50-99 → 19xx
                year += 2000 if year < 50 else 1900
            parts["year"] = year
        elif char in "hH":
            parts["hour12" if char == "h" else "hour"] = int(raw)
        elif char == "m":
            parts["minute"] = int(raw)
        elif char == "s":
            parts["second"] = int(raw)
        elif char in "fF":
            parts["microsecond"] = int((raw[:6]).ljust(6, "0")) if raw else 0
        elif char == "t":
            parts["pm"] = raw[0].upper() == "P"
        elif char in "zK" and raw:
            parts["tz"] = raw
    hour = parts.get("hour", 0)
    if "hour12" in parts:
        hour = parts["hour12"] % 12 + (12 if parts.get("pm") else 0)
    elif parts.get("pm") and hour < 12:
        hour += 12
    has_date = any(key in parts for key in ("year", "month", "day"))
    fallback = default_date if (default_date is not None and not has_date) else date(1, 1, 1)
    try:
        tz = UTC
        if parts.get("tz", "Z").upper() != "Z":
            sign, hours, _, minutes = re.fullmatch(r"([+-])(\d+)(:(\d+))?", parts["tz"]).groups()
            tz = _offset(f"{sign}{int(hours):02d}:{minutes or '00'}")
        value = datetime(
            parts.get("year", fallback.year),
            parts.get("month", fallback.month),
            parts.get("day", fallback.day),
            hour,
            parts.get("minute", 0),
            parts.get("second", 0),
            parts.get("microsecond", 0),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ExpressionEvaluationError(f"invalid date {text!r}: {exc}") from None
    return value.astimezone(UTC)


_DATETIME_STYLES = {
    "none",
    "allowleadingwhite",
    "allowtrailingwhite",
    "allowinnerwhite",
    "allowwhitespaces",
    "nocurrentdatedefault",
    "adjusttouniversal",
    "assumelocal",
    "assumeuniversal",
    "roundtripkind",
}


def _datetime_styles(styles: str | None) -> tuple[bool, bool]:
    """Validate a DateTimeStyles list; return whether leading/trailing white is allowed."""
    if styles is None or not styles.strip():
        return (True, True)  # Azure's default: RoundtripKind, AllowLeadingWhite, AllowTrailingWhite
    names = {part.strip().lower() for part in re.split(r"[,|]", styles) if part.strip()}
    unknown = sorted(names - _DATETIME_STYLES)
    if unknown:
        raise ExpressionEvaluationError(f"unknown DateTimeStyles value {unknown[0]!r}")
    spaces = "allowwhitespaces" in names
    return (spaces or "allowleadingwhite" in names, spaces or "allowtrailingwhite" in names)


_INTERVALS = {
    "yyyy": "year",
    "q": "quarter",
    "m": "month",
    "y": "day",
    "d": "day",
    "w": "weekday",
    "ww": "week",
    "h": "hour",
    "n": "minute",
    "s": "second",
}


def _interval(value: Any) -> str:
    text = to_text(value, "interval")
    unit = _INTERVALS.get((text or "").strip().lower())
    if unit is None:
        raise ExpressionEvaluationError(
            f"unknown interval {text!r}; use one of yyyy, q, m, y, d, w, ww, h, n, s"
        )
    return unit


def _add_months(value: datetime, months: int) -> datetime:
    year, month0 = divmod(value.month - 1 + months, 12)
    year += value.year
    day = min(value.day, calendar.monthrange(year, month0 + 1)[1])
    return value.replace(year=year, month=month0 + 1, day=day)


# --------------------------------------------------------------------------------------------
# The functions, alphabetically
# --------------------------------------------------------------------------------------------


@_function("Append(source, suffix)", 2, 2)
def append(ctx: EvalContext, source: Any, suffix: Any) -> Any:
    """Null parts count as "" (Append is Join with no separator); null if both are null."""
    suffix_text = to_text(suffix, "suffix")
    if is_null(source):
        return suffix_text
    return _map_text(source, lambda text: text + (suffix_text or ""))


@_function("AppRoleAssignmentsComplex([appRoleAssignments])", 1, 1)
def app_role_assignments_complex(ctx: EvalContext, assignments: Any) -> Any:
    roles = _as_list(assignments)
    return roles or None


@_function("BitAnd(value1, value2)", 2, 2)
def bit_and(ctx: EvalContext, value1: Any, value2: Any) -> Any:
    left, right = to_int(value1, "value1"), to_int(value2, "value2")
    if left is None or right is None:
        return None
    return left & right


@_function("CBool(expression)", 1, 1)
def cbool(ctx: EvalContext, value: Any) -> bool:
    return to_bool(value, strict=True)


@_function("CDate(expression)", 1, 1)
def cdate(ctx: EvalContext, value: Any) -> datetime | None:
    return to_datetime(value, "expression")


@_function("Coalesce(source1, source2, ..., defaultValue)", 1, None, lazy=True)
def coalesce(ctx: EvalContext, *args: Arg) -> Any:
    for arg in args:
        value = arg()
        if not is_null(value):
            return value
    return None


@_function("ConvertToBase64(source)", 1, 1)
def convert_to_base64(ctx: EvalContext, source: Any) -> str | None:
    """Base64 of the UTF-16LE ("Unicode") bytes, as Azure's example shows."""
    text = to_text(source, "source")
    return None if text is None else base64.b64encode(text.encode("utf-16-le")).decode("ascii")


@_function("ConvertToUTF8Hex(source)", 1, 1)
def convert_to_utf8_hex(ctx: EvalContext, source: Any) -> str | None:
    text = to_text(source, "source")
    return None if text is None else text.encode("utf-8").hex().upper()


@_function("Count(attribute)", 1, 1)
def count(ctx: EvalContext, attribute: Any) -> int:
    return len(_as_list(attribute))


@_function("CStr(value)", 1, 1)
def cstr(ctx: EvalContext, value: Any) -> Any:
    value = reveal(value)
    if isinstance(value, list | tuple):
        return [to_text(item) for item in value] or None
    return to_text(value)


@_function("DateAdd(interval, value, dateTime)", 3, 3)
def date_add(ctx: EvalContext, interval: Any, value: Any, date_time: Any) -> datetime | None:
    unit = _interval(interval)
    amount = to_int(value, "value")
    moment = to_datetime(date_time, "dateTime")
    if amount is None or moment is None:
        return None
    try:
        if unit == "year":
            return _add_months(moment, 12 * amount)
        if unit == "quarter":
            return _add_months(moment, 3 * amount)
        if unit == "month":
            return _add_months(moment, amount)
        step = {
            "day": timedelta(days=1),
            "weekday": timedelta(days=1),
            "week": timedelta(weeks=1),
            "hour": timedelta(hours=1),
            "minute": timedelta(minutes=1),
            "second": timedelta(seconds=1),
        }[unit]
        return moment + step * amount
    except (OverflowError, ValueError):
        raise ExpressionEvaluationError("the resulting date is out of range") from None


@_function("DateDiff(interval, date1, date2)", 3, 3)
def date_diff(ctx: EvalContext, interval: Any, date1: Any, date2: Any) -> int | None:
    """date2 - date1 in whole intervals, counting boundaries crossed (VBA's DateDiff)."""
    unit = _interval(interval)
    first, second = to_datetime(date1, "date1"), to_datetime(date2, "date2")
    if first is None or second is None:
        return None
    if unit == "year":
        return second.year - first.year
    if unit == "quarter":
        return (second.year - first.year) * 4 + (second.month - 1) // 3 - (first.month - 1) // 3
    if unit == "month":
        return (second.year - first.year) * 12 + second.month - first.month
    days = second.toordinal() - first.toordinal()
    if unit == "day":
        return days
    if unit == "weekday":  # whole weeks between the two dates
        return int(days / 7)
    if unit == "week":  # Sundays crossed: calendar weeks starting on Sunday
        return second.toordinal() // 7 - first.toordinal() // 7
    seconds = {"hour": 3600, "minute": 60, "second": 1}[unit]

    def mark(moment: datetime) -> int:
        total = moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60
        return (total + moment.second) // seconds

    return mark(second) - mark(first)


@_function("DateFromNum(value)", 1, 1)
def date_from_num(ctx: EvalContext, value: Any) -> datetime | None:
    """An AD timestamp (100-ns ticks since 1601-01-01 UTC) as a DateTime."""
    ticks = to_int(value, "value")
    if ticks is None:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise ExpressionEvaluationError(f"{ticks} is out of the range of dates") from None


@_function("FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)", 3, 4)
def format_date_time(ctx: EvalContext, *args: Any) -> str | None:
    """Also accepts Azure's older three-argument form (source, inputFormat, outputFormat)."""
    if len(args) == 3:
        source, input_format, output_format = args
        styles = None
    else:
        source, styles, input_format, output_format = args
    trim = _datetime_styles(to_text(styles, "dateTimeStyles"))
    output_text = to_text(output_format, "outputFormat")
    if not output_text:
        raise ExpressionEvaluationError("outputFormat is required")
    source = reveal(source)
    if isinstance(source, list | tuple) and len(source) > 1:
        return [format_date_time(ctx, item, styles, input_format, output_format) for item in source]
    source = _single(source, "source")
    if isinstance(source, datetime | date):
        moment = to_datetime(source)
    else:
        text = to_text(source, "source")
        if text is None or not text.strip():
            return None
        input_text = to_text(input_format, "inputFormat")
        if not input_text:
            raise ExpressionEvaluationError("inputFormat is required")
        moment = parse_dotnet_datetime(text, input_text, default_date=ctx.now.date(), trim=trim)
    assert moment is not None
    return format_dotnet_datetime(moment, output_text)


@_function("Guid()", 0, 0)
def guid(ctx: EvalContext) -> str:
    return str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))


@_function("IgnoreFlowIfNullOrEmpty(expression)", 1, 1)
def ignore_flow_if_null_or_empty(ctx: EvalContext, value: Any) -> Any:
    if is_null_or_empty(value):
        raise IgnoreFlowSignal
    return value


@_function("IIF(condition, valueIfTrue, valueIfFalse)", 3, 3, lazy=True)
def iif(ctx: EvalContext, condition: Arg, if_true: Arg, if_false: Arg) -> Any:
    return if_true() if to_bool(condition(), strict=False, what="condition") else if_false()


@_function("InStr(value1, value2, start, compareType)", 2, 4)
def instr(
    ctx: EvalContext, value1: Any, value2: Any, start: Any = None, compare: Any = None
) -> int | None:
    """1-based position of value2 in value1 (0 when absent); null if either is null (VBA)."""
    haystack, needle = to_text(value1, "value1"), to_text(value2, "value2")
    begin = to_int(start, "start")
    begin = 1 if begin is None else begin
    if begin < 1:
        raise ExpressionEvaluationError(f"start must be 1 or more, got {begin}")
    mode = (to_text(compare, "compareType") or "vbBinaryCompare").strip().lower()
    if mode not in ("vbbinarycompare", "vbtextcompare", "0", "1"):
        raise ExpressionEvaluationError(
            f"compareType must be vbBinaryCompare or vbTextCompare, got {compare!r}"
        )
    if haystack is None or needle is None:
        return None
    if mode in ("vbtextcompare", "1"):
        haystack, needle = haystack.lower(), needle.lower()
    return haystack.find(needle, begin - 1) + 1


@_function("IsNull(expression)", 1, 1)
def isnull(ctx: EvalContext, value: Any) -> bool:
    return is_null(value)


@_function("IsNullOrEmpty(expression)", 1, 1)
def isnullorempty(ctx: EvalContext, value: Any) -> bool:
    return is_null_or_empty(value)


@_function("IsPresent(expression)", 1, 1)
def ispresent(ctx: EvalContext, value: Any) -> bool:
    return not is_null_or_empty(value)


@_function("IsString(expression)", 1, 1)
def isstring(ctx: EvalContext, value: Any) -> bool:
    return isinstance(reveal(value), str)


@_function("Item(attribute, index)", 2, 2)
def item(ctx: EvalContext, attribute: Any, index: Any) -> Any:
    """The index-th value (1-based, like Azure); null when out of range."""
    position = to_int(index, "index")
    values = _as_list(attribute)
    if position is None or not 1 <= position <= len(values):
        return None
    return values[position - 1]


@_function("Join(separator, source1, source2, ...)", 1, None)
def join(ctx: EvalContext, separator: Any, *sources: Any) -> str:
    """Multi-valued sources contribute every value; null and empty values are skipped."""
    glue = to_text(separator, "separator") or ""
    parts: list[str] = []
    for source in sources:
        for value in _as_list(source):
            text = to_text(value)
            if text:
                parts.append(text)
    _ensure_room(sum(map(len, parts)) + len(glue) * max(0, len(parts) - 1))
    return glue.join(parts)


@_function("Left(string, numChars)", 2, 2)
def left(ctx: EvalContext, source: Any, num_chars: Any) -> Any:
    text = to_text(source, "string")
    size = to_int(num_chars, "numChars")
    if text is None:
        return ""
    if size is None or size < 0:
        return text
    return text[:size]


@_function("Mid(source, start, length)", 3, 3)
def mid(ctx: EvalContext, source: Any, start: Any, length: Any) -> Any:
    begin, size = to_int(start, "start"), to_int(length, "length")
    if begin is None or begin < 1:
        raise ExpressionEvaluationError(f"start must be 1 or more, got {start!r}")
    if size is None or size < 0:
        raise ExpressionEvaluationError(f"length must be 0 or more, got {length!r}")
    return _map_text(source, lambda text: text[begin - 1 : begin - 1 + size])


_DIACRITIC_LETTERS = {
    "æ": "ae", "Æ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE", "ß": "ss",
    "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H",
}  # fmt: skip


def _normalize_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    mapped = "".join(_DIACRITIC_LETTERS.get(char, char) for char in stripped)
    return unicodedata.normalize("NFC", mapped)


@_function("NormalizeDiacritics(source)", 1, 1)
def normalize_diacritics(ctx: EvalContext, source: Any) -> Any:
    return _map_text(source, _normalize_diacritics)


@_function("Not(source)", 1, 1)
def not_(ctx: EvalContext, source: Any) -> bool:
    """True unless the source is true (True, "True" in any case, a non-zero number)."""
    return not to_bool(source, strict=False, what="source")


@_function("Now()", 0, 0)
def now(ctx: EvalContext) -> datetime:
    return ctx.now


@_function("NumFromDate(value)", 1, 1)
def num_from_date(ctx: EvalContext, value: Any) -> int | None:
    moment = to_datetime(value, "value")
    if moment is None:
        return None
    delta = moment - _FILETIME_EPOCH
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 10


def _is_default_separator(char: str) -> bool:
    # .NET ToTitleCase: anything but letters, marks and digits starts a new word, except the
    # apostrophe (so "o'neil" → "O'neil").
    return char not in "'\u2019" and unicodedata.category(char)[0] in "ZCPS"


def _proper_case(text: str, separators: str | None) -> str:
    out: list[str] = []
    word_start = True
    for char in text.lower():
        if separators is None and _is_default_separator(char) or separators and char in separators:
            word_start = True
            out.append(char)
        elif word_start:
            titled = char.title()
            out.append(titled if len(titled) == 1 else char)
            word_start = False
        else:
            out.append(char)
    return "".join(out)


@_function("PCase(source, wordSeparators)", 1, 2)
def pcase(ctx: EvalContext, source: Any, separators: Any = None) -> Any:
    chars = to_text(separators, "wordSeparators")
    return _map_text(source, lambda text: _proper_case(text, chars or None))


_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_SPECIAL = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"  # Windows password-complexity specials


@_function(
    "RandomString(length, minimumNumbers, minimumSpecialCharacters, minimumCapital, "
    "minimumLowerCase, charactersToAvoid)",
    5,
    6,
)
def random_string(ctx: EvalContext, length: Any, *args: Any) -> str:
    size = to_int(length, "length")
    if size is None or not 1 <= size <= 256:
        raise ExpressionEvaluationError(f"length must be between 1 and 256, got {length!r}")
    names = ("minimumNumbers", "minimumSpecialCharacters", "minimumCapital", "minimumLowerCase")
    minimums = [to_int(value, name) or 0 for value, name in zip(args[:4], names, strict=True)]
    if any(minimum < 0 for minimum in minimums):
        raise ExpressionEvaluationError("the minimum counts can't be negative")
    if sum(minimums) > size:
        raise ExpressionEvaluationError(
            f"length {size} is shorter than the sum of the minimums ({sum(minimums)})"
        )
    avoid = set(to_text(args[4], "charactersToAvoid") or "") if len(args) > 4 else set()
    pools = ["".join(c for c in pool if c not in avoid) for pool in (_DIGITS, _SPECIAL, _UPPER)]
    pools.append("".join(c for c in _LOWER if c not in avoid))
    rng = ctx.rng
    chars: list[str] = []
    for pool, minimum, name in zip(pools, minimums, names, strict=True):
        if minimum and not pool:
            raise ExpressionEvaluationError(f"charactersToAvoid leaves nothing for {name}")
        chars.extend(rng.choice(pool) for _ in range(minimum))
    # The rest comes from the classes asked for (all classes when no minimum is set).
    wanted = [pool for pool, minimum in zip(pools, minimums, strict=True) if minimum and pool]
    everything = "".join(wanted or pools)
    if size > len(chars) and not everything:
        raise ExpressionEvaluationError("charactersToAvoid excludes every character")
    chars.extend(rng.choice(everything) for _ in range(size - len(chars)))
    rng.shuffle(chars)
    return "".join(chars)


@_function("Redact(value)", 1, 1)
def redact(ctx: EvalContext, value: Any) -> Any:
    if value is None:
        return None
    return RedactedValue(value)


@_function("RemoveDuplicates(attribute)", 1, 1)
def remove_duplicates(ctx: EvalContext, attribute: Any) -> list[Any] | None:
    """Keeps the first occurrence of each value, in order; comparison is case-sensitive."""
    if is_null(attribute):
        return None
    seen: set[Any] = set()
    unique: list[Any] = []
    for value in _as_list(attribute):
        key = value if isinstance(value, str | int | float | bool) else repr(value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


# .NET → Python regular expressions: named groups (?<n>…)/(?'n'…) and \k<n> back-references.
def _dotnet_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            if not in_class and pattern[i + 1] == "k" and i + 2 < n and pattern[i + 2] in "<'":
                close = ">" if pattern[i + 2] == "<" else "'"
                end = pattern.find(close, i + 3)
                if end > 0:
                    out.append(f"(?P={pattern[i + 3 : end]})")
                    i = end + 1
                    continue
            out.append(pattern[i : i + 2])
            i += 2
        elif in_class:
            in_class = char != "]"
            out.append(char)
            i += 1
        elif char == "[":
            in_class = True
            out.append(char)
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append(r"\]")
                i += 1
        elif pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
        elif pattern.startswith("(?'", i):
            end = pattern.find("'", i + 3)
            if end < 0:
                raise ExpressionEvaluationError(f"invalid regular expression {pattern!r}")
            out.append(f"(?P<{pattern[i + 3 : end]}>")
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _compile_regex(pattern: str) -> regex.Pattern[str]:
    # The ``regex`` package (not ``re``): its matching takes a timeout, so a catastrophic pattern
    # such as ``^(a+)+$`` stops after REGEX_TIMEOUT_SECONDS instead of stalling the worker.
    try:
        return regex.compile(_dotnet_regex(pattern), regex.VERSION0)
    except regex.error as exc:
        raise ExpressionEvaluationError(f"invalid regular expression {pattern!r}: {exc}") from None


def _regex_timeout() -> ExpressionEvaluationError:
    return ExpressionEvaluationError(
        f"the regular expression took longer than {REGEX_TIMEOUT_SECONDS} s (the limit)"
    )


# When the current evaluation's regular-expression budget runs out (time.monotonic()).
_regex_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "regex_deadline", default=None
)


def start_regex_budget() -> contextvars.Token:
    """Give the evaluation that starts now REGEX_BUDGET_SECONDS of regular expressions."""
    return _regex_deadline.set(time.monotonic() + REGEX_BUDGET_SECONDS)


def end_regex_budget(token: contextvars.Token) -> None:
    _regex_deadline.reset(token)


def _regex_time_left() -> float:
    deadline = _regex_deadline.get()
    if deadline is None:
        return REGEX_TIMEOUT_SECONDS
    left = deadline - time.monotonic()
    if left <= 0:
        raise ExpressionEvaluationError(
            f"the regular expressions took longer than {REGEX_BUDGET_SECONDS} s in all (the limit)"
        )
    return min(REGEX_TIMEOUT_SECONDS, left)


class _Budget:
    """Counts the characters a substitution produces, to stop it before it grows too large."""

    def __init__(self, start: int) -> None:
        self.size = start

    def add(self, delta: int) -> None:
        self.size += delta
        _ensure_room(self.size)


def _regex_sub(rx: regex.Pattern[str], text: str, substitute: Callable[[Any], str]) -> str:
    budget = _Budget(len(text))

    def bounded(match: Any) -> str:
        out = substitute(match)
        budget.add(len(out) - (match.end() - match.start()))
        return out

    try:
        return rx.sub(bounded, text, timeout=_regex_time_left())
    except TimeoutError:
        raise _regex_timeout() from None


def _regex_search(rx: regex.Pattern[str], text: str) -> Any:
    try:
        return rx.search(text, timeout=_regex_time_left())
    except TimeoutError:
        raise _regex_timeout() from None


def _expand_replacement(match: Any, replacement: str) -> str:
    """.NET substitutions: $1, ${name}, $$, $&, $`, $', $_."""
    out: list[str] = []
    i, n = 0, len(replacement)
    while i < n:
        char = replacement[i]
        if char != "$" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        nxt = replacement[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "&":
            out.append(match.group(0))
            i += 2
        elif nxt == "`":
            out.append(match.string[: match.start()])
            i += 2
        elif nxt == "'":
            out.append(match.string[match.end() :])
            i += 2
        elif nxt == "_":
            _ensure_room(sum(map(len, out)) + len(match.string))
            out.append(match.string)
            i += 2
        elif nxt == "{" and "}" in replacement[i + 2 :]:
            end = replacement.index("}", i + 2)
            name = replacement[i + 2 : end]
            key: int | str = int(name) if name.isdigit() else name
            try:
                out.append(match.group(key) or "")
            except IndexError:
                out.append(replacement[i : end + 1])  # no such group: .NET keeps it literally
            i = end + 1
        elif nxt.isdigit():
            end = i + 1
            while end < n and replacement[end].isdigit():
                end += 1
            number = int(replacement[i + 1 : end])
            while number > match.re.groups and end > i + 2:  # longest valid group number
                end -= 1
                number = int(replacement[i + 1 : end])
            if number <= match.re.groups:
                out.append(match.group(number) or "")
                i = end
            else:
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _replace_group(rx: regex.Pattern[str], text: str, group: str, replacement: str) -> str:
    if group not in rx.groupindex and not (group.isdigit() and int(group) <= rx.groups):
        raise ExpressionEvaluationError(f"the regexPattern has no group named {group!r}")
    key: int | str = int(group) if group.isdigit() else group

    def substitute(match: Any) -> str:
        start, end = match.span(key)
        if start < 0:
            return match.group(0)
        whole = match.group(0)
        offset = match.start()
        return (
            whole[: start - offset]
            + _expand_replacement(match, replacement)
            + whole[end - offset :]
        )

    return _regex_sub(rx, text, substitute)


@_function(
    "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, "
    "replacementAttributeName, template)",
    7,
    7,
    lazy=True,
)
def replace(
    ctx: EvalContext,
    source: Arg,
    old_value: Arg,
    regex_pattern: Arg,
    regex_group_name: Arg,
    replacement_value: Arg,
    replacement_attribute: Arg,
    template: Arg,
) -> Any:
    """Azure's Replace; which form applies depends on which arguments are given (non-null):

    * oldValue + template: the template with every oldValue replaced by the source;
    * regexPattern + regexGroupName + replacementAttributeName (slot filled): the source if it
      has a value, else that group of the pattern's match in the replacement attribute;
    * regexPattern + regexGroupName + replacementValue: each match's group replaced;
    * regexPattern + replacementValue: each match replaced (``$1``, ``${name}`` substitutions);
    * oldValue + replacementValue: plain, case-sensitive replacement of every occurrence.
    """
    old = to_text(old_value(), "oldValue")
    pattern = to_text(regex_pattern(), "regexPattern")
    group = to_text(regex_group_name(), "regexGroupName")
    new = to_text(replacement_value(), "replacementValue")
    shape = to_text(template(), "template")
    value = source()
    if old is not None and shape is not None:
        text = to_text(value, "source")
        if text is None:
            return None
        if old:
            _ensure_room(len(shape) + shape.count(old) * max(0, len(text) - len(old)))
            return shape.replace(old, text)
        return shape
    if pattern is not None:
        rx = _compile_regex(pattern)
        if group is not None and replacement_attribute.present:
            if not is_null_or_empty(value):
                return value
            other = to_text(replacement_attribute(), "replacementAttributeName")
            match = _regex_search(rx, other) if other is not None else None
            if match is None:
                return None
            try:
                return match.group(group)
            except IndexError:
                raise ExpressionEvaluationError(
                    f"the regexPattern has no group named {group!r}"
                ) from None
        if new is None:
            raise ExpressionEvaluationError(
                "a regexPattern needs a replacementValue (or a regexGroupName and a "
                "replacementAttributeName)"
            )
        if group is not None:
            return _map_text(value, lambda text: _replace_group(rx, text, group, new))
        return _map_text(
            value, lambda text: _regex_sub(rx, text, lambda m: _expand_replacement(m, new))
        )
    if old is not None:
        if new is None:
            raise ExpressionEvaluationError("an oldValue needs a replacementValue or a template")
        return _map_text(value, lambda text: _plain_replace(text, old, new))
    raise ExpressionEvaluationError("give an oldValue or a regexPattern")


def _plain_replace(text: str, old: str, new: str) -> str:
    if not old:
        return text
    _ensure_room(len(text) + text.count(old) * max(0, len(new) - len(old)))
    return text.replace(old, new)


@_function(
    "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...)",
    2,
    None,
    lazy=True,
    top_level_only=True,
)
def select_unique_value(ctx: EvalContext, *rules: Arg) -> Any:
    """The first rule with a value; with ``is_unique`` given, the first one it accepts."""
    candidates = 0
    for rule in rules:
        value = rule()
        if is_null_or_empty(value):
            continue
        candidates += 1
        if ctx.is_unique is None or ctx.is_unique(reveal(value)):
            return value
    if ctx.is_unique is not None and candidates:
        raise ExpressionEvaluationError(
            f"all {_plural(candidates, 'generated value')} already exist in the target"
        )
    return None


@_function("SingleAppRoleAssignment([appRoleAssignments])", 1, 1)
def single_app_role_assignment(ctx: EvalContext, assignments: Any) -> Any:
    """The one role value; duplicates of the same value count once; two roles are an error."""
    roles: list[Any] = []
    for role in _as_list(assignments):
        value = role.get("value") if isinstance(role, Mapping) else role
        if not is_null_or_empty(value) and value not in roles:
            roles.append(value)
    if len(roles) > 1:
        raise ExpressionEvaluationError(
            f"the user has {len(roles)} app role assignments ({', '.join(map(str, roles))}); "
            "SingleAppRoleAssignment supports only one"
        )
    return roles[0] if roles else None


@_function("Split(source, delimiter)", 2, 2)
def split(ctx: EvalContext, source: Any, delimiter: Any) -> list[str] | None:
    """Values are trimmed of surrounding white space, as in Azure's documented example."""
    text = to_text(source, "source")
    if text is None:
        return None
    separator = to_text(delimiter, "delimiter")
    parts = text.split(separator) if separator else [text]
    return [part.strip() for part in parts]


@_function("StripSpaces(source)", 1, 1)
def strip_spaces(ctx: EvalContext, source: Any) -> Any:
    return _map_text(source, lambda text: text.replace(" ", ""))


@_function(
    "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
    4,
    None,
    lazy=True,
    even_args=True,
)
def switch(ctx: EvalContext, source: Arg, default: Arg, *pairs: Arg) -> Any:
    """Case-sensitive match of the source's text with each key; null matches an empty key."""
    text = to_text(source(), "source") or ""
    for index in range(0, len(pairs) - 1, 2):
        if (to_text(pairs[index](), "key") or "") == text:
            return pairs[index + 1]()
    return default()


@_function("ToLower(source, culture)", 1, 2)
def to_lower(ctx: EvalContext, source: Any, culture: Any = None) -> Any:
    return _map_text(source, str.lower)


@_function("ToUpper(source, culture)", 1, 2)
def to_upper(ctx: EvalContext, source: Any, culture: Any = None) -> Any:
    return _map_text(source, str.upper)


@_function("Word(string, wordNumber, delimiters)", 3, 3)
def word(ctx: EvalContext, source: Any, word_number: Any, delimiters: Any) -> str:
    """The n-th (1-based) run of characters between any of the delimiter characters."""
    text = to_text(source, "string")
    number = to_int(word_number, "wordNumber")
    if text is None or number is None or number < 1:
        return ""
    chars = to_text(delimiters, "delimiters") or ""
    words = re.split("[" + re.escape(chars) + "]+", text) if chars else [text]
    words = [w for w in words if w]
    return words[number - 1] if number <= len(words) else ""
