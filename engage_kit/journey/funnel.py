"""The funnel: people at each stage, conversion from the stage before, where people stop.

Counts come from the engine as one row per (group, furthest stage); everything else is
arithmetic on those few rows:

- people at stage k: N_k = #{furthest >= k} (a person counts at every stage up to the
  furthest they reached);
- conversion to stage k: N_k / N_{k-1} with a Wilson (1927) 95% interval;
- stopped at stage k: N_k − N_{k+1}, the people whose furthest stage is k;
- by group (lead source, acquisition channel): per step k−1 → k, a chi-square test of
  independence over the groups' r × 2 table (converted, not converted), the p-values of
  the four steps corrected together with Holm's (1979) step-down method.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps

from ..stats import wilson_interval
from .people import STAGES

NO_GROUP = "(none)"


def furthest_counts(stages: ibis.Table, group: str | None = None) -> pd.DataFrame:
    """``[group,] furthest, people`` counted in the engine (people without a group: left out)."""
    if group is None:
        df = stages.group_by("furthest").aggregate(people=stages.count()).execute()
    else:
        s = stages.filter(stages[group].notnull())
        df = s.group_by([group, "furthest"]).aggregate(people=s.count()).execute()
        df = df.rename(columns={group: "group"})
        df["group"] = df["group"].astype(str)
    df["furthest"] = df["furthest"].astype("int64")
    df["people"] = df["people"].astype("int64")
    return df


def funnel_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Per stage: ``stage, people, conversion, conversion_low, conversion_high, stopped``.

    ``counts``: ``furthest, people`` (one group). The first stage's conversion is NaN (no
    stage before it).
    """
    by = counts.groupby("furthest")["people"].sum().reindex(range(len(STAGES)), fill_value=0).to_numpy()
    reached = by[::-1].cumsum()[::-1].astype("int64")
    prev = np.concatenate([[np.nan], reached[:-1]])
    lo, hi = wilson_interval(reached[1:], prev[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.concatenate([[np.nan], np.where(prev[1:] > 0, reached[1:] / np.where(prev[1:] > 0, prev[1:], 1), np.nan)])
    return pd.DataFrame({
        "stage": list(STAGES), "people": reached, "conversion": conv,
        "conversion_low": np.concatenate([[np.nan], lo]), "conversion_high": np.concatenate([[np.nan], hi]),
        "stopped": by.astype("int64"),
    })


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm (1979) adjusted p-values: p_(i) · (m − i + 1), made monotone, capped at 1 (NaN kept)."""
    p = np.asarray(pvalues, dtype=float)
    ok = np.isfinite(p)
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q)
    adj = np.maximum.accumulate(q[order] * (m - np.arange(m)))
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def group_funnels(counts: pd.DataFrame, *, min_people: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per group and stage: the :func:`funnel_table` columns and ``group``; per step: the test).

    Groups with fewer than ``min_people`` people are left out of the tests (they stay in
    the table). Test table: ``stage, groups, chi2, dof, p_value, p_holm, differs`` (Holm
    adjusted p < 0.05).
    """
    tables = []
    for g, part in counts.groupby("group", sort=True):
        t = funnel_table(part)
        t.insert(0, "group", g)
        tables.append(t)
    if not tables:
        return pd.DataFrame(), pd.DataFrame()
    ft = pd.concat(tables, ignore_index=True)
    big = ft.loc[(ft["stage"] == STAGES[0]) & (ft["people"] >= min_people), "group"].tolist()
    rows = []
    for k in range(1, len(STAGES)):
        prev = ft[(ft["stage"] == STAGES[k - 1]) & ft["group"].isin(big)].set_index("group")["people"]
        cur = ft[(ft["stage"] == STAGES[k]) & ft["group"].isin(big)].set_index("group")["people"]
        keep = prev[prev > 0].index
        table = np.column_stack([cur[keep].to_numpy(), (prev[keep] - cur[keep]).to_numpy()])
        chi2, dof, p = np.nan, 0, np.nan
        if len(keep) >= 2 and (table.sum(axis=0) > 0).all():
            chi2, p, dof, _ = sps.chi2_contingency(table, correction=False)
        rows.append({"stage": STAGES[k], "groups": int(len(keep)), "chi2": float(chi2), "dof": int(dof),
                     "p_value": float(p)})
    tests = pd.DataFrame(rows)
    tests["p_holm"] = holm(tests["p_value"].to_numpy())
    tests["differs"] = tests["p_holm"] < 0.05
    return ft, tests


def funnel_results(table: pd.DataFrame) -> list[dict[str, Any]]:
    """results.json ``funnel.stages``: ``{stage, people, conversion}`` with conversion as
    ``{value, low, high, n}`` (null with a reason for the first stage or an empty stage before)."""
    out = []
    prev = None
    for r in table.itertuples(index=False):
        if prev is None:
            conv: dict[str, Any] = {"value": None, "reason": "the first stage has no stage before it"}
        elif prev == 0:
            conv = {"value": None, "reason": "nobody reached the stage before"}
        else:
            conv = {"value": float(r.conversion), "low": float(r.conversion_low), "high": float(r.conversion_high),
                    "n": int(prev)}
        out.append({"stage": r.stage, "people": int(r.people), "conversion": conv})
        prev = int(r.people)
    return out
