"""What each admin revision of a playbook changed: the documents compared number by number.

A revision stores the whole document (incidents.playbooks.change_numbers), so the history
is the difference between each revision and the one before it; the first revision is
compared with what was in force before it (recorded in its audit record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.lifecycle import Kind, Severity
from incidents.models import AuditRecord, PlaybookRevision
from incidents.playbooks import NUMBER_FIELDS, default_document

SEVERITY_ORDER = {severity.value: index for index, severity in enumerate(Severity, start=1)}
FIELD_ORDER = {field: index for index, field in enumerate(NUMBER_FIELDS)}
BUSINESS_HOURS = "business_hours"


@dataclass(frozen=True)
class Change:
    """One number (or the business-hours switch) that differs; None = not set (inherited)."""

    rule: str | None
    severity: str | None
    field: str
    before: Any
    after: Any

    @property
    def key(self) -> str:
        """The name a form or the API uses for this number ("P1.rule.field", "rule.field")."""
        if self.rule is None:
            return self.field
        return ".".join(part for part in (self.severity, self.rule, self.field) if part)


@dataclass(frozen=True)
class RevisionEntry:
    revision: int
    created_at: datetime
    created_by: str
    document: dict[str, Any]
    changes: list[Change]


def _numbers(document: dict[str, Any]) -> dict[tuple[str | None, str | None, str], Any]:
    """Every number of a document, keyed (severity or None, rule key, field)."""
    flat: dict[tuple[str | None, str | None, str], Any] = {}
    for raw in document.get("rules", []):
        for field in NUMBER_FIELDS:
            if raw.get(field) is not None:
                flat[(None, raw["key"], field)] = raw[field]
    for severity, overrides in document.get("severity", {}).items():
        for rule_key, numbers in overrides.items():
            for field, value in numbers.items():
                flat[(severity, rule_key, field)] = value
    flat[(None, None, BUSINESS_HOURS)] = bool(document.get(BUSINESS_HOURS, False))
    return flat


def document_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The numbers that differ between two documents, in the order the editor shows them."""
    old, new = _numbers(before), _numbers(after)
    rule_order = {raw["key"]: index for index, raw in enumerate(after.get("rules", []))}

    def order(key: tuple[str | None, str | None, str]) -> tuple[int, int, int]:
        severity, rule_key, field = key
        if rule_key is None:
            return (-1, 0, 0)
        return (rule_order.get(rule_key, len(rule_order)), SEVERITY_ORDER.get(severity or "", 0),
                FIELD_ORDER.get(field, len(FIELD_ORDER)))

    changes = []
    for key in sorted(set(old) | set(new), key=order):
        if old.get(key) != new.get(key):
            severity, rule_key, field = key
            changes.append(Change(rule=rule_key, severity=severity, field=field, before=old.get(key), after=new.get(key)))
    return changes


def revisions(session: Session, kind: Kind) -> list[PlaybookRevision]:
    """A kind's revisions, newest first."""
    return list(
        session.scalars(
            sa.select(PlaybookRevision).where(PlaybookRevision.kind == kind).order_by(PlaybookRevision.revision.desc())
        )
    )


def _document_before_first(session: Session, kind: Kind) -> dict[str, Any]:
    """What was in force before revision 1: its audit record says; else today's shipped defaults."""
    records = session.scalars(
        sa.select(AuditRecord)
        .where(AuditRecord.action == "playbook.changed", AuditRecord.target_id == kind.value)
        .order_by(AuditRecord.id)
    )
    for record in records:
        if (record.after or {}).get("source") == "revision 1":
            return (record.before or {}).get("document") or default_document(kind)
    return default_document(kind)


def history(session: Session, kind: Kind) -> list[RevisionEntry]:
    """Every revision of a kind's playbook with who saved it, when, and what it changed; newest first."""
    rows = revisions(session, kind)
    entries = []
    for index, row in enumerate(rows):
        previous = rows[index + 1].document if index + 1 < len(rows) else _document_before_first(session, kind)
        entries.append(
            RevisionEntry(
                revision=row.revision,
                created_at=row.created_at,
                created_by=row.created_by_label,
                document=row.document,
                changes=document_changes(previous, row.document),
            )
        )
    return entries


def change_key(field: str) -> str:
    """An error's field in the names change_numbers takes ("rules.x.offset" -> "x.offset")."""
    if field.startswith("rules."):
        return field.removeprefix("rules.")
    if field.startswith("severity.") and field.count(".") >= 3:
        return field.removeprefix("severity.")
    return field
