"""Attribute-mapping expressions, Azure's (Entra ID's) language: parsing, validation, evaluation.

Syntax (parsed with a ``lark`` LALR grammar, never ``eval``)::

    Join(" ", [givenName], [surname])                      function calls, any nesting
    Switch([IsSoftDeleted], , "False", "True", "True", "False")   empty argument = null
    IIF([country]="USA", [country], [department])          = <> < <= > >= in conditions
    [mail]   "a \\"quoted\\" string"   42   -1.5   &HF7   True   vbTextCompare

* Function names are case-insensitive; attribute names (in square brackets) are looked up
  case-insensitively in the source mapping. A missing attribute is null (``None``).
* Strings are in double quotes; ``\\"`` and ``\\\\`` are the escapes. Any other backslash is kept
  as it is (so ``"\\d+"`` and Azure's ``"\\\\d+"`` are the same regular expression).
* Bare words are the constants ``True``/``False`` (Python booleans) and ``vbBinaryCompare``/
  ``vbTextCompare`` (for InStr); anything else is reported as an unknown name.
* ``Name()`` has no arguments; ``Name(,)`` has two empty ones.

:func:`parse` raises :class:`ExpressionError` (with the 0-based offset and 1-based line and
column of the problem) for syntax errors, unknown functions or constants, wrong argument counts,
``SelectUniqueValue`` not at the top and, when ``known_attributes`` is given, unknown
attributes. :meth:`Expression.evaluate` returns native values: ``bool`` from Not/IsNull/IIF
conditions…, ``int`` from Count/InStr/DateDiff…, ``list`` for multi-valued results, ``str``
otherwise (dates become Azure's ``M/d/yyyy h:mm:ss tt`` text, UTC), ``None`` for null, and
:data:`IGNORE_FLOW` when ``IgnoreFlowIfNullOrEmpty`` says not to flow the attribute. Runtime
failures raise :class:`ExpressionEvaluationError` naming the function.

The function library and its semantic decisions live in :mod:`.expression_functions`.
"""

from __future__ import annotations

import difflib
import functools
import random as random_module
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .expression_functions import (
    FUNCTIONS,
    IGNORE_FLOW,
    REDACTED,
    Arg,
    EvalContext,
    ExpressionEvaluationError,
    FunctionSpec,
    IgnoreFlowSignal,
    RedactedValue,
    check_output_size,
    end_regex_budget,
    format_azure_datetime,
    lookup_function,
    reveal,
    start_regex_budget,
    to_bool,
    to_datetime,
    to_number,
    to_text,
)

__all__ = [
    "FUNCTIONS",
    "IGNORE_FLOW",
    "REDACTED",
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "RedactedValue",
    "function_names",
    "parse",
    "reveal",
    "validate",
]

MAX_LENGTH = 10_000
MAX_DEPTH = 64

_GRAMMAR = r"""
start: expr

?expr: operand
     | operand COMP_OP operand  -> compare

?operand: call
        | attribute
        | STRING                -> string
        | NUMBER                -> number
        | HEXNUMBER             -> hexnumber
        | NAME                  -> name

call: NAME LPAR slot (COMMA slot)* RPAR
slot: [expr]
attribute: LSQB [ATTR_NAME] RSQB

LPAR: "("
RPAR: ")"
COMMA: ","
LSQB: "["
RSQB: "]"
COMP_OP: "<>" | "<=" | ">=" | "=" | "<" | ">"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(?:[^"\\]|\\.)*"/s
NUMBER: /-?\d+(?:\.\d+)?/
HEXNUMBER: /&[Hh][0-9A-Fa-f]+/
ATTR_NAME.-1: /[^\[\]\s"](?:[^\[\]"\r\n]*[^\[\]"\s])?/

%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)

_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "vbbinarycompare": "vbBinaryCompare",
    "vbtextcompare": "vbTextCompare",
}

_TERMINAL_NAMES = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMP_OP": "a comparison operator",
    "NAME": "a function name",
    "STRING": "a string",
    "NUMBER": "a number",
    "HEXNUMBER": "a number",
    "ATTR_NAME": "an attribute name",
    "$END": "the end of the expression",
}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """An invalid expression. ``position`` is a 0-based offset into ``text``; ``line`` and
    ``column`` are 1-based. ``str(error)`` includes the line and column."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.line = text.count("\n", 0, self.position) + 1
        self.column = self.position - (text.rfind("\n", 0, self.position) + 1) + 1

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"

    def __repr__(self) -> str:
        return f"ExpressionError({self.message!r}, position={self.position})"

    def caret(self) -> str:
        """The offending line of the expression with a ``^`` under the error position."""
        lines = self.text.split("\n")
        line = lines[self.line - 1] if self.line - 1 < len(lines) else ""
        return f"{line}\n{' ' * (self.column - 1)}^"


