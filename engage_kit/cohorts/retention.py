"""Retention curves: each cohort's share active per offset and the size-weighted average.

Every share comes with a Wilson (1927) score interval; averages pool the counts of the
cohorts that completed an offset (the mean of their retention weighted by size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..stats import Estimate, wilson_interval
from .matrix import CohortMatrix
from .params import SUMMARY_OFFSETS, _non_negative_int


def cohort_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1, confidence: float = 0.95) -> pd.DataFrame:
    """Retention of each cohort at each complete offset, with Wilson intervals.

    Returns one row per eligible cohort and complete offset: keys, ``cohort_index``,
    ``offset``, ``customers`` (cohort size), ``active``, ``retention`` = active / customers,
    ``low`` and ``high`` (Wilson 1927 score interval at ``confidence``).
    """
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    m = matrix
    c = m.cells[m.cells["complete"]].merge(m.cohorts[[*m.keys, "customers"]], on=m.keys)
    c = c[c["customers"] >= max(min_cohort_size, 1)]
    active = c[m.active_column].to_numpy(dtype=float)
    n = c["customers"].to_numpy(dtype=float)
    low, high = wilson_interval(active, n, confidence=confidence)
    out = c[[*m.keys, "cohort_index", "offset", "customers"]].copy()
    out["active"] = active.astype("int64")
    out["retention"] = active / n
    out["low"] = np.atleast_1d(low)
    out["high"] = np.atleast_1d(high)
    return out.reset_index(drop=True)


def average_curve(matrix: CohortMatrix, *, min_cohort_size: int = 1, confidence: float = 0.95) -> pd.DataFrame:
    """Size-weighted average retention per offset over the cohorts that reached it.

    value(k) = Σ_c active(c, k) / Σ_c size(c) over cohorts c whose offset k is complete and
    whose size is at least ``min_cohort_size`` (the pooled proportion, i.e. the mean of the
    cohorts' retention weighted by size), with a Wilson interval on the pooled counts.
    Later offsets rest on older cohorts only. Split matrices give one curve per segment.

    Returns
    -------
    DataFrame
        ``[segment,] offset, value, low, high, active, customers, cohorts``.
    """
    cc = cohort_curves(matrix, min_cohort_size=min_cohort_size, confidence=confidence)
    by = ["segment", "offset"] if matrix.segment else ["offset"]
    if cc.empty:
        return pd.DataFrame(columns=[*by, "value", "low", "high", "active", "customers", "cohorts"])
    g = cc.groupby(by, as_index=False).agg(
        active=("active", "sum"), customers=("customers", "sum"), cohorts=("retention", "size")
    )
    g["value"] = g["active"] / g["customers"]
    low, high = wilson_interval(g["active"].to_numpy(float), g["customers"].to_numpy(float), confidence=confidence)
    g["low"], g["high"] = np.atleast_1d(low), np.atleast_1d(high)
    return g[[*by, "value", "low", "high", "active", "customers", "cohorts"]]


def average_retention(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    min_cohort_size: int = 1,
) -> dict[int, Estimate]:
    """Size-weighted average retention at ``offsets`` (see :func:`average_curve`).

    Only offsets some eligible cohort has completed are returned. A split matrix is added up
    over segments first.
    """
    curve = average_curve(matrix.overall(), min_cohort_size=min_cohort_size).set_index("offset")
    out = {}
    for k in offsets:
        if k in curve.index:
            r = curve.loc[k]
            out[int(k)] = Estimate(float(r["value"]), float(r["low"]), float(r["high"]), int(r["customers"]), "wilson")
    return out


def extreme_cohorts(matrix: CohortMatrix, *, offset: int = 1, min_cohort_size: int = 1) -> dict[str, Any]:
    """Best and worst cohort by retention at ``offset`` (eligible cohorts that completed it).

    Returns ``{"best": {...}, "worst": {...}}`` with cohort, customers and the retention
    Estimate, or an empty dict when fewer than two cohorts qualify.
    """
    cc = cohort_curves(matrix.overall(), min_cohort_size=min_cohort_size)
    at = cc[cc["offset"] == offset]
    if len(at) < 2:
        return {}
    out = {}
    for name, row in (("best", at.loc[at["retention"].idxmax()]), ("worst", at.loc[at["retention"].idxmin()])):
        out[name] = {
            "cohort": row["cohort"],
            "customers": int(row["customers"]),
            "retention": Estimate(float(row["retention"]), float(row["low"]), float(row["high"]),
                                  int(row["customers"]), "wilson"),
        }
    return out
