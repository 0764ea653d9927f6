"""Parse inbound alert webhooks (Alertmanager v4, Grafana unified alerting, generic JSON).

Accepted shapes:

* **Alertmanager webhook v4** — ``{"version": "4", "status", "alerts": [...], "groupKey",
  "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "receiver", ...}``.
* **Grafana unified alerting** — the same shape plus ``orgId``, ``title``, ``state``,
  ``message`` (and per alert ``silenceURL``, ``dashboardURL``, ``values``...); detected by
  ``orgId``/``title``/``message`` next to ``alerts``. Grafana's ``title``/``message`` become
  the batch title/summary.
* **Generic** — for scripts and other tools::

      {"title": str,                      # required, non-empty
       "status": "firing" | "resolved",   # required
       "severity": "P1".."P4",            # optional, becomes label "severity"
       "key": str,                        # optional dedup/group key (default: the title)
       "description": str,                # optional, becomes the summary
       "components": [str, ...]}          # optional

  It yields one alert whose fingerprint is derived from the key.

Anything else raises `HookPayloadError(message, field)`; no other exception escapes
`parse_payload`. Times are aware UTC datetimes; Alertmanager's "0001-01-01T00:00:00Z"
("no end yet") becomes None.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES = ("firing", "resolved")
SEVERITIES = ("P1", "P2", "P3", "P4")
MAX_ALERTS = 1000  # one webhook call never legitimately carries more


class HookPayloadError(ValueError):
    """The webhook body is not an accepted payload; `field` names the offending part."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Alert:
    """One alert of a batch."""

    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str | None


@dataclass(frozen=True)
class AlertBatch:
    """One webhook call: a group of alerts sharing a group key."""

    source: str  # "alertmanager" | "grafana" | "generic"
    group_key: str
    status: str
    alerts: list[Alert]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str | None
    title: str
    summary: str
    receiver: str | None = None
    components: list[str] = field(default_factory=list)


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HookPayloadError("must be a JSON object", name)
    return value


def _decode(data: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, (bytes, bytearray, str)):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise HookPayloadError("is not valid JSON", "payload") from None
    return _obj(data, "payload")


def _valid_text(text: str, name: str) -> str:
    # JSON may carry lone surrogates ("\\ud800"); they cannot be stored or hashed as UTF-8.
    # Nor NUL ("\\u0000"): PostgreSQL refuses it in text.
    if "\x00" in text:
        raise HookPayloadError("contains a NUL character", name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise HookPayloadError("contains invalid Unicode (a lone surrogate)", name) from None
    return text


def _str(value: Any, name: str, *, required: bool = False, default: str | None = None) -> str | None:
    if value is None:
        if required:
            raise HookPayloadError("is required", name)
        return default
    if not isinstance(value, str):
        raise HookPayloadError("must be a string", name)
    if required and not value.strip():
        raise HookPayloadError("must not be empty", name)
    return _valid_text(value, name)


def _status(value: Any, name: str) -> str:
    text = _str(value, name, required=True)
    assert text is not None
    if text.lower() not in STATUSES:
        raise HookPayloadError("must be 'firing' or 'resolved'", name)
    return text.lower()


def _str_map(value: Any, name: str) -> dict[str, str]:
    """Labels/annotations: strings; scalars are stringified (some senders emit numbers)."""
    if value is None:
        return {}
    result = {}
    for key, item in _obj(value, name).items():
        _valid_text(key, name)
        if isinstance(item, str):
            result[key] = _valid_text(item, f"{name}.{key}")
        elif isinstance(item, bool):
            result[key] = "true" if item else "false"
        elif isinstance(item, (int, float)):
            result[key] = str(item)
        else:
            raise HookPayloadError("must be a string", f"{name}.{key}")
    return result


def _time(value: Any, name: str) -> datetime | None:
    text = _str(value, name)
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            raise HookPayloadError("has no time zone", name)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, HookPayloadError):
            raise
        raise HookPayloadError(f"is not an RFC 3339 time: {text[:40]!r}", name) from None


