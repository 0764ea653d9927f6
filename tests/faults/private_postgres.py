"""A throwaway PostgreSQL cluster of the test's own, which it may stop and start at will.

The machine's server on 5432 is shared with other people and never touched. This one lives in
a fresh folder under /tmp, listens on a free port of 127.0.0.1 only, and is removed at the end.
The recipe is .ci/run's: initdb and pg_ctl from the newest /usr/lib/postgresql/*/bin, run as
the `postgres` user when we are root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.alertmanager import free_port

COMMAND_TIMEOUT = 120


def server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if not found:
        pytest.fail("the PostgreSQL server binaries are missing: apt-get install postgresql (.ci/run does)")
    return Path(found[-1]).parent


class PrivateCluster:
    """initdb once, then start() and stop() as often as the test likes; remove() at the end."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="crisis-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        """A fast shutdown, as a restart by an operator: every connection is cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["su", "postgres", "-c", shlex.join(command)]
        # Output to a file, not a pipe: the server pg_ctl leaves running must not hold our pipe open.
        with (self.root / "commands.log").open("ab") as output:
            finished = subprocess.run(command, cwd=self.root, stdout=output, stderr=subprocess.STDOUT,
                                      timeout=COMMAND_TIMEOUT)
        if check and finished.returncode != 0:
            details = (self.root / "commands.log").read_text(errors="replace")
            raise AssertionError(f"{program} failed ({finished.returncode}):\n{details}\n{self.log()}")
