"""Managing the public side: component and maintenance screens without JavaScript, and their API twins."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents.models import AuditRecord, Role
from incidents.public_models import Component, Maintenance
from incidents.timeutil import utcnow
from tests.conftest import sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def admin(client, make_user):  # noqa: ANN001, ANN201
    sign_in(client, make_user(Role.ADMIN, "boss"))
    return client


def _count(app, model) -> int:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_admin_adds_and_edits_components_with_forms(app, admin) -> None:  # noqa: ANN001
    assert admin.post("/admin/component-groups", data={"name": "交易", "position": "1"}).status_code == 303
    page = admin.get("/admin/components")
    assert "交易" in page.text
    created = admin.post("/admin/components", data={"name": "支付", "name_en": "Payments", "group_id": "1",
                                                    "position": "2", "base_status": "operational",
                                                    "show_on_page": "on"})
    assert created.status_code == 303
    component_id = _only_component_id(app)
    edited = admin.post(f"/admin/components/{component_id}", data={
        "name": "支付", "group_id": "", "position": "0", "base_status": "degraded_performance"})
    assert edited.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        component = session.get(Component, component_id)
        assert (component.group_id, component.status.value, component.show_on_page) == (
            None, "degraded_performance", False)
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                              .where(AuditRecord.target_type == "component")) == 2


def _only_component_id(app) -> int:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalars(sa.select(Component.id)).one()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "x" * 101}, "name", "At most 100 characters."),
    ({"name": "支付", "position": "-1"}, "position", "Enter a whole number between 0 and 10000."),
    ({"name": "支付", "group_id": "42"}, "group_id", "There is no such group."),
    ({"name": "支付", "base_status": "melting"}, "base_status", "Choose one of"),
])
def test_component_form_errors_at_the_field(app, admin, data, field, message) -> None:  # noqa: ANN001
    response = admin.post("/admin/components", data=data)
    assert response.status_code == 422
    assert message in response.text and f'id="f-{field}"' in response.text
    assert _count(app, Component) == 0


def test_group_form_errors_keep_the_page(admin) -> None:  # noqa: ANN001
    response = admin.post("/admin/component-groups", data={"name": " "})
    assert response.status_code == 422 and "This field is required." in response.text


def test_comms_plans_edits_updates_and_cancels_maintenance(app, client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.COMMS, "comms"))
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).replace(second=0, microsecond=0, tzinfo=None)
    form = {"title": "支付通道切换", "title_en": "Payment switch", "scheduled_start": start.isoformat(timespec="minutes"),
            "scheduled_end": (start + timedelta(hours=1)).isoformat(timespec="minutes"), "body": "期间可能无法付款"}
    created = client.post("/maintenance", data=form)
    assert created.status_code == 303
    location = created.headers["Location"]
    shown = client.get(location)
    assert "支付通道切换" in shown.text and "期间可能无法付款" in shown.text
    with app.extensions["db_sessionmaker"]() as session:
        window = session.scalars(sa.select(Maintenance)).one()
        # The form's wall time is the team's zone.
        assert window.scheduled_start.astimezone(SHANGHAI).replace(tzinfo=None) == start
    moved = client.post(f"{location}/edit", data={**form, "scheduled_end": form["scheduled_start"]})
    assert moved.status_code == 422 and "The end must come after the start." in moved.text
    assert client.post(f"{location}/updates", data={"body": "提前开始", "status": "in_progress"}).status_code == 303
    assert client.post(f"{location}/updates", data={"body": "", "status": "verifying"}).status_code == 422
    assert client.post(f"{location}/cancel").status_code == 303
    assert client.post(f"{location}/cancel").status_code == 422
    assert "支付通道切换" not in client.get("/status").text


def test_bad_maintenance_form_saves_nothing(app, admin) -> None:  # noqa: ANN001
    response = admin.post("/maintenance", data={"title": "升级", "scheduled_start": "not a time",
                                                "scheduled_end": "2026-01-01T10:00"})
    assert response.status_code == 422 and "Enter a date and time." in response.text
    assert _count(app, Maintenance) == 0


def test_incident_public_face_form(app, client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.DUTY_MANAGER, "duty"))
    ref = client.post("/incidents", data={"kind": "outage", "severity": "P2", "title": "内部"}).headers[
        "Location"].rsplit("/", 1)[1]
    saved = client.post(f"/incidents/{ref}/public", data={"public_title": "支付缓慢", "internal_only": "on"})
    assert saved.status_code == 303
    page = client.get(saved.headers["Location"])
    assert 'value="支付缓慢"' in page.text and "checked" in page.text and "Saved." in page.text
    too_long = client.post(f"/incidents/{ref}/public", data={"public_title": "x" * 201})
    assert too_long.status_code == 422 and "At most 200 characters." in too_long.text
    assert "支付缓慢" not in client.get("/status").text  # internal-only


@pytest.fixture()
def api(client, make_token):  # noqa: ANN001, ANN201
    headers = make_token(Role.ADMIN)

    def call(method: str, path: str, **kwargs):  # noqa: ANN202
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def test_components_and_groups_through_the_api(api) -> None:  # noqa: ANN001
    group = api("POST", "/api/v1/component-groups", json={"name": "APP"})
    assert group.status_code == 201
    created = api("POST", "/api/v1/components", json={"name": "登录", "group_id": group.json["id"]})
    assert created.status_code == 201 and created.json["status"] == "operational"
    patched = api("PATCH", f"/api/v1/components/{created.json['id']}", json={"base_status": "major_outage"})
    assert patched.json["status"] == "major_outage" and patched.json["name"] == "登录"
    assert api("GET", "/api/v1/component-groups").json["groups"][0]["components"] == [created.json["id"]]
    renamed = api("PATCH", f"/api/v1/component-groups/{group.json['id']}", json={"name_en": "App"})
    assert renamed.json["name"] == "APP" and renamed.json["name_en"] == "App"
    bad = api("POST", "/api/v1/components", json={"name": "x", "show_on_page": "yes"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "show_on_page"
    unknown = api("POST", "/api/v1/components", json={"name": "x", "colour": "red"})
    assert unknown.status_code == 400 and unknown.json["error"]["field"] == "colour"
    assert api("PATCH", "/api/v1/components/999", json={}).status_code == 404


def test_maintenance_through_the_api(api) -> None:  # noqa: ANN001
    component = api("POST", "/api/v1/components", json={"name": "物流查询"}).json
    start = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    body = {"title": "物流接口升级", "scheduled_start": start.isoformat(),
            "scheduled_end": (start + timedelta(hours=1)).isoformat(), "components": [component["id"]]}
    naive = api("POST", "/api/v1/maintenance", json={**body, "scheduled_start": "2026-12-01T10:00:00"})
    assert naive.status_code == 422 and naive.json["error"]["field"] == "scheduled_start"
    created = api("POST", "/api/v1/maintenance", json=body)
    assert created.status_code == 201 and created.json["status"] == "scheduled"
    mid = created.json["id"]
    patched = api("PATCH", f"/api/v1/maintenance/{mid}", json={"title_en": "Logistics API upgrade"})
    assert patched.status_code == 200 and patched.json["title_en"] == "Logistics API upgrade"
    update = api("POST", f"/api/v1/maintenance/{mid}/updates", json={"body": "已开始", "status": "in_progress"})
    assert update.status_code == 201 and update.json["status"] == "in_progress"
    assert api("GET", "/api/v1/components").json["components"][0]["status"] == "under_maintenance"
    back = api("POST", f"/api/v1/maintenance/{mid}/updates", json={"body": "x", "status": "scheduled"})
    assert back.status_code == 422 and back.json["error"]["field"] == "status"
    assert api("POST", f"/api/v1/maintenance/{mid}/cancel").json["cancelled_at"]
    assert api("GET", "/api/v1/maintenance").json["maintenance"] == []


def test_public_face_through_the_api(api, make_token, client) -> None:  # noqa: ANN001
    ref = api("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P1", "title": "内部"}).json[
        "reference"]
    answer = api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "支付异常", "public_title_en": "Pay"})
    assert answer.status_code == 200 and answer.json["changed"] == ["public_title", "public_title_en"]
    bad = api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "x", "internal_only": "yes"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "internal_only"
    agent = client.put(f"/api/v1/incidents/{ref}/public", json={"public_title": "x"},
                       headers=make_token(Role.AGENT))
    assert agent.status_code == 403
