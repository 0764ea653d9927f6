"""Language and time zone at the edge: locale choice, localised domain errors, time filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request
from flask_babel import Babel, format_datetime, gettext, lazy_gettext
from flask_login import current_user

from console.outreach_labels import REASONS as OUTREACH_REASONS
from incidents.errors import InvalidInput

LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
LANGUAGE_COOKIE = "crisis_lang"

# Domain error reasons in the user's language; params come from InvalidInput.params.
REASONS = {
    "required": lazy_gettext("This field is required."),
    "too_long": lazy_gettext("At most %(max)s characters."),
    "choice": lazy_gettext("Choose one of: %(allowed)s."),
    "no_user": lazy_gettext("No such active user."),
    "closed": lazy_gettext("A closed incident cannot be edited."),
    "not_editable": lazy_gettext("This field cannot be changed here."),
    # Feeds and team channels whose URL points into a private network.
    "private_url": lazy_gettext("This address (%(address)s) is inside a private network. An administrator can allow "
                                "the network with CRISIS_ALLOWED_NETWORKS."),
    # The clock: playbooks, deadlines, roster, calendar.
    "minutes_range": lazy_gettext("Enter whole minutes between %(min)s and %(max)s."),
    "whole_minutes": lazy_gettext("Enter a whole number of minutes."),
    "reminder_too_early": lazy_gettext("The reminder must be shorter than the deadline itself."),
    "around_the_clock": lazy_gettext("Only complaint deadlines can count in business hours."),
    "duplicate": lazy_gettext("This value is already used."),
    "unknown_rule": lazy_gettext("There is no such rule in this playbook."),
    "unknown_step": lazy_gettext("There is no such step in this playbook."),
    "unknown_trigger": lazy_gettext("Unknown event."),
    # The clock on screen (issue 3): deadlines, checklist, snoozing.
    "already_met": lazy_gettext("This deadline is already met."),
    "already_waived": lazy_gettext("This deadline was already waived."),
    "pause_complaint_only": lazy_gettext("Only a complaint's clock can be paused."),
    "already_paused": lazy_gettext("The clock is already paused."),
    "not_paused": lazy_gettext("The clock is not paused."),
    "end_before_start": lazy_gettext("The end must come after the start."),
    "shift_too_long": lazy_gettext("A shift lasts at most 7 days."),
    "not_duty_role": lazy_gettext("Only duty managers and admins can be on duty."),
    "hours_order": lazy_gettext("Working hours must end after they start."),
    "not_snoozable": lazy_gettext("Only a deadline's reminder can be snoozed."),
    "deadline_settled": lazy_gettext("This deadline is already settled; nothing to snooze."),
    # The status page: components, maintenance, public updates.
    "unknown_component": lazy_gettext("There is no such component."),
    "unknown_group": lazy_gettext("There is no such group."),
    "position_range": lazy_gettext("Enter a whole number between 0 and %(max)s."),
    "resolved_operational": lazy_gettext("A resolved update leaves its components operational."),
    "window_too_long": lazy_gettext("A maintenance window lasts at most 14 days."),
    "window_over": lazy_gettext("This window is already over."),
    "maintenance_over": lazy_gettext("This maintenance is over."),
    "backwards": lazy_gettext("A maintenance window only moves forward."),
    "bad_datetime": lazy_gettext("Enter a date and time."),
    "needs_offset": lazy_gettext("Give the time with its offset, e.g. +08:00."),
    # The aftermath (issue 6): the six-step case and the review.
    "case_kind": lazy_gettext("The six-step case is for complaints and public opinion."),
    "plan_before_facts": lazy_gettext("Record the facts first: a plan cannot be agreed before the facts are on record."),
    "execute_before_plan": lazy_gettext("Agree the plan before recording its execution."),
    "in_the_past": lazy_gettext("This time is already past; choose a later one."),
    "not_a_time": lazy_gettext("Enter a date (and time), e.g. 2026-11-30 or 2026-11-30 18:00."),
    "review_required": lazy_gettext("Closing needs the review (复盘): complete it, or an admin waives it with a reason."),
    "review_settled": lazy_gettext("The review is already completed or waived."),
    "review_incomplete": lazy_gettext("Fill in the required fields before completing the review."),
    "review_unresolved": lazy_gettext("Resolve the incident before completing its review."),
    "bad_link": lazy_gettext("Link only updates and mentions of this incident."),
    "action_settled": lazy_gettext("This action item is already settled."),
    # Subscribers (issue 4).
    "bad_url": lazy_gettext("Enter the full http(s) address (for a robot, copy its whole webhook address)."),
    "secret_short": lazy_gettext("The signing secret needs at least %(min)s characters."),
    "bad_email": lazy_gettext("Enter an e-mail address such as name@example.com."),
    "unsafe_url": lazy_gettext("This address points inside a private network and is refused. Use a public URL."),
    "unresolvable_url": lazy_gettext("This host name cannot be found. Check the address."),
    "no_components": lazy_gettext("Tick at least one component, or choose all components."),
    "email_unavailable": lazy_gettext("E-mail subscriptions are not offered here; use a webhook."),
    "link_expired": lazy_gettext("This confirmation link has expired. Please subscribe again."),
    "unsubscribed": lazy_gettext("This subscription was cancelled. Please subscribe again."),
    "not_active": lazy_gettext("Only an active subscriber can be paused."),
    "not_paused_subscriber": lazy_gettext("Only a paused subscriber can be resumed."),
    # The comms desk (issue 4, writing an update): scripts, variables, sign-off.
    "stray_brace": lazy_gettext("A brace has no pair. Write {{ or }} for a brace in the text."),
    "unknown_variable": lazy_gettext("There is no variable {%(name)s}. Use one of: %(known)s."),
    "variable_empty": lazy_gettext("Fill in {%(name)s}: it is empty."),
    "variable_empty_en": lazy_gettext("Fill in {%(name)s} in English too: the English text uses it."),
    "holding_variables": lazy_gettext(
        "A holding statement goes out by itself: it can only use {components}, {title} and {next_update_at}."),
    "needs_components": lazy_gettext("{components} needs at least one affected component: choose them below."),
    "needs_public_title": lazy_gettext("{title} needs the incident’s public title: set it first."),
    "draft_decided": lazy_gettext("Someone already decided on this update."),
    "unknown_script": lazy_gettext("There is no such script."),
}


def select_locale() -> str:
    """The signed-in user's language, else the cookie, else the team default (Chinese).

    While the database is away (console/errors.py) the user is not looked up: that needs it."""
    if not g.get("database_unavailable") and getattr(current_user, "is_authenticated", False):
        return current_user.locale
    if (chosen := request.cookies.get(LANGUAGE_COOKIE)) in LANGUAGES:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def add_reasons(reasons: Mapping[str, Any]) -> None:
    """Register an area's messages for the whole console. A reason may be said only one way:
    registering another text for a reason already known fails at start-up instead of quietly
    changing another area's message."""
    for reason, text in reasons.items():
        if REASONS.get(reason, text) is not text:
            raise RuntimeError(f"validation reason {reason!r} is already said elsewhere")
        REASONS[reason] = text


# Affected customers and outreach (issue 6) keep their messages beside their labels.
add_reasons(OUTREACH_REASONS)


def message_for(error: InvalidInput, reasons: Mapping[str, Any] | None = None) -> str:
    """A domain validation error in the user's language; an area's own `reasons` come first."""
    template = (reasons or {}).get(error.reason)
    if template is None:
        template = REASONS.get(error.reason)
    if template is None:
        return error.message
    return str(template) % error.params if error.params else str(template)


def team_zone() -> ZoneInfo:
    if "team_zone" not in g:
        g.team_zone = ZoneInfo(current_app.config["TIMEZONE"])
    return g.team_zone


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and the template filters for times in the team's zone."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        return format_datetime(value, fmt) if value else ""

    @app.template_filter("isotime")
    def isotime(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    @app.context_processor
    def language_context() -> dict:
        return {"LANGUAGES": LANGUAGES, "current_locale": select_locale(), "gettext": gettext}
