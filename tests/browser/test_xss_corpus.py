"""In a real Chromium, pages holding the XSS corpus run no payload: no dialog, no console error.

The corpus is stored over HTTP through the API of a live console (CSRF on), then a signed-in
admin opens the board, incident pages, the mention inbox, and an anonymous reader the public
page and its incident pages. A payload that became markup would either run (a dialog) or be
blocked by the CSP (a console error): both fail the test.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog

from incidents import accounts
from incidents.actors import Actor
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW
from tests.security.xss_corpus import PAYLOADS
from tests.security.xss_seed import seed
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser


def _watch(context: BrowserContext) -> list[str]:
    """Every dialog, page error and console error in any tab of the context, as text."""
    trouble: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        trouble.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):  # the browser asks for it by itself
            trouble.append(f"console: {message.text} ({url})")

    context.on("dialog", on_dialog)
    context.on("console", on_console)
    context.on("weberror", lambda error: trouble.append(f"page error: {error.error}"))
    return trouble


def _visit(context: BrowserContext, urls: list[str], *, tabs: int = 8) -> None:
    """Open every URL until its network is idle, `tabs` at a time: each page's quiet half-second
    (what "networkidle" waits for) overlaps with the others' instead of adding up."""
    for start in range(0, len(urls), tabs):
        pages = [context.new_page() for _ in urls[start:start + tabs]]
        for page, url in zip(pages, urls[start:start + tabs]):
            page.goto(url, wait_until="commit")
        for page in pages:
            page.wait_for_load_state("networkidle")
            page.close()


# What the browser runs depends on the rendered pages, not on the engine: tests/security/test_xss.py
# stores and checks the corpus on both engines; one engine is enough for Chromium.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_with_the_corpus_run_no_payload(live_server: LiveServer, browser: Browser, make_user) -> None:  # noqa: ANN001
    admin = make_user("admin", "xss-admin", locale="zh_Hans_CN")
    with live_server.app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="xss-browser", role="admin", user_id=admin.id,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {secret}"

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = http.request(method, live_server.url + path, json=body, timeout=30)
        return response.status_code, response.json() if response.content else None

    with http:
        seeded = seed(call, PAYLOADS, owner_id=admin.id, owner_username=admin.username)
    console = browser.new_context(locale="zh-CN")
    trouble = _watch(console)
    sign_in_page(console.new_page(), live_server.url, admin.username)
    _visit(console, [live_server.url + path for path in [
        "/", *[f"/incidents/{ref}" for ref in seeded.incidents], "/monitors/mentions?state=all&matched=0",
        "/roster", "/maintenance",
        "/admin/components", "/settings/channels", "/scripts/outage/progress"]])
    public = browser.new_context(locale="zh-CN")
    public_trouble = _watch(public)
    _visit(public, [live_server.url + path for path in [
        "/status", "/status/history", *[f"/status/incidents/{ref}" for ref in seeded.incidents[:10]]]])
    assert trouble == [] and public_trouble == []
