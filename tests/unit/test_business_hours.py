"""Business hours: SLA clocks on China's working calendar, boundaries, holidays, overrides, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents import business_hours
from incidents.business_hours import BusinessCalendar, validate_hours
from incidents.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
CAL = BusinessCalendar(SHANGHAI)
UNCOVERED_YEAR = 2099  # far beyond any holiday notice the package can hold


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    """An aware local wall time in the team's zone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def assert_days(workdays: list[date], days_off: list[date]) -> None:
    """The holiday facts a test relies on, read from chinese_calendar rather than assumed."""
    assert all(chinese_calendar.is_workday(d) for d in workdays), workdays
    assert not any(chinese_calendar.is_workday(d) for d in days_off), days_off


def span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# -- hours ------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end", [(time(18), time(9)), (time(9), time(9))])
def test_hours_must_end_after_they_start(start: time, end: time) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_hours(start, end)
    assert (caught.value.field, caught.value.reason) == ("day_end", "hours_order")
    with pytest.raises(InvalidInput):
        BusinessCalendar(SHANGHAI, day_start=start, day_end=end)


def test_valid_hours_pass() -> None:
    validate_hours(time(9), time(9, 1))


# -- boundaries on an ordinary Wednesday ------------------------------------------------

WEDNESDAY = date(2025, 9, 10)
THURSDAY = date(2025, 9, 11)


def test_ordinary_week_is_working() -> None:
    assert_days([WEDNESDAY, THURSDAY], [])


@pytest.mark.parametrize(
    "at, opening",
    [
        (local(WEDNESDAY, 8, 59), local(WEDNESDAY, 9)),
        (local(WEDNESDAY, 9), local(WEDNESDAY, 9)),
        (local(WEDNESDAY, 17, 59), local(WEDNESDAY, 17, 59)),
        (local(WEDNESDAY, 18), local(THURSDAY, 9)),
        (local(WEDNESDAY, 0), local(WEDNESDAY, 9)),
        (local(WEDNESDAY, 23, 59), local(THURSDAY, 9)),
    ],
)
def test_next_opening_at_the_edges(at: datetime, opening: datetime) -> None:
    assert CAL.next_opening(at) == opening
    assert CAL.next_opening(at).tzinfo is UTC


@pytest.mark.parametrize(
    "start, minutes, deadline",
    [
        (local(WEDNESDAY, 8, 59), 0, local(WEDNESDAY, 9)),
        (local(WEDNESDAY, 8, 59), 1, local(WEDNESDAY, 9, 1)),
        (local(WEDNESDAY, 9), 0, local(WEDNESDAY, 9)),
        (local(WEDNESDAY, 9), 1, local(WEDNESDAY, 9, 1)),
        (local(WEDNESDAY, 9), 540, local(WEDNESDAY, 18)),  # the whole day ends at closing
        (local(WEDNESDAY, 9), 541, local(THURSDAY, 9, 1)),
        (local(WEDNESDAY, 17, 59), 0, local(WEDNESDAY, 17, 59)),
        (local(WEDNESDAY, 17, 59), 1, local(WEDNESDAY, 18)),
        (local(WEDNESDAY, 17, 59), 2, local(THURSDAY, 9, 1)),
        (local(WEDNESDAY, 18), 0, local(THURSDAY, 9)),
        (local(WEDNESDAY, 18), 1, local(THURSDAY, 9, 1)),
    ],
)
def test_add_minutes_at_the_edges(start: datetime, minutes: int, deadline: datetime) -> None:
    result = CAL.add_minutes(start, minutes)
    assert result == deadline
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "start, end, minutes",
    [
        (local(WEDNESDAY, 8, 59), local(WEDNESDAY, 9, 1), 1),
        (local(WEDNESDAY, 9), local(WEDNESDAY, 9), 0),
        (local(WEDNESDAY, 17, 59), local(WEDNESDAY, 18), 1),
        (local(WEDNESDAY, 18), local(THURSDAY, 9), 0),
        (local(WEDNESDAY, 17, 59), local(THURSDAY, 9, 1), 2),
        (local(WEDNESDAY, 0), local(THURSDAY, 0), 540),
        (local(THURSDAY, 9), local(WEDNESDAY, 9), 0),  # end before start
    ],
)
def test_minutes_between_at_the_edges(start: datetime, end: datetime, minutes: float) -> None:
    assert CAL.minutes_between(start, end) == minutes


def test_seconds_count_as_fractions_of_a_minute() -> None:
    start = local(WEDNESDAY, 17, 59) + timedelta(seconds=30)
    assert CAL.minutes_between(start, local(THURSDAY, 12)) == 0.5 + 180


# -- weekends and statutory holidays ----------------------------------------------------

