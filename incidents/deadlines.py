"""Deadlines: created, met, ended and waived by what happens to an incident; paused and resumed.

`handle_event` is the one entry point the incident service calls after each change, with
the timeline event that records it: it meets what the event satisfies, ends recurring
rules the event stops, and starts the rules the event anchors. What it did is written into
that same event's data, so the timeline tells the whole story in one entry.

The worker side (reminders, overdue, escalation) is in incidents.escalation.
"""

from __future__ import annotations

from datetime import datetime, time
from collections.abc import Collection, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents import clock
from incidents.actors import Actor
from incidents.audit import record_incident_event
from incidents.business_hours import BusinessCalendar
from incidents.comms_models import HoldingClaim
from incidents.errors import InvalidInput
from incidents.lookup import of_incident
from incidents.lifecycle import Kind, Status
from incidents.models import CalendarDay, Deadline, DeadlineState, EventKind, Incident, TimelineEvent, User
from incidents.playbooks import Rule, effective_playbook
from incidents.settings import get_setting
from incidents.timeutil import ensure_aware

OPEN_STATES = (DeadlineState.PENDING, DeadlineState.MISSED)
REASON_MAX = 500
# Promises that outlive the incident (a review's action items, keyed "review_action:<id>"):
# closing does not end them; they stay on the deadlines page and the worker's chain.
AFTER_CLOSE_PREFIX = "review_action:"


def outlives_close(rule_key: str) -> bool:
    """True for a deadline that goes on after its incident is closed."""
    return rule_key.startswith(AFTER_CLOSE_PREFIX)


AFTER_CLOSE = Deadline.rule_key.startswith(AFTER_CLOSE_PREFIX, autoescape=True)


def answerable(deadline: Deadline, incident: Incident, session: Session) -> list[User | None]:
    """Who answers for a deadline before the duty manager, first choice first: the person a
    review's action item names, else the incident role the rule names (the comms lead, then the
    commander standing in). The screens and the escalation chain both ask this."""
    named = (deadline.rule or {}).get("owner_user_id")
    if named is not None:
        return [session.get(User, int(named))]
    if deadline.owner == "comms_lead":
        return [incident.comms_lead, incident.commander]
    if deadline.owner == "commander":
        return [incident.commander]
    return []


def record_event(
    session: Session, incident: Incident, *, kind: EventKind, actor: Actor, now: datetime,
    body: str = "", data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append a timeline event, its audit record, and mark the incident changed (for boards' cache validators)."""
    event = TimelineEvent(
        incident=incident, at=now, kind=kind, actor_id=actor.user_id, actor_label=actor.label,
        body=body, data=data or {},
    )
    session.add(event)
    record_incident_event(session, event, actor=actor)
    incident.updated_at = now
    return event


def _note_on_event(event: TimelineEvent, key: str, item: dict[str, Any]) -> None:
    data = dict(event.data or {})
    data[key] = [*data.get(key, []), item]
    event.data = data


def business_calendar(session: Session, zone: ZoneInfo) -> BusinessCalendar:
    """The team's business calendar: working hours and the admin's day overrides."""
    hours = get_setting(session, "business_hours")
    overrides = {row.day: row.is_workday for row in session.scalars(sa.select(CalendarDay))}
    return BusinessCalendar(
        zone=zone,
        day_start=time.fromisoformat(hours["start"]),
        day_end=time.fromisoformat(hours["end"]),
        overrides=overrides,
    )


def open_deadlines(session: Session, incident: Incident) -> list[Deadline]:
    return list(
        session.scalars(
            sa.select(Deadline)
            .where(Deadline.incident_id == incident.id, Deadline.state.in_(OPEN_STATES))
            .order_by(Deadline.due_at, Deadline.id)
        )
    )


def held_deadlines(session: Session, deadline_ids: Collection[int]) -> set[int]:
    """Those of `deadline_ids` an automatic holding statement held for: the public was told
    something, the update a person owes is still owed (incidents.holding)."""
    if not deadline_ids:
        return set()
    return set(session.scalars(sa.select(HoldingClaim.deadline_id).where(
        HoldingClaim.deadline_id.in_(list(deadline_ids)), HoldingClaim.update_id.is_not(None))))


def incident_deadlines(session: Session, incident: Incident) -> list[Deadline]:
    """Every deadline of the incident: open ones soonest first, then the settled, newest first."""
    rows = list(session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)))
    open_rows = sorted((d for d in rows if d.state in OPEN_STATES), key=lambda d: (d.due_at, d.id))
    settled = sorted((d for d in rows if d.state not in OPEN_STATES), key=lambda d: (d.due_at, d.id), reverse=True)
    return open_rows + settled


