"""Retention KPIs: customer retention rate, churn rate, repeat purchase rate.

An *active* customer has bought (a transaction row with amount >= 0) within the trailing
``active_days``: at instant t, a purchase in [t − active_days, t). For a period
[a, b):

- S = customers active at its start a,
- E = customers active at its end b,
- N = new customers: first purchase ever inside [a, b).

Customer retention rate CRR = (E − N) / S (Kotler and Keller, *Marketing Management*;
the standard "CRR = ((E − N) / S) × 100" of engagement reporting). E − N counts the
customers active at the end who were not acquired in the period: those kept from S and
those reactivated, so CRR is not a proportion and may exceed 1; its interval is a
bootstrap over customers. Churn rate = 1 − CRR.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._common import (
    SEG,
    DateLike,
    Metric,
    TableLike,
    add_segment,
    aggregate,
    check_period,
    fill0,
    finish,
    last_complete_index,
    max_timestamp,
    multinomial_bootstrap,
    orders_table,
    period_index,
    period_start,
    timestamp_index,
    to_table,
    wilson,
    window,
)

__all__ = ["customer_retention_rate", "churn_rate", "retention_counts", "repeat_purchase_rate"]

_PATTERN_COLS = ["s", "e", "nw"]


def _check_days(active_days: int) -> int:
    try:
        d = int(active_days)
    except (TypeError, ValueError):
        d = 0
    if d < 1 or d != active_days:
        raise ParameterError(f"active_days must be a whole number of days >= 1 (e.g. 365); got {active_days!r}")
    return d


def _intervals(
    t: ibis.Table,
    *,
    period: str,
    as_of: pd.Timestamp,
    start: DateLike,
    end: DateLike,
    all_periods: bool,
) -> tuple[list[pd.Timestamp], list[int] | None]:
    """Boundaries b_0 < b_1 < ... of the intervals to report, and their period numbers."""
    if start is not None or end is not None:
        if start is None or end is None:
            raise ParameterError("give both start and end (inclusive) for a retention window, or neither")
        a = pd.Timestamp(start).normalize()
        b = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
        if b <= a:
            raise ParameterError(f"retention window: end ({end}) must not be before start ({start})")
        return [a, b], None
    last = last_complete_index(as_of, period)
    if all_periods:
        first_ts = t.timestamp.min().execute()
        if first_ts is None or pd.isna(first_ts):
            return [], []
        first = timestamp_index(first_ts, period) + 1  # the first period has nobody active at its start
        idx = list(range(first, timestamp_index(as_of, period) + 1))
    else:
        idx = [last]
    if not idx:
        return [], []
    bounds = list(period_start(idx + [idx[-1] + 1], period))
    return bounds, idx


def retention_counts(
    transactions: TableLike,
    *,
    period: str = "M",
    active_days: int = 365,
    as_of: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    all_periods: bool = False,
    by: str | None = None,
    customers: TableLike | None = None,
) -> pd.DataFrame:
    """Customers by retention pattern per interval: the counts behind CRR.

    One row per interval (and segment) and pattern (s, e, nw) with ``customers``, the
    number of customers with that pattern: s = active at the interval's start, e = active
    at its end, nw = first purchase inside it. Only customers with at least one flag
    appear. Column ``_k`` numbers the intervals (0 = first); for calendar periods
    ``attrs["periods"]`` lists their period numbers (:func:`._common.period_index`) and
    ``attrs["as_of"]`` the analysis date used.

    The heavy step runs in the engine: each purchase x (next purchase of the same
    customer y) makes its customer active at every boundary b with x < b <= min(y,
    x + active_days); these ranges do not overlap, so each (customer, boundary) pair
    is produced once.
    """
    period = check_period(period) or "M"
    days = _check_days(active_days)
    t = to_table(transactions, "transactions")
    t = t.filter(t.customer_id.notnull())
    empty = pd.DataFrame(columns=["_k", *([SEG] if by else []), *_PATTERN_COLS, "customers"])
    empty.attrs.update(periods=[], as_of=None)
    if as_of is None:
        as_of = max_timestamp(t, "timestamp")
        if as_of is None:
            return empty
    as_of = pd.Timestamp(as_of).normalize()
    t = window(t, "timestamp", as_of=as_of)
    bounds, idx = _intervals(t, period=period, as_of=as_of, start=start, end=end, all_periods=all_periods)
    empty.attrs.update(periods=idx, as_of=as_of)
    if len(bounds) < 2:
        return empty
    p = t.filter(t.amount >= 0).select("customer_id", "timestamp").distinct()
    w = ibis.window(group_by="customer_id", order_by="timestamp")
    reach = p.timestamp + ibis.interval(days=days)
    p = p.mutate(upper=ibis.least(p.timestamp.lead().over(w).fill_null(reach), reach))
    bdf = pd.DataFrame({"_b": pd.DatetimeIndex(bounds).astype("datetime64[us]"), "_bk": np.arange(len(bounds))})
    B = ibis.memtable(bdf)
    K = len(bounds) - 1
    active = p.join(B, [B._b > p.timestamp, B._b <= p.upper]).select("customer_id", "_bk")
    s_rows = active.filter(active._bk < K).select(
        "customer_id", _k=active._bk, s=ibis.literal(1), e=ibis.literal(0), nw=ibis.literal(0)
    )
    e_rows = active.filter(active._bk >= 1).select(
        "customer_id", _k=active._bk - 1, s=ibis.literal(0), e=ibis.literal(1), nw=ibis.literal(0)
    )
    first = p.group_by("customer_id").aggregate(f=p.timestamp.min())
    spans = ibis.memtable(pd.DataFrame({"_lo": bdf._b[:-1].to_numpy(), "_hi": bdf._b[1:].to_numpy(), "_ik": np.arange(K)}))
    n_rows = first.join(spans, [first.f >= spans._lo, first.f < spans._hi]).select(
        "customer_id", _k=spans._ik, s=ibis.literal(0), e=ibis.literal(0), nw=ibis.literal(1)
    )
    u = s_rows.union(e_rows, distinct=False).union(n_rows, distinct=False)
    per = u.group_by(["customer_id", "_k"]).aggregate(s=u.s.max(), e=u.e.max(), nw=u.nw.max())
    keys = ["_k"]
    if by is not None:
        per = add_segment(per, by, customers, table="transactions", customer_level=True)
        keys.append(SEG)
    out = per.group_by([*keys, *_PATTERN_COLS]).aggregate(customers=per.count()).execute()
    out = out.sort_values([*keys, *_PATTERN_COLS], kind="stable").reset_index(drop=True)
    out.attrs.update(periods=idx, as_of=as_of)
    return out


def customer_retention_rate(
    transactions: TableLike,
    *,
    period: str = "M",
    active_days: int = 365,
    as_of: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    all_periods: bool = False,
    by: str | None = None,
    customers: TableLike | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    random_state: int = 0,
) -> Metric | pd.DataFrame:
    """Customer retention rate CRR = (E − N) / S for a period.

    S = customers active at the start of the period, E = active at its end, N = new
    customers (first purchase inside the period); *active* = bought (amount >= 0) within
    the trailing ``active_days``. Unit: fraction of S (may exceed 1 when reactivated
    customers outnumber those lost).

    Interval: percentile bootstrap over customers (every customer with s, e or n),
    run on the counts of the (s, e, n) patterns (:func:`._common.multinomial_bootstrap`),
    since (E − N) / S is not a simple proportion.

    Parameters
    ----------
    transactions : Ibis table or DataFrame
        Canonical transactions (customer_id, timestamp, amount).
    period : {"W", "M", "Q"}
        Calendar period length.
    active_days : int
        Trailing window that makes a customer active, in days.
    as_of : date, optional
        Inclusive analysis date; default the last transaction date.
    start, end : date, optional
        An explicit window [start, end] (both inclusive) instead of calendar periods.
    all_periods : bool
        False (default): the last complete period before ``as_of``. True: every period
        from the second period of the data to the one holding ``as_of`` (a DataFrame;
        ``complete`` marks the finished ones).
    by : str, optional
        Customer attribute to split by (a column of ``customers``).
    customers : Ibis table or DataFrame, optional
        Customers table, needed with ``by``.
    confidence : float
        Interval level.
    n_boot, random_state : int
        Bootstrap replicates and seed.

    Returns
    -------
    Metric or DataFrame
        One Metric (counts S, E, N, retained = E − N) for a single interval without
        ``by``; otherwise one row per period and/or segment with S, E, N, value, low,
        high, n (= S).
    """
    pc = retention_counts(
        transactions, period=period, active_days=active_days, as_of=as_of, start=start,
        end=end, all_periods=all_periods, by=by, customers=customers,
    )
    period = check_period(period) or "M"
    keys = ["_k"] + ([SEG] if by is not None else [])
    counts = ["S", "E", "N", "retained"]
    rows = []
    for key, g in (pc.groupby(keys, sort=True) if len(pc) else []):
        c = g["customers"].to_numpy(dtype=float)
        s, e, nw = (g[x].to_numpy(dtype=float) for x in _PATTERN_COLS)
        S, E, N = float(c @ s), float(c @ e), float(c @ nw)

        def stat(reps: np.ndarray, s=s, e=e, nw=nw) -> np.ndarray:
            return (reps @ e - reps @ nw) / (reps @ s)

        lo, hi = multinomial_bootstrap(c, stat, n_boot=n_boot, confidence=confidence, random_state=random_state)
        ok = S > 0
        rows.append({**dict(zip(keys, key, strict=True)), "S": S, "E": E, "N": N, "retained": E - N,
                     "value": (E - N) / S if ok else np.nan, "low": lo if ok else np.nan,
                     "high": hi if ok else np.nan, "n": int(S), "method": "bootstrap"})
    df = pd.DataFrame(rows, columns=[*keys, *counts, "value", "low", "high", "n", "method"])
    periods = pc.attrs.get("periods")
    if all_periods and periods is not None:  # a table, also when no period has started yet (one day of data)
        if by is None:  # periods without any active or new customer still get a row
            df = pd.DataFrame({"_k": range(len(periods))}).merge(df, on="_k", how="left")
            df = fill0(df, counts)
            df["n"] = df["n"].fillna(0)
            df["method"] = "bootstrap"
        df["_pidx"] = np.asarray(periods)[df["_k"].astype(int).to_numpy()]
        return finish(df.drop(columns="_k"), ["_pidx"] + keys[1:], by=by, period=period,
                      as_of=pc.attrs["as_of"], counts=counts)
    if by is None and df.empty:
        return Metric(float("nan"), float("nan"), float("nan"), 0, "bootstrap", dict.fromkeys(counts, 0))
    return finish(df.drop(columns="_k"), keys[1:], by=by, period=None, as_of=None, counts=counts)


def churn_rate(transactions: TableLike, **kwargs) -> Metric | pd.DataFrame:
    """Churn rate = 1 − CRR, with the interval (1 − high, 1 − low) of CRR.

    Same parameters and definitions as :func:`customer_retention_rate`. Unit: fraction
    of the customers active at the start of the period (negative when reactivations
    outnumber losses).
    """
    r = customer_retention_rate(transactions, **kwargs)
    if isinstance(r, Metric):
        return Metric(1 - r.value, 1 - r.high, 1 - r.low, r.n, r.method, dict(r.counts))
    out = r.copy()
    out["value"], out["low"], out["high"] = 1 - r["value"], 1 - r["high"], 1 - r["low"]
    return out


def repeat_purchase_rate(
    transactions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate = customers with ≥ 2 orders / customers with ≥ 1 order.

    Orders are purchases (amount >= 0) collapsed by order_id (one order per row without
    one). Counted inside the window, or inside each period when ``period`` is given.
    Unit: fraction of buying customers; Wilson interval.

    Returns a :class:`Metric` (counts ``repeat_customers``, ``customers``) or, with
    ``period`` / ``by`` (a customer attribute), one row per period / segment.
    """
    period = check_period(period)
    t = to_table(transactions, "transactions")
    t = window(t, "timestamp", start=start, as_of=as_of)
    o = orders_table(t)
    o = o.filter(~o.is_return & o.customer_id.notnull())
    gcols = ["customer_id"]
    if period is not None:
        o = o.mutate(_pidx=period_index(o.timestamp, period))
        gcols.append("_pidx")
    pc = o.group_by(gcols).aggregate(orders=o.count())
    df, keys = aggregate(
        pc, "timestamp",
        lambda x: {"repeat_customers": (x.orders >= 2).sum(), "customers": x.count()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = wilson(fill0(df, ["repeat_customers", "customers"]), "repeat_customers", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["repeat_customers", "customers"])
