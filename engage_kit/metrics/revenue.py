"""Revenue KPIs: average order value, purchase frequency, historic CLV, NDR and GRR.

Orders follow the data contract: rows sharing an order_id are one order (amounts
summed), a row without one is an order by itself; purchases are orders with amount
>= 0 (zero amounts included), returns (amount < 0) are never purchases and are netted in
the net-revenue figures (historic CLV, NDR, GRR).
"""

from __future__ import annotations

import ibis
import pandas as pd

from ._common import (
    SEG,
    DateLike,
    Metric,
    TableLike,
    add_period_columns,
    add_segment,
    aggregate,
    check_period,
    fill0,
    finish,
    last_complete_index,
    max_timestamp,
    orders_table,
    period_index,
    ratio_of_sums,
    t_mean,
    to_table,
    window,
)

__all__ = [
    "average_order_value",
    "purchase_frequency",
    "historic_clv",
    "average_historic_clv",
    "net_dollar_retention",
    "gross_revenue_retention",
    "revenue_retention",
]


def _purchases(transactions: TableLike, start: DateLike, as_of: DateLike) -> tuple[ibis.Table, ibis.Table]:
    t = to_table(transactions, "transactions")
    t = window(t, "timestamp", start=start, as_of=as_of)
    o = orders_table(t)
    return t, o.filter(~o.is_return)


