"""Fixtures for the monitors tests: fixture files, a fixed clock and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from incidents.netguard import parse_networks
from tests.monitors.feedserver import FeedServer, running_feed_server

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
FEED = (FIXTURES / "weibo_keyword_rsshub.xml").read_bytes()
ETAG = '"v1-feed"'
LAST_MODIFIED = "Sun, 22 Nov 2026 12:00:00 GMT"
BIG_SIZE = 50 * 1024 * 1024
# 20 MB of zeros compresses to ~20 KB: a decompression bomb for the decoded-size cap.
GZIP_BOMB = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = stop
        self.other_port = 0  # port of the sibling server, for cross-origin redirects

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # clients hang up on purpose in these tests (size cap, deadline)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, code: int = 302) -> None:
        self._send(code, headers={"Location": location})

    def do_GET(self) -> None:  # noqa: C901, N802 - a routing table is clearest as one function
        path, port = self.path, self.server.server_address[1]
        xml = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if path == "/feed.xml":
            if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304, headers={"ETag": ETAG})
            else:
                self._send(200, FEED, {**xml, "ETag": ETAG, "Last-Modified": LAST_MODIFIED,
                                       "Cache-Control": "public, max-age=600"})
        elif path == "/gzip.xml":
            self._send(200, gzip.compress(FEED), {**xml, "Content-Encoding": "gzip"})
        elif path == "/deflate.xml":
            raw = zlib.compressobj(wbits=-15)
            self._send(200, raw.compress(FEED) + raw.flush(), {**xml, "Content-Encoding": "deflate"})
        elif path == "/chunked-gzip":
            # Like RSSHub behind a compressing proxy: gzip, chunked, no Content-Length.
            body = gzip.compress(FEED)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 100):
                piece = body[i : i + 100]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/gzip-bomb":
            self._send(200, GZIP_BOMB, {**xml, "Content-Encoding": "gzip"})
        elif path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(BIG_SIZE))
            self.end_headers()
            block = b"x" * 65536
            for _ in range(BIG_SIZE // len(block)):  # streamed, never built in memory
                if self.server.stop.is_set():
                    return
                self.wfile.write(block)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100000):
                if self.server.stop.wait(0.05):
                    return
                self.wfile.write(b"<")
                self.wfile.flush()
        elif path == "/hang":
            self.server.stop.wait(10)
        elif path == "/loop-a":
            self._redirect("/loop-b")
        elif path == "/loop-b":
            self._redirect(f"http://127.0.0.1:{port}/loop-a", 301)
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._redirect(f"/chain/{n - 1}" if n > 0 else "/feed.xml", 307)
        elif path == "/redirect-v6":
            self._redirect(f"http://[::1]:{port}/feed.xml")
        elif path == "/redirect-private":
            self._redirect("http://10.0.0.1/feed.xml")
        elif path == "/redirect-other-origin":
            self._redirect(f"http://127.0.0.1:{self.server.other_port}/echo")
        elif path == "/redirect-no-location":
            self._send(302)
        elif path == "/echo":
            self._send(200, json.dumps(dict(self.headers.items())).encode(), {"Content-Type": "application/json"})
        elif path == "/status/429":
            self._send(429, b"slow down", {"Retry-After": "120"})
        elif path == "/status/429-date":
            when = format_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90), usegmt=True)
            self._send(429, b"slow down", {"Retry-After": when})
        elif path == "/status/503-rsshub":
            self._send(503, fixture_bytes("rsshub_empty.html"), {"Content-Type": "text/html; charset=utf-8"})
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"<html><body>error</body></html>", {"Content-Type": "text/html"})
        else:
            self._send(404, b"not found")


@pytest.fixture(scope="session")
def http_servers() -> Iterator[tuple[str, str]]:
    """Two HTTP servers on 127.0.0.1 (different ports = different origins); yields their base URLs."""
    stop = threading.Event()
    servers = [_Server(stop), _Server(stop)]
    servers[0].other_port = servers[1].server_address[1]
    servers[1].other_port = servers[0].server_address[1]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    finally:
        stop.set()
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(5)
        time.sleep(0.05)  # let handler threads notice `stop` and return


@pytest.fixture(scope="session")
def base_url(http_servers: tuple[str, str]) -> str:
    return http_servers[0]


@pytest.fixture(scope="session")
def local_only() -> list:
    return parse_networks(["127.0.0.1/32"])


@pytest.fixture(scope="session")
def _feed_server_running() -> Iterator[FeedServer]:
    with running_feed_server() as server:
        yield server


@pytest.fixture()
def feed_server(_feed_server_running: FeedServer) -> FeedServer:
    """The settable feed server, emptied for each test."""
    _feed_server_running.reset()
    return _feed_server_running
