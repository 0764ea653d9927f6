"""Outbound URL guard: private, loopback and link-local targets are refused in every spelling."""

import pytest

from incidents.netguard import UnsafeURL, check_url, parse_networks


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
