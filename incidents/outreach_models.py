"""Models for the people behind an incident: affected customers, outreach attempts, compensation.

They sit beside the incident models (same metadata, same migrations): who was affected,
who reached them and what was promised are part of the incident's record.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models import Base, Deadline, Incident, enum_column


class Platform(enum.StrEnum):
    """Where a customer can be reached (a contact's handle and an attempt's channel)."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    DOUYIN = "douyin"
    WEIBO = "weibo"
    XIAOHONGSHU = "xiaohongshu"
    MARKETPLACE = "marketplace"
    OTHER = "other"


class Demand(enum.StrEnum):
    RETURN = "return"
    EXCHANGE = "exchange"
    COMPENSATION = "compensation"
    APOLOGY = "apology"
    EXPLANATION = "explanation"


class ContactOrigin(enum.StrEnum):
    MANUAL = "manual"
    PASTE = "paste"
    CSV = "csv"
    MONITOR = "monitor"
    API = "api"


class AttemptResult(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    RESOLVED = "resolved"


# Results that count as having reached the customer.
REACHED_RESULTS = (AttemptResult.REACHED, AttemptResult.RESOLVED, AttemptResult.REFUSED)


class OfferKind(enum.StrEnum):
    VOUCHER = "voucher"
    DISCOUNT = "discount"
    EXTENDED_WARRANTY = "extended_warranty"
    REFUND = "refund"
    RESHIPMENT = "reshipment"
    APOLOGY_ONLY = "apology_only"


class CompensationState(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DELIVERED = "delivered"
    # The customer confirmed receipt: only now is the compensation closed.
    CONFIRMED = "confirmed"


class AffectedContact(Base):
    """One affected customer of an incident and how to reach them."""

    __tablename__ = "affected_contact"
    __table_args__ = (sa.Index("ix_affected_contact_incident_id_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    platform: Mapped[Platform] = enum_column(Platform)
    handle: Mapped[str] = mapped_column(sa.String(200), default="")
    order_numbers: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    activity: Mapped[str] = mapped_column(sa.Text, default="")
    demand: Mapped[Demand | None] = enum_column(Demand, nullable=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    origin: Mapped[ContactOrigin] = enum_column(ContactOrigin)
    mention_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mention.id"))
    created_at: Mapped[datetime]
    created_by_label: Mapped[str] = mapped_column(sa.String(100))
    # Kept with each attempt, so the bulk view of 10,000 customers needs no join.
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None]
    last_result: Mapped[AttemptResult | None] = enum_column(AttemptResult, nullable=True)
    reached_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()

    @property
    def reached(self) -> bool:
        return self.reached_at is not None


class OutreachAttempt(Base):
    """One try at reaching an affected customer: the channel, the result, the offer, the promise."""

    __tablename__ = "outreach_attempt"
    __table_args__ = (sa.Index("ix_outreach_attempt_contact_id_at", "contact_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"), index=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("affected_contact.id"))
    at: Mapped[datetime]
    channel: Mapped[Platform] = enum_column(Platform)
    result: Mapped[AttemptResult] = enum_column(AttemptResult)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    promise: Mapped[str] = mapped_column(sa.Text, default="")
    promise_due_at: Mapped[datetime | None]
    deadline_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deadline.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]

    contact: Mapped[AffectedContact] = relationship()
    deadline: Mapped[Deadline | None] = relationship()


class Compensation(Base):
    """What was offered to one customer, followed until the customer confirms receipt."""

    __tablename__ = "compensation"
    __table_args__ = (sa.Index("ix_compensation_incident_id_state", "incident_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("affected_contact.id"))
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach_attempt.id"))
    kind: Mapped[OfferKind] = enum_column(OfferKind)
    # Yuan; NULL when the offer has no money value (an apology, a reshipment).
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    state: Mapped[CompensationState] = enum_column(CompensationState)
    offered_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    history: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON(), default=list)

    contact: Mapped[AffectedContact] = relationship()
    incident: Mapped[Incident] = relationship()

    @property
    def closed(self) -> bool:
        return self.state in (CompensationState.CONFIRMED, CompensationState.DECLINED)
