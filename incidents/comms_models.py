"""Models of the comms desk: the script library's versions, sign-off drafts, holding claims, talking points.

Kept apart from incidents.models so the comms tables read as one piece; they share its Base.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.lifecycle import Kind, Status
from incidents.models import Base, Deadline, Incident, StatusUpdate, User, enum_column


class ScriptVersion(Base):
    """One saved version of a script (kind + purpose); never edited, the newest is in force.

    Without any row for a script the shipped default (incidents/defaults/scripts.toml) is.
    """

    __tablename__ = "script_version"
    __table_args__ = (sa.UniqueConstraint("kind", "purpose", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = enum_column(Kind)
    purpose: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[int]
    zh: Mapped[str] = mapped_column(sa.Text)
    en: Mapped[str] = mapped_column(sa.Text, default="")
    # The public status the composer suggests with this script (None: keep the incident's).
    public_status: Mapped[Status | None] = enum_column(Status, nullable=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_by_label: Mapped[str] = mapped_column(sa.String(100))


class DraftState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The incident was closed while the draft waited: it can no longer go out.
    WITHDRAWN = "withdrawn"


class UpdateDraft(Base):
    """An update waiting for a duty manager's sign-off: never public until approved.

    The text is final (variables already filled), so what is approved is what goes out, except
    {next_update_at}: kept as written and filled when the draft is approved (incidents.comms).
    `deadline` is the sign-off's own short deadline on the clock.
    """

    __tablename__ = "update_draft"
    __table_args__ = (sa.Index("ix_update_draft_incident_id_state", "incident_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    state: Mapped[DraftState] = enum_column(DraftState)
    body: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text, default="")
    public_status: Mapped[Status] = enum_column(Status)
    # {component id (as text): status}, as publish_update takes it.
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)
    script: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    requested_by_label: Mapped[str] = mapped_column(sa.String(100))
    decided_at: Mapped[datetime | None]
    decided_by_label: Mapped[str] = mapped_column(sa.String(100), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    deadline_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deadline.id"))
    update_id: Mapped[int | None] = mapped_column(sa.ForeignKey("status_update.id"))

    incident: Mapped[Incident] = relationship()
    deadline: Mapped[Deadline | None] = relationship()
    update: Mapped[StatusUpdate | None] = relationship()


class HoldingClaim(Base):
    """The worker's claim to publish the holding statement for one overdue update deadline.

    Inserted with ON CONFLICT DO NOTHING: the row that gets in owns the deadline, so two
    workers (or a worker restarted after a crash) publish it at most once.
    """

    __tablename__ = "holding_claim"

    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("deadline.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    claimed_at: Mapped[datetime]
    update_id: Mapped[int | None] = mapped_column(sa.ForeignKey("status_update.id"))


class TalkingPoints(Base):
    """One version of an incident's talking points (口径): the wording agents use with customers."""

    __tablename__ = "talking_points"
    __table_args__ = (sa.UniqueConstraint("incident_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_by_label: Mapped[str] = mapped_column(sa.String(100))

    incident: Mapped[Incident] = relationship()


class TalkingPointsConfirmation(Base):
    """A person confirmed they read one version of the talking points."""

    __tablename__ = "talking_points_confirmation"
    __table_args__ = (sa.UniqueConstraint("talking_points_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_points_id: Mapped[int] = mapped_column(sa.ForeignKey("talking_points.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime]

    user: Mapped[User] = relationship()
