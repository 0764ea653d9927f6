"""Sources (with their health, "poll now") and rules: the monitors' settings pages.

Forms post back to the same URL; bad input re-renders the form with the message at the
field (422, nothing saved). The sources table refreshes itself like the board.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from console import allowed_networks, current_actor, htmx
from console.db import get_session
from console.i18n import select_locale
from console.views.caching import conditional
from console.views.monitor_pages import monitor_message, redirect_or_swap
from incidents.errors import InvalidInput
from incidents.lifecycle import Severity
from console.clock import utcnow
from monitors import rulebook, sources

bp = Blueprint("monitor_config", __name__, url_prefix="/monitors")

SOURCE_FORM_FIELDS = ("name", "url", "interval_s", "expected_period_s", "headers", "tags", "enabled")
RULE_FORM_FIELDS = ("name", "brand", "aliases", "negative_terms", "critical_terms", "exclusions", "severity",
                    "enabled", "instant", "volume_enabled", "volume_window_minutes", "volume_k",
                    *rulebook.VOLUME_FIELDS)
CHECKBOXES = ("enabled", "instant", "volume_enabled")


def _form_values(form: MultiDict, fields: tuple[str, ...]) -> dict[str, Any]:
    """The submitted fields; a checkbox follows a hidden "0" so an unticked box still says so."""
    values: dict[str, Any] = {}
    for field in fields:
        if field in CHECKBOXES:
            ticks = form.getlist(field)
            if ticks:
                values[field] = ticks[-1]
        elif field in form:
            values[field] = form.get(field, "")
    return values


# Sources ----------------------------------------------------------------------------------

def source_form_values(source: sources.MonitorSource | None) -> dict[str, str]:
    """A source as its form shows it; header values are masked, never sent back to the browser."""
    if source is None:
        return {"interval_s": str(sources.DEFAULT_INTERVAL), "enabled": "1"}
    return {
        "name": source.name, "url": source.url, "interval_s": str(source.interval_s),
        "expected_period_s": str(source.expected_period_s or ""),
        "headers": "\n".join(f"{name}: {sources.MASK}" for name in source.headers),
        "tags": ", ".join(source.tags), "enabled": "1" if source.enabled else "0",
    }


def _sources_page(status: int = 200, **state: Any) -> Any:
    context = {"sources": sources.list_sources(get_session()), "now": utcnow(), "health": sources.health,
               "poll_seconds": current_app.config["BOARD_POLL_SECONDS"], "values": source_form_values(None),
               "errors": {}, "source": None}
    context.update(state)
    template = "monitors/_source_form.html" if htmx and status >= 400 else "monitors/sources.html"
    return render_template(template, **context), status


@bp.get("/sources")
def source_list() -> Any:
    """Every source with its health; htmx polls the table (304 while nothing changed)."""
    session = get_session()
    fragment = bool(htmx) and htmx.target == "source-list"
    minute = utcnow().strftime("%Y%m%d%H%M")  # "silent" and "next poll" move with the clock
    fingerprint = f"{fragment}|{select_locale()}|{sources.sources_fingerprint(session)}|{minute}"
    if fragment:
        return conditional(fingerprint, lambda: render_template(
            "monitors/_sources.html", sources=sources.list_sources(session), now=utcnow(), health=sources.health,
            poll_seconds=current_app.config["BOARD_POLL_SECONDS"]), vary=("HX-Request", "HX-Target"))
    return conditional(fingerprint, lambda: _sources_page()[0], vary=("HX-Request", "HX-Target"))


@bp.post("/sources")
def source_create() -> Any:
    """Add a source from the form."""
    session = get_session()
    values = _form_values(request.form, SOURCE_FORM_FIELDS)
    try:
        sources.create_source(session, values, allowed_networks=allowed_networks(), actor=current_actor(),
                              now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _sources_page(422, values={**values, "enabled": values.get("enabled", "1")},
                             errors={error.field: monitor_message(error)})
    session.commit()
    return redirect_or_swap(url_for("monitor_config.source_list"))


def _source_edit_page(source: sources.MonitorSource, status: int = 200, **state: Any) -> Any:
    context = {"source": source, "values": source_form_values(source), "errors": {}}
    context.update(state)
    template = "monitors/_source_form.html" if htmx and status >= 400 else "monitors/source_edit.html"
    return render_template(template, **context), status


@bp.get("/sources/<int:source_id>")
def source_edit(source_id: int) -> Any:
    """The edit form of one source."""
    return _source_edit_page(sources.get_source(get_session(), source_id))


@bp.post("/sources/<int:source_id>")
def source_update(source_id: int) -> Any:
    """Save a source's settings."""
    session = get_session()
    source = sources.get_source(session, source_id)
    values = _form_values(request.form, SOURCE_FORM_FIELDS)
    try:
        sources.update_source(session, source, values, allowed_networks=allowed_networks(), actor=current_actor(),
                              now=utcnow())
    except InvalidInput as error:
        session.rollback()
        source = sources.get_source(session, source_id)
        return _source_edit_page(source, 422, values={**source_form_values(source), **values},
                                 errors={error.field: monitor_message(error)})
    session.commit()
    return redirect_or_swap(url_for("monitor_config.source_list"))


