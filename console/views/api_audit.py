"""The /api/v1 twin of the admins' audit log: the same filters, keyset pages, and the streamed export.

Routes are added to console.views.api's blueprint (bearer tokens, the role matrix, the error
shape); this module must be imported before that blueprint is registered.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from console.db import get_session
from console.i18n import team_zone
from console.views.api import bp
from console.views.audit_export import record_json, requested_export
from console.views.audit_filters import parse_audit_query
from incidents import audit_queries


@bp.get("/audit")
def list_audit() -> Any:
    """Audit records, newest first: ?actor, action (a trailing dot for a prefix), target_type,
    target_id, from, to (team zone), request_id, q (free text), limit, before (the cursor)."""
    session, zone = get_session(), team_zone()
    query = parse_audit_query(request.args, zone)
    audit_queries.check_filter(session, query.wanted)
    page = audit_queries.audit_page(session, query.wanted, before=query.before, limit=query.limit)
    return jsonify(records=[record_json(r, zone) for r in page.records], next_before=page.next_before)


@bp.get("/audit/export")
def export_audit() -> Any:
    """Every record matching the same filters, streamed: ?format=jsonl (default) or csv."""
    return requested_export(get_session(), request.args, team_zone(), default="jsonl")
