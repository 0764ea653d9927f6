"""Subscribing on the public page end to end: real SMTP and HTTP servers, the real outbox."""

from __future__ import annotations

import sqlalchemy as sa

from incidents.channels.webhook import verify_signature
from incidents.models import AuditRecord, OutboxMessage, OutboxState, Role
from incidents.subscriber_models import Subscriber, SubscriberState
from tests.channels.conftest import http_server, smtp_server  # noqa: F401 (fixtures)
from tests.conftest import sign_in
from tests.subscribers.conftest import link_in, mail, plain_text


def _subscribers(engine) -> list[Subscriber]:  # noqa: ANN001
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(Subscriber).order_by(Subscriber.id)))


def test_double_opt_in_then_updates_then_one_click_unsubscribe(sub_app, client, smtp_server, deliver, publish, engine) -> None:  # noqa: ANN001, F811, E501
    form = client.get("/status/subscribe")
    assert form.status_code == 200 and "订阅更新" in form.text and form.headers["Cache-Control"] == "no-store"

    sent = client.post("/status/subscribe", data={"kind": "email", "email": "Reader@Example.com", "scope": "all"})
    assert sent.status_code == 200 and "请查收邮件" in sent.text
    # Nothing but the confirmation is sent before the link is opened.
    publish("支付成功率下降，正在排查")
    assert deliver().delivered == 1
    [confirmation] = smtp_server.handler.envelopes
    assert confirmation.rcpt_tos == ["reader@example.com"]
    assert mail(confirmation)["Subject"] == "请确认订阅服务状态通知"
    assert mail(confirmation)["List-Unsubscribe"].startswith("<http://status.example.com/status/unsubscribe/")
    [subscriber] = _subscribers(engine)
    assert subscriber.state == SubscriberState.PENDING

    confirmed = client.post(link_in(confirmation, r"/status/subscribe/confirm/[\w-]+"))
    assert confirmed.status_code == 200 and "订阅已确认" in confirmed.text
    reference = publish("已定位原因，正在切换备用通道")
    assert deliver().delivered == 1
    update = smtp_server.handler.envelopes[-1]
    assert mail(update)["Subject"] == "【排查中】支付异常"
    assert "已定位原因，正在切换备用通道" in plain_text(update)
    assert f"http://status.example.com/status/incidents/{reference}" in plain_text(update)

    unsubscribed = client.post(link_in(update, r"/status/unsubscribe/[\w-]+"))
    assert unsubscribed.status_code == 200 and "已退订" in unsubscribed.text
    publish("已恢复", reference=reference)
    assert deliver().claimed == 0
    assert len(smtp_server.handler.envelopes) == 2
    # The link stays harmless when used again, and a mail client's one-click POST works too.
    assert client.post(link_in(update, r"/status/unsubscribe/[\w-]+"),
                       data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_english_subscriber_gets_english_and_a_second_request_only_a_notice(sub_app, client, smtp_server, deliver, publish) -> None:  # noqa: ANN001, F811, E501
    client.post("/status/subscribe?lang=en", data={"kind": "email", "email": "ops@example.org", "scope": "all"})
    deliver()
    client.post(link_in(smtp_server.handler.envelopes[0], r"/status/subscribe/confirm/[\w-]+"))
    # Someone subscribes the address again: the subscription stays as it was, the owner is told.
    again = client.post("/status/subscribe", data={"kind": "email", "email": "OPS@example.org", "scope": "all"})
    assert again.status_code == 200
    publish("网关超时")
    assert deliver().delivered == 2
    subjects = [mail(e)["Subject"] for e in smtp_server.handler.envelopes]
    assert subjects[1:] == ["You are already subscribed", "【Investigating】Payments failing"]
    assert "EN: 网关超时" in plain_text(smtp_server.handler.envelopes[-1])


def test_webhook_gets_signed_statuspage_like_payload_per_component(sub_app, client, http_server, deliver, publish, component) -> None:  # noqa: ANN001, F811, E501
    pay, order = component("支付"), component("下单")
    made = client.post("/status/subscribe", data={
        "kind": "webhook", "url": http_server.url("/status-hook"), "secret": "a-very-long-shared-secret",
        "scope": "some", "components": [str(pay)]})
    assert made.status_code == 201 and "a-very-long-shared-secret" in made.text
    client.post("/status/subscribe", data={"kind": "webhook", "url": http_server.url("/everything"), "scope": "all"})

    publish("下单页面打开缓慢", components_status={order: "degraded_performance"})
    publish("支付失败率升高", components_status={pay: "major_outage"})
    publish("内部演练", internal_only=True)
    assert deliver().delivered == 3

    paths = sorted(r.path for r in http_server.requests)
    assert paths == ["/everything", "/everything", "/status-hook"]
    [hook] = [r for r in http_server.requests if r.path == "/status-hook"]
    assert verify_signature("a-very-long-shared-secret", hook.headers["X-Crisis-Timestamp"], hook.body,
                            hook.headers["X-Crisis-Signature"], now=int(hook.headers["X-Crisis-Timestamp"]))
    data = hook.json()["data"]
    assert data["incident"]["incident_updates"][0]["body"] == "支付失败率升高"
    assert data["incident"]["status"] == "investigating"
    assert data["incident"]["components"] == [{"id": pay, "name": "支付", "status": "major_outage"}]
    assert data["meta"]["unsubscribe"].startswith("http://status.example.com/status/unsubscribe/")
    assert hook.headers["Idempotency-Key"].startswith("update:")


def test_failing_webhook_is_paused_after_five_permanent_failures_and_shown_to_admins(sub_app, client, http_server, deliver, publish, engine, make_user) -> None:  # noqa: ANN001, F811, E501
    client.post("/status/subscribe", data={"kind": "webhook", "url": http_server.url("/gone"), "scope": "all"})
    http_server.set(410, "gone")
    reference = publish("第一次")
    for n in range(5):
        if n:
            publish(f"第 {n + 1} 次", reference=reference)
        assert deliver().failed == 1
    [subscriber] = _subscribers(engine)
    assert (subscriber.state, subscriber.paused_reason, subscriber.consecutive_failures) == (
        SubscriberState.PAUSED, "failures", 5)
    assert "HTTP 410" in subscriber.last_error
    # Paused: nothing more is queued for it, so nothing more is knocked on.
    publish("第六次", reference=reference)
    assert deliver().claimed == 0 and len(http_server.requests) == 5
    with sa.orm.Session(engine) as session:
        assert session.scalars(sa.select(AuditRecord.action).where(AuditRecord.target_type == "subscriber")).all() == [
            "subscriber.subscribed", "subscriber.paused"]
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.state == OutboxState.FAILED)) == 5

    sign_in(client, make_user(Role.ADMIN))
    page = client.get("/admin/subscribers")
    assert page.status_code == 200 and "paused after 5 failures" in page.text
    detail = client.get(f"/admin/subscribers/{subscriber.id}")
    assert detail.text.count("HTTP 410") >= 5
    # Resuming starts the count over and deliveries go again.
    assert client.post(f"/admin/subscribers/{subscriber.id}/resume").status_code == 303
    http_server.set(200, "ok")
    publish("第七次", reference=reference)
    assert deliver().delivered == 1


