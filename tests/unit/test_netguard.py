"""Outbound URL guard: private, loopback and link-local targets are refused in every spelling."""

import ipaddress

import pytest

from incidents.netguard import UnsafeURL, check_url, parse_networks, refused_address


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost/", "http://10.0.0.1/", "http://192.168.1.1/",
    "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a00:1]/",
    "http://[::127.0.0.1]/", "http://[fe80::1]/", "http://[fc00::1]/", "http://0.0.0.0/",
    "http://2130706433/", "http://0x7f.0.0.1/",
])
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@1.1.1.1/", "http:///x"])
def test_other_schemes_and_shapes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url)


def test_public_literal_passes_and_allowlist_opens_loopback() -> None:
    check_url("https://1.1.1.1/feed")
    check_url("http://127.0.0.1:8080/feed", parse_networks(["127.0.0.1/32"]))
    with pytest.raises(UnsafeURL):
        check_url("http://127.0.0.2/", parse_networks(["127.0.0.1/32"]))


def test_a_saved_url_names_its_first_refused_address() -> None:
    """What a form or the API says when a URL is saved: the private address, or None."""
    def rebinding(host: str, port: int) -> list:  # a public name whose DNS also answers a private address
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.1.2.3")]

    def unresolvable(host: str, port: int) -> list:
        raise UnsafeURL(f"cannot resolve host {host!r}")

    assert refused_address("https://hooks.example.com/x", resolver=rebinding) == ipaddress.ip_address("10.1.2.3")
    assert refused_address("https://hooks.example.com/x", parse_networks(["10.0.0.0/8"]), resolver=rebinding) is None
    assert refused_address("http://[::ffff:192.168.0.9]/") == ipaddress.ip_address("::ffff:192.168.0.9")
    assert refused_address("https://down.example.com/x", resolver=unresolvable) is None  # checked again at delivery
    assert refused_address("https://1.1.1.1/") is None
