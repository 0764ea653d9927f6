"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (tests/support/oidc_provider.py).

A person signing in for the first time gets an account with the mapped role, or a refusal and no
account; a forged, expired, wrong-audience or wrong-nonce ID token and a state mismatch are
refused; a same-named local account is never taken over unless an admin linked it; password
sign-in can be kept for the break-glass admin only; the client secret is never shown or logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from joserfc.jwk import RSAKey

from incidents.models import AuditRecord, Role, Setting, User
from incidents.sso_models import SsoIdentity
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, running_provider

DUTY_RULE = {"claim": "groups", "value": "crisis-duty", "role": "duty_manager"}
PERSON = {"sub": "u-1001", "preferred_username": "Ｌｉ.Wei", "email": "li.wei@example.com", "name": "李伟",
          "groups": ["staff", "crisis-duty"]}


def english(app) -> Any:  # noqa: ANN001
    """A browser reading the console in English (assertions below quote it)."""
    client = app.test_client()
    client.set_cookie("crisis_lang", "en")
    return client


@pytest.fixture()
def provider(app, client) -> Iterator[FakeProvider]:  # noqa: ANN001
    """The provider, and the console told the time and allowed to reach loopback."""
    client.set_cookie("crisis_lang", "en")
    app.config["CLOCK"] = lambda: FIXED_NOW
    app.config["ALLOWED_NETWORKS"] = ["127.0.0.0/8"]
    with running_provider(FIXED_NOW, dict(PERSON)) as running:
        yield running


@pytest.fixture()
def admin_api(api_as):  # noqa: ANN001, ANN201
    return api_as(Role.ADMIN)


def configure(admin_api, provider: FakeProvider, **changes: Any) -> Any:  # noqa: ANN001
    body = {"enabled": True, "name": "Company SSO", "issuer": provider.issuer + "/.well-known/openid-configuration",
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "rules": [DUTY_RULE], **changes}
    response = admin_api("PUT", "/api/v1/sso", json=body)
    assert response.status_code == 200, response.text
    return response


