"""Picking rows to talk about: the best and the worst by a column, groups whose opens are not tracked.

Each pick is safe on zero rows and on one, and on columns that are all NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pick(df: pd.DataFrame | None, column: str, *, largest: bool = True) -> pd.Series | None:
    """The row of ``df`` with the largest (``largest=False``: smallest) finite ``column``.

    None when no row has a finite value: no rows, no such column, or every value NaN.
    Ties go to the first row in table order.
    """
    if df is None or column not in df.columns or df.empty:
        return None
    arr = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(arr))
    if ok.size == 0:
        return None
    i = ok[np.argmax(arr[ok])] if largest else ok[np.argmin(arr[ok])]
    return df.iloc[int(i)]


def best_and_worst(df: pd.DataFrame | None, column: str) -> tuple[pd.Series | None, pd.Series | None]:
    """``(highest, lowest)`` rows of ``df`` by ``column`` (see :func:`pick`).

    ``(None, None)`` when there is nothing to rank; with one row it is both.
    """
    return pick(df, column), pick(df, column, largest=False)


def not_tracked(g: pd.DataFrame) -> pd.Series:
    """Groups with clicks but no opens at all: opens are not tracked there (SMS, push)."""
    return (g["opened"] == 0) & (g["clicked"] > 0)
