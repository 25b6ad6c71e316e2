"""Time to convert: days from lead to first purchase and from first to repeat purchase.

Durations are whole calendar days, counted in the engine and grouped by (days, converted),
then estimated with Kaplan and Meier (1958) (:func:`engage_kit.cohorts.survival.kaplan_meier`,
Greenwood variance, log-log interval). People who have not converted by ``as_of`` are
censored at as_of. The curve shown is the share converted, 1 − S(t); the median time to
convert is the first day with S(t) <= 0.5, its interval read off the band
(:func:`engage_kit.cohorts.survival.median_survival`); when fewer than half convert within
the data, there is no median and the figure says why.

- lead → first purchase: people whose first contact came before their first purchase
  day (a lead, sign-up, touch or web session), from that first contact;
- first → repeat purchase: every customer, from the first purchase day to the first
  purchase on a later day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..cohorts.survival import kaplan_meier, median_survival
from ..stats import Estimate
from .people import day_number


@dataclass
class TimeToConvert:
    """One Kaplan–Meier estimate: the grouped durations, the curve, the median and counts."""

    durations: pd.DataFrame  # days, converted, people
    curve: pd.DataFrame | None
    median: Estimate | None
    people: int
    converted: int
    reason: str | None = None  # why there is no estimate (None: there is one)

    def median_dict(self) -> dict[str, Any]:
        """results.json ``median_days``: ``{value, low, high, n}`` or ``{value: null, reason}``."""
        if self.reason:
            return {"value": None, "reason": self.reason}
        if self.median is None or not np.isfinite(self.median.value):
            return {"value": None, "reason": "fewer than half have converted so far"}
        return self.median.to_dict()


def _grouped(start: ibis.Value, stop: ibis.Value, table: ibis.Table, as_of_day: int) -> pd.DataFrame:
    d0 = day_number(start)
    t = table.mutate(_d0=d0, _conv=stop.notnull(), _d1=ibis.coalesce(day_number(stop), ibis.literal(as_of_day)))
    t = t.mutate(days=(t._d1 - t._d0).cast("int64"))
    t = t.filter(t.days >= 0)
    df = t.group_by(["days", "_conv"]).aggregate(people=t.count()).execute()
    df = df.rename(columns={"_conv": "converted"})
    df["days"] = df["days"].astype("int64")
    df["converted"] = df["converted"].astype(bool)
    df["people"] = df["people"].astype("int64")
    return df.sort_values(["days", "converted"]).reset_index(drop=True)


def estimate(durations: pd.DataFrame, *, what: str) -> TimeToConvert:
    """Kaplan–Meier of grouped ``days, converted, people``; a reason instead when it cannot be estimated."""
    n = int(durations["people"].sum()) if len(durations) else 0
    k = int(durations.loc[durations["converted"], "people"].sum()) if n else 0
    if n == 0:
        return TimeToConvert(durations, None, None, 0, 0, f"nobody to follow from {what}")
    if k == 0:
        return TimeToConvert(durations, None, None, n, 0, "nobody has converted yet")
    km = kaplan_meier(durations["days"], durations["converted"], weights=durations["people"])
    return TimeToConvert(durations, km, median_survival(km), n, k)


def lead_to_purchase(stages: ibis.Table, as_of: pd.Timestamp) -> TimeToConvert:
    """Days from first contact to first purchase (see the module docstring)."""
    as_of_day = int((pd.Timestamp(as_of).normalize() - pd.Timestamp("1970-01-01")).days)
    s = stages.filter(stages.lead_at.notnull())
    s = s.filter(s.first_purchase_at.isnull() | (day_number(s.lead_at) < day_number(s.first_purchase_at)))
    return estimate(_grouped(s.lead_at, s.first_purchase_at, s, as_of_day), what="a first contact")


def first_to_repeat(stages: ibis.Table, as_of: pd.Timestamp) -> TimeToConvert:
    """Days from the first purchase to the first purchase on a later day."""
    as_of_day = int((pd.Timestamp(as_of).normalize() - pd.Timestamp("1970-01-01")).days)
    s = stages.filter(stages.first_purchase_at.notnull())
    return estimate(_grouped(s.first_purchase_at, s.repeat_purchase_at, s, as_of_day), what="a first purchase")


def median_of_counts(values: pd.Series, counts: pd.Series) -> float:
    """The median of values given with their counts (lower median at an even total); NaN when empty."""
    order = np.argsort(values.to_numpy(), kind="stable")
    v = values.to_numpy()[order]
    c = counts.to_numpy()[order]
    total = c.sum()
    if total <= 0:
        return float("nan")
    return float(v[np.searchsorted(np.cumsum(c), (total + 1) / 2)])
