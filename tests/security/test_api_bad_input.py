"""Hostile request bodies on every /api/v1 route and method: a 400 or 422 naming the problem, never a 500.

The routes come from the app's own url_map, their path parameters from a seeded crisis (an
incident with notes, an update, contacts and attempts, a case, a review and its action item,
components, maintenance, sources, rules, subscribers, channels, a shift). Two passes:

* malformed bodies (deep nesting, numbers no column holds, NaN/Infinity, a non-object, invalid
  UTF-8, a wrong Content-Type) sent to every write route: each is refused with the JSON error
  shape and nothing at all is saved;
* every field a route accepts (as its unknown-field refusal lists them) given values of the
  wrong type or out of range, one at a time: never a 5xx, always the error shape on a 4xx,
  and nothing saved when every answer was a refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from console import create_app
from incidents import accounts
from incidents.actors import Actor
from tests.conftest import FIXED_NOW, PASSWORD, empty_tables
from tests.security.xss_seed import seed
from tests.support.snapshot import snapshot

# An id no seeded row has: the body is refused before the row is looked up.
MISSING = 999_999
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NESTED = b"[" * 10_000 + b"]" * 10_000
# (name, raw body, Content-Type)
MALFORMED: list[tuple[str, bytes, str]] = [
    ("deep list", NESTED, "application/json"),
    ("deep object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "application/json"),
    ("deep value", b'{"title": ' + NESTED + b"}", "application/json"),
    ("huge float", b'{"version": 1e400, "title": 1e400}', "application/json"),
    ("huge int", b'{"version": 1' + b"0" * 100 + b"}", "application/json"),
    ("giant int", b'{"version": 1' + b"0" * 5_000 + b"}", "application/json"),
    ("NaN", b'{"version": NaN}', "application/json"),
    ("Infinity", b'{"version": -Infinity}', "application/json"),
    ("list body", b"[1, 2, 3]", "application/json"),
    ("string body", b'"text"', "application/json"),
    ("null body", b"null", "application/json"),
    ("number body", b"-0", "application/json"),
    ("truncated", b'{"title": "', "application/json"),
    ("invalid utf-8", b'{"title": "\xff\xfe\xc3"}', "application/json"),
    ("latin-1 declared", '{"title": "é"}'.encode("latin-1"), "application/json; charset=latin-1"),
    ("form body", b"title=x&version=1", "application/x-www-form-urlencoded"),
    ("text body", b'{"title": "x"}', "text/plain"),
    ("no content type", b'{"title": "x"}', ""),
]
HOSTILE_VALUES: list[Any] = ["text", "", 10**100, 2**63, -(2**63) - 1, 2**31, -1, True, False, None, [], {},
                             [None], {"a": None}, 1.5, -0.0, [[[[["deep"]]]]], [2**31], [True], [1.5], ["9" * 30],
                             {"2147483648": "operational"}, {"1": True}, {"url": 2**31}]


# Valid bodies for the create routes: a hostile value in one field, the rest valid, reaches the
# checks behind the first required field (e.g. an owner id looked up after the title is read).
LATER = "2030-01-02T09:00:00+08:00"
VALID: dict[str, dict[str, Any]] = {
    "/api/v1/incidents": {"kind": "outage", "severity": "P3", "title": "支付失败", "summary": "x"},
    "/notes": {"body": "已联系"},
    "/review/actions": {"title": "补监控", "owner_id": 1, "due_date": "2030-01-02"},
    "/contacts": {"name": "李先生", "platform": "other", "handle": "li-bad-input", "demand": "退款"},
    "/attempts": {"result": "no_answer", "channel": "other", "note": "x", "promise": "回电", "promise_due_at": LATER},
    "/api/v1/components": {"name": "下单", "position": 2},
    "/api/v1/component-groups": {"name": "交易"},
    "/api/v1/maintenance": {"title": "升级", "scheduled_start": LATER, "scheduled_end": "2030-01-02T10:00:00+08:00"},
    "/api/v1/rules": {"name": "规则", "brand": "品牌", "aliases": ["别名"]},
    "/api/v1/sources": {"name": "源", "url": "https://93.184.216.34/feed/x"},
    "/api/v1/subscribers": {"kind": "webhook", "url": "https://93.184.216.34/hook/x"},
    "/api/v1/channels": {"name": "群", "kind": "webhook", "config": {"url": "https://93.184.216.34/hook/y"}},
    "/api/v1/roster/shifts": {"user": "bad-input-admin", "starts_at": LATER, "hours": 1},
    "/api/v1/calendar/days": {"date": "2030-03-01", "workday": True, "note": "x"},
    "/api/v1/complaints": {"product": "会员", "category": "quality", "channel": "hotline", "text": "x"},
}


def _valid_body(method: str, path: str) -> dict[str, Any]:
    if method != "POST":
        return {}
    for ending, body in VALID.items():
        if path == ending or (not ending.startswith("/api/") and path.endswith(ending)):
            return body
    return {}


@pytest.fixture(scope="module")
def crisis(engine, database_url):  # noqa: ANN001, ANN201
    """An app with a seeded crisis and an admin token; returns (app, call, path parameters)."""
    empty_tables(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "bad-input", "PUBLIC_URL": "http://localhost"})
    with app.extensions["db_sessionmaker"]() as session:
        admin = accounts.create_user(session, username="bad-input-admin", password=PASSWORD, role="admin",
                                     display_name="管理员", locale="en", actor=Actor.system("test"), now=FIXED_NOW)
        _token, secret = accounts.create_token(session, name="bad-input", role="admin", user_id=admin.id,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        # The person the /users/<username> routes are walked on (not the admin whose token walks).
        accounts.create_user(session, username="bad-input-agent", password=PASSWORD, role="agent",
                             display_name="坐席", locale="en", actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
        owner_id, owner_username = admin.id, admin.username
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = client.open(path, method=method, json=body, headers=auth, **kwargs)
        return response.status_code, response.get_json(silent=True)

    def raw(method: str, path: str, data: bytes, content_type: str) -> Any:
        headers = dict(auth)
        if content_type:
            headers["Content-Type"] = content_type
        return client.open(path, method=method, data=data, headers=headers)

    seeded = seed(call, ["种子 seed"], owner_id=owner_id, owner_username=owner_username)
    for what, path, body in (
            ("contact", f"/api/v1/incidents/{seeded.incidents[0]}/contacts",
             {"name": "王女士", "platform": "weibo", "handle": "wang-seed", "demand": "退款"}),
            ("rule", "/api/v1/rules", {"name": "种子规则", "brand": "种子"})):
        status, answer = call("POST", path, body)
        assert status == 201, (what, status, answer)
        (seeded.contacts.append((seeded.incidents[0], answer["id"])) if what == "contact"
         else seeded.rules.append(answer["id"]))
    yield app, call, raw, _parameters(call, seeded)
    empty_tables(engine)


def _first_id(call, path: str, key: str) -> int | None:  # noqa: ANN001
    status, body = call("GET", path)
    rows = body.get(key) if status == 200 and isinstance(body, dict) else None
    return rows[0]["id"] if rows else None


def _parameters(call, seeded) -> dict[str, Any]:  # noqa: ANN001
    reference = seeded.incidents[0]
    base = f"/api/v1/incidents/{reference}"
    _status, review = call("GET", f"{base}/review")
    _status, checklist = call("GET", f"{base}/checklist")
    steps = checklist.get("steps", checklist.get("checklist", [])) if isinstance(checklist, dict) else []
    return {
        "reference": reference,
        "contact_id": seeded.contacts[0][1] if seeded.contacts else MISSING,
        "maintenance_id": seeded.maintenance[0],
        "subscriber_id": seeded.subscribers[0],
        "source_id": seeded.sources[0],
        "/rules/": seeded.rules[0],
        "/complaint-rules/": _first_id(call, "/api/v1/complaint-rules", "rules") or MISSING,
        "component_id": _first_id(call, "/api/v1/components", "components") or MISSING,
        "group_id": _first_id(call, "/api/v1/component-groups", "groups") or MISSING,
        "channel_id": _first_id(call, "/api/v1/channels", "channels") or MISSING,
        "deadline_id": _first_id(call, f"{base}/deadlines", "deadlines") or MISSING,
        "shift_id": _first_id(call, "/api/v1/roster/shifts", "shifts") or MISSING,
        "notification_id": _first_id(call, "/api/v1/notifications", "notifications") or MISSING,
        "mention_id": _first_id(call, "/api/v1/mentions", "mentions") or MISSING,
        "item_id": (review.get("action_items") or [{"id": MISSING}])[0]["id"] if isinstance(review, dict) else MISSING,
        "draft_id": MISSING,
        "compensation_id": MISSING,
        "step": "prejudge",
        "checklist_step": steps[0]["key"] if steps and isinstance(steps[0], dict) and "key" in steps[0] else "x",
        "kind": "outage",
        "purpose": "progress",
        "day": "2030-01-01",
        "name": "summary",
        "username": "bad-input-agent",
    }


def _routes(app, parameters: dict[str, Any]) -> list[tuple[str, str]]:  # noqa: ANN001
    """(method, path) of every /api/v1 write route, its parameters filled from the seeded crisis."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        values = {}
        for argument in rule.arguments:
            if argument == "rule_id":
                values[argument] = parameters["/complaint-rules/" if "complaint" in rule.rule else "/rules/"]
            elif argument == "step" and "checklist" in rule.rule:
                values[argument] = parameters["checklist_step"]
            else:
                values[argument] = parameters[argument]
        path = rule.build(values, append_unknown=False)[1]
        found.extend((method, path) for method in sorted(rule.methods or ()) if method in WRITE_METHODS)
    return sorted(found, key=lambda route: (route[0] == "DELETE", route[1], route[0]))


