"""CSRF on every state-changing form, found by walking the URL map.

Every rule that accepts POST, PUT, PATCH or DELETE outside the token-authenticated areas
(/api/v1 and /hooks, where a session cookie authenticates nothing) must refuse a signed-in
admin's request that lacks the CSRF token with 400, and change nothing. Each such route is
named below, as protected or as a deliberate exemption with its reason: a new route fails
`test_every_state_changing_route_is_classified` until someone decides which it is.
"""

from __future__ import annotations

import re

import pytest

from console import create_app
from incidents.models import Role
from tests.conftest import PASSWORD
from tests.support.snapshot import snapshot
from tests.test_permissions import EXPECTED, _incident, _monitor_ids

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN_AREAS = ("api.", "hooks.")  # bearer token only: a browser's cookies never authenticate there

EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click` with no form
    # and no session; the unguessable token in the URL is the proof, and it only ends a subscription.
    "subscribe.unsubscribe": "RFC 8058 one-click unsubscribe",
    # The confirmation page's button posts back to the mail's link: the token in it is the
    # proof, and it only starts a subscription its owner asked for (opening the link does nothing).
    "subscribe.confirm": "the confirmation link's button",
}

PROTECTED = frozenset({
    "auth.language", "auth.login", "auth.logout", "calendar.add_day", "calendar.remove_day",
    "calendar.save_hours", "channels.create", "channels.delete", "channels.send_test", "channels.switch",
    "channels.update", "comms.save_script", "comms.save_settings", "incidents.acknowledge",
    "incidents.add_note", "incidents.approve_draft",
    "incidents.confirm_talking_points", "incidents.create", "incidents.edit", "incidents.mark_met",
    "incidents.pause_clock", "incidents.publish_update", "incidents.reject_draft", "incidents.resume_clock",
    "incidents.save_talking_points", "incidents.tick_step", "incidents.transition", "incidents.waive",
    "intake.create_rule", "intake.delete_rule", "intake.save_hooks", "intake.update_rule",
    "monitor_config.rule_create", "monitor_config.rule_delete", "monitor_config.rule_update",
    "monitor_config.source_create", "monitor_config.source_delete", "monitor_config.source_poll",
    "monitor_config.source_update", "monitors.attach", "monitors.dismiss", "monitors.raise_incident",
    "notifications.mark_all_read", "notifications.mark_read", "notifications.snooze", "outreach.add_contact",
    "outreach.advance_compensation", "outreach.edit_contact", "outreach.import_contacts", "outreach.log_attempt",
    "outreach.paste_contacts", "outreach.remove_contact", "playbooks.save", "review.add_action_item", "review.complete_review",
    "review.record_step", "review.save_review", "review.settle_action_item", "review.waive_review",
    "roster.add", "roster.remove", "roster.take_duty", "sso_settings.link", "sso_settings.save",
    "sso_settings.unlink", "status_admin.create_component",
    "status_admin.create_group", "status_admin.create_maintenance", "status_admin.edit_component",
    "status_admin.edit_group", "status_admin.incident_public", "status_admin.maintenance_cancel",
    "status_admin.maintenance_edit", "status_admin.maintenance_update", "subscribe.subscribe",
    "subscriber_admin.create", "subscriber_admin.delete", "subscriber_admin.pause", "subscriber_admin.resume",
    "account.save_profile", "account.change_password", "people.change_role", "people.deactivate",
    "people.activate", "people.temporary_password", "people.unlock",
})

# Plausible form fields, so that a view reached by mistake would have something to save.
FORM = {"title": "csrf", "body": "csrf", "summary": "csrf", "name": "csrf", "reason": "csrf", "note": "csrf",
        "kind": "outage", "severity": "P2", "to": "identified", "locale": "en", "url": "https://example.com/h",
        "username": "admin", "password": PASSWORD}


@pytest.fixture()
def csrf_app(engine, database_url):  # noqa: ANN001, ANN201
    """The console as it runs: CSRF on."""
    from tests.conftest import empty_tables

    empty_tables(engine)
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "WTF_CSRF_ENABLED": True,
                       "SECRET_KEY": "csrf-test", "PUBLIC_URL": "http://localhost"})


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _sign_in(client, username: str) -> str:  # noqa: ANN001
    """Sign in through the real form, token included; returns the session's CSRF token."""
    token = _token(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return _token(client.get("/").text)


def _state_changing_rules(app) -> dict[str, set[str]]:  # noqa: ANN001
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & STATE_CHANGING
        if methods:
            rules.setdefault(rule.endpoint, set()).update(methods)
    return rules


def test_every_state_changing_route_is_classified(csrf_app) -> None:  # noqa: ANN001
    browser_routes = {e for e in _state_changing_rules(csrf_app) if not e.startswith(TOKEN_AREAS)}
    unclassified = browser_routes - PROTECTED - set(EXEMPT)
    assert unclassified == set(), "new state-changing routes: add each to PROTECTED (or, with a reason, EXEMPT)"
    assert (PROTECTED | set(EXEMPT)) - browser_routes == set(), "PROTECTED/EXEMPT name routes that no longer exist"
    assert PROTECTED.isdisjoint(EXEMPT)


def test_a_form_without_the_token_is_refused_and_changes_nothing(csrf_app, engine, make_user) -> None:  # noqa: ANN001
    admin = make_user(Role.ADMIN, "csrf-admin")
    ref, deadline = _incident(csrf_app)
    ids = _monitor_ids(csrf_app)
    client = csrf_app.test_client()
    token = _sign_in(client, admin.username)
    rules = _state_changing_rules(csrf_app)
    before = snapshot(engine)
    refused = []
    for endpoint in sorted(PROTECTED):
        path = EXPECTED[endpoint][1].format(ref=ref, deadline=deadline, **ids).split("?")[0]
        for method in sorted(rules[endpoint]):
            for forged in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
                response = client.open(path, method=method, data={**FORM, **forged})
                assert response.status_code == 400, f"{method} {path} ({endpoint}) answered {response.status_code}"
            # An htmx request with a forged header is refused too.
            response = client.open(path, method=method, data=FORM, headers={"HX-Request": "true",
                                                                             "X-CSRFToken": "forged"})
            assert response.status_code == 400, f"htmx {method} {path}"
            refused.append(endpoint)
    assert snapshot(engine) == before, "a refused request changed something"
    assert set(refused) == PROTECTED
    assert client.get("/").status_code == 200, "the refused logout must not have signed the admin out"


def test_the_token_is_what_the_refusal_was_about(csrf_app, engine, make_user) -> None:  # noqa: ANN001
    """With the session's token (form field or htmx header) the same requests go through."""
    admin = make_user(Role.ADMIN, "csrf-admin")
    ref, _deadline = _incident(csrf_app)
    client = csrf_app.test_client()
    token = _sign_in(client, admin.username)
    note = client.post(f"/incidents/{ref}/notes", data={"body": "有令牌", "csrf_token": token})
    assert note.status_code in (200, 303), note.status_code
    htmx = client.post(f"/incidents/{ref}/notes", data={"body": "htmx 有令牌"},
                       headers={"HX-Request": "true", "X-CSRFToken": token})
    assert htmx.status_code == 200, htmx.status_code
    other = csrf_app.test_client()
    other_token = _sign_in(other, make_user(Role.ADMIN, "other-admin").username)
    # Another person's token does not work in this session.
    stolen = client.post(f"/incidents/{ref}/notes", data={"body": "别人的令牌", "csrf_token": other_token})
    assert stolen.status_code == 400


def test_token_areas_ignore_the_session_cookie(csrf_app, engine, make_user) -> None:  # noqa: ANN001
    """/api/v1 and /hooks are exempt from CSRF because a browser's session authenticates nothing there."""
    client = csrf_app.test_client()
    _sign_in(client, make_user(Role.ADMIN, "csrf-admin").username)
    before = snapshot(engine)
    for method, path in [("POST", "/api/v1/incidents"), ("POST", "/hooks/generic"), ("POST", "/api/v1/sources"),
                         ("PUT", "/api/v1/business-hours"), ("POST", "/api/v1/channels")]:
        response = client.open(path, method=method, json={"kind": "outage", "severity": "P1", "title": "x",
                                                          "status": "firing"})
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
    assert snapshot(engine) == before


def test_the_one_click_unsubscribe_exemption_is_only_that(csrf_app) -> None:  # noqa: ANN001
    """The exempt route answers a tokenless POST (RFC 8058) and does nothing for an unknown token."""
    client = csrf_app.test_client()
    response = client.post("/status/unsubscribe/not-a-real-token", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code in (200, 404), response.status_code
