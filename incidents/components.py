"""Components and their groups: what customers see as the parts of the service, and their status.

A component's public `status` is derived, never typed in: the worst of what an admin set by
hand (`base_status`), what the active public incidents say about it, and maintenance in
progress. `refresh_statuses` recomputes it after every change that could move it and appends a
ComponentStatusChange when it moved, which is what the 90-day bars are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents import lookup
from incidents.errors import InvalidInput, NotFound
from incidents.public_models import (
    SEVERITY_RANK,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
)
from incidents.publicity import mark_public_change, refresh_statuses
from incidents.service import clean_text
from incidents.timeutil import ensure_aware

NAME_MAX = 100
DESCRIPTION_MAX = 500
POSITION_MAX = 10_000
HISTORY_DAYS = 90
BY_RANK = {rank: status for status, rank in SEVERITY_RANK.items()}


def component_status(value: Any, field: str = "status") -> ComponentStatus:
    """A component status from input, or InvalidInput naming the field."""
    try:
        return ComponentStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in ComponentStatus)
        raise InvalidInput(field, f"unknown component status {value!r}; expected one of {allowed}",
                           reason="choice", allowed=allowed) from None


def _position(value: Any) -> int:
    if value in (None, ""):
        return 0
    try:
        if isinstance(value, (bool, float)):  # true is not position 1, nor 1.5 position 1
            raise TypeError(value)
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("position", "position must be a whole number", reason="position_range",
                           max=POSITION_MAX) from None
    if not 0 <= number <= POSITION_MAX:
        raise InvalidInput("position", f"position must be between 0 and {POSITION_MAX}", reason="position_range",
                           max=POSITION_MAX)
    return number


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidInput(field, f"{field} must be true or false", reason="invalid")


def get_group(session: Session, group_id: int) -> ComponentGroup:
    group = session.get(ComponentGroup, group_id)
    if group is None:
        raise NotFound(f"no component group {group_id}")
    return group


def get_component(session: Session, component_id: int) -> Component:
    component = session.get(Component, component_id)
    if component is None:
        raise NotFound(f"no component {component_id}")
    return component


def all_groups(session: Session) -> list[ComponentGroup]:
    return list(session.scalars(sa.select(ComponentGroup).order_by(ComponentGroup.position, ComponentGroup.id)))


def _group_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": clean_text(data.get("name"), field="name", max_length=NAME_MAX, required=True),
        "name_en": clean_text(data.get("name_en"), field="name_en", max_length=NAME_MAX, required=False),
        "position": _position(data.get("position")),
    }


def save_group(
    session: Session, *, data: dict[str, Any], actor: Actor, now: datetime, group: ComponentGroup | None = None,
) -> ComponentGroup:
    """Create a group, or change one when `group` is given; audited, the page version bumped."""
    now = ensure_aware(now)
    fields = _group_fields(data)
    before = _snapshot(group, fields) if group else {}
    if group is None:
        group = ComponentGroup(created_at=now, updated_at=now, **fields)
        session.add(group)
    else:
        for key, value in fields.items():
            setattr(group, key, value)
        group.updated_at = now
    session.flush()
    record_audit(session, actor=actor, now=now, action="component_group.saved", target_type="component_group",
                 target_id=group.id, before=before, after=_snapshot(group, fields))
    mark_public_change(session, now=now)
    return group


def _snapshot(row: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {key: getattr(getattr(row, key), "value", getattr(row, key)) for key in fields}


def _component_fields(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    group_id = data.get("group_id")
    if group_id in ("", None):
        group_id = None
    else:
        raw, group_id = group_id, lookup.row_id(group_id)
        if group_id is None:
            raise InvalidInput("group_id", f"group must be a group's id, not {raw!r}", reason="unknown_group")
        if session.get(ComponentGroup, group_id) is None:
            raise InvalidInput("group_id", f"no component group {group_id}", reason="unknown_group")
    return {
        "name": clean_text(data.get("name"), field="name", max_length=NAME_MAX, required=True),
        "name_en": clean_text(data.get("name_en"), field="name_en", max_length=NAME_MAX, required=False),
        "description": clean_text(data.get("description"), field="description", max_length=DESCRIPTION_MAX,
                                  required=False),
        "description_en": clean_text(data.get("description_en"), field="description_en",
                                     max_length=DESCRIPTION_MAX, required=False),
        "group_id": group_id,
        "position": _position(data.get("position")),
        "base_status": component_status(data.get("base_status") or ComponentStatus.OPERATIONAL, "base_status"),
        "show_on_page": _bool(data.get("show_on_page", True), "show_on_page"),
    }


def save_component(
    session: Session, *, data: dict[str, Any], actor: Actor, now: datetime, component: Component | None = None,
) -> Component:
    """Create a component, or change one when `component` is given; its public status follows."""
    now = ensure_aware(now)
    fields = _component_fields(session, data)
    before = _snapshot(component, fields) if component else {}
    if component is None:
        component = Component(created_at=now, updated_at=now, status=fields["base_status"], **fields)
        session.add(component)
        session.flush()
        session.add(ComponentStatusChange(component_id=component.id, at=now, status=component.status))
    else:
        for key, value in fields.items():
            setattr(component, key, value)
        component.updated_at = now
    session.flush()
    record_audit(session, actor=actor, now=now, action="component.saved", target_type="component",
                 target_id=component.id, before=before, after=_snapshot(component, fields))
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
    return component


def components_signature(session: Session) -> tuple[Any, ...]:
    """A cheap value that changes whenever the components' names, order or statuses change."""
    changes = session.execute(sa.select(sa.func.max(ComponentStatusChange.id))).scalar()
    components = session.execute(sa.select(sa.func.count(Component.id), sa.func.max(Component.updated_at))).one()
    groups = session.execute(sa.select(sa.func.count(ComponentGroup.id), sa.func.max(ComponentGroup.updated_at))).one()
    return (changes, *components, *groups)


