"""The console as a browser without JavaScript and as htmx sees it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from incidents.models import Incident, Role
from tests.conftest import PASSWORD, sign_in

HX = {"HX-Request": "true"}


def _open(client, title: str = "下单页面打不开", **extra) -> str:  # noqa: ANN001
    response = client.post("/incidents", data={"kind": "outage", "severity": "P1", "title": title, **extra})
    assert response.status_code == 303
    return response.headers["Location"]


def test_login_required_and_next_kept(client) -> None:  # noqa: ANN001
    response = client.get("/incidents/new")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/incidents/new")


def test_login_rejects_open_redirects(client, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.VIEWER)
    response = client.post("/login?next=//evil.example/x", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_login_rate_limit_per_account_and_address(client, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.AGENT)
    for _ in range(5):
        assert client.post("/login", data={"username": user.username, "password": "wrong"}).status_code == 401
    blocked = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "1"
    assert "1 秒后再试" in blocked.text


def test_chinese_by_default_english_on_request(client, make_user) -> None:  # noqa: ANN001
    assert "登录" in client.get("/login").text
    client.post("/language", data={"locale": "en", "next": "/login"})
    assert "Sign in" in client.get("/login").text
    user = make_user(Role.VIEWER, locale="zh_Hans_CN")
    sign_in(client, user)
    assert "事件看板" in client.get("/").text  # the user's own setting wins after sign-in


def test_open_and_see_on_board(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    assert re.search(r"/incidents/INC-\d{8}-0001$", page)
    board = signed_in.get("/").text
    assert "下单页面打不开" in board and "INC-" in board


def test_open_with_bad_input_is_422_at_the_field(signed_in) -> None:  # noqa: ANN001
    response = signed_in.post("/incidents", data={"kind": "outage", "severity": "P1", "title": " "})
    assert response.status_code == 422
    assert "This field is required." in response.text
    response = signed_in.post("/incidents", data={"kind": "flood", "severity": "P1", "title": "x"})
    assert response.status_code == 422 and "Choose one of" in response.text
    assert "INC-" not in signed_in.get("/").text


def test_htmx_open_redirects_by_header(signed_in) -> None:  # noqa: ANN001
    response = signed_in.post("/incidents", data={"kind": "complaint", "severity": "P3", "title": "投诉升级"},
                              headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/incidents/INC-")


def test_board_fragment_etag_and_304(signed_in) -> None:  # noqa: ANN001
    headers = {**HX, "HX-Target": "board"}
    first = signed_in.get("/", headers=headers)
    assert first.status_code == 200 and first.text.startswith('<section id="board"')
    assert "HX-Request" in first.headers["Vary"]
    again = signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    _open(signed_in)
    changed = signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "下单页面打不开" in changed.text


def test_board_polls_share_a_recent_render(app, signed_in, engine) -> None:  # noqa: ANN001
    """Every open board is answered from one render at most BOARD_CACHE_SECONDS old; a change
    made through this process shows at once, one made through another process after that age."""
    headers = {**HX, "HX-Target": "board"}
    _open(signed_in, "旧标题")
    app.config["BOARD_CACHE_SECONDS"] = 3600
    first = signed_in.get("/", headers=headers)
    with engine.begin() as connection:  # another web process's commit: no event reaches this one
        connection.execute(sa.update(Incident.__table__).values(title="新标题", updated_at=datetime.now(UTC)))
    held = signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert held.status_code == 304
    app.config["BOARD_CACHE_SECONDS"] = 0
    fresh = signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and "新标题" in fresh.text
    app.config["BOARD_CACHE_SECONDS"] = 3600
    _open(signed_in, "本进程的新事件")  # committed here: the render is stale at once
    assert "本进程的新事件" in signed_in.get("/", headers={**headers, "If-None-Match": fresh.headers["ETag"]}).text


def test_board_filters_and_search(signed_in) -> None:  # noqa: ANN001
    _open(signed_in, "支付失败")
    signed_in.post("/incidents", data={"kind": "complaint", "severity": "P3", "title": "物流延迟投诉"})
    assert "物流延迟投诉" not in signed_in.get("/?kind=outage").text
    assert "支付失败" not in signed_in.get("/?q=物流").text
    assert "物流延迟投诉" in signed_in.get("/?q=物流").text
    assert signed_in.get("/?kind=volcano").status_code == 422
    assert "No incidents match" in signed_in.get("/?q=%25").text  # wildcards are literal


def test_transition_buttons_only_allowed(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    html = signed_in.get(page).text
    assert 'value="identified"' in html and 'value="closed"' not in html
    response = signed_in.post(f"{page}/transitions", data={"to": "closed", "from": "investigating"}, headers=HX)
    assert response.status_code == 422
    assert "not allowed" in response.text


def test_transition_on_a_changed_status_is_a_conflict(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    assert signed_in.post(f"{page}/transitions", data={"to": "identified", "from": "investigating"}).status_code == 303
    stale = signed_in.post(f"{page}/transitions", data={"to": "monitoring", "from": "investigating"}, headers=HX)
    assert stale.status_code == 409
    assert "Someone else changed the status" in stale.text


def test_htmx_transition_returns_header_and_event(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    response = signed_in.post(f"{page}/transitions", data={"to": "identified", "from": "investigating"}, headers=HX)
    assert response.status_code == 200
    assert response.text.startswith('<section id="incident-header"')
    assert response.headers["HX-Trigger"] == "incident-changed"
    timeline = signed_in.get(f"{page}/timeline").text
    assert "Investigating → Identified" in timeline


def test_edit_conflict_shows_current_values(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in, "支付失败")
    form = {"version": "1", "seen_title": "支付失败", "title": "支付通道故障"}
    assert signed_in.post(f"{page}/edit", data=form).status_code == 303
    mine = {"version": "1", "seen_title": "支付失败", "title": "支付宝故障"}
    response = signed_in.post(f"{page}/edit", data=mine, headers=HX)
    assert response.status_code == 409
    assert "Someone else changed this incident" in response.text
    assert "支付通道故障" in response.text and "支付宝故障" in response.text
    assert "支付通道故障" in signed_in.get(page).text


def test_notes_are_escaped(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    signed_in.post(f"{page}/notes", data={"body": '<img src=x onerror="alert(1)">'})
    html = signed_in.get(page).text
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_empty_note_is_422(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    response = signed_in.post(f"{page}/notes", data={"body": ""}, headers=HX)
    assert response.status_code == 422 and "This field is required." in response.text


def test_unknown_incident_is_404_page(signed_in) -> None:  # noqa: ANN001
    response = signed_in.get("/incidents/INC-20000101-0001")
    assert response.status_code == 404 and "Traceback" not in response.text


def test_health_and_readiness(client) -> None:  # noqa: ANN001
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_security_headers(client) -> None:  # noqa: ANN001
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_response_carries_a_request_id(client) -> None:  # noqa: ANN001
    fresh = client.get("/login").headers["X-Request-ID"]
    assert len(fresh) == 32
    assert client.get("/login", headers={"X-Request-ID": "lb-7f3a.2"}).headers["X-Request-ID"] == "lb-7f3a.2"
    # Anything that could smuggle text into a log line is replaced, not echoed.
    forged = client.get("/login", headers={"X-Request-ID": "a b;Injected=1"}).headers["X-Request-ID"]
    assert forged != "a b;Injected=1" and len(forged) == 32


def test_board_puts_open_work_before_resolved(signed_in) -> None:  # noqa: ANN001
    resolved = _open(signed_in, "已恢复的故障")
    signed_in.post(f"{resolved}/transitions", data={"to": "resolved", "from": "investigating"})
    signed_in.post("/incidents", data={"kind": "complaint", "severity": "P4", "title": "轻微投诉"})
    board = signed_in.get("/").text
    assert board.index("轻微投诉") < board.index("已恢复的故障")


def test_polled_header_follows_the_language(signed_in) -> None:  # noqa: ANN001
    page = _open(signed_in)
    english = signed_in.get(f"{page}/header")
    signed_in.post("/language", data={"locale": "zh_Hans_CN"})
    chinese = signed_in.get(f"{page}/header", headers={"If-None-Match": english.headers["ETag"]})
    assert chinese.status_code == 200 and "排查中" in chinese.text
