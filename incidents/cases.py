"""The six-step case of a complaint or a public-opinion incident, step by step, every save kept.

1 prejudge (what the customer really wants), 2 establish the facts, 3 assign responsibility,
4 agree the plan, 5 communicate and execute, 6 review. Each save adds a new version of the
step and a timeline entry; nothing is overwritten. A plan cannot be agreed before the facts
are recorded: proposing a remedy on unconfirmed facts is the pitfall the method warns of.

The case is the work the clock waits for: recording the plan meets the first-plan deadline,
and the customer's confirmation (step 5) meets the return visit / follow-up it fulfils.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.deadlines import handle_event, record_event
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Status
from incidents.models import EventKind, Incident
from incidents.playbooks import CUSTOMER_CONFIRMED, PLAN_RECORDED
from incidents.review_models import CaseStep
from incidents.timeutil import ensure_aware, parse_local

CASE_KINDS = frozenset({Kind.COMPLAINT, Kind.PUBLIC_OPINION})
TEXT_MAX = 2000
CATEGORIES = ("quality", "logistics", "service_attitude", "other")
PARTIES = ("customer", "company", "third_party", "shared")


@dataclass(frozen=True)
class Field:
    key: str
    required: bool = False
    choices: tuple[str, ...] = ()
    kind: str = "text"  # text | choice | datetime | flag
    group: str = ""  # facts: "customer", "internal" or "disagreements"


STEPS: dict[str, tuple[Field, ...]] = {
    "prejudge": (Field("real_want", required=True), Field("category", required=True, choices=CATEGORIES, kind="choice")),
    "facts": (
        Field("when", required=True, group="customer"),
        Field("where", group="customer"),
        Field("who", required=True, group="customer"),
        Field("why", group="customer"),
        Field("impact", required=True, group="customer"),
        Field("evidence", group="customer"),
        Field("demand", required=True, group="customer"),
        Field("records", group="internal"),
        Field("disagreements", group="disagreements"),
    ),
    "responsibility": (Field("party", required=True, choices=PARTIES, kind="choice"), Field("reasons", required=True)),
    "plan": (
        Field("action", required=True),
        Field("bottom_line"),
        Field("executor", required=True),
        Field("by_when", required=True, kind="datetime"),
        Field("expected_effect"),
    ),
    "execute": (Field("communicated", required=True), Field("customer_confirmed", kind="flag"),
                Field("confirmation")),
    "review": (Field("lessons", required=True),),
}
STEP_ORDER = tuple(STEPS)
# What must be on record before a step may be saved.
NEEDS = {"plan": "facts", "execute": "plan"}


def applies(incident: Incident) -> bool:
    """True for the kinds of incident the six-step case is for."""
    return incident.kind in CASE_KINDS


def versions_by_step(session: Session, incident: Incident) -> dict[str, list[CaseStep]]:
    """Every saved version of each step, newest first, by step key."""
    versions: dict[str, list[CaseStep]] = {}
    for row in session.scalars(
        sa.select(CaseStep).where(CaseStep.incident_id == incident.id)
        .order_by(CaseStep.step, CaseStep.version.desc())
    ):
        versions.setdefault(row.step, []).append(row)
    return versions


def latest_steps(session: Session, incident: Incident) -> dict[str, CaseStep]:
    """The newest saved version of each step, by step key."""
    return {step: rows[0] for step, rows in versions_by_step(session, incident).items()}


def step_history(session: Session, incident: Incident, step: str) -> list[CaseStep]:
    """Every saved version of one step, newest first."""
    return list(session.scalars(
        sa.select(CaseStep).where(CaseStep.incident_id == incident.id, CaseStep.step == step)
        .order_by(CaseStep.version.desc())
    ))


def _clean(step: str, raw: dict[str, Any], *, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    unknown = sorted(set(raw) - {field.key for field in STEPS[step]})
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} is not a field of the {step} step", reason="not_editable")
    cleaned: dict[str, Any] = {}
    for field in STEPS[step]:
        value = raw.get(field.key)
        if field.kind == "flag":
            cleaned[field.key] = value in (True, "1", "true", "on", "yes")
            continue
        text = ("" if value is None else str(value)).strip()
        if field.required and not text:
            raise InvalidInput(field.key, f"{field.key} is required", reason="required")
        if len(text) > TEXT_MAX:
            raise InvalidInput(field.key, f"{field.key} is longer than {TEXT_MAX} characters", reason="too_long",
                               max=TEXT_MAX)
        if field.kind == "choice" and text and text not in field.choices:
            allowed = ", ".join(field.choices)
            raise InvalidInput(field.key, f"unknown {field.key} {text!r}; expected one of {allowed}",
                               reason="choice", allowed=allowed)
        if field.kind == "datetime" and text:
            at = parse_local(text, zone)
            if at is None:
                raise InvalidInput(field.key, f"{field.key} is not a date and time", reason="not_a_time")
            if at <= now:
                raise InvalidInput(field.key, f"{field.key} is in the past", reason="in_the_past")
            text = at.isoformat()
        cleaned[field.key] = text
    return cleaned


def record_step(
    session: Session, *, incident: Incident, step: str, fields: dict[str, Any], actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> CaseStep:
    """Save a new version of one step and put it on the timeline; InvalidInput names the field at fault."""
    now = ensure_aware(now)
    if not applies(incident):
        raise InvalidInput("kind", "the six-step case is for complaints and public opinion", reason="case_kind")
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be edited", reason="closed")
    if step not in STEPS:
        allowed = ", ".join(STEP_ORDER)
        raise InvalidInput("step", f"unknown step {step!r}; expected one of {allowed}", reason="choice",
                           allowed=allowed)
    cleaned = _clean(step, fields, now=now, zone=zone)
    recorded = latest_steps(session, incident)
    needed = NEEDS.get(step)
    if needed and needed not in recorded:
        reason = "plan_before_facts" if step == "plan" else "execute_before_plan"
        raise InvalidInput("step", f"record the {needed} step before the {step} step", reason=reason)
    previous = recorded.get(step)
    if previous is not None and previous.fields == cleaned:
        return previous
    row = CaseStep(
        incident_id=incident.id, step=step, version=(previous.version + 1) if previous else 1, fields=cleaned,
        recorded_at=now, recorded_by_id=actor.user_id, recorded_by_label=actor.label,
    )
    session.add(row)
    event = record_event(session, incident, kind=EventKind.CASE_STEP_RECORDED, actor=actor, now=now,
                         data={"step": step, "number": STEP_ORDER.index(step) + 1, "version": row.version})
    session.flush()
    triggers = clock_triggers(step, cleaned)
    if triggers:
        handle_event(session, incident, triggers, event=event, now=now, zone=zone)
        session.flush()
    return row


def clock_triggers(step: str, fields: dict[str, Any]) -> list[str]:
    """What saving this step tells the clock: the plan is agreed, the customer confirmed."""
    if step == "plan":
        return [PLAN_RECORDED]
    if step == "execute" and fields.get("customer_confirmed"):
        return [CUSTOMER_CONFIRMED]
    return []
