"""Affected customers and outreach: listing them, logging each attempt, following compensation.

Every change writes its timeline event in the caller's transaction. Logging an attempt meets
the playbook's outreach deadlines (trigger "outreach"); a promise with a time becomes a
deadline on the clock, owned by the commander, met when the customer's case is logged as
resolved or a compensation to that customer is confirmed as received (or marked met by hand).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import contact_fields
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.deadlines import add_deadline, handle_event, record_event
from incidents.errors import InvalidInput
from incidents.lookup import of_incident
from incidents.lifecycle import Status
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.monitor_models import Mention
from incidents.outreach_models import (
    REACHED_RESULTS,
    AffectedContact,
    AttemptResult,
    Compensation,
    CompensationState,
    ContactOrigin,
    OfferKind,
    OutreachAttempt,
    Platform,
)
from incidents.playbooks import Rule
from incidents.timeutil import ensure_aware

NOTE_MAX = 2000
PROMISE_MAX = 500
VALUE_MAX = Decimal("1000000")
# Offers that are money: an amount is required. An apology has none.
VALUED_OFFERS = (OfferKind.VOUCHER, OfferKind.DISCOUNT, OfferKind.REFUND)
# A compensation's next steps; it is closed only once the customer confirms receipt (or declines).
NEXT_STATES = {
    CompensationState.OFFERED: (CompensationState.ACCEPTED, CompensationState.DECLINED),
    CompensationState.ACCEPTED: (CompensationState.DELIVERED,),
    CompensationState.DELIVERED: (CompensationState.CONFIRMED,),
}
STATE_TIMES = {
    CompensationState.ACCEPTED: "accepted_at",
    CompensationState.DECLINED: "declined_at",
    CompensationState.DELIVERED: "delivered_at",
    CompensationState.CONFIRMED: "confirmed_at",
}
PROMISE_ESCALATE_EVERY = 30
NAMES_ON_EVENT = 5
# A promise's deadline is keyed per customer, so the clock names each promise after its customer.
PROMISE_PREFIX = "promise:"


def _check_open(incident: Incident) -> None:
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be changed", reason="closed")


def existing_identities(session: Session, incident: Incident) -> set[tuple[str, str]]:
    """Platform and handle of every customer already listed on the incident."""
    rows = session.execute(
        sa.select(AffectedContact.platform, AffectedContact.handle).where(AffectedContact.incident_id == incident.id)
    )
    keys = (contact_fields.identity({"platform": platform, "handle": handle}) for platform, handle in rows)
    return {key for key in keys if key is not None}


def add_contacts(
    session: Session, *, incident: Incident, rows: list[dict[str, Any]], origin: ContactOrigin, actor: Actor,
    now: datetime, mention: Mention | None = None,
) -> list[AffectedContact]:
    """Store customers already read by contact_fields (duplicates already removed), with one timeline entry."""
    now = ensure_aware(now)
    origin = ContactOrigin(origin)
    _check_open(incident)
    if not rows:
        raise InvalidInput("rows", "nothing to add", reason="nothing_to_add")
    contacts = [
        AffectedContact(incident_id=incident.id, origin=origin, created_at=now, created_by_label=actor.label,
                        attempts=0, mention_id=mention.id if mention else None, **fields)
        for fields in rows
    ]
    session.add_all(contacts)
    session.flush()
    names = [c.name for c in contacts[:NAMES_ON_EVENT]]
    record_event(session, incident, kind=EventKind.CONTACTS_ADDED, actor=actor, now=now,
                 data={"count": len(contacts), "origin": origin.value, "names": names,
                       "contact": contacts[0].id if len(contacts) == 1 else None})
    session.flush()
    return contacts


def add_contact(
    session: Session, *, incident: Incident, raw: Mapping[str, Any], origin: ContactOrigin = ContactOrigin.MANUAL,
    actor: Actor, now: datetime,
) -> AffectedContact:
    """Add one customer from a form or the API; a duplicate is refused at the handle."""
    _check_open(incident)
    fields = contact_fields.clean_contact(raw)
    key = contact_fields.identity(fields)
    if key is not None and key in existing_identities(session, incident):
        raise InvalidInput("handle", "this customer is already on the list", reason="duplicate_contact")
    return add_contacts(session, incident=incident, rows=[fields], origin=origin, actor=actor, now=now)[0]


def as_typed(contact: AffectedContact) -> dict[str, Any]:
    """A stored customer's fields in the shape people type them."""
    return {"name": contact.name, "platform": contact.platform.value, "handle": contact.handle,
            "order_numbers": list(contact.order_numbers or []), "activity": contact.activity,
            "demand": contact.demand.value if contact.demand else None, "notes": contact.notes}


