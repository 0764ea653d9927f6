"""A draft waiting for sign-off reaches its approvers (bell, team channels, board, /deadlines), on both engines;
its {next_update_at} is filled in when it is approved, at the cadence in force then."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import accounts, comms, notifications, playbooks, reviews, roster, service, team_channels
from incidents.actors import Actor
from incidents.comms_models import UpdateDraft
from incidents.lifecycle import Kind
from incidents.models import Notification, OutboxMessage, StatusUpdate, User
from incidents.updates import set_public_identity
from tests.conftest import FIXED_NOW, PASSWORD, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")
T0 = FIXED_NOW  # 10:00 in Shanghai
HX = {"HX-Request": "true"}


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _person(session, username: str, role: str) -> User:  # noqa: ANN001
    user = accounts.create_user(session, username=username, password=PASSWORD, role=role,
                                display_name=username.title(), locale="en", actor=SYSTEM, now=T0)
    session.flush()
    return user


def _channel(session, name: str, *, reminders: bool, enabled: bool = True):  # noqa: ANN001, ANN202
    return team_channels.create_channel(session, name=name, kind="webhook", reminders=reminders, escalations=True,
                                        enabled=enabled, config={"url": f"https://hooks.example.com/{name}"},
                                        actor=SYSTEM, now=T0)


def _outage(session, *, commander: User | None = None):  # noqa: ANN001, ANN202
    comms.save_comms_settings(session, {"signoff": {"outage": ["P1"]}}, actor=SYSTEM, now=T0)
    incident = service.open_incident(session, kind="outage", severity="P1", title="内部：订单库主从延迟",
                                     commander_id=commander.id if commander else None, actor=SYSTEM, now=T0,
                                     zone=SHANGHAI)
    set_public_identity(session, incident=incident, public_title="部分用户下单失败", public_title_en="Some orders fail",
                        actor=SYSTEM, now=T0)
    return incident


def _draft(session, incident, author: User, *, at: timedelta = minutes(1), values=None,  # noqa: ANN001
           opening: str = "正在处理") -> UpdateDraft:
    return comms.submit(session, incident=incident, composition=comms.Composition(
        zh=opening + "，下次更新：{next_update_at}。", en="On it. Next update by {next_update_at}.",
        values=values or {"next_update_at": "10:11"}), may_approve=False,
        actor=Actor(author.display_name, user_id=author.id), now=T0 + at, zone=SHANGHAI, public_url="https://console.example.com")


def _rung(session, draft: UpdateDraft) -> list[str]:  # noqa: ANN001
    return list(session.scalars(
        sa.select(User.username).join(Notification, Notification.user_id == User.id)
        .where(Notification.kind == "signoff", Notification.deadline_id == draft.deadline_id).order_by(User.username)))


def test_a_draft_rings_each_approver_once_and_the_channels_that_take_reminders(db_session) -> None:  # noqa: ANN001
    duty, handing_over = _person(db_session, "duty", "duty_manager"), _person(db_session, "night", "admin")
    _person(db_session, "off", "duty_manager")
    author = _person(db_session, "lina", "comms")
    roster.add_shift(db_session, user_id=duty.id, starts_at=T0 - minutes(60), ends_at=T0 + minutes(480),
                     actor=SYSTEM, now=T0)
    roster.add_shift(db_session, user_id=handing_over.id, starts_at=T0 - minutes(600), ends_at=T0 + minutes(30),
                     actor=SYSTEM, now=T0)
    duty_room = _channel(db_session, "duty-room", reminders=True)
    _channel(db_session, "escalations-only", reminders=False)
    _channel(db_session, "switched-off", reminders=True, enabled=False)
    incident = _outage(db_session, commander=duty)  # the on-duty duty manager commands it too
    db_session.commit()

    # Written in the draft's own transaction: undone with it, kept with it.
    _draft(db_session, incident, author)
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    draft = _draft(db_session, incident, author)
    db_session.commit()

    # Both people on duty, once each however many roles; not the duty manager off the roster, not the author.
    assert _rung(db_session, draft) == ["duty", "night"]
    bell = db_session.scalar(sa.select(Notification).where(Notification.user_id == duty.id))
    assert bell.incident_id == incident.id and incident.reference in bell.title and "Lina" in bell.title
    assert bell.body == "On it. Next update by (set on approval)."  # an English reader, the English text
    assert notifications.unread_count(db_session, user_id=duty.id, now=T0 + minutes(2)) == 1
    [message] = db_session.scalars(sa.select(OutboxMessage)).all()
    assert (message.channel_id, message.event) == (duty_room.id, "signoff.requested")
    assert message.idempotency_key == f"signoff:{draft.id}:channel:{duty_room.id}"
    assert "【待签核】" in message.message["text"] and message.message["url"].endswith(f"/incidents/{incident.reference}")

    # Decided, the bell stops counting it.
    comms.approve(db_session, incident=incident, draft=draft, actor=Actor("Duty", user_id=duty.id),
                  now=T0 + minutes(3), zone=SHANGHAI)
    assert notifications.unread_count(db_session, user_id=duty.id, now=T0 + minutes(3)) == 0


def test_with_nobody_on_the_roster_every_duty_manager_and_the_commander_hear_of_it(db_session) -> None:  # noqa: ANN001
    _person(db_session, "zhang", "duty_manager")
    _person(db_session, "wang", "duty_manager")
    _person(db_session, "admin", "admin")
    commander = _person(db_session, "xiaoli", "agent")
    incident = _outage(db_session, commander=commander)
    draft = _draft(db_session, incident, _person(db_session, "lina", "comms"))
    assert _rung(db_session, draft) == ["wang", "xiaoli", "zhang"]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0  # no channel takes reminders


def test_next_update_at_is_filled_when_approved_at_the_cadence_in_force_then(db_session) -> None:  # noqa: ANN001
    incident = _outage(db_session)
    draft = _draft(db_session, incident, _person(db_session, "lina", "comms"), at=minutes(1))
    assert draft.body == "正在处理，下次更新：{next_update_at}。"  # written at 10:01, not filled then
    playbooks.change_numbers(db_session, kind=Kind.OUTAGE, changes={"public_update.period": "30"},
                             business_hours=None, actor=SYSTEM, now=T0 + minutes(2))
    update = comms.approve(db_session, incident=incident, draft=draft, actor=Actor("Duty"), now=T0 + minutes(7),
                           zone=SHANGHAI)
    assert (update.body, update.body_en) == ("正在处理，下次更新：10:37。", "On it. Next update by 10:37.")
    # Someone who may approve publishes at once, with the time the composer holds.
    direct = comms.submit(db_session, incident=incident, composition=comms.Composition(
        zh="下次更新：{next_update_at}", values={"next_update_at": "10:45"}), may_approve=True, actor=SYSTEM,
        now=T0 + minutes(8), zone=SHANGHAI)
    assert isinstance(direct, StatusUpdate) and direct.body == "下次更新：10:45"


def _waiting_on(client, path: str) -> list[int]:  # noqa: ANN001
    html = client.get(path).text
    return sorted(int(part.split('"', 1)[0]) for part in html.split('id="waiting-draft-')[1:])


def test_board_and_deadlines_show_a_draft_until_it_is_decided(client, app, make_user) -> None:  # noqa: ANN001
    duty, author = make_user("duty_manager", "duty"), make_user("comms", "lina")
    with app.extensions["db_sessionmaker"]() as session:
        roster.add_shift(session, user_id=duty.id, starts_at=T0 - minutes(60), ends_at=T0 + minutes(24 * 60),
                         actor=SYSTEM, now=T0)
        incident = _outage(session)
        # Three different texts: the same text again this soon would be a retry of the first.
        approved, rejected, withdrawn = (_draft(session, incident, author, at=minutes(n), opening=opening)
                                         for n, opening in ((1, "正在处理"), (2, "仍在处理"), (3, "继续处理")))
        session.commit()
        ids = [approved.id, rejected.id, withdrawn.id]
    app.config["CLOCK"] = lambda: T0 + minutes(4)
    sign_in(client, duty)
    board = client.get("/").text
    assert "Waiting for sign-off" in board and "Lina asks for sign-off" in board and "(set on approval)" not in board
    assert "next update time, set on approval" in board
    assert _waiting_on(client, "/") == ids
    assert _waiting_on(client, "/deadlines") == ids
    assert _waiting_on(client, "/deadlines?mine=1") == ids  # the duty manager on duty answers for them
    assert client.get("/", headers={**HX, "HX-Target": "board"}).text.count('id="waiting-draft-') == 3  # polled rows
    bell = client.get("/notifications").text
    assert bell.count("notification kind-signoff") == 3 and "On it. Next update by" in bell

    page = f"/incidents/{incident.reference}"
    assert client.post(f"{page}/drafts/{approved.id}/approve", headers=HX).status_code == 200
    assert client.post(f"{page}/drafts/{rejected.id}/reject", data={"reason": "口径不对"}, headers=HX).status_code == 200
    assert _waiting_on(client, "/") == [withdrawn.id] and _waiting_on(client, "/deadlines") == [withdrawn.id]
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.get_incident(session, incident.reference)
        reviews.waive_review(session, incident=incident, reason="演练", actor=SYSTEM, now=T0 + minutes(4))
        for target in ("resolved", "closed"):
            service.transition_incident(session, incident=incident, target=target, expected_version=None,
                                        actor=SYSTEM, now=T0 + minutes(4), zone=SHANGHAI)
        session.commit()
    assert _waiting_on(client, "/") == [] and _waiting_on(client, "/deadlines") == []
    assert "Waiting for sign-off" not in client.get("/").text
    with app.extensions["db_sessionmaker"]() as session:
        [update] = session.scalars(sa.select(StatusUpdate)).all()
    assert update.body == "正在处理，下次更新：10:14。"  # approved at 10:04, a 10-minute cadence


def test_a_draft_sent_through_the_api_rings_the_approvers_too(app, api_as, make_user) -> None:  # noqa: ANN001
    duty = make_user("duty_manager", "duty")
    with app.extensions["db_sessionmaker"]() as session:
        reference = _outage(session).reference
        session.commit()
    sent = api_as("comms")("POST", f"/api/v1/incidents/{reference}/updates",
                           json={"body": "正在处理，下次更新：{next_update_at}。"})
    assert sent.status_code == 202 and sent.json["draft"]["body"] == "正在处理，下次更新：{next_update_at}。"
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(sa.select(Notification.user_id).where(Notification.kind == "signoff")).all() == [duty.id]
