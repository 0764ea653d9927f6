"""The admins' audit page, its exports and its API twin: filters, pages, diffs, permissions, bad input."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from console.audit_labels import action_label
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.models import AuditRecord, EventKind, Role
from tests.conftest import FIXED_NOW, sign_in

NON_ADMINS = [Role.DUTY_MANAGER, Role.COMMS, Role.AGENT]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def admin(client, make_user):  # noqa: ANN001, ANN201
    user = make_user(Role.ADMIN, "chief")
    sign_in(client, user)
    return client


def _open_incident(client, request_id: str) -> str:  # noqa: ANN001
    response = client.post("/incidents", data={"kind": "outage", "severity": "P2", "title": "支付失败=1+1"},
                           headers={"X-Request-ID": request_id})
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


def _audit(app) -> list[AuditRecord]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return list(session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))


def test_a_change_made_in_the_console_shows_with_its_request_and_a_link(admin, app) -> None:  # noqa: ANN001
    reference = _open_incident(admin, "open-1")
    [opened] = [r for r in _audit(app) if r.request_id == "open-1" and r.action == "incident.opened"]
    assert (opened.action, opened.target_type, opened.target_id) == ("incident.opened", "incident", reference)
    assert opened.actor_label == "Chief" and opened.ip == "127.0.0.1"
    page = admin.get("/admin/audit?request_id=open-1")
    assert page.status_code == 200
    assert "incident.opened" in page.text and f'href="/incidents/{reference}"' in page.text
    assert "user.signed_in" not in page.text  # narrowed to the one request


def test_the_page_is_chinese_by_default_and_shows_a_readable_diff(client, make_user, app) -> None:  # noqa: ANN001
    admin = make_user(Role.ADMIN, "chief", locale="zh_Hans_CN")
    sign_in(client, admin)
    reference = _open_incident(client, "open-2")
    edited = client.post(f"/incidents/{reference}/edit", data={"severity": "P1", "version": "1"},
                         headers={"X-Request-ID": "edit-2"})
    assert edited.status_code in (200, 303), edited.text
    page = client.get("/admin/audit?action=incident.field_changed")
    assert "审计日志" in page.text
    assert "<del>P2 严重</del>" in page.text and "<ins>P1 紧急</ins>" in page.text  # named as the reader says them
    # What happened, in words beside the code scripts filter on; the target type too.
    assert '<span class="audit-what">编辑了事件 <code class="audit-action">incident.field_changed</code>' in page.text
    assert '<span class="audit-target">事件' in page.text
    signed_in = client.get("/admin/audit?action=user.signed_in").text
    assert "登录 <code" in signed_in and '<option value="user" >用户</option>' in signed_in.replace("  ", " ")


def test_every_action_the_code_records_has_a_name() -> None:
    """A new audited action without a label would show as a bare code on the admins' page."""
    found: set[str] = set()
    for folder in ("incidents", "monitors", "console"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            found |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
            found |= set(re.findall(r'_audit_public\(session, \w+, "([a-z_]+\.[a-z_]+)"', text))
    assert len(found) > 40
    assert sorted(code for code in found if action_label(code) is None) == []
    for kind in EventKind:
        assert action_label(f"incident.{kind.value}"), kind


@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_read_or_export(client, make_user, api_as, role) -> None:  # noqa: ANN001
    sign_in(client, make_user(role))
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export").status_code == 403
    call = api_as(role)
    for path in ("/api/v1/audit", "/api/v1/audit/export"):
        response = call("GET", path)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_keyset_pages_walk_back_without_repeats(admin, app) -> None:  # noqa: ANN001
    for n in range(5):
        _open_incident(admin, f"many-{n}")
    seen, path = [], "/admin/audit?action=incident.opened&limit=2"
    while path:
        page = admin.get(path)
        seen += [line for line in page.text.splitlines() if 'class="audit-record"' in line]
        marker = 'rel="next"'
        path = None
        for line in page.text.splitlines():
            if marker in line:
                path = line.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert len(seen) == 5 and len(set(seen)) == 5


def test_bad_filters_are_told_at_the_field(admin) -> None:  # noqa: ANN001
    page = admin.get("/admin/audit?from=2026-13-40")
    assert page.status_code == 422
    assert 'id="a-from"' in page.text and 'aria-invalid="true"' in page.text
    assert admin.get("/admin/audit?target_type=spaceship").status_code == 422
    assert admin.get("/admin/audit?from=2026-11-22&to=2026-11-01").status_code == 422


def test_csv_export_opens_in_excel_and_defuses_formulas(admin, app) -> None:  # noqa: ANN001
    reference = _open_incident(admin, "csv-1")
    with app.extensions["db_sessionmaker"]() as session:
        record_audit(session, actor=Actor(label="=HYPERLINK(1)"), action="setting.changed", target_type="setting",
                     target_id="-1", now=FIXED_NOW)
        session.commit()
    formula = list(csv.reader(io.StringIO(
        admin.get("/admin/audit/export?target_type=setting").get_data().decode("utf-8-sig"))))
    assert formula[1][2] == "'=HYPERLINK(1)" and formula[1][8] == "'-1"
    response = admin.get("/admin/audit/export?format=csv&target_id=" + reference)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Record", "Time", "Actor"]
    [opened] = [row for row in rows[1:] if row[6] == "incident.opened"]
    assert opened[8] == reference and opened[5] == "csv-1"
    assert "支付失败=1+1" in opened[10]


def test_jsonl_export_and_the_api_twin_use_the_same_filters(admin, app, api_as) -> None:  # noqa: ANN001
    reference = _open_incident(admin, "jsonl-1")
    lines = admin.get(f"/admin/audit/export?format=jsonl&target_id={reference}").get_data(as_text=True).splitlines()
    exported = [json.loads(line) for line in lines]
    [opened] = [r for r in exported if r["action"] == "incident.opened"]
    assert opened["request_id"] == "jsonl-1" and opened["after"]["severity"] == "P2"
    call = api_as(Role.ADMIN)
    listed = call("GET", f"/api/v1/audit?target_type=incident&target_id={reference}")
    assert listed.status_code == 200
    assert listed.json["records"] == exported and listed.json["next_before"] is None
    streamed = call("GET", "/api/v1/audit/export?request_id=jsonl-1")
    same_request = sorted((r.id for r in _audit(app) if r.request_id == "jsonl-1"), reverse=True)
    assert [json.loads(line)["id"] for line in streamed.get_data(as_text=True).splitlines()] == same_request


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"),
    ("to=2026-02-30", "to"),
    ("from=2026-11-22&to=2026-11-21", "to"),
    ("target_type=spaceship", "target_type"),
    ("limit=0", "limit"),
    ("before=abc", "before"),
])
def test_api_errors_name_the_field(api_as, query, field) -> None:  # noqa: ANN001
    response = api_as(Role.ADMIN)("GET", f"/api/v1/audit?{query}")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid" and error["field"] == field and error["message"]


def test_api_export_refuses_an_unknown_format(api_as) -> None:  # noqa: ANN001
    response = api_as(Role.ADMIN)("GET", "/api/v1/audit/export?format=xlsx")
    assert response.status_code == 422 and response.json["error"]["field"] == "format"


def test_nothing_in_the_application_edits_or_deletes_the_log(app) -> None:  # noqa: ANN001
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert audit_rules
    assert all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in audit_rules)
