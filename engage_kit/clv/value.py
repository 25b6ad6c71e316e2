"""Customer lifetime value, per-customer scores, segments and RFM scores.

CLV here is the expected discounted margin of a customer's future purchases over a
finite horizon (Fader, Hardie and Lee 2005b, "RFM and CLV", JMR 42(4); discounting as in
Fader, Hardie and Lee 2005c, "Counting your customers one by one" for DERT):

    CLV_i = margin · E[Z | x_i, m̄_i] · Σ_k ΔE[Y]_i,k / (1 + d)^(τ_k)

where ΔE[Y]_i,k is the expected number of purchases in the k-th week of the horizon
(BG/NBD conditional expectation, equation 10 of 2005a), τ_k the middle of that week in
the data's time unit, d the discount rate per time unit converted from the annual rate,
(1 + d) = (1 + annual_discount_rate)^(days per unit / 365.25), and E[Z | x, m̄] the
Gamma-Gamma expected mean spend. The weekly grid is in calendar days, so daily and weekly
data give the same money. (lifetimes' ``customer_lifetime_value`` assumes daily units
whatever the data's unit; it is not used.)

Per-customer scores are computed once per unique (frequency, recency, T, monetary_value)
combination and joined back to the customers in the engine.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import cache
from ..errors import ParameterError
from .bgnbd import conditional_forecaster
from .models import BGNBDModel, GammaGammaModel, TransactionModel
from .prep import as_table, days_per_unit

SCORE_KEYS = ["frequency", "recency", "T", "monetary_value"]
PURCHASE_KEYS = ["frequency", "recency", "T"]
SEGMENTS = ["champions", "active", "at_risk", "lost", "one_time"]
SEGMENT_LABELS = {
    "champions": "Champions: likely alive, top predicted value",
    "active": "Active: likely alive, lower predicted value",
    "at_risk": "At risk: repeat buyers whose P(alive) is falling",
    "lost": "Lost: repeat buyers very likely gone",
    "one_time": "One-time buyers: no repeat purchase yet",
}
DAYS_PER_YEAR = 365.25


def discount_rate_per_unit(annual_discount_rate: float, time_unit: str = "W") -> float:
    """Discount rate per time unit: (1 + annual)^(days per unit / 365.25) − 1."""
    rate = float(annual_discount_rate)
    if not np.isfinite(rate) or rate <= -1:
        raise ParameterError(f"annual_discount_rate must be a fraction above -1 (0.10 for 10%); got {annual_discount_rate!r}")
    if rate > 1:
        raise ParameterError(f"annual_discount_rate is a fraction (0.10 for 10%); got {annual_discount_rate!r}")
    return (1 + rate) ** (days_per_unit(time_unit) / DAYS_PER_YEAR) - 1


def _check_horizon(horizon: float) -> float:
    try:
        h = float(horizon)
    except (TypeError, ValueError):
        raise ParameterError(f"horizon must be a positive number of time units; got {horizon!r}") from None
    if not np.isfinite(h) or h <= 0:
        raise ParameterError(f"horizon must be a positive number of time units; got {horizon!r}")
    return h


def discounted_expected_purchases(model: TransactionModel, frequency: Any, recency: Any, T: Any, *, horizon: float,
                                  time_unit: str = "W", annual_discount_rate: float = 0.10,
                                  step_days: float = 7.0) -> np.ndarray:
    """Σ_k [E(Y(b_k)) − E(Y(b_{k−1}))] / (1 + d)^((b_{k−1} + b_k)/2) over the horizon.

    b_k = min(k · step_days, horizon in days) converted to the time unit; E(Y(t)) is the
    model's conditional expected purchases in (T, T + t]; d the discount rate per time
    unit (:func:`discount_rate_per_unit`). With ``annual_discount_rate=0`` this is the
    expected number of purchases over the horizon.
    """
    h = _check_horizon(horizon)
    unit = days_per_unit(time_unit)
    d = discount_rate_per_unit(annual_discount_rate, time_unit)
    h_days = h * unit
    k = int(math.ceil(h_days / step_days - 1e-9))
    bounds = np.minimum(np.arange(k + 1) * step_days, h_days) / unit
    x, tx, TT = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T))
    forecast = conditional_forecaster(model, x, tx, TT)  # BG/NBD: per distinct (x, T)
    prev = np.zeros(x.shape)
    total = np.zeros(x.shape)
    for i in range(1, k + 1):
        cur = forecast(bounds[i])
        mid = 0.5 * (bounds[i - 1] + bounds[i])
        total += (cur - prev) / (1 + d) ** mid
        prev = cur
    return total


def _check_margin(margin: float) -> float:
    m_ = float(margin)
    if not np.isfinite(m_) or m_ < 0 or m_ > 1:
        raise ParameterError(f"margin is the share of revenue that is profit, between 0 and 1; got {margin!r}")
    return m_


def purchase_scores(model: TransactionModel, frequency: Any, recency: Any, T: Any, *, horizon: float,
                    time_unit: str = "W", annual_discount_rate: float = 0.10) -> pd.DataFrame:
    """The scores that depend on (frequency, recency, T) only: p_alive,
    expected_purchases (horizon, undiscounted), discounted_purchases and, for BG/NBD,
    prob_no_purchase over the horizon. Computed once per unique row."""
    h = _check_horizon(horizon)
    x, tx, TT = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T))
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": TT})
    out["p_alive"] = np.asarray(model.p_alive(x, tx, TT), dtype=float).reshape(x.shape)
    out["expected_purchases"] = np.asarray(model.conditional_expected_purchases(h, x, tx, TT), dtype=float).reshape(x.shape)
    if isinstance(model, BGNBDModel):
        out["prob_no_purchase"] = np.asarray(model.prob_no_purchase(h, x, tx, TT), dtype=float).reshape(x.shape)
    out["discounted_purchases"] = discounted_expected_purchases(
        model, x, tx, TT, horizon=h, time_unit=time_unit, annual_discount_rate=annual_discount_rate
    )
    return out


def expected_value_expr(t: ibis.Table, gamma_gamma: GammaGammaModel | None, average_value: float | None = None) -> ibis.Value:
    """E[Z | x, m̄] as an engine expression on a table with frequency and monetary_value.

    Gamma-Gamma: (γ + m̄x) p / (px + q − 1), equation (5) of Fader, Hardie and Lee's note
    025, as :meth:`GammaGammaModel.expected_average_value` (x = 0 gives the population
    mean); without the model, ``average_value`` for everyone.
    """
    if gamma_gamma is None:
        if average_value is None:
            raise ParameterError("clv needs a Gamma-Gamma model or an average_value per purchase")
        return ibis.literal(float(average_value), type="float64")
    p, q, g = (float(gamma_gamma.params_[k]) for k in gamma_gamma.param_names)
    x = t.frequency.cast("float64")
    m = ibis.ifelse(x > 0, t.monetary_value.cast("float64"), 0.0)
    return (g + m * x) * p / (p * x + (q - 1))


def clv_frame(model: TransactionModel, gamma_gamma: GammaGammaModel | None, frequency: Any, recency: Any, T: Any,
              monetary_value: Any, *, horizon: float, time_unit: str = "W", annual_discount_rate: float = 0.10,
              margin: float = 1.0, average_value: float | None = None) -> pd.DataFrame:
    """Scores for customers given as arrays: p_alive, expected_purchases (horizon,
    undiscounted), expected_avg_value, discounted_purchases, clv (discounted, × margin),
    and for BG/NBD prob_no_purchase over the horizon.

    Without a Gamma-Gamma model, ``average_value`` (e.g. the mean purchase amount) is
    used for every customer.
    """
    m_ = _check_margin(margin)
    x, tx, TT, mv = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T, monetary_value))
    if gamma_gamma is None and average_value is None:
        raise ParameterError("clv needs a Gamma-Gamma model or an average_value per purchase")
    base = purchase_scores(model, x, tx, TT, horizon=horizon, time_unit=time_unit, annual_discount_rate=annual_discount_rate)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": TT, "monetary_value": mv})
    for col in ("p_alive", "expected_purchases", "prob_no_purchase"):
        if col in base:
            out[col] = base[col].to_numpy()
    if gamma_gamma is not None:
        out["expected_avg_value"] = np.asarray(gamma_gamma.expected_average_value(x, mv), dtype=float).reshape(x.shape)
    else:
        out["expected_avg_value"] = float(average_value)
    out["discounted_purchases"] = base["discounted_purchases"].to_numpy()
    out["clv"] = m_ * out["expected_avg_value"] * out["discounted_purchases"]
    return out


def score_customers(summary: Any, model: TransactionModel, gamma_gamma: GammaGammaModel | None = None, *,
                    horizon: float, time_unit: str = "W", annual_discount_rate: float = 0.10, margin: float = 1.0,
                    average_value: float | None = None) -> Any:
    """Per-customer scores: the purchase model on unique (frequency, recency, T) rows,
    joined back to the customers in the engine for an Ibis table, where the spend model
    (a closed form, :func:`expected_value_expr`) and the CLV are computed per customer.

    Parameters
    ----------
    summary : ibis.Table or pandas.DataFrame
        Per-customer summary (:func:`customer_summary`) at the date the forecast starts.
    model, gamma_gamma :
        Fitted purchase and spend models (same time unit as ``summary``).
    horizon : float
        Forecast horizon in ``time_unit``.
    annual_discount_rate : float
        Yearly discount rate as a fraction (0.10 = 10%), converted to the time unit.
    margin : float
        Share of revenue that is profit (1.0 = CLV in revenue).

    Returns
    -------
    Same kind as ``summary``, with p_alive, expected_purchases, prob_no_purchase (BG/NBD),
    expected_avg_value, discounted_purchases and clv added.
    """
    kw = {"horizon": horizon, "time_unit": time_unit, "annual_discount_rate": annual_discount_rate,
          "margin": margin, "average_value": average_value}
    if isinstance(summary, pd.DataFrame):
        uniq = summary[SCORE_KEYS].drop_duplicates()
        scores = clv_frame(model, gamma_gamma, *(uniq[k] for k in SCORE_KEYS), **kw)
        return summary.merge(scores, on=SCORE_KEYS, how="left")
    m_ = _check_margin(margin)
    t = as_table(summary, name="summary", required=tuple(SCORE_KEYS))
    expected_value_expr(t, gamma_gamma, average_value)  # fails early without a value model
    # materialise once: sums of floats in a parallel engine can differ in the last bit
    # between runs, and the join back needs exactly the values that were scored
    t = cache(t)
    # only the unique (frequency, recency, T) rows leave the engine; spend is per customer
    uniq = t.select(PURCHASE_KEYS).distinct().execute()
    scores = purchase_scores(model, *(uniq[k] for k in PURCHASE_KEYS), horizon=horizon, time_unit=time_unit,
                             annual_discount_rate=annual_discount_rate)
    scores["frequency"] = scores["frequency"].astype("int64")
    j = t.join(ibis.memtable(scores), PURCHASE_KEYS)
    j = j.mutate(expected_avg_value=expected_value_expr(j, gamma_gamma, average_value))
    return j.mutate(clv=m_ * j.expected_avg_value * j.discounted_purchases)


def assign_segments(scored: Any, *, alive_threshold: float = 0.5, lost_threshold: float = 0.2,
                    top_share: float = 0.2) -> Any:
    """Segments from P(alive) and predicted value.

    - one_time: no repeat purchase yet (BG/NBD rates them alive by construction);
    - lost: P(alive) < ``lost_threshold``;
    - at_risk: ``lost_threshold`` <= P(alive) < ``alive_threshold``;
    - champions: P(alive) >= ``alive_threshold`` and CLV in the top ``top_share`` of all customers;
    - active: the other likely-alive repeat buyers.
    """
    if not 0 < lost_threshold <= alive_threshold < 1:
        raise ParameterError("segment thresholds must satisfy 0 < lost_threshold <= alive_threshold < 1")
    if isinstance(scored, pd.DataFrame):
        cut = float(scored["clv"].quantile(1 - top_share)) if len(scored) else 0.0
        pa, f, v = scored["p_alive"], scored["frequency"], scored["clv"]
        seg = np.select(
            [f == 0, pa < lost_threshold, pa < alive_threshold, v >= cut],
            ["one_time", "lost", "at_risk", "champions"],
            default="active",
        )
        return scored.assign(segment=seg)
    cut = float(scored.clv.quantile(1 - top_share).execute())
    seg = ibis.cases(
        (scored.frequency == 0, "one_time"),
        (scored.p_alive < lost_threshold, "lost"),
        (scored.p_alive < alive_threshold, "at_risk"),
        (scored.clv >= cut, "champions"),
        else_="active",
    )
    return scored.mutate(segment=seg)


def rfm_scores(summary: Any, *, bins: int = 5) -> Any:
    """Classic RFM scores: quintiles (1 = worst, 5 = best) of recency (time since the
    last purchase, T − recency, shorter is better), frequency (purchase days) and
    monetary value (total purchase amount), computed in the engine with NTILE.

    Ties are broken by customer_id, so equal values can fall into neighbouring scores.
    Adds r_score, f_score, m_score and rfm (e.g. "545").
    """
    if isinstance(summary, pd.DataFrame):
        df = summary.copy()
        n = len(df)

        def q(values: pd.Series, ascending: bool) -> np.ndarray:
            order = pd.DataFrame({"v": values.to_numpy(), "id": df["customer_id"].astype(str).to_numpy()})
            rank = order.sort_values(["v", "id"], ascending=[ascending, True], kind="stable").index.to_numpy()
            pos = np.empty(n, dtype=int)
            pos[rank] = np.arange(n)
            return (pos * bins // max(n, 1)) + 1

        df["r_score"] = q(df["T"] - df["recency"], False)
        df["f_score"] = q(df["frequency"], True)
        df["m_score"] = q(df["total_amount"], True)
        df["rfm"] = df["r_score"].astype(str) + df["f_score"].astype(str) + df["m_score"].astype(str)
        return df
    t = summary
    since = t["T"] - t.recency
    r = ibis.ntile(bins).over(order_by=[ibis.desc(since), t.customer_id]) + 1
    f = ibis.ntile(bins).over(order_by=[t.frequency, t.customer_id]) + 1
    m = ibis.ntile(bins).over(order_by=[t.total_amount, t.customer_id]) + 1
    t = t.mutate(r_score=r.cast("int64"), f_score=f.cast("int64"), m_score=m.cast("int64"))
    return t.mutate(rfm=t.r_score.cast("string") + t.f_score.cast("string") + t.m_score.cast("string"))


def segment_summary(scored: Any) -> pd.DataFrame:
    """Customers, share, mean P(alive), mean and total CLV per segment (engine aggregate)."""
    t = as_table(scored, name="scored", required=("segment", "p_alive", "clv"))
    agg = t.group_by("segment").aggregate(
        customers=t.count(), mean_p_alive=t.p_alive.mean(), mean_clv=t.clv.mean(), total_clv=t.clv.sum(),
        mean_frequency=t.frequency.mean(),
    ).execute()
    agg["share"] = agg["customers"] / agg["customers"].sum()
    total = agg["total_clv"].sum()
    agg["share_of_clv"] = agg["total_clv"] / total if total else np.nan
    order = {s: i for i, s in enumerate(SEGMENTS)}
    agg = agg.sort_values("segment", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return agg[["segment", "customers", "share", "mean_frequency", "mean_p_alive", "mean_clv", "total_clv", "share_of_clv"]]


def segment_rfm_crosstab(scored: Any, *, score: str = "r_score") -> pd.DataFrame:
    """Customers per model segment (rows) and RFM score (columns), computed in the engine."""
    t = as_table(scored, name="scored", required=("segment", score))
    c = t.group_by(["segment", score]).aggregate(n=t.count()).execute()
    tab = c.pivot_table(index="segment", columns=score, values="n", fill_value=0, aggfunc="sum")
    order = [s for s in SEGMENTS if s in tab.index]
    tab = tab.loc[order]
    tab.columns = [f"{score[0].upper()}={int(col)}" for col in tab.columns]
    return tab.astype(int)


def frequency_recency_matrix(model: TransactionModel, *, max_frequency: int, max_T: float, t: float | None = None,
                             what: str = "expected", n_recency: int = 40) -> pd.DataFrame:
    """Expected purchases in the next ``t`` units (``what="expected"``) or P(alive)
    (``what="p_alive"``) for a customer of age ``max_T`` by frequency (columns) and
    recency (rows, from ``max_T`` at the top down to 0). Frequency 0 has only recency 0.
    """
    if what not in ("expected", "p_alive"):
        raise ParameterError(f"what must be 'expected' or 'p_alive'; got {what!r}")
    rec = np.linspace(max_T, 0, n_recency)
    freq = np.arange(0, int(max_frequency) + 1)
    X, R = np.meshgrid(freq.astype(float), rec)
    TT = np.full_like(R, float(max_T))
    if what == "expected":
        if t is None:
            raise ParameterError("frequency_recency_matrix(what='expected') needs t, the future window")
        vals = np.asarray(model.conditional_expected_purchases(float(t), X, R, TT), dtype=float)
    else:
        vals = np.asarray(model.p_alive(X, R, TT), dtype=float)
    vals = np.where((X == 0) & (R > 0), np.nan, vals)
    return pd.DataFrame(vals, index=pd.Index(np.round(rec, 1), name="recency"), columns=pd.Index(freq, name="frequency"))


def top_customers(scored: Any, n: int = 20, *, by: str = "clv",
                  columns: tuple[str, ...] = ("customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                                              "expected_purchases", "expected_avg_value", "clv", "segment")) -> pd.DataFrame:
    """The ``n`` customers with the highest ``by`` (ordered in the engine)."""
    t = as_table(scored, name="scored", required=(by,))
    cols = [c for c in columns if c in t.columns]
    return t.order_by([ibis.desc(by), "customer_id"]).limit(int(n)).select(cols).execute()
