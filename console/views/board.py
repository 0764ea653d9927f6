"""The live board: open incidents, filters, active search, a self-refreshing fragment."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from console import htmx
from console.db import get_session
from console.i18n import select_locale
from console.views.caching import conditional, shared_conditional
from console.views.deadlines import request_now
from console.views.filters import parse_filter
from incidents import queries, signoff_reach
from incidents.deadlines import next_deadline
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity, Status
from incidents.models import User
from incidents.roster import on_duty

bp = Blueprint("board", __name__)


@bp.get("/")
def index() -> Any:
    """The board page; an htmx request gets only the rows, with ETag/304 when nothing changed.

    Rows sort by severity, the unacknowledged first, then by their most urgent deadline; a row
    with an overdue deadline is marked. The duty manager on duty heads the board.
    """
    try:
        chosen = parse_filter(request.args)
        filter_error = None
    except InvalidInput as error:
        chosen, filter_error = parse_filter(MultiDict()), error
    session = get_session()
    fragment = bool(htmx) and htmx.target == "board"
    now = request_now()

    @functools.cache
    def duty() -> User | None:
        return on_duty(session, now)

    def fingerprint() -> str:
        person = duty()
        # The overdue count moves when a deadline falls due, which writes nothing: without it a
        # cached render would keep the row un-marked until the worker's sweep changed something.
        return (f"{fragment}|{select_locale()}|{chosen.cache_key()}|{queries.board_fingerprint(session)}"
                f"|{queries.overdue_deadline_count(session, now)}|{person.id if person else '-'}")

    def render() -> str:
        incidents = queries.list_incidents(
            session, statuses=chosen.statuses, kinds=chosen.kinds,
            severities=chosen.severities, query=chosen.query,
        )
        template = "board/_board.html" if fragment else "board/index.html"
        return render_template(
            template,
            incidents=incidents,
            next_deadlines=next_deadline(session, [incident.id for incident in incidents]),
            on_duty=duty(),
            waiting_signoffs=signoff_reach.waiting_drafts(session),
            chosen=chosen,
            filter_error=filter_error,
            kinds=list(Kind),
            severities=list(Severity),
            statuses=list(Status),
            poll_seconds=current_app.config["BOARD_POLL_SECONDS"],
        )

    vary = ("HX-Request", "HX-Target")
    if fragment and filter_error is None:
        # The rows (not the page, which names the reader) are the same for everyone with these filters.
        return shared_conditional(f"board|{select_locale()}|{chosen.cache_key()}", fingerprint, render, vary=vary)
    return conditional(fingerprint(), render, status=422 if filter_error else 200, vary=vary)
