"""Real local servers for the channel tests: a recording HTTP server and an aiosmtpd server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from incidents.netguard import parse_networks

LOCAL = parse_networks(["127.0.0.1/32"])


@dataclass
class Recorded:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = '{"errcode":0,"errmsg":"ok"}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


class RecordingServer:
    """A WSGI app that records every request and answers with whatever `reply` says."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.reply = Reply()
        self.release = threading.Event()
        self.base_url = ""

    def set(self, status: int = 200, body: bytes | str = '{"errcode":0,"errmsg":"ok"}', *, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.reply = Reply(status, body, headers if headers is not None else {"Content-Type": "application/json"}, delay)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def last(self) -> Recorded:
        assert self.requests, "no request arrived"
        return self.requests[-1]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.args),
                dict(request.headers),
                request.get_data(),
            )
        )
        reply = self.reply
        if reply.delay:
            self.release.wait(reply.delay)
        response = Response(reply.body, status=reply.status, headers=reply.headers)
        return response(environ, start_response)


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    app = RecordingServer()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        app.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # never route the test traffic through an environment proxy
        yield s


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    return _free_port()


class SMTPHandler:
    """Keeps accepted envelopes; can refuse recipients or the data with a given reply."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse_rcpt: dict[str, str] = {}
        self.refuse_all_rcpt: str | None = None
        self.refuse_data: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.refuse_all_rcpt:
            return self.refuse_all_rcpt
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    handler: SMTPHandler
    port: int


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    handler = SMTPHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SMTPServer(handler, controller.port)
    finally:
        controller.stop()
