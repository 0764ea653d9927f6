"""Playbooks: per kind of incident, the checklist and the deadline rules.

Defaults ship in incidents/defaults/playbooks.toml. An admin's change of numbers is stored
as a new PlaybookRevision holding the whole document (audited), so what was effective at
any time can be read back; deadlines snapshot their rule when created.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity, Status
from incidents.models import PlaybookRevision

ANCHORS = ("opened", "acknowledged", "public_update", "resolved") + tuple(
    f"status:{status.value}" for status in Status if status != Status.INVESTIGATING
)
UNTIL = ("resolved", "closed")
OWNERS = ("commander", "comms_lead", "duty_manager")
TRIGGER_PREFIXES = ("checklist:", "status:")
# "outreach": an attempt to reach an affected customer was logged (incidents.outreach).
# The six-step case (incidents.cases): its plan recorded (step 4); the customer's confirmation
# recorded with step 5.
PLAN_RECORDED = "case:plan"
CUSTOMER_CONFIRMED = "case:confirmed"
PLAIN_TRIGGERS = ("public_update", "acknowledged", "outreach", PLAN_RECORDED, CUSTOMER_CONFIRMED)

# Bounds for the numbers an admin may set, in minutes (30 days is the longest promise).
MAX_MINUTES = 30 * 24 * 60
NUMBER_FIELDS = ("offset", "period", "remind_before", "escalate_every")
MINIMUM = {"offset": 0, "period": 1, "remind_before": 0, "escalate_every": 1}


@dataclass(frozen=True)
class Rule:
    key: str
    zh: str
    en: str
    anchor: str
    owner: str
    met_by: tuple[str, ...]
    remind_before: int
    escalate_every: int
    offset: int | None = None
    period: int | None = None
    until: str | None = None

    @property
    def recurring(self) -> bool:
        return self.period is not None

    @property
    def first_offset(self) -> int:
        """Minutes from the anchor to the first due time."""
        if self.offset is not None:
            return self.offset
        assert self.period is not None
        return self.period

    def name(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en

    def snapshot(self, *, business_hours: bool, source: str) -> dict[str, Any]:
        """What a deadline stores of its rule (numbers as they were when it was created)."""
        return {
            "key": self.key,
            "zh": self.zh,
            "en": self.en,
            "anchor": self.anchor,
            "owner": self.owner,
            "met_by": list(self.met_by),
            "remind_before": self.remind_before,
            "escalate_every": self.escalate_every,
            "offset": self.offset,
            "period": self.period,
            "until": self.until,
            "business_hours": business_hours,
            "source": source,
        }


@dataclass(frozen=True)
class Step:
    key: str
    zh: str
    en: str
    meets: str | None = None

    def text(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


@dataclass(frozen=True)
class Playbook:
    kind: Kind
    steps: tuple[Step, ...]
    document: dict[str, Any]
    source: str  # "defaults v1" or "revision 3"
    business_hours: bool = False

    def rules_for(self, severity: Severity | str) -> tuple[Rule, ...]:
        """The rules with this severity's overrides applied."""
        overrides = self.document.get("severity", {}).get(str(severity), {})
        return tuple(
            _rule({**raw, **overrides.get(raw["key"], {})}) for raw in self.document.get("rules", [])
        )

    def rule(self, severity: Severity | str, key: str) -> Rule | None:
        return next((rule for rule in self.rules_for(severity) if rule.key == key), None)

    def step(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)


def _rule(raw: dict[str, Any]) -> Rule:
    return Rule(
        key=raw["key"],
        zh=raw.get("zh", raw["key"]),
        en=raw.get("en", raw["key"]),
        anchor=raw["anchor"],
        owner=raw["owner"],
        met_by=tuple(raw.get("met_by", ())),
        remind_before=int(raw.get("remind_before", 0)),
        escalate_every=int(raw.get("escalate_every", 15)),
        offset=None if raw.get("offset") is None else int(raw["offset"]),
        period=None if raw.get("period") is None else int(raw["period"]),
        until=raw.get("until"),
    )


@cache
def _defaults_file() -> dict[str, Any]:
    text = resources.files("incidents").joinpath("defaults/playbooks.toml").read_text("utf-8")
    return tomllib.loads(text)


