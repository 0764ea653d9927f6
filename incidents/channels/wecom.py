"""WeCom (企业微信) group robot.

Endpoint: the robot's webhook address, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`
(the key is the credential; there is no signing). Source checked: WeCom "群机器人配置说明",
https://developer.work.weixin.qq.com/document/path/91770 .

Request:  POST JSON `{"msgtype": "markdown", "markdown": {"content": "..."}}`.
          The markdown content is at most 4096 bytes, UTF-8 ("markdown内容,最长不超过4096个字节,
          必须是utf8编码"); we truncate the body at a character boundary with "…".
          `<@userid>` in content mentions a member, so user text is neutralised (see render.py).
Answer:   HTTP 200 with `{"errcode": 0, "errmsg": "ok"}` on success; any other errcode is a
          failure. Each robot may send 20 messages per minute; errcode 45009 (rate limit) and
          -1 (system busy) are retried, other codes (93000 invalid webhook URL, 40008 invalid
          message type, ...) are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from incidents.netguard import IPNetwork

from . import _config
from ._http import HttpAnswer, json_body, platform_code_result, post
from .base import DeliveryResult, Message
from .render import render_markdown

MAX_MARKDOWN_BYTES = 4096
RETRYABLE_ERRCODES = frozenset({-1, 45009})
KNOWN_ERRORS = {
    -1: "system busy",
    45009: "rate limit exceeded (20 messages/minute per robot)",
    93000: "invalid webhook url",
    93004: "robot disabled or removed from the group",
    40008: "invalid message type",
    44004: "empty content",
}


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    return {"url": _config.http_url(config, "url", query_param="key")}


def build_payload(message: Message) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": render_markdown(message, max_bytes=MAX_MARKDOWN_BYTES)}}


def deliver(
    config: dict[str, Any],
    message: Message,
    *,
    allowed_networks: Sequence[IPNetwork],
    timeout: float,
    session: requests.Session | None,
) -> DeliveryResult:
    url = config["url"]
    return post(url, json_body(build_payload(message)), read=_read, allowed_networks=allowed_networks,
                timeout=timeout, session=session)


def _read(answer: HttpAnswer) -> DeliveryResult:
    return platform_code_result(answer, "WeCom", RETRYABLE_ERRCODES, KNOWN_ERRORS)


__all__ = ["MAX_MARKDOWN_BYTES", "build_payload", "deliver", "validate_config"]
