"""A real Chromium (Debian's, never a downloaded one) against the console on a real server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from incidents.models import AuditRecord
from tests.support.servers import LiveServer  # noqa: F401 (browser tests import it from here too)

CHROMIUM = "/usr/bin/chromium"
# A loaded CI machine (two cores, the suite's own servers) can take seconds to answer a
# navigation; assertions wait up to this long before failing. Not a speed claim.
expect.set_options(timeout=15_000)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true but {CHROMIUM} is missing: run .ci/run")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _contexts_closed(browser: Browser) -> Iterator[None]:
    """Close every browser context a test opened itself (browser.new_context()): its pages would
    otherwise go on polling the next tests' servers until the whole run ends."""
    yield
    for context in browser.contexts:
        context.close()


def open_incident_in(page: Page, *, title: str, severity: str = "P2 严重", kind: str = "系统故障") -> None:
    """Open an incident through the Chinese form, as the person signed in on `page` would."""
    page.get_by_role("link", name="发起事件").click()
    page.get_by_label(kind).check()
    page.get_by_label(severity).check()
    page.get_by_label("标题").fill(title)
    page.get_by_role("button", name="发起事件").click()


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has finished swapping and settling: a form it
    just swapped in listens to its inputs only from then on (a person is never that fast)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def sign_in_page(page: Page, base: str, username: str) -> None:
    """Sign in through the Chinese login form and wait for the sign-out button (shown at every width:
    on a phone the navigation is folded into its menu)."""
    from tests.conftest import PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


# The audit criterion (issue 7): every change a browser test makes must reach the audit log.
# Each state-changing request the live server answers successfully is noted with its
# X-Request-ID; after the test, each noted id must have at least one audit record.
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class AnsweredChange:
    method: str
    path: str
    status: int
    request_id: str


def _note_changes(app: Flask, noted: list[AnsweredChange]) -> None:
    """Wrap the app's WSGI callable to note every successful state-changing request."""
    inner = app.wsgi_app

    def noting(environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable:
            code = int(status.split()[0])
            if environ["REQUEST_METHOD"] not in SAFE_METHODS and code < 400:
                request_id = next((v for k, v in headers if k.lower() == "x-request-id"), "")
                noted.append(AnsweredChange(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), code, request_id))
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = noting


@pytest.fixture()
def live_server(live_server: LiveServer, engine: sa.Engine) -> Iterator[LiveServer]:
    """The shared live server, checked afterwards: every change it answered was audited."""
    noted: list[AnsweredChange] = []
    _note_changes(live_server.app, noted)
    live_server.changes = noted  # what was noted, for a test that wants to see the net works
    yield live_server
    with engine.connect() as connection:
        audited = set(connection.scalars(
            sa.select(AuditRecord.request_id).where(AuditRecord.request_id.in_({c.request_id for c in noted}))))
    missing = [c for c in noted if c.request_id not in audited]
    if missing:
        pytest.fail("state-changing requests with no audit record:\n" + "\n".join(
            f"  {c.method} {c.path} -> {c.status} (request id {c.request_id or 'none'})" for c in missing))
