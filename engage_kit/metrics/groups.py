"""Figures broken down by a label of the data (reason, touchpoint, page, feature) and each
group tested against the rest of the groups.

The engine returns sufficient statistics per group (counts for a share; n, Σx, Σx² for a
mean; promoters, detractors and answers for NPS); here each group gets its value and
interval and a two-sided test against the other groups pooled ("the rest"), with
p-values Holm-adjusted across the groups (Holm 1979), since many groups are read at
once. A group is *worse than the rest* when the adjusted p-value is below 0.05 and the
difference points the bad way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ._common import DateLike, Metric, add_period_columns, check_period, period_index, wilson, z_value

__all__ = ["GROUP_COLUMNS", "key_part", "mean_groups", "metrics", "nps_groups", "proportion_groups", "worse",
           "differs", "with_period", "per_period"]

GROUP_COLUMNS = ["group", "value", "low", "high", "n", "rest", "z", "p_value", "p_holm", "worse", "better"]


def key_part(name: object) -> str:
    """A group's name as one part of a dotted results.json key (dots become ``_``)."""
    return str(name).strip().replace(".", "_") or "(blank)"


def with_period(t: ibis.Table, ts: str, period: str | None) -> tuple[ibis.Table, list[str]]:
    """``t`` and its grouping keys: ``["group"]``, or per period ``["_pidx", "group"]`` with
    ``_pidx`` the calendar period of column ``ts`` (:func:`._common.period_index`)."""
    period = check_period(period)
    if period is None:
        return t, ["group"]
    return t.mutate(_pidx=period_index(t[ts], period)), ["_pidx", "group"]


def per_period(
    df: pd.DataFrame, make: Callable[[pd.DataFrame], pd.DataFrame], *, period: str | None, as_of: DateLike,
) -> pd.DataFrame:
    """``make`` (the counts of one window -> the figures per group) applied to the whole of
    ``df`` (``period`` None), else to each period's rows (``_pidx``), with the columns
    period, period_start, period_end and complete first. Each period's groups are tested
    against the rest of that period."""
    period = check_period(period)
    if period is None:
        return make(df)
    frames = [make(g.drop(columns="_pidx").reset_index(drop=True)).assign(_pidx=int(p))
              for p, g in df.groupby("_pidx", sort=True)]
    if not frames:
        frames = [make(df.drop(columns="_pidx")).assign(_pidx=pd.Series([], dtype="int64"))]
    return add_period_columns(pd.concat(frames, ignore_index=True), period, as_of)


def _holm(df: pd.DataFrame, better: str | None) -> pd.DataFrame:
    """Holm-adjusted p-values and the ``worse`` / ``better`` flags (direction from ``better``)."""
    ok = df["p_value"].notna()
    df["p_holm"] = np.nan
    if ok.any():
        df.loc[ok, "p_holm"] = multipletests(df.loc[ok, "p_value"], method="holm")[1]
    sig = (df["p_holm"] < 0.05).to_numpy()
    diff = (df["value"] - df["rest"]).to_numpy(dtype=float)
    if better is None:
        df["worse"], df["better"] = False, False
    else:
        up = diff > 0 if better == "higher" else diff < 0
        df["worse"] = sig & ~up & (diff != 0)
        df["better"] = sig & up
    return df


