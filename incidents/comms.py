"""The composer and sign-off: a script filled with variables becomes an update, or a draft to approve.

`render` turns what the composer holds into exactly the texts the public will read (or an
error naming the variable at fault). `submit` publishes it through incidents.updates, unless
the incident's kind and severity need a duty manager's sign-off: then it becomes an
UpdateDraft with its own short deadline on the clock, never public until approved.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from incidents import scripts, signoff_reach
from incidents.actors import Actor
from incidents.comms_models import DraftState, UpdateDraft
from incidents.components import component_status
from incidents.deadlines import _reason, handle_event, record_event, start_deadline
from incidents import lookup
from incidents.errors import InvalidInput
from incidents.lookup import of_incident
from incidents.lifecycle import Kind, Severity, Status
from incidents.models import EventKind, Incident, StatusUpdate
from incidents.playbooks import Rule, effective_playbook
from incidents.public_models import Component, ComponentStatus
from incidents.settings import get_setting, put_setting
from incidents.timeutil import ensure_aware
from incidents.service import clean_text
from incidents.updates import BODY_MAX, _public_status, publish_update, require_public_title

SIGNOFF_RULE = "signoff"
DEFAULT_PERIOD = 10
# The same text sent again by the same person this soon is a retry (a double click, a script
# retrying after a timeout): it is answered with what the first one made, never published twice.
REPEAT_WINDOW = timedelta(minutes=2)
MAX_MINUTES = 24 * 60


# --- settings -------------------------------------------------------------------------------

def comms_settings(session: Session) -> dict[str, Any]:
    """Sign-off per kind (severities), its minutes, holding statements per kind, their delay."""
    return get_setting(session, "comms")


def _minutes(value: Any, field: str, low: int) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(field, f"{field} must be a whole number of minutes", reason="whole_minutes") from None
    if not low <= number <= MAX_MINUTES:
        raise InvalidInput(field, f"{field} must be between {low} and {MAX_MINUTES} minutes", reason="minutes_range",
                           min=low, max=MAX_MINUTES)
    return number


def _each_kind(raw: Any, key: str, shape: str, known: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (kind, value) pairs of a per-kind setting, refusing a non-map and kinds not in `known`, in turn."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(key, f"{key} maps each kind to {shape}", reason="invalid")
    for kind_name, item in raw.items():
        if kind_name not in known:
            raise InvalidInput(key, f"unknown kind {kind_name!r}", reason="choice",
                               allowed=", ".join(k.value for k in Kind))
        yield kind_name, item


def save_comms_settings(session: Session, value: Mapping[str, Any], *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Validate and store the comms settings (audited); keys left out keep their value."""
    merged = comms_settings(session)
    unknown = sorted(set(value) - set(merged))
    if unknown:
        raise InvalidInput(unknown[0], f"unknown setting {unknown[0]!r}", reason="not_editable")
    if "signoff" in value:
        for kind_name, severities in _each_kind(value["signoff"], "signoff", "its severities", merged["signoff"]):
            if not isinstance(severities, list | tuple) or any(s not in {v.value for v in Severity} for s in severities):
                raise InvalidInput(f"signoff.{kind_name}", "list severities among P1, P2, P3, P4", reason="choice",
                                   allowed="P1, P2, P3, P4")
            merged["signoff"][kind_name] = sorted(set(severities))
    if "holding" in value:
        for kind_name, enabled in _each_kind(value["holding"], "holding", "true or false", merged["holding"]):
            if not isinstance(enabled, bool):
                raise InvalidInput(f"holding.{kind_name}", "true or false", reason="invalid")
            merged["holding"][kind_name] = enabled
    if "signoff_minutes" in value:
        merged["signoff_minutes"] = _minutes(value["signoff_minutes"], "signoff_minutes", 1)
    if "holding_after_minutes" in value:
        merged["holding_after_minutes"] = _minutes(value["holding_after_minutes"], "holding_after_minutes", 0)
    put_setting(session, "comms", merged, actor=actor, now=ensure_aware(now))
    return merged


def needs_signoff(session: Session, incident: Incident) -> bool:
    """True when the incident's kind and severity need a duty manager's sign-off before publishing."""
    return incident.severity.value in comms_settings(session)["signoff"].get(incident.kind.value, [])


# --- composing -----------------------------------------------------------------------------

