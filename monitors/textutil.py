"""HTML-to-plain-text and hashtag extraction for feed entries (stdlib `html.parser`, no regex stripping)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Content of these elements is never text a person wrote in the post.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object", "embed"})
# Elements that separate words; without a space "第一段</p><p>第二段" would glue words.
_BLOCK = frozenset({
    "br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5",
    "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "img",
})
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr", "source"})

# Weibo topics: "#话题#" (no whitespace inside, bounded length).
WEIBO_TAG = re.compile(r"#([^#\s]{1,50})#")
# "#tag" style; not inside URLs (/#frag), entities (&#12;) or words (a#b).
PLAIN_TAG = re.compile(r"(?<![\w/&#])#(\w[\w-]{0,49})")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # decodes &amp; &#x4e2d; etc. in text
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if tag in _BLOCK:
            self.parts.append(" ")
        if tag == "img" and not self.skip_depth:
            # Weibo renders emoticons as <img alt="[怒]">; they carry sentiment worth keeping.
            alt = dict(attrs).get("alt") or ""
            if alt.startswith("[") and alt.endswith("]") and len(alt) <= 12:
                self.parts.append(alt + " ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


def collapse(text: str) -> str:
    """Collapse every run of whitespace to one space and trim."""
    return " ".join(text.split())


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: scripts/styles dropped, entities decoded, whitespace collapsed.

    Attributes (onerror=, href=javascript:...) never reach the output because only text
    nodes are kept.
    """
    if not markup:
        return ""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return collapse("".join(parser.parts))


def hashtags(text: str) -> list[str]:
    """Weibo-style "#话题#" topics first, then "#tag" words, in order of appearance, no repeats."""
    found: list[str] = []
    for match in WEIBO_TAG.finditer(text):
        found.append(match.group(1))
    rest = WEIBO_TAG.sub(" ", text)
    for match in PLAIN_TAG.finditer(rest):
        found.append(match.group(1))
    return list(dict.fromkeys(found))