def through_provider(client, start: str = "/sso/start") -> Any:  # noqa: ANN001
    """Click "Sign in with …": the console sends the browser to the provider, which sends it back."""
    leaving = client.get(start)
    assert leaving.status_code == 302, leaving.text
    back = requests.get(leaving.headers["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    target = urlsplit(back.headers["Location"])
    return client.get(f"{target.path}?{target.query}")


def users(app) -> dict[str, Role]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return {user.username: user.role for user in session.scalars(sa.select(User))}


def test_first_sign_in_creates_the_account_with_the_mapped_role(app, client, provider, admin_api) -> None:  # noqa: ANN001
    configure(admin_api, provider, rules=[DUTY_RULE, {"claim": "groups", "value": "staff", "role": "agent"}])
    response = through_provider(client)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert users(app)["li.wei"] == Role.DUTY_MANAGER  # the first matching rule wins
    with app.extensions["db_sessionmaker"]() as session:
        identity = session.scalar(sa.select(SsoIdentity))
        assert (identity.issuer, identity.subject, identity.user.display_name) == (provider.issuer, "u-1001", "李伟")
        actions = session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert actions[-2:] == ["user.create", "user.signed_in"]
    # PKCE: the console sent its verifier with the code, and its secret only to the token endpoint.
    assert provider.token_requests[0]["form"]["code_verifier"]


def test_a_rename_in_the_provider_finds_the_same_account(app, provider, admin_api) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    through_provider(english(app))
    provider.person["preferred_username"] = "wei.li"
    again = english(app)
    assert through_provider(again).status_code == 303
    assert list(users(app)) == ["li.wei"]


def test_the_email_local_part_names_a_person_without_a_preferred_username(app, provider, admin_api) -> None:  # noqa: ANN001
    configure(admin_api, provider, default_role="agent", rules=[])
    del provider.person["preferred_username"]
    provider.person["email"] = "Zhang.San@example.com"
    assert through_provider(english(app)).status_code == 303
    assert users(app)["zhang.san"] == Role.AGENT


@pytest.mark.parametrize("locale, text", [("en", "gives you no role in this console"), ("zh_Hans_CN", "没有")])
def test_no_matching_rule_is_refused_and_makes_no_account(app, client, provider, admin_api, locale, text) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    provider.person["groups"] = ["staff"]
    client.set_cookie("crisis_lang", locale)
    response = through_provider(client)
    assert response.status_code == 403
    assert text in response.text
    assert "li.wei" not in users(app)
    assert client.get("/").status_code == 302


def _forged(provider: FakeProvider) -> None:
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def _expired(provider: FakeProvider) -> None:
    provider.now = FIXED_NOW - timedelta(hours=1)


@pytest.mark.parametrize("tamper", [
    pytest.param(_forged, id="forged-signature"),
    pytest.param(_expired, id="expired"),
    pytest.param(lambda p: p.overrides.update(aud="another-client"), id="wrong-audience"),
    pytest.param(lambda p: p.overrides.update(nonce="replayed-nonce"), id="wrong-nonce"),
    pytest.param(lambda p: p.overrides.update(iss="http://127.0.0.1:1"), id="wrong-issuer"),
])
def test_a_bad_id_token_is_refused(app, client, provider, admin_api, tamper) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    tamper(provider)
    response = through_provider(client)
    assert response.status_code == 403
    assert "could not be verified" in response.text
    assert "li.wei" not in users(app)
    assert client.get("/").status_code == 302


def test_a_state_that_is_not_this_browsers_is_refused(app, client, provider, admin_api) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    leaving = client.get("/sso/start")
    back = urlsplit(requests.get(leaving.headers["Location"], allow_redirects=False, timeout=5).headers["Location"])
    code = dict(part.split("=", 1) for part in back.query.split("&"))["code"]
    response = client.get(f"/sso/callback?code={code}&state=someone-elses-state")
    assert response.status_code == 403 and "was not started here" in response.text
    # Another browser bringing this browser's answer has no pending sign-in at all.
    assert english(app).get(f"{back.path}?{back.query}").status_code == 403
    assert "li.wei" not in users(app) and not provider.token_requests


def test_a_local_account_with_the_same_name_is_not_taken_over_until_linked(app, client, provider, admin_api,  # noqa: ANN001
                                                                          make_user) -> None:
    make_user(Role.AGENT, "li.wei")
    configure(admin_api, provider)
    refused = through_provider(client)
    assert refused.status_code == 403 and "must link it" in refused.text
    assert client.get("/").status_code == 302

    linked = admin_api("PUT", "/api/v1/sso/links/LI.WEI", json={"subject": "u-1001"})
    assert linked.status_code == 200 and linked.json["username"] == "li.wei"
    assert through_provider(client).status_code == 303
    assert users(app)["li.wei"] == Role.AGENT  # the account keeps its own role
    assert admin_api("GET", "/api/v1/sso/links").json["links"][0]["origin"] == "admin"


def test_password_sign_in_off_but_for_the_break_glass_admin(app, provider, admin_api, make_user) -> None:  # noqa: ANN001
    root, agent = make_user(Role.ADMIN, "root"), make_user(Role.AGENT, "agent7")
    refused = admin_api("PUT", "/api/v1/sso", json={"local_login": False, "break_glass": "agent7"})
    assert refused.status_code == 422 and refused.json["error"]["field"] in ("break_glass", "local_login")
    configure(admin_api, provider, local_login=False, break_glass="ROOT")

    page = english(app).get("/login")
    assert "Sign in with Company SSO" in page.text and "break-glass administrator" in page.text
    blocked = english(app).post("/login", data={"username": agent.username, "password": PASSWORD})
    assert blocked.status_code == 403 and "switched off" in blocked.text
    assert english(app).post("/login", data={"username": root.username, "password": PASSWORD}).status_code == 303
    # Demoted (the last-admin rule needs another admin first), the break-glass name opens nothing.
    make_user(Role.ADMIN, "second-admin")
    assert admin_api("PATCH", "/api/v1/users/root", json={"role": "duty_manager"}).status_code == 200
    demoted = english(app).post("/login", data={"username": root.username, "password": PASSWORD})
    assert demoted.status_code == 403 and "switched off" in demoted.text


def test_the_login_page_offers_the_provider_in_the_readers_language(app, client, provider, admin_api) -> None:  # noqa: ANN001
    assert "Sign in with" not in client.get("/login").text
    configure(admin_api, provider)
    assert "Sign in with Company SSO" in client.get("/login").text
    client.set_cookie("crisis_lang", "zh_Hans_CN")
    assert "使用 Company SSO 登录" in client.get("/login").text


def test_the_secret_never_appears_in_answers_audit_or_logs(app, client, provider, admin_api, make_user,  # noqa: ANN001
                                                          caplog) -> None:
    caplog.set_level(logging.DEBUG)
    put = configure(admin_api, provider)
    got = admin_api("GET", "/api/v1/sso")
    assert got.json["client_secret_set"] is True and "client_secret" not in got.json
    # Changing other fields without a secret keeps the stored one.
    assert admin_api("PUT", "/api/v1/sso", json={"name": "Staff login"}).json["client_secret_set"] is True
    through_provider(client)
    admin = make_user(Role.ADMIN, "settings-admin")
    page_client = english(app)
    page_client.post("/login", data={"username": admin.username, "password": PASSWORD})
    page = page_client.get("/settings/sso")
    assert page.status_code == 200 and "Staff login" in page.text
    with app.extensions["db_sessionmaker"]() as session:
        audit = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "setting.changed")).all()
        stored = session.get(Setting, "sso").value
    assert stored["client_secret"] == CLIENT_SECRET  # kept for the token exchange, shown nowhere
    assert len(audit) == 2 and audit[0].after["client_secret_set"] is True
    for text in (put.text, got.text, page.text, caplog.text, *(repr((a.before, a.after)) for a in audit)):
        assert CLIENT_SECRET not in text


