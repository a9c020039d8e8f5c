"""Cells of the files supervisors download (CSV and XLSX): what any export writes into a
cell, so that a spreadsheet shows it as it is.

A text a spreadsheet would run as a formula (= + - @, or a tab or carriage return, at the
start) is written with a leading apostrophe; in XLSX, text is typed as text and the control
characters XML cannot hold are shown as U+FFFD instead of failing the whole file.
"""

from collections.abc import Iterable
from datetime import date, datetime

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(value) -> object:
    """Return a cell value that a spreadsheet shows as it is (never runs it as a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def xlsx_row(sheet, values: Iterable) -> list[WriteOnlyCell]:
    """Return a row's cells for a write-only sheet: text as text (never a formula), and the
    control characters XML cannot hold (a tab or a line break it can) shown as U+FFFD
    instead of failing the whole file."""
    cells = []
    for value in values:
        value = plain(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would make "=..." a formula
        cells.append(cell)
    return cells
