"""What subscribers are told, queued as outbox rows in the publishing transaction.

`fan_out_update` and `fan_out_maintenance` run inside `publicity.announced`, so a message
leaves only for what was stored, and the publish never waits for a delivery. Each message's
idempotency key names its cause and its subscriber (`update:12:subscriber:7`), so one cause
can never queue twice for one subscriber.

Links are stored relative, behind PUBLIC_URL_MARK, and times as marks too; the outbox puts in
the console's public address and the team's zone when it delivers (the publishing code knows
neither).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.channels import Message
from incidents.lifecycle import Status
from incidents.models import Incident, OutboxMessage, OutboxState, StatusUpdate
from incidents.public_models import (
    Component,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from incidents.subscriber_models import Subscriber, SubscriberState, subscriber_component
from incidents.timeutil import ensure_aware

PUBLIC_URL_MARK = "{public_url}"
_TIME_MARK = re.compile(r"\{time:([^{}]+)\}")
# Subscribers hear of a maintenance window this long before it starts.
REMINDER_LEAD = timedelta(hours=1)
CONFIRM_EVENT = "subscription.confirm"

STATUS_TEXT = {
    "zh": {Status.INVESTIGATING: "排查中", Status.IDENTIFIED: "已确认原因", Status.MONITORING: "观察中",
           Status.RESOLVED: "已恢复"},
    "en": {Status.INVESTIGATING: "Investigating", Status.IDENTIFIED: "Identified", Status.MONITORING: "Monitoring",
           Status.RESOLVED: "Resolved"},
}
MAINTENANCE_TEXT = {
    "zh": {MaintenanceStatus.SCHEDULED: "计划维护", MaintenanceStatus.IN_PROGRESS: "维护进行中",
           MaintenanceStatus.VERIFYING: "维护验证中", MaintenanceStatus.COMPLETED: "维护已完成", "reminder": "维护即将开始"},
    "en": {MaintenanceStatus.SCHEDULED: "Scheduled maintenance", MaintenanceStatus.IN_PROGRESS: "Maintenance in progress",
           MaintenanceStatus.VERIFYING: "Maintenance verifying", MaintenanceStatus.COMPLETED: "Maintenance completed",
           "reminder": "Maintenance starts soon"},
}
TEXTS = {
    "zh": {
        "components": "影响范围：{names}",
        "window": "维护时间：{start} 至 {end}",
        "confirm_subject": "请确认订阅服务状态通知",
        "confirm_text": "您（或有人使用此邮箱）在服务状态页订阅了故障与维护通知。\n\n请打开下方链接确认订阅。"
                        "如果这不是您本人的操作，请忽略本邮件，您不会收到任何通知。",
        "exists_subject": "您已订阅服务状态通知",
        "exists_text": "有人在服务状态页用此邮箱再次申请订阅。您已在接收通知，无需任何操作；"
                       "如需退订，请使用下方的退订链接。",
    },
    "en": {
        "components": "Affected: {names}",
        "window": "Window: {start} to {end}",
        "confirm_subject": "Please confirm your status notifications",
        "confirm_text": "You (or someone using this address) subscribed to incident and maintenance notices on "
                        "the status page.\n\nOpen the link below to confirm. If this was not you, ignore this "
                        "mail: you will receive nothing.",
        "exists_subject": "You are already subscribed",
        "exists_text": "Someone asked on the status page to subscribe this address again. You already receive "
                       "notices; nothing to do. To stop them, use the unsubscribe link below.",
    },
}


def link(path: str) -> str:
    """A public link stored relative; the outbox makes it absolute when it delivers."""
    return PUBLIC_URL_MARK + path


def time_mark(moment: datetime) -> str:
    """A time stored as a mark; the outbox writes it in the team's zone when it delivers."""
    return "{time:" + ensure_aware(moment).isoformat() + "}"


