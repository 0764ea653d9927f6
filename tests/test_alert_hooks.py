"""Alert webhooks through the app: auth, bad bodies, grouping, repeats, recoveries, severity."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from incidents import roster
from incidents.actors import Actor
from incidents.intake_models import AlertGroup
from incidents.models import Incident, Notification, Role, TimelineEvent
from tests.conftest import FIXED_NOW, sign_in
from tests.support.snapshot import snapshot
from tests.support.reviews import waive_review_of

GROUP = '{}:{alertname="支付接口错误率过高"}'


def alert(fingerprint: str, *, status: str = "firing", severity: str = "warning", **labels: str) -> dict[str, Any]:
    """One alert as Alertmanager sends it."""
    return {
        "status": status,
        "labels": {"alertname": "支付接口错误率过高", "service": "payments", "severity": severity, **labels},
        "annotations": {"summary": f"实例 {fingerprint} 错误率超过 5%"},
        "startsAt": "2026-11-22T01:58:00.123456789Z",
        "endsAt": "2026-11-22T02:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=errors",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], group: str = GROUP) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) carrying these alerts."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "console", "status": "firing" if firing else "resolved", "alerts": list(alerts),
        "groupLabels": {"alertname": "支付接口错误率过高"},
        "commonLabels": {"alertname": "支付接口错误率过高", "service": "payments"},
        "commonAnnotations": {"summary": "支付接口错误率超过 5%"},
        "externalURL": "http://127.0.0.1:9093", "version": "4", "groupKey": group, "truncatedAlerts": 0,
    }


@pytest.fixture(autouse=True)
def _console_at_the_alerts_time(app) -> None:  # noqa: ANN001
    """The alerts and the roster are dated around FIXED_NOW: the console reads the same instant."""
    app.config["CLOCK"] = lambda: FIXED_NOW


@pytest.fixture()
def hook(api_as):  # noqa: ANN001, ANN201
    """post(path, body) with an agent's token (the least role allowed)."""
    call = api_as(Role.AGENT)

    def post(path: str, body: Any):  # noqa: ANN202
        return call("POST", path, json=body)

    post.token = call.token
    return post


def _session(app):  # noqa: ANN001, ANN202
    return app.extensions["db_sessionmaker"]()


def _incidents(app) -> list[Incident]:  # noqa: ANN001
    with _session(app) as session:
        return list(session.scalars(sa.select(Incident).order_by(Incident.id)))


def _events(app, incident: Incident, kind: str | None = None) -> list[TimelineEvent]:  # noqa: ANN001
    with _session(app) as session:
        statement = sa.select(TimelineEvent).where(TimelineEvent.incident_id == incident.id).order_by(TimelineEvent.id)
        return [e for e in session.scalars(statement) if kind is None or e.kind.value == kind]


def test_refused_without_a_valid_token(app, client, make_token) -> None:  # noqa: ANN001
    viewer = make_token(Role.VIEWER)
    before = snapshot(app.extensions["db_engine"])
    body = payload(alert("a1"))
    assert client.post("/hooks/alertmanager", json=body).status_code == 401
    assert client.post("/hooks/alertmanager?token=crs_wrong", json=body).status_code == 401
    assert client.post("/hooks/generic", json={"title": "t", "status": "firing"},
                       headers={"Authorization": "Bearer nope"}).status_code == 401
    refused = client.post("/hooks/alertmanager", json=body, headers=viewer)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert snapshot(app.extensions["db_engine"]) == before


def test_token_in_the_url_is_accepted(app, client, hook) -> None:  # noqa: ANN001
    response = client.post(f"/hooks/alertmanager?token={hook.token}", json=payload(alert("a1")))
    assert response.status_code == 201 and response.json["result"] == "opened"


