"""The role matrix: one place that says which role may reach which endpoint.

Every endpoint in the URL map must appear in ENDPOINTS; the app refuses to start otherwise,
and tests/test_permissions.py walks the whole map route by route.
"""

from __future__ import annotations

from incidents.models import Role

PUBLIC = "public"  # no login (login page, health checks, static files, the status page)
SIGNED_IN = "signed_in"  # any active user

ALL_ROLES = frozenset(Role)
PERMISSIONS: dict[str, frozenset[Role]] = {
    SIGNED_IN: ALL_ROLES,
    "incident.view": ALL_ROLES,
    "incident.open": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}),
    "incident.note": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}),
    "incident.command": frozenset({Role.ADMIN, Role.DUTY_MANAGER}),
    # The clock on screen (issue 3): ticking records work done (anyone doing the work);
    # publishing speaks for the company in public (comms and the people in command).
    "incident.tick": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}),
    "incident.publish": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}),
    "admin": frozenset({Role.ADMIN}),
    # Feed monitors (issue 5): who may change sources and rules.
    "monitor.configure": frozenset({Role.ADMIN, Role.DUTY_MANAGER}),
    # The status page area: components are the admins'; maintenance and an incident's public face
    # belong to whoever speaks to the public.
    "status.components": frozenset({Role.ADMIN}),
    "status.maintenance": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}),
    "incident.public": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}),
    # The comms desk (issue 4, writing an update): comms staff and admins keep the script
    # library; duty managers (and admins) sign updates off; whoever talks to customers
    # confirms reading the talking points.
    "scripts.edit": frozenset({Role.ADMIN, Role.COMMS}),
    "update.approve": frozenset({Role.ADMIN, Role.DUTY_MANAGER}),
    "talking_points.confirm": frozenset({Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}),
}

