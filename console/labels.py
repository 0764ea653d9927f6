"""Human names for the domain's values, in the user's language (used by templates)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from console.actor_labels import actor_name
from incidents.lifecycle import Kind, Severity, Source, Status
from incidents.models import EventKind, Role

KIND_LABELS = {
    Kind.OUTAGE: _l("System outage"),
    Kind.PUBLIC_OPINION: _l("Public opinion"),
    Kind.COMPLAINT: _l("Escalated complaint"),
}
SEVERITY_LABELS = {
    Severity.P1: _l("P1 critical"),
    Severity.P2: _l("P2 major"),
    Severity.P3: _l("P3 minor"),
    Severity.P4: _l("P4 low"),
}
STATUS_LABELS = {
    Status.INVESTIGATING: _l("Investigating"),
    Status.IDENTIFIED: _l("Identified"),
    Status.MONITORING: _l("Monitoring"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
}
# What the button says: the action, not the state.
TRANSITION_LABELS = {
    Status.INVESTIGATING: _l("Back to investigating"),
    Status.IDENTIFIED: _l("Cause identified"),
    Status.MONITORING: _l("Fix in place, monitoring"),
    Status.RESOLVED: _l("Resolve"),
    Status.CLOSED: _l("Close"),
}
SOURCE_LABELS = {
    Source.MANUAL: _l("Opened by hand"),
    Source.MONITOR: _l("Raised by a monitor"),
    Source.ALERT: _l("Raised by an alert"),
    Source.API: _l("Opened through the API"),
}
ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.DUTY_MANAGER: _l("Duty manager"),
    Role.COMMS: _l("Comms"),
    Role.AGENT: _l("Agent"),
    Role.VIEWER: _l("Viewer"),
}
EVENT_LABELS = {
    EventKind.OPENED: _l("opened the incident"),
    EventKind.STATUS_CHANGED: _l("changed the status"),
    EventKind.FIELD_CHANGED: _l("edited the incident"),
    EventKind.NOTE: _l("added a note"),
    EventKind.ASSIGNED: _l("changed the assignment"),
    EventKind.ACKNOWLEDGED: _l("acknowledged the incident"),
    EventKind.ALERT_FIRING: _l("reported firing alerts"),
    EventKind.ALERT_RESOLVED: _l("reported alerts as resolved"),
    EventKind.COMPLAINT_SURGE: _l("raised it: complaints reached the surge threshold"),
    EventKind.COMPLAINT_RECEIVED: _l("attached a new complaint"),
    # Feed monitors (issue 5)
    EventKind.MONITOR_RAISED: _l("raised the incident from the feeds"),
    EventKind.MENTION_ATTACHED: _l("attached mentions"),
    # The clock (issue 3).
    EventKind.PUBLIC_UPDATE: _l("published a public update"),
    EventKind.CHECKLIST_TICKED: _l("ticked a checklist step"),
    EventKind.DEADLINE_MET: _l("marked a deadline met"),
    EventKind.DEADLINE_WAIVED: _l("waived a deadline"),
    EventKind.DEADLINE_REMINDED: _l("sent a reminder"),
    EventKind.DEADLINE_MISSED: _l("a deadline was missed"),
    EventKind.DEADLINE_ESCALATED: _l("escalated an overdue deadline"),
    EventKind.REMINDER_SNOOZED: _l("snoozed a reminder"),
    EventKind.CLOCK_PAUSED: _l("paused the clock"),
    EventKind.CLOCK_RESUMED: _l("resumed the clock"),
    # The aftermath (issue 6).
    EventKind.CASE_STEP_RECORDED: _l("recorded a step of the six-step case"),
    EventKind.REVIEW_SAVED: _l("edited the review"),
    EventKind.REVIEW_COMPLETED: _l("completed the review"),
    EventKind.REVIEW_WAIVED: _l("waived the review"),
    EventKind.ACTION_ITEM_ADDED: _l("added an action item"),
    EventKind.ACTION_ITEM_SETTLED: _l("settled an action item"),
    # Affected customers and outreach (issue 6).
    EventKind.CONTACTS_ADDED: _l("added affected customers"),
    EventKind.CONTACT_EDITED: _l("edited an affected customer"),
    EventKind.CONTACT_REMOVED: _l("removed an affected customer"),
    EventKind.OUTREACH_LOGGED: _l("logged an outreach attempt"),
    EventKind.COMPENSATION_CHANGED: _l("updated a compensation"),
    # The comms desk (issue 4, writing an update).
    EventKind.SIGNOFF_REQUESTED: _l("sent an update for sign-off"),
    EventKind.SIGNOFF_APPROVED: _l("approved an update"),
    EventKind.SIGNOFF_REJECTED: _l("rejected an update"),
    EventKind.TALKING_POINTS: _l("published talking points for agents"),
}
# The clock (issue 3): who owns a deadline, who hears of it at each escalation step, and
# the reasons the system itself gives when it ends a deadline.
OWNER_LABELS = {
    "commander": _l("Commander"),
    "comms_lead": _l("Comms lead"),
    "duty_manager": _l("Duty manager on duty"),
    "owner": _l("Owner"),
    "admins": _l("Administrators"),
}
SYSTEM_WAIVE_REASONS = {
    "closed": _l("Ended: the incident was closed"),
    "ended:resolved": _l("Ended: the incident was resolved"),
    "ended:closed": _l("Ended: the incident was closed"),
    "reopened": _l("Cancelled: the incident was reopened"),
}
FIELD_LABELS = {
    "title": _l("Title"),
    "summary": _l("Summary"),
    "kind": _l("Kind"),
    "severity": _l("Severity"),
    "commander": _l("Commander"),
    "comms_lead": _l("Comms lead"),
    "commander_id": _l("Commander"),
    "comms_lead_id": _l("Comms lead"),
    "status": _l("Status"),
    "public_title": _l("Public title"),
    "public_title_en": _l("Public title in English"),
    "internal_only": _l("Internal only"),
}
YES_NO = {True: _l("Yes"), False: _l("No")}


def value_label(field: str, value: str | None) -> str:
    """A stored value (enum value or name) as people read it."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return str(YES_NO[value])
    tables = {"kind": (Kind, KIND_LABELS), "severity": (Severity, SEVERITY_LABELS),
              "status": (Status, STATUS_LABELS)}
    if field in tables:
        enum_type, labels = tables[field]
        try:
            return str(labels[enum_type(value)])
        except ValueError:
            return str(value)
    return str(value)


def waive_reason(reason: str) -> str:
    """A waive reason as people read it: the system's own reasons translated, a person's as written."""
    label = SYSTEM_WAIVE_REASONS.get(reason)
    return str(label) if label is not None else reason


def init_app(app: Flask) -> None:
    """Expose the label tables to every template, and `|actor` for who did something."""
    app.add_template_filter(actor_name, "actor")

    @app.context_processor
    def labels() -> dict:
        return {
            "KIND_LABELS": KIND_LABELS, "SEVERITY_LABELS": SEVERITY_LABELS,
            "STATUS_LABELS": STATUS_LABELS, "TRANSITION_LABELS": TRANSITION_LABELS,
            "SOURCE_LABELS": SOURCE_LABELS, "ROLE_LABELS": ROLE_LABELS,
            "EVENT_LABELS": EVENT_LABELS, "FIELD_LABELS": FIELD_LABELS, "value_label": value_label,
            "OWNER_LABELS": OWNER_LABELS, "waive_reason": waive_reason,
        }
