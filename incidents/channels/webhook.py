"""Generic JSON webhook, signed with HMAC-SHA256 when the subscriber set a secret.

Request: POST, body is compact UTF-8 JSON:

    {"event": "incident.update",            # Message.event
     "idempotency_key": "...",              # same on every retry of this message
     "subject": "...", "text": "...", "url": "..." | null, "severity": "..." | null,
     "data": {...}}                         # Message.payload, e.g. Statuspage-like fields

Headers:

    Content-Type:        application/json; charset=utf-8
    User-Agent:          CrisisConsole/0.1
    X-Crisis-Event:      the event name
    Idempotency-Key:     the idempotency key (receivers should drop duplicates)
    X-Crisis-Timestamp:  unix seconds when this attempt was signed
    X-Crisis-Signature:  sha256=<hex>   (only when a secret is configured)

Signature scheme (how a receiver verifies):

    expected = hex(HMAC-SHA256(key=secret_utf8, msg=f"{timestamp}.".encode() + raw_body_bytes))
    compare "sha256=" + expected with X-Crisis-Signature in constant time, and reject the
    request when |now - timestamp| > 300 seconds (replay window).

Use the raw request body bytes, not re-serialised JSON. `verify_signature` below does all
of this. Any 2xx answer is success; 3xx is a failure (redirects are not followed); 5xx, 408
and 429 are retried; other 4xx are not.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

import requests

from incidents.netguard import IPNetwork

from . import _config
from ._http import HttpAnswer, host_of, json_body, post
from .base import ChannelConfigError, DeliveryResult, Message
from .render import single_line

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_S = 300
MIN_SECRET_LENGTH = 16


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    url = _config.http_url(config, "url")
    secret = _config.optional_str(config, "secret")
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise ChannelConfigError(f"the signing secret must be at least {MIN_SECRET_LENGTH} characters", "secret")
    return {"url": url, "secret": secret}


def build_body(message: Message) -> bytes:
    return json_body(
        {
            "event": message.event,
            "idempotency_key": message.idempotency_key,
            "subject": message.subject,
            "text": message.text,
            "url": message.url,
            "severity": message.severity,
            "data": message.payload,
        }
    )


def compute_signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The X-Crisis-Signature value: "sha256=" + hex HMAC-SHA256 of f"{timestamp}.{body}"."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    signed = str(timestamp).encode("ascii") + b"." + raw
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    signature: str,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when `signature` matches and `timestamp` (unix seconds) is within `tolerance_s` of `now`."""
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    try:
        expected = compute_signature(secret, ts, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", errors="replace"))


def build_headers(message: Message, body: bytes, *, secret: str | None, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        # Header values must be ASCII-safe; event names and keys are ASCII identifiers in
        # practice, anything else is backslash-escaped rather than breaking the request.
        "X-Crisis-Event": _header_value(message.event),
        "Idempotency-Key": _header_value(message.idempotency_key),
        "X-Crisis-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-Crisis-Signature"] = compute_signature(secret, timestamp, body)
    return headers


def _header_value(value: str) -> str:
    value = single_line(value)
    return value if value.isascii() else value.encode("unicode_escape").decode("ascii")


def deliver(
    config: dict[str, Any],
    message: Message,
    *,
    allowed_networks: Sequence[IPNetwork],
    timeout: float,
    session: requests.Session | None,
) -> DeliveryResult:
    body = build_body(message)
    headers = build_headers(message, body, secret=config.get("secret"))
    host = host_of(config["url"])

    def accepted(answer: HttpAnswer) -> DeliveryResult:  # a plain receiver says yes with any 2xx
        return DeliveryResult.success(f"HTTP {answer.status_code} from {host}", status_code=answer.status_code,
                                      response=answer.text)

    return post(config["url"], body, read=accepted, headers=headers, allowed_networks=allowed_networks,
                timeout=timeout, session=session)


__all__ = ["build_body", "build_headers", "compute_signature", "deliver", "validate_config", "verify_signature"]
