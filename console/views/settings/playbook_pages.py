"""The playbook editor: each kind's checklist, its deadline numbers per severity, and their history.

Duty managers read it; only admins save. Saving goes through incidents.playbooks.change_numbers,
which validates everything before writing one audited revision; new numbers apply to deadlines
created after the save.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from console import current_actor
from console.db import get_session
from console.i18n import select_locale
from console.labels import STATUS_LABELS
from console.views.settings.common import answer, changed, error_text, may
from incidents import playbook_history, playbooks
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity, Status
from console.clock import utcnow

bp = Blueprint("playbooks", __name__, url_prefix="/settings/playbooks")

PAGE, FRAGMENT = "settings/playbooks.html", "settings/_playbook.html"
ANCHOR_LABELS = {
    "opened": _l("the incident is opened"),
    "acknowledged": _l("the incident is acknowledged"),
    "public_update": _l("each public update"),
    "resolved": _l("the incident is resolved"),
}
FIELD_LABELS = {
    "offset": _l("Due after (min)"),
    "period": _l("Every (min)"),
    "remind_before": _l("Remind before (min)"),
    "escalate_every": _l("Escalate every (min)"),
    "business_hours": _l("Count in business hours"),
}
OWNER_LABELS = {"commander": _l("Commander"), "comms_lead": _l("Comms lead"), "duty_manager": _l("Duty manager")}
UNTIL_LABELS = {"resolved": _l("until resolved"), "closed": _l("until closed")}


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        abort(404)


def anchor_label(anchor: str) -> str:
    """What starts a rule's clock, as people say it."""
    if anchor.startswith("status:"):
        return gettext("the status becomes “%(status)s”", status=STATUS_LABELS[Status(anchor.removeprefix("status:"))])
    return str(ANCHOR_LABELS.get(anchor, anchor))


def _rule_fields(raw: dict[str, Any]) -> list[str]:
    """The numbers a rule has: its offset and/or period, then the reminder and escalation."""
    return [field for field in ("offset", "period") if raw.get(field) is not None] + ["remind_before", "escalate_every"]


def document_values(document: dict[str, Any]) -> dict[str, str]:
    """The document's numbers under the form's names ("rule.field", "P1.rule.field")."""
    values = {}
    for raw in document.get("rules", []):
        for field in _rule_fields(raw):
            values[f"{raw['key']}.{field}"] = str(raw.get(field, ""))
            for severity in Severity:
                override = document.get("severity", {}).get(severity.value, {}).get(raw["key"], {}).get(field)
                values[f"{severity.value}.{raw['key']}.{field}"] = "" if override is None else str(override)
    return values


def rule_name(document: dict[str, Any], key: str | None) -> str:
    """A rule's name in the reader's language, looked up in a playbook document."""
    raw = next((r for r in document.get("rules", []) if r.get("key") == key), {})
    return raw.get("zh" if select_locale().startswith("zh") else "en") or key or ""


def _context(kind: Kind, **state: Any) -> dict[str, Any]:
    session = get_session()
    playbook = playbooks.effective_playbook(session, kind)
    latest = playbooks.latest_revision(session, kind)
    context = {
        "kind": kind,
        "kinds": list(Kind),
        "severities": list(Severity),
        "playbook": playbook,
        "rules": playbook.document.get("rules", []),
        "rule_fields": _rule_fields,
        "rule_name": rule_name,
        "latest": latest,
        "defaults_version": playbooks.defaults_version(),
        "history": playbook_history.history(session, kind),
        "values": document_values(playbook.document),
        "business_hours": playbook.business_hours,
        "errors": {},
        "can_edit": may("admin"),
        "locale": select_locale(),
        "anchor_label": anchor_label,
        "NUMBER_LABELS": FIELD_LABELS,
        "OWNER_LABELS": OWNER_LABELS,
        "UNTIL_LABELS": UNTIL_LABELS,
    }
    context.update(state)
    return context


@bp.get("")
def index() -> Any:
    """The editor opens on the first kind."""
    return redirect(url_for("playbooks.show", kind=Kind.OUTAGE.value))


@bp.get("/<kind>")
def show(kind: str) -> Any:
    """One kind's playbook: checklist, numbers per severity, source in force, revision history."""
    chosen = _kind(kind)
    return answer(PAGE, FRAGMENT, _context(chosen))


def form_changes(kind: Kind, form: Any) -> tuple[dict[str, str], bool | None]:
    """The numbers and the business-hours switch a submitted editor form holds."""
    names = document_values(playbooks.effective_playbook(get_session(), kind).document)
    changes = {name: form.get(name, "") for name in names if name in form}
    switch = form.getlist("business_hours")
    business_hours = (switch[-1] == "1") if switch and kind == Kind.COMPLAINT else None
    return changes, business_hours


@bp.post("/<kind>")
def save(kind: str) -> Any:
    """Save the numbers as a new revision; at the first bad field, nothing is saved (422)."""
    chosen = _kind(kind)
    session = get_session()
    changes, business_hours = form_changes(chosen, request.form)
    before = playbooks.effective_playbook(session, chosen).source
    try:
        playbook = playbooks.change_numbers(
            session, kind=chosen, changes=changes, business_hours=business_hours, actor=current_actor(), now=utcnow()
        )
    except InvalidInput as error:
        session.rollback()
        state: dict[str, Any] = {"business_hours": business_hours} if business_hours is not None else {}
        return answer(PAGE, FRAGMENT, _context(
            chosen, values={**document_values(playbooks.effective_playbook(session, chosen).document), **changes},
            errors={playbook_history.change_key(error.field): error_text(error)}, **state,
        ), 422)
    session.commit()
    if playbook.source == before:
        flash(gettext("Nothing changed, so nothing was saved."), "warn")
    else:
        flash(gettext("Saved as %(source)s. Deadlines created from now on use these numbers.",
                      source=source_label(playbook.source)), "ok")
    return changed(url_for("playbooks.show", kind=chosen.value), PAGE, FRAGMENT, lambda: _context(chosen))


def source_label(source: str) -> str:
    """"revision 3" / "defaults v1" as people read it."""
    word, _, number = source.partition(" ")
    if word == "revision":
        return gettext("revision %(number)s", number=number)
    return gettext("the shipped defaults (version %(number)s)", number=number.removeprefix("v"))