def _syntax_error(exc: UnexpectedInput, text: str) -> ExpressionError:
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream
        char = text[position]
        if char == '"':
            return ExpressionError("Unterminated string: missing the closing '\"'", position, text)
        if char == "'":
            return ExpressionError("Strings must be in double quotes", position, text)
        return ExpressionError(f"Unexpected character {char!r}", position, text)
    expected: set[str] = set(getattr(exc, "expected", ()) or ())
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        position = len(text.rstrip())
        if "RSQB" in expected:
            return ExpressionError("Missing ']' at the end of the expression", position, text)
        if "RPAR" in expected:
            return ExpressionError("Missing ')' at the end of the expression", position, text)
        return ExpressionError(
            f"Unexpected end of the expression; expected {_describe_expected(expected)}",
            position,
            text,
        )
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    position = token.start_pos or 0
    expected = _accepted(exc) or expected
    if token.type == "ATTR_NAME":  # only the fallback lexer makes these outside of brackets
        char = text[position]
        if char == "'":
            return ExpressionError("Strings must be in double quotes", position, text)
        return ExpressionError(f"Unexpected character {char!r}", position, text)
    found = _describe_token(token)
    if token.type == "LPAR" and "LPAR" not in expected:
        message = f"Unexpected {found}: only a function name can be followed by '('"
    elif token.type == "COMP_OP" and "COMP_OP" not in expected:
        message = f"Unexpected {found}: only one comparison is allowed here"
    else:
        message = f"Unexpected {found}; expected {_describe_expected(expected)}"
    return ExpressionError(message, position, text)


def _accepted(exc: UnexpectedToken) -> set[str]:
    """The terminals the parser would really accept there (LALR's own set can be too wide)."""
    try:
        return set(exc.interactive_parser.accepts())
    except Exception:  # pragma: no cover - older lark or no interactive parser
        return set()


def _describe_token(token: Token) -> str:
    if token.type == "STRING":
        return f"string {token.value}"
    if token.type in ("NAME", "NUMBER", "HEXNUMBER", "COMP_OP"):
        return f"'{token.value}'"
    return _TERMINAL_NAMES.get(token.type, repr(token.value))


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in expected})
    if not names:
        return "something else"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


class Node:
    """A node of a parsed expression; ``position`` is where it starts in the text."""

    __slots__ = ("position",)
    position: int

    def evaluate(self, ctx: _Context) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any, position: int) -> None:
        self.value = value
        self.position = position

    def evaluate(self, ctx: _Context) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"


class AttributeRef(Node):
    __slots__ = ("name",)

    def __init__(self, name: str, position: int) -> None:
        self.name = name
        self.position = position

    def evaluate(self, ctx: _Context) -> Any:
        return ctx.lookup(self.name)

    def __repr__(self) -> str:
        return f"AttributeRef({self.name!r})"