def _schedule(deadline: Deadline) -> clock.Schedule:
    return clock.Schedule(
        due_at=deadline.due_at, remind_at=deadline.remind_at, escalate_every=int(deadline.rule["escalate_every"])
    )


def _create(
    session: Session, incident: Incident, rule: Rule, *, anchor_at: datetime, minutes: int, sequence: int,
    business_hours: bool, source: str, calendar: BusinessCalendar | None, now: datetime,
) -> Deadline:
    due_at = clock.due_after(anchor_at, minutes, calendar if business_hours else None)
    return _store(session, incident, rule, rule.snapshot(business_hours=business_hours, source=source),
                  due_at=due_at, sequence=sequence, now=now)


def _store(
    session: Session, incident: Incident, rule: Rule, snapshot: dict[str, Any], *, due_at: datetime, sequence: int,
    now: datetime,
) -> Deadline:
    deadline = Deadline(
        incident_id=incident.id,
        rule_key=rule.key,
        rule=snapshot,
        owner=rule.owner,
        sequence=sequence,
        created_at=now,
        due_at=due_at,
        remind_at=clock.remind_time(due_at, rule.remind_before, created_at=now),
        state=DeadlineState.PENDING,
        stage=clock.CREATED,
        paused_seconds=0,
    )
    if incident.clock_paused_at is not None:
        deadline.paused_at = now
        deadline.next_fire_at = None
    else:
        deadline.next_fire_at = _schedule(deadline).next_fire_at(clock.CREATED)
    session.add(deadline)
    return deadline


def next_sequence(session: Session, incident: Incident, rule_key: str) -> int:
    """The number of the next occurrence of a rule on an incident (1 for the first)."""
    previous = session.scalar(
        sa.select(sa.func.max(Deadline.sequence)).where(Deadline.incident_id == incident.id,
                                                        Deadline.rule_key == rule_key)
    )
    return (previous or 0) + 1


def add_deadline(
    session: Session, incident: Incident, rule: Rule, *, due_at: datetime, event: TimelineEvent, now: datetime,
    extra: dict[str, Any] | None = None,
) -> Deadline:
    """A deadline at a time a person chose (a promise to a customer), outside the playbook's rules.

    It is reminded and escalated like the others; `extra` is kept in its rule snapshot.
    """
    now = ensure_aware(now)
    snapshot = {**rule.snapshot(business_hours=False, source="person"), **(extra or {})}
    deadline = _store(session, incident, rule, snapshot, due_at=ensure_aware(due_at),
                      sequence=next_sequence(session, incident, rule.key), now=now)
    _note_on_event(event, "started", {"rule": rule.key, "due_at": deadline.due_at.isoformat()})
    return deadline


def start_deadline(session: Session, incident: Incident, rule: Rule, *, now: datetime, source: str) -> Deadline:
    """Start one deadline outside the playbook (e.g. a sign-off request), due `rule.first_offset` from now.

    It follows the clock's rules like any other: a snapshot of `rule`, reminders and
    escalation by the worker, met by an event in its `met_by`, paused with the clock.
    """
    now = ensure_aware(now)
    deadline = _create(session, incident, rule, anchor_at=now, minutes=rule.first_offset,
                       sequence=next_sequence(session, incident, rule.key), business_hours=False, source=source,
                       calendar=None, now=now)
    session.flush()
    return deadline


