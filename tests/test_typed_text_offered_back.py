"""The database is away when a form is posted: the 503 page offers the typed text back, escaped,
with no secret in it, and a button that posts the same form again; it never reloads itself
into a GET. Once the database is back, that button saves what was typed."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask

from console.i18n import LANGUAGE_COOKIE
from incidents import service
from incidents.actors import Actor
from incidents.models import EventKind, Role, TimelineEvent
from tests.conftest import FIXED_NOW, sign_in
from tests.support.database_away import database_away

SYSTEM = Actor.system("test")
NOTE = "网关已切回主线路\n<script>alert('x')</script> & 观察 10 分钟"


def _incident(app: Flask) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind="outage", severity="P2", title="支付回调延迟",
                                         actor=SYSTEM, now=FIXED_NOW, zone=ZoneInfo("Asia/Shanghai"))
        session.commit()
        return incident.reference


class _FormReader(HTMLParser):
    """The fields of the page's "send again" form, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.password_fields: list[str] = []
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and attributes.get("method") == "post":
            self._in_form, self.action = True, attributes["action"]
        elif self._in_form and tag == "input":
            self.fields.append((attributes["name"], attributes.get("value", "")))
            if attributes.get("type") == "password":
                self.password_fields.append(attributes["name"])
        elif self._in_form and tag == "textarea":
            self._textarea = attributes["name"]
            self.fields.append((self._textarea, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, value = self.fields.pop()
            self.fields.append((name, value + data))


def _send_again_form(page: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(page)
    assert reader.action is not None, page
    # The parser keeps the newline a browser drops right after <textarea>.
    reader.fields = [(name, value.removeprefix("\n")) for name, value in reader.fields]
    return reader


def test_a_note_posted_while_the_database_is_away_is_offered_back_escaped_and_sent_again(
    app: Flask, signed_in,  # noqa: ANN001
) -> None:
    reference = _incident(app)
    sent = {"csrf_token": "csrf-of-the-form", "body": NOTE, "eta": "15:30", "password": "hunter2-secret",
            "api_key": "key-not-to-repeat", "public_status": "investigating"}
    signed_in.set_cookie(LANGUAGE_COOKIE, "zh-CN")

    with database_away(app):
        page = signed_in.post(f"/incidents/{reference}/notes?from=board", data=sent)

    assert page.status_code == 503 and page.headers["Cache-Control"] == "no-store"
    assert "暂时无法使用" in page.text and "刚才提交的内容没有保存" in page.text
    assert 'http-equiv="refresh"' not in page.text  # a reload of its own would be a GET
    form = _send_again_form(page.text)
    assert form.action == f"/incidents/{reference}/notes?from=board"
    assert "重新提交" in page.text
    # The text as typed, escaped: the markup in it is text, not a script.
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 观察 10 分钟" in page.text
    fields = dict(form.fields)
    assert fields["body"] == NOTE
    assert fields["eta"] == "15:30" and fields["public_status"] == "investigating"
    # Secrets never come back: the CSRF token is a fresh one, passwords and keys are typed again.
    for secret in ("csrf-of-the-form", "hunter2-secret", "key-not-to-repeat"):
        assert secret not in page.text
    assert fields["csrf_token"] and fields["password"] == "" and fields["api_key"] == ""
    assert form.password_fields == ["password", "api_key"] and "密码或密钥" in page.text

    # The console is back: "send again" posts the same form, and the note is saved as typed.
    again = signed_in.post(f"/incidents/{reference}/notes?from=board", data=fields)
    assert again.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        notes = session.scalars(sa.select(TimelineEvent.body).where(TimelineEvent.kind == EventKind.NOTE)).all()
    assert notes == [NOTE]


def test_the_page_after_a_get_still_reloads_itself_and_offers_no_form(app: Flask, signed_in) -> None:  # noqa: ANN001
    with database_away(app):
        page = signed_in.get("/")
    assert page.status_code == 503 and 'http-equiv="refresh"' in page.text
    assert "What you sent" not in page.text and "<form" not in page.text


def test_in_english_and_without_any_text_the_page_still_offers_to_send_again(app: Flask, signed_in) -> None:  # noqa: ANN001
    reference = _incident(app)
    signed_in.set_cookie(LANGUAGE_COOKIE, "en")  # the account's own language is in the database
    with database_away(app):
        page = signed_in.post(f"/incidents/{reference}/acknowledge", data={"csrf_token": "x"})
    assert page.status_code == 503
    assert "What you just sent was not saved" in page.text and "Send again" in page.text
    assert "Your text" not in page.text
    assert 'http-equiv="refresh"' not in page.text


def test_a_sign_in_while_the_database_is_away_keeps_the_name_never_the_password(client) -> None:  # noqa: ANN001
    app = client.application
    with database_away(app):
        page = client.post("/login", data={"username": "值班员小王", "password": "correct-horse"})
    assert page.status_code == 503
    form = _send_again_form(page.text)
    assert dict(form.fields) == {"username": "值班员小王", "password": ""}
    assert "correct-horse" not in page.text


def test_an_upload_posted_while_the_database_is_away_keeps_its_text_and_asks_for_the_file_again(
    app: Flask, signed_in,  # noqa: ANN001
) -> None:
    reference = _incident(app)
    signed_in.set_cookie(LANGUAGE_COOKIE, "zh-CN")
    with database_away(app):
        page = signed_in.post(f"/incidents/{reference}/notes", content_type="multipart/form-data",
                              data={"note": "华东区受影响客户名单", "file": (io.BytesIO(b"order\n123\n"), "客户.csv")})
    assert page.status_code == 503
    assert dict(_send_again_form(page.text).fields) == {"note": "华东区受影响客户名单"}
    assert "附件无法在此保留：请回到原表单重新添加。" in page.text


def test_scripts_still_get_json_not_the_page(app: Flask, api_as) -> None:  # noqa: ANN001
    call = api_as("duty_manager")
    with database_away(app):
        answer = call("POST", "/api/v1/incidents", json={"title": "x"})
    assert answer.status_code == 503 and answer.json["error"]["code"] == "database_unavailable"


def test_every_page_carries_what_a_failed_save_says_in_the_readers_language(
    app: Flask, client, make_user,  # noqa: ANN001
) -> None:
    reference = _incident(app)
    sign_in(client, make_user(Role.DUTY_MANAGER, "zhouyan", locale="zh_Hans_CN"))
    chinese = client.get(f"/incidents/{reference}").text
    messages = chinese[chinese.index('<template id="save-failed-messages">'):]
    messages = messages[:messages.index("</template>")]
    for kind in ("offline", "timeout", "unavailable", "server", "refused"):
        assert f'data-kind="{kind}"' in messages
    assert "未保存：指挥台暂时连不上数据库。您填写的内容还在" in messages and "（错误 {status}）" in messages
    assert not re.search(r"[A-Za-z]{4,}", re.sub(r"<[^>]+>|\{status\}", "", messages))  # no English left
    sign_in(client, make_user(Role.DUTY_MANAGER, "sam", locale="en"))
    english = client.get(f"/incidents/{reference}").text
    assert "Not saved: the console cannot reach its database right now." in english
