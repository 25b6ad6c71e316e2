"""Subscriber retention by sign-up cohort, from the survivor counts the subscription CLV uses.

When the customers table gives ``cancelled_at``, the cohort report shows how many of each
sign-up cohort are still subscribed, and the pooled share still subscribed k periods after
signing up. The counts are :func:`engage_kit.clv.occasions.survivor_counts`, the same ones
the shifted-beta-geometric model of ``clv_bgnbd`` (``setting: contractual``) is fitted on, so
both reports count the same subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..clv.occasions import OCCASIONS, occasion_label, survivor_counts
from ..errors import DataError
from ..stats import wilson_interval
from .survival import kaplan_meier

# the cohort report's periods that are renewal periods too; weeks are read as months
RENEWAL_PERIOD = {"M": "M", "Q": "Q", "W": "M"}
# the decisions the findings and results.json name: after 1, 3, 6 and 12 months (1, 2, 4 quarters)
NAMED = {"M": (1, 3, 6, 12), "Q": (1, 2, 4)}


@dataclass
class SubscriberRetention:
    """Survivors per sign-up cohort and renewal period, pooled into one curve.

    Attributes
    ----------
    period : "M" or "Q"
        The renewal period.
    survivors : DataFrame
        cohort (period index), period (0..K_c), survivors: :func:`survivor_counts`.
    curve : DataFrame
        period k, at_risk (subscribers entering renewal k, of the cohorts observed that far),
        still (of them, staying), share (product limit, :func:`pooled_curve`), low, high.
    by_cohort : DataFrame
        cohort (label), signed_up, still_subscribed, share, periods (complete periods since sign-up).
    """

    period: str
    survivors: pd.DataFrame
    curve: pd.DataFrame
    by_cohort: pd.DataFrame

    @property
    def unit(self) -> str:
        return OCCASIONS[self.period]

    def after(self, k: int) -> dict[str, Any]:
        """The pooled share still subscribed ``k`` periods after signing up, with its interval."""
        row = self.curve[self.curve["period"] == k]
        if row.empty:
            return {"value": None, "reason": f"no cohort has been followed for {k} {self.unit}s yet"}
        r = row.iloc[0]
        return {"value": float(r["share"]), "low": float(r["low"]), "high": float(r["high"]),
                "n": int(r["at_risk"])}

    def results(self) -> dict[str, Any]:
        """The figures for results.json (key ``subscriptions``)."""
        total, still = int(self.by_cohort["signed_up"].sum()), int(self.by_cohort["still_subscribed"].sum())
        after = {str(k): self.after(k) for k in NAMED[self.period]}
        return {
            "period": self.period,
            "customers": total,
            "still_subscribed": still,
            "share_still_subscribed": still / total if total else None,
            "cohorts": int(len(self.by_cohort)),
            "after": after,
            "loss": losses(after),
        }


def losses(after: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The first renewal's loss against the average loss per period after it.

    first = 1 − share(1); later = 1 − (share(k) / share(1))^(1/(k − 1)) with k the longest named
    decision observed (the geometric mean loss per period from decision 1 to k).
    """
    named = [(int(k), v["value"]) for k, v in after.items() if v.get("value") is not None]
    if not named or named[0][0] != 1 or len(named) < 2:
        return {"value": None, "reason": "no cohort followed for more than one renewal"}
    (_, s1), (k, sk) = named[0], named[-1]
    if s1 <= 0 or sk <= 0:
        return {"value": None, "reason": "no subscriber left to lose"}
    return {"first": 1 - s1, "later_per_period": 1 - (sk / s1) ** (1 / (k - 1)), "over": k}


