"""Small validators shared by the channels' `validate_config` functions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from .base import ChannelConfigError


def http_url(config: dict[str, Any], field: str, *, query_param: str | None = None) -> str:
    """A required http(s) URL with a host (and, if given, a non-empty query parameter)."""
    value = config.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ChannelConfigError("a URL is required", field)
    value = value.strip()
    if any(ch.isspace() for ch in value):
        raise ChannelConfigError("the URL must not contain spaces", field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ChannelConfigError("the URL is malformed", field) from exc
    if parts.scheme not in ("http", "https"):
        raise ChannelConfigError("the URL must start with http:// or https://", field)
    if not parts.hostname:
        raise ChannelConfigError("the URL has no host", field)
    if parts.username or parts.password:
        raise ChannelConfigError("the URL must not contain a user name or password", field)
    if query_param is not None:
        values = parse_qs(parts.query).get(query_param, [])
        if not values or not values[0].strip():
            raise ChannelConfigError(f"the URL has no {query_param}= parameter (copy the whole webhook address)", field)
    return value


def optional_str(config: dict[str, Any], field: str) -> str | None:
    value = config.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChannelConfigError("must be text", field)
    value = value.strip()
    return value or None