class _Context:
    """What handle_event needs, loaded once: the playbook and, only if used, the calendar."""

    def __init__(self, session: Session, incident: Incident, zone: ZoneInfo):
        self.session = session
        self.playbook = effective_playbook(session, incident.kind)
        self.rules = self.playbook.rules_for(incident.severity)
        self.business_hours = self.playbook.business_hours and incident.kind == Kind.COMPLAINT
        self._calendar: BusinessCalendar | None = None
        self.zone = zone

    @property
    def calendar(self) -> BusinessCalendar | None:
        if not self.business_hours:
            return None
        if self._calendar is None:
            self._calendar = business_calendar(self.session, self.zone)
        return self._calendar


def handle_event(
    session: Session, incident: Incident, trigger: str | Sequence[str], *, event: TimelineEvent, now: datetime,
    zone: ZoneInfo,
) -> None:
    """Meet, end and start deadlines after `trigger` happened (recorded as `event`); several
    triggers of one change (e.g. status:resolved, then resolved) are taken in order."""
    now = ensure_aware(now)
    context = _Context(session, incident, zone)
    if event.id is None:
        session.flush()
    for one in [trigger] if isinstance(trigger, str) else trigger:
        _handle(session, incident, one, event=event, now=now, context=context)


def _handle(
    session: Session, incident: Incident, trigger: str, *, event: TimelineEvent, now: datetime, context: _Context
) -> None:
    existing = open_deadlines(session, incident)
    for deadline in existing:
        if trigger in deadline.rule.get("met_by", []):
            _meet(session, incident, deadline, event=event, now=now, context=context)
    for deadline in existing:
        if deadline.state in OPEN_STATES and deadline.rule.get("until") == trigger and deadline.rule.get("period"):
            _end(deadline, reason=f"ended:{trigger}", event=event)
    if trigger == "closed":
        for deadline in existing:
            if deadline.state in OPEN_STATES and not outlives_close(deadline.rule_key):
                _end(deadline, reason="closed", event=event)
    if trigger == "reopened":
        for deadline in existing:
            if deadline.state == DeadlineState.PENDING and deadline.rule.get("anchor") == "resolved":
                _end(deadline, reason="reopened", event=event)
    _start(session, incident, trigger, event=event, now=now, context=context)


def _start(
    session: Session, incident: Incident, trigger: str, *, event: TimelineEvent, now: datetime, context: _Context
) -> None:
    open_keys = {d.rule_key for d in open_deadlines(session, incident)}
    for rule in context.rules:
        restarts = trigger == "reopened" and rule.anchor == "opened" and (
            rule.recurring or "public_update" in rule.met_by)  # a reopened incident owes the public a first notice
        if rule.anchor != trigger and not restarts:
            continue
        if rule.recurring and _ended(incident, rule.until):
            continue  # its end already came: a resolved notice calls for no next update
        if rule.key in open_keys:
            continue
        deadline = _create(
            session, incident, rule, anchor_at=now, minutes=rule.first_offset,
            sequence=next_sequence(session, incident, rule.key),
            business_hours=context.business_hours, source=context.playbook.source, calendar=context.calendar, now=now,
        )
        _note_on_event(event, "started", {"rule": rule.key, "due_at": deadline.due_at.isoformat()})


def _meet(
    session: Session, incident: Incident, deadline: Deadline, *, event: TimelineEvent, now: datetime,
    context: _Context,
) -> None:
    deadline.state = DeadlineState.MET
    deadline.met_at = now
    deadline.met_by_event_id = event.id
    deadline.next_fire_at = None
    _note_on_event(event, "met", {"rule": deadline.rule_key, "late_seconds": deadline.late_seconds or 0})
    period = deadline.rule.get("period")
    if period and not _ended(incident, deadline.rule.get("until")):
        rule = next((r for r in context.rules if r.key == deadline.rule_key), None)
        if rule is None or not rule.recurring:
            return
        following = _create(
            session, incident, rule, anchor_at=now, minutes=rule.period or period, sequence=deadline.sequence + 1,
            business_hours=context.business_hours, source=context.playbook.source, calendar=context.calendar, now=now,
        )
        _note_on_event(event, "started", {"rule": rule.key, "due_at": following.due_at.isoformat()})


