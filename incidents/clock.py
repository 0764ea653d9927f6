"""The pure rules of the clock: when a deadline falls due, when to remind, when to escalate.

No database and no reading of the clock: `now` and the calendar are passed in, so every
boundary minute can be tested exactly.

A deadline moves through stages, each taken once by the worker:

    0 created → 1 reminded → 2 overdue (owner told) → 3 commander → 4 duty manager → 5 admins

Stage 1 happens at `remind_at`, stage 2 at `due_at`, and each later stage `escalate_every`
minutes after the one before. A worker that was down takes every stage that came due at
once, except the reminder when the deadline is already overdue (a reminder after the fact
is noise; the overdue notice says more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from incidents.timeutil import ensure_aware

CREATED, REMINDED, OVERDUE, COMMANDER, DUTY_MANAGER, ADMINS = range(6)
FINAL_STAGE = ADMINS
# Who hears of an overdue deadline at each stage, in order.
ESCALATION_CHAIN = {OVERDUE: "owner", COMMANDER: "commander", DUTY_MANAGER: "duty_manager", ADMINS: "admins"}

SNOOZE_CHOICES = (5, 15, 30)


class WorkingTime(Protocol):
    """What the clock needs of a business calendar (incidents.business_hours.BusinessCalendar)."""

    def add_minutes(self, start: datetime, minutes: int) -> datetime: ...

    def minutes_between(self, start: datetime, end: datetime) -> float: ...


def due_after(anchor_at: datetime, minutes: int, calendar: WorkingTime | None = None) -> datetime:
    """The due time `minutes` after the anchor: wall-clock, or working minutes of a calendar."""
    anchor_at = ensure_aware(anchor_at)
    if calendar is None:
        return anchor_at + timedelta(minutes=minutes)
    return ensure_aware(calendar.add_minutes(anchor_at, minutes))


def remind_time(due_at: datetime, remind_before: int, *, created_at: datetime) -> datetime | None:
    """When to remind: `remind_before` minutes ahead, never before the deadline exists."""
    if remind_before <= 0:
        return None
    at = due_at - timedelta(minutes=remind_before)
    return at if at > created_at else None


@dataclass(frozen=True)
class Schedule:
    """The times of one deadline's stages."""

    due_at: datetime
    remind_at: datetime | None
    escalate_every: int  # minutes

    def stage_time(self, stage: int) -> datetime | None:
        if stage == REMINDED:
            return self.remind_at
        if stage == OVERDUE:
            return self.due_at
        if COMMANDER <= stage <= FINAL_STAGE:
            return self.due_at + timedelta(minutes=self.escalate_every * (stage - OVERDUE))
        return None

    def next_fire_at(self, stage: int) -> datetime | None:
        """When the stage after `stage` is due (None: the chain is done)."""
        for following in range(stage + 1, FINAL_STAGE + 1):
            at = self.stage_time(following)
            if at is not None:
                return at
        return None

    def steps_due(self, stage: int, now: datetime) -> list[int]:
        """The stages to take now, in order, having taken `stage` already."""
        now = ensure_aware(now)
        steps = [
            following
            for following in range(stage + 1, FINAL_STAGE + 1)
            if (at := self.stage_time(following)) is not None and at <= now
        ]
        if OVERDUE in steps and REMINDED in steps:
            steps.remove(REMINDED)
        return steps


def shift_for_pause(
    due_at: datetime, paused_at: datetime, resumed_at: datetime, calendar: WorkingTime | None
) -> datetime:
    """The due time after a pause: the time that was left when paused, counted from the resume.

    With a calendar the time left is measured in working minutes, so a pause over a
    weekend costs nothing and a pause during working hours moves the deadline by exactly
    the working time lost.
    """
    paused_at, resumed_at, due_at = ensure_aware(paused_at), ensure_aware(resumed_at), ensure_aware(due_at)
    if resumed_at <= paused_at:
        return due_at
    if calendar is None:
        return due_at + (resumed_at - paused_at)
    left = calendar.minutes_between(paused_at, due_at) if due_at > paused_at else 0.0
    if left <= 0:
        # It was already overdue when paused: it stays overdue by the same wall time.
        return due_at + (resumed_at - paused_at)
    whole = int(left)
    return ensure_aware(calendar.add_minutes(resumed_at, whole)) + timedelta(minutes=left - whole)
