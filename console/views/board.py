"""The live board: open incidents, filters, active search, a self-refreshing fragment."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, current_app, make_response, render_template, request
from werkzeug.datastructures import MultiDict

from console import htmx
from console.db import get_session
from console.i18n import select_locale
from console.views.filters import parse_filter
from incidents import queries
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity, Status

bp = Blueprint("board", __name__)


@bp.get("/")
def index() -> Any:
    """The board page; an htmx request gets only the rows, with ETag/304 when nothing changed."""
    try:
        chosen = parse_filter(request.args)
        filter_error = None
    except InvalidInput as error:
        chosen, filter_error = parse_filter(MultiDict()), error
    session = get_session()
    fragment = bool(htmx) and htmx.target == "board"
    fingerprint = queries.board_fingerprint(session)
    tag_source = f"{fragment}|{select_locale()}|{chosen.cache_key()}|{fingerprint}"
    etag = hashlib.sha1(tag_source.encode()).hexdigest()
    if etag in request.if_none_match and filter_error is None:
        response = make_response("", 304)
    else:
        incidents = queries.list_incidents(
            session, statuses=chosen.statuses, kinds=chosen.kinds,
            severities=chosen.severities, query=chosen.query,
        )
        context = {
            "incidents": incidents,
            "chosen": chosen,
            "filter_error": filter_error,
            "kinds": list(Kind),
            "severities": list(Severity),
            "statuses": list(Status),
            "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
        }
        template = "board/_board.html" if fragment else "board/index.html"
        response = make_response(render_template(template, **context), 422 if filter_error else 200)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    response.vary.add("Cookie")
    return response
