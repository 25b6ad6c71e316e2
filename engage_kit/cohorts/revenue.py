"""Revenue retention: net revenue per cohort and offset, its retention and its cumulation.

Revenue is net revenue (purchases plus returns, each in the period of its own
timestamp); net revenue retention is R(c, k) / R(c, 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .matrix import CohortMatrix, net_revenue_retention
from .params import SUMMARY_OFFSETS, _non_negative_int
from .periods import period_label, period_start


@dataclass
class RevenueRetention:
    """Revenue views of a cohort matrix (net revenue: purchases plus returns).

    Attributes
    ----------
    revenue : cohorts × offsets, net revenue (NaN where incomplete).
    nrr : cohorts × offsets, net revenue retention R(c, k) / R(c, 0).
    cumulative_per_customer : cohorts × offsets, Σ_{j<=k} R(c, j) / size(c).
    by_period : long table, net revenue per calendar period and cohort (incomplete periods
        flagged), for the "layer cake" chart.
    average_nrr : per offset, Σ_c R(c, k) / Σ_c R(c, 0) over eligible cohorts that completed k.
    sizes : cohort sizes.
    pending : cohorts × offsets, True where the period has started but is not complete.
    """

    revenue: pd.DataFrame
    nrr: pd.DataFrame
    cumulative_per_customer: pd.DataFrame
    by_period: pd.DataFrame
    average_nrr: pd.DataFrame
    sizes: pd.Series
    pending: pd.DataFrame
    period: str
    min_cohort_size: int


def revenue_retention(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> RevenueRetention:
    """Net revenue per cohort and offset, net revenue retention and cumulative revenue per customer.

    The frames keep every cohort; ``average_nrr`` uses cohorts with at least
    ``min_cohort_size`` customers. A split matrix is added up first.
    """
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    m = matrix.overall()
    rev = m.wide("revenue")
    nrr = net_revenue_retention(m)
    cum = rev.cumsum(axis=1, skipna=False).div(m.sizes, axis=0)
    bp = m.cells[["cohort", "cohort_index", "period_index", "complete", "revenue"]].copy()
    bp["period"] = period_label(bp["period_index"], m.period)
    bp["period_start"] = period_start(bp["period_index"], m.period)
    keep = m.eligible(min_cohort_size)
    base = rev.loc[keep, 0].where(rev.loc[keep, 0] > 0) if 0 in rev.columns else None
    rows = []
    if base is not None:
        ok = base.notna()
        for k in rev.columns:
            col = rev.loc[keep, k][ok]
            done = col.notna()
            if done.sum() == 0:
                continue
            rows.append({"offset": int(k), "value": float(col[done].sum() / base[ok][done].sum()),
                         "cohorts": int(done.sum())})
    avg = pd.DataFrame(rows, columns=["offset", "value", "cohorts"])
    pending = m.pending
    return RevenueRetention(rev, nrr, cum, bp.reset_index(drop=True), avg, m.sizes, pending, m.period,
                            min_cohort_size)


def _cumulative_offset(cum: pd.DataFrame) -> int | None:
    """The offset the cumulative-revenue title and sentence speak of: the highest of 0, 1, 3, 6, 12
    reached by at least two cohorts (one when only one cohort has it); None when no cohort has any."""
    done = cum.notna().sum(axis=0)
    for least in (2, 1):
        ks = [k for k in cum.columns if done[k] >= least and k in (0, *SUMMARY_OFFSETS)]
        if ks:
            return max(ks)
    return None


def earlier_cohorts_share(rev: RevenueRetention) -> dict[str, object] | None:
    """Net revenue of the last complete period and the share of it from customers acquired earlier.

    Counts the cohorts with at least ``min_cohort_size`` customers (those the revenue chart
    stacks). Returns ``{period, period_index, revenue, share}`` (``share`` NaN when the
    period's net revenue is 0), or None when no period is complete. The one figure the
    revenue chart's title, its sentence and results.json share.
    """
    keep = set(rev.sizes.index[rev.sizes >= rev.min_cohort_size])
    bp = rev.by_period[rev.by_period["cohort"].isin(keep)]
    done = bp.groupby("period_index")["complete"].all()
    done = done[done]
    if done.empty:
        return None
    last = int(done.index.max())
    cur = bp[bp["period_index"] == last]
    total = float(cur["revenue"].sum())
    new = float(cur.loc[cur["cohort_index"] == last, "revenue"].sum())
    share = 1 - new / total if total else float("nan")
    return {"period": period_label([last], rev.period)[0], "period_index": last, "revenue": total, "share": share}
