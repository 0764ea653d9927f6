"""The review's figures, computed by the system from what was recorded, never typed.

The pure functions take times and rows; `figures_for` loads them for one incident. Durations
are whole seconds; a figure that cannot be known yet is None.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.deadlines import AFTER_CLOSE, held_deadlines
from incidents.models import Deadline, DeadlineState, EventKind, Incident, StatusUpdate, TimelineEvent
from incidents.monitor_models import Mention
from incidents.outreach_queries import compensation_totals, reach_times

CADENCE_WINDOW = timedelta(minutes=10)


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    """Whole seconds from start to end; None when either is unknown."""
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


def update_cadence(update_times: Sequence[datetime], end: datetime, window: timedelta = CADENCE_WINDOW) -> dict[str, Any]:
    """How well public updates kept their rhythm from the first update to `end`.

    The span is cut into windows of `window` from the first update: (t0, t0+w], (t0+w, t0+2w], …
    (the last one possibly shorter). A window keeps the cadence when an update falls inside it,
    its end included: with the first update at 09:50, one at 10:00 keeps it, 10:01 does not.
    The longest silence is the longest gap between updates, or after the last one until `end`.
    """
    times = sorted(update_times)
    if not times:
        return {"windows": 0, "kept": 0, "share": None, "longest_silence": None}
    first = times[0]
    span = (end - first).total_seconds()
    count = max(0, math.ceil(span / window.total_seconds()))
    kept = set()
    for at in times[1:]:
        offset = (at - first).total_seconds()
        if 0 < offset <= span:
            kept.add(math.ceil(offset / window.total_seconds()) - 1)
    points = times + ([end] if end > times[-1] else [])
    gaps = [int((b - a).total_seconds()) for a, b in zip(points, points[1:], strict=False)]
    return {
        "windows": count,
        "kept": len(kept),
        "share": (len(kept) / count) if count else None,
        "longest_silence": max(gaps) if gaps else 0,
    }


def deadline_outcomes(deadlines: Iterable[Deadline]) -> dict[str, int]:
    """How the incident's promises ended: met on time, met late, missed, waived, still pending."""
    counts = Counter({"met_on_time": 0, "met_late": 0, "missed": 0, "waived": 0, "pending": 0})
    for deadline in deadlines:
        if deadline.state == DeadlineState.MET:
            counts["met_late" if (deadline.late_seconds or 0) > 0 else "met_on_time"] += 1
        else:
            counts[deadline.state.value] += 1
    return dict(counts)


def outreach_on_time(reached_and_due: Iterable[tuple[datetime | None, datetime | None]]) -> dict[str, Any]:
    """Affected customers reached, and reached by their outreach deadline (at it exactly counts).

    Each pair is (reached at, due at); a customer whose incident has no outreach deadline is on
    time whenever reached.
    """
    pairs = list(reached_and_due)
    reached = [(at, due) for at, due in pairs if at is not None]
    on_time = sum(1 for at, due in reached if due is None or at <= due)
    return {
        "contacts": len(pairs),
        "reached": len(reached),
        "on_time": on_time,
        "share": (on_time / len(pairs)) if pairs else None,
    }


def per_hour(times: Iterable[datetime]) -> list[tuple[datetime, int]]:
    """Counts per whole UTC hour, from the first hour to the last, empty hours included."""
    hours = Counter(at.replace(minute=0, second=0, microsecond=0) for at in times)
    if not hours:
        return []
    start, last = min(hours), max(hours)
    series = []
    while start <= last:
        series.append((start, hours.get(start, 0)))
        start += timedelta(hours=1)
    return series


def figures_for(session: Session, incident: Incident, *, now: datetime) -> dict[str, Any]:
    """Every figure of the review for one incident, as of `now` (or its resolution)."""
    end = incident.resolved_at or incident.closed_at or now
    updates = list(session.scalars(
        sa.select(StatusUpdate.published_at).where(StatusUpdate.incident_id == incident.id)
        .order_by(StatusUpdate.published_at)
    ))
    deadlines = list(session.scalars(
        sa.select(Deadline).where(Deadline.incident_id == incident.id, sa.not_(AFTER_CLOSE))
    ))
    escalations = session.scalar(
        sa.select(sa.func.count()).select_from(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == EventKind.DEADLINE_ESCALATED)
    )
    mention_times = [
        published or created
        for published, created in session.execute(
            sa.select(Mention.published_at, Mention.created_at).where(Mention.incident_id == incident.id)
        )
    ]
    mentions = per_hour(mention_times)
    return {
        "time_to_acknowledge": seconds_between(incident.opened_at, incident.acknowledged_at),
        "time_to_first_notice": seconds_between(incident.opened_at, updates[0] if updates else None),
        "time_to_resolve": seconds_between(incident.opened_at, incident.resolved_at),
        "updates": len(updates),
        "cadence": update_cadence(updates, end),
        "deadlines": deadline_outcomes(deadlines),
        # Owed updates an automatic statement held for: counted in their outcome above all the same.
        "held": len(held_deadlines(session, [d.id for d in deadlines])),
        "escalations": int(escalations or 0),
        "outreach": outreach_on_time(reach_times(session, [incident.id])),
        "compensation": compensation_totals(session, [incident.id]),
        "mentions": {
            "total": len(mention_times),
            "peak": max((count for _, count in mentions), default=0),
            "per_hour": [[hour.isoformat(), count] for hour, count in mentions],
        },
    }