def _error_shape(status: int, body: Any, where: str) -> None:
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"{where}: {status} without the error shape"
    error = body["error"]
    assert error.get("code") and error.get("message"), f"{where}: {body}"
    assert "Traceback" not in json.dumps(body), where


def test_every_write_route_refuses_malformed_bodies_and_saves_nothing(crisis, engine) -> None:  # noqa: ANN001
    app, _call, raw, parameters = crisis
    routes = _routes(app, parameters)
    assert len(routes) > 60, routes
    before = snapshot(engine)
    failures = []
    for method, path in routes:
        for name, data, content_type in MALFORMED:
            response = raw(method, path, data, content_type)
            body = response.get_json(silent=True)
            where = f"{method} {path} [{name}]"
            if response.status_code not in (400, 422):
                failures.append(f"{where}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                continue
            _error_shape(response.status_code, body, where)
    assert not failures, "\n".join(failures)
    assert snapshot(engine) == before


def test_the_valid_bodies_are_accepted(crisis) -> None:  # noqa: ANN001
    """What the field pass builds on is itself valid: else it would probe no deeper than before."""
    app, call, _raw, parameters = crisis
    answered = {}
    for method, path in _routes(app, parameters):
        if method == "POST" and _valid_body(method, path):
            answered[path] = call(method, path, _valid_body(method, path))
    assert len(answered) >= len(VALID), sorted(answered)
    refused = {path: answer for path, answer in answered.items() if answer[0] not in (200, 201, 202)}
    assert not refused, refused


def _accepted_fields(raw, method: str, path: str) -> list[str] | None:  # noqa: ANN001
    """The fields a route reads, as its refusal of an unknown field lists them (None: it reads no body)."""
    response = raw(method, path, b'{"no_such_field": 1}', "application/json")
    body = response.get_json(silent=True) or {}
    if response.status_code != 400 or "accepted" not in body.get("error", {}):
        return None
    return body["error"]["accepted"]


def test_every_field_refuses_wrong_types_and_out_of_range_values(crisis, engine) -> None:  # noqa: ANN001
    app, call, raw, parameters = crisis
    failures, probed = [], 0
    for method, path in _routes(app, parameters):
        if method == "DELETE":
            continue
        fields = _accepted_fields(raw, method, path)
        if not fields:
            continue
        probed += 1
        before, all_refused = snapshot(engine), True
        for field in fields:
            for value in HOSTILE_VALUES:
                status, body = call(method, path, {**_valid_body(method, path), field: value})
                where = f"{method} {path} {field}={value!r}"
                if status >= 500:
                    failures.append(f"{where}: {status} {body}")
                elif status >= 400:
                    _error_shape(status, body, where)
                else:
                    all_refused = False
        if all_refused:
            assert snapshot(engine) == before, f"{method} {path}: a refused request saved something"
    assert probed > 40, probed
    assert not failures, "\n".join(failures)


def test_ids_beyond_what_a_key_holds_are_not_found(crisis) -> None:  # noqa: ANN001
    app, call, _raw, parameters = crisis
    for rule in app.url_map.iter_rules():
        ids = [a for a in rule.arguments if a.endswith("_id")]
        if not rule.rule.startswith("/api/v1") or not ids or "GET" not in (rule.methods or ()):
            continue
        values = {a: parameters.get(a, "x") for a in rule.arguments} | {a: 2**40 for a in ids}
        values.update({a: parameters["reference"] for a in rule.arguments if a == "reference"})
        status, body = call("GET", rule.build(values, append_unknown=False)[1])
        assert status == 404, (rule.rule, status, body)
        _error_shape(status, body, rule.rule)


def test_an_unexpected_failure_shows_no_traceback(engine, database_url) -> None:  # noqa: ANN001
    """TESTING off, as in production: a failing view answers the calm 500, never its internals."""
    empty_tables(engine)
    app = create_app({"DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "bad-input",
                      "PUBLIC_URL": "http://localhost"})
    with app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="fails", role="admin", user_id=None,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()

    def fails(**_kwargs: Any) -> None:
        raise KeyError("secret internals: /srv/console/settings.py line 12")

    app.view_functions["api.list_users"] = fails
    app.view_functions["status.index"] = fails
    client = app.test_client()
    answer = client.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 500 and answer.json["error"]["code"] == "internal_error"
    page = client.get("/status", headers={"Accept-Language": "en"})
    assert page.status_code == 500
    for text in (answer.get_data(as_text=True), page.get_data(as_text=True)):
        assert "Traceback" not in text and "secret internals" not in text and "KeyError" not in text
    empty_tables(engine)


QUERIES = ["limit=1e400", "limit=-1", "limit=99999999999999999999999", "limit=true", "page=0", "page=NaN",
           "days=99999999999999999999", "status=%00", "q=%ff%fe", "q=" + "[" * 2000, "from=2026-13-45", "to=-0",
           "kind=null", "severity=P9&status=nope", "start=9999-99-99", "actor=99999999999999", "format=csv%00"]


def test_every_read_route_survives_hostile_query_strings(crisis) -> None:  # noqa: ANN001
    app, call, _raw, parameters = crisis
    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or "GET" not in (rule.methods or ()):
            continue
        values = {a: parameters["/rules/"] if a == "rule_id" else parameters[a] for a in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for query in QUERIES:
            status, body = call("GET", f"{path}?{query}")
            if status >= 500:
                failures.append(f"GET {path}?{query}: {status} {body}")
            elif status >= 400 and not (isinstance(body, dict) and "error" in body):
                failures.append(f"GET {path}?{query}: {status} without the error shape")
    assert not failures, "\n".join(failures)
