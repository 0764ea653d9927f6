"""The public pages' cache: render once per change, serve the stored bytes to everyone else.

Entries are keyed on the public page version read from the database (a counter bumped in the
same transaction as every publish), so a publish through any web process invalidates every
process's entries. To keep a rush from turning into one query per request, a process reads
the version at most every `check_seconds` (0.5 s by default), and at once after a commit in
this process that changed the public page. Answers carry ETag and Last-Modified; a client
that already holds the current one gets a 304 without any rendering.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from sqlalchemy.orm import Session

from incidents.publicity import PUBLIC_CHANGE_FLAG, public_version

_caches: weakref.WeakSet[PublicCache] = weakref.WeakSet()


@dataclass(frozen=True)
class Entry:
    body: bytes
    mimetype: str
    etag: str
    last_modified: datetime


class PublicCache:
    """A bounded, thread-safe map from (page, language, version, day) to rendered bytes."""

    def __init__(self, session_factory: Callable[[], Session], *, check_seconds: float, max_entries: int = 512):
        self._session_factory = session_factory
        self._check_seconds = check_seconds
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._version: tuple[int, datetime] = (0, datetime.fromtimestamp(0, UTC))
        self._checked_at = float("-inf")
        _caches.add(self)

    def stale(self) -> None:
        """Read the version again on the next request (a commit here changed the page)."""
        self._checked_at = float("-inf")

    def version(self) -> tuple[int, datetime]:
        """The public version and its time, from the database at most every check_seconds."""
        now = time.monotonic()
        if now - self._checked_at >= self._check_seconds:
            with self._session_factory() as session:
                number, changed_at = public_version(session)
            self._version = (number, changed_at or datetime.fromtimestamp(0, UTC))
            self._checked_at = now
        return self._version

    def get(self, key: tuple, render: Callable[[], tuple[str | bytes, str]], last_modified: datetime) -> Entry:
        """The entry for `key`, rendered once even when many requests miss at the same moment."""
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        with self._render_lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            body, mimetype = render()
            data = body.encode() if isinstance(body, str) else body
            etag = hashlib.sha1(repr(key).encode() + data).hexdigest()[:32]
            entry = Entry(data, mimetype, etag, last_modified.replace(microsecond=0))
            with self._lock:
                self._entries[key] = entry
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
            return entry


def _after_commit(session: Session) -> None:
    if session.info.pop(PUBLIC_CHANGE_FLAG, False):
        for cache in list(_caches):
            cache.stale()


def _after_rollback(session: Session) -> None:
    session.info.pop(PUBLIC_CHANGE_FLAG, None)


def init_app(app: Flask) -> None:
    """One cache per app; any commit in this process that changed the public page marks it stale."""
    app.extensions["public_cache"] = PublicCache(
        app.extensions["db_sessionmaker"], check_seconds=float(app.config.get("STATUS_CACHE_SECONDS", 0.5))
    )
    if not sa.event.contains(Session, "after_commit", _after_commit):
        sa.event.listen(Session, "after_commit", _after_commit)
        sa.event.listen(Session, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


def cached_answer(key: tuple, render: Callable[[], tuple[str | bytes, str]], *, day_start: datetime,
                  headers: dict[str, str] | None = None) -> Response:
    """Answer from the cache with ETag/Last-Modified, 304 when the client's copy is current.

    `key` names the page and its inputs (language, page number…); the version and the day
    are added here. `day_start` is today's start in the team's zone: day-based parts (the
    90-day bars) change at midnight with no publish.
    """
    cache: PublicCache = current_app.extensions["public_cache"]
    number, changed_at = cache.version()
    last_modified = max(changed_at, day_start)
    entry = cache.get((*key, number, day_start.date().isoformat()), render, last_modified)
    response = Response(status=200, mimetype=entry.mimetype)
    if _client_is_current(entry):
        response.status_code = 304
    else:
        response.set_data(entry.body)
    response.set_etag(entry.etag)
    response.last_modified = entry.last_modified
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Cookie")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _client_is_current(entry: Entry) -> bool:
    if request.if_none_match:
        return entry.etag in request.if_none_match
    since = request.if_modified_since
    return since is not None and since >= entry.last_modified
