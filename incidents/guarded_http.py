"""Outbound HTTP that connects only to the address the URL guard vetted.

`netguard.check_url` resolves a host name and checks every address. If the HTTP client then
resolved the name again, a DNS answer that changed in between (rebinding: public for the
check, 127.0.0.1 or 169.254.169.254 a moment later) would send the request somewhere nobody
checked. `PinnedAdapter` closes the gap: for every request, each redirect hop included, it
vets the URL and connects to the first vetted address itself, while the Host header, the TLS
server name (SNI) and the certificate check keep using the name from the URL.

Feed polling (`monitors.fetch`) and channel deliveries (`incidents.channels._http`) both send
through `guard(session, allowed_networks)`, so neither can reach an unvetted address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from incidents.netguard import IPNetwork, Resolver, check_url, resolve


class PinnedAdapter(HTTPAdapter):
    """A transport adapter that vets each request's URL and connects to the vetted address."""

    def __init__(self, allowed_networks: Sequence[IPNetwork] = (), *, resolver: Resolver = resolve,
                 **kwargs: Any) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.resolver = resolver
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        """Vet the URL (UnsafeURL when refused), then send it to the vetted address, never via a proxy."""
        addresses = check_url(request.url or "", self.allowed_networks, resolver=self.resolver)
        request.headers["Host"] = urlsplit(request.url).netloc.rpartition("@")[2]
        request.pinned_address = str(addresses[0])  # type: ignore[attr-defined]
        # A proxy would open its own connection to the name, so the pin would mean nothing.
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pool by the vetted address; TLS still names and verifies the host of the URL."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = host_params["host"]
        host_params["host"] = request.pinned_address  # type: ignore[attr-defined]
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


def guard(session: requests.Session, allowed_networks: Sequence[IPNetwork]) -> requests.Session:
    """The session, sending every request through a PinnedAdapter for these networks.

    A session already guarded for the same networks keeps its adapter (its pooled connections
    and its resolver); any other adapter is removed, so no mounted prefix can bypass the pin.
    Proxy settings from the environment are ignored for the same reason.
    """
    networks = tuple(allowed_networks)
    adapters = session.adapters
    first = next(iter(adapters.values()), None)
    if (isinstance(first, PinnedAdapter) and first.allowed_networks == networks
            and set(adapters) == {""}):
        return session
    for adapter in {id(a): a for a in adapters.values()}.values():
        adapter.close()
    return _mount(session, PinnedAdapter(networks))


def guarded_session(allowed_networks: Sequence[IPNetwork] = (), *, resolver: Resolver = resolve) -> requests.Session:
    """A new session whose requests reach only vetted addresses (resolved by `resolver`)."""
    return _mount(requests.Session(), PinnedAdapter(allowed_networks, resolver=resolver))


def _mount(session: requests.Session, adapter: PinnedAdapter) -> requests.Session:
    session.trust_env = False
    session.adapters.clear()
    # Every URL, whatever its scheme, goes to the adapter, which refuses all but http(s) by name.
    session.mount("", adapter)
    return session
