"""The reports page: the per-day chart reads its dates from an axis, and customer promises count as one rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from console.views.report_pages import AXIS_LABELS, day_axis
from incidents import service
from incidents.actors import Actor
from incidents.models import Role
from tests.conftest import FIXED_NOW

ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _open_at(app, opened_at: datetime, title: str = "支付回调延迟") -> str:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind="outage", severity="P2", title=title, actor=SYSTEM,
                                         now=opened_at, zone=ZONE)
        session.commit()
        return incident.reference


def _axis(page: str) -> list[str]:
    axis = page[page.index('class="day-axis"'):]
    axis = axis[:axis.index("</ol>")]
    return re.findall(r"<li>(?:<span>([^<]*)</span>)?</li>", axis)


def test_the_per_day_chart_has_the_team_days_under_its_bars(signed_in, app) -> None:  # noqa: ANN001
    app.config["CLOCK"] = lambda: FIXED_NOW
    # 17:30 UTC on the 3rd is 01:30 on the 4th in Shanghai: the bar and the table say the 4th.
    _open_at(app, datetime(2026, 11, 3, 17, 30, tzinfo=UTC))
    page = signed_in.get("/reports?from=2026-11-01&to=2026-11-07").text
    assert _axis(page) == ["11/1", "11/2", "11/3", "11/4", "11/5", "11/6", "11/7"]
    assert '<tr><td>2026-11-04</td><td class="num">1</td></tr>' in page
    assert '<tr><td>2026-11-03</td><td class="num">0</td></tr>' in page
    month = _axis(signed_in.get("/reports?from=2026-11-01&to=2026-11-30").text)
    assert len(month) == 30
    assert [label for label in month if label] == ["11/1", "11/6", "11/11", "11/16", "11/21", "11/26"]


def test_a_long_period_keeps_few_dates_each_with_room() -> None:
    for days in (1, 7, 8, 30, 31, 90, 91, 366):
        series = [((datetime(2026, 1, 1) + timedelta(days=i)).date().isoformat(), 0) for i in range(days)]
        labels = day_axis(series)
        named = [i for i, label in enumerate(labels) if label]
        assert len(labels) == days and named[0] == 0 and 1 <= len(named) <= AXIS_LABELS
        step = named[1] - named[0] if len(named) > 1 else 1
        assert all(days - i >= step for i in named), (days, named)  # the last date has its bars' width too


def test_customer_promises_are_one_rule_in_the_adherence_table(signed_in, app, api_as) -> None:  # noqa: ANN001
    app.config["CLOCK"] = lambda: FIXED_NOW
    ref = _open_at(app, FIXED_NOW - timedelta(minutes=30))
    manager = api_as(Role.DUTY_MANAGER)
    due = (FIXED_NOW.astimezone(ZONE) + timedelta(hours=4)).isoformat(timespec="minutes")
    for name, handle in (("赵女士", "13700137000"), ("钱先生", "13700137001"), ("孙女士", "13700137002")):
        contact = manager("POST", f"/api/v1/incidents/{ref}/contacts", json={"name": name, "handle": handle}).json
        logged = manager("POST", f"/api/v1/incidents/{ref}/contacts/{contact['id']}/attempts",
                         json={"result": "reached", "promise": "明天中午前回电", "promise_due_at": due})
        assert logged.status_code == 201, logged.text
    rules = [row["rule"] for row in api_as(Role.VIEWER)("GET", "/api/v1/reports?days=7").json["adherence"]]
    assert rules.count("promises") == 1 and not [rule for rule in rules if rule.startswith("promise:")]
    promises = next(row for row in api_as(Role.VIEWER)("GET", "/api/v1/reports?days=7").json["adherence"]
                    if row["rule"] == "promises")
    assert promises["pending"] == 3 and promises["name"] == {"zh": "客户承诺", "en": "Customer promises"}
    page = signed_in.get("/reports?days=7").text
    assert page.count("Customer promises") == 1 and "Keep the promise to" not in page
    # The page's CSV names the rule for people; the API's keeps the code for scripts.
    csv = signed_in.get("/reports/adherence.csv?days=7").data.decode("utf-8")
    assert csv.count("\r\nCustomer promises,") == 1 and "Keep the promise to" not in csv
    coded = api_as(Role.VIEWER)("GET", "/api/v1/reports/adherence.csv?days=7").data.decode("utf-8")
    assert coded.count("\r\npromises,Customer promises,") == 1 and "promise:" not in coded
