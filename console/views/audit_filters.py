"""The audit log's filters as typed in a query string, shared by the admin page and its API twin.

Dates are days (or date-times) in the team's zone: `from` is inclusive, a plain `to` day is
inclusive too (the range ends at the next midnight). Bad input raises InvalidInput at the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext

from console.i18n import add_reasons
from incidents.audit_queries import PAGE_DEFAULT, PAGE_MAX, AuditFilter
from incidents.errors import InvalidInput
from incidents.timeutil import parse_local

add_reasons({
    "audit_date": lazy_gettext("Give a date like 2026-11-22 (or a date and time)."),
    "audit_range": lazy_gettext("The end of the range must come after its start."),
    "audit_target_type": lazy_gettext("No audit record has this target type."),
    "audit_number": lazy_gettext("Give a whole number from %(low)s to %(high)s."),
})

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The query-string names, in the order the page and the API document them.
FILTER_ARGS = ("actor", "action", "target_type", "target_id", "from", "to", "request_id", "q")
TEXT_MAX = 200


@dataclass(frozen=True)
class AuditQuery:
    """A parsed query string: the filter, the page cursor and size, and the values as typed."""

    wanted: AuditFilter
    before: int | None
    limit: int
    typed: dict[str, str]


def _bound(text: str, field: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if not text:
        return None
    if DAY.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(field, f"{text!r} is not a date", reason="audit_date") from None
        start = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=zone)
        return start.astimezone(UTC)
    value = parse_local(text, zone)
    if value is None:
        raise InvalidInput(field, f"{text!r} is not a date or date-time", reason="audit_date")
    return value


def _number(text: str, field: str, low: int, high: int) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(field, f"{field} must be a whole number from {low} to {high}",
                           reason="audit_number", low=low, high=high)
    return int(text)


def parse_audit_query(args: Mapping[str, str], zone: ZoneInfo) -> AuditQuery:
    """The filter a query string asks for; InvalidInput names the first bad field."""
    typed = {name: (args.get(name) or "").strip()[:TEXT_MAX] for name in FILTER_ARGS}
    wanted = AuditFilter(
        actor=typed["actor"], action=typed["action"], target_type=typed["target_type"],
        target_id=typed["target_id"], request_id=typed["request_id"], text=typed["q"],
        since=_bound(typed["from"], "from", zone, end=False),
        until=_bound(typed["to"], "to", zone, end=True),
    )
    before = _number((args.get("before") or "").strip(), "before", 1, 2**62)
    limit = _number((args.get("limit") or "").strip(), "limit", 1, PAGE_MAX) or PAGE_DEFAULT
    return AuditQuery(wanted=wanted, before=before, limit=limit, typed=typed)
