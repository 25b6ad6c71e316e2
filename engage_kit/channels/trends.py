"""Each group's outcome rate by period, and who leads across the periods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import pandas as pd

from ..errors import ParameterError
from ..stats import wilson_interval
from .counts import EXPOSURE_EVENTS, PERIODS, Prepared, check_options, prepare, units_table
from .picks import pick


def group_trends(
    touches: Any,
    customers: Any = None,
    *,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    period: str = "M",
    campaign: str | Sequence[str] | None = None,
    exposure_events: Sequence[str] = EXPOSURE_EVENTS,
) -> pd.DataFrame:
    """Each group's outcome rate by period, with Wilson intervals.

    Comparing by a touches column with ``unit="customer"``: the units of a period are the
    customers exposed through the group in it, converting when they have an outcome event
    there in the same period. Comparing by a customer attribute with ``unit="customer"``:
    the units are the group's customers signed up by the period's end, converting when they
    have an outcome event in the period. With ``unit="customer_campaign"``: each pair in the
    period of its first exposure (or its campaign's start).

    Returns
    -------
    DataFrame
        group, period (start date), units, conversions, rate, rate_low, rate_high.
    """
    if period not in PERIODS:
        raise ParameterError(f"period must be one of W, M, Q; got '{period}'")
    check_options(unit=unit, alpha=0.05, correction="holm")
    prep = prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    return trends_from(prep, None, period=period, exposure_events=exposure_events)


def trends_from(prep: Prepared, units: ibis.Table | None, *, period: str, exposure_events: Sequence[str]) -> pd.DataFrame:
    """The rates of :func:`group_trends` from prepared touches (and their units, when already built)."""
    if units is None:
        units, _ = units_table(prep, exposure_events)
    t, key = prep.t, prep.key
    if prep.unit == "customer_campaign":
        u = units.mutate(period=units.start.truncate(period))
        df = u.group_by(["group", "period"]).aggregate(units=u.count(), conversions=u.outcome.cast("int64").sum()).execute()
    elif prep.mode == "touches":
        exposure = [e.lower() for e in exposure_events]
        t = t.mutate(period=t.timestamp.truncate(period))
        f = t.group_by(["group", "customer_id", "period"]).aggregate(
            exposed=t._event.isin(exposure).any(), outcome=(t._event == key).any()
        )
        f = f.filter(f.exposed)
        df = f.group_by(["group", "period"]).aggregate(units=f.count(), conversions=f.outcome.cast("int64").sum()).execute()
    else:
        cust = prep.customers
        o = t.filter(t._event == key)
        o = o.mutate(period=o.timestamp.truncate(period))
        o = o.join(cust, o.customer_id == cust.customer_id)
        conv = o.group_by(["group", "period"]).aggregate(conversions=o.customer_id.nunique()).execute()
        signup = cust.mutate(period=cust.signup_at.truncate(period))
        members = signup.group_by(["group", "period"]).aggregate(units=signup.count()).execute()
        periods = sorted(pd.to_datetime(conv["period"]).unique()) if len(conv) else []
        members["period"] = pd.to_datetime(members["period"])
        rows = []
        for g, sub in members.groupby("group", dropna=False, sort=False):
            always = int(sub.loc[sub["period"].isna(), "units"].sum())
            dated = sub.dropna(subset=["period"])
            for p in periods:
                rows.append({"group": g, "period": p, "units": always + int(dated.loc[dated["period"] <= p, "units"].sum())})
        df = pd.DataFrame(rows, columns=["group", "period", "units"])
        conv["period"] = pd.to_datetime(conv["period"])
        df = df.merge(conv, on=["group", "period"], how="left")
    df = df.dropna(subset=["period"]).copy()
    df["units"] = df["units"].astype("int64")
    df["conversions"] = df["conversions"].fillna(0).astype("int64")
    df["period"] = pd.to_datetime(df["period"])
    df = df[df["units"] > 0].sort_values(["group", "period"]).reset_index(drop=True)
    lo, hi = wilson_interval(df["conversions"].to_numpy(), df["units"].to_numpy())
    df["rate"] = df["conversions"] / df["units"]
    df["rate_low"], df["rate_high"] = lo, hi
    return df


def trend_leader(trends: pd.DataFrame, group: Any) -> tuple[int, int]:
    """In how many periods ``group`` has the highest rate, counting only the periods where
    every group has units (a period where a channel did not run says nothing about it).

    Returns (periods led, periods compared).
    """
    if trends is None or trends.empty:
        return 0, 0
    n_groups = trends["group"].nunique()
    live = trends[trends["units"] > 0]
    full = live.groupby("period")["group"].transform("nunique") == n_groups
    both = live[full]
    if both.empty:
        return 0, 0
    leaders = both.loc[both.groupby("period")["rate"].idxmax(), "group"]
    return int((leaders == group).sum()), int(leaders.size)


def trend_top_group(trends: pd.DataFrame | None) -> Any:
    """The group with the highest median rate across periods (None without trends)."""
    if trends is None or trends.empty:
        return None
    med = trends.groupby("group", sort=False)["rate"].median().reset_index()
    top = pick(med, "rate")
    return None if top is None else top.group
