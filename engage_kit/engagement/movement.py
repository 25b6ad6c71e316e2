"""Movement between levels: the previous period end against now, the level mix by period,
per segment, and the components that set each level apart (drivers). Counts run in the engine.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from .components import COMPONENTS
from .scoring import LEVELS

NEW = "new"  # a customer who had not bought yet at the previous period end
PERIOD_FREQ = {"W": "W-SUN", "M": "M", "Q": "Q-DEC"}


def period_ends(as_of: Any, period: str, count: int, *, first: Any = None) -> list[pd.Timestamp]:
    """The last ``count`` period ends up to ``as_of``: the ends of the ``count - 1`` complete
    periods before the one holding ``as_of``, then ``as_of`` itself; ends before ``first``
    (the first purchase day) are left out. Weeks end on Sunday."""
    as_of = pd.Timestamp(as_of).normalize()
    p = pd.Period(as_of, PERIOD_FREQ[period])
    ends = [((p - k).end_time).normalize() for k in range(max(int(count), 1) - 1, 0, -1)]
    ends.append(as_of)
    if first is not None:
        ends = [e for e in ends if e >= pd.Timestamp(first).normalize()]
    return ends or [as_of]


def previous_end(as_of: Any, period: str) -> pd.Timestamp:
    """The end of the period before the one holding ``as_of``."""
    p = pd.Period(pd.Timestamp(as_of).normalize(), PERIOD_FREQ[period])
    return (p - 1).end_time.normalize()


def transitions(now: ibis.Table, before: ibis.Table) -> pd.DataFrame:
    """Customers by level at the previous period end (``new`` when not yet a customer) and now.

    Columns: before, now, customers, share (of the customers in that ``before`` row);
    every combination listed, zeros included.
    """
    b = before.select(customer_id=before.customer_id, _before=before.level)
    j = now.left_join(b, now.customer_id == b.customer_id)
    j = j.select(now=j.level, before=j._before.fill_null(NEW))
    j = j.filter(j.now.notnull())
    df = j.group_by(["before", "now"]).aggregate(customers=j.count()).execute()
    rows = [(bf, nw) for bf in (NEW, *LEVELS) for nw in LEVELS]
    full = pd.DataFrame(rows, columns=["before", "now"]).merge(df, on=["before", "now"], how="left")
    full["customers"] = full["customers"].fillna(0).astype(int)
    tot = full.groupby("before")["customers"].transform("sum")
    full["share"] = np.where(tot > 0, full["customers"] / tot.where(tot > 0, 1), np.nan)
    return full


def moved(table: pd.DataFrame, direction: str = "down") -> int:
    """Customers whose level fell (``down``) or rose (``up``) between the two dates (new ones never)."""
    order = {lv: i for i, lv in enumerate(LEVELS)}
    t = table[table["before"] != NEW]
    b, n = t["before"].map(order), t["now"].map(order)
    mask = n < b if direction == "down" else n > b
    return int(t.loc[mask, "customers"].sum())


def level_counts(t: ibis.Table) -> pd.DataFrame:
    """Customers per level (every level listed): level, customers, share."""
    t = t.filter(t.level.notnull())
    df = t.group_by("level").aggregate(customers=t.count()).execute()
    out = pd.DataFrame({"level": list(LEVELS)}).merge(df, on="level", how="left")
    out["customers"] = out["customers"].fillna(0).astype(int)
    total = out["customers"].sum()
    out["share"] = out["customers"] / total if total else np.nan
    return out


def mix_by_period(scored_at: dict[pd.Timestamp, ibis.Table]) -> pd.DataFrame:
    """The level mix at each period end: period_end, level, customers, share."""
    parts = []
    for end, t in scored_at.items():
        c = level_counts(t)
        c.insert(0, "period_end", end)
        parts.append(c)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["period_end", "level", "customers", "share"])


def segment_mix(now: ibis.Table, before: ibis.Table, customers: ibis.Table, segment: str) -> pd.DataFrame:
    """Per segment: customers, the share in each level now, and customers who moved down.

    Columns: segment, customers, low, medium, high (shares), moved_down.
    """
    c = customers.select(customer_id=customers.customer_id, _segment=customers[segment].cast("string"))
    c = c.distinct(on="customer_id", keep="first")
    b = before.select(customer_id=before.customer_id, _before=before.level)
    j = now.left_join(c, now.customer_id == c.customer_id)
    j = j.select(now.customer_id, now.level, segment=j._segment.fill_null("unknown"))
    j2 = j.left_join(b, j.customer_id == b.customer_id)
    j2 = j2.select(j.segment, j.level, _before=b._before)
    j2 = j2.filter(j2.level.notnull())
    rank = {"low": 0, "medium": 1, "high": 2}

    def ordinal(col: ibis.Value) -> ibis.Value:
        return col.cases(*rank.items(), else_=None)

    down = (ordinal(j2.level) < ordinal(j2._before)).fill_null(False)
    df = j2.group_by("segment").aggregate(
        customers=j2.count(),
        **{lv: (j2.level == lv).cast("int64").sum() for lv in LEVELS},
        moved_down=down.cast("int64").sum(),
    ).execute()
    for lv in LEVELS:
        df[lv] = df[lv] / df["customers"]
    return df.sort_values(["customers", "segment"], ascending=[False, True]).reset_index(drop=True)


def level_means(t: ibis.Table, components: tuple[str, ...]) -> pd.DataFrame:
    """Mean raw value of each component per level and overall (eligible customers only).

    Index: low, medium, high, all; columns: the components.
    """
    t = t.filter(t.level.notnull())
    aggs = {c: t[c].cast("float64").mean() for c in components}
    by = t.group_by("level").aggregate(**aggs).execute().set_index("level")
    overall = t.aggregate(**aggs).execute()
    overall.index = ["all"]
    return pd.concat([by.reindex(list(LEVELS)), overall])


def drivers(means: pd.DataFrame, components: tuple[str, ...]) -> pd.DataFrame:
    """For each level, the component that differs most from the population, as a ratio.

    ratio = level mean / population mean (population mean / level mean for recency, where
    fewer days is more engaged); the component with the largest |log ratio| is the level's
    driver. The NPS answer (−1, 0, 1) has no meaningful ratio and is left out. Columns:
    level, component, level_mean, all_mean, ratio (NaN when a mean is 0 or missing).
    """
    rows = []
    for lv in LEVELS:
        best = None
        for c in components:
            if c == "nps" or lv not in means.index:
                continue
            m, a = means.at[lv, c], means.at["all", c]
            if not (np.isfinite(m) and np.isfinite(a)) or m <= 0 or a <= 0:
                continue
            ratio = (a / m) if not COMPONENTS[c].higher_is_better else (m / a)
            if best is None or abs(np.log(ratio)) > abs(np.log(best[4])):
                best = (lv, c, float(m), float(a), float(ratio))
        if best is not None:
            rows.append(best)
    return pd.DataFrame(rows, columns=["level", "component", "level_mean", "all_mean", "ratio"])
