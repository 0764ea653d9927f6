"""Every console page on a 390 px phone and on a desktop, in a realistic crisis, signed in as an admin:
no page is wider than the screen, and the browser reports no error (CSP included).

The pages are the GET routes of app.url_map that answer a whole HTML page; path parameters are
filled with the crisis's ids. Exports, feeds, JSON and the fragments htmx polls are not pages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from playwright.sync_api import Browser, Page, expect

from incidents import accounts, contact_fields, outreach, reviews, service, team_channels, updates
from incidents.actors import Actor
from incidents.maintenance import schedule_maintenance
from incidents.models import Deadline
from incidents.timeutil import utcnow
from monitors import rulebook, sources
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
ZONE = ZoneInfo("Asia/Shanghai")
ACTOR = Actor.system("test")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path("/tmp/shots-phone")
NOT_PAGES = re.compile(r"^/(api|hooks|static)/|\.(csv|md|atom|rss|xml|json)$|^/(metrics|healthz|readyz)$")
# Routes no signed-in admin reaches as a page: a subscriber's e-mailed token links, and the steps
# of a single sign-on that is off (the provider's redirects; tests/browser/test_sso.py walks them).
TOKEN_LINKS = {"subscribe.confirm", "subscribe.unsubscribe", "sso.start", "sso.callback"}
# Query strings a page needs (the new-channel form is per kind).
QUERIES = {"channels.new": {"kind": "webhook"}}
# The crisis is not on the public status page, whose incident page is therefore 404.
NOT_PUBLIC = {"status.incident"}
# Screenshots a person looks at after a change to the layout.
SHOT_ENDPOINTS = {"board.index", "incidents.show", "deadlines.index", "reports.index", "playbooks.show",
                  "roster.show", "channels.index", "calendar.show"}

# The widest element of a page that is wider than its window, described for the failure message.
WIDEST = """() => {
  const limit = window.innerWidth, scroll = document.documentElement.scrollWidth;
  if (scroll <= limit) return {scroll, inner: limit, worst: null};
  const clipped = (el) => {  // inside a box that scrolls or clips sideways: not what widens the page
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  let worst = null;
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= limit + 0.5 || clipped(el)) continue;
    if (!worst || box.right > worst.right) {
      worst = {right: Math.round(box.right), tag: el.tagName.toLowerCase(), id: el.id,
               cls: typeof el.className === 'string' ? el.className : '',
               text: (el.innerText || '').trim().slice(0, 60)};
    }
  }
  return {scroll, inner: limit, worst};
}"""


def _crisis(app: Flask) -> dict[str, object]:
    """An outage forty minutes in: deadlines running, notes, a public update, customers reached with a
    promise, a review drafted with an action item; the settings around it filled in."""
    now = utcnow()
    with app.extensions["db_sessionmaker"]() as session:
        admin = accounts.create_user(session, username="wangfang", password=PASSWORD, role="admin",
                                     display_name="王芳", actor=ACTOR, now=FIXED_NOW)
        incident = service.open_incident(
            session, kind="outage", severity="P1",
            title="支付回调大面积延迟，用户付款后订单仍显示未支付，客服热线排队超过两百人",
            summary="华东机房网关升级后回调队列积压，参考单号 PAY-CALLBACK-20261122-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            commander_id=admin.id, actor=ACTOR, now=now - timedelta(minutes=40), zone=ZONE)
        service.acknowledge_incident(session, incident=incident, actor=ACTOR, now=now - timedelta(minutes=38),
                                     zone=ZONE)
        service.add_note(session, incident=incident, body="网关回滚中；长链接测试 https://status.example.com/incidents/"
                         "PAY-CALLBACK-20261122-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", actor=ACTOR,
                         now=now - timedelta(minutes=30))
        updates.publish_update(session, incident=incident, body="我们正在处理支付回调延迟问题，已付款订单不会重复扣款。",
                               actor=ACTOR, now=now - timedelta(minutes=25), zone=ZONE)
        contacts = outreach.add_contacts(
            session, incident=incident, origin="manual", actor=ACTOR, now=now - timedelta(minutes=20),
            rows=[contact_fields.clean_contact({"name": f"客户{i:02d}", "handle": f"139{i:08d}",
                                                 "order_numbers": f"PAY2026112200{i:08d}"}) for i in range(1, 6)])
        outreach.log_attempt(session, incident=incident, contact=contacts[0], result="reached", note="已致歉",
                             promise="今天 18:00 前退回重复扣款", promise_due_at=now + timedelta(hours=3),
                             actor=ACTOR, now=now - timedelta(minutes=10), zone=ZONE)
        reviews.save_review(session, incident=incident, values={"root_cause": "网关升级未做灰度"},
                            expected_version=None, actor=ACTOR, now=now - timedelta(minutes=5))
        reviews.add_action_item(session, incident=incident, title="网关升级先灰度百分之五", owner_id=admin.id,
                                due_date=(now + timedelta(days=3)).astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
                                actor=ACTOR, now=now, zone=ZONE)
        channel = team_channels.create_channel(session, name="值班群", kind="webhook",
                                               config={"url": "https://hooks.example.com/duty"}, actor=ACTOR, now=now)
        window = schedule_maintenance(session, data={
            "title": "支付系统例行维护", "title_en": "Routine payment maintenance",
            "scheduled_start": now + timedelta(days=2), "scheduled_end": now + timedelta(days=2, hours=1)},
            actor=ACTOR, now=now)
        source = sources.create_source(session, {"name": "微博热搜", "url": "http://feeds.example.invalid/rss"},
                                       allowed_networks=(), actor=ACTOR, now=now)
        rule = rulebook.create_rule(session, {"name": "鲜果多", "brand": "鲜果多"}, actor=ACTOR, now=now)
        session.commit()
        deadline = session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)
                                   .order_by(Deadline.id)).first()
        return {
            "reference": incident.reference, "contact_id": contacts[0].id, "deadline_id": deadline.id,
            "channel_id": channel.id, "maintenance_id": window.id, "source_id": source.id, "rule_id": rule.id,
            "kind": "outage", "purpose": "progress"}


def _objects_by_api(server: LiveServer, ids: dict[str, object]) -> None:
    """A component and a subscriber, made as a script would (their pages need one each)."""
    with server.app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="walk", role="admin", user_id=None, actor=ACTOR,
                                               now=FIXED_NOW)
        session.commit()
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    group = client.post("/api/v1/component-groups", json={"name": "支付"}, headers=headers)
    assert group.status_code == 201, group.text
    component = client.post("/api/v1/components", json={"name": "支付回调", "group_id": group.json["id"]},
                            headers=headers)
    assert component.status_code == 201, component.text
    subscriber = client.post("/api/v1/subscribers", json={"kind": "email", "email": "ops@example.com"},
                             headers=headers)
    assert subscriber.status_code == 201, subscriber.text
    ids.update(component_id=component.json["id"], subscriber_id=subscriber.json["id"])


def _page_paths(app: Flask, ids: dict[str, object]) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET route answering a whole HTML page, parameters filled in."""
    paths = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or NOT_PAGES.search(rule.rule) or rule.endpoint in TOKEN_LINKS:
            continue
        missing = rule.arguments - set(ids)
        assert not missing, f"{rule.rule}: the walk has no value for {sorted(missing)}"
        with app.test_request_context():
            values = {**{name: ids[name] for name in rule.arguments}, **QUERIES.get(rule.endpoint, {})}
            paths.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return paths


