"""Models of the aftermath: the six-step case of a complaint, the review (复盘) and its action items."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models import Base, Deadline, Incident, User, enum_column


class CaseStep(Base):
    """One saved version of one step of an incident's six-step case (never edited: a new version is added)."""

    __tablename__ = "case_step"
    __table_args__ = (sa.UniqueConstraint("incident_id", "step", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int]
    fields: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_by_label: Mapped[str] = mapped_column(sa.String(100))

    incident: Mapped[Incident] = relationship()


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    COMPLETED = "completed"
    WAIVED = "waived"


class Review(Base):
    """The review (复盘) of one incident: what happened, why, and what changes; needed to close it."""

    __tablename__ = "incident_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"), unique=True)
    state: Mapped[ReviewState] = enum_column(ReviewState)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    root_cause: Mapped[str] = mapped_column(sa.Text, default="")
    contributing_factors: Mapped[str] = mapped_column(sa.Text, default="")
    responsibility: Mapped[str] = mapped_column(sa.Text, default="")
    went_well: Mapped[str] = mapped_column(sa.Text, default="")
    went_badly: Mapped[str] = mapped_column(sa.Text, default="")
    # Public updates and mentions the review points at: [{"kind": "update"|"mention", "id": n}].
    links: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # The system's figures as they stood when the review was completed (frozen for the record).
    figures: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_label: Mapped[str] = mapped_column(sa.String(100), default="")
    waived_reason: Mapped[str] = mapped_column(sa.Text, default="")

    incident: Mapped[Incident] = relationship()
    action_items: Mapped[list[ActionItem]] = relationship(back_populates="review", order_by="ActionItem.id")


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ActionItem(Base):
    """Something the review decided to change, with an owner and a due date on the clock."""

    __tablename__ = "review_action_item"
    __table_args__ = (sa.Index("ix_review_action_item_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("incident_review.id"))
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    due_at: Mapped[datetime]
    status: Mapped[ActionStatus] = enum_column(ActionStatus)
    deadline_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deadline.id"))
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")

    review: Mapped[Review] = relationship(back_populates="action_items")
    owner: Mapped[User] = relationship()
    deadline: Mapped[Deadline | None] = relationship()
