"""Who did something, as people read it: the console's own actors named in the reader's language.

The stored label stays what it was written as (`clock`, `hook:alertmanager`, `system:install`):
scripts and the audit search use it. Pages show it through `actor_name`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The console acting by itself (incidents.actors.Actor.system).
SYSTEM_ACTORS = {
    "system": _l("The console"),
    "clock": _l("The clock"),
    "holding statement": _l("Automatic holding statement"),
    "monitor": _l("Feed monitor"),
    "monitor:complaint-surge": _l("Complaint surge monitor"),
    "scheduler": _l("Scheduler"),
    "outbox": _l("Message sender"),
    "subscriptions": _l("Subscriptions"),
    "anonymous": _l("Anonymous visitor"),
    "system:install": _l("Installation"),
}
# A prefix and a name: an API token, an alert hook's token, a terminal user.
PREFIXED_ACTORS = {
    "api": _l("API token %(name)s"),
    "hook": _l("Alert hook (token %(name)s)"),
    "cli": _l("Command line (%(name)s)"),
    "system": _l("The console (%(name)s)"),
}


def actor_name(label: str | None) -> str:
    """A stored actor label as the reader's language says it; a person's name as written."""
    if not label:
        return ""
    if label in SYSTEM_ACTORS:
        return str(SYSTEM_ACTORS[label])
    prefix, colon, name = label.partition(":")
    if colon and prefix in PREFIXED_ACTORS:
        return str(PREFIXED_ACTORS[prefix]) % {"name": name}
    return label