def test_across_a_weekend() -> None:
    friday, saturday, sunday, monday = span(date(2025, 9, 12), date(2025, 9, 15))
    assert_days([friday, monday], [saturday, sunday])
    assert CAL.add_minutes(local(friday, 17, 30), 60) == local(monday, 9, 30)
    assert CAL.next_opening(local(saturday, 12)) == local(monday, 9)
    assert CAL.minutes_between(local(friday, 17), local(monday, 10)) == 120


def test_across_national_day_2025() -> None:
    makeup_sunday, makeup_saturday = date(2025, 9, 28), date(2025, 10, 11)
    golden_week = span(date(2025, 10, 1), date(2025, 10, 8))
    assert makeup_sunday.weekday() == 6 and makeup_saturday.weekday() == 5
    assert_days([makeup_sunday, date(2025, 9, 30), date(2025, 10, 9), makeup_saturday], golden_week)

    assert all(CAL.is_workday(d) for d in (makeup_sunday, makeup_saturday))
    assert not any(CAL.is_workday(d) for d in golden_week)
    # The Saturday before the make-up Sunday is off: the clock starts on Sunday morning.
    assert CAL.next_opening(local(date(2025, 9, 27), 10)) == local(makeup_sunday, 9)
    # An hour left on the eve of the holiday, the second hour after it.
    assert CAL.add_minutes(local(date(2025, 9, 30), 17), 120) == local(date(2025, 10, 9), 10)
    assert CAL.minutes_between(local(date(2025, 9, 30), 9), local(date(2025, 10, 9), 9)) == 540
    # Friday evening runs on into the make-up Saturday.
    assert CAL.add_minutes(local(date(2025, 10, 10), 17), 120) == local(makeup_saturday, 10)


def test_across_spring_festival_2026() -> None:
    makeup_before, makeup_after = date(2026, 2, 14), date(2026, 2, 28)
    festival = span(date(2026, 2, 15), date(2026, 2, 23))
    assert makeup_before.weekday() == 5 and makeup_after.weekday() == 5
    assert_days([date(2026, 2, 13), makeup_before, date(2026, 2, 24), makeup_after], festival)

    assert CAL.add_minutes(local(date(2026, 2, 13), 17), 120) == local(makeup_before, 10)
    assert CAL.add_minutes(local(makeup_before, 17), 120) == local(date(2026, 2, 24), 10)
    assert CAL.next_opening(local(date(2026, 2, 17), 11)) == local(date(2026, 2, 24), 9)
    assert CAL.minutes_between(local(makeup_before, 9), local(date(2026, 2, 25), 9)) == 2 * 540


# -- admin overrides --------------------------------------------------------------------

def test_override_turns_a_workday_off_and_a_saturday_on() -> None:
    friday, saturday, monday = date(2025, 9, 12), date(2025, 9, 13), date(2025, 9, 15)
    assert_days([WEDNESDAY, friday], [saturday])
    calendar = BusinessCalendar(SHANGHAI, overrides={WEDNESDAY: False, saturday: True})

    assert not calendar.is_workday(WEDNESDAY)
    assert calendar.is_workday(saturday)
    assert calendar.next_opening(local(WEDNESDAY, 8)) == local(THURSDAY, 9)
    assert calendar.add_minutes(local(friday, 17, 30), 60) == local(saturday, 9, 30)
    assert calendar.minutes_between(local(friday, 9), local(monday, 9)) == 2 * 540


def test_override_beats_the_statutory_calendar() -> None:
    calendar = BusinessCalendar(SHANGHAI, overrides={date(2025, 10, 1): True, date(2025, 9, 28): False})
    assert calendar.is_workday(date(2025, 10, 1))
    assert not calendar.is_workday(date(2025, 9, 28))


def test_overrides_are_copied_so_later_edits_do_not_leak_in() -> None:
    overrides = {WEDNESDAY: False}
    calendar = BusinessCalendar(SHANGHAI, overrides=overrides)
    overrides[WEDNESDAY] = True
    assert not calendar.is_workday(WEDNESDAY)
    assert calendar == BusinessCalendar(SHANGHAI, overrides={WEDNESDAY: False})
    assert len({calendar, BusinessCalendar(SHANGHAI, overrides={WEDNESDAY: False})}) == 1  # hashable


# -- years the package does not cover ---------------------------------------------------

def test_uncovered_year_falls_back_to_monday_to_friday() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(UNCOVERED_YEAR, 1, 1))
    monday = date(UNCOVERED_YEAR, 1, 5)
    assert monday.weekday() == 0
    friday, saturday, sunday, next_monday = span(monday + timedelta(days=4), monday + timedelta(days=7))

    assert not CAL.covers(monday)
    assert all(CAL.is_workday(monday + timedelta(days=n)) for n in range(5))
    assert not CAL.is_workday(saturday) and not CAL.is_workday(sunday)
    assert CAL.add_minutes(local(friday, 17, 30), 60) == local(next_monday, 9, 30)


