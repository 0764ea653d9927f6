"""The playbook's checklist on an incident: ticking a step records it and meets its deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.deadlines import handle_event, record_event
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.playbooks import Step, effective_playbook
from incidents.timeutil import ensure_aware


@dataclass(frozen=True)
class ChecklistItem:
    step: Step
    ticked: TimelineEvent | None  # the latest tick, if any

    @property
    def done(self) -> bool:
        return self.ticked is not None


def checklist(session: Session, incident: Incident) -> list[ChecklistItem]:
    """The incident's steps in playbook order, each with its latest tick."""
    playbook = effective_playbook(session, incident.kind)
    ticks: dict[str, TimelineEvent] = {}
    for event in session.scalars(
        sa.select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == EventKind.CHECKLIST_TICKED)
        .order_by(TimelineEvent.id)
    ):
        ticks[event.data.get("step", "")] = event
    return [ChecklistItem(step=step, ticked=ticks.get(step.key)) for step in playbook.steps]


def tick_step(
    session: Session, *, incident: Incident, step_key: str, note: str = "", actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> TimelineEvent:
    """Record a step as done; a step may be ticked again (a recurring report, for instance)."""
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be changed", reason="closed")
    playbook = effective_playbook(session, incident.kind)
    step = playbook.step(step_key)
    if step is None:
        raise InvalidInput("step", f"no step {step_key!r} in the {incident.kind.value} playbook", reason="unknown_step")
    note = (note or "").strip()
    if len(note) > 500:
        raise InvalidInput("note", "note is longer than 500 characters", reason="too_long", max=500)
    event = record_event(
        session, incident, kind=EventKind.CHECKLIST_TICKED, actor=actor, now=now, body=note,
        data={"step": step.key, "zh": step.zh, "en": step.en},
    )
    session.flush()
    handle_event(session, incident, f"checklist:{step.key}", event=event, now=now, zone=zone)
    session.flush()
    return event
