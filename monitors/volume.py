"""Mention-volume spike detection on hourly windows, with a cooldown between alarms.

Pure functions: the worker counts mentions per window (from the database or from
`bucket_hourly`), asks `is_spike`, and checks `in_cooldown` before raising again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class SpikeDecision:
    """Whether the current window is a spike, with the numbers behind it and a readable reason."""

    is_spike: bool
    current: int
    mean: float
    stddev: float
    threshold: float
    reason: str


def is_spike(*, current: int, history: Sequence[int], k: float = 3.0, floor: int = 5) -> SpikeDecision:
    """Spike when `current >= floor` and `current > mean + k·σ` of `history`.

    σ is the population standard deviation of the history windows (they are the whole
    baseline we compare against, not a sample). Equality with the threshold is *not* a
    spike. With an empty history only the floor counts (threshold = floor). The floor
    stops quiet brands from alarming on 0 → 2 mentions.
    """
    if current < 0 or any(c < 0 for c in history):
        raise ValueError("counts must not be negative")
    if not history:
        spike = current >= floor
        reason = (
            f"{current} mentions, no history yet: "
            + (f"at or above the floor of {floor}" if spike else f"below the floor of {floor}")
        )
        return SpikeDecision(spike, current, 0.0, 0.0, float(floor), reason)
    n = len(history)
    mean = sum(history) / n
    stddev = math.sqrt(sum((c - mean) ** 2 for c in history) / n)
    threshold = mean + k * stddev
    if current < floor:
        spike, why = False, f"below the floor of {floor}"
    elif current > threshold:
        spike, why = True, f"above mean {mean:.1f} + {k:g}σ ({stddev:.1f}) = {threshold:.1f}"
    else:
        spike, why = False, f"not above mean {mean:.1f} + {k:g}σ ({stddev:.1f}) = {threshold:.1f}"
    reason = f"{current} mentions in this window vs {n} previous windows: {why}"
    return SpikeDecision(spike, current, mean, stddev, threshold, reason)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def hour_window(ts: datetime) -> datetime:
    """Start of the UTC hour containing `ts` (aware UTC); naive datetimes raise ValueError."""
    return _require_aware(ts, "timestamp").replace(minute=0, second=0, microsecond=0)


def bucket_hourly(timestamps: Iterable[datetime]) -> dict[datetime, int]:
    """Count timestamps per UTC hour window, keyed by the window start (aware UTC)."""
    return dict(Counter(hour_window(ts) for ts in timestamps))


def window_counts(buckets: Mapping[datetime, int], *, current_window: datetime, windows: int) -> list[int]:
    """The `windows` hourly counts before `current_window`, oldest first, zeros for empty hours.

    Missing hours must count as 0, otherwise a brand mentioned only occasionally would
    get a baseline made of its busy hours only.
    """
    start = hour_window(current_window)
    return [buckets.get(start - HOUR * i, 0) for i in range(windows, 0, -1)]


def in_cooldown(*, last_raised_at: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    """True while less than `cooldown` has passed since the last alarm (exactly `cooldown` is over).

    A `last_raised_at` in the future (clock skew) counts as in cooldown, so a skewed
    clock cannot cause an alarm storm.
    """
    if last_raised_at is None:
        return False
    last = _require_aware(last_raised_at, "last_raised_at")
    return _require_aware(now, "now") - last < cooldown
