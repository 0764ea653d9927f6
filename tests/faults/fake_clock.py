"""A wall clock the test moves for the processes it starts, through libfaketime (Debian
package `faketime`).

The processes get libfaketime preloaded with a timestamp file holding an offset in seconds
("+330"), read again on every clock reading (FAKETIME_NO_CACHE), so writing the file moves
their clock at once. Only the wall clock moves, as when NTP or an operator sets the system
clock: the monotonic clock behind sleeps and timeouts runs on untouched
(FAKETIME_DONT_FAKE_MONOTONIC), and file times are left alone (NO_FAKE_STAT).

Two things learnt with Debian's libfaketime 0.9.10 and Python 3.11: its "monotonic fix"
(switched on by itself on this glibc) makes every wait on a condition variable, so every
hand-over of the GIL between threads, 5 to 15 times slower, which starved the worker on a
busy machine; with the monotonic clock not faked it has nothing to fix, so it is switched off
(FAKETIME_FORCE_MONOTONIC_FIX=0). And `time.sleep` fails with EINVAL under an offset
(clock_nanosleep on an absolute monotonic time): nothing the worker runs calls it (it waits
on events), but a process that does cannot run on this clock.

Nothing in the console reads the database server's clock (no now() or CURRENT_TIMESTAMP in
any statement or column default: every time is the process's `utcnow()` passed in), so
moving the worker's clock alone is the whole story; the test process and the database keep
the real time.
"""

from __future__ import annotations

import glob
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from incidents.timeutil import utcnow


def libfaketime() -> str:
    """The path of libfaketime.so.1, or a failure that says what to install."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail("libfaketime is missing: apt-get install faketime (.ci/run installs it)")
    return found[0]


class FakeClock:
    """The offset of the started processes' wall clock from the real one; it only moves forward."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._write()

    @property
    def env(self) -> dict[str, str]:
        """What a process needs in its environment to run on this clock."""
        preload = " ".join(filter(None, [libfaketime(), os.environ.get("LD_PRELOAD", "")]))
        return {"LD_PRELOAD": preload, "FAKETIME_TIMESTAMP_FILE": str(self.path), "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_FORCE_MONOTONIC_FIX": "0", "NO_FAKE_STAT": "1"}

    def now(self) -> datetime:
        """What the processes' clock says now."""
        return utcnow() + timedelta(seconds=self.offset)

    def advance(self, seconds: int) -> datetime:
        """Move the processes' clock forward; returns the moment it now shows."""
        self.offset += seconds
        self._write()
        return self.now()

    def _write(self) -> None:
        # Replaced in one rename: a process reading the file never sees it half-written.
        draft = self.path.with_suffix(".draft")
        draft.write_text(f"{self.offset:+d}\n")
        os.replace(draft, self.path)
