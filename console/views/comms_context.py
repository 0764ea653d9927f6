"""What the incident page shows of the comms desk: the composer, sign-off drafts, talking points.

Shared by the incident page (whole and fragments) and the comms routes, so every answer
renders the same markup from the same facts.
"""

from __future__ import annotations

import re
from datetime import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.datastructures import MultiDict

from console.i18n import message_for, select_locale, team_zone
from console.labels import STATUS_LABELS
from console.public_labels import COMPONENT_STATUS_LABELS
from console.views.clock_context import may
from incidents import comms, resolution, scripts, talking_points
from incidents.actors import Actor
from incidents.comms_models import DraftState, UpdateDraft
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import Incident
from incidents.public_models import Component, ComponentStatus, IncidentComponent
from incidents.publicity import all_components
from incidents.updates import set_public_identity
from incidents.title_suggestion import suggest_public_title
from console.clock import utcnow

RECENT_DECIDED = 3
PURPOSE_LABELS = {
    "first_notice": _l("First notice"),
    "progress": _l("Progress"),
    "holding": _l("Holding statement"),
    "recovered": _l("Recovered"),
    "apology": _l("Apology"),
    "compensation": _l("Compensation"),
    "reply_to_poster": _l("Reply to a poster"),
}
_NAME = re.compile(r"\{([a-z_]+)\}")
# Domain fields as the composer's inputs are named.
COMPOSER_FIELD = {"zh": "body", "en": "body_en"}


@dataclass
class Composer:
    """The composer's form state: texts, the script they came from, values, status, components."""

    zh: str = ""
    en: str = ""
    script: str = ""
    script_version: str = ""
    public_status: str = ""
    values: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    done: str = ""
    # Asked inline while the incident has no public title; saved with the update.
    public_title: str = ""
    suggested_title: str = ""  # the suggestion offered, to tell an untouched field from a typed one
    resolving: bool = False  # the resolved notice: publishing it resolves the incident

    def composition(self) -> comms.Composition:
        version = int(self.script_version) if self.script_version.isdigit() else None
        return comms.Composition(zh=self.zh, en=self.en, values=dict(self.values), public_status=self.public_status or None,
                                 components={k: v for k, v in self.components.items() if v},
                                 script=self.script, script_version=version)

    def variables(self) -> list[scripts.Variable]:
        """The variables a person fills for these texts (known names only; the preview names the rest)."""
        names: list[str] = []
        for name in _NAME.findall(self.zh) + _NAME.findall(self.en):
            if name in scripts.VARIABLES and name not in names and scripts.VARIABLES[name].source != "auto":
                names.append(name)
        return [scripts.VARIABLES[name] for name in names]


def composer_from_form(form: MultiDict) -> Composer:
    """The composer as posted (field names: body, body_en, script, var_<name>[_en], comp_<id>)."""
    return Composer(
        zh=form.get("body", ""), en=form.get("body_en", ""), script=form.get("script", ""),
        script_version=form.get("script_version", ""), public_status=form.get("public_status", ""),
        values={key[4:]: value for key, value in form.items() if key.startswith("var_")},
        components={key[5:]: value for key, value in form.items() if key.startswith("comp_")},
        public_title=form.get("public_title", ""), suggested_title=form.get("public_title_suggested", ""),
        resolving=form.get("to") == Status.RESOLVED.value,
    )


def default_composer(session: Session, incident: Incident) -> Composer:
    """An empty composer on the incident's status, components as the incident last said."""
    current = {str(row.component_id): row.status.value for row in session.scalars(
        sa.select(IncidentComponent).where(IncidentComponent.incident_id == incident.id))}
    composer = Composer(public_status=incident.status.value if incident.status != Status.CLOSED else "resolved",
                        components=current)
    return offer_public_title(session, incident, composer)


def offer_public_title(session: Session, incident: Incident, composer: Composer) -> Composer:
    """Fill the public-title field with the suggestion for the composer's components, unless typed in."""
    if incident.public_title:
        return composer
    chosen = [c for c in all_components(session) if composer.components.get(str(c.id))]
    suggestion = suggest_public_title(incident.kind, chosen)
    if not composer.public_title.strip() or composer.public_title == composer.suggested_title:
        composer.public_title = suggestion
    composer.suggested_title = suggestion
    return composer


def name_in_public(session: Session, incident: Incident, composer: Composer, *, actor: Actor, now: datetime) -> None:
    """Save the public title typed inline in the composer, in the publishing transaction."""
    if incident.public_title:
        return
    set_public_identity(session, incident=incident, public_title=composer.public_title,
                        public_title_en=incident.public_title_en, internal_only=incident.internal_only,
                        actor=actor, now=now)