@dataclass
class Composition:
    """What the composer holds: the texts with {variables}, the values, status and components."""

    zh: str
    en: str = ""
    values: dict[str, str] = field(default_factory=dict)  # name, and name_en for bilingual ones
    public_status: str | None = None
    components: dict[str, str] = field(default_factory=dict)  # component id -> status
    script: str = ""  # "outage.progress", when picked from the library
    script_version: int | None = None


@dataclass(frozen=True)
class Rendered:
    body: str
    body_en: str
    public_status: Status
    components: list[tuple[Component, ComponentStatus]]


def update_period(session: Session, incident: Incident) -> int:
    """Minutes between public updates for this incident (its playbook's recurring update rule)."""
    for rule in effective_playbook(session, incident.kind).rules_for(incident.severity):
        if rule.anchor == "public_update" and rule.recurring and "public_update" in rule.met_by:
            return rule.period or DEFAULT_PERIOD
    return DEFAULT_PERIOD


def next_update_text(session: Session, incident: Incident, *, now: datetime, zone: ZoneInfo) -> str:
    """The next update's time as the public reads it: HH:mm in the team's zone."""
    return (ensure_aware(now) + timedelta(minutes=update_period(session, incident))).astimezone(zone).strftime("%H:%M")


def _components(session: Session, raw: Mapping[str, Any]) -> list[tuple[Component, ComponentStatus]]:
    chosen = []
    for raw_id, raw_status in raw.items():
        number = lookup.row_id(raw_id)
        component = session.get(Component, number) if number else None
        if component is None:
            raise InvalidInput("components", f"unknown component {raw_id!r}", reason="unknown_component")
        chosen.append((component, component_status(raw_status, "components")))
    return sorted(chosen, key=lambda pair: (pair[0].position, pair[0].id))


def auto_values(incident: Incident, chosen: list[tuple[Component, ComponentStatus]]) -> tuple[dict, dict]:
    """The values the composer fills itself, in Chinese and in English."""
    zh = {"components": "、".join(c.name for c, _ in chosen), "title": incident.public_title or ""}
    en = {"components": ", ".join(c.name_en or c.name for c, _ in chosen),
          "title": incident.public_title_en or incident.public_title or ""}
    return zh, en


def render(session: Session, incident: Incident, composition: Composition) -> Rendered:
    """Exactly what the public will read; an unknown or empty variable is an error naming it."""
    status = _public_status(incident, composition.public_status)
    chosen = _components(session, composition.components)
    auto_zh, auto_en = auto_values(incident, chosen)
    values = {k: v for k, v in composition.values.items() if isinstance(v, str)}
    manual_zh = {name: values.get(name, "") for name in scripts.VARIABLES}
    manual_en = {name: values.get(f"{name}_en" if v.source == "bilingual" else name, "")
                 for name, v in scripts.VARIABLES.items()}
    for name in scripts.placeholders(composition.zh, field="zh"):
        if name in auto_zh and not auto_zh[name]:
            raise _missing_auto(name)
    _refuse_promise_when_resolved(status, composition)
    body = scripts.fill(composition.zh, {**manual_zh, **auto_zh}, field="zh")
    body_en = ""
    if composition.en.strip():
        for name in scripts.placeholders(composition.en, field="en"):
            if name in auto_en and not auto_en[name]:
                raise _missing_auto(name)
        try:
            body_en = scripts.fill(composition.en, {**manual_en, **auto_en}, field="en")
        except InvalidInput as error:
            if error.reason == "variable_empty" and scripts.VARIABLES[error.params["name"]].source == "bilingual":
                raise InvalidInput(f"{error.field}_en", error.message, reason="variable_empty_en",
                                   **error.params) from None
            raise
    body = clean_text(body, field="body", max_length=BODY_MAX, required=True)
    body_en = clean_text(body_en, field="body_en", max_length=BODY_MAX, required=False)
    return Rendered(body=body, body_en=body_en, public_status=status, components=chosen)


def _refuse_promise_when_resolved(status: Status, composition: Composition) -> None:
    """A resolved notice ends the updates: it may not promise a next one."""
    if status != Status.RESOLVED:
        return
    for field_name, text in (("zh", composition.zh), ("en", composition.en)):
        if "next_update_at" in scripts.placeholders(text, field=field_name):
            raise InvalidInput(field_name, "a resolved notice promises no next update: remove {next_update_at}",
                               reason="resolved_promises_update")


