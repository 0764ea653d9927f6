"""The report exports' columns and values as people read them.

A person downloading from /reports gets headers and values in their language; a script reading
/api/v1/reports/<name>.csv gets the stable codes (`reference`, `outage`, `voucher`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from console.actor_labels import actor_name
from console.labels import KIND_LABELS, SEVERITY_LABELS, SOURCE_LABELS, STATUS_LABELS
from console.outreach_labels import COMPENSATION_NAMES, OFFER_NAMES, PLATFORM_NAMES, RESULT_NAMES
from console.review_labels import ACTION_STATUS_LABELS

COLUMN_LABELS = {
    "reference": _l("Reference"),
    "incident": _l("Incident"),
    "kind": _l("Kind"),
    "severity": _l("Severity"),
    "source": _l("Source"),
    "status": _l("Status"),
    "title": _l("Title"),
    "opened_at": _l("Opened at"),
    "acknowledged_at": _l("Acknowledged at"),
    "resolved_at": _l("Resolved at"),
    "closed_at": _l("Closed at"),
    "seconds_to_acknowledge": _l("Seconds to acknowledge"),
    "seconds_to_resolve": _l("Seconds to resolve"),
    "rule": _l("Rule code"),
    "name": _l("Deadline"),
    "state": _l("State"),
    "due_at": _l("Due at"),
    "met_at": _l("Met at"),
    "late_seconds": _l("Seconds late"),
    "waived_reason": _l("Reason for waiving"),
    "owner": _l("Owner"),
    "customer": _l("Customer"),
    "platform": _l("Platform"),
    "handle": _l("Contact detail"),
    "at": _l("Time"),
    "channel": _l("Channel"),
    "result": _l("Result"),
    "note": _l("Note"),
    "promise": _l("Promise"),
    "promise_due_at": _l("Promise due at"),
    "by": _l("By"),
    "value": _l("Value"),
    "offered_at": _l("Offered at"),
    "accepted_at": _l("Accepted at"),
    "declined_at": _l("Declined at"),
    "delivered_at": _l("Delivered at"),
    "confirmed_at": _l("Receipt confirmed at"),
    "met_on_time": _l("Met on time"),
    "met_late": _l("Met late"),
    "missed": _l("Missed"),
    "waived": _l("Waived"),
    "pending": _l("Pending"),
    "held_by_automatic_statement": _l("Held by an automatic statement"),
    "on_time_share": _l("Share on time"),
    "label": _l("Label"),
    "incidents": _l("Incidents"),
    "day": _l("Day"),
    "root_cause": _l("Root cause"),
}
# Columns holding who did something: the console's own actors are named in the reader's language.
ACTOR_COLUMNS = {"by"}
# A code column a person does not need beside its named twin.
CODE_TWINS = {"value": "label", "rule": "name"}
DEADLINE_STATE_LABELS = {
    "pending": _l("Pending"), "met": _l("Met"), "missed": _l("Missed"), "waived": _l("Waived"),
}


def _by_value(table: Any) -> dict[str, Any]:
    return {getattr(key, "value", key): label for key, label in table.items()}


INCIDENT_VALUES = {"kind": _by_value(KIND_LABELS), "severity": _by_value(SEVERITY_LABELS),
                   "source": _by_value(SOURCE_LABELS), "status": _by_value(STATUS_LABELS)}
# Per dataset: the columns whose stored codes have a name for people.
VALUE_LABELS: dict[str, dict[str, dict[str, Any]]] = {
    "incidents": INCIDENT_VALUES,
    "deadlines": {"state": DEADLINE_STATE_LABELS},
    "action_items": {"status": ACTION_STATUS_LABELS},
    "outreach": {"platform": _by_value(PLATFORM_NAMES), "channel": _by_value(PLATFORM_NAMES),
                 "result": _by_value(RESULT_NAMES)},
    "compensation": {"kind": _by_value(OFFER_NAMES), "state": _by_value(COMPENSATION_NAMES)},
}


def for_people(dataset: str, header: list[str], rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows with codes replaced by their names in the reader's language."""
    tables = VALUE_LABELS.get(dataset, {})
    kept = [i for i, code in enumerate(header) if CODE_TWINS.get(code) not in header]
    columns = [tables.get(header[i]) for i in kept]

    def cell(table: dict[str, Any] | None, i: int, value: Any) -> Any:
        if header[i] in ACTOR_COLUMNS:
            return actor_name(value)
        return str(table[value]) if table and isinstance(value, str) and value in table else value

    named = [[cell(table, i, row[i]) for table, i in zip(columns, kept, strict=True)] for row in rows]
    return [str(COLUMN_LABELS.get(header[i], header[i])) for i in kept], named
