"""The status page's scheduled work, for the worker: maintenance windows start and end on time.

The integrator calls `register(scheduler, app_config, session_factory)` from the worker's
wiring; the job only reads `now` and calls incidents.maintenance.advance_windows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from incidents.maintenance import advance_windows
from console.clock import utcnow

log = logging.getLogger(__name__)

JOB_ID = "statuspage.advance_maintenance"
INTERVAL_SECONDS = 30


def advance_maintenance(session_factory: Callable[[], Session]) -> int:
    """One tick: move due windows forward and commit; returns how many updates were written."""
    with session_factory() as session:
        written = advance_windows(session, now=utcnow())
        session.commit()
    if written:
        log.info("maintenance windows moved forward: %s", [(u.maintenance_id, u.status.value) for u in written])
    return len(written)


def register(scheduler: Any, app_config: dict[str, Any], session_factory: Callable[[], Session]) -> None:
    """Add the maintenance job (every 30 s unless app_config sets MAINTENANCE_TICK_SECONDS)."""
    seconds = int(app_config.get("MAINTENANCE_TICK_SECONDS", INTERVAL_SECONDS))
    scheduler.add_job(
        advance_maintenance, "interval", seconds=seconds, args=[session_factory], id=JOB_ID,
        replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=seconds,
    )
