"""The XSS corpus through every text input and every feed field, checked where it is shown.

Stored through the console's own API (tests/security/xss_seed.py) and, for mentions, served
as RSS by a server on 127.0.0.1 and stored by the real poller. Then every console page, the
public status page with its history and incident pages, the Atom/RSS feeds and the JSON APIs
are read back: HTML is parsed (no element, handler or javascript:/data: URL from a payload),
feeds are valid XML with the payload as text, JSON returns the payload verbatim as data.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa

from console import create_app
from incidents import accounts
from incidents.actors import Actor
from incidents.monitor_models import Mention
from incidents.netguard import parse_networks
from monitors.polling import PollSettings, poll_due
from tests.conftest import FIXED_NOW, PASSWORD, empty_tables
from tests.monitors.feedserver import running_feed_server
from tests.security.support import markup_injections
from tests.security.xss_corpus import EVALUATED, MARKER, PAYLOADS
from tests.security.xss_seed import Seeded, seed

LOCAL = parse_networks(["127.0.0.1/32"])


def feed_of(payloads: list[str]) -> bytes:
    """An RSS feed whose every field carries a payload (escaped as XML requires; HTML where RSS means HTML)."""
    items = []
    for i, p in enumerate(payloads):
        link = p if p.strip().lower().startswith(("javascript:", "data:")) else f"https://weibo.example/{i}?q={quote(p)}"
        items.append(
            f"<item><title>{escape(p)}</title><link>{escape(link)}</link><guid isPermaLink=\"false\">xss-{i}</guid>"
            f"<description>{escape(p)}</description><content:encoded><![CDATA[{p.replace(']]>', '')}]]></content:encoded>"
            f"<author>{escape(p)}</author><dc:creator>{escape(p)}</dc:creator><category>{escape(p[:40])}</category>"
            f"<pubDate>Sun, 22 Nov 2026 01:{i % 60:02d}:00 GMT</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/'
            'content/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>xss-probe 频道</title>'
            f"<link>https://weibo.example/</link>{''.join(items)}</channel></rss>").encode("utf-8")


@pytest.fixture(scope="module")
def stored(engine, database_url):  # noqa: ANN001, ANN201
    """An app whose every text field holds the corpus; returns (app, seeded, admin client, api call).

    Seeding takes a while, so it is done once per database for the tests of this module.
    """
    empty_tables(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "xss-test", "PUBLIC_URL": "http://localhost", "ALLOWED_NETWORKS": ["127.0.0.1/32"]})
    with app.extensions["db_sessionmaker"]() as session:
        admin = accounts.create_user(session, username="xss-admin", password=PASSWORD, role="admin",
                                     display_name="<b>xss-probe</b> 管理员", locale="zh_Hans_CN",
                                     actor=Actor.system("test"), now=FIXED_NOW)
        _token, secret = accounts.create_token(session, name="xss", role="admin", user_id=admin.id,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
        owner_id, owner_username = admin.id, admin.username
    api_client = app.test_client()

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = api_client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {secret}"})
        return response.status_code, response.get_json(silent=True)

    seeded = seed(call, PAYLOADS, owner_id=owner_id, owner_username=owner_username)
    _poll_feed(app, call)
    browser = app.test_client()
    response = browser.post("/login", data={"username": owner_username, "password": PASSWORD})
    assert response.status_code == 303
    yield app, seeded, browser, call
    empty_tables(engine)


def _poll_feed(app, call) -> None:  # noqa: ANN001
    """The feed fields: served on 127.0.0.1, stored by the worker's own poller."""
    with running_feed_server() as server:
        url = server.set("/weibo/keyword/xss", feed_of(PAYLOADS))
        status, source = call("POST", "/api/v1/sources", {"name": "微博 xss-probe", "url": url})
        assert status == 201, source
        factory = app.extensions["db_sessionmaker"]
        outcomes = poll_due(factory, now=datetime.now(UTC) + timedelta(hours=1),
                            settings=PollSettings(allowed_networks=tuple(LOCAL), fetch_threads=1), only=[source["id"]])
        assert [o.status for o in outcomes] == ["ok"], outcomes
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Mention)) == len(PAYLOADS)


def _html_pages(seeded: Seeded) -> list[str]:
    pages = ["/", "/?q=xss", "/deadlines", "/monitors/mentions", "/monitors/mentions?state=all&matched=0",
             "/monitors/sources",
             "/monitors/rules", "/settings/channels", "/settings/calendar", "/roster", "/scripts",
             "/scripts/outage/progress", "/maintenance", "/admin/components", "/admin/subscribers", "/reports",
             "/complaints", "/compensation", "/notifications", "/talking-points", "/settings/intake",
             "/status", "/status?lang=en", "/status/history", "/status/history?lang=en", "/status/subscribe"]
    for ref in seeded.incidents:
        pages += [f"/incidents/{ref}", f"/incidents/{ref}/review", f"/incidents/{ref}/outreach",
                  f"/incidents/{ref}/case", f"/status/incidents/{ref}", f"/status/incidents/{ref}?lang=en"]
    for ref in seeded.incidents[:5]:  # fragments the incident page already includes, and the composer
        pages += [f"/incidents/{ref}/timeline", f"/incidents/{ref}/talking-points", f"/incidents/{ref}/composer",
                  f"/monitors/incidents/{ref}/mentions"]
    pages += [f"/incidents/{ref}/contacts/{contact}" for ref, contact in seeded.contacts]
    pages += [f"/maintenance/{m}" for m in seeded.maintenance]
    pages += [f"/admin/subscribers/{s}" for s in seeded.subscribers]
    pages += [f"/monitors/sources/{s}" for s in seeded.sources]
    pages += [f"/monitors/rules/{r}" for r in seeded.rules]
    return pages


