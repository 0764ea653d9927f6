"""DingTalk (钉钉) custom group robot.

Endpoint: the robot's webhook address, `https://oapi.dingtalk.com/robot/send?access_token=...`.
Source checked: DingTalk "自定义机器人接入 / 自定义机器人安全设置"
(https://open.dingtalk.com/document/robots/customize-robot-security-settings, as quoted by
several mirrors), and the message-type page for `markdown`.

Request:  POST JSON `{"msgtype": "markdown", "markdown": {"title": "...", "text": "..."}}`.
          `title` is what the conversation list / notification shows; `text` is the markdown.
          We never send the `at` object, so a message mentions nobody (DingTalk only turns
          `@mobile` into a mention when that mobile is also listed in `at.atMobiles`).
Signing:  optional ("加签"): when the robot has a secret (starts with "SEC"),
          `timestamp` = now in milliseconds, string_to_sign = f"{timestamp}\\n{secret}",
          sign = urlencode(base64(HMAC-SHA256(key=secret, msg=string_to_sign))), both appended
          to the webhook URL as query parameters. The timestamp must be within 1 hour of
          DingTalk's clock.
Keywords: a robot can instead require custom keywords ("自定义关键词"): the message must contain
          one of them. That is the operator's business: put the keyword in the subject or text.
Answer:   `{"errcode": 0, "errmsg": "ok"}` on success. 310000 (keyword / signature / IP
          allow-list rejected) and an invalid access_token are not retried; -1 (busy) and
          the rate-limit codes (20 messages/minute per robot) are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

import requests

from incidents.netguard import IPNetwork

from . import _config
from ._http import HttpAnswer, json_body, platform_code_result, post
from .base import ChannelConfigError, DeliveryResult, Message
from .render import markdown_title, render_markdown, truncate_utf8

# DingTalk does not publish a markdown length limit for custom robots; we keep messages
# at the same 4096-byte budget as WeCom so long texts are cut visibly rather than rejected.
MAX_MARKDOWN_BYTES = 4096
MAX_TITLE_BYTES = 256
RETRYABLE_ERRCODES = frozenset({-1, 130101, 410100})
KNOWN_ERRORS = {
    -1: "system busy",
    130101: "sending too fast (20 messages/minute per robot)",
    410100: "sending too fast (20 messages/minute per robot)",
    310000: "rejected by the robot's security settings (keyword, signature or IP allow-list)",
    300001: "invalid access_token",
    90030: "webhook quota exhausted",
}


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    url = _config.http_url(config, "url", query_param="access_token")
    secret = _config.optional_str(config, "secret")
    if secret is not None and not secret.startswith("SEC"):
        raise ChannelConfigError('the signing secret starts with "SEC" (copy it from the robot\'s security settings)', "secret")
    return {"url": url, "secret": secret}


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign` parameter value, already URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str | None, *, now: float | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = int(round((time.time() if now is None else now) * 1000))
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def build_payload(message: Message) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": truncate_utf8(markdown_title(message), MAX_TITLE_BYTES),
            "text": render_markdown(message, max_bytes=MAX_MARKDOWN_BYTES, line_break="  \n"),
        },
    }


def deliver(
    config: dict[str, Any],
    message: Message,
    *,
    allowed_networks: Sequence[IPNetwork],
    timeout: float,
    session: requests.Session | None,
) -> DeliveryResult:
    url = signed_url(config["url"], config.get("secret"))
    return post(url, json_body(build_payload(message)), read=_read, allowed_networks=allowed_networks,
                timeout=timeout, session=session)


def _read(answer: HttpAnswer) -> DeliveryResult:
    return platform_code_result(answer, "DingTalk", RETRYABLE_ERRCODES, KNOWN_ERRORS)


__all__ = ["MAX_MARKDOWN_BYTES", "build_payload", "deliver", "sign", "signed_url", "validate_config"]