class Call(Node):
    __slots__ = ("args", "spec")

    def __init__(self, spec: FunctionSpec, args: tuple[Node | None, ...], position: int) -> None:
        self.spec = spec
        self.args = args
        self.position = position

    def evaluate(self, ctx: _Context) -> Any:
        spec = self.spec
        try:
            # Every function's output is capped (check_output_size): an expression can't grow
            # a value until the worker runs out of memory.
            if spec.lazy:
                return check_output_size(
                    spec.impl(ctx.eval_context, *(self._lazy(arg, ctx) for arg in self.args))
                )
            values = [arg.evaluate(ctx) if arg is not None else None for arg in self.args]
            if not any(isinstance(value, RedactedValue) for value in values):
                return check_output_size(spec.impl(ctx.eval_context, *values))
            # A redacted input keeps the (textual) output redacted: Join("", Redact(x)) too.
            result = check_output_size(
                spec.impl(ctx.eval_context, *(reveal(value) for value in values))
            )
            if isinstance(result, str | list) and not isinstance(result, RedactedValue):
                return RedactedValue(result)
            return result
        except ExpressionEvaluationError as exc:
            if exc.function is None:
                exc.function, exc.position = spec.name, self.position
                exc.message = f"{spec.name}: {exc.message}"
                exc.args = (exc.message,)
            raise
        except (ValueError, TypeError, ArithmeticError, IndexError) as exc:
            raise ExpressionEvaluationError(
                f"{spec.name}: {exc}", function=spec.name, position=self.position
            ) from exc

    @staticmethod
    def _lazy(arg: Node | None, ctx: _Context) -> Arg:
        return Arg(None if arg is None else functools.partial(arg.evaluate, ctx))

    def __repr__(self) -> str:
        return f"Call({self.spec.name}, {list(self.args)!r})"


class Comparison(Node):
    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: Node, right: Node, position: int) -> None:
        self.op = op
        self.left = left
        self.right = right
        self.position = position

    def evaluate(self, ctx: _Context) -> bool:
        try:
            return _compare(self.op, self.left.evaluate(ctx), self.right.evaluate(ctx))
        except ExpressionEvaluationError as exc:
            if exc.function is None:
                exc.position = self.position
            raise

    def __repr__(self) -> str:
        return f"Comparison({self.left!r} {self.op} {self.right!r})"


def _compare(op: str, left: Any, right: Any) -> bool:
    """``=``/``<>`` and ordering. Null equals null and ""; a multi-valued side is equal when one
    of its values is; booleans compare with "True"/"False" in any case; numbers numerically
    (also numeric strings against a number); dates as dates; other strings case-sensitively."""
    left, right = reveal(left), reveal(right)
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        if op not in ("=", "<>") or (
            isinstance(left, list | tuple) and isinstance(right, list | tuple)
        ):
            raise ExpressionEvaluationError(
                f"can't use '{op}' with a multi-valued attribute", function=None
            )
        values, other = (left, right) if isinstance(left, list | tuple) else (right, left)
        found = any(_compare("=", value, other) for value in values)
        return found if op == "=" else not found
    if left is None or right is None:
        equal = (left is None or left == "") and (right is None or right == "")
        if op == "=":
            return equal
        if op == "<>":
            return not equal
        return False  # nulls don't order
    a: Any
    b: Any
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = _bool_key(left), _bool_key(right)
    elif isinstance(left, datetime | date) or isinstance(right, datetime | date):
        a, b = to_datetime(left), to_datetime(right)
    elif isinstance(left, int | float) or isinstance(right, int | float):
        try:
            a, b = to_number(left), to_number(right)
        except ExpressionEvaluationError:
            a, b = to_text(left), to_text(right)
    else:
        a, b = to_text(left), to_text(right)
    if op == "=":
        return a == b
    if op == "<>":
        return a != b
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b
    except TypeError:
        raise ExpressionEvaluationError(f"can't compare {left!r} {op} {right!r}") from None


def _bool_key(value: Any) -> Any:
    text = to_text(value)
    lowered = (text or "").strip().lower()
    if lowered in ("true", "false"):
        return to_bool(lowered, strict=True)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    return text


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


