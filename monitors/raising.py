"""Raising public-opinion incidents by themselves from newly stored mentions.

Per new mention (oldest first), its matches are tried in the matcher's order (critical
first, then by score); only worrying matches (a negative or critical term) count:

* the rule already has an open incident (its current flare-up) → the mention joins it;
* else a critical match (brand + critical term) on a rule with `instant` on → a new
  incident, the mention as its trigger.

Then, per rule with new negative mentions in the current window and no open incident:
volume. The window's count is compared with the previous windows (mean + k·σ, floor) and,
outside the cool-down, a spike raises one incident with the window's unattached negative
mentions. A raise records the rule's `incident_id` (so the rest of the flare-up attaches)
and `last_raised_at` (the cool-down), writes a timeline entry saying why, and tells the
duty manager on duty. Everything happens in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import notify, outreach, service
from incidents.actors import Actor
from incidents.deadlines import record_event
from incidents.lifecycle import OPEN_STATUSES, Kind, Source
from incidents.models import EventKind, Incident
from incidents.monitor_models import Mention, MentionMatch, MentionState, MonitorRule
from incidents.roster import duty_managers_to_tell
from incidents.timeutil import ensure_aware
from monitors import mentions as mention_store
from monitors.volume import in_cooldown, is_spike

SYSTEM = Actor.system("monitor")
NOTIFY_TEXTS = {
    "zh": "【舆情】{reference}「{title}」由监控自动发起，请尽快认领并在 1 小时内联系发帖人",
    "en": "[Public opinion] {reference} \"{title}\" was raised by a monitor; take it on and reach the poster within 1 hour",
}


@dataclass
class RaiseReport:
    """What raising did in one pass."""

    raised: list[str] = field(default_factory=list)  # incident references
    attached: int = 0


def window_start(at: datetime, minutes: int) -> datetime:
    """Start of the `minutes`-long window containing `at` (windows aligned on UTC midnight)."""
    at = ensure_aware(at)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = (at - midnight) // timedelta(minutes=minutes)
    return midnight + offset * timedelta(minutes=minutes)


def _open_incident(session: Session, rule: MonitorRule) -> Incident | None:
    if rule.incident_id is None:
        return None
    incident = session.get(Incident, rule.incident_id)
    return incident if incident is not None and incident.status in OPEN_STATUSES else None


class _Rules:
    def __init__(self, session: Session):
        self.session = session
        self._cache: dict[int, MonitorRule | None] = {}

    def get(self, rule_id: int) -> MonitorRule | None:
        if rule_id not in self._cache:
            rule = self.session.get(MonitorRule, rule_id)
            self._cache[rule_id] = rule if rule is not None and rule.enabled else None
        return self._cache[rule_id]


def raise_and_attach(
    session: Session, new_mentions: list[Mention], *, now: datetime, zone: ZoneInfo,
) -> RaiseReport:
    """Attach new worrying mentions to their rule's open incident, or raise one (instant, then volume)."""
    now = ensure_aware(now)
    report = RaiseReport()
    rules = _Rules(session)
    pending: dict[int, list[Mention]] = {}  # incident id -> mentions to attach
    volume_rules: set[int] = set()
    claimed: set[int] = set()  # mentions already given to an incident in this pass
    for mention in new_mentions:
        for match in mention.matches:
            if not (match["negative_terms"] or match["critical_terms"]):
                continue
            rule = rules.get(match["rule_id"])
            if rule is None:
                continue
            if match["negative_terms"] and rule.volume_enabled:
                volume_rules.add(rule.id)
            if mention.incident_id is not None or mention.id in claimed:
                continue
            incident = _open_incident(session, rule)
            if incident is not None:
                pending.setdefault(incident.id, []).append(mention)
                claimed.add(mention.id)
            elif match["critical"] and rule.instant:
                _raise(session, rule, [mention], reason=_critical_reason(rule, match), data={
                    "trigger": "critical", "terms": match["critical_terms"]}, now=now, zone=zone, report=report)
    for incident_id, joined in pending.items():
        incident = session.get(Incident, incident_id)
        rule_names = {m["rule"] for mention in joined for m in mention.matches}
        mention_store.attach_mentions(session, joined, incident, actor=SYSTEM, now=now,
                                      rule="、".join(sorted(map(str, rule_names))))
        report.attached += len(joined)
    for rule_id in sorted(volume_rules):
        rule = rules.get(rule_id)
        if rule is not None and _open_incident(session, rule) is None:
            _check_volume(session, rule, now=now, zone=zone, report=report)
    return report


