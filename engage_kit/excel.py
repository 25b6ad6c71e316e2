"""Reading an Excel table: one sheet of a workbook, as text.

``read.sheet`` picks the sheet; a sheet without the table's columns gets a message naming
the sheet that has them, or saying that its first row holds values (no header row).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .config import TableConfig
from .errors import DataError, closest
from .headers import _maybe_renamed, _name_key, _required_names


def _read_excel(path: Path, tcfg: TableConfig, where: str) -> tuple[pd.DataFrame, list[str] | None]:
    """Read one sheet of a workbook as text; (its rows, its header as written when the
    reader may have renamed a repeated name). ``read.sheet`` names the sheet (or gives its
    number, counted from 0); default the first. A sheet without the table's columns is a
    message listing the workbook's sheets."""
    with pd.ExcelFile(path) as book:
        sheets = [str(s) for s in book.sheet_names]
        chosen = _pick_sheet(tcfg.read.get("sheet"), book.sheet_names, where, tcfg.name)
        df = pd.read_excel(book, sheet_name=chosen, dtype=str)
        df.columns = [str(c) for c in df.columns]
        problem = _sheet_problem(book, chosen, df, tcfg, where, sheets)
        if problem:
            raise DataError(problem)
        header = None
        if _maybe_renamed(list(df.columns)):
            first = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1, dtype=str)
            header = ["" if pd.isna(v) else str(v) for v in first.iloc[0]] if len(first) else None
    return df, header


def _sheet_yaml(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', '\\"') + '"'


def _pick_sheet(value: Any, names: list[Any], where: str, table: str) -> Any:
    """The sheet ``read.sheet`` names: a name (case ignored), or a number counted from 0."""
    listed = ", ".join(f"'{n}'" for n in names)
    if value is None:
        return names[0] if names else 0
    if isinstance(value, int) and not isinstance(value, bool):
        for n in names:
            if str(n) == str(value):
                return n
        if 0 <= value < len(names):
            return names[value]
        raise DataError(
            f"{where}: tables.{table}.read.sheet is {value}, but the workbook has {len(names)} sheet(s) ({listed}); "
            "give the sheet's name, or its number counted from 0"
        )
    text = str(value)
    same = [n for n in names if str(n) == text] or [n for n in names if str(n).strip().lower() == text.strip().lower()]
    if len(same) == 1:
        return same[0]
    near = closest(text, [str(n) for n in names])
    hint = f" (did you mean '{near}'?)" if near else ""
    raise DataError(
        f"{where}: the workbook has no sheet '{text}'{hint}; its sheets: {listed}; "
        f"set tables.{table}.read: {{sheet: NAME}} to one of them"
    )


def _looks_like_values(cells: list[str]) -> bool:
    """True when a header row holds values (numbers, dates) rather than column names."""
    named = [c.strip() for c in cells if c.strip() and not c.startswith("Unnamed:")]
    if not named:
        return False

    def value(c: str) -> bool:
        if re.fullmatch(r"[-+]?\d[\d.,]*", c):
            return True
        return bool(re.match(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}", c))

    return sum(value(c) for c in named) * 2 >= len(named)


def _sheet_problem(book: Any, chosen: Any, df: pd.DataFrame, tcfg: TableConfig, where: str, sheets: list[str]) -> str | None:
    """A message when the sheet read has none of the table's required columns: the sheet
    with them, or a first row of values (no header row); None otherwise."""
    wanted = _required_names(tcfg)
    keys = {_name_key(c) for c in df.columns}
    if not wanted or any(_name_key(w) in keys for w in wanted):
        return None
    label = f"sheet '{chosen}'" + (" (the first of the workbook)" if tcfg.read.get("sheet") is None else "")
    listed = ", ".join(f"'{s}'" for s in sheets)
    cells = [c for c in df.columns]
    first = f"its first row: {', '.join(cells)}" if cells else "it is empty"
    having = []
    for s in sheets:
        if s == str(chosen):
            continue
        with contextlib.suppress(Exception):
            cols = {_name_key(str(c)) for c in pd.read_excel(book, sheet_name=s, nrows=0).columns}
            if all(_name_key(w) in cols for w in wanted):
                having.append(s)
    columns = ", ".join(wanted)
    if having:
        return (
            f"{where}: {label} has none of the columns {columns} ({first}); sheet '{having[0]}' has them: "
            f"set tables.{tcfg.name}.read: {{sheet: {_sheet_yaml(having[0])}}} (the workbook's sheets: {listed})"
        )
    if _looks_like_values(cells):
        return (
            f"{where}: the first row of {label} holds values ({', '.join(cells[:6])}), not column names: the sheet has "
            f"no header row; add one above the data naming the columns ({columns}), or name the sheet that has "
            f"one with tables.{tcfg.name}.read: {{sheet: NAME}} (the workbook's sheets: {listed})"
        )
    if len(sheets) > 1:
        return (
            f"{where}: {label} has none of the columns {columns} ({first}); the workbook's sheets: {listed}: name "
            f"the sheet with the data with tables.{tcfg.name}.read: {{sheet: NAME}}, or map your column names "
            f"with tables.{tcfg.name}.columns"
        )
    return None