def edit_contact(
    session: Session, *, incident: Incident, contact: AffectedContact, raw: Mapping[str, Any], actor: Actor,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Correct a customer's details (only the fields given change); returns what changed, old and new.

    A handle that another customer on the list already has is refused at the handle; a save that
    changes nothing writes nothing.
    """
    _check_open(incident)
    before = as_typed(contact)
    fields = contact_fields.clean_contact({**before, **{k: v for k, v in raw.items() if k in contact_fields.FIELDS}})
    after = {**fields, "platform": fields["platform"].value,
             "demand": fields["demand"].value if fields["demand"] else None}
    changes = {key: {"from": before[key], "to": after[key]} for key in contact_fields.FIELDS if before[key] != after[key]}
    if not changes:
        return {}
    key = contact_fields.identity(fields)
    if key is not None and key != contact_fields.identity(before):
        if key in existing_identities(session, incident):
            raise InvalidInput("handle", "this customer is already on the list", reason="duplicate_contact")
    for name, value in fields.items():
        setattr(contact, name, value)
    record_event(session, incident, kind=EventKind.CONTACT_EDITED, actor=actor, now=ensure_aware(now),
                 data={"contact": contact.id, "name": contact.name, "edits": changes})
    session.flush()
    return changes


def remove_contact(
    session: Session, *, incident: Incident, contact: AffectedContact, actor: Actor, now: datetime
) -> None:
    """Take a customer added by mistake off the list; one with outreach logged stays, for the record."""
    _check_open(incident)
    if contact.attempts:  # counted with every attempt logged (log_attempt)
        raise InvalidInput("contact", "outreach is logged for this customer; they stay on the list",
                           reason="contact_has_outreach")
    record_event(session, incident, kind=EventKind.CONTACT_REMOVED, actor=actor, now=ensure_aware(now),
                 data={"contact": contact.id, "name": contact.name, "removed": as_typed(contact)})
    session.delete(contact)
    session.flush()


def import_parsed(
    session: Session, *, incident: Incident, parsed: contact_fields.ParsedRows, skip_bad_rows: bool,
    origin: ContactOrigin, actor: Actor, now: datetime,
) -> list[AffectedContact]:
    """Store a read file or list: all of it, or, when the person chose so, all but the bad rows.

    With bad rows and no such choice nothing is stored (InvalidInput reason "rows_with_errors").
    """
    _check_open(incident)
    contact_fields.mark_duplicates(parsed, existing_identities(session, incident))
    if parsed.errors and not skip_bad_rows:
        raise InvalidInput("file", f"{len(parsed.errors)} rows have errors", reason="rows_with_errors",
                           count=len(parsed.errors))
    return add_contacts(session, incident=incident, rows=[fields for _n, fields in parsed.rows], origin=origin,
                        actor=actor, now=now)


def record_list_preview(
    session: Session, *, incident: Incident, parsed: contact_fields.ParsedRows, actor: Actor, now: datetime,
) -> None:
    """Audit a customer list read without importing it: personal data passed through the console all the same."""
    record_audit(session, actor=actor, now=now, action="outreach.list_previewed", target_type="incident",
                 target_id=incident.reference,
                 after={"rows": parsed.total, "valid": len(parsed.rows), "errors": len(parsed.errors)})


def add_poster_contact(
    session: Session, *, incident: Incident, mention: Mention, actor: Actor, now: datetime
) -> AffectedContact | None:
    """The poster of the mention that raised a 舆情 incident, as its first customer to reach."""
    if not (mention.author or mention.link):
        return None
    platform = mention.platform if mention.platform in {p.value for p in Platform} else Platform.OTHER.value
    raw = {"name": (mention.author or "")[:contact_fields.NAME_MAX] or "（未署名）",
           "platform": platform, "handle": (mention.author or "")[:contact_fields.HANDLE_MAX],
           "activity": (mention.title or mention.text or "")[:200],
           "notes": (f"原帖：{mention.link}" if mention.link else "")[:contact_fields.TEXT_MAX]}
    fields = contact_fields.clean_contact(raw)
    key = contact_fields.identity(fields)
    if key is not None and key in existing_identities(session, incident):
        return None
    return add_contacts(session, incident=incident, rows=[fields], origin=ContactOrigin.MONITOR, actor=actor,
                        now=now, mention=mention)[0]


def get_contact(session: Session, incident: Incident, contact_id: int) -> AffectedContact:
    return of_incident(session, AffectedContact, contact_id, incident, "affected customer")


def get_compensation(session: Session, incident: Incident, compensation_id: int) -> Compensation:
    return of_incident(session, Compensation, compensation_id, incident, "compensation")


def _choice(enum_type: type, value: Any, field: str, *, required: bool) -> Any:
    if value is None or value == "":
        if required:
            raise InvalidInput(field, f"{field} is required", reason="required")
        return None
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidInput(field, f"unknown {field} {value!r}; expected one of {allowed}", reason="choice",
                           allowed=allowed) from None


def parse_value(value: Any) -> Decimal | None:
    """An amount in yuan, at most two decimals; blank is none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidInput("offer_value", "the amount must be a number", reason="not_a_number")
    try:
        amount = Decimal(str(value).strip().removeprefix("¥").removeprefix("￥").replace(",", ""))
    except InvalidOperation:
        raise InvalidInput("offer_value", "the amount must be a number", reason="not_a_number") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("offer_value", "the amount must be a number", reason="not_a_number")
    if amount < 0 or amount > VALUE_MAX:
        raise InvalidInput("offer_value", "the amount is out of range", reason="value_range", max=int(VALUE_MAX))
    return amount


def _offer(kind: Any, value: Any) -> tuple[OfferKind | None, Decimal | None]:
    offer_kind = _choice(OfferKind, kind, "offer_kind", required=False)
    amount = parse_value(value)
    if offer_kind is None:
        if amount is not None:
            raise InvalidInput("offer_kind", "say what was offered", reason="offer_needs_kind")
        return None, None
    if offer_kind in VALUED_OFFERS and not amount:
        raise InvalidInput("offer_value", "give the amount in yuan", reason="value_required")
    if offer_kind == OfferKind.APOLOGY_ONLY and amount:
        raise InvalidInput("offer_value", "an apology has no amount", reason="value_not_applicable")
    return offer_kind, amount


def _promise(text: Any, due_at: datetime | None, now: datetime) -> tuple[str, datetime | None]:
    if text is not None and not isinstance(text, str):
        raise InvalidInput("promise", "promise must be text", reason="invalid")
    text = (text or "").strip()
    if len(text) > PROMISE_MAX:
        raise InvalidInput("promise", f"at most {PROMISE_MAX} characters", reason="too_long", max=PROMISE_MAX)
    if text and due_at is None:
        raise InvalidInput("promise_due_at", "a promise needs a time", reason="promise_needs_time")
    if due_at is not None and not text:
        raise InvalidInput("promise", "say what was promised", reason="promise_needs_text")
    if due_at is not None and ensure_aware(due_at) <= now:
        raise InvalidInput("promise_due_at", "the promised time has passed", reason="promise_in_past")
    return text, ensure_aware(due_at) if due_at is not None else None


def customer_resolved(contact_id: int) -> str:
    """The clock's trigger for an attempt that logged this customer's case as resolved."""
    return f"resolved:contact:{contact_id}"


def compensation_received(contact_id: int) -> str:
    """The clock's trigger for a compensation this customer confirmed as received."""
    return f"compensation_confirmed:contact:{contact_id}"


def _promise_rule(contact: AffectedContact, lead: timedelta) -> Rule:
    minutes = max(1, int(lead.total_seconds() // 60))
    remind_before = 60 if minutes >= 240 else 15 if minutes >= 60 else 0
    return Rule(key=f"{PROMISE_PREFIX}{contact.id}", zh=f"兑现对{contact.name}的承诺", en=f"Keep the promise to {contact.name}",
                anchor="outreach", owner="commander",
                met_by=(customer_resolved(contact.id), compensation_received(contact.id)),
                remind_before=remind_before, escalate_every=PROMISE_ESCALATE_EVERY, offset=minutes)


def log_attempt(
    session: Session, *, incident: Incident, contact: AffectedContact, result: Any, channel: Any = None,
    at: datetime | None = None, note: Any = "", offer_kind: Any = None, offer_value: Any = None,
    promise: Any = "", promise_due_at: datetime | None = None, actor: Actor, now: datetime, zone: ZoneInfo,
) -> OutreachAttempt:
    """Record one try at reaching a customer: meets outreach deadlines, opens a compensation, starts a promise."""
    now = ensure_aware(now)
    _check_open(incident)
    result = _choice(AttemptResult, result, "result", required=True)
    channel = _choice(Platform, channel, "channel", required=False) or contact.platform
    at = ensure_aware(at) if at is not None else now
    if at > now + timedelta(minutes=1):
        raise InvalidInput("at", "an attempt cannot be in the future", reason="future_attempt")
    if not isinstance(note, str):
        raise InvalidInput("note", "note must be text", reason="invalid")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"at most {NOTE_MAX} characters", reason="too_long", max=NOTE_MAX)
    kind, value = _offer(offer_kind, offer_value)
    promise_text, due_at = _promise(promise, promise_due_at, now)

    attempt = OutreachAttempt(
        incident_id=incident.id, contact_id=contact.id, at=at, channel=channel, result=result, note=note,
        promise=promise_text, promise_due_at=due_at, actor_id=actor.user_id, actor_label=actor.label,
        created_at=now,
    )
    session.add(attempt)
    contact.attempts += 1
    if contact.last_attempt_at is None or at >= contact.last_attempt_at:
        contact.last_attempt_at = at
        contact.last_result = result
    if result in REACHED_RESULTS and (contact.reached_at is None or at < contact.reached_at):
        contact.reached_at = at
    session.flush()
    data: dict[str, Any] = {"contact": contact.id, "name": contact.name, "attempt": attempt.id,
                            "result": result.value, "channel": channel.value, "at": at.isoformat()}
    if kind is not None:
        data["offer"] = {"kind": kind.value, "value": str(value) if value is not None else None}
    if promise_text:
        data["promise"] = {"text": promise_text, "due_at": due_at.isoformat()}  # type: ignore[union-attr]
    event = record_event(session, incident, kind=EventKind.OUTREACH_LOGGED, actor=actor, now=now, body=note,
                         data=data)
    session.flush()
    handle_event(session, incident, "outreach", event=event, now=now, zone=zone)
    if result == AttemptResult.RESOLVED:
        handle_event(session, incident, customer_resolved(contact.id), event=event, now=now, zone=zone)
    if kind is not None:
        session.add(Compensation(
            incident_id=incident.id, contact_id=contact.id, attempt_id=attempt.id, kind=kind, value=value,
            state=CompensationState.OFFERED, offered_at=at, updated_at=now,
            history=[{"state": CompensationState.OFFERED.value, "at": at.isoformat(), "by": actor.label}],
        ))
    if due_at is not None:
        attempt.deadline = add_deadline(
            session, incident, _promise_rule(contact, due_at - now), due_at=due_at, event=event, now=now,
            extra={"contact_id": contact.id, "promise": promise_text},
        )
    session.flush()
    return attempt


def advance_compensation(
    session: Session, *, incident: Incident, compensation: Compensation, to: Any, actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> TimelineEvent:
    """Move a compensation on: accepted or declined, delivered, then confirmed by the customer
    (which meets the promise made to that customer)."""
    now = ensure_aware(now)
    target = _choice(CompensationState, to, "to", required=True)
    if target not in NEXT_STATES.get(compensation.state, ()):
        raise InvalidInput("to", f"cannot go from {compensation.state.value} to {target.value}",
                           reason="compensation_step")
    before = compensation.state
    compensation.state = target
    setattr(compensation, STATE_TIMES[target], now)
    compensation.updated_at = now
    compensation.history = [*compensation.history, {"state": target.value, "at": now.isoformat(), "by": actor.label}]
    contact = compensation.contact
    event = record_event(
        session, incident, kind=EventKind.COMPENSATION_CHANGED, actor=actor, now=now,
        data={"compensation": compensation.id, "contact": contact.id, "name": contact.name,
              "kind": compensation.kind.value, "value": str(compensation.value) if compensation.value else None,
              "from": before.value, "to": target.value},
    )
    session.flush()
    if target == CompensationState.CONFIRMED:
        handle_event(session, incident, compensation_received(contact.id), event=event, now=now, zone=zone)
        session.flush()
    return event
