"""Spike detection, hourly windows and cooldown edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitors.volume import bucket_hourly, hour_window, in_cooldown, is_spike, window_counts

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_empty_history_uses_floor_only() -> None:
    assert is_spike(current=5, history=[]).is_spike
    assert not is_spike(current=4, history=[]).is_spike
    assert "no history" in is_spike(current=4, history=[]).reason


def test_threshold_equality_is_not_a_spike() -> None:
    history = [2, 4, 2, 4]  # mean 3, population σ 1 → threshold 3 + 3·1 = 6
    at = is_spike(current=6, history=history)
    assert (at.mean, at.stddev, at.threshold) == (3.0, 1.0, 6.0)
    assert not at.is_spike and "not above" in at.reason
    assert is_spike(current=7, history=history).is_spike


def test_floor_blocks_small_spikes() -> None:
    decision = is_spike(current=4, history=[0, 0, 0])
    assert not decision.is_spike and "floor" in decision.reason
    assert is_spike(current=5, history=[0, 0, 0]).is_spike
    assert is_spike(current=5, history=[0, 0, 0], floor=6).is_spike is False


def test_k_parameter() -> None:
    history = [2, 4, 2, 4]
    assert is_spike(current=6, history=history, k=2.0).is_spike
    assert not is_spike(current=6, history=history, k=3.0).is_spike


def test_reason_explains_numbers() -> None:
    reason = is_spike(current=30, history=[2, 4, 2, 4]).reason
    assert "30" in reason and "mean 3.0" in reason and "6.0" in reason


def test_negative_counts_rejected() -> None:
    with pytest.raises(ValueError):
        is_spike(current=-1, history=[])


def test_hour_window_and_buckets_are_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    ts = datetime(2026, 11, 22, 20, 59, 59, tzinfo=shanghai)
    assert hour_window(ts) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    buckets = bucket_hourly([T0, T0 + timedelta(minutes=59), T0 + timedelta(minutes=60), ts])
    assert buckets == {T0: 3, T0 + timedelta(hours=1): 1}
    with pytest.raises(ValueError):
        hour_window(datetime(2026, 1, 1))


def test_window_counts_fill_gaps_with_zero() -> None:
    buckets = {T0 - timedelta(hours=3): 4, T0 - timedelta(hours=1): 2, T0: 9}
    assert window_counts(buckets, current_window=T0 + timedelta(minutes=30), windows=4) == [0, 4, 0, 2]


def test_cooldown_edges() -> None:
    cooldown = timedelta(minutes=30)
    assert not in_cooldown(last_raised_at=None, now=T0, cooldown=cooldown)
    assert in_cooldown(last_raised_at=T0, now=T0 + cooldown - timedelta(microseconds=1), cooldown=cooldown)
    assert not in_cooldown(last_raised_at=T0, now=T0 + cooldown, cooldown=cooldown)
    assert in_cooldown(last_raised_at=T0 + timedelta(minutes=5), now=T0, cooldown=cooldown)  # clock skew
    with pytest.raises(ValueError):
        in_cooldown(last_raised_at=datetime(2026, 1, 1), now=T0, cooldown=cooldown)
