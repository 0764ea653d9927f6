"""A public title to start from: built from the incident's kind and the components it affects.

The composer offers it in the public-title field when the incident has none yet, so the
first notice is never published under no name. It is public wording (Chinese, like the
script library), never the internal title, which may name people or systems.
"""

from __future__ import annotations

from collections.abc import Sequence

from incidents.lifecycle import Kind
from incidents.public_models import Component

# Per kind: the wording with the affected components' names, and the wording without any.
SUGGESTIONS: dict[Kind, tuple[str, str]] = {
    Kind.OUTAGE: ("{names}服务异常", "部分服务异常"),
    Kind.PUBLIC_OPINION: ("关于{names}的用户反馈说明", "关于近期用户反馈的说明"),
    Kind.COMPLAINT: ("{names}相关投诉处理进展", "用户投诉处理进展"),
}


def suggest_public_title(kind: Kind, components: Sequence[Component]) -> str:
    """The suggested public title for an incident of `kind` affecting `components` (page order)."""
    with_names, without = SUGGESTIONS[kind]
    names = "、".join(c.name for c in components)
    return with_names.format(names=names) if names else without
