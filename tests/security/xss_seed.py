"""Store the XSS corpus through the console's own API, in every text field a person can fill.

`seed(call, payloads, owner_id=…)` takes `call(method, path, json) -> (status, body)` so the
same seeding runs through Flask's test client (tests/security/test_xss.py) and over HTTP
against a live server (tests/browser/test_xss_corpus.py). Payload i goes to incident i and
to the i-th record of every other kind. A value refused at its field (422 naming the field)
is allowed, since refusing is safe; anything else but success fails at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Call = Callable[[str, str, Any], tuple[int, Any]]
PUBLIC_HOOK = "https://93.184.216.34/hook"  # a public literal: accepted without any DNS lookup


def braces(text: str) -> str:
    """Free text for the composer: a literal brace is written doubled there."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass
class Seeded:
    incidents: list[str] = field(default_factory=list)
    contacts: list[tuple[str, int]] = field(default_factory=list)
    maintenance: list[int] = field(default_factory=list)
    subscribers: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    rules: list[int] = field(default_factory=list)
    stored: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)


class _Store:
    def __init__(self, call: Call, seeded: Seeded) -> None:
        self.call = call
        self.seeded = seeded

    def __call__(self, what: str, method: str, path: str, body: Any) -> Any:
        status, answer = self.call(method, path, body)
        if status in (200, 201, 202):
            self.seeded.stored[what] += 1
            return answer
        assert status == 422, f"{what}: {method} {path} answered {status}: {answer}"
        assert answer["error"]["field"] and answer["error"]["message"], f"{what}: a refusal must name the field"
        self.seeded.refused[what] += 1
        return None


def seed(call: Call, payloads: list[str], *, owner_id: int, owner_username: str,
         now: datetime | None = None) -> Seeded:
    """Every payload into every text field; returns what was stored where."""
    now = now or datetime.now(UTC)
    seeded = Seeded()
    store = _Store(call, seeded)
    for i, p in enumerate(payloads):
        created = store("incident.title", "POST", "/api/v1/incidents",
                        {"kind": "complaint", "severity": "P3", "title": p[:200], "summary": p})
        if created is None:
            created = store("incident.summary", "POST", "/api/v1/incidents",
                            {"kind": "complaint", "severity": "P3", "title": f"xss {i}", "summary": p})
        ref = created["reference"]
        seeded.incidents.append(ref)
        base = f"/api/v1/incidents/{ref}"
        store("note", "POST", f"{base}/notes", {"body": p})
        if store("public_title", "PUT", f"{base}/public", {"public_title": p[:200], "public_title_en": p[:200]}) is None:
            store("public_title.fallback", "PUT", f"{base}/public", {"public_title": f"公开 {i}",
                                                                     "public_title_en": f"public {i}"})
        store("update", "POST", f"{base}/updates", {"body": braces(p), "body_en": braces(p)})
        store("talking_points", "POST", f"{base}/talking-points", {"body": p})
        contact = store("contact", "POST", f"{base}/contacts", {
            "name": p[:100], "platform": "other", "handle": f"xss-{i}", "order_numbers": p[:100],
            "activity": p, "demand": p, "notes": p})
        if contact is not None:
            seeded.contacts.append((ref, contact["id"]))
            store("attempt", "POST", f"{base}/contacts/{contact['id']}/attempts",
                  {"result": "no_answer", "channel": "other", "note": p, "promise": p,
                   "promise_due_at": (now + timedelta(days=1)).isoformat()})
        store("case.prejudge", "POST", f"{base}/case/prejudge", {"fields": {"real_want": p, "category": "other"}})
        store("case.facts", "POST", f"{base}/case/facts", {"fields": {
            "when": p, "where": p, "who": p, "why": p, "impact": p, "evidence": p, "demand": p, "records": p,
            "disagreements": p}})
        store("review", "PATCH", f"{base}/review", {key: p for key in (
            "summary", "root_cause", "contributing_factors", "responsibility", "went_well", "went_badly")})
        store("action_item", "POST", f"{base}/review/actions",
              {"title": p[:300], "owner_id": owner_id, "due_date": (now + timedelta(days=3)).date().isoformat()})
        store("hook", "POST", "/hooks/generic", {"title": p[:200], "status": "firing", "key": f"xss-{i}",
                                                 "description": p})
        store("complaint", "POST", "/api/v1/complaints", {"product": p[:100], "category": "quality",
                                                          "channel": "hotline", "text": p})
        # What the status page and settings hold.
        store("component", "POST", "/api/v1/components", {"name": f"{p[:80]} {i}", "name_en": p[:100],
                                                          "description": p, "description_en": p})
        store("component_group", "POST", "/api/v1/component-groups", {"name": f"{p[:80]} {i}", "name_en": p[:100]})
        window = store("maintenance", "POST", "/api/v1/maintenance", {
            "title": p[:200], "title_en": p[:200], "body": p, "body_en": p,
            "scheduled_start": (now + timedelta(days=2, hours=i)).isoformat(),
            "scheduled_end": (now + timedelta(days=2, hours=i + 1)).isoformat()})
        if window is not None:
            seeded.maintenance.append(window["id"])
        source = store("source", "POST", "/api/v1/sources", {"name": f"{p[:80]} {i}",
                                                             "url": f"https://93.184.216.34/feed/{i}"})
        if source is not None:
            seeded.sources.append(source["id"])
        rule = store("rule", "POST", "/api/v1/rules", {"name": f"{p[:80]} {i}", "brand": f"品牌{i}", "aliases": [p],
                                                       "negative_terms": [p], "critical_terms": [p], "exclusions": [p]})
        if rule is not None:
            seeded.rules.append(rule["id"])
        subscriber = store("subscriber", "POST", "/api/v1/subscribers",
                           {"kind": "webhook", "url": f"{PUBLIC_HOOK}/{i}", "name": p[:100]})
        if subscriber is not None:
            seeded.subscribers.append(subscriber["id"])
        store("channel", "POST", "/api/v1/channels", {"name": f"{p[:80]} {i}", "kind": "webhook",
                                                      "config": {"url": f"{PUBLIC_HOOK}/{i}"}})
        store("calendar_day", "POST", "/api/v1/calendar/days",
              {"date": (now + timedelta(days=40 + i)).date().isoformat(), "workday": True, "note": p})
        store("shift", "POST", "/api/v1/roster/shifts", {
            "user": owner_username, "starts_at": (now + timedelta(days=1, hours=i)).isoformat(), "hours": 1, "note": p})
        store("script", "PUT", "/api/v1/scripts/outage/progress", {"zh": braces(p), "en": braces(p)})
        store("complaint_rule", "POST", "/api/v1/complaint-rules", {"category": "service", "product": p[:100]})
    return seeded
