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
    "admin": frozenset({Role.ADMIN}),
    # Settings behind the clock (issue 3): duty managers read the playbooks and keep the roster.
    "playbook.view": frozenset({Role.ADMIN, Role.DUTY_MANAGER}),
    "roster.view": ALL_ROLES,
    "roster.manage": frozenset({Role.ADMIN, Role.DUTY_MANAGER}),
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
    # Settings behind the clock (issue 3): playbooks, duty roster, team channels, business calendar.
    "playbooks.index": "playbook.view",
    "playbooks.show": "playbook.view",
    "playbooks.save": "admin",
    "roster.show": "roster.view",
    "roster.add": "roster.manage",
    "roster.take_duty": "roster.manage",
    "roster.remove": "roster.manage",
    "channels.index": "admin",
    "channels.new": "admin",
    "channels.create": "admin",
    "channels.edit": "admin",
    "channels.update": "admin",
    "channels.switch": "admin",
    "channels.send_test": "admin",
    "channels.delete": "admin",
    "calendar.show": "admin",
    "calendar.save_hours": "admin",
    "calendar.add_day": "admin",
    "calendar.remove_day": "admin",
    "api.settings.list_playbooks": "playbook.view",
    "api.settings.get_playbook": "playbook.view",
    "api.settings.change_playbook": "admin",
    "api.settings.list_shifts": "roster.view",
    "api.settings.add_shift": "roster.manage",
    "api.settings.remove_shift": "roster.manage",
    "api.settings.on_duty": "roster.view",
    "api.settings.list_channels": "admin",
    "api.settings.get_channel": "admin",
    "api.settings.create_channel": "admin",
    "api.settings.update_channel": "admin",
    "api.settings.delete_channel": "admin",
    "api.settings.test_channel": "admin",
    "api.settings.get_business_hours": "admin",
    "api.settings.put_business_hours": "admin",
    "api.settings.list_calendar_days": "admin",
    "api.settings.set_calendar_day": "admin",
    "api.settings.remove_calendar_day": "admin",
    "api.settings.calendar_preview": "admin",
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
