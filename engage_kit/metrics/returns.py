"""Return KPIs: how many orders come back, how much of the revenue, and how many customers return.

They read ``order_returns``, the table the loader derives from the transactions before
returns are matched to purchases (:func:`engage_kit.returns.return_ledger`): one row per
purchase order (``kind`` = ``purchase``, ``value`` its gross amount, ``returned`` what was
matched to it) and one per return line (``kind`` = ``return``, ``value`` the returned
amount). Orders are counted in the period they were placed; returned value in the period
of the return. Guest orders are not in it: a return cannot be matched without a customer.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    fill0,
    finish,
    period_index,
    ratio_of_sums,
    shared_table,
    wilson,
    window,
)

__all__ = ["order_return_rate", "return_value_rate", "returning_customer_rate", "NOT_MATCHED"]

NOT_MATCHED = (
    "returns are not matched to the orders they belong to (tables.transactions.returns: {match: none}), "
    "so no order can be called returned"
)
COLUMNS = ("kind", "order_id", "customer_id", "timestamp", "value", "returned")


def _ledger(data: TableLike, start: DateLike, as_of: DateLike) -> ibis.Table:
    """``order_returns`` as an Ibis table, in the window (a DataFrame is wrapped)."""
    if isinstance(data, pd.DataFrame):
        df = data.copy()
        df["timestamp"] = pd.to_datetime(df["timestamp"], format="mixed")
        for c in ("order_id", "customer_id", "kind"):
            df[c] = df[c].astype("string")
        for c in ("value", "returned"):
            df[c] = pd.to_numeric(df[c]).astype("float64")
        data = ibis.memtable(df[list(COLUMNS)])
    return window(data, "timestamp", start=start, as_of=as_of)


def _per_customer(t: ibis.Table, period: str | None) -> ibis.Table:
    """One row per customer (and period): gross purchase value, returned value, bought, returned."""
    gcols = ["customer_id"]
    if period is not None:
        t = t.mutate(_pidx=period_index(t.timestamp, period))
        gcols.append("_pidx")
    buy, ret = t.kind == "purchase", t.kind == "return"
    return t.group_by(gcols).aggregate(
        gross=t.value.sum(where=buy).fill_null(0.0),
        back=t.value.sum(where=ret).fill_null(0.0),
        bought=buy.any(),
        came_back=ret.any(),
    )


def order_return_rate(
    order_returns: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Order return rate = purchase orders with a matched return / purchase orders.

    An order counts as returned when at least one return was matched to it (a cancelled
    order included: its returns reached its whole value). Orders are counted in the period
    they were placed, so the last periods' rates rise as late returns arrive. Unit:
    fraction of purchase orders; Wilson interval (Wilson 1927). n/a with the reason when
    returns are not matched (``returns: {match: none}``).

    Returns a :class:`Metric` (counts ``returned_orders``, ``orders``) or, with ``period``
    / ``by`` (a customer attribute), one row per period / segment.
    """
    period = check_period(period)
    t = _ledger(order_returns, start, as_of)
    o = t.filter(t.kind == "purchase")
    df, keys = aggregate(
        o, "timestamp",
        lambda x: {"returned_orders": (x.returned > 0).sum(), "orders": x.count(), "_known": x.returned.count()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = wilson(fill0(df, ["returned_orders", "orders", "_known"]), "returned_orders", "orders", confidence)
    unmatched = (df["_known"] == 0) & (df["orders"] > 0)
    if unmatched.any():
        df.loc[unmatched, ["value", "low", "high"]] = np.nan
        df["reason"] = np.where(unmatched, NOT_MATCHED, None)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["returned_orders", "orders"])


def return_value_rate(
    order_returns: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Returned value rate = Σ returned amounts / gross revenue (Σ purchase amounts before returns).

    Every return counts, matched to a purchase or not; purchases by the day they were
    placed, returns by the day they came back. Unit: fraction of gross revenue (it can
    pass 1 in a period when returns of earlier purchases outweigh its sales). Interval:
    linearisation (delta method) for a ratio of sums over customers (Cochran 1977, §6.3).

    Returns a :class:`Metric` (counts ``returned_value``, ``gross_revenue``) or one row
    per period / segment.
    """
    period = check_period(period)
    pc = shared_table(_per_customer(_ledger(order_returns, start, as_of), period))  # both rates read it
    df, keys = aggregate(
        pc, "timestamp",
        lambda x: {"customers": x.count(), "gross_revenue": x.gross.sum(), "returned_value": x.back.sum(),
                   "_xx": (x.gross * x.gross).sum(), "_yy": (x.back * x.back).sum(), "_xy": (x.gross * x.back).sum()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = fill0(df, ["customers", "gross_revenue", "returned_value", "_xx", "_yy", "_xy"])
    df = ratio_of_sums(df, "customers", "gross_revenue", "returned_value", "_xx", "_yy", "_xy", confidence)
    df["low"] = np.maximum(df["low"], 0.0)  # a rate of returned value is never negative
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["returned_value", "gross_revenue"])


def returning_customer_rate(
    order_returns: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Returning-customer rate = customers with a purchase and a return / customers with a purchase.

    Both inside the window (or inside each period). Unit: fraction of buying customers;
    Wilson interval.

    Returns a :class:`Metric` (counts ``returning_customers``, ``customers``) or one row
    per period / segment.
    """
    period = check_period(period)
    pc = shared_table(_per_customer(_ledger(order_returns, start, as_of), period))  # both rates read it
    pc = pc.filter(pc.bought)
    df, keys = aggregate(
        pc, "timestamp",
        lambda x: {"returning_customers": x.came_back.sum(), "customers": x.count()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = wilson(fill0(df, ["returning_customers", "customers"]), "returning_customers", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["returning_customers", "customers"])
