"""/metrics on the real app and databases: request counters, figures read from the rows the
domain wrote, the worker lock as PostgreSQL sees it, access control, and several gunicorn
processes summed through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import sessionmaker

from console import create_app, metrics
from console.leadership import AdvisoryLock
from console.worker import Worker, WorkerSettings
from incidents import outbox, service, team_channels
from incidents.models import Deadline, DeadlineState, OutboxMessage, OutboxState
from incidents.timeutil import utcnow
from monitors import polling, sources
from tests.channels.conftest import LOCAL, closed_port, http_server  # noqa: F401 (fixtures)
from tests.worker_support import TESTER, queue, webhook

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Asia/Shanghai")
Samples = dict[tuple[str, frozenset], float]


def scrape(client, **kwargs) -> Samples:  # noqa: ANN001
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_and_status_with_their_latency(client) -> None:  # noqa: ANN001
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    # The public page: the first answer goes through Flask, the second comes from the front cache.
    assert client.get("/status").status_code == 200
    assert client.get("/status").status_code == 200
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("crisis_http_requests_total", endpoint="health.healthz", method="GET", status="200") == 3
    assert moved("crisis_http_requests_total", endpoint="unmatched", method="GET", status="404") == 1
    assert moved("crisis_http_requests_total", endpoint="status.index", method="GET", status="200") == 2
    assert moved("crisis_http_request_duration_seconds_count", endpoint="health.healthz") == 3
    assert moved("crisis_http_request_duration_seconds_bucket", endpoint="health.healthz", le="+Inf") == 3
    assert moved("crisis_http_request_duration_seconds_sum", endpoint="health.healthz") > 0
    # The scrape before this one was counted too, under its own route.
    assert moved("crisis_http_requests_total", endpoint="metrics.scrape", method="GET", status="200") == 1


def test_database_figures_match_the_rows_the_domain_wrote(client, engine, http_server, closed_port) -> None:  # noqa: ANN001, F811
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    now = utcnow()
    with sessions() as session:
        service.open_incident(session, kind="outage", severity="P2", title="支付失败", actor=TESTER,
                              now=now - timedelta(hours=2), zone=ZONE)
        service.open_incident(session, kind="complaint", severity="P3", title="物流投诉", actor=TESTER, now=now,
                              zone=ZONE)
        channel = team_channels.create_channel(session, name="值班群", kind="webhook",
                                               config={"url": "https://hooks.example.com/duty"}, actor=TESTER, now=now)
        team_channels.queue_test_message(session, channel=channel, actor=TESTER, now=now + timedelta(hours=1),
                                         zone=ZONE)
        session.commit()
        # One message refused for good by a real receiver: it fails at once.
        gone = webhook(session, "已下线的群", http_server.url("/gone"), now=now)
        queue(session, gone, "k-gone", now=now)
    http_server.set(404, "no such hook")
    report = outbox.deliver_due(sessions, now=now, allowed_networks=LOCAL, timeout=5.0)
    assert report.failed == 1
    with sessions() as session:
        broken = sources.create_source(session, {"name": "微博关键词", "url": f"http://127.0.0.1:{closed_port}/feed"},
                                       allowed_networks=LOCAL, actor=TESTER, now=now)
        sources.create_source(session, {"name": "黑猫投诉", "url": f"http://127.0.0.1:{closed_port}/tousu"},
                              allowed_networks=LOCAL, actor=TESTER, now=now)
        session.commit()
        broken_id = broken.id
    outcome = polling.poll_source(sessions, broken_id, now=now + timedelta(days=1),
                                  settings=polling.PollSettings(allowed_networks=tuple(LOCAL), connect_timeout=2))
    assert outcome is not None and outcome.status == "error"

    samples = scrape(client)
    scraped_at = utcnow()

    with sessions() as session:
        pending = [d for d in session.scalars(sa.select(Deadline)) if d.state == DeadlineState.PENDING]
        messages = list(session.scalars(sa.select(OutboxMessage)))
    assert len(pending) >= 2  # both playbooks started their deadlines
    assert value(samples, "crisis_database_up") == 1
    assert value(samples, "crisis_deadlines_pending") == len(pending)
    overdue = [d for d in pending if d.due_at <= scraped_at]
    assert 0 < len(overdue) < len(pending)
    assert value(samples, "crisis_deadlines_overdue") == len(overdue)
    assert value(samples, "crisis_deadline_steps_due") == sum(
        1 for d in pending if d.next_fire_at is not None and d.next_fire_at <= scraped_at)
    waiting = [m for m in messages if m.state == OutboxState.PENDING]
    assert value(samples, "crisis_outbox_pending", destination="channel") == len(waiting) == 1
    assert value(samples, "crisis_outbox_due", destination="channel") == 0  # the test message is due in an hour
    assert value(samples, "crisis_outbox_failed", destination="channel") == 1
    assert value(samples, "crisis_outbox_pending", destination="subscriber") == 0
    assert value(samples, "crisis_outbox_oldest_pending_seconds") >= 0
    assert value(samples, "crisis_monitor_sources", health="failing") == 1
    assert value(samples, "crisis_monitor_sources", health="ok") == 1
    assert value(samples, "crisis_monitor_source_consecutive_failures", source="微博关键词") == 1
    assert value(samples, "crisis_monitor_source_last_error_timestamp_seconds", source="微博关键词") == \
        pytest.approx((now + timedelta(days=1)).timestamp())
    assert ("crisis_monitor_source_last_success_timestamp_seconds", frozenset({("source", "微博关键词")})) \
        not in samples


def test_the_worker_lock_is_reported_from_postgresql(client, engine, monkeypatch) -> None:  # noqa: ANN001
    if engine.dialect.name != "postgresql":
        # SQLite has no lock to read: no worker figures are invented by a web process...
        assert not any(name.startswith("crisis_worker") for name, _labels in scrape(client))
        # ...but `crisis serve`, which runs the worker in its own process, reports it.
        monkeypatch.setattr(metrics, "_in_process_workers", [])
        worker = Worker(engine, WorkerSettings(zone=ZONE))
        metrics.watch_worker(worker)
        assert value(scrape(client), "crisis_worker_lock_held") == 0  # not started yet
        worker.start()
        try:
            for _ in range(100):
                if worker.active:
                    break
                time.sleep(0.05)
            assert value(scrape(client), "crisis_worker_lock_held") == 1
        finally:
            worker.stop()
        return
    active, standby = AdvisoryLock(engine.url), AdvisoryLock(engine.url)
    try:
        assert active.try_acquire() and not standby.try_acquire()
        samples = scrape(client)
        assert value(samples, "crisis_worker_lock_held") == 1
        assert value(samples, "crisis_worker_active", worker=active.name) == 1
        # Both live in this test process, so they share a name: the one holding the lock wins.
        active.release()
        samples = scrape(client)
        assert value(samples, "crisis_worker_lock_held") == 0
        assert value(samples, "crisis_worker_active", worker=standby.name) == 0
    finally:
        active.release()
        standby.release()


def test_without_a_token_only_this_machine_may_scrape(client) -> None:  # noqa: ANN001
    assert client.get("/metrics").status_code == 200
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403 and far.json["error"]["code"] == "forbidden"
    # Through a reverse proxy on the same machine the address is loopback; the proxy's header tells.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    assert "crisis_" not in far.text + proxied.text


def test_with_a_token_a_scrape_needs_it_from_anywhere(engine, database_url) -> None:  # noqa: ANN001
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "t",
                      "METRICS_TOKEN": "metrics-secret-4f1c"})
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    good = {"Authorization": "Bearer metrics-secret-4f1c"}
    assert client.get("/metrics", headers=good, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    assert "crisis_deadlines_pending" in client.get("/metrics", headers=good).text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_workers_are_summed_in_every_scrape(engine, database_url, tmp_path) -> None:  # noqa: ANN001
    """Two gunicorn workers share PROMETHEUS_MULTIPROC_DIR: whichever answers the scrape
    reports every request, not only its own."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "CRISIS_DATABASE_URL": database_url, "CRISIS_SECRET_KEY": "gunicorn-test",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "console:create_app()"], cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # up to a minute for the workers to boot on a busy machine
            try:
                if requests.get(base + "/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        def healthz_count() -> float:
            answer = requests.get(base + "/metrics", headers={"Connection": "close"}, timeout=5)
            return value(parse(answer.text), "crisis_http_requests_total", endpoint="health.healthz", method="GET",
                         status="200")

        start = healthz_count()
        sent = 0
        # A new connection each time, until both workers have answered some (each keeps its own file).
        while len(list(metrics_dir.glob("counter_*.db"))) < 2 and sent < 500:
            requests.get(base + "/healthz", headers={"Connection": "close"}, timeout=5)
            sent += 1
        for _ in range(20):
            requests.get(base + "/healthz", headers={"Connection": "close"}, timeout=5)
            sent += 1
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2, "both workers should have answered"
        assert [healthz_count() - start for _ in range(6)] == [sent] * 6
    finally:
        server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