def _missing_auto(name: str) -> InvalidInput:
    if name == "components":
        return InvalidInput("components", "{components} needs at least one affected component",
                            reason="needs_components")
    return InvalidInput("zh", "{title} needs the incident's public title", reason="needs_public_title")


def _script_data(composition: Composition) -> dict[str, Any]:
    return {"script": composition.script, "version": composition.script_version} if composition.script else {}


def as_draft(composition: Composition) -> Composition:
    """The composition as a draft for sign-off holds it: {next_update_at} waits for the approval."""
    return dataclasses.replace(composition, values={**composition.values, "next_update_at": scripts.NEXT_UPDATE_TOKEN})


def submit(
    session: Session, *, incident: Incident, composition: Composition, may_approve: bool, actor: Actor,
    now: datetime, zone: ZoneInfo, public_url: str = "",
) -> StatusUpdate | UpdateDraft:
    """Publish the composed update, or hold it for sign-off when the kind and severity need one.

    Someone who may approve (a duty manager, an admin) publishes directly: their own
    publish is the sign-off, and the timeline says so. A draft keeps {next_update_at} to be
    filled when it goes out, and reaches the approvers (incidents.signoff_reach) at once.
    """
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident takes no more updates", reason="closed")
    require_public_title(incident)
    required = needs_signoff(session, incident)
    if required and not may_approve:
        composition = as_draft(composition)
    rendered = render(session, incident, composition)
    components = {str(c.id): s.value for c, s in rendered.components}
    earlier = _repeat_of(session, incident, rendered, actor=actor, now=now, draft=bool(required and not may_approve))
    if earlier is not None:
        return earlier
    if not required or may_approve:
        data = {**_script_data(composition), **({"signoff": "self"} if required else {})}
        return publish_update(session, incident=incident, body=rendered.body, body_en=rendered.body_en,
                              public_status=rendered.public_status.value, components=components, actor=actor,
                              now=now, zone=zone, event_data=data)
    draft = UpdateDraft(
        incident_id=incident.id, state=DraftState.PENDING, body=rendered.body, body_en=rendered.body_en,
        public_status=rendered.public_status, components=components, script=_script_data(composition),
        requested_at=now, requested_by_id=actor.user_id, requested_by_label=actor.label, decided_by_label="",
        reason="",
    )
    session.add(draft)
    session.flush()
    minutes = int(comms_settings(session)["signoff_minutes"])
    rule = Rule(key=SIGNOFF_RULE, zh="公告签核", en="Update sign-off", anchor=SIGNOFF_RULE, owner="duty_manager",
                met_by=(f"signoff:{draft.id}",), remind_before=1 if minutes > 1 else 0,
                escalate_every=max(1, min(minutes, 5)), offset=minutes)
    draft.deadline_id = start_deadline(session, incident, rule, now=now, source=f"sign-off of draft {draft.id}").id
    record_event(session, incident, kind=EventKind.SIGNOFF_REQUESTED, actor=actor, now=now, body=rendered.body,
                 data={"draft": draft.id, "public_status": rendered.public_status.value, **_script_data(composition),
                       "started": [{"rule": SIGNOFF_RULE, "due_at": draft.deadline.due_at.isoformat()}]})
    session.flush()
    signoff_reach.announce_draft(session, incident=incident, draft=draft, now=now, zone=zone, public_url=public_url)
    return draft


def _repeat_of(session: Session, incident: Incident, rendered: Any, *, actor: Actor, now: datetime,
               draft: bool) -> StatusUpdate | UpdateDraft | None:
    """The update (or pending draft) this same person sent with this same text within REPEAT_WINDOW."""
    model = UpdateDraft if draft else StatusUpdate
    by_id, by_label, at = ((UpdateDraft.requested_by_id, UpdateDraft.requested_by_label, UpdateDraft.requested_at)
                           if draft else
                           (StatusUpdate.published_by_id, StatusUpdate.published_by_label, StatusUpdate.published_at))
    query = sa.select(model).where(
        model.incident_id == incident.id, at >= now - REPEAT_WINDOW, model.body == rendered.body,
        model.body_en == rendered.body_en, model.public_status == rendered.public_status,
        by_id == actor.user_id if actor.user_id is not None else by_label == actor.label,
    )
    if draft:
        query = query.where(UpdateDraft.state == DraftState.PENDING)
    return session.scalars(query.order_by(model.id.desc()).limit(1)).first()


