"""The monitors' pages and API through the app: forms with errors at the field, the inbox, the incident panel."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from incidents.models import AuditRecord, Incident, Role, TimelineEvent
from incidents.monitor_models import Mention, MentionState, MonitorRule, MonitorSource
from monitors.polling import poll_due
from tests.conftest import sign_in
from tests.monitors.feedserver import FeedServer
from tests.monitors.test_polling import LOCAL, T0, add_rule, add_source

HTMX = {"HX-Request": "true"}


def _poll(app, at=T0):  # noqa: ANN001, ANN202
    return poll_due(app.extensions["db_sessionmaker"], now=at, settings=LOCAL)


def _app_allows_local(app) -> None:  # noqa: ANN001
    app.config["ALLOWED_NETWORKS"] = ["127.0.0.1/32"]


def test_add_a_source_with_errors_at_the_field_then_see_its_health(app, signed_in, feed_server: FeedServer) -> None:  # noqa: ANN001
    page = signed_in.get("/monitors/sources")
    assert page.status_code == 200 and "No sources yet" in page.text

    refused = signed_in.post("/monitors/sources", data={"name": "内网", "url": "http://10.1.2.3/rss", "interval_s": "60"},
                             headers=HTMX)
    assert refused.status_code == 422
    assert 'id="source-form"' in refused.text and "inside a private network" in refused.text
    assert 'value="内网"' in refused.text  # what was typed stays
    too_fast = signed_in.post("/monitors/sources", data={"name": "快", "url": "http://feeds.example.invalid/a",
                                                         "interval_s": "5"}, headers=HTMX)
    assert too_fast.status_code == 422 and "from 30 to 86400" in too_fast.text
    bad_header = signed_in.post("/monitors/sources", data={"name": "坏", "url": "http://feeds.example.invalid/a",
                                                           "headers": "Cookie SUB=1"}, headers=HTMX)
    assert bad_header.status_code == 422 and "Name: value" in bad_header.text
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(sa.func.count(MonitorSource.id))) == 0

    _app_allows_local(app)
    url = feed_server.set("/weibo", "weibo_v1.xml")
    created = signed_in.post("/monitors/sources", data={
        "name": "微博关键词", "url": url, "interval_s": "60", "tags": "微博，品牌", "headers": "Cookie: SUB=secret-value",
        "enabled": ["0", "1"]})
    assert created.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        source = session.scalar(sa.select(MonitorSource))
        assert (source.interval_s, source.tags, source.headers) == (60, ["微博", "品牌"], {"Cookie": "SUB=secret-value"})
        assert session.scalar(sa.select(AuditRecord.action).where(AuditRecord.target_type == "monitor_source")) \
            == "monitor.source_added"
        source.next_poll_at = T0
        session.commit()
        source_id = source.id

    edit = signed_in.get(f"/monitors/sources/{source_id}")
    assert "secret-value" not in edit.text and "Cookie: ••••••" in edit.text
    # Saving the form as shown keeps the hidden cookie.
    saved = signed_in.post(f"/monitors/sources/{source_id}", data={
        "name": "微博关键词", "url": url, "interval_s": "120", "headers": "Cookie: ••••••", "tags": "", "enabled": "0"})
    assert saved.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        source = session.get(MonitorSource, source_id)
        assert source.headers == {"Cookie": "SUB=secret-value"} and source.interval_s == 120 and not source.enabled
        source.enabled = True
        session.commit()

    _poll(app)
    table = signed_in.get("/monitors/sources", headers={**HTMX, "HX-Target": "source-list"})
    assert table.text.startswith('<section id="source-list"')
    assert "Working" in table.text and ">2<" in table.text
    again = signed_in.get("/monitors/sources", headers={**HTMX, "HX-Target": "source-list",
                                                        "If-None-Match": table.headers["ETag"]})
    assert again.status_code in (200, 304)  # 304 unless the minute turned meanwhile

    poll_now = signed_in.post(f"/monitors/sources/{source_id}/poll", headers=HTMX)
    assert poll_now.status_code == 200 and 'id="source-list"' in poll_now.text
    gone = signed_in.post(f"/monitors/sources/{source_id}/delete")
    assert gone.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        assert session.get(MonitorSource, source_id) is None
        assert {(m.source_id, m.source_name) for m in session.scalars(sa.select(Mention))} == {(None, "微博关键词")}


def test_failing_source_shows_its_reason(app, signed_in, feed_server: FeedServer) -> None:  # noqa: ANN001
    factory = app.extensions["db_sessionmaker"]
    add_source(factory, feed_server.base + "/gone", name="已删除的订阅")
    _poll(app)
    page = signed_in.get("/monitors/sources")
    assert "Failing" in page.text and "HTTP 404: the feed was not found; check the URL" in page.text
    assert "Failures in a row: 1" in page.text
    assert '<span class="reason">Not found: check the URL</span>' in page.text


def test_rules_form_validates_at_the_field_and_saves(app, signed_in) -> None:  # noqa: ANN001
    form = signed_in.get("/monitors/rules")
    assert "黑猫投诉: 3" in form.text  # pre-filled negative terms with weights
    bad = signed_in.post("/monitors/rules", headers=HTMX, data={
        "name": "鲜果多", "brand": "鲜果多", "negative_terms": "退款: 很多", "severity": "P2"})
    assert bad.status_code == 422 and 'id="rule-form"' in bad.text
    assert "A weight must be a number above 0" in bad.text and "退款: 很多" in bad.text
    bad_k = signed_in.post("/monitors/rules", headers=HTMX, data={"name": "x", "brand": "x", "volume_k": "0"})
    assert bad_k.status_code == 422 and "from 0.5 to 10" in bad_k.text
    invisible = signed_in.post("/monitors/rules", headers=HTMX, data={"name": "y", "brand": "\u200b"})
    assert invisible.status_code == 422
    created = signed_in.post("/monitors/rules", data={
        "name": "鲜果多", "brand": "鲜果多", "aliases": "xianguoduo\n鮮果多", "negative_terms": "退款: 2\n差评",
        "critical_terms": "12315，曝光", "exclusions": "鲜果多多", "severity": "P1", "enabled": ["0", "1"],
        "instant": ["0", "1"], "volume_enabled": "0", "volume_window_minutes": "30", "volume_k": "2.5",
        "volume_floor": "8", "volume_history_windows": "96", "volume_cooldown_minutes": "120"})
    assert created.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        rule = session.scalar(sa.select(MonitorRule))
        assert rule.aliases == ["xianguoduo", "鮮果多"] and rule.negative_terms == {"退款": 2.0, "差评": 1.0}
        assert rule.critical_terms == ["12315", "曝光"] and rule.exclusions == ["鲜果多多"]
        assert (rule.instant, rule.volume_enabled, rule.volume_window_minutes, rule.volume_k) == (True, False, 30, 2.5)
    taken = signed_in.post("/monitors/rules", headers=HTMX, data={"name": "鲜果多", "brand": "别的"})
    assert taken.status_code == 422 and "already used" in taken.text
    edit = signed_in.post(f"/monitors/rules/{rule.id}", headers=HTMX, data={"name": "鲜果多", "brand": "鲜果多",
                                                                             "volume_window_minutes": "7"})
    assert edit.status_code == 422 and "Choose one of" in edit.text
    assert signed_in.post(f"/monitors/rules/{rule.id}/delete").status_code == 303


def test_inbox_filters_dismisses_attaches_and_raises(app, signed_in, feed_server: FeedServer, make_user) -> None:  # noqa: ANN001
    factory = app.extensions["db_sessionmaker"]
    add_rule(factory, instant=False, volume_enabled=False)
    weibo = add_source(factory, feed_server.set("/weibo", "weibo_v3.xml"))
    news = add_source(factory, feed_server.set("/news", "atom_news.xml"), name="本地新闻")
    _poll(app)
    page = signed_in.get("/monitors/mentions")
    assert page.text.count('class="mention ') == 5  # by default only what a rule matched
    assert signed_in.get("/monitors/mentions?matched=0").text.count('class="mention ') == 6
    assert 'rel="noopener noreferrer"' in page.text and 'target="_blank"' in page.text
    only_news = signed_in.get(f"/monitors/mentions?source={news}&matched=0",
                              headers={**HTMX, "HX-Target": "mention-list"})
    assert only_news.text.startswith('<section id="mention-list"') and only_news.text.count('class="mention ') == 2
    hot = signed_in.get("/monitors/mentions?min_score=5&matched=1")
    assert hot.text.count('class="mention ') == 1 and "12315" in hot.text
    bad = signed_in.get("/monitors/mentions?state=unknown")
    assert bad.status_code == 422 and "Choose one of" in bad.text

    with factory() as session:
        by_title = {m.title[:5]: m.id for m in session.scalars(sa.select(Mention).where(Mention.source_id == weibo))}
    mango, cherries, durian = by_title["鲜果多的芒"], by_title["鲜果多送来"], by_title["#鲜果多#"]
    dismissed = signed_in.post(f"/monitors/mentions/{mango}/dismiss", headers=HTMX)
    assert dismissed.status_code == 200 and f'id="mention-{mango}"' in dismissed.text and "Dismissed" in dismissed.text
    twice = signed_in.post(f"/monitors/mentions/{mango}/dismiss", headers=HTMX)
    assert twice.status_code == 422 and "Only a new mention" in twice.text

    raised = signed_in.post(f"/monitors/mentions/{durian}/raise", data={"severity": "P1"}, headers=HTMX)
    assert raised.status_code == 204
    reference = raised.headers["HX-Redirect"].rsplit("/", 1)[1]
    nowhere = signed_in.post(f"/monitors/mentions/{cherries}/attach", data={"incident": "INC-20000101-0001"},
                             headers=HTMX)
    assert nowhere.status_code == 422 and "There is no incident INC-20000101-0001" in nowhere.text
    attached = signed_in.post(f"/monitors/mentions/{cherries}/attach", data={"incident": reference.lower()},
                              headers=HTMX)
    assert attached.status_code == 200 and reference in attached.text
    with factory() as session:
        incident = session.scalar(sa.select(Incident).where(Incident.reference == reference))
        assert incident.kind.value == "public_opinion" and incident.severity.value == "P1"
        assert incident.source.value == "manual"
        states = {m.id: (m.state, m.incident_id) for m in session.scalars(sa.select(Mention))}
        assert states[durian] == (MentionState.RAISED, incident.id)
        assert states[cherries] == (MentionState.ATTACHED, incident.id)
        attach_events = session.scalars(sa.select(TimelineEvent).where(
            TimelineEvent.incident_id == incident.id, TimelineEvent.kind == "mention_attached")).all()
        assert [e.actor_label for e in attach_events] == ["Duty", "Duty"]

    viewer = make_user(Role.VIEWER, "viewer")
    other = app.test_client()
    sign_in(other, viewer)
    assert ">Dismiss</button>" not in other.get("/monitors/mentions").text
    assert other.post(f"/monitors/mentions/{cherries}/dismiss").status_code == 403


def test_incident_page_lists_mentions_and_their_count_over_time_escaped(app, signed_in, feed_server: FeedServer) -> None:  # noqa: ANN001
    factory = app.extensions["db_sessionmaker"]
    add_rule(factory, critical_terms=["投诉"])
    add_source(factory, feed_server.set("/xss", "xss.xml"))
    _poll(app)
    with factory() as session:
        incident = session.scalar(sa.select(Incident))
        mention = session.scalar(sa.select(Mention))
    page = signed_in.get(f"/incidents/{incident.reference}")
    assert page.status_code == 200 and 'id="incident-mentions"' in page.text
    panel = page.text[page.text.index('id="incident-mentions"'):page.text.index("</section>",
                                                                               page.text.index('id="incident-mentions"'))]
    assert "&lt;img src=x onerror=alert(2)&gt;" in panel  # the poster's name, escaped
    assert "<span>鲜果多退款</span>" in panel  # the title's script element dropped, its text kept
    assert "<script" not in panel and "<img" not in panel and "javascript:" not in panel
    assert len(re.findall(r"<rect ", panel)) >= 6  # one bar per hour (the counts: test_mentions.py)
    inbox = signed_in.get("/monitors/mentions?state=all")
    assert "<script>alert" not in inbox.text and "onerror=alert(2)>" not in inbox.text
    fragment = signed_in.get(f"/monitors/incidents/{incident.reference}/mentions")
    assert fragment.text.lstrip().startswith('<section id="incident-mentions"')
    cached = signed_in.get(f"/monitors/incidents/{incident.reference}/mentions",
                           headers={"If-None-Match": fragment.headers["ETag"]})
    assert cached.status_code in (200, 304)
    assert mention.state == MentionState.RAISED


def test_api_covers_sources_rules_and_mentions(app, client, make_token, feed_server: FeedServer) -> None:  # noqa: ANN001
    headers = make_token(Role.DUTY_MANAGER)
    _app_allows_local(app)
    url = feed_server.set("/weibo", "weibo_v2.xml")
    created = client.post("/api/v1/sources", headers=headers, json={"name": "微博", "url": url, "interval_s": 60,
                                                                    "headers": {"Cookie": "s=1"}})
    assert created.status_code == 201 and created.json["headers"] == {"Cookie": "••••••"}
    source_id = created.json["id"]
    refused = client.post("/api/v1/sources", headers=headers, json={"name": "x", "url": url, "bogus": 1}).json["error"]
    assert refused.pop("accepted")[:2] == ["enabled", "expected_period_s"]  # what the route does accept
    assert refused == {"code": "bad_request", "message": "unknown field 'bogus'", "field": "bogus"}
    invalid = client.post("/api/v1/sources", headers=headers, json={"name": "y", "url": "ftp://x/y"})
    assert invalid.status_code == 422 and invalid.json["error"]["field"] == "url"
    patched = client.patch(f"/api/v1/sources/{source_id}", headers=headers, json={"interval_s": 30, "tags": ["a"]})
    assert patched.status_code == 200 and patched.json["interval_s"] == 30

    rule = client.post("/api/v1/rules", headers=headers, json={
        "name": "鲜果多", "brand": "鲜果多", "negative_terms": {"退款": 1, "维权": 2}, "critical_terms": ["12315"],
        "severity": "P2"})
    assert rule.status_code == 201 and rule.json["negative_terms"] == {"退款": 1.0, "维权": 2.0}
    bad_rule = client.post("/api/v1/rules", headers=headers, json={"name": "z", "brand": "z",
                                                                   "negative_terms": {"退款": "lots"}})
    assert bad_rule.status_code == 422 and bad_rule.json["error"]["field"] == "negative_terms"

    assert client.post(f"/api/v1/sources/{source_id}/poll", headers=headers).status_code == 202
    with app.extensions["db_sessionmaker"]() as session:
        session.get(MonitorSource, source_id).next_poll_at = T0
        session.commit()
    _poll(app, T0 + timedelta(seconds=1))
    listed = client.get("/api/v1/mentions?state=all&matched=1", headers=headers).json["mentions"]
    assert len(listed) == 3
    raised = next(m for m in listed if m["state"] == "raised")
    assert raised["author"] == "榴莲受害者王女士" and raised["platform"] == "weibo" and raised["incident"]
    incident_mentions = client.get(f"/api/v1/incidents/{raised['incident']}/mentions", headers=headers).json
    # Posts are handled oldest first: the earlier negative post came before any incident existed.
    assert [m["state"] for m in incident_mentions["mentions"]] == ["raised"]
    other = next(m for m in listed if m["state"] == "new")
    attached = client.post(f"/api/v1/mentions/{other['id']}/attach", headers=headers,
                           json={"incident": raised["incident"]})
    assert attached.status_code == 200 and attached.json["state"] == "attached"
    again = client.post(f"/api/v1/mentions/{other['id']}/raise", headers=headers, json={"severity": "P3"})
    assert again.status_code == 422 and again.json["error"]["field"] == "state"
    health = client.get(f"/api/v1/sources/{source_id}", headers=headers).json["health"]
    assert health["state"] == "ok" and health["items_seen"] == 3 and health["consecutive_failures"] == 0
    assert client.delete(f"/api/v1/rules/{rule.json['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/sources/{source_id}", headers=headers).status_code == 204
    viewer = make_token(Role.VIEWER)
    assert client.post("/api/v1/sources", headers=viewer, json={}).status_code == 403
