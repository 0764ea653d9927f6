"""Helpers for the security suite: servers that record who reached them, and scripted DNS answers."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

from werkzeug.wrappers import Request, Response

from incidents.netguard import IPAddress, UnsafeURL
from tests.support.servers import serving


@dataclass
class Hit:
    method: str
    path: str
    host: str
    body: bytes


@dataclass
class RecordingServer:
    """A WSGI server on one loopback address that answers set routes and records every request."""

    base: str = ""
    port: int = 0
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def answer(self, path: str, status: int = 200, body: bytes = b"", **headers: str) -> str:
        """What `path` answers from now on; returns its full URL."""
        self.routes[path] = (status, {k.replace("_", "-"): v for k, v in headers.items()}, body)
        return self.base + path

    def __call__(self, environ: dict, start_response) -> object:  # noqa: ANN001
        request = Request(environ)
        self.hits.append(Hit(request.method, request.path, request.host, request.get_data()))
        status, headers, body = self.routes.get(request.path, (404, {}, b"not here"))
        return Response(body, status=status, headers=headers)(environ, start_response)


@contextmanager
def recording_server(host: str = "127.0.0.1", *, port: int = 0, ssl_context: object = None) -> Iterator[RecordingServer]:
    """A RecordingServer on `host` (any 127.x.y.z works on Linux), a free port unless given, until the block ends."""
    recorder = RecordingServer()
    with serving(recorder, host=host, port=port, ssl_context=ssl_context, poll_interval=0.05) as live:  # type: ignore[arg-type]
        recorder.base = live.url
        recorder.port = int(live.url.rsplit(":", 1)[1])
        yield recorder


class ScriptedResolver:
    """A DNS server under the test's control: each name answers its scripted addresses in turn.

    `answers[name]` is a list of answers; call n gets answer n (the last one repeats), so a
    name can be public for the check and private a moment later, as a rebinding attacker's
    DNS server would answer.
    """

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        index = sum(1 for called in self.calls if called == host)
        self.calls.append(host)
        script = self.answers.get(host)
        if not script:
            raise UnsafeURL(f"cannot resolve host {host!r}")
        return [ipaddress.ip_address(a) for a in script[min(index, len(script) - 1)]]


def hosts_file_private_names(path: str = "/etc/hosts") -> list[str]:
    """Names the machine's hosts file maps to loopback or private addresses."""
    names = []
    try:
        with open(path, encoding="utf-8") as hosts:
            lines = hosts.read().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = re.split(r"\s+", line.split("#", 1)[0].strip())
        if len(fields) < 2:
            continue
        try:
            address = ipaddress.ip_address(fields[0])
        except ValueError:
            continue
        if not address.is_global:
            names.extend(name for name in fields[1:] if name)
    return sorted(set(names))


# --- HTML checked with a parser: what a payload must never become ---------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcdoc"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self._in_script = tag == "script"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text.append(data)


def markup_injections(html: str, marker: str) -> list[str]:
    """Every place where text carrying `marker` became markup instead of text.

    Parsed with the standard library's HTML parser: a script element whose text or src
    carries the marker, an on* attribute anywhere (the console's own markup has none: the CSP
    forbids inline handlers), a javascript:/data:/vbscript: URL in a URL attribute, an element
    or attribute that only a payload would bring (iframe, object, embed, base, meta
    refresh), or an attribute whose *name* carries the marker (an attribute breakout).
    """
    collector = _Collector()
    collector.feed(html)
    collector.close()
    found = []
    for text in collector.script_text:
        if marker in text:
            found.append(f"script text: {text[:80]!r}")
    for tag, attrs in collector.elements:
        if tag in ("iframe", "object", "embed", "base", "math", "frameset"):
            found.append(f"<{tag}> element")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if marker.lower() in name.lower():
                found.append(f"<{tag}> attribute name {name!r}")
            squeezed = re.sub(r"[\x00-\x20]+", "", value).lower()
            if name in URL_ATTRIBUTES and squeezed.startswith(("javascript:", "data:", "vbscript:")):
                found.append(f"<{tag} {name}={value[:60]!r}>")
            if tag == "script" and name == "src" and marker in value:
                found.append(f"<script src={value[:60]!r}>")
            if name.startswith(("hx-on", "data-hx-on")):
                found.append(f"<{tag} {name}=...>")
            if name in ("hx-get", "hx-post", "hx-put", "hx-delete") and value.split("?")[0] == "/logout":
                found.append(f"<{tag} {name}={value!r}>")
            if tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                found.append("<meta http-equiv=refresh>")
    return found