# --- sign-off ------------------------------------------------------------------------------

def get_draft(session: Session, incident: Incident, draft_id: int) -> UpdateDraft:
    return of_incident(session, UpdateDraft, draft_id, incident, "draft")


def drafts(session: Session, incident: Incident, *, pending_only: bool = False) -> list[UpdateDraft]:
    """The incident's drafts, newest first."""
    query = sa.select(UpdateDraft).where(UpdateDraft.incident_id == incident.id)
    if pending_only:
        query = query.where(UpdateDraft.state == DraftState.PENDING)
    return list(session.scalars(query.order_by(UpdateDraft.id.desc())))


_DRAFTS = UpdateDraft.__table__
_DECIDE = (
    sa.update(_DRAFTS)
    .where(_DRAFTS.c.id == sa.bindparam("draft_id"), _DRAFTS.c.state == DraftState.PENDING.value)
    .values(state=sa.bindparam("new_state"), decided_at=sa.bindparam("at"), decided_by_label=sa.bindparam("by"),
            reason=sa.bindparam("why"))
)


def _decide(session: Session, draft: UpdateDraft, state: DraftState, *, reason: str, actor: Actor, now: datetime) -> None:
    """Claim the decision: only one approve or reject ever wins (a conditional UPDATE)."""
    session.flush()
    result = session.connection().execute(
        _DECIDE, {"draft_id": draft.id, "new_state": state.value, "at": now, "by": actor.label, "why": reason})
    if result.rowcount != 1:
        session.refresh(draft)
        raise InvalidInput("draft", "this draft was already decided", reason="draft_decided",
                           state=draft.state.value)
    for name, value in (("state", state), ("decided_at", now), ("decided_by_label", actor.label), ("reason", reason)):
        set_committed_value(draft, name, value)


def _settle(
    session: Session, *, incident: Incident, draft: UpdateDraft, state: DraftState, kind: EventKind, reason: str,
    actor: Actor, now: datetime, zone: ZoneInfo,
) -> None:
    """Decide the draft, say so on the timeline, and meet its sign-off deadline."""
    _decide(session, draft, state, reason=reason, actor=actor, now=now)
    event = record_event(session, incident, kind=kind, actor=actor, now=now, body=reason,
                         data={"draft": draft.id, "requested_by": draft.requested_by_label})
    session.flush()
    handle_event(session, incident, f"signoff:{draft.id}", event=event, now=now, zone=zone)
    session.flush()


def fill_next_update(session: Session, incident: Incident, text: str, *, now: datetime, zone: ZoneInfo) -> str:
    """A draft's text as it goes out at `now`: {next_update_at} becomes the time the cadence gives then."""
    if scripts.NEXT_UPDATE_TOKEN not in text:
        return text
    return text.replace(scripts.NEXT_UPDATE_TOKEN, next_update_text(session, incident, now=now, zone=zone))


def approve(
    session: Session, *, incident: Incident, draft: UpdateDraft, reason: str = "", actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> StatusUpdate:
    """Approve a draft: it is published as written, its next update time filled in now, and the
    sign-off deadline is met."""
    now = ensure_aware(now)
    _settle(session, incident=incident, draft=draft, state=DraftState.APPROVED, kind=EventKind.SIGNOFF_APPROVED,
            reason=_reason(reason, required=False), actor=actor, now=now, zone=zone)
    body, body_en = (fill_next_update(session, incident, text, now=now, zone=zone)
                     for text in (draft.body, draft.body_en))
    update = publish_update(
        session, incident=incident, body=body, body_en=body_en, public_status=draft.public_status.value,
        components=copy.deepcopy(draft.components), actor=actor, now=now, zone=zone,
        event_data={**draft.script, "draft": draft.id, "drafted_by": draft.requested_by_label, "signoff": actor.label},
    )
    draft.update_id = update.id
    session.flush()
    return update


def reject(
    session: Session, *, incident: Incident, draft: UpdateDraft, reason: str, actor: Actor, now: datetime,
    zone: ZoneInfo,
) -> UpdateDraft:
    """Reject a draft with a reason: nothing goes out; the update deadline keeps running."""
    _settle(session, incident=incident, draft=draft, state=DraftState.REJECTED, kind=EventKind.SIGNOFF_REJECTED,
            reason=_reason(reason, required=True), actor=actor, now=ensure_aware(now), zone=zone)
    return draft
