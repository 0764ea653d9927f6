"""Generic JSON webhook: body, headers, HMAC signature, and HTTP failure classification."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from incidents.channels import Message, deliver
from incidents.channels.webhook import compute_signature, verify_signature

from .conftest import LOCAL

SECRET = "whsec-0123456789abcdef"


def make_message(**overrides: object) -> Message:
    values: dict[str, object] = {
        "idempotency_key": "outbox-9f2c",
        "subject": "状态页更新",
        "text": "支付通道已恢复。\n后续观察 30 分钟。",
        "event": "incident.update",
        "url": "https://status.example.com/incidents/abc",
        "severity": "minor",
        "payload": {"incident": {"id": "abc", "status": "monitoring", "name": "支付延迟"}, "components": [{"id": "pay", "status": "operational"}]},
    }
    values.update(overrides)
    return Message(**values)  # type: ignore[arg-type]


def config(server, secret: str | None = SECRET) -> dict[str, str | None]:
    return {"url": server.url("/hooks/crisis"), "secret": secret}


def test_webhook_posts_json_with_headers_and_a_verifiable_signature(http_server, session):
    http_server.set(204, b"", headers={})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert result.ok and result.status_code == 204
    arrived = http_server.last
    assert arrived.path == "/hooks/crisis"
    headers = arrived.headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "CrisisConsole/0.1"
    assert headers["X-Crisis-Event"] == "incident.update"
    assert headers["Idempotency-Key"] == "outbox-9f2c"
    timestamp = headers["X-Crisis-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 5
    signature = headers["X-Crisis-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, arrived.body, signature, now=time.time())
    # And independently of the helper:
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + arrived.body, hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected

    body = json.loads(arrived.body.decode("utf-8"))
    assert body == {
        "event": "incident.update",
        "idempotency_key": "outbox-9f2c",
        "subject": "状态页更新",
        "text": "支付通道已恢复。\n后续观察 30 分钟。",
        "url": "https://status.example.com/incidents/abc",
        "severity": "minor",
        "data": make_message().payload,
    }
    assert "支付延迟".encode() in arrived.body  # UTF-8, not \u escapes


def test_webhook_without_secret_sends_no_signature(http_server, session):
    result = deliver("webhook", config(http_server, None), make_message(), allowed_networks=LOCAL, session=session)
    assert result.ok
    assert "X-Crisis-Signature" not in http_server.last.headers
    assert "X-Crisis-Timestamp" in http_server.last.headers


def test_verify_signature_rejects_tampering_wrong_secret_and_old_timestamps():
    body = b'{"event":"x"}'
    ts = 1_700_000_000
    sig = compute_signature(SECRET, ts, body)
    assert verify_signature(SECRET, ts, body, sig, now=ts + 10)
    assert verify_signature(SECRET, str(ts), body.decode(), sig, now=ts - 299)
    assert not verify_signature(SECRET, ts, body + b" ", sig, now=ts)
    assert not verify_signature("another-secret-000", ts, body, sig, now=ts)
    assert not verify_signature(SECRET, ts + 1, body, sig, now=ts)
    assert not verify_signature(SECRET, ts, body, sig, now=ts + 301)
    assert verify_signature(SECRET, ts, body, sig, now=ts + 1000, tolerance_s=3600)
    assert not verify_signature(SECRET, "not-a-number", body, sig, now=ts)
    assert not verify_signature(SECRET, ts, body, "sha256=" + "0" * 64, now=ts)
    assert not verify_signature(SECRET, ts, body, "签名", now=ts)


def test_any_2xx_is_success(http_server, session):
    http_server.set(202, "queued", headers={"Content-Type": "text/plain"})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert result.ok and result.status_code == 202
    assert result.detail == "HTTP 202 from 127.0.0.1"
    assert result.response_excerpt == "queued"


def test_500_is_retryable_with_an_excerpt(http_server, session):
    http_server.set(500, "x" * 2000, headers={"Content-Type": "text/plain"})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and result.retryable
    assert result.status_code == 500
    assert result.detail == "HTTP 500 from 127.0.0.1"
    assert result.response_excerpt == "x" * 500


def test_429_is_retryable_and_keeps_retry_after(http_server, session):
    http_server.set(429, "slow down", headers={"Retry-After": "120"})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and result.retryable
    assert result.status_code == 429
    assert result.retry_after == timedelta(seconds=120)


@pytest.mark.parametrize("status, retryable", [(400, False), (401, False), (403, False), (404, False), (410, False), (408, True), (503, True)])
def test_4xx_other_than_408_and_429_is_permanent(status, retryable, http_server, session):
    http_server.set(status, "nope", headers={"Content-Type": "text/plain"})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok
    assert result.retryable is retryable
    assert result.status_code == status


def test_redirect_is_not_followed(http_server, session):
    http_server.set(302, "", headers={"Location": "http://127.0.0.1:1/elsewhere"})
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and not result.retryable
    assert result.status_code == 302
    assert "redirect to http://127.0.0.1:1/elsewhere" in result.detail
    assert "not followed" in result.detail
    assert len(http_server.requests) == 1


def test_slow_answer_times_out_as_retryable(http_server, session):
    http_server.set(200, "late", delay=2.0)
    started = time.monotonic()
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL, session=session, timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert not result.ok and result.retryable
    assert result.detail == "timeout after 0.3s"
    assert result.status_code is None


def test_connection_refused_is_retryable(closed_port, session):
    cfg = {"url": f"http://127.0.0.1:{closed_port}/hook", "secret": None}
    result = deliver("webhook", cfg, make_message(), allowed_networks=LOCAL, session=session, timeout=2)
    assert not result.ok and result.retryable
    assert result.detail == "connection refused"


def test_works_without_a_caller_session(http_server):
    result = deliver("webhook", config(http_server), make_message(), allowed_networks=LOCAL)
    assert result.ok


@pytest.mark.parametrize("kind", ["webhook", "wecom", "dingtalk", "feishu"])
def test_netguard_refuses_loopback_without_allowed_networks(kind, http_server, session):
    urls = {
        "webhook": "/hook",
        "wecom": "/cgi-bin/webhook/send?key=k",
        "dingtalk": "/robot/send?access_token=t",
        "feishu": "/open-apis/bot/v2/hook/x",
    }
    result = deliver(kind, {"url": http_server.url(urls[kind])}, make_message(), allowed_networks=[], session=session)
    assert not result.ok and not result.retryable
    assert result.detail.startswith("refused unsafe URL:")
    assert "127.0.0.1" in result.detail
    assert http_server.requests == []
