"""SSRF: feed and webhook URLs never reach private, loopback or link-local addresses.

Every spelling of such an address (IPv4 in decimal, octal and hex, IPv6 mapped, NAT64,
compatible, 6to4, ULA, link-local with a zone), redirects into them, and names resolving
to them (localhost, the machine's hosts file, and names answered by a scripted resolver)
are refused by feed polling (`monitors.fetch.fetch_feed`) and by channel deliveries
(`incidents.channels.deliver`). A recording server on 127.0.0.1 proves nothing got through.
DNS rebinding: the connection goes to the address that was vetted, with the Host header and
the TLS server name of the URL.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidents import channels
from incidents.channels import Message
from incidents.guarded_http import guarded_session
from incidents.models import Role
from incidents.netguard import parse_networks
from monitors.fetch import fetch_feed
from tests.security.support import RecordingServer, ScriptedResolver, hosts_file_private_names, recording_server
from tests.support.snapshot import snapshot

FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>ok</title><link>https://example.com/1</link><guid>1</guid></item></channel></rss>"""

# {port} is the recording server's port on 127.0.0.1: if the guard let one through, it would land there.
PRIVATE_SPELLINGS = [
    "http://127.0.0.1:{port}/feed",
    "http://localhost:{port}/feed",
    "http://localhost.:{port}/feed",
    "http://LOCALHOST:{port}/feed",
    "http://127.1:{port}/feed",
    "http://0177.0.0.1:{port}/feed",
    "http://0x7f.0.0.1:{port}/feed",
    "http://0x7f000001:{port}/feed",
    "http://2130706433:{port}/feed",
    "http://017700000001:{port}/feed",
    "http://0.0.0.0:{port}/feed",
    "http://0:{port}/feed",
    "http://[::1]:{port}/feed",
    "http://[0:0:0:0:0:0:0:1]:{port}/feed",
    "http://[::ffff:127.0.0.1]:{port}/feed",
    "http://[::ffff:7f00:1]:{port}/feed",
    "http://[64:ff9b::127.0.0.1]:{port}/feed",
    "http://[64:ff9b:1::7f00:1]:{port}/feed",
    "http://[::127.0.0.1]:{port}/feed",
    "http://[2002:7f00:1::]:{port}/feed",
    "http://[fe80::1%25lo]:{port}/feed",
    "http://[fe80::1]:{port}/feed",
    "http://[fd00::1]:{port}/feed",
    "http://[fc00::1]:{port}/feed",
    "http://[ff02::1]:{port}/feed",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://0xa9fea9fe/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[::]:{port}/feed",
]
NOT_HTTP = ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.com/", "dict://127.0.0.1:11211/",
            "http://user:pw@example.com/", "http:///feed", "http://[::1/feed"]

LOCAL_2 = parse_networks(["127.0.0.2/32"])  # what an operator allowed: only 127.0.0.2


def message() -> Message:
    return Message(idempotency_key="ssrf-1", subject="测试", text="正文", event="test")


@pytest.fixture(scope="module")
def secret() -> Iterator[RecordingServer]:
    """The target an attacker wants: something on 127.0.0.1 (a metadata service, an admin port)."""
    with recording_server("127.0.0.1") as server:
        server.answer("/feed", 200, FEED, Content_Type="application/rss+xml")
        server.answer("/hook", 200, b"ok")
        yield server


@pytest.fixture(autouse=True)
def _forget_hits(secret: RecordingServer) -> None:
    secret.hits.clear()


