"""Reading the audit log: filters, keyset pages (newest first) and the whole filtered set in batches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.errors import InvalidInput
from incidents.models import AuditRecord

PAGE_DEFAULT = 50
PAGE_MAX = 200
EXPORT_BATCH = PAGE_MAX


@dataclass(frozen=True)
class AuditFilter:
    """What to show: every field narrows; empty means no narrowing. Times are aware UTC, `until` exclusive."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    request_id: str = ""
    text: str = ""


@dataclass
class AuditPage:
    """One page of records, newest first, and the cursor of the next (older) page, if any."""

    records: list[AuditRecord] = field(default_factory=list)
    next_before: int | None = None


def target_types(session: Session) -> list[str]:
    """Every target type the log holds, for the filter's choices and its validation."""
    return list(session.scalars(sa.select(AuditRecord.target_type).distinct().order_by(AuditRecord.target_type)))


def check_filter(session: Session, wanted: AuditFilter) -> None:
    """Refuse a filter that cannot mean anything: an unknown target type, a range ending before it starts."""
    if wanted.target_type and wanted.target_type not in target_types(session):
        raise InvalidInput("target_type", f"unknown target type {wanted.target_type!r}", reason="audit_target_type")
    if wanted.since and wanted.until and wanted.until <= wanted.since:
        raise InvalidInput("to", "the end of the range is before its start", reason="audit_range")


def _conditions(wanted: AuditFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if wanted.actor:
        by_label = AuditRecord.actor_label.icontains(wanted.actor, autoescape=True)
        conditions.append(sa.or_(by_label, AuditRecord.actor_id == int(wanted.actor))
                          if wanted.actor.isdigit() else by_label)
    if wanted.action:
        # "incident." (a trailing dot) takes every incident action; otherwise the exact action.
        conditions.append(AuditRecord.action.startswith(wanted.action, autoescape=True)
                          if wanted.action.endswith(".") else AuditRecord.action == wanted.action)
    if wanted.target_type:
        conditions.append(AuditRecord.target_type == wanted.target_type)
    if wanted.target_id:
        conditions.append(AuditRecord.target_id == wanted.target_id)
    if wanted.since:
        conditions.append(AuditRecord.at >= wanted.since)
    if wanted.until:
        conditions.append(AuditRecord.at < wanted.until)
    if wanted.request_id:
        conditions.append(AuditRecord.request_id == wanted.request_id)
    if wanted.text:
        conditions.append(_text_condition(wanted.text))
    return conditions


def _text_condition(text: str) -> sa.ColumnElement[bool]:
    # before/after are stored as JSON text with non-ASCII escaped (\uXXXX): look for both spellings.
    escaped = json.dumps(text)[1:-1]
    in_values = [sa.cast(column, sa.Text).contains(spelling, autoescape=True)
                 for column in (AuditRecord.before, AuditRecord.after) for spelling in {text, escaped}]
    return sa.or_(
        AuditRecord.action.icontains(text, autoescape=True),
        AuditRecord.actor_label.icontains(text, autoescape=True),
        AuditRecord.target_id.icontains(text, autoescape=True),
        AuditRecord.ip == text,
        AuditRecord.request_id == text,
        *in_values,
    )


def _select(wanted: AuditFilter) -> sa.Select[tuple[AuditRecord]]:
    return sa.select(AuditRecord).where(*_conditions(wanted)).order_by(AuditRecord.id.desc())


def audit_page(session: Session, wanted: AuditFilter, *, before: int | None = None,
               limit: int = PAGE_DEFAULT) -> AuditPage:
    """Records matching the filter, newest first, older than the record id `before` when given."""
    limit = max(1, min(limit, PAGE_MAX))
    query = _select(wanted)
    if before is not None:
        query = query.where(AuditRecord.id < before)
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(records=rows, next_before=rows[-1].id if more and rows else None)


def all_matching(session: Session, wanted: AuditFilter) -> Iterator[AuditRecord]:
    """Every matching record, newest first, read in keyset batches (for streamed exports)."""
    before: int | None = None
    while True:
        page = audit_page(session, wanted, before=before, limit=EXPORT_BATCH)
        yield from page.records
        if page.next_before is None:
            return
        before = page.next_before
