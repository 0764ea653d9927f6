"""Fixtures of the fault suite: receivers that can go down, a wall clock to move, the worker
processes (tests/worker_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.fake_clock import FakeClock
from tests.faults.servers import IdempotentReceiver, RestartableHTTPServer, RestartableSMTPServer
from tests.worker_support import processes  # noqa: F401 (fixture)


@pytest.fixture()
def receiver() -> Iterator[IdempotentReceiver]:
    """An idempotent webhook receiver, served on 127.0.0.1 (its server: `receiver.server`)."""
    app = IdempotentReceiver()
    app.server = RestartableHTTPServer(app)
    app.server.start()
    try:
        yield app
    finally:
        app.release()
        app.server.stop()


@pytest.fixture()
def mail_server() -> Iterator[RestartableSMTPServer]:
    server = RestartableSMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def fake_clock(tmp_path: Path) -> FakeClock:
    """A wall clock for the processes the test starts with `fake_clock.env`; it starts at the real time."""
    return FakeClock(tmp_path / "faketime")
