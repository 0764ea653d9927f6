"""Feishu / Lark (飞书) custom bot.

Endpoint: the bot's webhook address, `https://open.feishu.cn/open-apis/bot/v2/hook/<id>`
(Lark: `https://open.larksuite.com/open-apis/bot/v2/hook/<id>`). Source checked: Feishu
"自定义机器人使用指南" (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot),
as quoted by several mirrors.

Request:  POST JSON with `msg_type: "post"` (rich text). A post has a real title and rows of
          typed elements, so the body goes in `{"tag": "text"}` elements (rendered verbatim,
          no markdown, so user text cannot create links or mentions: mentions need an `at`
          element, which we never emit) and the console link is an `{"tag": "a"}` element:

            {"msg_type": "post",
             "content": {"post": {"zh_cn": {"title": "...",
                                            "content": [[{"tag": "text", "text": "line"}], ...,
                                                        [{"tag": "a", "text": "查看详情", "href": "..."}]]}}}}

          The request body may be at most 20 KB; we cap the text at 16 000 bytes and shrink
          it further when the JSON (one element per line) would pass 19 000 bytes.
Signing:  optional ("签名校验"): `timestamp` = now in *seconds*, and
          sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), both as
          top-level fields of the JSON body. The timestamp must be within 1 hour.
Answer:   `{"code": 0, "msg": "success", ...}`; older deployments answer `{"StatusCode": 0, ...}`
          (kept as a redundant field today). We accept either. 19021 = signature check failed,
          19024 = keyword check failed, 19022 = IP not allowed, 9499 = bad request: not retried;
          11232 (rate limited: 100/min, 5/s per bot) is retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

import requests

from incidents.netguard import IPNetwork

from . import _config
from ._http import HttpAnswer, json_body, platform_code_result, post
from .base import DeliveryResult, Message
from .render import safe_link, severity_label, single_line, strip_mentions, truncate_utf8

MAX_TEXT_BYTES = 16_000
MAX_BODY_BYTES = 19_000
MAX_TITLE_BYTES = 256
RETRYABLE_CODES = frozenset({11232})
KNOWN_ERRORS = {
    9499: "bad request",
    11232: "rate limited",
    19021: "signature check failed (wrong secret or clock skew)",
    19022: "IP address not allowed",
    19024: "keyword check failed",
}


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    return {"url": _config.http_url(config, "url"), "secret": _config.optional_str(config, "secret")}


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode("utf-8")
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _post(title: str, text: str, link: str | None, link_label: str) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in text.splitlines()]
    if link:
        rows.append([{"tag": "a", "text": link_label, "href": link}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title, "content": rows}}}}


def build_payload(message: Message, *, secret: str | None = None, now: float | None = None, link_label: str = "查看详情") -> dict[str, Any]:
    title = truncate_utf8(single_line(severity_label(message.severity) + strip_mentions(message.subject)), MAX_TITLE_BYTES)
    full_text = strip_mentions(message.text.strip())
    link = safe_link(message.url)
    budget = MAX_TEXT_BYTES
    while True:
        payload: dict[str, Any] = _post(title, truncate_utf8(full_text, budget), link, link_label)
        if len(json_body(payload)) <= MAX_BODY_BYTES or budget < 64:
            break
        budget = budget * 3 // 4  # many short lines: per-element JSON overhead adds up
    if secret:
        timestamp = int(time.time() if now is None else now)
        payload = {"timestamp": str(timestamp), "sign": sign(secret, timestamp), **payload}
    return payload


def interpret(answer: HttpAnswer) -> DeliveryResult:
    return platform_code_result(
        answer, "Feishu", RETRYABLE_CODES, KNOWN_ERRORS,
        code_keys=("code", "StatusCode"), message_keys=("msg", "StatusMessage"), code_label="code",
    )


def deliver(
    config: dict[str, Any],
    message: Message,
    *,
    allowed_networks: Sequence[IPNetwork],
    timeout: float,
    session: requests.Session | None,
) -> DeliveryResult:
    body = json_body(build_payload(message, secret=config.get("secret")))
    return post(config["url"], body, read=interpret, allowed_networks=allowed_networks, timeout=timeout,
                session=session)


__all__ = ["MAX_TEXT_BYTES", "build_payload", "deliver", "interpret", "sign", "validate_config"]
