"""Outbound channel adapters: deliver one `Message` to one destination.

Flask-free and database-free. The outbox worker calls:

    result = deliver(kind, config, message, allowed_networks=networks)

and stores `result` (a `DeliveryResult`). `deliver` never raises for delivery problems
(network errors, timeouts, refusals, unsafe URLs all come back as a failed result with
`retryable` set); it raises `ChannelConfigError` only when the stored configuration is
invalid, which the worker should record as a permanent failure and show on the channel.

Forms call `validate_config(kind, raw)` to get the cleaned config to store, or a
`ChannelConfigError` whose `field` names the form field to highlight.

Kinds and their config keys:

    wecom     url (the robot webhook, with key=...)
    dingtalk  url (the robot webhook, with access_token=...), secret (optional, "SEC...")
    feishu    url (the bot webhook), secret (optional)
    webhook   url, secret (optional, >= 16 characters; enables X-Crisis-Signature)
    email     host, port, security ("starttls" | "ssl" | "none"), username, password,
              from_addr, to (list or comma-separated)

Unknown keys are dropped by validate_config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from incidents.netguard import IPNetwork

from . import dingtalk, email, feishu, webhook, wecom
from .base import (
    BACKOFF_SCHEDULE,
    MAX_ATTEMPTS,
    ChannelConfigError,
    DeliveryResult,
    Message,
    backoff_delay,
)
from .email import SMTPFactory

CHANNEL_KINDS: tuple[str, ...] = ("wecom", "dingtalk", "feishu", "webhook", "email")

_HTTP_MODULES = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu, "webhook": webhook}

DEFAULT_TIMEOUT = 10.0


def validate_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return the cleaned configuration for `kind`, or raise ChannelConfigError naming the field."""
    if kind not in CHANNEL_KINDS:
        raise ChannelConfigError(f"unknown channel kind {kind!r}; expected one of {', '.join(CHANNEL_KINDS)}", "kind")
    if not isinstance(config, dict):
        raise ChannelConfigError("the configuration must be a mapping", "config")
    if kind == "email":
        return email.validate_config(config)
    return _HTTP_MODULES[kind].validate_config(config)


def deliver(
    kind: str,
    config: dict[str, Any],
    message: Message,
    *,
    allowed_networks: Sequence[IPNetwork],
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    smtp: SMTPFactory | None = None,
) -> DeliveryResult:
    """Deliver `message` through the channel `kind` configured by `config`.

    allowed_networks  extra networks netguard lets HTTP channels reach (private relays, tests);
                      public addresses are always allowed, everything else is refused.
    timeout           seconds, for connecting and for each read (HTTP) / socket operation (SMTP).
    session           a requests.Session to reuse connections; a fresh one is used and closed
                      otherwise.
    smtp              factory `(config, timeout) -> smtplib.SMTP` replacing the default
                      connect (+ STARTTLS) logic for e-mail.
    """
    cleaned = validate_config(kind, config)
    try:
        if kind == "email":
            return email.deliver(cleaned, message, timeout=timeout, smtp=smtp)
        module = _HTTP_MODULES[kind]
        return module.deliver(cleaned, message, allowed_networks=allowed_networks, timeout=timeout, session=session)
    except ChannelConfigError:
        raise
    except Exception as exc:  # a bug or an unexpected library error must not kill the worker loop
        return DeliveryResult.failure(f"internal error in {kind} channel: {type(exc).__name__}: {exc}"[:300], retryable=True)


__all__ = [
    "BACKOFF_SCHEDULE",
    "CHANNEL_KINDS",
    "ChannelConfigError",
    "DEFAULT_TIMEOUT",
    "DeliveryResult",
    "MAX_ATTEMPTS",
    "Message",
    "backoff_delay",
    "deliver",
    "validate_config",
]