class _Context:
    """Per-evaluation state: case-insensitive attribute lookup plus the function context."""

    __slots__ = ("_folded", "eval_context", "source")

    def __init__(self, source: Mapping[str, Any], eval_context: EvalContext) -> None:
        self.source = source
        self.eval_context = eval_context
        self._folded: dict[str, Any] | None = None

    def lookup(self, name: str) -> Any:
        if name in self.source:
            return self.source[name]
        if self._folded is None:
            self._folded = {}
            for key, value in self.source.items():
                self._folded.setdefault(str(key).lower(), value)
        return self._folded.get(name.lower())


def _finalize(value: Any) -> Any:
    """Turn internal values into what a mapping flows: dates become Azure's text form."""
    if isinstance(value, RedactedValue):
        inner = _finalize(value.value)
        return value if inner is value.value else RedactedValue(inner)
    if isinstance(value, datetime | date):
        return format_azure_datetime(to_datetime(value))  # type: ignore[arg-type]
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_finalize(item) for item in value]
    return value


class Expression:
    """A parsed, validated expression. Immutable; evaluate it as often as you like."""

    __slots__ = ("_attribute_refs", "functions", "referenced_attributes", "root", "text")

    def __init__(self, text: str, root: Node, attribute_refs: tuple[tuple[str, int], ...]) -> None:
        self.text = text
        self.root = root
        self._attribute_refs = attribute_refs
        seen: dict[str, str] = {}
        for name, _ in attribute_refs:
            seen.setdefault(name.lower(), name)
        #: The source attributes the expression reads (as first spelled in it).
        self.referenced_attributes: frozenset[str] = frozenset(seen.values())
        #: The canonical names of the functions it calls.
        self.functions: frozenset[str] = frozenset(_function_names_in(root))

    @property
    def is_attribute(self) -> bool:
        """True for a bare ``[attribute]`` expression."""
        return isinstance(self.root, AttributeRef)

    def evaluate(
        self,
        source: Mapping[str, Any],
        *,
        now: datetime | None = None,
        random: random_module.Random | None = None,
        is_unique: Callable[[Any], bool] | None = None,
    ) -> Any:
        """Evaluate against ``source`` (attribute name → value, names matched ignoring case).

        ``now`` fixes Now() (naive means UTC); ``random`` makes Guid()/RandomString()
        reproducible; ``is_unique`` lets SelectUniqueValue check candidates against the target
        (without it the first candidate with a value wins).
        """
        moment = now or datetime.now(UTC)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        ctx = _Context(source, EvalContext(now=moment, random=random, is_unique=is_unique))
        budget = start_regex_budget()
        try:
            value = self.root.evaluate(ctx)
        except IgnoreFlowSignal:
            return IGNORE_FLOW
        except RecursionError:  # pragma: no cover - guarded by MAX_DEPTH
            raise ExpressionEvaluationError("the expression is nested too deeply") from None
        finally:
            end_regex_budget(budget)
        return _finalize(value)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _function_names_in(node: Node | None) -> Iterable[str]:
    if isinstance(node, Call):
        yield node.spec.name
        for arg in node.args:
            yield from _function_names_in(arg)
    elif isinstance(node, Comparison):
        yield from _function_names_in(node.left)
        yield from _function_names_in(node.right)