def test_firing_opens_an_outage_incident_and_tells_the_duty_manager(app, hook, make_user) -> None:  # noqa: ANN001
    on_duty, off_duty = make_user(Role.DUTY_MANAGER, "zhangwei"), make_user(Role.DUTY_MANAGER, "liuyang")
    with _session(app) as session:
        roster.add_shift(session, user_id=on_duty.id, starts_at=FIXED_NOW - timedelta(days=1),
                         ends_at=FIXED_NOW + timedelta(days=3), actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    response = hook("/hooks/alertmanager", payload(alert("a1"), alert("a2", severity="critical")))
    assert response.status_code == 201
    assert response.json["result"] == "opened" and response.json["firing"] == 2
    (incident,) = _incidents(app)
    assert incident.reference == response.json["incident"]
    assert (incident.kind.value, incident.source.value, incident.status.value) == ("outage", "alert", "investigating")
    assert incident.severity.value == "P1"  # the most severe alert of the group
    assert incident.title == "支付接口错误率过高" and "支付接口错误率超过 5%" in incident.summary
    assert "payments" in incident.summary  # the component from the `service` label
    (entry,) = _events(app, incident, "alert_firing")
    assert [a["fingerprint"] for a in entry.data["alerts"]] == ["a1", "a2"]
    assert entry.actor_label.startswith("hook:")
    with _session(app) as session:
        told = session.scalars(sa.select(Notification)).all()
        assert [(n.user_id, n.kind) for n in told] == [(on_duty.id, "alert_opened")]
        assert incident.reference in told[0].title and off_duty.id not in [n.user_id for n in told]


def test_nobody_on_the_roster_tells_every_duty_manager(app, hook, make_user) -> None:  # noqa: ANN001
    first, second = make_user(Role.DUTY_MANAGER), make_user(Role.DUTY_MANAGER)
    hook("/hooks/alertmanager", payload(alert("a1")))
    with _session(app) as session:
        assert sorted(session.scalars(sa.select(Notification.user_id))) == [first.id, second.id]


def test_the_same_payload_twice_changes_nothing(app, hook) -> None:  # noqa: ANN001
    body = payload(alert("a1"), alert("a2"))
    assert hook("/hooks/alertmanager", body).json["result"] == "opened"
    before = snapshot(app.extensions["db_engine"])
    again = hook("/hooks/alertmanager", body)
    assert again.status_code == 200 and again.json["result"] == "unchanged"
    assert snapshot(app.extensions["db_engine"]) == before
    resolved = payload(alert("a1", status="resolved"), alert("a2", status="resolved"))
    assert hook("/hooks/alertmanager", resolved).json["result"] == "updated"
    before = snapshot(app.extensions["db_engine"])
    assert hook("/hooks/alertmanager", resolved).json["result"] == "unchanged"
    assert snapshot(app.extensions["db_engine"]) == before


def test_alerts_group_by_group_key(app, hook) -> None:  # noqa: ANN001
    first = hook("/hooks/alertmanager", payload(alert("a1"))).json["incident"]
    more = hook("/hooks/alertmanager", payload(alert("a1"), alert("a2")))
    assert more.status_code == 200 and more.json == {**more.json, "result": "updated", "incident": first, "firing": 1}
    other = hook("/hooks/alertmanager", payload(alert("b1"), group='{}:{alertname="下单失败"}'))
    assert other.status_code == 201 and other.json["incident"] != first
    incident = _incidents(app)[0]
    entries = _events(app, incident, "alert_firing")
    assert [[a["fingerprint"] for a in e.data["alerts"]] for e in entries] == [["a1"], ["a2"]]  # only what is new
    with _session(app) as session:
        assert session.scalar(sa.select(sa.func.count(AlertGroup.id))) == 2


def test_severity_rises_but_never_drops(app, hook) -> None:  # noqa: ANN001
    hook("/hooks/alertmanager", payload(alert("a1", severity="warning")))
    assert _incidents(app)[0].severity.value == "P3"
    raised = hook("/hooks/alertmanager", payload(alert("a1"), alert("a2", severity="critical")))
    assert raised.json["severity_raised"] is True
    incident = _incidents(app)[0]
    assert incident.severity.value == "P1"
    (change,) = _events(app, incident, "field_changed")
    assert change.data["changes"] == [{"field": "severity", "before": "P3", "after": "P1"}]
    calmer = hook("/hooks/alertmanager", payload(alert("a1"), alert("a2", severity="critical"),
                                                  alert("a3", severity="info")))
    assert calmer.json["result"] == "updated" and calmer.json["severity_raised"] is False
    assert _incidents(app)[0].severity.value == "P1"
    assert _events(app, incident, "alert_firing")[-1].data["severity"] == "P4"  # said, not applied


def test_resolved_suggests_resolving_and_leaves_the_decision_to_a_person(app, client, hook, make_user) -> None:  # noqa: ANN001
    manager = make_user(Role.DUTY_MANAGER, "duty")
    hook("/hooks/alertmanager", payload(alert("a1"), alert("a2")))
    partly = hook("/hooks/alertmanager", payload(alert("a1", status="resolved"), alert("a2")))
    assert partly.json["resolved"] == 1
    incident = _incidents(app)[0]
    (first,) = _events(app, incident, "alert_resolved")
    assert first.data["all_resolved"] is False and first.data["suggest"] is None
    hook("/hooks/alertmanager", payload(alert("a1", status="resolved"), alert("a2", status="resolved")))
    incident = _incidents(app)[0]
    assert incident.status.value == "investigating" and incident.resolved_at is None
    last = _events(app, incident, "alert_resolved")[-1]
    assert last.data["all_resolved"] is True and last.data["suggest"] == "resolve"
    with _session(app) as session:
        kinds = [n.kind for n in session.scalars(sa.select(Notification).where(Notification.user_id == manager.id))]
    assert kinds == ["alert_opened", "alerts_resolved"]
    sign_in(client, manager)
    page = client.get(f"/incidents/{incident.reference}").text
    assert "All alerts have resolved" in page and "never resolves it by itself" in page


def test_firing_again_on_a_resolved_incident_suggests_reopening(app, client, hook, make_user) -> None:  # noqa: ANN001
    manager = make_user(Role.DUTY_MANAGER, "duty")
    ref = hook("/hooks/alertmanager", payload(alert("a1"))).json["incident"]
    hook("/hooks/alertmanager", payload(alert("a1", status="resolved")))
    sign_in(client, manager)
    client.post(f"/incidents/{ref}/transitions", data={"to": "resolved"})
    again = hook("/hooks/alertmanager", payload(alert("a1")))
    assert again.json == {**again.json, "result": "updated", "incident": ref, "firing": 1}
    incident = _incidents(app)[0]
    assert incident.status.value == "resolved"  # a person decides whether to reopen
    assert _events(app, incident, "alert_firing")[-1].data["suggest"] == "reopen"
    assert "alerts fire again" in client.get(f"/incidents/{ref}").text


def test_a_closed_incident_makes_the_next_firing_start_a_new_one(app, client, hook, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.DUTY_MANAGER, "duty"))
    first = hook("/hooks/alertmanager", payload(alert("a1"))).json["incident"]
    hook("/hooks/alertmanager", payload(alert("a1", status="resolved")))
    waive_review_of(app, first)
    for target in ("resolved", "closed"):
        client.post(f"/incidents/{first}/transitions", data={"to": target})
    late = hook("/hooks/alertmanager", payload(alert("a1", status="resolved")))
    assert late.json["result"] == "ignored"
    second = hook("/hooks/alertmanager", payload(alert("a1")))
    assert second.status_code == 201 and second.json["incident"] != first
    closed, fresh = _incidents(app)
    assert closed.status.value == "closed" and fresh.status.value == "investigating"
    with _session(app) as session:
        (group,) = session.scalars(sa.select(AlertGroup)).all()
        assert group.incident_id == fresh.id and list(group.alerts) == ["a1"]


