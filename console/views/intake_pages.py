"""Pages for inbound signals: recent complaints, and the admin page for surge rules and alert mappings.

Each form answers htmx with its own fragment (422 with the message at the field on bad
input, nothing saved) and a plain post with a 303 back to the page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, team_zone
from incidents.errors import InvalidInput
from incidents.lifecycle import Severity
from console.clock import utcnow
from monitors import alert_intake, complaints

bp = Blueprint("intake", __name__)

CATEGORY_LABELS = {
    "quality": _l("Quality"),
    "logistics": _l("Logistics"),
    "service": _l("Service attitude"),
    "billing": _l("Price and refunds"),
    "other": _l("Other"),
}
CHANNEL_LABELS = {
    "hotline": _l("Hotline"),
    "online_chat": _l("Online chat"),
    "email": _l("E-mail"),
    "app": _l("App"),
    "social": _l("Social media"),
    "marketplace": _l("Marketplace"),
    "regulator": _l("Regulator (12315)"),
    "store": _l("Store"),
    "other": _l("Other"),
}
# Messages for this area's validation reasons, in the reader's language.
REASONS = {
    "range": _l("Enter a whole number from %(low)s to %(high)s."),
    "rule_exists": _l("A rule for this product and category already exists."),
    "selector": _l("Each line needs a label value or a name=value selector."),
    "bad_level": _l("“%(selector)s”: the severity must be one of P1, P2, P3, P4."),
    "bad_components": _l("“%(selector)s”: component names are 1–100 characters, separated by commas."),
    "no_components": _l("“%(selector)s”: name the components after the colon."),
    "too_many": _l("At most %(max)s lines."),
    "line": _l("Line %(line)s: write “selector: value”."),
}


@bp.app_context_processor
def intake_labels() -> dict[str, Any]:
    """Complaint categories and channels by name, for these pages and incident timelines."""
    return {"CATEGORY_LABELS": CATEGORY_LABELS, "CHANNEL_LABELS": CHANNEL_LABELS}


def _message(error: InvalidInput) -> str:
    return message_for(error, REASONS)


def _answer(template: str, fragment: str, status: int = 200, **context: Any) -> Any:
    """The fragment for htmx, the whole page otherwise."""
    page = _settings_context() if template == "intake/settings.html" else {}
    page.update(context)
    response = make_response(render_template(fragment if htmx else template, **page), status)
    response.vary.add("HX-Request")
    return response


@bp.get("/complaints")
def complaints_page() -> Any:
    """Recent complaints, and today's count per product and category against its rule."""
    session = get_session()
    product = request.args.get("product", "").strip()[: complaints.PRODUCT_MAX]
    category = request.args.get("category", "")
    if category not in complaints.CATEGORIES:
        category = ""
    rules = complaints.list_rules(session)
    today = []
    for row_product, row_category, count in complaints.counts_for_day(
            session, complaints.local_day(utcnow(), team_zone())):
        rule = complaints.rule_for(rules, row_product, row_category)
        today.append({"product": row_product, "category": row_category, "count": count,
                      "threshold": rule.threshold if rule else None})
    return render_template(
        "intake/complaints.html",
        reports=complaints.recent_reports(session, product=product, category=category, limit=200),
        today=today, product=product, category=category, categories=complaints.CATEGORIES,
    )


def _lines(mapping: dict[str, Any]) -> str:
    rows = []
    for key, value in mapping.items():
        if isinstance(value, list):
            rows.append(f"{key}: {', '.join(value)}" if value else key)
        else:
            rows.append(f"{key}: {value}")
    return "\n".join(rows)


def parse_lines(text: str, field: str, *, lists: bool) -> dict[str, Any]:
    """`selector: value` per line (blank lines skipped); with `lists`, a bare label name is allowed."""
    mapping: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        selector, colon, value = line.rpartition(":")
        if not colon:
            if not lists:
                raise InvalidInput(field, f"line {number}: write 'selector: value'", reason="line", line=number)
            selector, value = line, ""
        selector = selector.strip()
        if lists:
            mapping[selector] = [name.strip() for name in value.replace("，", ",").split(",") if name.strip()]
        else:
            mapping[selector] = value.strip().upper()
    return mapping


def _hook_values(config: alert_intake.HookConfig) -> dict[str, str]:
    return {"default_severity": config.default_severity, "severity": _lines(config.severity),
            "components": _lines(config.components)}


def _settings_context() -> dict[str, Any]:
    session = get_session()
    return {
        "hook_values": _hook_values(alert_intake.hook_config(session)),
        "hook_errors": {},
        "hook_saved": False,
        "rules": complaints.list_rules(session),
        "new_rule": {"product": "", "category": "quality", "threshold": 10, "severity": "P2", "cooldown_minutes": 1440},
        "new_rule_errors": {},
        "rule_errors": {},
        "rule_values": {},
        "severities": list(Severity),
        "categories": complaints.CATEGORIES,
    }


@bp.get("/settings/intake")
def settings() -> Any:
    """Alert mappings and complaint surge rules, on one admin page."""
    return render_template("intake/settings.html", **_settings_context())


@bp.post("/settings/intake/hooks")
def save_hooks() -> Any:
    """Save the label → severity and label → components mappings."""
    form = request.form
    session = get_session()
    try:
        value = {
            "default_severity": form.get("default_severity", ""),
            "severity": parse_lines(form.get("severity", ""), "severity", lists=False),
            "components": parse_lines(form.get("components", ""), "components", lists=True),
        }
        alert_intake.save_hook_config(session, value, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _answer("intake/settings.html", "intake/_hook_form.html", 422, hook_values=dict(form),
                       hook_errors={error.field: _message(error)})
    session.commit()
    if not htmx:
        return redirect(url_for("intake.settings"), code=303)
    return _answer("intake/settings.html", "intake/_hook_form.html",
                   hook_values=_hook_values(alert_intake.hook_config(session)), hook_saved=True)


def _rule_form() -> dict[str, Any]:
    form = request.form
    values = {key: form.get(key, "") for key in ("product", "category", "threshold", "severity", "cooldown_minutes")}
    values["enabled"] = form.get("enabled") == "on"
    return values


def _rules_answer(status: int = 200, **context: Any) -> Any:
    if not htmx and status < 300:
        return redirect(url_for("intake.settings"), code=303)
    return _answer("intake/settings.html", "intake/_rules.html", status,
                   rules=complaints.list_rules(get_session()), **context)


@bp.post("/settings/intake/rules")
def create_rule() -> Any:
    """Add a surge rule."""
    session = get_session()
    values = _rule_form()
    try:
        complaints.create_rule(session, values=values, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _rules_answer(422, new_rule=values, new_rule_errors={error.field: _message(error)})
    session.commit()
    return _rules_answer()


@bp.post("/settings/intake/rules/<int:rule_id>")
def update_rule(rule_id: int) -> Any:
    """Save one rule's row."""
    session = get_session()
    try:
        complaints.update_rule(session, rule_id=rule_id, values=_rule_form(), actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _rules_answer(422, rule_errors={rule_id: {error.field: _message(error)}},
                             rule_values={rule_id: _rule_form()})
    session.commit()
    return _rules_answer()


@bp.post("/settings/intake/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int) -> Any:
    """Remove a rule."""
    session = get_session()
    complaints.delete_rule(session, rule_id=rule_id, actor=current_actor(), now=utcnow())
    session.commit()
    return _rules_answer()
