"""Monitor rules as people edit them: validation at the field, audited changes, the compiled matcher."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Severity
from incidents.monitor_models import MentionMatch, MonitorRule
from incidents.timeutil import ensure_aware
from monitors import fields
from monitors.normalize import normalize
from monitors.rules import Rule, RuleMatcher

NAME_MAX = 100
TERM_MAX = 50
TERMS_MAX = 100
WEIGHT_MAX = 100.0
WINDOW_CHOICES = (15, 30, 60, 120, 180, 360, 720, 1440)
# What a new rule starts with (the form is pre-filled; every term can be changed).
DEFAULT_NEGATIVE_TERMS = {"投诉": 1.0, "曝光": 2.0, "维权": 2.0, "骗": 1.5, "差评": 1.0, "退款": 1.0,
                          "12315": 3.0, "黑猫投诉": 3.0, "媒体": 2.0, "律师": 2.0}
DEFAULT_CRITICAL_TERMS = ["12315", "曝光", "媒体", "律师", "黑猫投诉"]
VOLUME_FIELDS = {
    # field: (low, high, default)
    "volume_history_windows": (1, 2000, 336),
    "volume_floor": (1, 100_000, 5),
    "volume_cooldown_minutes": (0, 7 * 1440, 360),
}
FIELDS = ("name", "brand", "aliases", "negative_terms", "critical_terms", "exclusions", "severity", "enabled",
          "instant", "volume_enabled", "volume_window_minutes", "volume_k", *VOLUME_FIELDS)
_SPLIT = re.compile(r"[\n,，、;；]+")
_WEIGHTED = re.compile(r"^(.*?)\s*[:：=]\s*(\S*)\s*$")


def _term(term: Any, field: str) -> str:
    if not isinstance(term, str):
        raise InvalidInput(field, "each term must be text", reason="invalid")
    term = term.strip()
    if len(term) > TERM_MAX:
        raise InvalidInput(field, f"“{term[:20]}…” is longer than {TERM_MAX} characters", reason="term_too_long",
                           term=term[:20], max=TERM_MAX)
    if term and not normalize(term):
        raise InvalidInput(field, f"“{term}” has no visible characters", reason="term_empty", term=term)
    return term


def parse_terms(value: Any, field: str) -> list[str]:
    """A list of terms from a list or from text (one per line, or separated by commas)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[Any] = _SPLIT.split(value)
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidInput(field, f"{field} must be a list of terms", reason="invalid")
    terms: list[str] = []
    for item in items:
        term = _term(item, field)
        if term and term not in terms:
            terms.append(term)
    if len(terms) > TERMS_MAX:
        raise InvalidInput(field, f"at most {TERMS_MAX} terms", reason="too_many", max=TERMS_MAX)
    return terms


def _weight(value: Any, term: str) -> float:
    try:
        weight = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        weight = math.nan
    if not math.isfinite(weight) or not 0 < weight <= WEIGHT_MAX:
        raise InvalidInput("negative_terms", f"the weight of “{term}” must be a number above 0 and at most 100",
                           reason="weight", term=term)
    return weight


def parse_weighted_terms(value: Any) -> dict[str, float]:
    """{term: weight} from a dict or from text lines "term" / "term: 2" / "term=2" (weight 1 by default)."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for item in _SPLIT.split(value):
            if not item.strip():
                continue
            match = _WEIGHTED.match(item)
            pairs.append((match.group(1), match.group(2)) if match else (item, 1.0))
    else:
        raise InvalidInput("negative_terms", "negative terms must be an object of term: weight", reason="invalid")
    terms: dict[str, float] = {}
    for term, weight in pairs:
        term = _term(term, "negative_terms")
        if term:
            terms[term] = _weight(weight, term)
    if len(terms) > TERMS_MAX:
        raise InvalidInput("negative_terms", f"at most {TERMS_MAX} terms", reason="too_many", max=TERMS_MAX)
    return terms


def clean_rule(values: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    """Validate a rule's fields; every message names the field at fault."""
    cleaned: dict[str, Any] = {}
    if new or "name" in values:
        cleaned["name"] = fields.text(values, "name", NAME_MAX, required=True)
    if new or "brand" in values:
        cleaned["brand"] = _term(fields.text(values, "brand", TERM_MAX, required=True), "brand")
    for field in ("aliases", "critical_terms", "exclusions"):
        if field in values:
            cleaned[field] = parse_terms(values[field], field)
    if "negative_terms" in values:
        cleaned["negative_terms"] = parse_weighted_terms(values["negative_terms"])
    if new or "severity" in values:
        severity = values.get("severity") or "P2"
        try:
            cleaned["severity"] = Severity(severity)
        except ValueError:
            raise InvalidInput("severity", "choose P1, P2, P3 or P4", reason="choice",
                               allowed="P1, P2, P3, P4") from None
    for field in ("enabled", "instant", "volume_enabled"):
        if field in values:
            cleaned[field] = fields.boolean(values[field])
    if "volume_window_minutes" in values:
        window = fields.number(values["volume_window_minutes"], "volume_window_minutes", 1, 1440)
        if window not in WINDOW_CHOICES:
            raise InvalidInput("volume_window_minutes", "choose one of the offered window lengths", reason="choice",
                               allowed=", ".join(map(str, WINDOW_CHOICES)))
        cleaned["volume_window_minutes"] = window
    if "volume_k" in values:
        cleaned["volume_k"] = fields.number(values["volume_k"], "volume_k", 0.5, 10, integer=False)
    for field, (low, high, _default) in VOLUME_FIELDS.items():
        if field in values:
            cleaned[field] = fields.number(values[field], field, low, high)
    return cleaned


