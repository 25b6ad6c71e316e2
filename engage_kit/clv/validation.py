"""Holdout validation of the purchase models (Fader, Hardie and Lee 2005a, section 5).

Heavy counting runs in the engine; what comes back to pandas is one row per unique
(frequency, recency, T, holdout count) combination, per period or per first-purchase
day, and the model predictions are computed on those rows. Scores that depend on a
customer's own spend (the holdout value lift) are computed in the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..stats import Estimate, proportion, wilson_interval
from .models import BGNBDModel, TransactionModel
from .prep import as_date, as_table, days_per_unit, purchase_days

GROUP_KEYS = ["frequency", "recency", "T", "frequency_holdout"]


def holdout_groups(cal_holdout: Any) -> pd.DataFrame:
    """Unique (frequency, recency, T, frequency_holdout) rows with counts.

    Parameters
    ----------
    cal_holdout : ibis.Table or pandas.DataFrame
        Output of :func:`calibration_holdout`.

    Returns
    -------
    pandas.DataFrame
        The keys, ``weight`` (customers), ``amount_holdout`` (their summed holdout
        revenue) and ``duration_holdout``.
    """
    t = as_table(cal_holdout, name="cal_holdout", required=(*GROUP_KEYS, "amount_holdout", "duration_holdout"))
    g = t.group_by(GROUP_KEYS).aggregate(
        weight=t.count(), amount_holdout=t.amount_holdout.sum(), duration_holdout=t.duration_holdout.max()
    )
    df = g.execute()
    df["weight"] = df["weight"].astype("int64")
    return df.sort_values(GROUP_KEYS, kind="stable").reset_index(drop=True)


def _duration(groups: pd.DataFrame, duration: float | None) -> float:
    if duration is not None:
        return float(duration)
    return float(groups["duration_holdout"].max())


def add_predictions(groups: pd.DataFrame, model: TransactionModel, *, duration: float | None = None,
                    gamma_gamma: Any = None) -> pd.DataFrame:
    """Add ``predicted`` (expected holdout purchases), ``p_alive`` and, for BG/NBD,
    ``p_any`` (probability of at least one holdout purchase); with a Gamma-Gamma model
    also ``predicted_value`` (expected purchases × expected mean spend) when the rows
    carry ``monetary_value`` (grouped rows do not: see :func:`holdout_value_lift`)."""
    out = groups.copy()
    t = _duration(out, duration)
    x, tx, T = out["frequency"].to_numpy(float), out["recency"].to_numpy(float), out["T"].to_numpy(float)
    out["predicted"] = np.asarray(model.conditional_expected_purchases(t, x, tx, T), dtype=float)
    out["p_alive"] = np.asarray(model.p_alive(x, tx, T), dtype=float)
    if isinstance(model, BGNBDModel):
        out["p_any"] = 1 - np.asarray(model.prob_no_purchase(t, x, tx, T), dtype=float)
    if gamma_gamma is not None and "monetary_value" in out:
        value = np.asarray(gamma_gamma.expected_average_value(x, out["monetary_value"].to_numpy(float)), dtype=float)
        out["predicted_value"] = out["predicted"] * value
    return out


def holdout_summary(groups: pd.DataFrame, model: TransactionModel, *, duration: float | None = None) -> dict[str, float]:
    """Actual vs predicted holdout repeat transactions, and the per-customer MAE.

    actual = Σ distinct (customer, day) purchases in the holdout; predicted = Σ_i
    E[Y(t*) | x_i, t_x,i, T_i] with t* the holdout length (equation 10 of [1]);
    MAE = mean over customers of |actual_i − predicted_i|.
    """
    g = add_predictions(groups, model, duration=duration)
    w = g["weight"].to_numpy(float)
    actual = float((w * g["frequency_holdout"]).sum())
    predicted = float((w * g["predicted"]).sum())
    mae = float((w * (g["frequency_holdout"] - g["predicted"]).abs()).sum() / w.sum())
    rmse = float(math.sqrt((w * (g["frequency_holdout"] - g["predicted"]) ** 2).sum() / w.sum()))
    return {
        "customers": int(w.sum()),
        "actual_repeat_transactions": int(round(actual)),
        "predicted_repeat_transactions": predicted,
        "error": (predicted - actual) / actual if actual else float("nan"),
        "mae_per_customer": mae,
        "rmse_per_customer": rmse,
        "duration": _duration(groups, duration),
    }


def conditional_expectations(groups: pd.DataFrame, model: TransactionModel, *, duration: float | None = None,
                             max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (Figure 5 of [1]).

    Frequencies above ``max_frequency`` are pooled into one ``max_frequency+`` row.
    """
    g = add_predictions(groups, model, duration=duration)
    g["bin"] = np.minimum(g["frequency"], max_frequency).astype(int)
    g["w_actual"] = g["weight"] * g["frequency_holdout"]
    g["w_pred"] = g["weight"] * g["predicted"]
    agg = g.groupby("bin", as_index=False).agg(customers=("weight", "sum"), actual=("w_actual", "sum"), predicted=("w_pred", "sum"))
    agg["actual"] /= agg["customers"]
    agg["predicted"] /= agg["customers"]
    agg["frequency"] = [f"{b}+" if b == max_frequency else str(b) for b in agg["bin"]]
    return agg[["frequency", "customers", "actual", "predicted"]]


