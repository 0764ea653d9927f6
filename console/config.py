"""Configuration from environment variables, with defaults for the embedded single machine."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from incidents.netguard import IPNetwork, parse_networks

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds from CRISIS_<name>, or a clear error naming the variable."""
    raw = os.environ.get(f"CRISIS_{name}", "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise ValueError(f"CRISIS_{name} must be a number of seconds above 0, not {raw!r}")
    return value


def _proxy_hops() -> int:
    """CRISIS_TRUSTED_PROXIES: how many reverse proxies stand in front (0: no X-Forwarded-* is believed)."""
    raw = os.environ.get("CRISIS_TRUSTED_PROXIES", "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 10:
        raise ValueError(f"CRISIS_TRUSTED_PROXIES must be the number of proxies in front (0-10), not {raw!r}")
    return int(raw)


def _secret_key(instance_path: Path) -> str:
    """CRISIS_SECRET_KEY, else a key generated once and kept in the instance folder."""
    if key := os.environ.get("CRISIS_SECRET_KEY"):
        return key
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def default_database_url(instance_path: Path) -> str:
    """The embedded SQLite file under instance/."""
    return f"sqlite:///{(instance_path / 'crisis.db').resolve()}"


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Every setting the console reads, each named CRISIS_<NAME> in the environment."""
    env = os.environ.get
    return {
        "DATABASE_URL": env("CRISIS_DATABASE_URL") or default_database_url(instance_path),
        "SECRET_KEY": _secret_key(instance_path),
        "TIMEZONE": env("CRISIS_TIMEZONE", DEFAULT_TIMEZONE),
        "BABEL_DEFAULT_LOCALE": env("CRISIS_DEFAULT_LOCALE", "zh_Hans_CN"),
        "SESSION_COOKIE_SECURE": _bool(env("CRISIS_SECURE_COOKIES")),
        # Reverse proxies in front whose X-Forwarded-For/-Proto/-Host/-Port are believed (console/proxying.py).
        "TRUSTED_PROXIES": _proxy_hops(),
        "ALLOWED_NETWORKS": [n for n in env("CRISIS_ALLOWED_NETWORKS", "").split(",") if n.strip()],
        "BOARD_POLL_SECONDS": int(env("CRISIS_BOARD_POLL_SECONDS", "5")),
        # How old a render of the board's rows a poll may be answered from (console/views/caching.py).
        "BOARD_CACHE_SECONDS": float(env("CRISIS_BOARD_CACHE_SECONDS", "1")),
        "PUBLIC_URL": env("CRISIS_PUBLIC_URL", "http://127.0.0.1:5000"),
        # The worker: how often it looks for due deadlines and due messages, how often a
        # standby tries to take over, and how long one delivery may wait on a channel.
        "WORKER_TICK_SECONDS": _seconds("WORKER_TICK", 0.5),
        "OUTBOX_TICK_SECONDS": _seconds("OUTBOX_TICK", 2.0),
        "WORKER_LOCK_RETRY_SECONDS": _seconds("WORKER_LOCK_RETRY", 2.0),
        "OUTBOX_TIMEOUT_SECONDS": _seconds("OUTBOX_TIMEOUT", 10.0),
        # Feed monitors (issue 5): the worker's polling tick, parallel fetches, sources per tick.
        "MONITOR_TICK_SECONDS": float(env("CRISIS_MONITOR_TICK_SECONDS", "1")),
        "MONITOR_FETCH_THREADS": int(env("CRISIS_MONITOR_FETCH_THREADS", "16")),
        "MONITOR_BATCH": int(env("CRISIS_MONITOR_BATCH", "200")),
        # The status page: its name (empty: "Service status" in the reader's language), and how
        # often each web process checks whether its cached public pages are still current.
        "STATUS_PAGE_NAME": env("CRISIS_STATUS_PAGE_NAME", ""),
        "STATUS_CACHE_SECONDS": float(env("CRISIS_STATUS_CACHE_SECONDS", "0.25")),
        # Subscribers (issue 4): the SMTP server that sends subscribers' mail (no host: the
        # status page offers webhooks only), and after how many messages failed in a row a
        # subscriber is paused.
        "SMTP_HOST": env("CRISIS_SMTP_HOST", ""),
        "SMTP_PORT": env("CRISIS_SMTP_PORT", ""),
        "SMTP_SECURITY": env("CRISIS_SMTP_SECURITY", "starttls"),
        "SMTP_USERNAME": env("CRISIS_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env("CRISIS_SMTP_PASSWORD", ""),
        "SMTP_FROM": env("CRISIS_SMTP_FROM", ""),
        "SUBSCRIBER_PAUSE_AFTER": int(env("CRISIS_SUBSCRIBER_PAUSE_AFTER", "5")),
        # Running it for a team (issue 7): who may scrape /metrics (empty: this machine only),
        # and the log lines' shape (empty: the web leaves logging to its server; text or json).
        "METRICS_TOKEN": env("CRISIS_METRICS_TOKEN", ""),
        "LOG_FORMAT": _log_format(env("CRISIS_LOG_FORMAT", "")),
        "LOG_LEVEL": env("CRISIS_LOG_LEVEL", "INFO").strip().upper() or "INFO",
    }


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("", "text", "json"):
        raise ValueError(f"CRISIS_LOG_FORMAT must be text or json, not {raw!r}")
    return value


def allowed_networks(config: Mapping[str, Any]) -> list[IPNetwork]:
    """The private networks outbound requests may reach (CRISIS_ALLOWED_NETWORKS), parsed."""
    return parse_networks(config.get("ALLOWED_NETWORKS") or [])