def deliver_webhook(url: str, **kwargs: object) -> channels.DeliveryResult:
    kwargs.setdefault("allowed_networks", [])
    kwargs.setdefault("timeout", 2)
    return channels.deliver("webhook", {"url": url}, message(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("template", PRIVATE_SPELLINGS)
def test_private_spellings_are_refused_by_feeds_and_webhooks(template: str, secret: RecordingServer) -> None:
    url = template.format(port=secret.port)
    fetched = fetch_feed(url, connect_timeout=1, deadline_s=3)
    assert fetched.status == "error" and fetched.error_code == "unsafe_url", fetched
    delivered = deliver_webhook(url.replace("/feed", "/hook"))
    assert not delivered.ok and not delivered.retryable
    assert delivered.detail.startswith("refused unsafe URL:"), delivered.detail
    assert secret.hits == []


@pytest.mark.parametrize("url", NOT_HTTP)
def test_other_schemes_and_shapes_are_refused(url: str) -> None:
    fetched = fetch_feed(url)
    assert fetched.status == "error" and fetched.error_code in ("unsafe_url", "request"), fetched
    with pytest.raises(channels.ChannelConfigError):  # a channel's settings are checked before anything is sent
        deliver_webhook(url)


def test_names_in_the_hosts_file_are_refused(secret: RecordingServer) -> None:
    names = hosts_file_private_names()
    assert "localhost" in names
    for name in names:
        assert fetch_feed(f"http://{name}:{secret.port}/feed").error_code == "unsafe_url", name
        assert not deliver_webhook(f"http://{name}:{secret.port}/hook").ok, name
    assert secret.hits == []


@pytest.mark.parametrize("name,answer", [
    ("intranet.example", ["10.0.0.5"]),
    ("metadata.example", ["169.254.169.254"]),
    ("mapped.example", ["::ffff:127.0.0.1"]),
    ("ula.example", ["fd12:3456::1"]),
    ("nat64.example", ["64:ff9b::a9fe:a9fe"]),
    ("half.example", ["93.184.216.34", "127.0.0.1"]),  # one private answer among public ones is enough
])
def test_names_resolving_to_private_addresses_are_refused(name: str, answer: list[str], secret: RecordingServer) -> None:
    resolver = ScriptedResolver({name: [answer]})
    with guarded_session(resolver=resolver) as session:
        fetched = fetch_feed(f"http://{name}:{secret.port}/feed", session=session)
        assert fetched.error_code == "unsafe_url" and "not public" in fetched.error
        delivered = deliver_webhook(f"http://{name}:{secret.port}/hook", session=session)
        assert delivered.detail.startswith("refused unsafe URL:")
    assert resolver.calls == [name, name]
    assert secret.hits == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/feed",
    "http://localhost:{port}/feed",
    "http://[::ffff:127.0.0.1]:{port}/feed",
    "http://2130706433:{port}/feed",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::a9fe:a9fe]/latest/meta-data/",
])
def test_redirects_into_private_addresses_are_refused(status: int, target: str, secret: RecordingServer) -> None:
    with recording_server("127.0.0.2") as front:
        url = front.answer("/feed", status, b"", Location=target.format(port=secret.port))
        fetched = fetch_feed(url, allowed_networks=LOCAL_2)
        assert fetched.status == "error" and fetched.error_code == "unsafe_url", fetched
        assert [hit.path for hit in front.hits] == ["/feed"]
    assert secret.hits == []


def test_redirect_to_a_name_that_resolves_private_is_refused(secret: RecordingServer) -> None:
    resolver = ScriptedResolver({"feeds.example": [["127.0.0.2"]], "inside.example": [["127.0.0.1"]]})
    with recording_server("127.0.0.2") as front, guarded_session(LOCAL_2, resolver=resolver) as session:
        front.answer("/feed", 302, b"", Location=f"http://inside.example:{secret.port}/feed")
        fetched = fetch_feed(f"http://feeds.example:{front.port}/feed", allowed_networks=LOCAL_2, session=session)
    assert fetched.error_code == "unsafe_url"
    assert resolver.calls == ["feeds.example", "inside.example"]
    assert secret.hits == []


def test_webhooks_never_follow_a_redirect(secret: RecordingServer) -> None:
    with recording_server("127.0.0.2") as front:
        url = front.answer("/hook", 307, b"", Location=f"http://127.0.0.1:{secret.port}/hook")
        result = deliver_webhook(url, allowed_networks=LOCAL_2)
    assert not result.ok and "redirects are not followed" in result.detail
    assert secret.hits == []


# --- DNS rebinding --------------------------------------------------------------------------

@pytest.fixture()
def rebinding() -> Iterator[tuple[RecordingServer, RecordingServer]]:
    """The vetted server on 127.0.0.2 and, on the same port of 127.0.0.1, the one a rebinding wants."""
    with recording_server("127.0.0.2") as vetted:
        with recording_server("127.0.0.1", port=vetted.port) as target:
            vetted.answer("/feed", 200, FEED, Content_Type="application/rss+xml")
            vetted.answer("/hook", 200, b"ok")
            target.answer("/feed", 200, FEED.replace(b"<title>ok", b"<title>stolen"))
            target.answer("/hook", 200, b"ok")
            yield vetted, target


