"""Reading a request's JSON strictly, before any of it reaches a view.

The standard decoder accepts what no field of ours can hold and fails badly on the rest:
`NaN`/`Infinity` tokens, `1e400` (an infinite float), integers with thousands of digits
(beyond any column; past 4,300 digits Python refuses them with a ValueError), and nesting
deep enough to exhaust the interpreter's recursion (a RecursionError, i.e. a 500). This
decoder refuses all of them with a message naming the top-level field involved, and refuses
bytes that are not UTF-8.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any body of ours nests (the deepest, a channel's config, has 3 levels).
MAX_DEPTH = 32
# What a 64-bit integer column holds; fields backed by narrower columns check their own range.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')


class MalformedJSON(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class _Refused:
    """Stands in, while decoding, for a number no field can hold, until its field is known."""

    def __init__(self, message: str) -> None:
        self.message = message


def _number(text: str) -> Any:
    try:
        value = int(text)
    except ValueError:  # more digits than Python converts
        return _Refused("is an integer with too many digits")
    if not INT64_MIN <= value <= INT64_MAX:
        return _Refused("is an integer outside the 64-bit range")
    return value


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Refused("is a number too large to store")


def _constant(text: str) -> Any:
    return _Refused(f"is {text}, which JSON does not allow")


def _check_depth(text: str) -> None:
    depth, key, top = 0, None, None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            top = top or token
            if depth > MAX_DEPTH:
                raise MalformedJSON(f"the body nests deeper than {MAX_DEPTH} levels", key)
        elif token in "]}":
            depth -= 1
        elif match.group(1) and depth == 1 and top == "{":
            key = json.loads(token[: token.rindex(":")].rstrip())


def _refusal(value: Any) -> _Refused | None:
    if isinstance(value, _Refused):
        return value
    inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in inner:
        found = _refusal(item)
        if found:
            return found
    return None


def decode(data: bytes) -> Any:
    """The JSON value of `data`; MalformedJSON (naming the field where it can) for anything else."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJSON(f"the body is not valid UTF-8 (at byte {error.start})") from None
    _check_depth(text)
    try:
        value = json.loads(text, parse_int=_number, parse_float=_float, parse_constant=_constant)
    except (ValueError, RecursionError) as error:
        raise MalformedJSON(f"the body is not valid JSON: {error}") from None
    if isinstance(value, dict):
        for field, inner in value.items():
            found = _refusal(inner)
            if found:
                raise MalformedJSON(f"{field} {found.message}", field)
    found = _refusal(value)
    if found:
        raise MalformedJSON(f"the body {found.message}")
    return value