def average_order_value(
    transactions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Average order value AOV = revenue of purchases / number of purchase orders.

    Numerator: the summed amounts of orders with amount >= 0; denominator: those orders
    (returns excluded from both). Unit: the data's currency per order. Interval: t
    interval of the mean order amount. ``by`` may be the order's ``channel`` or a
    customer attribute (with ``customers``).

    Returns a :class:`Metric` (counts ``revenue``, ``orders``) or, with ``period`` /
    ``by``, one row per period / segment.
    """
    period = check_period(period)
    t, p = _purchases(transactions, start, as_of)
    df, keys = aggregate(
        p, "timestamp",
        lambda x: {"revenue": x.amount.sum(), "orders": x.count(), "_mean": x.amount.mean(), "_sd": x.amount.std()},
        table="transactions", period=period, by=by, customers=customers,
    )
    df = t_mean(fill0(df, ["revenue", "orders"]), "orders", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["revenue", "orders"])


def purchase_frequency(
    transactions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Purchase frequency = purchase orders / customers who placed at least one.

    Counted inside the window (or each period). Unit: orders per buying customer.
    Interval: t interval of the mean of the customers' order counts. ``by``: a customer
    attribute.

    Returns a :class:`Metric` (counts ``orders``, ``customers``) or one row per period /
    segment.
    """
    period = check_period(period)
    t, p = _purchases(transactions, start, as_of)
    p = p.filter(p.customer_id.notnull())
    gcols = ["customer_id"]
    if period is not None:
        p = p.mutate(_pidx=period_index(p.timestamp, period))
        gcols.append("_pidx")
    pc = p.group_by(gcols).aggregate(k=p.count())
    df, keys = aggregate(
        pc, "timestamp",
        lambda x: {"orders": x.k.sum(), "customers": x.count(), "_mean": x.k.mean(), "_sd": x.k.std()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = t_mean(fill0(df, ["orders", "customers"]), "customers", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["orders", "customers"])


def historic_clv(transactions: TableLike, *, start: DateLike = None, as_of: DateLike = None) -> ibis.Table:
    """Historic customer lifetime value: each customer's net revenue to date.

    historic CLV = Σ purchase amounts − Σ returned amounts, over the window. One row per
    customer with at least one purchase: customer_id, orders, purchase_revenue,
    returned (a positive amount), historic_clv, first_purchase, last_purchase. Unit: the
    data's currency. An engine expression (one row per customer): execute it or
    aggregate it further in the engine.
    """
    t = to_table(transactions, "transactions")
    t = window(t, "timestamp", start=start, as_of=as_of)
    o = orders_table(t)
    o = o.filter(o.customer_id.notnull())
    pur = o.amount.sum(where=~o.is_return)
    out = o.group_by("customer_id").aggregate(
        orders=(~o.is_return).sum(),
        purchase_revenue=pur.fill_null(0.0),
        returned=(-o.amount.sum(where=o.is_return)).fill_null(0.0),
        first_purchase=o.timestamp.min(where=~o.is_return),
        last_purchase=o.timestamp.max(where=~o.is_return),
    )
    out = out.filter(out.orders > 0)
    return out.mutate(historic_clv=out.purchase_revenue - out.returned)


def average_historic_clv(
    transactions: TableLike,
    *,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Mean historic CLV per buying customer (see :func:`historic_clv`), with a t interval.

    Unit: the data's currency per customer. ``by``: a customer attribute. Returns a
    :class:`Metric` (counts ``net_revenue``, ``customers``) or one row per segment.
    """
    h = historic_clv(transactions, start=start, as_of=as_of)
    df, keys = aggregate(
        h, "first_purchase",
        lambda x: {"net_revenue": x.historic_clv.sum(), "customers": x.count(),
                   "_mean": x.historic_clv.mean(), "_sd": x.historic_clv.std()},
        table="transactions", period=None, by=by, customers=customers, customer_level=True,
    )
    df = t_mean(fill0(df, ["net_revenue", "customers"]), "customers", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=None, as_of=as_of, counts=["net_revenue", "customers"])


def revenue_retention(
    transactions: TableLike,
    *,
    period: str = "M",
    as_of: DateLike = None,
    all_periods: bool = False,
    by: str | None = None,
    customers: TableLike | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """NDR and GRR side by side: one row per period P (and segment), both measures.

    See :func:`net_dollar_retention`. Columns: period columns (for ``all_periods``), the
    segment, ``customers`` (bought in P − 1), ``revenue_previous`` (their net revenue in
    P − 1), ``revenue_current`` (in P), ``revenue_capped`` (Σ min(current, previous)),
    ``ndr``, ``ndr_low``, ``ndr_high``, ``grr``, ``grr_low``, ``grr_high``.
    """
    period = check_period(period) or "M"
    t = to_table(transactions, "transactions")
    t = t.filter(t.customer_id.notnull())
    if as_of is None:
        as_of = max_timestamp(t, "timestamp")
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else None
    t = window(t, "timestamp", as_of=as_of)
    t = t.mutate(_pidx=period_index(t.timestamp, period))
    cp = t.group_by(["customer_id", "_pidx"]).aggregate(net=t.amount.sum(), bought=(t.amount >= 0).any())
    last = last_complete_index(as_of, period) if as_of is not None else 0
    prev = cp.filter(cp.bought)
    prev = prev.filter(prev._pidx < last) if all_periods else prev.filter(prev._pidx == last - 1)
    cur = cp.select(_c=cp.customer_id, _cp=cp._pidx - 1, cur=cp.net)
    j = prev.left_join(cur, [prev.customer_id == cur._c, prev._pidx == cur._cp])
    j = j.select(customer_id=j.customer_id, _pidx=j._pidx + 1, x=j.net, y=j.cur.fill_null(0.0))
    j = j.mutate(g=ibis.least(j.y, j.x))
    keys = ["_pidx"]
    if by is not None:
        j = add_segment(j, by, customers, table="transactions", customer_level=True)
        keys.append(SEG)
    aggs = {
        "customers": j.count(), "revenue_previous": j.x.sum(), "revenue_current": j.y.sum(),
        "revenue_capped": j.g.sum(), "_xx": (j.x * j.x).sum(), "_yy": (j.y * j.y).sum(),
        "_gg": (j.g * j.g).sum(), "_xy": (j.x * j.y).sum(), "_xg": (j.x * j.g).sum(),
    }
    df = j.group_by(keys).aggregate(**aggs).execute().sort_values(keys, kind="stable").reset_index(drop=True)
    if not all_periods:
        base = pd.DataFrame({"_pidx": [last]})
        df = base.merge(df, on="_pidx", how="left") if by is None else df
    df = fill0(df, list(aggs))
    out = df[keys + ["customers", "revenue_previous", "revenue_current", "revenue_capped"]].copy()
    for name, y, yy, xy in [("ndr", "revenue_current", "_yy", "_xy"), ("grr", "revenue_capped", "_gg", "_xg")]:
        r = ratio_of_sums(df.copy(), "customers", "revenue_previous", y, "_xx", yy, xy, confidence)
        out[name], out[f"{name}_low"], out[f"{name}_high"] = r["value"], r["low"], r["high"]
    out["n"] = out["customers"].astype("int64")
    out = add_period_columns(out, period, as_of)
    if by is not None:
        out = out.rename(columns={SEG: by})
    return out


def _one(
    which: str,
    transactions: TableLike,
    *,
    period: str,
    as_of: DateLike,
    all_periods: bool,
    by: str | None,
    customers: TableLike | None,
    confidence: float,
) -> Metric | pd.DataFrame:
    rr = revenue_retention(transactions, period=period, as_of=as_of, all_periods=all_periods, by=by,
                           customers=customers, confidence=confidence)
    return retention_measure(which, rr, all_periods=all_periods, by=by)


def retention_measure(which: str, rr: pd.DataFrame, *, all_periods: bool = False,
                      by: str | None = None) -> Metric | pd.DataFrame:
    """NDR (``which="ndr"``) or GRR (``"grr"``) from :func:`revenue_retention`'s table ``rr``.

    What :func:`net_dollar_retention` and :func:`gross_revenue_retention` return for the same
    ``all_periods`` and ``by``: a Metric for the last complete period, else the table with
    ``value``, ``low``, ``high`` and the measure's own revenue column. Both measures come from
    one table, so computing the table once serves both.
    """
    num = "revenue_current" if which == "ndr" else "revenue_capped"
    rr = rr.rename(columns={which: "value", f"{which}_low": "low", f"{which}_high": "high"})
    rr["method"] = "delta"
    keep = [c for c in rr.columns if not c.startswith(("ndr", "grr")) and c not in ("revenue_capped", "revenue_current")]
    rr = rr[keep[: keep.index("revenue_previous") + 1] + [num] + keep[keep.index("revenue_previous") + 1:]]
    if all_periods or by is not None:
        return rr
    row = rr.iloc[0]
    counts = {"customers": int(row["customers"]), "revenue_previous": float(row["revenue_previous"]),
              num: float(row[num])}
    return Metric(float(row["value"]), float(row["low"]), float(row["high"]), int(row["n"]), "delta", counts)


def net_dollar_retention(
    transactions: TableLike,
    *,
    period: str = "M",
    as_of: DateLike = None,
    all_periods: bool = False,
    by: str | None = None,
    customers: TableLike | None = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Net dollar retention NDR = Σᵢ revenueᵢ(P) / Σᵢ revenueᵢ(P − 1).

    i runs over the customers who bought (an order with amount >= 0) in period P − 1;
    revenue is net of returns (all transaction amounts of the period summed). Customers
    acquired in P do not count; customers who stopped contribute 0. Unit: fraction of
    the P − 1 revenue (above 1 when expansion outweighs losses).

    Interval: linearisation (delta method) for a ratio of sums over customers
    (Cochran 1977, §6.3), from sums computed in the engine.

    Parameters
    ----------
    transactions : Ibis table or DataFrame
        Canonical transactions.
    period : {"W", "M", "Q"}
        Period length.
    as_of : date, optional
        Inclusive analysis date; default the last transaction date.
    all_periods : bool
        False: P = the last complete period before ``as_of``. True: every period P that
        has a period before it (a DataFrame).
    by : str, optional
        Customer attribute (with ``customers``).
    """
    return _one("ndr", transactions, period=period, as_of=as_of, all_periods=all_periods, by=by,
                customers=customers, confidence=confidence)


def gross_revenue_retention(
    transactions: TableLike,
    *,
    period: str = "M",
    as_of: DateLike = None,
    all_periods: bool = False,
    by: str | None = None,
    customers: TableLike | None = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Gross revenue retention GRR = Σᵢ min(revenueᵢ(P), revenueᵢ(P − 1)) / Σᵢ revenueᵢ(P − 1).

    As :func:`net_dollar_retention`, with each customer's revenue in P capped at its
    P − 1 value, so expansion does not count and GRR <= 1 (when P − 1 revenues are
    positive). Unit: fraction of the P − 1 revenue. Interval: delta method.
    """
    return _one("grr", transactions, period=period, as_of=as_of, all_periods=all_periods, by=by,
                customers=customers, confidence=confidence)
