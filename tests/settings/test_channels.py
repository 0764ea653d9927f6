"""Team channels: create, edit with masked secrets, switches, test messages, health, delete."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from incidents.models import AuditRecord, DeliveryAttempt, OutboxMessage, OutboxState, Role, TeamChannel
from tests.conftest import FIXED_NOW
from tests.settings.conftest import HX, audit_actions

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=9f0a1b2c3d4e5f60718293a4b5c6d7e8"
DING_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"


def _channels(db) -> list[TeamChannel]:  # noqa: ANN001
    with db() as session:
        return list(session.scalars(sa.select(TeamChannel).order_by(TeamChannel.id)))


def _create(admin, kind: str = "wecom", **fields: str):  # noqa: ANN001, ANN202
    data = {"kind": kind, "name": "值班群", "enabled": ["0", "1"], "reminders": ["0"], "escalations": ["0", "1"],
            "config.url": WECOM_URL, **fields}
    return admin.post("/settings/channels", data=data)


def test_create_a_wecom_robot_and_never_show_its_key(admin, db) -> None:  # noqa: ANN001
    form = admin.get("/settings/channels/new?kind=wecom")
    assert form.status_code == 200 and "WeCom group robot" in form.text and "with key=…" in form.text
    response = _create(admin)
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings/channels")
    (channel,) = _channels(db)
    assert (channel.kind, channel.config, channel.enabled, channel.reminders, channel.escalations) == (
        "wecom", {"url": WECOM_URL}, True, False, True)
    page = admin.get("/settings/channels").text
    assert "值班群" in page and "https://qyapi.weixin.qq.com/…5aaa" in page and WECOM_KEY not in page
    assert WECOM_KEY not in admin.get(f"/settings/channels/{channel.id}/edit").text
    with db() as session:
        (record,) = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "channel.created"))
        assert record.after["config"] == {"url": "https://qyapi.weixin.qq.com/…5aaa"}


def test_bad_configurations_are_refused_at_the_field(admin, db) -> None:  # noqa: ANN001
    cases = [
        ("wecom", {"config.url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "config.url",
         "The address has no key= part: copy the robot&#39;s whole webhook address."),
        ("wecom", {"config.url": "ftp://example.com/?key=1"}, "config.url", "The address must start with http:// or https://."),
        ("wecom", {"config.url": ""}, "config.url", "Paste the webhook address."),
        ("wecom", {"name": " "}, "name", "This field is required."),
        ("wecom", {"name": "x" * 101}, "name", "At most 100 characters."),
        ("dingtalk", {"config.url": DING_URL, "config.secret": "abc"}, "config.secret",
         "The signing secret starts with SEC: copy it from the robot&#39;s security settings."),
        ("webhook", {"config.url": "https://hooks.example.com/crisis", "config.secret": "short"}, "config.secret",
         "The signing secret needs at least 16 characters."),
        ("email", {"config.host": "", "config.from_addr": "crisis@example.com", "config.to": "ops@example.com"},
         "config.host", "Enter the SMTP server&#39;s host name."),
        ("email", {"config.host": "smtp.example.com", "config.username": "bot", "config.from_addr": "crisis@example.com",
                   "config.to": "ops@example.com"}, "config.password", "A user name needs a password."),
        ("email", {"config.host": "smtp.example.com", "config.port": "99999", "config.from_addr": "crisis@example.com",
                   "config.to": "ops@example.com"}, "config.port", "The port is a number from 1 to 65535."),
        ("email", {"config.host": "smtp.example.com", "config.from_addr": "crisis@example.com", "config.to": "not-an-address"},
         "config.to", "&#39;not-an-address&#39; is not a valid e-mail address."),
    ]
    for kind, fields, field, message in cases:
        data = {"kind": kind, "name": "值班群", **({} if kind == "email" else {"config.url": WECOM_URL}), **fields}
        response = admin.post("/settings/channels", data=data, headers=HX)
        assert response.status_code == 422, (kind, fields)
        assert 'id="channel-form"' in response.text and "<html" not in response.text
        error_id = "err-" + field.replace(".", "-")
        assert f'<p class="field-error" id="{error_id}" role="alert">{message}</p>' in response.text, (fields, response.text)
    assert _channels(db) == [] and audit_actions(db) == []
    assert admin.get("/settings/channels/new?kind=carrier-pigeon").status_code == 404


def test_a_typed_secret_is_not_echoed_on_error(admin) -> None:  # noqa: ANN001
    response = admin.post("/settings/channels", data={"kind": "dingtalk", "name": "", "config.url": DING_URL,
                                                      "config.secret": DING_SECRET})
    assert response.status_code == 422 and DING_SECRET not in response.text and DING_URL not in response.text


def test_edit_keeps_blank_secrets_and_clears_on_request(admin, db) -> None:  # noqa: ANN001
    assert admin.post("/settings/channels", data={"kind": "dingtalk", "name": "钉钉群", "config.url": DING_URL,
                                                  "config.secret": DING_SECRET, "enabled": "1"}).status_code == 303
    (channel,) = _channels(db)
    edit = admin.get(f"/settings/channels/{channel.id}/edit").text
    assert DING_SECRET not in edit and "Saved: ••••89ab (leave blank to keep)" in edit
    response = admin.post(f"/settings/channels/{channel.id}", data={
        "name": "钉钉值班群", "config.url": "", "config.secret": "", "enabled": ["0", "1"], "reminders": ["0", "1"],
        "escalations": ["0"]})
    assert response.status_code == 303
    (channel,) = _channels(db)
    assert channel.name == "钉钉值班群" and channel.config == {"url": DING_URL, "secret": DING_SECRET}
    assert (channel.reminders, channel.escalations) == (True, False)
    admin.post(f"/settings/channels/{channel.id}", data={"name": "钉钉值班群", "clear": "secret", "enabled": "1",
                                                         "reminders": "1"})
    assert _channels(db)[0].config == {"url": DING_URL, "secret": None}
    with db() as session:
        records = list(session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "channel.updated")
                                       .order_by(AuditRecord.id)))
    assert [r.after["secrets_changed"] for r in records] == [[], ["secret"]]
    assert DING_SECRET not in str([(r.before, r.after) for r in records])


def test_switches(admin, db) -> None:  # noqa: ANN001
    _create(admin)
    (channel,) = _channels(db)
    response = admin.post(f"/settings/channels/{channel.id}/switch", data={"switch": "enabled", "on": "0"}, headers=HX)
    assert response.status_code == 200 and 'id="channels"' in response.text and ">Enable</button>" in response.text
    admin.post(f"/settings/channels/{channel.id}/switch", data={"switch": "reminders", "on": "1"})
    (channel,) = _channels(db)
    assert (channel.enabled, channel.reminders, channel.escalations) == (False, True, True)
    assert admin.post(f"/settings/channels/{channel.id}/switch", data={"switch": "colour", "on": "1"}).status_code == 422
    assert audit_actions(db) == ["channel.created", "channel.updated", "channel.updated"]


def test_test_message_is_queued_once_per_click(admin, db) -> None:  # noqa: ANN001
    _create(admin)
    (channel,) = _channels(db)
    for _ in range(2):
        response = admin.post(f"/settings/channels/{channel.id}/test", headers=HX)
        assert response.status_code == 200 and "Test message queued for “值班群”" in response.text
    with db() as session:
        messages = list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(m.event, m.state, m.channel_id, m.incident_id) for m in messages] == [
        ("test", OutboxState.PENDING, channel.id, None)] * 2
    assert messages[0].idempotency_key != messages[1].idempotency_key
    assert messages[0].message["idempotency_key"] == messages[0].idempotency_key
    assert "值班群" in messages[0].message["text"]
    assert audit_actions(db).count("channel.test_queued") == 2


def _history(db, channel_id: int) -> None:  # noqa: ANN001
    """What the worker would have left: messages in each state and their attempts."""
    with db() as session:
        for index, (state, results) in enumerate([
            (OutboxState.DELIVERED, [(True, 200, "ok")]),
            (OutboxState.FAILED, [(False, 500, "HTTP 500 from the robot"), (False, None, "connection refused")]),
            (OutboxState.PENDING, [(False, 429, "errcode 45009: rate limited")]),
        ]):
            message = OutboxMessage(idempotency_key=f"k{index}", channel_id=channel_id, event="deadline.overdue",
                                    message={}, state=state, attempts=len(results), created_at=FIXED_NOW)
            session.add(message)
            session.flush()
            for offset, (ok, code, detail) in enumerate(results):
                session.add(DeliveryAttempt(message_id=message.id, at=FIXED_NOW + timedelta(minutes=index * 10 + offset),
                                            ok=ok, status_code=code, detail=detail, duration_ms=120))
        session.commit()


def test_health_shows_what_the_outbox_holds(admin, db) -> None:  # noqa: ANN001
    _create(admin)
    (channel,) = _channels(db)
    _history(db, channel.id)
    page = admin.get("/settings/channels").text
    health = page.split('class="health"')[1].split("</dl>")[0]
    assert "<dt>Waiting</dt><dd>1</dd>" in health and '<dd class="ok">1</dd>' in health and '<dd class="bad">1</dd>' in health
    assert "errcode 45009: rate limited" in health  # the latest failed attempt
    assert "Latest delivery attempts (4)" in page and "connection refused" in page and "HTTP 500 from the robot" in page


def test_delete_only_without_messages(admin, db) -> None:  # noqa: ANN001
    _create(admin)
    _create(admin, name="旧群", **{"config.url": WECOM_URL + "b"})
    first, second = _channels(db)
    _history(db, first.id)
    page = admin.get("/settings/channels").text
    assert page.count(">Delete</button>") == 1 and "can be disabled but not deleted" in page
    refused = admin.post(f"/settings/channels/{first.id}/delete", headers=HX)
    assert refused.status_code == 409 and "disable it instead" in refused.text
    assert admin.post(f"/settings/channels/{second.id}/delete").status_code == 303
    assert [c.id for c in _channels(db)] == [first.id]
    assert audit_actions(db)[-1] == "channel.deleted"


# -- API ---------------------------------------------------------------------------------------

def test_api_channels(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    created = api("POST", "/api/v1/channels", json={
        "name": "告警 webhook", "kind": "webhook", "reminders": True,
        "config": {"url": "https://hooks.example.com/crisis?token=abcdef123456", "secret": "s" * 32}})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["config"] == {"url": "https://hooks.example.com/…3456", "secret": "••••ssss"}
    assert (body["enabled"], body["reminders"], body["escalations"]) == (True, True, True)
    assert created.headers["Location"].endswith(f"/api/v1/channels/{body['id']}")
    changed = api("PATCH", f"/api/v1/channels/{body['id']}", json={"config": {"secret": ""}, "escalations": False})
    assert changed.status_code == 200 and changed.json["config"]["secret"] == "••••ssss" and not changed.json["escalations"]
    cleared = api("PATCH", f"/api/v1/channels/{body['id']}", json={"clear": ["secret"]})
    assert cleared.json["config"]["secret"] is None
    queued = api("POST", f"/api/v1/channels/{body['id']}/test")
    assert queued.status_code == 202 and queued.json["state"] == "pending"
    detail = api("GET", f"/api/v1/channels/{body['id']}").json
    assert detail["deliveries"]["pending"] == 1 and detail["attempts"] == []
    assert [c["name"] for c in api("GET", "/api/v1/channels").json["channels"]] == ["告警 webhook"]
    refused = api("DELETE", f"/api/v1/channels/{body['id']}")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "has_messages"
    assert audit_actions(db) == ["channel.created", "channel.updated", "channel.updated", "channel.test_queued"]
    other = api("POST", "/api/v1/channels", json={"name": "飞书", "kind": "feishu",
                                                  "config": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/x1"}})
    assert api("DELETE", f"/api/v1/channels/{other.json['id']}").status_code == 204
    assert api("GET", f"/api/v1/channels/{other.json['id']}").status_code == 404


def test_api_channels_bad_input(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    cases = [
        ({"name": "a", "kind": "pager", "config": {}}, 422, "kind"),
        ({"name": "a", "kind": "wecom", "config": {"url": "https://qyapi.weixin.qq.com/send"}}, 422, "config.url"),
        ({"name": "", "kind": "wecom", "config": {"url": WECOM_URL}}, 422, "name"),
        ({"name": "a", "kind": "wecom", "config": {"url": WECOM_URL}, "enabled": "yes"}, 422, "enabled"),
        ({"name": "a", "kind": "wecom", "config": "url"}, 400, "config"),
        ({"name": "a", "kind": "wecom", "config": {"url": WECOM_URL, "secret": "SEC1"}}, 422, "config.secret"),
        ({"name": "a", "kind": "wecom", "config": {"url": WECOM_URL}, "colour": "red"}, 400, "colour"),
    ]
    for body, status, field in cases:
        response = api("POST", "/api/v1/channels", json=body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["field"] == field, body
    channel = api("POST", "/api/v1/channels", json={"name": "a", "kind": "wecom", "config": {"url": WECOM_URL}}).json
    for body, status, field in [
        ({"config": {"secret": "x"}}, 422, "config.secret"),
        ({"clear": ["url"]}, 422, "config.url"),
        ({"clear": ["password"]}, 422, "config.password"),
        ({"clear": "secret"}, 400, "clear"),
        ({"name": "b", "kind": "email"}, 400, "kind"),
    ]:
        response = api("PATCH", f"/api/v1/channels/{channel['id']}", json=body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["field"] == field, body
    assert [c.name for c in _channels(db)] == ["a"]
    assert audit_actions(db) == ["channel.created"]


def test_an_smtp_channel_lists_its_server_and_hides_its_password(admin, db) -> None:  # noqa: ANN001
    response = admin.post("/settings/channels", data={
        "kind": "email", "name": "主管邮件", "config.host": "smtp.exmail.qq.com", "config.port": "465",
        "config.security": "ssl", "config.username": "bot@example.com", "config.password": "app-password-0042",
        "config.from_addr": "危机指挥台 <bot@example.com>", "config.to": "a@example.com, b@example.com",
        "enabled": "1", "escalations": "1"})
    assert response.status_code == 303
    (channel,) = _channels(db)
    assert channel.config["port"] == 465 and channel.config["to"] == ["a@example.com", "b@example.com"]
    page = admin.get("/settings/channels").text
    assert "smtp.exmail.qq.com" in page and "<code>465</code>" in page and "a@example.com, b@example.com" in page
    assert "app-password-0042" not in page and "••••0042" in page
    edit = admin.get(f"/settings/channels/{channel.id}/edit").text
    assert 'value="a@example.com, b@example.com"' in edit and "app-password-0042" not in edit
    assert '<option value="ssl" selected>' in edit


def test_a_url_into_a_private_network_is_refused_when_saved(api_as, admin, app, db) -> None:  # noqa: ANN001
    """A robot or webhook URL pointing into a private network is refused at the field when saved
    (delivery would refuse it anyway), unless CRISIS_ALLOWED_NETWORKS allows that network."""
    api = api_as(Role.ADMIN)
    for url in ("http://10.0.0.7/hook", "http://[::1]:8080/hook", "http://localhost:9/hook", "http://169.254.169.254/"):
        response = api("POST", "/api/v1/channels", json={"name": "内网", "kind": "webhook", "config": {"url": url}})
        assert response.status_code == 422, url
        assert response.json["error"]["field"] == "config.url" and response.json["error"]["reason"] == "private_url"
    form = admin.post("/settings/channels", data={"kind": "webhook", "name": "内网", "config.url": "http://10.0.0.7/hook"},
                      headers=HX)
    assert form.status_code == 422
    assert ('<p class="field-error" id="err-config-url" role="alert">This address (10.0.0.7) is inside a private '
            "network. An administrator can allow the network with CRISIS_ALLOWED_NETWORKS.</p>") in form.text
    assert _channels(db) == [] and audit_actions(db) == []

    app.config["ALLOWED_NETWORKS"] = ["10.0.0.0/8"]  # a self-hosted receiver the operator trusts
    created = api("POST", "/api/v1/channels", json={"name": "内网", "kind": "webhook",
                                                     "config": {"url": "http://10.0.0.7/hook"}})
    assert created.status_code == 201
    app.config["ALLOWED_NETWORKS"] = []
    path = f"/api/v1/channels/{created.json['id']}"
    assert api("PATCH", path, json={"reminders": True}).status_code == 200  # a switch alone is not re-vetted
    moved = api("PATCH", path, json={"config": {"url": "http://192.168.1.20/hook"}})
    assert moved.status_code == 422 and moved.json["error"]["field"] == "config.url"
    assert [c.config["url"] for c in _channels(db)] == ["http://10.0.0.7/hook"]