def defaults_version() -> int:
    return int(_defaults_file()["version"])


def default_document(kind: Kind) -> dict[str, Any]:
    """A deep copy of the shipped document for one kind (safe to change)."""
    return copy.deepcopy(_defaults_file()[kind.value])


def parse_playbook(kind: Kind, document: dict[str, Any], *, source: str) -> Playbook:
    """Validate a playbook document and build the Playbook; InvalidInput names the bad field."""
    validate_document(kind, document)
    steps = tuple(
        Step(key=raw["key"], zh=raw["zh"], en=raw["en"], meets=raw.get("meets"))
        for raw in document.get("steps", [])
    )
    return Playbook(
        kind=kind,
        steps=steps,
        document=document,
        source=source,
        business_hours=bool(document.get("business_hours", False)),
    )


def validate_document(kind: Kind, document: dict[str, Any]) -> None:
    rules = document.get("rules", [])
    keys = [raw.get("key") for raw in rules]
    if len(set(keys)) != len(keys):
        raise InvalidInput("rules", "rule keys must be unique", reason="duplicate")
    for raw in rules:
        _validate_rule(raw, prefix=f"rules.{raw.get('key')}")
    for severity, overrides in document.get("severity", {}).items():
        if severity not in {s.value for s in Severity}:
            raise InvalidInput("severity", f"unknown severity {severity!r}", reason="choice", allowed="P1, P2, P3, P4")
        for key, numbers in overrides.items():
            base = next((raw for raw in rules if raw.get("key") == key), None)
            if base is None:
                raise InvalidInput(f"severity.{severity}.{key}", f"override for unknown rule {key!r}", reason="unknown_rule")
            _validate_rule({**base, **numbers}, prefix=f"severity.{severity}.{key}")
    step_keys = {raw.get("key") for raw in document.get("steps", [])}
    for raw in rules:
        for trigger in raw.get("met_by", []):
            if trigger.startswith("checklist:") and trigger.removeprefix("checklist:") not in step_keys:
                raise InvalidInput(
                    f"rules.{raw['key']}.met_by", f"no checklist step {trigger!r}", reason="unknown_step"
                )
    if document.get("business_hours") and kind != Kind.COMPLAINT:
        raise InvalidInput("business_hours", "only complaint deadlines may count in business hours", reason="around_the_clock")


def _validate_rule(raw: dict[str, Any], *, prefix: str) -> None:
    if raw.get("anchor") not in ANCHORS:
        raise InvalidInput(
            f"{prefix}.anchor", f"unknown anchor {raw.get('anchor')!r}", reason="choice", allowed=", ".join(ANCHORS)
        )
    if raw.get("owner") not in OWNERS:
        raise InvalidInput(f"{prefix}.owner", f"unknown owner {raw.get('owner')!r}", reason="choice", allowed=", ".join(OWNERS))
    if raw.get("until") is not None and raw["until"] not in UNTIL:
        raise InvalidInput(f"{prefix}.until", f"unknown end {raw['until']!r}", reason="choice", allowed=", ".join(UNTIL))
    for trigger in raw.get("met_by", []):
        if trigger not in PLAIN_TRIGGERS and not trigger.startswith(TRIGGER_PREFIXES):
            raise InvalidInput(f"{prefix}.met_by", f"unknown event {trigger!r}", reason="unknown_trigger")
    for field in NUMBER_FIELDS:
        value = raw.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{prefix}.{field}", f"{field} must be a whole number of minutes", reason="whole_minutes")
        if not MINIMUM[field] <= value <= MAX_MINUTES:
            raise InvalidInput(
                f"{prefix}.{field}",
                f"{field} must be between {MINIMUM[field]} and {MAX_MINUTES} minutes",
                reason="minutes_range",
                min=MINIMUM[field],
                max=MAX_MINUTES,
            )
    if raw.get("offset") is None and raw.get("period") is None:
        raise InvalidInput(f"{prefix}.offset", "a rule needs an offset or a period", reason="required")
    span = raw.get("offset") if raw.get("offset") else raw.get("period")
    if span and raw.get("remind_before", 0) >= span:
        raise InvalidInput(
            f"{prefix}.remind_before",
            "the reminder must come after the deadline starts (shorter than its offset or period)",
            reason="reminder_too_early",
        )


