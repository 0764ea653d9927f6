"""The review's computed figures at their exact boundaries (pure: times in, numbers out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.models import Deadline, DeadlineState
from incidents.review_figures import deadline_outcomes, outreach_on_time, per_hour, seconds_between, update_cadence

T = datetime(2026, 11, 22, 1, 50, tzinfo=UTC)  # 09:50 in Shanghai


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def test_an_update_at_ten_minutes_exactly_keeps_the_cadence() -> None:
    figures = update_cadence([at(0), at(10)], end=at(10))
    assert figures == {"windows": 1, "kept": 1, "share": 1.0, "longest_silence": 600}


def test_an_update_a_minute_late_breaks_it() -> None:
    figures = update_cadence([at(0), at(11)], end=at(20))
    assert figures["windows"] == 2 and figures["kept"] == 1 and figures["share"] == 0.5
    assert figures["longest_silence"] == 660


def test_the_silence_after_the_last_update_counts_until_the_end() -> None:
    figures = update_cadence([at(0), at(5), at(10)], end=at(45))
    # Windows (0,10] (10,20] (20,30] (30,40] (40,45]: only the first had an update.
    assert figures["windows"] == 5 and figures["kept"] == 1
    assert figures["longest_silence"] == 35 * 60


def test_no_update_means_no_cadence_and_a_single_update_none_kept() -> None:
    assert update_cadence([], end=at(30)) == {"windows": 0, "kept": 0, "share": None, "longest_silence": None}
    assert update_cadence([at(0)], end=at(0)) == {"windows": 0, "kept": 0, "share": None, "longest_silence": 0}
    assert update_cadence([at(0)], end=at(25))["share"] == 0.0


def test_updates_after_the_end_are_not_counted() -> None:
    figures = update_cadence([at(0), at(9), at(31)], end=at(20))
    assert figures["windows"] == 2 and figures["kept"] == 1


def test_durations_are_whole_seconds_or_unknown() -> None:
    assert seconds_between(at(0), at(1.5)) == 90
    assert seconds_between(at(0), None) is None


def _deadline(state: DeadlineState, late: int | None = None) -> Deadline:
    due = at(10)
    met = None if late is None else due + timedelta(seconds=late)
    return Deadline(state=state, due_at=due, met_at=met)


def test_deadline_outcomes_tell_late_from_on_time_at_the_second() -> None:
    rows = [_deadline(DeadlineState.MET, 0), _deadline(DeadlineState.MET, 1), _deadline(DeadlineState.MISSED),
            _deadline(DeadlineState.WAIVED), _deadline(DeadlineState.PENDING)]
    assert deadline_outcomes(rows) == {"met_on_time": 1, "met_late": 1, "missed": 1, "waived": 1, "pending": 1}


def test_mentions_per_hour_include_the_quiet_hours() -> None:
    series = per_hour([at(0), at(5), at(70)])
    assert [count for _, count in series] == [2, 0, 1]
    assert per_hour([]) == []


def test_a_customer_reached_at_the_deadline_exactly_is_on_time_a_second_later_is_not() -> None:
    due = at(90)
    figures = outreach_on_time([(at(90), due), (at(90) + timedelta(seconds=1), due), (None, due), (at(5), due)])
    assert figures == {"contacts": 4, "reached": 3, "on_time": 2, "share": 0.5}


def test_without_an_outreach_deadline_any_reach_is_on_time_and_no_customers_no_share() -> None:
    assert outreach_on_time([(at(600), None), (None, None)]) == {"contacts": 2, "reached": 1, "on_time": 1,
                                                                  "share": 0.5}
    assert outreach_on_time([]) == {"contacts": 0, "reached": 0, "on_time": 0, "share": None}
