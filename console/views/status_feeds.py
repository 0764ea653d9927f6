"""Atom and RSS feeds of the public history, and an Atom feed per public incident.

Built from incidents.public_page like the page, cached the same way. Texts are escaped by
the templates; characters XML forbids (control characters) are dropped so readers never
see a broken feed.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import force_locale
from flask_babel import format_datetime as local_time
from markupsafe import Markup

from console.db import get_session
from console.labels import STATUS_LABELS
from console.public_labels import MAINTENANCE_STATUS_LABELS
from console.public_cache import cached_answer
from console.views.status_public import localized, page_name, public_locale, public_url, today_start
from incidents import maintenance as maintenance_service
from incidents import public_page
from incidents.errors import NotFound
from incidents.public_models import Maintenance
from console.clock import utcnow

bp = Blueprint("status_feeds", __name__)

FEED_ENTRIES = 50
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value: Any) -> str:
    """Text safe to put in XML 1.0 (escaping is the template's job)."""
    return _XML_ILLEGAL.sub("", str(value))


def _entries(locale: str) -> list[dict[str, Any]]:
    """Incidents and maintenance windows, newest change first, each with all its updates."""
    session = get_session()

    def pick(zh: str, en: str) -> str:
        return xml_text(localized(zh, en, locale))

    entries = []
    for incident in public_page.recent_incidents(session, limit=FEED_ENTRIES):
        entries.append({
            "id": public_url(f"/status/incidents/{incident.reference}"),
            "link": public_url(f"/status/incidents/{incident.reference}"),
            "title": pick(incident.title, incident.title_en),
            "published": incident.created_at, "updated": incident.updated_at,
            "content": _content([(u.at, str(_status_name(u.status)), pick(u.body, u.body_en))
                                 for u in incident.updates]),
        })
    for window in maintenance_service.recent(session, limit=FEED_ENTRIES):
        entries.append(_maintenance_entry(window, pick))
    entries.sort(key=lambda e: e["updated"], reverse=True)
    return entries[:FEED_ENTRIES]


def _status_name(status: Any) -> str:
    return str(STATUS_LABELS[status])


def _maintenance_entry(window: Maintenance, pick: Any) -> dict[str, Any]:
    updates = window.updates
    return {
        "id": public_url(f"/status#maintenance-{window.id}"),
        "link": public_url("/status"),
        "title": pick(window.title, window.title_en),
        "published": window.created_at,
        "updated": updates[0].published_at if updates else window.updated_at,
        "content": _content([(u.published_at, str(MAINTENANCE_STATUS_LABELS[u.status]), pick(u.body, u.body_en))
                             for u in updates]),
    }


def _content(updates: list[tuple[datetime, str, str]]) -> str:
    """The entry's HTML: one paragraph per update, newest first; every text escaped here."""
    return "".join(
        str(Markup("<p><strong>{}</strong> ({})<br>{}</p>").format(status, local_time(at, "yyyy-MM-dd HH:mm ZZZZ"), text))
        for at, status, text in updates
    )


def _feed(key: tuple, template: str, mimetype: str, build: Any) -> Any:
    locale = public_locale()

    def render() -> tuple[str, str]:
        with force_locale(locale):
            xml = render_template(template, name=xml_text(page_name()), locale=locale, public_url=public_url, now_utc=utcnow(),
                                  rfc822=lambda d: format_datetime(d, usegmt=True), **build(locale))
        return xml, mimetype

    return cached_answer((*key, locale), render, day_start=today_start())


@bp.get("/history.atom")
def history_atom() -> Any:
    """All public incidents and maintenance, newest first (Atom 1.0)."""
    return _feed(("atom",), "public/feed.atom.xml", "application/atom+xml",
                 lambda locale: {"entries": _entries(locale), "self_path": "/history.atom"})


@bp.get("/history.rss")
def history_rss() -> Any:
    """The same history as RSS 2.0."""
    return _feed(("rss",), "public/feed.rss.xml", "application/rss+xml",
                 lambda locale: {"entries": _entries(locale), "self_path": "/history.rss"})


@bp.get("/status/incidents/<reference>.atom")
def incident_atom(reference: str) -> Any:
    """One public incident, an entry per update (Atom 1.0)."""
    if len(reference) > 40:
        abort(404)

    def build(locale: str) -> dict[str, Any]:
        try:
            incident = public_page.public_incident(get_session(), reference)
        except NotFound:
            abort(404)
        link = public_url(f"/status/incidents/{incident.reference}")
        title = xml_text(localized(incident.title, incident.title_en, locale))
        entries = [{
            "id": f"{link}#update-{u.id}", "link": link, "title": f"{title} · {_status_name(u.status)}",
            "published": u.at, "updated": u.at,
            "content": _content([(u.at, _status_name(u.status), xml_text(localized(u.body, u.body_en, locale)))]),
        } for u in incident.updates]
        return {"entries": entries, "self_path": f"/status/incidents/{incident.reference}.atom",
                "feed_title": title}

    return _feed(("incident-atom", reference), "public/feed.atom.xml", "application/atom+xml", build)
