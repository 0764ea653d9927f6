"""The public projection: incidents as the status page, the feeds and the API v2 show them.

Everything public is read through here, built only from published updates, public titles
and components; internal titles, notes, the timeline and internal-only incidents never
enter these objects, so no template or serializer can leak them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.lifecycle import Severity, Status
from incidents.models import Incident, StatusUpdate
from incidents.public_models import SEVERITY_RANK, Component, ComponentStatus, IncidentComponent, Maintenance
from incidents.publicity import MAINTENANCE_ACTIVE, public_incidents, worst

# Statuspage's impact and indicator scale, mildest first.
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_IMPACT = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "none",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
SEVERITY_IMPACT = {Severity.P1: "critical", Severity.P2: "major", Severity.P3: "minor", Severity.P4: "none"}


@dataclass
class AffectedComponent:
    id: int
    name: str
    name_en: str
    status: ComponentStatus
    old_status: ComponentStatus


@dataclass
class PublicUpdate:
    id: int
    status: Status
    body: str
    body_en: str
    at: datetime
    components: list[AffectedComponent] = field(default_factory=list)


@dataclass
class PublicIncident:
    id: int
    reference: str
    title: str
    title_en: str
    status: Status
    impact: str  # the worst the incident's updates ever said (Statuspage's incident impact)
    impact_now: str  # what its latest word on each component says today
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: list[PublicUpdate]
    components: list[AffectedComponent]

    @property
    def active(self) -> bool:
        return self.status != Status.RESOLVED


def worst_impact(impacts: list[str]) -> str:
    return max(impacts, key=IMPACTS.index, default="none")


def _load(session: Session, ids_query: sa.Select, *, order_newest: bool = True, limit: int | None = None,
          offset: int = 0) -> list[PublicIncident]:
    statement = sa.select(Incident).where(Incident.id.in_(ids_query))
    statement = statement.order_by(Incident.opened_at.desc() if order_newest else Incident.opened_at,
                                   Incident.id.desc())
    if limit is not None:
        statement = statement.limit(limit).offset(offset)
    incidents = list(session.scalars(statement))
    if not incidents:
        return []
    ids = [i.id for i in incidents]
    updates: dict[int, list[StatusUpdate]] = {i: [] for i in ids}
    for update in session.scalars(
        sa.select(StatusUpdate).where(StatusUpdate.incident_id.in_(ids)).order_by(StatusUpdate.id.desc())
    ):
        updates[update.incident_id].append(update)
    components = {c.id: c for c in session.scalars(sa.select(Component))}
    current: dict[int, list[IncidentComponent]] = {i: [] for i in ids}
    for row in session.scalars(sa.select(IncidentComponent).where(IncidentComponent.incident_id.in_(ids))):
        current[row.incident_id].append(row)
    return [_project(i, updates[i.id], current[i.id], components) for i in incidents]


def _affected(components: dict[int, Component], cid: int, status: str, old: str) -> AffectedComponent | None:
    component = components.get(cid)
    if component is None:
        return None
    return AffectedComponent(cid, component.name, component.name_en, ComponentStatus(status), ComponentStatus(old))


def _project(incident: Incident, updates: list[StatusUpdate], current: list[IncidentComponent],
             components: dict[int, Component]) -> PublicIncident:
    public_updates = []
    seen: list[ComponentStatus] = []
    for update in updates:
        affected = [a for a in (_affected(components, item["id"], item["status"], item["old_status"])
                                for item in update.components or []) if a]
        seen.extend(a.status for a in affected)
        public_updates.append(PublicUpdate(update.id, update.public_status, update.body, update.body_en or "",
                                           update.published_at, affected))
    latest = public_updates[0]
    status = latest.status
    resolved_at = latest.at if status == Status.RESOLVED else None
    if incident.status == Status.CLOSED and status != Status.RESOLVED:
        status, resolved_at = Status.RESOLVED, incident.closed_at
    monitoring = [u.at for u in public_updates if u.status == Status.MONITORING]
    affected_now = sorted(
        (a for a in (_affected(components, row.component_id, row.status.value, row.status.value) for row in current)
         if a), key=lambda a: (components[a.id].position, a.id))
    if seen:
        impact = COMPONENT_IMPACT[worst(seen)]
        impact_now = COMPONENT_IMPACT[worst([a.status for a in affected_now])]
    else:  # no update named a component: the severity is all the public was told
        impact = impact_now = SEVERITY_IMPACT[incident.severity]
    return PublicIncident(
        id=incident.id,
        reference=incident.reference,
        title=incident.public_title or "",
        title_en=incident.public_title_en or "",
        status=status,
        impact=impact,
        impact_now=impact_now,
        created_at=public_updates[-1].at,
        updated_at=latest.at,
        monitoring_at=max(monitoring) if monitoring else None,
        resolved_at=resolved_at,
        updates=public_updates,
        components=affected_now,
    )


def active_incidents(session: Session) -> list[PublicIncident]:
    """Ongoing public incidents, newest first."""
    return _load(session, public_incidents(active=True))


def past_incidents(session: Session, *, limit: int, offset: int = 0) -> list[PublicIncident]:
    """Resolved public incidents, newest first, one page of them."""
    return _load(session, public_incidents(active=False), limit=limit, offset=offset)


def count_past_incidents(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(public_incidents(active=False).subquery())) or 0


def recent_incidents(session: Session, *, limit: int = 50) -> list[PublicIncident]:
    """Public incidents of every status, newest first (the API's and the feeds' list)."""
    return _load(session, public_incidents(active=None), limit=limit)


def public_incident(session: Session, reference: str) -> PublicIncident:
    """One public incident by reference; NotFound for anything the public may not see."""
    found = _load(session, public_incidents(active=None).where(Incident.reference == reference))
    if not found:
        raise NotFound(f"no public incident {reference}")
    return found[0]


@dataclass
class Overall:
    """The page's one-line state, on Statuspage's indicator scale."""

    indicator: str
    maintenance: bool

    @property
    def description(self) -> str:
        """Statuspage's English wording, used as the API's status.description."""
        if self.indicator == "none":
            return "Service Under Maintenance" if self.maintenance else "All Systems Operational"
        return {"minor": "Minor Service Outage", "major": "Partial System Outage",
                "critical": "Major System Outage"}[self.indicator]


def overall(components: list[Component], incidents: list[PublicIncident],
            maintenances: list[Maintenance]) -> Overall:
    """The worst of what the shown components and the ongoing incidents say now.

    An ongoing incident counts with what its latest updates say of its components, not with
    the worst it ever had: lowering its components to degraded lowers the headline at once.
    """
    shown = [c for c in components if c.show_on_page]
    indicator = worst_impact([COMPONENT_IMPACT[c.status] for c in shown]
                             + [i.impact_now for i in incidents if i.active])
    maintenance = any(m.status in MAINTENANCE_ACTIVE for m in maintenances) or any(
        c.status == ComponentStatus.UNDER_MAINTENANCE for c in shown)
    return Overall(indicator, maintenance)


def status_rank(status: ComponentStatus) -> int:
    return SEVERITY_RANK[status]
