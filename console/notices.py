"""What the console says after an action: a success when it happened, a warning when it did not.

A view returns its sentence as plain text when the action happened, or wrapped in `not_done()`
when it did not (or not all of it: nothing changed, rows skipped, held for sign-off); templates
style it with the `notice_class` filter, so a blocked action never reads as a success.
"""

from __future__ import annotations

from flask import Flask

DONE_CLASS = "flash-done"
NOT_DONE_CLASS = "flash-warn"


class NotDone(str):
    """A notice saying that an action did not happen, or not fully."""


def not_done(text: str) -> NotDone:
    return NotDone(text)


def notice_class(text: str) -> str:
    """The CSS class of a notice: the warning style for one that says an action did not happen."""
    return NOT_DONE_CLASS if isinstance(text, NotDone) else DONE_CLASS


def init_app(app: Flask) -> None:
    app.add_template_filter(notice_class, "notice_class")
