"""Back up and restore the whole console database, while it runs.

SQLite: the online backup API copies a consistent snapshot page by page while writers go on.
PostgreSQL: `pg_dump --format=custom` (one consistent snapshot) and `pg_restore`. A restore goes
into an empty database only (no tables at all) and ends at the migrations' head, so a backup
taken by an older release comes back in this release's shape.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from console import migrate


class BackupError(Exception):
    """A backup or restore that cannot be done, said in one line for the person at the terminal."""


def backup(database_url: str, path: Path) -> None:
    """Write a consistent copy of the database at `database_url` to `path` (replaced if present)."""
    url = make_url(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_file(url), path)
    elif url.get_backend_name() == "postgresql":
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path), _libpq(url)], url)
    else:
        raise BackupError(f"no backup for {url.get_backend_name()} databases")


def restore(database_url: str, path: Path) -> None:
    """Restore the backup at `path` into the empty database at `database_url`, then migrate to head."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        target = _sqlite_file(url)
        if target.exists() and _table_names(database_url):
            raise BackupError(f"{target} already holds tables: restore only into an empty database")
        try:
            _sqlite_copy(path, target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a SQLite backup of the console ({error})") from None
    elif backend == "postgresql":
        if _table_names(database_url):
            raise BackupError(f"database {url.database!r} already holds tables: restore only into an empty database")
        _run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", _libpq(url), str(path)], url)
    else:
        raise BackupError(f"no restore for {backend} databases")
    migrate.upgrade(database_url)


def _table_names(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot even while another process writes."""
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    temporary = target.with_name(target.name + ".partial")
    temporary.unlink(missing_ok=True)
    with closing(sqlite3.connect(source, timeout=30)) as reader, closing(sqlite3.connect(temporary)) as writer:
        reader.backup(writer)
    os.replace(temporary, target)


def _libpq(url: URL) -> str:
    """The libpq address of a SQLAlchemy URL, without the password (given through PGPASSWORD)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    """pg_dump or pg_restore: the newest installed server's own, else the one on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    tool = found[-1] if found else shutil.which(name)
    if not tool:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return tool


def _run(command: list[str], url: URL) -> None:
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        message = (finished.stderr or finished.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {message[-1] if message else finished.returncode}")
