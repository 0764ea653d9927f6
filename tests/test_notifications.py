"""The bell's domain on the real databases: what counts, reading, snoozing and its timeline."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import accounts, deadlines, notifications, notify, service
from incidents.actors import Actor
from incidents.errors import InvalidInput, NotFound
from incidents.models import Deadline, EventKind, Incident, Notification, TimelineEvent, User
from tests.conftest import FIXED_NOW

ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _person(session, name: str = "wangfang") -> User:  # noqa: ANN001
    user = accounts.create_user(session, username=name, password="correct-horse-battery", role="comms",
                                display_name=name.title(), actor=SYSTEM, now=FIXED_NOW)
    session.flush()
    return user


def _reminded(session, user: User) -> tuple[Incident, Deadline, Notification]:  # noqa: ANN001
    """An outage whose first-notice reminder reached `user`."""
    incident = service.open_incident(session, kind="outage", severity="P1", title="下单失败", actor=SYSTEM,
                                     now=FIXED_NOW, zone=ZONE)
    deadline = session.scalar(sa.select(Deadline).where(Deadline.incident_id == incident.id))
    [notification] = notify.notify_people(session, [user], kind="reminder", incident=incident, deadline=deadline,
                                          now=FIXED_NOW + timedelta(minutes=3), zone=ZONE)
    session.flush()
    return incident, deadline, notification


def test_count_reading_and_marking_all(db_session) -> None:  # noqa: ANN001
    user = _person(db_session)
    other = _person(db_session, "liuyang")
    _reminded(db_session, user)
    _, _, second = _reminded(db_session, user)
    _reminded(db_session, other)
    now = FIXED_NOW + timedelta(minutes=3)
    assert notifications.unread_count(db_session, user_id=user.id, now=now) == 2
    assert notifications.mark_read(db_session, notification=second, actor=Actor(label="reader", user_id=user.id), now=now) is True
    assert notifications.mark_read(db_session, notification=second, actor=Actor(label="reader", user_id=user.id), now=now) is False
    assert notifications.unread_count(db_session, user_id=user.id, now=now) == 1
    assert notifications.mark_all_read(db_session, user_id=user.id, actor=Actor(label="reader", user_id=user.id), now=now) == 1
    assert notifications.unread_count(db_session, user_id=user.id, now=now) == 0
    assert notifications.unread_count(db_session, user_id=other.id, now=now) == 1  # someone else's stays
    with pytest.raises(NotFound):
        notifications.get_notification(db_session, user_id=other.id, notification_id=second.id)


def test_snooze_hides_until_then_counts_again_and_leaves_the_deadline(db_session) -> None:  # noqa: ANN001
    user = _person(db_session)
    incident, deadline, notification = _reminded(db_session, user)
    due_before = deadline.due_at
    now = FIXED_NOW + timedelta(minutes=3)
    notifications.mark_read(db_session, notification=notification, actor=Actor(label="reader", user_id=user.id), now=now)
    event = notifications.snooze(db_session, notification=notification, minutes="15", reason="在和技术确认恢复时间",
                                 actor=Actor(label="Wangfang", user_id=user.id), now=now)
    db_session.commit()
    assert notification.snoozed_until == now + timedelta(minutes=15)
    assert notification.read_at is None  # it comes back as something to do
    assert event.kind == EventKind.REMINDER_SNOOZED and event.incident_id == incident.id
    assert event.body == "在和技术确认恢复时间"
    assert event.data["minutes"] == 15 and event.data["rule"] == "first_notice"
    assert deadline.due_at == due_before and deadline.next_fire_at is not None  # the clock runs on
    edge = now + timedelta(minutes=15)
    assert notifications.unread_count(db_session, user_id=user.id, now=edge - timedelta(seconds=1)) == 0
    box = notifications.inbox(db_session, user_id=user.id, now=edge - timedelta(seconds=1))
    assert box.snoozed == [notification] and box.waiting == []
    assert notifications.unread_count(db_session, user_id=user.id, now=edge) == 1
    # "Mark all read" leaves what is still snoozed alone.
    assert notifications.mark_all_read(db_session, user_id=user.id, actor=Actor(label="reader", user_id=user.id), now=edge - timedelta(seconds=1)) == 0


def test_a_settled_deadline_stops_counting(db_session) -> None:  # noqa: ANN001
    user = _person(db_session)
    incident, deadline, notification = _reminded(db_session, user)
    now = FIXED_NOW + timedelta(minutes=4)
    deadlines.waive(db_session, incident=incident, deadline=deadline, reason="客户群已公告", actor=SYSTEM, now=now)
    assert notifications.unread_count(db_session, user_id=user.id, now=now) == 0
    box = notifications.inbox(db_session, user_id=user.id, now=now)
    assert box.waiting == [] and box.earlier == [notification]
    with pytest.raises(InvalidInput) as caught:
        notifications.snooze(db_session, notification=notification, minutes=5, reason="x", actor=SYSTEM, now=now)
    assert caught.value.reason == "deadline_settled"


@pytest.mark.parametrize(("minutes", "reason", "field"), [
    ("10", "开会", "minutes"),
    ("", "开会", "minutes"),
    (None, "开会", "minutes"),
    (True, "开会", "minutes"),
    ("five", "开会", "minutes"),
    (15, "   ", "reason"),
    (15, "长" * 501, "reason"),
])
def test_bad_snoozes_name_the_field_and_change_nothing(db_session, minutes, reason, field) -> None:  # noqa: ANN001
    user = _person(db_session)
    incident, _, notification = _reminded(db_session, user)
    db_session.commit()
    with pytest.raises(InvalidInput) as caught:
        notifications.snooze(db_session, notification=notification, minutes=minutes, reason=reason, actor=SYSTEM,
                             now=FIXED_NOW + timedelta(minutes=3))
    assert caught.value.field == field
    db_session.rollback()
    assert db_session.get(Notification, notification.id).snoozed_until is None
    kinds = db_session.scalars(sa.select(TimelineEvent.kind).where(TimelineEvent.incident_id == incident.id)).all()
    assert EventKind.REMINDER_SNOOZED not in kinds


def test_a_notification_without_a_deadline_cannot_be_snoozed(db_session) -> None:  # noqa: ANN001
    user = _person(db_session)
    plain = Notification(user_id=user.id, kind="note", title="系统维护通知", created_at=FIXED_NOW)
    db_session.add(plain)
    db_session.flush()
    assert notifications.unread_count(db_session, user_id=user.id, now=FIXED_NOW) == 1
    with pytest.raises(InvalidInput) as caught:
        notifications.snooze(db_session, notification=plain, minutes=5, reason="x", actor=SYSTEM, now=FIXED_NOW)
    assert caught.value.reason == "not_snoozable"
