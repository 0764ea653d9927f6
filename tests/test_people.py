"""People and access: an admin's changes (API, pages, CLI), a person's own account, and sessions
that end server-side (a copied cookie stops working after sign-out, a new password or deactivation).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from console.cli import ensure_demo_admin, main
from incidents import people
from incidents.errors import InvalidInput
from incidents.models import ApiToken, AuditRecord, Role, User
from tests.conftest import PASSWORD, sign_in

NEW_PASSWORD = "a-brand-new-secret"


def _audit(app, action: str) -> list[AuditRecord]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)))


def _user(app, username: str) -> User:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalar(sa.select(User).where(User.username == username))


def _admin_api(client, make_user, make_token, username: str = "boss"):  # noqa: ANN001, ANN202
    """A call() with the token of an admin (a person, so the last-admin guard can apply to them)."""
    admin = make_user(Role.ADMIN, username)
    headers = make_token(Role.ADMIN, user_id=admin.id)

    def call(method: str, path: str, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    return call


def _copy_cookies(source, target) -> None:  # noqa: ANN001
    """What someone who copied the browser's cookies holds: the same session, elsewhere."""
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def _login(client, username: str, password: str = PASSWORD, **data: str):  # noqa: ANN001, ANN202
    return client.post("/login", data={"username": username, "password": password, **data})


# -- the API ---------------------------------------------------------------------------------

def test_admins_list_everyone_in_full_others_see_active_names(client, make_user, make_token, api_as) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "li.lei")
    assert admin("PATCH", "/api/v1/users/li.lei", json={"active": False}).status_code == 200
    listed = admin("GET", "/api/v1/users").get_json()["users"]
    assert {u["username"]: u["active"] for u in listed} == {"boss": True, "li.lei": False}
    assert set(listed[0]) >= {"mobile", "locale", "must_change_password", "failed_sign_ins"}
    assert "password_hash" not in listed[0]
    seen = api_as(Role.AGENT)("GET", "/api/v1/users").get_json()["users"]
    assert seen == [{"username": "boss", "display_name": "Boss", "role": "admin"}]


def test_patch_changes_role_profile_and_is_audited(app, client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "Han.Meimei")
    response = admin("PATCH", "/api/v1/users/ＨＡＮ.meimei", json={
        "role": "comms", "display_name": "  韩梅梅 ", "mobile": "138 0013 8000", "locale": "zh_Hans_CN"})
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert (body["role"], body["display_name"], body["mobile"], body["locale"]) == \
        ("comms", "韩梅梅", "+8613800138000", "zh_Hans_CN")
    assert admin("GET", "/api/v1/users/han.MEIMEI").get_json()["mobile"] == "+8613800138000"
    [role] = _audit(app, "user.role")
    assert (role.before, role.after) == ({"role": "agent"}, {"role": "comms"})
    [profile] = _audit(app, "user.profile")
    assert profile.after["mobile"] == "+8613800138000" and profile.actor_label == "api:token1"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"mobile": "12345"}, 422, "mobile"),
    ({"mobile": "+85213800138000"}, 422, "mobile"),
    ({"mobile": 13800138000}, 422, "mobile"),
    ({"role": "overlord"}, 422, "role"),
    ({"role": 10 ** 400}, 400, "role"),  # refused while reading the body: beyond 64 bits
    ({"active": "no"}, 422, "active"),
    ({"active": 0}, 422, "active"),
    ({"display_name": ["x"]}, 422, "display_name"),
    ({"display_name": "x" * 101}, 422, "display_name"),
    ({"display_name": "   "}, 422, "display_name"),
    ({"locale": "fr"}, 422, "locale"),
    ({"password_hash": "x"}, 400, "password_hash"),
])
def test_bad_values_are_refused_at_the_field_and_nothing_is_saved(client, make_user, make_token, body, status,
                                                                  field) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "target")
    response = admin("PATCH", "/api/v1/users/target", json={"role": "viewer", **body} if "role" not in body else body)
    assert response.status_code == status, response.text
    assert response.get_json()["error"]["field"] == field
    assert admin("GET", "/api/v1/users/target").get_json()["role"] == "agent"


