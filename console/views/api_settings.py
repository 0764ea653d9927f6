"""/api/v1 for the settings behind the clock: playbooks, roster, team channels, business calendar.

Nested in the API blueprint (endpoints "api.settings.*"), so it shares its bearer-token
authentication and its error shape {"error": {"code", "message", "field"?}}. A field inside
an object of the body is named with a dot: "changes.first_notice.offset", "config.url".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for

from console import allowed_networks, current_actor
from console.db import get_session
from console.errors import api_error
from console.i18n import team_zone
from console.views import api
from console.views.api import BadRequest, json_body, string_field, user_id_for
from console.views.settings.calendar_pages import today
from console.views.settings.common import local_datetime, whole_hours
from console.views.settings.roster_pages import MAX_HOURS, WINDOW, current_shift
from incidents import calendar_days, playbook_history, playbooks, roster, team_channels
from incidents.deadlines import business_calendar
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Kind
from incidents.models import CalendarDay, DutyShift, TeamChannel
from incidents.playbooks import Playbook
from console.clock import utcnow

bp = Blueprint("settings", __name__)

LONGEST_LISTING = timedelta(days=92)


@contextmanager
def fields_named(rename: Callable[[str], str]) -> Iterator[None]:
    """Report a domain error's field under the name the request used."""
    try:
        yield
    except InvalidInput as error:
        error.field = rename(error.field)
        raise


def _flag(payload: dict[str, Any], key: str) -> bool | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(key, f"{key} must be true or false", reason="boolean")
    return value


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key, {})
    if not isinstance(value, dict):
        raise BadRequest(f"{key} must be a JSON object", key)
    return value


# -- playbooks ----------------------------------------------------------------------------

def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise NotFound(f"no playbook for {value!r}; kinds: {', '.join(k.value for k in Kind)}") from None


def playbook_json(playbook: Playbook) -> dict[str, Any]:
    """A kind's playbook in force, with its overrides per severity and its revision history."""
    session = get_session()
    document = playbook.document
    latest = playbooks.latest_revision(session, playbook.kind)
    rules = []
    for raw in document.get("rules", []):
        overrides = {severity: numbers[raw["key"]] for severity, numbers in document.get("severity", {}).items()
                     if raw["key"] in numbers}
        rules.append({**{key: raw.get(key) for key in ("key", "zh", "en", "anchor", "owner", "until", "offset",
                                                         "period", "remind_before", "escalate_every")},
                      "met_by": raw.get("met_by", []), "severity": overrides})
    return {
        "kind": playbook.kind.value,
        "source": playbook.source,
        "revision": latest.revision if latest else None,
        "defaults_version": playbooks.defaults_version(),
        "business_hours": playbook.business_hours,
        "steps": [{"key": s.key, "zh": s.zh, "en": s.en, "meets": s.meets} for s in playbook.steps],
        "rules": rules,
        "revisions": [
            {"revision": entry.revision, "at": entry.created_at.isoformat(), "by": entry.created_by,
             "changes": [{"key": c.key, "before": c.before, "after": c.after} for c in entry.changes]}
            for entry in playbook_history.history(session, playbook.kind)
        ],
    }


@bp.get("/playbooks")
def list_playbooks() -> Any:
    """Every kind's playbook in force."""
    session = get_session()
    return jsonify(playbooks=[playbook_json(playbooks.effective_playbook(session, kind)) for kind in Kind])


@bp.get("/playbooks/<kind>")
def get_playbook(kind: str) -> Any:
    """One kind's playbook: steps, rules with per-severity overrides, source, revisions."""
    return jsonify(playbook_json(playbooks.effective_playbook(get_session(), _kind(kind))))


