"""Complaint intake and the surge rule: many complaints of one kind about one product in a day.

`record_complaint` stores a report the service desk sends and, in the caller's transaction:

* attaches it (with a timeline entry) to the open surge incident of its product and category;
* otherwise, when an enabled rule matches and the complaints of that product and category
  not yet attached to an incident reach the rule's threshold within the team's local day,
  raises one `complaint` incident (source `monitor`), attaches the day's complaints to it
  and tells the duty manager;
* after that incident is closed, the rule's cool-down (counted from the raise) must pass
  before complaints count towards a new one.

Rules are serialised per rule row (SELECT … FOR UPDATE on PostgreSQL), so two reports
arriving together at the threshold raise one incident, not two.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import notify, service
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.deadlines import record_event
from incidents.errors import InvalidInput, NotFound
from incidents.intake_models import ComplaintReport, ComplaintSurgeRule
from incidents.lifecycle import Kind, Severity, Source, Status
from incidents.models import EventKind, Incident
from incidents.roster import duty_managers_to_tell
from incidents.timeutil import ensure_aware

# Problem types as the service desk files them; the channel the complaint came through.
CATEGORIES = ("quality", "logistics", "service", "billing", "other")
CHANNELS = ("hotline", "online_chat", "email", "app", "social", "marketplace", "regulator", "store", "other")
CATEGORY_NAMES = {
    "quality": {"zh": "质量", "en": "quality"},
    "logistics": {"zh": "物流", "en": "logistics"},
    "service": {"zh": "服务态度", "en": "service"},
    "billing": {"zh": "价格与退款", "en": "billing"},
    "other": {"zh": "其他", "en": "other"},
}
PRODUCT_MAX = 100
TEXT_MAX = 5000
ORDER_NO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./#-]{0,63}$")
THRESHOLD_MAX = 10_000
COOLDOWN_MAX = 7 * 24 * 60
LISTED = 20  # complaints quoted on the surge's timeline entry
# The rule raises the incident, not whoever sent the complaint that reached the threshold.
SURGE_RULE = Actor.system("monitor:complaint-surge")

TEXTS = {
    "title": {
        "zh": "客诉激增：{product}「{category}」类客诉今日已达 {count} 起",
        "en": "Complaint surge: {count} {category} complaints about {product} today",
    },
    "summary": {
        "zh": "规则：同一产品的「{category}」类客诉在一天内达到 {threshold} 起即立案。后续同类客诉会自动附到本事件。",
        "en": "Rule: {threshold} {category} complaints about one product in one day open an incident. "
              "Further complaints of this kind attach to it.",
    },
    "notify": {
        "zh": "【客诉激增】{reference}「{title}」{severity}：请尽快认领并指派负责人",
        "en": "[Complaint surge] {reference} \"{title}\" {severity}: please acknowledge and assign",
    },
}


@dataclass
class ComplaintOutcome:
    """What one report did: stored only, attached to an incident, or raised one."""

    report: ComplaintReport
    incident: Incident | None
    raised: bool
    count: int  # complaints of this product and category towards the threshold today


def _text(value: Any, field: str, *, max_length: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be text", reason="not_text")
    # Full-width letters and stray spaces would split one product into several counts.
    text = " ".join(unicodedata.normalize("NFKC", value).split()) if field != "text" else value.strip()
    if required and not text:
        raise InvalidInput(field, f"{field} is required", reason="required")
    if len(text) > max_length:
        raise InvalidInput(field, f"{field} is longer than {max_length} characters", reason="too_long",
                           max=max_length)
    return text


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(field, f"unknown {field} {value!r}; expected one of {', '.join(allowed)}",
                           reason="choice", allowed=", ".join(allowed))
    return value


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(field, f"{field} must be a whole number from {low} to {high}", reason="range",
                           low=low, high=high)
    return value


def _order_no(value: Any) -> str:
    order_no = _text(value, "order_no", max_length=64, required=False)
    if order_no and not ORDER_NO_RE.match(order_no):
        raise InvalidInput("order_no", "an order number uses letters, digits and - _ . / #", reason="order_no")
    return order_no


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The team's calendar day of a moment."""
    return ensure_aware(moment).astimezone(zone).date()


def category_name(category: str, language: str) -> str:
    return CATEGORY_NAMES.get(category, {}).get(language, category)


