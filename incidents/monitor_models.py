"""Models for the feed monitors: sources polled, rules matched, mentions stored.

They live beside the incident models (same metadata, same migrations) because a mention
that raised or joined an incident is part of that incident's record and must never be lost.
The logic that fills them is in monitors/ (polling, matching, raising).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.lifecycle import Severity
from incidents.models import Base, Incident, enum_column


class MonitorSource(Base):
    """A feed (RSS/Atom, often a self-hosted RSSHub route) polled for posts, with its health."""

    __tablename__ = "monitor_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    interval_s: Mapped[int] = mapped_column(default=300)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Sent with every request (e.g. a Cookie for a private RSSHub): secret-ish, masked on screen.
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    # Silent for longer than this (no new entry) → "source silent" warning; NULL: never warn.
    expected_period_s: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    # sha256 of the last body read: an unchanged body is not parsed again (many feeds send no ETag).
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    feed_ttl_min: Mapped[int | None]  # the feed's own <ttl>, kept for polls that skip parsing
    next_poll_at: Mapped[datetime] = mapped_column(index=True)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # For code and for the reader's language: e.g. "http_404", "read_timeout", "broken_feed".
    last_error_code: Mapped[str | None] = mapped_column(sa.String(32))
    last_error_at: Mapped[datetime | None]
    last_warning: Mapped[str | None] = mapped_column(sa.Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    items_seen: Mapped[int] = mapped_column(default=0)
    last_entry_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MonitorRule(Base):
    """A watched brand: its names, the worrying terms, and when to raise an incident by itself."""

    __tablename__ = "monitor_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    brand: Mapped[str] = mapped_column(sa.String(100))
    aliases: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    # {term: weight}
    negative_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    critical_terms: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    exclusions: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    severity: Mapped[Severity] = enum_column(Severity)
    enabled: Mapped[bool] = mapped_column(default=True)
    instant: Mapped[bool] = mapped_column(default=True)
    volume_enabled: Mapped[bool] = mapped_column(default=True)
    volume_window_minutes: Mapped[int] = mapped_column(default=60)
    volume_history_windows: Mapped[int] = mapped_column(default=336)
    volume_k: Mapped[float] = mapped_column(sa.Float, default=3.0)
    volume_floor: Mapped[int] = mapped_column(default=5)
    volume_cooldown_minutes: Mapped[int] = mapped_column(default=360)
    # The last volume alarm (for the cool-down) and the incident of the current flare-up.
    last_raised_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    incident: Mapped[Incident | None] = relationship()


class MentionState(enum.StrEnum):
    NEW = "new"
    DISMISSED = "dismissed"
    ATTACHED = "attached"
    RAISED = "raised"


class Mention(Base):
    """One post seen in a source, stored once per source (unique identity), never re-created.

    `key_hash` is sha256 of the entry's identity (guid, else link, else a hash of title and
    text): the unique constraint with `source_id` is what makes storing idempotent after a
    crash. A deleted source leaves its mentions (source_id NULL, source_name kept).
    """

    __tablename__ = "mention"
    __table_args__ = (
        sa.UniqueConstraint("source_id", "key_hash"),
        sa.Index("ix_mention_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("monitor_source.id"))
    source_name: Mapped[str] = mapped_column(sa.String(100))
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    identity: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str | None] = mapped_column(sa.String(2000))
    author: Mapped[str | None] = mapped_column(sa.String(200))
    platform: Mapped[str] = mapped_column(sa.String(50), default="")
    published_at: Mapped[datetime | None]
    categories: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    engagement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON(), default=list)
    score: Mapped[float] = mapped_column(sa.Float, default=0.0, index=True)
    state: Mapped[MentionState] = enum_column(MentionState)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)

    source: Mapped[MonitorSource | None] = relationship()
    incident: Mapped[Incident | None] = relationship()

    @property
    def at(self) -> datetime:
        """When it was posted, or when we saw it when the feed gave no date."""
        return self.published_at or self.created_at


class MentionMatch(Base):
    """That a mention matched a rule: the rows volume detection counts and the inbox filters on."""

    __tablename__ = "mention_match"
    __table_args__ = (
        sa.UniqueConstraint("mention_id", "rule_id"),
        sa.Index("ix_mention_match_rule_id_at", "rule_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(sa.ForeignKey("mention.id"))
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("monitor_rule.id"))
    # Published (or seen) time of the mention: the volume windows are counted on it.
    at: Mapped[datetime]
    negative: Mapped[bool]
    critical: Mapped[bool]
    score: Mapped[float] = mapped_column(sa.Float)
