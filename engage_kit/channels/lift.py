"""Incremental lift over a control group that received nothing (the only causal comparison)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, did_you_mean
from . import story
from .counts import as_table
from .intervals import as_array, difference_interval, ratio_interval

if TYPE_CHECKING:
    from .comparison import ChannelComparison


def control_lift(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any],
    control: Any,
    pairwise: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Incremental lift of each group over a control group that received nothing.

    absolute = p_g − p_control (Newcombe interval), relative = p_g / p_control − 1 (log
    interval), incremental = absolute · n_g (the outcomes the treatment added). Only this
    comparison is causal, and only when units were assigned to groups at random. When
    ``pairwise`` (from :func:`pairwise_tests`) is given, its family-corrected p-values are
    attached.
    """
    labels = list(names)
    if control not in labels:
        raise ParameterError(f"control='{control}' is not a group{did_you_mean(str(control), map(str, labels))}; "
                             f"the groups are: {', '.join(map(str, labels))}")
    k, m = as_array(successes), as_array(n)
    ci = labels.index(control)
    rows = []
    for i, g in enumerate(labels):
        if i == ci:
            continue
        d, lo, hi = difference_interval(k[i], m[i], k[ci], m[ci], confidence=confidence)
        r, rlo, rhi = ratio_interval(k[i], m[i], k[ci], m[ci], confidence=confidence)
        row = {"group": g, "units": int(m[i]), "rate": k[i] / m[i] if m[i] else np.nan,
               "control_rate": k[ci] / m[ci] if m[ci] else np.nan,
               "lift": float(d), "lift_low": float(lo), "lift_high": float(hi),
               "relative_lift": float(r) - 1, "relative_low": float(rlo) - 1, "relative_high": float(rhi) - 1,
               "incremental": float(d) * m[i], "incremental_low": float(lo) * m[i], "incremental_high": float(hi) * m[i]}
        if pairwise is not None and len(pairwise):
            hit = pairwise[((pairwise.a == g) & (pairwise.b == control)) | ((pairwise.a == control) & (pairwise.b == g))]
            if len(hit):
                row["p_adjusted"] = float(hit.p_adjusted.iloc[0])
                row["significant"] = bool(hit.significant.iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def find_control_groups(customers: Any, *, names: Sequence[str] = ("control", "holdout", "hold-out")) -> dict[str, str]:
    """Customer attributes that hold a control-like value: {attribute: value}."""
    c = as_table(customers, "customers")
    out: dict[str, str] = {}
    for col in c.columns:
        if col in ("customer_id", "signup_at") or not c[col].type().is_string():
            continue
        vals = c.select(v=c[col].lower()).distinct().limit(50).v.execute()
        for v in vals.dropna():
            if v in names:
                orig = c.filter(c[col].lower() == v).select(col).limit(1).execute()[col].iloc[0]
                out[col] = orig
                break
    return out


def lift_skip_reason(result: ChannelComparison, customers: Any = None) -> str | None:
    """Why the incremental-lift section cannot be shown (no control group, or nothing beside it), or None.

    ``customers`` is accepted for the callers that pass it; how to measure the lift on a
    control group of the customers table is :func:`find_control_groups` with
    :func:`story.control_hint`.
    """
    return story.lift_skip_text(result, {})
