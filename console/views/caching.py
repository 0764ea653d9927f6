"""Conditional answers for polled fragments: ETag from a cheap fingerprint, 304 when unchanged.

A fragment that is the same for everyone (the board's rows for one filter and language) is
also kept per process as a recent render: every open board polls every few seconds, and in a
crisis the board changes several times a second, so without it each poll would render the
rows again. A poll is answered from a render at most `max_age` seconds old (CRISIS_BOARD_CACHE_SECONDS,
1 s by default) without asking the database anything; after that, the fingerprint is read
again and the rows are rendered only when it changed. A commit in this process that changed
anything makes the renders stale at once, so a person's own change shows on their next poll;
a change made through another process shows within `max_age`.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, make_response, request
from sqlalchemy.orm import Session

from console.db import on_commit

_CHANGED = "recent_renders_changed"
_stores: weakref.WeakSet[RecentRenders] = weakref.WeakSet()


@dataclass
class Recent:
    etag: str
    body: str
    checked_at: float


class RecentRenders:
    """Rendered markup by key (what the markup depends on besides the data), with its ETag."""

    def __init__(self, max_entries: int = 256) -> None:
        self.entries: dict[str, Recent] = {}
        self.lock = threading.Lock()
        self.max_entries = max_entries
        _stores.add(self)

    def stale(self) -> None:
        """Check every entry's fingerprint on its next use."""
        with self.lock:
            for entry in self.entries.values():
                entry.checked_at = float("-inf")

    def answer(self, key: str, fingerprint: Callable[[], str], render: Callable[[], str], *,
               max_age: float) -> Recent:
        now = time.monotonic()
        entry = self.entries.get(key)
        if entry is not None and now - entry.checked_at < max_age:
            return entry
        etag = _etag(fingerprint())
        if entry is not None and entry.etag == etag:
            entry.checked_at = now
            return entry
        fresh = Recent(etag, render(), now)
        with self.lock:
            if len(self.entries) >= self.max_entries and key not in self.entries:
                self.entries.pop(next(iter(self.entries)))
            self.entries[key] = fresh
        return fresh


def _etag(fingerprint: str) -> str:
    return hashlib.sha1(fingerprint.encode()).hexdigest()


def _respond(etag: str, render: Callable[[], Any], status: int, vary: tuple[str, ...]) -> Any:
    if status == 200 and etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(render(), status)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    for header in ("Cookie", *vary):
        response.vary.add(header)
    return response


def conditional(fingerprint: str, render: Callable[[], Any], *, status: int = 200, vary: tuple[str, ...] = ()) -> Any:
    """Answer 304 when the client already holds `fingerprint`'s page, else render it.

    The fingerprint must change whenever the rendered markup could; rendering is skipped
    entirely on a match, which is what keeps every open page's poll cheap.
    """
    return _respond(_etag(fingerprint), render, status, vary)


def shared_conditional(key: str, fingerprint: Callable[[], str], render: Callable[[], str], *,
                       vary: tuple[str, ...] = ()) -> Any:
    """Like `conditional`, for markup that is the same for everyone whose request gives `key`
    (nothing personal in it): served from this process's recent render of it (module doc)."""
    store: RecentRenders = current_app.extensions["recent_renders"]
    recent = store.answer(key, fingerprint, render, max_age=current_app.config["BOARD_CACHE_SECONDS"])
    return _respond(recent.etag, lambda: recent.body, 200, vary)


def _wrote(session: Session, _context: Any) -> None:
    session.info[_CHANGED] = True


def _stale_everywhere() -> None:
    for store in list(_stores):
        store.stale()


def init_app(app: Flask) -> None:
    """One store per app; a commit in this process that wrote anything makes its renders stale."""
    app.extensions["recent_renders"] = RecentRenders()
    if not sa.event.contains(Session, "after_flush", _wrote):
        sa.event.listen(Session, "after_flush", _wrote)
    on_commit(_CHANGED, _stale_everywhere)
