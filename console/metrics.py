"""/metrics in the Prometheus text format (prometheus-client).

Two kinds of figures, so the answer is right with `gunicorn -w N` and separate workers:

* Per process, counted as requests pass (console.observe): requests by route (the endpoint
  name, never the raw path) and status, and a latency histogram per route. With several
  gunicorn workers set PROMETHEUS_MULTIPROC_DIR to an empty folder writable by all of them
  (wiped at each start): every process writes its counts there and a scrape sums them all,
  whichever worker answers it. Without it each process reports only its own.
* From the database at scrape time (DatabaseCollector): deadlines pending, overdue and
  paused, deadline steps due and not yet taken, outbox backlog and failures, the feed
  sources' polls and errors, and which `crisis worker` holds the lock. The same from any
  process, whoever did the work.

Access: with CRISIS_METRICS_TOKEN set, a scrape needs `Authorization: Bearer <token>`;
without it, only a direct request from the machine itself (loopback, no proxy header).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

from console import errors, leadership
from incidents import backlog
from console.clock import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

REQUESTS = Counter("crisis_http_requests", "HTTP requests answered, by route (endpoint name), method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("crisis_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


# Workers running inside this very process (`crisis serve`): on SQLite there is no lock to
# read from the database, so this process reports its own.
_in_process_workers: list[Any] = []


def watch_worker(worker: Any) -> None:
    """Report a worker that runs in this process (anything with an `active` flag)."""
    _in_process_workers.append(worker)


def _workers_here() -> dict[str, bool] | None:
    if not _in_process_workers:
        return None
    return {leadership.worker_name(): any(worker.active for worker in _in_process_workers)}


def _seconds_since(moment: Any, now: Any) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


class DatabaseCollector:
    """Figures read from the database at each scrape; a database that does not answer is
    reported as `crisis_database_up 0` instead of an error page."""

    def __init__(self, engine: sa.Engine, sessions: Callable[[], Session]):
        self.engine = engine
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("crisis_database_up", "1 when the database answered this scrape's queries")
        try:
            figures = list(self._figures())
        except sa.exc.SQLAlchemyError as error:
            log.warning("metrics: the database did not answer (%s)", error.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _figures(self) -> Iterator[Metric]:
        now = utcnow()
        with self.sessions() as session:
            deadlines = backlog.deadline_backlog(session, now=now)
            messages = backlog.outbox_backlog(session, now=now)
            sources = backlog.source_health(session)
            workers = (leadership.workers_connected(session.connection())
                       if self.engine.dialect.name == "postgresql" else _workers_here())
        yield from _deadline_metrics(deadlines, now)
        yield from _outbox_metrics(messages, now)
        yield from _source_metrics(sources)
        if workers is not None:
            yield from _worker_metrics(workers)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _deadline_metrics(figures: backlog.DeadlineBacklog, now: Any) -> Iterator[Metric]:
    yield _gauge("crisis_deadlines_pending", "Deadlines pending (not met, waived or missed)", figures.pending)
    yield _gauge("crisis_deadlines_overdue", "Pending deadlines past their due time (paused ones excluded)",
                 figures.overdue)
    yield _gauge("crisis_deadlines_paused", "Pending deadlines whose clock is paused", figures.paused)
    yield _gauge("crisis_deadline_steps_due", "Reminder or escalation steps due and not yet taken by the worker",
                 figures.steps_due)
    yield _gauge("crisis_deadline_oldest_step_due_seconds",
                 "How long the oldest untaken step has been due (0: none); a worker behind shows here",
                 _seconds_since(figures.oldest_step_due_at, now))


def _by_destination(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["destination"])
    for destination in ("channel", "subscriber"):
        family.add_metric([destination], counts.get(destination, 0))
    return family


def _outbox_metrics(figures: backlog.OutboxBacklog, now: Any) -> Iterator[Metric]:
    yield _by_destination("crisis_outbox_pending", "Messages waiting for delivery (team channels, subscribers)",
                          figures.pending)
    yield _by_destination("crisis_outbox_due", "Pending messages whose next attempt is due now", figures.due)
    yield _by_destination("crisis_outbox_retrying", "Pending messages that failed at least once", figures.retrying)
    yield _by_destination("crisis_outbox_failed", "Messages given up on after their retries", figures.failed)
    yield _gauge("crisis_outbox_oldest_pending_seconds", "Age of the oldest undelivered message (0: none)",
                 _seconds_since(figures.oldest_pending_at, now))


def _source_metrics(sources: list[backlog.SourceHealth]) -> Iterator[Metric]:
    health = GaugeMetricFamily("crisis_monitor_sources", "Feed sources by health", labels=["health"])
    counts = {"ok": 0, "failing": 0, "disabled": 0}
    failures = GaugeMetricFamily("crisis_monitor_source_consecutive_failures",
                                 "Polls failed in a row (0: the last poll worked)", labels=["source"])
    seen = GaugeMetricFamily("crisis_monitor_source_items_seen", "Posts seen in the source since it was added",
                             labels=["source"])
    times = {
        "last_poll_at": GaugeMetricFamily("crisis_monitor_source_last_poll_timestamp_seconds",
                                          "When the source was last polled (Unix time)", labels=["source"]),
        "last_success_at": GaugeMetricFamily("crisis_monitor_source_last_success_timestamp_seconds",
                                             "When a poll of the source last worked (Unix time)", labels=["source"]),
        "last_error_at": GaugeMetricFamily("crisis_monitor_source_last_error_timestamp_seconds",
                                           "When a poll of the source last failed (Unix time)", labels=["source"]),
    }
    for source in sources:
        counts["disabled" if not source.enabled else "failing" if source.consecutive_failures else "ok"] += 1
        failures.add_metric([source.name], source.consecutive_failures)
        seen.add_metric([source.name], source.items_seen)
        for attribute, family in times.items():
            moment = getattr(source, attribute)
            if moment is not None:
                family.add_metric([source.name], moment.timestamp())
    for name, count in counts.items():
        health.add_metric([name], count)
    yield from (health, failures, seen, *times.values())


def _worker_metrics(workers: dict[str, bool]) -> Iterator[Metric]:
    yield _gauge("crisis_worker_lock_held", "1 when a crisis worker holds the lock (is active), 0 when none does",
                 1 if any(workers.values()) else 0)
    active = GaugeMetricFamily("crisis_worker_active", "Each connected crisis worker: 1 active, 0 standing by",
                               labels=["worker"])
    for name, holds in sorted(workers.items()):
        active.add_metric([name], 1 if holds else 0)
    yield active


def _process_registry() -> CollectorRegistry:
    """This process's counters, or every process's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


