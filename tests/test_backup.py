"""`crisis backup` while the console writes, `crisis restore` into a fresh database, on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from console import migrate
from incidents import service
from incidents.actors import Actor
from incidents.models import AuditRecord, Incident, TimelineEvent
from incidents.monitor_models import Mention, MentionState, MonitorSource
from tests.conftest import FIXED_NOW, POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent
CRISIS = str(Path(sys.executable).parent / "crisis")
ACTOR = Actor(label="tester")
ZONE = ZoneInfo("Asia/Shanghai")


def _crisis(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRISIS_DATABASE_URL": database_url, "CRISIS_SECRET_KEY": "backup-test"}
    return subprocess.run([CRISIS, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _write_a_crisis(session: Session, source: MonitorSource, number: int) -> None:
    """One incident with a note and a mention attached: what the console writes during a crisis."""
    at = FIXED_NOW + timedelta(seconds=number)
    incident = service.open_incident(session, kind="outage", severity="P2", title=f"支付失败 {number}",
                                     actor=ACTOR, now=at, zone=ZONE)
    service.add_note(session, incident=incident, body=f"第 {number} 条记录", actor=ACTOR, now=at)
    session.add(Mention(source_id=source.id, source_name=source.name, key_hash=uuid.uuid4().hex,
                        identity=f"post-{number}", title=f"帖子 {number}", state=MentionState.ATTACHED,
                        incident_id=incident.id, created_at=at, updated_at=at))
    session.commit()


def _contents(database_url: str) -> dict[str, set]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                "incidents": set(connection.scalars(sa.select(Incident.reference))),
                "timeline": set(connection.execute(sa.select(TimelineEvent.id, TimelineEvent.incident_id))),
                "mentions": set(connection.execute(sa.select(Mention.identity, Mention.incident_id))),
                "audit": set(connection.scalars(sa.select(AuditRecord.id))),
            }
    finally:
        engine.dispose()


@pytest.fixture()
def empty_target(database_url: str, tmp_path: Path):  # noqa: ANN201
    """The address of a database with no tables, of the same engine."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"crisis_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_under_writes_restores_every_record(db_session, database_url, empty_target, tmp_path) -> None:  # noqa: ANN001
    source = MonitorSource(name="微博", url="http://127.0.0.1:9/feed", next_poll_at=FIXED_NOW, created_at=FIXED_NOW,
                           updated_at=FIXED_NOW)
    db_session.add(source)
    db_session.commit()
    for number in range(30):
        _write_a_crisis(db_session, source, number)
    before = _contents(database_url)

    # The console keeps writing while the backup is taken.
    stop, written = threading.Event(), []

    def keep_writing() -> None:
        with Session(db_session.get_bind(), expire_on_commit=False) as writer:
            source_there = writer.get(MonitorSource, source.id)
            number = 1000
            while not stop.is_set():
                _write_a_crisis(writer, source_there, number)
                written.append(number)
                number += 1

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        path = tmp_path / "crisis.backup"
        taken = _crisis("backup", str(path), database_url=database_url)
        assert taken.returncode == 0, taken.stderr
    finally:
        stop.set()
        thread.join()
    assert written, "the writer should have written during the backup"

    restored = _crisis("restore", str(path), database_url=empty_target)
    assert restored.returncode == 0, restored.stderr
    after = _contents(empty_target)
    for kind, rows in before.items():
        assert rows <= after[kind], f"{kind} lost in the backup"
    # A consistent snapshot: every incident restored has its timeline and its mention, nothing half-written.
    engine = sa.create_engine(empty_target)
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions(empty_target)
        incident_ids = set(connection.scalars(sa.select(Incident.id)))
        assert {incident for _, incident in after["timeline"]} == incident_ids
        assert {incident for _, incident in after["mentions"]} == incident_ids
    engine.dispose()

    # A second restore into the now full database is refused and changes nothing.
    again = _crisis("restore", str(path), database_url=empty_target)
    assert again.returncode != 0 and "empty database" in again.stderr
    assert _contents(empty_target) == after


def test_restore_refuses_what_is_not_a_backup(database_url, empty_target, tmp_path) -> None:  # noqa: ANN001
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    refused = _crisis("restore", str(junk), database_url=empty_target)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().startswith("Error:")
