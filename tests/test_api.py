"""The JSON API: scripts can do what people do; errors are JSON with a code, message and field."""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.support.reviews import waive_review_of


@pytest.fixture()
def api(api_as):  # noqa: ANN001, ANN201
    return api_as(Role.DUTY_MANAGER)


def _create(api, **overrides):  # noqa: ANN001, ANN202
    body = {"kind": "public_opinion", "severity": "P2", "title": "微博出现大量差评"}
    body.update(overrides)
    return api("POST", "/api/v1/incidents", json=body)


def test_lifecycle_through_the_api(api, app) -> None:  # noqa: ANN001
    created = _create(api)
    assert created.status_code == 201
    ref = created.json["reference"]
    waive_review_of(app, ref)
    assert created.json["source"] == "api" and created.headers["Location"].endswith(ref)
    for target in ("identified", "monitoring", "resolved", "closed"):
        response = api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": target})
        assert response.status_code == 200, response.json
    note = api("POST", f"/api/v1/incidents/{ref}/notes", json={"body": "已私信博主"})
    assert note.status_code == 201
    detail = api("GET", f"/api/v1/incidents/{ref}").json
    assert detail["status"] == "closed"
    assert [e["kind"] for e in detail["timeline"]][:2] == ["note", "status_changed"]
    assert api("GET", "/api/v1/incidents?status=open").json["incidents"] == []
    assert len(api("GET", "/api/v1/incidents?status=all").json["incidents"]) == 1


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"kind": "outage", "severity": "P1"}, 422, "title"),
    ({"kind": "outage", "severity": "P1", "title": ""}, 422, "title"),
    ({"kind": "outage", "severity": "P1", "title": "x" * 201}, 422, "title"),
    ({"kind": "meteor", "severity": "P1", "title": "x"}, 422, "kind"),
    ({"kind": "outage", "severity": "P9", "title": "x"}, 422, "severity"),
    ({"kind": "outage", "severity": "P1", "title": 42}, 422, "title"),
    ({"kind": "outage", "severity": "P1", "title": "x", "colour": "red"}, 400, "colour"),
    ({"kind": "outage", "severity": "P1", "title": "x", "commander": "ghost"}, 422, "commander"),
])
def test_bad_bodies_name_the_field(api, body, status, field) -> None:  # noqa: ANN001
    response = api("POST", "/api/v1/incidents", json=body)
    assert response.status_code == status
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    assert api("GET", "/api/v1/incidents?status=all").json["incidents"] == []


def test_malformed_json_and_content_type(api) -> None:  # noqa: ANN001
    bad = api("POST", "/api/v1/incidents", data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    form = api("POST", "/api/v1/incidents", data={"title": "x"})
    assert form.status_code == 400 and "Content-Type" in form.json["error"]["message"]
    assert api("POST", "/api/v1/incidents", json=[1, 2]).status_code == 400


def test_unknown_incident_and_route_are_json_404(api) -> None:  # noqa: ANN001
    response = api("GET", "/api/v1/incidents/INC-20000101-0001")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert api("GET", "/api/v1/nothing-here").json["error"]["code"] == "not_found"


def test_forbidden_transition_is_409(api) -> None:  # noqa: ANN001
    ref = _create(api).json["reference"]
    response = api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "closed"})
    assert response.status_code == 409
    assert response.json["error"] == {"code": "transition_not_allowed", "message": "cannot move from investigating to closed",
                                       "field": "to", "current": "investigating"}


def test_stale_version_is_409(api) -> None:  # noqa: ANN001
    ref = _create(api).json["reference"]
    assert api("PATCH", f"/api/v1/incidents/{ref}", json={"version": 1, "severity": "P1"}).status_code == 200
    stale = api("PATCH", f"/api/v1/incidents/{ref}", json={"version": 1, "title": "新标题"})
    assert stale.status_code == 409 and stale.json["error"]["field"] == "version"
    late = api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "identified", "version": 1})
    assert late.status_code == 409
    missing = api("PATCH", f"/api/v1/incidents/{ref}", json={"title": "x"})
    assert missing.status_code == 422 and missing.json["error"]["field"] == "version"


def test_assign_by_username(api, make_user) -> None:  # noqa: ANN001
    make_user(Role.DUTY_MANAGER, "wangfang")
    ref = _create(api, commander="wangfang").json["reference"]
    detail = api("GET", f"/api/v1/incidents/{ref}").json
    assert detail["commander"] == "wangfang"


def test_revoked_or_missing_token_is_401(client, app, make_token) -> None:  # noqa: ANN001
    from incidents import accounts
    from incidents.actors import Actor
    from tests.conftest import FIXED_NOW

    headers = make_token(Role.VIEWER)
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200
    with app.extensions["db_sessionmaker"]() as session:
        accounts.revoke_token(session, name="token1", actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401
    assert client.get("/api/v1/incidents").json["error"]["code"] == "unauthorized"


def test_viewer_token_cannot_open(client, make_token) -> None:  # noqa: ANN001
    response = client.post("/api/v1/incidents", headers=make_token(Role.VIEWER),
                           json={"kind": "outage", "severity": "P1", "title": "x"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