def test_malformed_bodies_are_400_never_500(client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "target")
    headers = {"Content-Type": "application/json"}
    for raw in ("[" * 50_000 + "]" * 50_000, '{"role": ' + "[" * 5000 + "]" * 5000 + "}",
                '{"active": ' + "9" * 10_000 + "}", "{not json", '"a string"'):
        for method, path in (("PATCH", "/api/v1/users/target"), ("POST", "/api/v1/users/target/password")):
            response = admin(method, path, data=raw, headers=headers)
            assert response.status_code in (400, 422), (raw[:20], response.status_code)
    assert admin("PATCH", "/api/v1/users/target", data="role=x").status_code == 400
    assert admin("POST", "/api/v1/users/target/password", json={"password": 12345678901}).status_code == 422
    assert admin("POST", "/api/v1/users/target/password", json={"password": "short"}).status_code == 422
    assert admin("PATCH", "/api/v1/users/nobody", json={"role": "agent"}).status_code == 404
    assert admin("GET", "/api/v1/users/a%00b").status_code == 404
    assert admin("GET", "/api/v1/users/" + "x" * 5000).status_code == 404


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(app, client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    for body, field in (({"role": "agent"}, "role"), ({"active": False}, "active")):
        response = admin("PATCH", "/api/v1/users/boss", json=body)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert (error["field"], error["reason"]) == (field, "last_admin")
    assert _user(app, "boss").role == Role.ADMIN and _user(app, "boss").active
    make_user(Role.ADMIN, "deputy")
    assert admin("PATCH", "/api/v1/users/deputy", json={"active": False}).status_code == 200
    assert admin("PATCH", "/api/v1/users/boss", json={"role": "agent"}).status_code == 422  # deputy is inactive
    assert admin("PATCH", "/api/v1/users/deputy", json={"active": True}).status_code == 200
    assert admin("PATCH", "/api/v1/users/boss", json={"role": "duty_manager"}).status_code == 200
    assert [r.after for r in _audit(app, "user.activated")] == [{"active": True}]


def test_deactivating_ends_sessions_and_revokes_tokens_at_once(app, client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    colleague = make_user(Role.DUTY_MANAGER, "wang")
    their_token = make_token(Role.DUTY_MANAGER, user_id=colleague.id)
    browser = app.test_client()
    sign_in(browser, colleague)
    assert browser.get("/").status_code == 200
    assert client.get("/api/v1/incidents", headers=their_token).status_code == 200

    assert admin("PATCH", "/api/v1/users/wang", json={"active": False}).status_code == 200
    assert browser.get("/").status_code == 302
    assert client.get("/api/v1/incidents", headers=their_token).status_code == 401
    [record] = _audit(app, "user.deactivated")
    assert record.after == {"active": False, "tokens_revoked": 1}
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == colleague.id)) is not None

    assert admin("PATCH", "/api/v1/users/wang", json={"active": True}).status_code == 200
    assert _login(app.test_client(), "wang").status_code == 303
    assert client.get("/api/v1/incidents", headers=their_token).status_code == 401  # stays revoked


