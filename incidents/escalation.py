"""The worker's side of the clock: take the steps of deadlines that came due, exactly once.

`fire_due` finds deadlines whose `next_fire_at` has passed and, for each, claims its next
steps with a conditional UPDATE on `stage` (so two workers, or a worker restarted after a
crash, can never both act on one step), then writes what the steps mean: the reminder or
the overdue notice, the escalation to the next person in the chain, a timeline entry,
bell notifications and outbox messages for team channels, all in one transaction.

Escalation widens the circle, it does not hand the debt on: each step tells everyone the chain
has reached so far (owner, commander, duty manager on duty, admins), and a person holding
several of those roles gets one message for the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from incidents import clock, notify
from incidents.actors import Actor
from incidents.deadlines import _schedule, answerable, held_deadlines, outlives_close, record_event
from incidents.lifecycle import Status
from incidents.models import Deadline, DeadlineState, EventKind, Incident, TeamChannel, User
from incidents.roster import duty_managers_to_tell
from incidents.timeutil import ensure_aware

BATCH = 200
SYSTEM = Actor.system("clock")


@dataclass
class FireReport:
    steps: int = 0
    lost_claims: int = 0


def due_ids(
    session: Session, now: datetime, *, limit: int = BATCH, only: list[int] | None = None
) -> list[tuple[int, int]]:
    """(id, stage) of deadlines with a step due, oldest first (`only`: among these ids)."""
    statement = sa.select(Deadline.id, Deadline.stage).where(Deadline.next_fire_at <= ensure_aware(now))
    if only is not None:
        statement = statement.where(Deadline.id.in_(only))
    rows = session.execute(statement.order_by(Deadline.next_fire_at, Deadline.id).limit(limit))
    return [(deadline_id, stage) for deadline_id, stage in rows]


def set_aside(session: Session, deadline_id: int, *, until: datetime) -> None:
    """Put off a deadline whose step keeps failing, so it cannot hold up the others; it is
    tried again at `until` (the failure itself is in the worker's log)."""
    session.execute(
        sa.update(Deadline).where(Deadline.id == deadline_id, Deadline.next_fire_at.is_not(None))
        .values(next_fire_at=ensure_aware(until))
    )


def fire_due(
    session: Session, *, now: datetime, zone: ZoneInfo, public_url: str = "", limit: int = BATCH,
    only: list[int] | None = None,
) -> FireReport:
    """Take every step due at `now` for up to `limit` deadlines, in the caller's transaction."""
    now = ensure_aware(now)
    report = FireReport()
    candidates = due_ids(session, now, limit=limit, only=only)
    if not candidates:
        return report
    deadlines = {
        d.id: d
        for d in session.scalars(
            sa.select(Deadline)
            .options(selectinload(Deadline.incident).selectinload(Incident.commander))
            .where(Deadline.id.in_([deadline_id for deadline_id, _ in candidates]))
        )
    }
    channels: list[TeamChannel] = notify.active_channels(session)
    people = _People(session, now)
    held = held_deadlines(session, list(deadlines))
    # Claim everything first, then write what the steps mean: the claims then run with no
    # pending objects to flush, and the writes go out together in one flush.
    claimed: list[tuple[Deadline, list[int]]] = []
    connection = session.connection()
    for deadline_id, seen_stage in candidates:
        deadline = deadlines.get(deadline_id)
        if deadline is None or deadline.stage != seen_stage:
            report.lost_claims += 1
            continue
        steps = _schedule(deadline).steps_due(seen_stage, now)
        if not steps or not _claim(connection, deadline, seen_stage, steps[-1]):
            report.lost_claims += 1
            continue
        claimed.append((deadline, steps))
    with session.no_autoflush:
        for deadline, steps in claimed:
            for stage in steps:
                _take_step(session, deadline, stage, now=now, zone=zone, public_url=public_url,
                           channels=channels, people=people, held=deadline.id in held)
                report.steps += 1
    session.flush()
    return report


_DEADLINES = Deadline.__table__
# Built once: a claim per deadline is the worker's hottest statement.
_CLAIM = (
    sa.update(_DEADLINES)
    .where(
        _DEADLINES.c.id == sa.bindparam("claim_id"),
        _DEADLINES.c.stage == sa.bindparam("seen_stage"),
        # A person meeting or waiving it meanwhile wins: the claim then finds nothing.
        _DEADLINES.c.state == sa.bindparam("seen_state"),
        _DEADLINES.c.next_fire_at.is_not(None),
    )
    .values(stage=sa.bindparam("new_stage"), next_fire_at=sa.bindparam("new_fire_at"), state=sa.bindparam("new_state"))
)


def _claim(connection: sa.Connection, deadline: Deadline, seen_stage: int, new_stage: int) -> bool:
    """Move the deadline to `new_stage` only if nobody else moved it since we read it."""
    next_fire_at = _schedule(deadline).next_fire_at(new_stage)
    if deadline.incident.status == Status.CLOSED and not outlives_close(deadline.rule_key):
        next_fire_at = None
    state = DeadlineState.MISSED if new_stage >= clock.OVERDUE else deadline.state
    result = connection.execute(
        _CLAIM,
        {
            "claim_id": deadline.id, "seen_stage": seen_stage, "seen_state": deadline.state,
            "new_stage": new_stage, "new_fire_at": next_fire_at, "new_state": state,
        },
    )
    if result.rowcount != 1:
        return False
    set_committed_value(deadline, "stage", new_stage)
    set_committed_value(deadline, "next_fire_at", next_fire_at)
    set_committed_value(deadline, "state", state)
    return True


class _People:
    """Who to tell, looked up once per batch."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now
        self._on_duty: list[User] | None = None
        self._admins: list[User] | None = None

    def duty_manager(self) -> list[User]:
        if self._on_duty is None:
            self._on_duty = duty_managers_to_tell(self.session, self.now)
        return self._on_duty

    def admins(self) -> list[User]:
        if self._admins is None:
            self._admins = notify.active_admins(self.session)
        return self._admins

    def owner(self, deadline: Deadline) -> list[User]:
        for person in answerable(deadline, deadline.incident, self.session):
            if person is not None and person.active:
                return [person]
        return self.duty_manager()

    def commander(self, deadline: Deadline) -> list[User]:
        commander = deadline.incident.commander
        return [commander] if commander is not None and commander.active else self.duty_manager()

    def for_stage(self, deadline: Deadline, stage: int) -> list[User]:
        """Everyone the chain has reached at `stage`, each person once, first-told first."""
        told = self.owner(deadline)
        if stage >= clock.COMMANDER:
            told = told + self.commander(deadline)
        if stage >= clock.DUTY_MANAGER:
            told = told + self.duty_manager()
        if stage >= clock.ADMINS:
            told = told + self.admins()
        return notify.distinct_active(told)


def _take_step(
    session: Session, deadline: Deadline, stage: int, *, now: datetime, zone: ZoneInfo, public_url: str,
    channels: list[TeamChannel], people: _People, held: bool,
) -> None:
    incident = deadline.incident
    recipients = people.for_stage(deadline, stage)
    if stage == clock.REMINDED:
        kind, event_kind = "reminder", EventKind.DEADLINE_REMINDED
    elif stage == clock.OVERDUE:
        kind, event_kind = "overdue", EventKind.DEADLINE_MISSED
    else:
        kind, event_kind = "escalation", EventKind.DEADLINE_ESCALATED
    step = stage - clock.OVERDUE
    record_event(
        session, incident, kind=event_kind, actor=SYSTEM, now=now,
        data={
            "rule": deadline.rule_key,
            "deadline": deadline.id,
            "stage": stage,
            "chain": clock.ESCALATION_CHAIN.get(stage, "owner"),
            "to": [user.display_name for user in recipients],
            "due_at": deadline.due_at.isoformat(),
            # An automatic statement holds the public; the update a person owes is still owed.
            **({"held": True} if held else {}),
        },
    )
    notify.notify_people(session, recipients, kind=kind, incident=incident, deadline=deadline, now=now,
                         zone=zone, step=step, held=held)
    notify.queue_for_channels(
        session, channels, kind=kind, key=f"deadline:{deadline.id}:stage:{stage}", incident=incident,
        deadline=deadline, now=now, zone=zone, public_url=public_url, step=step, held=held,
    )
