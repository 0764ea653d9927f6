"""A read-only JSON API shaped like Atlassian Statuspage's public API v2, for existing consumers.

Same field names and enumerations (page block, status.indicator none|minor|major|critical,
incident status and impact, component status, incident_updates[] with body/status/created_at/
display_at), ids as strings. Component groups appear as Statuspage shows them: an entry with
`group: true` listing its members' ids, members pointing back with `group_id`. Texts are in
Chinese unless ?lang=en. Open to any origin for GET; cached like the page.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app

from console.db import get_session
from console.i18n import team_zone
from console.public_cache import cached_answer
from console.views.status_public import localized, page_name, public_locale, public_url, today_start
from incidents import maintenance as maintenance_service
from incidents import public_page
from incidents.components import all_groups
from incidents.public_models import Component, ComponentGroup, Maintenance, MaintenanceStatus
from incidents.public_page import PublicIncident
from incidents.publicity import all_components, public_version, worst

bp = Blueprint("statuspage_v2", __name__, url_prefix="/api/v2")

LIST_LIMIT = 50
PAGE_ID = "crisis-console"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS"}


class _Builder:
    """Serialises the public projection in one language."""

    def __init__(self, locale: str):
        self.locale = locale
        self.session = get_session()
        self.zone = team_zone()
        # Held here: the session's identity map is weak, and every incident names components.
        self.shown = all_components(self.session, shown_only=True)
        self.by_id = {c.id: c for c in self.shown}

    def time(self, value: datetime | None) -> str | None:
        """Statuspage's timestamps: ISO 8601 with milliseconds, in the page's time zone."""
        return value.astimezone(self.zone).isoformat(timespec="milliseconds") if value else None

    def pick(self, zh: str, en: str) -> str:
        return localized(zh, en, self.locale)

    def page(self) -> dict[str, Any]:
        _version, changed_at = public_version(self.session)
        return {"id": PAGE_ID, "name": page_name(), "url": public_url("/status"),
                "time_zone": current_app.config["TIMEZONE"], "updated_at": self.time(changed_at)}

    def component(self, c: Component) -> dict[str, Any]:
        return {
            "id": str(c.id), "name": self.pick(c.name, c.name_en), "status": c.status.value,
            "created_at": self.time(c.created_at), "updated_at": self.time(c.updated_at), "position": c.position,
            "description": self.pick(c.description, c.description_en) or None, "showcase": True,
            "start_date": c.created_at.astimezone(self.zone).date().isoformat(),
            "group_id": f"g{c.group_id}" if c.group_id else None, "page_id": PAGE_ID, "group": False,
            "only_show_if_degraded": False,
        }

    def group(self, g: ComponentGroup, members: list[Component]) -> dict[str, Any]:
        return {
            "id": f"g{g.id}", "name": self.pick(g.name, g.name_en),
            "status": worst([m.status for m in members]).value,
            "created_at": self.time(g.created_at), "updated_at": self.time(g.updated_at), "position": g.position,
            "description": None, "showcase": False, "start_date": None, "group_id": None, "page_id": PAGE_ID,
            "group": True, "only_show_if_degraded": False, "components": [str(m.id) for m in members],
        }

    def components(self) -> list[dict[str, Any]]:
        rows = [self.component(c) for c in self.shown]
        for g in all_groups(self.session):
            members = [c for c in self.shown if c.group_id == g.id]
            if members:
                rows.append(self.group(g, members))
        return rows

    def incident(self, i: PublicIncident) -> dict[str, Any]:
        updates = [{
            "id": str(u.id), "status": u.status.value, "body": self.pick(u.body, u.body_en),
            "incident_id": i.reference, "created_at": self.time(u.at), "updated_at": self.time(u.at),
            "display_at": self.time(u.at),
            "affected_components": [{"code": str(a.id), "name": self.pick(a.name, a.name_en),
                                     "old_status": a.old_status.value, "new_status": a.status.value}
                                    for a in u.components] or None,
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None,
        } for u in i.updates]
        return {
            "id": i.reference, "name": self.pick(i.title, i.title_en), "status": i.status.value,
            "created_at": self.time(i.created_at), "updated_at": self.time(i.updated_at),
            "monitoring_at": self.time(i.monitoring_at), "resolved_at": self.time(i.resolved_at), "impact": i.impact,
            "shortlink": public_url(f"/status/incidents/{i.reference}"), "started_at": self.time(i.created_at),
            "page_id": PAGE_ID, "incident_updates": updates,
            "components": [self.component(self.by_id[a.id]) for a in i.components if a.id in self.by_id],
        }

    def maintenance(self, m: Maintenance) -> dict[str, Any]:
        updates = [{
            "id": f"m{u.id}", "status": u.status.value, "body": self.pick(u.body, u.body_en),
            "incident_id": f"m{m.id}", "created_at": self.time(u.published_at), "updated_at": self.time(u.published_at),
            "display_at": self.time(u.published_at), "affected_components": None,
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None,
        } for u in m.updates]
        return {
            "id": f"m{m.id}", "name": self.pick(m.title, m.title_en), "status": m.status.value,
            "created_at": self.time(m.created_at), "updated_at": self.time(m.updated_at), "monitoring_at": None,
            "resolved_at": self.time(m.completed_at), "impact": "maintenance",
            "shortlink": public_url("/status"), "started_at": self.time(m.started_at or m.scheduled_start),
            "page_id": PAGE_ID, "scheduled_for": self.time(m.scheduled_start),
            "scheduled_until": self.time(m.scheduled_end), "incident_updates": updates,
            "components": [self.component(c) for c in m.components if c.show_on_page],
        }

    def status(self) -> dict[str, Any]:
        state = public_page.overall(all_components(self.session), public_page.active_incidents(self.session),
                                    maintenance_service.upcoming_and_active(self.session))
        return {"indicator": state.indicator, "description": state.description}


def _answer(key: str, build: Any) -> Any:
    locale = public_locale()

    def render() -> tuple[str, str]:
        builder = _Builder(locale)
        body = {"page": builder.page(), **build(builder)}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        # Markup characters as JSON escapes: the same text for consumers, inert if echoed into HTML.
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"), "application/json"

    return cached_answer(("v2", key, locale), render, day_start=today_start(), headers=CORS)


def _maintenances(builder: _Builder, statuses: tuple[MaintenanceStatus, ...] | None) -> list[dict[str, Any]]:
    if statuses is None:
        rows = maintenance_service.recent(builder.session, limit=LIST_LIMIT)
    else:
        rows = [m for m in maintenance_service.upcoming_and_active(builder.session) if m.status in statuses]
    return [builder.maintenance(m) for m in rows]


@bp.get("/summary.json")
def summary() -> Any:
    """Status, components, unresolved incidents, upcoming and active maintenance."""
    return _answer("summary", lambda b: {
        "components": b.components(),
        "incidents": [b.incident(i) for i in public_page.active_incidents(b.session)],
        "scheduled_maintenances": _maintenances(b, (*maintenance_service.UPCOMING, *maintenance_service.ACTIVE)),
        "status": b.status(),
    })


@bp.get("/status.json")
def status() -> Any:
    """The overall indicator and its description."""
    return _answer("status", lambda b: {"status": b.status()})


@bp.get("/components.json")
def components() -> Any:
    """Every shown component (and group)."""
    return _answer("components", lambda b: {"components": b.components()})


@bp.get("/incidents.json")
def incidents() -> Any:
    """The 50 most recent public incidents, any status."""
    return _answer("incidents", lambda b: {
        "incidents": [b.incident(i) for i in public_page.recent_incidents(b.session, limit=LIST_LIMIT)]})


@bp.get("/incidents/unresolved.json")
def unresolved() -> Any:
    """Public incidents not yet resolved."""
    return _answer("unresolved", lambda b: {
        "incidents": [b.incident(i) for i in public_page.active_incidents(b.session)]})


@bp.get("/scheduled-maintenances.json")
def maintenances() -> Any:
    """The 50 most recent maintenance windows, any status."""
    return _answer("maintenances", lambda b: {"scheduled_maintenances": _maintenances(b, None)})


@bp.get("/scheduled-maintenances/upcoming.json")
def upcoming() -> Any:
    """Windows not started yet."""
    return _answer("upcoming", lambda b: {"scheduled_maintenances": _maintenances(b, maintenance_service.UPCOMING)})


@bp.get("/scheduled-maintenances/active.json")
def active() -> Any:
    """Windows in progress or being verified."""
    return _answer("active", lambda b: {"scheduled_maintenances": _maintenances(b, maintenance_service.ACTIVE)})
