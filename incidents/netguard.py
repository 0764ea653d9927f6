"""Outbound URL safety: refuse requests to private, loopback and link-local addresses.

Feed URLs and webhook URLs are typed by people (or by attackers through a subscription
form), so every outbound request the console makes is vetted by `check_url`; callers that
follow redirects check every hop, and webhook deliveries do not follow redirects at all.
Addresses an operator trusts (e.g. a self-hosted RSSHub on 10.0.0.5, or 127.0.0.1 in tests)
are allowed explicitly with CIDR networks in `allowed_networks`.

`check_url` returns the addresses it vetted, and `incidents.guarded_http` connects to one of
them rather than letting the HTTP client resolve the name again: a DNS answer that changes
between the check and the connection (rebinding) cannot send a request anywhere unchecked.
The resolver is a parameter (`Resolver`), so tests can answer names the way an attacker's
DNS server would.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import SplitResult, urlsplit

ALLOWED_SCHEMES = ("http", "https")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL is malformed, uses another scheme, or points at a forbidden address."""


def parse_networks(specs: Iterable[str]) -> list[IPNetwork]:
    """Parse CIDR strings such as '127.0.0.1/32' or '10.0.0.0/8'; bad ones raise ValueError."""
    return [ipaddress.ip_network(spec.strip(), strict=False) for spec in specs if spec.strip()]


# IPv6 forms that carry an IPv4 address a gateway may forward to: NAT64 (well-known and
# local-use prefixes) and the deprecated IPv4-compatible ::a.b.c.d.
EMBEDDING_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96"))


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return _is_public(address.sixtofour)
        if any(address in network for network in EMBEDDING_NETWORKS):
            return _is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast


def is_allowed_address(address: IPAddress, allowed_networks: Sequence[IPNetwork] = ()) -> bool:
    """True when the address is public, or inside one of the explicitly allowed networks."""
    if any(address in network for network in allowed_networks):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        if any(address.ipv4_mapped in network for network in allowed_networks):
            return True
    return _is_public(address)


# host, port -> every address of the host; raises UnsafeURL when it has none.
Resolver = Callable[[str, int], list[IPAddress]]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve host {host!r}") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _port(parts: SplitResult) -> int:
    """The URL's port, else its scheme's; ValueError for a port out of range."""
    return parts.port or (443 if parts.scheme == "https" else 80)


def _addresses(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    """An IP literal as itself (no lookup), a name as the resolver answers it."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return resolver(host, port)


def refused_address(url: str, allowed_networks: Sequence[IPNetwork] = (), *,
                    resolver: Resolver = resolve) -> IPAddress | None:
    """The first address of the URL's host that is neither public nor allowed, else None.

    For a URL being saved (a feed, a team channel): a host that does not resolve right now
    gives None, since every request is vetted again by `check_url` before it connects, and a
    self-hosted service may simply be down while someone configures it."""
    try:
        parts = urlsplit(url)
        port = _port(parts)
    except ValueError:
        return None  # the caller's own validation reports a malformed URL
    if not parts.hostname:
        return None
    try:
        addresses = _addresses(parts.hostname, port, resolver)
    except UnsafeURL:
        return None
    return next((address for address in addresses if not is_allowed_address(address, allowed_networks)), None)


def check_url(url: str, allowed_networks: Sequence[IPNetwork] = (), *, resolver: Resolver = resolve) -> list[IPAddress]:
    """The host's addresses, all allowed; UnsafeURL unless the URL is http(s) and every address passes."""
    try:
        parts = urlsplit(url)
        port = _port(parts)
    except ValueError as exc:
        raise UnsafeURL("the URL is malformed") from exc
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("credentials in the URL are not allowed")
    addresses = _addresses(parts.hostname, port, resolver)
    if not addresses:
        raise UnsafeURL(f"host {parts.hostname!r} has no address")
    for address in addresses:
        if not is_allowed_address(address, allowed_networks):
            raise UnsafeURL(f"address {address} of host {parts.hostname!r} is not public")
    return addresses
