"""Webhook payload parsing: Alertmanager v4, Grafana, generic; errors only as HookPayloadError."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.alerthooks import (
    HookPayloadError,
    components_for,
    parse_alertmanager,
    parse_generic,
    parse_hook,
    parse_payload,
    severity_for,
)

SAMPLE = Path("/work/shared/fixtures/alertmanager-webhook-v4.json")
ALERTMANAGER = json.loads(SAMPLE.read_text()) if SAMPLE.exists() else None

# Shape of Grafana unified alerting's webhook (values made up for this project).
GRAFANA = {
    "receiver": "console",
    "status": "resolved",
    "orgId": 1,
    "alerts": [
        {
            "status": "resolved",
            "labels": {"alertname": "客服排队过长", "team": "cs", "grafana_folder": "客服"},
            "annotations": {"summary": "排队人数超过 200"},
            "startsAt": "2026-11-22T20:00:00+08:00",
            "endsAt": "2026-11-22T12:30:00Z",
            "generatorURL": "http://127.0.0.1:3000/alerting/grafana/abc/view",
            "fingerprint": "0123456789abcdef",
            "silenceURL": "http://127.0.0.1:3000/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 231.5},
        }
    ],
    "groupLabels": {"alertname": "客服排队过长"},
    "commonLabels": {"alertname": "客服排队过长", "team": "cs"},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:3000/",
    "version": "1",
    "groupKey": '{}/{}:{alertname="客服排队过长"}',
    "truncatedAlerts": 0,
    "title": "[RESOLVED] 客服排队过长 (cs)",
    "state": "ok",
    "message": "**Resolved**\n排队恢复正常",
}


@pytest.mark.skipif(ALERTMANAGER is None, reason="shared Alertmanager sample not present")
def test_alertmanager_v4_sample() -> None:
    batch = parse_payload(SAMPLE.read_bytes())
    assert batch.source == "alertmanager" and batch.status == "firing"
    assert batch.group_key == '{}:{alertname="ToolingTest"}'
    assert batch.title == "ToolingTest" and batch.summary == "test alert from tooling check"
    assert batch.external_url == "http://127.0.0.1:9093" and batch.receiver == "hook"
    (alert,) = batch.alerts
    assert alert.fingerprint == "7aa6aee20fa2527b"
    assert alert.starts_at == datetime(2026, 11, 22, 12, 35, 33, 69316, tzinfo=UTC)  # ns truncated
    assert alert.ends_at is None  # 0001-01-01 means "still firing"
    assert alert.labels["severity"] == "warning"
    assert alert.generator_url == "http://127.0.0.1:5000/alerts/1"
    assert batch.common_labels["service"] == "webapp"


def test_grafana_variant() -> None:
    batch = parse_payload(json.dumps(GRAFANA, ensure_ascii=False))
    assert batch.source == "grafana" and batch.status == "resolved"
    assert batch.title == "[RESOLVED] 客服排队过长 (cs)"
    assert batch.summary.startswith("**Resolved**")
    (alert,) = batch.alerts
    assert alert.starts_at == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert alert.ends_at == datetime(2026, 11, 22, 12, 30, tzinfo=UTC)


def test_generic_shape() -> None:
    batch = parse_payload(
        {"title": "支付回调失败", "status": "FIRING", "severity": "p1", "key": "pay-cb",
         "description": "回调 5xx 增多", "components": ["支付", "订单"]}
    )
    assert batch.source == "generic" and batch.status == "firing"
    assert batch.group_key == "pay-cb" and batch.title == "支付回调失败" and batch.summary == "回调 5xx 增多"
    assert batch.components == ["支付", "订单"]
    assert batch.alerts[0].labels == {"severity": "P1"}
    assert batch.alerts[0].fingerprint == parse_generic({"title": "x", "status": "resolved", "key": "pay-cb"}).alerts[0].fingerprint


def test_generic_minimal() -> None:
    batch = parse_payload({"title": "t", "status": "resolved"})
    assert batch.group_key == "t" and batch.summary == "" and batch.components == []


def test_missing_fingerprint_is_derived_from_labels() -> None:
    payload = copy.deepcopy(GRAFANA)
    del payload["alerts"][0]["fingerprint"]
    one = parse_alertmanager(payload).alerts[0].fingerprint
    assert len(one) == 16 and one == parse_alertmanager(payload).alerts[0].fingerprint


def test_alert_status_defaults_to_batch_status() -> None:
    payload = copy.deepcopy(GRAFANA)
    del payload["alerts"][0]["status"]
    assert parse_payload(payload).alerts[0].status == "resolved"


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda p: p.pop("status"), "status"),
        (lambda p: p.update(status="exploded"), "status"),
        (lambda p: p.update(alerts={"a": 1}), "alerts"),
        (lambda p: p["alerts"].append("x"), "alerts[1]"),
        (lambda p: p["alerts"][0].update(labels=["a"]), "alerts[0].labels"),
        (lambda p: p["alerts"][0]["labels"].update(team={"x": 1}), "alerts[0].labels.team"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda p: p["alerts"][0].update(startsAt="2026-11-22T12:00:00"), "alerts[0].startsAt"),
        (lambda p: p["alerts"][0].update(endsAt=12), "alerts[0].endsAt"),
        (lambda p: p.update(commonLabels="x"), "commonLabels"),
        (lambda p: p.update(title=5), "title"),
    ],
)
def test_malformed_alertmanager_names_the_field(mutate, field: str) -> None:  # noqa: ANN001
    payload = copy.deepcopy(GRAFANA)
    mutate(payload)
    with pytest.raises(HookPayloadError) as info:
        parse_payload(payload)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    "payload,field",
    [
        (b"{not json", "payload"),
        (b"\xff\xfe", "payload"),
        ("[1, 2]", "payload"),
        ({}, "payload"),
        ({"title": "", "status": "firing"}, "title"),
        ({"title": "t"}, "status"),
        ({"title": "t", "status": "firing", "severity": "urgent"}, "severity"),
        ({"title": "t", "status": "firing", "components": "db"}, "components"),
        ({"title": "t", "status": "firing", "components": ["db", 3]}, "components[1]"),
        ('{"title": "\\ud800", "status": "firing"}', "title"),
        ('{"status": "firing", "alerts": [{"labels": {"a": "\\udc00"}}]}', "alerts[0].labels.a"),
        ('{"status": "firing", "alerts": [{"labels": {"\\udc00": "a"}}]}', "alerts[0].labels"),
    ],
)
def test_malformed_generic(payload: object, field: str) -> None:
    with pytest.raises(HookPayloadError) as info:
        parse_payload(payload)  # type: ignore[arg-type]
    assert info.value.field == field


def test_too_many_alerts_rejected() -> None:
    payload = {"status": "firing", "alerts": [{"labels": {}}] * 1001}
    with pytest.raises(HookPayloadError, match="more than 1000"):
        parse_payload(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
# Paths inside a valid Grafana payload, so random values land where the parser looks.
PATHS = [
    ("status",), ("alerts",), ("title",), ("message",), ("groupKey",), ("commonLabels",),
    ("commonAnnotations",), ("externalURL",), ("groupLabels",), ("receiver",),
    ("alerts", 0), ("alerts", 0, "labels"), ("alerts", 0, "labels", "team"), ("alerts", 0, "status"),
    ("alerts", 0, "startsAt"), ("alerts", 0, "endsAt"), ("alerts", 0, "fingerprint"),
    ("alerts", 0, "annotations"), ("alerts", 0, "generatorURL"),
]
GENERIC_KEYS = st.sampled_from(["title", "status", "severity", "key", "description", "components"])


def _replace(path: tuple, value: object) -> dict:
    payload = copy.deepcopy(GRAFANA)
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return payload


mutated = st.builds(_replace, st.sampled_from(PATHS), json_values)
generic = st.dictionaries(GENERIC_KEYS, json_values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated, generic, json_values))
def test_random_json_only_raises_hook_payload_error(payload: object) -> None:
    try:
        batch = parse_payload(json.dumps(payload))
    except HookPayloadError as exc:
        assert exc.message
    else:
        assert batch.status in ("firing", "resolved")
        assert all(a.starts_at is None or a.starts_at.tzinfo is not None for a in batch.alerts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_hook_payload_error(data: bytes) -> None:
    try:
        parse_payload(data)
    except HookPayloadError:
        pass


def test_severity_for() -> None:
    mapping = {"critical": "P1", "warning": "P3", "team=payments": "P2"}
    assert severity_for({"severity": "critical"}, mapping) == "P1"
    assert severity_for({"severity": "WARNING"}, mapping) == "P3"
    assert severity_for({"severity": "warning", "team": "payments"}, mapping) == "P2"  # most severe wins
    assert severity_for({"severity": "info"}, mapping) == "P3"
    assert severity_for({}, mapping, default="P4") == "P4"
    assert severity_for({"severity": "p1"}, {}) == "P1"  # already a P-level
    assert severity_for({"level": "sev1"}, {"sev1": "P1"}, label="level") == "P1"
    with pytest.raises(ValueError):
        severity_for({}, {"x": "P9"})
    with pytest.raises(ValueError):
        severity_for({}, {}, default="high")


def test_components_for() -> None:
    mapping = {"service=webapp": "网站", "team=cs": ["客服", "网站"], "component": "ignored"}
    labels = {"service": "webapp", "team": "cs", "component": "支付"}
    assert components_for(labels, mapping) == ["网站", "客服", "支付"]
    assert components_for({}, mapping) == []


def test_each_hook_takes_its_own_shape() -> None:
    generic = {"title": "t", "status": "firing"}
    assert parse_hook("generic", generic).source == "generic"
    assert parse_hook("grafana", GRAFANA).source == "grafana"
    assert parse_hook("alertmanager", GRAFANA).source == "grafana"  # detected
    plain = {k: v for k, v in GRAFANA.items() if k not in ("orgId", "title", "state", "message")}
    assert parse_hook("grafana", plain).source == "grafana"  # the endpoint says so
    with pytest.raises(HookPayloadError) as info:
        parse_hook("alertmanager", generic)
    assert info.value.field == "alerts"
    with pytest.raises(HookPayloadError) as info:
        parse_hook("alertmanager", {**plain, "version": "3"})
    assert info.value.field == "version"
    assert parse_hook("alertmanager", {**plain, "version": "4"}).source == "alertmanager"
    with pytest.raises(ValueError):
        parse_hook("nagios", generic)
