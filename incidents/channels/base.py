"""Plain values shared by every channel adapter: the message, the result, the retry schedule.

Nothing here knows about Flask or the database. The outbox worker builds a `Message`,
calls `incidents.channels.deliver(...)`, stores the `DeliveryResult`, and when the result
is retryable schedules the next attempt with `backoff_delay(attempts_made)` until
`MAX_ATTEMPTS` is reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

__all__ = [
    "BACKOFF_SCHEDULE",
    "ChannelConfigError",
    "DeliveryResult",
    "EXCERPT_CHARS",
    "MAX_ATTEMPTS",
    "Message",
    "backoff_delay",
    "excerpt",
]

EXCERPT_CHARS = 500


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, already rendered into plain values by the caller.

    `idempotency_key` must be stable across retries of the same outbox row: it becomes
    the e-mail Message-ID and the generic webhook's `Idempotency-Key` header, so a receiver
    can drop duplicates when a delivery succeeded but the acknowledgement was lost.
    `text` is plain text (never markdown/HTML); each adapter escapes it for its platform.
    """

    idempotency_key: str
    subject: str
    text: str
    event: str
    url: str | None = None
    severity: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    unsubscribe_url: str | None = None
    # The reader's language ("zh" or "en") when one reader gets it (a subscriber); None for a team.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one delivery attempt.

    ok            the destination accepted the message.
    retryable     only meaningful when not ok: trying again later may succeed
                  (5xx, 408, 429, timeouts, connection errors, SMTP 4xx, platform rate limits).
    status_code   HTTP status or SMTP reply code when there was one.
    detail        a short reason a person can read in the console.
    response_excerpt  the first EXCERPT_CHARS characters of what the server answered.
    retry_after   the server's Retry-After hint (HTTP 429/503), if it gave one.
    """

    ok: bool
    retryable: bool
    status_code: int | None
    detail: str
    response_excerpt: str = ""
    retry_after: timedelta | None = None

    @classmethod
    def success(cls, detail: str, *, status_code: int | None = None, response: str = "") -> DeliveryResult:
        return cls(True, False, status_code, detail, excerpt(response))

    @classmethod
    def failure(
        cls,
        detail: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        response: str = "",
        retry_after: timedelta | None = None,
    ) -> DeliveryResult:
        return cls(False, retryable, status_code, detail, excerpt(response), retry_after)


class ChannelConfigError(ValueError):
    """A channel configuration is invalid; `field` names the offending key (for form errors)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text[:limit]


# Delay before the next attempt, indexed by the number of attempts already made (1-based).
# Quick retries first (a webhook receiver restarting, a rate limit of 20 messages/minute on
# WeCom and DingTalk robots), then hourly. Attempts past the end of the table reuse the last
# entry.
BACKOFF_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
)

# After this many attempts the outbox row is marked failed and shown to operators.
# With BACKOFF_SCHEDULE the 12th attempt happens about 5 h 54 min after the first
# (30s + 1m + 2m + 5m + 15m + 30m + 5 x 1h): crisis notices older than a working shift are
# stale, and an operator should fix a broken channel the same day rather than learn about
# it tomorrow.
MAX_ATTEMPTS = 12


def backoff_delay(attempt: int) -> timedelta:
    """Delay to wait after `attempt` failed attempts (attempt >= 1) before trying again.

    Pure and deterministic; a worker that wants jitter adds it itself. A server's
    `DeliveryResult.retry_after` hint, when longer, should win over this value.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return BACKOFF_SCHEDULE[min(attempt, len(BACKOFF_SCHEDULE)) - 1]
