"""The links in subscriber mail: opening one changes nothing; the page's button, or a mail client's
RFC 8058 one-click POST, does. Mail scanners that open every link confirm and end nothing."""

from __future__ import annotations

import re

import sqlalchemy as sa

from incidents.subscriber_models import Subscriber, SubscriberState
from tests.channels.conftest import smtp_server  # noqa: F401 (fixture)
from tests.subscribers.conftest import link_in, mail

CONFIRM, UNSUBSCRIBE = r"/status/subscribe/confirm/[\w-]+", r"/status/unsubscribe/[\w-]+"


def _rows(engine) -> list[tuple]:  # noqa: ANN001
    """Every subscriber row, every column: what a GET must leave as it was."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(Subscriber.__table__).order_by("id"))]


def _state(engine) -> SubscriberState:  # noqa: ANN001
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(Subscriber)).one().state


def _form_action(html: str) -> str:
    return re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")


def _subscribed(client, deliver, smtp_server, *, lang: str = "") -> str:  # noqa: ANN001, F811
    client.post(f"/status/subscribe{lang}", data={"kind": "email", "email": "reader@example.com", "scope": "all"})
    assert deliver().delivered == 1
    return smtp_server.handler.envelopes[-1]


def test_opening_the_links_changes_nothing_and_the_buttons_do(sub_app, client, smtp_server, deliver, engine) -> None:  # noqa: ANN001, F811, E501
    confirmation = _subscribed(client, deliver, smtp_server)
    confirm_link, unsubscribe_link = link_in(confirmation, CONFIRM), link_in(confirmation, UNSUBSCRIBE)
    before = _rows(engine)

    for _scanner in range(3):  # a mail scanner, a link preview, the person: nothing changes
        page = client.get(confirm_link)
        assert page.status_code == 200 and "确认订阅" in page.text and "reader@example.com" in page.text
        assert page.headers["Cache-Control"] == "no-store"
        assert client.get(unsubscribe_link).status_code == 200
    assert _rows(engine) == before and _state(engine) == SubscriberState.PENDING

    # The button posts back to the link itself, with no CSRF token: the link's token is the proof.
    confirmed = client.post(_form_action(page.text))
    assert confirmed.status_code == 200 and "订阅已确认" in confirmed.text
    assert _state(engine) == SubscriberState.ACTIVE
    # Opened again after confirming: says so, changes nothing.
    after = _rows(engine)
    assert "订阅已确认" in client.get(confirm_link).text and _rows(engine) == after

    ask = client.get(unsubscribe_link)
    assert ask.status_code == 200 and "停止接收通知？" in ask.text
    assert _rows(engine) == after and _state(engine) == SubscriberState.ACTIVE
    gone = client.post(_form_action(ask.text))
    assert gone.status_code == 200 and "您已退订" in gone.text
    assert _state(engine) == SubscriberState.UNSUBSCRIBED


def test_one_click_unsubscribe_from_the_mail_client(sub_app, client, smtp_server, deliver, engine) -> None:  # noqa: ANN001, F811, E501
    confirmation = _subscribed(client, deliver, smtp_server)
    client.post(link_in(confirmation, CONFIRM))
    message = mail(confirmation)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = message["List-Unsubscribe"].strip("<>").removeprefix("http://status.example.com")
    # What a mail client sends (RFC 8058): a POST with this form body, no cookie, no CSRF token.
    answer = client.post(target, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert _state(engine) == SubscriberState.UNSUBSCRIBED


def test_the_pages_speak_english_when_asked(sub_app, client, smtp_server, deliver, engine) -> None:  # noqa: ANN001, F811, E501
    confirmation = _subscribed(client, deliver, smtp_server, lang="?lang=en")
    page = client.get(link_in(confirmation, CONFIRM) + "?lang=en")
    assert "Confirm your subscription" in page.text and "确认" not in page.text
    assert "lang=en" in _form_action(page.text)
    assert "Subscription confirmed" in client.post(_form_action(page.text)).text
    ask = client.get(link_in(confirmation, UNSUBSCRIBE) + "?lang=en")
    assert "Stop the updates?" in ask.text
    assert "You are unsubscribed" in client.post(_form_action(ask.text)).text


def test_an_unknown_link_shows_the_not_valid_page(sub_app, client) -> None:  # noqa: ANN001
    for path in ("/status/subscribe/confirm/no-such-token", "/status/unsubscribe/no-such-token"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