def _local(found: re.Match[str], zone: ZoneInfo) -> str:
    local = datetime.fromisoformat(found.group(1)).astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def absolutize(value: Any, public_url: str, zone: ZoneInfo | None = None) -> Any:
    """Every stored link made absolute with the console's public address, every time mark
    written in `zone` (UTC when none), recursively."""
    if isinstance(value, str):
        if PUBLIC_URL_MARK in value:
            value = value.replace(PUBLIC_URL_MARK, public_url.rstrip("/"))
        if "{time:" in value:
            value = _TIME_MARK.sub(lambda found: _local(found, zone or ZoneInfo("UTC")), value)
        return value
    if isinstance(value, dict):
        return {key: absolutize(item, public_url, zone) for key, item in value.items()}
    if isinstance(value, list):
        return [absolutize(item, public_url, zone) for item in value]
    return value


def unsubscribe_link(subscriber: Subscriber) -> str:
    return link(f"/status/unsubscribe/{subscriber.token}")


def _pick(zh: str, en: str | None, language: str) -> str:
    return en if language == "en" and en else zh


def queue_message(
    session: Session, subscriber: Subscriber, *, key: str, event: str, subject: str, text: str, url: str | None,
    now: datetime, payload: dict[str, Any] | None = None, incident_id: int | None = None,
) -> OutboxMessage:
    """One outbox row to one subscriber, with its unsubscribe link (every message has one)."""
    unsubscribe = unsubscribe_link(subscriber)
    message = Message(
        idempotency_key=key, subject=subject, text=text, event=event, url=url, unsubscribe_url=unsubscribe,
        language=subscriber.language, payload={"meta": {"unsubscribe": unsubscribe}, **(payload or {})},
    )
    row = OutboxMessage(
        idempotency_key=key, subscriber_id=subscriber.id, incident_id=incident_id, event=event,
        message=asdict(message), state=OutboxState.PENDING, attempts=0, next_attempt_at=now, created_at=now,
    )
    session.add(row)
    return row


def queue_confirmation(session: Session, subscriber: Subscriber, *, key: str, now: datetime) -> OutboxMessage:
    """The double opt-in mail: its link confirms the subscription."""
    texts = TEXTS[subscriber.language]
    return queue_message(session, subscriber, key=key, event=CONFIRM_EVENT, subject=texts["confirm_subject"],
                         text=texts["confirm_text"], url=link(f"/status/subscribe/confirm/{subscriber.token}"),
                         now=now)


def queue_notice(session: Session, subscriber: Subscriber, *, key: str, now: datetime) -> OutboxMessage:
    """Told to an address already subscribed when someone subscribes it again."""
    texts = TEXTS[subscriber.language]
    return queue_message(session, subscriber, key=key, event="subscription.exists",
                         subject=texts["exists_subject"], text=texts["exists_text"], url=link("/status"), now=now)


def audience(session: Session, component_ids: Iterable[int]) -> list[Subscriber]:
    """Active subscribers of everything, and those of any of these components."""
    ids = set(component_ids)
    chosen = sa.exists().where(subscriber_component.c.subscriber_id == Subscriber.id,
                               subscriber_component.c.component_id.in_(ids)) if ids else sa.false()
    return list(session.scalars(
        sa.select(Subscriber)
        .where(Subscriber.state == SubscriberState.ACTIVE, sa.or_(Subscriber.all_components.is_(True), chosen))
        .order_by(Subscriber.id)
    ))


def _names(components: list[Component], language: str) -> str:
    return "、".join(_pick(c.name, c.name_en, language) for c in components) if language == "zh" else \
        ", ".join(_pick(c.name, c.name_en, language) for c in components)


