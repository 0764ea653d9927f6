"""Serve a WSGI app on a free port of 127.0.0.1 with a real HTTP server, for as long as needed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


@dataclass
class LiveServer:
    url: str
    app: Flask


@contextmanager
def serving(app: Flask, *, host: str = "127.0.0.1", port: int = 0, ssl_context: Any = None,
            poll_interval: float = 0.5) -> Iterator[LiveServer]:
    """The app (any WSGI app) on `host`, a free port unless given (port 0 picks one), in a daemon
    thread, over TLS with an `ssl_context` (werkzeug's: a (cert, key) pair); shut down on exit."""
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"{'https' if ssl_context else 'http'}://{host}:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
