"""WeCom, DingTalk and Feishu robots against a real local HTTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote_plus

import pytest

from incidents.channels import Message, deliver
from incidents.channels.wecom import MAX_MARKDOWN_BYTES

from .conftest import LOCAL, RecordingServer

CHINESE_TEXT = "客服系统出现大面积投诉。\n请值班同学立即处理,并在 30 分钟内回复客户。\n第三行:“引号”与 emoji 🚨"


def make_message(**overrides: object) -> Message:
    values: dict[str, object] = {
        "idempotency_key": "outbox-42-attempt-key",
        "subject": "订单退款延迟",
        "text": CHINESE_TEXT,
        "event": "deadline.reminder",
        "url": "https://console.example.com/incidents/7",
        "severity": "P1",
        "payload": {"incident_id": 7, "status": "investigating"},
    }
    values.update(overrides)
    return Message(**values)  # type: ignore[arg-type]


# --- WeCom -------------------------------------------------------------------------------


def wecom_config(server: RecordingServer) -> dict[str, str]:
    return {"url": server.url("/cgi-bin/webhook/send?key=test-key")}


def test_wecom_sends_markdown_with_chinese_text_intact(http_server, session):
    result = deliver("wecom", wecom_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert result.ok and not result.retryable
    assert result.status_code == 200
    arrived = http_server.last
    assert arrived.method == "POST"
    assert arrived.path == "/cgi-bin/webhook/send"
    assert arrived.args == {"key": "test-key"}
    assert arrived.headers["Content-Type"].startswith("application/json")
    assert arrived.headers["User-Agent"] == "CrisisConsole/0.1"
    body = arrived.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("### 【P1】订单退款延迟\n")
    assert "客服系统出现大面积投诉。\n请值班同学立即处理" in content
    assert "“引号”与 emoji 🚨" in content
    assert content.endswith("[查看详情](https://console.example.com/incidents/7)")


def test_wecom_truncates_to_4096_utf8_bytes_at_a_character_boundary(http_server, session):
    long_text = "紧急" * 3000  # 18 000 bytes of UTF-8
    result = deliver("wecom", wecom_config(http_server), make_message(text=long_text), allowed_networks=LOCAL, session=session)

    assert result.ok
    content = http_server.last.json()["markdown"]["content"]
    size = len(content.encode("utf-8"))
    assert MAX_MARKDOWN_BYTES - 3 <= size <= MAX_MARKDOWN_BYTES  # a 3-byte character may not fit exactly
    assert "…" in content
    body_part = content.split("\n", 1)[1].split("…")[0]
    assert set(body_part) <= {"紧", "急"}  # no broken character before the ellipsis
    assert content.endswith("[查看详情](https://console.example.com/incidents/7)")  # the link survives the cut


def test_wecom_errcode_is_a_failure_with_readable_detail(http_server, session):
    http_server.set(200, '{"errcode":93000,"errmsg":"invalid webhook url, hint: [123]"}')
    result = deliver("wecom", wecom_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok
    assert not result.retryable
    assert result.status_code == 200
    assert result.detail.startswith("WeCom errcode 93000: invalid webhook url")
    assert "93000" in result.response_excerpt


def test_wecom_rate_limit_errcode_is_retryable(http_server, session):
    http_server.set(200, '{"errcode":45009,"errmsg":"api freq out of limit"}')
    result = deliver("wecom", wecom_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok and result.retryable
    assert "45009" in result.detail


def test_wecom_user_text_cannot_mention_or_link(http_server, session):
    message = make_message(
        subject="<@zhangsan> 注意",
        text='请 <@all> 查看 [钓鱼](http://evil.example) <font color="warning">红</font>\n# 假标题',
    )
    deliver("wecom", wecom_config(http_server), message, allowed_networks=LOCAL, session=session)

    content = http_server.last.json()["markdown"]["content"]
    assert "<@" not in content
    assert "](http://evil.example)" not in content
    assert "［钓鱼］" in content
    assert "<font" not in content
    assert "\n＃ 假标题" in content
    assert content.count("](") == 1  # only our own link


def test_wecom_without_errcode_in_a_200_answer_is_a_retryable_failure(http_server, session):
    http_server.set(200, "<html>captive portal</html>", headers={"Content-Type": "text/html"})
    result = deliver("wecom", wecom_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok and result.retryable
    assert "without an errcode" in result.detail
    assert result.response_excerpt == "<html>captive portal</html>"


# --- DingTalk ----------------------------------------------------------------------------

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def dingtalk_config(server: RecordingServer, secret: str | None = None) -> dict[str, str | None]:
    return {"url": server.url("/robot/send?access_token=tok123"), "secret": secret}


def test_dingtalk_sends_markdown_title_and_text(http_server, session):
    result = deliver("dingtalk", dingtalk_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert result.ok
    arrived = http_server.last
    assert arrived.path == "/robot/send"
    assert arrived.args == {"access_token": "tok123"}  # no signature without a secret
    body = arrived.json()
    assert body["msgtype"] == "markdown"
    assert "at" not in body
    assert body["markdown"]["title"] == "【P1】订单退款延迟"
    text = body["markdown"]["text"]
    assert text.startswith("### 【P1】订单退款延迟\n")
    assert "客服系统出现大面积投诉。  \n请值班同学立即处理" in text  # markdown hard line breaks
    assert text.endswith("[查看详情](https://console.example.com/incidents/7)")


def test_dingtalk_signature_is_recomputed_independently(http_server, session):
    before = int(time.time() * 1000)
    result = deliver("dingtalk", dingtalk_config(http_server, SECRET), make_message(), allowed_networks=LOCAL, session=session)
    after = int(time.time() * 1000)

    assert result.ok
    args = http_server.last.args  # werkzeug has URL-decoded the query string once
    assert args["access_token"] == "tok123"
    timestamp = int(args["timestamp"])
    assert before <= timestamp <= after  # milliseconds
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert args["sign"] == base64.b64encode(digest).decode()


def test_dingtalk_sign_is_url_encoded_in_the_raw_query():
    from incidents.channels import dingtalk

    url = dingtalk.signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", SECRET, now=1_700_000_000.123)
    raw_sign = url.split("&sign=", 1)[1]
    assert "+" not in raw_sign and "/" not in raw_sign and "=" not in raw_sign  # all escaped
    digest = hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(), hashlib.sha256).digest()
    assert unquote_plus(raw_sign) == base64.b64encode(digest).decode()
    assert "&timestamp=1700000000123&" in url


def test_dingtalk_security_rejection_is_not_retryable(http_server, session):
    http_server.set(200, '{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}')
    result = deliver("dingtalk", dingtalk_config(http_server, SECRET), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok and not result.retryable
    assert result.detail.startswith("DingTalk errcode 310000: rejected by the robot's security settings")
    assert "sign not match" in result.detail


def test_dingtalk_busy_is_retryable(http_server, session):
    http_server.set(200, '{"errcode":-1,"errmsg":"系统繁忙"}')
    result = deliver("dingtalk", dingtalk_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok and result.retryable
    assert "系统繁忙" in result.detail


# --- Feishu ------------------------------------------------------------------------------

FEISHU_SECRET = "feishu-secret-abc"


def feishu_config(server: RecordingServer, secret: str | None = None) -> dict[str, str | None]:
    return {"url": server.url("/open-apis/bot/v2/hook/abc-123"), "secret": secret}


def test_feishu_sends_a_post_with_title_lines_and_link(http_server, session):
    http_server.set(200, '{"code":0,"msg":"success","data":{}}')
    result = deliver("feishu", feishu_config(http_server), make_message(), allowed_networks=LOCAL, session=session)

    assert result.ok
    arrived = http_server.last
    assert arrived.path == "/open-apis/bot/v2/hook/abc-123"
    body = arrived.json()
    assert "sign" not in body and "timestamp" not in body
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "【P1】订单退款延迟"
    assert post["content"] == [
        [{"tag": "text", "text": "客服系统出现大面积投诉。"}],
        [{"tag": "text", "text": "请值班同学立即处理,并在 30 分钟内回复客户。"}],
        [{"tag": "text", "text": "第三行:“引号”与 emoji 🚨"}],
        [{"tag": "a", "text": "查看详情", "href": "https://console.example.com/incidents/7"}],
    ]


def test_feishu_signature_in_body_is_recomputed_independently(http_server, session):
    http_server.set(200, '{"code":0,"msg":"success","data":{}}')
    before = int(time.time())
    result = deliver("feishu", feishu_config(http_server, FEISHU_SECRET), make_message(), allowed_networks=LOCAL, session=session)
    after = int(time.time())

    assert result.ok
    body = http_server.last.json()
    timestamp = int(body["timestamp"])
    assert before <= timestamp <= after  # seconds
    key = f"{timestamp}\n{FEISHU_SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def test_feishu_sign_failure_is_not_retryable(http_server, session):
    http_server.set(200, '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time","data":{}}')
    result = deliver("feishu", feishu_config(http_server, FEISHU_SECRET), make_message(), allowed_networks=LOCAL, session=session)

    assert not result.ok and not result.retryable
    assert result.detail.startswith("Feishu code 19021: signature check failed")


def test_feishu_accepts_the_legacy_statuscode_field(http_server, session):
    http_server.set(200, '{"Extra":null,"StatusCode":0,"StatusMessage":"success"}')
    result = deliver("feishu", feishu_config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert result.ok


def test_feishu_rate_limit_is_retryable(http_server, session):
    http_server.set(200, '{"code":11232,"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]","data":{}}')
    result = deliver("feishu", feishu_config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and result.retryable


def test_feishu_mentions_in_user_text_are_removed(http_server, session):
    http_server.set(200, '{"code":0}')
    message = make_message(subject='提醒 <at user_id="all">所有人</at>', text="<at user_id=\"ou_1\">Tom</at> 请处理")
    deliver("feishu", feishu_config(http_server), message, allowed_networks=LOCAL, session=session)

    post = http_server.last.json()["content"]["post"]["zh_cn"]
    assert "<at" not in post["title"] and "<at" not in str(post["content"])
    assert all(element["tag"] in {"text", "a"} for row in post["content"] for element in row)


def test_message_without_url_has_no_link(http_server, session):
    deliver("wecom", wecom_config(http_server), make_message(url=None), allowed_networks=LOCAL, session=session)
    assert "](" not in http_server.last.json()["markdown"]["content"]


def test_non_http_url_is_not_linked(http_server, session):
    deliver("wecom", wecom_config(http_server), make_message(url="javascript:alert(1)"), allowed_networks=LOCAL, session=session)
    assert "javascript" not in http_server.last.json()["markdown"]["content"]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_robots_share_http_error_handling(kind, http_server, session):
    configs = {"wecom": wecom_config, "dingtalk": dingtalk_config, "feishu": feishu_config}
    http_server.set(502, "bad gateway", headers={"Content-Type": "text/plain"})
    result = deliver(kind, configs[kind](http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and result.retryable
    assert result.status_code == 502
    assert result.detail == "HTTP 502 from 127.0.0.1"


def test_feishu_body_stays_under_the_20kb_request_limit(http_server, session):
    http_server.set(200, '{"code":0}')
    many_lines = "\n".join(f"第{i}行" for i in range(5000))
    result = deliver("feishu", feishu_config(http_server, FEISHU_SECRET), make_message(text=many_lines), allowed_networks=LOCAL, session=session)

    assert result.ok
    assert len(http_server.last.body) <= 19_500
    rows = http_server.last.json()["content"]["post"]["zh_cn"]["content"]
    assert rows[0] == [{"tag": "text", "text": "第0行"}]
    assert rows[-2][0]["text"].endswith("…")
    assert rows[-1][0]["tag"] == "a"


def test_utf8_error_body_without_charset_is_readable(http_server, session):
    http_server.set(503, "服务暂时不可用", headers={"Content-Type": "text/plain"})
    result = deliver("wecom", wecom_config(http_server), make_message(), allowed_networks=LOCAL, session=session)
    assert not result.ok and result.retryable
    assert result.response_excerpt == "服务暂时不可用"
