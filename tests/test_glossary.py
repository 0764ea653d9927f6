"""The Chinese catalogue says each of the product's terms one way: the way docs/glossary.md says it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary.md"
CATALOGUE = ROOT / "console" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"

PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")  # {components}, %(num)d: names, not words

# Messages where the English word means something else, or the sentence needs no term of its own.
NOT_THE_TERM = {
    "Back to investigating",  # the button: 退回排查
    "Heimao complaints",  # a platform's name: 黑猫投诉
    "reported alerts as resolved", "Alerts resolved: %(num)d",  # alerts recover (已恢复); incidents are resolved
    "Give the incident a public title first: without one, customers would see nothing.",  # reads whole without it
    "Mentions", "Mention inbox",  # the inbox of mentions is the 舆情 inbox
}


def glossary() -> list[tuple[str, str]]:
    """(Chinese, English) for each row of the glossary's table."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("中文", "---"):
            rows.append((cells[0], cells[1]))
    return rows


def catalogue() -> list[tuple[str, str]]:
    with CATALOGUE.open("rb") as handle:
        return [(m.id, m.string) for m in read_po(handle, locale="zh_Hans_CN") if m.id and isinstance(m.id, str)]


def test_the_glossary_has_the_issue_s_terms() -> None:
    terms = dict((english, chinese) for chinese, english in glossary())
    assert {terms["duty manager"], terms["sign-off"], terms["investigating"], terms["identified"],
            terms["review"], terms["public opinion"], terms["complaint"], terms["public update"],
            terms["promise"]} == {"值班主管", "签核", "排查中", "已确认原因", "复盘", "舆情", "客诉", "公告", "承诺"}


@pytest.mark.parametrize(("chinese", "english"), glossary())
def test_each_message_with_the_term_uses_the_glossary_s_chinese(chinese: str, english: str) -> None:
    # The English term as a word, in the singular or plural ("complaints", "mentions").
    word = re.compile(r"\b" + re.escape(english).replace(r"\ ", r"[\s-]") + r"(e?s)?\b", re.IGNORECASE)
    said = chinese.split(" / ")  # a row may give the team's word and the customers' word
    wrong = [(msgid, msgstr) for msgid, msgstr in catalogue()
             if word.search(PLACEHOLDER.sub(" ", msgid)) and not any(term in msgstr for term in said) and msgid not in NOT_THE_TERM]
    assert not wrong, f"{english} is {chinese}:\n" + "\n".join(f"  {i!r}: {s!r}" for i, s in wrong)
