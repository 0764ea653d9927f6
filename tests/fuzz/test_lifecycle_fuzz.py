"""Property tests of the lifecycle: any sequence of requested moves keeps the invariants.

First the pure table (incidents/lifecycle.py), then the same sequences through the service
on the real database (migrated SQLite, and PostgreSQL when configured): a refused move
changes nothing, an allowed one changes the status, bumps the version once and writes one
timeline event, the lifecycle's times follow the status, and closed is final.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from incidents import lifecycle, reviews, service
from incidents.actors import Actor
from incidents.errors import DomainError
from incidents.lifecycle import OPEN_STATUSES, TRANSITIONS, Status, TransitionNotAllowed
from incidents.models import EventKind, Incident, TimelineEvent
from tests.conftest import FIXED_NOW
from tests.fuzz.profiles import FUZZ, FUZZ_SLOW

ZONE = ZoneInfo("Asia/Shanghai")
ACTOR = Actor.system("fuzz")
targets = st.sampled_from(list(Status))
requests = st.lists(targets, max_size=40)


@FUZZ
@given(requests)
def test_the_table_alone(moves: list[Status]) -> None:
    """Walking the table: allowed moves change the status, others raise; closed accepts nothing."""
    status = Status.INVESTIGATING
    for target in moves:
        allowed = target in lifecycle.allowed_targets(status)
        assert allowed == (target in TRANSITIONS[status])
        try:
            lifecycle.check_transition(status, target)
        except TransitionNotAllowed as refused:
            assert not allowed and refused.current == status and refused.target == target
            continue
        assert allowed and target != status and status != Status.CLOSED
        assert lifecycle.is_reopen(status, target) == (status == Status.RESOLVED and target in OPEN_STATUSES)
        status = target
    if status == Status.CLOSED:
        assert lifecycle.allowed_targets(status) == []


def test_every_status_is_reachable_and_closed_only_through_resolved() -> None:
    seen, frontier = {Status.INVESTIGATING}, [Status.INVESTIGATING]
    while frontier:
        for following in TRANSITIONS[frontier.pop()]:
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    assert seen == set(Status)
    assert [s for s in Status if Status.CLOSED in TRANSITIONS[s]] == [Status.RESOLVED]


# Each step: a move to a status, or waiving the review (which closing needs), with a stale version sometimes.
steps = st.lists(st.tuples(st.one_of(targets, st.just("waive_review")), st.booleans()), min_size=1, max_size=12)


@FUZZ_SLOW
@given(steps)
def test_the_service_keeps_the_invariants(db_session, moves) -> None:  # noqa: ANN001
    session = db_session
    now = FIXED_NOW
    incident = service.open_incident(session, kind="outage", severity="P2", title="模糊测试", actor=ACTOR, now=now,
                                     zone=ZONE)
    session.commit()
    for target, stale in moves:
        now += timedelta(minutes=3)
        before = _state(session, incident)
        savepoint = session.begin_nested()
        try:
            if target == "waive_review":
                reviews.waive_review(session, incident=incident, reason="演练", actor=ACTOR, now=now)
            else:
                service.transition_incident(session, incident=incident, target=target.value, actor=ACTOR, now=now,
                                            zone=ZONE, expected_version=before["version"] - 1 if stale
                                            else before["version"])
            savepoint.commit()
        except DomainError:
            savepoint.rollback()
            session.refresh(incident)
            assert _state(session, incident) == before, f"a refused {target} changed something"
            if target != "waive_review" and not stale:
                assert target not in TRANSITIONS[before["status"]] or target == Status.CLOSED
            continue
        after = _state(session, incident)
        if target == "waive_review":
            continue
        assert target in TRANSITIONS[before["status"]] and not stale
        assert after["status"] == target
        assert after["version"] == before["version"] + 1
        assert after["status_events"] == before["status_events"] + 1
        _check_times(incident)
    session.rollback()


def _state(session, incident: Incident) -> dict:  # noqa: ANN001
    events = session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent).where(
        TimelineEvent.incident_id == incident.id, TimelineEvent.kind == EventKind.STATUS_CHANGED))
    return {"status": incident.status, "version": incident.version, "status_events": events,
            "resolved_at": incident.resolved_at, "closed_at": incident.closed_at}


def _check_times(incident: Incident) -> None:
    status = incident.status
    assert (incident.resolved_at is not None) == (status in (Status.RESOLVED, Status.CLOSED))
    assert (incident.closed_at is not None) == (status == Status.CLOSED)
    if status != Status.INVESTIGATING:
        assert incident.acknowledged_at is not None
    for stamp in (incident.acknowledged_at, incident.resolved_at, incident.closed_at):
        assert stamp is None or stamp >= incident.opened_at
