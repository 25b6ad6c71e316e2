"""Product adoption and usage decline from the ``usage`` table (one row per use of a feature).

``quantity`` is how much of the feature was used (rows without one count 1). Adoption of a
feature = customers who used it / customers with any usage row; time to first use runs
from the customer's first purchase (its sign-up when it has bought nothing); a customer's
usage is *declining* when its last 30 days fall below half of its 30-day average over the
90 days before (:data:`RECENT_DAYS`, :data:`PRIOR_DAYS`).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ..engine import strip
from . import groups
from ._common import (
    DateLike,
    Metric,
    TableLike,
    add_segment,
    check_period,
    fill0,
    finish,
    period_start,
    timestamp_index,
    to_table,
    wilson,
    window,
    z_value,
)

__all__ = ["feature_rates", "time_to_first_use", "declining_share", "usage_trend", "median_interval",
           "RECENT_DAYS", "PRIOR_DAYS"]

RECENT_DAYS, PRIOR_DAYS = 30, 90


def _usage(usage: TableLike, start: DateLike, as_of: DateLike) -> ibis.Table:
    t = window(to_table(usage, "usage"), "timestamp", start=start, as_of=as_of)
    t = t.filter(t.customer_id.notnull() & t.feature.notnull())
    return t.mutate(feature=strip(t.feature), quantity=t.quantity.fill_null(1.0))


def feature_rates(
    usage: TableLike, *, period: str | None = None, start: DateLike = None, as_of: DateLike = None,
    confidence: float = 0.95, most: int | None = 20,
) -> pd.DataFrame:
    """Adoption rate per feature = customers who used it / customers with any usage row.

    Unit: fraction of using customers; Wilson interval. Every feature shares one
    denominator, so no feature is tested against the rest. Columns
    :data:`.groups.GROUP_COLUMNS` plus ``users`` and ``customers``, the most used first.
    ``period``: customers who used the feature in the period / customers with a usage row
    in it, per calendar period (:func:`.groups.per_period`).
    """
    t = _usage(usage, start, as_of).mutate(group=lambda x: x.feature)
    t, keys = groups.with_period(t, "timestamp", period)
    df = t.group_by(keys).aggregate(users=t.customer_id.nunique()).execute()
    if len(keys) > 1:
        tot = t.group_by("_pidx").aggregate(customers=t.customer_id.nunique()).execute()
        df = df.merge(tot, on="_pidx", how="left")
    else:
        df["customers"] = float(t.customer_id.nunique().execute() or 0)

    def make(d: pd.DataFrame) -> pd.DataFrame:
        out = groups.proportion_groups(d, "users", "customers", better="higher", confidence=confidence, most=None,
                                       test=False)
        out = out.sort_values(["users", "group"], ascending=[False, True], kind="stable").reset_index(drop=True)
        return (out.head(most) if most else out).drop(columns="method")

    return groups.per_period(df, make, period=period, as_of=as_of)


def median_interval(values: np.ndarray, weights: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Median and its distribution-free interval from a histogram (``values`` with counts ``weights``).

    The interval runs between the order statistics of ranks n/2 ∓ z·√n/2 (rounded
    outwards), the normal approximation to the binomial interval of a quantile
    (Conover 1999, *Practical Nonparametric Statistics*, §3.2).
    """
    z = z_value(confidence)
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    n = w.sum()
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    cum = np.cumsum(w)

    def at(rank: float) -> float:  # the value of the order statistic of 1-based rank
        return float(v[min(int(np.searchsorted(cum, max(rank, 1), side="left")), len(v) - 1)])

    med = (at(np.floor((n + 1) / 2)) + at(np.ceil((n + 1) / 2))) / 2
    lo_r, hi_r = np.floor(n / 2 - z * np.sqrt(n) / 2), np.ceil(1 + n / 2 + z * np.sqrt(n) / 2)
    return med, at(lo_r), at(min(hi_r, n))


