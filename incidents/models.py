"""SQLAlchemy 2 typed models for incidents, their timeline, people and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from incidents.lifecycle import Kind, Severity, Source, Status
from incidents.timeutil import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


def enum_column(enum_type: type[enum.Enum], **kwargs: Any) -> Any:
    """A VARCHAR-backed enum column storing the enum's values (portable, easy to migrate)."""
    return mapped_column(
        sa.Enum(
            enum_type,
            native_enum=False,
            create_constraint=False,
            length=32,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        **kwargs,
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    DUTY_MANAGER = "duty_manager"
    COMMS = "comms"
    AGENT = "agent"
    VIEWER = "viewer"


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = enum_column(Role)
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh_Hans_CN")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    # Flask-Login's protocol, written out so the domain needs no Flask import.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    role: Mapped[Role] = enum_column(Role)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class LoginAttempt(Base):
    """One login try; failures in a sliding window drive the login rate limit."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_username_at", "username", "at"),
        sa.Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    success: Mapped[bool]


class ReferenceCounter(Base):
    """The last incident number handed out per day, for INC-YYYYMMDD-NNNN references."""

    __tablename__ = "reference_counter"

    day: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    last: Mapped[int]


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_status_updated_at", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[Kind] = enum_column(Kind)
    severity: Mapped[Severity] = enum_column(Severity)
    status: Mapped[Status] = enum_column(Status)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[Source] = enum_column(Source)
    commander_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    comms_lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Bumped by every change, notes included: the board's cache validator.
    updated_at: Mapped[datetime] = mapped_column(index=True)
    # Bumped only by changes to the incident's own fields: the optimistic lock.
    version: Mapped[int] = mapped_column(default=1)

    commander: Mapped[User | None] = relationship(foreign_keys=[commander_id])
    comms_lead: Mapped[User | None] = relationship(foreign_keys=[comms_lead_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    timeline: Mapped[list[TimelineEvent]] = relationship(
        back_populates="incident", order_by="desc(TimelineEvent.id)", cascade="all"
    )

    def __repr__(self) -> str:
        return f"<Incident {self.reference} {self.status}>"


class EventKind(enum.StrEnum):
    OPENED = "opened"
    STATUS_CHANGED = "status_changed"
    FIELD_CHANGED = "field_changed"
    NOTE = "note"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"


class TimelineEvent(Base):
    """Append-only history of an incident: nothing in the application updates or deletes it."""

    __tablename__ = "timeline_event"
    __table_args__ = (sa.Index("ix_timeline_event_incident_id_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    at: Mapped[datetime]
    kind: Mapped[EventKind] = enum_column(EventKind)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline")
    actor: Mapped[User | None] = relationship()


class AuditRecord(Base):
    """Append-only audit log of changes outside an incident's timeline (people, tokens, settings)."""

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(100))
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
