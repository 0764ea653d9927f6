"""A Chinese reader sees no English: every console page, public page and export after a full crisis.

The crisis is seeded in Chinese (an outage with updates, escalations and a holding statement;
an incident raised by Alertmanager's alerts; a complaint with its six-step case, affected customers, outreach and
compensation, and a completed review; a public-opinion incident from a mention; the admin
pages' components, subscribers, maintenance, channels and rules). Then every
GET route of the console is rendered for a Chinese-speaking admin and its visible text (and the
title/placeholder/aria-label/alt attributes) is searched for English words outside an allowlist.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import accounts, escalation, holding, maintenance, service
from incidents.actors import Actor
from incidents.models import Incident, Role
from incidents.monitor_models import MonitorSource
from incidents.updates import publish_update, set_public_identity
from monitors.feeds import FeedEntry
from monitors.mentions import raise_from_mention, store_entries
from monitors.rules import RuleMatcher
from tests.conftest import FIXED_NOW, PASSWORD, sign_in
from tests.test_alert_hooks import alert, payload

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = FIXED_NOW
CHIEF = Actor(label="王值班")

# Words a Chinese page may show as they are: product and protocol names, units, codes, and the
# language switcher's "English" (a language is named in its own words).
ALLOWED = {
    "weibo", "douyin", "xiaohongshu", "tieba", "alertmanager", "grafana", "prometheus", "api", "csv", "url", "urls",
    "smtp", "http", "https", "json", "atom", "rss", "id", "inc", "webhook", "markdown", "md", "p1", "p2", "p3", "p4",
    "min", "ms", "utc", "gmt", "cst", "ip", "ok", "html", "sms", "wecom", "dingtalk", "feishu", "excel", "wps",
    "crisis", "email", "e-mail", "xml", "https", "hmac", "sha256", "www", "com", "cn", "example", "org", "qq",
    "opencc", "rsshub", "cookie", "sub", "bearer", "app", "english", "host", "openid", "connect",
    # The single sign-on form's example claim and value: what an admin types as the provider names them.
    "groups", "crisis-duty",
}
# Text people typed into the seed that is English on purpose (an alert's service label).
# tests.conftest's make_user and make_token act as Actor.system("test") and name tokens token1, token2…
SEEDED = {"payments", "console", "crs", "token", "test", "chief", "li"}  # and the people's user names
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
NOT_WORDS = re.compile(r"(?m)"
    r"https?://\S+|[\w.+-]+@[\w.-]+|INC-\d+-\d+|\{[a-z_]+\}|%\([a-z_]+\)s|\b[A-Z]{2,}-\d+\b|#[0-9a-fA-F]{3,32}\b"
    r"|\b\d+[a-z]{1,2}\b|\b[A-Z][a-z]+/[A-Z][a-z_]+\b|JSON Lines|HMAC-SHA256|X-Crisis-Signature|\bPOST\b"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b|\bzh-cn\b"
    r"|^incident\.$"  # the audit page's action filter shows the codes' prefix people type
    r"|\?\w+=|\b\w+=\w+\b|“[a-z_]+”")  # what people type literally: ?token=, name=value, the “severity” label
CHECKED_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class VisibleText(HTMLParser):
    """What a reader sees: text outside scripts, styles and <code>, and the attributes read aloud."""

    # Code, and what people typed into a form (a textarea's text is theirs, not the console's).
    HIDDEN = {"script", "style", "code", "kbd", "pre", "template", "svg", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden: list[str] = []  # open elements whose text is not checked

    @property
    def hidden_depth(self) -> int:
        return len(self.hidden)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # Text marked English on purpose (the English version of a public text) is for English readers.
        if tag not in self.VOID and (tag in self.HIDDEN or (values.get("lang") or "").startswith("en")):
            self.hidden.append(tag)
            return
        if self.hidden:
            return
        for name in CHECKED_ATTRIBUTES:
            if values.get(name):
                self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if self.hidden and self.hidden[-1] == tag:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(part.strip() for part in parser.parts if part.strip())


def english_words(text: str) -> set[str]:
    text = NOT_WORDS.sub(" ", text)
    return {word for word in WORD.findall(text)
            if word.lower() not in ALLOWED and word.lower() not in SEEDED and not (len(word) == 1)}


# --- the crisis --------------------------------------------------------------------------------

def _person(session, role: Role, username: str, name: str, locale: str = "zh_Hans_CN"):  # noqa: ANN001, ANN202
    return accounts.create_user(session, username=username, password=PASSWORD, role=role.value, display_name=name,
                                locale=locale, actor=CHIEF, now=T0)


def _seed_outage(session) -> Incident:  # noqa: ANN001
    """An outage whose update falls overdue: escalated, held by the console's statement, escalated again."""
    incident = service.open_incident(session, kind="outage", severity="P1", title="订单库主从延迟", actor=CHIEF,
                                     now=T0, zone=SHANGHAI, summary="部分用户下单后看不到订单")
    set_public_identity(session, incident=incident, public_title="部分用户下单失败", actor=CHIEF, now=T0)
    publish_update(session, incident=incident, body="我们正在排查下单失败的原因", actor=CHIEF,
                   now=T0 + timedelta(minutes=1), zone=SHANGHAI)
    escalation.fire_due(session, now=T0 + timedelta(minutes=11), zone=SHANGHAI)
    holding.publish_holding_statements(session, now=T0 + timedelta(minutes=13), zone=SHANGHAI)
    escalation.fire_due(session, now=T0 + timedelta(minutes=16), zone=SHANGHAI)
    return incident


