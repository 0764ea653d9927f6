"""Login brute force is held by the rate limit; API tokens are revocable and scoped to roles.

Failures slow down one (account, address) pair with growing waits, and one address guessing
across accounts is held after 10 failures in 15 minutes (incidents/accounts.py); an account
is never held as a whole, so nobody can lock the duty manager out. There is no password login under /api/v1: scripts authenticate
with bearer tokens only (checked below), so the web form is the one login path to hold.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from console import create_app
from incidents import accounts
from incidents.accounts import LOGIN_MAX_FAILURES
from incidents.actors import Actor
from incidents.errors import InvalidInput
from incidents.models import AuditRecord, LoginAttempt, Role, User
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.snapshot import snapshot


def _login(client, username: str, password: str, ip: str = "198.51.100.7", **headers: str):  # noqa: ANN001, ANN202
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers)


def _signed_in(client) -> bool:  # noqa: ANN001
    return client.get("/").status_code == 200


def test_one_address_is_held_after_ten_failures_across_accounts(app, make_user) -> None:  # noqa: ANN001
    make_user(Role.AGENT, "agent-a")
    attacker = app.test_client()
    for n in range(LOGIN_MAX_FAILURES):
        assert _login(attacker, f"user{n}", "wrong-password", ip="192.0.2.66").status_code == 401
    assert _login(attacker, "agent-a", PASSWORD, ip="192.0.2.66").status_code == 429
    assert not _signed_in(attacker)
    assert _login(app.test_client(), "agent-a", PASSWORD, ip="192.0.2.67").status_code == 303


def test_a_held_attempt_is_not_even_checked_or_recorded(app, make_user, engine) -> None:  # noqa: ANN001
    """While held, guesses cost nothing and leave no trace that could be used to probe passwords."""
    make_user(Role.AGENT, "probe")
    client = app.test_client()
    for n in range(LOGIN_MAX_FAILURES):
        _login(client, "probe", f"nope-{n}")
    before = snapshot(engine)
    assert _login(client, "probe", PASSWORD).status_code == 429
    assert _login(client, "probe", "still-wrong").status_code == 429
    assert snapshot(engine) == before


def test_forged_forwarded_for_does_not_dodge_the_address_limit(app, make_user) -> None:  # noqa: ANN001
    """Without CRISIS_TRUSTED_PROXIES an X-Forwarded-For is the client's word: ignored."""
    make_user(Role.AGENT, "agent-b")
    client = app.test_client()
    for n in range(LOGIN_MAX_FAILURES):
        _login(client, f"nobody{n}", "x" * 12, ip="192.0.2.80", **{"X-Forwarded-For": f"10.9.8.{n}"})
    response = _login(client, "agent-b", PASSWORD, ip="192.0.2.80", **{"X-Forwarded-For": "10.9.9.9"})
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(engine, database_url, make_user) -> None:  # noqa: ANN001
    make_user(Role.AGENT, "agent-c")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "TRUSTED_PROXIES": 1})
    proxy = "10.0.0.2"  # every request arrives from the proxy
    client = app.test_client()
    for n in range(LOGIN_MAX_FAILURES):
        _login(client, f"nobody{n}", "x" * 12, ip=proxy, **{"X-Forwarded-For": "203.0.113.50"})
    assert _login(client, "agent-c", PASSWORD, ip=proxy, **{"X-Forwarded-For": "203.0.113.50"}).status_code == 429
    other = app.test_client()
    assert _login(other, "agent-c", PASSWORD, ip=proxy, **{"X-Forwarded-For": "203.0.113.51"}).status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        addresses = set(session.scalars(sa.select(LoginAttempt.ip)))
    assert addresses == {"203.0.113.50", "203.0.113.51"}


def test_there_is_no_password_login_under_the_api(app) -> None:  # noqa: ANN001
    """Scripts use bearer tokens; a password endpoint there would be a second path to hold."""
    api_rules = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/hooks/"))]
    # An admin's token setting someone's temporary password checks no password: not a login.
    api_rules.remove("/api/v1/users/<username>/password")
    assert api_rules and not [r for r in api_rules if "login" in r or "session" in r or "password" in r]
    client = app.test_client()
    response = client.post("/api/v1/login", json={"username": "admin", "password": PASSWORD})
    assert response.status_code in (401, 404)


# --- API tokens ----------------------------------------------------------------------------------

