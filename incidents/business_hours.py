"""Business hours on China's working calendar: SLA clocks that stop outside working time.

A `BusinessCalendar` knows the team's zone, its daily working hours (local wall time) and the
admin's overrides; statutory holidays and make-up workdays (调休) come from `chinese_calendar`.
Everything here is pure: every instant is passed in as an aware datetime and every instant
returned is aware UTC. Nothing reads the clock, the database or the network.

Working minutes are real elapsed minutes: on a day when a DST zone changes its clocks inside
working hours, that day has an hour more or less. Each day's working window is resolved from
wall time the way Python resolves it (a wall time skipped by the clocks is read with the offset
before the change); a window that collapses on such a day counts as closed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar

from incidents.errors import InvalidInput
from incidents.timeutil import ensure_aware

ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)

# A working window: the UTC instants a workday opens and closes, open < close.
Window = tuple[datetime, datetime]


def validate_hours(day_start: time, day_end: time) -> None:
    """Working hours must end after they start, within one day (no overnight shifts)."""
    if day_end <= day_start:
        raise InvalidInput(
            "day_end",
            f"working hours must end after they start ({day_start:%H:%M} - {day_end:%H:%M})",
            reason="hours_order",
            day_start=day_start.strftime("%H:%M"),
            day_end=day_end.strftime("%H:%M"),
        )


@cache
def _package_covers_year(year: int) -> bool:
    """Whether `chinese_calendar` has the State Council's holiday notice for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class BusinessCalendar:
    """A team's working time: zone, daily hours and workdays (admin overrides, then China's calendar)."""

    zone: ZoneInfo
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    # True = workday, False = day off; beats the statutory calendar. Not part of the hash.
    overrides: Mapping[date, bool] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        validate_hours(self.day_start, self.day_end)
        # Freeze a copy, so a later change to the caller's dict cannot move our deadlines.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    # -- days -------------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        """False when `chinese_calendar` does not know `day`'s year, so workdays are guessed Mon-Fri."""
        return _package_covers_year(_plain_date(day).year)

    def is_workday(self, day: date) -> bool:
        """Admin override first, then China's statutory calendar, then Mon-Fri for uncovered years."""
        day = _plain_date(day)
        if day in self.overrides:
            return self.overrides[day]
        if self.covers(day):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    # -- instants ---------------------------------------------------------------------

    def next_opening(self, at: datetime) -> datetime:
        """The first working instant at or after `at`, as aware UTC (`at` itself inside hours)."""
        at = ensure_aware(at)
        for opens, closes in self._windows_from(self._local_day(at)):
            if at < closes:
                return max(at, opens)
        raise AssertionError("unreachable: working windows never run out")  # pragma: no cover

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        """The deadline `minutes` working minutes after `start`, as aware UTC.

        Time outside working hours does not count: a start outside hours begins at the next
        opening. Zero minutes gives the next opening (`start` itself inside hours). A deadline
        that uses up a day's last minute is that day's closing time, not the next opening.
        """
        start = ensure_aware(start)
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        if minutes == 0:
            return self.next_opening(start)
        remaining = timedelta(minutes=minutes)
        for opens, closes in self._windows_from(self._local_day(start)):
            if start >= closes:
                continue
            begins = max(start, opens)
            available = closes - begins
            if remaining <= available:
                return begins + remaining
            remaining -= available
        raise AssertionError("unreachable: working windows never run out")  # pragma: no cover

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes in [start, end); 0 when `end` is not after `start`."""
        start, end = ensure_aware(start), ensure_aware(end)
        if end <= start:
            return 0.0
        worked = timedelta(0)
        for opens, closes in self._windows_from(self._local_day(start)):
            if opens >= end:
                break
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                worked += overlap
        return worked / ONE_MINUTE

    # -- helpers ----------------------------------------------------------------------

    def _local_day(self, instant: datetime) -> date:
        """The team's calendar date at `instant`."""
        return instant.astimezone(self.zone).date()

    def _window(self, day: date) -> Window | None:
        """`day`'s working window in UTC, or None on a day off (or a window a clock change erased)."""
        if not self.is_workday(day):
            return None
        opens = datetime.combine(day, self.day_start, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.day_end, tzinfo=self.zone).astimezone(UTC)
        return (opens, closes) if opens < closes else None

    def _windows_from(self, day: date) -> Iterator[Window]:
        """Working windows in time order, from `day` on; one step per calendar day."""
        while True:
            window = self._window(day)
            if window is not None:
                yield window
            day += ONE_DAY


def _plain_date(day: date) -> date:
    """Refuse a datetime where a calendar date is meant: its date depends on a zone we cannot see."""
    if isinstance(day, datetime):
        raise TypeError("pass the team's local date, not a datetime")
    return day
