"""The duty roster page and API: on duty now, shifts in the team's zone, field-level errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents.models import DutyShift, Role
from incidents.timeutil import utcnow
from tests.conftest import sign_in
from tests.settings.conftest import HX, audit_actions

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _shifts(db) -> list[DutyShift]:  # noqa: ANN001
    with db() as session:
        return list(session.scalars(sa.select(DutyShift).order_by(DutyShift.id)))


def _tomorrow_local() -> datetime:
    """Tomorrow 09:00 in the team's zone (shifts must fall in the page's next 14 days)."""
    return (utcnow().astimezone(SHANGHAI) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def _local(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def test_everyone_sees_who_is_on_duty_only_managers_change_it(client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.AGENT))
    page = client.get("/roster").text
    assert "On duty now" in page and "Nobody" in page and "No shifts planned." in page
    assert "Add shift" not in page and "from now for" not in page
    assert client.post("/roster/on-duty", data={"hours": "8"}).status_code == 403


def test_a_shift_typed_in_the_team_zone_is_stored_in_utc(signed_in, make_user, db) -> None:  # noqa: ANN001
    colleague = make_user(Role.DUTY_MANAGER, "wangfang")
    start = _tomorrow_local()
    response = signed_in.post("/roster/shifts", data={
        "user_id": str(colleague.id), "starts_at": _local(start), "ends_at": _local(start + timedelta(hours=10)),
        "note": "白班"})
    assert response.status_code == 303
    (shift,) = _shifts(db)
    assert shift.user_id == colleague.id and shift.note == "白班"
    assert shift.starts_at == start.astimezone(UTC) and shift.starts_at.hour == 1  # 09:00 +08:00
    assert shift.ends_at - shift.starts_at == timedelta(hours=10)
    assert audit_actions(db) == ["roster.shift_added"]
    page = signed_in.get("/roster").text
    assert "Wangfang" in page and "白班" in page and start.strftime("%m-%d") in page
    assert "Shift added for Wangfang." in page


def test_bad_shifts_are_refused_at_the_field(signed_in, make_user, db) -> None:  # noqa: ANN001
    agent = make_user(Role.AGENT)
    start = _tomorrow_local()
    good = {"user_id": str(signed_in.user.id), "starts_at": _local(start), "ends_at": _local(start + timedelta(hours=8))}
    cases = [
        ({"ends_at": _local(start - timedelta(hours=1))}, "ends_at", "The end must come after the start."),
        ({"ends_at": _local(start)}, "ends_at", "The end must come after the start."),
        ({"ends_at": _local(start + timedelta(days=7, minutes=1))}, "ends_at", "A shift lasts at most 7 days."),
        ({"user_id": "999999"}, "user_id", "No such active user."),
        ({"user_id": ""}, "user_id", "This field is required."),
        ({"user_id": str(agent.id)}, "user_id", "Only duty managers and admins can be on duty."),
        ({"starts_at": "tomorrow morning"}, "starts_at", "Enter a date and a time."),
        ({"starts_at": ""}, "starts_at", "This field is required."),
        ({"note": "x" * 201}, "note", "At most 200 characters."),
    ]
    for change, field, message in cases:
        response = signed_in.post("/roster/shifts", data={**good, **change}, headers=HX)
        assert response.status_code == 422, change
        assert 'id="roster"' in response.text and "<html" not in response.text
        assert f'<p class="field-error" id="err-{field}" role="alert">{message}</p>' in response.text, change
        for name, value in change.items():
            if name != "user_id" and value:
                assert value in response.text  # the form keeps what was typed
    assert _shifts(db) == [] and audit_actions(db) == []


def test_on_duty_for_the_next_hours(signed_in, db) -> None:  # noqa: ANN001
    response = signed_in.post("/roster/on-duty", data={"hours": "8"}, headers=HX)
    assert response.status_code == 200
    assert "You are on duty for the next 8 hours." in response.text
    assert '<p class="person">Duty</p>' in response.text
    (shift,) = _shifts(db)
    assert shift.user_id == signed_in.user.id and shift.ends_at - shift.starts_at == timedelta(hours=8)
    for hours, message in (("0", "Choose between 1 and 168 hours."), ("169", "Choose between 1 and 168 hours."),
                           ("eight", "Choose between 1 and 168 hours."), ("", "This field is required.")):
        refused = signed_in.post("/roster/on-duty", data={"hours": hours})
        assert refused.status_code == 422 and message in refused.text, hours
    assert len(_shifts(db)) == 1


def test_remove_a_shift(signed_in, db) -> None:  # noqa: ANN001
    signed_in.post("/roster/on-duty", data={"hours": "4"})
    (shift,) = _shifts(db)
    response = signed_in.post(f"/roster/shifts/{shift.id}/delete")
    assert response.status_code == 303
    assert _shifts(db) == []
    assert audit_actions(db) == ["roster.shift_added", "roster.shift_removed"]
    assert signed_in.post(f"/roster/shifts/{shift.id}/delete").status_code == 404


def test_only_the_next_14_days_are_listed(signed_in, db) -> None:  # noqa: ANN001
    start = _tomorrow_local()
    for days, note in ((2, "soon"), (20, "later")):
        signed_in.post("/roster/shifts", data={"user_id": str(signed_in.user.id), "note": note,
                                               "starts_at": _local(start + timedelta(days=days)),
                                               "ends_at": _local(start + timedelta(days=days, hours=8))})
    page = signed_in.get("/roster").text
    assert "soon" in page and "later" not in page


# -- API ---------------------------------------------------------------------------------------

def test_api_roster(api_as, make_user, db) -> None:  # noqa: ANN001
    manager = make_user(Role.DUTY_MANAGER, "zhaolei")
    api = api_as(Role.DUTY_MANAGER, user_id=manager.id)
    assert api("GET", "/api/v1/roster/on-duty").json["on_duty"] is None
    mine = api("POST", "/api/v1/roster/shifts", json={"hours": 8})
    assert mine.status_code == 201 and mine.json["user"] == "zhaolei"
    on_duty = api("GET", "/api/v1/roster/on-duty").json
    assert on_duty["on_duty"] == {"user": "zhaolei", "display_name": "Zhaolei"} and on_duty["shift"]["id"] == mine.json["id"]

    start = _tomorrow_local()
    planned = api("POST", "/api/v1/roster/shifts", json={
        "user": "zhaolei", "starts_at": _local(start), "ends_at": start.isoformat().replace("09:00:00", "18:00:00"),
        "note": "周末值班"})
    assert planned.status_code == 201, planned.json
    assert planned.json["starts_at"] == start.astimezone(UTC).isoformat()
    listed = api("GET", "/api/v1/roster/shifts").json["shifts"]
    assert [s["id"] for s in listed] == [mine.json["id"], planned.json["id"]]
    later = api("GET", f"/api/v1/roster/shifts?from={_local(start + timedelta(hours=12))}").json["shifts"]
    assert later == []

    assert api("DELETE", f"/api/v1/roster/shifts/{planned.json['id']}").status_code == 204
    assert api("DELETE", f"/api/v1/roster/shifts/{planned.json['id']}").status_code == 404
    assert audit_actions(db) == ["roster.shift_added", "roster.shift_added", "roster.shift_removed"]


def test_api_roster_bad_input(api_as, make_user, db) -> None:  # noqa: ANN001
    agent = make_user(Role.AGENT, "xiaoli")
    api = api_as(Role.ADMIN)  # a token that belongs to nobody
    start = _tomorrow_local()
    cases = [
        ({"hours": 8}, 422, "user"),
        ({"user": "ghost", "hours": 8}, 422, "user"),
        ({"user": agent.username, "hours": 8}, 422, "user"),
        ({"user": "boss2", "hours": 0}, 422, "hours"),
        ({"user": "boss2", "hours": "8"}, 422, "hours"),
        ({"user": "boss2", "starts_at": "next monday", "hours": 8}, 422, "starts_at"),
        ({"user": "boss2", "starts_at": _local(start), "ends_at": _local(start - timedelta(minutes=1))}, 422, "ends_at"),
        ({"user": "boss2", "starts_at": _local(start), "ends_at": _local(start + timedelta(days=8))}, 422, "ends_at"),
        ({"user": "boss2", "starts_at": _local(start)}, 422, "ends_at"),
        ({"user": "boss2", "ends_at": _local(start), "hours": 3}, 400, "hours"),
        ({"user": "boss2", "hours": 8, "colour": "red"}, 400, "colour"),
    ]
    make_user(Role.ADMIN, "boss2")
    for body, status, field in cases:
        response = api("POST", "/api/v1/roster/shifts", json=body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["field"] == field, body
    assert api("GET", "/api/v1/roster/shifts?from=2026-12-01T00:00&to=2026-11-30T00:00").json["error"]["field"] == "to"
    assert _shifts(db) == [] and audit_actions(db) == []
