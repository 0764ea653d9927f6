"""A real Chromium (Debian's, never a downloaded one) against the console on a real server."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

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


def open_incident_in(page: Page, *, title: str, severity: str = "P2 严重", kind: str = "系统故障") -> None:
    """Open an incident through the Chinese form, as the person signed in on `page` would."""
    page.get_by_role("link", name="发起事件").click()
    page.get_by_label(kind).check()
    page.get_by_label(severity).check()
    page.get_by_label("标题").fill(title)
    page.get_by_role("button", name="发起事件").click()


def sign_in_page(page: Page, base: str, username: str) -> None:
    """Sign in through the Chinese login form and wait for the board's link."""
    from tests.conftest import PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="事件看板")).to_be_visible()
