"""Running behind a reverse proxy and TLS: whom to believe about the client, and Secure cookies.

`CRISIS_TRUSTED_PROXIES=N` says N reverse proxies stand in front of the console (nginx, a
load balancer): the last N entries of X-Forwarded-For/-Proto/-Host/-Port are then believed,
so the login rate limit counts the real client's address, the audit log records it, and a
request that reached the proxy over https counts as secure. With the default 0 those
headers are ignored: anyone could send them.

Every cookie the console sets (the session, the remember-me cookie, the language) gets the
`Secure` flag when the request came over https, directly or through a trusted proxy, and
always with `CRISIS_SECURE_COOKIES=1`; this is done at the WSGI edge so that no cookie,
whoever sets it, is missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

_SECURE = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)


class SecureCookies:
    """WSGI layer adding `Secure` to every Set-Cookie of a response to an https request."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], *, always: bool) -> None:
        self.wsgi_app = wsgi_app
        self.always = always

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not (self.always or environ.get("wsgi.url_scheme") == "https"):
            return self.wsgi_app(environ, start_response)

        def secure_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(name, value + "; Secure" if name.lower() == "set-cookie" and not _SECURE.search(value)
                        else value) for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start)


def init_app(app: Flask) -> None:
    """Wrap the whole WSGI stack (call last): proxy headers first, then Secure cookies."""
    app.wsgi_app = SecureCookies(app.wsgi_app, always=bool(app.config["SESSION_COOKIE_SECURE"]))  # type: ignore[method-assign]
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
