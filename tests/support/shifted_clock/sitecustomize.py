"""Imported by every Python process of `make test-shifted` (the folder is put on PYTHONPATH):
the test process, its xdist workers and the worker processes tests start. That run moves the
wall clock a year ahead with libfaketime, to prove no test depends on today's date.

Debian's libfaketime 0.9.10 with Python 3.11: with the monotonic clock faked too, every timed
wait on a condition variable (threading.Event.wait: werkzeug, APScheduler, xdist) hangs; so
only the wall clock is moved (FAKETIME_DONT_FAKE_MONOTONIC=1). Then `time.sleep`, which sleeps
until an absolute monotonic time (clock_nanosleep), fails with EINVAL, which left xdist's
workers hung at start: under FAKETIME it waits on an event instead, the same for every caller.
"""

from __future__ import annotations

import os
import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


if os.environ.get("FAKETIME"):
    time.sleep = _sleep
