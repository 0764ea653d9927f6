"""The public pages' cache: render once per change, serve the stored bytes to everyone else.

Two layers share one store. `cached_answer`, inside the views, renders a page once per
version and language. `FrontCache`, a WSGI layer in front of Flask, answers anonymous GETs
of public addresses (the rush) with the stored response without entering Flask at all;
anything it cannot answer (a signed-in reader, a first request after a change) goes through.

Entries are keyed on the public page version read from the database (a counter bumped in the
same transaction as every publish), so a publish through any web process invalidates every
process's entries. To keep a rush from turning into one query per request, a process reads
the version at most every `check_seconds` (0.25 s by default), and at once after a commit in
this process that changed the public page. Answers carry ETag and Last-Modified; a client
that already holds the current one gets a 304 without any rendering.
"""

from __future__ import annotations

import gzip
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
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, request
from sqlalchemy.orm import Session
from werkzeug.http import parse_cookie, parse_date, parse_etags, unquote_etag

from console.db import on_commit
from console.i18n import LANGUAGE_COOKIE, LANGUAGES

from incidents.publicity import PUBLIC_CHANGE_FLAG, public_version

_caches: weakref.WeakSet[PublicCache] = weakref.WeakSet()
# ?lang= values a shared link may carry, to the console's locale codes.
LANG_ARGS = {"en": "en", "zh": "zh_Hans_CN", "zh-CN": "zh_Hans_CN", "zh_Hans_CN": "zh_Hans_CN"}
PUBLIC_PREFIXES = ("/status", "/history.", "/api/v2/")


@dataclass(frozen=True)
class Entry:
    body: bytes
    gzipped: bytes
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
        self._known = False
        _caches.add(self)

    def stale(self) -> None:
        """Read the version again on the next request (a commit here changed the page)."""
        self._checked_at = float("-inf")

    def version(self) -> tuple[int, datetime]:
        """The public version and its time, from the database at most every check_seconds.

        While the database is away the last version read stands (nothing can be published
        meanwhile), so the stored pages are still served; with none read yet, this raises."""
        now = time.monotonic()
        if now - self._checked_at >= self._check_seconds:
            try:
                with self._session_factory() as session:
                    number, changed_at = public_version(session)
            except sa.exc.SQLAlchemyError:
                if not self._known:
                    raise
                self._checked_at = now
                return self._version
            self._version = (number, changed_at or datetime.fromtimestamp(0, UTC))
            self._checked_at = now
            self._known = True
        return self._version

    def peek(self, key: tuple) -> Any:
        return self._entries.get(key)

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

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
            # Compressed once here, so a rush of browsers costs no compression at all.
            entry = Entry(data, gzip.compress(data, 6, mtime=0), mimetype, etag, last_modified.replace(microsecond=0))
            self.put(key, entry)
            return entry


def _stale_everywhere() -> None:
    for cache in list(_caches):
        cache.stale()


@dataclass(frozen=True)
class StoredResponse:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    last_modified: datetime | None

    def current_for(self, environ: dict[str, Any]) -> bool:
        """True when the client's conditional headers say it already holds this answer."""
        if environ.get("HTTP_IF_NONE_MATCH"):
            return parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains(self.etag)
        since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        return since is not None and self.last_modified is not None and since >= self.last_modified


class FrontCache:
    """WSGI layer: anonymous GET/HEAD of public addresses answered from stored responses.

    The key is what the views' answer depends on for a reader without a session: the path,
    the language (?lang=, else the language cookie, else the default), the history page,
    gzip or not, the public version and the day. Only complete 200 answers without cookies
    are stored; 304s are answered here from the stored ETag.
    """

    def __init__(self, wsgi_app: Any, cache: PublicCache, *, session_cookies: tuple[str, ...], default_locale: str,
                 zone: ZoneInfo):
        self.wsgi_app = wsgi_app
        self.cache = cache
        self.session_cookies = session_cookies
        self.default_locale = default_locale
        self.zone = zone

    def _key(self, environ: dict[str, Any]) -> tuple | None:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not path.startswith(PUBLIC_PREFIXES):
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        if any(name in cookies for name in self.session_cookies):
            return None  # a signed-in reader: the console decides their language
        args = parse_qs(environ.get("QUERY_STRING", ""))
        chosen = cookies.get(LANGUAGE_COOKIE)
        locale = LANG_ARGS.get(args.get("lang", [""])[0]) or (chosen if chosen in LANGUAGES else self.default_locale)
        page = args.get("page", ["1"])[0][:6] if path == "/status/history" else ""
        gz = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        try:
            version, _changed = self.cache.version()
        except sa.exc.SQLAlchemyError:
            return None  # the database is away and no page is stored: the console answers 503
        day = datetime.now(self.zone).date().isoformat()
        return ("front", path, locale, page, gz, version, day)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        key = self._key(environ)
        stored = self.cache.peek(key) if key else None
        if stored is None:
            return self._through(key, environ, start_response)
        if stored.current_for(environ):
            kept = [(n, v) for n, v in stored.headers if n.lower() not in ("content-length", "content-encoding",
                                                                              "content-type")]
            start_response("304 NOT MODIFIED", kept)
            return [b""]
        start_response(stored.status, stored.headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else stored.body]

    def _through(self, key: tuple | None, environ: dict[str, Any], start_response: Any) -> Any:
        if key is None or environ["REQUEST_METHOD"] != "GET":
            return self.wsgi_app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = captured.get("headers", [])
        names = {name.lower() for name, _value in headers}
        if captured.get("status", "").startswith("200") and "set-cookie" not in names and "etag" in names:
            found = dict((name.lower(), value) for name, value in headers)
            etag, _weak = unquote_etag(found["etag"])
            # The request id named the request that rendered it, not the readers served from the store.
            kept = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            self.cache.put(key, StoredResponse(captured["status"], kept, body, etag,
                                               parse_date(found.get("last-modified"))))
        return [body]


def init_app(app: Flask) -> None:
    """One cache per app, and the front layer; a commit here that changed the public page marks it stale."""
    cache = PublicCache(app.extensions["db_sessionmaker"],
                        check_seconds=float(app.config.get("STATUS_CACHE_SECONDS", 0.25)))
    app.extensions["public_cache"] = cache
    app.wsgi_app = FrontCache(  # type: ignore[method-assign]
        app.wsgi_app, cache, session_cookies=(app.config["SESSION_COOKIE_NAME"], "remember_token"),
        default_locale=app.config["BABEL_DEFAULT_LOCALE"], zone=ZoneInfo(app.config["TIMEZONE"]))
    on_commit(PUBLIC_CHANGE_FLAG, _stale_everywhere)


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
    compressed = "gzip" in request.accept_encodings
    # Each encoding is its own representation, so each has its own validator.
    etag = f"{entry.etag}-gz" if compressed else entry.etag
    response = Response(status=200, mimetype=entry.mimetype)
    if _client_is_current(etag, entry.last_modified):
        response.status_code = 304
    else:
        response.set_data(entry.gzipped if compressed else entry.body)
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.last_modified = entry.last_modified
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Cookie")
    response.vary.add("Accept-Encoding")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _client_is_current(etag: str, last_modified: datetime) -> bool:
    if request.if_none_match:
        return etag in request.if_none_match
    since = request.if_modified_since
    return since is not None and since >= last_modified