def pooled_curve(survivors: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share still subscribed k periods after signing up, pooled over cohorts by the product limit.

    At each renewal decision j, the cohorts observed that far give the subscribers at risk
    n_j = Σ_c S_c(j − 1) and the ones who stay Σ_c S_c(j); share(k) = Π_{j ≤ k} Σ_c S_c(j) / n_j
    (:func:`~.survival.kaplan_meier`, each decision's cancellations its events and each
    cohort censored at its last observed decision, so a young cohort counts wherever it has
    been observed and the curve never rises). The band is Greenwood's variance on the
    log-log scale, as for the lapse curves of this report.
    """
    s = survivors.sort_values(["cohort", "period"])
    before = s.groupby("cohort")["survivors"].shift(1)
    moved = before.notna()
    last = s.groupby("cohort").tail(1)
    # cancellations at each observed decision are events, each cohort's last survivors are
    # censored there, and a row of no weight at sign-up gives the curve its start (share 1)
    km = kaplan_meier(
        np.r_[0.0, s.loc[moved, "period"].to_numpy(float), last["period"].to_numpy(float)],
        np.r_[True, np.ones(int(moved.sum()), dtype=bool), np.zeros(len(last), dtype=bool)],
        weights=np.r_[0.0, (before[moved] - s.loc[moved, "survivors"]).to_numpy(float),
                      last["survivors"].to_numpy(float)],
        confidence=confidence,
    )
    km = km[km["at_risk"] > 0]
    return pd.DataFrame({"period": km["time"].astype("int64"), "at_risk": km["at_risk"].astype("int64"),
                         "still": (km["at_risk"] - km["events"]).astype("int64"), "share": km["survival"],
                         "low": km["low"], "high": km["high"]}).reset_index(drop=True)


def subscriber_retention(customers: Any, period: str, *, as_of: Any, confidence: float = 0.95) -> SubscriberRetention | None:
    """:class:`SubscriberRetention` of a customers table with ``signup_at`` and ``cancelled_at``.

    None when the table has no ``cancelled_at`` column, none filled, or no sign-up before the
    last complete period (no subscription data to show). ``period`` is the cohort report's
    (W is read as M: renewals are monthly at the finest).
    """
    if customers is None:
        return None
    columns = set(customers.columns)
    if not {"signup_at", "cancelled_at"} <= columns:
        return None
    if int(customers.cancelled_at.notnull().sum().execute()) == 0:
        return None
    unit = RENEWAL_PERIOD[period]
    try:
        survivors = survivor_counts(customers, unit, as_of=as_of)
    except DataError:
        return None
    curve = pooled_curve(survivors, confidence=confidence)
    last = survivors.sort_values("period").groupby("cohort", sort=True).tail(1).set_index("cohort")
    size = survivors[survivors["period"] == 0].set_index("cohort")["survivors"]
    by_cohort = pd.DataFrame({
        "cohort": [occasion_label(int(c), unit) for c in size.index],
        "signed_up": size.to_numpy(dtype="int64"),
        "still_subscribed": last.loc[size.index, "survivors"].to_numpy(dtype="int64"),
        "periods": last.loc[size.index, "period"].to_numpy(dtype="int64"),
    })
    by_cohort["share"] = by_cohort["still_subscribed"] / by_cohort["signed_up"]
    return SubscriberRetention(period=unit, survivors=survivors, curve=curve, by_cohort=by_cohort)


def cancellations_by_period(survivors: pd.DataFrame, period: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """Subscribers in each calendar period (those signed up before it and not yet gone, and those
    signing up in it) and how many cancelled in it.

    Decision t of cohort c falls in calendar period c + t − 1: at_risk = Σ_c S_c(t − 1) and
    cancelled = Σ_c (S_c(t − 1) − S_c(t)) over the (c, t) of that period; rate = cancelled /
    at_risk with a Wilson interval. The same survivor counts as :func:`pooled_curve`, read by
    calendar period instead of by time since sign-up.
    """
    s = survivors.sort_values(["cohort", "period"]).copy()
    s["before"] = s.groupby("cohort")["survivors"].shift(1)
    s = s.dropna(subset=["before"])
    s["calendar"] = s["cohort"] + s["period"] - 1
    g = s.groupby("calendar", sort=True).agg(at_risk=("before", "sum"), staying=("survivors", "sum")).reset_index()
    g = g[g["at_risk"] > 0]
    out = pd.DataFrame({
        "period": [occasion_label(int(c), period) for c in g["calendar"]],
        "at_risk": g["at_risk"].to_numpy(dtype="int64"),
        "cancelled": (g["at_risk"] - g["staying"]).to_numpy(dtype="int64"),
    })
    out["rate"] = out["cancelled"] / out["at_risk"]
    lo, hi = wilson_interval(out["cancelled"].to_numpy(float), out["at_risk"].to_numpy(float), confidence=confidence)
    out["low"], out["high"] = np.asarray(lo, float), np.asarray(hi, float)
    return out


def recent_cancellation_rate(by_period: pd.DataFrame, *, periods: int = 12, confidence: float = 0.95) -> dict[str, Any]:
    """Cancellations per subscriber-period over the last ``periods`` calendar periods (pooled), with its interval."""
    last = by_period.tail(periods)
    n, k = int(last["at_risk"].sum()), int(last["cancelled"].sum())
    if n == 0:
        return {"value": None, "reason": "no subscriber was at risk of cancelling"}
    lo, hi = wilson_interval(float(k), float(n), confidence=confidence)
    return {"value": k / n, "low": float(lo), "high": float(hi), "n": n, "cancelled": k, "periods": int(len(last)),
            "from": str(last["period"].iloc[0]), "to": str(last["period"].iloc[-1])}