def _fingerprint(labels: Mapping[str, str]) -> str:
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _parse_alerts(payload: dict[str, Any], batch_status: str) -> list[Alert]:
    raw = payload.get("alerts")
    if not isinstance(raw, list):
        raise HookPayloadError("must be a list", "alerts")
    if len(raw) > MAX_ALERTS:
        raise HookPayloadError(f"has more than {MAX_ALERTS} alerts", "alerts")
    alerts = []
    for i, item in enumerate(raw):
        name = f"alerts[{i}]"
        obj = _obj(item, name)
        labels = _str_map(obj.get("labels"), f"{name}.labels")
        status = _status(obj["status"], f"{name}.status") if "status" in obj else batch_status
        alerts.append(
            Alert(
                fingerprint=_str(obj.get("fingerprint"), f"{name}.fingerprint") or _fingerprint(labels),
                status=status,
                labels=labels,
                annotations=_str_map(obj.get("annotations"), f"{name}.annotations"),
                starts_at=_time(obj.get("startsAt"), f"{name}.startsAt"),
                ends_at=_time(obj.get("endsAt"), f"{name}.endsAt"),
                generator_url=_str(obj.get("generatorURL"), f"{name}.generatorURL") or None,
            )
        )
    return alerts


def parse_alertmanager(payload: Any, *, source: str = "alertmanager") -> AlertBatch:
    """Parse an Alertmanager v4 (or Grafana, with `source="grafana"`) webhook body."""
    obj = _obj(payload, "payload")
    status = _status(obj.get("status"), "status")
    alerts = _parse_alerts(obj, status)
    common_labels = _str_map(obj.get("commonLabels"), "commonLabels")
    common_annotations = _str_map(obj.get("commonAnnotations"), "commonAnnotations")
    group_labels = _str_map(obj.get("groupLabels"), "groupLabels")
    group_key = _str(obj.get("groupKey"), "groupKey") or _fingerprint(group_labels or common_labels)
    first = alerts[0] if alerts else None
    alertname = (
        common_labels.get("alertname")
        or group_labels.get("alertname")
        or (first.labels.get("alertname") if first else None)
        or "alert"
    )
    summary = (
        common_annotations.get("summary")
        or common_annotations.get("description")
        or (first.annotations.get("summary") or first.annotations.get("description") if first else None)
        or ""
    )
    title = alertname
    if source == "grafana":
        title = _str(obj.get("title"), "title") or alertname
        summary = _str(obj.get("message"), "message") or summary
    return AlertBatch(
        source=source,
        group_key=group_key,
        status=status,
        alerts=alerts,
        common_labels=common_labels,
        common_annotations=common_annotations,
        external_url=_str(obj.get("externalURL"), "externalURL") or None,
        title=title,
        summary=summary,
        receiver=_str(obj.get("receiver"), "receiver"),
    )


def parse_generic(payload: Any) -> AlertBatch:
    """Parse the generic minimal shape documented in the module docstring."""
    obj = _obj(payload, "payload")
    title = _str(obj.get("title"), "title", required=True)
    assert title is not None
    status = _status(obj.get("status"), "status")
    labels: dict[str, str] = {}
    severity = _str(obj.get("severity"), "severity")
    if severity is not None:
        if severity.upper() not in SEVERITIES:
            raise HookPayloadError("must be one of P1, P2, P3, P4", "severity")
        labels["severity"] = severity.upper()
    key = _str(obj.get("key"), "key") or title
    description = _str(obj.get("description"), "description") or ""
    raw_components = obj.get("components", [])
    if not isinstance(raw_components, list):
        raise HookPayloadError("must be a list of strings", "components")
    components = [_str(c, f"components[{i}]", required=True) or "" for i, c in enumerate(raw_components)]
    alert = Alert(
        fingerprint=hashlib.sha256(key.encode()).hexdigest()[:16],
        status=status,
        labels=labels,
        annotations={"summary": title, "description": description} if description else {"summary": title},
        starts_at=None,
        ends_at=None,
        generator_url=None,
    )
    return AlertBatch(
        source="generic",
        group_key=key,
        status=status,
        alerts=[alert],
        common_labels=dict(labels),
        common_annotations=dict(alert.annotations),
        external_url=None,
        title=title,
        summary=description,
        components=components,
    )


