"""Receivers for the fault tests: a webhook receiver that honours the idempotency key, and
HTTP and SMTP servers that can be stopped (connections refused) and started again on the
same port, as a receiver that is down and comes back."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from typing import Any

from aiosmtpd.controller import Controller
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.channels.conftest import SMTPHandler
from tests.support.alertmanager import free_port

# How long a held request waits for release() at most: only bounds a test that forgot.
HOLD_LIMIT = 60.0


class IdempotentReceiver:
    """A webhook receiver as the console asks receivers to be: the first request with an
    Idempotency-Key is acted on, a repeat is answered 200 and dropped. Both are counted.

    `hold()` keeps the next requests open after they were received and acted on, before
    the answer, until `release()`: a sender killed meanwhile never learns it was delivered.
    """

    def __init__(self) -> None:
        self.acted: dict[str, str] = {}  # key -> path, in order of arrival
        self.duplicates: Counter[str] = Counter()
        self._held: set[str] = set()  # keys whose requests are open right now
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        # Where it is served (set by whoever serves it), to stop it and start it again.
        self.server: RestartableHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None, "the receiver is not served"
        return self.server.url(path)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def in_flight(self) -> set[str]:
        """Keys of the requests received and not yet answered."""
        with self._lock:
            return set(self._held)

    def keys(self, prefix: str = "/") -> set[str]:
        """Keys acted on at paths under `prefix`."""
        with self._lock:
            return {key for key, path in self.acted.items() if path.startswith(prefix)}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.get_data()
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return Response("Idempotency-Key required", status=400)(environ, start_response)
        with self._lock:
            if key in self.acted:
                self.duplicates[key] += 1
            else:
                self.acted[key] = request.path
            self._held.add(key)
        try:
            self._open.wait(HOLD_LIMIT)
        finally:
            with self._lock:
                self._held.discard(key)
        return Response('{"ok": true}', status=200, content_type="application/json")(environ, start_response)


class RestartableHTTPServer:
    """A WSGI app on a fixed port of 127.0.0.1; stop() refuses connections until start()."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


class RestartableSMTPServer:
    """aiosmtpd on a fixed port of 127.0.0.1, keeping what it accepted across restarts."""

    def __init__(self) -> None:
        self.handler = SMTPHandler()
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        mails = (email.message_from_bytes(envelope.original_content, policy=email.policy.SMTP)
                 for envelope in self.handler.envelopes)
        return Counter(mail["Message-ID"] for mail in mails)
