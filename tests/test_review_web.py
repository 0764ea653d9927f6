"""The six-step case, the review and the reports through the console and /api/v1."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import service
from incidents.actors import Actor
from incidents.models import Deadline, Incident, Role
from incidents.review_models import ActionItem, CaseStep
from incidents.timeutil import utcnow

HX = {"HX-Request": "true"}
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")
FACTS = {"when": "昨晚八点", "who": "王女士", "impact": "奶粉结块", "demand": "退货"}


def _open(app, kind: str = "complaint") -> str:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind=kind, severity="P2", title="奶粉结块投诉", actor=SYSTEM,
                                         now=utcnow() - timedelta(minutes=30), zone=ZONE)
        session.commit()
        return incident.reference


def _tomorrow() -> str:
    return (utcnow().astimezone(ZONE) + timedelta(days=1)).strftime("%Y-%m-%d")


def test_the_case_refuses_a_plan_before_the_facts(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app)
    page = signed_in.get(f"/incidents/{ref}").text
    assert 'id="incident-case"' in page and "Six-step case" in page and "Record step 2 first." in page
    plan = {"action": "退货退款", "executor": "李主管", "by_when": _tomorrow() + "T12:00"}
    refused = signed_in.post(f"/incidents/{ref}/case/plan", data=plan, headers=HX)
    assert refused.status_code == 422
    assert "Record the facts first" in refused.text and "退货退款" in refused.text  # kept what was typed
    missing = signed_in.post(f"/incidents/{ref}/case/facts", data={**FACTS, "who": ""}, headers=HX)
    assert missing.status_code == 422 and "This field is required." in missing.text
    saved = signed_in.post(f"/incidents/{ref}/case/facts", data=FACTS)
    assert saved.status_code == 303
    done = signed_in.post(f"/incidents/{ref}/case/plan", data=plan, headers=HX)
    assert done.status_code == 200 and done.headers["HX-Trigger"] == "incident-changed"
    with app.extensions["db_sessionmaker"]() as session:
        assert [row.step for row in session.scalars(sa.select(CaseStep).order_by(CaseStep.id))] == ["facts", "plan"]
    timeline = signed_in.get(f"/incidents/{ref}/timeline").text
    assert timeline.count("recorded a step of the six-step case") == 2


def test_earlier_versions_of_a_step_are_on_the_page_with_what_changed(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app)
    signed_in.post(f"/incidents/{ref}/case/prejudge", data={"real_want": "只要道歉", "category": "quality"})
    signed_in.post(f"/incidents/{ref}/case/prejudge", data={"real_want": "道歉并补偿", "category": "quality"})
    page = signed_in.get(f"/incidents/{ref}").text
    history = page[page.index('class="case-history"'):]
    history = history[:history.index("</details>")]
    assert "Earlier versions (1)" in history and "version 1" in history
    assert '<dd class="changed-later">只要道歉</dd>' in history and "<dd>Product quality</dd>" in history


def test_the_case_is_not_shown_for_an_outage(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app, "outage")
    assert 'id="incident-case"' not in signed_in.get(f"/incidents/{ref}").text
    assert signed_in.post(f"/incidents/{ref}/case/facts", data=FACTS).status_code == 422


def test_closing_waits_for_the_review_then_goes_through(signed_in, app, make_user) -> None:  # noqa: ANN001
    ref = _open(app)
    assert signed_in.post(f"/incidents/{ref}/transitions", data={"to": "resolved"}).status_code == 303
    refused = signed_in.post(f"/incidents/{ref}/transitions", data={"to": "closed"}, headers=HX)
    assert refused.status_code == 422 and "Closing needs the review" in refused.text
    incomplete = signed_in.post(f"/incidents/{ref}/review/complete")
    assert incomplete.status_code == 422 and incomplete.text.count("Required to complete the review.") == 3
    draft = signed_in.post(f"/incidents/{ref}/review", data={"summary": "批次受潮", "root_cause": "仓库漏水",
                                                             "responsibility": "公司仓储", "version": ""})
    assert draft.status_code == 303
    owner = make_user(Role.AGENT, "owner")
    past = signed_in.post(f"/incidents/{ref}/review/actions", data={"title": "修屋顶", "owner_id": owner.id,
                                                                    "due_date": "2020-01-01"})
    assert past.status_code == 422 and "already past" in past.text and "修屋顶" in past.text
    added = signed_in.post(f"/incidents/{ref}/review/actions", data={"title": "修屋顶", "owner_id": owner.id,
                                                                     "due_date": _tomorrow()})
    assert added.status_code == 303
    assert signed_in.post(f"/incidents/{ref}/review/complete").status_code == 303
    page = signed_in.get(f"/incidents/{ref}/review").text
    assert "Completed" in page and "修屋顶" in page and "Time to acknowledge" in page
    assert signed_in.post(f"/incidents/{ref}/transitions", data={"to": "closed"}).status_code == 303
    markdown = signed_in.get(f"/incidents/{ref}/review.md")
    assert markdown.headers["Content-Type"].startswith("text/markdown")
    assert "## Root cause\n\n仓库漏水" in markdown.text and "- [ ] 修屋顶" in markdown.text
    # The action item outlives the close, on the deadlines page.
    assert "修屋顶" in signed_in.get("/deadlines").text


def test_a_stale_review_save_keeps_the_text(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app)
    assert signed_in.post(f"/incidents/{ref}/review", data={"summary": "第一版"}).status_code == 303
    stale = signed_in.post(f"/incidents/{ref}/review", data={"summary": "我的版本", "version": "1"})
    assert stale.status_code == 409 and "我的版本" in stale.text


def test_the_api_twins(api_as, app, make_user) -> None:  # noqa: ANN001
    ref = _open(app)
    agent = api_as(Role.AGENT)
    refused = agent("POST", f"/api/v1/incidents/{ref}/case/plan", json={"fields": {"action": "退款"}})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] in ("executor", "step")
    before_facts = agent("POST", f"/api/v1/incidents/{ref}/case/plan",
                         json={"fields": {"action": "退款", "executor": "李", "by_when": _tomorrow() + "T10:00"}})
    assert before_facts.status_code == 422 and before_facts.json["error"]["field"] == "step"
    assert agent("POST", f"/api/v1/incidents/{ref}/case/facts", json={"fields": "x"}).status_code == 422
    assert agent("POST", f"/api/v1/incidents/{ref}/case/facts", json={"fields": FACTS}).status_code == 201
    case = agent("GET", f"/api/v1/incidents/{ref}/case").json
    assert case["steps"][1]["current"]["fields"]["who"] == "王女士"
    assert agent("PATCH", f"/api/v1/incidents/{ref}/review", json={"summary": "x"}).status_code == 403

    duty = api_as(Role.DUTY_MANAGER)
    assert duty("PATCH", f"/api/v1/incidents/{ref}/review", json={"colour": "x"}).status_code == 400
    assert duty("PATCH", f"/api/v1/incidents/{ref}/review", json={"summary": 5}).status_code == 422
    review = duty("PATCH", f"/api/v1/incidents/{ref}/review", json={"summary": "概要", "root_cause": "原因"}).json
    assert review["state"] == "draft" and review["missing"] == ["responsibility"]
    owner = make_user(Role.AGENT, "owner")
    bad = duty("POST", f"/api/v1/incidents/{ref}/review/actions", json={"title": "x", "owner_id": owner.id,
                                                                        "due_date": "soon"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "due_date"
    item = duty("POST", f"/api/v1/incidents/{ref}/review/actions",
                json={"title": "培训", "owner_id": owner.id, "due_date": _tomorrow()})
    assert item.status_code == 201 and item.json["status"] == "open"
    assert duty("POST", f"/api/v1/incidents/{ref}/review/waive", json={"reason": "x"}).status_code == 403
    close = duty("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "resolved"})
    assert close.status_code == 200
    refused_close = duty("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "closed"})
    assert refused_close.status_code == 422 and refused_close.json["error"]["field"] == "review"
    admin = api_as(Role.ADMIN)
    assert admin("POST", f"/api/v1/incidents/{ref}/review/waive", json={"reason": ""}).status_code == 422
    waived = admin("POST", f"/api/v1/incidents/{ref}/review/waive", json={"reason": "客户撤诉"})
    assert waived.json["state"] == "waived"
    assert duty("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "closed"}).status_code == 200
    settled = agent("POST", f"/api/v1/incidents/{ref}/review/actions/{item.json['id']}", json={"status": "done"})
    assert settled.json["status"] == "done"
    with app.extensions["db_sessionmaker"]() as session:
        deadline = session.get(Deadline, session.scalar(sa.select(ActionItem.deadline_id)))
        assert deadline.state.value == "met"
        assert session.scalar(sa.select(Incident.status)).value == "closed"


def test_reports_page_json_and_csv(signed_in, app, api_as) -> None:  # noqa: ANN001
    ref = _open(app)
    signed_in.post(f"/incidents/{ref}/case/prejudge", data={"real_want": "道歉", "category": "logistics"})
    signed_in.post(f"/incidents/{ref}/acknowledge")
    page = signed_in.get("/reports?days=7")
    assert page.status_code == 200 and "Complaint categories" in page.text and "Logistics" in page.text
    assert signed_in.get("/reports?days=8").status_code == 422
    bad = signed_in.get("/reports?from=2026-11-10&to=2026-11-01")
    assert bad.status_code == 422 and "The end must come after the start." in bad.text
    csv = signed_in.get("/reports/incidents.csv?days=30")
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    lines = csv.data.decode("utf-8").splitlines()
    assert lines[0].startswith("\ufeffReference,Kind") and ref in lines[1] and "奶粉结块投诉" in lines[1]
    assert ",Escalated complaint,P2 major," in lines[1]  # a person's export names the values
    coded = api_as(Role.VIEWER)("GET", "/api/v1/reports/incidents.csv?days=30").data.decode("utf-8").splitlines()
    assert coded[0].startswith("\ufeffreference,kind") and ",complaint,P2," in coded[1]  # a script's keeps the codes
    assert signed_in.get("/reports/nonsense.csv").status_code == 422
    report = api_as(Role.VIEWER)("GET", "/api/v1/reports?days=30").json
    assert report["total"] == 1 and report["categories"]["logistics"] == 1
    assert report["by_kind"]["complaint"] == 1 and report["time_to_acknowledge"]["count"] == 1
    categories = api_as(Role.VIEWER)("GET", "/api/v1/reports/categories.csv?days=30").data.decode("utf-8")
    assert "logistics" in categories


def test_reports_count_outreach_and_compensation_and_export_them(signed_in, app, api_as) -> None:  # noqa: ANN001
    ref = _open(app)
    agent, manager = api_as(Role.AGENT), api_as(Role.DUTY_MANAGER)
    contact = manager("POST", f"/api/v1/incidents/{ref}/contacts", json={"name": "赵女士", "handle": "13700137000"}).json
    manager("POST", f"/api/v1/incidents/{ref}/contacts", json={"name": "钱先生", "handle": "qian@example.cn"})
    logged = agent("POST", f"/api/v1/incidents/{ref}/contacts/{contact['id']}/attempts",
                   json={"result": "reached", "offer_kind": "voucher", "offer_value": "30"})
    assert logged.status_code == 201
    report = api_as(Role.VIEWER)("GET", "/api/v1/reports?days=7").json
    assert (report["outreach"]["contacts"], report["outreach"]["reached"]) == (2, 1)
    assert report["compensation"]["offered"] == {"count": 1, "value": "30.00"}
    page = signed_in.get("/reports?days=7").text
    assert "Customers reached on time" in page and "¥30.00" in page
    outreach_rows = signed_in.get("/reports/outreach.csv?days=7").data.decode("utf-8").splitlines()
    assert outreach_rows[0].startswith("\ufeffIncident,Customer") and "赵女士" in outreach_rows[1]
    compensation_rows = signed_in.get("/reports/compensation.csv?days=7").data.decode("utf-8").splitlines()
    assert len(compensation_rows) == 2 and ",Voucher,30.00,Offered," in compensation_rows[1]
