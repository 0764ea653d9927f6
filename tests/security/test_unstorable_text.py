"""Text no database can store (a NUL character, a lone surrogate) is refused with a 4xx, never a 500.

PostgreSQL refuses NUL in text columns, so before this check such a value reached the
database and failed there: a 500 on PostgreSQL, and on SQLite a value other clients choke on.
"""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.conftest import sign_in
from tests.support.snapshot import snapshot

BAD = ["支付\u0000失败", "\ud800"]


@pytest.mark.parametrize("text", BAD)
def test_api_bodies_name_the_field(api_as, engine, text: str) -> None:  # noqa: ANN001
    call = api_as(Role.ADMIN)
    ref = call("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P2", "title": "ok"}).json["reference"]
    before = snapshot(engine)
    cases = [
        ("POST", "/api/v1/incidents", {"kind": "outage", "severity": "P2", "title": text}, "title"),
        ("POST", f"/api/v1/incidents/{ref}/notes", {"body": text}, "body"),
        ("POST", "/api/v1/channels", {"name": "x", "kind": "webhook", "config": {"url": text}}, "config.url"),
        ("POST", "/api/v1/rules", {"name": "x", "brand": "y", "aliases": ["ok", text]}, "aliases"),
    ]
    for method, path, body, field in cases:
        response = call(method, path, json=body)
        assert response.status_code in (400, 422), (path, response.status_code)
        assert response.json["error"]["field"] == field, (path, response.json)
    assert snapshot(engine) == before


@pytest.mark.parametrize("text", BAD)
def test_hooks_name_the_field(api_as, engine, text: str) -> None:  # noqa: ANN001
    call = api_as(Role.AGENT)
    before = snapshot(engine)
    response = call("POST", "/hooks/generic", json={"title": text, "status": "firing"})
    assert response.status_code == 422 and response.json["error"]["field"] == "title", response.json
    assert snapshot(engine) == before


def test_forms_say_which_field(client, make_user, engine) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.ADMIN))
    before = snapshot(engine)
    response = client.post("/incidents", data={"kind": "outage", "severity": "P2", "title": "支付\x00失败"})
    assert response.status_code == 400
    assert "title" in response.get_data(as_text=True)
    assert snapshot(engine) == before