@bp.patch("/playbooks/<kind>")
def change_playbook(kind: str) -> Any:
    """Change numbers: {"changes": {"rule.field" | "P1.rule.field": minutes | null}, "business_hours"?}.

    Applies to deadlines created afterwards. The first bad value is a 422 naming it; nothing
    is saved then.
    """
    chosen = _kind(kind)
    payload = json_body({"changes", "business_hours"})
    changes = _object(payload, "changes")
    session = get_session()
    with fields_named(lambda field: field if field == "business_hours" else f"changes.{playbook_history.change_key(field)}"):
        playbook = playbooks.change_numbers(session, kind=chosen, changes=changes,
                                            business_hours=_flag(payload, "business_hours"),
                                            actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(playbook_json(playbook))


# -- duty roster --------------------------------------------------------------------------

def shift_json(shift: DutyShift) -> dict[str, Any]:
    return {"id": shift.id, "user": shift.user.username, "display_name": shift.user.display_name,
            "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(), "note": shift.note}


@bp.get("/roster/shifts")
def list_shifts() -> Any:
    """Shifts overlapping ?from=&to= (ISO 8601; without an offset, the team's zone); default the next 14 days."""
    now = utcnow()
    start = local_datetime("from", request.args.get("from"), team_zone()) or now
    end = local_datetime("to", request.args.get("to"), team_zone()) or start + WINDOW
    if end <= start:
        raise InvalidInput("to", "to must be after from", reason="end_before_start")
    if end - start > LONGEST_LISTING:
        raise InvalidInput("to", "list at most 92 days at a time", reason="invalid")
    return jsonify(shifts=[shift_json(s) for s in roster.shifts_between(get_session(), start, end)])


@bp.post("/roster/shifts")
def add_shift() -> Any:
    """Add a shift: {"user"?, "starts_at"?, "ends_at" | "hours", "note"?}.

    user defaults to the token's person and starts_at to now, so {"hours": 8} is "I'm on duty
    for the next 8 hours". Times without an offset are in the team's zone.
    """
    payload = json_body({"user", "starts_at", "ends_at", "hours", "note"})
    if "ends_at" in payload and "hours" in payload:
        raise BadRequest("give ends_at or hours, not both", "hours")
    now = utcnow()
    username = string_field(payload, "user")
    user_id = user_id_for(username, "user") if username else current_actor().user_id
    if user_id is None:
        raise InvalidInput("user", "name the person on duty (this token belongs to nobody)", reason="required")
    starts_at = local_datetime("starts_at", payload.get("starts_at"), team_zone()) or now
    if "hours" in payload:
        ends_at = starts_at + timedelta(hours=whole_hours("hours", payload["hours"], most=MAX_HOURS, text=False))
    else:
        ends_at = local_datetime("ends_at", payload.get("ends_at"), team_zone())
    session = get_session()
    with fields_named(lambda field: "user" if field == "user_id" else field):
        shift = roster.add_shift(session, user_id=user_id, starts_at=starts_at, ends_at=ends_at,
                                 note=string_field(payload, "note") or "", actor=current_actor(), now=now)
    session.commit()
    return jsonify(shift_json(shift)), 201


@bp.delete("/roster/shifts/<int:shift_id>")
def remove_shift(shift_id: int) -> Any:
    """Remove a shift."""
    session = get_session()
    roster.remove_shift(session, shift_id=shift_id, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.get("/roster/on-duty")
def on_duty() -> Any:
    """Who is the duty manager on duty now, and their shift (null when nobody)."""
    now = utcnow()
    shift = current_shift(now)
    person = shift.user if shift else None
    return jsonify(at=now.isoformat(),
                   on_duty={"user": person.username, "display_name": person.display_name} if person else None,
                   shift=shift_json(shift) if shift else None)


# -- team channels ------------------------------------------------------------------------

def channel_json(channel: TeamChannel, *, with_attempts: bool = False) -> dict[str, Any]:
    """A channel with its secrets masked and what the outbox holds for it."""
    session = get_session()
    delivery = team_channels.deliveries(session, [channel.id])[channel.id]
    data = {
        "id": channel.id,
        "url": url_for("api.settings.get_channel", channel_id=channel.id, _external=True),
        "name": channel.name,
        "kind": channel.kind,
        "enabled": channel.enabled,
        "reminders": channel.reminders,
        "escalations": channel.escalations,
        "config": team_channels.public_config(channel),
        "created_at": channel.created_at.isoformat(),
        "updated_at": channel.updated_at.isoformat(),
        "deliveries": {**delivery.counts, "last_error": delivery.last_error or None,
                       "last_error_at": delivery.last_error_at.isoformat() if delivery.last_error_at else None},
    }
    if with_attempts:
        data["attempts"] = [
            {"at": attempt.at.isoformat(), "ok": attempt.ok, "status_code": attempt.status_code,
             "detail": attempt.detail, "duration_ms": attempt.duration_ms, "message": message.id,
             "event": message.event}
            for attempt, message in team_channels.recent_attempts(session, channel)
        ]
    return data


@bp.get("/channels")
def list_channels() -> Any:
    """Every team channel (secrets masked) with its delivery counts."""
    return jsonify(channels=[channel_json(c) for c in team_channels.list_channels(get_session())])


@bp.get("/channels/<int:channel_id>")
def get_channel(channel_id: int) -> Any:
    """One channel with its latest 20 delivery attempts."""
    return jsonify(channel_json(team_channels.get_channel(get_session(), channel_id), with_attempts=True))


SWITCH_KEYS = set(team_channels.SWITCHES)


@bp.post("/channels")
def create_channel() -> Any:
    """Add a channel: {"name", "kind", "config": {...}, "enabled"?, "reminders"?, "escalations"?}."""
    payload = json_body({"name", "kind", "config", *SWITCH_KEYS})
    switches = {key: payload[key] for key in SWITCH_KEYS if key in payload}
    session = get_session()
    channel = team_channels.create_channel(session, name=payload.get("name"), kind=payload.get("kind"),
                                           config=_object(payload, "config"), allowed_networks=allowed_networks(),
                                           actor=current_actor(), now=utcnow(), **switches)
    session.commit()
    response = jsonify(channel_json(channel))
    response.status_code = 201
    response.headers["Location"] = url_for("api.settings.get_channel", channel_id=channel.id)
    return response


@bp.patch("/channels/<int:channel_id>")
def update_channel(channel_id: int) -> Any:
    """Change a channel: {"name"?, "config"?, "clear"?: ["secret"], "enabled"?, "reminders"?, "escalations"?}.

    A secret (url, secret, password) that is absent, null or "" keeps its stored value.
    """
    payload = json_body({"name", "config", "clear", *SWITCH_KEYS})
    clear = payload.get("clear", [])
    if not isinstance(clear, list) or not all(isinstance(item, str) for item in clear):
        raise BadRequest("clear must be a list of configuration keys", "clear")
    session = get_session()
    channel = team_channels.get_channel(session, channel_id)
    changes = {key: payload[key] for key in ("name", *SWITCH_KEYS) if key in payload}
    team_channels.update_channel(session, channel=channel, changes=changes, config=_object(payload, "config"),
                                 clear=clear, allowed_networks=allowed_networks(), actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(channel_json(channel))


@bp.delete("/channels/<int:channel_id>")
def delete_channel(channel_id: int) -> Any:
    """Delete a channel that never had a message (409 has_messages otherwise: disable it)."""
    session = get_session()
    channel = team_channels.get_channel(session, channel_id)
    try:
        team_channels.delete_channel(session, channel=channel, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        if error.reason != "has_messages":
            raise
        return api_error(409, "has_messages", error.message, "channel")
    session.commit()
    return "", 204


@bp.post("/channels/<int:channel_id>/test")
def test_channel(channel_id: int) -> Any:
    """Queue a test message (a new one per call); the worker delivers it."""
    session = get_session()
    channel = team_channels.get_channel(session, channel_id)
    message = team_channels.queue_test_message(session, channel=channel, actor=current_actor(), now=utcnow(),
                                               zone=team_zone(), public_url=current_app.config["PUBLIC_URL"])
    session.commit()
    return jsonify(message=message.id, idempotency_key=message.idempotency_key, state=message.state.value), 202


# -- business calendar --------------------------------------------------------------------

@bp.get("/business-hours")
def get_business_hours() -> Any:
    """The working hours: {"start": "09:00", "end": "18:00"} in the team's zone."""
    return jsonify(calendar_days.business_hours(get_session()))


@bp.put("/business-hours")
def put_business_hours() -> Any:
    """Set the working hours: {"start": "HH:MM", "end": "HH:MM"}."""
    payload = json_body({"start", "end"})
    session = get_session()
    value = calendar_days.set_business_hours(session, start=payload.get("start"), end=payload.get("end"),
                                             actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(value)


def day_json(row: CalendarDay) -> dict[str, Any]:
    return {"date": row.day.isoformat(), "workday": row.is_workday, "note": row.note}


@bp.get("/calendar/days")
def list_calendar_days() -> Any:
    """Every day override, earliest first."""
    return jsonify(days=[day_json(row) for row in calendar_days.list_days(get_session())])


@bp.post("/calendar/days")
def set_calendar_day() -> Any:
    """Override a date: {"date": "YYYY-MM-DD", "workday": bool, "note"?}; replaces an earlier one."""
    payload = json_body({"date", "workday", "note"})
    session = get_session()
    existed = isinstance(payload.get("date"), str) and session.get(
        CalendarDay, calendar_days.parse_day("date", payload["date"])) is not None
    row = calendar_days.set_day(session, day=payload.get("date"), is_workday=payload.get("workday"),
                                note=payload.get("note", ""), actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(day_json(row)), 200 if existed else 201


@bp.delete("/calendar/days/<day>")
def remove_calendar_day(day: str) -> Any:
    """Drop a date's override."""
    session = get_session()
    calendar_days.remove_day(session, day=day, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.get("/calendar/preview")
def calendar_preview() -> Any:
    """?from=YYYY-MM-DD (default today) &days=N (default 30): each date as the clock counts it."""
    session = get_session()
    start = calendar_days.parse_day("from", request.args["from"]) if request.args.get("from") else today()
    days = request.args.get("days", "30")
    if not days.isdigit() or not 1 <= int(days) <= calendar_days.PREVIEW_MAX_DAYS:
        raise InvalidInput("days", f"days must be from 1 to {calendar_days.PREVIEW_MAX_DAYS}", reason="invalid")
    calendar = business_calendar(session, team_zone())
    rows = calendar_days.preview(session, calendar, start=start, days=int(days))
    return jsonify(
        hours=calendar_days.business_hours(session),
        uncovered_years=calendar_days.uncovered_years(calendar, [row.day for row in rows]),
        days=[{"date": row.day.isoformat(), "workday": row.workday, "reason": row.reason,
               "holiday": row.holiday, "note": row.note} for row in rows],
    )


# Nested once, at import, before any app registers the API blueprint.
api.bp.register_blueprint(bp)
