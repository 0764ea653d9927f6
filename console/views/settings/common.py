"""What the settings pages share: page-or-fragment answers and messages in the reader's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import make_response, redirect, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from console import htmx
from console.i18n import add_reasons, message_for
from console.permissions import role_may
from incidents.errors import InvalidInput

# The settings' own reasons, said in the reader's language (the clock's are in console/i18n.py).
add_reasons({
    "datetime_format": _l("Enter a date and a time."),
    "hours_range": _l("Choose between %(min)s and %(max)s hours."),
    "time_format": _l("Enter a time like 09:00."),
    "date_format": _l("Enter a date like 2026-10-01."),
    "date_range": _l("Choose a date between %(earliest)s and %(latest)s."),
    "has_messages": _l("This channel has sent messages and keeps their history: disable it instead."),
    "duplicate_name": _l("Another channel already has this name."),
    "boolean": _l("Choose on or off."),
})

# incidents.channels explains a bad configuration in English; these say it in the reader's language.
CHANNEL_MESSAGES = {
    "a URL is required": _l("Paste the webhook address."),
    "the URL must not contain spaces": _l("The address must not contain spaces."),
    "the URL is malformed": _l("This address is malformed."),
    "the URL must start with http:// or https://": _l("The address must start with http:// or https://."),
    "the URL has no host": _l("The address has no host name."),
    "the URL must not contain a user name or password": _l("The address must not contain a user name or password."),
    'the signing secret starts with "SEC" (copy it from the robot\'s security settings)':
        _l("The signing secret starts with SEC: copy it from the robot's security settings."),
    "an e-mail address is required": _l("Enter an e-mail address."),
    "the address must be on one line": _l("The address must be on one line."),
    "give a list of e-mail addresses": _l("Enter e-mail addresses separated by commas."),
    "at least one recipient is required": _l("Enter at least one recipient."),
    "the SMTP host name is required": _l("Enter the SMTP server's host name."),
    "the port must be a number from 1 to 65535": _l("The port is a number from 1 to 65535."),
    "must be text": _l("Enter text."),
    "a password is required with a user name": _l("A user name needs a password."),
    "a user name is required with a password": _l("A password needs a user name."),
}
CHANNEL_PATTERNS = (
    (re.compile(r"the URL has no (?P<param>\w+)= parameter \(copy the whole webhook address\)"),
     _l("The address has no %(param)s= part: copy the robot's whole webhook address.")),
    (re.compile(r"the signing secret must be at least (?P<min>\d+) characters"),
     _l("The signing secret needs at least %(min)s characters.")),
    (re.compile(r"(?P<value>.+) is not a valid e-mail address"), _l("%(value)s is not a valid e-mail address.")),
    (re.compile(r"at most (?P<max>\d+) recipients per channel"), _l("At most %(max)s recipients per channel.")),
    (re.compile(r"choose one of (?P<allowed>.+)"), _l("Choose one of: %(allowed)s.")),
)


def error_text(error: InvalidInput) -> str:
    """A domain validation error in the reader's language."""
    if error.reason != "channel_config":
        return message_for(error)
    if error.message in CHANNEL_MESSAGES:
        return str(CHANNEL_MESSAGES[error.message])
    for pattern, template in CHANNEL_PATTERNS:
        if match := pattern.fullmatch(error.message):
            return str(template) % match.groupdict()
    return error.message


def may(permission: str) -> bool:
    """Whether the signed-in person holds a permission (for links and buttons)."""
    return bool(getattr(current_user, "is_authenticated", False)) and role_may(current_user.role, permission)


def answer(page: str, fragment: str, context: dict[str, Any], status: int = 200) -> Any:
    """The fragment for htmx, the whole page otherwise: the page includes the fragment."""
    response = make_response(render_template(fragment if htmx else page, **context), status)
    response.vary.add("HX-Request")
    return response


def changed(url: str, page: str, fragment: str, context: Any) -> Any:
    """After a change: htmx gets the fresh fragment, a plain form a 303 back to the page.

    `context` is a callable so the fragment is built from what was just committed.
    """
    if htmx:
        return answer(page, fragment, context())
    return redirect(url, code=303)


def local_datetime(field: str, value: Any, zone: ZoneInfo) -> datetime | None:
    """A time typed in the team's zone ("2026-11-22T09:00", a datetime-local input) as aware UTC.

    A value with its own offset (the API's ISO 8601) keeps it; blank is None.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be a date and time", reason="datetime_format")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(field, f"{field} must be a date and time like 2026-11-22T09:00",
                           reason="datetime_format") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def whole_hours(field: str, value: Any, *, most: int, text: bool = True) -> int:
    """A number of hours from 1 to `most`: a form's text, or (text=False) a JSON integer only."""
    if value is None or value == "":
        raise InvalidInput(field, f"{field} is required", reason="required")
    try:
        hours = int(value) if isinstance(value, int) or (text and isinstance(value, str)) else 0
    except ValueError:
        hours = 0
    if isinstance(value, bool) or not 1 <= hours <= most:
        raise InvalidInput(field, f"{field} must be a whole number from 1 to {most}", reason="hours_range",
                           min=1, max=most)
    return hours
