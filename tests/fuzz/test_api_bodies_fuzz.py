"""The JSON API fed mutated and random bodies through the real app: never a 500.

Valid bodies for a spread of /api/v1 write routes (incidents, notes, transitions, review
actions, components, maintenance, rules, subscribers, shifts) with one part replaced by
random JSON (huge and non-finite numbers, deep lists, odd text), dropped, or the whole body
replaced by random JSON or bytes. Every answer is a success or a 4xx in the error shape.
tests/security/test_api_bad_input.py walks every route with a fixed table of the same.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Role
from tests.fuzz.profiles import FUZZ_SLOW
from tests.fuzz.test_hooks_fuzz import bodies

REFERENCE = "{reference}"
ROUTES: list[tuple[str, str, dict]] = [
    ("POST", "/api/v1/incidents", {"kind": "outage", "severity": "P2", "title": "支付失败"}),
    ("PATCH", f"/api/v1/incidents/{REFERENCE}", {"version": 1, "title": "支付失败", "commander": None}),
    ("POST", f"/api/v1/incidents/{REFERENCE}/notes", {"body": "已联系渠道"}),
    ("POST", f"/api/v1/incidents/{REFERENCE}/transitions", {"to": "investigating", "version": 1, "note": "x"}),
    ("POST", f"/api/v1/incidents/{REFERENCE}/review/actions", {"title": "补监控", "owner_id": 1,
                                                              "due_date": "2030-01-02"}),
    ("POST", "/api/v1/components", {"name": "支付", "position": 1, "group_id": None}),
    ("POST", "/api/v1/maintenance", {"title": "升级", "scheduled_start": "2030-01-01T01:00:00+08:00",
                                     "scheduled_end": "2030-01-01T02:00:00+08:00", "components": [1]}),
    ("POST", "/api/v1/rules", {"name": "品牌", "brand": "品牌", "aliases": ["别名"], "critical_terms": ["爆炸"]}),
    ("POST", "/api/v1/subscribers", {"kind": "webhook", "url": "https://93.184.216.34/hook", "components": [1]}),
    ("POST", "/api/v1/roster/shifts", {"user": "admin1", "starts_at": "2030-01-01T09:00:00+08:00", "hours": 8}),
]
requests = st.sampled_from(ROUTES).flatmap(
    lambda route: st.tuples(st.just(route[0]), st.just(route[1]),
                            bodies(route[2], [(key,) for key in route[2]])))


def test_random_bodies_never_break_the_api(api_as, make_user) -> None:  # noqa: ANN001
    make_user(Role.ADMIN, "admin1")
    call = api_as(Role.ADMIN)
    reference = call("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P2",
                                                        "title": "fuzz"}).json["reference"]

    @FUZZ_SLOW
    @given(requests, st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]))
    def check(request: tuple[str, str, bytes], content_type: str) -> None:
        method, path, body = request
        response = call(method, path.format(reference=reference), data=body,
                        headers={"Content-Type": content_type})
        assert response.status_code < 500, (method, path, body[:200], response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            error = (response.get_json(silent=True) or {}).get("error") or {}
            assert error.get("code") and error.get("message"), (path, response.get_data(as_text=True)[:300])

    check()
