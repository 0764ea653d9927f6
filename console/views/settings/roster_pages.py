"""The duty roster: who is the duty manager on duty now, the next 14 days of shifts, and changes.

Everyone sees it (the escalation chain names the person on duty); duty managers and admins
add and remove shifts. Times are typed and shown in the team's zone and stored in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, request, url_for
from flask_babel import gettext
from flask_login import current_user

from console import current_actor
from console.db import get_session
from console.i18n import team_zone
from console.views.settings.common import answer, changed, error_text, local_datetime, may, whole_hours
from incidents import roster
from incidents.errors import InvalidInput
from incidents.models import DutyShift, User
from console.clock import utcnow

bp = Blueprint("roster", __name__, url_prefix="/roster")

PAGE, FRAGMENT = "settings/roster.html", "settings/_roster.html"
WINDOW = timedelta(days=14)
QUICK_HOURS = (4, 8, 12)
MAX_HOURS = int(roster.MAX_SHIFT.total_seconds() // 3600)
FORM_FIELDS = ("user_id", "starts_at", "ends_at", "note")


def current_shift(now: datetime) -> DutyShift | None:
    """The shift that makes someone the duty manager on duty now (as incidents.roster.on_duty decides)."""
    person = roster.on_duty(get_session(), now)
    if person is None:
        return None
    covering = roster.shifts_between(get_session(), now, now + timedelta(microseconds=1))
    return max((s for s in covering if s.user_id == person.id), key=lambda s: (s.starts_at, s.id))


def duty_people() -> list[User]:
    """Who can be on duty: active duty managers and admins."""
    return list(get_session().scalars(
        sa.select(User).where(User.active, User.role.in_(roster.ON_DUTY_ROLES)).order_by(User.display_name)
    ))


def _form_defaults(now: datetime) -> dict[str, str]:
    """A new shift starts at the next full hour and lasts 8 hours, for whoever fills the form."""
    start = (now.astimezone(team_zone()) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    eligible = current_user.role in roster.ON_DUTY_ROLES
    return {
        "user_id": str(current_user.id) if eligible else "",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        "note": "",
    }


def _context(**state: Any) -> dict[str, Any]:
    now = utcnow()
    context = {
        "now": now,
        "shift_now": current_shift(now),
        "shifts": roster.shifts_between(get_session(), now, now + WINDOW),
        "people": duty_people(),
        "quick_hours": QUICK_HOURS,
        "values": _form_defaults(now),
        "errors": {},
        "quick_error": None,
        "can_manage": may("roster.manage"),
        "zone_name": team_zone().key,
    }
    context.update(state)
    return context


def _done() -> Any:
    return changed(url_for("roster.show"), PAGE, FRAGMENT, _context)


@bp.get("")
def show() -> Any:
    """On duty now, the next 14 days of shifts, and (for managers) the forms to change them."""
    return answer(PAGE, FRAGMENT, _context())


@bp.post("/shifts")
def add() -> Any:
    """Add a shift from the form (times in the team's zone); 422 at the field on bad input."""
    form = request.form
    session = get_session()
    try:
        user_id = form.get("user_id", "").strip()
        shift = roster.add_shift(
            session,
            user_id=int(user_id) if user_id.isdigit() else None,
            starts_at=local_datetime("starts_at", form.get("starts_at"), team_zone()),
            ends_at=local_datetime("ends_at", form.get("ends_at"), team_zone()),
            note=form.get("note", ""),
            actor=current_actor(),
            now=utcnow(),
        )
    except InvalidInput as error:
        session.rollback()
        values = {field: form.get(field, "") for field in FORM_FIELDS}
        return answer(PAGE, FRAGMENT, _context(values=values, errors={error.field: error_text(error)}), 422)
    session.commit()
    flash(gettext("Shift added for %(name)s.", name=shift.user.display_name), "ok")
    return _done()


@bp.post("/on-duty")
def take_duty() -> Any:
    """"I'm on duty for the next N hours": a shift for the signed-in person from now."""
    session = get_session()
    now = utcnow()
    try:
        hours = whole_hours("hours", request.form.get("hours"), most=MAX_HOURS)
        roster.add_shift(session, user_id=current_user.id, starts_at=now, ends_at=now + timedelta(hours=hours),
                         actor=current_actor(), now=now)
    except InvalidInput as error:
        session.rollback()
        return answer(PAGE, FRAGMENT, _context(quick_error=error_text(error)), 422)
    session.commit()
    flash(gettext("You are on duty for the next %(hours)s hours.", hours=hours), "ok")
    return _done()


@bp.post("/shifts/<int:shift_id>/delete")
def remove(shift_id: int) -> Any:
    """Remove a shift (audited)."""
    session = get_session()
    roster.remove_shift(session, shift_id=shift_id, actor=current_actor(), now=utcnow())
    session.commit()
    flash(gettext("Shift removed."), "ok")
    return _done()
