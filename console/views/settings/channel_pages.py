"""Team channels (admins): where reminders and escalations go, whether they arrive, a test button.

The list shows what the outbox holds per channel (pending, delivered, failed, the last error
and the latest attempts); delivering is the worker's job. Secrets are shown masked only, and
a secret left blank on the edit form keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from console import allowed_networks, current_actor, htmx
from console.db import get_session
from console.i18n import team_zone
from console.views.settings.common import answer, changed, error_text
from incidents import team_channels
from incidents.channels import CHANNEL_KINDS
from incidents.errors import InvalidInput
from incidents.models import TeamChannel
from console.clock import utcnow

bp = Blueprint("channels", __name__, url_prefix="/settings/channels")

LIST_PAGE, LIST_FRAGMENT = "settings/channels.html", "settings/_channels.html"
FORM_PAGE, FORM_FRAGMENT = "settings/channel_form.html", "settings/_channel_form.html"
CHANNEL_KIND_LABELS = {
    "wecom": _l("WeCom group robot"),
    "dingtalk": _l("DingTalk robot"),
    "feishu": _l("Feishu bot"),
    "webhook": _l("Generic webhook"),
    "email": _l("E-mail (SMTP)"),
}
CONFIG_LABELS = {
    "url": _l("Webhook address"),
    "secret": _l("Signing secret"),
    "host": _l("SMTP server"),
    "port": _l("Port"),
    "security": _l("Connection security"),
    "username": _l("User name"),
    "password": _l("Password"),
    "from_addr": _l("Sender address"),
    "to": _l("Recipients"),
}
CONFIG_HINTS = {
    ("wecom", "url"): _l("The group robot's webhook address, with key=…"),
    ("dingtalk", "url"): _l("The robot's webhook address, with access_token=…"),
    ("dingtalk", "secret"): _l("Only if the robot's security setting is “signed” (加签): the secret starting with SEC."),
    ("feishu", "url"): _l("The bot's webhook address."),
    ("feishu", "secret"): _l("Only if the bot checks signatures: its signing secret."),
    ("webhook", "url"): _l("Receives each message as a JSON POST."),
    ("webhook", "secret"): _l("Optional, at least 16 characters: each request is signed with HMAC-SHA256 (X-Crisis-Signature)."),
    ("email", "port"): _l("Blank: 587 for STARTTLS, 465 for SSL, 25 without encryption."),
    ("email", "to"): _l("Separate addresses with commas."),
}
SECURITY_LABELS = {"starttls": _l("STARTTLS"), "ssl": _l("SSL/TLS"), "none": _l("None (trusted network only)")}
SWITCH_LABELS = {"enabled": _l("Enabled"), "reminders": _l("Reminders"), "escalations": _l("Overdue and escalations")}


def _channel(channel_id: int) -> TeamChannel:
    return team_channels.get_channel(get_session(), channel_id)


def _list_context(**state: Any) -> dict[str, Any]:
    session = get_session()
    channels = team_channels.list_channels(session)
    context = {
        "channels": channels,
        "deliveries": team_channels.deliveries(session, [c.id for c in channels]),
        "attempts": {c.id: team_channels.recent_attempts(session, c) for c in channels},
        "public_config": team_channels.public_config,
        "kinds": CHANNEL_KINDS,
        "errors": {},
        **_labels(),
    }
    context.update(state)
    return context


def _labels() -> dict[str, Any]:
    return {"CHANNEL_KIND_LABELS": CHANNEL_KIND_LABELS, "CONFIG_LABELS": CONFIG_LABELS, "CONFIG_HINTS": CONFIG_HINTS,
            "SECURITY_LABELS": SECURITY_LABELS, "SWITCH_LABELS": SWITCH_LABELS}


def _form_values(channel: TeamChannel | None, kind: str) -> dict[str, str]:
    """The form's starting values: the stored ones with secrets blank, or a new channel's defaults."""
    if channel is None:
        return {"name": "", "reminders": "0", "escalations": "1", "enabled": "1", "config.security": "starttls"}
    values = {"name": channel.name, **{switch: "1" if getattr(channel, switch) else "0" for switch in team_channels.SWITCHES}}
    for key in team_channels.CONFIG_FIELDS[kind]:
        value = channel.config.get(key)
        if key in team_channels.SECRET_FIELDS or value is None:
            value = ""
        values[f"config.{key}"] = ", ".join(value) if isinstance(value, list) else str(value)
    return values


def _form_context(kind: str, channel: TeamChannel | None = None, **state: Any) -> dict[str, Any]:
    context = {
        "kind": kind,
        "channel": channel,
        "fields": team_channels.CONFIG_FIELDS[kind],
        "secret_fields": team_channels.SECRET_FIELDS,
        "saved": team_channels.public_config(channel) if channel else {},
        "values": _form_values(channel, kind),
        "errors": {},
        **_labels(),
    }
    context.update(state)
    return context


def _submitted(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The name and switches, and the configuration, as the form sent them."""
    form = request.form
    switches = {}
    for switch in team_channels.SWITCHES:
        sent = form.getlist(switch)
        switches[switch] = bool(sent) and sent[-1] == "1"
    config = {key: form.get(f"config.{key}", "") for key in team_channels.CONFIG_FIELDS[kind] if f"config.{key}" in form}
    return {"name": form.get("name", ""), **switches}, config


