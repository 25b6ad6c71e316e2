"""The CLV analysis for fixed occasions (``setting: discrete``): BG/BB on the occasions a
customer bought in, checked on held-out occasions, refitted on all of them, every
customer scored on the unique (x, t_x, n) rows.

Intervals of derived figures come from parameter draws (the fit's asymptotic normal in
log space): 95% of the draws' figures lie between ``low`` and ``high``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError
from .bgbb import BGBBModel, fit_bgbb, parameter_draws
from .bgbb import bgbb_conditional_expected_purchases as cond_exp
from .bgbb import bgbb_discounted_expected_transactions as dert
from .bgbb import bgbb_expected_purchases as exp_new
from .bgbb import bgbb_p_alive as p_alive
from .occasions import (
    PER_YEAR,
    check_occasion,
    compressed_occasions,
    last_complete_occasion,
    occasion_label,
    occasion_start,
    occasion_summary,
    occasion_totals,
)

DEFAULT_HORIZON = {"Y": 5, "Q": 8, "M": 12}


def interval(values: np.ndarray, point: float, n: int) -> dict[str, Any]:
    """``{value, low, high, n}``: the point figure and the 2.5% and 97.5% quantiles of its
    draws (``low`` = ``high`` = value when there is one draw)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return {"value": float(point), "low": float(point), "high": float(point), "n": int(n)}
    return {"value": float(point), "low": float(np.quantile(v, 0.025)), "high": float(np.quantile(v, 0.975)), "n": int(n)}


def per_occasion_rate(annual_discount_rate: float, occasion: str) -> float:
    """(1 + r)^(1/k) − 1 with k occasions per year."""
    r = float(annual_discount_rate)
    if not np.isfinite(r) or r <= 0:
        raise ParameterError(f"annual_discount_rate must be a number > 0 (0.10 for 10%); got {annual_discount_rate!r}")
    return (1 + r) ** (1 / PER_YEAR[check_occasion(occasion)]) - 1


@dataclass
class DiscreteAnalysis:
    """Everything the fixed-occasion CLV report shows (see :func:`analyse_discrete`)."""

    occasion: str
    first_occasion: int
    calibration_last: int
    last: int
    horizon: int
    annual_discount_rate: float
    margin: float
    groups: pd.DataFrame  # calibration rows with holdout purchases
    model: BGBBModel
    model_full: BGBBModel
    holdout: dict[str, Any]
    by_frequency: pd.DataFrame
    tracking: pd.DataFrame
    scored: pd.DataFrame  # full-period unique rows, scored
    average_amount: float
    figures: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    setting = "discrete"

    @property
    def holdout_occasions(self) -> int:
        return self.last - self.calibration_last

    def label(self, index: int) -> str:
        return occasion_label(index, self.occasion)

    def results(self) -> dict[str, Any]:
        """Flat dotted keys for results.json."""
        f = self.figures
        out: dict[str, Any] = {
            "occasion": self.occasion,
            "first_occasion": self.label(self.first_occasion),
            "calibration_end": occasion_start(self.calibration_last + 1, self.occasion).date().isoformat(),
            "observation_end": occasion_start(self.last + 1, self.occasion).date().isoformat(),
            "customers": int(self.scored["weight"].sum()),
        }
        for key, model in (("bgbb", self.model), ("bgbb_full", self.model_full)):
            d = model.to_dict()
            for k in ("params", "se", "log_likelihood", "customers", "at_boundary"):
                out[f"{key}.{k}"] = d[k]
        for k, v in self.holdout.items():
            out[f"holdout.{k}"] = v
        out["clv.horizon"] = self.horizon
        out["clv.annual_discount_rate"] = self.annual_discount_rate
        out["clv.margin"] = self.margin
        out["clv.customers"] = int(self.scored["weight"].sum())
        out["clv.total"] = f["total_value"]["value"]
        out["clv.mean"] = f["value_per_customer"]["value"]
        out["clv.average_amount"] = self.average_amount
        for k, v in f.items():
            out[f"figures.{k}"] = v
        return out


def _score(params: dict[str, float], rows: pd.DataFrame, horizon: int, rate: float) -> dict[str, np.ndarray]:
    x, tx, n = (rows[c].to_numpy(float) for c in ("frequency", "recency", "n"))
    return {
        "p_alive": np.asarray(p_alive(params, x, tx, n), dtype=float),
        "expected": np.asarray(cond_exp(params, horizon, x, tx, n), dtype=float),
        "dert": np.asarray(dert(params, rate, x, tx, n), dtype=float),
    }


def _figures(model: BGBBModel, rows: pd.DataFrame, horizon: int, rate: float, amount: float) -> dict[str, dict[str, Any]]:
    w = rows["weight"].to_numpy(float)
    W = float(w.sum())
    repeat = rows["frequency"].to_numpy() > 0

    def stats(params: dict[str, float]) -> dict[str, float]:
        s = _score(params, rows, horizon, rate)
        return {
            "share_alive": float(np.sum(w * s["p_alive"]) / W),
            "share_alive_repeat": float(np.sum((w * s["p_alive"])[repeat]) / max(np.sum(w[repeat]), 1)),
            "expected_purchases": float(np.sum(w * s["expected"])),
            "purchases_per_customer": float(np.sum(w * s["expected"]) / W),
            "total_value": float(np.sum(w * s["dert"]) * amount),
            "value_per_customer": float(np.sum(w * s["dert"]) * amount / W),
        }

    point = stats(model.params_)
    draws = [stats(p) for p in parameter_draws(model)]
    return {k: interval(np.array([d[k] for d in draws]), point[k], int(W)) for k in point}


