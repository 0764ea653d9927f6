"""The settings' domain functions without the console: playbook edits, history, masks, calendar."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import calendar_days, playbook_history, playbooks, team_channels
from incidents.actors import Actor
from incidents.business_hours import BusinessCalendar
from incidents.lifecycle import Kind
from incidents.models import AuditRecord, PlaybookRevision
from tests.conftest import FIXED_NOW

ADMIN = Actor(label="李静")


def test_blanking_overrides_alone_changes_nothing(db_session) -> None:  # noqa: ANN001
    """Blank overrides on a kind that has none used to leave an empty table and write a revision."""
    playbook = playbooks.change_numbers(db_session, kind=Kind.OUTAGE, changes={"P1.first_notice.offset": "",
                                        "P3.public_update.period": ""}, business_hours=None, actor=ADMIN, now=FIXED_NOW)
    assert playbook.source == "defaults v3" and "severity" not in playbook.document
    assert db_session.scalar(sa.select(sa.func.count()).select_from(PlaybookRevision)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0


def test_history_compares_each_revision_with_the_one_before(db_session) -> None:  # noqa: ANN001
    playbooks.change_numbers(db_session, kind=Kind.COMPLAINT, changes={"first_plan.offset": "90"}, business_hours=True,
                             actor=ADMIN, now=FIXED_NOW)
    playbooks.change_numbers(db_session, kind=Kind.COMPLAINT, changes={"P1.supervisor_contact.offset": ""},
                             business_hours=None, actor=Actor(label="王芳"), now=FIXED_NOW)
    second, first = playbook_history.history(db_session, Kind.COMPLAINT)
    assert (second.revision, second.created_by) == (2, "王芳")
    assert [(c.key, c.before, c.after) for c in second.changes] == [("P1.supervisor_contact.offset", 15, None)]
    assert [(c.key, c.before, c.after) for c in first.changes] == [("business_hours", False, True),
                                                                 ("first_plan.offset", 120, 90)]
    assert playbook_history.history(db_session, Kind.OUTAGE) == []


def test_error_fields_in_the_editor_names() -> None:
    assert playbook_history.change_key("rules.first_notice.offset") == "first_notice.offset"
    assert playbook_history.change_key("severity.P1.first_notice.remind_before") == "P1.first_notice.remind_before"
    assert playbook_history.change_key("business_hours") == "business_hours"


def test_masks_keep_a_secret_recognisable_but_unusable() -> None:
    assert team_channels.mask("url", "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789") == \
        "https://oapi.dingtalk.com/…6789"
    assert team_channels.mask("secret", "SEC0123456789abcdef") == "••••cdef"
    assert team_channels.mask("password", "short") == "••••"
    assert team_channels.mask("host", "smtp.example.com") == "smtp.example.com"
    assert team_channels.mask("secret", None) is None


def test_days_are_explained_as_the_clock_counts_them() -> None:
    calendar = BusinessCalendar(zone=ZoneInfo("Asia/Shanghai"), overrides={date(2026, 10, 9): False})
    notes = {date(2026, 10, 9): "公司周年庆"}

    def explain(day: date) -> tuple:
        row = calendar_days.explain_day(calendar, day, notes)
        return row.workday, row.reason, row.holiday, row.note

    assert explain(date(2026, 10, 1)) == (False, "holiday", "National Day", "")
    assert explain(date(2026, 10, 10)) == (True, "makeup_workday", "National Day", "")
    assert explain(date(2026, 10, 9)) == (False, "override", None, "公司周年庆")
    assert explain(date(2026, 10, 11)) == (False, "weekend", None, "")
    assert explain(date(2026, 10, 12)) == (True, "workday", None, "")
    assert explain(date(2027, 1, 1)) == (True, "guessed", None, "")
    assert calendar_days.uncovered_years(calendar, [date(2026, 12, 31), date(2027, 1, 1)]) == [2027]
