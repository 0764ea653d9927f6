"""Models of the public side: components, maintenance windows and the public page's version.

Kept apart from incidents.models so the status page's tables read as one piece; they share
its Base (and so its metadata and naming convention).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models import Base, Incident, enum_column


class ComponentStatus(enum.StrEnum):
    """Statuspage's component statuses, mildest first."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


# How bad a status is, for "the worst of": maintenance is planned, so it ranks below any fault.
SEVERITY_RANK = {status: rank for rank, status in enumerate(ComponentStatus)}


class MaintenanceStatus(enum.StrEnum):
    """Statuspage's scheduled-maintenance statuses, in the order a window goes through them."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class PublicPageState(Base):
    """One row: a counter bumped in the same transaction as every public change.

    Every web process keys its page cache on it, so a publish in one process invalidates
    the cached pages of all of them.
    """

    __tablename__ = "public_page_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    changed_at: Mapped[datetime]


class ComponentGroup(Base):
    __tablename__ = "component_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    components: Mapped[list[Component]] = relationship(
        back_populates="group", order_by="(Component.position, Component.id)"
    )


class Component(Base):
    """A part of the service customers know by name (下单, 支付, 客服热线…)."""

    __tablename__ = "component"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("component_group.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    description_en: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    # What an admin set by hand, outside any incident or maintenance (usually operational).
    base_status: Mapped[ComponentStatus] = enum_column(ComponentStatus)
    # What the public sees: the worst of base_status, active public incidents and maintenance.
    status: Mapped[ComponentStatus] = enum_column(ComponentStatus)
    show_on_page: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")


class ComponentStatusChange(Base):
    """Append-only: the component's public status from `at` on; the 90-day bars read these."""

    __tablename__ = "component_status_change"
    __table_args__ = (sa.Index("ix_component_status_change_component_id_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("component.id"))
    at: Mapped[datetime]
    status: Mapped[ComponentStatus] = enum_column(ComponentStatus)


class IncidentComponent(Base):
    """A component an incident affects, with the status its latest update gave it."""

    __tablename__ = "incident_component"

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"), primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("component.id"), primary_key=True)
    status: Mapped[ComponentStatus] = enum_column(ComponentStatus)
    updated_at: Mapped[datetime]

    incident: Mapped[Incident] = relationship()
    component: Mapped[Component] = relationship()


maintenance_component = sa.Table(
    "maintenance_component",
    Base.metadata,
    sa.Column("maintenance_id", sa.ForeignKey("maintenance.id"), primary_key=True),
    sa.Column("component_id", sa.ForeignKey("component.id"), primary_key=True),
)


class Maintenance(Base):
    """A planned window: scheduled, started and completed by the worker at its times."""

    __tablename__ = "maintenance"
    __table_args__ = (sa.Index("ix_maintenance_status_scheduled_start", "status", "scheduled_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    body_en: Mapped[str] = mapped_column(sa.Text, default="")
    scheduled_start: Mapped[datetime]
    scheduled_end: Mapped[datetime]
    status: Mapped[MaintenanceStatus] = enum_column(MaintenanceStatus)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # A cancelled window leaves the public page; its row and updates stay.
    cancelled_at: Mapped[datetime | None]
    # Set when subscribers were reminded before the start (the subscriber fan-out does it).
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_label: Mapped[str] = mapped_column(sa.String(100))

    components: Mapped[list[Component]] = relationship(
        secondary=maintenance_component, order_by="(Component.position, Component.id)"
    )
    updates: Mapped[list[MaintenanceUpdate]] = relationship(
        back_populates="maintenance", order_by="desc(MaintenanceUpdate.id)", cascade="all"
    )


class MaintenanceUpdate(Base):
    """A published note on a maintenance window (the automatic start and end included)."""

    __tablename__ = "maintenance_update"
    __table_args__ = (sa.Index("ix_maintenance_update_maintenance_id_id", "maintenance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    maintenance_id: Mapped[int] = mapped_column(sa.ForeignKey("maintenance.id"))
    status: Mapped[MaintenanceStatus] = enum_column(MaintenanceStatus)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    body_en: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime]
    published_by_label: Mapped[str] = mapped_column(sa.String(100))
    automatic: Mapped[bool] = mapped_column(default=False)

    maintenance: Mapped[Maintenance] = relationship(back_populates="updates")
