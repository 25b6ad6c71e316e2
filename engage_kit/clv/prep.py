"""Per-customer summaries for the buy-till-you-die models, computed in the engine.

Conventions (Fader, Hardie and Lee 2005, "Counting your customers the easy way"):

- a purchase is an order with amount >= 0; purchases on the same calendar day are one
  transaction (amounts summed);
- ``frequency`` x is the number of repeat purchase days (purchase days minus one);
- ``recency`` t_x is the time from the first to the last purchase day;
- ``T`` is the time from the first purchase day to the end date (inclusive date);
- times are days (``time_unit="D"``) or days / 7 unrounded (``time_unit="W"``);
- ``monetary_value`` is the mean amount of the repeat purchase days (the first purchase
  excluded, as the Gamma-Gamma model expects), 0 when x = 0.

Counting distinct weeks instead of days divided by seven (lifetimes' ``freq="W"``) does
not reproduce the published CDNOW estimates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd

from .. import engine as eng
from ..errors import DataError, ModelError, ParameterError
from ..values import as_date

TIME_UNITS = {"D": 1.0, "W": 7.0}
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]


def days_per_unit(time_unit: str) -> float:
    """Days in one ``time_unit`` (D: 1, W: 7); a clear error for anything else."""
    unit = str(time_unit).upper()
    if unit not in TIME_UNITS:
        raise ParameterError(f"time_unit must be 'D' (days) or 'W' (weeks); got {time_unit!r}")
    return TIME_UNITS[unit]


def as_table(purchases: Any, *, name: str = "purchases", required: tuple[str, ...] = ("customer_id", "timestamp", "amount")) -> ibis.Table:
    """An Ibis table from an Ibis table or a pandas DataFrame, with the required columns."""
    return eng.as_table(purchases, name=name, required=required,
                        hint="Pass the dataset's purchases (ds.purchases) or a table with customer_id, timestamp, amount.")


def purchase_days(purchases: Any, *, start: Any = None, end: Any = None) -> ibis.Table:
    """One row per (customer, purchase day) with the day's summed amount.

    Parameters
    ----------
    purchases : ibis.Table or pandas.DataFrame
        Orders with ``customer_id``, ``timestamp``, ``amount``; rows with amount < 0
        (returns) are dropped.
    start, end : date, optional
        Keep purchase days in [start, end] (both inclusive).

    Returns
    -------
    ibis.Table
        customer_id, day (date), amount.
    """
    t = as_table(purchases)
    t = t.filter(t.amount >= 0, t.customer_id.notnull(), t.timestamp.notnull())
    day = t.timestamp.cast("timestamp").date()
    t = t.mutate(day=day)
    if start is not None:
        t = t.filter(t.day >= as_date(start, "start").date())
    if end is not None:
        t = t.filter(t.day <= as_date(end, "end").date())
    return t.group_by(["customer_id", "day"]).aggregate(amount=t.amount.sum())


def customer_summary(
    purchases: Any,
    *,
    end: Any,
    time_unit: str = "W",
    start: Any = None,
) -> ibis.Table:
    """Frequency, recency, T and monetary value per customer, computed in the engine.

    Parameters
    ----------
    purchases : ibis.Table or pandas.DataFrame
        Orders with ``customer_id``, ``timestamp``, ``amount`` (e.g. ``ds.purchases``).
        Rows with amount < 0 are ignored; purchases on one day are merged (amounts summed).
    end : date
        The end of the observation (inclusive): only purchases on or before ``end`` count,
        only customers whose first purchase is on or before ``end`` are kept, and ``T``
        runs to this date.
    time_unit : {"W", "D"}
        Unit of ``recency`` and ``T``: days / 7 unrounded (W) or days (D).
    start : date, optional
        Ignore purchases before this date (a customer's first purchase is then the first
        one on or after ``start``).

    Returns
    -------
    ibis.Table
        customer_id, frequency (repeat purchase days, int64), recency, T (in
        ``time_unit``), monetary_value (mean amount of the repeat purchase days; 0 when
        frequency is 0), first_purchase and last_purchase (dates), total_amount (all
        purchase days, the first included).

    Notes
    -----
    x = (number of purchase days) − 1, t_x = (last day − first day) / u,
    T = (end − first day) / u, with u = 7 for weeks (Fader, Hardie and Lee 2005, §5).
    """
    unit = days_per_unit(time_unit)
    end_ts = as_date(end, "end")
    days = purchase_days(purchases, start=start, end=end_ts)
    # one pass, no window: the first day's amount is the amount at the smallest day
    g = days.group_by("customer_id").aggregate(
        n_days=days.day.count(),
        first_purchase=days.day.min(),
        last_purchase=days.day.max(),
        total_amount=days.amount.sum(),
        first_amount=days.amount.argmin(days.day),
    )
    frequency = (g.n_days - 1).cast("int64")
    repeat_amount = g.total_amount - g.first_amount
    return g.select(
        customer_id=g.customer_id,
        frequency=frequency,
        recency=g.last_purchase.delta(g.first_purchase, unit="day").cast("float64") / unit,
        T=ibis.date(end_ts.date()).delta(g.first_purchase, unit="day").cast("float64") / unit,
        monetary_value=ibis.ifelse(frequency > 0, repeat_amount / frequency.cast("float64"), 0.0),
        first_purchase=g.first_purchase,
        last_purchase=g.last_purchase,
        total_amount=g.total_amount,
    )


def calibration_holdout(
    purchases: Any,
    *,
    calibration_end: Any,
    observation_end: Any,
    time_unit: str = "W",
    start: Any = None,
) -> ibis.Table:
    """Calibration summary joined with the holdout counts, computed in the engine.

    Parameters
    ----------
    purchases : ibis.Table or pandas.DataFrame
        Orders with customer_id, timestamp, amount.
    calibration_end : date
        Last day of the calibration period (inclusive). Customers whose first purchase
        is on or before it are kept; their T runs to this date.
    observation_end : date
        Last day of the holdout period (inclusive); the holdout is
        (calibration_end, observation_end].
    time_unit : {"W", "D"}
        Unit of recency, T and ``duration_holdout``.

    Returns
    -------
    ibis.Table
        The :func:`customer_summary` columns plus ``frequency_holdout`` (distinct purchase
        days in the holdout), ``monetary_value_holdout`` (their mean amount, 0 when none),
        ``amount_holdout`` (their total) and ``duration_holdout`` (holdout length).
    """
    unit = days_per_unit(time_unit)
    cal = as_date(calibration_end, "calibration_end")
    obs = as_date(observation_end, "observation_end")
    if obs <= cal:
        raise ParameterError(
            f"observation_end ({obs.date()}) must be after calibration_end ({cal.date()}): "
            "the holdout period is (calibration_end, observation_end]"
        )
    summary = customer_summary(purchases, end=cal, time_unit=time_unit, start=start)
    days = purchase_days(purchases, start=cal + pd.Timedelta(days=1), end=obs)
    hold = days.group_by("customer_id").aggregate(
        frequency_holdout=days.day.count().cast("int64"), amount_holdout=days.amount.sum()
    )
    j = summary.left_join(hold, summary.customer_id == hold.customer_id)
    n_h = j.frequency_holdout.fill_null(0)
    amt = j.amount_holdout.fill_null(0.0)
    cols = [c for c in summary.columns]
    return j.select(
        *[j[c] for c in cols],
        frequency_holdout=n_h,
        monetary_value_holdout=ibis.ifelse(n_h > 0, amt / n_h.cast("float64"), 0.0),
        amount_holdout=amt,
        duration_holdout=ibis.literal((obs - cal).days / unit),
    )


def default_calibration_end(first_day: Any, observation_end: Any, *, holdout_share: float = 0.25) -> pd.Timestamp:
    """Calibration end that holds out the last ``holdout_share`` of [first_day, observation_end]."""
    first = as_date(first_day, "first_day")
    obs = as_date(observation_end, "observation_end")
    span = (obs - first).days
    if span < 2:  # the data, not a parameter, are too short: a ModelError, so reports skip the analysis
        raise ModelError(
            f"the data cover {span + 1} day(s) ({first.date()} to {obs.date()}): too short to "
            "hold out a validation period; set calibration_end explicitly or use more data"
        )
    return first + pd.Timedelta(days=int(round(span * (1 - holdout_share))))


def compress(summary_df: pd.DataFrame, *, keys: tuple[str, ...] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Collapse identical (frequency, recency, T) rows into one with a ``weight`` count.

    The BG/NBD and Pareto/NBD likelihoods depend on a customer only through
    (x, t_x, T), so fitting the unique rows with their counts as weights gives the same
    parameters (Fader and Hardie fit their spreadsheet this way). An existing ``weight``
    column is summed.
    """
    if isinstance(summary_df, ibis.Table):
        t = summary_df
        agg = t.weight.sum() if "weight" in t.columns else t.count()
        return t.group_by(list(keys)).aggregate(weight=agg).order_by(list(keys)).execute()
    df = pd.DataFrame(summary_df)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise DataError(f"summary: column(s) {', '.join(missing)} missing; it has {', '.join(map(str, df.columns))}")
    if "weight" in df.columns:
        out = df.groupby(list(keys), sort=True, as_index=False)["weight"].sum()
    else:
        out = df.groupby(list(keys), sort=True, as_index=False).size().rename(columns={"size": "weight"})
    out["weight"] = out["weight"].astype("int64")
    return out.reset_index(drop=True)


def summary_arrays(summary: Any, *, keys: tuple[str, ...] = ("frequency", "recency", "T")) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Unique rows of ``summary`` as numpy arrays and their weights (compressing as needed)."""
    if isinstance(summary, ibis.Table):
        comp = compress(summary, keys=keys)
    else:
        df = pd.DataFrame(summary)
        comp = df if ("weight" in df.columns and not df.duplicated(list(keys)).any()) else compress(df, keys=keys)
    arrays = {k: comp[k].to_numpy(dtype=float) for k in keys}
    return arrays, comp["weight"].to_numpy(dtype=float)


def date_range(purchases: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last purchase day (amount >= 0) of a purchases table."""
    t = as_table(purchases)
    t = t.filter(t.amount >= 0)
    row = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max()).execute().iloc[0]
    if pd.isna(row["lo"]):
        raise DataError("purchases: no rows with amount >= 0, so there is nothing to model")
    return pd.Timestamp(row["lo"]).normalize(), pd.Timestamp(row["hi"]).normalize()


def iso(value: Any) -> str | None:
    """ISO date text of a date-like value (None stays None)."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return pd.Timestamp(value).date().isoformat()
