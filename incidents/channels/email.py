"""E-mail over SMTP (smtplib), UTF-8 throughout.

Config:
    host, port          SMTP server; port defaults to 587 (starttls), 465 (ssl) or 25 (none)
    security            "starttls" (default), "ssl" (implicit TLS) or "none"
    username, password  optional; both or neither
    from_addr           "值班中心 <ops@example.com>" or "ops@example.com"
    to                  list of addresses, or one string separated by commas/semicolons

The message is an `EmailMessage` (policy SMTP): RFC 2047 encoded UTF-8 subject, a UTF-8
text/plain part and an escaped text/html alternative. `Message-ID` is derived from the
idempotency key (`<crisis.<sha256 prefix>@<from domain>>`), so every retry of one outbox row
carries the same id and mail systems and people can spot duplicates. `List-Unsubscribe` is
set when the message has an http(s) or mailto `unsubscribe_url`.

The SMTP host is configured by an administrator (often an internal relay), so it is not
passed through netguard.

Errors: SMTP 4xx replies, connection errors and timeouts are retryable; 5xx replies
(550 mailbox unavailable, 535 authentication failed, ...) are not. When the server accepts
some recipients and refuses others the delivery counts as done (retrying would send the
accepted ones a duplicate) and `detail` lists the refused addresses.
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import urlsplit

from .base import ChannelConfigError, DeliveryResult, Message
from .render import safe_link, severity_label, single_line

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
MAX_RECIPIENTS = 50

# smtp factory: (config, timeout) -> connected smtplib.SMTP. Tests or callers with special
# TLS needs can pass their own; the default uses smtplib.SMTP / SMTP_SSL.
SMTPFactory = Callable[[dict[str, Any], float], smtplib.SMTP]


def _address(value: Any, field: str, *, allow_name: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChannelConfigError("an e-mail address is required", field)
    value = value.strip()
    if any(ch in value for ch in "\r\n"):
        raise ChannelConfigError("the address must be on one line", field)
    name, addr = parseaddr(value)
    if not addr or (name and not allow_name):
        raise ChannelConfigError(f"{value!r} is not a valid e-mail address", field)
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or "." not in domain.strip(".") or " " in addr or domain.startswith("."):
        raise ChannelConfigError(f"{value!r} is not a valid e-mail address", field)
    try:
        Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ChannelConfigError(f"{value!r} is not a valid e-mail address", field) from exc
    return value


def _recipients(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [item for item in value.replace(";", ",").split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ChannelConfigError("give a list of e-mail addresses", "to")
    cleaned: list[str] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        address = _address(item, "to", allow_name=False)
        if address.lower() not in (seen.lower() for seen in cleaned):
            cleaned.append(address)
    if not cleaned:
        raise ChannelConfigError("at least one recipient is required", "to")
    if len(cleaned) > MAX_RECIPIENTS:
        raise ChannelConfigError(f"at most {MAX_RECIPIENTS} recipients per channel", "to")
    return cleaned


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    host = config.get("host")
    if not isinstance(host, str) or not host.strip() or any(ch.isspace() for ch in host.strip()):
        raise ChannelConfigError("the SMTP host name is required", "host")
    security = config.get("security") or "starttls"
    if security not in SECURITY_MODES:
        raise ChannelConfigError(f"choose one of {', '.join(SECURITY_MODES)}", "security")
    port = config.get("port")
    if port is None or port == "":
        port = DEFAULT_PORTS[security]
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port.strip())
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ChannelConfigError("the port must be a number from 1 to 65535", "port")
    username = config.get("username") or None
    password = config.get("password") or None
    if username is not None and not isinstance(username, str):
        raise ChannelConfigError("must be text", "username")
    if password is not None and not isinstance(password, str):
        raise ChannelConfigError("must be text", "password")
    if username and not password:
        raise ChannelConfigError("a password is required with a user name", "password")
    if password and not username:
        raise ChannelConfigError("a user name is required with a password", "username")
    return {
        "host": host.strip(),
        "port": port,
        "security": security,
        "username": username,
        "password": password,
        "from_addr": _address(config.get("from_addr"), "from_addr", allow_name=True),
        "to": _recipients(config.get("to")),
    }


def message_id(idempotency_key: str, from_addr: str) -> str:
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "crisis-console.invalid"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<crisis.{digest}@{domain}>"


def _unsubscribe_target(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    if urlsplit(url).scheme == "mailto" and not any(ch in url for ch in "\r\n<> "):
        return url
    return safe_link(url)


# The unsubscribe link's words: the subscriber's language, or both when the reader is not known.
UNSUBSCRIBE_WORDS = {"zh": "退订", "en": "Unsubscribe"}


def unsubscribe_words(language: str | None) -> str:
    return UNSUBSCRIBE_WORDS.get(language or "", "退订 / Unsubscribe")


def build_email(config: dict[str, Any], message: Message, *, now: float | None = None) -> EmailMessage:
    mail = EmailMessage(policy=SMTP_POLICY)
    mail["Subject"] = single_line(severity_label(message.severity) + message.subject) or "(no subject)"
    mail["From"] = config["from_addr"]
    mail["To"] = ", ".join(config["to"])
    mail["Date"] = formatdate(now, localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.idempotency_key, config["from_addr"])
    mail["X-Crisis-Event"] = single_line(message.event)
    mail["Auto-Submitted"] = "auto-generated"
    unsubscribe = _unsubscribe_target(message.unsubscribe_url)
    if unsubscribe:
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        # RFC 8058: mail clients may POST this to the link to unsubscribe in one click.
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    link = safe_link(message.url)
    text = message.text.strip()
    plain = text + (f"\n\n{link}\n" if link else "\n")
    if unsubscribe:
        plain += f"\n--\n{unsubscribe_words(message.language)}: {unsubscribe}\n"
    # base64 keeps the wire 7-bit clean: no reliance on the server offering 8BITMIME.
    mail.set_content(plain, charset="utf-8", cte="base64")

    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in text.split("\n\n") if block.strip()
    )
    html_link = f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p>' if link else ""
    html_unsub = (
        f'<p style="color:#888;font-size:12px"><a href="{html.escape(unsubscribe, quote=True)}">{unsubscribe_words(message.language)}</a></p>'
        if unsubscribe
        else ""
    )
    mail.add_alternative(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"<h2>{html.escape(str(mail['Subject']))}</h2>{paragraphs}{html_link}{html_unsub}</body></html>",
        subtype="html",
        charset="utf-8",
        cte="base64",
    )
    return mail


def default_smtp(config: dict[str, Any], timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config["security"] == "ssl":
        return smtplib.SMTP_SSL(config["host"], config["port"], timeout=timeout, context=context)
    client = smtplib.SMTP(config["host"], config["port"], timeout=timeout)
    try:
        if config["security"] == "starttls":
            client.ehlo()
            client.starttls(context=context)
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def _reply(code: int, raw: bytes | str) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return f"{code} {single_line(text)}"


def _from_response_error(exc: smtplib.SMTPResponseException, what: str) -> DeliveryResult:
    code = exc.smtp_code
    reply = _reply(code, exc.smtp_error)
    return DeliveryResult.failure(
        f"SMTP {what}: {reply}"[:300],
        retryable=400 <= code < 500 or code < 200,
        status_code=code,
        response=reply,
    )


def deliver(
    config: dict[str, Any],
    message: Message,
    *,
    timeout: float,
    smtp: SMTPFactory | None,
) -> DeliveryResult:
    mail = build_email(config, message)
    factory = smtp or default_smtp
    host = config["host"]
    client: smtplib.SMTP | None = None
    try:
        client = factory(config, timeout)
        if config.get("username"):
            client.login(config["username"], config["password"])
        refused = client.send_message(mail, from_addr=parseaddr(config["from_addr"])[1], to_addrs=config["to"])
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the message was accepted; a failed QUIT does not change that
        client = None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reasons = "; ".join(f"{addr}: {_reply(code, msg)}" for addr, (code, msg) in exc.recipients.items())
        # Retry only when every refusal was temporary.
        retryable = all(400 <= code < 500 for code in codes)
        return DeliveryResult.failure(
            f"SMTP refused all recipients: {reasons}"[:300],
            retryable=retryable,
            status_code=max(codes) if codes else None,
            response=reasons,
        )
    except smtplib.SMTPSenderRefused as exc:
        return _from_response_error(exc, "refused the sender")
    except smtplib.SMTPDataError as exc:
        return _from_response_error(exc, "refused the message")
    except smtplib.SMTPAuthenticationError as exc:
        return _from_response_error(exc, "authentication failed")
    except smtplib.SMTPNotSupportedError as exc:
        reason = single_line(str(exc)) or "a required extension (STARTTLS or AUTH)"
        return DeliveryResult.failure(f"SMTP server {host} does not support it: {reason}"[:300], retryable=False)
    except smtplib.SMTPResponseException as exc:
        return _from_response_error(exc, "error")
    except smtplib.SMTPServerDisconnected as exc:
        return DeliveryResult.failure(f"SMTP server {host} disconnected: {exc}"[:300], retryable=True)
    except ssl.SSLCertVerificationError as exc:
        return DeliveryResult.failure(f"TLS certificate of {host} not trusted: {exc.verify_message}"[:300], retryable=False)
    except ssl.SSLError as exc:
        return DeliveryResult.failure(f"TLS error with {host}: {exc}"[:300], retryable=True)
    except (TimeoutError, socket.timeout):
        return DeliveryResult.failure(f"timeout after {timeout:g}s", retryable=True)
    except ConnectionRefusedError:
        return DeliveryResult.failure(f"connection refused by {host}:{config['port']}", retryable=True)
    except socket.gaierror:
        return DeliveryResult.failure(f"cannot resolve host {host}", retryable=True)
    except (smtplib.SMTPException, OSError) as exc:
        return DeliveryResult.failure(f"SMTP error with {host}: {type(exc).__name__}: {exc}"[:300], retryable=True)
    finally:
        if client is not None:
            client.close()

    if refused:
        reasons = "; ".join(f"{addr}: {_reply(code, msg)}" for addr, (code, msg) in refused.items())
        accepted = len(config["to"]) - len(refused)
        return DeliveryResult.success(
            f"sent to {accepted} of {len(config['to'])} recipients; refused: {reasons}"[:300],
            status_code=250,
            response=reasons,
        )
    return DeliveryResult.success(f"sent to {len(config['to'])} recipient(s) via {host}", status_code=250)


__all__ = ["build_email", "default_smtp", "deliver", "message_id", "validate_config"]
