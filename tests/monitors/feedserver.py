"""A feed server on 127.0.0.1 whose answers a test sets and changes between polls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POLLING_FIXTURES = Path(__file__).parent / "fixtures" / "polling"
RSS = "application/rss+xml; charset=utf-8"


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = RSS
    etag: str | None = None
    break_after: int | None = None  # send this many bytes of the body, then hang up


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            route = self.server.routes.get(self.path)
            self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        self.end_headers()
        if route.break_after is not None:
            self.wfile.write(route.body[: route.break_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(route.body)


class FeedServer(ThreadingHTTPServer):
    """`set(path, ...)` decides what the next GET of `path` answers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # clients hang up on purpose (broken downloads)

    def set(self, path: str, fixture: str | bytes, **kwargs: object) -> str:
        """Serve a fixture file (by name) or bytes at `path`; returns the full URL."""
        body = fixture if isinstance(fixture, bytes) else (POLLING_FIXTURES / fixture).read_bytes()
        with self.lock:
            self.routes[path] = Route(body=body, **kwargs)  # type: ignore[arg-type]
        return self.base + path

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()
            self.hits.clear()


@contextmanager
def running_feed_server() -> Iterator[FeedServer]:
    """A FeedServer serving on its own thread until the block ends."""
    server = FeedServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