def _ended(incident: Incident, until: str | None) -> bool:
    if until == "resolved":
        return incident.resolved_at is not None
    if until == "closed":
        return incident.closed_at is not None
    return False


def _end(deadline: Deadline, *, reason: str, event: TimelineEvent) -> None:
    """Stop a deadline: pending ones are waived with the reason; missed ones stay missed."""
    deadline.next_fire_at = None
    if deadline.state == DeadlineState.PENDING:
        deadline.state = DeadlineState.WAIVED
        deadline.waived_reason = reason
        _note_on_event(event, "waived", {"rule": deadline.rule_key, "reason": reason})


def add_promise(
    session: Session, *, incident: Incident, rule: dict[str, Any], due_at: datetime, event: TimelineEvent,
    now: datetime,
) -> Deadline:
    """Put a promise made by a person on the clock, with its own rule snapshot.

    `rule` holds what a playbook rule's snapshot holds (key, zh, en, owner, remind_before,
    escalate_every, ...); the deadline is reminded and escalated like the playbook's.
    """
    now = ensure_aware(now)
    snapshot = {"met_by": [], "offset": None, "period": None, "until": None, "anchor": "promise",
                "business_hours": False, "source": "promise", **rule}
    deadline = Deadline(
        incident_id=incident.id, rule_key=snapshot["key"], rule=snapshot, owner=snapshot["owner"],
        sequence=next_sequence(session, incident, snapshot["key"]), created_at=now, due_at=ensure_aware(due_at),
        remind_at=clock.remind_time(due_at, int(snapshot.get("remind_before", 0)), created_at=now),
        state=DeadlineState.PENDING, stage=clock.CREATED, paused_seconds=0,
    )
    deadline.next_fire_at = _schedule(deadline).next_fire_at(clock.CREATED)
    session.add(deadline)
    session.flush()
    _note_on_event(event, "started", {"rule": deadline.rule_key, "due_at": deadline.due_at.isoformat()})
    return deadline


def get_deadline(session: Session, incident: Incident, deadline_id: int) -> Deadline:
    return of_incident(session, Deadline, deadline_id, incident, "deadline")


