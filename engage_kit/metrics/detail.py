"""Every KPI per period and per segment, for results.json (DESIGN.md, Output contract).

The page's sentences quote per-period and per-segment values ("highest 95.1% in
2024-10"); results.json carries the same values, so every number a reader sees can be
found, and checked, in the machine-readable output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _estimate(row: Any) -> dict[str, Any]:
    value = row.value
    if value is None or not np.isfinite(float(value)):
        reason = getattr(row, "reason", None)
        return {"value": None, "reason": reason if isinstance(reason, str) and reason else "it cannot be computed"}
    out: dict[str, Any] = {"value": float(value)}
    for name in ("low", "high"):
        v = getattr(row, name)
        if v is not None and np.isfinite(float(v)):
            out[name] = float(v)
    if row.n is not None and np.isfinite(float(row.n)):
        out["n"] = int(row.n)
    return out


def _nested(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """``{area: {name: {label: estimate}}}`` from a long frame with ``key`` and ``column``."""
    out: dict[str, Any] = {}
    for row in frame.itertuples(index=False):
        area, _, name = str(row.key).partition(".")
        out.setdefault(area, {}).setdefault(name, {})[str(getattr(row, column))] = _estimate(row)
    return out


def results(trend: pd.DataFrame, by_segment: pd.DataFrame | None = None) -> dict[str, Any]:
    """The results.json objects ``by_period`` and (with segments) ``by_segment``.

    ``by_period.<area>.<kpi>.<period>`` and ``by_segment.<area>.<kpi>.<segment>`` are
    ``{value, low, high, n}`` objects as for the headline figure, or ``{value: null,
    reason}``; ``trend`` comes from :func:`.kpis.kpis_by_period`, ``by_segment`` from
    :func:`.kpis.kpis_by_segment`.
    """
    out: dict[str, Any] = {"by_period": _nested(trend, "period") if len(trend) else {}}
    if by_segment is not None and len(by_segment):
        out["by_segment"] = _nested(by_segment, "segment")
    return out
