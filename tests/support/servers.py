"""Serve a WSGI app on a free port of 127.0.0.1 with a real HTTP server, for as long as needed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server


@dataclass
class LiveServer:
    url: str
    app: Flask


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """The app on a free port (port 0 picks one) in a daemon thread; shut down on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
