"""Reports over a period: what happened, how fast we answered, which promises held, what we learned.

Everything is computed from stored rows for incidents opened in [start, end); `zone` is the
team's zone, used only to cut days for the trend. Durations are whole seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.cases import CATEGORIES
from incidents.deadlines import AFTER_CLOSE, held_deadlines
from incidents.lifecycle import Kind, Severity, Source
from incidents.models import Deadline, Incident
from incidents.outreach import PROMISE_PREFIX
from incidents.outreach_models import Compensation, OutreachAttempt
from incidents.outreach_queries import compensation_totals, reach_times
from incidents.review_figures import deadline_outcomes, outreach_on_time
from incidents.review_models import ActionItem, ActionStatus, CaseStep, Review, ReviewState
from incidents.timeutil import ensure_aware

TOP_ROOT_CAUSES = 10
# Each promise made to a customer is its own deadline (and rule key); a report counts them as one rule.
PROMISES = "promises"
PROMISES_NAME = {"zh": "客户承诺", "en": "Customer promises"}
ROOT_CAUSE_CHARS = 80


def percentile(values: Sequence[float], share: float) -> int | None:
    """The nearest-rank percentile (share 0.5 is the median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return int(ordered[rank - 1])


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if ensure_aware(self.end) <= ensure_aware(self.start):
            raise ValueError("a period ends after it starts")


def _incidents(session: Session, period: Period) -> list[Incident]:
    return list(session.scalars(
        sa.select(Incident).where(Incident.opened_at >= period.start, Incident.opened_at < period.end)
        .order_by(Incident.opened_at, Incident.id)
    ))


def _durations(incidents: list[Incident], attribute: str) -> dict[str, int | None]:
    values = [(getattr(i, attribute) - i.opened_at).total_seconds() for i in incidents if getattr(i, attribute)]
    return {"count": len(values), "median": percentile(values, 0.5), "p90": percentile(values, 0.9)}


def per_day(incidents: list[Incident], period: Period, zone: ZoneInfo) -> list[tuple[str, int]]:
    """Incidents opened per local day of the period, empty days included."""
    counts = Counter(i.opened_at.astimezone(zone).date() for i in incidents)
    day, last = period.start.astimezone(zone).date(), (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    series = []
    while day <= last:
        series.append((day.isoformat(), counts.get(day, 0)))
        day += timedelta(days=1)
    return series


def categories(session: Session, incident_ids: list[int]) -> dict[str, int]:
    """Complaint categories from each case's latest prejudgement (incidents without one are left out)."""
    counts = Counter({category: 0 for category in CATEGORIES})
    if not incident_ids:
        return dict(counts)
    latest: dict[int, CaseStep] = {}
    for row in session.scalars(
        sa.select(CaseStep).where(CaseStep.incident_id.in_(incident_ids), CaseStep.step == "prejudge")
        .order_by(CaseStep.version)
    ):
        latest[row.incident_id] = row
    for row in latest.values():
        counts[row.fields.get("category", "other")] += 1
    return dict(counts)


def report_rule(deadline: Deadline) -> tuple[str, dict[str, str]]:
    """The rule a deadline counts under in a report, and its name: every customer promise is one rule."""
    if deadline.rule_key.startswith(PROMISE_PREFIX):
        return PROMISES, PROMISES_NAME
    return deadline.rule_key, {"zh": deadline.rule.get("zh", deadline.rule_key),
                               "en": deadline.rule.get("en", deadline.rule_key)}


def adherence(session: Session, incident_ids: list[int]) -> list[dict[str, Any]]:
    """Per rule, how its deadlines ended, with the share met on time among those settled (customer
    promises together as one rule), and how many an automatic statement held for (their outcome
    still counts as a person made it)."""
    if not incident_ids:
        return []
    rows = list(session.scalars(
        sa.select(Deadline).where(Deadline.incident_id.in_(incident_ids), sa.not_(AFTER_CLOSE))
    ))
    held = held_deadlines(session, [deadline.id for deadline in rows])
    by_rule: dict[str, list[Deadline]] = {}
    names: dict[str, dict[str, str]] = {}
    for deadline in rows:
        key, name = report_rule(deadline)
        names[key] = name
        by_rule.setdefault(key, []).append(deadline)
    result = []
    for key in sorted(by_rule):
        outcomes = deadline_outcomes(by_rule[key])
        judged = outcomes["met_on_time"] + outcomes["met_late"] + outcomes["missed"]
        result.append({"rule": key, "name": names[key], **outcomes,
                       "held": sum(1 for deadline in by_rule[key] if deadline.id in held),
                       "on_time_share": (outcomes["met_on_time"] / judged) if judged else None})
    return result


def root_causes(session: Session, incident_ids: list[int]) -> list[tuple[str, int]]:
    """The most frequent root causes of completed reviews (same text, trimmed, counts as one cause)."""
    if not incident_ids:
        return []
    texts = session.scalars(
        sa.select(Review.root_cause).where(Review.incident_id.in_(incident_ids), Review.state == ReviewState.COMPLETED)
    )
    counts = Counter(" ".join(text.split())[:ROOT_CAUSE_CHARS] for text in texts if text.strip())
    return counts.most_common(TOP_ROOT_CAUSES)


def open_action_items(session: Session, *, now: datetime) -> dict[str, Any]:
    """Every open action item, soonest due first, and how many are overdue (whatever the period)."""
    items = list(session.scalars(
        sa.select(ActionItem).where(ActionItem.status == ActionStatus.OPEN).order_by(ActionItem.due_at, ActionItem.id)
    ))
    return {"items": items, "open": len(items), "overdue": sum(1 for item in items if item.due_at <= now)}


def report(session: Session, period: Period, *, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The whole report for one period."""
    incidents = _incidents(session, period)
    ids = [i.id for i in incidents]
    return {
        "period": period,
        "incidents": incidents,
        "total": len(incidents),
        "by_kind": {kind.value: sum(1 for i in incidents if i.kind == kind) for kind in Kind},
        "by_severity": {s.value: sum(1 for i in incidents if i.severity == s) for s in Severity},
        "by_source": {s.value: sum(1 for i in incidents if i.source == s) for s in Source},
        "per_day": per_day(incidents, period, zone),
        "acknowledge": _durations(incidents, "acknowledged_at"),
        "resolve": _durations(incidents, "resolved_at"),
        "adherence": adherence(session, ids),
        "categories": categories(session, ids),
        "root_causes": root_causes(session, ids),
        "actions": open_action_items(session, now=ensure_aware(now)),
        "outreach": outreach_on_time(reach_times(session, ids)),
        "compensation": compensation_totals(session, ids),
    }


def _of_period_incidents(model: Any, period: Period, *order: Any) -> sa.Select[Any]:
    """Rows of `model` (anything with an incident_id) whose incident was opened in the period."""
    return (sa.select(model).join(Incident, Incident.id == model.incident_id)
            .where(Incident.opened_at >= period.start, Incident.opened_at < period.end).order_by(*order))


def deadline_rows(session: Session, period: Period) -> list[Deadline]:
    """The deadlines of incidents opened in the period (for the CSV export)."""
    return list(session.scalars(_of_period_incidents(Deadline, period, Deadline.due_at, Deadline.id)))


def outreach_rows(session: Session, period: Period) -> list[OutreachAttempt]:
    """Every outreach attempt on incidents opened in the period (for the CSV export)."""
    return list(session.scalars(_of_period_incidents(OutreachAttempt, period, OutreachAttempt.at, OutreachAttempt.id)))


def compensation_rows(session: Session, period: Period) -> list[Compensation]:
    """Every compensation offered on incidents opened in the period (for the CSV export)."""
    return list(session.scalars(_of_period_incidents(Compensation, period, Compensation.offered_at, Compensation.id)))
