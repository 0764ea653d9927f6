"""What the incident page shows of the clock: deadlines with owners, the checklist, updates.

Shared by the incident page (whole and fragments) and the incident-clock actions, so every
answer renders the same markup from the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import Session

from console import permissions
from console.i18n import select_locale
from incidents import checklist as checklist_domain
from incidents import queries
from incidents.deadlines import OPEN_STATES, held_deadlines, incident_deadlines
from incidents.models import Deadline, Incident, StatusUpdate, User
from incidents.playbooks import effective_playbook
from incidents.roster import on_duty
from console.clock import utcnow
from incidents.updates import PUBLIC_STATUSES

RECENT_UPDATES = 3


@dataclass(frozen=True)
class DeadlineRow:
    deadline: Deadline
    owner: queries.Owner
    held: bool = False  # an automatic statement holds the public; a person still owes the update

    @property
    def open(self) -> bool:
        return self.deadline.state in OPEN_STATES

    @property
    def paused(self) -> bool:
        return self.open and self.deadline.paused_at is not None

    @property
    def left_when_paused(self) -> float:
        """Seconds that were left when the clock stopped (negative: already overdue)."""
        if self.deadline.paused_at is None:
            return 0.0
        return (self.deadline.due_at - self.deadline.paused_at).total_seconds()


def rule_name(rule: dict[str, Any] | None, key: str = "") -> str:
    """A rule's name in the reader's language (deadlines keep a snapshot of their rule)."""
    if not rule:
        return key
    language = "zh" if select_locale().startswith("zh") else "en"
    return rule.get(language) or rule.get("key") or key


def may(permission: str) -> bool:
    """Whether the signed-in person holds a permission (buttons they cannot use are not shown)."""
    return bool(getattr(current_user, "is_authenticated", False)) and permissions.role_may(
        current_user.role, permission
    )


def deadline_rows(session: Session, incident: Incident, duty: User | None) -> list[DeadlineRow]:
    deadlines = incident_deadlines(session, incident)
    held = held_deadlines(session, [d.id for d in deadlines])
    return [
        DeadlineRow(deadline=d, owner=queries.deadline_owner(d, incident, duty), held=d.id in held)
        for d in deadlines
    ]


def clock_context(session: Session, incident: Incident) -> dict[str, Any]:
    """The clock's part of the incident page's template context."""
    duty = on_duty(session, utcnow())
    rows = deadline_rows(session, incident, duty)
    open_rows = [row for row in rows if row.open]
    running = [row for row in open_rows if not row.paused]
    playbook = effective_playbook(session, incident.kind)
    names = {rule.key: rule_name(rule.snapshot(business_hours=False, source=""))
             for rule in playbook.rules_for(incident.severity)}
    names.update({row.deadline.rule_key: rule_name(row.deadline.rule) for row in rows})
    open_keys = {row.deadline.rule_key for row in open_rows}
    return {
        "deadline_rows": rows,
        "next_row": (running or open_rows or [None])[0],
        "rule_names": names,
        "checklist": checklist_domain.checklist(session, incident),
        "open_rule_keys": open_keys,
        "recent_updates": session.scalars(
            sa.select(StatusUpdate).where(StatusUpdate.incident_id == incident.id)
            .order_by(StatusUpdate.id.desc()).limit(RECENT_UPDATES)
        ).all(),
        "public_statuses": PUBLIC_STATUSES,
        "on_duty": duty,
        "can_command": may("incident.command"),
        "can_tick": may("incident.tick"),
        "can_publish": may("incident.publish"),
        "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
    }