def test_the_corpus_is_stored_in_every_field(stored) -> None:  # noqa: ANN001
    """Most fields take every payload as text; a refusal at the field is fine, silence is not."""
    _app, seeded, _browser, _call = stored
    assert len(seeded.incidents) == len(PAYLOADS)
    for what, count in seeded.stored.items():
        if what.endswith(".fallback") or what == "incident.summary":
            continue
        assert count + seeded.refused[what] == len(PAYLOADS), what
        assert count >= len(PAYLOADS) * 0.8, f"{what}: only {count} of {len(PAYLOADS)} stored ({seeded.refused})"


def test_no_payload_becomes_markup_in_any_page(stored) -> None:  # noqa: ANN001
    _app, seeded, browser, _call = stored
    shown = 0
    for path in _html_pages(seeded):
        # The board and lists answer htmx with a fragment of their own: read both forms there.
        for headers in ({}, {"HX-Request": "true"}) if "/incidents/" not in path else ({},):
            response = browser.get(path, headers=headers)
            assert response.status_code == 200, f"{path}: {response.status_code}"
            assert response.mimetype == "text/html", path
            page = response.get_data(as_text=True)
            assert markup_injections(page, MARKER) == [], path
            assert EVALUATED not in page, f"{path}: template syntax was evaluated"
            shown += MARKER in page
    assert shown > len(_html_pages(seeded)) * 0.8, "the payloads should be on the pages, as text"


def test_downloads_are_not_served_as_html(stored) -> None:  # noqa: ANN001
    _app, seeded, browser, _call = stored
    for path in [f"/incidents/{seeded.incidents[0]}/review.md", "/reports/incidents.csv", "/reports/action_items.csv"]:
        response = browser.get(path)
        assert response.status_code == 200, path
        assert response.mimetype in ("text/markdown", "text/csv", "text/plain"), (path, response.mimetype)
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_csv_exports_keep_formulas_as_text(stored) -> None:  # noqa: ANN001
    """A title like =HYPERLINK(...) must not become a live formula in the spreadsheet it is opened in."""
    _app, _seeded, browser, _call = stored
    for dataset in ("incidents", "action_items", "categories"):
        response = browser.get(f"/reports/{dataset}.csv?days=7")
        assert response.status_code == 200, dataset
        cells = [cell for row in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
                 for cell in row]
        live = [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r")) and not _number(c)]
        assert live == [], (dataset, live[:3])
    titles = browser.get("/reports/incidents.csv?days=7").get_data(as_text=True)
    assert "'=HYPERLINK(" in titles


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_feeds_are_valid_xml_with_the_payload_as_text(stored) -> None:  # noqa: ANN001
    _app, seeded, _browser, _call = stored
    anonymous = _app.test_client()
    paths = ["/history.atom", "/history.rss", "/history.atom?lang=en"] + [
        f"/status/incidents/{ref}.atom" for ref in seeded.incidents]
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 200, path
        root = ET.fromstring(response.data)  # well-formed, or this raises
        assert not [el.tag for el in root.iter() if el.tag.rsplit("}", 1)[-1].lower() in ("script", "img", "svg")]
        texts = [el.text or "" for el in root.iter()]
        assert any(MARKER in text for text in texts), path
        for el in root.iter():
            name = el.tag.rsplit("}", 1)[-1]
            # Readers render Atom type="html" and RSS descriptions as HTML: that HTML must carry no payload markup.
            if el.get("type") == "html" or name == "description":
                assert markup_injections(el.text or "", MARKER) == [], (path, name, (el.text or "")[:120])
            for attribute in ("href", "src"):
                value = (el.get(attribute) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:")), (path, name, value)


def _strings(document: Any) -> list[str]:
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [s for value in document.values() for s in _strings(value)]
    if isinstance(document, list):
        return [s for value in document for s in _strings(value)]
    return []


def test_json_apis_return_the_payload_verbatim_as_data(stored) -> None:  # noqa: ANN001
    app, seeded, _browser, call = stored
    for i, ref in enumerate(seeded.incidents):
        status, incident = call("GET", f"/api/v1/incidents/{ref}")
        assert status == 200
        assert incident["summary"] == PAYLOADS[i].strip()
        if seeded.refused["incident.title"] == 0:
            assert incident["title"] == PAYLOADS[i][:200].strip()
        notes = [e.get("body") for e in incident["timeline"] if e.get("body")]
        assert PAYLOADS[i].strip() in notes
    anonymous = app.test_client()
    for path in ["/api/v2/summary.json", "/api/v2/incidents.json", "/api/v2/scheduled-maintenances.json",
                 "/api/v2/components.json"]:
        response = anonymous.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json", path
        strings = _strings(json.loads(response.data))
        assert any(MARKER in s for s in strings), path
        _assert_verbatim(strings, path)
    status, mentions = call("GET", "/api/v1/mentions?state=all")
    assert status == 200
    strings = _strings(mentions)
    _assert_verbatim(strings, "/api/v1/mentions")
    links = [m.get("link") for m in mentions["mentions"]]
    assert all(link is None or link.startswith(("http://", "https://")) for link in links), links


def _assert_verbatim(strings: list[str], where: str) -> None:
    """A payload is returned as the text it was, never HTML-escaped into something else."""
    escaped_payloads = [p for p in PAYLOADS if "&lt;" in p]
    for text in strings:
        if MARKER in text and "&lt;" in text:
            assert any(p.strip() in text or text in p for p in escaped_payloads), f"{where}: escaped {text[:80]!r}"
