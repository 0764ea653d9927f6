"""The audit log as data: one record as JSON, and the filtered set streamed as CSV or JSON Lines.

CSV starts with a byte-order mark so Excel reads the Chinese correctly; a cell that would start
a spreadsheet formula is prefixed with an apostrophe (people type titles and notes that end up
in before/after). JSON Lines keeps the stored values as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, stream_with_context
from flask_babel import gettext
from sqlalchemy.orm import Session

from console.views.audit_filters import parse_audit_query
from console.views.spreadsheet import inert
from incidents.audit_queries import AuditFilter, all_matching, check_filter
from incidents.errors import InvalidInput
from incidents.models import AuditRecord
from console.clock import utcnow

FORMATS = ("csv", "jsonl")


def record_json(record: AuditRecord, zone: ZoneInfo) -> dict[str, Any]:
    """One record for scripts: aware times (UTC and the team's zone), values as stored."""
    return {
        "id": record.id, "at": record.at.isoformat(), "at_local": record.at.astimezone(zone).isoformat(),
        "actor_id": record.actor_id, "actor": record.actor_label, "ip": record.ip,
        "request_id": record.request_id, "action": record.action, "target_type": record.target_type,
        "target_id": record.target_id, "before": record.before or {}, "after": record.after or {},
    }


def _cell(value: Any) -> str:
    return inert(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))


def _csv_lines(records: Iterator[AuditRecord], zone: ZoneInfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([gettext("Record"), gettext("Time"), gettext("Actor"), gettext("User id"), gettext("IP"),
                     gettext("Request id"), gettext("Action"), gettext("Target type"), gettext("Target"),
                     gettext("Before"), gettext("After")])
    yield "\ufeff" + flush()
    for record in records:
        writer.writerow([record.id, record.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                         _cell(record.actor_label), record.actor_id or "", record.ip, record.request_id,
                         record.action, record.target_type, _cell(record.target_id),
                         _cell(record.before or {}), _cell(record.after or {})])
        yield flush()


def _jsonl_lines(records: Iterator[AuditRecord], zone: ZoneInfo) -> Iterator[str]:
    for record in records:
        yield json.dumps(record_json(record, zone), ensure_ascii=False) + "\n"


def _ending_the_read(lines: Iterator[str], session: Session) -> Iterator[str]:
    # A long download must not keep its transaction open once the last line is out (or the
    # client left): on PostgreSQL an idle transaction holds locks that maintenance waits on.
    try:
        yield from lines
    finally:
        session.close()


def export_response(session: Session, wanted: AuditFilter, fmt: str, zone: ZoneInfo) -> Response:
    """Every record matching the filter, newest first, streamed as a download."""
    records = all_matching(session, wanted)
    if fmt == "csv":
        body, mimetype = _csv_lines(records, zone), "text/csv"
    else:
        body, mimetype = _jsonl_lines(records, zone), "application/x-ndjson"
    body = _ending_the_read(body, session)
    stamp = utcnow().astimezone(zone).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def requested_export(session: Session, args: Mapping[str, str], zone: ZoneInfo, *, default: str) -> Response:
    """The export a query string asks for (its filters and ?format=); InvalidInput at the bad field."""
    fmt = args.get("format") or default
    if fmt not in FORMATS:
        raise InvalidInput("format", f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}",
                           reason="choice", allowed=", ".join(FORMATS))
    query = parse_audit_query(args, zone)
    check_filter(session, query.wanted)
    return export_response(session, query.wanted, fmt, zone)
