"""The board's rows as a duty manager reads them: what nobody owns, what is late, in what order.

The console's clock is the test's (app CLOCK), so "overdue" means the minute the test says.
"""

from __future__ import annotations

import re
from datetime import timedelta

from incidents.models import Role
from tests.conftest import FIXED_NOW, sign_in

BOARD = {"HX-Request": "true", "HX-Target": "board"}
ROW = re.compile(r'<tr class="([^"]*)" data-due-row>(.*?)</tr>', re.S)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self):  # noqa: ANN204
        return self.now


def _rows(html: str) -> list[tuple[str, set[str], str]]:
    """(title, row classes, row markup) in board order."""
    return [(re.search(r'class="title">([^<]+)</a>', body)[1], set(classes.split()), body)
            for classes, body in ROW.findall(html)]


def _open(client, title: str, severity: str, kind: str = "outage") -> str:  # noqa: ANN001
    response = client.post("/incidents", data={"kind": kind, "severity": severity, "title": title})
    assert response.status_code == 303
    return response.headers["Location"]


def _setup(app, client, make_user, locale: str = "en") -> Clock:  # noqa: ANN001
    clock = Clock()
    app.config["CLOCK"] = clock
    sign_in(client, make_user(Role.DUTY_MANAGER, "duty", locale=locale))
    return clock


def test_unacknowledged_sort_first_within_their_severity_with_a_tag(app, client, make_user) -> None:  # noqa: ANN001
    clock = _setup(app, client, make_user)
    owned_p2 = _open(client, "已认领的 P2", "P2")
    client.post(f"{owned_p2}/acknowledge")
    clock.now += timedelta(minutes=1)
    _open(client, "无人认领的 P2", "P2")  # due later than the owned one, yet above it
    _open(client, "无人认领的 P3", "P3")
    owned_p1 = _open(client, "已认领的 P1", "P1")
    client.post(f"{owned_p1}/acknowledge")
    rows = _rows(client.get("/").text)
    assert [title for title, _, _ in rows] == ["已认领的 P1", "无人认领的 P2", "已认领的 P2", "无人认领的 P3"]
    unowned = {title for title, classes, _ in rows if "unacknowledged" in classes}
    assert unowned == {"无人认领的 P2", "无人认领的 P3"}
    for title, _, body in rows:
        assert ('<span class="unowned">Not acknowledged</span>' in body) == (title in unowned)


def test_acknowledging_moves_the_row_and_drops_the_tag_through_the_shared_render(
        app, client, make_user) -> None:  # noqa: ANN001
    clock = _setup(app, client, make_user, locale="zh_Hans_CN")
    app.config["BOARD_CACHE_SECONDS"] = 3600  # only a change can make the shared render stale
    owned = _open(client, "早开的、已认领", "P2")
    client.post(f"{owned}/acknowledge")
    clock.now += timedelta(minutes=1)
    fresh = _open(client, "刚开的、无人认领", "P2")
    first = client.get("/", headers=BOARD)
    assert [t for t, _, _ in _rows(first.text)] == ["刚开的、无人认领", "早开的、已认领"]
    assert '<span class="unowned">未认领</span>' in first.text
    assert client.get("/", headers={**BOARD, "If-None-Match": first.headers["ETag"]}).status_code == 304

    client.post(f"{fresh}/acknowledge")
    after = client.get("/", headers={**BOARD, "If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert [t for t, _, _ in _rows(after.text)] == ["早开的、已认领", "刚开的、无人认领"]  # now by deadline
    assert "未认领" not in after.text


def test_an_overdue_deadline_turns_the_whole_row_red_on_the_next_poll(app, client, make_user) -> None:  # noqa: ANN001
    clock = _setup(app, client, make_user, locale="zh_Hans_CN")
    app.config["BOARD_CACHE_SECONDS"] = 0
    _open(client, "支付接口超时", "P2")  # an outage's first public notice is due in 5 minutes
    _open(client, "物流延迟投诉", "P2", kind="complaint")
    first = client.get("/", headers=BOARD)
    assert not any("overdue" in classes for _, classes, _ in _rows(first.text))

    # Nothing is written when the deadline passes: the poll must still not be answered 304.
    clock.now += timedelta(minutes=5, seconds=1)
    late = client.get("/", headers={**BOARD, "If-None-Match": first.headers["ETag"]})
    assert late.status_code == 200
    rows = {title: (classes, body) for title, classes, body in _rows(late.text)}
    assert "overdue" in rows["支付接口超时"][0]
    assert '<span class="overdue-tag">已超时</span>' in rows["支付接口超时"][1]
    assert "overdue" not in rows["物流延迟投诉"][0]
    page = client.get("/").text  # the full page (no JavaScript) says the same
    assert "overdue" in dict((t, c) for t, c, _ in _rows(page))["支付接口超时"]


def test_a_paused_clock_is_not_late(app, client, make_user) -> None:  # noqa: ANN001
    clock = _setup(app, client, make_user)
    complaint = _open(client, "等客户提供凭证", "P3", kind="complaint")
    assert client.post(f"{complaint}/clock/pause", data={"reason": "等客户提供凭证"}).status_code in (200, 303)
    clock.now += timedelta(days=3)
    [(_, classes, _)] = _rows(client.get("/").text)
    assert "overdue" not in classes
