"""Turn a fetched feed body into plain `FeedEntry` records (feedparser on bytes, never on URLs).

Outcomes of `parse_feed`:

* entries parsed → `ParsedFeed` with entries (and `warning` if the XML was not well-formed
  but feedparser still recovered entries, e.g. a truncated download);
* `no_data` → the source works but has nothing right now: a valid feed with no items,
  or RSSHub's "this route is empty" error page (RSSHub answers an empty route with an
  HTML/JSON error page, status 503/404, instead of an empty channel);
* `broken` (with `reason`) → an HTML page instead of a feed, an HTTP error page,
  garbage, or a document declaring XML entities.

Entity bombs: expat 2.4+ stops "billion laughs" itself, but feedparser then retries
with its loose parser, which took seconds on a 1 KB bomb. Feeds have no business
declaring entities, so any document containing "<!ENTITY" is refused before parsing.

Chinese encodings: documents declaring GB2312/GBK/GB18030 are decoded as GB18030 (a
superset, since real "gb2312" feeds routinely contain GBK-only characters) and Big5 as
Big5-HKSCS/CP950, then handed to feedparser as UTF-8. Servers often label a UTF-8 feed
"gbk" (a proxy's or a framework's default), so strict UTF-8 is tried first: real GBK or
Big5 text is practically never valid UTF-8, while a lossy GB decode of UTF-8 is garbage.

A wrong label alone (feedparser's CharacterEncodingOverride or NonXMLContentType, after
which its strict XML parser still read the whole document) does not make a feed broken.

feedparser's own HTML sanitising and link rewriting are off: only text is kept from the
markup (`textutil.html_to_text`, the standard library's parser, which drops scripts and
never keeps attributes but an emoticon's alt text), and feedparser's rewriting truncates the
unquoted attributes Weibo writes, such as `<img alt=[怒] …>`, to `alt="["`.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser

from monitors.textutil import collapse, hashtags, html_to_text

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_ENTRIES = 1000
_MAX_KEY = 512

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_GB = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "ms936", "euc-cn", "csgb2312", "gb_2312-80", "chinese"}
_BIG5 = {"big5", "big-5", "big5-hkscs", "big5hkscs", "cp950", "ms950", "x-big5", "csbig5"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_RSSHUB_EMPTY = ("this route is empty",)
# bozo reasons about the server's labels, not the document: the strict XML parser read it all.
_LABEL_FAULTS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True)
class FeedEntry:
    """One post/item, reduced to plain values."""

    key: str
    title: str
    text: str
    link: str | None
    author: str | None
    published: datetime | None
    future_date_clamped: bool = False
    categories: list[str] = field(default_factory=list)
    engagement: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedFeed:
    """Result of parsing one feed body."""

    title: str | None = None
    ttl: int | None = None  # minutes, from RSS <ttl>
    entries: list[FeedEntry] = field(default_factory=list)
    warning: str | None = None
    no_data: bool = False
    broken: bool = False
    reason: str | None = None  # why no_data/broken, in words for a person
    version: str | None = None  # feedparser's format name, e.g. "rss20", "atom10"
    well_formed: bool = True  # False: feedparser recovered entries from a broken document


def _declared_charset(body: bytes, content_type: str) -> str | None:
    match = _CHARSET.search(content_type or "")
    if match:
        return match.group(1).lower()
    decl = _XML_DECL.match(body[:512])
    return decl.group(1).decode("ascii").lower() if decl else None


def _transcode_cjk(body: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """Re-encode GB*/Big5 documents as UTF-8 with a superset codec; returns (body, warning)."""
    if body.startswith(_BOMS):
        return body, None  # a BOM is authoritative; feedparser handles it
    charset = _declared_charset(body, headers.get("content-type", ""))
    if charset in _GB:
        codecs = ("gb18030",)
    elif charset in _BIG5:
        codecs = ("big5hkscs", "cp950")
    else:
        return body, None
    warning = None
    for codec in ("utf-8", *codecs):
        try:
            text = body.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = body.decode(codecs[0], errors="replace")
        warning = f"some bytes are not valid {charset}; they were replaced"
    text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", r"\1utf-8", text, count=1, flags=re.I)
    content_type = headers.get("content-type", "")
    if content_type:
        headers["content-type"] = _CHARSET.sub("charset=utf-8", content_type)
    return text.encode("utf-8"), warning


def _looks_like_html(head: str, content_type: str) -> bool:
    if "html" in content_type and "xml" not in content_type:
        return True
    start = head.lstrip().lower()[:1024]
    return start.startswith("<!doctype html") or "<html" in start


def _safe_link(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _to_datetime(struct: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _detail_text(value: str, detail: Mapping | None) -> str:
    kind = (detail or {}).get("type", "") if isinstance(detail, Mapping) else ""
    return html_to_text(value) if "html" in kind or "<" in value else collapse(value)


def _int(value: object) -> int | None:
    try:
        number = int(str(value).strip().replace(",", ""))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _entry(raw: Mapping, now: datetime) -> FeedEntry:
    title = _detail_text(raw.get("title") or "", raw.get("title_detail"))
    contents = raw.get("content") or []
    if contents and isinstance(contents[0], Mapping) and contents[0].get("value"):
        text = _detail_text(contents[0]["value"], contents[0])
    else:
        text = _detail_text(raw.get("summary") or "", raw.get("summary_detail"))
    link = _safe_link(raw.get("link"))
    key = collapse(str(raw.get("id") or "")) or (link or "")
    if not key or len(key) > _MAX_KEY:
        basis = key if key else f"{title}\n{text}"
        key = "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()
    published = None
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _to_datetime(raw.get(name)) if raw.get(name) else None
        if published:
            break
    clamped = False
    if published is not None and published > now + FUTURE_TOLERANCE:
        published, clamped = now, True
    categories = [collapse(t.get("term") or "") for t in raw.get("tags") or [] if isinstance(t, Mapping)]
    categories = [c for c in categories if c]
    categories += hashtags(f"{title} {text}")
    engagement: dict[str, int] = {}
    for name, label in (("slash_comments", "comments"), ("thr_total", "replies")):
        number = _int(raw.get(name)) if raw.get(name) is not None else None
        if number is not None:
            engagement[label] = number
    stats = raw.get("media_statistics")
    if isinstance(stats, Mapping) and _int(stats.get("views")) is not None:
        engagement["views"] = _int(stats.get("views"))  # type: ignore[assignment]
    author = collapse(str(raw.get("author") or ""))[:200] or None
    return FeedEntry(
        key=key, title=title, text=text, link=link, author=author, published=published,
        future_date_clamped=clamped, categories=list(dict.fromkeys(categories)), engagement=engagement,
    )


def parse_feed(
    body: bytes,
    *,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    http_status: int | None = None,
    base_url: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse a feed body (bytes as downloaded) into a `ParsedFeed`; never raises for bad input.

    `headers` are the response headers (Content-Type charset matters); `http_status`
    lets an error page be told apart from RSSHub's empty-route page; `base_url` (the
    final URL) resolves relative links. `now` (aware) clamps future publication dates.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if not body or not body.strip():
        return ParsedFeed(broken=True, reason="the server sent an empty response")
    head = body[:65536].decode("utf-8", errors="replace")
    # Only error pages (HTTP error, HTML or JSON), never a real feed whose posts may
    # happen to quote RSSHub's message.
    error_page = (
        (http_status is not None and http_status >= 400)
        or _looks_like_html(head, hdrs.get("content-type", ""))
        or head.lstrip().startswith("{")
    )
    if error_page and any(marker in head.lower() for marker in _RSSHUB_EMPTY):
        return ParsedFeed(no_data=True, reason="RSSHub reports that this route has no content right now")
    if http_status is not None and http_status >= 400:
        return ParsedFeed(broken=True, reason=f"the server answered HTTP {http_status} instead of a feed")
    if b"<!ENTITY" in body.upper() or "<!ENTITY" in _utf16_head(body):
        return ParsedFeed(broken=True, reason="the document declares XML entities; refused (entity-expansion attack risk)")
    body, warning = _transcode_cjk(body, hdrs)
    if base_url:
        hdrs["content-location"] = base_url
    try:
        # BytesIO, never a str/bytes: feedparser treats strings as URLs or file names.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=hdrs, sanitize_html=False,
                                   resolve_relative_uris=False)
    except Exception as exc:  # feedparser is defensive, but a parser bug must not kill the worker
        return ParsedFeed(broken=True, reason=f"the feed could not be parsed ({type(exc).__name__})")
    version = parsed.get("version") or None
    raw_entries = parsed.get("entries") or []
    if not raw_entries:
        if _looks_like_html(head, hdrs.get("content-type", "")) and not version:
            return ParsedFeed(broken=True, reason="the URL returned an HTML web page, not an RSS/Atom feed")
        if version:
            return ParsedFeed(title=_feed_title(parsed), version=version, ttl=_ttl(parsed), no_data=True,
                              reason="the feed is valid but has no entries")
        detail = f": {parsed.get('bozo_exception')}" if parsed.get("bozo") else ""
        return ParsedFeed(broken=True, reason=f"the response is not a recognisable RSS/Atom feed{detail}")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw in raw_entries:
        entry = _entry(raw, now)
        if entry.key in seen:  # duplicate guids inside one feed: keep the first
            continue
        seen.add(entry.key)
        entries.append(entry)
        if len(entries) >= max_entries:
            break
    exc = parsed.get("bozo_exception")
    well_formed = not parsed.get("bozo") or isinstance(exc, _LABEL_FAULTS)
    if not well_formed:
        note = f"the feed is not well-formed ({exc}); {len(entries)} entries were read anyway"
        warning = f"{warning}; {note}" if warning else note
    return ParsedFeed(title=_feed_title(parsed), ttl=_ttl(parsed), entries=entries, warning=warning, version=version,
                      well_formed=well_formed)


def _utf16_head(body: bytes) -> str:
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or body[:2].count(b"\x00"):
        return body[:65536].decode("utf-16", errors="replace").upper()
    return ""


def _feed_title(parsed: Mapping) -> str | None:
    feed = parsed.get("feed") or {}
    title = collapse(feed.get("title") or "")
    return title or None


def _ttl(parsed: Mapping) -> int | None:
    value = _int((parsed.get("feed") or {}).get("ttl"))
    return value if value else None
