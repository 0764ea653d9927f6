"""The business calendar (admins): working hours, day overrides, and 30 days as the clock counts them.

Complaint deadlines that count in business hours use this calendar; a change moves only
deadlines created after it. Years the chinese-calendar package does not know are flagged,
because their holidays are then guessed as plain weekends.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import chinese_calendar
from flask import Blueprint, flash, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from console import current_actor
from console.db import get_session
from console.i18n import team_zone
from console.views.settings.common import answer, changed, error_text
from incidents import calendar_days
from incidents.deadlines import business_calendar
from incidents.errors import InvalidInput
from console.clock import utcnow

bp = Blueprint("calendar", __name__, url_prefix="/settings/calendar")

PAGE, FRAGMENT = "settings/calendar.html", "settings/_calendar.html"
PREVIEW_DAYS = 30
# chinese-calendar names holidays in English; people read them in their language.
HOLIDAY_LABELS = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Qingming Festival"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-Autumn Festival"),
    "Anti-Fascist 70th Day": _l("Victory Day (70th anniversary)"),
}
REASON_LABELS = {
    "override": _l("Set by an administrator"),
    "holiday": _l("Public holiday"),
    "makeup_workday": _l("Make-up workday (调休)"),
    "weekend": _l("Weekend"),
    "workday": _l("Workday"),
    "guessed_workday": _l("Workday (guessed)"),
    "guessed_day_off": _l("Weekend (guessed)"),
}


def today() -> date:
    return utcnow().astimezone(team_zone()).date()


def _start() -> date:
    """The first day of the preview: ?from=YYYY-MM-DD, else today in the team's zone."""
    chosen = request.args.get("from", "")
    try:
        return calendar_days.parse_day("from", chosen) if chosen else today()
    except InvalidInput:
        return today()


def _context(start: date | None = None, **state: Any) -> dict[str, Any]:
    session = get_session()
    start = start or _start()
    calendar = business_calendar(session, team_zone())
    days = calendar_days.preview(session, calendar, start=start, days=PREVIEW_DAYS)
    hours = calendar_days.business_hours(session)
    context = {
        "hours": hours,
        "hours_values": dict(hours),
        "overrides": calendar_days.list_days(session),
        "days": days,
        "start": start,
        "earlier": start - timedelta(days=PREVIEW_DAYS),
        "later": start + timedelta(days=PREVIEW_DAYS),
        "today": today(),
        "uncovered": calendar_days.uncovered_years(calendar, [d.day for d in days]),
        "package_version": getattr(chinese_calendar, "__version__", ""),
        "day_values": {"date": "", "workday": "0", "note": ""},
        "errors": {},
        "HOLIDAY_LABELS": HOLIDAY_LABELS,
        "REASON_LABELS": REASON_LABELS,
        "zone_name": team_zone().key,
    }
    context.update(state)
    return context


def _done() -> Any:
    start = _start()
    target = url_for("calendar.show", **({"from": start.isoformat()} if request.args.get("from") else {}))
    return changed(target, PAGE, FRAGMENT, lambda: _context(start))


@bp.get("")
def show() -> Any:
    """Working hours, overrides, and the next 30 days as the clock counts them."""
    return answer(PAGE, FRAGMENT, _context())


@bp.post("/hours")
def save_hours() -> Any:
    """Store new working hours; 422 at the field when they are not a valid day."""
    session = get_session()
    form = request.form
    try:
        calendar_days.set_business_hours(session, start=form.get("start"), end=form.get("end"),
                                         actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        values = {"start": form.get("start", ""), "end": form.get("end", "")}
        return answer(PAGE, FRAGMENT, _context(hours_values=values, errors={error.field: error_text(error)}), 422)
    session.commit()
    flash(gettext("Working hours saved. Deadlines created from now on count with them."), "ok")
    return _done()


@bp.post("/days")
def add_day() -> Any:
    """Make a date a workday or a day off (replaces an earlier override of that date)."""
    session = get_session()
    form = request.form
    try:
        row = calendar_days.set_day(session, day=form.get("date"), is_workday=form.get("workday") == "1",
                                    note=form.get("note", ""), actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        values = {"date": form.get("date", ""), "workday": form.get("workday", "0"), "note": form.get("note", "")}
        return answer(PAGE, FRAGMENT, _context(day_values=values, errors={error.field: error_text(error)}), 422)
    session.commit()
    flash(gettext("%(day)s is now a workday.", day=row.day.isoformat()) if row.is_workday
          else gettext("%(day)s is now a day off.", day=row.day.isoformat()), "ok")
    return _done()


@bp.post("/days/<day>/delete")
def remove_day(day: str) -> Any:
    """Drop an override: the date follows China's calendar again."""
    session = get_session()
    calendar_days.remove_day(session, day=day, actor=current_actor(), now=utcnow())
    session.commit()
    flash(gettext("The override for %(day)s was removed.", day=day), "ok")
    return _done()
