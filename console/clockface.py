"""How the clock reads on screen: countdowns, lateness and urgency, as pure functions.

The same shapes as console/static/js/console.js, so the server's first rendering (and a
browser without JavaScript) shows what the ticking script shows a second later.
"""

from __future__ import annotations

from datetime import datetime

OVERDUE = "overdue"
SOON = "soon"


def span(seconds: float, language: str, *, clock: bool = False) -> str:
    """A length of time: "1天2小时", "2小时05分", "3分20秒"; `clock` gives "03:20" under an hour."""
    total = max(0, int(seconds))
    days, hours = total // 86400, total % 86400 // 3600
    minutes, secs = total % 3600 // 60, total % 60
    zh = language.startswith("zh")
    if days > 0:
        return f"{days}天{hours}小时" if zh else f"{days}d {hours}h"
    if hours > 0:
        return f"{hours}小时{minutes:02d}分" if zh else f"{hours}h {minutes:02d}m"
    if clock:
        return f"{minutes:02d}:{secs:02d}"
    return f"{minutes}分{secs:02d}秒" if zh else f"{minutes}m {secs:02d}s"


def countdown(due_at: datetime, now: datetime, language: str) -> str:
    """Time left as a clock face, or "+" and the time over when overdue."""
    left = (due_at - now).total_seconds()
    if left < 0:
        return "+" + span(-left, language, clock=True)
    return span(left, language, clock=True)


def urgency(due_at: datetime, remind_at: datetime | None, now: datetime) -> str:
    """"overdue" past due, "soon" from the reminder time, "" before (the countdown's colour)."""
    if now > due_at:
        return OVERDUE
    if remind_at is not None and now >= remind_at:
        return SOON
    return ""


def remind_ms(due_at: datetime, remind_at: datetime | None) -> int:
    """How long before due the countdown turns amber, in milliseconds (data-remind-ms)."""
    if remind_at is None:
        return 0
    return max(0, int((due_at - remind_at).total_seconds() * 1000))