def _seed_mention_incident(session) -> Incident:  # noqa: ANN001
    source = MonitorSource(name="微博舆情源", url="https://weibo.example.cn/feed.xml", next_poll_at=T0, tags=[], created_at=T0, updated_at=T0,
                           headers={})
    session.add(source)
    session.flush()
    entry = FeedEntry(key="m1", title="某品牌奶粉结块", text="网友称买到的奶粉结块，客服不回复",
                      link="https://weibo.com/2000000003/Fr003", author="愤怒的妈妈", published=T0)
    (mention,) = store_entries(session, source, [entry], matcher=RuleMatcher([]), rules={}, now=T0)
    return raise_from_mention(session, mention, severity="P2", title="奶粉结块舆情", actor=CHIEF,
                              now=T0 + timedelta(minutes=2), zone=SHANGHAI)


def seed_crisis(app, api_as) -> dict[str, Any]:  # noqa: ANN001
    """The whole crisis; returns the admin who reads it and the incidents' references."""
    app.config["CLOCK"] = lambda: T0 + timedelta(minutes=30)
    app.config["ALLOWED_NETWORKS"] = ["127.0.0.1/32"]  # the webhook subscriber points at this machine
    with app.extensions["db_sessionmaker"]() as session:
        admin = _person(session, Role.ADMIN, "chief", "王值班")
        owner = _person(session, Role.AGENT, "li", "李客服")
        outage = _seed_outage(session)
        opinion = _seed_mention_incident(session)
        session.commit()
        ids = {"admin": admin, "owner_id": owner.id, "outage": outage.reference, "opinion": opinion.reference}

    duty = api_as(Role.ADMIN)
    hooked = duty("POST", "/hooks/alertmanager", json=payload(alert("a1")))
    assert hooked.status_code in (200, 201, 202), hooked.text
    complaint = duty("POST", "/api/v1/incidents", json={"kind": "complaint", "severity": "P2", "title": "奶粉结块投诉",
                                                        "summary": "王女士投诉奶粉结块"})
    assert complaint.status_code == 201, complaint.text
    ref = complaint.json["reference"]
    ids["complaint"] = ref
    steps = {
        "prejudge": {"real_want": "退货并道歉", "category": "logistics"},
        "facts": {"when": "昨晚八点", "who": "王女士", "impact": "奶粉结块", "demand": "退货"},
        "responsibility": {"party": "company", "reasons": "仓库除湿设备故障"},
        "plan": {"action": "全额退款并补偿优惠券", "executor": "李客服",
                 "by_when": (T0 + timedelta(days=1)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")},
        "execute": {"communicated": "已电话告知退款和补偿安排", "customer_confirmed": True, "confirmation": "电话确认"},
        "review": {"lessons": "仓储环境需每日巡检"},
    }
    for step, fields in steps.items():
        recorded = duty("POST", f"/api/v1/incidents/{ref}/case/{step}", json={"fields": fields})
        assert recorded.status_code == 201, (step, recorded.text)
    contact = duty("POST", f"/api/v1/incidents/{ref}/contacts", json={"name": "王女士", "handle": "13700137000"})
    assert contact.status_code == 201, contact.text
    attempt = duty("POST", f"/api/v1/incidents/{ref}/contacts/{contact.json['id']}/attempts",
                   json={"result": "reached", "offer_kind": "voucher", "offer_value": "30", "promise": "两天内退款",
                         "promise_due_at": (T0 + timedelta(days=2)).isoformat()})
    assert attempt.status_code == 201, attempt.text
    duty("POST", f"/api/v1/incidents/{ref}/notes", json={"body": "已电话联系王女士"})
    duty("PATCH", f"/api/v1/incidents/{ref}", json={"title": "奶粉结块投诉（王女士）"})
    assert duty("POST", f"/api/v1/incidents/{ref}/acknowledge").status_code == 200
    review = duty("PATCH", f"/api/v1/incidents/{ref}/review",
                  json={"summary": "仓储受潮导致奶粉结块", "root_cause": "仓库除湿设备故障", "responsibility": "仓储部"})
    assert review.status_code == 200, review.text
    item = duty("POST", f"/api/v1/incidents/{ref}/review/actions",
                json={"title": "更换除湿设备", "owner_id": ids["owner_id"],
                      "due_date": (T0 + timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%d")})
    assert item.status_code == 201, item.text
    assert duty("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "resolved"}).status_code == 200
    completed = duty("POST", f"/api/v1/incidents/{ref}/review/complete")
    assert completed.status_code == 200, completed.text
    _seed_settings(app, duty)
    return ids


def _seed_settings(app, admin) -> None:  # noqa: ANN001
    """What the admin pages list: a component, subscribers, a maintenance, a team channel, a matching rule."""
    component = admin("POST", "/api/v1/components", json={"name": "支付服务"})
    assert component.status_code == 201, component.text
    for body in ({"kind": "email", "email": "ops@example.cn"},
                 {"kind": "webhook", "url": "http://127.0.0.1:9/status-hook"}):
        added = admin("POST", "/api/v1/subscribers", json=body)
        assert added.status_code == 201, added.text
    channel = admin("POST", "/api/v1/channels", json={
        "name": "值班群", "kind": "webhook", "config": {"url": "https://hooks.example.com/duty", "secret": None},
        "escalations": True})
    assert channel.status_code == 201, channel.text
    rule = admin("POST", "/api/v1/rules", json={"name": "鲜果多", "brand": "鲜果多", "negative_terms": {"结块": 1},
                                               "critical_terms": ["12315"], "severity": "P2"})
    assert rule.status_code == 201, rule.text
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT="9", SMTP_SECURITY="none", SMTP_FROM="status@example.cn")
    subscribed = app.test_client().post("/status/subscribe", data={"kind": "email", "email": "wang@example.cn"})
    assert subscribed.status_code in (200, 303), subscribed.text
    with app.extensions["db_sessionmaker"]() as session:
        start = T0 + timedelta(days=1)
        maintenance.schedule_maintenance(session, data={
            "title": "支付系统升级", "body": "期间支付可能短暂失败", "scheduled_start": start,
            "scheduled_end": start + timedelta(hours=1)}, actor=CHIEF, now=T0)
        session.commit()


# --- the pages ---------------------------------------------------------------------------------

# The audit log shows each record's data as it was recorded (keys and codes, for scripts and auditors).
SKIPPED_PREFIXES = ("/api/", "/static/", "/hooks/", "/healthz", "/readyz", "/metrics", "/status/subscribe/confirm",
                    "/status/unsubscribe", "/login", "/admin/audit/export")


def _argument_values(app, ids: dict[str, Any]) -> dict[str, list[Any]]:  # noqa: ANN001
    from console.views.report_pages import DATASETS
    from incidents.models import Deadline
    from incidents.outreach_models import AffectedContact as Contact

    from incidents.models import TeamChannel
    from incidents.scripts import PURPOSES
    from incidents.monitor_models import MonitorRule
    from incidents.public_models import Component, Maintenance
    from incidents.subscriber_models import Subscriber

    def ids_of(column: Any) -> list[int]:
        return list(session.scalars(sa.select(column).limit(3)))

    with app.extensions["db_sessionmaker"]() as session:
        return {"reference": list(session.scalars(sa.select(Incident.reference))), "name": list(DATASETS),
                "kind": ["outage", "public_opinion", "complaint"], "deadline_id": ids_of(Deadline.id),
                "contact_id": ids_of(Contact.id), "component_id": ids_of(Component.id),
                "subscriber_id": ids_of(Subscriber.id), "maintenance_id": ids_of(Maintenance.id),
                "channel_id": ids_of(TeamChannel.id), "rule_id": ids_of(MonitorRule.id),
                "source_id": ids_of(MonitorSource.id), "purpose": list(PURPOSES)}


def _urls(app, ids: dict[str, Any]) -> list[str]:  # noqa: ANN001
    values = _argument_values(app, ids)
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        arguments = sorted(rule.arguments)
        if any(name not in values for name in arguments):
            continue
        combos: list[dict[str, Any]] = [{}]
        for name in arguments:
            combos = [{**combo, name: value} for combo in combos for value in values[name]]
        with app.test_request_context():
            from flask import url_for
            urls += [url_for(rule.endpoint, **combo) for combo in combos]
    return sorted(set(urls))


def _links_sent_to_a_subscriber(app) -> list[str]:  # noqa: ANN001
    """The confirmation and unsubscribe pages a new subscriber's mail links to."""
    from incidents.models import OutboxMessage

    with app.extensions["db_sessionmaker"]() as session:
        messages = [row.message for row in session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.event == "subscription.confirm"))]
    assert messages, "the public subscription queued no confirmation"
    links = [link for message in messages for link in (message.get("url"), message.get("unsubscribe_url")) if link]
    return [re.sub(r"^(\{public_url\}|https?://[^/]+)", "", link) for link in links]


def _csv_text(body: str) -> str:
    return "\n".join(" ".join(row) for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _readable(response) -> str:  # noqa: ANN001
    kind = response.headers.get("Content-Type", "")
    body = response.data.decode("utf-8")
    if "csv" in kind:
        return _csv_text(body)
    if "markdown" in kind or kind.startswith("text/plain"):
        return re.sub(r"`[^`]*`", " ", body)
    if "xml" in kind:  # a feed: its entries' HTML is escaped inside the XML
        return visible_text(visible_text(body))
    return visible_text(body)


def test_every_page_and_export_reads_in_chinese(app, client, api_as) -> None:  # noqa: ANN001
    ids = seed_crisis(app, api_as)
    sign_in(client, ids["admin"])
    found: dict[str, set[str]] = {}
    mailed = _links_sent_to_a_subscriber(app)
    for url in _urls(app, ids) + mailed:
        response = client.get(url)
        if response.status_code in (302, 303, 404) and url not in mailed:
            continue
        assert response.status_code == 200, (url, response.status_code)
        if "json" in response.headers.get("Content-Type", ""):
            continue
        words = english_words(_readable(response))
        if words:
            found[url] = words
    # The public reads the status pages without signing in: Chinese by default.
    visitor = app.test_client()
    for url in [u for u in _urls(app, ids) if u.startswith(("/status", "/history"))]:
        response = visitor.get(url)
        if response.status_code == 200 and (words := english_words(_readable(response))):
            found[f"{url} (not signed in)"] = words
    assert not found, "\n".join(f"{url}: {' '.join(sorted(words))}" for url, words in sorted(found.items()))


@pytest.mark.parametrize(("language", "said", "not_said"), [("zh", "退订", "Unsubscribe"), ("en", "Unsubscribe", "退订")])
def test_a_subscriber_s_mail_says_unsubscribe_in_their_language(language: str, said: str, not_said: str) -> None:
    from incidents.channels.base import Message
    from incidents.channels.email import build_email

    message = Message(idempotency_key="k1", subject="【排查中】部分用户下单失败", text="我们正在排查", event="incident.update",
                      url="https://status.example.cn/status", unsubscribe_url="https://status.example.cn/status/unsubscribe/t",
                      language=language)
    mail = build_email({"from_addr": "status@example.cn", "to": ["a@example.cn"]}, message)
    bodies = [part.get_content() for part in mail.iter_parts()]
    assert all(said in body and not_said not in body for body in bodies)