def _is_page(response_headers: dict[str, str], body: str) -> bool:
    html = response_headers.get("content-type", "").startswith("text/html")
    return html and body.lstrip()[:15].lower() == "<!doctype html>"


def _walk(page: Page, base: str, paths: list[tuple[str, str]], *, width_limit: bool, label: str) -> list[str]:
    problems: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    walked = 0
    for endpoint, path in paths:
        response = page.request.get(base + path, max_redirects=0)
        if response.status != 200 or not _is_page(response.headers, response.text()):
            assert response.status in (200, 302) or endpoint in NOT_PUBLIC, f"{path} answered {response.status}"
            continue
        errors.clear()
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        walked += 1
        if endpoint in SHOT_ENDPOINTS:
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{label}-{endpoint}.png"), full_page=True)
        if width_limit:
            seen = page.evaluate(WIDEST)
            if seen["scroll"] > seen["inner"]:
                problems.append(f"{path}: {seen['scroll']} px wide on a {seen['inner']} px screen; "
                                f"widest: {seen['worst']}")
        problems.extend(f"{path}: {error}" for error in errors)
    assert walked >= 25, f"only {walked} pages walked: the walk lost its way"
    return problems


@pytest.mark.parametrize("label, viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_console_page_fits_and_runs_clean(live_server: LiveServer, browser: Browser, label: str,
                                               viewport: dict[str, int]) -> None:
    ids = _crisis(live_server.app)
    _objects_by_api(live_server, ids)
    paths = _page_paths(live_server.app, ids)
    page = browser.new_context(locale="zh-CN", viewport=DESKTOP).new_page()
    sign_in_page(page, live_server.url, "wangfang")
    page.set_viewport_size(viewport)
    problems = _walk(page, live_server.url, paths, width_limit=label == "phone", label=label)
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_navigation_is_a_menu_the_keyboard_opens(live_server: LiveServer, browser: Browser) -> None:
    _crisis(live_server.app)
    page = browser.new_context(locale="zh-CN", viewport=DESKTOP).new_page()
    sign_in_page(page, live_server.url, "wangfang")
    menu = page.locator("summary", has_text="菜单")
    expect(menu).to_be_hidden()  # wide: the links themselves, no menu button
    page.set_viewport_size(PHONE)
    deadlines = page.get_by_role("navigation", name="主导航").get_by_role("link", name="时限")
    expect(menu).to_be_visible()
    expect(deadlines).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(deadlines).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-menu-open.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="事件看板")).to_be_focused()
    deadlines.click()
    expect(page).to_have_url(re.compile(r"/deadlines$"))
    expect(page.locator("summary", has_text="菜单")).to_be_visible()
    expect(page.get_by_role("link", name="时限")).to_be_hidden()  # a new page starts with the menu folded
    # The walk's own check sees a page made too wide, and names what widened it.
    page.evaluate("""() => {
      const wide = document.createElement('p');
      wide.id = 'too-wide';
      wide.textContent = 'INC-20261122-0001';  // an empty box widens nothing
      wide.style.width = '600px';  // through the CSSOM, which the CSP allows
      document.body.append(wide);
    }""")
    seen = page.evaluate(WIDEST)
    assert seen["scroll"] > seen["inner"] and seen["worst"]["id"] == "too-wide", seen
