"""Every request, timed once: its counts for /metrics and its access line for the log.

A WSGI layer outside everything else, so the answers the public page's front cache gives
without entering Flask are counted and logged too. It settles the request id first (the
caller's X-Request-ID when plain, else a new one) and hands it to Flask in that header, so
g.request_id, the audit records and the access line agree, and every answer carries it,
a stored one too. Flask's part leaves the actor and the endpoint in the WSGI environ when
it tears the request down; an answer that never reached Flask gets its endpoint from the
URL map (remembered per path).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from console import logs, metrics

access_log = logging.getLogger(logs.ACCESS_LOGGER)
SEEN = "crisis.seen"  # environ key: (actor, endpoint) from Flask's teardown
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REMEMBERED_PATHS = 4096


class RequestObserver:
    """WSGI middleware: status and duration of each request to the metrics and the access log."""

    def __init__(self, wsgi_app: Any, url_map: Map, *, plain_id: re.Pattern[str]):
        self.wsgi_app = wsgi_app
        self.url_map = url_map
        self.plain_id = plain_id
        self._endpoints: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if self.plain_id.fullmatch(offered) else uuid.uuid4().hex
        environ["HTTP_X_REQUEST_ID"] = request_id  # what console._assign_request_id keeps
        answered: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            # A stored answer still carries the id of the request that rendered it: replace it.
            headers = [(name, value) for name, value in headers if name != "X-Request-ID"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            result = self.wsgi_app(environ, capture)
        except Exception:
            self._record(environ, request_id, 500, started)
            raise
        self._record(environ, request_id, int(answered[0][:3]) if answered else 500, started)
        return result

    def _record(self, environ: dict[str, Any], request_id: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        seen = environ.get(SEEN)
        actor, endpoint = seen if seen else ("anonymous", self._endpoint(environ))
        method = environ.get("REQUEST_METHOD", "")
        metrics.observe_request(endpoint, method if method in METHODS else "other", status, seconds)
        if access_log.isEnabledFor(logging.INFO):
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
    request.environ[SEEN] = (actor.label if actor is not None else "anonymous", request.endpoint or "unmatched")


def init_app(app: Flask) -> None:
    """Wrap the app (call last, after every other WSGI layer) and record each request."""
    from console import REQUEST_ID  # the same rule for a caller's id as Flask's side

    app.teardown_request(_leave_trace)
    app.wsgi_app = RequestObserver(app.wsgi_app, app.url_map, plain_id=REQUEST_ID)  # type: ignore[method-assign]
