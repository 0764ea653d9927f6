"""Cookies and security headers: every kind of answer the console gives, behind TLS or not.

The session and remember-me cookies are HttpOnly and SameSite=Lax, and Secure whenever the
request came over https (directly, or through a proxy trusted by CRISIS_TRUSTED_PROXIES) or
CRISIS_SECURE_COOKIES is set. X-Forwarded-* from an untrusted client changes nothing. Every
answer (console HTML, JSON, the public page from Flask and from the front cache, feeds,
errors, static files) carries a CSP without inline script and with frame-ancestors 'none',
and X-Content-Type-Options: nosniff; no page the console renders contains an inline script.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from console import create_app
from console.i18n import LANGUAGE_COOKIE
from incidents.models import Role
from tests.conftest import PASSWORD, sign_in


def _cookies(response) -> dict[str, str]:  # noqa: ANN001
    """Set-Cookie headers by cookie name."""
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in set_cookie.split(";")[1:]}


def _samesite(set_cookie: str) -> str:
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "samesite":
            return value
    return ""


def _log_in(client, user, **kwargs) -> object:  # noqa: ANN001
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "remember": "1"},
                           **kwargs)
    assert response.status_code == 303, response.text
    return response


def test_session_and_remember_cookies_are_httponly_lax_and_not_secure_over_http(client, make_user) -> None:  # noqa: ANN001
    cookies = _cookies(_log_in(client, make_user(Role.AGENT)))
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        assert "httponly" in _attributes(cookies[name]), cookies[name]
        assert _samesite(cookies[name]) == "Lax"
        assert "secure" not in _attributes(cookies[name])


def test_cookies_are_secure_when_the_request_came_over_https(client, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.AGENT)
    cookies = _cookies(_log_in(client, user, base_url="https://console.example"))
    for name in ("session", "remember_token"):
        assert {"secure", "httponly"} <= _attributes(cookies[name]), cookies[name]
    language = client.post("/language", data={"locale": "en"}, base_url="https://console.example")
    assert {"secure", "httponly"} <= _attributes(_cookies(language)[LANGUAGE_COOKIE])


def test_forwarded_proto_from_an_untrusted_client_is_ignored(client, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.AGENT)
    cookies = _cookies(_log_in(client, user, headers={"X-Forwarded-Proto": "https"}))
    assert "secure" not in _attributes(cookies["session"])


def _app(engine, database_url, **config):  # noqa: ANN001, ANN202
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "WTF_CSRF_ENABLED": False,
                       "SECRET_KEY": "test-secret", **config})


def test_behind_a_trusted_proxy_forwarded_https_makes_cookies_secure(app, engine, database_url, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.AGENT)
    client = _app(engine, database_url, TRUSTED_PROXIES=1).test_client()
    response = _log_in(client, user, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    cookies = _cookies(response)
    assert {"secure", "httponly"} <= _attributes(cookies["session"])
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_cookies_setting_forces_secure_even_over_http(app, engine, database_url, make_user) -> None:  # noqa: ANN001
    user = make_user(Role.AGENT)
    client = _app(engine, database_url, SESSION_COOKIE_SECURE=True).test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "remember": "1"},
                           base_url="https://console.example")  # the jar only sends Secure cookies back over https
    for name in ("session", "remember_token"):
        assert "secure" in _attributes(_cookies(response)[name])
    over_http = _app(engine, database_url, SESSION_COOKIE_SECURE=True).test_client().post(
        "/login", data={"username": user.username, "password": PASSWORD})
    assert "secure" in _attributes(_cookies(over_http)["session"])


def test_the_setting_rejects_nonsense(monkeypatch) -> None:  # noqa: ANN001
    from pathlib import Path

    from console.config import from_environment

    monkeypatch.setenv("CRISIS_SECRET_KEY", "x")
    monkeypatch.setenv("CRISIS_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="CRISIS_TRUSTED_PROXIES"):
        from_environment(Path("/nonexistent"))
    monkeypatch.setenv("CRISIS_TRUSTED_PROXIES", "2")
    assert from_environment(Path("/nonexistent"))["TRUSTED_PROXIES"] == 2


# --- headers on every kind of answer -------------------------------------------------------------

def _public_incident(api) -> str:  # noqa: ANN001
    created = api("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P2", "title": "支付失败"})
    ref = created.json["reference"]
    assert api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "支付延迟"}).status_code == 200
    assert api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "正在处理"}).status_code == 201
    return ref


def _assert_security_headers(response, what: str) -> None:  # noqa: ANN001
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()}
    assert "script-src" in directives or "default-src" in directives, f"{what}: no CSP ({response.status_code})"
    scripts = directives.get("script-src", directives.get("default-src", ""))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "data:" not in scripts, what
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", what
    assert directives.get("object-src") == "object-src 'none'", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("X-Frame-Options") == "DENY", what


def test_every_kind_of_answer_carries_the_security_headers(client, make_user, api_as) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    ref = _public_incident(api)
    anonymous = client.application.test_client()
    cases = {
        "public page (rendered)": anonymous.get("/status"),
        "public page (front cache)": anonymous.get("/status"),
        "public history": anonymous.get("/status/history"),
        "public incident": anonymous.get(f"/status/incidents/{ref}"),
        "atom feed": anonymous.get("/history.atom"),
        "rss feed": anonymous.get("/history.rss"),
        "incident feed": anonymous.get(f"/status/incidents/{ref}.atom"),
        "statuspage json": anonymous.get("/api/v2/summary.json"),
        "login page": anonymous.get("/login"),
        "redirect to login": anonymous.get("/"),
        "static file": anonymous.get("/static/css/console.css"),
        "health": anonymous.get("/healthz"),
        "not found page": anonymous.get("/no/such/page"),
        "public 404": anonymous.get("/status/incidents/INC-19990101-0001"),
        "method not allowed": anonymous.put("/login"),
        "api 401": anonymous.get("/api/v1/incidents"),
        "api json": api("GET", "/api/v1/incidents"),
        "api 404": api("GET", "/api/v1/incidents/INC-19990101-0001"),
        "api 422": api("POST", "/api/v1/incidents", json={"kind": "outage"}),
        "api 400": api("POST", "/api/v1/incidents", data="{", headers={"Content-Type": "application/json"}),
        "hook 401": anonymous.post("/hooks/generic", json={}),
    }
    etag = cases["public page (front cache)"].headers["ETag"]
    cases["public page 304"] = anonymous.get("/status", headers={"If-None-Match": etag})
    sign_in(client, make_user(Role.VIEWER))
    cases["board"] = client.get("/")
    cases["incident page"] = client.get(f"/incidents/{ref}")
    cases["htmx fragment"] = client.get(f"/incidents/{ref}/timeline", headers={"HX-Request": "true"})
    cases["forbidden page"] = client.get("/settings/channels")
    cases["report csv"] = client.get("/reports/incidents.csv")
    assert cases["public page 304"].status_code == 304
    assert cases["forbidden page"].status_code == 403
    for what, response in cases.items():
        assert response.status_code < 500, f"{what}: {response.status_code}"
        _assert_security_headers(response, what)
        response.close()


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
        names = {name for name, _ in attrs}
        self._open = tag == "script" and "src" not in names
        self.handlers += [f"<{tag} {name}>" for name in names if name.startswith("on")]

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(data.strip()[:60])

    def handle_endtag(self, tag: str) -> None:
        self._open = False


def test_no_page_relies_on_inline_script(client, make_user, api_as) -> None:  # noqa: ANN001
    """The CSP forbids inline script, so no page may carry any (it would silently not run)."""
    ref = _public_incident(api_as(Role.ADMIN))
    sign_in(client, make_user(Role.ADMIN))
    pages = ["/", f"/incidents/{ref}", "/incidents/new", "/deadlines", "/monitors/mentions", "/monitors/sources",
             "/monitors/rules", "/settings/channels", "/settings/playbooks/outage", "/settings/calendar", "/roster",
             "/scripts", "/maintenance", "/admin/components", "/admin/subscribers", "/reports", "/complaints",
             "/settings/intake", f"/incidents/{ref}/review", "/notifications", "/talking-points", "/compensation",
             "/status", "/status/history", f"/status/incidents/{ref}", "/status/subscribe"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Scripts()
        parser.feed(response.text)
        assert parser.inline == [] and parser.handlers == [], f"{page}: {parser.inline or parser.handlers}"
    login = client.application.test_client().get("/login")
    parser = _Scripts()
    parser.feed(login.text)
    assert parser.inline == [] and parser.handlers == []
