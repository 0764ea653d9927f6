"""Resolving tells the public: the resolved notice goes out in the same transaction as the move.

An incident has a public face when the public already knows of it: it is not internal-only,
it has a public title and at least one update was published (it is on the status page).
Resolving such an incident publishes its resolved notice at once: the one a person wrote,
else the kind's "recovered" script filled by the system (marked automatic on the timeline).
An incident without a public face resolves quietly unless a notice is given.

The notice is rendered before anything changes, so a refused notice resolves nothing; an
incident already resolved is left as it is, so a repeated resolve publishes nothing again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import comms, scripts, service
from incidents.actors import Actor
from incidents.comms import Composition
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import Incident, StatusUpdate
from incidents.public_models import ComponentStatus, IncidentComponent
from incidents.timeutil import ensure_aware
from incidents.updates import publish_update, require_public_title

RECOVERED = "recovered"


@dataclass(frozen=True)
class Resolution:
    incident: Incident
    update: StatusUpdate | None  # the resolved notice, when one went out
    repeated: bool = False  # the incident was already resolved: nothing was done


def has_public_face(session: Session, incident: Incident) -> bool:
    """True when the public knows the incident: visible, named, and already spoken about."""
    if incident.internal_only or not (incident.public_title or "").strip():
        return False
    first = session.scalar(sa.select(StatusUpdate.id).where(StatusUpdate.incident_id == incident.id).limit(1))
    return first is not None


def recovered_composition(session: Session, incident: Incident) -> Composition:
    """The kind's recovered script, saying every component the incident touched is operational again."""
    script = scripts.current(session, incident.kind, RECOVERED)
    if script is None:
        raise InvalidInput("public_update", "this kind has no recovered script: give the resolved notice",
                           reason="no_recovered_script")
    touched = session.scalars(sa.select(IncidentComponent.component_id)
                              .where(IncidentComponent.incident_id == incident.id))
    return Composition(zh=script.zh, en=script.en, public_status=Status.RESOLVED.value,
                       components={str(cid): ComponentStatus.OPERATIONAL.value for cid in touched},
                       script=script.key, script_version=script.version)


def _resolving(composition: Composition) -> Composition:
    if composition.public_status not in (None, "", Status.RESOLVED.value):
        raise InvalidInput("public_status", "the notice that resolves an incident says resolved",
                           reason="resolving_status")
    return dataclasses.replace(composition, public_status=Status.RESOLVED.value)


def resolve_incident(
    session: Session, *, incident: Incident, public_update: Composition | None, may_approve: bool,
    expected_version: int | None = None, expected_status: str | None = None, note: str = "", actor: Actor,
    now: datetime, zone: ZoneInfo,
) -> Resolution:
    """Resolve the incident and, when it has a public face (or a notice is given), publish its resolved notice.

    Resolving is a command, so the resolver's own publish is the sign-off; someone who may not
    approve updates cannot resolve a public incident whose updates need one.
    """
    now = ensure_aware(now)
    if incident.status == Status.RESOLVED:
        return Resolution(incident, None, repeated=True)
    automatic = public_update is None
    if public_update is None and has_public_face(session, incident):
        public_update = recovered_composition(session, incident)
    rendered = None
    if public_update is not None:
        public_update = _resolving(public_update)
        require_public_title(incident)
        signoff = comms.needs_signoff(session, incident)
        if signoff and not may_approve:
            raise InvalidInput("public_update", "the resolved notice needs a duty manager's sign-off",
                               reason="resolve_needs_signoff")
        rendered = comms.render(session, incident, public_update)
    service.transition_incident(session, incident=incident, target=Status.RESOLVED.value,
                                expected_version=expected_version, expected_status=expected_status, note=note,
                                actor=actor, now=now, zone=zone)
    if rendered is None:
        return Resolution(incident, None)
    data = {"resolves": True, **({"script": public_update.script, "version": public_update.script_version}
                                 if public_update.script else {}), **({"signoff": "self"} if signoff else {})}
    update = publish_update(
        session, incident=incident, body=rendered.body, body_en=rendered.body_en,
        public_status=Status.RESOLVED.value, components={str(c.id): s.value for c, s in rendered.components},
        actor=actor, now=now, zone=zone, automatic=automatic, event_data=data,
    )
    return Resolution(incident, update)
