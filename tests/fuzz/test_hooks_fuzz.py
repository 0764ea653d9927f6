"""The alert hooks fed mutated and random JSON through the real app: never a 500.

POST /hooks/alertmanager|grafana|generic with a real token, bodies built from valid
payloads with parts replaced by random JSON, random shapes, random bytes and odd content
types. Every answer is 200/201 with a result, or a 4xx in the API's error shape.
"""

from __future__ import annotations

import copy
import json

from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Role
from tests.fuzz.profiles import FUZZ_SLOW
from tests.monitors.test_alerthooks import GRAFANA, PATHS, json_values

GENERIC = {"title": "支付回调失败", "status": "firing", "key": "pay", "severity": "P2", "description": "5xx",
           "components": ["支付"]}
GENERIC_PATHS = [(key,) for key in GENERIC] + [("components", 0)]
ALERTMANAGER = {**copy.deepcopy(GRAFANA), "version": "4", "receiver": "console"}
for _field in ("orgId", "state", "message", "title", "truncatedAlerts"):
    ALERTMANAGER.pop(_field, None)

wide_values = st.one_of(json_values, st.text(max_size=300), st.integers(min_value=-(2**70), max_value=2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
                            ["<script>alert(1)</script>", "P0", "firing", "resolved", "", " ", "\u0000", "9" * 400,
                             "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"]))


_DROP = object()


def _edited(base: dict, path: tuple, value: object = _DROP) -> dict:
    """A copy of `base` with the part at `path` replaced by `value`, or removed."""
    payload = copy.deepcopy(base)
    target = payload
    for step in path[:-1]:
        target = target[step]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


def bodies(base: dict, paths: list[tuple]) -> st.SearchStrategy[bytes]:
    mutated = st.builds(_edited, st.just(base), st.sampled_from(paths), wide_values)
    dropped = st.builds(_edited, st.just(base), st.sampled_from(paths))
    many = st.builds(lambda n: {**copy.deepcopy(base), "alerts": [copy.deepcopy(base.get("alerts", [{}])[0])] * n},
                     st.integers(0, 300))
    documents = st.one_of(mutated, dropped, many, json_values, st.dictionaries(st.text(max_size=12), wide_values))
    as_json = documents.map(lambda d: json.dumps(d, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass"))
    return st.one_of(as_json, st.binary(max_size=200), as_json.map(lambda b: b[: len(b) // 2]))


hooks = st.one_of(
    st.tuples(st.just("alertmanager"), bodies(ALERTMANAGER, PATHS)),
    st.tuples(st.just("grafana"), bodies(GRAFANA, PATHS)),
    st.tuples(st.just("generic"), bodies(GENERIC, GENERIC_PATHS)),
    st.tuples(st.sampled_from(["alertmanager", "grafana", "generic"]), bodies(GENERIC, GENERIC_PATHS)),
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "application/json; charset=gbk"])


@FUZZ_SLOW
@given(hooks, content_types)
def test_hooks_answer_mutated_json_without_a_server_error(client, make_token, hook, content_type: str) -> None:  # noqa: ANN001
    if not hasattr(client, "hook_headers"):
        client.hook_headers = make_token(Role.AGENT)
    name, body = hook
    response = client.post(f"/hooks/{name}", data=body, headers={**client.hook_headers, "Content-Type": content_type})
    assert response.status_code < 500, (response.status_code, body[:200])
    document = response.get_json(silent=True)
    assert isinstance(document, dict), response.text[:200]
    if response.status_code >= 400:
        assert response.status_code in (400, 413, 415, 422)
        assert set(document["error"]) >= {"code", "message"} and document["error"]["message"]
    else:
        assert document["result"] in ("opened", "updated", "unchanged", "ignored")
