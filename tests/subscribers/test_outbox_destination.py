"""An outbox message goes to exactly one destination: refused by the model and by the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incidents.models import OutboxMessage, OutboxState
from tests.conftest import FIXED_NOW


def _row(**destination: int | None) -> dict:
    return {"idempotency_key": f"k-{destination}", "event": "incident.update", "message": {},
            "state": OutboxState.PENDING.value, "attempts": 0, "last_error": "", "created_at": FIXED_NOW,
            **destination}


def test_neither_or_both_destinations_are_refused(db_session) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="exactly one"):
        OutboxMessage(idempotency_key="x", event="e", message={}, state=OutboxState.PENDING)
    # Written around the model, the database's CHECK still refuses it.
    with pytest.raises(sa.exc.IntegrityError):
        db_session.execute(sa.insert(OutboxMessage).values(**_row(channel_id=None, subscriber_id=None)))
    db_session.rollback()
