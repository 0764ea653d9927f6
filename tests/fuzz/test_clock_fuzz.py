"""Property tests of the deadline rules (incidents/clock.py): pure functions of `now`.

Whatever the times, a deadline's stages come in order, each is taken once however often
(or rarely) the worker looks, a reminder never comes before the deadline exists or after it
is overdue, and a pause never brings a deadline forward.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from incidents import clock
from incidents.business_hours import BusinessCalendar
from tests.fuzz.profiles import FUZZ

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
instants = st.integers(min_value=-3 * 24 * 60, max_value=30 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))
minutes = st.integers(min_value=0, max_value=14 * 24 * 60)
CALENDAR = BusinessCalendar(ZoneInfo("Asia/Shanghai"))


@st.composite
def schedules(draw: st.DrawFn) -> tuple[clock.Schedule, datetime]:
    created = draw(instants)
    due = clock.due_after(created, draw(minutes))
    remind = clock.remind_time(due, draw(st.integers(min_value=-5, max_value=3000)), created_at=created)
    return clock.Schedule(due_at=due, remind_at=remind, escalate_every=draw(st.integers(1, 24 * 60))), created


@FUZZ
@given(instants, minutes, st.integers(min_value=-10, max_value=5000))
def test_a_reminder_falls_between_creation_and_due(created: datetime, length: int, before: int) -> None:
    due = clock.due_after(created, length)
    assert due == created + timedelta(minutes=length)
    remind = clock.remind_time(due, before, created_at=created)
    if remind is not None:
        assert created < remind < due
        assert due - remind == timedelta(minutes=before)
    else:
        assert before <= 0 or due - timedelta(minutes=before) <= created


@FUZZ
@given(schedules(), st.lists(st.integers(min_value=0, max_value=40 * 24 * 60), max_size=12),
       st.integers(min_value=0, max_value=40 * 24 * 60))
def test_stages_are_taken_in_order_once_however_the_worker_looks(drawn, looks: list[int], end: int) -> None:  # noqa: ANN001
    schedule, created = drawn
    stage = clock.CREATED
    taken: list[int] = []
    for offset in sorted(looks) + [end]:
        now = created + timedelta(minutes=offset)
        steps = schedule.steps_due(stage, now)
        assert steps == sorted(steps) and all(s > stage for s in steps)
        assert all(schedule.stage_time(s) <= now for s in steps)
        assert not (clock.REMINDED in steps and clock.OVERDUE in steps)
        following = schedule.next_fire_at(steps[-1] if steps else stage)
        assert following is None or following > now, "the worker would be told to wake for a past stage"
        taken += steps
        stage = steps[-1] if steps else stage
    assert len(taken) == len(set(taken)), "a stage was taken twice"
    final_now = created + timedelta(minutes=max([end, *looks]))
    # Looking once at the end reaches the same stage as looking many times.
    at_once = schedule.steps_due(clock.CREATED, final_now)
    assert (at_once[-1] if at_once else clock.CREATED) == stage
    # Every stage whose time has passed is taken, except a reminder overtaken by the deadline.
    for s in range(clock.OVERDUE, clock.FINAL_STAGE + 1):
        assert (s in taken) == (schedule.stage_time(s) <= final_now)


@FUZZ
@given(schedules(), instants)
def test_nothing_fires_before_its_time(drawn, now: datetime) -> None:  # noqa: ANN001
    schedule, created = drawn
    assume(now < schedule.due_at)
    steps = schedule.steps_due(clock.CREATED, now)
    assert steps in ([], [clock.REMINDED])
    if steps:
        assert schedule.remind_at is not None and created < schedule.remind_at <= now


@FUZZ
@given(instants, minutes, st.integers(min_value=0, max_value=7 * 24 * 60), st.integers(min_value=-60, max_value=7 * 24 * 60),
       st.booleans())
def test_a_pause_never_brings_a_deadline_forward(created: datetime, length: int, paused_after: int, paused_for: int,
                                                 working_time: bool) -> None:
    calendar = CALENDAR if working_time else None
    due = clock.due_after(created, length, calendar)
    paused = created + timedelta(minutes=paused_after)
    resumed = paused + timedelta(minutes=paused_for)
    shifted = clock.shift_for_pause(due, paused, resumed, calendar)
    assert shifted.tzinfo is not None
    if resumed <= paused:
        assert shifted == due
        return
    assert shifted >= due
    if calendar is None:
        assert shifted - due == resumed - paused


@FUZZ
@given(instants, st.integers(min_value=0, max_value=5 * 9 * 60))
def test_working_minutes_add_up(start: datetime, length: int) -> None:
    end = clock.due_after(start, length, CALENDAR)
    assert end >= start
    assert abs(CALENDAR.minutes_between(start, end) - length) < 1e-6
