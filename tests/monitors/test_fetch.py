"""fetch_feed against real HTTP servers on 127.0.0.1 (no other traffic), and next_poll_at."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from monitors.feeds import parse_feed
from monitors.fetch import (
    USER_AGENT,
    fetch_feed,
    next_poll_at,
    parse_max_age,
    parse_retry_after,
)
from tests.monitors.conftest import ETAG, FEED, LAST_MODIFIED, NOW


def fetch(url: str, networks: list, **kwargs: object):
    return fetch_feed(url, allowed_networks=networks, **kwargs)  # type: ignore[arg-type]


def test_ok_with_validators_and_cache_age(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/feed.xml", local_only)
    assert result.status == "ok" and result.http_status == 200
    assert result.body == FEED
    assert result.etag == ETAG and result.last_modified == LAST_MODIFIED
    assert result.cache_max_age_s == 600
    assert result.final_url == f"{base_url}/feed.xml"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.error is None


@pytest.mark.parametrize("validators", [{"etag": ETAG}, {"last_modified": LAST_MODIFIED}])
def test_conditional_get_gives_not_modified(base_url: str, local_only: list, validators: dict) -> None:
    result = fetch(f"{base_url}/feed.xml", local_only, **validators)
    assert result.status == "not_modified" and result.http_status == 304
    assert result.body == b""
    assert result.etag == ETAG
    if "last_modified" in validators:
        assert result.last_modified == LAST_MODIFIED  # kept from the request when 304 omits it


def test_user_agent_and_extra_headers_sent(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/echo", local_only, extra_headers={"Cookie": "SUB=secret"})
    sent = json.loads(result.body)
    assert sent["User-Agent"] == USER_AGENT == "CrisisConsole/0.1 (+feed monitor)"
    assert sent["Cookie"] == "SUB=secret"
    assert "gzip" in sent["Accept-Encoding"]


def test_extra_headers_not_leaked_to_other_origin(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/redirect-other-origin", local_only, extra_headers={"Cookie": "SUB=secret"})
    assert result.status == "ok"
    assert result.final_url != f"{base_url}/redirect-other-origin"
    assert "Cookie" not in json.loads(result.body)


@pytest.mark.parametrize("path", ["/gzip.xml", "/deflate.xml", "/chunked-gzip"])
def test_compressed_bodies_are_decoded(base_url: str, local_only: list, path: str) -> None:
    result = fetch(f"{base_url}{path}", local_only)
    assert result.status == "ok"
    assert result.body == FEED


def test_decoded_size_is_capped_for_gzip_bomb(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/gzip-bomb", local_only, max_bytes=1024 * 1024)
    assert result.status == "error" and result.error_code == "too_large"
    assert "1024 KiB" in result.error


def test_50mb_body_cut_at_default_cap_quickly(base_url: str, local_only: list) -> None:
    started = time.monotonic()
    result = fetch(f"{base_url}/big", local_only)
    assert result.status == "error" and result.error_code == "too_large"
    assert "5120 KiB" in result.error
    assert result.body == b""
    assert time.monotonic() - started < 3


def test_trickling_server_cut_by_deadline(base_url: str, local_only: list) -> None:
    started = time.monotonic()
    result = fetch(f"{base_url}/trickle", local_only, read_timeout=0.5, deadline_s=0.8)
    elapsed = time.monotonic() - started
    assert result.status == "error" and result.error_code == "deadline"
    assert 0.7 < elapsed < 1.8  # deadline + at most one read timeout


def test_silent_server_hits_read_timeout(base_url: str, local_only: list) -> None:
    started = time.monotonic()
    result = fetch(f"{base_url}/hang", local_only, read_timeout=0.3)
    assert result.status == "error" and result.error_code == "read_timeout"
    assert "did not answer" in result.error
    assert time.monotonic() - started < 2


def test_redirect_loop_detected(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/loop-a", local_only)
    assert result.status == "error" and result.error_code == "redirect_loop"
    assert result.http_status == 301


def test_five_redirects_followed_six_refused(base_url: str, local_only: list) -> None:
    ok = fetch(f"{base_url}/chain/4", local_only)  # 5 redirects: chain/4..0 -> feed.xml
    assert ok.status == "ok" and ok.final_url == f"{base_url}/feed.xml"
    too_many = fetch(f"{base_url}/chain/5", local_only)
    assert too_many.status == "error" and too_many.error_code == "too_many_redirects"


def test_redirect_without_location(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/redirect-no-location", local_only)
    assert result.error_code == "bad_redirect"


@pytest.mark.parametrize("path,target", [("/redirect-v6", "::1"), ("/redirect-private", "10.0.0.1")])
def test_redirect_to_disallowed_address_refused(base_url: str, local_only: list, path: str, target: str) -> None:
    result = fetch(f"{base_url}{path}", local_only)
    assert result.status == "error" and result.error_code == "unsafe_url"
    assert target in result.error and result.error.startswith("refused to connect")


def test_loopback_refused_without_explicit_allowance(base_url: str) -> None:
    result = fetch_feed(f"{base_url}/feed.xml")
    assert result.status == "error" and result.error_code == "unsafe_url"
    assert result.http_status is None


def test_non_http_scheme_refused(local_only: list) -> None:
    assert fetch("file:///etc/passwd", local_only).error_code == "unsafe_url"


@pytest.mark.parametrize(
    "code,fragment",
    [(404, "not found"), (410, "removed permanently"), (500, "server had a problem"), (403, "access denied")],
)
def test_http_errors_have_readable_reasons(base_url: str, local_only: list, code: int, fragment: str) -> None:
    result = fetch(f"{base_url}/status/{code}", local_only)
    assert result.status == "error" and result.http_status == code
    assert result.error_code == f"http_{code}"
    assert fragment in result.error


def test_429_retry_after_seconds(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/status/429", local_only)
    assert result.error_code == "http_429" and result.retry_after_s == 120
    assert "retry after 120 s" in result.error


def test_429_retry_after_http_date(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/status/429-date", local_only)
    assert result.retry_after_s is not None and 80 <= result.retry_after_s <= 91


def test_rsshub_503_empty_route_becomes_no_data(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/status/503-rsshub", local_only)
    assert result.status == "error" and result.http_status == 503
    parsed = parse_feed(result.body, now=NOW, headers=result.headers, http_status=result.http_status)
    assert parsed.no_data and not parsed.broken


def test_fetched_feed_parses(base_url: str, local_only: list) -> None:
    result = fetch(f"{base_url}/gzip.xml", local_only)
    parsed = parse_feed(result.body, now=NOW, headers=result.headers, base_url=result.final_url)
    assert len(parsed.entries) == 2


def test_caller_session_is_used_and_left_open(base_url: str, local_only: list) -> None:
    with requests.Session() as session:
        session.trust_env = False
        first = fetch(f"{base_url}/feed.xml", local_only, session=session)
        second = fetch(f"{base_url}/feed.xml", local_only, session=session, etag=first.etag)
    assert (first.status, second.status) == ("ok", "not_modified")


def test_connection_refused(local_only: list) -> None:
    result = fetch("http://127.0.0.1:9/feed", local_only, connect_timeout=0.5)
    assert result.status == "error" and result.error_code in ("connection", "connect_timeout")


# --- header parsing -------------------------------------------------------------------------


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Sun, 22 Nov 2026 12:02:00 GMT", now=now) == 120
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=now) == 0  # past date
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_parse_max_age() -> None:
    assert parse_max_age("public, max-age=300") == 300
    assert parse_max_age("s-maxage=10, max-age=60") == 60
    assert parse_max_age("no-store, max-age=60") is None
    assert parse_max_age("private") is None
    assert parse_max_age(None) is None


# --- next_poll_at ------------------------------------------------------------------------


def delay(**kwargs: object) -> float:
    return (next_poll_at(now=NOW, **kwargs) - NOW).total_seconds()  # type: ignore[arg-type]


def test_interval_minimum_is_30_seconds() -> None:
    assert delay(interval_s=5) == 30
    assert delay(interval_s=30) == 30
    assert delay(interval_s=31) == 31


def test_backoff_doubles_and_caps_at_one_hour() -> None:
    assert [delay(interval_s=60, consecutive_failures=n) for n in range(8)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]
    assert delay(interval_s=60, consecutive_failures=10_000) == 3600
    assert delay(interval_s=7200, consecutive_failures=3) == 7200  # a configured interval > 1 h stays


def test_server_hints_delay_but_not_beyond_one_hour() -> None:
    assert delay(interval_s=60, retry_after_s=120) == 120
    assert delay(interval_s=60, feed_ttl_min=5) == 300
    assert delay(interval_s=60, cache_max_age_s=90) == 90
    assert delay(interval_s=600, cache_max_age_s=90) == 600  # never sooner than our own interval
    assert delay(interval_s=60, retry_after_s=86400) == 3600
    assert delay(interval_s=60, feed_ttl_min=1440, retry_after_s=10) == 3600


def test_jitter_is_deterministic_bounded_and_spreads() -> None:
    times = [delay(interval_s=300, jitter_key=i) for i in range(500)]
    assert all(300 <= t < 330 for t in times)
    assert times == [delay(interval_s=300, jitter_key=i) for i in range(500)]
    assert len({int(t) for t in times}) >= 25  # spread over ~30 distinct seconds
    assert delay(interval_s=300, jitter_key="source-7") == delay(interval_s=300, jitter_key="source-7")


def test_jitter_at_ceiling_stays_within_hour_and_respects_hints() -> None:
    capped = [delay(interval_s=60, consecutive_failures=20, jitter_key=i) for i in range(200)]
    assert all(3300 < t <= 3600 for t in capped)
    hinted = [delay(interval_s=60, consecutive_failures=20, retry_after_s=3550, jitter_key=i) for i in range(200)]
    assert all(3550 <= t <= 3600 for t in hinted)
    near = [delay(interval_s=3500, jitter_key=i) for i in range(200)]
    assert all(3500 <= t <= 3600 for t in near)


def test_next_poll_needs_aware_now() -> None:
    with pytest.raises(ValueError):
        next_poll_at(now=datetime(2026, 1, 1), interval_s=60)
    assert next_poll_at(now=NOW, interval_s=60).tzinfo is not None
    assert next_poll_at(now=NOW, interval_s=60) == NOW + timedelta(seconds=60)
