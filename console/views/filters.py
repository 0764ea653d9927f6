"""Parsing the board's filter parameters (shared by the board and the API list)."""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from incidents.errors import InvalidInput
from incidents.lifecycle import ACTIVE_STATUSES, OPEN_STATUSES, Kind, Severity, Status

STATUS_GROUPS = {
    "active": ACTIVE_STATUSES,
    "open": OPEN_STATUSES,
    "all": frozenset(Status),
}


@dataclass
class IncidentFilter:
    statuses: frozenset[Status] = ACTIVE_STATUSES
    status_choice: str = "active"
    kinds: list[Kind] = field(default_factory=list)
    severities: list[Severity] = field(default_factory=list)
    query: str = ""

    def cache_key(self) -> str:
        return "|".join([self.status_choice, ",".join(self.kinds), ",".join(self.severities), self.query])


def _members(enum_type: type, values: list[str], name: str) -> list:
    chosen = []
    for value in values:
        if not value:
            continue
        try:
            chosen.append(enum_type(value))
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            raise InvalidInput(name, f"unknown {name} {value!r}", reason="choice", allowed=allowed) from None
    return chosen


def parse_filter(args: MultiDict) -> IncidentFilter:
    """Read status/kind/severity/q from query arguments; unknown values raise InvalidInput."""
    status_choice = args.get("status", "active") or "active"
    if status_choice in STATUS_GROUPS:
        statuses = STATUS_GROUPS[status_choice]
    else:
        statuses = frozenset(_members(Status, [status_choice], "status"))
    return IncidentFilter(
        statuses=statuses,
        status_choice=status_choice,
        kinds=_members(Kind, args.getlist("kind"), "kind"),
        severities=_members(Severity, args.getlist("severity"), "severity"),
        query=args.get("q", "")[:100],
    )