def parse_payload(data: bytes | str | Mapping[str, Any]) -> AlertBatch:
    """Detect the shape of a webhook body (raw JSON or already decoded) and parse it."""
    obj = _decode(data)
    if "alerts" in obj:
        grafana = any(k in obj for k in ("orgId", "title", "message", "state"))
        return parse_alertmanager(obj, source="grafana" if grafana else "alertmanager")
    if "title" in obj:
        return parse_generic(obj)
    raise HookPayloadError("is neither an Alertmanager/Grafana webhook nor the generic shape", "payload")


HOOKS = ("alertmanager", "grafana", "generic")


def parse_hook(hook: str, data: bytes | str | Mapping[str, Any]) -> AlertBatch:
    """Parse a body posted to one hook: the endpoint says which shape is expected.

    ``alertmanager`` takes payload version 4 (and Grafana's variant, detected); ``grafana``
    takes Grafana's webhook; ``generic`` the minimal shape. A shape posted to the wrong
    hook is a HookPayloadError naming what is missing.
    """
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r}")
    obj = _decode(data)
    if hook == "generic":
        return parse_generic(obj)
    if "alerts" not in obj:
        raise HookPayloadError("is required", "alerts")
    if hook == "grafana":
        return parse_alertmanager(obj, source="grafana")
    batch = parse_payload(obj)
    if batch.source == "alertmanager" and obj.get("version", "4") != "4":
        raise HookPayloadError("must be \"4\" (Alertmanager webhook payload version 4)", "version")
    return batch


def _matches(labels: Mapping[str, str], key: str, default_label: str) -> bool:
    name, sep, value = key.partition("=")
    if not sep:
        name, value = default_label, key
    return labels.get(name.strip(), "").casefold() == value.strip().casefold()


def severity_for(
    labels: Mapping[str, str], mapping: Mapping[str, str], default: str = "P3", *, label: str = "severity"
) -> str:
    """The most severe P-level whose mapping key matches the labels, else `default`.

    Keys are either a value of the `label` label (``{"critical": "P1"}``) or an explicit
    ``"name=value"`` selector (``{"team=payments": "P2"}``), compared case-insensitively.
    A `label` value that already is P1..P4 is used as is. Bad mapping values raise ValueError.
    """
    for key, level in mapping.items():
        if level not in SEVERITIES:
            raise ValueError(f"severity mapping {key!r} -> {level!r}: must be P1..P4")
    if default not in SEVERITIES:
        raise ValueError(f"default severity {default!r} must be P1..P4")
    found = [level for key, level in mapping.items() if _matches(labels, key, label)]
    own = labels.get(label, "").strip().upper()
    if own in SEVERITIES:
        found.append(own)
    return min(found) if found else default  # "P1" < "P2" < ... sorts by severity


def components_for(labels: Mapping[str, str], mapping: Mapping[str, str | Sequence[str]]) -> list[str]:
    """Components named by every ``"name=value"`` key matching the labels, in mapping order, no repeats.

    A key without "=" is a label name whose value is taken as the component name
    (``{"service": ...}`` with ``service="webapp"`` gives "webapp"); its mapped value is ignored.
    """
    result: list[str] = []
    for key, target in mapping.items():
        if "=" in key:
            if not _matches(labels, key, ""):
                continue
            names = [target] if isinstance(target, str) else list(target)
        else:
            value = labels.get(key.strip())
            names = [value] if value else []
        for name in names:
            if name and name not in result:
                result.append(name)
    return result
