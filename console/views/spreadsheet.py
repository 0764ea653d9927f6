"""Cells a spreadsheet must not run: text that Excel or WPS would read as a formula.

People type titles, notes and names that end up in CSV exports; `=HYPERLINK(…)` in a title
must open as text. A leading apostrophe keeps such a cell as text.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any, *, numbers_stay: bool = False) -> Any:
    """`value` with an apostrophe in front when it is text that starts like a formula; with
    `numbers_stay`, a plain number written as text (-5, +3.2) is left for the sheet to count.
    Anything but text is returned as it is."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if numbers_stay:
        try:
            float(value)
            return value
        except ValueError:
            pass
    return "'" + value
