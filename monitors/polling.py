"""Polling sources: claim the due ones, fetch them in parallel, store and raise, keep their health.

One tick (`poll_due`) claims up to `limit` due sources with a conditional UPDATE of
`next_poll_at` (a lease: a worker that dies mid-poll leaves the source due again after
`lease_s`), fetches them on a thread pool (network waits overlap; nothing holds a database
transaction while waiting), then handles each result in its own transaction: entries
stored once, incidents raised or joined, health and the next poll time written together.
A result that fails to store is rolled back whole and recorded as the source's error, so
one bad source never stops the others and a crash never half-stores a poll.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.monitor_models import MonitorSource
from incidents.netguard import IPNetwork, parse_networks
from incidents.timeutil import ensure_aware
from monitors.feeds import FeedEntry, parse_feed
from monitors.fetch import FetchResult, fetch_feed, next_poll_at
from monitors.mentions import store_entries
from monitors.raising import raise_and_attach
from monitors.rulebook import CompiledRules

log = logging.getLogger(__name__)
HASHED_KEY = "sha256:"  # monitors.feeds' identity for entries with neither guid nor link
SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class PollSettings:
    """How the poller behaves; `from_config` reads the console's configuration."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    fetch_threads: int = 16
    batch: int = 200
    lease_s: int = 120
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline_s: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PollSettings:
        return cls(
            allowed_networks=tuple(parse_networks(config.get("ALLOWED_NETWORKS") or [])),
            zone=ZoneInfo(config.get("TIMEZONE") or "Asia/Shanghai"),
            fetch_threads=int(config.get("MONITOR_FETCH_THREADS") or 16),
            batch=int(config.get("MONITOR_BATCH") or 200),
        )


@dataclass(frozen=True)
class Claim:
    """A source taken for one poll, with what the fetch needs (read before the transaction ends)."""

    source_id: int
    url: str
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    scheduled_at: datetime


@dataclass
class PollOutcome:
    """What one poll of one source did."""

    source_id: int
    status: str  # "ok", "not_modified", "no_data", "error", "skipped"
    scheduled_at: datetime
    new_mentions: int = 0
    raised: list[str] = field(default_factory=list)
    attached: int = 0
    error: str | None = None
    warning: str | None = None


def claim_due(session_factory: SessionFactory, *, now: datetime, limit: int, lease_s: int,
              only: Sequence[int] | None = None) -> list[Claim]:
    """Take up to `limit` enabled sources whose poll is due, soonest first, each claimed at most once."""
    now = ensure_aware(now)
    claims = []
    with session_factory() as session:
        statement = (sa.select(MonitorSource)
                     .where(MonitorSource.enabled.is_(True), MonitorSource.next_poll_at <= now)
                     .order_by(MonitorSource.next_poll_at, MonitorSource.id).limit(limit))
        if only is not None:
            statement = statement.where(MonitorSource.id.in_(list(only)))
        for source in session.scalars(statement).all():
            taken = session.execute(
                sa.update(MonitorSource)
                .where(MonitorSource.id == source.id, MonitorSource.next_poll_at == source.next_poll_at)
                .values(next_poll_at=now + timedelta(seconds=lease_s))
                .execution_options(synchronize_session=False))
            if taken.rowcount == 1:
                claims.append(Claim(source.id, source.url, dict(source.headers or {}), source.etag,
                                    source.last_modified, source.next_poll_at))
        session.commit()
    return claims


def apply_result(
    session: Session, source: MonitorSource, result: FetchResult, *, now: datetime, rules: CompiledRules,
    zone: ZoneInfo, scheduled_at: datetime | None = None,
) -> PollOutcome:
    """Turn one fetch result into stored mentions, raised/joined incidents and the source's health."""
    now = ensure_aware(now)
    outcome = PollOutcome(source.id, "error", scheduled_at or now)
    source.last_poll_at = now
    source.updated_at = now
    entries = []
    if result.status == "error":
        parsed = None
        if result.body and result.http_status:
            parsed = parse_feed(result.body, now=now, headers=result.headers, http_status=result.http_status)
        if parsed is None or not parsed.no_data:
            return _failed(source, outcome, result.error or "the fetch failed", code=result.error_code or "fetch",
                           result=result, now=now)
        outcome.status, outcome.warning = "no_data", parsed.reason
    elif result.status == "not_modified":
        outcome.status = "not_modified"
    elif source.content_hash == (digest := hashlib.sha256(result.body).hexdigest()):
        outcome.status = "not_modified"  # same bytes as last time: nothing new to parse
        source.etag, source.last_modified = result.etag, result.last_modified
    else:
        parsed = parse_feed(result.body, now=now, headers=result.headers, base_url=result.final_url)
        if parsed.broken:
            return _failed(source, outcome, parsed.reason or "the feed could not be read", code="broken_feed",
                           result=result, now=now)
        outcome.status = "no_data" if parsed.no_data else "ok"
        outcome.warning = parsed.reason if parsed.no_data else parsed.warning
        entries = parsed.entries
        source.content_hash, source.feed_ttl_min = digest, parsed.ttl
        if not parsed.well_formed:
            entries, unstable = _stable_entries(entries)
            if unstable:
                noun = "entry" if unstable == 1 else "entries"
                outcome.warning = (f"{outcome.warning}; {unstable} {noun} without a stable identity (no guid or link) "
                                   "left for a well-formed copy of the feed")
        source.etag, source.last_modified = result.etag, result.last_modified
    if result.status == "not_modified":
        source.etag = result.etag or source.etag
        source.last_modified = result.last_modified or source.last_modified
    if entries:
        matcher, rule_info = rules.get(session)
        new = store_entries(session, source, entries, matcher=matcher, rules=rule_info, now=now)
        if new:
            outcome.new_mentions = len(new)
            source.items_seen += len(new)
            source.last_entry_at = now
            report = raise_and_attach(session, new, now=now, zone=zone)
            outcome.raised, outcome.attached = report.raised, report.attached
    source.consecutive_failures = 0
    source.last_success_at = now
    source.last_warning = outcome.warning
    # No jitter after a success: the phase was spread when the source was created, and an
    # exact period keeps "entry to incident" within one interval.
    source.next_poll_at = next_poll_at(now=now, interval_s=source.interval_s, retry_after_s=result.retry_after_s,
                                       feed_ttl_min=source.feed_ttl_min, cache_max_age_s=result.cache_max_age_s)
    session.flush()
    return outcome


