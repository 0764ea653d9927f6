"""parse_feed on fixture feeds written for this project (no real posts)."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime

import pytest

from monitors.feeds import parse_feed
from monitors.textutil import hashtags, html_to_text
from tests.monitors.conftest import NOW, fixture_bytes


def parse(name: str, **kwargs: object):
    return parse_feed(fixture_bytes(name), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_rsshub_weibo_keyword_feed() -> None:
    feed = parse("weibo_keyword_rsshub.xml")
    assert not feed.broken and not feed.no_data and feed.warning is None
    assert feed.version == "rss20" and feed.ttl == 5
    assert feed.title == "又是一个关于 某品牌 的微博关键词搜索"
    assert len(feed.entries) == 2  # the duplicate guid is dropped, first one kept
    first, second = feed.entries
    assert first.key == "https://weibo.com/1000000001/Abc001"
    assert first.author == "测试用户甲"
    assert first.published == datetime(2026, 11, 22, 12, 20, tzinfo=UTC)
    assert not first.future_date_clamped
    assert first.link == "https://weibo.com/1000000001/Abc001"
    assert first.text == "#某品牌客服# 等了三天没人回，退款到现在还没到账 [怒] 准备打12315了 #维权"
    assert first.categories == ["某品牌", "某品牌客服", "维权"]
    assert second.title == "某品牌新品发布会今天下午两点开始"
    assert "新品发布" in second.categories


def test_atom10() -> None:
    feed = parse("atom10.xml")
    assert feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.key == "tag:example.invalid,2026:post-1"
    assert entry.title == "客服回复太慢 & 态度差"
    assert entry.text == "第一段 第二段 #售后"
    assert entry.published == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # +08:00 converted to UTC
    assert entry.author == "论坛用户丙"
    assert entry.categories == ["投诉", "售后"]
    assert entry.engagement == {"replies": 17}


def test_rss10_rdf() -> None:
    feed = parse("rss10.rdf")
    assert feed.version == "rss10"
    (entry,) = feed.entries
    assert entry.author == "测试记者"
    assert entry.published == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert entry.key == "https://news.example.invalid/a/1"


def test_rss091_with_doctype_is_not_refused() -> None:
    feed = parse("rss091.xml")
    assert feed.version.startswith("rss091")
    assert feed.entries[0].title == "某品牌门店排长队"
    assert feed.entries[0].published is None


@pytest.mark.parametrize(
    "name,title",
    [
        ("gbk_declared_gb2312.xml", "某品牌客服电话打不通，喆哥说要找媒体曝光"),  # GBK-only 喆 despite "gb2312"
        ("gb18030.xml", "某品牌客服电话打不通，喆哥说要找媒体曝光"),
        ("big5.xml", "某品牌客服態度極差，準備向消費者委員會投訴"),
        ("traditional_post.xml", "某品牌客服態度極差"),
        ("utf8_no_decl.xml", "某品牌客服態度極差"),
        ("utf8_bom.xml", "某品牌客服態度極差"),
    ],
)
def test_chinese_encodings(name: str, title: str) -> None:
    feed = parse(name)
    assert not feed.broken
    assert feed.entries[0].title == title
    assert feed.warning is None


def test_gbk_body_text_and_feed_title() -> None:
    feed = parse("gbk_declared_gb2312.xml")
    assert feed.title == "国标编码频道"
    assert feed.entries[0].text == "王堃：退款一周未到账"
    assert parse("gb18030.xml").title == "国标编码频道𠀀"  # 4-byte GB18030 sequence


def test_http_charset_overrides_declaration() -> None:
    body = fixture_bytes("gbk_declared_gb2312.xml").replace(b'encoding="gb2312"', b'encoding="utf-8"')
    feed = parse_feed(body, now=NOW, headers={"Content-Type": "application/xml; charset=GBK"})
    assert feed.entries[0].title.startswith("某品牌客服")


@pytest.mark.parametrize("label", ["GBK", "gb2312", "big5"])
def test_utf8_under_a_wrong_chinese_label_is_read_as_utf8(label: str) -> None:
    body = fixture_bytes("utf8_no_decl.xml")
    feed = parse_feed(body, now=NOW, headers={"Content-Type": f"application/rss+xml; charset={label}"})
    assert feed.entries[0].title == "某品牌客服態度極差"
    assert feed.warning is None and feed.well_formed


def test_a_wrong_label_alone_leaves_the_feed_well_formed() -> None:
    feed = parse_feed(fixture_bytes("utf8_no_decl.xml"), now=NOW, headers={"Content-Type": "text/xml"})
    assert feed.well_formed and feed.warning is None and feed.entries[0].title == "某品牌客服態度極差"
    assert not parse("truncated.xml").well_formed


def test_weibo_emoticons_keep_their_text_quoted_or_not() -> None:
    item = ('<rss version="2.0"><channel><title>t</title><item><title>x</title><description><![CDATA['
            '等了三天<span class="url-icon"><img alt=[怒] src="https://face.example.invalid/nu.png" '
            'style="width:1em; height:1em;" /></span>再等<img alt="[吃瓜]" src="https://face.example.invalid/g.png">'
            ']]></description></item></channel></rss>')
    (entry,) = parse_feed(item.encode(), now=NOW).entries
    assert entry.text == "等了三天 [怒] 再等 [吃瓜]"


def test_script_and_event_handlers_dropped() -> None:
    (entry,) = parse("script_injection.xml").entries
    assert entry.text == "正常文字 <不是标签> &copy; 结束"
    for bad in ("script", "cookie", "onerror", "alert", "display:none", "steal"):
        assert bad not in entry.text
    assert entry.link is None  # javascript: link rejected


def test_entries_without_dates_or_ids() -> None:
    feed = parse("no_dates.xml")
    keys = [e.key for e in feed.entries]
    assert all(e.published is None for e in feed.entries)
    assert all(k.startswith("sha256:") for k in keys) and len(set(keys)) == 2
    assert keys == [e.key for e in parse("no_dates.xml").entries]  # stable across runs


def test_future_dates_clamped_beyond_tolerance() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    far, near = parse_feed(fixture_bytes("future_dates.xml"), now=now).entries
    assert far.published == now and far.future_date_clamped
    assert near.published == datetime(2026, 11, 22, 12, 3, tzinfo=UTC) and not near.future_date_clamped


def test_truncated_feed_gives_entries_with_warning() -> None:
    feed = parse("truncated.xml")
    assert not feed.broken
    assert len(feed.entries) == 1
    assert feed.warning and "not well-formed" in feed.warning


def test_billion_laughs_refused_fast_and_small() -> None:
    tracemalloc.start()
    started = time.monotonic()
    feed = parse("billion_laughs.xml")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert feed.broken and "entities" in feed.reason
    assert elapsed < 0.5 and peak < 5 * 1024 * 1024


def test_utf16_entity_declaration_refused() -> None:
    body = fixture_bytes("billion_laughs.xml").decode().replace("<?xml version=\"1.0\"?>", "").encode("utf-16")
    assert parse_feed(body, now=NOW).broken


def test_html_page_is_broken() -> None:
    feed = parse("html_page.html", headers={"Content-Type": "text/html; charset=utf-8"})
    assert feed.broken and not feed.no_data
    assert "HTML web page" in feed.reason
    assert parse("html_page.html").broken  # recognised without the header too


@pytest.mark.parametrize("status", [503, 404, None])
def test_rsshub_empty_route_is_no_data(status: int | None) -> None:
    feed = parse("rsshub_empty.html", http_status=status, headers={"Content-Type": "text/html"})
    assert feed.no_data and not feed.broken
    assert "RSSHub" in feed.reason


def test_rsshub_empty_route_json_error_is_no_data() -> None:
    body = b'{"error":{"message":"this route is empty, please check the original site"}}'
    assert parse_feed(body, now=NOW, http_status=503).no_data


def test_feed_quoting_rsshub_message_is_not_no_data() -> None:
    body = fixture_bytes("no_dates.xml").replace("内容一".encode(), b"Error: this route is empty")
    feed = parse_feed(body, now=NOW)
    assert not feed.no_data and len(feed.entries) == 2


def test_empty_channel_is_no_data() -> None:
    feed = parse("empty_channel.xml")
    assert feed.no_data and not feed.broken and feed.ttl == 10 and feed.title == "空频道"


def test_other_http_error_page_is_broken() -> None:
    feed = parse("html_page.html", http_status=500)
    assert feed.broken and "HTTP 500" in feed.reason


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\xff\xfe garbage \x89PNG", b"{\"not\": \"a feed\"}"])
def test_garbage_is_broken_not_an_exception(body: bytes) -> None:
    feed = parse_feed(body, now=NOW)
    assert feed.broken and feed.reason


def test_naive_now_rejected() -> None:
    with pytest.raises(ValueError):
        parse_feed(b"<rss/>", now=datetime(2026, 1, 1))


def test_slash_comments_and_relative_links() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
    <channel><title>t</title><item><title>x</title><link>/p/1</link><slash:comments>42</slash:comments></item></channel></rss>"""
    (entry,) = parse_feed(body, now=NOW, base_url="https://forum.example.invalid/feed").entries
    assert entry.engagement == {"comments": 42}
    assert entry.link == "https://forum.example.invalid/p/1"


def test_html_to_text_and_hashtags() -> None:
    assert html_to_text("<div>a<br>b</div><noscript>x</noscript>&nbsp;c&#x4e2d;") == "a b c中"
    assert html_to_text("<script>unclosed") == ""
    assert hashtags("#话题一# 文 #tag-1 http://a.invalid/#frag &#12; #话题一#") == ["话题一", "tag-1"]