def _reason(value: str | None, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("reason", "a reason is required", reason="required")
    if len(text) > REASON_MAX:
        raise InvalidInput("reason", f"reason is longer than {REASON_MAX} characters", reason="too_long", max=REASON_MAX)
    return text


def _check_open(deadline: Deadline) -> None:
    if deadline.state == DeadlineState.MET:
        raise InvalidInput("deadline", "this deadline is already met", reason="already_met")
    if deadline.state == DeadlineState.WAIVED:
        raise InvalidInput("deadline", "this deadline was waived", reason="already_waived")


def mark_met(
    session: Session, *, incident: Incident, deadline: Deadline, note: str = "", actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> TimelineEvent:
    """A person says the promise was kept (recurring rules then start their next occurrence)."""
    now = ensure_aware(now)
    _check_open(deadline)
    note = _reason(note, required=False)
    event = record_event(
        session, incident, kind=EventKind.DEADLINE_MET, actor=actor, now=now, body=note,
        data={"rule": deadline.rule_key, "deadline": deadline.id},
    )
    session.flush()
    _meet(session, incident, deadline, event=event, now=now, context=_Context(session, incident, zone))
    session.flush()
    return event


def waive(
    session: Session, *, incident: Incident, deadline: Deadline, reason: str, actor: Actor, now: datetime
) -> TimelineEvent:
    """Excuse a deadline, with a reason on the timeline."""
    now = ensure_aware(now)
    _check_open(deadline)
    reason = _reason(reason, required=True)
    deadline.state = DeadlineState.WAIVED
    deadline.waived_reason = reason
    deadline.next_fire_at = None
    event = record_event(
        session, incident, kind=EventKind.DEADLINE_WAIVED, actor=actor, now=now, body=reason,
        data={"rule": deadline.rule_key, "deadline": deadline.id},
    )
    session.flush()
    return event


def pause_clock(
    session: Session, *, incident: Incident, reason: str, actor: Actor, now: datetime
) -> TimelineEvent:
    """Stop a complaint's clock while it waits on the customer (reason recorded)."""
    now = ensure_aware(now)
    if incident.kind != Kind.COMPLAINT:
        raise InvalidInput("kind", "only a complaint's clock can be paused", reason="pause_complaint_only")
    if incident.clock_paused_at is not None:
        raise InvalidInput("clock", "the clock is already paused", reason="already_paused")
    reason = _reason(reason, required=True)
    incident.clock_paused_at = now
    for deadline in open_deadlines(session, incident):
        deadline.paused_at = now
        deadline.next_fire_at = None
    event = record_event(session, incident, kind=EventKind.CLOCK_PAUSED, actor=actor, now=now, body=reason)
    session.flush()
    return event


def resume_clock(
    session: Session, *, incident: Incident, actor: Actor, now: datetime, zone: ZoneInfo
) -> TimelineEvent:
    """Start the clock again: each paused deadline keeps the time it had left."""
    now = ensure_aware(now)
    paused_at = incident.clock_paused_at
    if paused_at is None:
        raise InvalidInput("clock", "the clock is not paused", reason="not_paused")
    context = _Context(session, incident, zone)
    for deadline in open_deadlines(session, incident):
        if deadline.paused_at is None:
            continue
        calendar = context.calendar if deadline.rule.get("business_hours") else None
        deadline.due_at = clock.shift_for_pause(deadline.due_at, deadline.paused_at, now, calendar)
        if deadline.stage < clock.REMINDED:
            deadline.remind_at = clock.remind_time(
                deadline.due_at, int(deadline.rule.get("remind_before", 0)), created_at=now
            )
        deadline.paused_seconds += max(0, int((now - deadline.paused_at).total_seconds()))
        deadline.paused_at = None
        deadline.next_fire_at = _schedule(deadline).next_fire_at(deadline.stage)
    incident.clock_paused_at = None
    paused_seconds = int((now - paused_at).total_seconds())
    event = record_event(
        session, incident, kind=EventKind.CLOCK_RESUMED, actor=actor, now=now,
        data={"paused_seconds": paused_seconds},
    )
    session.flush()
    return event


def next_deadline(session: Session, incident_ids: list[int]) -> dict[int, Deadline]:
    """The most urgent open deadline of each incident (soonest due; missed ones are the soonest).

    A closed incident has none: its missed deadlines are history, not a countdown.
    """
    if not incident_ids:
        return {}
    rows = session.scalars(
        sa.select(Deadline)
        .join(Incident, Incident.id == Deadline.incident_id)
        .where(Deadline.incident_id.in_(incident_ids), Deadline.state.in_(OPEN_STATES),
               sa.or_(Incident.status != Status.CLOSED, AFTER_CLOSE))
        .order_by(Deadline.incident_id, Deadline.due_at, Deadline.id)
    )
    result: dict[int, Deadline] = {}
    for deadline in rows:
        result.setdefault(deadline.incident_id, deadline)
    return result


def pending_deadlines(session: Session, *, limit: int = 500) -> list[Deadline]:
    """Every open deadline across incidents, soonest first (the deadlines page).

    A closed incident's missed deadlines stay missed for the record but are nobody's work:
    left in, they would pile up at the top (the oldest due first) and push live ones out.
    """
    return list(
        session.scalars(
            sa.select(Deadline)
            .join(Incident, Incident.id == Deadline.incident_id)
            .options(selectinload(Deadline.incident))
            .where(Deadline.state.in_(OPEN_STATES),
                   sa.or_(Incident.status != Status.CLOSED, AFTER_CLOSE))
            .order_by(Deadline.due_at, Deadline.id)
            .limit(limit)
        )
    )
