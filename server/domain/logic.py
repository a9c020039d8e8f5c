"""JsonLogic for forms: the one wrapper over the Python library (panzi-json-logic).

The phone evaluates the same rules with json-logic-js (pwa/js/logic.js). The two libraries
disagree in a few corners (measured in shared/docs/jsonlogic.md and forms/vectors/): `cat`
with null, arithmetic on null/blank/garbled strings, division by zero, `%` of negatives,
`min`/`max` of nothing, loose `==` with null, `<` between a string and null, strict `===`
between 1 and true, and `var` defaults over null values. Both wrappers pin those corners to
one meaning, written down here and in pwa/js/logic.js:

- arithmetic (`+ - * / % min max`) converts every argument like JavaScript's ``Number()``
  (null and "" are 0, "12abc" is not a number); a result that is not a finite number
  (NaN, division or `%` by zero, `min` of nothing) is null;
- `%` keeps the sign of the dividend (as in JavaScript);
- `cat` writes null as "" and whole numbers without ".0";
- `var` with a default returns the default for a missing *or null* value;
- comparisons and `==`, `===`, `in` follow JavaScript (the browser is the reference);
- `reduce` takes a literal initial value only (json-logic-js evaluates it, Python does not):
  ``server.domain.forms`` rejects anything else.
"""

import math
import re
from typing import Any

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS, op_var

# Operators every form may use: those both libraries implement, minus `log` (prints) and
# JavaScript's method calls.
OPERATORS = frozenset(
    {
        "var", "missing", "missing_some",
        "if", "?:", "and", "or", "!", "!!",
        "==", "===", "!=", "!==", "<", "<=", ">", ">=",
        "+", "-", "*", "/", "%", "min", "max",
        "cat", "substr", "in", "merge",
        "map", "filter", "reduce", "all", "some", "none",
    }
)  # fmt: skip
# Operators whose second argument runs once per list element, with that element as data.
ITERATING = frozenset({"map", "filter", "reduce", "all", "some", "none"})

_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PREFIXED = {"0x": 16, "0o": 8, "0b": 2}


class LogicError(ValueError):
    """A rule could not be evaluated (unknown operator or malformed arguments)."""


def js_number(value: Any) -> float:
    """Return JavaScript's ``Number(value)`` for JSON values (NaN when not a number)."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return js_number(_js_string(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        if _DECIMAL.fullmatch(text):
            return float(text)
        if text in ("Infinity", "+Infinity", "-Infinity"):
            return -math.inf if text[0] == "-" else math.inf
        base = _PREFIXED.get(text[:2].lower())
        if base:
            try:
                return float(int(text[2:], base))
            except ValueError:
                return math.nan
    return math.nan


def _js_string(value: Any) -> str:
    """Return JavaScript's ``String(value)`` for JSON values (arrays joined with commas)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value) if not isinstance(value, float) else repr(value)


