"""Pure parts: backoff schedule, config validation, rendering helpers, dispatch errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.channels import (
    BACKOFF_SCHEDULE,
    CHANNEL_KINDS,
    MAX_ATTEMPTS,
    ChannelConfigError,
    DeliveryResult,
    Message,
    backoff_delay,
    deliver,
    validate_config,
)
from incidents.channels.render import neutralize, safe_link, truncate_utf8


def test_backoff_schedule():
    delays = [backoff_delay(n) for n in range(1, 10)]
    assert delays == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert backoff_delay(1000) == timedelta(hours=1)
    assert len(BACKOFF_SCHEDULE) == 7
    with pytest.raises(ValueError):
        backoff_delay(0)


def test_max_attempts_gives_up_within_a_working_day():
    assert MAX_ATTEMPTS == 12
    total = sum((backoff_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert timedelta(hours=5) < total < timedelta(hours=7)


def test_kinds():
    assert CHANNEL_KINDS == ("wecom", "dingtalk", "feishu", "webhook", "email")


@pytest.mark.parametrize(
    "kind, config, field",
    [
        ("sms", {}, "kind"),
        ("webhook", {}, "url"),
        ("webhook", {"url": "ftp://example.com/x"}, "url"),
        ("webhook", {"url": "http:///nohost"}, "url"),
        ("webhook", {"url": "https://user:pw@example.com/"}, "url"),
        ("webhook", {"url": "https://example.com/a b"}, "url"),
        ("webhook", {"url": "https://example.com:99999/"}, "url"),
        ("webhook", {"url": "https://example.com/", "secret": "short"}, "secret"),
        ("wecom", {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "url"),
        ("wecom", {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="}, "url"),
        ("dingtalk", {"url": "https://oapi.dingtalk.com/robot/send"}, "url"),
        ("dingtalk", {"url": "https://oapi.dingtalk.com/robot/send?access_token=t", "secret": "abc"}, "secret"),
        ("feishu", {"url": "javascript:alert(1)"}, "url"),
        ("email", {"from_addr": "a@example.com", "to": ["b@example.com"]}, "host"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": ["b@example.com"], "security": "tls"}, "security"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": ["b@example.com"], "port": 0}, "port"),
        ("email", {"host": "smtp.example.com", "from_addr": "not-an-address", "to": ["b@example.com"]}, "from_addr"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com\r\nBcc: x@evil.com", "to": ["b@example.com"]}, "from_addr"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": []}, "to"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": ["b@example.com", "nope"]}, "to"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": "b@localhost"}, "to"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": ["b@example.com"], "username": "u"}, "password"),
        ("email", {"host": "smtp.example.com", "from_addr": "a@example.com", "to": ["b@example.com"], "password": "p"}, "username"),
    ],
)
def test_invalid_configs_name_the_field(kind, config, field):
    with pytest.raises(ChannelConfigError) as info:
        validate_config(kind, config)
    assert info.value.field == field
    assert info.value.message


def test_valid_configs_are_cleaned():
    assert validate_config("dingtalk", {"url": " https://oapi.dingtalk.com/robot/send?access_token=t ", "secret": "SECabc", "name": "x"}) == {
        "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
        "secret": "SECabc",
    }
    assert validate_config("feishu", {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/x", "secret": ""}) == {
        "url": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        "secret": None,
    }
    assert validate_config("email", {"host": "smtp.example.com", "security": "ssl", "from_addr": "值班 <a@example.com>", "to": "b@example.com; c@example.com,B@example.com"}) == {
        "host": "smtp.example.com",
        "port": 465,
        "security": "ssl",
        "username": None,
        "password": None,
        "from_addr": "值班 <a@example.com>",
        "to": ["b@example.com", "c@example.com"],
    }
    assert validate_config("email", {"host": "smtp.example.com", "port": "2525", "from_addr": "a@example.com", "to": ["b@example.com"]})["port"] == 2525


def test_deliver_raises_for_bad_config_but_not_for_delivery_problems():
    message = Message("k", "s", "t", "incident.update")
    with pytest.raises(ChannelConfigError):
        deliver("webhook", {"url": "nope"}, message, allowed_networks=[])
    # A private address is a delivery problem reported as a result (netguard refuses it).
    result = deliver("webhook", {"url": "http://10.0.0.1/x"}, message, allowed_networks=[])
    assert isinstance(result, DeliveryResult)
    assert not result.ok and not result.retryable


def test_neutralize_removes_mentions_links_and_tags():
    text = neutralize('<@u1> hi <at user_id="all">所有人</at> [a](http://x) <b>x</b> **bold** @all\n# h\n  > q')
    for bad in ("<@", "<at", "](", "<b>", "**", "@all", "\n#", "\n  >"):
        assert bad not in text
    assert "所有人" not in text  # the mention's display text goes with it
    assert "［a］(http://x)" in text
    assert "\n＃ h" in text and "\n  ＞ q" in text


def test_safe_link():
    assert safe_link("https://example.com/a b?x=(1)") == "https://example.com/a%20b?x=%281%29"
    assert safe_link("https://example.com/已编码?q=%E4%B8%AD") == "https://example.com/%E5%B7%B2%E7%BC%96%E7%A0%81?q=%E4%B8%AD"
    assert safe_link("javascript:alert(1)") is None
    assert safe_link("http://") is None
    assert safe_link(None) is None


@given(st.text(), st.integers(min_value=4, max_value=300))
def test_truncate_utf8_never_exceeds_and_keeps_a_valid_prefix(text, limit):
    cut = truncate_utf8(text, limit)
    assert len(cut.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert cut == text
    else:
        assert cut.endswith("…")
        assert text.startswith(cut[:-1])
