"""The incident lifecycle: the vocabulary and one transition table. Pure, no I/O."""

from __future__ import annotations

import enum

from incidents.errors import DomainError


class Kind(enum.StrEnum):
    OUTAGE = "outage"
    PUBLIC_OPINION = "public_opinion"
    COMPLAINT = "complaint"


class Severity(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Source(enum.StrEnum):
    MANUAL = "manual"
    MONITOR = "monitor"
    ALERT = "alert"
    API = "api"


class Status(enum.StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Open = someone is still working the problem; resolved incidents stay on the board until
# they are closed (follow-ups and the review happen there).
OPEN_STATUSES = frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING})
ACTIVE_STATUSES = OPEN_STATUSES | {Status.RESOLVED}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    # resolved -> investigating is a reopen: the fix did not hold.
    Status.RESOLVED: frozenset({Status.INVESTIGATING, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class TransitionNotAllowed(DomainError):
    """The lifecycle forbids moving from one status to the other."""

    code = "transition_not_allowed"

    def __init__(self, current: Status, target: Status):
        super().__init__(f"cannot move from {current} to {target}")
        self.current = current
        self.target = target


def allowed_targets(current: Status) -> list[Status]:
    """The statuses an incident in `current` may move to, in lifecycle order."""
    return [status for status in Status if status in TRANSITIONS[current]]


def check_transition(current: Status, target: Status) -> None:
    """Raise TransitionNotAllowed unless the table allows current -> target."""
    if target not in TRANSITIONS[current]:
        raise TransitionNotAllowed(current, target)


def is_reopen(current: Status, target: Status) -> bool:
    """True when the move takes a resolved incident back to work."""
    return current == Status.RESOLVED and target in OPEN_STATUSES