def _sorted(df: pd.DataFrame, most: int | None) -> pd.DataFrame:
    df = df.sort_values(["n", "group"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return df.head(most).reset_index(drop=True) if most else df


def proportion_groups(
    counts: pd.DataFrame, k: str, n: str, *, better: str | None, confidence: float = 0.95, most: int | None = None,
    test: bool = True,
) -> pd.DataFrame:
    """Share k / n per group (Wilson interval) and the pooled two-proportion z-test against the rest.

    ``counts`` has a ``group`` column and the counts ``k`` and ``n``. The rest of group g
    is (Σk − k_g) / (Σn − n_g); z = (p_g − p_r) / √(p̂(1 − p̂)(1/n_g + 1/n_r)), p̂ pooled
    (Fleiss, Levin and Paik 2003, §2.5). ``test=False`` (every group shares one
    denominator, as feature adoption does) leaves the test empty. Returns
    :data:`GROUP_COLUMNS` plus the counts, the largest groups first (``most`` of them).
    """
    df = counts.copy()
    df[k] = pd.to_numeric(df[k]).fillna(0).astype(float)
    df[n] = pd.to_numeric(df[n]).fillna(0).astype(float)
    df = wilson(df, k, n, confidence)
    kr, nr = df[k].sum() - df[k], df[n].sum() - df[n]
    with np.errstate(invalid="ignore", divide="ignore"):
        df["rest"] = np.where(nr > 0, kr / nr, np.nan)
        pooled = (df[k] + kr) / (df[n] + nr)
        se = np.sqrt(pooled * (1 - pooled) * (1 / df[n] + 1 / nr))
        z = (df["value"] - df["rest"]) / se
    ok = test & (df[n] > 0) & (nr > 0) & (se > 0)
    df["z"] = np.where(ok, z, np.nan)
    df["p_value"] = np.where(ok, 2 * stats.norm.sf(np.abs(df["z"])), np.nan)
    if not test:
        df["rest"] = np.nan
    return _sorted(_holm(df, better), most)


def mean_groups(
    sums: pd.DataFrame, n: str, total: str, squares: str, *, better: str | None, confidence: float = 0.95,
    most: int | None = None,
) -> pd.DataFrame:
    """Mean Σx / n per group (t interval) and Welch's z-test against the rest.

    ``sums`` has ``group``, the count ``n``, Σx (``total``) and Σx² (``squares``). The
    sample variance is (Σx² − (Σx)²/n) / (n − 1); the rest's moments are the totals less
    the group's, so one engine query serves every group. z = (m_g − m_r) / √(s_g²/n_g +
    s_r²/n_r) (Welch 1947, large-sample form).
    """
    df = sums.copy()
    for c in (n, total, squares):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype(float)
    nn, sx, sxx = df[n].to_numpy(), df[total].to_numpy(), df[squares].to_numpy()
    nr, sxr, sxxr = nn.sum() - nn, sx.sum() - sx, sxx.sum() - sxx
    tq = stats.t.ppf(0.5 + confidence / 2, np.maximum(nn - 1, 1))
    z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        m, mr = sx / nn, sxr / nr
        var = np.maximum(sxx - sx**2 / nn, 0) / (nn - 1)
        varr = np.maximum(sxxr - sxr**2 / nr, 0) / (nr - 1)
        half = np.where(nn >= 2, tq * np.sqrt(var / nn), np.nan)
        se = np.sqrt(var / nn + varr / nr)
        z = (m - mr) / se
    df["value"] = np.where(nn > 0, m, np.nan)
    df["low"], df["high"] = df["value"] - half, df["value"] + half
    df["n"] = nn.astype("int64")
    df["method"] = "t"
    df["rest"] = np.where(nr > 0, mr, np.nan)
    ok = (nn >= 2) & (nr >= 2) & (se > 0)
    df["z"] = np.where(ok, z, np.nan)
    df["p_value"] = np.where(ok, 2 * stats.norm.sf(np.abs(np.where(ok, z, 0))), np.nan)
    return _sorted(_holm(df, better), most)


def nps_groups(counts: pd.DataFrame, *, confidence: float = 0.95, most: int | None = None) -> pd.DataFrame:
    """NPS per group from ``promoters``, ``detractors``, ``answers``, tested against the rest.

    NPS = 100 (p − d) with Var = 100² (p + d − (p − d)²) / n (see
    :func:`.satisfaction.nps`); z = (NPS_g − NPS_r) / √(Var_g + Var_r), independent groups.
    """
    df = counts.copy()
    for c in ("promoters", "detractors", "answers"):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype(float)
    z95 = z_value(confidence)

    def score(pro, det, n):
        with np.errstate(invalid="ignore", divide="ignore"):
            p, d = pro / n, det / n
            return 100 * (p - d), 100**2 * np.maximum(p + d - (p - d) ** 2, 0) / n

    v, var = score(df["promoters"].to_numpy(), df["detractors"].to_numpy(), df["answers"].to_numpy())
    vr, varr = score(df["promoters"].sum() - df["promoters"].to_numpy(),
                     df["detractors"].sum() - df["detractors"].to_numpy(),
                     df["answers"].sum() - df["answers"].to_numpy())
    ok = df["answers"].to_numpy() > 0
    df["value"] = np.where(ok, v, np.nan)
    df["low"] = np.where(ok, np.clip(v - z95 * np.sqrt(var), -100, 100), np.nan)
    df["high"] = np.where(ok, np.clip(v + z95 * np.sqrt(var), -100, 100), np.nan)
    df["n"] = df["answers"].astype("int64")
    df["method"] = "nps-normal"
    df["rest"] = vr
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(var + varr)
        z = (v - vr) / se
    good = ok & np.isfinite(z) & (se > 0)
    df["z"] = np.where(good, z, np.nan)
    df["p_value"] = np.where(good, 2 * stats.norm.sf(np.abs(np.where(good, z, 0))), np.nan)
    return _sorted(_holm(df, "higher"), most)


def metrics(groups: pd.DataFrame, prefix: str, counts: tuple[str, ...] = ()) -> dict[str, Metric]:
    """``{prefix.<group>: Metric}`` for results.json (group names through :func:`key_part`)."""
    out: dict[str, Metric] = {}
    for _, r in groups.iterrows():
        out[f"{prefix}.{key_part(r['group'])}"] = Metric(
            float(r["value"]), float(r["low"]), float(r["high"]), int(r["n"]), str(r.get("method", "")),
            {c: float(r[c]) for c in counts},
        )
    return out


def worse(groups: pd.DataFrame) -> list[str]:
    """The groups worse than the rest by more than noise, the clearest first."""
    g = groups[groups["worse"].astype(bool)]
    return [str(x) for x in g.assign(_a=g["z"].abs()).sort_values("_a", ascending=False)["group"]]


def differs(groups: pd.DataFrame) -> list[str]:
    """The groups that differ from the rest by more than noise, either way (no good direction)."""
    g = groups[groups["p_holm"] < 0.05]
    return [str(x) for x in g.assign(_a=g["z"].abs()).sort_values("_a", ascending=False)["group"]]


def as_dict(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[dict]]:
    """Breakdown tables as plain rows (for results.json beside the dotted keys)."""
    return {k: v[[c for c in GROUP_COLUMNS if c in v.columns]].to_dict(orient="records") for k, v in tables.items()}
