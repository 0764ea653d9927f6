"""A feed whose posts cover every risk level, newest first in the feed but riskiest last.

Scores with the default negative and critical terms (monitors.rulebook), critical weight 5:
曝光 2 + 媒体 2 + 2×5 = 14 (critical), 12315 3 + 5 = 8 (critical), 骗 1.5 + 退款 1 + 差评 1 = 3.5 (high),
退款 1 (medium), the brand alone 0 (low); the weather post names no brand and matches nothing.
"""

from __future__ import annotations

# (title, minutes before 02:00 UTC on 2026-11-22, the tests' FIXED_NOW)
POSTS = [
    ("鲜果多的苹果还挺甜", 5),
    ("今天天气不错，出门走走", 10),
    ("鲜果多退款太慢了", 15),
    ("鲜果多骗人，退款不给，差评", 20),
    ("鲜果多卖烂水果，已经打了12315", 25),
    ("鲜果多被媒体曝光了，大家小心", 30),
]
BY_RISK = [POSTS[5][0], POSTS[4][0], POSTS[3][0], POSTS[2][0], POSTS[0][0]]  # matched only, riskiest first
LABELS_ZH = {POSTS[5][0]: "严重 14", POSTS[4][0]: "严重 8", POSTS[3][0]: "高 3.5", POSTS[2][0]: "中 1",
             POSTS[0][0]: "低 0"}


def risky_feed() -> bytes:
    """The RSS document with POSTS."""
    items = "".join(
        f"<item><title>{title}</title><description>{title}</description>"
        f"<pubDate>Sun, 22 Nov 2026 01:{60 - minutes:02d}:00 GMT</pubDate>"
        f"<guid isPermaLink=\"false\">https://weibo.com/9/{index}</guid><link>https://weibo.com/9/{index}</link>"
        f"<author>网友{index}</author></item>"
        for index, (title, minutes) in enumerate(POSTS)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>微博：鲜果多</title>'
            f"<link>https://s.weibo.com/</link><description>test</description>{items}</channel></rss>").encode()
