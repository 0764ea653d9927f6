"""Affected customers, outreach attempts, promises on the clock and the ledger, on the real databases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import contact_fields, deadlines, escalation, outreach, outreach_queries, service
from incidents.actors import Actor
from incidents.errors import InvalidInput
from incidents.models import Deadline, DeadlineState, EventKind, TimelineEvent
from incidents.outreach_models import AffectedContact, Compensation, CompensationState, Platform
from tests.conftest import FIXED_NOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = Actor(label="客服小李")
T0 = FIXED_NOW


def _open(session, kind: str = "outage"):  # noqa: ANN001, ANN202
    return service.open_incident(session, kind=kind, severity="P2", title="支付失败", actor=AGENT, now=T0,
                                 zone=SHANGHAI)


def _resolve(session, incident, at):  # noqa: ANN001
    service.transition_incident(session, incident=incident, target="resolved", expected_version=None,
                                actor=AGENT, now=at, zone=SHANGHAI)


def _contact(session, incident, handle: str = "13800138000", **extra):  # noqa: ANN001, ANN202
    return outreach.add_contact(session, incident=incident, raw={"name": "王女士", "handle": handle, **extra},
                                actor=AGENT, now=T0)


def _log(session, incident, contact, now, **extra):  # noqa: ANN001, ANN202
    return outreach.log_attempt(session, incident=incident, contact=contact, actor=AGENT, now=now, zone=SHANGHAI,
                                **{"result": "reached", **extra})


def test_an_attempt_meets_the_outage_outreach_deadline_and_counts_the_customer_reached(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    first = _contact(db_session, incident, order_numbers="E1001, E1002、E1002", demand="补偿")
    second = _contact(db_session, incident, handle="li@example.cn", name="李先生")
    assert first.platform == Platform.PHONE and first.order_numbers == ["E1001", "E1002"]
    assert second.platform == Platform.EMAIL and first.demand.value == "compensation"
    _resolve(db_session, incident, T0 + timedelta(minutes=30))
    due = {d.rule_key: d for d in deadlines.open_deadlines(db_session, incident)}["outreach"]
    assert due.due_at == T0 + timedelta(minutes=90)

    _log(db_session, incident, first, T0 + timedelta(minutes=50), result="no_answer")
    assert due.state == DeadlineState.MET  # an attempt, answered or not, is the outreach
    assert first.reached_at is None and first.attempts == 1

    summary = outreach_queries.summary(db_session, incident, T0 + timedelta(minutes=91))
    assert (summary.affected, summary.reached, summary.overdue) == (2, 0, 2)
    _log(db_session, incident, first, T0 + timedelta(minutes=95), channel="wechat")
    summary = outreach_queries.summary(db_session, incident, T0 + timedelta(minutes=96))
    assert (summary.affected, summary.reached, summary.overdue, summary.not_reached) == (2, 1, 1, 1)
    rows, total = outreach_queries.contacts(db_session, incident, now=T0 + timedelta(minutes=96), show="not_reached")
    assert [c.name for c in rows] == ["李先生"] and total == 1
    event = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.OUTREACH_LOGGED)
                              .order_by(TimelineEvent.id))
    assert event.data["met"] == [{"rule": "outreach", "late_seconds": 0}]


@pytest.mark.parametrize(("kind", "rule"), [("public_opinion", "contact_poster"), ("complaint", "supervisor_contact")])
def test_the_other_playbooks_contact_deadlines_are_met_by_an_attempt(db_session, kind: str, rule: str) -> None:  # noqa: ANN001
    incident = _open(db_session, kind)
    contact = _contact(db_session, incident)
    _log(db_session, incident, contact, T0 + timedelta(minutes=5), result="refused")
    deadline = db_session.scalar(sa.select(Deadline).where(Deadline.rule_key == rule))
    assert deadline.state == DeadlineState.MET and contact.reached_at == T0 + timedelta(minutes=5)


def test_a_promise_is_a_deadline_reminded_escalated_and_met_when_the_case_is_resolved(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "complaint")
    contact = _contact(db_session, incident)
    at = T0 + timedelta(minutes=10)
    attempt = _log(db_session, incident, contact, at, promise="周五前补发新品", promise_due_at=at + timedelta(hours=5),
                   offer_kind="reshipment")
    promise = attempt.deadline
    assert promise.rule_key == f"promise:{contact.id}" and promise.owner == "commander"
    assert promise.due_at == at + timedelta(hours=5) and promise.remind_at == at + timedelta(hours=4)
    assert promise.rule["contact_id"] == contact.id and promise.rule["zh"] == "兑现对王女士的承诺"
    db_session.commit()

    # The worker treats it like any other deadline: reminded, then overdue.
    escalation.fire_due(db_session, now=at + timedelta(hours=5, minutes=1), zone=SHANGHAI)
    db_session.refresh(promise)
    assert promise.state == DeadlineState.MISSED
    summary = outreach_queries.summary(db_session, incident, at + timedelta(hours=5, minutes=2))
    assert summary.overdue == 1 and summary.overdue_ids == {contact.id}

    _log(db_session, incident, contact, at + timedelta(hours=6), result="resolved")
    assert promise.state == DeadlineState.MET and promise.late_seconds == 3600


@pytest.mark.parametrize(("extra", "field", "reason"), [
    ({"promise": "明天回电"}, "promise_due_at", "promise_needs_time"),
    ({"promise_due_at": T0 + timedelta(hours=1)}, "promise", "promise_needs_text"),
    ({"promise": "回电", "promise_due_at": T0 - timedelta(minutes=1)}, "promise_due_at", "promise_in_past"),
    ({"offer_kind": "voucher", "offer_value": "二十"}, "offer_value", "not_a_number"),
    ({"offer_kind": "voucher", "offer_value": "20.001"}, "offer_value", "not_a_number"),
    ({"offer_kind": "voucher", "offer_value": "-5"}, "offer_value", "value_range"),
    ({"offer_kind": "voucher"}, "offer_value", "value_required"),
    ({"offer_kind": "apology_only", "offer_value": "10"}, "offer_value", "value_not_applicable"),
    ({"offer_value": "10"}, "offer_kind", "offer_needs_kind"),
    ({"result": "maybe"}, "result", "choice"),
    ({"at": T0 + timedelta(hours=1)}, "at", "future_attempt"),
])
def test_bad_attempts_are_refused_at_the_field_and_save_nothing(db_session, extra, field, reason) -> None:  # noqa: ANN001
    incident = _open(db_session)
    contact = _contact(db_session, incident)
    db_session.commit()
    with pytest.raises(InvalidInput) as caught:
        _log(db_session, incident, contact, T0, **extra)
    assert (caught.value.field, caught.value.reason) == (field, reason)
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Compensation)) == 0
    assert db_session.get(AffectedContact, contact.id).attempts == 0


def test_the_ledger_closes_a_compensation_only_when_the_customer_confirms(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    one = _contact(db_session, incident)
    two = _contact(db_session, incident, handle="13900139000")
    _log(db_session, incident, one, T0, offer_kind="voucher", offer_value="20")
    _log(db_session, incident, two, T0, offer_kind="refund", offer_value="¥59.90")
    first, second = db_session.scalars(sa.select(Compensation).order_by(Compensation.id)).all()
    for state in ("accepted", "delivered"):
        outreach.advance_compensation(db_session, incident=incident, compensation=first, to=state, actor=AGENT, now=T0,
                                      zone=SHANGHAI)
    assert not first.closed
    with pytest.raises(InvalidInput) as caught:
        outreach.advance_compensation(db_session, incident=incident, compensation=second, to="delivered",
                                      actor=AGENT, now=T0, zone=SHANGHAI)
    assert caught.value.reason == "compensation_step"
    outreach.advance_compensation(db_session, incident=incident, compensation=first, to="confirmed", actor=AGENT,
                                  now=T0, zone=SHANGHAI)
    assert first.closed and first.state == CompensationState.CONFIRMED

    book = outreach_queries.ledger(db_session, incident)
    assert (book.offered.count, book.offered.value) == (2, Decimal("79.90"))
    assert (book.accepted.count, book.delivered.count, book.confirmed.value) == (1, 1, Decimal("20"))
    assert book.open == 1
    assert outreach_queries.ledger(db_session).offered.count == 2


def test_a_duplicate_customer_is_refused(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    _contact(db_session, incident, handle="138-0013-8000")
    with pytest.raises(InvalidInput) as caught:
        _contact(db_session, incident, handle="13800138000", platform="短信")
    assert (caught.value.field, caught.value.reason) == ("handle", "duplicate_contact")


CSV_HEADER = "姓名,平台,联系方式,订单号,诉求,备注\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_csv_export_is_read_in_each_encoding_with_its_bad_rows_named(encoding: str) -> None:
    text = (CSV_HEADER + "王女士,电话,13800138000,E1001,退货,\n"
            "李先生,飞鸽,li-01,,,\n"
            ",,,,,\n"
            "赵女士,邮箱,not-an-address,,,\n"
            "孙先生,微信,sun_wx,\"E1,E2\",赔偿,老客户\n")
    parsed = contact_fields.read_csv(contact_fields.decode(text.encode(encoding)))
    assert [n for n, _f in parsed.rows] == [2, 6]
    assert [(e.row, e.error.field, e.error.reason) for e in parsed.errors] == [
        (3, "platform", "unknown_platform"), (5, "handle", "bad_email")]
    assert parsed.rows[1][1]["order_numbers"] == ["E1", "E2"]


def test_import_refuses_a_file_with_bad_rows_unless_told_to_skip_them(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    _contact(db_session, incident)
    text = CSV_HEADER + "王女士,电话,13800138000,,,\n甲,电话,12,,,\n乙,电话,13700137000,,,\n丙,电话,137-0013-7000,,,\n"
    with pytest.raises(InvalidInput) as caught:
        outreach.import_parsed(db_session, incident=incident, parsed=contact_fields.read_csv(text),
                               skip_bad_rows=False, origin="csv", actor=AGENT, now=T0)
    assert caught.value.reason == "rows_with_errors" and caught.value.params == {"count": 3}
    parsed = contact_fields.read_csv(text)
    added = outreach.import_parsed(db_session, incident=incident, parsed=parsed, skip_bad_rows=True,
                                   origin="csv", actor=AGENT, now=T0)
    assert [c.name for c in added] == ["乙"]
    assert [(e.row, e.error.reason) for e in parsed.errors] == [
        (2, "duplicate_contact"), (3, "bad_phone"), (5, "duplicate_row")]


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty_file"),
    ("备注,订单号\nx,y\n".encode(), "missing_columns"),
    ("姓名,name\nx,y\n".encode(), "repeated_column"),
    (b"\x81\x30\xff\xfe\x00name", "bad_encoding"),
])
def test_files_that_cannot_be_read_are_refused_whole(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        contact_fields.read_csv(contact_fields.decode(data))
    assert caught.value.reason == reason


def test_ten_thousand_rows_are_read_and_more_are_refused() -> None:
    rows = "".join(f"客户{i},电话,1380000{i:04d},,,\n" for i in range(10_000))
    assert len(contact_fields.read_csv(CSV_HEADER + rows).rows) == 10_000
    with pytest.raises(InvalidInput) as caught:
        contact_fields.read_csv(CSV_HEADER + rows + "多一位,电话,13900000000,,,\n")
    assert caught.value.reason == "too_many_rows"


def test_a_pasted_list_reads_tabs_commas_and_bare_numbers() -> None:
    parsed = contact_fields.read_pasted("王女士\t13800138000\t电话\tE1\n\n13900139000\n李先生，li@example.cn\n，\n")
    assert [(n, f["name"], f["platform"].value) for n, f in parsed.rows] == [
        (1, "王女士", "phone"), (3, "13900139000", "phone"), (4, "李先生", "email")]
    assert [(e.row, e.error.reason) for e in parsed.errors] == [(5, "name_or_handle")]


def test_the_review_figures_count_customers_reached_on_time_and_the_compensation(db_session) -> None:  # noqa: ANN001
    from incidents.review_figures import figures_for

    incident = _open(db_session)
    early, late, never = (_contact(db_session, incident, handle=h) for h in ("13800138000", "13900139000", "a@b.cn"))
    _resolve(db_session, incident, T0 + timedelta(minutes=30))  # outreach due at T0 + 90 min
    _log(db_session, incident, early, T0 + timedelta(minutes=90), offer_kind="voucher", offer_value="20")
    _log(db_session, incident, late, T0 + timedelta(minutes=91), offer_kind="refund", offer_value="59.90")
    _log(db_session, incident, never, T0 + timedelta(minutes=40), result="no_answer")
    first = db_session.scalars(sa.select(Compensation).order_by(Compensation.id)).first()
    for state in ("accepted", "delivered", "confirmed"):
        outreach.advance_compensation(db_session, incident=incident, compensation=first, to=state, actor=AGENT, now=T0,
                                      zone=SHANGHAI)

    figures = figures_for(db_session, incident, now=T0 + timedelta(hours=3))
    assert figures["outreach"] == {"contacts": 3, "reached": 2, "on_time": 1, "share": 1 / 3}
    assert figures["compensation"]["offered"] == {"count": 2, "value": "79.90"}
    assert figures["compensation"]["confirmed"] == {"count": 1, "value": "20.00"}
