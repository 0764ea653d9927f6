"""Structured logs: one JSON object per line, an access line per request with its id, and no
password, token, cookie, CSRF token or channel secret anywhere in what is written."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from console import create_app, logs
from console.worker import Worker, WorkerSettings
from incidents import accounts, service
from incidents.actors import Actor
from incidents.models import Role
from incidents.timeutil import utcnow
from tests.conftest import PASSWORD, empty_tables

SMTP_PASSWORD = "smtp-pass-7d1e0b"
WEBHOOK_SECRET = "whsec-91c2aa7e-4b0d-83f1"
WRONG_PASSWORD = "wrong-pass-5f3b"
APP_SECRET = "log-test-secret-key-31a"


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, through the JSON formatter deployments use."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_day_of_requests_logs_json_lines_without_secrets(engine, database_url, captured) -> None:  # noqa: ANN001
    empty_tables(engine)  # its own app on the shared database: what an earlier test left must not be there
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": APP_SECRET,
                      "SMTP_HOST": "127.0.0.1", "SMTP_PASSWORD": SMTP_PASSWORD, "PUBLIC_URL": "http://localhost"})
    sessions = app.extensions["db_sessionmaker"]
    with sessions() as session:
        accounts.create_user(session, username="duty", password=PASSWORD, role=Role.ADMIN.value, display_name="值班经理",
                             actor=Actor.system("test"), now=utcnow())
        _token, api_secret = accounts.create_token(session, name="script", role=Role.ADMIN.value, user_id=None,
                                                   actor=Actor.system("test"), now=utcnow())
        _token, hook_secret = accounts.create_token(session, name="alertmanager", role=Role.AGENT.value, user_id=None,
                                                    actor=Actor.system("test"), now=utcnow())
        session.commit()
    client = app.test_client()

    csrf = _csrf(client.get("/login").text)
    refused = client.post("/login", data={"username": "duty", "password": WRONG_PASSWORD, "csrf_token": csrf})
    assert refused.status_code != 303
    assert client.post("/login", data={"username": "duty", "password": PASSWORD, "csrf_token": csrf}).status_code == 303
    cookie = client.get_cookie("session").value
    board = client.get("/", headers={"X-Request-ID": "trace-board-1"})
    assert board.status_code == 200
    bearer = {"Authorization": f"Bearer {api_secret}"}
    assert client.get("/api/v1/incidents", headers=bearer).status_code == 200
    channel = client.post("/api/v1/channels", headers=bearer, json={
        "name": "值班群", "kind": "webhook", "config": {"url": "https://hooks.example.com/duty", "secret": WEBHOOK_SECRET},
        "escalations": True})
    assert channel.status_code == 201, channel.text
    hook = client.post(f"/hooks/generic?token={hook_secret}&source=am",
                       json={"title": "支付接口 5xx 升高", "status": "firing"})
    assert hook.status_code == 201, hook.text
    assert client.post("/hooks/generic?token=not-a-token-8c1d", json={"title": "x", "status": "firing"}).status_code \
        == 401
    reader = app.test_client()  # anonymous: the second answer comes from the public page's front cache
    readings = [reader.get("/status") for _ in range(2)]
    # The worker's lines go through the same formatter: an overdue deadline escalates to the channel.
    with sessions() as session:
        service.open_incident(session, kind="outage", severity="P1", title="下单失败", actor=Actor.system("test"),
                              now=utcnow() - timedelta(hours=1), zone=ZoneInfo("Asia/Shanghai"))
        session.commit()
    worker = Worker(engine, WorkerSettings(zone=ZoneInfo("Asia/Shanghai")))
    assert worker.tick_clock() > 0

    text = captured.getvalue()
    for secret in (PASSWORD, WRONG_PASSWORD, api_secret, hook_secret, "not-a-token-8c1d", cookie, csrf,
                   WEBHOOK_SECRET, SMTP_PASSWORD, APP_SECRET):
        assert secret not in text
    lines = _lines(captured)  # every line is one JSON object
    access = [line for line in lines if line["logger"] == logs.ACCESS_LOGGER]
    by_endpoint = {line["endpoint"]: line for line in access}
    assert {"auth.login", "board.index", "api.list_incidents", "hooks.generic"} <= set(by_endpoint)
    for line in access:
        assert {"time", "level", "request_id", "method", "path", "status", "duration_ms", "actor", "remote"} <= set(line)
    assert by_endpoint["board.index"]["request_id"] == "trace-board-1"
    assert by_endpoint["board.index"]["actor"] == "值班经理"
    assert by_endpoint["api.list_incidents"]["actor"] == "api:script"
    hooked = [line for line in access if line["endpoint"] == "hooks.generic"]
    assert [line["status"] for line in hooked] == [201, 401]
    assert hooked[0]["query"] == "token=***&source=am" and hooked[0]["path"] == "/hooks/generic"
    assert hooked[0]["request_id"] == hook.headers["X-Request-ID"]
    assert any(line["logger"] == "console.worker" and "deadline step" in line["message"] for line in lines)
    public = [line for line in access if line["endpoint"] == "status.index"]
    assert [(line["status"], line["actor"]) for line in public] == [(200, "anonymous")] * 2
    assert [line["request_id"] for line in public] == [answer.headers["X-Request-ID"] for answer in readings]


def test_every_answer_has_its_own_request_id_a_stored_public_one_too(client) -> None:  # noqa: ANN001
    first, second = client.get("/status"), client.get("/status")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert client.get("/status", headers={"X-Request-ID": "reader-7"}).headers["X-Request-ID"] == "reader-7"
    assert client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["X-Request-ID"] != "bad id!"


def test_configure_json_writes_one_object_per_line_to_stderr(capsys) -> None:  # noqa: ANN001
    root = logging.getLogger()
    level = root.level
    logs.configure("json")
    try:
        logging.getLogger("console.worker").info("worker active; took back %d message(s)", 2)
        logging.getLogger("apscheduler.scheduler").info("chatter that stays out")
    finally:
        for handler in [h for h in root.handlers if getattr(h, logs._HANDLER_MARK, False)]:
            root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["level"], line["logger"], line["message"], line["request_id"]) for line in lines] == [
        ("INFO", "console.worker", "worker active; took back 2 message(s)", "-")]
    assert lines[0]["pid"] > 0


def test_secret_query_values_are_masked() -> None:
    assert logs.safe_query("token=abc&q=%E6%94%AF%E4%BB%98&page=2") == "token=***&q=%E6%94%AF%E4%BB%98&page=2"
    assert logs.safe_query("csrf_token=x&api_key=y&signature=z") == "csrf_token=***&api_key=***&signature=***"
    assert logs.safe_query("") == ""
    assert logs.safe_query("passwd=a&pwd=b&access_token=c&sign=d&msg_signature=e&timestamp=1") == (
        "passwd=***&pwd=***&access_token=***&sign=***&msg_signature=***&timestamp=1")


def test_an_unknown_log_format_is_refused_naming_the_variable(monkeypatch, engine, database_url) -> None:  # noqa: ANN001
    monkeypatch.setenv("CRISIS_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="CRISIS_LOG_FORMAT"):
        create_app({"DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "t"})
