"""Subscribing on the public status page (no login): the form, the confirmation and unsubscribe links.

Never cached (the form carries a CSRF token; the links' pages carry their token). Opening a
link from a mail changes nothing: its page has the button that does. Bad input comes back
in the form with the message at the field and status 422; a flood gets 429 with the wait.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext

from console import allowed_networks, current_actor
from console.db import get_session
from console.i18n import message_for
from console.subscriber_jobs import mail_settings
from console.views.status_public import _render, public_locale
from incidents import subscribers
from incidents.errors import InvalidInput, NotFound
from incidents.publicity import all_components
from incidents.subscriber_models import SubscriberState
from console.clock import utcnow

bp = Blueprint("subscribe", __name__)


def _page(template: str, status: int = 200, **context: Any) -> Any:
    html, _ = _render(template, public_locale(), **context)
    response = current_app.make_response((html, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(status: int = 200, **state: Any) -> Any:
    context: dict[str, Any] = {
        "components": all_components(get_session(), shown_only=True), "email_offered": _email_offered(),
        "values": {}, "errors": {}, "chosen": set(), "notice": "",
    }
    context.update(state)
    return _page("public/subscribe.html", status, **context)


def _email_offered() -> bool:
    return mail_settings(current_app.config) is not None


@bp.get("/status/subscribe")
def form() -> Any:
    """The subscription form: e-mail or webhook, all components or some."""
    return _form()


@bp.post("/status/subscribe")
def subscribe() -> Any:
    """Subscribe: e-mail gets a confirmation mail, a webhook is active at once."""
    session = get_session()
    values = request.form
    kind = values.get("kind") or ("email" if _email_offered() else "webhook")
    chosen = values.getlist("components") if values.get("scope") == "some" else []
    language = "en" if public_locale() == "en" else "zh"
    ip = request.remote_addr or ""
    try:
        if values.get("scope") == "some" and not chosen:
            raise InvalidInput("components", "choose at least one component", reason="no_components")
        if kind == "email":
            if not _email_offered():
                raise InvalidInput("kind", "e-mail subscriptions are not offered here", reason="email_unavailable")
            done = subscribers.subscribe_email(session, email=values.get("email"), components=chosen,
                                               language=language, ip=ip, now=utcnow(), actor=current_actor())
        elif kind == "webhook":
            done = subscribers.subscribe_webhook(
                session, url=values.get("url"), secret=values.get("secret"), components=chosen, language=language,
                ip=ip, now=utcnow(), allowed_networks=allowed_networks(),
                actor=current_actor(),
            )
        else:
            raise InvalidInput("kind", "choose e-mail or webhook", reason="invalid")
    except InvalidInput as error:
        session.rollback()
        return _form(422, values=values, errors={error.field: message_for(error)}, chosen=set(chosen))
    except subscribers.SubscriptionRateLimited as error:
        session.rollback()
        minutes = max(1, int(error.retry_after.total_seconds() // 60) + 1)
        notice = gettext("Too many subscriptions from here just now. Please try again in %(minutes)s minutes.",
                         minutes=minutes)
        response = _form(429, values=values, notice=notice, chosen=set(chosen))
        response.headers["Retry-After"] = str(int(error.retry_after.total_seconds()) + 1)
        return response
    session.commit()
    return _page("public/subscription.html", 200 if kind == "email" else 201, outcome=f"sent_{kind}",
                 subscriber=done.subscriber, secret=done.secret)


def _named(token: str) -> Any:
    """The subscriber a link names, or None (the caller answers the "not valid" page)."""
    try:
        return subscribers.by_token(get_session(), token)
    except NotFound:
        return None


def _not_valid() -> Any:
    return _page("public/subscription.html", 404, outcome="unknown", subscriber=None)


def _asked(token: str, *, done: SubscriberState, done_outcome: str, ask_outcome: str) -> Any:
    """A mail link opened (GET): the page with its button, or what is already done; nothing changes."""
    subscriber = _named(token)
    if subscriber is None:
        return _not_valid()
    outcome = done_outcome if subscriber.state == done else ask_outcome
    return _page("public/subscription.html", outcome=outcome, subscriber=subscriber)


# Opening a link from a mail (GET) only shows a page with a button: mail scanners and link
# previews open every link, and must not confirm or end a subscription. The button POSTs to
# the same address without a CSRF token: the unguessable token in the URL is the proof.
@bp.route("/status/subscribe/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    """The confirmation link from the mail: the page asks, its button starts the subscription."""
    if request.method == "GET":
        return _asked(token, done=SubscriberState.ACTIVE, done_outcome="confirmed", ask_outcome="ask_confirm")
    session = get_session()
    try:
        subscriber = subscribers.confirm(session, token=token, actor=current_actor(), now=utcnow())
    except NotFound:
        return _not_valid()
    except InvalidInput as error:
        session.rollback()
        return _page("public/subscription.html", 410, outcome="expired", subscriber=None,
                     message=message_for(error))
    session.commit()
    return _page("public/subscription.html", outcome="confirmed", subscriber=subscriber)


@bp.route("/status/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Any:
    """The unsubscribe link in every message: the page asks, its button (or a mail client's RFC 8058
    one-click POST, `List-Unsubscribe=One-Click`) ends the subscription; no login."""
    if request.method == "GET":
        return _asked(token, done=SubscriberState.UNSUBSCRIBED, done_outcome="unsubscribed",
                      ask_outcome="ask_unsubscribe")
    session = get_session()
    try:
        subscriber = subscribers.unsubscribe(session, token=token, actor=current_actor(), now=utcnow())
    except NotFound:
        return _not_valid()
    session.commit()
    return _page("public/subscription.html", outcome="unsubscribed", subscriber=subscriber)