def time_to_first_use(
    usage: TableLike, *, transactions: TableLike | None = None, customers: TableLike | None = None,
    as_of: DateLike = None, confidence: float = 0.95, most: int | None = 20,
) -> pd.DataFrame:
    """Median days from a customer's first purchase (else sign-up) to its first use of each feature.

    Days are whole days (first use minus start, rounded down); negative when the feature
    was used before the first purchase (a trial). Customers with neither a purchase nor a
    sign-up date are left out. The engine returns a histogram per feature (feature,
    days, customers); median and interval from :func:`median_interval`. Columns:
    group, value (days), low, high, n (customers).
    """
    t = _usage(usage, None, as_of)
    f = t.group_by(["customer_id", "feature"]).aggregate(_used=t.timestamp.min())
    starts = None
    if transactions is not None:
        x = window(to_table(transactions, "transactions"), "timestamp", as_of=as_of)
        x = x.filter((x.amount >= 0) & x.customer_id.notnull())
        starts = x.group_by(_scust=x.customer_id).aggregate(_bought=x.timestamp.min())
    if customers is not None:
        c = to_table(customers, "customers")
        su = c.group_by(_ccust=c.customer_id).aggregate(_signup=c.signup_at.min())
        f = f.left_join(su, f.customer_id == su._ccust)
    else:
        f = f.mutate(_signup=ibis.null("timestamp"))
    if starts is not None:
        f = f.left_join(starts, f.customer_id == starts._scust)
    else:
        f = f.mutate(_bought=ibis.null("timestamp"))
    f = f.mutate(_from=f._bought.fill_null(f._signup))
    f = f.filter(f._from.notnull())
    f = f.mutate(days=((f._used.epoch_seconds() - f._from.epoch_seconds()) / 86400).floor().cast("int64"))
    h = f.group_by(["feature", "days"]).aggregate(customers=f.count()).execute()
    rows = []
    for feat, g in h.groupby("feature", sort=True):
        med, lo, hi = median_interval(g["days"].to_numpy(), g["customers"].to_numpy(), confidence)
        rows.append({"group": feat, "value": med, "low": lo, "high": hi, "n": int(g["customers"].sum())})
    out = pd.DataFrame(rows, columns=["group", "value", "low", "high", "n"])
    out = out.sort_values(["n", "group"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return out.head(most) if most else out


def _per_customer(daily: ibis.Table, ends: ibis.Table) -> ibis.Table:
    """Usage in the last RECENT_DAYS and in the PRIOR_DAYS before them, per (end, customer)."""
    recent = pd.Timedelta(days=RECENT_DAYS).to_pytimedelta()
    whole = pd.Timedelta(days=RECENT_DAYS + PRIOR_DAYS).to_pytimedelta()
    j = daily.inner_join(ends, (daily.timestamp >= ends._end - whole) & (daily.timestamp < ends._end))
    is_recent = j.timestamp >= j._end - recent
    pc = j.group_by(["_pidx", "customer_id"]).aggregate(
        recent=j.quantity.sum(where=is_recent).fill_null(0.0),
        prior=j.quantity.sum(where=~is_recent).fill_null(0.0),
    )
    return pc.filter(pc.prior > 0).mutate(declining=pc.recent < 0.5 * pc.prior / (PRIOR_DAYS / RECENT_DAYS))


def _ends(t: ibis.Table, period: str | None, as_of: DateLike) -> pd.DataFrame:
    """The day after each measuring point: ``as_of`` (window) or each period's last day."""
    if period is None:
        end = pd.Timestamp(as_of).normalize() if as_of is not None else t.timestamp.max().execute()
        return pd.DataFrame({"_pidx": [0], "_end": [pd.Timestamp(end).normalize() + pd.Timedelta(days=1)]})
    lo, hi = t.timestamp.min().execute(), t.timestamp.max().execute()
    if lo is None or pd.isna(lo):
        return pd.DataFrame({"_pidx": pd.Series([], dtype="int64"), "_end": pd.Series([], dtype="datetime64[ns]")})
    last = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(hi)
    idx = np.arange(timestamp_index(lo, period), timestamp_index(last, period) + 1)
    end = period_start(idx + 1, period)
    cut = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    return pd.DataFrame({"_pidx": idx, "_end": np.minimum(end, cut)})


def declining_share(
    usage: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Declining share = customers whose usage in the last 30 days is below half of their
    30-day average over the 90 days before / customers with usage in those 90 days.

    Usage = Σ quantity. At ``as_of`` (inclusive) the last 30 days are
    [as_of − 29, as_of] and the 90 before them [as_of − 119, as_of − 30]; per period the
    same at the period's last day (or ``as_of`` for the unfinished last one). Declining
    when recent < 0.5 · prior / 3. Unit: fraction of customers; Wilson interval. Counts
    ``declining``, ``customers``. ``by``: a customer attribute.
    """
    period = check_period(period)
    t = _usage(usage, start, as_of)
    ends = ibis.memtable(_ends(t, period, as_of))
    daily = t.group_by(["customer_id", t.timestamp.truncate("D").name("timestamp")]).aggregate(
        quantity=t.quantity.sum())
    pc = _per_customer(daily, ends)
    keys = ["_pidx"] if period is not None else []
    if by is not None:
        pc = add_segment(pc, by, customers, table="usage", customer_level=True)
        keys.append("_seg")
    aggs = {"declining": pc.declining.sum(), "customers": pc.count()}
    df = (pc.group_by(keys).aggregate(**aggs) if keys else pc.aggregate(**aggs)).execute()
    if keys:
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    elif len(df) == 0:
        df = pd.DataFrame({"declining": [0], "customers": [0]})
    df = wilson(fill0(df, ["declining", "customers"]), "declining", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["declining", "customers"])


def usage_trend(usage: TableLike, *, cutoff: DateLike) -> ibis.Table:
    """Per customer at ``cutoff`` (inclusive): ``usage_trend`` = usage in the last 30 days /
    30-day average of the 90 days before (null without usage in those 90 days; below 0.5
    is declining in the sense of :func:`declining_share`). Columns customer_id, usage_trend.
    """
    t = _usage(usage, None, cutoff)
    ends = ibis.memtable(_ends(t, None, cutoff))
    daily = t.group_by(["customer_id", t.timestamp.truncate("D").name("timestamp")]).aggregate(
        quantity=t.quantity.sum())
    pc = _per_customer(daily, ends)
    return pc.select("customer_id", usage_trend=pc.recent / (pc.prior / (PRIOR_DAYS / RECENT_DAYS)))

