"""/reports: a period's incidents, answer times, promises kept, complaint categories, root causes.

Charts are SVG drawn on the server; every chart's numbers are on the page as a table and
downloadable as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese right).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, make_response, render_template, request
from werkzeug.datastructures import MultiDict

from console.db import get_session
from console.i18n import message_for, select_locale, team_zone
from console.labels import KIND_LABELS, SEVERITY_LABELS, SOURCE_LABELS, STATUS_LABELS
from console.review_labels import CHOICE_LABELS
from console.views import report_columns
from console.views.spreadsheet import inert
from incidents import reports
from incidents.errors import InvalidInput
from incidents.lifecycle import Kind, Severity, Source
from console.clock import utcnow

bp = Blueprint("reports", __name__, url_prefix="/reports")

PRESETS = (7, 30, 90)
MAX_DAYS = 366
AXIS_LABELS = 7  # at most this many dates under the per-day chart, so they stay readable on a phone


def parse_period(args: MultiDict) -> tuple[reports.Period, dict[str, Any]]:
    """The period asked for: ?days=7|30|90 (ending now) or ?from=&to= (local dates, both included)."""
    zone = team_zone()
    start_text, end_text = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if start_text or end_text:
        days: dict[str, date] = {}
        for field, text in (("from", start_text), ("to", end_text)):
            try:
                days[field] = date.fromisoformat(text)
            except ValueError:
                raise InvalidInput(field, f"{field} is not a date (YYYY-MM-DD)", reason="not_a_time") from None
        if days["to"] < days["from"]:
            raise InvalidInput("to", "to comes before from", reason="end_before_start")
        if (days["to"] - days["from"]).days >= MAX_DAYS:
            raise InvalidInput("to", f"a report covers at most {MAX_DAYS} days", reason="too_long", max=MAX_DAYS)
        start = datetime.combine(days["from"], time(), tzinfo=zone)
        end = datetime.combine(days["to"] + timedelta(days=1), time(), tzinfo=zone)
        return reports.Period(start, end), {"from": start_text, "to": end_text, "days": None}
    raw = args.get("days") or "30"
    if not raw.isdigit() or int(raw) not in PRESETS:
        raise InvalidInput("days", "days is one of 7, 30, 90", reason="choice", allowed="7, 30, 90")
    now = utcnow()
    return reports.Period(now - timedelta(days=int(raw)), now), {"from": "", "to": "", "days": int(raw)}


def day_axis(per_day: list[tuple[str, int]]) -> list[str]:
    """The date under each day's bar of the chart ("12/1", the team's local day), or "" for a day
    left unlabelled: every step-th day, each label with the room of `step` bars, at most AXIS_LABELS."""
    step = max(1, math.ceil(len(per_day) / AXIS_LABELS))
    labels = []
    for index, (day, _count) in enumerate(per_day):
        local = date.fromisoformat(day)
        labels.append(f"{local.month}/{local.day}" if index % step == 0 and index + step <= len(per_day) else "")
    return labels


def _label(table: dict[Any, Any], value: str) -> str:
    for key, label in table.items():
        if getattr(key, "value", key) == value:
            return str(label)
    return value


def _local(value: datetime | None) -> str:
    return value.astimezone(team_zone()).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _seconds(start: datetime, end: datetime | None) -> str:
    return str(int((end - start).total_seconds())) if end else ""


def _rule_name(rule: dict[str, Any], key: str) -> str:
    return rule.get("zh" if select_locale().startswith("zh") else "en") or key


def _datasets(period: reports.Period) -> dict[str, Callable[[], tuple[list[str], Iterable[list[Any]]]]]:
    """Each downloadable table: a function giving its header and rows (built only when asked)."""
    session = get_session()
    report = lambda: reports.report(session, period, now=utcnow(), zone=team_zone())  # noqa: E731

    def counts(key: str, table: dict[Any, Any]) -> Callable[[], tuple[list[str], Iterable[list[Any]]]]:
        return lambda: (["value", "label", "incidents"],
                        [[value, _label(table, value), count] for value, count in report()[key].items()])

    def incidents() -> tuple[list[str], Iterable[list[Any]]]:
        rows = reports.report(session, period, now=utcnow(), zone=team_zone())["incidents"]
        return (["reference", "kind", "severity", "source", "status", "title", "opened_at", "acknowledged_at",
                 "resolved_at", "closed_at", "seconds_to_acknowledge", "seconds_to_resolve"],
                [[i.reference, i.kind.value, i.severity.value, i.source.value, i.status.value, i.title,
                  _local(i.opened_at), _local(i.acknowledged_at), _local(i.resolved_at), _local(i.closed_at),
                  _seconds(i.opened_at, i.acknowledged_at), _seconds(i.opened_at, i.resolved_at)] for i in rows])

    def deadlines() -> tuple[list[str], Iterable[list[Any]]]:
        rows = reports.deadline_rows(session, period)
        return (["incident", "rule", "name", "state", "due_at", "met_at", "late_seconds", "waived_reason"],
                [[d.incident.reference, d.rule_key, _rule_name(d.rule, d.rule_key), d.state.value, _local(d.due_at),
                  _local(d.met_at), "" if d.late_seconds is None else d.late_seconds, d.waived_reason] for d in rows])

    def actions() -> tuple[list[str], Iterable[list[Any]]]:
        items = report()["actions"]["items"]
        return (["incident", "title", "owner", "due_at", "status"],
                [[item.review.incident.reference, item.title, item.owner.display_name, _local(item.due_at),
                  item.status.value] for item in items])

    def outreach() -> tuple[list[str], Iterable[list[Any]]]:
        rows = reports.outreach_rows(session, period)
        return (["incident", "customer", "platform", "handle", "at", "channel", "result", "note", "promise",
                 "promise_due_at", "by"],
                [[a.contact.incident.reference, a.contact.name, a.contact.platform.value, a.contact.handle,
                  _local(a.at), a.channel.value, a.result.value, a.note, a.promise, _local(a.promise_due_at),
                  a.actor_label] for a in rows])

    def compensation() -> tuple[list[str], Iterable[list[Any]]]:
        rows = reports.compensation_rows(session, period)
        return (["incident", "customer", "kind", "value", "state", "offered_at", "accepted_at", "declined_at",
                 "delivered_at", "confirmed_at"],
                [[c.incident.reference, c.contact.name, c.kind.value, "" if c.value is None else str(c.value),
                  c.state.value, _local(c.offered_at), _local(c.accepted_at), _local(c.declined_at),
                  _local(c.delivered_at), _local(c.confirmed_at)] for c in rows])

    return {
        "incidents": incidents,
        "deadlines": deadlines,
        "outreach": outreach,
        "compensation": compensation,
        "action_items": actions,
        "by_kind": counts("by_kind", KIND_LABELS),
        "by_severity": counts("by_severity", SEVERITY_LABELS),
        "by_source": counts("by_source", SOURCE_LABELS),
        "categories": counts("categories", CHOICE_LABELS),
        "per_day": lambda: (["day", "incidents"], [list(row) for row in report()["per_day"]]),
        "adherence": lambda: (
            ["rule", "name", "met_on_time", "met_late", "missed", "waived", "pending", "held_by_automatic_statement",
             "on_time_share"],
            [[row["rule"], row["name"]["zh" if select_locale().startswith("zh") else "en"], row["met_on_time"],
              row["met_late"], row["missed"], row["waived"], row["pending"], row["held"],
              "" if row["on_time_share"] is None else round(row["on_time_share"], 4)] for row in report()["adherence"]]),
        "root_causes": lambda: (["root_cause", "incidents"], [list(r) for r in report()["root_causes"]]),
    }


DATASETS = ("incidents", "deadlines", "outreach", "compensation", "action_items", "by_kind", "by_severity",
            "by_source", "categories", "per_day", "adherence", "root_causes")


def csv_response(name: str, period: reports.Period, *, for_people: bool = True) -> Any:
    """One dataset of the period as a CSV download: in the reader's language `for_people`, else in codes."""
    datasets = _datasets(period)
    if name not in datasets:
        raise InvalidInput("dataset", f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}",
                           reason="choice", allowed=", ".join(DATASETS))
    header, rows = datasets[name]()
    if for_people:
        header, rows = report_columns.for_people(name, header, list(rows))
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([inert(value, numbers_stay=True) for value in row] for row in rows)
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    stamp = period.start.astimezone(team_zone()).strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


@bp.get("")
def index() -> Any:
    """The reports page for one period (422 with the message at the field on a bad range)."""
    try:
        period, chosen = parse_period(request.args)
    except InvalidInput as error:
        chosen = {"from": request.args.get("from", ""), "to": request.args.get("to", ""), "days": None}
        return render_template("review/reports.html", report=None, chosen=chosen, presets=PRESETS,
                               errors={error.field: message_for(error)}, datasets=DATASETS), 422
    report = reports.report(get_session(), period, now=utcnow(), zone=team_zone())
    peak = max([count for _, count in report["per_day"]] + [1])
    return render_template("review/reports.html", report=report, chosen=chosen, presets=PRESETS, errors={},
                           peak=peak, axis=day_axis(report["per_day"]),
                           now=utcnow(), datasets=DATASETS, kinds=list(Kind), severities=list(Severity),
                           sources=list(Source), STATUS_LABELS=STATUS_LABELS, SOURCE_LABELS=SOURCE_LABELS,
                           query={k: v for k, v in request.args.items() if k in ("days", "from", "to")})


@bp.get("/<name>.csv")
def export(name: str) -> Any:
    """Download one table of the report as CSV."""
    period, _ = parse_period(request.args)
    return csv_response(name, period)
