"""The console's mark: a favicon (SVG and 32 px PNG), a 180 px apple-touch-icon and a web app manifest."""

from __future__ import annotations

import json
import re
import struct


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _fetch(client, path: str) -> bytes:  # noqa: ANN001
    """A static file's bytes (the response closed: it holds the file open)."""
    response = client.get(path)
    try:
        assert response.status_code == 200, path
        return response.data
    finally:
        response.close()


def _links(html: str) -> dict[str, str]:
    """The href of each icon and manifest link of a page."""
    patterns = {"icon-svg": r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">',
                "icon-png": r'<link rel="icon" href="([^"]+)" type="image/png" sizes="32x32">',
                "apple-touch-icon": r'<link rel="apple-touch-icon" href="([^"]+)">',
                "manifest": r'<link rel="manifest" href="([^"]+)">'}
    return {name: re.search(pattern, html).group(1) for name, pattern in patterns.items()}


def test_console_pages_link_the_icons_and_the_manifest(signed_in) -> None:  # noqa: ANN001
    links = _links(signed_in.get("/").text)
    assert _fetch(signed_in, links["icon-svg"]).startswith(b"<svg")
    assert _png_size(_fetch(signed_in, links["icon-png"])) == (32, 32)
    assert _png_size(_fetch(signed_in, links["apple-touch-icon"])) == (180, 180)
    manifest = json.loads(_fetch(signed_in, links["manifest"]))
    assert manifest["name"] == "危机指挥台" and manifest["start_url"] == "/"
    base = links["manifest"].rsplit("/", 1)[0]
    for icon in manifest["icons"]:
        answered = _fetch(signed_in, f"{base}/{icon['src']}")
        if icon["type"] == "image/png":
            width, height = _png_size(answered)
            assert f"{width}x{height}" == icon["sizes"]


def test_the_public_status_page_has_the_icons_but_is_no_installable_console(client) -> None:  # noqa: ANN001
    page = client.get("/status").text
    assert 'rel="icon"' in page and 'rel="apple-touch-icon"' in page and 'rel="manifest"' not in page
