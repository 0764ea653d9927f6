"""Conditional answers for polled fragments: ETag from a cheap fingerprint, 304 when unchanged."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import current_app, make_response, request

# Rendered fragments that are the same for every reader (the board's rows), by ETag, per app:
# when the board changes every few seconds, its 200 open boards share one render per change.
SHARED_ENTRIES = 64


class SharedRenders:
    """A small, thread-safe LRU of rendered markup by ETag."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_render(self, etag: str, render: Callable[[], Any]) -> Any:
        with self.lock:
            if etag in self.entries:
                self.entries.move_to_end(etag)
                return self.entries[etag]
        body = render()
        if isinstance(body, str):
            with self.lock:
                self.entries[etag] = body
                while len(self.entries) > SHARED_ENTRIES:
                    self.entries.popitem(last=False)
        return body


def _shared_renders() -> SharedRenders:
    return current_app.extensions.setdefault("shared_renders", SharedRenders())


def conditional(
    fingerprint: str, render: Callable[[], Any], *, status: int = 200, vary: tuple[str, ...] = (),
    shared: bool = False,
) -> Any:
    """Answer 304 when the client already holds `fingerprint`'s page, else render it.

    The fingerprint must change whenever the rendered markup could; rendering is skipped
    entirely on a match, which is what keeps every open board's 5-second poll cheap. With
    `shared`, the markup is the same for everyone whose request gives this fingerprint (nothing
    personal in it), so one render per fingerprint is kept and served to the others.
    """
    etag = hashlib.sha1(fingerprint.encode()).hexdigest()
    if status == 200 and etag in request.if_none_match:
        response = make_response("", 304)
    elif shared and status == 200:
        response = make_response(_shared_renders().get_or_render(etag, render), status)
    else:
        response = make_response(render(), status)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    for header in ("Cookie", *vary):
        response.vary.add(header)
    return response