def test_uncovered_year_still_honours_overrides() -> None:
    saturday = date(UNCOVERED_YEAR, 1, 10)
    assert saturday.weekday() == 5
    assert BusinessCalendar(SHANGHAI, overrides={saturday: True}).is_workday(saturday)


def test_covered_years() -> None:
    assert CAL.covers(date(2025, 10, 1))
    assert CAL.covers(date(2026, 2, 17))


# -- rejected input ---------------------------------------------------------------------

def test_naive_datetimes_are_rejected() -> None:
    naive, aware = datetime(2025, 9, 10, 10), local(WEDNESDAY, 10)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_minutes(naive, 10)
    with pytest.raises(ValueError, match="naive"):
        CAL.next_opening(naive)
    with pytest.raises(ValueError, match="naive"):
        CAL.minutes_between(naive, aware)
    with pytest.raises(ValueError, match="naive"):
        CAL.minutes_between(aware, naive)


def test_negative_minutes_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_minutes(local(WEDNESDAY, 10), -1)


def test_a_datetime_is_not_a_day() -> None:
    with pytest.raises(TypeError):
        CAL.is_workday(datetime(2025, 9, 10, 10, tzinfo=UTC))


# -- zones ------------------------------------------------------------------------------

def test_start_in_utc_is_read_in_the_team_zone() -> None:
    # 01:00 UTC is 09:00 in Shanghai: opening time.
    assert CAL.add_minutes(datetime(2025, 9, 10, 1, 0, tzinfo=UTC), 60) == datetime(2025, 9, 10, 2, 0, tzinfo=UTC)
    # 10:30 UTC is 18:30 in Shanghai: closed, the clock starts at Thursday's opening (01:00 UTC).
    assert CAL.next_opening(datetime(2025, 9, 10, 10, 30, tzinfo=UTC)) == datetime(2025, 9, 11, 1, 0, tzinfo=UTC)
    # 2025-09-09 23:30 UTC is already Wednesday 07:30 in Shanghai.
    assert CAL.next_opening(datetime(2025, 9, 9, 23, 30, tzinfo=UTC)) == local(WEDNESDAY, 9)


def test_start_in_another_zone_is_read_in_the_team_zone() -> None:
    berlin_evening = datetime(2025, 9, 10, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 17:00 in Shanghai
    assert CAL.add_minutes(berlin_evening, 90) == local(THURSDAY, 9, 30)


def test_a_zone_with_daylight_saving_keeps_wall_hours() -> None:
    calendar = BusinessCalendar(NEW_YORK)
    friday, monday = date(2025, 3, 7), date(2025, 3, 10)  # clocks spring forward on Sunday 9 March
    assert_days([friday, monday], [])
    deadline = calendar.add_minutes(local(friday, 17, zone=NEW_YORK), 120)
    assert deadline == local(monday, 10, zone=NEW_YORK)
    assert deadline == datetime(2025, 3, 10, 14, 0, tzinfo=UTC)  # EDT, no longer EST


@pytest.mark.parametrize("sunday, minutes", [(date(2025, 3, 9), 180), (date(2025, 11, 2), 300)])
def test_a_clock_change_inside_hours_counts_real_minutes(sunday: date, minutes: int) -> None:
    calendar = BusinessCalendar(NEW_YORK, day_start=time(1), day_end=time(5), overrides={sunday: True})
    assert calendar.minutes_between(local(sunday, 0, zone=NEW_YORK), local(sunday, 12, zone=NEW_YORK)) == minutes


# -- size and the round trip ------------------------------------------------------------

def test_thirty_days_of_minutes_steps_day_by_day(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = chinese_calendar.is_workday

    def counting(day: date) -> bool:
        nonlocal calls
        calls += 1
        return real(day)

    monkeypatch.setattr(business_hours.chinese_calendar, "is_workday", counting)
    start = local(date(2025, 9, 1), 9)
    minutes = 30 * 24 * 60
    deadline = CAL.add_minutes(start, minutes)
    assert CAL.minutes_between(start, deadline) == minutes
    assert calls < 2 * 200  # two walks over ~120 calendar days, not 43,200 minute steps


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 12, 1), max_value=datetime(2026, 10, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=30 * 24 * 60),
)
def test_minutes_between_undoes_add_minutes(start: datetime, minutes: int) -> None:
    # Holds for any start: time before the first opening holds no working minutes.
    deadline = CAL.add_minutes(start, minutes)
    assert deadline >= start
    assert CAL.minutes_between(start, deadline) == minutes
    assert CAL.is_workday(deadline.astimezone(SHANGHAI).date())


@settings(max_examples=50, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=1, max_value=5 * 24 * 60),
)
def test_round_trip_with_overrides_and_another_zone(start: datetime, minutes: int) -> None:
    calendar = BusinessCalendar(NEW_YORK, time(8, 30), time(17, 15), overrides={date(2025, 10, 4): True})
    assert calendar.minutes_between(start, calendar.add_minutes(start, minutes)) == minutes
