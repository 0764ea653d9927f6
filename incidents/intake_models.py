"""Rows that tie inbound signals to incidents: alert groups and complaint reports.

They live beside the incident models (one metadata, one schema for Alembic); the logic that
fills them is in monitors/ (alert_intake, complaints).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.lifecycle import Severity
from incidents.models import Base, Incident, enum_column


class AlertGroup(Base):
    """One group of alerts from a monitoring system (its `groupKey`) and the incident it feeds.

    `alerts` maps each fingerprint seen since the current incident opened to what we last
    heard of it ({"status", "name", "starts_at"}); comparing a webhook against it is what
    makes a repeated webhook change nothing.
    """

    __tablename__ = "alert_group"
    __table_args__ = (sa.UniqueConstraint("source", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    group_key: Mapped[str] = mapped_column(sa.Text)
    # Group keys can be long; the unique index is on their SHA-256.
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"), index=True)
    last_status: Mapped[str] = mapped_column(sa.String(16))
    last_summary: Mapped[str] = mapped_column(sa.Text, default="")
    alerts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    components: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    incident: Mapped[Incident | None] = relationship()


class ComplaintReport(Base):
    """One customer complaint as the service desk logged it, counted by the surge rules."""

    __tablename__ = "complaint_report"
    __table_args__ = (sa.Index("ix_complaint_report_product_category_local_day", "product", "category", "local_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text)
    order_no: Mapped[str] = mapped_column(sa.String(64), default="")
    received_at: Mapped[datetime] = mapped_column(index=True)
    # The team's calendar day of `received_at`: surge thresholds count per local day.
    local_day: Mapped[date] = mapped_column(sa.Date)
    reported_by: Mapped[str] = mapped_column(sa.String(100))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"), index=True)

    incident: Mapped[Incident | None] = relationship()


class ComplaintSurgeRule(Base):
    """Raise a complaint incident when one product gets `threshold` complaints of a category in a day.

    An empty `product` means any product (each product counted on its own); a rule naming
    the product wins over an any-product rule for the same category.
    """

    __tablename__ = "complaint_surge_rule"
    __table_args__ = (sa.UniqueConstraint("product", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(sa.String(100), default="")
    category: Mapped[str] = mapped_column(sa.String(32))
    threshold: Mapped[int] = mapped_column(default=10)
    severity: Mapped[Severity] = enum_column(Severity)
    enabled: Mapped[bool] = mapped_column(default=True)
    # After raising, further complaints attach to that incident for at least this long.
    cooldown_minutes: Mapped[int] = mapped_column(default=1440)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