def frequency_histogram(summary: Any, model: BGNBDModel, *, max_frequency: int = 7) -> tuple[pd.DataFrame, dict[str, float]]:
    """Customers by calibration-period repeat purchases: actual vs BG/NBD (Figure 3 of [1]).

    expected(n) = Σ_i P(X(T_i) = n) (equation 8), with the last bin ``max_frequency+``
    taking the remaining probability. The chi-square statistic Σ (O − E)² / E has
    (bins − 1 − 4) degrees of freedom (four estimated parameters).

    Returns
    -------
    (DataFrame with frequency, actual, expected; dict with chi2, df, p_value)
    """
    t = as_table(summary, name="summary", required=("frequency", "T"))
    by_t = t.group_by("T").aggregate(n=t.count()).execute()
    t_vals, n_t = by_t["T"].to_numpy(float), by_t["n"].to_numpy(float)
    by_x = t.group_by("frequency").aggregate(n=t.count()).execute()
    actual = np.zeros(max_frequency + 1)
    for f, n in zip(by_x["frequency"], by_x["n"], strict=True):
        actual[min(int(f), max_frequency)] += n
    expected = np.zeros(max_frequency + 1)
    for k in range(max_frequency):
        expected[k] = float(np.sum(n_t * np.asarray(model.pmf(t_vals, k), dtype=float)))
    expected[max_frequency] = n_t.sum() - expected[:max_frequency].sum()
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    df = pd.DataFrame({"frequency": labels, "actual": actual, "expected": expected})
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.sum(np.where(expected > 0, (actual - expected) ** 2 / expected, 0.0)))
    dof = max(len(labels) - 1 - model.n_params, 1)
    return df, {"chi2": chi2, "df": dof, "p_value": float(stats.chi2.sf(chi2, dof))}


@dataclass
class TrackingCounts:
    """What the tracking table reads from the data, the same for every model: the customers
    acquired by the calibration end per first purchase day (``firsts``: first_day, n, by
    first_day) and their repeat purchase days per period from the first of those days
    (``per``: k, actual)."""

    firsts: pd.DataFrame
    per: pd.DataFrame
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    period_days: int


def tracking_counts(purchases: Any, *, calibration_end: Any, observation_end: Any, period_days: int = 7,
                    start: Any = None) -> TrackingCounts:
    """The data of :func:`tracking` (two engine queries), to share between models."""
    cal = as_date(calibration_end, "calibration_end")
    obs = as_date(observation_end, "observation_end")
    days = purchase_days(purchases, start=start, end=obs)
    w = ibis.window(group_by=days.customer_id)
    days = days.mutate(first_day=days.day.min().over(w))
    cohort = days.filter(days.first_day <= cal.date())
    first_rows = cohort.filter(cohort.day == cohort.first_day)
    firsts = first_rows.group_by("first_day").aggregate(n=first_rows.count()).order_by("first_day").execute()
    per = pd.DataFrame({"k": [], "actual": []})
    if not firsts.empty:
        origin = pd.Timestamp(firsts["first_day"].min())
        repeat = cohort.filter(cohort.day > cohort.first_day)
        idx = repeat.day.delta(ibis.date(origin.date()), unit="day") // period_days
        rk = repeat.mutate(k=idx)
        per = rk.group_by("k").aggregate(actual=rk.count()).execute()
    return TrackingCounts(firsts, per, cal, obs, period_days)


