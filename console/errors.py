"""Error answers: JSON for the API, a calm page for people, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from console.i18n import message_for
from incidents.errors import DomainError, InvalidInput, NotFound, StaleVersion
from incidents.lifecycle import TransitionNotAllowed

log = logging.getLogger(__name__)


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


def init_app(app: Flask) -> None:
    """Register handlers so every failure gets a clear, non-technical answer."""

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
            return api_error(422, "invalid", error.message, error.field)
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
