"""Every request, timed once: its counts for /metrics and its access line for the log.

A WSGI layer outside everything else, so the answers the public page's front cache gives
without entering Flask are counted and logged too. Flask's part leaves the request id, the
actor and the endpoint in the WSGI environ when it tears the request down; an answer that
never reached Flask gets its endpoint from the URL map (remembered per path) and its own
request id, echoed as X-Request-ID like Flask's.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from console import logs, metrics

access_log = logging.getLogger(logs.ACCESS_LOGGER)
SEEN = "crisis.seen"  # environ key: (request_id, actor, endpoint) from Flask's teardown
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REMEMBERED_PATHS = 4096


class RequestObserver:
    """WSGI middleware: status and duration of each request to the metrics and the access log."""

    def __init__(self, wsgi_app: Any, url_map: Map):
        self.wsgi_app = wsgi_app
        self.url_map = url_map
        self._endpoints: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        answered: list[str] = []
        fresh_id: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            if not any(name == "X-Request-ID" for name, _value in headers):  # answered before Flask
                fresh_id.append(uuid.uuid4().hex)
                headers = [*headers, ("X-Request-ID", fresh_id[0])]
            return start_response(status, headers, exc_info)

        try:
            result = self.wsgi_app(environ, capture)
        except Exception:
            self._record(environ, 500, started, fresh_id)
            raise
        self._record(environ, int(answered[0][:3]) if answered else 500, started, fresh_id)
        return result

    def _record(self, environ: dict[str, Any], status: int, started: float, fresh_id: list[str]) -> None:
        seconds = time.perf_counter() - started
        seen = environ.get(SEEN)
        endpoint = seen[2] if seen else self._endpoint(environ)
        method = environ.get("REQUEST_METHOD", "")
        metrics.observe_request(endpoint, method if method in METHODS else "other", status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            request_id, actor = (seen[0], seen[1]) if seen else (fresh_id[0] if fresh_id else "-", "anonymous")
            path = environ.get("PATH_INFO", "")
            access_log.info(
                "%s %s %s %.1f ms", method, path, status, seconds * 1000,
                extra={"request_id": request_id, "method": method, "endpoint": endpoint, "path": path,
                       "query": logs.safe_query(environ.get("QUERY_STRING", "")), "status": status,
                       "duration_ms": round(seconds * 1000, 1), "actor": actor,
                       "remote": environ.get("REMOTE_ADDR", "")})

    def _endpoint(self, environ: dict[str, Any]) -> str:
        """The route's endpoint name for a path answered outside Flask."""
        path = environ.get("PATH_INFO", "")
        endpoint = self._endpoints.get(path)
        if endpoint is None:
            try:
                endpoint, _args = self.url_map.bind_to_environ(environ).match()
            except HTTPException:
                endpoint = "unmatched"
            if len(self._endpoints) < MAX_REMEMBERED_PATHS:
                self._endpoints[path] = endpoint
        return endpoint


def _leave_trace(_exc: BaseException | None) -> None:
    """Flask's part: what the access line needs, left in the environ for the WSGI layer."""
    actor = g.get("actor")
    request.environ[SEEN] = (g.get("request_id", "-"), actor.label if actor is not None else "anonymous",
                             request.endpoint or "unmatched")


def init_app(app: Flask) -> None:
    """Wrap the app (call last, after every other WSGI layer) and record each request."""
    app.teardown_request(_leave_trace)
    app.wsgi_app = RequestObserver(app.wsgi_app, app.url_map)  # type: ignore[method-assign]
