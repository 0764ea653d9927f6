"""The settings' domain functions without the console: playbook edits, history, masks, calendar."""

from __future__ import annotations

import sqlalchemy as sa

from incidents import playbooks
from incidents.actors import Actor
from incidents.lifecycle import Kind
from incidents.models import AuditRecord, PlaybookRevision
from tests.conftest import FIXED_NOW

ADMIN = Actor(label="李静")


def test_blanking_overrides_alone_changes_nothing(db_session) -> None:  # noqa: ANN001
    """Blank overrides on a kind that has none used to leave an empty table and write a revision."""
    playbook = playbooks.change_numbers(db_session, kind=Kind.OUTAGE, changes={"P1.first_notice.offset": "",
                                        "P3.public_update.period": ""}, business_hours=None, actor=ADMIN, now=FIXED_NOW)
    assert playbook.source == "defaults v1" and "severity" not in playbook.document
    assert db_session.scalar(sa.select(sa.func.count()).select_from(PlaybookRevision)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0

