"""The review (复盘): written after an incident, required to close it, its action items on the clock.

A review starts as a draft anyone in the room may write; completing it freezes the system's
figures beside the text. Closing the incident needs a completed review, or one an admin
waived with a reason. Each action item gets a deadline that outlives the incident, reminded
and escalated to its owner like any other promise.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import deadlines
from incidents.actors import Actor
from incidents.deadlines import record_event
from incidents import lookup
from incidents.errors import InvalidInput, StaleVersion
from incidents.lookup import of_incident
from incidents.lifecycle import Status
from incidents.models import EventKind, Incident, StatusUpdate, User
from incidents.monitor_models import Mention
from incidents.review_figures import figures_for
from incidents.review_models import ActionItem, ActionStatus, Review, ReviewState
from incidents.timeutil import ensure_aware, parse_local

TEXT_FIELDS = ("summary", "root_cause", "contributing_factors", "responsibility", "went_well", "went_badly")
REQUIRED = ("summary", "root_cause", "responsibility")
TEXT_MAX = 10000
TITLE_MAX = 300
LINK_KINDS = {"update": StatusUpdate, "mention": Mention}
# An action item due "on a day" falls due at the end of that working day, in the team's zone.
END_OF_DAY = time(18, 0)
ACTION_RULE = deadlines.AFTER_CLOSE_PREFIX
ACTION_REMIND_BEFORE = 24 * 60
ACTION_ESCALATE_EVERY = 24 * 60


def get_review(session: Session, incident: Incident) -> Review | None:
    """The incident's review, or None when nobody has started one."""
    return session.scalar(sa.select(Review).where(Review.incident_id == incident.id))


def _ensure_review(session: Session, incident: Incident, now: datetime) -> Review:
    review = get_review(session, incident)
    if review is None:
        review = Review(incident_id=incident.id, state=ReviewState.DRAFT, links=[], version=1, created_at=now,
                        updated_at=now, completed_by_label="", waived_reason="",
                        **{field: "" for field in TEXT_FIELDS})
        session.add(review)
        session.flush()
    return review


def review_settled(session: Session, incident: Incident) -> bool:
    """True when the incident may close: its review is completed or waived."""
    review = get_review(session, incident)
    return review is not None and review.state in (ReviewState.COMPLETED, ReviewState.WAIVED)


def require_review(session: Session, incident: Incident) -> None:
    """Refuse to close an incident whose review is neither completed nor waived."""
    if not review_settled(session, incident):
        raise InvalidInput(
            "review", "closing needs the review (复盘): complete it, or an admin waives it with a reason",
            reason="review_required",
        )


def _check_writable(incident: Incident, review: Review | None) -> None:
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be edited", reason="closed")
    if review is not None and review.state != ReviewState.DRAFT:
        raise InvalidInput("review", "the review is already completed or waived", reason="review_settled")


def _clean_links(session: Session, incident: Incident, links: Any) -> list[dict[str, Any]]:
    cleaned = []
    for link in links or []:
        kind, ident = (link.get("kind"), link.get("id")) if isinstance(link, dict) else (None, None)
        model = LINK_KINDS.get(kind)
        try:
            ident = int(ident)
        except (TypeError, ValueError):
            model = None
        row = session.get(model, ident) if model is not None else None
        if row is None or row.incident_id != incident.id:
            raise InvalidInput("links", f"no update or mention {link!r} on this incident", reason="bad_link")
        if {"kind": kind, "id": ident} not in cleaned:
            cleaned.append({"kind": kind, "id": ident})
    return cleaned


def save_review(
    session: Session, *, incident: Incident, values: dict[str, Any], expected_version: int | None, actor: Actor,
    now: datetime,
) -> Review:
    """Save the draft's text and links (only the fields given); one timeline entry when anything changed."""
    now = ensure_aware(now)
    review = get_review(session, incident)
    _check_writable(incident, review)
    unknown = sorted(set(values) - set(TEXT_FIELDS) - {"links"})
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} is not a field of the review", reason="not_editable")
    cleaned: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        if field in values:
            text = ("" if values[field] is None else str(values[field])).strip()
            if len(text) > TEXT_MAX:
                raise InvalidInput(field, f"{field} is longer than {TEXT_MAX} characters", reason="too_long",
                                   max=TEXT_MAX)
            cleaned[field] = text
    if "links" in values:
        cleaned["links"] = _clean_links(session, incident, values["links"])
    if review is not None and expected_version is not None and review.version != expected_version:
        raise StaleVersion(review)
    review = review or _ensure_review(session, incident, now)
    changed = sorted(field for field, value in cleaned.items() if getattr(review, field) != value)
    if not changed:
        return review
    for field in changed:
        setattr(review, field, cleaned[field])
    review.version += 1
    review.updated_at = now
    record_event(session, incident, kind=EventKind.REVIEW_SAVED, actor=actor, now=now,
                 data={"fields": changed, "version": review.version})
    session.flush()
    return review


def missing_fields(review: Review | None) -> list[str]:
    """The required fields still empty (all of them when there is no review yet)."""
    return [field for field in REQUIRED if review is None or not getattr(review, field).strip()]


