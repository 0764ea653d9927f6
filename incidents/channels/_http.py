"""One guarded HTTP POST, with failures turned into DeliveryResult values.

Every HTTP channel goes through `post`: it sends through a guarded session
(`incidents.guarded_http`: the URL checked by `netguard.check_url`, the connection made to
the address that was checked), never follows redirects, bounds how much of the answer it reads, and classifies
network errors and non-2xx statuses. Platform modules only interpret a 2xx body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from incidents.guarded_http import guard, guarded_session
from incidents.netguard import IPNetwork, UnsafeURL

from .base import DeliveryResult

USER_AGENT = "CrisisConsole/0.1"
MAX_RESPONSE_BYTES = 64 * 1024
# Besides 5xx: Request Timeout, Too Early, Too Many Requests.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status_code: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _seconds(timeout: float) -> str:
    return f"{timeout:g}s"


def _retry_after(headers: Mapping[str, str]) -> timedelta | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(when - datetime.now(timezone.utc), timedelta(0))


def _describe_connection_error(exc: requests.ConnectionError) -> str:
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return "cannot resolve host"
    if "ssl" in lowered or "certificate" in lowered:
        return "TLS error: " + text[:200]
    if "reset" in lowered:
        return "connection reset"
    if "remotedisconnected" in lowered or "aborted" in lowered:
        return "connection closed by server"
    return "connection error: " + text[:200]


def _read_limited(response: requests.Response) -> str:
    raw = response.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
    # Chinese platforms answer UTF-8 even when they omit the charset (requests would then
    # guess ISO-8859-1 for text/*), so try UTF-8 first.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(response.encoding or "utf-8", errors="replace")


def post(
    url: str,
    body: bytes,
    *,
    read: Callable[[HttpAnswer], DeliveryResult],
    headers: Mapping[str, str] | None = None,
    allowed_networks: Sequence[IPNetwork],
    timeout: float,
    session: requests.Session | None,
) -> DeliveryResult:
    """POST `body` to `url`; a 2xx answer is judged by `read` (each platform says success its
    own way), anything else is a failure."""
    send_headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json; charset=utf-8"}
    send_headers.update(headers or {})
    own_session = session is None
    http = guarded_session(allowed_networks) if own_session else guard(session, allowed_networks)
    host = host_of(url)
    try:
        try:
            response = http.post(
                url,
                data=body,
                headers=send_headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except UnsafeURL as exc:  # vetted by the guarded session before it connects
            return DeliveryResult.failure(f"refused unsafe URL: {exc}", retryable=False)
        except requests.Timeout:
            return DeliveryResult.failure(f"timeout after {_seconds(timeout)}", retryable=True)
        except requests.ConnectionError as exc:
            return DeliveryResult.failure(_describe_connection_error(exc), retryable=True)
        except requests.RequestException as exc:
            # InvalidURL, InvalidHeader, ...: the request itself is malformed; retrying won't help.
            return DeliveryResult.failure(f"request error: {exc}"[:300], retryable=False)
        try:
            try:
                text = _read_limited(response)
            except requests.Timeout:
                return DeliveryResult.failure(f"timeout after {_seconds(timeout)}", retryable=True)
            except (requests.RequestException, OSError) as exc:
                return DeliveryResult.failure(
                    f"error reading the answer from {host}: {exc}"[:300],
                    retryable=True,
                    status_code=response.status_code,
                )
            except Exception as exc:  # urllib3 ReadTimeoutError / ProtocolError while streaming
                retryable = "timed out" in str(exc).lower() or "connection" in str(exc).lower()
                return DeliveryResult.failure(
                    f"error reading the answer from {host}: {type(exc).__name__}"[:300],
                    retryable=retryable,
                    status_code=response.status_code,
                )
            answer = HttpAnswer(response.status_code, response.headers, text)
        finally:
            response.close()
    finally:
        if own_session:
            http.close()

    status = answer.status_code
    if 200 <= status < 300:
        return read(answer)
    if 300 <= status < 400:
        location = answer.headers.get("Location", "")
        where = f" to {location[:200]}" if location else ""
        return DeliveryResult.failure(
            f"HTTP {status} redirect{where} from {host} (redirects are not followed; fix the URL)",
            retryable=False,
            status_code=status,
            response=text,
        )
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    return DeliveryResult.failure(
        f"HTTP {status} from {host}",
        retryable=retryable,
        status_code=status,
        response=text,
        retry_after=_retry_after(answer.headers) if retryable else None,
    )


def json_body(document: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese stays readable, not \\u-escaped)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def platform_code_result(
    answer: HttpAnswer,
    platform: str,
    retryable_codes: frozenset[int],
    known: dict[int, str],
    *,
    code_keys: tuple[str, ...] = ("errcode",),
    message_keys: tuple[str, ...] = ("errmsg",),
    code_label: str = "errcode",
) -> DeliveryResult:
    """Chat robots answer HTTP 200 with a result code in the body: 0 is success.

    WeCom and DingTalk say `errcode`/`errmsg`; Feishu says `code`/`msg` (older: `StatusCode`).
    """
    data = answer.json()
    data = data if isinstance(data, dict) else {}
    code = next((data[key] for key in code_keys if key in data), None)
    if not isinstance(code, int) or isinstance(code, bool):
        return DeliveryResult.failure(
            f"{platform} answered HTTP {answer.status_code} without {'an' if code_label == 'errcode' else 'a'} {code_label}",
            retryable=True,
            status_code=answer.status_code,
            response=answer.text,
        )
    if code == 0:
        return DeliveryResult.success(f"{platform} accepted the message", status_code=answer.status_code, response=answer.text)
    detail = next((str(data[key]).strip() for key in message_keys if data.get(key)), "")
    reason = known.get(code) or detail or "unknown error"
    if code in known and detail and detail.lower() not in reason.lower():
        reason = f"{reason} ({detail[:120]})"
    return DeliveryResult.failure(
        f"{platform} {code_label} {code}: {reason}"[:300],
        retryable=code in retryable_codes,
        status_code=answer.status_code,
        response=answer.text,
    )
