"""Which provider identity (issuer + subject) signs in as which console account.

Kept apart from incidents.models so single sign-on reads as one piece; it shares its Base.
A link survives a rename in the provider: the subject (`sub`) never changes, the username may.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models import Base, User


class SsoIdentity(Base):
    """One provider identity linked to one account: made at a first sign-in or by an admin."""

    __tablename__ = "sso_identity"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # One provider identity per account: a second link would make two people one.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), unique=True)
    # "sign_in" (created at a first sign-in) or "admin" (an admin linked an existing account).
    origin: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship()