def test_recoveries_of_an_unknown_group_are_ignored(app, hook) -> None:  # noqa: ANN001
    before = snapshot(app.extensions["db_engine"])
    response = hook("/hooks/alertmanager", payload(alert("a1", status="resolved")))
    assert response.status_code == 200 and response.json["result"] == "ignored"
    assert snapshot(app.extensions["db_engine"]) == before


def _replace(path: tuple, value: Any) -> dict[str, Any]:
    body = payload(alert("a1"))
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/hooks/alertmanager", b"{\"status\": \"firing\", \"alerts\": [", 400, "payload"),
    ("/hooks/alertmanager", b"[]", 422, "payload"),
    ("/hooks/alertmanager", _replace(("status",), "burning"), 422, "status"),
    ("/hooks/alertmanager", _replace(("version",), "3"), 422, "version"),
    ("/hooks/alertmanager", _replace(("alerts", 0, "startsAt"), "yesterday"), 422, "alerts[0].startsAt"),
    ("/hooks/alertmanager", _replace(("alerts", 0, "labels"), ["x"]), 422, "alerts[0].labels"),
    ("/hooks/alertmanager", {"title": "not an alertmanager body", "status": "firing"}, 422, "alerts"),
    ("/hooks/grafana", {"status": "firing"}, 422, "alerts"),
    ("/hooks/generic", {"status": "firing"}, 422, "title"),
    ("/hooks/generic", {"title": "t", "status": "firing", "severity": "urgent"}, 422, "severity"),
])
def test_malformed_payloads_are_refused_with_a_reason_and_change_nothing(
    app, client, hook, path, body, status, field,  # noqa: ANN001
) -> None:
    before = snapshot(app.extensions["db_engine"])
    if isinstance(body, bytes):
        response = client.post(path, data=body, content_type="application/json",
                               headers={"Authorization": f"Bearer {hook.token}"})
    else:
        response = hook(path, body)
    assert response.status_code == status
    error = response.json["error"]
    assert error["field"] == field and error["message"] and error["code"] in ("bad_request", "invalid")
    assert snapshot(app.extensions["db_engine"]) == before


