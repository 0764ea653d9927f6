"""Feed sources: create, change, delete, "poll now", and their health as people read it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.monitor_models import Mention, MonitorSource
from incidents.netguard import IPNetwork, refused_address
from incidents.timeutil import ensure_aware
from monitors import fields
from monitors.fetch import MIN_INTERVAL_S

NAME_MAX = 100
URL_MAX = 2000
INTERVAL_MAX = 86_400
DEFAULT_INTERVAL = 300
MIN_EXPECTED_PERIOD = 60
TAGS_MAX = 20
TAG_MAX = 30
HEADERS_MAX = 10
HEADER_VALUE_MAX = 4000
MASK = "••••••"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
# Set by the fetcher itself; a source may not override them.
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "if-none-match",
                     "if-modified-since", "accept-encoding"}
FIELDS = ("name", "url", "interval_s", "enabled", "headers", "tags", "expected_period_s")


@dataclass(frozen=True)
class SourceHealth:
    """What the sources page shows for one source at `now`."""

    state: str  # "ok", "failing", "silent", "disabled", "new"
    silent: bool
    silent_for_s: int | None


def first_poll_at(name: str, *, now: datetime, interval_s: int) -> datetime:
    """A new source's first poll: soon, but spread by name so a batch of sources does not fire at once."""
    fraction = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2**64
    return now + timedelta(seconds=fraction * min(interval_s, 60))


def check_feed_url(url: str, allowed_networks: Sequence[IPNetwork]) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a private address not allowed.

    A host that does not resolve right now is accepted: the poll will report it, and a
    self-hosted RSSHub may simply be down while someone configures it.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise InvalidInput("url", "the URL is malformed", reason="bad_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", "enter a full http:// or https:// address", reason="bad_url")
    if parts.username or parts.password:
        raise InvalidInput("url", "put credentials in a header, not in the URL", reason="url_credentials")
    address = refused_address(url, allowed_networks)
    if address is not None:
        raise InvalidInput("url", f"address {address} is private; allow its network in CRISIS_ALLOWED_NETWORKS "
                                  "to watch it", reason="private_url", address=str(address))


def parse_headers(value: Any, *, previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers from a dict or from "Name: value" lines; a masked value keeps the stored one."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs = []
        for line in value.splitlines():
            if not line.strip():
                continue
            name, sep, header_value = line.partition(":")
            if not sep:
                raise InvalidInput("headers", f"write each header as “Name: value” ({line.strip()[:40]})",
                                   reason="header_line")
            pairs.append((name.strip(), header_value.strip()))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise InvalidInput("headers", "headers must be an object of name: value", reason="invalid")
    if len(pairs) > HEADERS_MAX:
        raise InvalidInput("headers", f"at most {HEADERS_MAX} headers", reason="too_many", max=HEADERS_MAX)
    headers: dict[str, str] = {}
    for name, header_value in pairs:
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidInput("headers", f"{str(name)[:40]!r} is not a valid header name", reason="header_name")
        if name.lower() in _RESERVED_HEADERS:
            raise InvalidInput("headers", f"the header {name} is set by the console itself", reason="header_reserved")
        if not isinstance(header_value, str) or any(c in header_value for c in "\r\n\0"):
            raise InvalidInput("headers", f"the value of {name} must be one line of text", reason="header_value")
        if header_value == MASK and previous:
            kept = {k.lower(): v for k, v in previous.items()}.get(name.lower())
            if kept is None:
                raise InvalidInput("headers", f"type the value of {name} again", reason="header_value")
            header_value = kept
        if len(header_value) > HEADER_VALUE_MAX:
            raise InvalidInput("headers", f"the value of {name} is too long", reason="too_long", max=HEADER_VALUE_MAX)
        headers[name] = header_value
    return headers


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names with their values hidden (cookies and tokens are secrets)."""
    return {name: MASK for name in headers}


def parse_tags(value: Any) -> list[str]:
    """Tags from a list or from text separated by commas (ASCII or Chinese) or spaces."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = re.split(r"[,，、\s]+", value)
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidInput("tags", "tags must be a list of words", reason="invalid")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("tags", "tags must be a list of words", reason="invalid")
        item = item.strip()
        if not item:
            continue
        if len(item) > TAG_MAX:
            raise InvalidInput("tags", f"a tag is at most {TAG_MAX} characters", reason="too_long", max=TAG_MAX)
        if item not in tags:
            tags.append(item)
    if len(tags) > TAGS_MAX:
        raise InvalidInput("tags", f"at most {TAGS_MAX} tags", reason="too_many", max=TAGS_MAX)
    return tags


def clean_source(values: Mapping[str, Any], *, allowed_networks: Sequence[IPNetwork],
                 current: MonitorSource | None = None) -> dict[str, Any]:
    """Validate a source's fields (all of them for a new one, those given for a change)."""
    cleaned: dict[str, Any] = {}
    new = current is None
    if new or "name" in values:
        cleaned["name"] = fields.text(values, "name", NAME_MAX, required=True)
    if new or "url" in values:
        url = fields.text(values, "url", URL_MAX, required=True)
        check_feed_url(url, allowed_networks)
        cleaned["url"] = url
    if "interval_s" in values and values["interval_s"] not in (None, ""):
        cleaned["interval_s"] = fields.number(values["interval_s"], "interval_s", MIN_INTERVAL_S, INTERVAL_MAX)
    elif new:
        cleaned["interval_s"] = DEFAULT_INTERVAL
    if "expected_period_s" in values:
        period = values["expected_period_s"]
        cleaned["expected_period_s"] = (
            None if period in (None, "") else fields.number(period, "expected_period_s", MIN_EXPECTED_PERIOD, 90 * 86_400)
        )
    if "enabled" in values:
        cleaned["enabled"] = fields.boolean(values["enabled"])
    if "headers" in values:
        cleaned["headers"] = parse_headers(values["headers"], previous=current.headers if current else None)
    if "tags" in values:
        cleaned["tags"] = parse_tags(values["tags"])
    return cleaned


def _audit_view(source: MonitorSource) -> dict[str, Any]:
    return {"name": source.name, "url": source.url, "interval_s": source.interval_s, "enabled": source.enabled,
            "headers": sorted(source.headers), "tags": list(source.tags),
            "expected_period_s": source.expected_period_s}


def create_source(session: Session, values: Mapping[str, Any], *, allowed_networks: Sequence[IPNetwork],
                  actor: Actor, now: datetime) -> MonitorSource:
    """Add a source (validated, audited); its first poll comes within a minute."""
    now = ensure_aware(now)
    cleaned = clean_source(values, allowed_networks=allowed_networks)
    if fields.name_taken(session, MonitorSource, cleaned["name"], None):
        raise InvalidInput("name", "another source already has this name", reason="taken")
    defaults = {"enabled": True, "headers": {}, "tags": [], "expected_period_s": None}
    source = MonitorSource(consecutive_failures=0, items_seen=0, created_at=now, updated_at=now,
                           **{**defaults, **cleaned})
    source.next_poll_at = first_poll_at(source.name, now=now, interval_s=source.interval_s)
    session.add(source)
    session.flush()
    record_audit(session, actor=actor, now=now, action="monitor.source_added", target_type="monitor_source",
                 target_id=source.id, after=_audit_view(source))
    return source


def update_source(session: Session, source: MonitorSource, values: Mapping[str, Any], *,
                  allowed_networks: Sequence[IPNetwork], actor: Actor, now: datetime) -> MonitorSource:
    """Change a source; a new URL or new headers start over (no stale validators, failures reset)."""
    now = ensure_aware(now)
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} cannot be changed here", reason="not_editable")
    cleaned = clean_source(values, allowed_networks=allowed_networks, current=source)
    if "name" in cleaned and fields.name_taken(session, MonitorSource, cleaned["name"], source.id):
        raise InvalidInput("name", "another source already has this name", reason="taken")
    before = _audit_view(source)
    restart = ("url" in cleaned and cleaned["url"] != source.url) or (
        "headers" in cleaned and cleaned["headers"] != source.headers)
    for field, value in cleaned.items():
        setattr(source, field, value)
    if restart:
        source.etag = source.last_modified = None
        source.consecutive_failures = 0
        source.next_poll_at = now
    elif "interval_s" in cleaned or "enabled" in cleaned:
        source.next_poll_at = min(source.next_poll_at, now + timedelta(seconds=source.interval_s))
    source.updated_at = now
    after = _audit_view(source)
    if after != before:
        record_audit(session, actor=actor, now=now, action="monitor.source_changed", target_type="monitor_source",
                     target_id=source.id, before=before, after=after)
    session.flush()
    return source


