"""The outreach panel and its API twins through the app: forms, CSV uploads, bad input, roles."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import service
from incidents.actors import Actor
from incidents.models import Deadline, DeadlineState, Role, TimelineEvent
from incidents.outreach_models import AffectedContact, Compensation, OutreachAttempt
from tests.conftest import FIXED_NOW, sign_in

CSV = "姓名,平台,联系方式,订单号,诉求\n王女士,电话,13800138000,E1001,退货\n李先生,飞鸽,li01,,\n赵女士,微信,zhao_wx,E2,补偿\n"


def _incident(app, kind: str = "outage") -> str:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind=kind, severity="P2", title="下单失败",
                                         actor=Actor.system("test"), now=FIXED_NOW, zone=ZoneInfo("UTC"))
        session.commit()
        return incident.reference


def _count(app, model) -> int:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_csv_in_gbk_is_previewed_refused_with_bad_rows_then_imported_skipping_them(app, signed_in) -> None:  # noqa: ANN001
    ref = _incident(app)
    upload = {"file": (io.BytesIO(CSV.encode("gbk")), "客户.csv")}
    preview = signed_in.post(f"/incidents/{ref}/contacts/import", data=upload, content_type="multipart/form-data",
                             headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert "2 of 3 rows can be imported" in preview.text and "Row 3" in preview.text
    assert "Unknown platform “飞鸽”" in preview.text and _count(app, AffectedContact) == 0

    refused = signed_in.post(f"/incidents/{ref}/contacts/import", data={"text": CSV, "confirm": "1"},
                             headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "1 rows have errors" in refused.text
    assert _count(app, AffectedContact) == 0

    done = signed_in.post(f"/incidents/{ref}/contacts/import",
                          data={"text": CSV, "confirm": "1", "skip_bad_rows": "1"}, headers={"HX-Request": "true"})
    assert done.status_code == 200 and done.headers["HX-Trigger"] == "incident-changed"
    assert "Added 2, skipped 1 bad rows." in done.text
    panel = signed_in.get(f"/incidents/{ref}/outreach?show=not_reached")
    assert "王女士" in panel.text and "赵女士" in panel.text and "李先生" not in panel.text


def test_a_file_that_is_not_text_is_refused_at_the_file_field(app, signed_in) -> None:  # noqa: ANN001
    ref = _incident(app)
    upload = {"file": (io.BytesIO(b"\x81\x30\xff\xfe\x00name"), "x.csv")}
    response = signed_in.post(f"/incidents/{ref}/contacts/import", data=upload, content_type="multipart/form-data",
                              headers={"HX-Request": "true"})
    assert response.status_code == 422 and "neither UTF-8 nor GBK" in response.text


def test_adding_one_customer_and_logging_an_attempt_with_a_promise(app, signed_in) -> None:  # noqa: ANN001
    ref = _incident(app, "complaint")
    bad = signed_in.post(f"/incidents/{ref}/contacts", data={"name": "王女士", "platform": "phone", "handle": "abc"},
                         headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "This is not a phone number." in bad.text and 'value="abc"' in bad.text
    ok = signed_in.post(f"/incidents/{ref}/contacts", data={"name": "王女士", "handle": "13800138000"})
    assert ok.status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        contact_id = session.scalar(sa.select(AffectedContact.id))
    url = f"/incidents/{ref}/contacts/{contact_id}/attempts"
    form = {"result": "reached", "offer_kind": "voucher", "offer_value": "abc", "promise": "明天回电",
            "promise_due_at": "2099-01-01T10:00"}
    bad = signed_in.post(url, data=form, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Enter an amount in yuan" in bad.text and 'value="明天回电"' in bad.text
    past = signed_in.post(url, data={**form, "offer_value": "20", "promise_due_at": "2020-01-01T10:00"},
                          headers={"HX-Request": "true"})
    assert past.status_code == 422 and "The promised time has already passed." in past.text
    assert _count(app, OutreachAttempt) == 0 and _count(app, Compensation) == 0
    done = signed_in.post(url, data={**form, "offer_value": "20"}, headers={"HX-Request": "true"})
    assert done.status_code == 200 and "Logged for 王女士: Reached." in done.text
    with app.extensions["db_sessionmaker"]() as session:
        promise = session.scalar(sa.select(Deadline).where(Deadline.rule_key == f"promise:{contact_id}"))
        assert promise.state == DeadlineState.PENDING and promise.owner == "commander"
        supervisor = session.scalar(sa.select(Deadline).where(Deadline.rule_key == "supervisor_contact"))
        assert supervisor.state == DeadlineState.MET
    clock = signed_in.get(f"/incidents/{ref}/clock")
    assert "Keep the promise to 王女士" in clock.text
    page = signed_in.get(f"/incidents/{ref}")
    assert "logged an outreach attempt" in page.text and "Promised: 明天回电" in page.text


def test_the_api_imports_logs_and_follows_compensation(app, api_as) -> None:  # noqa: ANN001
    ref = _incident(app)
    manager = api_as(Role.DUTY_MANAGER)
    base = f"/api/v1/incidents/{ref}"
    dry = manager("POST", f"{base}/contacts/import?dry_run=1", data=CSV.encode("utf-8-sig"),
                  content_type="text/csv")
    assert dry.status_code == 200 and dry.json["valid"] == 2
    assert dry.json["errors"] == [{"row": 3, "field": "platform", "reason": "unknown_platform",
                                   "message": "unknown platform '飞鸽'"}]
    refused = manager("POST", f"{base}/contacts/import", data=CSV.encode(), content_type="text/csv")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "rows_with_errors"
    assert _count(app, AffectedContact) == 0
    done = manager("POST", f"{base}/contacts/import?skip_bad_rows=1", data=CSV.encode(), content_type="text/csv")
    assert done.status_code == 201 and (done.json["imported"], done.json["skipped"]) == (2, 1)
    one = manager("POST", f"{base}/contacts", json={"name": "孙先生", "handle": "sun@example.cn"})
    assert one.status_code == 201 and one.json["platform"] == "email"
    duplicate = manager("POST", f"{base}/contacts", json={"handle": "SUN@example.cn"})
    assert duplicate.status_code == 422 and duplicate.json["error"]["field"] == "handle"
    unknown = manager("POST", f"{base}/contacts", json={"name": "x", "age": 3})
    assert unknown.status_code == 400 and unknown.json["error"]["field"] == "age"

    agent = api_as(Role.AGENT)
    assert agent("POST", f"{base}/contacts", json={"name": "x"}).status_code == 403
    contact = one.json["id"]
    naive = agent("POST", f"{base}/contacts/{contact}/attempts",
                  json={"result": "reached", "promise": "退款", "promise_due_at": "2099-01-01T10:00"})
    assert naive.status_code == 422 and naive.json["error"]["field"] == "promise_due_at"
    logged = agent("POST", f"{base}/contacts/{contact}/attempts",
                   json={"result": "reached", "offer_kind": "refund", "offer_value": 59.9,
                         "promise": "三天内退款", "promise_due_at": "2099-01-01T10:00+08:00"})
    assert logged.status_code == 201 and logged.json["promise"]["state"] == "pending"
    listing = agent("GET", f"{base}/contacts?show=not_reached")
    assert (listing.json["affected"], listing.json["reached"], listing.json["total"]) == (3, 1, 2)
    assert agent("GET", f"{base}/contacts?show=nobody").status_code == 422

    ledger = agent("GET", f"{base}/compensation").json
    comp = ledger["compensation"][0]
    assert (ledger["offered"], comp["value"], comp["closed"]) == ({"count": 1, "value": "59.90"}, "59.90", False)
    skipped = agent("POST", f"{base}/compensation/{comp['id']}", json={"to": "confirmed"})
    assert skipped.status_code == 422 and skipped.json["error"]["field"] == "to"
    for step in ("accepted", "delivered", "confirmed"):
        moved = agent("POST", f"{base}/compensation/{comp['id']}", json={"to": step})
        assert moved.status_code == 200 and moved.json["state"] == step
    overall = agent("GET", "/api/v1/compensation").json
    assert overall["confirmed"] == {"count": 1, "value": "59.90"} and overall["open"] == 0
    detail = agent("GET", f"{base}/contacts/{contact}").json
    assert detail["attempt_log"][0]["channel"] == "email" and detail["reached_at"] is not None


def test_agents_log_attempts_but_do_not_edit_the_list(app, client, make_user) -> None:  # noqa: ANN001
    ref = _incident(app)
    sign_in(client, make_user(Role.AGENT, "agent"))
    assert client.post(f"/incidents/{ref}/contacts", data={"name": "x"}).status_code == 403
    page = client.get(f"/incidents/{ref}")
    assert page.status_code == 200 and "Import CSV" not in page.text and "Affected customers" in page.text
    ledger = client.get("/compensation")
    assert ledger.status_code == 200 and "Compensation ledger" in ledger.text
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)) == 1


def test_a_customer_is_corrected_and_one_added_by_mistake_removed(app, signed_in) -> None:  # noqa: ANN001
    ref = _incident(app)
    for name, handle in (("王女士", "13800138000"), ("李先生", "li@example.cn")):
        signed_in.post(f"/incidents/{ref}/contacts", data={"name": name, "handle": handle})
    with app.extensions["db_sessionmaker"]() as session:
        wang, li = session.scalars(sa.select(AffectedContact.id).order_by(AffectedContact.id)).all()
    form = signed_in.get(f"/incidents/{ref}/contacts/{wang}/edit", headers={"HX-Request": "true"}).text
    assert 'value="13800138000"' in form and "Edit 王女士" in form
    taken = signed_in.post(f"/incidents/{ref}/contacts/{wang}/edit", headers={"HX-Request": "true"},
                           data={"name": "王女士", "platform": "email", "handle": "li@example.cn"})
    assert taken.status_code == 422 and "This customer is already on the list." in taken.text
    saved = signed_in.post(f"/incidents/{ref}/contacts/{wang}/edit", headers={"HX-Request": "true"},
                           data={"name": "王女士", "handle": "13900139000", "order_numbers": "E7, E8"})
    assert saved.status_code == 200 and "Saved 王女士." in saved.text
    signed_in.post(f"/incidents/{ref}/contacts/{wang}/attempts", data={"result": "reached"})
    kept = signed_in.post(f"/incidents/{ref}/contacts/{wang}/remove", headers={"HX-Request": "true"})
    assert kept.status_code == 422 and "they stay on the list" in kept.text
    assert signed_in.post(f"/incidents/{ref}/contacts/{li}/remove").status_code == 303
    with app.extensions["db_sessionmaker"]() as session:
        [left] = session.scalars(sa.select(AffectedContact)).all()
        assert (left.handle, left.order_numbers) == ("13900139000", ["E7", "E8"])
        kinds = [e.kind.value for e in session.scalars(sa.select(TimelineEvent).order_by(TimelineEvent.id))]
        assert kinds.count("contact_edited") == 1 and kinds.count("contact_removed") == 1
    page = signed_in.get(f"/incidents/{ref}").text
    assert "edited an affected customer" in page and "removed an affected customer" in page


def test_the_api_corrects_and_removes_customers(app, api_as) -> None:  # noqa: ANN001
    ref = _incident(app)
    manager = api_as(Role.DUTY_MANAGER)
    made = manager("POST", f"/api/v1/incidents/{ref}/contacts", json={"name": "赵女士", "handle": "zhao_wx",
                                                                      "platform": "wechat"}).json
    url = f"/api/v1/incidents/{ref}/contacts/{made['id']}"
    bad = manager("PATCH", url, json={"demand": "月亮"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "demand"
    changed = manager("PATCH", url, json={"demand": "退货", "notes": "晚上方便"})
    assert changed.status_code == 200 and changed.json["changed"] == ["demand", "notes"]
    assert changed.json["handle"] == "zhao_wx"
    assert manager("PATCH", url, json={"demand": "退货"}).json["changed"] == []
    assert api_as(Role.AGENT)("DELETE", url).status_code == 403
    assert manager("DELETE", url).status_code == 204
    assert manager("GET", url).status_code == 404
