"""The admins' audit log: filter, page through (newest first), read each change as a diff, export.

Read-only by design: the log has no form that changes it. A plain GET form, so it works without
JavaScript; bad filters come back with the message at the field and status 422.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for

from console.audit_labels import action_label, target_label
from console.db import get_session
from console.i18n import message_for, team_zone
from console.views.audit_export import requested_export
from console.views.audit_filters import AuditQuery, parse_audit_query
from incidents import audit_queries
from incidents.audit import INCIDENT_TARGET
from incidents.errors import InvalidInput
from incidents.models import AuditRecord

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@dataclass(frozen=True)
class DiffRow:
    """One key of a record's before/after, as shown on the page."""

    key: str
    before: str
    after: str
    changed: bool


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_rows(record: AuditRecord) -> list[DiffRow]:
    """Every key of before and after, side by side, changed ones marked."""
    before, after = record.before or {}, record.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    missing = object()
    return [DiffRow(key=key, before=_shown(before[key]) if key in before else "",
                    after=_shown(after[key]) if key in after else "",
                    changed=before.get(key, missing) != after.get(key, missing))
            for key in keys]


def target_link(record: AuditRecord) -> str | None:
    """Where the target lives in the console, when it has a page (incidents)."""
    if record.target_type == INCIDENT_TARGET:
        return url_for("incidents.show", reference=record.target_id)
    return None


def _query_args(query: AuditQuery, **extra: Any) -> dict[str, Any]:
    sized = {"limit": query.limit} if query.limit != audit_queries.PAGE_DEFAULT else {}
    return {**{k: v for k, v in query.typed.items() if v}, **sized, **extra}


def _page(session: Any, status: int = 200, **state: Any) -> Any:
    """The page with `state` (records, filters as typed, errors, paging links) and its helpers."""
    return render_template("audit/index.html", target_types=audit_queries.target_types(session),
                           diff_rows=diff_rows, target_link=target_link, action_label=action_label,
                           target_label=target_label, **state), status


@bp.get("")
def index() -> Any:
    """The log, newest first, narrowed by the filters; `before` pages to older records."""
    session = get_session()
    try:
        query = parse_audit_query(request.args, team_zone())
        audit_queries.check_filter(session, query.wanted)
    except InvalidInput as error:
        typed = {name: request.args.get(name, "") for name in request.args}
        return _page(session, 422, page=None, typed=typed, errors={error.field: message_for(error)}, export_args={},
                     next_args=None)
    page = audit_queries.audit_page(session, query.wanted, before=query.before, limit=query.limit)
    next_args = _query_args(query, before=page.next_before) if page.next_before else None
    return _page(session, page=page, typed=query.typed, errors={}, export_args=_query_args(query),
                 next_args=next_args, first_page=query.before is None)


@bp.get("/export")
def export() -> Any:
    """The whole filtered set as a download: ?format=csv (default) or jsonl."""
    return requested_export(get_session(), request.args, team_zone(), default="csv")