def _stable_entries(entries: list[FeedEntry]) -> tuple[list[FeedEntry], int]:
    """Entries of a broken document whose identity will not change once the document is whole.

    A post cut off mid-way has no guid or link yet, so its identity would be a hash of
    half its text, and the whole post would later be stored a second time.
    """
    stable = [entry for entry in entries if not entry.key.startswith(HASHED_KEY)]
    return stable, len(entries) - len(stable)


def _failed(source: MonitorSource, outcome: PollOutcome, message: str, *, code: str, result: FetchResult | None,
            now: datetime) -> PollOutcome:
    source.consecutive_failures += 1
    source.last_error = message[:2000]
    source.last_error_code = code[:32]
    source.last_error_at = now
    source.next_poll_at = next_poll_at(
        now=now, interval_s=source.interval_s, consecutive_failures=source.consecutive_failures,
        retry_after_s=result.retry_after_s if result else None, jitter_key=source.id)
    outcome.status, outcome.error = "error", message
    return outcome


def record_failure(session: Session, source_id: int, message: str, *, now: datetime,
                   scheduled_at: datetime) -> PollOutcome:
    """Write a failure on its own (after the poll's transaction was rolled back)."""
    source = session.get(MonitorSource, source_id)
    outcome = PollOutcome(source_id, "error", scheduled_at, error=message)
    if source is None:
        return outcome
    source.last_poll_at = source.updated_at = now
    return _failed(source, outcome, message, code="internal", result=None, now=now)


def _handle(session_factory: SessionFactory, claim: Claim, result: FetchResult | BaseException, *,
            now: datetime, rules: CompiledRules, zone: ZoneInfo) -> PollOutcome:
    with session_factory() as session:
        try:
            if isinstance(result, BaseException):
                raise result
            source = session.get(MonitorSource, claim.source_id)
            if source is None or source.url != claim.url:  # deleted or re-pointed meanwhile
                return PollOutcome(claim.source_id, "skipped", claim.scheduled_at)
            outcome = apply_result(session, source, result, now=now, rules=rules, zone=zone,
                                   scheduled_at=claim.scheduled_at)
            session.commit()
            return outcome
        except Exception as exc:  # one source's trouble must never stop the others
            session.rollback()
            log.exception("polling source %s failed", claim.source_id)
            outcome = record_failure(session, claim.source_id,
                                     f"internal error while storing this poll ({type(exc).__name__}); it will be retried",
                                     now=now, scheduled_at=claim.scheduled_at)
            session.commit()
            return outcome


def _fetch(claim: Claim, settings: PollSettings, now: datetime) -> FetchResult:
    return fetch_feed(claim.url, allowed_networks=settings.allowed_networks, etag=claim.etag,
                      last_modified=claim.last_modified, extra_headers=claim.headers,
                      connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                      deadline_s=settings.deadline_s, now=now)


def poll_due(
    session_factory: SessionFactory, *, now: datetime, settings: PollSettings, rules: CompiledRules | None = None,
    limit: int | None = None, only: Sequence[int] | None = None,
) -> list[PollOutcome]:
    """Poll every source due at `now` (at most `limit`); returns what each poll did."""
    now = ensure_aware(now)
    rules = rules or CompiledRules()
    claims = claim_due(session_factory, now=now, limit=limit or settings.batch, lease_s=settings.lease_s, only=only)
    if not claims:
        return []
    outcomes = []
    with rules.for_tick(session_factory), ThreadPoolExecutor(max_workers=max(1, min(settings.fetch_threads, len(claims))),
                            thread_name_prefix="feed-fetch") as pool:
        futures = {pool.submit(_fetch, claim, settings, now): claim for claim in claims}
        for future in as_completed(futures):
            claim = futures[future]
            try:
                result: FetchResult | BaseException = future.result()
            except Exception as exc:  # fetch_feed reports network trouble itself; this is a bug
                result = exc
            outcomes.append(_handle(session_factory, claim, result, now=now, rules=rules, zone=settings.zone))
    return outcomes


def poll_source(session_factory: SessionFactory, source_id: int, *, now: datetime, settings: PollSettings,
                rules: CompiledRules | None = None) -> PollOutcome | None:
    """Poll one source now if it is due (None when it is not, or is disabled)."""
    outcomes = poll_due(session_factory, now=now, settings=settings, rules=rules, limit=1, only=[source_id])
    return outcomes[0] if outcomes else None