# --------------------------------------------------------------------------------------------
# Building the syntax tree (with the semantic checks) from lark's parse tree
# --------------------------------------------------------------------------------------------


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
            out.append(body[i + 1])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.attribute_refs: list[tuple[str, int]] = []

    def error(self, message: str, position: int) -> ExpressionError:
        return ExpressionError(message, position, self.text)

    def build(self, tree: Tree | Token, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            position = tree.start_pos if isinstance(tree, Token) else _tree_position(tree)
            raise self.error(f"The expression is nested more than {MAX_DEPTH} levels", position)
        assert isinstance(tree, Tree)
        kind = tree.data
        if kind == "call":
            return self._call(tree, depth)
        if kind == "attribute":
            lsqb, name, _ = tree.children
            assert isinstance(lsqb, Token)
            if name is None:
                raise self.error(
                    "Empty attribute name: put a name between '[' and ']'", lsqb.start_pos or 0
                )
            assert isinstance(name, Token)
            self.attribute_refs.append((str(name), lsqb.start_pos or 0))
            return AttributeRef(str(name), lsqb.start_pos or 0)
        if kind == "compare":
            left, op, right = tree.children
            assert isinstance(op, Token)
            return Comparison(
                str(op),
                self.build(left, depth + 1),
                self.build(right, depth + 1),
                op.start_pos or 0,
            )
        (token,) = tree.children
        assert isinstance(token, Token)
        position = token.start_pos or 0
        if kind == "string":
            return Literal(_unescape(str(token)), position)
        if kind == "number":
            return Literal(float(token) if "." in token else int(token), position)
        if kind == "hexnumber":
            return Literal(int(str(token)[2:], 16), position)
        # a bare word
        constant = str(token).lower()
        if constant in _CONSTANTS:
            return Literal(_CONSTANTS[constant], position)
        raise self.error(
            f"Unknown name '{token}': attributes go in square brackets ([{token}]), "
            "strings in double quotes",
            position,
        )

    def _call(self, tree: Tree, depth: int) -> Node:
        name = tree.children[0]
        assert isinstance(name, Token)
        position = name.start_pos or 0
        spec = lookup_function(str(name))
        if spec is None:
            hint = difflib.get_close_matches(str(name).lower(), list(FUNCTIONS), n=1, cutoff=0.75)
            suggestion = f"; did you mean {FUNCTIONS[hint[0]].name}?" if hint else ""
            raise self.error(f"Unknown function '{name}'{suggestion}", position)
        if spec.top_level_only and depth > 0:
            raise self.error(
                f"{spec.name} must be the whole expression; it can't be nested", position
            )
        slots = [child for child in tree.children if isinstance(child, Tree)]
        if len(slots) == 1 and slots[0].children[0] is None:
            slots = []  # Name() has no arguments
        message = spec.arity_error(len(slots))
        if message:
            raise self.error(message, position)
        args = tuple(
            None if slot.children[0] is None else self.build(slot.children[0], depth + 1)
            for slot in slots
        )
        return Call(spec, args, position)


def _tree_position(tree: Tree) -> int:
    for token in tree.scan_values(lambda value: isinstance(value, Token)):
        return token.start_pos or 0
    return 0


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _parse(text: str) -> Expression:
    if not text.strip():
        raise ExpressionError("The expression is empty", 0, text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"The expression is longer than {MAX_LENGTH} characters", MAX_LENGTH, text
        )
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    builder = _Builder(text)
    root = builder.build(tree.children[0])  # type: ignore[arg-type]
    return Expression(text, root, tuple(builder.attribute_refs))


def parse(text: str, known_attributes: Iterable[str] | None = None) -> Expression:
    """Parse and validate an expression; raise :class:`ExpressionError` if it is invalid.

    With ``known_attributes`` (matched ignoring case), referencing any other attribute is an
    error at the position of its ``[``.
    """
    if not isinstance(text, str):
        raise ExpressionError("The expression is empty", 0, "")
    expression = _parse(text)
    if known_attributes is not None:
        known = {name.lower() for name in known_attributes}
        for name, position in expression._attribute_refs:
            if name.lower() not in known:
                raise ExpressionError(f"Unknown attribute [{name}]", position, text)
    return expression


def validate(text: str, known_attributes: Iterable[str] | None = None) -> ExpressionError | None:
    """The :class:`ExpressionError` that :func:`parse` would raise, or None when valid."""
    try:
        parse(text, known_attributes)
    except ExpressionError as exc:
        return exc
    return None


def function_names() -> list[str]:
    """The canonical names of all supported functions, sorted (for help texts and pickers)."""
    return sorted(spec.name for spec in FUNCTIONS.values())