def record_complaint(
    session: Session, *, product: Any, category: Any, channel: Any, text: Any, order_no: Any = "",
    actor: Actor, now: datetime, zone: ZoneInfo, language: str = "zh",
) -> ComplaintOutcome:
    """Store a complaint and apply the surge rule (see the module docstring)."""
    now = ensure_aware(now)
    report = ComplaintReport(
        product=_text(product, "product", max_length=PRODUCT_MAX, required=True),
        category=_choice(category, "category", CATEGORIES),
        channel=_choice(channel, "channel", CHANNELS),
        text=_text(text, "text", max_length=TEXT_MAX, required=True),
        order_no=_order_no(order_no),
        received_at=now,
        local_day=local_day(now, zone),
        reported_by=actor.label[:100],
    )
    session.add(report)
    rule = _matching_rule(session, report.product, report.category)
    session.flush()
    record_audit(session, actor=actor, now=now, action="complaint.recorded", target_type="complaint_report",
                 target_id=report.id, after=_report_data(report))
    latest = _latest_incident(session, report.product, report.category)
    if latest is not None and latest.status != Status.CLOSED:
        _attach(session, report, latest, actor=actor, now=now)
        return ComplaintOutcome(report, latest, raised=False, count=0)
    if rule is None or (latest is not None and now < latest.opened_at + timedelta(minutes=rule.cooldown_minutes)):
        return ComplaintOutcome(report, None, raised=False, count=0)
    waiting = _waiting(session, report.product, report.category, report.local_day)
    if len(waiting) < rule.threshold:
        return ComplaintOutcome(report, None, raised=False, count=len(waiting))
    incident = _raise(session, rule, report, waiting, now=now, zone=zone, language=language)
    return ComplaintOutcome(report, incident, raised=True, count=len(waiting))


def _matching_rule(session: Session, product: str, category: str) -> ComplaintSurgeRule | None:
    """The enabled rule for this product and category (naming the product beats 'any'), locked."""
    rules = session.scalars(
        sa.select(ComplaintSurgeRule)
        .where(ComplaintSurgeRule.enabled.is_(True), ComplaintSurgeRule.category == category,
               ComplaintSurgeRule.product.in_([product, ""]))
        .order_by(ComplaintSurgeRule.id)
        .with_for_update()
    ).all()
    return rule_for(rules, product, category)


def rule_for(rules: list[ComplaintSurgeRule], product: str, category: str) -> ComplaintSurgeRule | None:
    """Of these rules, the enabled one that counts this product and category (naming the product beats 'any')."""
    candidates = [r for r in rules if r.enabled and r.category == category and r.product in (product, "")]
    return next((r for r in candidates if r.product == product), None) or next(iter(candidates), None)


def _latest_incident(session: Session, product: str, category: str) -> Incident | None:
    """The incident the most recent complaints of this product and category were attached to."""
    incident_id = session.scalar(
        sa.select(ComplaintReport.incident_id)
        .where(ComplaintReport.product == product, ComplaintReport.category == category,
               ComplaintReport.incident_id.is_not(None))
        .order_by(ComplaintReport.id.desc())
        .limit(1)
    )
    return session.get(Incident, incident_id) if incident_id is not None else None


def _waiting(session: Session, product: str, category: str, day: date) -> list[ComplaintReport]:
    """Today's complaints of this product and category not yet attached to any incident, oldest first."""
    return list(session.scalars(
        sa.select(ComplaintReport)
        .where(ComplaintReport.product == product, ComplaintReport.category == category,
               ComplaintReport.local_day == day, ComplaintReport.incident_id.is_(None))
        .order_by(ComplaintReport.id)
    ))


def _report_data(report: ComplaintReport) -> dict[str, Any]:
    return {"report": report.id, "product": report.product, "category": report.category,
            "channel": report.channel, "order_no": report.order_no}


def _attach(session: Session, report: ComplaintReport, incident: Incident, *, actor: Actor, now: datetime) -> None:
    report.incident_id = incident.id
    record_event(session, incident, kind=EventKind.COMPLAINT_RECEIVED, actor=actor, now=now,
                 body=report.text[:1000], data=_report_data(report))
    session.flush()


def _raise(
    session: Session, rule: ComplaintSurgeRule, report: ComplaintReport, waiting: list[ComplaintReport], *,
    now: datetime, zone: ZoneInfo, language: str,
) -> Incident:
    words = {"product": report.product, "category": category_name(report.category, language),
             "count": len(waiting), "threshold": rule.threshold}
    incident = service.open_incident(
        session, kind=Kind.COMPLAINT.value, severity=rule.severity.value,
        title=TEXTS["title"][language].format(**words)[: service.TITLE_MAX],
        summary=TEXTS["summary"][language].format(**words), source=Source.MONITOR, actor=SURGE_RULE, now=now,
        zone=zone,
    )
    for waiting_report in waiting:
        waiting_report.incident_id = incident.id
    quoted = [r.text[:200] for r in waiting[-LISTED:]]
    record_event(
        session, incident, kind=EventKind.COMPLAINT_SURGE, actor=SURGE_RULE, now=now, body="\n".join(quoted),
        data={"rule": rule.id, "product": report.product, "category": report.category, "count": len(waiting),
              "threshold": rule.threshold, "reports": [r.id for r in waiting], "day": report.local_day.isoformat()},
    )
    texts = {lang: template.format(reference=incident.reference, title=incident.title, severity=incident.severity.value)
             for lang, template in TEXTS["notify"].items()}
    notify.tell_the_team(session, duty_managers_to_tell(session, now), kind="complaint_surge", incident=incident,
                         texts=texts, now=now)
    session.flush()
    return incident


