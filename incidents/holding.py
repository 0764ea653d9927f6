"""Holding statements: when nobody published in time, the system says "still on it" by itself.

The worker calls `publish_holding_statements` every few seconds. An update deadline (any
open deadline whose rule is met by a public update) overdue by the configured minutes, on
an open incident of a kind with holding statements on, gets the kind's holding script
published automatically, once: the claim is a HoldingClaim row inserted if absent.

The statement holds the public; it does not settle the debt. The deadline stays open (missed)
and its escalation goes on until a person publishes; the timeline, the escalation steps and
the reports say it was "held by an automatic statement".

One automatic statement in a row at most: if the latest update was already automatic,
the system stays quiet and the escalation keeps calling people (a robot repeating itself
would hide that the team went silent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import scripts
from incidents.actors import Actor
from incidents.comms import Composition, comms_settings, next_update_text, render
from incidents.comms_models import HoldingClaim
from incidents.deadlines import OPEN_STATES
from incidents.errors import InvalidInput
from incidents.lifecycle import OPEN_STATUSES, Kind
from incidents.models import Deadline, Incident, StatusUpdate
from incidents.once import insert_if_absent
from incidents.public_models import ComponentStatus, IncidentComponent
from incidents.timeutil import ensure_aware
from incidents.updates import publish_update

log = logging.getLogger(__name__)
SYSTEM = Actor.system("holding statement")


@dataclass(frozen=True)
class Candidate:
    deadline: Deadline
    incident: Incident


def overdue_update_deadlines(session: Session, *, now: datetime) -> list[Candidate]:
    """Update deadlines overdue by the configured delay on open incidents whose kind has holding on."""
    settings = comms_settings(session)
    kinds = [Kind(k) for k, enabled in settings["holding"].items() if enabled]
    if not kinds:
        return []
    cutoff = ensure_aware(now) - timedelta(minutes=int(settings["holding_after_minutes"]))
    claimed = sa.select(HoldingClaim.deadline_id)
    rows = session.execute(
        sa.select(Deadline, Incident)
        .join(Incident, Incident.id == Deadline.incident_id)
        .where(Deadline.state.in_(OPEN_STATES), Deadline.due_at <= cutoff, Deadline.paused_at.is_(None),
               Incident.status.in_(OPEN_STATUSES), Incident.kind.in_(kinds), Incident.internal_only.is_(False),
               Deadline.id.not_in(claimed))
        .order_by(Deadline.due_at, Deadline.id)
    )
    return [Candidate(d, i) for d, i in rows if "public_update" in (d.rule.get("met_by") or [])]


def _last_was_automatic(session: Session, incident: Incident) -> bool:
    latest = session.scalar(sa.select(StatusUpdate.automatic).where(StatusUpdate.incident_id == incident.id)
                            .order_by(StatusUpdate.id.desc()).limit(1))
    return bool(latest)


def _composition(session: Session, incident: Incident, *, now: datetime, zone: ZoneInfo) -> Composition | None:
    script = scripts.current(session, incident.kind, scripts.HOLDING)
    if script is None:
        return None
    affected = session.scalars(sa.select(IncidentComponent.component_id).where(
        IncidentComponent.incident_id == incident.id, IncidentComponent.status != ComponentStatus.OPERATIONAL))
    return Composition(
        zh=script.zh, en=script.en, values={"next_update_at": next_update_text(session, incident, now=now, zone=zone)},
        public_status=incident.status.value,
        # Said again as they are (publish_update then changes nothing about them).
        components={str(component_id): _status_of(session, incident, component_id) for component_id in affected},
        script=script.key, script_version=script.version,
    )


def _status_of(session: Session, incident: Incident, component_id: int) -> str:
    return session.scalar(sa.select(IncidentComponent.status).where(
        IncidentComponent.incident_id == incident.id, IncidentComponent.component_id == component_id)).value


def publish_holding_statements(session: Session, *, now: datetime, zone: ZoneInfo) -> list[StatusUpdate]:
    """Publish the holding statement for every update deadline that needs one now, each exactly once."""
    now = ensure_aware(now)
    published = []
    for candidate in overdue_update_deadlines(session, now=now):
        incident, deadline = candidate.incident, candidate.deadline
        if _last_was_automatic(session, incident):
            continue
        composition = _composition(session, incident, now=now, zone=zone)
        if composition is None:
            continue
        try:
            rendered = render(session, incident, composition)
        except InvalidInput as error:
            # A variable the system cannot fill (no public title, no components): people must speak.
            log.warning("no holding statement for %s: %s", incident.reference, error.message)
            continue
        if not insert_if_absent(session, HoldingClaim.__table__,
                                {"deadline_id": deadline.id, "incident_id": incident.id, "claimed_at": now}):
            continue
        update = publish_update(
            session, incident=incident, body=rendered.body, body_en=rendered.body_en,
            public_status=rendered.public_status.value, actor=SYSTEM, now=now, zone=zone, automatic=True,
            event_data={"script": composition.script, "version": composition.script_version,
                        "holding_for": deadline.rule_key, "held_deadline": deadline.id,
                        "overdue_seconds": int((now - deadline.due_at).total_seconds())},
        )
        session.execute(sa.update(HoldingClaim).where(HoldingClaim.deadline_id == deadline.id).values(update_id=update.id))
        published.append(update)
    session.flush()
    return published