def complete_review(session: Session, *, incident: Incident, actor: Actor, now: datetime) -> Review:
    """Sign the review off: required fields filled, incident resolved; the figures are frozen."""
    now = ensure_aware(now)
    review = get_review(session, incident)
    _check_writable(incident, review)
    missing = missing_fields(review)
    if missing:
        raise InvalidInput(missing[0], f"fill in {', '.join(missing)} before completing the review",
                           reason="review_incomplete", missing=missing)
    assert review is not None
    if incident.status != Status.RESOLVED:
        raise InvalidInput("status", "resolve the incident before completing its review", reason="review_unresolved")
    review.state = ReviewState.COMPLETED
    review.figures = figures_for(session, incident, now=now)
    review.completed_at = now
    review.completed_by_label = actor.label
    review.version += 1
    review.updated_at = now
    record_event(session, incident, kind=EventKind.REVIEW_COMPLETED, actor=actor, now=now)
    session.flush()
    return review


def waive_review(session: Session, *, incident: Incident, reason: str, actor: Actor, now: datetime) -> Review:
    """Excuse an incident from its review (an admin's call), with the reason on the timeline."""
    now = ensure_aware(now)
    review = get_review(session, incident)
    _check_writable(incident, review)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("reason", "a reason is required", reason="required")
    if len(text) > deadlines.REASON_MAX:
        raise InvalidInput("reason", f"reason is longer than {deadlines.REASON_MAX} characters", reason="too_long",
                           max=deadlines.REASON_MAX)
    review = review or _ensure_review(session, incident, now)
    review.state = ReviewState.WAIVED
    review.waived_reason = text
    review.completed_at = now
    review.completed_by_label = actor.label
    review.version += 1
    review.updated_at = now
    record_event(session, incident, kind=EventKind.REVIEW_WAIVED, actor=actor, now=now, body=text)
    session.flush()
    return review


def _due_at(value: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("due_date", "due_date is required", reason="required")
    at = parse_local(text, zone)
    if at is None:
        raise InvalidInput("due_date", "due_date is not a date", reason="not_a_time")
    if len(text) == 10:  # a bare date: the end of that working day
        at = datetime.combine(at.astimezone(zone).date(), END_OF_DAY, tzinfo=zone).astimezone(now.tzinfo)
    if at <= now:
        raise InvalidInput("due_date", "due_date is in the past", reason="in_the_past")
    return at


def add_action_item(
    session: Session, *, incident: Incident, title: str, owner_id: Any, due_date: str, actor: Actor,
    now: datetime, zone: ZoneInfo,
) -> ActionItem:
    """Add an action item and put its due date on the clock, reminded a day ahead, owned by a person."""
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be edited", reason="closed")
    text = (title or "").strip()
    if not text:
        raise InvalidInput("title", "title is required", reason="required")
    if len(text) > TITLE_MAX:
        raise InvalidInput("title", f"title is longer than {TITLE_MAX} characters", reason="too_long", max=TITLE_MAX)
    number = lookup.row_id(owner_id)
    owner = session.get(User, number) if number else None
    if owner is None or not owner.active:
        raise InvalidInput("owner_id", f"no active user with id {owner_id}", reason="no_user")
    due_at = _due_at(due_date, now=now, zone=zone)
    review = _ensure_review(session, incident, now)
    item = ActionItem(review_id=review.id, incident_id=incident.id, title=text, owner_id=owner.id, due_at=due_at,
                      status=ActionStatus.OPEN, created_at=now, note="")
    session.add(item)
    session.flush()
    event = record_event(session, incident, kind=EventKind.ACTION_ITEM_ADDED, actor=actor, now=now, body=text,
                         data={"item": item.id, "owner": owner.display_name, "due_at": due_at.isoformat()})
    session.flush()
    item.deadline = deadlines.add_promise(
        session, incident=incident, due_at=due_at, event=event, now=now,
        rule={"key": f"{ACTION_RULE}{item.id}", "zh": f"复盘改进项：{text}", "en": f"Review action item: {text}",
              "owner": "commander", "owner_user_id": owner.id, "remind_before": ACTION_REMIND_BEFORE,
              "escalate_every": ACTION_ESCALATE_EVERY},
    )
    session.flush()
    return item


def get_action_item(session: Session, incident: Incident, item_id: int) -> ActionItem:
    """One action item of this incident, or NotFound."""
    return of_incident(session, ActionItem, item_id, incident, "action item")


def settle_action_item(
    session: Session, *, incident: Incident, item: ActionItem, status: str, note: str = "", actor: Actor,
    now: datetime, zone: ZoneInfo,
) -> ActionItem:
    """Mark an action item done (its deadline met) or dropped (waived: a note is required); closed incidents too."""
    now = ensure_aware(now)
    if status not in (ActionStatus.DONE.value, ActionStatus.DROPPED.value):
        raise InvalidInput("status", f"unknown status {status!r}; expected one of done, dropped", reason="choice",
                           allowed="done, dropped")
    if item.status != ActionStatus.OPEN:
        raise InvalidInput("status", "this action item is already settled", reason="action_settled")
    deadline = item.deadline
    if deadline is not None and deadline.state in deadlines.OPEN_STATES:
        if status == ActionStatus.DONE.value:
            deadlines.mark_met(session, incident=incident, deadline=deadline, note=note, actor=actor, now=now,
                               zone=zone)
        else:
            deadlines.waive(session, incident=incident, deadline=deadline, reason=note, actor=actor, now=now)
    elif status == ActionStatus.DROPPED.value and not (note or "").strip():
        raise InvalidInput("reason", "a reason is required", reason="required")
    item.status = ActionStatus(status)
    item.settled_at = now
    item.note = (note or "").strip()
    record_event(session, incident, kind=EventKind.ACTION_ITEM_SETTLED, actor=actor, now=now, body=item.note,
                 data={"item": item.id, "title": item.title, "status": status})
    session.flush()
    return item
