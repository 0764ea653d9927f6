"""Rendering helpers shared by the chat robots (WeCom, DingTalk, Feishu).

User-supplied text (subject, body, severity) is plain text. Before it goes into a robot's
markdown it is *neutralised* so that a message cannot add mentions, links or HTML-like
tags of its own:

* mention syntax is removed: WeCom `<@userid>`, Feishu `<at ...>...</at>` / `<at ...>`,
  and `@all` / `@所有人` lose their `@` trigger (a zero-width joiner is not used: we
  replace the ASCII `@` with the full-width `＠`, which reads the same to a person);
* `<` `>` `[` `]` become full-width `＜ ＞ ［ ］`, so no `<font>`/`<a>` tag and no
  `[text](url)` link can be formed, while Chinese readers see ordinary brackets;
* `*`, `_`, `` ` `` and `~` become full-width too, so text cannot restyle the message;
  a line starting with `#` or `>` (heading/quote) gets the full-width `＃`/`＞`.

The only link in a rendered message is the console/status URL the caller put in
`Message.url`, and it is emitted only when it is an http(s) URL; characters that would end
a markdown link early are percent-encoded.

Length limits are in UTF-8 bytes (WeCom documents "markdown内容,最长不超过4096个字节");
`truncate_utf8` cuts at a character boundary and appends an ellipsis.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from .base import Message

ELLIPSIS = "…"

_MENTION_PATTERNS = (
    re.compile(r"<@[^>]*>"),  # WeCom markdown mention <@userid>
    re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL),  # Feishu <at user_id="..">name</at>
    re.compile(r"<at\b[^>]*/?>", re.IGNORECASE),  # Feishu card <at id=all></at> opening tag
)

_FULLWIDTH = str.maketrans(
    {
        "<": "＜",
        ">": "＞",
        "[": "［",
        "]": "］",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "~": "～",
        "@": "＠",
        "\\": "＼",
    }
)

_LINE_START = re.compile(r"^([ \t]*)([#>])", re.MULTILINE)
_LINE_START_FULLWIDTH = {"#": "＃", ">": "＞"}


def strip_mentions(text: str) -> str:
    """Remove platform mention syntax from user text."""
    for pattern in _MENTION_PATTERNS:
        text = pattern.sub("", text)
    return text


def neutralize(text: str) -> str:
    """Make plain user text safe to embed in a robot's markdown (see module docstring)."""
    text = strip_mentions(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _LINE_START.sub(lambda m: m.group(1) + _LINE_START_FULLWIDTH[m.group(2)], text)
    return text.translate(_FULLWIDTH)


def single_line(text: str) -> str:
    """Collapse whitespace (titles, subjects and header values must be one line)."""
    return " ".join(text.split())


def safe_link(url: str | None) -> str | None:
    """The URL when it is http(s) with a host, with markdown-breaking characters escaped; else None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    # Keep the URL's own reserved characters; encode spaces, brackets, quotes and controls.
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


def truncate_utf8(text: str, max_bytes: int, ellipsis: str = ELLIPSIS) -> str:
    """Cut `text` so that its UTF-8 encoding fits in `max_bytes`, ending with `ellipsis` if cut."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    budget = max_bytes - len(ellipsis.encode("utf-8"))
    if budget <= 0:
        return ""
    # errors="ignore" drops a multi-byte character split by the cut, i.e. cuts at a boundary.
    return encoded[:budget].decode("utf-8", errors="ignore") + ellipsis


def severity_label(severity: str | None) -> str:
    return f"【{single_line(severity)}】" if severity and severity.strip() else ""


def markdown_title(message: Message) -> str:
    """One-line title: severity tag + subject, neutralised."""
    return neutralize(single_line(severity_label(message.severity) + message.subject))


def render_markdown(
    message: Message,
    *,
    max_bytes: int,
    link_label: str = "查看详情",
    line_break: str = "\n",
) -> str:
    """Title + body + link as robot markdown, within `max_bytes` UTF-8 bytes.

    The heading and the link are kept; only the body is truncated when the message is too
    long, so a cut message still tells people where to read the rest. `line_break` replaces
    the body's newlines (DingTalk needs a markdown hard break, two spaces + newline).
    """
    head = f"### {markdown_title(message)}"
    link = safe_link(message.url)
    tail = f"\n\n[{link_label}]({link})" if link else ""
    body = neutralize(message.text.strip()).replace("\n", line_break)
    fixed = head + "\n" + tail
    budget = max_bytes - len(fixed.encode("utf-8"))
    if budget <= len(ELLIPSIS.encode("utf-8")):
        # Pathological: the title alone is too long. Cut the whole thing.
        return truncate_utf8(head + tail, max_bytes)
    body = truncate_utf8(body, budget)
    return f"{head}\n{body}{tail}" if body else head + tail
