"""The clock in the console, as a browser without JavaScript and as htmx sees it."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import escalation, notify, roster, service
from incidents.actors import Actor
from incidents.models import Deadline, DeadlineState, Incident, Notification, Role, StatusUpdate, User
from incidents.timeutil import utcnow
from incidents.updates import set_public_identity
from tests.conftest import sign_in
from tests.support.reviews import waive_review_of

HX = {"HX-Request": "true"}
ACTION = {**HX, "HX-Target": "clock-action"}
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _open(app, *, kind: str = "outage", minutes_ago: float = 0, title: str = "下单接口超时") -> str:  # noqa: ANN001
    """An incident opened `minutes_ago` (its deadlines count from then); returns its page."""
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind=kind, severity="P1", title=title, actor=SYSTEM,
                                         now=utcnow() - timedelta(minutes=minutes_ago), zone=ZONE)
        # Publishing needs a public title; the composer's inline title has its own tests.
        set_public_identity(session, incident=incident, public_title="部分用户下单失败", actor=SYSTEM, now=utcnow())
        session.commit()
        return f"/incidents/{incident.reference}"


def _deadlines(app, page: str) -> list[Deadline]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = session.scalar(sa.select(Incident).where(Incident.reference == page.rsplit("/", 1)[1]))
        return list(session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)
                                    .order_by(Deadline.id)))


def _deadline(app, page: str, rule: str) -> Deadline:  # noqa: ANN001
    return next(d for d in _deadlines(app, page) if d.rule_key == rule and d.state.value in ("pending", "missed"))


def test_page_carries_the_server_time_and_a_live_countdown(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app, minutes_ago=3.5)
    html = signed_in.get(page).text
    assert re.search(r'<meta name="server-time" content="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z">', html)
    clock = html[html.index('id="incident-clock"'):html.index('id="clock-action"')]
    assert "Next deadline" in clock and "First public notice" in clock
    # Due 5 minutes after opening, reminded 2 minutes before: amber already, the script takes over.
    assert re.search(r'class="countdown soon big" role="timer"\s+data-due="[^"]+Z" data-remind-ms="120000"', clock)
    assert re.search(r'<span class="count">0[01]:\d\d</span>', clock)
    assert "Nobody" in clock and "Comms lead" in clock  # no comms lead, no commander, nobody on duty


def test_publishing_meets_the_first_notice_and_starts_the_cadence(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    response = signed_in.post(f"{page}/updates", data={"body": "支付回调延迟，订单不会丢失。", "public_status": "investigating"})
    assert response.status_code == 303
    clock = signed_in.get(f"{page}/clock").text
    assert "Met on time" in clock
    assert re.search(r"Next deadline</p>\s*<p class=\"next-name\">Public progress update", clock)
    timeline = signed_in.get(f"{page}/timeline").text
    assert "published a public update" in timeline and "Met: First public notice" in timeline
    assert "Started: Public progress update, due" in timeline
    states = {d.rule_key: d.state for d in _deadlines(app, page)}
    assert states == {"first_notice": DeadlineState.MET, "public_update": DeadlineState.PENDING}


def test_publishing_bad_input_is_422_at_the_field(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    response = signed_in.post(f"{page}/updates", data={"body": "  ", "public_status": "investigating"}, headers=HX)
    assert response.status_code == 422 and response.text.startswith('<section id="update-form"')
    assert 'aria-invalid="true">' in response.text and "This field is required." in response.text
    response = signed_in.post(f"{page}/updates", data={"body": "已恢复", "public_status": "closed"}, headers=HX)
    assert response.status_code == 422 and "Choose one of" in response.text
    assert "已恢复" in response.text  # what was typed stays
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(sa.func.count(StatusUpdate.id))) == 0
    assert _deadline(app, page, "first_notice").state == DeadlineState.PENDING


def test_ticking_a_step_records_who_and_meets_its_deadline(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    response = signed_in.post(f"{page}/checklist/banner", headers=HX)
    assert response.status_code == 200 and response.text.startswith('<section id="checklist"')
    assert response.headers["HX-Trigger"] == "incident-changed"
    assert re.search(r"Done by Duty at \d\d-\d\d \d\d:\d\d", response.text)
    assert "1/5" in response.text
    assert [d.state for d in _deadlines(app, page)] == [DeadlineState.MET]
    # Without JavaScript: a plain post and a 303 back; an unknown step is a 422 in the panel.
    assert signed_in.post(f"{page}/checklist/agent_script").status_code == 303
    unknown = signed_in.post(f"{page}/checklist/dance", headers=HX)
    assert unknown.status_code == 422 and "There is no such step in this playbook." in unknown.text


def test_waiving_needs_a_reason_at_the_field(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    deadline = _deadline(app, page, "first_notice")
    form = signed_in.get(f"{page}/deadlines/{deadline.id}", headers=ACTION)
    assert form.text.startswith('<div id="clock-action"') and "First public notice" in form.text
    empty = signed_in.post(f"{page}/deadlines/{deadline.id}/waive", data={"reason": " ", "origin": "action"},
                           headers=ACTION)
    assert empty.status_code == 422 and empty.text.startswith('<div id="clock-action"')
    assert re.search(r'aria-invalid="true">\s*</textarea>\s*<p class="field-error" role="alert">This field is required.',
                     empty.text)
    assert _deadline(app, page, "first_notice").state == DeadlineState.PENDING
    done = signed_in.post(f"{page}/deadlines/{deadline.id}/waive", data={"reason": "公告已在客户群发出",
                                                                         "origin": "action"}, headers=ACTION)
    assert done.status_code == 200 and "“First public notice” waived." in done.text
    assert done.headers["HX-Trigger"] == "incident-changed"
    clock = signed_in.get(f"{page}/clock").text
    assert "Waived" in clock and "公告已在客户群发出" in clock
    again = signed_in.post(f"{page}/deadlines/{deadline.id}/waive", data={"reason": "再次"}, headers=HX)
    assert again.status_code == 422 and "This deadline was already waived." in again.text


def test_waive_form_works_without_javascript(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    deadline = _deadline(app, page, "first_notice")
    form = signed_in.get(f"{page}/deadlines/{deadline.id}")
    assert form.status_code == 200 and 'id="action-reason"' in form.text and 'id="incident-clock"' in form.text
    empty = signed_in.post(f"{page}/deadlines/{deadline.id}/waive", data={"reason": "", "origin": "action"})
    assert empty.status_code == 422 and "This field is required." in empty.text and "<html" in empty.text
    assert signed_in.post(f"{page}/deadlines/{deadline.id}/waive", data={"reason": "x"}).status_code == 303
    assert signed_in.get(f"{page}/deadlines/999999").status_code == 404
    other = _open(app, title="另一个事件")
    assert signed_in.get(f"{other}/deadlines/{deadline.id}").status_code == 404


def test_met_late_says_by_how_much_and_twice_is_refused(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app, minutes_ago=8)
    deadline = _deadline(app, page, "first_notice")
    response = signed_in.post(f"{page}/deadlines/{deadline.id}/met", headers=HX)
    assert response.status_code == 200 and response.text.startswith('<section id="incident-clock"')
    assert re.search(r'<span class="late">Met 3m \d\ds late</span>', response.text)
    twice = signed_in.post(f"{page}/deadlines/{deadline.id}/met", headers=HX)
    assert twice.status_code == 422 and "This deadline is already met." in twice.text
    noted = _open(app, title="带说明")
    deadline = _deadline(app, noted, "first_notice")
    signed_in.post(f"{noted}/deadlines/{deadline.id}/met", data={"reason": "电话通知了大客户", "origin": "action"})
    clock = signed_in.get(f"{noted}/clock").text
    assert "Met on time" in clock and "电话通知了大客户" in clock


def test_pausing_is_for_complaints_with_a_reason(signed_in, app) -> None:  # noqa: ANN001
    outage = _open(app)
    refused = signed_in.post(f"{outage}/clock/pause", data={"reason": "等", "origin": "action"}, headers=ACTION)
    assert refused.status_code == 422 and "Only a complaint&#39;s clock can be paused." in refused.text
    assert "Pause the clock" not in signed_in.get(f"{outage}/clock").text
    complaint = _open(app, kind="complaint", title="退款未到账")
    assert "Pause the clock (waiting on the customer)" in signed_in.get(f"{complaint}/clock").text
    empty = signed_in.post(f"{complaint}/clock/pause", data={"reason": "", "origin": "action"}, headers=ACTION)
    assert empty.status_code == 422 and "This field is required." in empty.text
    done = signed_in.post(f"{complaint}/clock/pause", data={"reason": "等客户提供转账凭证", "origin": "action"},
                          headers=ACTION)
    assert done.status_code == 200 and "The clock is paused." in done.text
    clock = signed_in.get(f"{complaint}/clock").text
    assert "Clock paused" in clock and "Resume the clock" in clock and "left, clock paused" in clock
    assert "data-due" not in clock  # a paused countdown does not tick
    assert all(d.paused_at is not None for d in _deadlines(app, complaint))
    resumed = signed_in.post(f"{complaint}/clock/resume", headers=HX)
    assert resumed.status_code == 200 and "data-due" in resumed.text
    timeline = signed_in.get(f"{complaint}/timeline").text
    assert "paused the clock" in timeline and "等客户提供转账凭证" in timeline
    assert re.search(r"resumed the clock</span>\s*<span class=\"change\">paused for 0m \d\ds", timeline)
    again = signed_in.post(f"{complaint}/clock/resume", headers=HX)
    assert again.status_code == 422 and "The clock is not paused." in again.text


def test_escalations_read_as_who_was_told(signed_in, app, make_user) -> None:  # noqa: ANN001
    page = _open(app, minutes_ago=20)
    with app.extensions["db_sessionmaker"]() as session:
        escalation.fire_due(session, now=utcnow(), zone=ZONE)
        session.commit()
    timeline = signed_in.get(f"{page}/timeline").text
    assert "a deadline was missed" in timeline and "escalated an overdue deadline" in timeline
    assert re.search(r"step 1 · First public notice \(due \d\d:\d\d\) → Commander: Duty", timeline)
    assert re.search(r"step 2 · First public notice \(due \d\d:\d\d\) → Duty manager on duty: Duty", timeline)
    clock = signed_in.get(f"{page}/clock").text
    assert "Overdue" in clock and re.search(r'class="countdown overdue big"[^>]*>.*<span class="count">\+\d\d:\d\d', clock, re.S)


def test_closed_incident_stops_the_clock(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app, minutes_ago=20)
    waive_review_of(app, page)
    for target in ("resolved", "closed"):
        signed_in.post(f"{page}/transitions", data={"to": target})
    clock = signed_in.get(f"{page}/clock").text
    assert "The incident is closed: its clock has stopped." in clock and "data-due" not in clock
    assert "Mark met" not in clock
    assert 'name="body"' in signed_in.get(page).text and "disabled" in signed_in.get(page).text


def test_roles_see_and_may_do_their_part(client, app, make_user) -> None:  # noqa: ANN001
    page = _open(app)
    agent = make_user(Role.AGENT)
    sign_in(client, agent)
    html = client.get(page).text
    assert 'action="' + page + '/checklist/banner"' in html  # agents tick what they did
    assert 'id="update-form"' not in html and "Mark met" not in html
    assert client.post(f"{page}/updates", data={"body": "x"}).status_code == 403
    client.post("/logout")
    comms = make_user(Role.COMMS)
    sign_in(client, comms)
    html = client.get(page).text
    assert 'id="update-form"' in html and "Mark met" not in html
    assert client.post(f"{page}/updates", data={"body": "我们正在处理"}).status_code == 303
    client.post("/logout")
    viewer = make_user(Role.VIEWER)
    sign_in(client, viewer)
    html = client.get(page).text
    assert "step-button" not in html and 'id="update-form"' not in html


def test_board_shows_the_next_deadline_and_who_is_on_duty(signed_in, app) -> None:  # noqa: ANN001
    _open(app, kind="public_opinion", title="微博差评")
    _open(app, minutes_ago=2, title="支付失败")
    headers = {**HX, "HX-Target": "board"}
    first = signed_in.get("/", headers=headers)
    text = first.text
    assert text.index("支付失败") < text.index("微博差评")
    assert '<span class="rule">First public notice</span>' in text
    assert "Duty manager on duty" in text and "nobody on the roster" in text
    assert signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]}).status_code == 304
    with app.extensions["db_sessionmaker"]() as session:
        now = utcnow()
        roster.add_shift(session, user_id=signed_in.user.id, starts_at=now - timedelta(hours=1),
                         ends_at=now + timedelta(hours=1), actor=SYSTEM, now=now)
        session.commit()
    changed = signed_in.get("/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "<strong>Duty</strong>" in changed.text


def test_deadlines_page_soonest_first_with_owners(signed_in, app, make_user) -> None:  # noqa: ANN001
    late = _open(app, minutes_ago=7, title="已超时的故障")
    _open(app, kind="complaint", title="投诉：主管回电")
    closed = _open(app, minutes_ago=30, title="已关闭的故障")
    waive_review_of(app, closed)
    for target in ("resolved", "closed"):
        signed_in.post(f"{closed}/transitions", data={"to": target})
    comms = make_user(Role.COMMS, "wangfang")
    with app.extensions["db_sessionmaker"]() as session:
        incident = session.scalar(sa.select(Incident).where(Incident.reference == late.rsplit("/", 1)[1]))
        service.edit_incident(session, incident=incident, changes={"comms_lead_id": comms.id},
                              expected_version=None, actor=SYSTEM, now=utcnow())
        session.commit()
    html = signed_in.get("/deadlines").text
    assert 'href="/deadlines"' in html  # in the nav
    assert html.index("已超时的故障") < html.index("投诉：主管回电")
    assert "已关闭的故障" not in html
    assert "Missed, due at" not in html  # the worker has not run; it is simply past due
    assert re.search(r"Wangfang\s*<span class=\"owner-role\">\(Comms lead\)", html)
    assert "(Commander, nobody on the roster)" not in html
    assert "Supervisor calls back" in html and "First plan to the customer" in html
    mine = signed_in.get("/deadlines?mine=1").text
    assert "Nothing is waiting on you." in mine
    with app.extensions["db_sessionmaker"]() as session:
        now = utcnow()
        roster.add_shift(session, user_id=signed_in.user.id, starts_at=now - timedelta(hours=1),
                         ends_at=now + timedelta(hours=1), actor=SYSTEM, now=now)
        session.commit()
    mine = signed_in.get("/deadlines?mine=1").text  # on duty, Duty now stands in for the complaint's commander
    assert "投诉：主管回电" in mine and "已超时的故障" not in mine
    fragment = signed_in.get("/deadlines", headers={**HX, "HX-Target": "deadlines"})
    assert fragment.text.startswith('<section id="deadlines"')
    again = signed_in.get("/deadlines", headers={**HX, "HX-Target": "deadlines", "If-None-Match": fragment.headers["ETag"]})
    assert again.status_code == 304


def _notify(app, page: str, user: User, kind: str = "reminder") -> int:  # noqa: ANN001
    deadline = _deadline(app, page, "first_notice")
    with app.extensions["db_sessionmaker"]() as session:
        deadline = session.get(Deadline, deadline.id)
        [row] = notify.notify_people(session, [session.get(User, user.id)], kind=kind, incident=deadline.incident,
                                     deadline=deadline, now=utcnow(), zone=ZONE)
        session.commit()
        return row.id


def test_the_bell_counts_and_answers_304_while_unchanged(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    first = signed_in.get("/notifications/bell", headers=HX)
    assert first.text.startswith('<a id="bell"') and "bell-count" not in first.text
    assert signed_in.get("/notifications/bell", headers={**HX, "If-None-Match": first.headers["ETag"]}).status_code == 304
    _notify(app, page, signed_in.user)
    _notify(app, page, signed_in.user, kind="overdue")
    counted = signed_in.get("/notifications/bell", headers={**HX, "If-None-Match": first.headers["ETag"]})
    assert counted.status_code == 200 and 'data-count="2">2</span>' in counted.text
    assert 'data-count="2"' in signed_in.get("/").text  # every page carries it
    listing = signed_in.get("/notifications").text
    assert listing.count('class="notification kind-') == 2 and "[Due soon]" in listing


def test_mark_read_snooze_and_mark_all(signed_in, app) -> None:  # noqa: ANN001
    page = _open(app)
    first = _notify(app, page, signed_in.user)
    second = _notify(app, page, signed_in.user, kind="overdue")
    read = signed_in.post(f"/notifications/{first}/read", headers=HX)
    assert read.status_code == 200 and read.headers["HX-Trigger"] == "notifications-changed"
    assert read.text.startswith('<section id="notification-list"')
    bad = signed_in.post(f"/notifications/{second}/snooze", data={"minutes": "15", "reason": ""}, headers=HX)
    assert bad.status_code == 422 and "This field is required." in bad.text and "<details class=\"snooze\" open" in bad.text
    odd = signed_in.post(f"/notifications/{second}/snooze", data={"minutes": "45", "reason": "开会"}, headers=HX)
    assert odd.status_code == 422 and "Choose one of: 5, 15, 30." in odd.text
    done = signed_in.post(f"/notifications/{second}/snooze", data={"minutes": "5", "reason": "正在和技术确认"})
    assert done.status_code == 303
    listing = signed_in.get("/notifications").text
    assert "Snoozed" in listing and "back at" in listing and "Nothing needs you right now." in listing
    assert "bell-count" not in signed_in.get("/notifications/bell").text
    timeline = signed_in.get(f"{page}/timeline").text
    assert "snoozed a reminder" in timeline and "正在和技术确认" in timeline and "5 min, until" in timeline
    third = _notify(app, page, signed_in.user)
    assert signed_in.post("/notifications/read-all").status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        rows = {n.id: n for n in session.scalars(sa.select(Notification))}
    assert rows[third].read_at is not None and rows[second].read_at is None  # the snoozed one waits
    assert signed_in.post("/notifications/999999/read").status_code == 404


def test_someone_elses_notification_is_not_found(client, app, make_user) -> None:  # noqa: ANN001
    page = _open(app)
    owner = make_user(Role.COMMS)
    row = _notify(app, page, owner)
    sign_in(client, make_user(Role.DUTY_MANAGER))
    assert client.post(f"/notifications/{row}/read").status_code == 404
    assert client.post(f"/notifications/{row}/snooze", data={"minutes": "5", "reason": "x"}).status_code == 404