def _form_error(kind: str, channel: TeamChannel | None, error: InvalidInput) -> Any:
    get_session().rollback()
    values = {key: value for key, value in request.form.items() if key != "csrf_token"}
    for key in team_channels.SECRET_FIELDS:
        values.pop(f"config.{key}", None)  # never echo a secret back, not even the one just typed
    for switch in team_channels.SWITCHES:
        sent = request.form.getlist(switch)
        values[switch] = sent[-1] if sent else "0"
    context = _form_context(kind, channel, values=values, errors={error.field: error_text(error)})
    return answer(FORM_PAGE, FORM_FRAGMENT, context, 422)


def _to_list() -> Any:
    target = url_for("channels.index")
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


@bp.get("")
def index() -> Any:
    """Every channel with its switches, its health and its latest delivery attempts."""
    return answer(LIST_PAGE, LIST_FRAGMENT, _list_context())


@bp.get("/new")
def new() -> Any:
    """The form for a new channel of one kind."""
    kind = request.args.get("kind", "")
    if kind not in CHANNEL_KINDS:
        abort(404)
    return answer(FORM_PAGE, FORM_FRAGMENT, _form_context(kind))


@bp.post("")
def create() -> Any:
    """Add a channel; 422 with the message at the field when its configuration is wrong."""
    kind = request.form.get("kind", "")
    if kind not in CHANNEL_KINDS:
        abort(404)
    changes, config = _submitted(kind)
    session = get_session()
    try:
        channel = team_channels.create_channel(session, kind=kind, config=config, allowed_networks=allowed_networks(),
                                               actor=current_actor(), now=utcnow(), **changes)
    except InvalidInput as error:
        return _form_error(kind, None, error)
    session.commit()
    flash(gettext("Channel “%(name)s” added. Send a test message to check it.", name=channel.name), "ok")
    return _to_list()


@bp.get("/<int:channel_id>/edit")
def edit(channel_id: int) -> Any:
    """The edit form: secrets are not shown; leaving one blank keeps it."""
    channel = _channel(channel_id)
    return answer(FORM_PAGE, FORM_FRAGMENT, _form_context(channel.kind, channel))


@bp.post("/<int:channel_id>")
def update(channel_id: int) -> Any:
    """Save a channel's name, switches and configuration."""
    channel = _channel(channel_id)
    changes, config = _submitted(channel.kind)
    session = get_session()
    try:
        team_channels.update_channel(session, channel=channel, changes=changes, config=config,
                                     clear=request.form.getlist("clear"), allowed_networks=allowed_networks(),
                                     actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        return _form_error(channel.kind, _channel(channel_id), error)
    session.commit()
    flash(gettext("Channel “%(name)s” saved.", name=channel.name), "ok")
    return _to_list()


def _list_changed() -> Any:
    return changed(url_for("channels.index"), LIST_PAGE, LIST_FRAGMENT, _list_context)


@bp.post("/<int:channel_id>/switch")
def switch(channel_id: int) -> Any:
    """Turn the channel, its reminders or its escalations on or off."""
    channel = _channel(channel_id)
    session = get_session()
    team_channels.set_switch(session, channel=channel, switch=request.form.get("switch", ""),
                             on=request.form.get("on") == "1", actor=current_actor(), now=utcnow())
    session.commit()
    return _list_changed()


@bp.post("/<int:channel_id>/test")
def send_test(channel_id: int) -> Any:
    """Queue a test message; the worker delivers it and the attempt shows in the log."""
    channel = _channel(channel_id)
    session = get_session()
    team_channels.queue_test_message(session, channel=channel, actor=current_actor(), now=utcnow(), zone=team_zone(),
                                     public_url=current_app.config["PUBLIC_URL"])
    session.commit()
    flash(gettext("Test message queued for “%(name)s”. The worker sends it within a minute; "
                  "the result appears under its delivery attempts.", name=channel.name), "ok")
    return _list_changed()


@bp.post("/<int:channel_id>/delete")
def delete(channel_id: int) -> Any:
    """Delete a channel that never had a message; one with history is refused (409): disable it."""
    channel = _channel(channel_id)
    session = get_session()
    name = channel.name
    try:
        team_channels.delete_channel(session, channel=channel, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return answer(LIST_PAGE, LIST_FRAGMENT, _list_context(errors={channel_id: error_text(error)}), 409)
    session.commit()
    flash(gettext("Channel “%(name)s” deleted.", name=name), "ok")
    return _list_changed()