ENDPOINTS: dict[str, str] = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.language": PUBLIC,
    "board.index": "incident.view",
    "incidents.new": "incident.open",
    "incidents.create": "incident.open",
    "incidents.show": "incident.view",
    "incidents.header": "incident.view",
    "incidents.timeline": "incident.view",
    "incidents.edit": "incident.command",
    "incidents.transition": "incident.command",
    "incidents.acknowledge": "incident.command",
    "incidents.add_note": "incident.note",
    "api.list_incidents": "incident.view",
    "api.get_incident": "incident.view",
    "api.create_incident": "incident.open",
    "api.update_incident": "incident.command",
    "api.transition_incident": "incident.command",
    "api.acknowledge_incident": "incident.command",
    "api.add_note": "incident.note",
    "api.list_users": "incident.view",
    # Inbound signals: alert hooks, complaint intake, surge rules, hook mappings (issue 5).
    "hooks.alertmanager": "incident.open",
    "hooks.grafana": "incident.open",
    "hooks.generic": "incident.open",
    "intake.complaints_page": "incident.view",
    "intake.settings": "admin",
    "intake.save_hooks": "admin",
    "intake.create_rule": "admin",
    "intake.update_rule": "admin",
    "intake.delete_rule": "admin",
    "api.create_complaint": "incident.open",
    "api.list_complaints": "incident.view",
    "api.list_complaint_rules": "admin",
    "api.create_complaint_rule": "admin",
    "api.update_complaint_rule": "admin",
    "api.delete_complaint_rule": "admin",
    "api.get_hook_settings": "admin",
    "api.put_hook_settings": "admin",
    # The clock on screen (issue 3): countdowns, deadlines, checklist, updates, the bell.
    "incidents.clock": "incident.view",
    "incidents.checklist_panel": "incident.view",
    "incidents.tick_step": "incident.tick",
    "incidents.deadline_form": "incident.command",
    "incidents.mark_met": "incident.command",
    "incidents.waive": "incident.command",
    "incidents.pause_form": "incident.command",
    "incidents.pause_clock": "incident.command",
    "incidents.resume_clock": "incident.command",
    "incidents.publish_update": "incident.publish",
    "deadlines.index": "incident.view",
    "notifications.index": SIGNED_IN,
    "notifications.bell": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
    "notifications.snooze": SIGNED_IN,
    "api.list_deadlines": "incident.view",
    "api.incident_deadlines": "incident.view",
    "api.mark_deadline_met": "incident.command",
    "api.waive_deadline": "incident.command",
    "api.pause_clock": "incident.command",
    "api.resume_clock": "incident.command",
    "api.get_checklist": "incident.view",
    "api.tick_step": "incident.tick",
    "api.publish_update": "incident.publish",
    "api.list_notifications": SIGNED_IN,
    "api.read_notification": SIGNED_IN,
    "api.read_all_notifications": SIGNED_IN,
    "api.snooze_notification": SIGNED_IN,
    # Feed monitors (issue 5): the mention inbox, sources, rules, and their API.
    "monitors.inbox": "incident.view",
    "monitors.dismiss": "incident.note",
    "monitors.attach": "incident.note",
    "monitors.raise_incident": "incident.open",
    "monitors.incident_mentions": "incident.view",
    "monitor_config.source_list": "incident.view",
    "monitor_config.source_create": "monitor.configure",
    "monitor_config.source_edit": "monitor.configure",
    "monitor_config.source_update": "monitor.configure",
    "monitor_config.source_delete": "monitor.configure",
    "monitor_config.source_poll": "monitor.configure",
    "monitor_config.rule_list": "incident.view",
    "monitor_config.rule_create": "monitor.configure",
    "monitor_config.rule_edit": "monitor.configure",
    "monitor_config.rule_update": "monitor.configure",
    "monitor_config.rule_delete": "monitor.configure",
    "api.monitors.list_sources": "incident.view",
    "api.monitors.create_source": "monitor.configure",
    "api.monitors.get_source": "incident.view",
    "api.monitors.update_source": "monitor.configure",
    "api.monitors.delete_source": "monitor.configure",
    "api.monitors.poll_source": "monitor.configure",
    "api.monitors.list_rules": "incident.view",
    "api.monitors.create_rule": "monitor.configure",
    "api.monitors.get_rule": "incident.view",
    "api.monitors.update_rule": "monitor.configure",
    "api.monitors.delete_rule": "monitor.configure",
    "api.monitors.list_mentions": "incident.view",
    "api.monitors.get_mention": "incident.view",
    "api.monitors.dismiss_mention": "incident.note",
    "api.monitors.attach_mention": "incident.note",
    "api.monitors.raise_mention": "incident.open",
    "api.monitors.incident_mentions": "incident.view",
    # --- status page area (issue 4, public side) ---
    "status.index": PUBLIC,
    "status.past": PUBLIC,
    "status.incident": PUBLIC,
    "status_feeds.history_atom": PUBLIC,
    "status_feeds.history_rss": PUBLIC,
    "status_feeds.incident_atom": PUBLIC,
    "statuspage_v2.summary": PUBLIC,
    "statuspage_v2.status": PUBLIC,
    "statuspage_v2.components": PUBLIC,
    "statuspage_v2.incidents": PUBLIC,
    "statuspage_v2.unresolved": PUBLIC,
    "statuspage_v2.maintenances": PUBLIC,
    "statuspage_v2.upcoming": PUBLIC,
    "statuspage_v2.active": PUBLIC,
    "status_admin.components": "status.components",
    "status_admin.create_component": "status.components",
    "status_admin.edit_component": "status.components",
    "status_admin.create_group": "status.components",
    "status_admin.edit_group": "status.components",
    "status_admin.maintenance_list": "status.maintenance",
    "status_admin.create_maintenance": "status.maintenance",
    "status_admin.maintenance_show": "status.maintenance",
    "status_admin.maintenance_edit": "status.maintenance",
    "status_admin.maintenance_update": "status.maintenance",
    "status_admin.maintenance_cancel": "status.maintenance",
    "status_admin.incident_public": "incident.public",
    "api.list_components": "incident.view",
    "api.create_component": "status.components",
    "api.update_component": "status.components",
    "api.list_component_groups": "incident.view",
    "api.create_component_group": "status.components",
    "api.update_component_group": "status.components",
    "api.list_maintenance": "incident.view",
    "api.create_maintenance": "status.maintenance",
    "api.get_maintenance": "incident.view",
    "api.update_maintenance": "status.maintenance",
    "api.post_maintenance_update": "status.maintenance",
    "api.cancel_maintenance": "status.maintenance",
    "api.set_incident_public": "incident.public",
    # --- comms desk (issue 4, writing an update): scripts, composer, sign-off, talking points ---
    "comms.library": SIGNED_IN,
    "comms.script": SIGNED_IN,
    "comms.save_script": "scripts.edit",
    "comms.settings": "admin",
    "comms.save_settings": "admin",
    "comms.my_talking_points": SIGNED_IN,
    "incidents.composer": "incident.publish",
    "incidents.composer_preview": "incident.publish",
    "incidents.signoff_panel": "incident.view",
    "incidents.approve_draft": "update.approve",
    "incidents.reject_draft": "update.approve",
    "incidents.talking_points_panel": "incident.view",
    "incidents.save_talking_points": "incident.publish",
    "incidents.confirm_talking_points": "talking_points.confirm",
    "api.list_scripts": SIGNED_IN,
    "api.get_script": SIGNED_IN,
    "api.save_script": "scripts.edit",
    "api.get_comms_settings": "admin",
    "api.put_comms_settings": "admin",
    "api.preview_update": "incident.publish",
    "api.list_drafts": "incident.view",
    "api.approve_draft": "update.approve",
    "api.reject_draft": "update.approve",
    "api.get_talking_points": "incident.view",
    "api.publish_talking_points": "incident.publish",
    "api.confirm_talking_points": "talking_points.confirm",
    "api.my_talking_points": SIGNED_IN,
}


def permission_for(endpoint: str) -> str | None:
    """The permission an endpoint needs; None when the endpoint is not in the matrix."""
    return ENDPOINTS.get(endpoint)


def role_may(role: Role, permission: str) -> bool:
    """True when the role holds the permission (PUBLIC is everyone's)."""
    if permission == PUBLIC:
        return True
    return role in PERMISSIONS[permission]


def missing_endpoints(endpoints: set[str]) -> set[str]:
    """Endpoints of the URL map with no entry here: a route nobody decided on."""
    return {endpoint for endpoint in endpoints if endpoint not in ENDPOINTS}
