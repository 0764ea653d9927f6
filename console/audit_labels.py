"""Human names for the audit log's action codes and target types, in the reader's language.

The codes stay what scripts filter and export on (`channel.updated`); the page shows the name
beside the code. `incident.<event>` codes take the timeline's own wording.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console.labels import EVENT_LABELS
from incidents.models import EventKind

ACTION_LABELS = {
    "user.create": _l("added a user"),
    "user.locale": _l("changed their language"),
    "user.signed_in": _l("signed in"),
    "user.signed_out": _l("signed out"),
    "user.profile": _l("changed a person's details"),
    "user.role": _l("changed a person's role"),
    "user.deactivated": _l("deactivated a person"),
    "user.activated": _l("reactivated a person"),
    "user.password_reset": _l("set a temporary password"),
    "user.password_changed": _l("changed their password"),
    "user.unlocked": _l("cleared a person's failed sign-ins"),
    "user.sso_linked": _l("linked a person to their single sign-on identity"),
    "user.sso_unlinked": _l("unlinked a person from their single sign-on identity"),
    "token.create": _l("created an API token"),
    "token.revoke": _l("revoked an API token"),
    "setting.changed": _l("changed a setting"),
    "playbook.changed": _l("changed a playbook"),
    "calendar.day_set": _l("set a day in the business calendar"),
    "calendar.day_removed": _l("removed a day from the business calendar"),
    "roster.shift_added": _l("added a duty shift"),
    "roster.shift_removed": _l("removed a duty shift"),
    "channel.created": _l("added a team channel"),
    "channel.updated": _l("changed a team channel"),
    "channel.deleted": _l("deleted a team channel"),
    "channel.test_queued": _l("sent a test message to a team channel"),
    "outbox.retried": _l("retried a failed message"),
    "notification.read": _l("read a notification"),
    "notification.read_all": _l("marked every notification read"),
    "script.saved": _l("saved a script"),
    "talking_points.confirmed": _l("confirmed talking points"),
    "component.saved": _l("saved a status page component"),
    "component_group.saved": _l("saved a component group"),
    "maintenance.scheduled": _l("scheduled maintenance"),
    "maintenance.edited": _l("edited a maintenance"),
    "maintenance.advanced": _l("moved a maintenance on"),
    "maintenance.cancelled": _l("cancelled a maintenance"),
    "subscriber.added": _l("added a subscriber"),
    "subscriber.subscribed": _l("subscribed on the status page"),
    "subscriber.subscribe_repeated": _l("asked to subscribe again"),
    "subscriber.confirmed": _l("confirmed a subscription"),
    "subscriber.unsubscribed": _l("unsubscribed"),
    "subscriber.paused": _l("paused a subscriber"),
    "subscriber.resumed": _l("resumed a subscriber"),
    "subscriber.expired": _l("forgot an unconfirmed subscription"),
    "subscriber.deleted": _l("deleted a subscriber"),
    "monitor.source_added": _l("added a feed source"),
    "monitor.source_changed": _l("changed a feed source"),
    "monitor.source_deleted": _l("deleted a feed source"),
    "monitor.rule_added": _l("added a matching rule"),
    "monitor.rule_changed": _l("changed a matching rule"),
    "monitor.rule_deleted": _l("deleted a matching rule"),
    "monitor.poll_requested": _l("asked for a feed to be polled now"),
    "monitor.mentions_stored": _l("stored new mentions"),
    "monitor.mention_dismissed": _l("dismissed a mention"),
    "complaint.recorded": _l("recorded a complaint"),
    "surge_rule.created": _l("added a complaint surge rule"),
    "surge_rule.changed": _l("changed a complaint surge rule"),
    "surge_rule.deleted": _l("deleted a complaint surge rule"),
    "outreach.list_previewed": _l("previewed a customer list"),
}

TARGET_LABELS = {
    "incident": _l("Incident"),
    "user": _l("User"),
    "api_token": _l("API token"),
    "setting": _l("Setting"),
    "playbook": _l("Playbook"),
    "calendar_day": _l("Calendar day"),
    "duty_shift": _l("Duty shift"),
    "team_channel": _l("Team channel"),
    "outbox_message": _l("Message"),
    "notification": _l("Notification"),
    "script": _l("Script"),
    "talking_points": _l("Talking points"),
    "component": _l("Component"),
    "component_group": _l("Component group"),
    "maintenance": _l("Maintenance"),
    "subscriber": _l("Subscriber"),
    "monitor_source": _l("Feed source"),
    "monitor_rule": _l("Matching rule"),
    "mention": _l("Mention"),
    "complaint_report": _l("Complaint"),
    "complaint_surge_rule": _l("Surge rule"),
}


def action_label(action: str) -> str | None:
    """What the action was, in words; None for a code this version does not know."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    area, _dot, event = action.partition(".")
    if area == "incident" and event in EventKind._value2member_map_:
        return str(EVENT_LABELS.get(EventKind(event), "")) or None
    return None


def target_label(target_type: str) -> str:
    return str(TARGET_LABELS.get(target_type, target_type))
