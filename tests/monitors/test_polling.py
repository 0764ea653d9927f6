"""Polling real feeds from a server on 127.0.0.1 into stored mentions and raised incidents, on both databases."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import roster, team_channels
from incidents.actors import Actor
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Source, Status
from incidents.models import Deadline, EventKind, Incident, Notification, OutboxMessage, Role, TimelineEvent
from incidents.monitor_models import Mention, MentionState, MonitorSource
from incidents.netguard import parse_networks
from incidents.outreach_models import AffectedContact, ContactOrigin, Platform
from monitors import mentions, rulebook, sources
from monitors.polling import PollSettings, poll_due
from tests.conftest import FIXED_NOW
from tests.monitors.feedserver import POLLING_FIXTURES, FeedServer

ZONE = ZoneInfo("Asia/Shanghai")
LOCAL = PollSettings(allowed_networks=tuple(parse_networks(["127.0.0.1/32"])), zone=ZONE, fetch_threads=4)
T0 = FIXED_NOW  # 2026-11-22 02:00 UTC; the fixture posts are from the hour before
ADMIN = Actor(label="test admin")


@pytest.fixture()
def factory(app):  # noqa: ANN001, ANN201
    return app.extensions["db_sessionmaker"]


def add_rule(factory, **values) -> int:  # noqa: ANN001
    fields = {"name": "鲜果多", "brand": "鲜果多", "aliases": ["xianguoduo", "鲜果多水果"],
              "negative_terms": rulebook.DEFAULT_NEGATIVE_TERMS, "critical_terms": rulebook.DEFAULT_CRITICAL_TERMS,
              "severity": "P2", **values}
    with factory() as session:
        rule = rulebook.create_rule(session, fields, actor=ADMIN, now=T0 - timedelta(days=1))
        session.commit()
        return rule.id


def add_source(factory, url: str, name: str = "微博关键词 鲜果多", **values) -> int:  # noqa: ANN001
    with factory() as session:
        source = sources.create_source(session, {"name": name, "url": url, **values},
                                       allowed_networks=LOCAL.allowed_networks, actor=ADMIN, now=T0)
        source.next_poll_at = T0
        session.commit()
        return source.id


def poll(factory, at):  # noqa: ANN001, ANN201
    return {o.source_id: o for o in poll_due(factory, now=at, settings=LOCAL)}


def all_mentions(factory) -> list[Mention]:  # noqa: ANN001
    with factory() as session:
        return list(session.scalars(sa.select(Mention).order_by(Mention.id)))


def incidents_of(factory) -> list[Incident]:  # noqa: ANN001
    with factory() as session:
        return list(session.scalars(sa.select(Incident).order_by(Incident.id)))


def test_a_critical_post_raises_a_public_opinion_incident_with_its_one_hour_contact_deadline(
        factory, feed_server: FeedServer, make_user) -> None:  # noqa: ANN001
    duty = make_user(Role.DUTY_MANAGER, "onduty")
    make_user(Role.DUTY_MANAGER, "offduty")
    with factory() as session:
        roster.add_shift(session, user_id=duty.id, starts_at=T0 - timedelta(hours=4), ends_at=T0 + timedelta(hours=4),
                         actor=ADMIN, now=T0)
        team_channels.create_channel(session, name="舆情群", kind="webhook",
                                     config={"url": "https://hooks.example.cn/crisis"}, actor=ADMIN, now=T0)
        team_channels.create_channel(session, name="只收提醒", kind="webhook", escalations=False, reminders=True,
                                     config={"url": "https://hooks.example.cn/quiet"}, actor=ADMIN, now=T0)
        session.commit()
    add_rule(factory, severity="P1")
    source_id = add_source(factory, feed_server.set("/weibo", "weibo_v1.xml"))

    first = poll(factory, T0)[source_id]
    assert first.status == "ok" and first.new_mentions == 2 and first.raised == []
    assert incidents_of(factory) == []

    feed_server.set("/weibo", "weibo_v2.xml")  # the post appears
    second_at = T0 + timedelta(minutes=5)
    second = poll(factory, second_at)[source_id]
    assert second.new_mentions == 1 and len(second.raised) == 1

    with factory() as session:
        incident = session.scalar(sa.select(Incident))
        assert incident.kind == Kind.PUBLIC_OPINION and incident.source == Source.MONITOR
        assert incident.severity.value == "P1" and incident.status == Status.INVESTIGATING
        assert incident.title.startswith("鲜果多舆情：#鲜果多# 吃了他家的榴莲")
        assert "发帖人：榴莲受害者王女士（weibo）" in incident.summary
        assert "https://weibo.com/2000000003/Fr003" in incident.summary
        contact = session.scalar(sa.select(Deadline).where(Deadline.incident_id == incident.id,
                                                           Deadline.rule_key == "contact_poster"))
        assert contact.due_at == second_at + timedelta(hours=1)
        trigger = session.scalar(sa.select(Mention).where(Mention.incident_id == incident.id))
        assert trigger.state == MentionState.RAISED
        assert (trigger.author, trigger.platform) == ("榴莲受害者王女士", "weibo")
        assert trigger.matches[0]["critical_terms"] == ["12315", "媒体", "曝光"]
        kinds = [e.kind for e in session.scalars(sa.select(TimelineEvent).where(
            TimelineEvent.incident_id == incident.id).order_by(TimelineEvent.id))]
        assert kinds == [EventKind.OPENED, EventKind.MONITOR_RAISED, EventKind.MENTION_ATTACHED,
                         EventKind.CONTACTS_ADDED]
        # The poster is the first affected customer to reach (issue 6).
        poster = session.scalar(sa.select(AffectedContact).where(AffectedContact.incident_id == incident.id))
        assert (poster.name, poster.platform, poster.handle) == ("榴莲受害者王女士", Platform.WEIBO, "榴莲受害者王女士")
        assert poster.origin == ContactOrigin.MONITOR and poster.mention_id == trigger.id
        assert "https://weibo.com/2000000003/Fr003" in poster.notes and poster.reached_at is None
        bells = list(session.scalars(sa.select(Notification)))
        assert [(b.user_id, b.incident_id, b.kind) for b in bells] == [(duty.id, incident.id, "monitor_raised")]
        assert "reach the poster within 1 hour" in bells[0].title
        # The team channels that take escalations hear of it too, once (issue 3's channels).
        [queued] = session.scalars(sa.select(OutboxMessage)).all()
        assert (queued.event, queued.incident_id) == ("incident.monitor_raised", incident.id)
        assert queued.channel.name == "舆情群" and incident.reference in queued.message["text"]

    # The flare-up goes on: the next worrying post joins the same incident.
    feed_server.set("/weibo", "weibo_v3.xml")
    third = poll(factory, second_at + timedelta(minutes=5))[source_id]
    assert third.new_mentions == 1 and third.raised == [] and third.attached == 1
    assert len(incidents_of(factory)) == 1
    states = {m.title[:6]: (m.state, m.incident_id is not None) for m in all_mentions(factory)}
    assert states["转发：鲜果多"] == (MentionState.ATTACHED, True)
    assert states["鲜果多的芒果"] == (MentionState.NEW, False)  # neither negative nor critical: not attached


def test_entries_are_stored_once_and_dismissed_ones_never_return(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    add_rule(factory, instant=False)
    source_id = add_source(factory, feed_server.set("/weibo", "weibo_v3.xml"))
    assert poll(factory, T0)[source_id].new_mentions == 4
    stored = all_mentions(factory)
    with factory() as session:
        mentions.dismiss_mention(session, session.get(Mention, stored[0].id), actor=ADMIN, now=T0)
        session.commit()
    body = (POLLING_FIXTURES / "weibo_v3.xml").read_bytes()
    for minutes in (5, 10):  # the same posts again, in a document changed just enough to be parsed again
        feed_server.set("/weibo", body + f"<!-- {minutes} -->".encode())
        outcome = poll(factory, T0 + timedelta(minutes=minutes))[source_id]
        assert outcome.status == "ok" and outcome.new_mentions == 0
    feed_server.set("/weibo", body + b"<!-- 10 -->")
    assert poll(factory, T0 + timedelta(minutes=15))[source_id].status == "not_modified"  # same bytes: not parsed
    again = all_mentions(factory)
    assert [m.id for m in again] == [m.id for m in stored]
    assert again[0].state == MentionState.DISMISSED
    with factory() as session:
        source = session.get(MonitorSource, source_id)
        assert source.items_seen == 4 and source.last_entry_at == T0


def test_duplicate_guids_in_one_feed_make_one_mention(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    body = (POLLING_FIXTURES / "weibo_v1.xml").read_bytes()
    item = body[body.index(b"<item>"):body.index(b"</item>") + len(b"</item>")]
    source_id = add_source(factory, feed_server.set("/weibo", body.replace(b"</channel>", item + item + b"</channel>")))
    assert poll(factory, T0)[source_id].new_mentions == 2


def test_conditional_get_answers_not_modified_and_keeps_health(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    source_id = add_source(factory, feed_server.set("/weibo", "weibo_v1.xml", etag='"w1"'))
    assert poll(factory, T0)[source_id].status == "ok"
    later = T0 + timedelta(minutes=5)
    outcome = poll(factory, later)[source_id]
    assert outcome.status == "not_modified" and outcome.new_mentions == 0
    with factory() as session:
        source = session.get(MonitorSource, source_id)
        assert source.etag == '"w1"' and source.last_success_at == later and source.consecutive_failures == 0
        assert source.next_poll_at == later + timedelta(seconds=300)


def _install_crash_trigger(connection: sa.Connection) -> None:
    """A real database failure on one entry: the trigger refuses titles containing 崩溃测试."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(
            "CREATE FUNCTION crash_mid_poll() RETURNS trigger AS $$ BEGIN "
            "IF NEW.title LIKE '%崩溃测试%' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"))
        connection.execute(sa.text("CREATE TRIGGER crash_mid_poll BEFORE INSERT ON mention FOR EACH ROW "
                                   "EXECUTE FUNCTION crash_mid_poll()"))
    else:
        connection.execute(sa.text("CREATE TRIGGER crash_mid_poll BEFORE INSERT ON mention "
                                   "WHEN NEW.title LIKE '%崩溃测试%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))


def _drop_crash_trigger(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("DROP TRIGGER IF EXISTS crash_mid_poll ON mention"))
        connection.execute(sa.text("DROP FUNCTION IF EXISTS crash_mid_poll()"))
    else:
        connection.execute(sa.text("DROP TRIGGER IF EXISTS crash_mid_poll"))


def test_a_crash_mid_poll_loses_nothing_and_duplicates_nothing(factory, engine, feed_server: FeedServer) -> None:  # noqa: ANN001
    add_rule(factory)
    crashing = add_source(factory, feed_server.set("/weibo", "weibo_crash.xml"))
    healthy = add_source(factory, feed_server.set("/news", "atom_news.xml"), name="本地新闻")
    with engine.begin() as connection:
        _install_crash_trigger(connection)
    try:
        outcomes = poll(factory, T0)
    finally:
        with engine.begin() as connection:
            _drop_crash_trigger(connection)
    assert outcomes[crashing].status == "error" and "internal error" in outcomes[crashing].error
    assert outcomes[healthy].status == "ok" and outcomes[healthy].new_mentions == 2
    assert {m.source_id for m in all_mentions(factory)} == {healthy}  # the crashed poll stored nothing at all
    with factory() as session:
        source = session.get(MonitorSource, crashing)
        assert source.consecutive_failures == 1 and source.etag is None
        assert source.last_error.startswith("internal error while storing this poll")
    assert incidents_of(factory) == []

    retried = poll(factory, T0 + timedelta(minutes=15))[crashing]
    assert retried.status == "ok" and retried.new_mentions == 3 and len(retried.raised) == 1
    titles = [m.title for m in all_mentions(factory) if m.source_id == crashing]
    assert len(titles) == len(set(titles)) == 3


def test_a_feed_that_breaks_halfway_keeps_what_parsed_then_completes_without_duplicates(
        factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    source_id = add_source(factory, feed_server.set("/weibo", "weibo_truncated.xml"))
    first = poll(factory, T0)[source_id]
    assert first.status == "ok" and "not well-formed" in first.warning
    # The cut-off third post has neither guid nor link yet: its identity would change once
    # complete, so it waits for a well-formed copy instead of becoming a duplicate.
    assert first.new_mentions == 2 and "1 entry without a stable identity" in first.warning
    feed_server.set("/weibo", "weibo_v3.xml")
    assert poll(factory, T0 + timedelta(minutes=5))[source_id].new_mentions == 2
    keys = [m.key_hash for m in all_mentions(factory)]
    assert len(keys) == len(set(keys)) == 4


def test_a_download_cut_off_stores_nothing_and_counts_a_failure(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    body = (POLLING_FIXTURES / "weibo_v3.xml").read_bytes()
    feed_server.set("/weibo", body, break_after=len(body) // 2)
    source_id = add_source(factory, feed_server.base + "/weibo")
    outcome = poll(factory, T0)[source_id]
    assert outcome.status == "error" and "connection broke" in outcome.error
    assert all_mentions(factory) == []
    feed_server.set("/weibo", body)
    assert poll(factory, T0 + timedelta(minutes=15))[source_id].new_mentions == 4


def test_bad_sources_do_not_stop_the_good_one(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    good = add_source(factory, feed_server.set("/news", "atom_news.xml"), name="good")
    missing = add_source(factory, feed_server.base + "/nothing-here", name="missing")
    html = add_source(factory, feed_server.set("/page", b"<!doctype html><html><body>hi</body></html>",
                                               content_type="text/html"), name="html")
    bomb = add_source(factory, feed_server.set(
        "/bomb", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss>&b;</rss>'),
        name="bomb")
    garbage = add_source(factory, feed_server.set("/garbage", b"\x00\x01 not a feed at all"), name="garbage")
    outcomes = poll(factory, T0)
    assert outcomes[good].status == "ok" and outcomes[good].new_mentions == 2
    assert "HTTP 404" in outcomes[missing].error
    assert "HTML web page" in outcomes[html].error
    assert "entities" in outcomes[bomb].error
    assert outcomes[garbage].status == "error"
    with factory() as session:
        codes = {s: session.get(MonitorSource, s).last_error_code for s in (missing, html, bomb, garbage)}
        assert codes == {missing: "http_404", html: "broken_feed", bomb: "broken_feed", garbage: "broken_feed"}
        for source_id in (missing, html, bomb, garbage):
            source = session.get(MonitorSource, source_id)
            assert source.consecutive_failures == 1 and source.last_error_at == T0
            # Backoff: twice the interval (plus a spread of at most 10 %) before the next try.
            assert T0 + timedelta(seconds=600) <= source.next_poll_at <= T0 + timedelta(seconds=660)
            assert sources.health(source, T0).state == "failing"


def test_rsshub_empty_route_is_no_data_not_a_failure(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    page = b"<html><body><h1>Looks like something went wrong</h1><p>Error message: this route is empty</p></body></html>"
    source_id = add_source(factory, feed_server.set("/weibo", page, status=503, content_type="text/html"))
    outcome = poll(factory, T0)[source_id]
    assert outcome.status == "no_data" and "RSSHub" in outcome.warning
    with factory() as session:
        source = session.get(MonitorSource, source_id)
        assert source.consecutive_failures == 0 and source.last_success_at == T0
        assert "no content" in source.last_warning


def test_gbk_atom_and_traditional_feeds_are_read_and_matched(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    add_rule(factory, instant=True)
    gbk = add_source(factory, feed_server.set("/forum", "forum_gbk.xml", content_type="application/xml"),
                     name="论坛")
    atom = add_source(factory, feed_server.set("/news", "atom_news.xml", content_type="application/atom+xml"),
                      name="新闻")
    trad = add_source(factory, feed_server.set("/tw", "traditional.xml"), name="繁体社群")
    outcomes = poll(factory, T0)
    assert [outcomes[s].status for s in (gbk, atom, trad)] == ["ok", "ok", "ok"]
    by_source = {m.source_id: m for m in all_mentions(factory) if m.score > 0}
    assert by_source[gbk].title == "鲜果多会员卡退款难，有人一起吗"
    assert by_source[gbk].matches[0]["negative_terms"] == ["退款"]
    assert "包括鲜果多在内" in by_source[atom].text
    assert by_source[atom].author == "本报记者"
    # Traditional characters match the Simplified rule, and 媒體/律師 are critical: an incident.
    assert by_source[trad].matches[0]["critical_terms"] == ["媒体", "曝光", "律师"]
    assert by_source[trad].state == MentionState.RAISED and len(outcomes[trad].raised) == 1


@pytest.mark.parametrize("content_type", [
    "application/rss+xml; charset=gbk",  # a UTF-8 feed behind a server whose default label is GBK
    "text/xml; charset=gb2312",
    "text/xml",  # no charset: by RFC 3023 that says US-ASCII, so feedparser reports an override
])
def test_a_utf8_feed_with_a_wrong_encoding_label_is_stored_as_written(  # noqa: ANN001
        factory, feed_server: FeedServer, content_type: str) -> None:
    source_id = add_source(factory, feed_server.set("/mirror", "weibo_mislabelled.xml", content_type=content_type))
    first = poll(factory, T0)[source_id]
    # Neither post has a guid or a link, and the label is the feed's only fault: both are kept.
    assert (first.status, first.new_mentions, first.warning) == ("ok", 2, None)
    sour, kind = all_mentions(factory)
    assert sour.title == "鲜果多的荔枝到手一半发黑，客服让我等三天" and sour.author == "荔枝季的阿宁"
    assert sour.text == "鲜果多的荔枝到手一半发黑，客服让我等三天 [怒] 还要我自己拍开箱视频 [费解]"
    assert kind.text.endswith("还帮忙把箱子搬上楼 [赞]") and kind.link is None
    # The next build of the same posts stores nothing twice.
    body = (POLLING_FIXTURES / "weibo_mislabelled.xml").read_bytes().replace(b"01:55:00", b"02:04:00")
    feed_server.set("/mirror", body, content_type=content_type)
    again = poll(factory, T0 + timedelta(minutes=5))[source_id]
    assert (again.status, again.new_mentions) == ("ok", 0)
    with factory() as session:
        source = session.get(MonitorSource, source_id)
        assert source.items_seen == 2 and source.consecutive_failures == 0 and source.last_warning is None


def test_script_in_entries_is_stored_as_plain_text(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    source_id = add_source(factory, feed_server.set("/xss", "xss.xml"))
    assert poll(factory, T0)[source_id].new_mentions == 1
    (mention,) = all_mentions(factory)
    assert "<script" not in mention.text and "onclick" not in mention.text and "evil.invalid" not in mention.text
    assert mention.link is None  # javascript: links are dropped


def test_private_addresses_are_refused_unless_allowed(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    url = feed_server.set("/weibo", "weibo_v1.xml")
    with factory() as session:
        for address in (url, "http://10.0.0.7/rss", "http://[fe80::1]/rss", "http://169.254.169.254/latest"):
            with pytest.raises(InvalidInput) as refused:
                sources.create_source(session, {"name": "x", "url": address}, allowed_networks=(), actor=ADMIN, now=T0)
            assert refused.value.field == "url" and refused.value.reason == "private_url"
    source_id = add_source(factory, url)  # allowed: 127.0.0.1/32 is in LOCAL's networks
    strict = PollSettings(allowed_networks=(), zone=ZONE)
    outcome = {o.source_id: o for o in poll_due(factory, now=T0, settings=strict)}[source_id]
    assert outcome.status == "error" and "refused to connect" in outcome.error
    assert feed_server.hits.get("/weibo") is None  # never contacted


def test_volume_spike_raises_once_then_cools_down(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    rule_id = add_rule(factory, instant=False, volume_floor=3, volume_k=3, volume_history_windows=24,
                       volume_cooldown_minutes=360)
    items = "".join(
        f"<item><title>鲜果多 退款第{i}天还没到账</title><guid>refund-{i}</guid>"
        f"<pubDate>Sun, 22 Nov 2026 02:{10 + i:02d}:00 GMT</pubDate><author>用户{i}</author></item>"
        for i in range(4))
    feed = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    source_id = add_source(factory, feed_server.set("/weibo", feed.encode()))
    at = T0 + timedelta(minutes=30)  # 02:30 UTC: four negative mentions this hour, none before
    outcome = poll(factory, at)[source_id]
    assert outcome.new_mentions == 4 and len(outcome.raised) == 1
    with factory() as session:
        incident = session.scalar(sa.select(Incident))
        assert incident.title == "鲜果多负面声量激增：4 条 / 60 分钟"
        raised = session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.MONITOR_RAISED))
        assert raised.data["trigger"] == "volume" and raised.data["current"] == 4
        states = sorted(m.state.value for m in session.scalars(sa.select(Mention)))
        assert states == ["attached", "attached", "attached", "raised"]
        # The flare-up is over: resolved; a new burst inside the cool-down raises nothing.
        incident.status = Status.RESOLVED
        session.commit()
    more = "".join(f"<item><title>鲜果多 投诉 {i}</title><guid>late-{i}</guid></item>" for i in range(5))
    feed_server.set("/weibo", feed.replace("</channel>", more + "</channel>").encode())
    later = poll(factory, at + timedelta(minutes=10))[source_id]
    assert later.new_mentions == 5 and later.raised == [] and later.attached == 0
    with factory() as session:
        assert session.get(rulebook.MonitorRule, rule_id).last_raised_at == at
    assert len(incidents_of(factory)) == 1


def test_source_silent_longer_than_expected_is_flagged(factory, feed_server: FeedServer) -> None:  # noqa: ANN001
    source_id = add_source(factory, feed_server.set("/weibo", "weibo_v1.xml", etag='"s"'), expected_period_s=3600)
    poll(factory, T0)
    with factory() as session:
        source = session.get(MonitorSource, source_id)
        assert sources.health(source, T0 + timedelta(minutes=59)).state == "ok"
        late = sources.health(source, T0 + timedelta(minutes=61))
        assert late.state == "silent" and late.silent_for_s == 61 * 60
