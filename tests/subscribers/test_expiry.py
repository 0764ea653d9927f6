"""Subscriptions whose confirmation link ran out are forgotten by the worker's hourly job."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from console import subscriber_jobs
from incidents import subscribers
from incidents.actors import Actor
from incidents.models import AuditRecord
from incidents.subscriber_models import Subscriber, SubscriberState
from tests.conftest import FIXED_NOW

VISITOR = Actor(label="anonymous", ip="203.0.113.9")


def _subscribe(session, email: str, at) -> Subscriber:  # noqa: ANN001
    return subscribers.subscribe_email(session, email=email, components=None, language="zh", ip="203.0.113.9",
                                       now=at, actor=VISITOR).subscriber


def test_unconfirmed_addresses_are_erased_after_the_confirmation_window(db_session, engine) -> None:  # noqa: ANN001
    stale = _subscribe(db_session, "old@example.cn", FIXED_NOW)
    fresh = _subscribe(db_session, "new@example.cn", FIXED_NOW + timedelta(days=1))
    confirmed = _subscribe(db_session, "yes@example.cn", FIXED_NOW)
    subscribers.confirm(db_session, token=confirmed.token, actor=VISITOR, now=FIXED_NOW + timedelta(hours=1))
    db_session.commit()

    # At the window's end exactly the link still works; a second later the subscription is gone.
    assert subscribers.expire_unconfirmed(db_session, now=FIXED_NOW + subscribers.CONFIRM_WITHIN) == 0
    assert subscribers.expire_unconfirmed(db_session, now=FIXED_NOW + subscribers.CONFIRM_WITHIN
                                          + timedelta(seconds=1)) == 1
    db_session.commit()
    db_session.refresh(stale)
    assert (stale.state, stale.address, stale.config) == (SubscriberState.DELETED, "", {})
    assert fresh.state == SubscriberState.PENDING and confirmed.state == SubscriberState.ACTIVE
    [audit] = db_session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "subscriber.expired")).all()
    assert audit.target_id == str(stale.id) and "old@example.cn" not in str(audit.after)

    # The worker's job does the same with its own session; the same address may subscribe again.
    ancient = _subscribe(db_session, "ancient@example.cn", FIXED_NOW - timedelta(days=10))
    db_session.commit()
    assert subscriber_jobs.expire_unconfirmed(sa.orm.sessionmaker(engine), now=FIXED_NOW + timedelta(days=2)) == 1
    db_session.refresh(ancient)
    assert ancient.state == SubscriberState.DELETED and fresh.state == SubscriberState.PENDING
    again = _subscribe(db_session, "old@example.cn", FIXED_NOW + timedelta(days=5))
    assert again.id != stale.id and again.state == SubscriberState.PENDING