def test_a_temporary_password_must_be_replaced_before_anything_else(app, client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "zhao")
    old_browser = app.test_client()
    assert _login(old_browser, "zhao").status_code == 303

    response = admin("POST", "/api/v1/users/Zhao/password", json={})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    temporary = response.get_json()["temporary_password"]
    assert old_browser.get("/").status_code == 302  # their sessions ended
    assert _login(app.test_client(), "zhao").status_code == 401  # the old password is gone

    browser = app.test_client()
    response = _login(browser, "zhao", temporary)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert browser.get("/incidents/new").headers["Location"] == "/account"
    assert browser.get("/deadlines", headers={"HX-Request": "true"}).headers["HX-Redirect"] == "/account"
    assert browser.post("/account", data={"display_name": "x"}).headers["Location"] == "/account"
    page = browser.get("/account")
    assert page.status_code == 200 and "temporary password" in page.text

    response = browser.post("/account/password", data={"current_password": temporary, "new_password": NEW_PASSWORD,
                                                       "confirm_password": NEW_PASSWORD, "was_temporary": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert browser.get("/").status_code == 200
    assert not _user(app, "zhao").must_change_password
    assert len(_audit(app, "user.password_reset")) == 1 and len(_audit(app, "user.password_changed")) == 1


def test_an_admin_may_give_the_temporary_password_themselves(app, client, make_user, make_token) -> None:  # noqa: ANN001
    admin = _admin_api(client, make_user, make_token)
    make_user(Role.AGENT, "qian")
    response = admin("POST", "/api/v1/users/qian/password", json={"password": "told-by-phone-1"})
    assert response.get_json() == {"username": "qian", "must_change_password": True}
    assert _login(app.test_client(), "qian", "told-by-phone-1").headers["Location"] == "/account"


# -- sessions ended server-side ----------------------------------------------------------------

def test_a_copied_session_cookie_stops_working_after_sign_out(app, make_user) -> None:  # noqa: ANN001
    person = make_user(Role.AGENT, "sun")
    mine, copy = app.test_client(), app.test_client()
    sign_in(mine, person)
    _copy_cookies(mine, copy)
    assert copy.get("/").status_code == 200
    mine.post("/logout")
    assert copy.get("/").status_code == 302


def test_a_copied_remember_me_cookie_stops_working_after_sign_out(app, make_user) -> None:  # noqa: ANN001
    make_user(Role.AGENT, "zhou")
    mine = app.test_client()
    assert _login(mine, "zhou", remember="1").status_code == 303
    copy = app.test_client()
    copy.set_cookie("remember_token", mine.get_cookie("remember_token").value)
    assert copy.get("/").status_code == 200  # the cookie alone signs in
    later = app.test_client()
    later.set_cookie("remember_token", mine.get_cookie("remember_token").value)
    mine.post("/logout")
    assert later.get("/").status_code == 302


def test_changing_the_password_ends_every_other_session(app, make_user) -> None:  # noqa: ANN001
    person = make_user(Role.AGENT, "wu")
    mine, copy = app.test_client(), app.test_client()
    sign_in(mine, person)
    _copy_cookies(mine, copy)
    response = mine.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm_password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert mine.get("/").status_code == 200  # this browser goes on
    assert copy.get("/").status_code == 302
    assert _login(app.test_client(), "wu", NEW_PASSWORD).status_code == 303
    [record] = _audit(app, "user.password_changed")
    assert record.target_id == str(person.id)


def test_sessions_from_before_the_epoch_are_asked_to_sign_in(app, make_user) -> None:  # noqa: ANN001
    """A session id without the epoch (signed in before the upgrade) or with a forged one is refused."""
    person = make_user(Role.AGENT, "zheng")
    browser = app.test_client()
    for forged in (str(person.id), f"{person.id}:1", f"{person.id}:x", "abc"):
        with browser.session_transaction() as flask_session:
            flask_session["_user_id"] = forged
            flask_session["_fresh"] = True
        assert browser.get("/").status_code == 302, forged


# -- a person's own account ----------------------------------------------------------------------

def test_own_account_details_and_password_rules(app, signed_in) -> None:  # noqa: ANN001
    assert "My account" in signed_in.get("/").text  # the header's link
    response = signed_in.post("/account", data={"display_name": "值班 Duty", "mobile": "1380013800",
                                                "locale": "en"})
    assert response.status_code == 422 and "11 digits" in response.text
    assert _user(app, "duty").mobile == ""
    response = signed_in.post("/account", data={"display_name": "值班 Duty", "mobile": "+86 138-0013-8000",
                                                "locale": "en"})
    assert response.status_code == 303
    user = _user(app, "duty")
    assert (user.display_name, user.mobile) == ("值班 Duty", "+8613800138000")

    def change(current: str, new: str, confirm: str | None = None) -> Any:
        return signed_in.post("/account/password", data={"current_password": current, "new_password": new,
                                                         "confirm_password": new if confirm is None else confirm})

    assert "current password is wrong" in change("wrong-one-here", NEW_PASSWORD).text
    assert "at least 10" in change(PASSWORD, "short").text
    assert "differ" in change(PASSWORD, NEW_PASSWORD, "another-one-123").text
    assert "different from the current" in change(PASSWORD, PASSWORD).text
    assert not _audit(app, "user.password_changed")


def test_mobile_numbers_are_mainland_and_stored_with_86() -> None:
    assert people.mobile_number("13800138000") == "+8613800138000"
    assert people.mobile_number("+86 13800138000") == "+8613800138000"
    assert people.mobile_number("0086-138-0013-8000") == "+8613800138000"
    assert people.mobile_number(" ") == ""
    for bad in ("23800138000", "1380013800", "138001380001", "+1 13800138000", "１３８００１３８０００x"):
        with pytest.raises(InvalidInput) as raised:
            people.mobile_number(bad)
        assert raised.value.field == "mobile"


# -- the admins' page ---------------------------------------------------------------------------

def test_people_page_actions(app, client, make_user) -> None:  # noqa: ANN001
    admin = make_user(Role.ADMIN, "boss")
    make_user(Role.AGENT, "feng")
    sign_in(client, admin)
    for n in range(3):
        _login(app.test_client(), "feng", f"typo-{n}-xxxxx")
    page = client.get("/settings/people")
    assert page.status_code == 200 and "Failed sign-ins: 3" in page.text

    assert client.post("/settings/people/feng/unlock").status_code == 303
    assert "tag warn" not in client.get("/settings/people").text
    assert client.post("/settings/people/feng/role", data={"role": "comms"}).status_code == 303
    assert _user(app, "feng").role == Role.COMMS
    response = client.post("/settings/people/feng/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert _user(app, "feng").must_change_password
    assert client.post("/settings/people/feng/deactivate").status_code == 303
    assert not _user(app, "feng").active
    assert client.post("/settings/people/FENG/activate").status_code == 303
    assert _user(app, "feng").active

    refused = client.post("/settings/people/boss/deactivate")
    assert refused.status_code == 422 and "last active administrator" in refused.text
    assert client.post("/settings/people/boss/role", data={"role": "viewer"}).status_code == 422
    assert client.post("/settings/people/feng/role", data={"role": "king"}).status_code == 422
    assert client.post("/settings/people/nobody/deactivate").status_code == 404
    assert {r.action for r in _audit(app, "user.unlocked") + _audit(app, "user.role")} == {"user.unlocked", "user.role"}


# -- the CLI --------------------------------------------------------------------------------------

@pytest.fixture()
def cli(app, database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("CRISIS_DATABASE_URL", database_url)
    monkeypatch.setenv("CRISIS_SECRET_KEY", "test-secret")

    def run(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(main, ["user", *args], input=stdin)

    return run


def test_cli_manages_people(app, cli, make_user, make_token) -> None:  # noqa: ANN001
    make_user(Role.ADMIN, "boss")
    person = make_user(Role.AGENT, "chu")
    token = make_token(Role.AGENT, user_id=person.id)

    result = cli("role", "CHU", "duty_manager")
    assert result.exit_code == 0 and "chu is now duty_manager" in result.output
    assert cli("role", "boss", "agent").exit_code == 1  # the last active admin
    assert "last active admin" in cli("deactivate", "boss").output

    result = cli("passwd", "chu", "--password-stdin", stdin="temporary-123\n")
    assert result.exit_code == 0, result.output
    assert _login(app.test_client(), "chu", "temporary-123").headers["Location"] == "/account"
    assert cli("passwd", "chu", "--password-stdin", stdin="short\n").exit_code == 1

    result = cli("deactivate", "chu")
    assert result.exit_code == 0 and "revoked 1 API tokens" in result.output
    assert app.test_client().get("/api/v1/incidents", headers=token).status_code == 401
    listing = cli("list").output
    assert "chu\tduty_manager\tdeactivated, temporary password" in listing and "boss\tadmin\tactive" in listing
    assert cli("activate", "chu").exit_code == 0 and _user(app, "chu").active
    assert cli("deactivate", "nobody").exit_code == 1
    actions = {r.action for r in _audit(app, "user.role") + _audit(app, "user.password_reset")
               + _audit(app, "user.deactivated") + _audit(app, "user.activated")}
    assert actions == {"user.role", "user.password_reset", "user.deactivated", "user.activated"}
    assert all(r.actor_label.startswith("cli:") for r in _audit(app, "user.deactivated"))


def test_the_demo_admin_chooses_a_password_at_first_sign_in(app) -> None:  # noqa: ANN001
    ensure_demo_admin(app)
    assert _user(app, "admin").must_change_password