def _critical_reason(rule: MonitorRule, match: dict[str, Any]) -> str:
    return f"规则「{rule.name}」：品牌与高危词同时出现（{'、'.join(match['critical_terms'])}）"


def _check_volume(session: Session, rule: MonitorRule, *, now: datetime, zone: ZoneInfo,
                  report: RaiseReport) -> None:
    """Raise when the current window's negative mentions spike above the rule's baseline."""
    if in_cooldown(last_raised_at=rule.last_raised_at, now=now,
                   cooldown=timedelta(minutes=rule.volume_cooldown_minutes)):
        return
    width = timedelta(minutes=rule.volume_window_minutes)
    current = window_start(now, rule.volume_window_minutes)
    start = current - width * rule.volume_history_windows
    times = session.scalars(
        sa.select(MentionMatch.at).where(MentionMatch.rule_id == rule.id, MentionMatch.negative.is_(True),
                                         MentionMatch.at >= start, MentionMatch.at < current + width))
    counts: dict[datetime, int] = {}
    for at in times:
        key = window_start(at, rule.volume_window_minutes)
        counts[key] = counts.get(key, 0) + 1
    history = [counts.get(current - width * i, 0) for i in range(rule.volume_history_windows, 0, -1)]
    decision = is_spike(current=counts.get(current, 0), history=history, k=rule.volume_k, floor=rule.volume_floor)
    if not decision.is_spike:
        return
    flare = list(session.scalars(
        sa.select(Mention).join(MentionMatch, MentionMatch.mention_id == Mention.id)
        .where(MentionMatch.rule_id == rule.id, MentionMatch.negative.is_(True), MentionMatch.at >= current,
               Mention.incident_id.is_(None), Mention.state == MentionState.NEW)
        .order_by(Mention.score.desc(), Mention.id)))
    if not flare:
        return
    reason = (f"规则「{rule.name}」：本时段 {decision.current} 条负面提及，超过基线阈值 {decision.threshold:.1f}"
              f"（均值 {decision.mean:.1f} + {rule.volume_k:g}σ，下限 {rule.volume_floor}）")
    _raise(session, rule, flare, reason=reason, now=now, zone=zone, report=report, data={
        "trigger": "volume", "current": decision.current, "mean": round(decision.mean, 2),
        "stddev": round(decision.stddev, 2), "threshold": round(decision.threshold, 2), "floor": rule.volume_floor,
        "window_minutes": rule.volume_window_minutes, "explanation": decision.reason})


def _raise(session: Session, rule: MonitorRule, trigger: list[Mention], *, reason: str, data: dict[str, Any],
           now: datetime, zone: ZoneInfo, report: RaiseReport) -> Incident:
    first = trigger[0]
    title = mention_store.default_title(first, rule.brand)
    if data["trigger"] == "volume":
        title = f"{rule.brand}负面声量激增：{data['current']} 条 / {rule.volume_window_minutes} 分钟"
    incident = service.open_incident(
        session, kind=Kind.PUBLIC_OPINION.value, severity=rule.severity.value, title=title,
        summary=mention_store.default_summary(first), source=Source.MONITOR, actor=SYSTEM, now=now, zone=zone,
    )
    record_event(session, incident, kind=EventKind.MONITOR_RAISED, actor=SYSTEM, now=now, body=reason,
                 data={**data, "rule": rule.name, "rule_id": rule.id})
    mention_store.attach_mentions(session, [first], incident, actor=SYSTEM, now=now, state=MentionState.RAISED,
                                  rule=rule.name)
    if len(trigger) > 1:
        mention_store.attach_mentions(session, trigger[1:], incident, actor=SYSTEM, now=now, rule=rule.name)
    outreach.add_poster_contact(session, incident=incident, mention=first, actor=SYSTEM, now=now)
    rule.incident_id = incident.id
    rule.last_raised_at = now
    people = duty_managers_to_tell(session, now)
    texts = {lang: text.format(reference=incident.reference, title=incident.title)
             for lang, text in NOTIFY_TEXTS.items()}
    notify.tell_the_team(session, people, kind="monitor_raised", incident=incident, texts=texts, now=now)
    session.flush()
    report.raised.append(incident.reference)
    return incident
