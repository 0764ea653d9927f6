"""Log lines for the web and the worker: plain text for a person, one JSON object per line for machines.

CRISIS_LOG_FORMAT chooses: `text` (the default of `crisis serve` and `crisis worker`) or
`json` (python-json-logger: `time`, `level`, `logger`, `message`, and the record's extra
fields). Under gunicorn nothing is configured unless the variable is set, so gunicorn's own
logging setup stays in charge.

Every line written inside a request carries its `request_id` (the one echoed as
X-Request-ID). The access line (`console.access`, one per request, see console.observe)
names the route, never the query's secrets: values of parameters that look like
credentials are replaced by `***`, and no header or cookie is ever logged.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import parse_qsl, urlencode

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter

FORMATS = ("text", "json")
ACCESS_LOGGER = "console.access"
# Query parameters whose values never reach a log line (hooks take ?token=; the chat platforms and
# SMS providers sign with ?sign=, ?msg_signature=, ?ticket=; some clients send ?passwd= or ?pwd=).
SECRET_PARAMS = ("token", "password", "passwd", "pwd", "secret", "key", "sign", "sig", "csrf", "auth", "code",
                 "credential", "ticket", "session", "otp")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_MARK = "_crisis_handler"


class RequestIdFilter(logging.Filter):
    """Put the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per record, Chinese kept readable, time in ISO 8601 UTC."""
    return JsonFormatter(
        "{levelname}{name}{process}{message}", style="{", timestamp="time",
        rename_fields={"levelname": "level", "name": "logger", "process": "pid"}, json_ensure_ascii=False,
    )


def configure(fmt: str = "text", level: int | str = logging.INFO) -> None:
    """Send the process's log records to stderr in `fmt`; calling it again replaces our handler."""
    if fmt not in FORMATS:
        raise ValueError(f"CRISIS_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # The scheduler's per-run chatter and the migrations' progress stay out.
    for chatty in ("apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def safe_query(query: str) -> str:
    """The query string with the values of credential-like parameters masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, "***" if any(word in name.lower() for word in SECRET_PARAMS) else value)
                      for name, value in pairs], safe="*")
