"""What people do in their browsers during a drill, in the console's Chinese UI."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import htmx_settled

PUBLISHED = "已发布。"
SENT_FOR_SIGNOFF = "已提交签核：值班主管批准后才会发布。"


def compose(page: Page, *, script: str, components: dict[str, str] | None = None,
            variables: dict[str, tuple[str, str]] | None = None, button: str = "发布公告",
            done: str = PUBLISHED) -> None:
    """In the incident's composer: pick a script, set the components' statuses, fill the blanks
    (variable name -> Chinese and English text), then publish (or send for sign-off)."""
    composer = page.locator("#update-form")
    composer.get_by_label("话术").select_option(label=script)
    htmx_settled(page)
    fill(page, components=components, variables=variables)
    composer.get_by_role("button", name=button).click()
    # Held for sign-off is a warning (nothing went out yet); a publish is a success.
    notice = ".flash-warn" if done == SENT_FOR_SIGNOFF else ".flash-done"
    expect(page.locator(f"#update-form {notice}")).to_have_text(done)


def fill(page: Page, *, components: dict[str, str] | None = None,
         variables: dict[str, tuple[str, str]] | None = None) -> None:
    """Set components and blanks in the composer as it stands."""
    composer = page.locator("#update-form")
    for name, status in (components or {}).items():
        composer.get_by_label(name, exact=True).select_option(label=status)
    for name, (zh, en) in (variables or {}).items():
        composer.locator(f"#var-{name}").fill(zh)
        composer.locator(f"#var-{name}-en").fill(en)


def complete_review_and_close(page: Page, base: str, reference: str, *, summary: str, root_cause: str,
                              responsibility: str) -> None:
    """The commander writes the 复盘, completes it, and closes the incident."""
    page.goto(f"{base}/incidents/{reference}/review")
    page.locator("#review-summary").fill(summary)
    page.locator("#review-root_cause").fill(root_cause)
    page.locator("#review-responsibility").fill(responsibility)
    page.get_by_role("button", name="保存草稿").click()
    page.get_by_role("button", name="完成复盘").click()
    expect(page.locator(".page-head")).to_contain_text("已完成")
    page.get_by_role("link", name=reference).click()
    header = page.locator("#incident-header")
    header.get_by_role("button", name="关闭事件").click()
    expect(header.get_by_label("状态")).to_have_text("已关闭")