def _check_compiles(rule: MonitorRule) -> None:
    """The matcher accepts the rule (every term normalises to something)."""
    try:
        RuleMatcher([to_matcher_rule(rule)])
    except ValueError as exc:
        raise InvalidInput("brand", str(exc), reason="invalid") from None


def to_matcher_rule(rule: MonitorRule) -> Rule:
    return Rule(id=str(rule.id or 0), brand=rule.brand, aliases=tuple(rule.aliases or ()),
                negative_terms=dict(rule.negative_terms or {}), critical_terms=tuple(rule.critical_terms or ()),
                exclusions=tuple(rule.exclusions or ()), severity=rule.severity.value)


def _audit_view(rule: MonitorRule) -> dict[str, Any]:
    return {field: (getattr(rule, field).value if isinstance(getattr(rule, field), Severity) else getattr(rule, field))
            for field in FIELDS}


def create_rule(session: Session, values: Mapping[str, Any], *, actor: Actor, now: datetime) -> MonitorRule:
    """Add a rule (validated, audited)."""
    now = ensure_aware(now)
    cleaned = clean_rule(values, new=True)
    if fields.name_taken(session, MonitorRule, cleaned["name"], None):
        raise InvalidInput("name", "another rule already has this name", reason="taken")
    rule = MonitorRule(
        aliases=[], negative_terms={}, critical_terms=[], exclusions=[], enabled=True, instant=True,
        volume_enabled=True, volume_window_minutes=60, volume_k=3.0,
        **{field: default for field, (_low, _high, default) in VOLUME_FIELDS.items()},
        created_at=now, updated_at=now,
    )
    for field, value in cleaned.items():
        setattr(rule, field, value)
    _check_compiles(rule)
    session.add(rule)
    session.flush()
    record_audit(session, actor=actor, now=now, action="monitor.rule_added", target_type="monitor_rule",
                 target_id=rule.id, after=_audit_view(rule))
    return rule


def update_rule(session: Session, rule: MonitorRule, values: Mapping[str, Any], *, actor: Actor,
                now: datetime) -> MonitorRule:
    """Change a rule; it applies to posts seen from now on."""
    now = ensure_aware(now)
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} cannot be changed here", reason="not_editable")
    cleaned = clean_rule(values, new=False)
    if "name" in cleaned and fields.name_taken(session, MonitorRule, cleaned["name"], rule.id):
        raise InvalidInput("name", "another rule already has this name", reason="taken")
    before = _audit_view(rule)
    for field, value in cleaned.items():
        setattr(rule, field, value)
    _check_compiles(rule)
    after = _audit_view(rule)
    if after != before:
        rule.updated_at = now
        record_audit(session, actor=actor, now=now, action="monitor.rule_changed", target_type="monitor_rule",
                     target_id=rule.id, before=before, after=after)
    session.flush()
    return rule


def delete_rule(session: Session, rule: MonitorRule, *, actor: Actor, now: datetime) -> None:
    """Remove a rule; mentions keep the names of the rules they matched."""
    session.execute(sa.delete(MentionMatch).where(MentionMatch.rule_id == rule.id))
    record_audit(session, actor=actor, now=now, action="monitor.rule_deleted", target_type="monitor_rule",
                 target_id=rule.id, before=_audit_view(rule))
    session.delete(rule)
    session.flush()


def get_rule(session: Session, rule_id: int) -> MonitorRule:
    rule = session.get(MonitorRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    return rule


def list_rules(session: Session) -> list[MonitorRule]:
    return list(session.scalars(sa.select(MonitorRule).order_by(MonitorRule.name)))


class CompiledRules:
    """The enabled rules and their matcher, rebuilt only when a rule changed (building 1,000 takes a while)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._matcher = RuleMatcher([])
        self._rules: dict[str, dict[str, Any]] = {}
        self._pinned = False

    @contextmanager
    def for_tick(self, session_factory: Callable[[], Session]) -> Iterator[CompiledRules]:
        """Check for rule changes once, then serve every poll of this tick without asking the database."""
        with session_factory() as session:
            self.get(session)
        self._pinned = True
        try:
            yield self
        finally:
            self._pinned = False

    def get(self, session: Session) -> tuple[RuleMatcher, dict[str, dict[str, Any]]]:
        """(matcher, {rule id as text: rule settings}) for the rules enabled now."""
        if self._pinned:
            return self._matcher, self._rules
        key = tuple(session.execute(
            sa.select(sa.func.count(MonitorRule.id), sa.func.max(MonitorRule.updated_at), sa.func.max(MonitorRule.id))
            .where(MonitorRule.enabled.is_(True))).one())
        with self._lock:
            if key != self._key:
                rules = list(session.scalars(sa.select(MonitorRule).where(MonitorRule.enabled.is_(True))
                                             .order_by(MonitorRule.id)))
                self._matcher = RuleMatcher([to_matcher_rule(r) for r in rules])
                self._rules = {str(r.id): {"id": r.id, "name": r.name, "brand": r.brand} for r in rules}
                self._key = key
            return self._matcher, self._rules