def tracking(purchases: Any, model: TransactionModel, *, calibration_end: Any, observation_end: Any,
             time_unit: str = "W", period_days: int = 7, start: Any = None,
             counts: TrackingCounts | None = None) -> pd.DataFrame:
    """Repeat transactions per period and cumulated: actual vs model (Figures 1-2 of [1]).

    The cohort is the customers whose first purchase is on or before ``calibration_end``.
    Expected cumulative repeat transactions at the end of day D:
    Σ_i E[X((D − first_i) / u)] (equation 9), summed over first-purchase days; the
    per-period figure is its increment. Periods of ``period_days`` days start at the
    first purchase day in the data.

    Returns
    -------
    pandas.DataFrame
        period (1, 2, ...), start, end (dates), actual, expected, cumulative_actual,
        cumulative_expected, holdout (True for periods after ``calibration_end``).

    ``counts``: the data part from :func:`tracking_counts` for the same arguments, when
    several models are tracked on the same purchases (the purchases are then not read).
    """
    unit = days_per_unit(time_unit)
    if counts is None:
        counts = tracking_counts(purchases, calibration_end=calibration_end, observation_end=observation_end,
                                 period_days=period_days, start=start)
    cal, obs, period_days = counts.calibration_end, counts.observation_end, counts.period_days
    firsts, per = counts.firsts, counts.per
    if firsts.empty:
        return pd.DataFrame(columns=["period", "start", "end", "actual", "expected", "cumulative_actual", "cumulative_expected", "holdout"])
    origin = pd.Timestamp(firsts["first_day"].min())
    n_periods = int(math.ceil(((obs - origin).days + 1) / period_days))
    k = np.arange(n_periods)
    starts = origin + pd.to_timedelta(k * period_days, unit="D")
    ends = np.minimum(starts + pd.Timedelta(days=period_days - 1), obs)
    ends = pd.DatetimeIndex(ends)
    first_off = (pd.to_datetime(firsts["first_day"]) - origin).dt.days.to_numpy(float)
    n_first = firsts["n"].to_numpy(float)
    end_off = (ends - origin).days.to_numpy(float)
    elapsed = np.maximum(end_off[:, None] - first_off[None, :], 0.0) / unit
    # whole days apart: a few hundred distinct values in a periods x first-days grid
    u_elapsed, e_inv = np.unique(elapsed, return_inverse=True)
    ex = np.asarray(model.expected_purchases(u_elapsed), dtype=float)
    cum_exp = (ex[e_inv.reshape(elapsed.shape)] * n_first).sum(axis=1)
    actual = np.zeros(n_periods)
    for kk, a in zip(per["k"], per["actual"], strict=True):
        if 0 <= int(kk) < n_periods:
            actual[int(kk)] += a
    return pd.DataFrame(
        {
            "period": k + 1,
            "start": starts,
            "end": ends,
            "actual": actual,
            "expected": np.diff(np.concatenate([[0.0], cum_exp])),
            "cumulative_actual": np.cumsum(actual),
            "cumulative_expected": cum_exp,
            "holdout": ends > cal,
        }
    )


def top_decile_lift(groups: pd.DataFrame, *, score: str = "predicted_value", actual: str = "amount_holdout",
                    share: float = 0.10) -> dict[str, float]:
    """Lift of the top ``share`` of customers ranked by ``score``: their share of the
    actual holdout ``actual`` divided by ``share`` (1 = no better than random).

    Works on grouped rows (``weight`` customers each, ``actual`` summed); a group that
    straddles the cut is split pro rata.
    """
    g = groups.sort_values(score, ascending=False, kind="stable")
    w = g["weight"].to_numpy(float)
    total_w = w.sum()
    cut = share * total_w
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    frac = np.clip((cut - before) / w, 0, 1)
    act = g[actual].to_numpy(float)
    total = act.sum()
    top = float((act * frac).sum())
    captured = top / total if total else float("nan")
    return {"share": share, "captured": captured, "lift": captured / share if total else float("nan"),
            "customers": int(round(cut))}


