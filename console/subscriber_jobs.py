"""The subscribers' scheduled work, for the worker: deliver their messages, remind of maintenance.

The integrator calls `register(scheduler, app_config, session_factory)` from the worker's
wiring. Subscribers' messages are delivered in rounds of their own (the team channels' job
leaves them alone) because they need the console's SMTP settings and public address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from console import config as console_config
from incidents import channels, outbox, subscribers
from incidents.subscriber_fanout import remind_upcoming
from console.clock import utcnow

log = logging.getLogger(__name__)

DELIVERY_JOB_ID = "subscribers.deliver"
REMINDER_JOB_ID = "subscribers.remind_maintenance"
REMINDER_SECONDS = 30
EXPIRY_JOB_ID = "subscribers.expire_unconfirmed"
EXPIRY_SECONDS = 3600
SessionFactory = Callable[[], Session]


def mail_settings(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The SMTP settings for subscribers' mail (CRISIS_SMTP_*), or None when none are set."""
    if not config.get("SMTP_HOST") or not config.get("SMTP_FROM"):
        return None
    port = str(config.get("SMTP_PORT") or "").strip()
    return {
        "host": config["SMTP_HOST"], "port": int(port) if port.isdigit() else None,
        "security": config.get("SMTP_SECURITY") or "starttls", "username": config.get("SMTP_USERNAME") or None,
        "password": config.get("SMTP_PASSWORD") or None, "from_addr": config["SMTP_FROM"],
    }


def deliver_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of outbox.deliver_due for subscribers, from the app's config."""
    return {
        "allowed_networks": console_config.allowed_networks(config),
        "timeout": float(config.get("OUTBOX_TIMEOUT_SECONDS", channels.DEFAULT_TIMEOUT)),
        "subscribers": True,
        "mail": mail_settings(config),
        "public_url": config.get("PUBLIC_URL", ""),
        "pause_after": int(config.get("SUBSCRIBER_PAUSE_AFTER", outbox.PAUSE_AFTER)),
        "zone": ZoneInfo(config.get("TIMEZONE") or "UTC"),
    }


def deliver_subscribers(session_factory: SessionFactory, settings: dict[str, Any],
                        now: datetime | None = None) -> outbox.DeliveryReport:
    """One tick: deliver the subscribers' due messages, batch after batch while they come back full."""
    now = now or utcnow()
    total = outbox.DeliveryReport()
    while True:
        report = outbox.deliver_due(session_factory, now=now, **settings)
        total.add(report)
        if report.claimed < outbox.BATCH or report.deferred:
            break
    if total.claimed:
        log.info("subscribers: %d delivered, %d to retry, %d failed", total.delivered, total.retrying, total.failed)
    return total


def remind_maintenance(session_factory: SessionFactory, now: datetime | None = None) -> int:
    """One tick: queue reminders of maintenance windows that start soon; returns the messages queued."""
    with session_factory() as session:
        made = remind_upcoming(session, now=now or utcnow())
        session.commit()
    return len(made)


def expire_unconfirmed(session_factory: SessionFactory, now: datetime | None = None) -> int:
    """One tick: forget the subscriptions whose confirmation link ran out; returns how many."""
    with session_factory() as session:
        count = subscribers.expire_unconfirmed(session, now=now or utcnow())
        session.commit()
    if count:
        log.info("subscribers: %d unconfirmed subscriptions expired", count)
    return count


def register(scheduler: Any, app_config: Mapping[str, Any], session_factory: SessionFactory) -> None:
    """Add the subscribers' delivery (every OUTBOX_TICK_SECONDS) and the maintenance reminders."""
    tick = float(app_config.get("OUTBOX_TICK_SECONDS", 2.0))
    scheduler.add_job(
        deliver_subscribers, "interval", seconds=tick, id=DELIVERY_JOB_ID, name="subscriber delivery",
        kwargs={"session_factory": session_factory, "settings": deliver_settings(app_config)},
        replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=max(1, int(tick * 5)),
    )
    scheduler.add_job(
        remind_maintenance, "interval", seconds=REMINDER_SECONDS, id=REMINDER_JOB_ID,
        name="maintenance reminders", kwargs={"session_factory": session_factory},
        replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=REMINDER_SECONDS,
    )
    scheduler.add_job(
        expire_unconfirmed, "interval", seconds=EXPIRY_SECONDS, id=EXPIRY_JOB_ID,
        name="expire unconfirmed subscriptions", kwargs={"session_factory": session_factory},
        replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=EXPIRY_SECONDS,
    )
