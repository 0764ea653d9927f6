"""The mention inbox (live, filtered; dismiss, attach, raise) and the incident page's mention panel."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from console import current_actor, htmx
from console.permissions import role_may
from console.db import get_session
from console.i18n import message_for, select_locale, team_zone
from console.views.caching import conditional
from incidents import service
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity
from incidents.models import Incident
from incidents.monitor_models import Mention, MentionState
from console.clock import utcnow
from monitors import mentions, rulebook, sources

bp = Blueprint("monitors", __name__, url_prefix="/monitors")

# Validation reasons of the monitors' domain, in the reader's language.
REASONS = {
    "number": _l("Enter a whole number."),
    "range": _l("Enter a number from %(low)s to %(high)s."),
    "bad_url": _l("Enter a full address starting with http:// or https://."),
    "url_credentials": _l("Put user names and passwords in a header, not in the address."),
    "taken": _l("This name is already used."),
    "header_line": _l("Write one header per line as “Name: value”."),
    "header_name": _l("This is not a valid header name."),
    "header_reserved": _l("The console sets this header itself."),
    "header_value": _l("Each header value must be one line; type masked values again for new headers."),
    "too_many": _l("At most %(max)s entries."),
    "term_too_long": _l("A term is at most %(max)s characters."),
    "term_empty": _l("A term must contain visible characters."),
    "weight": _l("A weight must be a number above 0 and at most 100 (e.g. “退款: 2”)."),
    "mention_state": _l("Only a new mention can be dismissed."),
    "mention_elsewhere": _l("This mention already belongs to another incident."),
    "no_incident": _l("There is no incident %(reference)s."),
    "incident_closed": _l("This incident is closed; attach the mention to an open one."),
}
STATE_LABELS = {
    MentionState.NEW: _l("New"),
    MentionState.DISMISSED: _l("Dismissed"),
    MentionState.ATTACHED: _l("Attached"),
    MentionState.RAISED: _l("Raised an incident"),
}
PLATFORM_LABELS = {
    "weibo": _l("Weibo"), "douyin": _l("Douyin"), "xiaohongshu": _l("Xiaohongshu"), "zhihu": _l("Zhihu"),
    "bilibili": _l("Bilibili"), "tieba": _l("Baidu Tieba"), "heimao": _l("Heimao complaints"),
    "kuaishou": _l("Kuaishou"), "toutiao": _l("Toutiao"), "wechat": _l("WeChat"),
}
RISK_LABELS = {
    mentions.RiskLevel.CRITICAL: _l("Critical risk"),
    mentions.RiskLevel.HIGH: _l("High risk"),
    mentions.RiskLevel.MEDIUM: _l("Medium risk"),
    mentions.RiskLevel.LOW: _l("Low risk"),
}
ORDER_LABELS = {"risk": _l("Highest risk first"), "newest": _l("Newest first")}
# The inbox before the reader chooses anything: what a rule matched, the riskiest first.
TRIAGE_VIEW = mentions.InboxFilter(matched_only=True, order="risk")
CHART_HOURS_MAX = 48
# Why a source failed, from the poller's error code, in the reader's language.
SOURCE_ERRORS = {
    "unsafe_url": _l("Refused: the address is private or not allowed"),
    "connect_timeout": _l("Timed out connecting to the server"),
    "read_timeout": _l("The server did not answer in time"),
    "deadline": _l("The download took too long and was stopped"),
    "tls": _l("The server's HTTPS certificate could not be verified"),
    "connection": _l("Could not connect, or the connection broke"),
    "too_large": _l("The feed is larger than the size limit"),
    "redirect_loop": _l("The server's redirects go round in circles"),
    "too_many_redirects": _l("The server redirects too many times"),
    "broken_feed": _l("The answer is not a readable RSS or Atom feed"),
    "internal": _l("Storing this poll failed on our side; it will be retried"),
    "http_401": _l("Access denied: the login cookie or token may have expired"),
    "http_403": _l("Access denied: the login cookie may have expired, or the site blocks us"),
    "http_404": _l("Not found: check the URL"),
    "http_410": _l("Removed for good: consider disabling this source"),
    "http_429": _l("The server asks us to slow down"),
}


def source_error_label(code: str | None) -> str:
    """A source's last error in words for the reader; "" when there is no known code."""
    if not code:
        return ""
    if code in SOURCE_ERRORS:
        return str(SOURCE_ERRORS[code])
    if code.startswith("http_") and code[5:].isdigit():
        status = int(code[5:])
        template = _l("The server had a problem (HTTP %(status)s)") if status >= 500 else _l(
            "Unexpected answer from the server (HTTP %(status)s)")
        return str(template) % {"status": status}
    return ""


def monitor_message(error: InvalidInput) -> str:
    """A monitors validation error in the reader's language (falls back to the shared reasons)."""
    return message_for(error, REASONS)


@bp.app_context_processor
def _monitor_labels() -> dict[str, Any]:
    return {"MENTION_STATE_LABELS": STATE_LABELS, "PLATFORM_LABELS": PLATFORM_LABELS,
            "RISK_LABELS": RISK_LABELS, "mention_risk": mentions.risk_level,
            "incident_mention_panel": incident_mention_panel, "monitor_may": monitor_may,
            "source_error_label": source_error_label}


