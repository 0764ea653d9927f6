"""A notice saying that an action did not happen is a warning, never a success."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from incidents import comms, components, service
from incidents.actors import Actor
from incidents.models import Role
from incidents.timeutil import utcnow
from incidents.updates import set_public_identity
from tests.conftest import sign_in

HX = {"HX-Request": "true"}
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _notice(html: str, text: str) -> str:
    """The class of the <p> notice holding `text`."""
    match = re.search(r'<p class="([^"]+)" role="status">([^<]*)</p>', html[max(0, html.index(text) - 200):])
    assert match and text in match.group(2), html
    return match.group(1)


def _open(app) -> str:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.open_incident(session, kind="outage", severity="P1", title="订单库主从延迟", actor=SYSTEM,
                                         now=utcnow() - timedelta(minutes=10), zone=ZONE)
        session.commit()
        return incident.reference


def test_saving_a_customer_unchanged_warns_and_a_change_is_a_success(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app)
    signed_in.post(f"/incidents/{ref}/contacts", data={"name": "王女士", "handle": "13800138000"}, headers=HX)
    edit = f"/incidents/{ref}/contacts/1/edit"
    same = signed_in.post(edit, data={"name": "王女士", "handle": "13800138000"}, headers=HX)
    assert same.status_code == 200 and _notice(same.text, "Nothing changed for 王女士.") == "flash-warn"
    saved = signed_in.post(edit, data={"name": "王女士", "handle": "13900139000"}, headers=HX)
    assert _notice(saved.text, "Saved 王女士.") == "flash-done"


def test_a_list_added_with_bad_rows_skipped_warns(signed_in, app) -> None:  # noqa: ANN001
    ref = _open(app)
    rows = "姓名,平台,联系方式\n孙先生,电话,13700137000\n周女士,飞鸽,zhou01\n吴先生,电话,13700137002\n"
    added = signed_in.post(f"/incidents/{ref}/contacts/import", headers=HX,
                           data={"text": rows, "confirm": "1", "skip_bad_rows": "1"})
    assert _notice(added.text, "Added 2, skipped 1 bad rows.") == "flash-warn"


def test_marking_read_with_nothing_waiting_warns(signed_in) -> None:  # noqa: ANN001
    nothing = signed_in.post("/notifications/read-all", headers=HX)
    assert _notice(nothing.text, "Nothing was waiting to be marked read.") == "flash-warn"


def test_an_update_held_for_signoff_warns_and_a_published_one_is_a_success(  # noqa: ANN001
        client, app, make_user) -> None:
    ref = _open(app)
    with app.extensions["db_sessionmaker"]() as session:
        order = components.save_component(session, data={"name": "下单", "name_en": "Ordering"}, actor=SYSTEM,
                                          now=utcnow())
        incident = service.get_incident(session, ref)
        set_public_identity(session, incident=incident, public_title="部分用户下单失败",
                            public_title_en="Some orders fail", actor=SYSTEM, now=utcnow())
        comms.save_comms_settings(session, {"signoff": {"outage": ["P1"]}}, actor=SYSTEM, now=utcnow())
        session.commit()
        order_id = order.id
    update = {"body": "我们发现下单出现异常，正在处理。", "body_en": "Ordering has problems; we are on it.",
              "public_status": "investigating", f"comp_{order_id}": "major_outage"}
    sign_in(client, make_user(Role.COMMS, "lina"))
    held = client.post(f"/incidents/{ref}/updates", data=update, headers=HX)
    assert held.status_code == 200, held.text
    assert _notice(held.text, "Sent for sign-off") == "flash-warn"
    client.post("/logout")
    sign_in(client, make_user(Role.DUTY_MANAGER, "liuyang"))
    published = client.post(f"/incidents/{ref}/updates", data=update, headers=HX)
    assert _notice(published.text, "Published.") == "flash-done"


def test_a_playbook_saved_unchanged_is_a_warning_notice(client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.ADMIN, "boss"))
    response = client.post("/settings/playbooks/outage", data={"first_notice.offset": "5"}, headers=HX)
    assert response.status_code == 200
    assert re.search(r'<p class="notice notice-warn" role="status">Nothing changed, so nothing was saved.</p>',
                     response.text)