@pytest.mark.parametrize("body, field", [
    ({"rules": [{"claim": "groups", "value": "x", "role": "overlord"}]}, "rules.0.role"),
    ({"rules": [{"claim": "", "value": "x", "role": "agent"}]}, "rules.0.claim"),
    ({"enabled": True, "issuer": "https://sso.example.com"}, "client_id"),
    ({"issuer": "ftp://sso.example.com"}, "issuer"),
    ({"default_role": "root"}, "default_role"),
    ({"enabled": "yes"}, "enabled"),
])
def test_bad_settings_are_refused_at_their_field_and_nothing_is_saved(app, admin_api, body, field) -> None:  # noqa: ANN001
    response = admin_api("PUT", "/api/v1/sso", json=body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field and response.json["error"]["code"]
    with app.extensions["db_sessionmaker"]() as session:
        assert session.get(Setting, "sso") is None


def test_an_admin_sets_it_up_on_the_settings_page(app, provider, make_user) -> None:  # noqa: ANN001
    admin = make_user(Role.ADMIN, "boss")
    client = english(app)
    client.post("/login", data={"username": admin.username, "password": PASSWORD})
    form = {"enabled": "1", "name": "Company SSO", "issuer": provider.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "rule-0-claim": "groups", "rule-0-value": "crisis-duty",
            "rule-0-role": "overlord", "rule-1-claim": "", "rule-1-value": "", "rule-1-role": "", "default_role": ""}
    bad = client.post("/settings/sso", data=form)
    assert bad.status_code == 422 and 'id="err-rules.0.role"' in bad.text
    assert client.post("/settings/sso", data={**form, "rule-0-role": "duty_manager"}).status_code == 303
    assert "Sign in with Company SSO" in english(app).get("/login").text
    newcomer = english(app)
    assert through_provider(newcomer).status_code == 303
    assert users(app)["li.wei"] == Role.DUTY_MANAGER


def test_switching_single_sign_on_off_gives_password_sign_in_back(app, provider, admin_api, make_user) -> None:  # noqa: ANN001
    make_user(Role.ADMIN, "root")
    agent = make_user(Role.AGENT, "agent8")
    configure(admin_api, provider, local_login=False, break_glass="root")
    assert english(app).post("/login", data={"username": agent.username, "password": PASSWORD}).status_code == 403
    off = admin_api("PUT", "/api/v1/sso", json={"enabled": False})
    assert off.status_code == 200 and off.json["local_login"] is True
    assert english(app).post("/login", data={"username": agent.username, "password": PASSWORD}).status_code == 303
    assert english(app).get("/sso/start").status_code == 404


def test_a_person_the_provider_no_longer_grants_a_role_is_refused(app, client, provider, admin_api) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    assert through_provider(english(app)).status_code == 303
    provider.person["groups"] = ["staff"]
    assert through_provider(client).status_code == 403
    assert client.get("/").status_code == 302


def test_an_admin_links_and_unlinks_an_account_on_the_settings_page(app, provider, admin_api, make_user) -> None:  # noqa: ANN001
    configure(admin_api, provider)
    make_user(Role.COMMS, "li.wei")
    admin = make_user(Role.ADMIN, "boss")
    page = english(app)
    page.post("/login", data={"username": admin.username, "password": PASSWORD})
    assert page.post("/settings/sso/links", data={"username": "nobody", "subject": "u-1001"}).status_code == 422
    assert page.post("/settings/sso/links", data={"username": "li.wei", "subject": "u-1001"}).status_code == 303
    assert "u-1001" in page.get("/settings/sso").text
    assert through_provider(english(app)).status_code == 303
    assert page.post("/settings/sso/links/li.wei/remove").status_code == 303
    assert through_provider(english(app)).status_code == 403  # the same name again, no longer linked
    with app.extensions["db_sessionmaker"]() as session:
        actions = set(session.scalars(sa.select(AuditRecord.action)))
    assert {"user.sso_linked", "user.sso_unlinked"} <= actions