@bp.post("/sources/<int:source_id>/delete")
def source_delete(source_id: int) -> Any:
    """Remove a source (its mentions stay)."""
    session = get_session()
    sources.delete_source(session, sources.get_source(session, source_id), actor=current_actor(), now=utcnow())
    session.commit()
    return redirect_or_swap(url_for("monitor_config.source_list"))


@bp.post("/sources/<int:source_id>/poll")
def source_poll(source_id: int) -> Any:
    """"Poll now": the worker takes the source on its next tick; the table shows the result."""
    session = get_session()
    sources.poll_soon(session, sources.get_source(session, source_id), actor=current_actor(), now=utcnow())
    session.commit()
    if htmx:
        return render_template("monitors/_sources.html", sources=sources.list_sources(session), now=utcnow(),
                               health=sources.health, poll_seconds=current_app.config["BOARD_POLL_SECONDS"])
    return redirect(url_for("monitor_config.source_list"), code=303)


# Rules ------------------------------------------------------------------------------------

def rule_form_values(rule: rulebook.MonitorRule | None) -> dict[str, str]:
    """A rule as its form shows it (terms one per line, weights as "term: weight")."""
    if rule is None:
        rule = rulebook.MonitorRule(
            name="", brand="", aliases=[], negative_terms=rulebook.DEFAULT_NEGATIVE_TERMS,
            critical_terms=rulebook.DEFAULT_CRITICAL_TERMS, exclusions=[], severity=Severity.P2, enabled=True,
            instant=True, volume_enabled=True, volume_window_minutes=60, volume_k=3.0,
            **{field: default for field, (_l, _h, default) in rulebook.VOLUME_FIELDS.items()})
    return {
        "name": rule.name, "brand": rule.brand, "aliases": "\n".join(rule.aliases),
        "negative_terms": "\n".join(f"{term}: {weight:g}" for term, weight in rule.negative_terms.items()),
        "critical_terms": "\n".join(rule.critical_terms), "exclusions": "\n".join(rule.exclusions),
        "severity": rule.severity.value, "enabled": "1" if rule.enabled else "0",
        "instant": "1" if rule.instant else "0", "volume_enabled": "1" if rule.volume_enabled else "0",
        "volume_window_minutes": str(rule.volume_window_minutes), "volume_k": f"{rule.volume_k:g}",
        **{field: str(getattr(rule, field)) for field in rulebook.VOLUME_FIELDS},
    }


def _rule_context(**state: Any) -> dict[str, Any]:
    context = {"rules": rulebook.list_rules(get_session()), "values": rule_form_values(None), "errors": {},
               "rule": None, "severities": list(Severity), "windows": rulebook.WINDOW_CHOICES}
    context.update(state)
    return context


@bp.get("/rules")
def rule_list() -> Any:
    """Every rule, and the form to add one (pre-filled with the usual negative and critical terms)."""
    return render_template("monitors/rules.html", **_rule_context())


@bp.post("/rules")
def rule_create() -> Any:
    """Add a rule from the form."""
    session = get_session()
    values = _form_values(request.form, RULE_FORM_FIELDS)
    try:
        rulebook.create_rule(session, values, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        template = "monitors/_rule_form.html" if htmx else "monitors/rules.html"
        return render_template(template, **_rule_context(values={**rule_form_values(None), **values},
                                                         errors={error.field: monitor_message(error)})), 422
    session.commit()
    return redirect_or_swap(url_for("monitor_config.rule_list"))


@bp.get("/rules/<int:rule_id>")
def rule_edit(rule_id: int) -> Any:
    """The edit form of one rule."""
    rule = rulebook.get_rule(get_session(), rule_id)
    return render_template("monitors/rule_edit.html", **_rule_context(rule=rule, values=rule_form_values(rule)))


@bp.post("/rules/<int:rule_id>")
def rule_update(rule_id: int) -> Any:
    """Save a rule."""
    session = get_session()
    rule = rulebook.get_rule(session, rule_id)
    values = _form_values(request.form, RULE_FORM_FIELDS)
    try:
        rulebook.update_rule(session, rule, values, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        rule = rulebook.get_rule(session, rule_id)
        template = "monitors/_rule_form.html" if htmx else "monitors/rule_edit.html"
        return render_template(template, **_rule_context(rule=rule, values={**rule_form_values(rule), **values},
                                                         errors={error.field: monitor_message(error)})), 422
    session.commit()
    return redirect_or_swap(url_for("monitor_config.rule_list"))


@bp.post("/rules/<int:rule_id>/delete")
def rule_delete(rule_id: int) -> Any:
    """Remove a rule (mentions keep the names of the rules they matched)."""
    session = get_session()
    rulebook.delete_rule(session, rulebook.get_rule(session, rule_id), actor=current_actor(), now=utcnow())
    session.commit()
    return redirect_or_swap(url_for("monitor_config.rule_list"))
