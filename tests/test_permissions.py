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
    # Settings behind the clock (issue 3): playbooks, duty roster, team channels, business calendar.
    "playbooks.index": ("GET", "/settings/playbooks", COMMANDERS),
    "playbooks.show": ("GET", "/settings/playbooks/outage", COMMANDERS),
    "playbooks.save": ("POST", "/settings/playbooks/outage", ADMINS),
    "roster.show": ("GET", "/roster", SIGNED_IN),
    "roster.add": ("POST", "/roster/shifts", COMMANDERS),
    "roster.take_duty": ("POST", "/roster/on-duty", COMMANDERS),
    "roster.remove": ("POST", "/roster/shifts/999/delete", COMMANDERS),
    "channels.index": ("GET", "/settings/channels", ADMINS),
    "channels.new": ("GET", "/settings/channels/new?kind=wecom", ADMINS),
    "channels.create": ("POST", "/settings/channels", ADMINS),
    "channels.edit": ("GET", "/settings/channels/999/edit", ADMINS),
    "channels.update": ("POST", "/settings/channels/999", ADMINS),
    "channels.switch": ("POST", "/settings/channels/999/switch", ADMINS),
    "channels.send_test": ("POST", "/settings/channels/999/test", ADMINS),
    "channels.delete": ("POST", "/settings/channels/999/delete", ADMINS),
    "calendar.show": ("GET", "/settings/calendar", ADMINS),
    "calendar.save_hours": ("POST", "/settings/calendar/hours", ADMINS),
    "calendar.add_day": ("POST", "/settings/calendar/days", ADMINS),
    "calendar.remove_day": ("POST", "/settings/calendar/days/2026-10-01/delete", ADMINS),
    "api.settings.list_playbooks": ("GET", "/api/v1/playbooks", COMMANDERS),
    "api.settings.get_playbook": ("GET", "/api/v1/playbooks/outage", COMMANDERS),
    "api.settings.change_playbook": ("PATCH", "/api/v1/playbooks/outage", ADMINS),
    "api.settings.list_shifts": ("GET", "/api/v1/roster/shifts", SIGNED_IN),
    "api.settings.add_shift": ("POST", "/api/v1/roster/shifts", COMMANDERS),
    "api.settings.remove_shift": ("DELETE", "/api/v1/roster/shifts/999", COMMANDERS),
    "api.settings.on_duty": ("GET", "/api/v1/roster/on-duty", SIGNED_IN),
    "api.settings.list_channels": ("GET", "/api/v1/channels", ADMINS),
    "api.settings.get_channel": ("GET", "/api/v1/channels/999", ADMINS),
    "api.settings.create_channel": ("POST", "/api/v1/channels", ADMINS),
    "api.settings.update_channel": ("PATCH", "/api/v1/channels/999", ADMINS),
    "api.settings.delete_channel": ("DELETE", "/api/v1/channels/999", ADMINS),
    "api.settings.test_channel": ("POST", "/api/v1/channels/999/test", ADMINS),
    "api.settings.get_business_hours": ("GET", "/api/v1/business-hours", ADMINS),
    "api.settings.put_business_hours": ("PUT", "/api/v1/business-hours", ADMINS),
    "api.settings.list_calendar_days": ("GET", "/api/v1/calendar/days", ADMINS),
    "api.settings.set_calendar_day": ("POST", "/api/v1/calendar/days", ADMINS),
    "api.settings.remove_calendar_day": ("DELETE", "/api/v1/calendar/days/2026-10-01", ADMINS),
    "api.settings.calendar_preview": ("GET", "/api/v1/calendar/preview", ADMINS),
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
