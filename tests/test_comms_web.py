"""The comms desk in the console: the composer and its preview, sign-off, talking points, the library."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import comms, components, service
from incidents.actors import Actor
from incidents.comms_models import DraftState, ScriptVersion, UpdateDraft
from incidents.models import AuditRecord, Role, StatusUpdate
from incidents.timeutil import utcnow
from incidents.updates import set_public_identity
from tests.conftest import sign_in

HX = {"HX-Request": "true"}
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _open(app, *, severity: str = "P1") -> tuple[str, int]:  # noqa: ANN001
    """A public outage and the 下单 component; returns (page, component id)."""
    with app.extensions["db_sessionmaker"]() as session:
        order = components.save_component(session, data={"name": "下单", "name_en": "Ordering"}, actor=SYSTEM,
                                          now=utcnow())
        incident = service.open_incident(session, kind="outage", severity=severity, title="内部：订单库主从延迟",
                                         actor=SYSTEM, now=utcnow(), zone=ZONE)
        set_public_identity(session, incident=incident, public_title="部分用户下单失败",
                            public_title_en="Some orders fail", actor=SYSTEM, now=utcnow())
        session.commit()
        return f"/incidents/{incident.reference}", order.id


def _updates(app) -> list[StatusUpdate]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return list(session.scalars(sa.select(StatusUpdate).order_by(StatusUpdate.id)))


def _first_notice(order_id: int, **extra: str) -> dict[str, str]:
    return {"script": "outage.first_notice", "script_version": "0",
            "body": "我们发现{components}出现异常，预计{eta}前给出进一步消息。下次更新：{next_update_at}。",
            "body_en": "We see problems with {components}; more by {eta}. Next update by {next_update_at}.",
            "var_eta": "15:30", "var_eta_en": "15:30", "var_next_update_at": "10:10",
            "public_status": "investigating", f"comp_{order_id}": "major_outage", **extra}


def test_picking_a_script_loads_its_texts_and_the_fields_to_fill(signed_in, app) -> None:  # noqa: ANN001
    page, _order = _open(app)
    response = signed_in.get(f"{page}/composer?pick=outage.first_notice", headers=HX)
    assert response.status_code == 200 and response.text.startswith('<section id="update-form"')
    assert "我们发现{components}出现异常" in response.text
    assert 'name="var_eta"' in response.text and 'name="var_eta_en"' in response.text
    assert 'name="var_next_update_at"' in response.text and 'name="var_components"' not in response.text
    # Without JavaScript the same URL answers the whole page.
    assert "<title>" in signed_in.get(f"{page}/composer?pick=outage.first_notice").text
    assert signed_in.get(f"{page}/composer?pick=outage.nonsense", headers=HX).status_code == 422


def test_the_preview_shows_exactly_what_the_public_reads_in_both_languages(signed_in, app) -> None:  # noqa: ANN001
    page, order = _open(app)
    html = signed_in.get(f"{page}/composer/preview", query_string=_first_notice(order), headers=HX).text
    assert "我们发现下单出现异常，预计15:30前给出进一步消息。下次更新：10:10。" in html
    assert "We see problems with Ordering; more by 15:30." in html
    assert "排查中" in html and "Investigating" in html  # each language's own status name
    assert "下单 · 严重中断" in html and "Ordering · Major outage" in html
    escaped = signed_in.get(f"{page}/composer/preview", query_string={"body": "<script>alert(1)</script>"}, headers=HX).text
    assert "<script>alert" not in escaped and "&lt;script&gt;" in escaped
    missing = signed_in.get(f"{page}/composer/preview", query_string=_first_notice(order, var_eta=""), headers=HX).text
    assert "{eta}" in missing and "alert" in missing
    unknown = signed_in.get(f"{page}/composer/preview", query_string={"body": "预计 {etaa} 恢复"}, headers=HX).text
    assert "{etaa}" in unknown


def test_publishing_from_a_script_reaches_the_status_page(signed_in, app, client) -> None:  # noqa: ANN001
    page, order = _open(app)
    response = signed_in.post(f"{page}/updates", data=_first_notice(order), headers=HX)
    assert response.status_code == 200 and "Published." in response.text
    assert response.headers["HX-Trigger"] == "incident-changed"
    [update] = _updates(app)
    assert update.body.startswith("我们发现下单出现异常") and update.body_en.startswith("We see problems with Ordering")
    assert update.components == [{"id": order, "status": "major_outage", "old_status": "operational"}]
    timeline = signed_in.get(f"/api/v1/incidents/{page.rsplit('/', 1)[1]}").status_code  # session, not a token
    assert timeline == 401
    assert "We see problems with Ordering" in client.get("/status").text  # an English reader


def test_an_empty_variable_is_refused_at_its_field_and_nothing_is_published(signed_in, app) -> None:  # noqa: ANN001
    page, order = _open(app)
    response = signed_in.post(f"{page}/updates", data=_first_notice(order, var_eta_en=""), headers=HX)
    assert response.status_code == 422
    assert re.search(r'name="var_eta_en"[^>]*aria-invalid="true"', response.text)
    assert not re.search(r'name="var_eta"[^>]*aria-invalid="true"', response.text)
    assert _updates(app) == []
    plain = signed_in.post(f"{page}/updates", data={"body": "预计 {eta 恢复"})
    assert plain.status_code == 422 and "brace" in plain.text and _updates(app) == []


def test_signoff_holds_a_comms_update_until_a_duty_manager_approves(client, app, make_user) -> None:  # noqa: ANN001
    page, order = _open(app)
    with app.extensions["db_sessionmaker"]() as session:
        comms.save_comms_settings(session, {"signoff": {"outage": ["P1"]}}, actor=SYSTEM, now=utcnow())
        session.commit()
    writer = make_user(Role.COMMS, "lina")
    sign_in(client, writer)
    assert "Send for sign-off" in client.get(page).text
    sent = client.post(f"{page}/updates", data=_first_notice(order), headers=HX)
    assert sent.status_code == 200 and "Sent for sign-off" in sent.text and _updates(app) == []
    assert "Update sign-off" in client.get(f"{page}/clock").text  # waiting shows on the clock
    assert "Approve and publish" not in client.get(f"{page}/signoff").text
    assert client.post(f"{page}/drafts/1/approve").status_code == 403
    client.post("/logout")
    sign_in(client, make_user(Role.DUTY_MANAGER, "duty"))
    panel = client.get(f"{page}/signoff").text
    assert "Lina asks for sign-off" in panel and "我们发现下单出现异常" in panel and "Approve and publish" in panel
    no_reason = client.post(f"{page}/drafts/1/reject", data={"reason": " "}, headers=HX)
    assert no_reason.status_code == 422 and "required" in no_reason.text
    approved = client.post(f"{page}/drafts/1/approve", headers=HX)
    assert approved.status_code == 200 and "Duty approved the update by Lina" in approved.text
    assert [u.body[:8] for u in _updates(app)] == ["我们发现下单出现"]
    again = client.post(f"{page}/drafts/1/reject", data={"reason": "晚了"}, headers=HX)
    assert again.status_code == 409 and "already decided" in again.text
    with app.extensions["db_sessionmaker"]() as session:
        assert session.get(UpdateDraft, 1).state == DraftState.APPROVED


def test_talking_points_are_confirmed_by_agents_and_shown_to_the_team(client, app, make_user) -> None:  # noqa: ANN001
    page, _order = _open(app)
    writer, agent = make_user(Role.COMMS, "lina"), make_user(Role.AGENT, "xiaowang")
    make_user(Role.AGENT, "xiaoli")
    sign_in(client, writer)
    empty = client.post(f"{page}/talking-points", data={"body": "  "}, headers=HX)
    assert empty.status_code == 422 and 'id="talking-points-form"' in empty.text
    assert client.post(f"{page}/talking-points", data={"body": "订单不会丢失，补偿自动发放"}).status_code == 303
    client.post("/logout")
    sign_in(client, agent)
    html = client.get(page).text
    assert "订单不会丢失" in html and "I have read it" in html and 'id="talking-points-form"' not in html
    assert "订单不会丢失" in client.get("/talking-points").text
    stale = client.post(f"{page}/talking-points/confirm", data={"version": "7"}, headers=HX)
    assert stale.status_code == 409 and "newer version" in stale.text
    done = client.post(f"{page}/talking-points/confirm", data={"version": "1", "next": "mine"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/talking-points")
    panel = client.get(f"{page}/talking-points").text
    assert "You confirmed this version." in panel and "Confirmed 1 of 2" in panel
    assert panel.index("Xiaoli") < panel.index("Xiaowang")  # who has not read it comes first
    assert client.post(f"{page}/talking-points", data={"body": "x"}).status_code == 403


def test_the_library_is_read_by_all_and_versioned_by_comms(client, app, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.AGENT))
    assert "Reply to a poster" in client.get("/scripts").text
    assert client.post("/scripts/outage/progress", data={"zh": "x"}).status_code == 403
    assert client.get("/scripts/outage/gossip").status_code == 404
    client.post("/logout")
    sign_in(client, make_user(Role.COMMS, "lina"))
    bad = client.post("/scripts/outage/holding", data={"zh": "预计 {eta} 恢复"})
    assert bad.status_code == 422 and "Nothing was saved" in bad.text and "预计 {eta} 恢复" in bad.text
    saved = client.post("/scripts/outage/progress", data={"zh": "进展：{progress}", "en": "", "public_status": ""})
    assert saved.status_code == 303
    assert "In force: version 1" in client.get(saved.headers["Location"]).text
    assert client.get("/scripts/settings").status_code == 403
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(ScriptVersion.zh)) == "进展：{progress}"
        assert session.scalar(sa.select(AuditRecord.action).where(AuditRecord.action == "script.saved"))


def test_admins_choose_signoff_and_holding(client, app, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.ADMIN))
    assert client.get("/scripts/settings").status_code == 200
    bad = client.post("/scripts/settings", data={"signoff_minutes": "0", "holding_after_minutes": "2"})
    assert bad.status_code == 422 and "between 1 and" in bad.text
    ok = client.post("/scripts/settings", data={"signoff_outage_P1": "on", "signoff_minutes": "4",
                                                "holding_public_opinion": "on", "holding_after_minutes": "3"})
    assert ok.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        assert comms.comms_settings(session) == {
            "signoff": {"outage": ["P1"], "public_opinion": [], "complaint": []}, "signoff_minutes": 4,
            "holding": {"outage": False, "public_opinion": True, "complaint": False}, "holding_after_minutes": 3}


def test_the_composer_speaks_chinese(client, app, make_user) -> None:  # noqa: ANN001
    page, _order = _open(app)
    sign_in(client, make_user(Role.COMMS, "lina", locale="zh_Hans_CN"))
    html = client.get(f"{page}/composer?pick=outage.progress", headers=HX).text
    assert "话术" in html and "最新进展" in html and "发布公告" in html