def test_subscription_flood_is_rate_limited_per_address_and_per_ip(sub_app, client, smtp_server) -> None:  # noqa: ANN001, F811
    for _ in range(3):
        assert client.post("/status/subscribe", data={"kind": "email", "email": "victim@example.com"}).status_code == 200
    refused = client.post("/status/subscribe", data={"kind": "email", "email": "victim@example.com"})
    assert refused.status_code == 429 and "请求过于频繁" in refused.text and int(refused.headers["Retry-After"]) > 0
    for n in range(7):
        assert client.post("/status/subscribe", data={"kind": "email", "email": f"p{n}@example.com"}).status_code == 200
    # Ten from this address within the hour: the eleventh is refused whatever the address.
    assert client.post("/status/subscribe", data={"kind": "email", "email": "new@example.com"}).status_code == 429
    # Another visitor is not affected (the limit is stored per IP, so every process sees it).
    other = client.post("/status/subscribe", data={"kind": "email", "email": "new@example.com"},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 200


def test_private_and_loopback_webhooks_are_refused_unless_allowed(sub_app, client, http_server) -> None:  # noqa: ANN001, F811
    sub_app.config["ALLOWED_NETWORKS"] = []
    for url in (http_server.url("/hook"), "http://10.0.0.8/hook", "http://[::1]:8080/x"):
        refused = client.post("/status/subscribe", data={"kind": "webhook", "url": url})
        assert refused.status_code == 422 and "内网" in refused.text
    sub_app.config["ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    assert client.post("/status/subscribe", data={"kind": "webhook", "url": http_server.url("/hook")}).status_code == 201


def test_bad_and_very_long_input_is_refused_at_the_field(sub_app, client, engine) -> None:  # noqa: ANN001
    cases = [
        ({"kind": "email", "email": "x" * 250 + "@example.com"}, "最多 254 个字符"),
        ({"kind": "email", "email": "not-an-address"}, "name@example.com"),
        ({"kind": "webhook", "url": "https://example.com/" + "a" * 600}, "最多 500 个字符"),
        ({"kind": "webhook", "url": "ftp://example.com/x"}, "http(s)"),
        ({"kind": "webhook", "url": "https://example.com/x", "secret": "short"}, "至少需要 16 个字符"),
        ({"kind": "email", "email": "a@example.com", "scope": "some"}, "至少勾选一个"),
    ]
    for data, message in cases:
        answer = client.post("/status/subscribe", data=data)
        assert answer.status_code == 422 and message in answer.text, (data, answer.text[-600:])
    assert _subscribers(engine) == []