def delete_source(session: Session, source: MonitorSource, *, actor: Actor, now: datetime) -> None:
    """Remove a source; its mentions stay (they may belong to incidents), named by the source's name."""
    session.execute(sa.update(Mention).where(Mention.source_id == source.id).values(source_id=None)
                    .execution_options(synchronize_session=False))
    record_audit(session, actor=actor, now=now, action="monitor.source_deleted", target_type="monitor_source",
                 target_id=source.id, before=_audit_view(source))
    session.delete(source)
    session.flush()


def poll_soon(session: Session, source: MonitorSource, *, actor: Actor, now: datetime) -> None:
    """"Poll now": make the source due at once; the worker takes it on its next tick (audited)."""
    was = source.next_poll_at.isoformat() if source.next_poll_at else None
    record_audit(session, actor=actor, now=now, action="monitor.poll_requested", target_type="monitor_source",
                 target_id=source.id, before={"next_poll_at": was}, after={"next_poll_at": ensure_aware(now).isoformat()})
    source.next_poll_at = ensure_aware(now)
    source.updated_at = ensure_aware(now)
    session.flush()


def get_source(session: Session, source_id: int) -> MonitorSource:
    source = session.get(MonitorSource, source_id)
    if source is None:
        raise NotFound(f"no source {source_id}")
    return source


def list_sources(session: Session) -> list[MonitorSource]:
    """Every source: failing ones first, then by name."""
    sources = list(session.scalars(sa.select(MonitorSource).order_by(MonitorSource.name)))
    return sorted(sources, key=lambda s: (s.consecutive_failures == 0, s.name))


def health(source: MonitorSource, now: datetime) -> SourceHealth:
    """The source's state at `now`: failing, silent for longer than expected, fine, or not polled yet."""
    since = source.last_entry_at or source.created_at
    silent_for = int((now - since).total_seconds())
    silent = bool(source.enabled and source.expected_period_s and silent_for > source.expected_period_s)
    if not source.enabled:
        state = "disabled"
    elif source.consecutive_failures:
        state = "failing"
    elif silent:
        state = "silent"
    elif source.last_success_at is None:
        state = "new"
    else:
        state = "ok"
    return SourceHealth(state=state, silent=silent, silent_for_s=silent_for if silent else None)


def sources_fingerprint(session: Session) -> tuple[int, datetime | None]:
    """Changes whenever any source's health or settings change (for the page's ETag)."""
    count, latest = session.execute(
        sa.select(sa.func.count(MonitorSource.id), sa.func.max(MonitorSource.updated_at))).one()
    return count, latest