def test_a_body_that_is_not_json_is_refused(app, client, hook) -> None:  # noqa: ANN001
    response = client.post("/hooks/alertmanager", data="status=firing",
                           headers={"Authorization": f"Bearer {hook.token}"})
    assert response.status_code == 400 and response.json["error"]["field"] == "payload"
    assert _incidents(app) == []


def test_grafana_variant(app, hook) -> None:  # noqa: ANN001
    body = {**payload(alert("g1", severity="critical")), "orgId": 1, "title": "[FIRING:1] 支付接口错误率过高",
            "state": "alerting", "message": "支付接口 5xx 增多", "version": "1"}
    for path in ("/hooks/grafana", "/hooks/alertmanager"):  # its own hook, or detected
        response = hook(path, body)
        assert response.status_code in (200, 201)
    (incident,) = _incidents(app)
    assert incident.title == "[FIRING:1] 支付接口错误率过高" and incident.summary.startswith("支付接口 5xx 增多")
    with _session(app) as session:
        assert session.scalars(sa.select(AlertGroup.source)).all() == ["grafana"]


def test_generic_hook(app, hook) -> None:  # noqa: ANN001
    opened = hook("/hooks/generic", {"title": "客服系统登录失败", "status": "firing", "severity": "P2",
                                     "key": "cs-login", "description": "坐席无法登录", "components": ["客服工作台"]})
    assert opened.status_code == 201
    (incident,) = _incidents(app)
    assert incident.severity.value == "P2" and "客服工作台" in incident.summary
    assert hook("/hooks/generic", {"title": "客服系统登录失败", "status": "firing", "key": "cs-login"}).json[
        "result"] == "unchanged"
    resolved = hook("/hooks/generic", {"title": "客服系统登录失败", "status": "resolved", "key": "cs-login"})
    assert resolved.json["result"] == "updated" and resolved.json["resolved"] == 1
    assert _events(app, incident, "alert_resolved")[0].data["suggest"] == "resolve"


