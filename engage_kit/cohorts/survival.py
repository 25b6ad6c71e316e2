"""Survival: how long customers keep buying before they lapse.

:func:`lapse_durations` counts per-customer lifetimes in the engine; :func:`kaplan_meier`
estimates the survival curve (Kaplan and Meier 1958) with Greenwood's (1926) variance and
log-log intervals.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps

from ..activity import default_active_days
from ..errors import DataError, ParameterError
from ..stats import Estimate, wilson_interval
from .params import (
    CENSOR_AT,
    MISSING_SEGMENT,
    _choice,
    _customers_table,
    _non_negative_int,
    _resolve_as_of,
    as_table,
)
from .periods import SECONDS_PER_DAY


def lapse_durations(
    transactions: Any,
    *,
    as_of: Any = None,
    inactivity_days: int | None = None,
    customers: Any = None,
    segment: str | None = None,
    censor_at: str = "lapse_horizon",
) -> pd.DataFrame:
    """Per-customer lifetimes for survival analysis, counted in the engine.

    A customer has lapsed when they made no purchase in the ``inactivity_days`` days up to
    and including ``as_of``, i.e. their last purchase day is on or before the lapse horizon
    H = as_of − inactivity_days. The lifetime is the days from the first to the last
    purchase; for lapsed customers it is observed (an event). ``inactivity_days`` is the
    kit's one activity window (lapsed = not active); None chooses it from the data
    (:func:`engage_kit.activity.default_active_days`).

    Customers not lapsed are censored. ``censor_at="lapse_horizon"`` (default) censors
    them at H: a lapse is only visible up to H, so every customer is followed up to H,
    the censoring does not depend on the lifetime, and Kaplan–Meier is unbiased (checked on
    simulated data with known lifetimes in the tests). Customers whose first purchase is
    after H have no follow-up (``followed`` False) and are left out of the curves.
    ``censor_at="as_of"`` censors them at as_of instead (duration = days from the first
    purchase to as_of): customers who stopped buying within the last ``inactivity_days``
    are then counted as survivors beyond their true lifetime, which overstates survival,
    increasingly at long durations.

    Purchases are rows with amount >= 0; returns are ignored.

    Returns
    -------
    DataFrame
        One row per unique ``[segment,] duration_days, lapsed, followed`` with
        ``customers`` (count): small enough for :func:`kaplan_meier`'s ``weights``.
    """
    censor_at = _choice("censor_at", censor_at, CENSOR_AT)
    t = as_table(transactions, name="transactions", required=("customer_id", "timestamp", "amount"))
    as_of_ts = _resolve_as_of(t, as_of)
    if inactivity_days is None:
        inactivity_days = default_active_days(t, as_of=as_of_ts)
    inactivity_days = _non_negative_int("inactivity_days", inactivity_days, minimum=1)
    as_of_end = as_of_ts + pd.Timedelta(days=1)
    t = t.filter(t.customer_id.notnull(), t.timestamp.notnull(), t.amount >= 0, t.timestamp < as_of_end.to_pydatetime())
    day = (t.timestamp.truncate("D").epoch_seconds() // SECONDS_PER_DAY).cast("int64")
    t = t.mutate(day=day)
    per = t.group_by("customer_id").aggregate(first_day=t.day.min(), last_day=t.day.max())
    as_of_day = int((as_of_ts - pd.Timestamp("1970-01-01")).days)
    horizon = as_of_day - inactivity_days
    lapsed = per.last_day <= horizon
    censor_day = ibis.literal(horizon if censor_at == "lapse_horizon" else as_of_day)
    per = per.mutate(
        lapsed=lapsed,
        followed=per.first_day <= censor_day,
        duration_days=ibis.ifelse(lapsed, per.last_day - per.first_day, censor_day - per.first_day),
    )
    keys = ["duration_days", "lapsed", "followed"]
    if segment:
        cust = _customers_table(customers, cohort_by="first_purchase", segment=segment)
        seg = cust.group_by("customer_id").aggregate(segment=cust[segment].cast("string").arbitrary())
        per = per.left_join(seg, "customer_id").select(
            *keys, segment=ibis.coalesce(seg.segment, ibis.literal(MISSING_SEGMENT))
        )
        keys = ["segment", *keys]
    out = per.group_by(keys).aggregate(customers=per.count()).execute()
    out["duration_days"] = out["duration_days"].astype("int64")
    out["lapsed"] = out["lapsed"].astype(bool)
    out["followed"] = out["followed"].astype(bool)
    out["customers"] = out["customers"].astype("int64")
    return out.sort_values(keys).reset_index(drop=True)


def kaplan_meier(
    durations: Any,
    events: Any,
    *,
    weights: Any = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier survival estimate with Greenwood variance, vectorised.

    S(t) = Π_{t_i <= t} (1 − d_i / n_i), with d_i events at t_i and n_i subjects at risk
    (duration >= t_i; censored at t_i still at risk). Greenwood (1926):
    Var S(t) = S(t)² Σ_{t_i <= t} d_i / (n_i (n_i − d_i)). The interval is the log-log
    ("exponential Greenwood") one, which stays within [0, 1]: S^{exp(±z σ)} with
    σ = sqrt(Σ d_i / (n_i (n_i − d_i))) / |log S| (Kalbfleisch and Prentice 2002, §1.3).

    Parameters
    ----------
    durations : array-like
        Times (any unit).
    events : array-like of bool
        True for an event (lapse), False for censored.
    weights : array-like, optional
        Number of subjects per row (for grouped input such as :func:`lapse_durations`).

    Returns
    -------
    DataFrame
        One row per distinct time: ``time, at_risk, events, censored, survival, se, low, high``.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if t.shape != e.shape or t.shape != w.shape:
        raise ParameterError("durations, events and weights must have the same length")
    if t.size == 0:
        raise DataError("kaplan_meier: no subjects")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise DataError("kaplan_meier: durations must be finite and >= 0")
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=w * e, minlength=times.size)
    c = np.bincount(inv, weights=w * ~e, minlength=times.size)
    leaving = d + c
    at_risk = w.sum() - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / at_risk)
        term = np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0)
        gw = np.cumsum(term)
        se = surv * np.sqrt(gw)
        z = sps.norm.ppf(0.5 + confidence / 2)
        log_s = np.log(surv)
        sigma = np.sqrt(gw) / np.abs(log_s)
        low = surv ** np.exp(z * sigma)
        high = surv ** np.exp(-z * sigma)
    flat = (surv >= 1.0) | (surv <= 0.0) | ~np.isfinite(sigma)
    low = np.where(flat, surv, low)
    high = np.where(flat, surv, high)
    se = np.where(np.isfinite(se), se, 0.0)
    return pd.DataFrame(
        {"time": times, "at_risk": at_risk, "events": d, "censored": c, "survival": surv, "se": se,
         "low": low, "high": high}
    )


def median_survival(km: pd.DataFrame) -> Estimate:
    """Median survival time from a :func:`kaplan_meier` table, with the interval read off its band.

    Median = first time with S(t) <= 0.5; its bounds are the first times where the lower
    and the upper band fall to 0.5 (NaN when never reached). ``n`` is the number of subjects.
    """
    n = int(round(float(km["at_risk"].iloc[0]))) if len(km) else 0

    def first(col: str) -> float:
        hit = km.loc[km[col] <= 0.5, "time"]
        return float(hit.iloc[0]) if len(hit) else float("nan")

    return Estimate(first("survival"), first("low"), first("high"), n, "kaplan-meier")


def survival_at(km: pd.DataFrame, time: float) -> Estimate:
    """S(time) with its interval from a :func:`kaplan_meier` table (step function)."""
    n = int(round(float(km["at_risk"].iloc[0]))) if len(km) else 0
    before = km[km["time"] <= time]
    if before.empty:
        return Estimate(1.0, 1.0, 1.0, n, "kaplan-meier")
    r = before.iloc[-1]
    if time > km["time"].max():
        return Estimate(float("nan"), float("nan"), float("nan"), n, "kaplan-meier")
    return Estimate(float(r["survival"]), float(r["low"]), float(r["high"]), n, "kaplan-meier")


def survival_curves(lapses: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, pd.DataFrame]:
    """Kaplan–Meier tables from :func:`lapse_durations`: ``"all"`` and one per segment.

    Customers without follow-up (``followed`` False) are left out.
    """
    lapses = lapses[lapses["followed"]]
    if lapses.empty:
        raise DataError(
            "no customer has any follow-up before the lapse horizon (as_of − inactivity_days); "
            "use a later as_of or fewer inactivity_days"
        )
    out = {"all": kaplan_meier(lapses["duration_days"], lapses["lapsed"], weights=lapses["customers"],
                               confidence=confidence)}
    if "segment" in lapses.columns:
        sizes = lapses.groupby("segment")["customers"].sum().sort_values(ascending=False)
        for seg in sizes.index:
            g = lapses[lapses["segment"] == seg]
            out[str(seg)] = kaplan_meier(g["duration_days"], g["lapsed"], weights=g["customers"],
                                         confidence=confidence)
    return out


def survival_summary(lapses: pd.DataFrame, curves: dict[str, pd.DataFrame], *, at_days: int = 365) -> pd.DataFrame:
    """Per curve: customers, lapsed share (Wilson), median lifetime in days, S(at_days).

    ``customers`` and the lapsed share count every customer; the median, S(at_days) and
    ``one_day`` (1 − S(0): the share whose last purchase was on their first purchase day
    and who have lapsed since, with ``one_day_low`` and ``one_day_high``) come from the
    Kaplan–Meier curve (customers with follow-up).
    """
    rows = []
    for name, km in curves.items():
        g = lapses if name == "all" else lapses[lapses["segment"] == name]
        n = int(g["customers"].sum())
        k = int(g.loc[g["lapsed"], "customers"].sum())
        lo, hi = wilson_interval(k, n)
        med = median_survival(km)
        s = survival_at(km, at_days)
        s0 = survival_at(km, 0)
        rows.append({
            "group": name, "customers": n, "lapsed": k, "lapsed_share": k / n if n else np.nan,
            "lapsed_low": lo, "lapsed_high": hi,
            "median_days": med.value, "median_low": med.low, "median_high": med.high,
            f"survival_{at_days}d": s.value, f"survival_{at_days}d_low": s.low, f"survival_{at_days}d_high": s.high,
            "one_day": 1 - s0.value, "one_day_low": 1 - s0.high, "one_day_high": 1 - s0.low,
        })
    return pd.DataFrame(rows)
