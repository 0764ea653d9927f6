"""The comms desk's scheduled work, for the worker: holding statements go out when an update is overdue.

The integrator calls `register(scheduler, app_config, session_factory)` from the worker's
wiring; the job reads `now` once and calls incidents.holding.publish_holding_statements,
whose claim (a HoldingClaim row inserted if absent) makes each statement go out once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incidents.holding import publish_holding_statements
from console.clock import utcnow

log = logging.getLogger(__name__)

JOB_ID = "comms.holding_statements"
INTERVAL_SECONDS = 5


def holding_tick(session_factory: Callable[[], Session], zone: ZoneInfo) -> int:
    """One tick: publish every holding statement due now and commit; returns how many went out."""
    with session_factory() as session:
        published = publish_holding_statements(session, now=utcnow(), zone=zone)
        session.commit()
    if published:
        log.info("holding statements published: %s", [u.incident_id for u in published])
    return len(published)


def register(scheduler: Any, app_config: dict[str, Any], session_factory: Callable[[], Session]) -> None:
    """Add the holding-statement job (every 5 s unless app_config sets HOLDING_TICK_SECONDS)."""
    seconds = float(app_config.get("HOLDING_TICK_SECONDS", INTERVAL_SECONDS))
    scheduler.add_job(
        holding_tick, "interval", seconds=seconds, args=[session_factory, ZoneInfo(app_config["TIMEZONE"])],
        id=JOB_ID, replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=max(1, int(seconds)),
    )
