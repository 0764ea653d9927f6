"""Telling people: bell notifications and outbox messages to team channels.

Both are written in the caller's transaction, next to the change that caused them. The
bell (the console's own notification centre) is a row per person; team channels get an
OutboxMessage each, delivered later by the worker with retries (incidents.outbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.channels import Message
from incidents.models import Deadline, Incident, Notification, OutboxMessage, OutboxState, Role, TeamChannel, User

# What the messages say, per language; {rule} is the rule's name in that language.
TEXTS = {
    "reminder": {
        "zh": "【即将到期】{reference}「{title}」：{rule}将于 {due} 到期",
        "en": "[Due soon] {reference} \"{title}\": {rule} is due at {due}",
    },
    "overdue": {
        "zh": "【已超时】{reference}「{title}」：{rule}已于 {due} 到期，尚未完成",
        "en": "[Overdue] {reference} \"{title}\": {rule} was due at {due} and is not done",
    },
    "escalation": {
        "zh": "【升级第 {step} 级】{reference}「{title}」：{rule}已超时 {late} 分钟，请介入",
        "en": "[Escalation {step}] {reference} \"{title}\": {rule} is {late} min overdue, please step in",
    },
}
SUBJECTS = {"reminder": "deadline.reminder", "overdue": "deadline.overdue", "escalation": "deadline.escalation"}
# Said after a step of a deadline an automatic holding statement spoke for: the debt is still a person's.
HELD = {
    "zh": "（已发自动缓冲声明，仍需有人发布更新）",
    "en": " (an automatic statement is holding the public; a person still owes the update)",
}


def language_of(locale: str) -> str:
    return "zh" if locale.startswith("zh") else "en"


def deadline_text(kind: str, language: str, *, incident: Incident, deadline: Deadline, now: datetime,
                  zone: ZoneInfo, step: int = 0, held: bool = False) -> str:
    """One line saying what happened to the deadline, in the given language."""
    rule_name = deadline.rule.get(language) or deadline.rule_key
    late = max(0, int((now - deadline.due_at).total_seconds() // 60))
    text = TEXTS[kind][language].format(
        reference=incident.reference,
        title=incident.title,
        rule=rule_name,
        due=deadline.due_at.astimezone(zone).strftime("%m-%d %H:%M"),
        late=late,
        step=step,
    )
    return text + HELD[language] if held else text


def notify_people(
    session: Session,
    users: Iterable[User],
    *,
    kind: str,
    incident: Incident,
    deadline: Deadline,
    now: datetime,
    zone: ZoneInfo,
    step: int = 0,
    held: bool = False,
) -> list[Notification]:
    """One bell entry per person about a deadline (each in their own language); duplicates are dropped."""
    texts = {language: deadline_text(kind, language, incident=incident, deadline=deadline, now=now, zone=zone,
                                     step=step, held=held)
             for language in ("zh", "en")}
    return notify_users(session, users, kind=kind, incident=incident, texts=texts, now=now, deadline=deadline)


def notify_users(
    session: Session,
    users: Iterable[User],
    *,
    kind: str,
    incident: Incident,
    texts: Mapping[str, str],
    now: datetime,
    deadline: Deadline | None = None,
    bodies: Mapping[str, str] | None = None,
) -> list[Notification]:
    """One bell entry per active person about an incident, each once, in their language
    (`texts`, and the optional `bodies` under them: {"zh", "en"}; Chinese when their language is missing)."""
    made = []
    for user in distinct_active(users):
        language = language_of(user.locale)
        text = texts.get(language) or texts["zh"]
        body = (bodies.get(language) or bodies["zh"]) if bodies else ""
        notification = Notification(
            user_id=user.id, incident_id=incident.id, deadline_id=deadline.id if deadline else None, kind=kind,
            title=text[:300], body=body, created_at=now,
        )
        session.add(notification)
        made.append(notification)
    return made


def queue_for_channels(
    session: Session,
    channels: Iterable[TeamChannel],
    *,
    kind: str,
    key: str,
    incident: Incident,
    deadline: Deadline,
    now: datetime,
    zone: ZoneInfo,
    public_url: str = "",
    step: int = 0,
    held: bool = False,
) -> list[OutboxMessage]:
    """An outbox message per team channel that takes this kind of message.

    `key` identifies the cause (e.g. "deadline:12:stage:3"); with the channel it forms the
    idempotency key, so the same cause can never queue twice for one channel.
    """
    return queue_channel_messages(
        session, channels, wants="reminders" if kind == "reminder" else "escalations", key=key, incident=incident,
        text=deadline_text(kind, "zh", incident=incident, deadline=deadline, now=now, zone=zone, step=step,
                           held=held),
        event=SUBJECTS[kind], now=now, public_url=public_url,
        payload={"incident": incident.reference, "deadline": deadline.rule_key,
                 "due_at": deadline.due_at.isoformat(), "stage": deadline.stage},
    )


def queue_channel_messages(
    session: Session,
    channels: Iterable[TeamChannel],
    *,
    wants: str,
    key: str,
    incident: Incident,
    text: str,
    event: str,
    payload: dict[str, object],
    now: datetime,
    public_url: str = "",
) -> list[OutboxMessage]:
    """An outbox message per enabled team channel that takes `wants` ("reminders" or "escalations").

    With the channel, `key` forms the idempotency key, so one cause never queues twice for a channel.
    """
    made = []
    for channel in channels:
        if not (channel.enabled and getattr(channel, wants)):
            continue
        idempotency_key = f"{key}:channel:{channel.id}"
        message = Message(
            idempotency_key=idempotency_key,
            subject=text,
            text=text,
            event=event,
            url=f"{public_url.rstrip('/')}/incidents/{incident.reference}" if public_url else None,
            severity=incident.severity.value,
            payload=payload,
        )
        outbox = OutboxMessage(
            idempotency_key=idempotency_key,
            channel_id=channel.id,
            incident_id=incident.id,
            event=event,
            message=asdict(message),
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(outbox)
        made.append(outbox)
    return made


def tell_the_team(
    session: Session, users: Iterable[User], *, kind: str, incident: Incident, texts: Mapping[str, str],
    now: datetime,
) -> list[Notification]:
    """A new incident the console raised by itself: a bell entry for each person, and a message to
    every team channel that takes escalations (once per incident and kind)."""
    queue_channel_messages(session, active_channels(session), wants="escalations",
                           key=f"incident:{incident.id}:{kind}", incident=incident, text=texts["zh"],
                           event=f"incident.{kind}", payload={"incident": incident.reference}, now=now)
    return notify_users(session, users, kind=kind, incident=incident, texts=texts, now=now)


def active_channels(session: Session) -> list[TeamChannel]:
    return list(session.scalars(sa.select(TeamChannel).where(TeamChannel.enabled.is_(True)).order_by(TeamChannel.id)))


def active_admins(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)))


def active_duty_managers(session: Session) -> list[User]:
    return list(
        session.scalars(sa.select(User).where(User.role == Role.DUTY_MANAGER, User.active.is_(True)).order_by(User.id))
    )


def distinct_active(users: Iterable[User]) -> list[User]:
    """The active people among `users`, each once, in order."""
    seen: set[int] = set()
    people = []
    for user in users:
        if user.id not in seen and user.active:
            seen.add(user.id)
            people.append(user)
    return people
