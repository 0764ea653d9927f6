"""Resolving and the inline public title in the console, as htmx and a browser without JavaScript send them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import components, service
from incidents.actors import Actor
from incidents.models import Incident, StatusUpdate
from incidents.timeutil import utcnow
from incidents.updates import publish_update, set_public_identity

HX = {"HX-Request": "true"}
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _open(app, *, public: bool) -> tuple[str, int]:  # noqa: ANN001
    """An outage on 下单, already on the status page or fresh; returns (page, component id)."""
    with app.extensions["db_sessionmaker"]() as session:
        order = components.save_component(session, data={"name": "下单", "name_en": "Ordering"}, actor=SYSTEM,
                                          now=utcnow())
        incident = service.open_incident(session, kind="outage", severity="P1", title="内部：订单库主从延迟",
                                         actor=SYSTEM, now=utcnow(), zone=ZONE)
        if public:
            set_public_identity(session, incident=incident, public_title="部分用户下单失败", actor=SYSTEM, now=utcnow())
            publish_update(session, incident=incident, body="我们正在排查。", actor=SYSTEM, now=utcnow(), zone=ZONE,
                           components={order.id: "major_outage"})
        session.commit()
        return f"/incidents/{incident.reference}", order.id


def _state(app, page: str) -> tuple[str, str | None, list[str]]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = session.scalar(sa.select(Incident).where(Incident.reference == page.rsplit("/", 1)[1]))
        updates = session.scalars(sa.select(StatusUpdate.public_status).where(StatusUpdate.incident_id == incident.id)
                                  .order_by(StatusUpdate.id))
        return incident.status.value, incident.public_title, [u.value for u in updates]


def test_the_header_offers_the_resolved_notice_only_for_a_public_incident(signed_in, app) -> None:  # noqa: ANN001
    public, _ = _open(app, public=True)
    header = signed_in.get(f"{public}/header").text
    assert f'href="{public}/composer?resolve=1"' in header
    composer = signed_in.get(f"{public}/composer?resolve=1", headers=HX)
    assert composer.status_code == 200
    assert "{components}已恢复正常" in composer.text and 'name="to" value="resolved"' in composer.text
    assert "下单已恢复正常" in composer.text  # the preview, components back to operational
    quiet, _ = _open(app, public=False)
    assert f'href="{quiet}/composer?resolve=1"' not in signed_in.get(f"{quiet}/header").text


def test_publishing_the_resolved_notice_resolves_once(signed_in, app) -> None:  # noqa: ANN001
    page, order = _open(app, public=True)
    form = {"to": "resolved", "from": "investigating", "body": "{components}已恢复正常。", "public_status": "resolved",
            "script": "outage.recovered", f"comp_{order}": "operational"}
    first = signed_in.post(f"{page}/transitions", data=form, headers=HX)
    assert first.status_code == 200 and first.headers["HX-Trigger"] == "incident-changed"
    assert "Published and marked resolved." in first.text
    again = signed_in.post(f"{page}/transitions", data=form, headers=HX)  # a double click
    assert again.status_code == 200 and "Already resolved." in again.text
    assert _state(app, page) == ("resolved", "部分用户下单失败", ["investigating", "resolved"])


def test_a_refused_resolved_notice_resolves_nothing(signed_in, app) -> None:  # noqa: ANN001
    page, order = _open(app, public=True)
    form = {"to": "resolved", "from": "investigating", "body": "已恢复，下次更新 {next_update_at}",
            "public_status": "resolved", f"comp_{order}": "operational"}
    refused = signed_in.post(f"{page}/transitions", data=form, headers=HX)
    assert refused.status_code == 422 and refused.text.startswith('<section id="update-form"')
    assert "take {next_update_at} out of the text" in refused.text and "已恢复，下次更新" in refused.text
    still_down = signed_in.post(f"{page}/transitions", data={**form, "body": "已恢复", f"comp_{order}": "major_outage"},
                                headers=HX)
    assert still_down.status_code == 422
    assert _state(app, page) == ("investigating", "部分用户下单失败", ["investigating"])


def test_the_inline_public_title_is_saved_with_the_first_update(signed_in, app) -> None:  # noqa: ANN001
    page, order = _open(app, public=False)
    html = signed_in.get(page).text
    assert 'name="public_title" value="部分服务异常"' in html  # the suggestion from the kind
    chosen = signed_in.get(f"{page}/composer/preview", query_string={
        "body": "x", f"comp_{order}": "major_outage", "public_title": "部分服务异常",
        "public_title_suggested": "部分服务异常"}, headers=HX)
    assert 'hx-swap-oob="true"' in chosen.text and 'value="下单服务异常"' in chosen.text
    typed = signed_in.get(f"{page}/composer/preview", query_string={
        "body": "x", f"comp_{order}": "major_outage", "public_title": "下单失败",
        "public_title_suggested": "部分服务异常"}, headers=HX)
    assert "hx-swap-oob" not in typed.text  # what a person typed is never replaced
    refused = signed_in.post(f"{page}/updates", data={"body": "我们正在排查。", "public_title": " "}, headers=HX)
    assert refused.status_code == 422 and "Give the incident a public title first" in refused.text
    assert _state(app, page) == ("investigating", None, [])
    published = signed_in.post(f"{page}/updates", data={"body": "我们正在排查。", "public_title": "下单服务异常",
                                                        "public_status": "investigating"})
    assert published.status_code == 303
    assert _state(app, page) == ("investigating", "下单服务异常", ["investigating"])
    assert 'name="public_title"' not in signed_in.get(page).text
