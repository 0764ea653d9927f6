"""Conditional answers for polled fragments: ETag from a cheap fingerprint, 304 when unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import make_response, request


def conditional(fingerprint: str, render: Callable[[], Any], *, status: int = 200, vary: tuple[str, ...] = ()) -> Any:
    """Answer 304 when the client already holds `fingerprint`'s page, else render it.

    The fingerprint must change whenever the rendered markup could; rendering is skipped
    entirely on a match, which is what keeps every open board's 5-second poll cheap.
    """
    etag = hashlib.sha1(fingerprint.encode()).hexdigest()
    if status == 200 and etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(render(), status)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    for header in ("Cookie", *vary):
        response.vary.add(header)
    return response