def holdout_value_lift(cal_holdout: Any, model: TransactionModel, gamma_gamma: Any = None, *,
                       duration: float | None = None, share: float = 0.10) -> dict[str, float]:
    """Top-decile lift of the predicted holdout value, computed in the engine.

    Each customer's score is E[Y(t*) | x, t_x, T] (the purchase model, evaluated on the
    unique (x, t_x, T) rows in Python and joined back) times E[Z | x, m̄] (Gamma-Gamma,
    a closed form evaluated in the engine; without it the score is the expected
    purchases). The top ``share`` of customers by score is compared with the rest by
    their actual holdout revenue, as :func:`top_decile_lift`; customers with equal scores
    that straddle the cut count pro rata. Only one row per unique (x, t_x, T) and the
    final sums cross between the engine and Python.

    Also returns the predicted and actual holdout revenue in total (``predicted_value``,
    ``actual_value``) and the relative error of the prediction (``value_error``).
    """
    from .value import expected_value_expr

    t = as_table(cal_holdout, name="cal_holdout",
                 required=("frequency", "recency", "T", "monetary_value", "amount_holdout", "duration_holdout"))
    keys = ["frequency", "recency", "T"]
    uniq = t.select(keys).distinct().execute()
    t_star = float(duration) if duration is not None else float(t.duration_holdout.max().execute())
    x, tx, TT = (uniq[k].to_numpy(float) for k in keys)
    uniq["_pred"] = np.asarray(model.conditional_expected_purchases(t_star, x, tx, TT), dtype=float)
    j = t.join(ibis.memtable(uniq), keys)
    score = j._pred * (expected_value_expr(j, gamma_gamma) if gamma_gamma is not None else 1.0)
    by = j.group_by(score.name("score")).aggregate(w=j.count(), act=j.amount_holdout.sum())
    w_total = by.w.sum()
    ranked = by.mutate(
        before=by.w.sum().over(ibis.window(order_by=ibis.desc(by.score), rows=(None, 0))) - by.w,
        cut=w_total.over(ibis.window()) * float(share),
    )
    frac = ((ranked.cut - ranked.before) / ranked.w).clip(lower=0.0, upper=1.0)
    row = ranked.aggregate(top=(ranked.act * frac).sum(), total=ranked.act.sum(), n=ranked.w.sum(),
                           predicted=(ranked.score * ranked.w).sum()).execute().iloc[0]
    total, top, n = float(row["total"] or 0.0), float(row["top"] or 0.0), float(row["n"] or 0.0)
    predicted = float(row["predicted"] or 0.0)
    captured = top / total if total else float("nan")
    return {"share": share, "captured": captured, "lift": captured / share if total else float("nan"),
            "customers": int(round(share * n)), "predicted_value": predicted, "actual_value": total,
            "value_error": (predicted - total) / total if total else float("nan")}


def p_alive_calibration(groups: pd.DataFrame, *, n_bins: int = 10) -> pd.DataFrame:
    """P(alive) at calibration end vs what happened in the holdout, in bins of P(alive).

    Per bin: customers, mean P(alive), the model's probability of at least one holdout
    purchase (``p_any``, when available) and the actual share with a holdout purchase
    with its Wilson interval. A calibrated model has the actual share close to ``p_any``
    (a customer can be alive and still not buy in a short holdout, so it is below P(alive)).
    """
    g = groups.copy()
    g["bin"] = np.minimum((g["p_alive"] * n_bins).astype(int), n_bins - 1)
    g["bought"] = (g["frequency_holdout"] > 0) * g["weight"]
    g["w_pa"] = g["p_alive"] * g["weight"]
    if "p_any" in g:
        g["w_pany"] = g["p_any"] * g["weight"]
    agg = g.groupby("bin", as_index=False).agg(
        customers=("weight", "sum"), bought=("bought", "sum"), w_pa=("w_pa", "sum"),
        **({"w_pany": ("w_pany", "sum")} if "p_any" in g else {}),
    )
    agg["p_alive_low"] = agg["bin"] / n_bins
    agg["p_alive_high"] = (agg["bin"] + 1) / n_bins
    agg["mean_p_alive"] = agg["w_pa"] / agg["customers"]
    if "w_pany" in agg:
        agg["model_share_buying"] = agg["w_pany"] / agg["customers"]
    agg["actual_share_buying"] = agg["bought"] / agg["customers"]
    lo, hi = wilson_interval(agg["bought"].to_numpy(float), agg["customers"].to_numpy(float))
    agg["actual_low"], agg["actual_high"] = lo, hi
    cols = ["p_alive_low", "p_alive_high", "customers", "mean_p_alive"]
    cols += ["model_share_buying"] if "model_share_buying" in agg else []
    return agg[cols + ["actual_share_buying", "actual_low", "actual_high"]]


