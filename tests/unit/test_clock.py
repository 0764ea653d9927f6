"""The clock's pure rules at exact boundary minutes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents import clock
from incidents.business_hours import BusinessCalendar

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def schedule(due_in: int = 10, remind_before: int = 2, every: int = 5) -> clock.Schedule:
    due = T0 + minutes(due_in)
    return clock.Schedule(due_at=due, remind_at=clock.remind_time(due, remind_before, created_at=T0), escalate_every=every)


def test_due_after_wall_clock() -> None:
    assert clock.due_after(T0, 60) == T0 + minutes(60)


def test_due_after_counts_working_minutes_with_a_calendar() -> None:
    calendar = BusinessCalendar(zone=SHANGHAI)
    friday_5pm = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 17:00 local
    # 60 working minutes from Friday 17:00: 60 before closing... then Monday 09:00 + 0.
    assert clock.due_after(friday_5pm, 60, calendar) == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert clock.due_after(friday_5pm, 90, calendar) == datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        clock.due_after(datetime(2026, 1, 1), 5)


def test_reminder_lead_and_no_reminder_before_creation() -> None:
    due = T0 + minutes(10)
    assert clock.remind_time(due, 2, created_at=T0) == T0 + minutes(8)
    assert clock.remind_time(due, 0, created_at=T0) is None
    assert clock.remind_time(due, 10, created_at=T0) is None  # would be the creation minute itself
    assert clock.remind_time(due, 11, created_at=T0) is None


def test_stage_times() -> None:
    s = schedule()
    assert s.stage_time(clock.REMINDED) == T0 + minutes(8)
    assert s.stage_time(clock.OVERDUE) == T0 + minutes(10)
    assert s.stage_time(clock.COMMANDER) == T0 + minutes(15)
    assert s.stage_time(clock.DUTY_MANAGER) == T0 + minutes(20)
    assert s.stage_time(clock.ADMINS) == T0 + minutes(25)
    assert s.next_fire_at(clock.CREATED) == T0 + minutes(8)
    assert s.next_fire_at(clock.ADMINS) is None


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (minutes(7) + timedelta(seconds=59), []),
        (minutes(8), [clock.REMINDED]),
        (minutes(9), [clock.REMINDED]),
        (minutes(10) - timedelta(microseconds=1), [clock.REMINDED]),
        (minutes(10), [clock.OVERDUE]),  # a reminder after the fact is skipped
        (minutes(15), [clock.OVERDUE, clock.COMMANDER]),
        (minutes(60), [clock.OVERDUE, clock.COMMANDER, clock.DUTY_MANAGER, clock.ADMINS]),
    ],
)
def test_steps_due_from_scratch(at: timedelta, expected: list[int]) -> None:
    assert schedule().steps_due(clock.CREATED, T0 + at) == expected


def test_steps_due_after_reminder_and_exactly_at_escalation() -> None:
    s = schedule()
    assert s.steps_due(clock.REMINDED, T0 + minutes(10)) == [clock.OVERDUE]
    assert s.steps_due(clock.OVERDUE, T0 + minutes(15) - timedelta(seconds=1)) == []
    assert s.steps_due(clock.OVERDUE, T0 + minutes(15)) == [clock.COMMANDER]
    assert s.steps_due(clock.ADMINS, T0 + minutes(600)) == []


def test_without_reminder_the_first_step_is_overdue() -> None:
    s = clock.Schedule(due_at=T0, remind_at=None, escalate_every=5)
    assert s.next_fire_at(clock.CREATED) == T0
    assert s.steps_due(clock.CREATED, T0) == [clock.OVERDUE]


def test_pause_keeps_the_time_left_on_the_wall_clock() -> None:
    due = T0 + minutes(30)
    assert clock.shift_for_pause(due, T0 + minutes(10), T0 + minutes(70), None) == due + minutes(60)
    assert clock.shift_for_pause(due, T0 + minutes(10), T0 + minutes(10), None) == due


def test_pause_counts_working_time_with_a_calendar() -> None:
    calendar = BusinessCalendar(zone=SHANGHAI)
    paused = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # Friday 17:30 local
    due = datetime(2026, 11, 27, 9, 50, tzinfo=UTC)  # 20 working minutes left
    resumed = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00 local
    assert clock.shift_for_pause(due, paused, resumed, calendar) == resumed + minutes(20)


def test_pause_of_an_overdue_deadline_keeps_it_overdue_by_the_same_amount() -> None:
    due = T0
    paused, resumed = T0 + minutes(5), T0 + minutes(65)
    assert clock.shift_for_pause(due, paused, resumed, None) == T0 + minutes(60)
