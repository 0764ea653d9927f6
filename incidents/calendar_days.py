"""The business calendar an admin keeps: working hours, day overrides (audited), and a preview.

The calendar itself is incidents.business_hours.BusinessCalendar, built from these settings
by incidents.deadlines.business_calendar. Changes here move only deadlines created later;
a deadline stores its due time when it is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.business_hours import BusinessCalendar, validate_hours
from incidents.errors import InvalidInput, NotFound
from incidents.models import CalendarDay
from incidents.settings import get_setting, put_setting

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
NOTE_MAX = 200
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
PREVIEW_MAX_DAYS = 366


def _time(field: str, value: Any) -> time:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"{field} is required", reason="required")
    match = TIME_RE.match(value.strip())
    if match is None:
        raise InvalidInput(field, f"{field} must be a time like 09:00", reason="time_format")
    return time(int(match[1]), int(match[2]))


def business_hours(session: Session) -> dict[str, str]:
    """The working hours in force: {"start": "09:00", "end": "18:00"} (local wall time)."""
    return get_setting(session, "business_hours")


def set_business_hours(session: Session, *, start: Any, end: Any, actor: Actor, now: datetime) -> dict[str, str]:
    """Store new working hours (validated; audited through the settings store)."""
    day_start, day_end = _time("start", start), _time("end", end)
    try:
        validate_hours(day_start, day_end)
    except InvalidInput as error:
        raise InvalidInput("end", error.message, reason=error.reason, **error.params) from None
    value = {"start": day_start.strftime("%H:%M"), "end": day_end.strftime("%H:%M")}
    put_setting(session, "business_hours", value, actor=actor, now=now)
    return value


def parse_day(field: str, value: Any) -> date:
    """A calendar date from "YYYY-MM-DD", within the years the console can plan for."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and value.strip():
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(field, f"{field} must be a date like 2026-10-01", reason="date_format") from None
    else:
        raise InvalidInput(field, f"{field} is required", reason="required")
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(field, f"{field} must be between {EARLIEST} and {LATEST}", reason="date_range",
                           earliest=EARLIEST.isoformat(), latest=LATEST.isoformat())
    return day


def list_days(session: Session) -> list[CalendarDay]:
    """Every override, earliest first."""
    return list(session.scalars(sa.select(CalendarDay).order_by(CalendarDay.day)))


def set_day(session: Session, *, day: Any, is_workday: Any, note: Any = "", actor: Actor, now: datetime) -> CalendarDay:
    """Make a date a workday or a day off whatever China's calendar says (replaces an older override)."""
    day = parse_day("date", day)
    if not isinstance(is_workday, bool):
        raise InvalidInput("workday", "say whether the day is a workday", reason="required")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note", "note must be text", reason="invalid")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"note is longer than {NOTE_MAX} characters", reason="too_long", max=NOTE_MAX)
    row = session.get(CalendarDay, day)
    before = {"workday": row.is_workday, "note": row.note} if row is not None else {}
    after = {"workday": is_workday, "note": note}
    if before == after:
        return row
    if row is None:
        row = CalendarDay(day=day, is_workday=is_workday, note=note)
        session.add(row)
    else:
        row.is_workday, row.note = is_workday, note
    record_audit(session, actor=actor, now=now, action="calendar.day_set", target_type="calendar_day",
                 target_id=day.isoformat(), before=before, after=after)
    session.flush()
    return row


def remove_day(session: Session, *, day: Any, actor: Actor, now: datetime) -> None:
    """Drop an override: the date follows China's calendar again."""
    day = parse_day("date", day)
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"no override for {day.isoformat()}")
    record_audit(session, actor=actor, now=now, action="calendar.day_removed", target_type="calendar_day",
                 target_id=day.isoformat(), before={"workday": row.is_workday, "note": row.note})
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class DayPreview:
    """One date as the calendar counts it, and why.

    reason: override | holiday | makeup_workday | weekend | workday | guessed (a year the
    chinese-calendar package does not know: Monday to Friday assumed).
    """

    day: date
    workday: bool
    reason: str
    holiday: str | None = None  # the statutory holiday's name in chinese-calendar (English)
    note: str = ""


def explain_day(calendar: BusinessCalendar, day: date, notes: dict[date, str]) -> DayPreview:
    """Whether `day` is worked, and the reason, as incidents.business_hours decides it."""
    workday = calendar.is_workday(day)
    if day in calendar.overrides:
        return DayPreview(day, workday, "override", note=notes.get(day, ""))
    if not calendar.covers(day):
        return DayPreview(day, workday, "guessed")
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    if workday:
        reason = "makeup_workday" if day.weekday() >= 5 else "workday"
        return DayPreview(day, True, reason, holiday=name if reason == "makeup_workday" else None)
    return DayPreview(day, False, "holiday" if is_holiday and name else "weekend", holiday=name)


def preview(session: Session, calendar: BusinessCalendar, *, start: date, days: int = 30) -> list[DayPreview]:
    """`days` dates from `start`, each explained."""
    days = max(1, min(days, PREVIEW_MAX_DAYS))
    notes = {row.day: row.note for row in list_days(session)}
    return [explain_day(calendar, start + timedelta(days=offset), notes) for offset in range(days)]


def uncovered_years(calendar: BusinessCalendar, days: list[date]) -> list[int]:
    """Years among `days` for which the chinese-calendar package has no holiday data."""
    return sorted({day.year for day in days if not calendar.covers(day)})