def share_buying(groups: pd.DataFrame) -> Estimate:
    """Share of customers with at least one holdout purchase (Wilson interval)."""
    w = groups["weight"].to_numpy(float)
    return proportion(float(w[groups["frequency_holdout"].to_numpy() > 0].sum()), float(w.sum()))


def compare_models(models: dict[str, TransactionModel], groups: pd.DataFrame, *, duration: float | None = None,
                   tracks: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per model: parameters, log-likelihood, AIC, holdout totals, error and MAE.

    ``tracks`` (optional, from :func:`tracking`) adds the cumulative forecast at the
    last period and its error.
    """
    rows = []
    for key, m in models.items():
        h = holdout_summary(groups, m, duration=duration)
        row = {
            "model": m.name,
            "key": key,
            "parameters": ", ".join(f"{k}={v:.3f}" for k, v in m.params_.items()),
            "log_likelihood": m.log_likelihood_,
            "aic": m.aic_,
            "predicted_holdout": h["predicted_repeat_transactions"],
            "actual_holdout": h["actual_repeat_transactions"],
            "holdout_error": h["error"],
            "mae_per_customer": h["mae_per_customer"],
            "at_boundary": m.at_boundary,
        }
        if tracks and key in tracks and len(tracks[key]):
            last = tracks[key].iloc[-1]
            row["cumulative_forecast"] = float(last["cumulative_expected"])
            row["cumulative_actual"] = float(last["cumulative_actual"])
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        regular = df.loc[~df["at_boundary"], "aic"]
        df["delta_aic"] = df["aic"] - (regular.min() if len(regular) else df["aic"].min())
    return df


def preferred_model(comparison: pd.DataFrame) -> pd.Series:
    """The row of :func:`compare_models` to prefer: lowest AIC among fits not at a bound.

    A fit at the edge of its parameter space (``at_boundary``) is only preferred when
    every model is; its likelihood can be the highest precisely because a parameter ran off.
    """
    regular = comparison[~comparison["at_boundary"].astype(bool)] if "at_boundary" in comparison else comparison
    pool = regular if len(regular) else comparison
    return pool.sort_values("aic").iloc[0]


def p_alive_history(purchases: Any, customer_ids: list[str], model: TransactionModel, *, end: Any,
                    time_unit: str = "W", start: Any = None, step_days: int = 1) -> pd.DataFrame:
    """P(alive) over time for a few customers, re-evaluated at every ``step_days`` day.

    At each day D from the customer's first purchase to ``end``: x(D) = repeat purchase
    days on or before D, t_x = last purchase day on or before D minus the first, T = D
    minus the first (all in ``time_unit``); P(alive | x, t_x, T) from the model. (The
    lifetimes ``plot_history_alive`` helper does not run under pandas 3.)

    Returns
    -------
    pandas.DataFrame
        customer_id, date, p_alive, purchase (True on purchase days).
    """
    unit = days_per_unit(time_unit)
    end_ts = as_date(end, "end")
    ids = [str(c) for c in customer_ids]
    days = purchase_days(purchases, start=start, end=end_ts)
    sel = days.filter(days.customer_id.cast("string").isin(ids)).execute()
    frames = []
    for cid in ids:
        d = pd.to_datetime(sel.loc[sel["customer_id"].astype(str) == cid, "day"]).sort_values().to_numpy()
        if d.size == 0:
            continue
        first = pd.Timestamp(d[0])
        grid = pd.date_range(first, end_ts, freq=f"{int(step_days)}D")
        off_p = (pd.DatetimeIndex(d) - first).days.to_numpy(float)
        off_g = (grid - first).days.to_numpy(float)
        n_upto = np.searchsorted(off_p, off_g, side="right")  # purchase days on or before
        x = n_upto - 1
        tx = off_p[n_upto - 1]
        pa = np.asarray(model.p_alive(x.astype(float), tx / unit, off_g / unit), dtype=float)
        frames.append(pd.DataFrame({"customer_id": cid, "date": grid, "p_alive": pa,
                                    "purchase": np.isin(off_g, off_p)}))
    if not frames:
        return pd.DataFrame(columns=["customer_id", "date", "p_alive", "purchase"])
    return pd.concat(frames, ignore_index=True)
