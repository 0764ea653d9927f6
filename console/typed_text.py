"""What a person sent in a form that could not be saved, to offer back on the page that says so.

When the database is away a form's POST answers 503 (console/errors.py). Nothing typed may be
lost with it: the page shows the text again and a button posts the same form to the same
address once the console is back. Secrets are never written into that page: the CSRF token is
replaced by a fresh one, and passwords, keys and tokens are left for the person to type again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Request

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Bodies a browser's form sends: their fields can be offered back (a JSON body cannot).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_FIELD = "csrf_token"
# Field names whose values are never repeated into a page.
SECRET_NAME = re.compile(r"pass(word|wd|phrase)?(?![a-z])|secret|token|api_?key|private_?key", re.IGNORECASE)
# A value like this is a choice the form made (a status, an id, a key, a number), not text a
# person wrote: it is sent again as it was, without being shown.
CHOICE_VALUE = re.compile(r"[A-Za-z0-9_.:+-]{1,40}")


@dataclass(frozen=True)
class TypedField:
    name: str
    value: str
    shown: bool  # text a person wrote; otherwise a choice the form made, sent again unseen

    @property
    def rows(self) -> int:
        """Lines its box needs to show it whole on a phone (about 20 characters a line), at most 12."""
        lines = sum(1 + len(line) // 20 for line in self.value.splitlines())
        return max(2, min(12, lines))


@dataclass(frozen=True)
class TypedForm:
    """A form post, sorted for the page that offers it back."""

    action: str  # the address it was posted to (path and query), where "Send again" posts it
    fields: list[TypedField]  # in the order they were sent, all sent again
    withheld: list[str]  # secrets: empty inputs to type again
    files: list[str]  # attachments a page cannot carry
    csrf: bool  # the form carried a CSRF token: the page adds a fresh one


def typed_form(request: Request) -> TypedForm | None:
    """The form this request posted, or None when it posted none (a GET, a JSON body)."""
    if request.method not in STATE_CHANGING or request.mimetype not in FORM_TYPES:
        return None
    fields: list[TypedField] = []
    withheld: list[str] = []
    for name, value in request.form.items(multi=True):
        if name == CSRF_FIELD:
            continue
        if SECRET_NAME.search(name):
            if name not in withheld:
                withheld.append(name)
        else:
            fields.append(TypedField(name, value, shown=bool(value.strip()) and not CHOICE_VALUE.fullmatch(value)))
    return TypedForm(
        action=request.full_path.rstrip("?"), fields=fields, withheld=withheld,
        files=[name for name, upload in request.files.items(multi=True) if upload.filename],
        csrf=CSRF_FIELD in request.form,
    )
