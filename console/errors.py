"""Error answers: JSON for the API, a calm page for people, never a traceback.

When the database cannot be reached (PostgreSQL restarting, a network cut, SQLite locked
for too long) every request answers 503 with Retry-After: a page that reloads itself for
people, `{"error": {"code": "database_unavailable", ...}}` for /api/ and /hooks/. Nothing
is restarted: the engine's pool pings connections before use (console/db.py), so the
first request after the database is back gets a fresh connection and answers as usual.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from console.i18n import message_for, select_locale
from console.typed_text import typed_form
from incidents.errors import DomainError, InvalidInput, NotFound, StaleVersion
from incidents.lifecycle import TransitionNotAllowed

log = logging.getLogger(__name__)

# What "the database is away" looks like through SQLAlchemy: the server refused or dropped
# the connection (OperationalError), a connection found closed (InterfaceError), or no pooled
# connection became free in time (TimeoutError).
DATABASE_AWAY = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
# Seconds a client is asked to wait before trying again; the page reloads itself after as long.
RETRY_AFTER_SECONDS = 10


def api_error(status: int, code: str, message: str, field: str | None = None, **extra: Any) -> Any:
    """The API's error shape: {"error": {"code", "message", "field"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    body.update(extra)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def forbidden_page() -> Any:
    return render_template("errors/error.html", status=403,
                           message=gettext("Your role does not allow this action.")), 403


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/hooks/")


def database_unavailable(error: Exception) -> Any:
    """503 while the database is away: JSON for scripts, a page for people.

    The page reloads itself after a GET. After a form's POST it never does (a reload would
    turn it into a GET and drop the post): it offers the typed text back with a button that
    posts it again. Rendered without touching the database: g.database_unavailable tells
    the language choice to skip the signed-in user, and the page is rendered without the
    context processors (Flask-Login's loads that user: what may have just failed)."""
    g.database_unavailable = True
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.path,
                error.__class__.__name__, reason[0] if reason else "")
    if _wants_json():
        response = api_error(503, "database_unavailable",
                             "the database cannot be reached right now; try again in a few seconds")
    else:
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        response = make_response(page.render(current_locale=select_locale(), retry_after=RETRY_AFTER_SECONDS,
                                             reloads=request.method in ("GET", "HEAD"), sent=typed_form(request)),
                                 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register handlers so every failure gets a clear, non-technical answer."""

    for away in DATABASE_AWAY:
        app.register_error_handler(away, database_unavailable)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if _wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            return api_error(error.code or 500, code, error.description or error.name)
        return render_template("errors/error.html", status=error.code, message=error.description), error.code

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Any:
        if _wants_json():
            return api_error(404, "not_found", str(error))
        return render_template("errors/error.html", status=404, message=gettext("Not found.")), 404

    @app.errorhandler(InvalidInput)
    def invalid(error: InvalidInput) -> Any:
        if _wants_json():
            # `reason` says which rule, for a script to act on (e.g. "private_url", "too_long").
            return api_error(422, "invalid", error.message, error.field, reason=error.reason)
        return render_template("errors/error.html", status=422, message=message_for(error)), 422

    @app.errorhandler(TransitionNotAllowed)
    def transition_not_allowed(error: TransitionNotAllowed) -> Any:
        return api_error(409, error.code, str(error), "to", current=error.current.value)

    @app.errorhandler(StaleVersion)
    def stale(error: StaleVersion) -> Any:
        return api_error(409, "conflict", str(error), "version", fields=error.fields)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        return api_error(400, error.code, str(error))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return api_error(500, "internal_error", "something went wrong on our side; it was logged")
        message = gettext("Something went wrong on our side. It was logged; please try again.")
        return render_template("errors/error.html", status=500, message=message), 500
