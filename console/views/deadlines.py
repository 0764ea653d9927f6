"""The deadlines page: every open deadline across incidents, soonest first, with its owner.

Also the clock's template helpers for every page: the server's time (for the countdown
script's clock offset) and the countdown filters, read from one `now` per request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from flask_login import current_user

from console import clockface, htmx
from console.db import get_session
from console.i18n import select_locale
from console.views.caching import conditional
from console.views.clock_context import DeadlineRow, rule_name
from incidents import queries, signoff_reach
from incidents.deadlines import pending_deadlines
from incidents.models import Deadline, DeadlineState
from incidents.roster import on_duty
from console.clock import utcnow

bp = Blueprint("deadlines", __name__)


def request_now() -> datetime:
    """One `now` per request, so the page and its countdowns agree to the second."""
    if "clock_now" not in g:
        g.clock_now = utcnow()
    return g.clock_now


def _language() -> str:
    return "zh" if select_locale().startswith("zh") else "en"


@bp.app_context_processor
def clock_globals() -> dict[str, Any]:
    return {"server_now": request_now, "rule_name": rule_name}


@bp.app_template_filter("countdown")
def countdown_filter(due_at: datetime) -> str:
    return clockface.countdown(due_at, request_now(), _language())


@bp.app_template_filter("urgency")
def urgency_filter(due_at: datetime, remind_at: datetime | None) -> str:
    return clockface.urgency(due_at, remind_at, request_now())


@bp.app_template_test("overdue")
def overdue_test(deadline: Deadline) -> bool:
    """A deadline already missed, or running and past due now (the board marks its row)."""
    if deadline.state == DeadlineState.MISSED:
        return True
    return deadline.paused_at is None and clockface.urgency(deadline.due_at, None, request_now()) == clockface.OVERDUE


@bp.app_template_filter("remind_ms")
def remind_ms_filter(due_at: datetime, remind_at: datetime | None) -> int:
    return clockface.remind_ms(due_at, remind_at)


@bp.app_template_filter("duration")
def duration_filter(seconds: float) -> str:
    return clockface.span(seconds, _language())


@bp.app_template_filter("jstime")
def jstime_filter(value: datetime) -> str:
    """A time as JavaScript's Date.parse reads it everywhere (milliseconds, Z)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@bp.app_template_filter("fromiso")
def fromiso_filter(value: str) -> datetime | None:
    """An ISO time stored in an event's data, back to a datetime (None if unreadable)."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@bp.get("/deadlines")
def index() -> Any:
    """Open deadlines soonest first; `?mine=1` keeps those the reader answers for now."""
    session = get_session()
    mine = request.args.get("mine") == "1"
    fragment = bool(htmx) and htmx.target == "deadlines"
    duty = on_duty(session, request_now())
    fingerprint = "|".join([
        "deadlines", str(fragment), str(mine), select_locale(), str(current_user.id),
        str(duty.id if duty else "-"), str(queries.board_fingerprint(session)),
    ])

    def render() -> str:
        rows = [
            DeadlineRow(deadline=d, owner=queries.deadline_owner(d, d.incident, duty))
            for d in pending_deadlines(session)
        ]
        if mine:
            rows = [row for row in rows if row.owner.person is not None and row.owner.person.id == current_user.id]
        shown = {row.deadline.id for row in rows}
        # Drafts waiting for sign-off, by their sign-off deadline: "mine" keeps those the reader answers for.
        waiting = [d for d in signoff_reach.waiting_drafts(session) if not mine or d.deadline_id in shown]
        return render_template(
            "deadlines/_deadlines.html" if fragment else "deadlines/index.html",
            rows=rows, mine=mine, on_duty=duty, waiting_signoffs=waiting,
            poll_seconds=current_app.config["BOARD_POLL_SECONDS"],
        )

    return conditional(fingerprint, render, vary=("HX-Request", "HX-Target"))