def _finite(value: float) -> float | int | None:
    """Return a finite number as int when whole (JSON-equal to JS), else None."""
    if math.isnan(value) or math.isinf(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _add(data=None, *args):
    """Sum the arguments as numbers."""
    return _finite(sum((js_number(a) for a in args), 0.0))


def _multiply(data=None, *args):
    """Multiply the arguments as numbers."""
    product = 1.0
    for a in args:
        product *= js_number(a)
    return _finite(product)


def _subtract(data=None, a=None, *rest):
    """Negate one argument or subtract the second from the first."""
    if not rest:
        return _finite(-js_number(a))
    return _finite(js_number(a) - js_number(rest[0]))


def _divide(data=None, a=None, b=None, *_ignored):
    """Divide; division by zero gives null."""
    divisor = js_number(b)
    return None if divisor == 0 else _finite(js_number(a) / divisor)


def _remainder(data=None, a=None, b=None, *_ignored):
    """Remainder with the sign of the dividend (JavaScript's `%`); `% 0` gives null."""
    divisor = js_number(b)
    return None if divisor == 0 else _finite(math.fmod(js_number(a), divisor))


def _minimum(data=None, *args):
    """Smallest argument as a number; null for no arguments."""
    return _finite(min(js_number(a) for a in args)) if args else None


def _maximum(data=None, *args):
    """Largest argument as a number; null for no arguments."""
    return _finite(max(js_number(a) for a in args)) if args else None


def _concatenate(data=None, *args):
    """Join the arguments as text, null as the empty string (JavaScript's Array.join)."""
    return "".join("" if a is None else _js_string(a) for a in args)


def _variable(data=None, key=None, default=None, *_ignored):
    """Look up a (dotted) name; a missing or null value gives the default."""
    value = op_var(data, key, None)
    return default if value is None else value


def _primitive(value: Any) -> Any:
    """Return JavaScript's ToPrimitive of a JSON value (arrays and objects become text)."""
    return _js_string(value) if isinstance(value, list | dict) else value


def strict_equal(a: Any, b: Any) -> bool:
    """Return JavaScript's ``a === b`` for JSON values (arrays and objects never equal)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return a is b
    return type(a) is type(b) and a == b


def loose_equal(a: Any, b: Any) -> bool:
    """Return JavaScript's ``a == b`` for JSON values."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list | dict) and isinstance(b, list | dict):
        return a is b
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return js_number(a) == js_number(b)


def _less(a: Any, b: Any, or_equal: bool) -> bool:
    """Return JavaScript's ``a < b`` (or ``a <= b``) for JSON values."""
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a <= b if or_equal else a < b
    x, y = js_number(a), js_number(b)
    if math.isnan(x) or math.isnan(y):
        return False
    return x <= y if or_equal else x < y


def _less_than(data=None, a=None, b=None, *rest):
    """`<` with an optional third argument (between, exclusive)."""
    if rest:
        return _less(a, b, False) and _less(b, rest[0], False)
    return _less(a, b, False)


def _less_or_equal(data=None, a=None, b=None, *rest):
    """`<=` with an optional third argument (between, inclusive)."""
    if rest:
        return _less(a, b, True) and _less(b, rest[0], True)
    return _less(a, b, True)


def _contains(data=None, needle=None, haystack=None, *_ignored):
    """`in`: strict membership in a list, substring in a string."""
    if isinstance(haystack, list):
        return any(strict_equal(needle, item) for item in haystack)
    if isinstance(haystack, str):
        return _js_string(needle) in haystack
    return False


OPERATIONS = {
    **{name: fn for name, fn in BUILTINS.items() if name in OPERATORS},
    "+": _add,
    "*": _multiply,
    "-": _subtract,
    "/": _divide,
    "%": _remainder,
    "min": _minimum,
    "max": _maximum,
    "cat": _concatenate,
    "var": _variable,
    "==": lambda data=None, a=None, b=None, *_: loose_equal(a, b),
    "!=": lambda data=None, a=None, b=None, *_: not loose_equal(a, b),
    "===": lambda data=None, a=None, b=None, *_: strict_equal(a, b),
    "!==": lambda data=None, a=None, b=None, *_: not strict_equal(a, b),
    "<": _less_than,
    "<=": _less_or_equal,
    ">": lambda data=None, a=None, b=None, *_: _less(b, a, False),
    ">=": lambda data=None, a=None, b=None, *_: _less(b, a, True),
    "in": _contains,
}


def _json_result(value: Any) -> Any:
    """Turn NaN/infinite floats into None, recursively, as JSON.stringify does in the browser."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, list):
        return [_json_result(v) for v in value]
    return value


def evaluate(rule: Any, data: Any = None) -> Any:
    """Evaluate a JsonLogic rule against data with the shared semantics; raise LogicError."""
    try:
        return _json_result(jsonLogic(rule, data, OPERATIONS))
    except (ReferenceError, TypeError, ValueError, ArithmeticError) as exc:
        raise LogicError(f"cannot evaluate rule: {exc}") from exc


def truthy(value: Any) -> bool:
    """Return JsonLogic truthiness (an empty list is false; so are 0, "" and null)."""
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)