def monitor_may(permission: str) -> bool:
    """Whether the signed-in person's role holds `permission` (to offer only the buttons that work)."""
    return bool(getattr(current_user, "is_authenticated", False)) and role_may(current_user.role, permission)


def _inbox_context(chosen: mentions.InboxFilter, filter_error: InvalidInput | None = None) -> dict[str, Any]:
    session = get_session()
    found = mentions.inbox(session, chosen)
    return {
        "mentions": found,
        "chosen": chosen,
        "filter_error": monitor_message(filter_error) if filter_error else None,
        "sources": sources.list_sources(session),
        "rules": rulebook.list_rules(session),
        "states": list(MentionState),
        "orders": ORDER_LABELS,
        "severities": list(Severity),
        "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
        "older": found[-1].id if len(found) == mentions.INBOX_LIMIT else None,
        "errors": {},
    }


@bp.get("/mentions")
def inbox() -> Any:
    """The mention inbox (by default what a rule matched, the riskiest first); htmx polls the
    list fragment, answered 304 while nothing changed."""
    try:
        chosen, filter_error = mentions.parse_inbox_filter(request.args, defaults=TRIAGE_VIEW), None
    except InvalidInput as error:
        chosen, filter_error = mentions.parse_inbox_filter(MultiDict(), defaults=TRIAGE_VIEW), error
    fragment = bool(htmx) and htmx.target == "mention-list"
    fingerprint = (f"{fragment}|{select_locale()}|{chosen.cache_key()}|"
                   f"{mentions.inbox_fingerprint(get_session())}")

    def render() -> str:
        template = "monitors/_mentions.html" if fragment else "monitors/mentions.html"
        return render_template(template, **_inbox_context(chosen, filter_error))

    return conditional(fingerprint, render, status=422 if filter_error else 200, vary=("HX-Request", "HX-Target"))


def _mention_answer(mention: Mention, status: int = 200, error: str | None = None) -> Any:
    """The changed mention for htmx (its card), else back to the inbox."""
    if not htmx and status < 300:
        return redirect(request.referrer or url_for("monitors.inbox"), code=303)
    if not htmx:
        return render_template("errors/error.html", status=status, message=error), status
    response = make_response(render_template("monitors/_mention.html", mention=mention, error=error,
                                             severities=list(Severity)), status)
    response.vary.add("HX-Request")
    return response


@bp.post("/mentions/<int:mention_id>/dismiss")
def dismiss(mention_id: int) -> Any:
    """Set a mention aside; it never comes back."""
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    try:
        mentions.dismiss_mention(session, mention, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _mention_answer(mentions.get_mention(session, mention_id), 422, monitor_message(error))
    session.commit()
    return _mention_answer(mention)


@bp.post("/mentions/<int:mention_id>/attach")
def attach(mention_id: int) -> Any:
    """Attach a mention to an incident named by its reference."""
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    try:
        mentions.attach_to_reference(session, mention, request.form.get("incident", ""), actor=current_actor(),
                                     now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _mention_answer(mentions.get_mention(session, mention_id), 422, monitor_message(error))
    session.commit()
    return _mention_answer(mention)


@bp.post("/mentions/<int:mention_id>/raise")
def raise_incident(mention_id: int) -> Any:
    """Open a public-opinion incident from a mention, then go to it."""
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    try:
        incident = mentions.raise_from_mention(
            session, mention, severity=request.form.get("severity") or "P2", title=request.form.get("title", ""),
            actor=current_actor(), now=utcnow(), zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _mention_answer(mentions.get_mention(session, mention_id), 422, monitor_message(error))
    session.commit()
    return redirect_or_swap(url_for("incidents.show", reference=incident.reference))


def redirect_or_swap(target: str) -> Any:
    """Go to `target`: HX-Redirect for htmx, a 303 for a plain form."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def incident_mention_panel(incident: Incident) -> dict[str, Any]:
    """What the incident page's mention panel shows: the mentions, and their count per hour."""
    session = get_session()
    attached = mentions.incident_mentions(session, incident)
    now = utcnow()
    first = min([m.at for m in attached] + [incident.opened_at])
    hours = max(6, min(CHART_HOURS_MAX, mentions.hours_between(first, now)))
    series = mentions.count_over_time(attached, hours=hours, now=now)
    peak = max([count for _, count in series] + [1])
    return {
        "show": bool(attached) or incident.kind == Kind.PUBLIC_OPINION,
        "mentions": attached[:50],
        "total": len(attached),
        "series": series,
        "peak": peak,
        "last_hour": series[-1][1] if series else 0,
    }


@bp.get("/incidents/<reference>/mentions")
def incident_mentions(reference: str) -> Any:
    """The incident's mention panel, polled by the incident page."""
    session = get_session()
    incident = service.get_incident(session, reference)
    latest = session.scalar(sa.select(sa.func.max(Mention.updated_at)).where(Mention.incident_id == incident.id))
    hour = utcnow().strftime("%Y%m%d%H")  # the chart's hours move on even when nothing else does
    fingerprint = f"panel|{select_locale()}|{incident.id}|{latest}|{hour}"
    return conditional(fingerprint, lambda: render_template("monitors/_incident_mentions.html", incident=incident))
