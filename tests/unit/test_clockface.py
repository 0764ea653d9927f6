"""How the clock reads: countdowns, lateness and urgency at their exact edges."""

from datetime import UTC, datetime, timedelta

import pytest

from console import clockface

DUE = datetime(2026, 11, 22, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (0, "0分00秒", "0m 00s"),
    (59.9, "0分59秒", "0m 59s"),
    (200, "3分20秒", "3m 20s"),
    (3599, "59分59秒", "59m 59s"),
    (3600, "1小时00分", "1h 00m"),
    (3 * 3600 + 5 * 60 + 59, "3小时05分", "3h 05m"),
    (86400 + 2 * 3600, "1天2小时", "1d 2h"),
    (-5, "0分00秒", "0m 00s"),
])
def test_span_reads_like_the_script(seconds, zh, en) -> None:  # noqa: ANN001
    assert clockface.span(seconds, "zh_Hans_CN") == zh
    assert clockface.span(seconds, "en") == en


def test_countdown_is_a_clock_face_and_counts_up_when_overdue() -> None:
    assert clockface.countdown(DUE, DUE - timedelta(minutes=4, seconds=59), "zh") == "04:59"
    assert clockface.countdown(DUE, DUE, "zh") == "00:00"
    assert clockface.countdown(DUE, DUE + timedelta(seconds=1), "zh") == "+00:01"
    assert clockface.countdown(DUE, DUE + timedelta(minutes=83), "en") == "+1h 23m"
    assert clockface.countdown(DUE, DUE - timedelta(hours=25), "zh") == "1天1小时"


def test_urgency_turns_amber_at_the_reminder_and_red_after_due() -> None:
    remind = DUE - timedelta(minutes=2)
    assert clockface.urgency(DUE, remind, remind - timedelta(seconds=1)) == ""
    assert clockface.urgency(DUE, remind, remind) == clockface.SOON
    assert clockface.urgency(DUE, remind, DUE) == clockface.SOON
    assert clockface.urgency(DUE, remind, DUE + timedelta(microseconds=1)) == clockface.OVERDUE
    assert clockface.urgency(DUE, None, DUE - timedelta(seconds=1)) == ""


def test_remind_ms_is_the_amber_window() -> None:
    assert clockface.remind_ms(DUE, DUE - timedelta(minutes=2)) == 120_000
    assert clockface.remind_ms(DUE, None) == 0