def test_rebinding_feed_is_fetched_from_the_vetted_address(rebinding) -> None:  # noqa: ANN001
    """The name answers 127.0.0.2 (allowed) once, then 127.0.0.1: only the first answer is ever used.

    `rebind.test` exists in no real DNS, so a second lookup by the HTTP client would fail:
    the fetch succeeding shows the connection went to the vetted address itself.
    """
    vetted, target = rebinding
    resolver = ScriptedResolver({"rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
    url = f"http://rebind.test:{vetted.port}/feed"
    with guarded_session(LOCAL_2, resolver=resolver) as session:
        first = fetch_feed(url, allowed_networks=LOCAL_2, session=session)
        assert first.status == "ok" and b"<title>ok" in first.body
        assert resolver.calls == ["rebind.test"]
        assert [(hit.path, hit.host) for hit in vetted.hits] == [("/feed", f"rebind.test:{vetted.port}")]
        second = fetch_feed(url, allowed_networks=LOCAL_2, session=session)  # the name now answers 127.0.0.1
    assert second.error_code == "unsafe_url" and "127.0.0.1" in second.error
    assert target.hits == []


def test_rebinding_webhook_is_delivered_to_the_vetted_address(rebinding) -> None:  # noqa: ANN001
    vetted, target = rebinding
    resolver = ScriptedResolver({"hooks.rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
    url = f"http://hooks.rebind.test:{vetted.port}/hook"
    with guarded_session(LOCAL_2, resolver=resolver) as session:
        first = deliver_webhook(url, allowed_networks=LOCAL_2, session=session)
        second = deliver_webhook(url, allowed_networks=LOCAL_2, session=session)
    assert first.ok, first.detail
    assert [(hit.path, hit.host) for hit in vetted.hits] == [("/hook", f"hooks.rebind.test:{vetted.port}")]
    assert b'"subject":"\xe6\xb5\x8b\xe8\xaf\x95"' in vetted.hits[0].body
    assert not second.ok and second.detail.startswith("refused unsafe URL:")
    assert target.hits == []


def test_a_plain_session_given_by_a_caller_is_guarded_too(rebinding) -> None:  # noqa: ANN001
    """A caller's own requests.Session (e.g. with an environment proxy) cannot bypass the pin."""
    import requests

    vetted, target = rebinding
    with requests.Session() as session:
        session.proxies = {"http": f"http://127.0.0.1:{target.port}"}
        fetched = fetch_feed(f"http://127.0.0.1:{target.port}/feed", session=session)
        assert fetched.error_code == "unsafe_url"
        ok = fetch_feed(f"http://127.0.0.2:{vetted.port}/feed", allowed_networks=LOCAL_2, session=session)
    assert ok.status == "ok" and b"<title>ok" in ok.body
    assert target.hits == []


def _certificate(directory: Path, name: str) -> tuple[str, str]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"], check=True, capture_output=True)
    return str(cert), str(key)


def test_pinned_https_keeps_the_server_name_and_checks_the_certificate_against_it(tmp_path: Path) -> None:
    """Connected to 127.0.0.2 by address, TLS still sends and verifies the URL's name (SNI)."""
    cert, key = _certificate(tmp_path, "feeds.rebind.test")
    resolver = ScriptedResolver({"feeds.rebind.test": [["127.0.0.2"]], "other.rebind.test": [["127.0.0.2"]]})
    with recording_server("127.0.0.2", ssl_context=(cert, key)) as server:
        server.answer("/feed", 200, FEED, Content_Type="application/rss+xml")
        with guarded_session(LOCAL_2, resolver=resolver) as session:
            session.verify = cert
            good = fetch_feed(f"https://feeds.rebind.test:{server.port}/feed", allowed_networks=LOCAL_2,
                              session=session)
            wrong_name = fetch_feed(f"https://other.rebind.test:{server.port}/feed", allowed_networks=LOCAL_2,
                                    session=session)
    assert good.status == "ok", good.error
    assert [hit.host for hit in server.hits] == [f"feeds.rebind.test:{server.port}"]
    assert wrong_name.error_code == "tls"


# --- the forms that store such URLs refuse them at the field ------------------------------------

@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/hook",
                                 "http://2130706433/hook", "http://localhost/hook"])
def test_subscriber_webhooks_to_private_addresses_are_refused_at_the_field(api_as, engine, url: str) -> None:  # noqa: ANN001
    call = api_as(Role.ADMIN)
    before = snapshot(engine)
    response = call("POST", "/api/v1/subscribers", json={"kind": "webhook", "url": url})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "url"
    assert snapshot(engine) == before


@pytest.mark.parametrize("url", ["http://169.254.169.254/rss", "http://[::ffff:10.0.0.1]/rss", "http://0x7f000001/rss",
                                 "http://localhost:1200/weibo/keyword/x"])
def test_feed_sources_on_private_addresses_are_refused_at_the_field(api_as, engine, url: str) -> None:  # noqa: ANN001
    call = api_as(Role.ADMIN)
    before = snapshot(engine)
    response = call("POST", "/api/v1/sources", json={"name": "内网", "url": url})
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "url"
    assert snapshot(engine) == before


def test_scripted_resolver_is_what_the_guard_uses() -> None:
    """The resolver is injected, not patched: the guard asks it and nothing else."""
    resolver = ScriptedResolver({"public.example": [["93.184.216.34"]]})
    from incidents.netguard import check_url

    assert check_url("https://public.example/feed", resolver=resolver) == [ipaddress.ip_address("93.184.216.34")]
    assert resolver.calls == ["public.example"]