@dataclass(frozen=True)
class Day:
    """One bar of a component's history: the worst status it had that day (None: no data)."""

    day: date
    status: ComponentStatus | None


@dataclass(frozen=True)
class Run:
    """Consecutive days with the same worst status: one stretch of a component's bar."""

    first: date
    last: date
    status: ComponentStatus | None
    days: int


def runs(bars: list[Day]) -> list[Run]:
    """The bars merged into runs of equal status (a 90-day bar is usually a handful of runs)."""
    merged: list[Run] = []
    for bar in bars:
        if merged and merged[-1].status == bar.status:
            last = merged[-1]
            merged[-1] = Run(last.first, bar.day, last.status, last.days + 1)
        else:
            merged.append(Run(bar.day, bar.day, bar.status, 1))
    return merged


def history(
    session: Session, components: list[Component], *, now: datetime, zone: ZoneInfo, days: int = HISTORY_DAYS,
) -> dict[int, list[Day]]:
    """Per component, `days` bars ending today (team zone), each the worst status of that day."""
    today = ensure_aware(now).astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    window_start = datetime.combine(first_day, datetime.min.time(), zone)
    ids = [c.id for c in components]
    changes: dict[int, list[tuple[datetime, ComponentStatus]]] = {i: [] for i in ids}
    # The last change before the window says what each day started with.
    before = (
        sa.select(ComponentStatusChange.component_id, sa.func.max(ComponentStatusChange.id).label("id"))
        .where(ComponentStatusChange.component_id.in_(ids), ComponentStatusChange.at < window_start)
        .group_by(ComponentStatusChange.component_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.status)
        .where(sa.or_(
            ComponentStatusChange.id.in_(sa.select(before.c.id)),
            sa.and_(ComponentStatusChange.component_id.in_(ids), ComponentStatusChange.at >= window_start),
        ))
        .order_by(ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.id)
    )
    for component_id, at, status in rows:
        changes[component_id].append((at, status))
    return {cid: _bars(changes[cid], first_day=first_day, today=today, zone=zone) for cid in ids}


def _bars(changes: list[tuple[datetime, ComponentStatus]], *, first_day: date, today: date,
          zone: ZoneInfo) -> list[Day]:
    count = (today - first_day).days + 1
    ranks = [-1] * count  # -1: no data that day
    local_days = [at.astimezone(zone).date() for at, _status in changes]
    for index, (at, status) in enumerate(changes):
        start = max(local_days[index], first_day)
        if index + 1 < len(changes):
            # A status held until the next change; a change at midnight does not colour the day before.
            end = (changes[index + 1][0] - timedelta(microseconds=1)).astimezone(zone).date()
            if end < first_day:
                continue
            end = max(end, start)
        else:
            end = today
        rank = SEVERITY_RANK[status]
        for offset in range((start - first_day).days, min((end - first_day).days, count - 1) + 1):
            if ranks[offset] < rank:
                ranks[offset] = rank
    return [Day(first_day + timedelta(days=i), BY_RANK[r] if r >= 0 else None) for i, r in enumerate(ranks)]