def recent_reports(
    session: Session, *, product: str = "", category: str = "", limit: int = 100
) -> list[ComplaintReport]:
    """The newest complaints, optionally of one product and/or category."""
    statement = sa.select(ComplaintReport).order_by(ComplaintReport.id.desc()).limit(max(1, min(limit, 500)))
    if product:
        statement = statement.where(ComplaintReport.product == product)
    if category:
        statement = statement.where(ComplaintReport.category == category)
    return list(session.scalars(statement))


def counts_for_day(session: Session, day: date) -> list[tuple[str, str, int]]:
    """(product, category, complaints) for one local day, most complained-about first."""
    rows = session.execute(
        sa.select(ComplaintReport.product, ComplaintReport.category, sa.func.count(ComplaintReport.id))
        .where(ComplaintReport.local_day == day)
        .group_by(ComplaintReport.product, ComplaintReport.category)
        .order_by(sa.func.count(ComplaintReport.id).desc(), ComplaintReport.product)
    )
    return [(product, category, count) for product, category, count in rows]


RULE_FIELDS = ("product", "category", "threshold", "severity", "enabled", "cooldown_minutes")


def list_rules(session: Session) -> list[ComplaintSurgeRule]:
    """Every surge rule, by category then product ('any' first)."""
    return list(session.scalars(
        sa.select(ComplaintSurgeRule).order_by(ComplaintSurgeRule.category, ComplaintSurgeRule.product)
    ))


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "on", "1", "yes"):
        return True
    if value in ("false", "off", "0", "no", ""):
        return False
    raise InvalidInput(field, f"{field} must be true or false", reason="boolean")


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(RULE_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} is not a rule setting", reason="not_editable")
    cleaners = {
        "product": lambda v: _text(v, "product", max_length=PRODUCT_MAX, required=False),
        "category": lambda v: _choice(v, "category", CATEGORIES),
        "threshold": lambda v: _int(v, "threshold", 1, THRESHOLD_MAX),
        "severity": lambda v: Severity(_choice(v, "severity", tuple(s.value for s in Severity))),
        "enabled": lambda v: _bool(v, "enabled"),
        "cooldown_minutes": lambda v: _int(v, "cooldown_minutes", 0, COOLDOWN_MAX),
    }
    return {key: cleaners[key](value) for key, value in values.items()}


def _rule_json(rule: ComplaintSurgeRule) -> dict[str, Any]:
    return {"product": rule.product, "category": rule.category, "threshold": rule.threshold,
            "severity": rule.severity.value, "enabled": rule.enabled, "cooldown_minutes": rule.cooldown_minutes}


def _check_unique(session: Session, product: str, category: str, rule_id: int | None) -> None:
    clash = session.scalar(sa.select(ComplaintSurgeRule.id).where(
        ComplaintSurgeRule.product == product, ComplaintSurgeRule.category == category))
    if clash is not None and clash != rule_id:
        raise InvalidInput("product", "a rule for this product and category already exists", reason="rule_exists")


def create_rule(session: Session, *, values: dict[str, Any], actor: Actor, now: datetime) -> ComplaintSurgeRule:
    """Add a surge rule (threshold 10 a day, P2, one day's cool-down unless given); audited."""
    cleaned = {"product": "", "threshold": 10, "severity": Severity.P2, "enabled": True, "cooldown_minutes": 1440,
               **_clean_rule(values)}
    if "category" not in cleaned:
        raise InvalidInput("category", "category is required", reason="required")
    _check_unique(session, cleaned["product"], cleaned["category"], None)
    now = ensure_aware(now)
    rule = ComplaintSurgeRule(**cleaned, created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    record_audit(session, actor=actor, now=now, action="surge_rule.created", target_type="complaint_surge_rule",
                 target_id=rule.id, after=_rule_json(rule))
    return rule


def get_rule(session: Session, rule_id: int) -> ComplaintSurgeRule:
    rule = session.get(ComplaintSurgeRule, rule_id)
    if rule is None:
        raise NotFound(f"no surge rule {rule_id}")
    return rule


def update_rule(session: Session, *, rule_id: int, values: dict[str, Any], actor: Actor,
                now: datetime) -> ComplaintSurgeRule:
    """Change a rule's settings; audited, nothing written when nothing changed."""
    rule = get_rule(session, rule_id)
    cleaned = _clean_rule(values)
    before = _rule_json(rule)
    _check_unique(session, cleaned.get("product", rule.product), cleaned.get("category", rule.category), rule.id)
    for key, value in cleaned.items():
        setattr(rule, key, value)
    after = _rule_json(rule)
    if after != before:
        rule.updated_at = ensure_aware(now)
        record_audit(session, actor=actor, now=now, action="surge_rule.changed", target_type="complaint_surge_rule",
                     target_id=rule.id, before=before, after=after)
    session.flush()
    return rule


def delete_rule(session: Session, *, rule_id: int, actor: Actor, now: datetime) -> None:
    """Remove a rule (the complaints and incidents it raised stay); audited."""
    rule = get_rule(session, rule_id)
    record_audit(session, actor=actor, now=now, action="surge_rule.deleted", target_type="complaint_surge_rule",
                 target_id=rule.id, before=_rule_json(rule))
    session.delete(rule)
    session.flush()
