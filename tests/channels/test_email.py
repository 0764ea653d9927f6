"""E-mail over SMTP against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.header import decode_header, make_header

from incidents.channels import Message, deliver
from incidents.channels.email import message_id

from .conftest import SMTPServer


def make_message(**overrides: object) -> Message:
    values: dict[str, object] = {
        "idempotency_key": "outbox-77",
        "subject": "工单超时提醒:退款 #1024",
        "text": "客户张女士的退款工单已超时 2 小时。\n请立即联系客户。\n\n<script>alert(1)</script> & 其他",
        "event": "deadline.escalation",
        "url": "https://console.example.com/tickets/1024",
        "severity": "高",
        "unsubscribe_url": "https://console.example.com/unsubscribe/abc?t=1",
    }
    values.update(overrides)
    return Message(**values)  # type: ignore[arg-type]


def config(server: SMTPServer, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "from_addr": "危机值班 <ops@example.com>",
        "to": ["lead@example.com", "agent@example.com"],
    }
    values.update(overrides)
    return values


def parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_email_arrives_with_utf8_subject_body_and_headers(smtp_server):
    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[])

    assert result.ok and not result.retryable
    assert result.status_code == 250
    assert len(smtp_server.handler.envelopes) == 1
    envelope = smtp_server.handler.envelopes[0]
    assert envelope.mail_from == "ops@example.com"
    assert envelope.rcpt_tos == ["lead@example.com", "agent@example.com"]

    raw = envelope.original_content
    assert raw.isascii()  # everything non-ASCII is MIME-encoded on the wire
    mail = parse(envelope)
    assert str(make_header(decode_header(mail["Subject"]))) == "【高】工单超时提醒:退款 #1024"
    assert mail["Message-ID"] == message_id("outbox-77", "ops@example.com")
    assert mail["Message-ID"].endswith("@example.com>")
    assert mail["List-Unsubscribe"] == "<https://console.example.com/unsubscribe/abc?t=1>"
    assert mail["Date"]
    assert mail["From"].addresses[0].display_name == "危机值班"
    assert mail["X-Crisis-Event"] == "deadline.escalation"

    plain = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")  # canonical CRLF
    assert "客户张女士的退款工单已超时 2 小时。\n请立即联系客户。" in plain
    assert "https://console.example.com/tickets/1024" in plain
    html = mail.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 其他" in html
    assert "客户张女士的退款工单已超时 2 小时。<br>请立即联系客户。" in html
    assert '<a href="https://console.example.com/tickets/1024">' in html


def test_message_id_is_stable_across_retries_and_distinct_per_key(smtp_server):
    deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    deliver("email", config(smtp_server), make_message(idempotency_key="outbox-78"), allowed_networks=[])
    ids = [parse(env)["Message-ID"] for env in smtp_server.handler.envelopes]
    assert ids[0] == ids[1] != ids[2]


def test_no_list_unsubscribe_without_url(smtp_server):
    deliver("email", config(smtp_server), make_message(unsubscribe_url=None), allowed_networks=[])
    assert parse(smtp_server.handler.envelopes[0])["List-Unsubscribe"] is None


def test_recipient_rejected_with_550_is_not_retryable(smtp_server):
    smtp_server.handler.refuse_all_rcpt = "550 5.1.1 mailbox unavailable"
    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    assert not result.ok and not result.retryable
    assert result.status_code == 550
    assert "refused all recipients" in result.detail
    assert "550 5.1.1 mailbox unavailable" in result.detail
    assert smtp_server.handler.envelopes == []


def test_temporary_451_is_retryable(smtp_server):
    smtp_server.handler.refuse_all_rcpt = "451 4.7.1 greylisted, try again later"
    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    assert not result.ok and result.retryable
    assert result.status_code == 451


def test_data_rejected_with_554_is_not_retryable(smtp_server):
    smtp_server.handler.refuse_data = "554 5.7.1 message rejected as spam"
    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    assert not result.ok and not result.retryable
    assert result.status_code == 554
    assert result.detail.startswith("SMTP refused the message: 554")


def test_partial_refusal_counts_as_sent_and_names_the_refused_address(smtp_server):
    smtp_server.handler.refuse_rcpt = {"agent@example.com": "550 5.1.1 no such user"}
    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[])
    assert result.ok
    assert "sent to 1 of 2 recipients" in result.detail
    assert "agent@example.com" in result.detail
    assert smtp_server.handler.envelopes[0].rcpt_tos == ["lead@example.com"]


def test_smtp_server_down_is_retryable(closed_port):
    cfg = {"host": "127.0.0.1", "port": closed_port, "security": "none", "from_addr": "ops@example.com", "to": "a@example.com"}
    result = deliver("email", cfg, make_message(), allowed_networks=[], timeout=2)
    assert not result.ok and result.retryable
    assert result.detail == f"connection refused by 127.0.0.1:{closed_port}"


def test_starttls_required_but_not_offered_is_not_retryable(smtp_server):
    result = deliver("email", config(smtp_server, security="starttls"), make_message(), allowed_networks=[])
    assert not result.ok and not result.retryable
    assert "STARTTLS" in result.detail
    assert smtp_server.handler.envelopes == []


def test_custom_smtp_factory_is_used(smtp_server):
    calls = []

    def factory(cfg, timeout):
        calls.append((cfg["host"], cfg["port"], timeout))
        return smtplib.SMTP(cfg["host"], cfg["port"], timeout=timeout)

    result = deliver("email", config(smtp_server), make_message(), allowed_networks=[], smtp=factory, timeout=3)
    assert result.ok
    assert calls == [("127.0.0.1", smtp_server.port, 3)]
