"""Returns matched to the purchases they cancel (DESIGN.md, Data contract).

A return is a transaction line with amount < 0. Each one is matched to one purchase
order of the same customer placed in the ``match_days`` before it (the return's own day
included), chosen in this order:

1. the order it names: a purchase order with the return's own ``order_id`` (shops that
   book a return under the original order number), or the order in the column that
   ``returns.order_column`` names (carried as ``_ret_order``: a credit note that gives its
   invoice);
2. an order with a line of the same ``product_id`` (when products are mapped);
3. an order whose total, or one of whose lines, equals the returned amount;
4. the latest order.

What a matched order lost is taken off its lines (each line scaled by
1 − returned / gross), and the matched return lines leave the table: the order now carries
its net value. An order whose returns reach its whole value is a **cancelled order**: its
lines leave the table too, so it is no purchase anywhere (frequency, recency, first
purchase and cohort, order value, spend models, churn features). When the returns exceed
the order's value, the excess stays in the table as one return line. Returns with no
purchase to match stay as they are (netted in net revenue). Net revenue, the sum of all
amounts, is the same before and after.

Example: order A (2 × 50 = 100) on 1 May and a return of −100 of the same product on
2 May: A is cancelled, both lines leave the table. Order B (100) and a return of −40 in
the window: B's lines are scaled to 60, the return leaves the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

from .engine import cache

MATCH_DAYS = 90
AMOUNT_TOLERANCE = 0.005  # amounts equal to the cent


@dataclass
class ReturnMatch:
    """What matching did: counts and values (for validate and the data notes)."""

    returns: int = 0
    matched: int = 0
    returned_value: float = 0.0
    matched_value: float = 0.0
    cancelled_orders: int = 0
    cancelled_value: float = 0.0
    reduced_orders: int = 0
    matches: ibis.Table | None = field(default=None, repr=False)  # r_row, order_id, r_amount: one row per matched return


def match_returns(t: ibis.Table, *, match_days: int = MATCH_DAYS) -> tuple[ibis.Table, ReturnMatch]:
    """Match the return lines of ``t`` to purchase orders; return the netted table and counts.

    Parameters
    ----------
    t : ibis.Table
        Canonical transaction lines with ``_row`` (a unique line number), ``customer_id``,
        ``timestamp``, ``amount``, ``order_id`` (never NULL) and ``product_id`` (may be NULL);
        optionally ``_ret_order``, the order a return line names (NULL: its own order_id).
    match_days : int
        How many days before a return its purchase may lie.

    Returns
    -------
    (ibis.Table, ReturnMatch)
        The lines with the same columns (matched return lines and cancelled orders' lines
        removed, partly returned orders' lines scaled, an excess return line where the
        returns exceed their order), and what was matched. The table is an expression
        over ``t``: materialise it before reading it more than once.
    """
    cols = list(t.columns)
    rets = t.filter(t.amount < 0)
    # only the orders of customers who returned something can be matched: the rest of the
    # lines are never grouped or joined here (a few percent of them have a return in a shop)
    returners = rets.select(rc=rets.customer_id).distinct()
    lines = t.filter(t.amount >= 0)
    lines = lines.semi_join(returners, lines.customer_id == returners.rc)
    orders = lines.group_by("order_id").aggregate(
        o_customer=lines.customer_id.arbitrary(), o_time=lines.timestamp.min(), gross=lines.amount.sum()
    )
    orders = orders.filter(orders.gross > 0)  # only an order with value can absorb a return

    named = rets._ret_order.fill_null(rets.order_id) if "_ret_order" in cols else rets.order_id
    r = rets.select(r_row=rets._row, r_customer=rets.customer_id, r_time=rets.timestamp, r_amount=-rets.amount,
                    r_order=named, r_product=rets.product_id)
    cand = r.join(
        orders,
        [
            r.r_customer == orders.o_customer,
            orders.o_time <= r.r_time,
            orders.o_time >= r.r_time.truncate("D") - ibis.interval(days=int(match_days)),
        ],
    )
    # per candidate: does the order have a line of the returned product, or of the returned amount?
    pl = lines.select(l_order=lines.order_id, l_product=lines.product_id, l_amount=lines.amount)
    flags = cand.left_join(pl, cand.order_id == pl.l_order).group_by(["r_row", "order_id"]).aggregate(
        same_product=((ibis._.l_product == ibis._.r_product) & ibis._.r_product.notnull()).any(),
        line_amount=((ibis._.l_amount - ibis._.r_amount).abs() < AMOUNT_TOLERANCE).any(),
    )
    cand = cand.join(flags, ["r_row", "order_id"])
    rank = ibis.row_number().over(
        group_by=cand.r_row,
        order_by=[
            ibis.desc((cand.order_id == cand.r_order).cast("int8")),
            ibis.desc(cand.same_product.fill_null(False).cast("int8")),
            ibis.desc((cand.line_amount.fill_null(False) | ((cand.gross - cand.r_amount).abs() < AMOUNT_TOLERANCE)).cast("int8")),
            ibis.desc(cand.o_time),
            ibis.desc(cand.order_id),
        ],
    )
    # the matches are few (one row per return line): computed once, read several times below
    chosen = cache(cand.mutate(_rank=rank).filter(ibis._._rank == 0).drop("_rank"))
    per_order = cache(chosen.group_by("order_id").aggregate(
        returned=chosen.r_amount.sum(),
        gross=chosen.gross.max(),
        last_return=chosen.r_row.max(),
    ).mutate(factor=ibis.greatest(1 - ibis._.returned / ibis._.gross, 0.0)))
    matched_rows = chosen.select(m_row=chosen.r_row)

    # lines: purchases scaled (cancelled ones dropped), matched returns dropped
    # equality joins only (a condition beside the key would make the engine loop over pairs)
    scale = per_order.select(p_order=per_order.order_id, factor=per_order.factor)
    kept = t.left_join(scale, t.order_id == scale.p_order)
    kept = kept.left_join(matched_rows, kept._row == matched_rows.m_row)
    factor = ibis.ifelse(kept.amount >= 0, kept.factor, ibis.null("float64"))  # return lines are not scaled
    kept = kept.mutate(_f=factor).filter(kept.m_row.isnull())
    kept = kept.filter(kept._f.isnull() | (kept._f > 0))
    kept = kept.mutate(amount=ibis.ifelse(kept._f.isnull(), kept.amount, kept.amount * kept._f)).select(*cols)

    # returns beyond their order's value: one return line of the excess, on the last return's row
    excess = per_order.filter(per_order.returned > per_order.gross + AMOUNT_TOLERANCE)
    last = t.join(excess, t._row == excess.last_return)
    extra = last.mutate(amount=last.gross - last.returned).select(*cols)
    out = kept.union(extra)

    stats = _stats(rets, chosen, per_order)
    stats.matches = chosen.select("r_row", "order_id", "r_amount")
    return out, stats


def _stats(rets: ibis.Table, chosen: ibis.Table, per_order: ibis.Table) -> ReturnMatch:
    r = rets.aggregate(n=rets.count(), v=(-rets.amount).sum()).execute().iloc[0]
    m = chosen.aggregate(n=chosen.count(), v=chosen.r_amount.sum()).execute().iloc[0]
    o = per_order.aggregate(
        cancelled=(per_order.factor <= 0).sum(),
        cancelled_value=ibis.ifelse(per_order.factor <= 0, per_order.gross, 0.0).sum(),
        reduced=(per_order.factor > 0).sum(),
    ).execute().iloc[0]

    def num(v: object) -> float:
        return 0.0 if v is None or v != v else float(v)  # NULL or NaN from an empty aggregate

    return ReturnMatch(
        returns=int(num(r["n"])), matched=int(num(m["n"])), returned_value=num(r["v"]), matched_value=num(m["v"]),
        cancelled_orders=int(num(o["cancelled"])), cancelled_value=num(o["cancelled_value"]),
        reduced_orders=int(num(o["reduced"])),
    )


LEDGER_COLUMNS = ("kind", "order_id", "customer_id", "timestamp", "value", "returned")


def return_ledger(t: ibis.Table, matches: ibis.Table | None) -> ibis.Table:
    """The purchases and returns behind the return figures, as they were before matching.

    One row per purchase order (``kind`` = ``purchase``: its first line's ``timestamp``,
    ``value`` = its gross amount, ``returned`` = the returns matched to it, 0 when none)
    and one per return line (``kind`` = ``return``: its ``timestamp``, ``value`` = the
    returned amount, positive). ``returned`` is NULL on every row when returns were not
    matched (``returns: {match: none}``), so no order can be called returned.

    Parameters
    ----------
    t : ibis.Table
        The transaction lines before matching (``customer_id``, ``timestamp``, ``amount``,
        ``order_id``).
    matches : ibis.Table or None
        :attr:`ReturnMatch.matches` (``order_id``, ``r_amount``); None when returns were
        not matched (``match: none``).
    """
    p = t.filter(t.amount >= 0)
    orders = p.group_by("order_id").aggregate(
        customer_id=p.customer_id.arbitrary(), timestamp=p.timestamp.min(), value=p.amount.sum()
    )
    if matches is None:
        orders = orders.mutate(returned=ibis.null("float64"))
    else:
        got = matches.group_by("order_id").aggregate(returned=matches.r_amount.sum()).rename(m_order="order_id")
        orders = orders.left_join(got, orders.order_id == got.m_order).drop("m_order")
        orders = orders.mutate(returned=orders.returned.fill_null(0.0))
    orders = orders.mutate(kind=ibis.literal("purchase"), value=orders.value.cast("float64"))
    r = t.filter(t.amount < 0)
    rets = r.select(kind=ibis.literal("return"), order_id=r.order_id, customer_id=r.customer_id,
                    timestamp=r.timestamp, value=(-r.amount).cast("float64"), returned=ibis.null("float64"))
    return orders.select(*LEDGER_COLUMNS).union(rets.select(*LEDGER_COLUMNS))
