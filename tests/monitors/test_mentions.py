"""Pure helpers of monitors.mentions: platforms from links, hourly counts for the incident chart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.monitor_models import Mention
from monitors.mentions import count_over_time, hours_between, platform_of
from tests.conftest import FIXED_NOW


@pytest.mark.parametrize(("link", "platform"), [
    ("https://weibo.com/2000000003/Fr003", "weibo"), ("https://m.weibo.cn/status/1", "weibo"),
    ("https://www.douyin.com/video/1", "douyin"), ("https://www.xiaohongshu.com/explore/1", "xiaohongshu"),
    ("https://tieba.baidu.com/p/1", "tieba"), ("https://tousu.sina.com.cn/complaint/view/1", "heimao"),
    ("https://www.example.org/a", "example.org"), (None, ""),
])
def test_platform_of(link, platform) -> None:  # noqa: ANN001
    assert platform_of(link) == platform


def _mention(at) -> Mention:  # noqa: ANN001
    return Mention(published_at=at, created_at=FIXED_NOW)


def test_count_over_time_buckets_by_hour_oldest_first() -> None:
    now = FIXED_NOW + timedelta(minutes=30)  # 02:30
    mentions = [_mention(FIXED_NOW - timedelta(minutes=10)), _mention(FIXED_NOW - timedelta(minutes=50)),
                _mention(FIXED_NOW + timedelta(minutes=5)), _mention(FIXED_NOW - timedelta(hours=9)),
                Mention(published_at=None, created_at=FIXED_NOW + timedelta(minutes=20))]
    series = count_over_time(mentions, hours=3, now=now)
    assert [(start.hour, count) for start, count in series] == [(0, 0), (1, 2), (2, 2)]
    assert hours_between(FIXED_NOW - timedelta(minutes=10), now) == 2
    assert hours_between(now, now) == 1
