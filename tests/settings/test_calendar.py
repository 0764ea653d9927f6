"""The business calendar: working hours, day overrides, the 30-day preview and its coverage warning."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from incidents.models import CalendarDay, Role, Setting
from tests.settings.conftest import HX, audit_actions


def _days(db) -> list[tuple[date, bool, str]]:  # noqa: ANN001
    with db() as session:
        return [(r.day, r.is_workday, r.note) for r in session.scalars(sa.select(CalendarDay).order_by(CalendarDay.day))]


def _stored_hours(db) -> dict | None:  # noqa: ANN001
    with db() as session:
        row = session.get(Setting, "business_hours")
        return row.value if row else None


def test_working_hours(admin, db) -> None:  # noqa: ANN001
    page = admin.get("/settings/calendar").text
    assert 'name="start" value="09:00"' in page and 'name="end" value="18:00"' in page
    assert admin.post("/settings/calendar/hours", data={"start": "08:30", "end": "17:30"}).status_code == 303
    assert _stored_hours(db) == {"start": "08:30", "end": "17:30"}
    assert audit_actions(db) == ["setting.changed"]
    assert "08:30–17:30" in admin.get("/settings/calendar?from=2026-09-28").text


def test_bad_working_hours_are_refused_at_the_field(admin, db) -> None:  # noqa: ANN001
    cases = [
        ({"start": "18:00", "end": "09:00"}, "end", "Working hours must end after they start."),
        ({"start": "09:00", "end": "09:00"}, "end", "Working hours must end after they start."),
        ({"start": "25:00", "end": "18:00"}, "start", "Enter a time like 09:00."),
        ({"start": "nine", "end": "18:00"}, "start", "Enter a time like 09:00."),
        ({"start": "09:00", "end": ""}, "end", "This field is required."),
    ]
    for data, field, message in cases:
        response = admin.post("/settings/calendar/hours", data=data, headers=HX)
        assert response.status_code == 422, data
        assert 'id="calendar"' in response.text and "<html" not in response.text
        assert f'<p class="field-error" id="err-{field}" role="alert">{message}</p>' in response.text, data
    assert _stored_hours(db) is None and audit_actions(db) == []


def test_day_overrides(admin, db) -> None:  # noqa: ANN001
    response = admin.post("/settings/calendar/days", data={"date": "2026-10-09", "workday": "0", "note": "公司周年庆"})
    assert response.status_code == 303
    assert _days(db) == [(date(2026, 10, 9), False, "公司周年庆")]
    preview = admin.get("/settings/calendar?from=2026-10-05").text
    assert "Set by an administrator · 公司周年庆" in preview
    # The same date again replaces the override; removing it hands the day back to China's calendar.
    admin.post("/settings/calendar/days", data={"date": "2026-10-09", "workday": "1", "note": ""})
    assert _days(db) == [(date(2026, 10, 9), True, "")]
    assert admin.post("/settings/calendar/days/2026-10-09/delete").status_code == 303
    assert _days(db) == []
    assert audit_actions(db) == ["calendar.day_set", "calendar.day_set", "calendar.day_removed"]
    assert admin.post("/settings/calendar/days/2026-10-09/delete").status_code == 404


def test_bad_overrides_are_refused_at_the_field(admin, db) -> None:  # noqa: ANN001
    cases = [
        ({"date": "", "workday": "0"}, "date", "This field is required."),
        ({"date": "2026-02-30", "workday": "0"}, "date", "Enter a date like 2026-10-01."),
        ({"date": "1999-12-31", "workday": "0"}, "date", "Choose a date between 2000-01-01 and 2100-12-31."),
        ({"date": "2026-12-31", "workday": "0", "note": "x" * 201}, "note", "At most 200 characters."),
    ]
    for data, field, message in cases:
        response = admin.post("/settings/calendar/days", data=data, headers=HX)
        assert response.status_code == 422, data
        assert f'<p class="field-error" id="err-{field}" role="alert">{message}</p>' in response.text, data
    assert _days(db) == [] and audit_actions(db) == []


def test_preview_names_holidays_and_make_up_workdays(admin) -> None:  # noqa: ANN001
    page = admin.get("/settings/calendar?from=2026-09-20").text
    days = page.split('class="days"')[1]
    sunday_worked = days.split("09-20")[1].split("</li>")[0]
    assert "09:00–18:00" in sunday_worked and "Make-up workday (调休) · National Day" in sunday_worked
    national_day = days.split("10-01")[1].split("</li>")[0]
    assert "Day off" in national_day and "Public holiday · National Day" in national_day
    assert "Weekend" in days.split("10-11")[1].split("</li>")[0]
    assert "No holiday data" not in page


def test_preview_warns_when_the_package_does_not_know_a_year(admin) -> None:  # noqa: ANN001
    page = admin.get("/settings/calendar?from=2026-12-20").text
    assert "No holiday data for 2027." in page
    assert "upgrade the chinese-calendar package" in page
    assert "Workday (guessed)" in page.split("01-01")[1].split("</li>")[0]
    assert "Weekend (guessed)" in page.split("01-02")[1].split("</li>")[0]


def test_chinese_by_default(client, make_user) -> None:  # noqa: ANN001
    from tests.conftest import sign_in

    sign_in(client, make_user(Role.ADMIN, locale="zh_Hans_CN"))
    page = client.get("/settings/calendar?from=2026-09-20").text
    assert "工作时间" in page and "调休" in page and "国庆节" in page


# -- API ---------------------------------------------------------------------------------------

def test_api_calendar(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    assert api("GET", "/api/v1/business-hours").json == {"start": "09:00", "end": "18:00"}
    assert api("PUT", "/api/v1/business-hours", json={"start": "08:00", "end": "20:00"}).json == {"start": "08:00", "end": "20:00"}
    created = api("POST", "/api/v1/calendar/days", json={"date": "2027-02-08", "workday": False, "note": "春节"})
    assert created.status_code == 201 and created.json == {"date": "2027-02-08", "workday": False, "note": "春节"}
    assert api("POST", "/api/v1/calendar/days", json={"date": "2027-02-08", "workday": True}).status_code == 200
    assert api("GET", "/api/v1/calendar/days").json["days"] == [{"date": "2027-02-08", "workday": True, "note": ""}]
    preview = api("GET", "/api/v1/calendar/preview?from=2027-02-06&days=3").json
    assert preview["uncovered_years"] == [2027] and preview["hours"] == {"start": "08:00", "end": "20:00"}
    assert [(d["date"], d["workday"], d["reason"]) for d in preview["days"]] == [
        ("2027-02-06", False, "guessed"), ("2027-02-07", False, "guessed"), ("2027-02-08", True, "override")]
    assert api("DELETE", "/api/v1/calendar/days/2027-02-08").status_code == 204
    assert api("DELETE", "/api/v1/calendar/days/2027-02-08").status_code == 404
    assert audit_actions(db) == ["setting.changed", "calendar.day_set", "calendar.day_set", "calendar.day_removed"]


def test_api_calendar_bad_input(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    for body, status, field in [
        ({"start": "18:00", "end": "08:00"}, 422, "end"),
        ({"start": 9, "end": "18:00"}, 422, "start"),
        ({"start": "09:00"}, 422, "end"),
        ({"start": "09:00", "end": "18:00", "tz": "UTC"}, 400, "tz"),
    ]:
        response = api("PUT", "/api/v1/business-hours", json=body)
        assert response.status_code == status and response.json["error"]["field"] == field, body
    for body, status, field in [
        ({"date": "2027-13-01", "workday": False}, 422, "date"),
        ({"date": 20270101, "workday": False}, 422, "date"),
        ({"date": "2027-01-01", "workday": "no"}, 422, "workday"),
        ({"date": "2027-01-01"}, 422, "workday"),
        ({"date": "2027-01-01", "workday": True, "note": 5}, 422, "note"),
    ]:
        response = api("POST", "/api/v1/calendar/days", json=body)
        assert response.status_code == status and response.json["error"]["field"] == field, body
    assert api("GET", "/api/v1/calendar/preview?days=0").json["error"]["field"] == "days"
    assert api("GET", "/api/v1/calendar/preview?from=soon").json["error"]["field"] == "from"
    assert api_as(Role.DUTY_MANAGER)("GET", "/api/v1/business-hours").status_code == 403
    assert _days(db) == [] and _stored_hours(db) is None and audit_actions(db) == []
