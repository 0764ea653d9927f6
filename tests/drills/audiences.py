"""What each audience sees at a moment of a drill, one helper per audience.

Each helper looks as that audience would (the public page in a phone's browser, the v2 API,
a subscriber's mailbox and webhook receiver, the team channel, a person's bell) and asserts
what the drill says they should see now. The receivers' helpers assert what *arrived since the
last look*: `expect=[]` says that nothing did.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from typing import Any

import feedparser
import requests
from playwright.sync_api import expect

from tests.drills.conftest import MAIL_TO, PHONE, Drill, Person

# The status page's headline, by Statuspage indicator.
ALL_WELL = "所有服务运行正常"  # none
MINOR = "部分服务响应变慢"  # minor
PARTLY_DOWN = "部分服务暂时不可用"  # major
OUTAGE = "服务严重中断"  # critical


@dataclass(frozen=True)
class PublicView:
    headline: str
    indicator: str
    ongoing: dict[str, str]  # public title -> its status in summary.json
    latest: dict[str, str]  # public title -> its latest update's body in summary.json


def public(drill: Drill, *, headline: str, indicator: str, ongoing: dict[str, str] | None = None,
           latest: dict[str, str] | None = None, recently_resolved: tuple[str, ...] = (),
           absent: tuple[str, ...] = (), in_feed: dict[str, str] | None = None) -> PublicView:
    """The status page as a customer's phone shows it (no JavaScript), and /api/v2/summary.json.

    `ongoing` maps each public title that must show as ongoing to its status; `latest` maps a
    title to a text its latest public update must contain; `recently_resolved` titles are listed
    under "recently resolved"; `absent` titles are nowhere among the ongoing ones; `in_feed` maps a
    title to a text its entry in the Atom history feed (what feed readers see) must contain."""
    ongoing = ongoing or {}
    latest = latest or {}
    page = drill.browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False).new_page()
    try:
        page.goto(f"{drill.url}/status")
        expect(page.locator(".overall h1")).to_have_text(headline)
        ongoing_block = page.locator("#h-incidents").locator("xpath=..")
        if ongoing:
            for title in ongoing:
                expect(ongoing_block.get_by_role("link", name=title)).to_be_visible()
        else:
            expect(page.locator("#h-incidents")).to_have_count(0)
        for title, text in latest.items():
            article = ongoing_block.locator("article", has=page.get_by_role("link", name=title))
            expect(article.locator("ol.updates li").first).to_contain_text(text)
        for title in recently_resolved:
            expect(page.locator("p.past").get_by_role("link", name=title)).to_be_visible()
        for title in absent:
            expect(page.locator("article.incident", has_text=title)).to_have_count(0)
    finally:
        page.context.close()

    summary = requests.get(f"{drill.url}/api/v2/summary.json", timeout=10).json()
    unresolved = {i["name"]: i for i in summary["incidents"]}
    assert summary["status"]["indicator"] == indicator, summary["status"]
    assert {name: i["status"] for name, i in unresolved.items()} == ongoing, unresolved
    for title, text in latest.items():
        assert text in unresolved[title]["incident_updates"][0]["body"], unresolved[title]["incident_updates"]
    still_open = requests.get(f"{drill.url}/api/v2/incidents/unresolved.json", timeout=10).json()["incidents"]
    assert sorted(i["name"] for i in still_open) == sorted(ongoing)
    if in_feed:
        feed = feedparser.parse(requests.get(f"{drill.url}/history.atom", timeout=10).content)
        entries = {entry.title: entry.content[0].value for entry in feed.entries}
        for title, text in in_feed.items():
            assert text in entries.get(title, ""), f"Atom feed, {title!r}: {text!r} not in {entries.get(title)!r}"
    return PublicView(summary["status"]["description"], summary["status"]["indicator"],
                      {name: i["status"] for name, i in unresolved.items()},
                      {name: i["incident_updates"][0]["body"] if i["incident_updates"] else "" for name, i in
                       unresolved.items()})


def _new(drill: Drill, audience: str, arrived: list[Any]) -> list[Any]:
    start = drill.seen.get(audience, 0)
    drill.seen[audience] = len(arrived)
    return arrived[start:]


Says = str | tuple[str, ...]  # a text an arrival contains, or several it all contains


def _each_says(arrived: list[str], expected: list[Says], audience: str) -> list[str]:
    """Exactly one arrival per expected text(s), each containing its text(s), in order."""
    assert len(arrived) == len(expected), f"{audience}: expected {len(expected)}, got {len(arrived)}:\n" + \
        "\n---\n".join(arrived)
    for text, wanted in zip(arrived, expected, strict=True):
        for part in (wanted,) if isinstance(wanted, str) else wanted:
            assert part in text, f"{audience}: {part!r} not in\n{text}"
    return arrived


def mail(drill: Drill, *, expect: list[Says]) -> list[str]:
    """The mail subscriber's inbox: one new message per expected text (subject and body)."""
    drill.worker_runs()
    messages = []
    for envelope in drill.mailbox.envelopes:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.SMTP)
        assert MAIL_TO in envelope.rcpt_tos
        body = message.get_body(preferencelist=("plain",))
        messages.append(f"{message['Subject']}\n{body.get_content() if body else ''}")
    return _each_says(_new(drill, "mail", messages), expect, "mail subscriber")


def webhook(drill: Drill, *, expect: list[Says]) -> list[dict[str, Any]]:
    """The webhook subscriber's receiver: one new JSON post per expected text."""
    drill.worker_runs()
    posts = [r for r in drill.subscriber_hook.requests if r.method == "POST"]
    arrived = _new(drill, "webhook", posts)
    _each_says([r.body.decode("utf-8") for r in arrived], expect, "webhook subscriber")
    return [r.json() for r in arrived]


def team_channel(drill: Drill, *, expect: list[Says]) -> list[dict[str, Any]]:
    """The team channel (a webhook the team's group reads): one new message per expected text."""
    drill.worker_runs()
    arrived = _new(drill, "team", [r for r in drill.team_channel.requests if r.method == "POST"])
    _each_says([r.body.decode("utf-8") for r in arrived], expect, "team channel")
    return [r.json() for r in arrived]


def bell(drill: Drill, person: Person, *, expect: list[Says]) -> list[str]:
    """The person's bell: one new notification per expected text, newest last."""
    answer = drill.api(person, "GET", "/notifications")
    assert answer.status_code == 200, answer.text
    box = answer.json()
    items = sorted(box["waiting"] + box["snoozed"] + box["earlier"], key=lambda n: n["id"])
    titles = [n["title"] for n in items]
    return _each_says(_new(drill, f"bell:{person.username}", titles), expect, f"{person.display_name}'s bell")