def resolving_composer(session: Session, incident: Incident) -> Composer:
    """The composer holding the kind's recovered script, to resolve the incident by publishing it."""
    recovered = resolution.recovered_composition(session, incident)
    return Composer(zh=recovered.zh, en=recovered.en, script=recovered.script,
                    script_version=str(recovered.script_version), public_status=Status.RESOLVED.value,
                    components=dict(recovered.components), resolving=True)


def composer_errors(error: InvalidInput) -> dict[str, str]:
    """A domain error at the composer's input it is about (else at the top of the form)."""
    name = COMPOSER_FIELD.get(error.field, error.field)
    known = name in ("body", "body_en", "public_status", "components", "public_title") or name.startswith("var_")
    return {name if known else "form": message_for(error)}


def pick_script(session: Session, incident: Incident, composer: Composer, key: str) -> Composer:
    """Load a script's texts into the composer, keeping the values and components already chosen."""
    kind, purpose = scripts.parse_key(key)
    script = scripts.current(session, kind, purpose)
    composer.script = script.key
    composer.script_version = str(script.version)
    composer.zh, composer.en = script.zh, script.en
    if script.public_status is not None:
        composer.public_status = script.public_status.value
    composer.values.setdefault("next_update_at", comms.next_update_text(session, incident, now=utcnow(),
                                                                        zone=team_zone()))
    return composer


def _labels(status: Status, chosen: list[tuple[Component, ComponentStatus]]) -> dict[str, Any]:
    """The status and component names exactly as each language's public page names them."""
    result = {}
    for language, locale in (("zh", "zh_Hans_CN"), ("en", "en")):
        with force_locale(locale):
            result[language] = {
                "status": str(STATUS_LABELS[status]),
                "affects": gettext("Affects:"),
                "components": [(c.name if language == "zh" else (c.name_en or c.name),
                                str(COMPONENT_STATUS_LABELS[s]), s.value) for c, s in chosen],
            }
    return result


def preview(session: Session, incident: Incident, composer: Composer) -> dict[str, Any]:
    """The preview's facts: the rendered texts with their labels, or the error naming the fault."""
    drafting = comms.needs_signoff(session, incident) and not may("update.approve")
    composition = comms.as_draft(composer.composition()) if drafting else composer.composition()
    try:
        with _titled(incident, composer.public_title):
            rendered = comms.render(session, incident, composition)
    except InvalidInput as error:
        missing = error.reason.startswith("variable_empty") and error.params.get("name") not in {
            v.name for v in composer.variables()}
        return {"error": message_for(error), "error_field": error.field, "missing_field": missing}
    return {"rendered": rendered, "labels": _labels(rendered.public_status, rendered.components),
            "signoff": drafting}


@contextmanager
def _titled(incident: Incident, typed: str) -> Iterator[None]:
    """Preview {title} with the public title being typed inline; nothing is marked for saving."""
    stored = incident.public_title
    if not stored and typed.strip():
        set_committed_value(incident, "public_title", typed.strip())
    try:
        yield
    finally:
        set_committed_value(incident, "public_title", stored)


def comms_context(session: Session, incident: Incident) -> dict[str, Any]:
    """The comms desk's part of the incident page's template context."""
    drafts = comms.drafts(session, incident)
    pending = [d for d in drafts if d.state == DraftState.PENDING]
    decided = [d for d in drafts if d.state != DraftState.PENDING][:RECENT_DECIDED]
    points = talking_points.latest(session, incident)
    readers = talking_points.readers(session, points) if points else []
    my_id = getattr(current_user, "id", None)
    return {
        "composer": default_composer(session, incident),
        "PURPOSE_LABELS": PURPOSE_LABELS,
        "composer_scripts": scripts.library(session, incident.kind),
        "composer_components": all_components(session),
        "component_statuses": list(ComponentStatus),
        "preview": None,
        "pending_drafts": pending,
        "decided_drafts": decided,
        "signoff_required": comms.needs_signoff(session, incident),
        "can_approve": may("update.approve"),
        "points": points,
        "points_readers": readers,
        "points_confirmed_by_me": any(r.user.id == my_id and r.confirmed_at for r in readers),
        "points_error": None,
        "points_value": points.body if points else "",
        "can_confirm": may("talking_points.confirm"),
        "can_write_points": may("incident.publish"),
        "signoff_error": None,
        "locale_is_zh": select_locale().startswith("zh"),
    }


def draft_components(draft: UpdateDraft, session: Session) -> list[tuple[str, str]]:
    """A draft's components as (name, status) for the approver."""
    names = {c.id: c for c in session.scalars(sa.select(Component).where(
        Component.id.in_([int(k) for k in draft.components] or [-1])))}
    return [(names[int(k)].name if int(k) in names else k, v) for k, v in draft.components.items()]
