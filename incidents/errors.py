"""Errors the domain raises; the console maps each to a status code and a message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base for every error a person can cause and be told about."""

    code = "domain_error"


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    """A value breaks a rule of the domain; `field` names the input at fault."""

    code = "invalid"

    def __init__(self, field: str, message: str, *, reason: str = "invalid", **params: Any):
        super().__init__(message)
        self.field = field
        self.message = message
        # `reason` + `params` let the console say the same thing in the user's language.
        self.reason = reason
        self.params = params


class StaleVersion(DomainError):
    """Someone else changed the record since the caller read it."""

    code = "conflict"

    def __init__(self, current: Any, fields: list[str] | None = None):
        super().__init__("the record was changed by someone else")
        self.current = current
        # The fields both sides changed differently (empty: the whole record is stale).
        self.fields = fields or []
