"""Alert webhooks into outage incidents: open, update, note recoveries; a person resolves.

`receive_alerts` takes one parsed webhook (monitors.alerthooks.AlertBatch) and, in the
caller's transaction:

* a group seen for the first time, or whose incident was closed, opens an `outage`
  incident (source `alert`) with a severity from the labels, and tells the duty manager;
* new alerts of a known group add one timeline entry listing them; the severity may rise,
  never drop;
* alerts that resolved add a timeline entry, and when none fires any more, a suggestion to
  resolve for the commander (or the duty manager): the incident is never resolved here;
* a webhook that says nothing new (Alertmanager repeats itself) changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import notify, service
from incidents.actors import Actor
from incidents.deadlines import record_event
from incidents.errors import InvalidInput
from incidents.intake_models import AlertGroup
from incidents.lifecycle import OPEN_STATUSES, Kind, Source, Status
from incidents.models import EventKind, Incident, User
from incidents.roster import duty_managers_to_tell
from incidents.settings import get_setting, put_setting
from incidents.timeutil import ensure_aware
from monitors.alerthooks import SEVERITIES, Alert, AlertBatch, components_for, severity_for

SETTING = "alert_hooks"
MAX_RULES = 200
SELECTOR_MAX = 200
LISTED_ALERTS = 50  # alerts written out on one timeline entry; the count says the rest

TEXTS = {
    "opened": {
        "zh": "【告警新建事件】{reference}「{title}」{severity}：请尽快确认并指派负责人",
        "en": "[Alert opened an incident] {reference} \"{title}\" {severity}: please acknowledge and assign",
    },
    "all_resolved": {
        "zh": "【告警已全部恢复】{reference}「{title}」：请确认服务正常后再将事件标记为已解决",
        "en": "[All alerts resolved] {reference} \"{title}\": check the service, then decide whether to resolve",
    },
    "firing_again": {
        "zh": "【告警再次触发】{reference}「{title}」已标记解决，但告警又在触发：请判断是否需要重新打开",
        "en": "[Alerts firing again] {reference} \"{title}\" is resolved but alerts fire again: decide whether to reopen",
    },
}


@dataclass(frozen=True)
class HookConfig:
    """How labels map to severity and components (an admin setting, defaults in code)."""

    default_severity: str
    severity: dict[str, str]
    components: dict[str, list[str]]

    def as_setting(self) -> dict[str, Any]:
        return {"default_severity": self.default_severity, "severity": dict(self.severity),
                "components": {key: list(names) for key, names in self.components.items()}}


@dataclass
class HookOutcome:
    """What one webhook did: opened, updated, unchanged or ignored (nothing to attach to)."""

    result: str
    incident: Incident | None = None
    group: AlertGroup | None = None
    firing: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    severity_raised: bool = False


def _selector(key: Any, field_name: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(field_name, "each rule needs a label value or a name=value selector", reason="selector")
    key = key.strip()
    if len(key) > SELECTOR_MAX:
        raise InvalidInput(field_name, f"a selector is at most {SELECTOR_MAX} characters", reason="too_long",
                           max=SELECTOR_MAX)
    return key


def validate_hook_config(value: Any) -> HookConfig:
    """Check a submitted configuration; InvalidInput names the part at fault."""
    if not isinstance(value, Mapping):
        raise InvalidInput("payload", "the configuration must be an object")
    default = value.get("default_severity", "P3")
    if default not in SEVERITIES:
        raise InvalidInput("default_severity", "the default severity must be one of P1, P2, P3, P4",
                           reason="choice", allowed="P1, P2, P3, P4")
    raw_severity = value.get("severity", {})
    raw_components = value.get("components", {})
    if not isinstance(raw_severity, Mapping):
        raise InvalidInput("severity", "severity must map selectors to P1..P4")
    if not isinstance(raw_components, Mapping):
        raise InvalidInput("components", "components must map selectors to lists of component names")
    if len(raw_severity) > MAX_RULES or len(raw_components) > MAX_RULES:
        raise InvalidInput("severity" if len(raw_severity) > MAX_RULES else "components",
                           f"at most {MAX_RULES} rules", reason="too_many", max=MAX_RULES)
    severity = {}
    for key, level in raw_severity.items():
        selector = _selector(key, "severity")
        if level not in SEVERITIES:
            raise InvalidInput("severity", f"{selector}: the severity must be one of P1, P2, P3, P4",
                               reason="bad_level", selector=selector)
        severity[selector] = level
    components: dict[str, list[str]] = {}
    for key, names in raw_components.items():
        selector = _selector(key, "components")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n.strip()) <= 100 for n in names):
            raise InvalidInput("components", f"{selector}: component names are texts of 1-100 characters",
                               reason="bad_components", selector=selector)
        if "=" in selector and not names:
            raise InvalidInput("components", f"{selector}: name the components this selector means",
                               reason="no_components", selector=selector)
        components[selector] = [n.strip() for n in names]
    return HookConfig(default_severity=default, severity=severity, components=components)


def hook_config(session: Session) -> HookConfig:
    """The configuration in force (stored by an admin, else the defaults)."""
    return validate_hook_config(get_setting(session, SETTING))


def save_hook_config(session: Session, value: Any, *, actor: Actor, now: datetime) -> HookConfig:
    """Validate and store the configuration (audited; nothing written when unchanged)."""
    config = validate_hook_config(value)
    put_setting(session, SETTING, config.as_setting(), actor=actor, now=ensure_aware(now))
    return config


def _key_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def find_group(session: Session, source: str, group_key: str, *, lock: bool = False) -> AlertGroup | None:
    """The stored group for this source and key (locked for update when asked, on PostgreSQL)."""
    statement = sa.select(AlertGroup).where(AlertGroup.source == source, AlertGroup.key_hash == _key_hash(group_key))
    if lock:
        statement = statement.with_for_update()
    return session.scalar(statement)


def _alert_name(alert: Alert, batch: AlertBatch) -> str:
    return alert.labels.get("alertname") or alert.annotations.get("summary") or batch.title


def _alert_entry(alert: Alert, batch: AlertBatch, config: HookConfig) -> dict[str, Any]:
    """An alert as a timeline entry keeps it: enough to read without the monitoring system."""
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    return {
        "fingerprint": alert.fingerprint,
        "name": _alert_name(alert, batch)[:200],
        "summary": summary[:500],
        "severity": severity_for(alert.labels, config.severity, config.default_severity),
        "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "url": alert.generator_url,
        "labels": dict(list(alert.labels.items())[:30]),
    }


def _state(alert: Alert, batch: AlertBatch) -> dict[str, Any]:
    return {"status": alert.status, "name": _alert_name(alert, batch)[:200],
            "starts_at": alert.starts_at.isoformat() if alert.starts_at else None}


def _components(batch: AlertBatch, alerts: list[Alert], config: HookConfig) -> list[str]:
    names = list(batch.components)
    for alert in alerts:
        for name in components_for(alert.labels, config.components):
            if name not in names:
                names.append(name)
    return names


def _body(entries: list[dict[str, Any]]) -> str:
    lines = [f"{e['name']}: {e['summary']}" if e["summary"] else e["name"] for e in entries[:LISTED_ALERTS]]
    if len(entries) > LISTED_ALERTS:
        lines.append(f"(+{len(entries) - LISTED_ALERTS})")
    return "\n".join(lines)[:5000]


def _texts(kind: str, incident: Incident) -> dict[str, str]:
    return {language: template.format(reference=incident.reference, title=incident.title,
                                      severity=incident.severity.value)
            for language, template in TEXTS[kind].items()}


def _responsible(session: Session, incident: Incident, now: datetime) -> list[User]:
    """The commander when there is one, else the duty manager on duty."""
    if incident.commander is not None and incident.commander.active:
        return [incident.commander]
    return duty_managers_to_tell(session, now)


def receive_alerts(
    session: Session, *, batch: AlertBatch, config: HookConfig, actor: Actor, now: datetime, zone: ZoneInfo
) -> HookOutcome:
    """Apply one webhook to its alert group and incident (see the module docstring)."""
    now = ensure_aware(now)
    group = find_group(session, batch.source, batch.group_key, lock=True)
    firing = [a for a in batch.alerts if a.status == "firing"]
    incident = group.incident if group is not None else None
    if incident is None or incident.status == Status.CLOSED:
        if not firing:
            return HookOutcome("ignored", incident=incident, group=group)
        return _open(session, batch, firing, group, config=config, actor=actor, now=now, zone=zone)

    seen = dict(group.alerts)
    new = [a for a in firing if seen.get(a.fingerprint, {}).get("status") != "firing"
           or seen[a.fingerprint].get("starts_at") != _state(a, batch)["starts_at"]]
    recovered = [a for a in batch.alerts
                 if a.status == "resolved" and seen.get(a.fingerprint, {}).get("status") == "firing"]
    if not new and not recovered:
        return HookOutcome("unchanged", incident=incident, group=group)

    outcome = HookOutcome("updated", incident=incident, group=group,
                          firing=[a.fingerprint for a in new], resolved=[a.fingerprint for a in recovered])
    for alert in [*new, *recovered]:
        seen[alert.fingerprint] = _state(alert, batch)
    still_firing = sorted(fp for fp, state in seen.items() if state["status"] == "firing")
    _remember(group, batch, seen, _components(batch, new, config), now)
    if new:
        entries = [_alert_entry(a, batch, config) for a in new]
        severity = min(e["severity"] for e in entries)
        again = incident.status == Status.RESOLVED
        record_event(
            session, incident, kind=EventKind.ALERT_FIRING, actor=actor, now=now, body=_body(entries),
            data={"source": batch.source, "group": group.id, "alerts": entries[:LISTED_ALERTS], "count": len(entries),
                  "severity": severity, "components": group.components, "suggest": "reopen" if again else None},
        )
        # Severity only ever rises by itself; lowering it is a person's call.
        if severity < incident.severity.value:
            service.edit_incident(session, incident=incident, changes={"severity": severity}, expected_version=None,
                                  actor=actor, now=now)
            outcome.severity_raised = True
        if again:
            notify.notify_users(session, _responsible(session, incident, now), kind="alert_firing_again",
                                incident=incident, texts=_texts("firing_again", incident), now=now)
    if recovered:
        entries = [_alert_entry(a, batch, config) for a in recovered]
        all_resolved = not still_firing
        suggest = "resolve" if all_resolved and incident.status in OPEN_STATUSES else None
        record_event(
            session, incident, kind=EventKind.ALERT_RESOLVED, actor=actor, now=now, body=_body(entries),
            data={"source": batch.source, "group": group.id, "alerts": entries[:LISTED_ALERTS], "count": len(entries),
                  "still_firing": len(still_firing), "all_resolved": all_resolved, "suggest": suggest},
        )
        if suggest:
            notify.notify_users(session, _responsible(session, incident, now), kind="alerts_resolved",
                                incident=incident, texts=_texts("all_resolved", incident), now=now)
    session.flush()
    return outcome


def _remember(group: AlertGroup, batch: AlertBatch, seen: dict[str, Any], components: list[str],
              now: datetime) -> None:
    group.alerts = seen
    group.last_status = "firing" if any(s["status"] == "firing" for s in seen.values()) else "resolved"
    group.last_summary = (batch.summary or "")[:2000]
    group.components = [*group.components, *(c for c in components if c not in group.components)]
    group.updated_at = now


def _open(
    session: Session, batch: AlertBatch, firing: list[Alert], group: AlertGroup | None, *, config: HookConfig,
    actor: Actor, now: datetime, zone: ZoneInfo,
) -> HookOutcome:
    """A new outage incident for the group's firing alerts; the duty manager is told."""
    entries = [_alert_entry(a, batch, config) for a in firing]
    severity = min(e["severity"] for e in entries)
    components = _components(batch, firing, config)
    summary = batch.summary.strip()
    if components:
        summary = f"{summary}\n\n[{', '.join(components)}]".strip()
    incident = service.open_incident(
        session, kind=Kind.OUTAGE.value, severity=severity, title=batch.title.strip()[: service.TITLE_MAX] or "alert",
        summary=summary[: service.SUMMARY_MAX], source=Source.ALERT, actor=actor, now=now, zone=zone,
    )
    if group is None:
        group = AlertGroup(source=batch.source, group_key=batch.group_key, key_hash=_key_hash(batch.group_key),
                           created_at=now, components=[])
        session.add(group)
    group.incident_id = incident.id
    group.incident = incident
    group.components = []
    _remember(group, batch, {a.fingerprint: _state(a, batch) for a in firing}, components, now)
    session.flush()
    record_event(
        session, incident, kind=EventKind.ALERT_FIRING, actor=actor, now=now, body=_body(entries),
        data={"source": batch.source, "group": group.id, "alerts": entries[:LISTED_ALERTS], "count": len(entries),
              "severity": severity, "components": components, "external_url": batch.external_url},
    )
    notify.tell_the_team(session, duty_managers_to_tell(session, now), kind="alert_opened", incident=incident,
                         texts=_texts("opened", incident), now=now)
    session.flush()
    return HookOutcome("opened", incident=incident, group=group, firing=[a.fingerprint for a in firing],
                       severity_raised=False)
