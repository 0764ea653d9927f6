"""The playbook editor and its API: numbers per severity, field-level errors, revisions, history."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import playbooks, service
from incidents.actors import Actor
from incidents.lifecycle import Kind
from incidents.models import Deadline, PlaybookRevision, Role
from tests.conftest import FIXED_NOW, sign_in
from tests.settings.conftest import HX, audit_actions


def _revisions(db) -> list[PlaybookRevision]:  # noqa: ANN001
    with db() as session:
        return list(session.scalars(sa.select(PlaybookRevision).order_by(PlaybookRevision.id)))


def test_duty_manager_reads_but_cannot_change(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/settings/playbooks/outage")
    assert page.status_code == 200
    assert "First public notice" in page.text and "Public progress update" in page.text
    assert "Changes apply to deadlines created after you save." in page.text
    assert "the shipped defaults (version 3)" in page.text
    assert "Only administrators can change these numbers." in page.text
    assert "Save numbers" not in page.text
    assert signed_in.post("/settings/playbooks/outage", data={"first_notice.offset": "3"}).status_code == 403
    assert signed_in.get("/settings/playbooks").headers["Location"].endswith("/settings/playbooks/outage")
    assert signed_in.get("/settings/playbooks/meteor").status_code == 404


def test_checklist_and_rules_per_kind(admin) -> None:  # noqa: ANN001
    page = admin.get("/settings/playbooks/complaint").text
    assert "A supervisor calls the customer back" in page
    assert 'name="complaint' not in page and 'name="supervisor_contact.offset" value="30"' in page
    # The shipped P1 override shows in its row; other severities inherit (blank, placeholder = base).
    assert 'name="P1.supervisor_contact.offset" value="15"' in page
    assert 'name="P2.supervisor_contact.offset" value="" inputmode="numeric" step="1"' in page
    assert "Count complaint deadlines in business hours" in page
    assert "business_hours" not in admin.get("/settings/playbooks/outage").text


def test_admin_saves_a_number_as_a_revision(admin, db) -> None:  # noqa: ANN001
    response = admin.post("/settings/playbooks/outage", data={"first_notice.offset": "3", "first_notice.remind_before": "1"})
    assert response.status_code == 303
    (revision,) = _revisions(db)
    assert revision.kind == Kind.OUTAGE and revision.revision == 1 and revision.created_by_label == "Boss"
    first = next(r for r in revision.document["rules"] if r["key"] == "first_notice")
    assert (first["offset"], first["remind_before"]) == (3, 1)
    assert audit_actions(db) == ["playbook.changed"]
    page = admin.get(response.headers["Location"]).text
    assert "Saved as revision 1. Deadlines created from now on use these numbers." in page
    assert "saved by Boss" in page
    history = page.split("Revision history")[1]
    assert "First public notice · All severities · Due after (min):" in history
    assert "5 → <strong>3</strong>" in history and "2 → <strong>1</strong>" in history


def test_overrides_are_set_and_cleared_blank_means_inherit(admin, db) -> None:  # noqa: ANN001
    assert admin.post("/settings/playbooks/outage", data={
        "P1.first_notice.offset": "2", "P1.first_notice.remind_before": "1"}).status_code == 303
    assert admin.post("/settings/playbooks/outage", data={
        "P1.first_notice.offset": "", "P1.first_notice.remind_before": ""}).status_code == 303
    first, second = _revisions(db)
    assert first.document["severity"] == {"P1": {"first_notice": {"offset": 2, "remind_before": 1}}}
    assert "severity" not in second.document
    with db() as session:
        assert playbooks.effective_playbook(session, Kind.OUTAGE).rule("P1", "first_notice").offset == 5
    history = admin.get("/settings/playbooks/outage").text.split("Revision history")[1]
    assert "P1 critical · Due after (min):" in history and "2 → <strong>inherited</strong>" in history


def test_an_unchanged_form_saves_nothing(admin, db) -> None:  # noqa: ANN001
    """Blank overrides on a kind without any used to leave an empty table that counted as a change."""
    page = admin.get("/settings/playbooks/outage").text
    assert 'name="P1.first_notice.offset"' in page
    response = admin.post("/settings/playbooks/outage", data={
        "first_notice.offset": "5", "P1.first_notice.offset": "", "P4.public_update.period": ""}, headers=HX)
    assert response.status_code == 200
    assert "Nothing changed, so nothing was saved." in response.text
    assert _revisions(db) == [] and audit_actions(db) == []


BAD_NUMBERS = [
    ("first_notice.offset", "-1", "Enter whole minutes between 0 and 43200."),
    ("first_notice.offset", "43201", "Enter whole minutes between 0 and 43200."),
    ("first_notice.offset", "99999999999999999999", "Enter whole minutes between 0 and 43200."),
    ("first_notice.offset", "five", "Enter a whole number of minutes."),
    ("first_notice.offset", "2.5", "Enter a whole number of minutes."),
    ("first_notice.offset", "", "This field is required."),
    ("public_update.period", "0", "Enter whole minutes between 1 and 43200."),
    ("first_notice.remind_before", "5", "The reminder must be shorter than the deadline itself."),
    ("P2.outreach.remind_before", "60", "The reminder must be shorter than the deadline itself."),
    ("first_notice.escalate_every", "0", "Enter whole minutes between 1 and 43200."),
]


def test_bad_numbers_are_refused_at_the_field(admin, db) -> None:  # noqa: ANN001
    for field, value, message in BAD_NUMBERS:
        data = {"first_notice.offset": "4", "public_update.period": "10", field: value}
        response = admin.post("/settings/playbooks/outage", data=data, headers=HX)
        assert response.status_code == 422, (field, value)
        assert 'id="playbook"' in response.text and "<html" not in response.text
        assert "Nothing was saved. Correct the marked number and save again." in response.text
        error_id = "err-" + field.replace(".", "-")
        assert f'name="{field}" value="{value}"' in response.text  # what was typed stays in the form
        assert f'aria-describedby="{error_id}"' in response.text
        assert f'<p class="field-error" id="{error_id}" role="alert">{message}</p>' in response.text, (field, value)
    assert _revisions(db) == [] and audit_actions(db) == []


def test_an_override_shorter_than_the_reminder_is_refused_at_its_row(admin, db) -> None:  # noqa: ANN001
    response = admin.post("/settings/playbooks/outage", data={"P1.first_notice.offset": "1"})
    assert response.status_code == 422
    assert 'id="err-P1-first_notice-remind_before"' in response.text
    assert _revisions(db) == []


def test_business_hours_switch_for_complaints(admin, db) -> None:  # noqa: ANN001
    response = admin.post("/settings/playbooks/complaint", data={"business_hours": ["0", "1"]})
    assert response.status_code == 303
    assert _revisions(db)[0].document["business_hours"] is True
    page = admin.get("/settings/playbooks/complaint").text
    assert 'name="business_hours" value="1" checked' in page
    assert "Count in business hours:" in page.split("Revision history")[1]
    admin.post("/settings/playbooks/complaint", data={"business_hours": ["0"]})
    assert _revisions(db)[-1].document["business_hours"] is False
    # Outages run around the clock: the switch is not theirs, a forged one is ignored.
    admin.post("/settings/playbooks/outage", data={"business_hours": ["0", "1"]})
    assert len(_revisions(db)) == 2


def test_new_numbers_apply_to_deadlines_created_after_the_save(app, admin, db) -> None:  # noqa: ANN001
    def open_outage(title: str):  # noqa: ANN202
        with db() as session:
            incident = service.open_incident(session, kind="outage", severity="P2", title=title,
                                             actor=Actor.system("test"), now=FIXED_NOW, zone=ZoneInfo("Asia/Shanghai"))
            session.commit()
            return incident.id

    before = open_outage("old")
    admin.post("/settings/playbooks/outage", data={"first_notice.offset": "3"})
    after = open_outage("new")
    with db() as session:
        due = dict(session.execute(sa.select(Deadline.incident_id, Deadline.due_at).where(Deadline.rule_key == "first_notice")).all())
    assert due == {before: FIXED_NOW + timedelta(minutes=5), after: FIXED_NOW + timedelta(minutes=3)}


# -- API ---------------------------------------------------------------------------------------

def test_api_reads_a_playbook(api_as) -> None:  # noqa: ANN001
    body = api_as(Role.DUTY_MANAGER)("GET", "/api/v1/playbooks/complaint").json
    assert body["source"] == "defaults v3" and body["revision"] is None and body["business_hours"] is False
    supervisor = next(rule for rule in body["rules"] if rule["key"] == "supervisor_contact")
    assert supervisor["offset"] == 30 and supervisor["severity"] == {"P1": {"offset": 15, "remind_before": 5, "escalate_every": 5}}
    assert body["steps"][0]["meets"] == "supervisor_contact"
    assert [p["kind"] for p in api_as(Role.ADMIN)("GET", "/api/v1/playbooks").json["playbooks"]] == [k.value for k in Kind]


def test_api_changes_numbers(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    response = api("PATCH", "/api/v1/playbooks/complaint", json={
        "changes": {"first_plan.offset": 90, "P1.first_plan.offset": 60, "P1.supervisor_contact.escalate_every": None},
        "business_hours": True})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["source"] == "revision 1" and body["business_hours"] is True
    assert body["revisions"][0]["by"].startswith("api:")
    changes = {c["key"]: (c["before"], c["after"]) for c in body["revisions"][0]["changes"]}
    assert changes == {"business_hours": (False, True), "P1.supervisor_contact.escalate_every": (5, None),
                       "first_plan.offset": (120, 90), "P1.first_plan.offset": (None, 60)}
    assert audit_actions(db) == ["playbook.changed"]


BAD_CHANGES = [
    ({"changes": {"first_notice.offset": -5}}, 422, "changes.first_notice.offset"),
    ({"changes": {"first_notice.offset": "soon"}}, 422, "changes.first_notice.offset"),
    ({"changes": {"first_notice.offset": True}}, 422, "changes.first_notice.offset"),
    ({"changes": {"first_notice.offset": 1.5}}, 422, "changes.first_notice.offset"),
    ({"changes": {"P1.first_notice.remind_before": 9}}, 422, "changes.P1.first_notice.remind_before"),
    ({"changes": {"first_notice.period": 5}}, 422, "changes.first_notice.period"),
    ({"changes": {"first_notice.anchor": "resolved"}}, 422, "changes.first_notice.anchor"),
    ({"changes": {"P9.first_notice.offset": 1}}, 422, "changes.P9.first_notice.offset"),
    ({"changes": {}, "business_hours": True}, 422, "business_hours"),
    ({"changes": {}, "business_hours": "yes"}, 422, "business_hours"),
    ({"changes": [1]}, 400, "changes"),
    ({"changes": {}, "colour": "red"}, 400, "colour"),
]


def test_api_bad_changes_name_the_field(api_as, db) -> None:  # noqa: ANN001
    api = api_as(Role.ADMIN)
    for body, status, field in BAD_CHANGES:
        response = api("PATCH", "/api/v1/playbooks/outage", json=body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["field"] == field and response.json["error"]["message"]
    assert _revisions(db) == [] and audit_actions(db) == []


def test_api_unknown_kind_and_roles(api_as) -> None:  # noqa: ANN001
    assert api_as(Role.ADMIN)("GET", "/api/v1/playbooks/meteor").json["error"]["code"] == "not_found"
    response = api_as(Role.DUTY_MANAGER)("PATCH", "/api/v1/playbooks/outage", json={"changes": {"first_notice.offset": 3}})
    assert response.status_code == 403


def test_viewer_has_no_settings_links(client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.VIEWER))
    board = client.get("/").text
    assert "Duty roster" in board and "Playbooks" not in board and "Team channels" not in board
