"""The role matrix, route by route: every endpoint of the URL map, every role, and anonymous.

EXPECTED is written out here independently of console/permissions.py: a new route without
an entry fails `test_every_route_has_an_expectation`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from incidents import service
from incidents.actors import Actor
from incidents.models import Role
from tests.conftest import FIXED_NOW, sign_in

EVERYONE = {"anonymous", *Role}
SIGNED_IN = set(Role)
OPENERS = {Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS, Role.AGENT}
COMMANDERS = {Role.ADMIN, Role.DUTY_MANAGER}
ADMINS = {Role.ADMIN}
SPEAKERS = {Role.ADMIN, Role.DUTY_MANAGER, Role.COMMS}

# endpoint: (method, path template, who may)
EXPECTED: dict[str, tuple[str, str, set]] = {
    "static": ("GET", "/static/css/console.css", EVERYONE),
    "health.healthz": ("GET", "/healthz", EVERYONE),
    "health.readyz": ("GET", "/readyz", EVERYONE),
    "auth.login": ("GET", "/login", EVERYONE),
    "auth.language": ("POST", "/language", EVERYONE),
    "auth.logout": ("POST", "/logout", SIGNED_IN),
    "board.index": ("GET", "/", SIGNED_IN),
    "incidents.new": ("GET", "/incidents/new", OPENERS),
    "incidents.create": ("POST", "/incidents", OPENERS),
    "incidents.show": ("GET", "/incidents/{ref}", SIGNED_IN),
    "incidents.header": ("GET", "/incidents/{ref}/header", SIGNED_IN),
    "incidents.timeline": ("GET", "/incidents/{ref}/timeline", SIGNED_IN),
    "incidents.edit": ("POST", "/incidents/{ref}/edit", COMMANDERS),
    "incidents.transition": ("POST", "/incidents/{ref}/transitions", COMMANDERS),
    "incidents.acknowledge": ("POST", "/incidents/{ref}/acknowledge", COMMANDERS),
    "incidents.add_note": ("POST", "/incidents/{ref}/notes", OPENERS),
    "api.list_incidents": ("GET", "/api/v1/incidents", SIGNED_IN),
    "api.get_incident": ("GET", "/api/v1/incidents/{ref}", SIGNED_IN),
    "api.create_incident": ("POST", "/api/v1/incidents", OPENERS),
    "api.update_incident": ("PATCH", "/api/v1/incidents/{ref}", COMMANDERS),
    "api.transition_incident": ("POST", "/api/v1/incidents/{ref}/transitions", COMMANDERS),
    "api.acknowledge_incident": ("POST", "/api/v1/incidents/{ref}/acknowledge", COMMANDERS),
    "api.add_note": ("POST", "/api/v1/incidents/{ref}/notes", OPENERS),
    "api.list_users": ("GET", "/api/v1/users", SIGNED_IN),
    # --- status page area (issue 4, public side); ids that do not exist answer 404 to the allowed ---
    "status.index": ("GET", "/status", EVERYONE),
    "status.past": ("GET", "/status/history", EVERYONE),
    "status.incident": ("GET", "/status/incidents/{ref}", EVERYONE),
    "status_feeds.history_atom": ("GET", "/history.atom", EVERYONE),
    "status_feeds.history_rss": ("GET", "/history.rss", EVERYONE),
    "status_feeds.incident_atom": ("GET", "/status/incidents/{ref}.atom", EVERYONE),
    "statuspage_v2.summary": ("GET", "/api/v2/summary.json", EVERYONE),
    "statuspage_v2.status": ("GET", "/api/v2/status.json", EVERYONE),
    "statuspage_v2.components": ("GET", "/api/v2/components.json", EVERYONE),
    "statuspage_v2.incidents": ("GET", "/api/v2/incidents.json", EVERYONE),
    "statuspage_v2.unresolved": ("GET", "/api/v2/incidents/unresolved.json", EVERYONE),
    "statuspage_v2.maintenances": ("GET", "/api/v2/scheduled-maintenances.json", EVERYONE),
    "statuspage_v2.upcoming": ("GET", "/api/v2/scheduled-maintenances/upcoming.json", EVERYONE),
    "statuspage_v2.active": ("GET", "/api/v2/scheduled-maintenances/active.json", EVERYONE),
    "status_admin.components": ("GET", "/admin/components", ADMINS),
    "status_admin.create_component": ("POST", "/admin/components", ADMINS),
    "status_admin.edit_component": ("GET", "/admin/components/999999", ADMINS),
    "status_admin.create_group": ("POST", "/admin/component-groups", ADMINS),
    "status_admin.edit_group": ("POST", "/admin/component-groups/999999", ADMINS),
    "status_admin.maintenance_list": ("GET", "/maintenance", SPEAKERS),
    "status_admin.create_maintenance": ("POST", "/maintenance", SPEAKERS),
    "status_admin.maintenance_show": ("GET", "/maintenance/999999", SPEAKERS),
    "status_admin.maintenance_edit": ("POST", "/maintenance/999999/edit", SPEAKERS),
    "status_admin.maintenance_update": ("POST", "/maintenance/999999/updates", SPEAKERS),
    "status_admin.maintenance_cancel": ("POST", "/maintenance/999999/cancel", SPEAKERS),
    "status_admin.incident_public": ("GET", "/incidents/{ref}/public", SPEAKERS),
    "api.list_components": ("GET", "/api/v1/components", SIGNED_IN),
    "api.create_component": ("POST", "/api/v1/components", ADMINS),
    "api.update_component": ("PATCH", "/api/v1/components/999999", ADMINS),
    "api.list_component_groups": ("GET", "/api/v1/component-groups", SIGNED_IN),
    "api.create_component_group": ("POST", "/api/v1/component-groups", ADMINS),
    "api.update_component_group": ("PATCH", "/api/v1/component-groups/999999", ADMINS),
    "api.list_maintenance": ("GET", "/api/v1/maintenance", SIGNED_IN),
    "api.create_maintenance": ("POST", "/api/v1/maintenance", SPEAKERS),
    "api.get_maintenance": ("GET", "/api/v1/maintenance/999999", SIGNED_IN),
    "api.update_maintenance": ("PATCH", "/api/v1/maintenance/999999", SPEAKERS),
    "api.post_maintenance_update": ("POST", "/api/v1/maintenance/999999/updates", SPEAKERS),
    "api.cancel_maintenance": ("POST", "/api/v1/maintenance/999999/cancel", SPEAKERS),
    "api.set_incident_public": ("PUT", "/api/v1/incidents/{ref}/public", SPEAKERS),
}


def test_every_route_has_an_expectation(app) -> None:  # noqa: ANN001
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(EXPECTED) == set(), "add the new route to EXPECTED"
    assert set(EXPECTED) - endpoints == set(), "EXPECTED names a route that no longer exists"


def _denied(endpoint: str, response, who) -> bool:  # noqa: ANN001
    if endpoint.startswith("api."):
        return response.status_code == (401 if who == "anonymous" else 403)
    if who == "anonymous":
        return response.status_code == 302 and "/login" in response.headers["Location"]
    return response.status_code == 403


@pytest.mark.parametrize("who", ["anonymous", *Role])
def test_role_matrix(app, client, make_user, make_token, who) -> None:  # noqa: ANN001
    ref = _incident(app)
    headers = {}
    if who != "anonymous":
        user = make_user(who)
        sign_in(client, user)
        headers = make_token(who)
    for endpoint, (method, template, allowed) in EXPECTED.items():
        if endpoint == "auth.logout":
            continue  # checked last: it ends the session
        path = template.format(ref=ref)
        response = client.open(path, method=method, headers=headers if endpoint.startswith("api.") else {},
                               json={} if endpoint.startswith("api.") and method != "GET" else None)
        if who in allowed:
            assert not _denied(endpoint, response, who), f"{who} should reach {endpoint}"
            assert response.status_code < 500, f"{endpoint}: {response.status_code}"
        else:
            assert _denied(endpoint, response, who), f"{who} should not reach {endpoint} ({response.status_code})"
        response.close()
    response = client.post("/logout")
    assert _denied("auth.logout", response, who) == (who == "anonymous")


def _incident(app) -> str:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind="outage", severity="P2", title="matrix",
                                         actor=Actor.system("test"), now=FIXED_NOW, zone=ZoneInfo("UTC"))
        session.commit()
        return incident.reference
