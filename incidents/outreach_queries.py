"""What the outreach screens and the API read: counts, filtered lists, the compensation ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents.deadlines import OPEN_STATES
from incidents.models import Deadline, Incident
from incidents.outreach_models import AffectedContact, Compensation, CompensationState, OutreachAttempt
from incidents.timeutil import ensure_aware

FILTERS = ("all", "not_reached", "overdue")
PAGE_SIZE = 100
CENT = Decimal("0.01")


def outreach_due_by_incident(session: Session, incident_ids: list[int]) -> dict[int, datetime]:
    """Each incident's first playbook deadline met by outreach: when its customers should all be reached."""
    due: dict[int, datetime] = {}
    for deadline in session.scalars(
        sa.select(Deadline).where(Deadline.incident_id.in_(incident_ids)).order_by(Deadline.due_at, Deadline.id)
    ):
        if deadline.incident_id not in due and "outreach" in (deadline.rule or {}).get("met_by", []):
            due[deadline.incident_id] = deadline.due_at
    return due


def outreach_due_at(session: Session, incident: Incident) -> datetime | None:
    """When every affected customer should have been reached: the first playbook deadline met by outreach."""
    return outreach_due_by_incident(session, [incident.id]).get(incident.id)


def reach_times(session: Session, incident_ids: list[int]) -> list[tuple[datetime | None, datetime | None]]:
    """(reached at, outreach due at) for every affected customer of these incidents."""
    due = outreach_due_by_incident(session, incident_ids)
    return [
        (reached_at, due.get(incident_id))
        for incident_id, reached_at in session.execute(
            sa.select(AffectedContact.incident_id, AffectedContact.reached_at)
            .where(AffectedContact.incident_id.in_(incident_ids))
        )
    ]


def overdue_promises(session: Session, incident: Incident, now: datetime) -> dict[int, Deadline]:
    """Open promise deadlines past due, by the customer they were made to."""
    rows = session.scalars(
        sa.select(Deadline).where(Deadline.incident_id == incident.id, Deadline.rule_key.startswith("promise:"),
                                  Deadline.state.in_(OPEN_STATES), Deadline.due_at < ensure_aware(now))
    )
    return {int(d.rule["contact_id"]): d for d in rows if d.rule.get("contact_id") is not None}


@dataclass
class OutreachSummary:
    affected: int
    reached: int
    overdue: int
    due_at: datetime | None
    overdue_ids: set[int] = field(default_factory=set)

    @property
    def not_reached(self) -> int:
        return self.affected - self.reached


def _overdue_condition(due_at: datetime | None, now: datetime, promise_ids: set[int]) -> sa.ColumnElement[bool]:
    parts = []
    if due_at is not None and due_at < now:
        parts.append(AffectedContact.reached_at.is_(None))
    if promise_ids:
        parts.append(AffectedContact.id.in_(promise_ids))
    return sa.or_(*parts) if parts else sa.false()


def summary(session: Session, incident: Incident, now: datetime) -> OutreachSummary:
    """How many customers are affected, reached, and overdue (not reached in time, or a promise late)."""
    now = ensure_aware(now)
    due_at = outreach_due_at(session, incident)
    promise_ids = set(overdue_promises(session, incident, now))
    mine = AffectedContact.incident_id == incident.id
    affected, reached = session.execute(
        sa.select(sa.func.count(), sa.func.count(AffectedContact.reached_at)).where(mine)
    ).one()
    overdue = session.scalar(
        sa.select(sa.func.count()).where(mine, _overdue_condition(due_at, now, promise_ids))
    )
    return OutreachSummary(affected=affected, reached=reached, overdue=overdue or 0, due_at=due_at,
                           overdue_ids=promise_ids)


def contacts(
    session: Session, incident: Incident, *, now: datetime, show: str = "all", query: str = "", page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[AffectedContact], int]:
    """One page of the incident's customers (all, not yet reached, or overdue) and how many match."""
    statement = sa.select(AffectedContact).where(AffectedContact.incident_id == incident.id)
    if show == "not_reached":
        statement = statement.where(AffectedContact.reached_at.is_(None))
    elif show == "overdue":
        now = ensure_aware(now)
        due_at = outreach_due_at(session, incident)
        statement = statement.where(_overdue_condition(due_at, now, set(overdue_promises(session, incident, now))))
    query = (query or "").strip()
    if query:
        like = f"%{query.replace('%', '').replace('_', '')}%"
        statement = statement.where(sa.or_(AffectedContact.name.ilike(like), AffectedContact.handle.ilike(like)))
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(AffectedContact.id).offset((max(page, 1) - 1) * page_size).limit(page_size)
    )
    return list(rows), total


