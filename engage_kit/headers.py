"""A source's header as the kit reads it: column names matched loosely, a reader's renames of a
repeated name, and the names a table's required columns have in the source.

Shared by the file readers (:mod:`.sources`, :mod:`.excel`) and the column mapping
(:mod:`.checks`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .schema import TABLES

if TYPE_CHECKING:  # config imports presets, which match names with _name_key
    from .config import TableConfig


def _required_names(tcfg: TableConfig) -> list[str]:
    """The names a table's required columns have in the source (mapped names where mapped)."""
    spec = TABLES[tcfg.name]
    return [tcfg.columns.get(c.name, c.name) for c in spec.columns if c.required and c.name not in tcfg.derive]


def _maybe_renamed(columns: list[str]) -> bool:
    """True when columns look like a reader's renames of a repeated header name: a name
    plus a number beside the name itself or beside another such rename (DuckDB
    ``amount, amount_1``, pandas ``amount, amount.1``, Spark ``amount2, amount3``)."""
    lowered = {str(c).lower() for c in columns}
    bases: list[str] = []
    for c in columns:
        m = re.fullmatch(r"(.+?)[_.]?\d+", str(c))
        if m:
            bases.append(m.group(1).lower())
    return any(b in lowered for b in bases) or len(bases) != len(set(bases))


def _repeated_names(header: list[str]) -> list[str]:
    """Names the header gives to more than one column (ignoring case, as the readers
    do), each as "columns 3 ('amount') and 4 ('amount')"."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        if h.strip():
            positions.setdefault(h.strip().lower(), []).append(i)
    out = []
    for where in positions.values():
        if len(where) > 1:
            named = [f"{i} ('{header[i - 1]}')" for i in where]
            out.append("columns " + ", ".join(named[:-1]) + " and " + named[-1])
    return out


def _name_key(name: str) -> str:
    """A column name as the kit matches it: case, spaces and underscores ignored
    (``Order ID``, ``ORDER_ID`` and ``orderid`` are all ``order_id``)."""
    return re.sub(r"[\s_]+", "", str(name)).lower()
