"""Models of the status page's subscribers: who hears about every publish, and the flood guard.

A subscriber is one destination: a visitor's e-mail address (double opt-in) or webhook URL,
or a team robot an admin added (WeCom, DingTalk, Feishu, webhook, e-mail). Its messages are
OutboxMessage rows with `subscriber_id` set; their DeliveryAttempt rows are its delivery log.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models import Base, enum_column
from incidents.public_models import Component


class SubscriberState(enum.StrEnum):
    """Where a subscriber stands; only ACTIVE ones hear about publishes."""

    PENDING = "pending"  # an e-mail address that has not clicked its confirmation link yet
    ACTIVE = "active"
    PAUSED = "paused"  # by an admin, or by the outbox after repeated permanent failures
    UNSUBSCRIBED = "unsubscribed"
    DELETED = "deleted"  # removed by an admin; the row stays for its delivery log


subscriber_component = sa.Table(
    "subscriber_component",
    Base.metadata,
    sa.Column("subscriber_id", sa.ForeignKey("subscriber.id"), primary_key=True),
    sa.Column("component_id", sa.ForeignKey("component.id"), primary_key=True),
)


class Subscriber(Base):
    """One destination for public updates, with its components (none chosen: all of them)."""

    __tablename__ = "subscriber"
    __table_args__ = (sa.Index("ix_subscriber_kind_address", "kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # What people see in lists: the e-mail address or the URL (without its secret query).
    address: Mapped[str] = mapped_column(sa.String(500))
    # A name an admin gave a team channel; empty for visitors.
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    # The channel settings (URL, signing secret); e-mail takes the console's SMTP at delivery.
    config: Mapped[dict[str, Any]]
    state: Mapped[SubscriberState] = enum_column(SubscriberState)
    # Why it is paused: "admin" or "failures"; empty otherwise.
    paused_reason: Mapped[str] = mapped_column(sa.String(16), default="")
    all_components: Mapped[bool] = mapped_column(default=True)
    # The language of its messages: "zh" or "en".
    language: Mapped[str] = mapped_column(sa.String(8), default="zh")
    # Secret of the confirmation and unsubscribe links (and nothing else).
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # "public" (the status page) or "admin" (the console or the API).
    origin: Mapped[str] = mapped_column(sa.String(16))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    last_delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    components: Mapped[list[Component]] = relationship(secondary=subscriber_component, order_by=Component.id)


class SubscriptionAttempt(Base):
    """One subscription asked for on the public page; recent ones drive the rate limit."""

    __tablename__ = "subscription_attempt"
    __table_args__ = (
        sa.Index("ix_subscription_attempt_ip_at", "ip", "at"),
        sa.Index("ix_subscription_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(500))
    at: Mapped[datetime]
