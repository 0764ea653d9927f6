"""The public status page (no login): overall state, components, incidents, maintenance, history.

Chinese by default, English with ?lang=en (or the language cookie). Every answer comes from
the public cache (console.public_cache) and is built only from incidents.public_page, so only
what was published can appear.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import force_locale, gettext
from markupsafe import Markup

from console.db import get_session
from console.i18n import select_locale, team_zone
from console.labels import STATUS_LABELS
from console.public_cache import LANG_ARGS, cached_answer
from console.public_labels import COMPONENT_STATUS_LABELS, IMPACT_LABELS, MAINTENANCE_STATUS_LABELS, OVERALL_LABELS
from incidents import maintenance as maintenance_service
from incidents import public_page
from incidents.components import Run, all_groups, components_signature, history, runs
from incidents.errors import NotFound
from incidents.public_models import ComponentStatus
from incidents.publicity import all_components
from console.clock import utcnow

bp = Blueprint("status", __name__)

HISTORY_PAGE_SIZE = 20
# Updates shown per ongoing incident on the main page; the incident's own page shows all.
THREAD_LIMIT = 10
HISTORY_PAGES_MAX = 500


def public_locale() -> str:
    """?lang=en|zh first (a link anyone can share), else the console's choice (user, cookie, default)."""
    chosen = LANG_ARGS.get(request.args.get("lang", ""))
    return chosen or select_locale()


def today_start() -> datetime:
    """Midnight of today in the team's zone: the 90-day bars move on at that moment."""
    local = utcnow().astimezone(team_zone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def localized(zh: str, en: str, locale: str) -> str:
    """The English text when English is asked for and there is one, else the Chinese."""
    return en if locale == "en" and en else zh


def page_name() -> str:
    """The page's name: configured, else "Service status" in the reader's language."""
    return current_app.config.get("STATUS_PAGE_NAME") or gettext("Service status")


def _resolved_labels() -> dict[str, dict[Any, str]]:
    """The label tables as plain strings: translated once per render, not once per bar."""
    tables = {"COMPONENT_STATUS_LABELS": COMPONENT_STATUS_LABELS, "MAINTENANCE_STATUS_LABELS": MAINTENANCE_STATUS_LABELS,
              "OVERALL_LABELS": OVERALL_LABELS, "IMPACT_LABELS": IMPACT_LABELS, "STATUS_LABELS": STATUS_LABELS}
    return {name: {key: str(label) for key, label in table.items()} for name, table in tables.items()}


def _render(template: str, locale: str, **context: Any) -> tuple[str, str]:
    with force_locale(locale):
        zone = team_zone()
        offset = utcnow().astimezone(zone).strftime("%z")
        html = render_template(
            template, locale=locale, lang_arg="en" if locale == "en" else "zh",
            other_lang=("zh", "简体中文") if locale == "en" else ("en", "English"),
            pick=lambda zh, en: localized(zh, en, locale), page_name=page_name(),
            zone_label=f"{zone.key} (UTC{offset[:3]}:{offset[3:]})", full=False, thread_limit=THREAD_LIMIT,
            **_resolved_labels(), **context,
        )
    return html, "text/html"


def page(key: tuple, template: str, build: Any) -> Any:
    """A cached public HTML page rendered in the reader's language."""
    locale = public_locale()

    def render() -> tuple[str, str]:
        return _render(template, locale, **build(locale))

    return cached_answer((*key, locale), render, day_start=today_start())


@bp.get("/status")
def index() -> Any:
    """The public page: state, components with 90 days, ongoing incidents, maintenance ahead."""

    def build(locale: str) -> dict[str, Any]:
        session = get_session()
        components = all_components(session, shown_only=True)
        incidents = public_page.active_incidents(session)
        windows = maintenance_service.upcoming_and_active(session)
        return {
            "overall": public_page.overall(components, incidents, windows),
            "components_html": _components_section(session, components, locale),
            "incidents": incidents,
            "maintenances": windows,
            "recent": public_page.past_incidents(session, limit=5),
        }

    return page(("index",), "public/index.html", build)


def _components_section(session: Any, components: list[Any], locale: str) -> Markup:
    """The components with their 90-day bars: the page's heaviest part, so it is kept apart
    and rendered again only when a component, a group or a status moved (or the day turned);
    a text-only update re-renders the rest of the page around it."""
    day = today_start()
    key = ("components-section", locale, day.date().isoformat(), *components_signature(session))
    cache = current_app.extensions["public_cache"]
    html = cache.peek(key)
    if html is None:
        groups = [(g, [c for c in components if c.group_id == g.id]) for g in all_groups(session)]
        bars = history(session, components, now=utcnow(), zone=team_zone())
        with force_locale(locale):
            labels = {status: str(label) for status, label in COMPONENT_STATUS_LABELS.items()}
        html = Markup(_render("public/_components.html", locale,
                              groups=[(g, members) for g, members in groups if members],
                              ungrouped=[c for c in components if c.group_id is None],
                              bars={cid: bar_markup(runs(days), labels) for cid, days in bars.items()})[0])
        cache.put(key, html)
    return html


def bar_markup(stretches: list[Run], labels: dict[ComponentStatus, str]) -> Markup:
    """One span per run of equal days (the stylesheet draws the day ticks); only runs with
    something to say carry a tooltip. Built here rather than in Jinja: a busy 90 days is
    thousands of spans, and this is the part a moving component makes the page redraw."""
    parts = []
    for run in stretches:
        status = run.status.value if run.status else "none"
        if run.status in (None, ComponentStatus.OPERATIONAL):
            parts.append(f'<span class="d-{status} w{run.days}"></span>')
            continue
        days = run.first.isoformat() + (f" – {run.last.isoformat()}" if run.days > 1 else "")
        parts.append(Markup('<span class="d-{} w{}" title="{} · {}"></span>').format(
            status, run.days, days, labels[run.status]))
    return Markup("".join(parts))


@bp.get("/status/history")
def past() -> Any:
    """Resolved incidents, newest first, 20 a page."""
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), HISTORY_PAGES_MAX)

    def build(_locale: str) -> dict[str, Any]:
        session = get_session()
        total = public_page.count_past_incidents(session)
        pages = max(1, math.ceil(total / HISTORY_PAGE_SIZE))
        if number > pages:
            abort(404)
        return {
            "incidents": public_page.past_incidents(session, limit=HISTORY_PAGE_SIZE,
                                                    offset=(number - 1) * HISTORY_PAGE_SIZE),
            "page": number, "pages": pages,
            "maintenances": [m for m in maintenance_service.recent(session, limit=20)
                             if m.status == maintenance_service.MaintenanceStatus.COMPLETED],
        }

    return page(("history", number), "public/history.html", build)


@bp.get("/status/incidents/<reference>")
def incident(reference: str) -> Any:
    """One public incident with all its updates."""
    if len(reference) > 40:
        abort(404)

    def build(_locale: str) -> dict[str, Any]:
        try:
            found = public_page.public_incident(get_session(), reference)
        except NotFound:
            abort(404)
        return {"incident": found}

    return page(("incident", reference), "public/incident.html", build)


def public_url(path: str) -> str:
    """An absolute public address (feeds and the API name the page as others reach it)."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


@bp.errorhandler(404)
def not_found(_error: Any) -> Any:
    """A missing or non-public page keeps the public look (no console chrome, no login link)."""
    html, _ = _render("public/error.html", public_locale(), status=404)
    return html, 404