def fan_out_update(session: Session, update: StatusUpdate, *, now: datetime) -> list[OutboxMessage]:
    """A published incident update, to every subscriber of what the incident affects."""
    incident: Incident = update.incident or session.get(Incident, update.incident_id)
    if incident.internal_only or not (incident.public_title or "").strip():
        return []
    component_ids = set(session.scalars(
        sa.select(IncidentComponent.component_id).where(IncidentComponent.incident_id == incident.id)))
    component_ids |= {item["id"] for item in update.components or []}
    components = list(session.scalars(
        sa.select(Component).where(Component.id.in_(component_ids), Component.show_on_page).order_by(Component.id)))
    subscribers = audience(session, [c.id for c in components])
    if not subscribers:
        return []
    shortlink = link(f"/status/incidents/{incident.reference}")
    payload = {"incident": {
        "id": incident.reference, "name": incident.public_title, "name_en": incident.public_title_en or "",
        "status": update.public_status.value, "shortlink": shortlink,
        "updated_at": ensure_aware(update.published_at).isoformat(),
        "components": [{"id": c.id, "name": c.name, "status": c.status.value} for c in components],
        "incident_updates": [{
            "id": update.id, "status": update.public_status.value, "body": update.body, "body_en": update.body_en,
            "created_at": ensure_aware(update.published_at).isoformat(),
            "display_at": ensure_aware(update.published_at).isoformat(),
        }],
    }}
    made = []
    for subscriber in subscribers:
        language = subscriber.language
        title = _pick(incident.public_title or "", incident.public_title_en, language)
        text = _pick(update.body, update.body_en, language)
        if components:
            text += "\n\n" + TEXTS[language]["components"].format(names=_names(components, language))
        made.append(queue_message(
            session, subscriber, key=f"update:{update.id}:subscriber:{subscriber.id}", event="incident.update",
            subject=f"【{STATUS_TEXT[language][update.public_status]}】{title}", text=text, url=shortlink,
            now=now, payload=payload, incident_id=incident.id,
        ))
    return made


def _maintenance_messages(
    session: Session, maintenance: Maintenance, *, key: str, label: Any, body: str, body_en: str, status: str,
    now: datetime,
) -> list[OutboxMessage]:
    subscribers = audience(session, [c.id for c in maintenance.components])
    start, end = ensure_aware(maintenance.scheduled_start), ensure_aware(maintenance.scheduled_end)
    payload = {"scheduled_maintenance": {
        "id": maintenance.id, "name": maintenance.title, "name_en": maintenance.title_en, "status": status,
        "scheduled_for": start.isoformat(), "scheduled_until": end.isoformat(),
        "shortlink": link("/status"),
        "components": [{"id": c.id, "name": c.name} for c in maintenance.components],
        "body": body, "body_en": body_en,
    }}
    made = []
    for subscriber in subscribers:
        language = subscriber.language
        window = TEXTS[language]["window"].format(start=time_mark(start), end=time_mark(end))
        parts = [_pick(body, body_en, language), window]
        if maintenance.components:
            parts.append(TEXTS[language]["components"].format(names=_names(list(maintenance.components), language)))
        made.append(queue_message(
            session, subscriber, key=f"{key}:subscriber:{subscriber.id}", event="maintenance.update",
            subject=f"【{MAINTENANCE_TEXT[language][label]}】{_pick(maintenance.title, maintenance.title_en, language)}",
            text="\n\n".join(p for p in parts if p), url=link("/status"), now=now, payload=payload,
        ))
    return made


def fan_out_maintenance(session: Session, update: MaintenanceUpdate, *, now: datetime) -> list[OutboxMessage]:
    """A maintenance window announced, started, moved on or completed, to its subscribers."""
    maintenance = update.maintenance or session.get(Maintenance, update.maintenance_id)
    return _maintenance_messages(
        session, maintenance, key=f"maintenance-update:{update.id}", label=update.status, body=update.body,
        body_en=update.body_en, status=update.status.value, now=now,
    )


def remind_upcoming(session: Session, *, now: datetime, lead: timedelta = REMINDER_LEAD) -> list[OutboxMessage]:
    """Remind subscribers of windows starting within `lead` (the worker's job), once per window.

    Each window is claimed by a conditional UPDATE of `reminded_at`, so two workers never
    remind twice; the caller commits.
    """
    now = ensure_aware(now)
    due = session.scalars(
        sa.select(Maintenance).where(
            Maintenance.status == MaintenanceStatus.SCHEDULED, Maintenance.cancelled_at.is_(None),
            Maintenance.reminded_at.is_(None), Maintenance.scheduled_start > now,
            Maintenance.scheduled_start <= now + lead,
        ).order_by(Maintenance.scheduled_start, Maintenance.id)
    ).all()
    made = []
    for maintenance in due:
        claimed = session.execute(
            sa.update(Maintenance)
            .where(Maintenance.id == maintenance.id, Maintenance.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue
        made += _maintenance_messages(
            session, maintenance, key=f"maintenance-reminder:{maintenance.id}", label="reminder",
            body=maintenance.body, body_en=maintenance.body_en, status=MaintenanceStatus.SCHEDULED.value, now=now,
        )
    session.flush()
    return made