def attempts(session: Session, contact: AffectedContact) -> list[OutreachAttempt]:
    """A customer's attempts, newest first."""
    return list(session.scalars(
        sa.select(OutreachAttempt).options(selectinload(OutreachAttempt.deadline))
        .where(OutreachAttempt.contact_id == contact.id).order_by(OutreachAttempt.at.desc(), OutreachAttempt.id.desc())
    ))


def incident_attempts(session: Session, incident: Incident) -> list[OutreachAttempt]:
    return list(session.scalars(
        sa.select(OutreachAttempt).where(OutreachAttempt.incident_id == incident.id)
        .order_by(OutreachAttempt.at, OutreachAttempt.id)
    ))


@dataclass
class LedgerLine:
    count: int = 0
    value: Decimal = Decimal("0")


@dataclass
class Ledger:
    """Compensation totals: each state's count and value, and the rows themselves."""

    lines: dict[str, LedgerLine]
    rows: list[Compensation]

    @property
    def offered(self) -> LedgerLine:
        """Everything ever offered (whatever became of it)."""
        return self.reached(*CompensationState)

    def reached(self, *states: CompensationState) -> LedgerLine:
        """Offers that got at least this far: accepted counts the delivered and confirmed too."""
        chosen = [self.lines[s.value] for s in states]
        return LedgerLine(sum(l.count for l in chosen), sum((l.value for l in chosen), Decimal("0")))

    @property
    def accepted(self) -> LedgerLine:
        return self.reached(CompensationState.ACCEPTED, CompensationState.DELIVERED, CompensationState.CONFIRMED)

    @property
    def delivered(self) -> LedgerLine:
        return self.reached(CompensationState.DELIVERED, CompensationState.CONFIRMED)

    @property
    def confirmed(self) -> LedgerLine:
        return self.reached(CompensationState.CONFIRMED)

    @property
    def open(self) -> int:
        return sum(1 for row in self.rows if not row.closed)

    def totals(self) -> dict[str, dict[str, Any]]:
        """Count and value (as a decimal string) offered, accepted, delivered and confirmed."""
        return {name: {"count": line.count, "value": str(line.value.quantize(CENT))}
                for name, line in (("offered", self.offered), ("accepted", self.accepted),
                                   ("delivered", self.delivered), ("confirmed", self.confirmed))}


def ledger_lines(session: Session, incident_ids: list[int] | None = None) -> dict[str, LedgerLine]:
    """Count and value of compensation in each state, for these incidents or all of them."""
    where = [Compensation.incident_id.in_(incident_ids)] if incident_ids is not None else []
    lines = {state.value: LedgerLine() for state in CompensationState}
    for state, count, total in session.execute(
        sa.select(Compensation.state, sa.func.count(), sa.func.coalesce(sa.func.sum(Compensation.value), 0))
        .where(*where).group_by(Compensation.state)
    ):
        lines[state.value] = LedgerLine(count, Decimal(total))
    return lines


def compensation_totals(session: Session, incident_ids: list[int]) -> dict[str, dict[str, Any]]:
    """The ledger's totals for these incidents, without loading the rows."""
    return Ledger(lines=ledger_lines(session, incident_ids), rows=[]).totals()


def ledger(session: Session, incident: Incident | None = None, *, limit: int = 500) -> Ledger:
    """The compensation ledger of one incident, or of all incidents when none is given."""
    where = [Compensation.incident_id == incident.id] if incident is not None else []
    lines = ledger_lines(session, [incident.id] if incident is not None else None)
    rows = list(session.scalars(
        sa.select(Compensation).options(selectinload(Compensation.contact), selectinload(Compensation.incident))
        .where(*where).order_by(Compensation.offered_at.desc(), Compensation.id.desc()).limit(limit)
    ))
    return Ledger(lines=lines, rows=rows)
