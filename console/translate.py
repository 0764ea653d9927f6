"""Maintainer helper: merge a {English: Chinese} table into the zh catalogue and compile it.

    python -m console.translate            # every table in console/translations/tables/
    python -m console.translate table.py   # one table; a table file defines ZH = {...}

Existing translations are kept unless the table gives a new one. `make translations`
extracts and updates the catalogue first.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
TABLES = Path(__file__).resolve().parent / "translations" / "tables"


def load_tables(paths: list[str]) -> dict[str, str]:
    """The union of the given tables, or of every table in TABLES when none is given."""
    files = [Path(p) for p in paths] or sorted(TABLES.glob("*.py"))
    table: dict[str, str] = {}
    source: dict[str, str] = {}
    for path in files:
        for msgid, text in runpy.run_path(str(path))["ZH"].items():
            if msgid in table and table[msgid] != text:  # one message, one translation
                raise SystemExit(f"{msgid!r} is {table[msgid]!r} in {source[msgid]} but {text!r} in {path.name}")
            table[msgid], source[msgid] = text, path.name
    return table


def merge(table: dict[str, str]) -> list[str]:
    """Fill the catalogue from the table; returns the message ids still untranslated."""
    with open(CATALOGUE / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    for message in catalog:
        if message.id and message.id in table:
            message.string = table[message.id]
            message.flags.discard("fuzzy")
    with open(CATALOGUE / "messages.po", "wb") as handle:
        write_po(handle, catalog, width=100)
    with open(CATALOGUE / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    return [m.id for m in catalog if m.id and not m.string]


if __name__ == "__main__":
    missing = merge(load_tables(sys.argv[1:]))
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    sys.exit(1 if missing else 0)
