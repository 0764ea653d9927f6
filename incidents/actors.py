"""Who did something: a person, an API token, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The author of a change, as written to the timeline and the audit log."""

    label: str
    user_id: int | None = None
    ip: str = ""
    # The web request that made the change (its X-Request-ID), tying log lines and audit records.
    request_id: str = ""

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        """The console acting by itself (scheduler, monitors, alert hooks)."""
        return cls(label=what)
