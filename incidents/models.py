"""SQLAlchemy 2 typed models for incidents, their timeline, people and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
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
    # One account per name whatever its case (incidents.accounts.canonical_username).
    __table_args__ = (sa.Index("ix_user_username_lower", sa.text("lower(username)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = enum_column(Role)
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh_Hans_CN")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # A mainland mobile number as +86 and 11 digits, or "" (incidents.people.mobile_number).
    mobile: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    # Set with a temporary password: the person must choose their own before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Part of every signed-in session's id: bumping it (sign-out, a new password, deactivation)
    # ends all of this person's sessions and remember-me cookies at once.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

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
        return f"{self.id}:{self.session_epoch}"

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
    # A complaint waiting on the customer stops its clock; the reason is on the timeline.
    clock_paused_at: Mapped[datetime | None]
    # The status page shows only the public title, never `title`; without one (or when the
    # incident is internal-only) the incident never appears in public.
    public_title: Mapped[str | None] = mapped_column(sa.String(200))
    public_title_en: Mapped[str | None] = mapped_column(sa.String(200))
    internal_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

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
    PUBLIC_UPDATE = "public_update"
    CHECKLIST_TICKED = "checklist_ticked"
    DEADLINE_MET = "deadline_met"
    DEADLINE_WAIVED = "deadline_waived"
    DEADLINE_REMINDED = "deadline_reminded"
    DEADLINE_MISSED = "deadline_missed"
    DEADLINE_ESCALATED = "deadline_escalated"
    REMINDER_SNOOZED = "reminder_snoozed"
    CLOCK_PAUSED = "clock_paused"
    CLOCK_RESUMED = "clock_resumed"
    # Inbound signals (monitors.alert_intake, monitors.complaints).
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    COMPLAINT_SURGE = "complaint_surge"
    COMPLAINT_RECEIVED = "complaint_received"
    # Feed monitors (issue 5): a monitor raised the incident; mentions joined it.
    MONITOR_RAISED = "monitor_raised"
    MENTION_ATTACHED = "mention_attached"
    # The aftermath (issue 6): the six-step case and the review (复盘).
    CASE_STEP_RECORDED = "case_step_recorded"
    REVIEW_SAVED = "review_saved"
    REVIEW_COMPLETED = "review_completed"
    REVIEW_WAIVED = "review_waived"
    ACTION_ITEM_ADDED = "action_item_added"
    ACTION_ITEM_SETTLED = "action_item_settled"
    # Affected customers and outreach (issue 6).
    CONTACTS_ADDED = "contacts_added"
    CONTACT_EDITED = "contact_edited"
    CONTACT_REMOVED = "contact_removed"
    OUTREACH_LOGGED = "outreach_logged"
    COMPENSATION_CHANGED = "compensation_changed"
    # The comms desk (issue 4, writing an update): sign-off and talking points.
    SIGNOFF_REQUESTED = "signoff_requested"
    SIGNOFF_APPROVED = "signoff_approved"
    SIGNOFF_REJECTED = "signoff_rejected"
    TALKING_POINTS = "talking_points"


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
    """Append-only audit log of every change, by a person or the system (incidents.audit writes it).

    Nothing in the application updates or deletes a record: an ORM guard refuses it on every
    engine, and triggers on both engines refuse UPDATE and DELETE below the application.
    """

    __tablename__ = "audit_record"
    __table_args__ = (
        sa.Index("ix_audit_record_target_type_target_id", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(100))
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    # The web request that made the change (its X-Request-ID); empty for the worker and the CLI.
    request_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="", index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)


class StatusUpdate(Base):
    """A published public update: what customers read on the status page and channels."""

    __tablename__ = "status_update"
    __table_args__ = (sa.Index("ix_status_update_incident_id_published_at", "incident_id", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    public_status: Mapped[Status] = enum_column(Status)
    body: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    published_by_label: Mapped[str] = mapped_column(sa.String(100))
    # True when the system published it by itself (a holding statement).
    automatic: Mapped[bool] = mapped_column(default=False)
    body_en: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # What this update set each affected component to: [{"id", "status", "old_status"}].
    components: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    incident: Mapped[Incident] = relationship()


class PlaybookRevision(Base):
    """An admin's change to a kind's playbook: the whole effective document, never edited."""

    __tablename__ = "playbook_revision"
    __table_args__ = (sa.UniqueConstraint("kind", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = enum_column(Kind)
    revision: Mapped[int]
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by_label: Mapped[str] = mapped_column(sa.String(100))


class DeadlineState(enum.StrEnum):
    PENDING = "pending"
    MET = "met"
    MISSED = "missed"
    WAIVED = "waived"


class Deadline(Base):
    """One promise with a time, tracked until it is met, waived or closed as missed.

    `rule` is a snapshot of the playbook rule when the deadline was created, so an admin's
    later change of numbers affects only new deadlines. `stage` counts the steps the worker
    has taken (0 none, 1 reminded, 2 overdue: owner told, 3 commander, 4 duty manager,
    5 admins); `next_fire_at` is when the next step is due (NULL: nothing left to do), and
    the worker claims a step with a conditional UPDATE on `stage`.
    """

    __tablename__ = "deadline"
    __table_args__ = (sa.Index("ix_deadline_incident_id_state", "incident_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id"))
    rule_key: Mapped[str] = mapped_column(sa.String(64))
    rule: Mapped[dict[str, Any]]
    owner: Mapped[str] = mapped_column(sa.String(32))
    sequence: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    remind_at: Mapped[datetime | None]
    state: Mapped[DeadlineState] = enum_column(DeadlineState, index=True)
    stage: Mapped[int] = mapped_column(default=0)
    next_fire_at: Mapped[datetime | None] = mapped_column(index=True)
    met_at: Mapped[datetime | None]
    met_by_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("timeline_event.id"))
    waived_reason: Mapped[str] = mapped_column(sa.Text, default="")
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(default=0)

    incident: Mapped[Incident] = relationship()
    met_by: Mapped[TimelineEvent | None] = relationship()

    @property
    def late_seconds(self) -> int | None:
        """How late it was met (0 when on time); None while not met."""
        if self.met_at is None:
            return None
        return max(0, int((self.met_at - self.due_at).total_seconds()))


class DutyShift(Base):
    """One stretch of duty: who is the duty manager on duty between two times."""

    __tablename__ = "duty_shift"
    __table_args__ = (sa.Index("ix_duty_shift_starts_at_ends_at", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class CalendarDay(Base):
    """An admin's override of the business calendar for one date (workday or day off)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class Setting(Base):
    """A console-wide setting an admin changed (defaults live in code); changes are audited."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Notification(Base):
    """An entry in one person's notification centre (the bell)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"))
    deadline_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deadline.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]

    incident: Mapped[Incident | None] = relationship()
    deadline: Mapped[Deadline | None] = relationship()


