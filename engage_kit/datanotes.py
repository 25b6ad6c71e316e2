"""What loading a table found (its size, errors and warnings) and the helpers that show example rows in messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

MAX_EXAMPLES = 5
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEY_WHOLE = ("nps", "ces")  # answered in whole points; csat may be an average of items
_OFFSET_RE = r"(Z|z|[+-]\d{2}:?\d{2})$"
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".tsv.gz", ".txt.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
# tables the loader derives from transactions (not in the config): the purchases and
# returns behind the return figures, and the guest orders kept for order-level figures
DERIVED_TABLES = ("order_returns", "guest_transactions")




@dataclass
class TableReport:
    """What loading one table found: its size and its problems."""

    name: str
    source: str
    rows: int = 0
    customers: int | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)




def _examples(df: pd.DataFrame, value_col: str | None = None) -> str:
    parts = []
    for _, row in df.head(MAX_EXAMPLES).iterrows():
        if value_col is None:
            parts.append(f"row {int(row['_row'])}")
        else:
            value = row[value_col]
            if hasattr(value, "dtype") and hasattr(value, "item"):  # a numpy scalar: show 'inf', not np.float64(inf)
                value = value.item()
            parts.append(f"row {int(row['_row'])}: {value!r}")
    return ", ".join(parts)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _count(value: Any) -> int:
    """A count from an aggregate (NULL when every value was NULL: 0)."""
    return 0 if value is None or pd.isna(value) else int(value)




def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"