def _tracking(model: BGBBModel, purchases: Any, occ: str, rows: pd.DataFrame, *, first: int, last: int,
              calibration_last: int) -> pd.DataFrame:
    """Repeat buyers per occasion against the calibration model's expectation for every
    cohort: Σ_c N_c (E[X(t − c)] − E[X(t − c − 1)]) (equation 7 of Fader, Hardie and Shang 2010)."""
    totals = occasion_totals(purchases, occ, last=last)
    cohorts = rows.assign(cohort=last - rows["n"]).groupby("cohort")["weight"].sum()
    occs = np.arange(first, last + 1)
    expected = np.zeros(occs.size)
    for c, size in cohorts.items():
        k = occs - int(c)
        cum = np.asarray(exp_new(model.params_, np.maximum(k, 0)), dtype=float)
        prev = np.asarray(exp_new(model.params_, np.maximum(k - 1, 0)), dtype=float)
        expected += size * np.where(k > 0, cum - prev, 0.0)
    tr = pd.DataFrame({"occ": occs}).merge(totals, on="occ", how="left").fillna(0)
    return pd.DataFrame({
        "occasion": [occasion_label(o, occ) for o in occs],
        "actual": (tr["buyers"] - tr["new"]).to_numpy(float),
        "expected": expected,
        "holdout": occs > calibration_last,
    })


def analyse_discrete(
    purchases: Any,
    *,
    as_of: Any,
    occasion: str = "Y",
    holdout_occasions: int | None = None,
    horizon: int | None = None,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    penalizer: float = 0.0,
) -> DiscreteAnalysis:
    """Fit, check and score the BG/BB model on fixed occasions.

    Parameters
    ----------
    purchases : ibis.Table or pandas.DataFrame
        ``customer_id``, ``timestamp``, ``amount`` (e.g. ``ds.purchases``).
    as_of : date
        Analysis date: the last complete occasion up to it ends the observation.
    occasion : {"Y", "Q", "M"}
        Length of one occasion.
    holdout_occasions : int, optional
        Occasions held out for the check; default a quarter of the occasions (at least 1).
    horizon : int, optional
        Occasions ahead for expected purchases (default 5 years, 8 quarters or 12 months).
    annual_discount_rate, margin : float
        Yearly discount rate (converted per occasion) and the share of revenue that is profit.

    Raises
    ------
    ModelError
        When the data has fewer than three complete occasions or the model cannot be fitted.
    """
    occ = check_occasion(occasion)
    last = last_complete_occasion(as_of, occ)
    full = occasion_summary(purchases, occ, calibration_last=last, last=last)
    first = full.first.min().execute()
    if first is None or pd.isna(first) or last - int(first) < 2:
        raise ModelError(f"fixed occasions: fewer than three complete occasions ({occ}) of purchases up to {as_of}; "
                         "the model needs a first occasion and at least two after it")
    first = int(first)
    span = last - first
    h = int(holdout_occasions) if holdout_occasions is not None else max(1, round(span / 4))
    if h < 1 or h >= span:
        raise ParameterError(f"holdout_occasions must be between 1 and {span - 1}; got {holdout_occasions!r}")
    cal_last = last - h
    horizon = int(horizon) if horizon is not None else DEFAULT_HORIZON[occ]
    rate = per_occasion_rate(annual_discount_rate, occ)
    groups = compressed_occasions(occasion_summary(purchases, occ, calibration_last=cal_last, last=last))
    cal = groups.groupby(["frequency", "recency", "n"], as_index=False)["weight"].sum()
    model = fit_bgbb(cal, penalizer=penalizer)
    x, tx, n = (groups[c].to_numpy(float) for c in ("frequency", "recency", "n"))
    groups = groups.assign(predicted=np.asarray(cond_exp(model.params_, h, x, tx, n), dtype=float))
    w = groups["weight"].to_numpy(float)
    actual = float(np.sum(w * groups["holdout"]))
    predicted = float(np.sum(w * groups["predicted"]))
    holdout = {
        "occasions": h,
        "actual_purchases": actual,
        "predicted_purchases": predicted,
        "error": (predicted - actual) / actual if actual else None,
    }
    bf = groups.assign(a=w * groups["holdout"], p=w * groups["predicted"], freq=groups["frequency"].clip(upper=int(min(span, 7))))
    by_frequency = bf.groupby("freq", as_index=False).agg(customers=("weight", "sum"), actual=("a", "sum"), predicted=("p", "sum"))
    by_frequency["actual"] /= by_frequency["customers"]
    by_frequency["predicted"] /= by_frequency["customers"]
    by_frequency = by_frequency.rename(columns={"freq": "frequency"})

    rows = compressed_occasions(full)
    rows = rows.groupby(["frequency", "recency", "n"], as_index=False).agg(weight=("weight", "sum"), repeat_amount=("repeat_amount", "sum"))
    tracking = _tracking(model, purchases, occ, rows, first=first, last=last, calibration_last=cal_last)
    model_full = fit_bgbb(rows, penalizer=penalizer)
    repeat_occ = float(np.sum(rows["weight"] * rows["frequency"]))
    amount = float(rows["repeat_amount"].sum() / repeat_occ) * float(margin) if repeat_occ else float("nan")
    s = _score(model_full.params_, rows, horizon, rate)
    scored = rows.assign(p_alive=s["p_alive"], expected_purchases=s["expected"], dert=s["dert"], value=s["dert"] * amount)
    figures = _figures(model_full, rows, horizon, rate, amount)
    return DiscreteAnalysis(
        occasion=occ, first_occasion=first, calibration_last=cal_last, last=last, horizon=horizon,
        annual_discount_rate=float(annual_discount_rate), margin=float(margin), groups=groups, model=model,
        model_full=model_full, holdout=holdout, by_frequency=by_frequency, tracking=tracking, scored=scored,
        average_amount=amount, figures=figures,
    )  # fmt: skip
