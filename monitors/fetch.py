"""Fetch one feed safely and decide when to poll it next.

`fetch_feed` guards every hop (including redirects, followed by hand) with
`incidents.netguard.check_url` and connects to the address it vetted (`incidents.guarded_http`,
so a DNS answer that changes after the check is never used), caps the *decoded* body size while streaming, enforces a
total wall-clock deadline (a server trickling one byte per second is cut off), does
conditional GETs with the stored ETag/Last-Modified, and reports errors as text a person
can act on. `next_poll_at` turns the outcome into the next poll time.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import urllib3

from incidents.guarded_http import guard, guarded_session
from incidents.netguard import IPNetwork, UnsafeURL

USER_AGENT = "CrisisConsole/0.1 (+feed monitor)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
ERROR_BODY_BYTES = 64 * 1024  # enough to recognise RSSHub's "route is empty" page
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

MIN_INTERVAL_S = 30
MAX_DELAY_S = 3600
MAX_SPREAD_S = 300


@dataclass(frozen=True)
class FetchResult:
    """Outcome of one fetch. `status` is "ok", "not_modified" or "error".

    For HTTP error responses `body` holds at most the first 64 KiB so that
    `monitors.feeds.parse_feed(..., http_status=...)` can recognise RSSHub's empty-route page.
    """

    status: str
    url: str
    final_url: str
    body: bytes = b""
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    error: str | None = None  # for a person, e.g. "HTTP 404: the feed was not found; check the URL"
    error_code: str | None = None  # for code, e.g. "http_404", "read_timeout", "too_large", "unsafe_url"
    retry_after_s: float | None = None
    cache_max_age_s: int | None = None
    elapsed_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # content-type etc., for parse_feed


class _Abort(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Decoder:
    """Content-Encoding decoder with a hard output limit (a 10 KB gzip can inflate to 10 MB)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._obj: zlib._Decompress | None = None
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise _Abort("unsupported_encoding", f"the server used an unsupported compression ({encoding})")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode `data`, returning at most `room + 1` bytes (one more than fits means: too large)."""
        if self.encoding in ("", "identity"):
            return data
        out = bytearray()
        while data:
            if self._obj is None:
                if self.encoding == "deflate" and not _zlib_header(data):
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
                else:
                    self._obj = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib, auto-detected
            try:
                out += self._obj.decompress(data, max(1, room + 1 - len(out)))
            except zlib.error as exc:
                raise _Abort("bad_encoding", f"the compressed response is corrupt ({exc})") from None
            if len(out) > room:
                return bytes(out)
            if self._obj.unconsumed_tail:
                data = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data:
                data, self._obj = self._obj.unused_data, None  # next gzip member
            else:
                data = b""
        return bytes(out)


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _read_body(resp: requests.Response, *, limit: int, deadline: float, truncate: bool = False) -> bytes:
    """Stream the decoded body; raise _Abort when it exceeds `limit` or the deadline passes.

    read1 returns after every socket read, so the deadline is checked even when a server
    trickles bytes slower than one chunk per read timeout; the worst-case overshoot is
    one read timeout. With `truncate`, stop quietly at `limit` instead (error pages).
    """
    decoder = _Decoder(resp.headers.get("Content-Encoding", "").strip().lower())
    chunks: list[bytes] = []
    total = 0
    raw = resp.raw
    while True:
        if time.monotonic() > deadline:
            raise _Abort("deadline", "the download took too long and was stopped")
        data = raw.read1(_CHUNK, decode_content=False)
        if not data:
            break
        out = decoder.feed(data, limit - total)
        total += len(out)
        if total > limit:
            if truncate:
                chunks.append(out[: len(out) - (total - limit)])
                break
            raise _Abort("too_large", f"the feed is larger than the {limit // 1024} KiB limit and was cut off")
        chunks.append(out)
    return b"".join(chunks)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(value: str | None) -> int | None:
    """max-age from a Cache-Control header, ignored when no-store/no-cache say not to reuse."""
    if not value or re.search(r"\bno-(store|cache)\b", value, re.I):
        return None
    match = re.search(r"(?<![-\w])max-age\s*=\s*\"?(\d+)", value, re.I)
    return int(match.group(1)) if match else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or ""), port


_HTTP_MESSAGES = {
    401: "HTTP 401: the feed needs a login (check the cookie or token)",
    403: "HTTP 403: access denied (the feed may need a login cookie, or the site blocks us)",
    404: "HTTP 404: the feed was not found; check the URL",
    410: "HTTP 410: the feed has been removed permanently; consider disabling this source",
    429: "HTTP 429: the server asks us to slow down",
}


def _http_error(code: int) -> str:
    if code in _HTTP_MESSAGES:
        return _HTTP_MESSAGES[code]
    if code >= 500:
        return f"HTTP {code}: the server had a problem; we will retry later"
    return f"HTTP {code}: unexpected answer from the server"


def fetch_feed(
    url: str,
    *,
    allowed_networks: Sequence[IPNetwork] = (),
    session: requests.Session | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
    deadline_s: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 5,
    now: datetime | None = None,
) -> FetchResult:
    """GET one feed URL safely; never raises for network or server problems (see FetchResult).

    `extra_headers` (e.g. a Cookie for a private RSSHub) are only sent to the original
    origin, never to a host a redirect points at. A given session is guarded
    (`incidents.guarded_http.guard`): proxies and other adapters would bypass the checks.
    """
    now = now or datetime.now(UTC)
    started = time.monotonic()
    deadline = started + deadline_s
    current = url
    try:
        origin, visited = _origin(url), {urldefrag(url)[0]}
    except ValueError:  # e.g. an unclosed IPv6 bracket: urllib cannot even split it
        return FetchResult(status="error", url=url, final_url=url, error_code="unsafe_url",
                           error="refused to connect: the URL is malformed")
    own_session = session is None
    session = guarded_session(allowed_networks) if session is None else guard(session, allowed_networks)

    def result(status: str, **kwargs: object) -> FetchResult:
        return FetchResult(status=status, url=url, final_url=current,
                           elapsed_s=time.monotonic() - started, **kwargs)  # type: ignore[arg-type]

    try:
        for hop in range(max_redirects + 1):
            headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            if extra_headers and _origin(current) == origin:
                headers.update(extra_headers)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return result("error", error_code="deadline", error="the download took too long and was stopped")
            try:
                resp = session.get(current, headers=headers, stream=True, allow_redirects=False,
                                   timeout=(min(connect_timeout, remaining), min(read_timeout, remaining)))
            except UnsafeURL as exc:  # the guarded session vets every hop before connecting
                return result("error", error_code="unsafe_url", error=f"refused to connect: {exc}")
            except requests.exceptions.ConnectTimeout:
                return result("error", error_code="connect_timeout", error="timed out connecting to the server")
            except requests.exceptions.ReadTimeout:
                return result("error", error_code="read_timeout", error="the server did not answer in time")
            except requests.exceptions.SSLError:
                return result("error", error_code="tls", error="the server's HTTPS certificate could not be verified")
            except requests.exceptions.ConnectionError:
                return result("error", error_code="connection", error="could not connect to the server")
            except requests.exceptions.RequestException as exc:
                return result("error", error_code="request", error=f"the request failed ({type(exc).__name__})")
            with resp:
                outcome = _handle(resp, current=current, hop=hop, max_redirects=max_redirects, visited=visited,
                                  etag=etag, last_modified=last_modified, max_bytes=max_bytes,
                                  deadline=deadline, now=now)
            if isinstance(outcome, str):
                current = outcome
                continue
            status, kwargs = outcome
            return result(status, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns
    finally:
        if own_session:
            session.close()


def _handle(resp: requests.Response, *, current: str, hop: int, max_redirects: int, visited: set[str],
            etag: str | None, last_modified: str | None, max_bytes: int, deadline: float,
            now: datetime) -> str | tuple[str, dict[str, object]]:
    """One response: the next URL for a redirect, else (status, FetchResult fields)."""
    code = resp.status_code
    info: dict[str, object] = {
        "http_status": code,
        "retry_after_s": parse_retry_after(resp.headers.get("Retry-After"), now=now),
        "cache_max_age_s": parse_max_age(resp.headers.get("Cache-Control")),
    }
    if code in REDIRECT_CODES:
        location = resp.headers.get("Location")
        if not location:
            return "error", {**info, "error_code": "bad_redirect", "error": f"HTTP {code} redirect without a Location"}
        try:
            target = urljoin(current, location.strip())
            hop_key = urldefrag(target)[0]
        except ValueError:
            return "error", {**info, "error_code": "bad_redirect",
                             "error": f"HTTP {code} redirect to a malformed address"}
        if hop_key in visited:
            return "error", {**info, "error_code": "redirect_loop", "error": "the server redirects in a loop"}
        if hop >= max_redirects:
            return "error", {**info, "error_code": "too_many_redirects",
                             "error": f"more than {max_redirects} redirects"}
        visited.add(hop_key)
        return target
    if code == 304:
        return "not_modified", {**info, "etag": resp.headers.get("ETag") or etag,
                                "last_modified": resp.headers.get("Last-Modified") or last_modified}
    content_type = resp.headers.get("Content-Type")
    headers = {"content-type": content_type} if content_type else {}
    if 200 <= code < 300:
        try:
            body = _read_body(resp, limit=max_bytes, deadline=deadline)
        except _Abort as exc:
            return "error", {**info, "error_code": exc.code, "error": exc.message}
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return "error", {**info, "error_code": "read_timeout", "error": "the server stopped sending data"}
        except (urllib3.exceptions.HTTPError, OSError):
            return "error", {**info, "error_code": "connection", "error": "the connection broke during the download"}
        return "ok", {**info, "body": body, "content_type": content_type, "headers": headers,
                      "etag": resp.headers.get("ETag"), "last_modified": resp.headers.get("Last-Modified")}
    try:
        body = _read_body(resp, limit=ERROR_BODY_BYTES, deadline=deadline, truncate=True)
    except (_Abort, urllib3.exceptions.HTTPError, OSError):
        body = b""
    message = _http_error(code)
    if info["retry_after_s"] is not None and code in (429, 503):
        message += f" (retry after {int(info['retry_after_s'])} s)"  # type: ignore[call-overload]
    return "error", {**info, "body": body, "content_type": content_type, "headers": headers,
                     "error_code": f"http_{code}", "error": message}


def _jitter_fraction(key: object) -> float:
    digest = hashlib.sha256(str(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def next_poll_at(
    *,
    now: datetime,
    interval_s: float,
    consecutive_failures: int = 0,
    retry_after_s: float | None = None,
    feed_ttl_min: int | None = None,
    cache_max_age_s: float | None = None,
    jitter_key: object = None,
) -> datetime:
    """When to poll a source next.

    delay = max(interval, 30 s); after n failures delay = min(delay·2ⁿ, ceiling) where
    ceiling = max(1 h, interval). Server hints (Retry-After, RSS ttl, Cache-Control
    max-age) raise the delay to what they ask, but never beyond the ceiling. Then a
    deterministic offset j ∈ [0, min(10 % of delay, 5 min)) from sha256(jitter_key) spreads
    sources with equal intervals: added below the ceiling (clamped to it), subtracted at
    the ceiling but never below the (capped) server hint. No key → no jitter.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    interval = max(float(interval_s), MIN_INTERVAL_S)
    ceiling = max(float(MAX_DELAY_S), interval)
    failures = max(0, int(consecutive_failures))
    # 2**min(n, 20): avoids overflow; the ceiling is reached long before anyway.
    delay = min(interval * 2 ** min(failures, 20), ceiling) if failures else interval
    hints = [h for h in (retry_after_s, feed_ttl_min * 60 if feed_ttl_min else None, cache_max_age_s) if h]
    hint = min(max(hints), ceiling) if hints else 0.0
    delay = max(delay, hint)
    if jitter_key is not None:
        offset = _jitter_fraction(jitter_key) * min(0.1 * delay, MAX_SPREAD_S)
        delay = min(delay + offset, ceiling) if delay < ceiling else max(ceiling - offset, hint)
    return now + timedelta(seconds=max(delay, MIN_INTERVAL_S))
