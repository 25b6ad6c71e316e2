"""The CLV analysis for subscriptions (``setting: contractual``): survivors per cohort and
period from ``signup_at`` and ``cancelled_at``, the shifted-beta-geometric model pooled over
cohorts (and per cohort), checked on held-out periods, projected retention, the expected
remaining lifetime (DERL) and discounted residual value of every active subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError
from .bgbb import parameter_draws
from .discrete import interval, per_occasion_rate
from .occasions import (
    check_occasion,
    last_complete_occasion,
    occasion_label,
    occasion_start,
    purchase_occasions,
    survivor_counts,
)
from .sbg import SBGModel, fit_sbg, fit_sbg_by_cohort, sbg_derl, sbg_retention_rate, sbg_survival

DEFAULT_PROJECTION = {"Y": 10, "Q": 20, "M": 36}


@dataclass
class ContractualAnalysis:
    """Everything the subscription CLV report shows (see :func:`analyse_contractual`)."""

    period: str
    last: int
    holdout_periods: int
    annual_discount_rate: float
    margin: float
    survivors: pd.DataFrame  # cohort, period, survivors (all periods)
    model: SBGModel  # fitted without the held-out periods
    model_full: SBGModel
    by_cohort: dict[Any, SBGModel | str]
    holdout: dict[str, Any]
    curve: pd.DataFrame  # period, observed (pooled), projected, low, high
    active: pd.DataFrame  # cohort, renewals, subscribers, derl, value
    value_per_period: float
    figures: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    setting = "contractual"

    def label(self, index: int) -> str:
        return occasion_label(index, self.period)

    def results(self) -> dict[str, Any]:
        """Flat dotted keys for results.json."""
        out: dict[str, Any] = {
            "period": self.period,
            "observation_end": occasion_start(self.last + 1, self.period).date().isoformat(),
            "customers": int(self.survivors.loc[self.survivors["period"] == 0, "survivors"].sum()),
            "cohorts": int(self.survivors["cohort"].nunique()),
        }
        for key, model in (("sbg", self.model), ("sbg_full", self.model_full)):
            d = model.to_dict()
            for k in ("params", "se", "log_likelihood", "customers", "at_boundary"):
                out[f"{key}.{k}"] = d[k]
        out["sbg_by_cohort"] = {
            self.label(c): (m.to_dict()["params"] if isinstance(m, SBGModel) else {"value": None, "reason": m})
            for c, m in self.by_cohort.items()
        }
        for k, v in self.holdout.items():
            out[f"holdout.{k}"] = v
        out["clv.annual_discount_rate"] = self.annual_discount_rate
        out["clv.margin"] = self.margin
        out["clv.customers"] = int(self.active["subscribers"].sum())
        out["clv.total"] = self.figures["total_value"]["value"]
        out["clv.mean"] = self.figures["value_per_subscriber"]["value"]
        out["clv.value_per_period"] = self.value_per_period
        for k, v in self.figures.items():
            out[f"figures.{k}"] = v
        return out


def _pooled_retention(survivors: pd.DataFrame) -> pd.DataFrame:
    """Observed retention at each decision t over the cohorts that reached it:
    Σ_c S_c(t) / Σ_c S_c(t−1), and the survival curve as its running product."""
    s = survivors.sort_values(["cohort", "period"]).copy()
    s["before"] = s.groupby("cohort")["survivors"].shift(1)
    g = s.dropna(subset=["before"]).groupby("period", as_index=False).agg(kept=("survivors", "sum"), before=("before", "sum"))
    g["retention"] = np.where(g["before"] > 0, g["kept"] / g["before"].where(g["before"] > 0, 1), np.nan)
    g["observed"] = np.cumprod(g["retention"].fillna(1.0))
    return pd.concat([pd.DataFrame({"period": [0], "observed": [1.0], "retention": [np.nan], "before": [np.nan]}), g],
                     ignore_index=True)[["period", "observed", "retention", "before"]]


def analyse_contractual(
    customers: Any,
    purchases: Any = None,
    *,
    as_of: Any,
    period: str = "M",
    holdout_periods: int | None = None,
    projection: int | None = None,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
) -> ContractualAnalysis:
    """Survivors, the sBG fit, its check on held-out periods, projections and DERL.

    Parameters
    ----------
    customers : ibis.Table or pandas.DataFrame
        ``customer_id``, ``signup_at``, ``cancelled_at`` (null while subscribed).
    purchases : ibis.Table or pandas.DataFrame, optional
        Payments (``customer_id``, ``timestamp``, ``amount``): the average payment per
        subscriber and period values the remaining lifetime; without them the value is
        ``{value: null, reason}``.
    as_of : date
        The last complete period up to it ends the observation.
    period : {"Y", "Q", "M"}
        Length of one renewal period.
    holdout_periods : int, optional
        Calendar periods held out for the check (default a quarter of the longest
        cohort's periods, at least 1).
    projection : int, optional
        Periods of the projected retention curve (default 10 years, 20 quarters, 36 months).
    annual_discount_rate, margin : float
        Yearly discount rate (converted per period) and the share of revenue that is profit.
    """
    per = check_occasion(period)
    last = last_complete_occasion(as_of, per)
    surv = survivor_counts(customers, per, as_of=as_of)
    longest = int(surv["period"].max())
    if longest < 2:
        raise ModelError(f"subscriptions: fewer than two complete renewal periods ({per}) observed up to {as_of}; "
                         "the model needs cohorts observed over at least two renewals")
    h = int(holdout_periods) if holdout_periods is not None else max(1, round(longest / 4))
    if h < 1 or h >= longest:
        raise ParameterError(f"holdout_periods must be between 1 and {longest - 1}; got {holdout_periods!r}")
    rate = per_occasion_rate(annual_discount_rate, per)
    proj = int(projection) if projection is not None else DEFAULT_PROJECTION[per]

    # calibration: each cohort's decisions in calendar periods up to last − h
    cal = surv[surv["cohort"] + surv["period"] - 1 <= last - h]
    cal = cal[cal.groupby("cohort")["period"].transform("max") >= 1]
    model = fit_sbg(cal)
    ends = surv.groupby("cohort")["period"].max()
    cal_ends = cal.groupby("cohort").agg(k=("period", "max"), s=("survivors", "last"))
    pred, act = 0.0, 0.0
    for c, row in cal_ends.iterrows():
        k_end = int(ends[c])
        ratio = float(sbg_survival(model.params_, k_end)) / float(sbg_survival(model.params_, int(row["k"])))
        pred += float(row["s"]) * ratio
        act += float(surv[(surv["cohort"] == c) & (surv["period"] == k_end)]["survivors"].iloc[0])
    holdout = {"periods": h, "actual_subscribers": act, "predicted_subscribers": pred,
               "error": (pred - act) / act if act else None, "cohorts": int(cal_ends.shape[0])}

    model_full = fit_sbg(surv)
    by_cohort = fit_sbg_by_cohort(surv)
    pooled = _pooled_retention(surv)
    t = np.arange(proj + 1)
    draws = parameter_draws(model_full)
    curves = np.array([np.asarray(sbg_survival(p, t), dtype=float) for p in draws])
    curve = pd.DataFrame({"period": t, "projected": np.asarray(sbg_survival(model_full.params_, t), dtype=float),
                          "low": np.quantile(curves, 0.025, axis=0), "high": np.quantile(curves, 0.975, axis=0)})
    curve = curve.merge(pooled[["period", "observed"]], on="period", how="left")
    curve["fitted_calibration"] = np.asarray(sbg_survival(model.params_, t), dtype=float)

    active = surv.sort_values(["cohort", "period"]).groupby("cohort").tail(1)
    active = active.rename(columns={"period": "renewals", "survivors": "subscribers"})
    active = active[active["subscribers"] > 0][["cohort", "renewals", "subscribers"]].reset_index(drop=True)
    value_per_period, value_reason = float("nan"), None
    if purchases is not None:
        po = purchase_occasions(purchases, per, last=last)
        agg = po.aggregate(total=po.amount.sum(), rows=po.count()).execute()
        rows = int(agg["rows"].iloc[0] or 0)
        if rows:
            value_per_period = float(agg["total"].iloc[0]) / rows * float(margin)
    if not np.isfinite(value_per_period):
        value_reason = "no payments in the transactions to value a period of subscription with"
    k = active["renewals"].to_numpy(float)
    n_sub = active["subscribers"].to_numpy(float)
    active["derl"] = np.asarray(sbg_derl(model_full.params_, k, rate), dtype=float)
    active["value"] = active["derl"] * value_per_period
    N = float(n_sub.sum())

    def stats(p: dict[str, float]) -> dict[str, float]:
        d = np.asarray(sbg_derl(p, k, rate), dtype=float)
        nxt = np.asarray(sbg_retention_rate(p, k + 1), dtype=float)
        return {
            "remaining_periods": float(np.sum(n_sub * d) / N) if N else float("nan"),
            "next_retention": float(np.sum(n_sub * nxt) / N) if N else float("nan"),
            "first_year_retention": float(sbg_survival(p, {"Y": 1, "Q": 4, "M": 12}[per])),
            "value_per_subscriber": float(np.sum(n_sub * d) / N * value_per_period) if N else float("nan"),
            "total_value": float(np.sum(n_sub * d) * value_per_period),
        }

    point = stats(model_full.params_)
    all_draws = [stats(p) for p in draws]
    figures = {key: interval(np.array([d[key] for d in all_draws]), point[key], int(N)) for key in point}
    if value_reason:
        for key in ("value_per_subscriber", "total_value"):
            figures[key] = {"value": None, "reason": value_reason}
    figures["active_subscribers"] = {"value": int(N), "low": int(N), "high": int(N), "n": int(N)}
    return ContractualAnalysis(
        period=per, last=last, holdout_periods=h, annual_discount_rate=float(annual_discount_rate), margin=float(margin),
        survivors=surv, model=model, model_full=model_full, by_cohort=by_cohort, holdout=holdout, curve=curve,
        active=active, value_per_period=value_per_period, figures=figures,
    )  # fmt: skip
