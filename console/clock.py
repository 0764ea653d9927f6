"""What time it is for the console's edges (views, hooks, jobs run inside the app).

The app's `CLOCK` setting, when given, is a callable returning aware UTC: tests give the
console the same fixed `now` they build their data at, so nothing under test mixes a fixed
instant with the wall clock. Without it (and outside an app context) this is the wall clock.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context

from incidents.timeutil import utcnow as wall_clock


def utcnow() -> datetime:
    """The current time as aware UTC, from the app's CLOCK when it has one."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return wall_clock()