class TeamChannel(Base):
    """A team destination for reminders and escalations (WeCom, DingTalk, Feishu, webhook, e-mail)."""

    __tablename__ = "team_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    config: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(default=True)
    # Which messages it takes: reminders, escalations, or both.
    reminders: Mapped[bool] = mapped_column(default=False)
    escalations: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxMessage(Base):
    """A message to deliver, stored with the change that caused it; the worker delivers it.

    At least once: a delivery may repeat after a crash, so receivers get a stable
    `idempotency_key`. `lease_until` keeps a second worker off a row being delivered.
    """

    __tablename__ = "outbox_message"
    # A message goes to a team channel or to a status-page subscriber, never both.
    __table_args__ = (
        sa.CheckConstraint("(channel_id IS NULL) <> (subscriber_id IS NULL)", name="one_destination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    channel_id: Mapped[int | None] = mapped_column(sa.ForeignKey("team_channel.id"))
    subscriber_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriber.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id"))
    event: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[dict[str, Any]]
    state: Mapped[OutboxState] = enum_column(OutboxState)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    channel: Mapped[TeamChannel | None] = relationship()

    def __init__(self, **kwargs: Any) -> None:
        if (kwargs.get("channel_id") is None) == (kwargs.get("subscriber_id") is None):
            raise ValueError("an outbox message goes to exactly one of a team channel or a subscriber")
        super().__init__(**kwargs)


class DeliveryAttempt(Base):
    """One try at delivering an outbox message, kept for the channel's health view."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_message.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