def test_a_revoked_token_is_refused_at_once(app, client) -> None:  # noqa: ANN001
    """What `crisis token create` / `crisis token revoke` do, through the same account functions."""
    with app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="deploy-bot", role="duty_manager", user_id=None,
                                               actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200
    hook = client.post(f"/hooks/generic?token={secret}", json={"title": "磁盘满", "status": "firing"})
    assert hook.status_code == 201
    with app.extensions["db_sessionmaker"]() as session:
        accounts.revoke_token(session, name="deploy-bot", actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401
    assert client.post("/api/v1/incidents", headers=headers,
                       json={"kind": "outage", "severity": "P1", "title": "x"}).status_code == 401
    assert client.post(f"/hooks/generic?token={secret}", json={"title": "磁盘满", "status": "firing"}).status_code == 401
    assert client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}x"}).status_code == 401


def test_tokens_are_scoped_to_their_role(app, client, api_as) -> None:  # noqa: ANN001
    admin, comms, agent, viewer = (api_as(r) for r in (Role.ADMIN, Role.COMMS, Role.AGENT, Role.VIEWER))
    ref = admin("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P2", "title": "短信延迟"}).json[
        "reference"]
    version = admin("GET", f"/api/v1/incidents/{ref}").json["version"]
    # comms speaks for the company but does not command: no transition, acknowledgement or edit.
    assert comms("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "identified"}).status_code == 403
    assert comms("POST", f"/api/v1/incidents/{ref}/acknowledge").status_code == 403
    assert comms("PATCH", f"/api/v1/incidents/{ref}", json={"version": version, "title": "x"}).status_code == 403
    # (202: the update waits for a duty manager's sign-off, as the comms settings may ask)
    assert comms("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "短信验证码延迟"}).status_code == 200
    assert comms("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "正在处理"}).status_code in (201, 202)
    # agents work the case but do not publish; viewers only read.
    assert agent("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "x"}).status_code == 403
    assert agent("POST", f"/api/v1/incidents/{ref}/notes", json={"body": "已联系"}).status_code == 201
    assert viewer("POST", f"/api/v1/incidents/{ref}/notes", json={"body": "x"}).status_code == 403
    assert viewer("POST", "/hooks/generic", json={"title": "x", "status": "firing"}).status_code == 403
    assert viewer("GET", f"/api/v1/incidents/{ref}").status_code == 200
    # Admin-only settings stay admin-only for every lesser token.
    for call in (comms, agent, viewer):
        assert call("GET", "/api/v1/channels").status_code == 403
    after = admin("GET", f"/api/v1/incidents/{ref}").json
    assert after["status"] == "investigating" and after["title"] == "短信延迟"


def test_a_query_token_works_only_for_alert_hooks(client, api_as) -> None:  # noqa: ANN001
    """?token= exists for senders that cannot set headers; the API proper never reads it (it leaks into logs)."""
    call = api_as(Role.ADMIN)
    assert client.get(f"/api/v1/incidents?token={call.token}").status_code == 401
    assert client.post(f"/hooks/generic?token={call.token}", json={"title": "x", "status": "firing"}).status_code == 201


def test_a_token_stops_with_its_persons_account(app, client, make_user) -> None:  # noqa: ANN001
    """A token issued to someone works while their account is active, and not after it is deactivated."""
    person = make_user(Role.DUTY_MANAGER, "leaver")
    with app.extensions["db_sessionmaker"]() as session:
        _token, secret = accounts.create_token(session, name="leaver-laptop", role="duty_manager",
                                               user_id=person.id, actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/notifications", headers=headers).status_code == 200
    with app.extensions["db_sessionmaker"]() as session:
        session.get(User, person.id).active = False
        session.commit()
    assert client.get("/api/v1/notifications", headers=headers).status_code == 401
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401


def test_sign_in_never_sends_people_to_another_site(app, make_user) -> None:  # noqa: ANN001
    """?next= after sign-in and the language switch stay on this site, whatever the spelling."""
    user = make_user(Role.AGENT, "traveller")
    for target in ["//evil.example/", "/\\evil.example/", "/\\/evil.example", "/\t/evil.example",
                   "/\n/evil.example", "https://evil.example/", "javascript:alert(1)"]:
        client = app.test_client()
        response = client.post("/login", query_string={"next": target},
                               data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 303
        assert response.headers["Location"] == "/", (target, response.headers["Location"])
        switched = client.post("/language", data={"locale": "en", "next": target})
        assert switched.headers["Location"] == "/", (target, switched.headers["Location"])
    kept = app.test_client().post("/login", query_string={"next": "/incidents/new?kind=outage"},
                                  data={"username": user.username, "password": PASSWORD})
    assert kept.headers["Location"] == "/incidents/new?kind=outage"


# --- who may be held, and for how long ------------------------------------------------------------

def test_fifty_failures_from_twenty_five_addresses_never_lock_out_the_owner(app, make_user) -> None:  # noqa: ANN001
    make_user(Role.DUTY_MANAGER, "duty-lead")
    attacker = app.test_client()
    for n in range(50):
        assert _login(attacker, "duty-lead", f"guess-{n}", ip=f"203.0.113.{n % 25 + 1}").status_code == 401
    owner = app.test_client()
    assert _login(owner, "duty-lead", PASSWORD, ip="198.51.100.20").status_code == 303
    assert owner.get("/", environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code == 200


def test_one_pair_slows_down_with_growing_waits(db_session, make_user) -> None:  # noqa: ANN001
    """The (account, address) pair pays: free tries, then 1 s, 2 s, 4 s … up to the window."""
    make_user(Role.AGENT, "slowed")
    at, waits = FIXED_NOW, []
    for _ in range(accounts.PAIR_FREE_FAILURES + 4):
        wait = accounts.login_retry_after(db_session, username="slowed", ip="192.0.2.5", now=at)
        waits.append(wait.total_seconds() if wait else 0)
        at += wait or timedelta(0)
        assert accounts.authenticate(db_session, username="Slowed", password="wrong-password", ip="192.0.2.5",
                                     now=at) is None
    assert waits == [0] * accounts.PAIR_FREE_FAILURES + [1, 2, 4, 8]
    # Another address is not slowed down, and an admin may clear the account's failures.
    assert accounts.login_retry_after(db_session, username="slowed", ip="192.0.2.6", now=at) is None
    assert accounts.login_retry_after(db_session, username="slowed", ip="192.0.2.5", now=at) is not None
    assert accounts.clear_login_failures(db_session, username="SLOWED", actor=Actor.system("test"), now=at) == 9
    assert accounts.login_retry_after(db_session, username="slowed", ip="192.0.2.5", now=at) is None
    [audit] = db_session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "user.unlocked")).all()
    assert audit.after == {"failures_cleared": 9}


def test_names_are_one_whatever_their_case_or_width(app, make_user, db_session) -> None:  # noqa: ANN001
    make_user(Role.ADMIN, "U_admin")
    for spelling in ("u_admin", "U_ADMIN", "Ｕ＿ａｄｍｉｎ"):
        with pytest.raises(InvalidInput):
            accounts.create_user(db_session, username=spelling, password=PASSWORD, role="agent",
                                 actor=Actor.system("test"), now=FIXED_NOW)
    # The database holds it too, whoever writes.
    db_session.add(User(username="u_ADMIN", display_name="x", password_hash="x", role=Role.AGENT, locale="en",
                        active=True, created_at=FIXED_NOW))
    with pytest.raises(sa.exc.IntegrityError):
        db_session.flush()
    db_session.rollback()
    assert _login(app.test_client(), "u_admin", PASSWORD).status_code == 303
    assert _login(app.test_client(), "Ｕ_ＡＤＭＩＮ", PASSWORD).status_code == 303


def test_an_admin_unlocks_from_the_command_line(app, make_user, database_url, monkeypatch) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from console.cli import main
    make_user(Role.AGENT, "clumsy")
    client = app.test_client()
    for n in range(accounts.PAIR_FREE_FAILURES):
        _login(client, "clumsy", f"typo-{n}")
    assert _login(client, "clumsy", PASSWORD).status_code == 429
    monkeypatch.setenv("CRISIS_DATABASE_URL", database_url)
    monkeypatch.setenv("CRISIS_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(main, ["user", "unlock", "Clumsy"])
    assert result.exit_code == 0 and "cleared 5 failed sign-ins" in result.output
    assert _login(client, "clumsy", PASSWORD).status_code == 303
    assert CliRunner().invoke(main, ["user", "unlock", "nobody"]).exit_code == 1


def test_an_admin_unlocks_through_the_api(app, make_user, api_as) -> None:  # noqa: ANN001
    make_user(Role.AGENT, "fumbler")
    client = app.test_client()
    for n in range(accounts.PAIR_FREE_FAILURES):
        _login(client, "fumbler", f"typo-{n}")
    assert _login(client, "fumbler", PASSWORD).status_code == 429
    assert api_as(Role.DUTY_MANAGER)("POST", "/api/v1/users/fumbler/unlock", json={}).status_code == 403
    cleared = api_as(Role.ADMIN)("POST", "/api/v1/users/FUMBLER/unlock", json={})
    assert cleared.status_code == 200 and cleared.json == {"username": "fumbler", "cleared": 5}
    assert _login(client, "fumbler", PASSWORD).status_code == 303
