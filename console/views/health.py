"""Liveness and readiness probes for load balancers and process managers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from console import migrate

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """The database answers and its schema is at the migrations' head."""
    engine = current_app.extensions["db_engine"]
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = migrate.current_revisions(connection)
    except sa.exc.SQLAlchemyError:
        return jsonify(status="unavailable", reason="database unreachable"), 503
    expected = migrate.head_revisions(current_app.config["DATABASE_URL"])
    if current != expected:
        return jsonify(status="unavailable", reason="migrations not at head",
                       current=sorted(current), expected=sorted(expected)), 503
    return jsonify(status="ok")
