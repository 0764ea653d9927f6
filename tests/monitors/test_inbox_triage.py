"""The inbox as a duty manager opens it: what a rule matched, the riskiest first, risk in words,
links to the incidents, and an empty inbox that says where mentions come from."""

from __future__ import annotations

import re

import sqlalchemy as sa

from incidents.models import Role
from incidents.monitor_models import Mention
from monitors import mentions
from monitors.polling import poll_due
from tests.conftest import FIXED_NOW, sign_in
from tests.monitors.feedserver import FeedServer
from tests.monitors.risky_feed import BY_RISK, LABELS_ZH, POSTS, risky_feed
from tests.monitors.test_polling import LOCAL, add_rule, add_source

LIST = {"HX-Request": "true", "HX-Target": "mention-list"}
ARTICLE = re.compile(r'<article id="mention-(\d+)" class="([^"]*)">(.*?)</article>', re.S)


def _watch(app, feed_server: FeedServer) -> dict[str, int]:  # noqa: ANN001
    """A rule that raises nothing by itself, the risky feed polled once; mention ids by title."""
    factory = app.extensions["db_sessionmaker"]
    add_rule(factory, instant=False, volume_enabled=False)
    add_source(factory, feed_server.set("/risky", risky_feed()))
    poll_due(factory, now=FIXED_NOW, settings=LOCAL)
    with factory() as session:
        return {m.title: m.id for m in session.scalars(sa.select(Mention))}


def _cards(html: str) -> list[tuple[int, str, str]]:
    return [(int(i), classes, body) for i, classes, body in ARTICLE.findall(html)]


def test_default_inbox_lists_matched_mentions_riskiest_first_with_the_risk_in_words(
        app, client, make_user, feed_server: FeedServer) -> None:  # noqa: ANN001
    ids = _watch(app, feed_server)
    sign_in(client, make_user(Role.DUTY_MANAGER, "lihua", locale="zh_Hans_CN"))
    cards = _cards(client.get("/monitors/mentions").text)
    assert [i for i, _, _ in cards] == [ids[title] for title in BY_RISK]  # the weather post matched nothing
    for mention_id, classes, body in cards:
        title = next(t for t, i in ids.items() if i == mention_id)
        label = re.search(r'<span class="score" title="风险分"><span class="risk">(\S+)</span> ([\d.]+)</span>', body)
        assert f"{label[1]} {label[2]}" == LABELS_ZH[title]
        assert ("critical" in classes.split()) == LABELS_ZH[title].startswith("严重")
    # Newest first and every post are a choice away; the polled list keeps the reader's choice.
    newest = _cards(client.get("/monitors/mentions?order=newest&matched=0", headers=LIST).text)
    assert [i for i, _, _ in newest] == sorted(ids.values(), reverse=True)
    assert len(newest) == len(POSTS)
    page = client.get("/monitors/mentions?order=newest&matched=0").text
    assert '<option value="newest" selected>' in page and '<option value="0" selected>' in page
    assert client.get("/monitors/mentions?order=loudest").status_code == 422


def test_risk_order_pages_on_without_repeating_or_skipping(app, feed_server: FeedServer) -> None:  # noqa: ANN001
    ids = _watch(app, feed_server)
    chosen = mentions.InboxFilter(order="risk", matched_only=True)
    with app.extensions["db_sessionmaker"]() as session:
        seen: list[int] = []
        while page := mentions.inbox(session, chosen, limit=2):
            seen += [m.id for m in page]
            chosen.before_id = page[-1].id
    assert seen == [ids[title] for title in BY_RISK]


def test_raised_and_attached_mentions_link_to_their_incident(app, signed_in, feed_server: FeedServer) -> None:  # noqa: ANN001
    ids = _watch(app, feed_server)
    raised = signed_in.post(f"/monitors/mentions/{ids[BY_RISK[0]]}/raise", data={"severity": "P1"})
    reference = raised.headers["Location"].rsplit("/", 1)[1]
    attached = signed_in.post(f"/monitors/mentions/{ids[BY_RISK[1]]}/attach", data={"incident": reference},
                              headers={"HX-Request": "true"})
    assert attached.status_code == 200 and f'href="/incidents/{reference}"' in attached.text
    cards = {i: body for i, _, body in _cards(signed_in.get("/monitors/mentions?state=all").text)}
    for title in BY_RISK[:2]:
        link = re.search(r'<p class="mention-incident">Handled in <a href="([^"]+)"><span class="ref">([^<]+)</span>',
                         cards[ids[title]])
        assert link and link[1] == f"/incidents/{reference}" and link[2] == reference
    assert "mention-incident" not in cards[ids[BY_RISK[2]]]
    # The new ones stay in the default view; the handled ones have left it.
    assert [i for i, _, _ in _cards(signed_in.get("/monitors/mentions").text)] == [ids[t] for t in BY_RISK[2:]]


def test_an_empty_inbox_without_sources_points_to_adding_one(app, client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.DUTY_MANAGER, "lihua", locale="zh_Hans_CN"))
    page = client.get("/monitors/mentions").text
    assert "还没有监控任何来源" in page
    assert re.search(r'<a class="button primary" href="/monitors/sources#add-source">添加订阅来源</a>', page)
    assert 'id="add-source"' in client.get("/monitors/sources").text
    viewer = app.test_client()
    sign_in(viewer, make_user(Role.VIEWER, "guest", locale="zh_Hans_CN"))
    seen = viewer.get("/monitors/mentions").text
    assert "还没有监控任何来源" in seen and "请管理员添加订阅来源" in seen and "#add-source" not in seen


def test_an_empty_inbox_with_sources_says_the_monitors_are_watching(app, signed_in, feed_server: FeedServer) -> None:  # noqa: ANN001
    add_source(app.extensions["db_sessionmaker"], feed_server.set("/quiet", risky_feed()))
    page = signed_in.get("/monitors/mentions", headers=LIST).text  # not polled yet: nothing stored
    assert "No mentions here. The monitors keep watching." in page and "add-source" not in page


def test_api_lists_the_riskiest_first_on_request_with_the_level(app, client, make_token,
                                                               feed_server: FeedServer) -> None:  # noqa: ANN001
    ids = _watch(app, feed_server)
    headers = make_token(Role.VIEWER)
    newest = client.get("/api/v1/mentions", headers=headers).json["mentions"]
    assert [m["id"] for m in newest] == sorted(ids.values(), reverse=True)  # unchanged default for scripts
    risky = client.get("/api/v1/mentions?order=risk&matched=1", headers=headers).json["mentions"]
    assert [m["id"] for m in risky] == [ids[title] for title in BY_RISK]
    assert [m["risk"] for m in risky] == ["critical", "critical", "high", "medium", "low"]
    bad = client.get("/api/v1/mentions?order=loudest", headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "order"


def test_risk_levels_follow_critical_terms_then_the_score() -> None:
    def level(score: float, critical: bool = False) -> str:
        return mentions.risk_level(Mention(score=score, matches=[{"critical": critical}])).value

    assert level(0.5, critical=True) == "critical"
    assert [level(s) for s in (3.0, 2.9, 1.0, 0.9, 0.0)] == ["high", "medium", "medium", "low", "low"]