def test_configured_mappings_decide_severity_and_components(app, hook, api_as) -> None:  # noqa: ANN001
    admin = api_as(Role.ADMIN)
    settings = {"default_severity": "P4", "severity": {"team=payments": "P1"},
                "components": {"team=payments": ["支付", "结算"], "service": []}}
    saved = admin("PUT", "/api/v1/hook-settings", json=settings)
    assert saved.status_code == 200 and saved.json == settings
    assert admin("GET", "/api/v1/hook-settings").json == settings
    hook("/hooks/alertmanager", payload(alert("a1", severity="none", team="payments")))
    hook("/hooks/alertmanager", payload(alert("b1", severity="none"), group="other"))
    payments, other = _incidents(app)
    assert (payments.severity.value, other.severity.value) == ("P1", "P4")
    (entry,) = _events(app, payments, "alert_firing")
    assert sorted(entry.data["components"]) == sorted(["支付", "结算", "payments"])


@pytest.mark.parametrize(("settings", "field"), [
    ({"default_severity": "P0"}, "default_severity"),
    ({"severity": {"critical": "urgent"}}, "severity"),
    ({"severity": ["critical"]}, "severity"),
    ({"severity": {" ": "P1"}}, "severity"),
    ({"components": {"team=cs": []}}, "components"),
    ({"components": {"team=cs": [3]}}, "components"),
    ({"colour": "red"}, "colour"),
])
def test_bad_mappings_are_refused_at_the_field(app, api_as, settings, field) -> None:  # noqa: ANN001
    admin = api_as(Role.ADMIN)
    response = admin("PUT", "/api/v1/hook-settings", json=settings)
    assert response.status_code in (400, 422) and response.json["error"]["field"] == field
    assert admin("GET", "/api/v1/hook-settings").json["default_severity"] == "P3"


def test_mapping_form_on_the_admin_page(app, client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.ADMIN, "boss"))
    page = client.get("/settings/intake")
    assert page.status_code == 200 and "critical: P1" in page.text and "/hooks/alertmanager" in page.text
    bad = client.post("/settings/intake/hooks", data={"default_severity": "P3", "severity": "critical: P1\nwarning",
                                                      "components": ""}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Line 2" in bad.text and 'id="hook-settings"' in bad.text
    good = client.post("/settings/intake/hooks", data={"default_severity": "P2",
                                                       "severity": "critical: p1\nteam=payments: P2",
                                                       "components": "team=payments: 支付，结算\nservice"})
    assert good.status_code == 303
    api = client.get("/settings/intake").text
    assert "team=payments: 支付, 结算" in api and "critical: P1" in api


def test_default_settings_are_not_shared_between_readers(db_session) -> None:  # noqa: ANN001
    from incidents.settings import get_setting

    first = get_setting(db_session, "alert_hooks")
    first["severity"]["critical"] = "P4"
    assert get_setting(db_session, "alert_hooks")["severity"]["critical"] == "P1"


def test_timeline_entries_say_what_the_alerts_are(app, client, hook, make_user) -> None:  # noqa: ANN001
    ref = hook("/hooks/alertmanager", payload(alert("a1", severity="critical"))).json["incident"]
    sign_in(client, make_user(Role.VIEWER, "watcher"))
    page = client.get(f"/incidents/{ref}").text
    assert "reported firing alerts" in page and "实例 a1 错误率超过 5%" in page
    assert 'href="http://127.0.0.1:9090/graph?g0.expr=errors"' in page
    evil = copy.deepcopy(payload(alert("a2")))
    evil["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    evil["alerts"][0]["annotations"]["summary"] = "<script>alert(1)</script>"
    hook("/hooks/alertmanager", evil)
    page = client.get(f"/incidents/{ref}").text
    assert "javascript:alert" not in page and "<script>alert(1)</script>" not in page
