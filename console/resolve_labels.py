"""What the console says when a resolved notice or a publish without a public title is refused."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console.i18n import add_reasons

RESOLVE_REASONS = {
    "public_title_required": _l("Give the incident a public title first: without one, customers would see nothing."),
    "resolved_promises_update": _l("A resolved notice ends the updates: take {next_update_at} out of the text."),
    "resolving_status": _l("The notice that resolves the incident shows it as resolved."),
    "resolve_needs_signoff": _l("Only someone who may sign updates off can resolve this incident: its notice needs sign-off."),
    "no_recovered_script": _l("This kind has no recovered script: write the resolved notice."),
    "not_resolving": _l("Only resolving publishes an update together with the status change."),
}
add_reasons(RESOLVE_REASONS)
