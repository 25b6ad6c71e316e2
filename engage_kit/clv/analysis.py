"""The whole CLV analysis behind the ``clv_bgnbd`` report, as one call.

:func:`analyse` prepares the calibration/holdout split, fits the models, validates them
against the holdout, refits on the full period and scores every customer. The notebook
only calls it and draws the results; :meth:`CLVAnalysis.results` gives the figures of
``clv_bgnbd/results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import cache, training_cap
from ..errors import ModelError, ParameterError
from .models import (
    BGNBDModel,
    GammaGammaModel,
    TransactionModel,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_models,
    spend_independence,
)
from .prep import (
    as_date,
    as_table,
    calibration_holdout,
    compress,
    customer_summary,
    date_range,
    days_per_unit,
    default_calibration_end,
    iso,
)
from .story import boundary_parts
from .validation import (
    TrackingCounts,
    add_predictions,
    compare_models,
    conditional_expectations,
    frequency_histogram,
    holdout_groups,
    holdout_summary,
    holdout_value_lift,
    p_alive_calibration,
    share_buying,
    tracking,
    tracking_counts,
)
from .value import (
    SEGMENT_LABELS,
    assign_segments,
    rfm_scores,
    score_customers,
    segment_rfm_crosstab,
    segment_summary,
    top_customers,
)

CUSTOMER_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
                    "expected_avg_value", "clv", "segment"]
MODEL_KEYS = ("bgnbd", "pareto_nbd", "mbgnbd")
MIN_CUSTOMERS = 10
"""Fewer customers than this cannot identify the four parameters of a purchase model: the
report says so instead of drawing curves from a handful of people."""


@dataclass
class CLVAnalysis:
    """Everything the CLV report shows (see :func:`analyse`)."""

    time_unit: str
    first_day: pd.Timestamp
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    horizon: float
    annual_discount_rate: float
    margin: float
    cal_holdout: ibis.Table
    groups: pd.DataFrame
    models: dict[str, TransactionModel]
    model_errors: dict[str, str]
    bgnbd: BGNBDModel
    gamma_gamma: GammaGammaModel | None
    gamma_gamma_error: str | None
    holdout: dict[str, Any]
    histogram: pd.DataFrame
    chi2: dict[str, float]
    conditional: pd.DataFrame
    tracks: dict[str, pd.DataFrame]
    comparison: pd.DataFrame
    lift: dict[str, float]
    calibration: pd.DataFrame
    independence: dict[str, Any]
    full_summary: ibis.Table
    bgnbd_full: BGNBDModel
    gamma_gamma_full: GammaGammaModel | None
    gamma_gamma_full_error: str | None
    average_value: float
    scored: ibis.Table
    customer_stats: dict[str, float]
    clv_histogram: pd.DataFrame
    value_bands: pd.DataFrame
    segments: pd.DataFrame
    rfm_crosstab: pd.DataFrame
    top: pd.DataFrame
    tracking_counts: TrackingCounts | None = None  # the data of the tracking tables (and of the band)
    notes: list[str] = field(default_factory=list)  # plain sentences for the report's body
    method_notes: list[str] = field(default_factory=list)  # the same, with the method's words, for the appendix

    @property
    def unit_name(self) -> str:
        return "weeks" if self.time_unit == "W" else "days"

    @property
    def holdout_length(self) -> float:
        return (self.observation_end - self.calibration_end).days / days_per_unit(self.time_unit)

    @property
    def value_range(self) -> tuple[float, float]:
        """The expected value over the horizon at the accuracy seen on the holdout: the total
        CLV minus and plus the relative error of the holdout revenue forecast (NaN without it)."""
        err = self.lift.get("value_error", float("nan"))
        total = float(self.customer_stats["total"])
        if err is None or not np.isfinite(err):
            return float("nan"), float("nan")
        return total * max(1 - abs(err), 0.0), total * (1 + abs(err))

    def results(self) -> dict[str, Any]:
        """Flat dotted keys for ``ctx.write_results`` (results.json)."""
        out: dict[str, Any] = {
            "time_unit": self.time_unit,
            "calibration_end": iso(self.calibration_end),
            "observation_end": iso(self.observation_end),
            "customers": int(self.groups["weight"].sum()),
        }
        for key, model in (("bgnbd", self.bgnbd), ("bgnbd_full", self.bgnbd_full)):
            d = model.to_dict()
            for k in ("params", "se", "log_likelihood", "aic", "customers", "at_boundary"):
                out[f"{key}.{k}"] = d[k]
        for key, gg in (("gamma_gamma", self.gamma_gamma), ("gamma_gamma_full", self.gamma_gamma_full)):
            if gg is None:
                out[f"{key}.params"] = None
                out[f"{key}.customers"] = 0
                continue
            d = gg.to_dict()
            for k in ("params", "se", "log_likelihood", "customers"):
                out[f"{key}.{k}"] = d[k]
        h = self.holdout
        out["holdout.length"] = self.holdout_length
        out["holdout.actual_repeat_transactions"] = h["actual_repeat_transactions"]
        out["holdout.predicted_repeat_transactions"] = h["predicted_repeat_transactions"]
        out["holdout.error"] = h["error"]
        out["holdout.mae_per_customer"] = h["mae_per_customer"]
        out["holdout.share_buying"] = share_buying(self.groups)
        out["holdout.top_decile_lift"] = self.lift.get("lift")
        out["holdout.top_decile_captured"] = self.lift.get("captured")
        out["holdout.predicted_value"] = self.lift.get("predicted_value")
        out["holdout.actual_value"] = self.lift.get("actual_value")
        out["holdout.value_error"] = self.lift.get("value_error")
        out["holdout.chi2"] = self.chi2
        bg_track = self.tracks.get("bgnbd")
        if bg_track is not None and len(bg_track):
            last = bg_track.iloc[-1]
            out["holdout.cumulative_forecast"] = float(last["cumulative_expected"])
            out["holdout.cumulative_actual"] = float(last["cumulative_actual"])
        out["models"] = [
            {k: row[k] for k in ("key", "model", "log_likelihood", "aic", "predicted_holdout", "holdout_error", "mae_per_customer",
                                 "at_boundary")}
            for row in self.comparison.to_dict(orient="records")
        ]
        out["gamma_gamma.independence"] = self.independence
        c = self.customer_stats
        out["clv.horizon"] = self.horizon
        out["clv.annual_discount_rate"] = self.annual_discount_rate
        out["clv.margin"] = self.margin
        out["clv.customers"] = int(c["customers"])
        out["clv.total"] = c["total"]
        out["clv.mean"] = c["mean"]
        out["clv.median"] = c["median"]
        out["clv.expected_purchases"] = c["expected_purchases"]
        out["clv.mean_p_alive"] = c["mean_p_alive"]
        out["clv.top_share_of_clv"] = c["top_share_of_clv"]
        low, high = self.value_range
        out["clv.range_low"] = low
        out["clv.range_high"] = high
        out["segments"] = {
            row["segment"]: {"customers": int(row["customers"]), "share": float(row["share"]), "total_clv": float(row["total_clv"])}
            for row in self.segments.to_dict(orient="records")
        }
        # the value bands of the chart "what customers are worth" (shares as quoted under it)
        out["value_bands"] = [
            {"low": float(r.low), "high": None if pd.isna(r.high) else float(r.high), "customers": int(r.customers),
             "share": float(r.share), "share_of_value": float(r.share_of_value)}
            for r in self.value_bands.itertuples(index=False)
        ]
        seg = out["segments"]
        likely = sum(seg.get(k, {}).get("customers", 0) for k in ("champions", "active"))
        repeat = likely + sum(seg.get(k, {}).get("customers", 0) for k in ("at_risk", "lost"))
        # repeat buyers whose chance of still buying is 50% or more (the findings quote it)
        out["repeat_buyers.customers"] = repeat
        out["repeat_buyers.likely_still_buying"] = likely
        out["repeat_buyers.share_likely_still_buying"] = likely / repeat if repeat else None
        return out


def _check_models(models: Any) -> list[str]:
    if isinstance(models, str):
        models = [models]
    models = list(models or [])
    unknown = [m for m in models if m not in MODEL_KEYS]
    if unknown:
        from ..errors import did_you_mean

        raise ParameterError(
            "models: unknown model(s) " + ", ".join(f"'{m}'{did_you_mean(m, MODEL_KEYS)}" for m in unknown)
            + f"; choose from {', '.join(MODEL_KEYS)}"
        )
    return ["bgnbd"] + [m for m in models if m != "bgnbd"]


def analyse(
    purchases: Any,
    *,
    as_of: Any,
    calibration_end: Any = None,
    observation_end: Any = None,
    time_unit: str = "W",
    horizon: float = 52,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    penalizer: float = 0.0,
    models: Any = MODEL_KEYS,
    top_n: int = 20,
    max_training_rows: int | None = None,
) -> CLVAnalysis:
    """Run the CLV analysis: split, fit, validate, refit, score.

    Parameters
    ----------
    purchases : ibis.Table or pandas.DataFrame
        Orders with amount >= 0 (``ds.purchases``): customer_id, timestamp, amount.
    as_of : date
        The analysis date (inclusive); the default ``observation_end``.
    calibration_end : date, optional
        End of the calibration period (inclusive); None holds out the last quarter of
        [first purchase, observation_end].
    observation_end : date, optional
        End of the holdout and of the full period (inclusive); None = ``as_of``.
    time_unit : {"W", "D"}
        Time unit of the models (weeks = days / 7, unrounded).
    horizon : float
        CLV horizon in ``time_unit``.
    annual_discount_rate, margin, penalizer : float
        See :func:`score_customers` and :func:`fit_bgnbd`.
    models : list of str
        Purchase models to compare: "bgnbd" (always fitted), "pareto_nbd", "mbgnbd".
    top_n : int
        Length of the top-customer list.
    max_training_rows : int, optional
        The Gamma-Gamma fits use a random sample of at most this many repeat customers
        (drawn in the engine); default all on DuckDB, 200,000 on Spark. The purchase
        models always see every customer, as unique (frequency, recency, T) rows.
    """
    unit = str(time_unit).upper()
    days_per_unit(unit)
    model_keys = _check_models(models)
    if int(top_n) < 1:
        raise ParameterError(f"top_n must be a positive number of customers; got {top_n!r}")
    obs = as_date(observation_end if observation_end is not None else as_of, "observation_end")
    first, _last = date_range(purchases)
    cal = as_date(calibration_end, "calibration_end") if calibration_end is not None else default_calibration_end(first, obs)
    if cal < first:
        raise ParameterError(
            f"calibration_end ({cal.date()}) is before the first purchase ({first.date()}); choose a later date"
        )
    notes: list[str] = []

    # calibration / holdout
    ch = cache(calibration_holdout(purchases, calibration_end=cal, observation_end=obs, time_unit=unit))
    groups = holdout_groups(ch)
    comp = compress(groups)
    fitted: dict[str, TransactionModel] = {}
    errors: dict[str, str] = {}
    fitted["bgnbd"] = fit_bgnbd(comp, penalizer=penalizer)
    for key in model_keys[1:]:
        try:
            fitted.update(fit_models(comp, [key], penalizer=penalizer))
        except ModelError as e:
            errors[key] = str(e)
    bg = fitted["bgnbd"]  # type: ignore[assignment]
    gg: GammaGammaModel | None
    gg_err = None
    try:
        gg = fit_gamma_gamma(ch, penalizer=penalizer, max_rows=max_training_rows)
    except ModelError as e:
        gg, gg_err = None, str(e)
    duration = (obs - cal).days / days_per_unit(unit)
    holdout = holdout_summary(groups, bg, duration=duration)
    hist, chi2 = frequency_histogram(ch, bg)
    cond = conditional_expectations(groups, bg, duration=duration)
    counts = tracking_counts(purchases, calibration_end=cal, observation_end=obs)  # read once for every model
    tracks = {key: tracking(purchases, m, calibration_end=cal, observation_end=obs, time_unit=unit, counts=counts)
              for key, m in fitted.items()}
    comparison = compare_models(fitted, groups, duration=duration, tracks=tracks)
    pred = add_predictions(groups, bg, duration=duration)
    lift = holdout_value_lift(ch, bg, gg, duration=duration)
    # one-time buyers are alive by construction in BG/NBD: calibrate on repeat buyers
    calib = p_alive_calibration(pred[pred["frequency"] > 0] if (pred["frequency"] > 0).any() else pred)
    independence = spend_independence(ch)
    method: list[str] = []
    if not independence["ok"]:
        notes.append("Customers who buy more often also spend a different amount per purchase here, which the value "
                     "model assumes they do not: value forecasts for the most frequent buyers may be off.")
        method.append(
            f"Frequency and mean spend are correlated (r = {independence['correlation']:.2f}): the Gamma-Gamma "
            "model assumes they are independent, so value forecasts for very frequent buyers may be biased."
        )

    # full period: forward-looking figures
    full = cache(customer_summary(purchases, end=obs, time_unit=unit))
    bg_full = fit_bgnbd(full, penalizer=penalizer)
    gg_full_err = None
    try:
        gg_full: GammaGammaModel | None = fit_gamma_gamma(full, penalizer=penalizer, max_rows=max_training_rows)
    except ModelError as e:
        gg_full, gg_full_err = None, str(e)
    cap = training_cap(full, max_training_rows)
    if gg_full is not None and cap is not None and gg_full.n_customers_ >= cap:
        notes.append(f"The spend model learnt from a random sample of {gg_full.n_customers_:,} repeat customers; "
                     "every customer is valued.")
        method.append(f"The Gamma-Gamma spend model is fitted on a random sample of {gg_full.n_customers_:,} repeat "
                      "customers (the maximum number of training rows); CLV is computed for every customer.")
    boundary = boundary_parts(bg_full) or boundary_parts(bg)  # one note: the forward-looking fit's first
    if boundary:
        notes.append(boundary[0])
        method.append(boundary[1])
    avg_row = full.aggregate(total=full.total_amount.sum(), n=(full.frequency + 1).sum()).execute().iloc[0]
    average_value = float(avg_row["total"]) / max(float(avg_row["n"]), 1.0)
    if gg_full is None:
        notes.append("The spend model could not be fitted, so every purchase is valued at the average purchase "
                     "value of all customers.")
        method.append(f"The Gamma-Gamma spend model could not be fitted ({gg_full_err}); CLV uses the mean purchase value {average_value:,.2f} for every customer.")
    scored = score_customers(full, bg_full, gg_full, horizon=horizon, time_unit=unit,
                             annual_discount_rate=annual_discount_rate, margin=margin, average_value=average_value)
    scored = cache(assign_segments(rfm_scores(scored)))
    stats = customer_stats(scored)
    histogram = clv_histogram(scored)
    bands = value_bands(scored)
    segs = segment_summary(scored)
    cross = segment_rfm_crosstab(scored, score="r_score")
    top = top_customers(scored, int(top_n))
    return CLVAnalysis(
        time_unit=unit, first_day=first, calibration_end=cal, observation_end=obs, horizon=float(horizon),
        annual_discount_rate=float(annual_discount_rate), margin=float(margin), cal_holdout=ch, groups=groups,
        models=fitted, model_errors=errors, bgnbd=bg, gamma_gamma=gg, gamma_gamma_error=gg_err, holdout=holdout,
        histogram=hist, chi2=chi2, conditional=cond, tracks=tracks, comparison=comparison, lift=lift,
        calibration=calib, independence=independence, full_summary=full, bgnbd_full=bg_full,
        gamma_gamma_full=gg_full, gamma_gamma_full_error=gg_full_err, average_value=average_value, scored=scored,
        customer_stats=stats, clv_histogram=histogram, value_bands=bands, segments=segs, rfm_crosstab=cross, top=top, tracking_counts=counts, notes=notes,
        method_notes=method,
    )


# the headline figures of results.json that need the fitted models (DESIGN.md: a figure that
# cannot be computed is {"value": null, "reason": ...})
UNAVAILABLE_KEYS = (
    "customers", "clv.customers", "clv.total", "clv.mean", "clv.expected_purchases",
    "holdout.actual_repeat_transactions", "holdout.predicted_repeat_transactions", "holdout.error",
)


def analyse_or_reason(purchases: Any, **kwargs: Any) -> tuple[CLVAnalysis | None, str | None]:
    """:func:`analyse`, or ``(None, reason)`` when the data cannot support the models.

    Data too small or too short for BG/NBD (one customer, one day of purchases, no repeat
    purchase, a fit that runs off) raise :class:`~engage_kit.errors.ModelError`; a report
    then says why the analysis is skipped instead of failing. Invalid parameters still
    raise :class:`~engage_kit.errors.ParameterError`: they are checked before the data.

    Returns
    -------
    (CLVAnalysis, None) or (None, str)
    """
    try:
        a = analyse(purchases, **kwargs)
    except ModelError as e:
        return None, str(e)
    n = int(a.customer_stats.get("customers", MIN_CUSTOMERS))
    if n < MIN_CUSTOMERS:  # the fit ran, but a handful of people cannot identify its four parameters
        return None, (f"BG/NBD: only {n} customers in the data; the model describes how purchase rates and drop-out "
                      f"vary across customers and needs many (at least {MIN_CUSTOMERS} to run, hundreds to be useful)")
    return a, None


def unavailable_results(reason: str) -> dict[str, Any]:
    """results.json figures of a CLV analysis that could not run: each ``{value: null, reason}``,
    and ``not_applicable`` with the reason, so the index says the report does not apply."""
    # the index shows it: a reader's reason, without the advice to the analyst
    from .story import plain_reason

    return {**{key: {"value": None, "reason": reason} for key in UNAVAILABLE_KEYS}, "not_applicable": plain_reason(reason)}


def customers_table(a: CLVAnalysis) -> ibis.Table:
    """Every scored customer (the columns of ``customers.csv``), highest CLV first, in the engine."""
    return a.scored.select(*CUSTOMER_COLUMNS).order_by([ibis.desc("clv"), "customer_id"])


def customer_stats(scored: Any, *, top_share: float = 0.10) -> dict[str, float]:
    """Totals of the scored customers, from the engine: customers, total, mean and median
    CLV, expected purchases, mean P(alive), the share of CLV held by the top
    ``top_share`` of customers, the 99th percentile of frequency and the largest T."""
    t = as_table(scored, name="scored", required=("customer_id", "frequency", "T", "p_alive", "expected_purchases", "clv"))
    row = t.aggregate(
        customers=t.count(), total=t.clv.sum(), mean=t.clv.mean(), median=t.clv.median(),
        expected_purchases=t.expected_purchases.sum(), mean_p_alive=t.p_alive.mean(),
        frequency_p99=t.frequency.cast("float64").quantile(0.99), max_T=t["T"].max(),
    ).execute().iloc[0]
    n = int(row["customers"])
    out = {k: (float(v) if pd.notna(v) else float("nan")) for k, v in row.items() if k != "customers"}
    out["customers"] = n
    k = max(1, int(round(top_share * n)))
    top = t.order_by([ibis.desc("clv"), "customer_id"]).limit(k).clv.sum().execute() if n else 0.0
    out["top_share"] = float(top_share)
    out["top_share_of_clv"] = float(top) / out["total"] if n and out["total"] else float("nan")
    return out


def clv_histogram(scored: Any, *, bins: int = 40) -> pd.DataFrame:
    """Customers per log-spaced CLV bin (positive CLV only), counted in the engine.

    ``bins`` edges from max(smallest positive CLV, 0.01) to 1.01 × the largest; returns
    columns low, high, customers (one row per bin, empty bins included).
    """
    t = as_table(scored, name="scored", required=("clv",))
    rng = t.aggregate(lo=t.clv.min(where=t.clv > 0), hi=t.clv.max()).execute().iloc[0]
    if pd.isna(rng["lo"]):
        return pd.DataFrame({"low": [], "high": [], "customers": []})
    edges = np.logspace(np.log10(max(float(rng["lo"]), 1e-2)), np.log10(float(rng["hi"]) * 1.01), bins)
    lo, hi, k = float(np.log10(edges[0])), float(np.log10(edges[-1])), bins - 1
    v = t.filter((t.clv >= float(edges[0])) & (t.clv <= float(edges[-1])))
    idx = ((v.clv.log10() - lo) / (hi - lo) * k).floor().cast("int64").clip(lower=0, upper=k - 1)
    counts = v.group_by(idx.name("bin")).aggregate(customers=v.count()).execute()
    out = pd.DataFrame({"low": edges[:-1], "high": edges[1:], "customers": 0})
    out.loc[counts["bin"].to_numpy(int), "customers"] = counts["customers"].to_numpy(int)
    return out


def _nice_edges(low: float, high: float, *, max_bands: int = 8) -> list[float]:
    """Round band edges (1, 2, 5 × 10^k, or powers of ten when those are too many) from the
    first at or above ``low`` to the last at or below ``high``."""
    for steps in ((1, 2, 5), (1,)):
        nice = [m * 10.0 ** k for k in range(-2, 8) for m in steps]
        edges = [e for e in nice if low <= e <= high]
        if len(edges) + 1 <= max_bands:
            break
    if not edges:  # the values span less than one round step
        below = [e for e in nice if e <= high]
        edges = [below[-1]] if below else [nice[0]]
    return edges


def value_bands(scored: Any) -> pd.DataFrame:
    """Customers and predicted value per CLV band with round edges, counted in the engine.

    The first band starts at 0, the last is open ("or more"); edges are round numbers
    (:func:`_nice_edges`) between the 10th and the 99th percentile of CLV, at most 8 bands.
    Returns low, high (NaN for the open band), customers, value, share (of customers) and
    share_of_value.
    """
    t = as_table(scored, name="scored", required=("clv",))
    q = t.aggregate(p10=t.clv.quantile(0.10), p99=t.clv.quantile(0.99), n=t.count()).execute().iloc[0]
    cols = ["low", "high", "customers", "value", "share", "share_of_value"]
    if not int(q["n"]) or pd.isna(q["p99"]):
        return pd.DataFrame(columns=cols)
    edges = _nice_edges(float(q["p10"]), float(q["p99"]))
    band = ibis.cases(*((t.clv < e, i) for i, e in enumerate(edges)), else_=len(edges))
    counts = t.group_by(band.name("band")).aggregate(customers=t.count(), value=t.clv.sum()).execute()
    out = pd.DataFrame({"low": [0.0, *edges], "high": [*edges, np.nan]})
    counts = counts.set_index("band").reindex(range(len(out)), fill_value=0)
    out["customers"] = counts["customers"].to_numpy(int)
    out["value"] = counts["value"].to_numpy(float)
    out["share"] = out["customers"] / out["customers"].sum()
    total = out["value"].sum()
    out["share_of_value"] = out["value"] / total if total else np.nan
    return out[cols]


def example_customers(scored: Any, n: int = 3) -> list[str]:
    """A few customers worth showing in a P(alive) history, found in the engine: the most
    frequent buyer, a frequent buyer who has gone quiet (lowest P(alive) among
    frequency >= 3) and a typical repeat buyer (median frequency among repeat buyers).
    Ties go to the higher CLV, then the smaller customer id."""
    t = as_table(scored, name="scored", required=("customer_id", "frequency", "p_alive", "clv"))
    rep = t.filter(t.frequency > 0)
    tie = [ibis.desc("clv"), "customer_id"]
    first = rep.order_by([ibis.desc("frequency"), *tie]).limit(1).customer_id.execute()
    if first.empty:
        return []
    picks = [str(first.iloc[0])]
    quiet = rep.filter(rep.frequency >= 3).order_by(["p_alive", *tie]).limit(1).customer_id.execute()
    if len(quiet):
        picks.append(str(quiet.iloc[0]))
    med = float(rep.frequency.cast("float64").median().execute())
    typical = rep.mutate(_d=(rep.frequency.cast("float64") - med).abs())
    for cid in typical.order_by(["_d", *tie]).limit(len(picks) + 1).customer_id.execute().astype(str):
        if cid not in picks:
            picks.append(cid)
            break
    return picks[:n]


def example_rows(scored: Any, ids: list[str]) -> pd.DataFrame:
    """The scored rows of a few customers, in the order of ``ids``."""
    t = as_table(scored, name="scored", required=("customer_id",))
    rows = t.filter(t.customer_id.isin([str(i) for i in ids])).execute()
    return rows.set_index("customer_id").loc[[str(i) for i in ids]].reset_index()


def comparison_table(a: CLVAnalysis) -> pd.DataFrame:
    """The columns of the model comparison the report shows (the cumulative forecast when there is one)."""
    extra = ["cumulative_forecast"] if "cumulative_forecast" in a.comparison else []
    return a.comparison[["model", "parameters", "log_likelihood", "aic", "delta_aic", "predicted_holdout", "actual_holdout",
                         "holdout_error", "mae_per_customer"] + extra]


def segment_table(a: CLVAnalysis) -> pd.DataFrame:
    """The segment summary the report shows, each segment with its description (:data:`SEGMENT_LABELS`)."""
    seg = a.segments.assign(description=a.segments["segment"].map(SEGMENT_LABELS))
    return seg[["segment", "description", "customers", "share", "mean_frequency", "mean_p_alive", "mean_clv", "share_of_clv"]]


def example_table(a: CLVAnalysis, ids: list[str]) -> pd.DataFrame:
    """The example customers' scores, labelled "customer 1", "customer 2"... in the order of ``ids``."""
    rows = example_rows(a.scored, ids)[["customer_id", "frequency", "recency", "T", "p_alive", "clv"]]
    return rows.assign(example=[f"customer {i + 1}" for i in range(len(ids))])
