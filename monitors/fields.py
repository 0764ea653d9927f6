"""Reading the fields of the monitors' forms and JSON bodies: one message per field, naming it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.errors import InvalidInput


def text(values: Mapping[str, Any], field: str, max_length: int, *, required: bool) -> str:
    """A stripped text field, at most `max_length` characters."""
    value = values.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be text", reason="invalid")
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(field, f"{field} is required", reason="required")
    if len(value) > max_length:
        raise InvalidInput(field, f"{field} is longer than {max_length} characters", reason="too_long",
                           max=max_length)
    return value


def number(value: Any, field: str, low: float, high: float, *, integer: bool = True) -> Any:
    """A number (from JSON or a form's text) between `low` and `high`."""
    try:
        if isinstance(value, bool):
            raise ValueError
        result = (value if isinstance(value, int) else int(str(value).strip())) if integer else float(value)
    except (TypeError, ValueError):
        raise InvalidInput(field, f"{field} must be a {'whole ' if integer else ''}number", reason="number") from None
    if not (math.isfinite(result) and low <= result <= high):
        raise InvalidInput(field, f"{field} must be between {low:g} and {high:g}", reason="range",
                           low=f"{low:g}", high=f"{high:g}")
    return result


def boolean(value: Any) -> bool:
    """A JSON boolean, or a form's "1"/"on"/"true"/"yes"."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def name_taken(session: Session, model: Any, name: str, exclude_id: int | None) -> bool:
    """Whether another row of `model` already has this name."""
    statement = sa.select(model.id).where(model.name == name)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    return session.scalar(statement) is not None
