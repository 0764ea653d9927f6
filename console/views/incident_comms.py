"""The comms desk on the incident page: the composer with its live preview, sign-off, talking points.

Routes join the `incidents` blueprint and follow the page's conventions (see incident_clock):
an htmx request gets the fragment it changed plus `incident-changed`, a plain form post a
303 back to the page, bad input the form again with the message at the field (422).
The composer's form is not polled, so nothing wipes what someone is typing; the sign-off
and talking-points panels are polled and hold no typed text.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, team_zone
from console.notices import not_done
from console.views.clock_context import may
from console.views.comms_context import (
    Composer,
    composer_from_form,
    name_in_public,
    offer_public_title,
    pick_script,
    preview,
    resolving_composer,
)
from console.views.incident_pages import _answer, _conditional_fragment, _done, _page_context, bp, composer_refused
from incidents import comms, scripts, service, talking_points
from incidents.comms_models import UpdateDraft
from incidents.errors import InvalidInput
from incidents.models import Incident, StatusUpdate
from console.clock import utcnow

COMPOSER = "incidents/_update_form.html"
SIGNOFF = "incidents/_signoff.html"
POINTS = "incidents/_talking_points.html"
POINTS_FORM = "incidents/_talking_points_form.html"
TITLE_FIELD = "incidents/_public_title_field.html"




@bp.get("/<reference>/composer")
def composer(reference: str) -> Any:
    """The composer, with a script's texts loaded when `pick` names one (what was filled in stays)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    state = composer_from_form(request.args)
    try:
        if request.args.get("resolve"):
            state = resolving_composer(session, incident)
        if request.args.get("pick"):
            state = pick_script(session, incident, state, request.args["pick"])
    except InvalidInput as error:
        state.errors = {"script": message_for(error)}
    state = offer_public_title(session, incident, state)
    page = _page_context(incident, composer=state)
    page["preview"] = preview(session, incident, state) if state.zh else None
    template = COMPOSER if htmx else "incidents/show.html"
    return render_template(template, **page), 422 if state.errors else 200


@bp.get("/<reference>/composer/preview")
def composer_preview(reference: str) -> Any:
    """Exactly what the public will read, in Chinese and English, from what the composer holds now.

    A GET: previewing changes nothing (and so writes nothing to the audit log)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    state = composer_from_form(request.args)
    answer = render_template("incidents/_composer_preview.html", incident=incident,
                             preview=preview(session, incident, state) if state.zh.strip() else None)
    suggested = state.suggested_title
    untouched = not incident.public_title and state.public_title == suggested
    if untouched and offer_public_title(session, incident, state).suggested_title != suggested:
        # The components changed the suggestion: offer the new one (only where nothing was typed).
        answer += render_template(TITLE_FIELD, incident=incident, composer=state, oob=True)
    return answer


@bp.post("/<reference>/updates")
def publish_update(reference: str) -> Any:
    """Publish the composed update, or send it for sign-off when the kind and severity need one."""
    session = get_session()
    incident = service.get_incident(session, reference)
    state = composer_from_form(request.form)
    try:
        name_in_public(session, incident, state, actor=current_actor(), now=utcnow())
        result = comms.submit(session, incident=incident, composition=state.composition(),
                              may_approve=may("update.approve"), actor=current_actor(), now=utcnow(), zone=team_zone(),
                              public_url=current_app.config["PUBLIC_URL"])
    except InvalidInput as error:
        return composer_refused(session, incident, state, error)
    session.commit()
    if not htmx:
        return _done(incident, COMPOSER)
    if isinstance(result, StatusUpdate):
        done = gettext("Published.")
    else:
        done = not_done(gettext("Sent for sign-off: a duty manager approves it before it goes out."))
    fresh = Composer(public_status=result.public_status.value, components=state.components, done=done)
    return _answer(incident, COMPOSER, composer=fresh)


@bp.app_template_filter("draft_parts")
def draft_parts(text: str) -> list[str]:
    """A draft's text cut where its next update time goes in when it is approved."""
    return text.split(scripts.NEXT_UPDATE_TOKEN)


@bp.get("/<reference>/signoff")
def signoff_panel(reference: str) -> Any:
    """Updates waiting for sign-off (and the last decisions), polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, SIGNOFF, current_user.role.value)


def _draft(incident: Incident, draft_id: int) -> UpdateDraft:
    return comms.get_draft(get_session(), incident, draft_id)


def _decide(reference: str, draft_id: int, decide: Any) -> Any:
    session = get_session()
    incident = service.get_incident(session, reference)
    draft = _draft(incident, draft_id)
    reason = request.form.get("reason", "")
    try:
        decide(session, incident=incident, draft=draft, reason=reason, actor=current_actor(), now=utcnow(),
               zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _answer(incident, SIGNOFF, 409 if error.reason == "draft_decided" else 422,
                       signoff_error={"draft": draft_id, "message": message_for(error), "reason": reason})
    session.commit()
    return _done(incident, SIGNOFF)


@bp.post("/<reference>/drafts/<int:draft_id>/approve")
def approve_draft(reference: str, draft_id: int) -> Any:
    """Approve a draft: it goes out exactly as written."""
    return _decide(reference, draft_id, comms.approve)


@bp.post("/<reference>/drafts/<int:draft_id>/reject")
def reject_draft(reference: str, draft_id: int) -> Any:
    """Reject a draft with a reason; nothing goes out."""
    return _decide(reference, draft_id, comms.reject)


@bp.get("/<reference>/talking-points")
def talking_points_panel(reference: str) -> Any:
    """The current talking points and who confirmed them, polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, POINTS, f"{current_user.id}|{current_user.role.value}")


@bp.post("/<reference>/talking-points")
def save_talking_points(reference: str) -> Any:
    """Publish a new version of the talking points for agents."""
    session = get_session()
    incident = service.get_incident(session, reference)
    body = request.form.get("body", "")
    try:
        talking_points.publish(session, incident=incident, body=body, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _answer(incident, POINTS_FORM, 422, points_value=body, points_error=message_for(error))
    session.commit()
    return _done(incident, POINTS_FORM)


@bp.post("/<reference>/talking-points/confirm")
def confirm_talking_points(reference: str) -> Any:
    """Confirm having read the latest version (the form names the version read)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    points = talking_points.latest(session, incident)
    if points is None or request.form.get("version") != str(points.version):
        return _answer(incident, POINTS, 409, points_error=gettext(
            "A newer version of the talking points came out. Read it, then confirm."))
    talking_points.confirm(session, points=points, user_id=current_user.id, actor=current_actor(),
                           now=utcnow())
    session.commit()
    if request.form.get("next") == "mine" and not htmx:
        return redirect(url_for("comms.my_talking_points"), code=303)
    return _done(incident, POINTS)