def effective_playbook(session: Session, kind: Kind) -> Playbook:
    """The playbook in force now: the latest admin revision, else the shipped defaults."""
    revision = latest_revision(session, kind)
    if revision is None:
        return _default_playbook(kind)
    return parse_playbook(kind, copy.deepcopy(revision.document), source=f"revision {revision.revision}")


@cache
def _default_playbook(kind: Kind) -> Playbook:
    """The shipped playbook, validated once per process (every incident event reads it).
    Callers treat its document as read-only; change_numbers works on a deep copy."""
    return parse_playbook(kind, default_document(kind), source=f"defaults v{defaults_version()}")


def latest_revision(session: Session, kind: Kind) -> PlaybookRevision | None:
    return session.scalar(
        sa.select(PlaybookRevision)
        .where(PlaybookRevision.kind == kind)
        .order_by(PlaybookRevision.revision.desc())
        .limit(1)
    )


def parse_minutes(field: str, value: Any) -> int | None:
    """A form value as whole minutes; blank means 'not set' (None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(field, f"{field} must be a whole number of minutes", reason="whole_minutes")
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput(field, f"{field} must be a whole number of minutes", reason="whole_minutes") from None


def change_numbers(
    session: Session,
    *,
    kind: Kind,
    changes: dict[str, Any],
    business_hours: bool | None,
    actor: Actor,
    now: datetime,
) -> Playbook:
    """Apply an admin's numbers and store them as a new revision, audited.

    `changes` maps "rule_key.field" (all severities) or "P1.rule_key.field" (a severity
    override; blank removes it) to minutes. Everything is validated before anything is
    written; an edit that changes nothing writes nothing.
    """
    current = effective_playbook(session, kind)
    document = copy.deepcopy(current.document)
    rules = {raw["key"]: raw for raw in document.get("rules", [])}
    for name, raw_value in changes.items():
        parts = name.split(".")
        if len(parts) == 2 and parts[0] in rules and parts[1] in NUMBER_FIELDS:
            value = parse_minutes(name, raw_value)
            if value is None:
                if parts[1] in ("offset", "period") and rules[parts[0]].get(parts[1]) is not None:
                    raise InvalidInput(name, f"{name} is required", reason="required")
                continue
            if parts[1] in ("offset", "period") and rules[parts[0]].get(parts[1]) is None:
                raise InvalidInput(name, f"{parts[0]} has no {parts[1]}", reason="not_editable")
            rules[parts[0]][parts[1]] = value
        elif len(parts) == 3 and parts[0] in {s.value for s in Severity} and parts[1] in rules and parts[2] in NUMBER_FIELDS:
            value = parse_minutes(name, raw_value)
            overrides = document.setdefault("severity", {}).setdefault(parts[0], {})
            rule_overrides = overrides.setdefault(parts[1], {})
            if value is None:
                rule_overrides.pop(parts[2], None)
            else:
                if parts[2] in ("offset", "period") and rules[parts[1]].get(parts[2]) is None:
                    raise InvalidInput(name, f"{parts[1]} has no {parts[2]}", reason="not_editable")
                rule_overrides[parts[2]] = value
            if not rule_overrides:
                overrides.pop(parts[1])
            if not overrides:
                document["severity"].pop(parts[0])
            if not document["severity"]:
                # An edit that only blanks overrides must compare equal to a document without any.
                document.pop("severity")
        else:
            raise InvalidInput(name, f"{name} cannot be changed here", reason="not_editable")
    if business_hours is not None:
        if business_hours:
            document["business_hours"] = True
        else:
            document.pop("business_hours", None) if kind != Kind.COMPLAINT else document.update(business_hours=False)
    validate_document(kind, document)
    if document == current.document:
        return current
    previous = latest_revision(session, kind)
    number = 1 if previous is None else previous.revision + 1
    session.add(
        PlaybookRevision(kind=kind, revision=number, document=document, created_at=now, created_by_label=actor.label)
    )
    record_audit(
        session,
        actor=actor,
        now=now,
        action="playbook.changed",
        target_type="playbook",
        target_id=kind.value,
        before={"source": current.source, "document": current.document},
        after={"source": f"revision {number}", "document": document},
    )
    session.flush()
    return parse_playbook(kind, document, source=f"revision {number}")
