"""The feed monitors' job for the worker's APScheduler (3.x): poll the sources that are due.

The worker calls `register(scheduler, app.config, sessionmaker)` once at start. The job
ticks every MONITOR_TICK_SECONDS (1 s by default); each tick reads `now` once and polls
what is due, so a post is seen within one source interval plus a tick (and the poll itself).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from console.clock import utcnow
from monitors.polling import PollSettings, SessionFactory, poll_due
from monitors.rulebook import CompiledRules

JOB_ID = "monitors.poll_feeds"
DEFAULT_TICK_SECONDS = 1.0
log = logging.getLogger(__name__)


def poll_feeds(session_factory: SessionFactory, settings: PollSettings, rules: CompiledRules) -> int:
    """One tick: poll every due source; returns how many were polled."""
    outcomes = poll_due(session_factory, now=utcnow(), settings=settings, rules=rules)
    for outcome in outcomes:
        if outcome.raised:
            log.info("source %s raised %s", outcome.source_id, ", ".join(outcome.raised))
    return len(outcomes)


def register(scheduler: Any, app_config: Mapping[str, Any], session_factory: SessionFactory) -> None:
    """Add the polling job: one instance at a time, missed ticks coalesced into one."""
    tick = float(app_config.get("MONITOR_TICK_SECONDS") or DEFAULT_TICK_SECONDS)
    scheduler.add_job(
        poll_feeds,
        "interval",
        seconds=tick,
        id=JOB_ID,
        name="poll feed sources",
        kwargs={"session_factory": session_factory, "settings": PollSettings.from_config(app_config),
                "rules": CompiledRules()},
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(tick * 5)),
        replace_existing=True,
    )
