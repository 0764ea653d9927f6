"""Against the real thing: Debian's Alertmanager posts to the console served on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import requests
import sqlalchemy as sa

from incidents import accounts
from incidents.actors import Actor
from incidents.models import Incident, Role, TimelineEvent
from tests.conftest import FIXED_NOW
from tests.support.alertmanager import BINARY, running_alertmanager
from tests.support.servers import LiveServer

pytestmark = pytest.mark.slow
T = TypeVar("T")
WAIT = 20.0  # generous: the webhook arrives within a second or two


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll until `probe` returns something; fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"Alertmanager never delivered: {what}")
        time.sleep(0.1)
    return found


def _token(live_server: LiveServer) -> str:
    with live_server.app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="alertmanager", role=Role.AGENT.value, user_id=None,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    return secret


def test_alertmanager_opens_an_outage_and_reports_its_recovery(live_server: LiveServer, tmp_path: Path) -> None:
    assert Path(BINARY).exists(), "install prometheus-alertmanager (Debian package)"
    sessions = live_server.app.extensions["db_sessionmaker"]

    def incident() -> Incident | None:
        with sessions() as session:
            return session.scalar(sa.select(Incident))

    def resolved_entry() -> TimelineEvent | None:
        with sessions() as session:
            return session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == "alert_resolved"))

    with running_alertmanager(tmp_path, f"{live_server.url}/hooks/alertmanager", _token(live_server)) as am:
        started = datetime.now(UTC) - timedelta(minutes=1)
        alert = {
            "labels": {"alertname": "客服工作台不可用", "severity": "critical", "service": "cs-desk"},
            "annotations": {"summary": "坐席登录接口连续 5 分钟返回 503"},
            "startsAt": started.isoformat(),
            "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
        }
        assert requests.post(f"{am}/api/v2/alerts", json=[alert], timeout=5).status_code == 200
        opened = eventually(incident, "the firing alert")
        assert (opened.kind.value, opened.source.value, opened.severity.value) == ("outage", "alert", "P1")
        assert opened.title == "客服工作台不可用" and "cs-desk" in opened.summary

        ended = {**alert, "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        assert requests.post(f"{am}/api/v2/alerts", json=[ended], timeout=5).status_code == 200
        entry = eventually(resolved_entry, "the recovery")
    assert entry.incident_id == opened.id
    assert entry.data["all_resolved"] is True and entry.data["suggest"] == "resolve"
    assert entry.data["alerts"][0]["summary"] == "坐席登录接口连续 5 分钟返回 503"
    assert incident().status.value == "investigating"  # a person resolves it
