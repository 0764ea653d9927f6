"""The feed parser, the fetcher and the poller fed random and mutated feeds: never an exception.

`parse_feed` gets random bytes, byte-level mutations of real fixture feeds and generated
RSS/Atom whose fields hold anything (markup, control characters, odd dates, huge numbers);
`fetch_feed` gets a local server answering random statuses, headers and bodies; the poller
(`monitors.polling.poll_due`, what the worker runs) stores whatever survives into the real
database. Whatever comes in: a result, never a raise, and what is kept is plain and sane.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from incidents.actors import Actor
from incidents.monitor_models import Mention, MonitorSource
from incidents.netguard import parse_networks
from monitors import sources
from monitors.feeds import parse_feed
from monitors.fetch import fetch_feed
from monitors.polling import PollSettings, poll_due
from tests.fuzz.profiles import FUZZ, FUZZ_SLOW
from tests.monitors.feedserver import running_feed_server
from tests.security.support import recording_server

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FIXTURES = sorted((Path(__file__).parent.parent / "monitors" / "fixtures").rglob("*.xml"))
SEEDS = [path.read_bytes() for path in FIXTURES if "billion" not in path.name]
LOCAL = parse_networks(["127.0.0.1/32"])
_names = itertools.count(1)

field_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60) | st.sampled_from([
    "<script>alert(1)</script>", "]]>", "<![CDATA[x", "&amp;&lt;&#0;&#xD800;", "\x00\x01\x1b", "{{7*7}}",
    "javascript:alert(1)", "99999999999999999999", "-1", "Mon, 32 Foo 99999 25:61:61 +9999", "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "http://", "//evil.example/x", "\u202e\u200b", "鲜果多 曝光 12315",
])


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    """A real feed with a few bytes replaced, inserted, deleted, or its tail cut off."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "duplicate"]))
        if action == "replace":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at:at + 200]
    return bytes(data)


@st.composite
def generated_feed(draw: st.DrawFn) -> bytes:
    """RSS 2.0 or Atom whose fields carry anything, escaped or (sometimes) raw."""
    raw = draw(st.booleans())
    put = (lambda v: v) if raw else escape
    items = []
    for _ in range(draw(st.integers(0, 5))):
        title, summary, author, link, date, guid = (draw(field_text) for _ in range(6))
        items.append((put(title), put(summary), put(author), put(link), put(date), put(guid)))
    if draw(st.booleans()):
        body = "".join(f"<item><title>{t}</title><description>{s}</description><author>{a}</author><link>{l}</link>"
                       f"<pubDate>{d}</pubDate><guid>{g}</guid></item>" for t, s, a, l, d, g in items)
        text = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{put(draw(field_text))}' \
               f"</title><ttl>{put(draw(field_text))}</ttl>{body}</channel></rss>"
    else:
        body = "".join(f'<entry><title type="html">{t}</title><content type="html">{s}</content><author><name>{a}'
                       f'</name></author><link href="{l}"/><updated>{d}</updated><id>{g}</id></entry>'
                       for t, s, a, l, d, g in items)
        text = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>{body}</feed>'
    return text.encode("utf-8", errors="surrogatepass")


feeds = st.one_of(mutated_seed(), generated_feed(), st.binary(max_size=300))
content_types = st.sampled_from(["application/rss+xml; charset=utf-8", "text/html", "application/json", "text/xml; charset=gbk",
                                 "application/atom+xml; charset=big5", "text/plain; charset=nonsense", ""])


def _check(parsed, now: datetime) -> None:  # noqa: ANN001
    assert parsed.broken or parsed.no_data or parsed.entries or parsed.version is not None
    for entry in parsed.entries:
        assert isinstance(entry.key, str) and entry.key
        assert isinstance(entry.title, str) and isinstance(entry.text, str)
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or (entry.published.tzinfo is not None and entry.published <= now + timedelta(minutes=5))
        assert all(isinstance(v, int) and v >= 0 for v in entry.engagement.values())


@FUZZ
@given(feeds, content_types, st.sampled_from([None, 200, 404, 500]))
def test_the_parser_never_raises(body: bytes, content_type: str, status: int | None) -> None:
    parsed = parse_feed(body, now=NOW, headers={"Content-Type": content_type}, http_status=status,
                        base_url="https://rsshub.example/weibo/keyword/x")
    _check(parsed, NOW)


statuses = st.sampled_from([200, 200, 200, 204, 206, 301, 302, 304, 400, 401, 403, 404, 410, 429, 500, 502, 503, 999])
header_values = st.one_of(field_text, st.sampled_from(["gzip", "deflate", "br", "0", "-5", "Thu, 01 Jan 1970 00:00:00 GMT",
                                                       "max-age=999999999999", "no-cache", "http://127.0.0.1:1/x",
                                                       "/chain", "https://[::1]/", "ftp://x/"]))


@FUZZ_SLOW
@given(statuses, st.dictionaries(st.sampled_from(["Content-Encoding", "Retry-After", "Cache-Control", "Location", "ETag",
                                                  "Last-Modified", "Content-Type"]), header_values, max_size=5),
       feeds, st.booleans())
def test_the_fetcher_never_raises(status: int, headers: dict[str, str], body: bytes, compress: bool) -> None:
    if compress and headers.get("Content-Encoding") == "gzip":
        body = gzip.compress(body)
    clean = {k: v.encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")
             for k, v in headers.items()}
    with recording_server("127.0.0.1") as server:
        url = server.answer("/feed", status, body, **{k.replace("-", "_"): v for k, v in clean.items()})
        result = fetch_feed(url, allowed_networks=LOCAL, connect_timeout=2, read_timeout=2, deadline_s=5,
                            max_bytes=64 * 1024, etag=clean.get("ETag"), now=NOW)
    assert result.status in ("ok", "not_modified", "error")
    assert (result.error_code is not None) == (result.status == "error")
    if result.status == "ok":
        _check(parse_feed(result.body, now=NOW, headers=result.headers, http_status=result.http_status), NOW)


@FUZZ_SLOW
@given(st.lists(feeds, min_size=1, max_size=3))
def test_the_poller_stores_what_it_can_and_never_raises(app, bodies: list[bytes]) -> None:  # noqa: ANN001
    """The worker's poll over feeds that change into anything: outcomes, never an exception."""
    factory = app.extensions["db_sessionmaker"]
    settings = PollSettings(allowed_networks=tuple(LOCAL), fetch_threads=2, connect_timeout=2, read_timeout=2,
                            deadline_s=5)
    with running_feed_server() as server:
        url = server.set("/fuzz.xml", SEEDS[0])
        with factory() as session:
            source = sources.create_source(session, {"name": f"fuzz {next(_names)}", "url": url},
                                           allowed_networks=LOCAL, actor=Actor.system("fuzz"), now=NOW)
            source.next_poll_at = NOW
            session.commit()
            source_id = source.id
        at = NOW
        for body in bodies:
            server.set("/fuzz.xml", body)
            outcomes = poll_due(factory, now=at, settings=settings, only=[source_id])
            assert all(o.status in ("ok", "not_modified", "no_data", "error", "skipped") for o in outcomes)
            # The poller survives a bug by recording it; the fuzz wants no bug at all.
            assert not [o.error for o in outcomes if (o.error or "").startswith("internal error")]
            with factory() as session:
                at = session.get(MonitorSource, source_id).next_poll_at or at + timedelta(hours=2)
    with factory() as session:
        for mention in session.scalars(sa.select(Mention).where(Mention.source_id == source_id)):
            assert isinstance(mention.title, str) and isinstance(mention.text, str)
            assert "\x00" not in mention.title + mention.text