# Proxies add one of these; a request carrying one did not come from this machine directly.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _may_scrape() -> Response | None:
    """None when the scrape is allowed, else the refusal."""
    token = current_app.config.get("METRICS_TOKEN", "")
    if token:
        offered = request.headers.get("Authorization", "")
        if offered.startswith("Bearer ") and hmac.compare_digest(offered[7:].encode(), token.encode()):
            return None
        refusal = errors.api_error(401, "unauthorized", "a valid metrics token is required (Authorization: Bearer)")
        refusal.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refusal
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if loopback and not any(header in request.headers for header in PROXY_HEADERS):
        return None
    return errors.api_error(403, "forbidden", "metrics are served to this machine only; set CRISIS_METRICS_TOKEN "
                                              "to scrape from elsewhere")


@bp.get("/metrics")
def scrape() -> Any:
    """The Prometheus exposition: this process's (or all processes') counters, then the database's figures."""
    refusal = _may_scrape()
    if refusal is not None:
        return refusal
    database = CollectorRegistry(auto_describe=False)
    database.register(current_app.extensions["metrics_collector"])
    body = generate_latest(_process_registry()) + generate_latest(database)
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """The /metrics route and the app's database collector."""
    app.extensions["metrics_collector"] = DatabaseCollector(app.extensions["db_engine"],
                                                            app.extensions["db_sessionmaker"])
    app.register_blueprint(bp)
