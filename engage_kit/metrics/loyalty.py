"""Loyalty programme KPIs: participation, points redeemed, and the repeat purchases of members.

The ``loyalty`` table holds one row per programme event: ``kind`` ``join``, ``earn``,
``redeem`` or ``expire`` (case and blanks forgiven) with its ``points``. A customer is a
*member* from the first ``join`` or ``earn`` row on. Purchases are transaction rows with
amount >= 0 collapsed to orders (:func:`._common.orders_table`), as in the repeat purchase
rate (:func:`.retention.repeat_purchase_rate`).

Members choose to join: a higher repeat purchase rate among members shows who joins as
much as what the programme does, so the comparison is descriptive, never causal.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import strip
from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    change_test,
    check_period,
    fill0,
    finish,
    orders_table,
    period_index,
    ratio_of_sums,
    to_table,
    wilson,
    window,
)

__all__ = ["participation_rate", "redemption_rate", "member_repeat_rate", "non_member_repeat_rate",
           "compare", "buyers", "repeat_split", "CAVEAT"]

CAVEAT = ("Members choose to join, so the difference shows who joins as much as what the programme does; "
          "it is no proof that the programme causes repeat purchases.")
_MEMBER = ("join", "earn")


def _day_after(as_of: DateLike) -> pd.Timestamp | None:
    return None if as_of is None else pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


def buyers(transactions: TableLike, *, period: str | None, start: DateLike, as_of: DateLike) -> ibis.Table:
    """One row per buying customer (and period): customer_id, [_pidx], orders (purchase orders)."""
    t = window(to_table(transactions, "transactions"), "timestamp", start=start, as_of=as_of)
    o = orders_table(t)
    o = o.filter(~o.is_return & o.customer_id.notnull())
    gcols = ["customer_id"]
    if period is not None:
        o = o.mutate(_pidx=period_index(o.timestamp, period))
        gcols.append("_pidx")
    return o.group_by(gcols).aggregate(orders=o.count())


def _events(loyalty: TableLike, start: DateLike, as_of: DateLike) -> ibis.Table:
    t = window(to_table(loyalty, "loyalty"), "timestamp", start=start, as_of=as_of)
    return t.mutate(kind=strip(t.kind).lower(), points=t.points.abs().fill_null(0.0))


def first_times(t: ibis.Table, who: str, period: str | None) -> ibis.Table:
    """``customer_id``, ``_first`` (first timestamp of ``who``) and ``_fidx`` (its period) per customer."""
    t = t.filter(t[who].notnull())
    f = t.group_by(_fcust=t[who]).aggregate(_first=t.timestamp.min())
    if period is not None:
        f = f.mutate(_fidx=period_index(f._first, period))
    return f


def repeat_split(
    pc: ibis.Table, flags: ibis.Table, *, inside: bool, before: pd.Timestamp | None, strict: bool,
    period: str | None, by: str | None, customers: TableLike | None, as_of: DateLike, confidence: float,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate of the buyers flagged (``inside``) or not flagged.

    Window: flagged when ``_first < before`` (None: any time). Per period: flagged when
    the flag's period is before the purchases' period (``strict``) or not after it.
    """
    j = pc.left_join(flags, pc.customer_id == flags._fcust)
    if period is None:
        flag = j._first.notnull() if before is None else j._first.notnull() & (j._first < before.to_pydatetime())
    else:
        flag = j._fidx.notnull() & ((j._fidx < j._pidx) if strict else (j._fidx <= j._pidx))
    j = j.mutate(_flag=flag.fill_null(False))
    j = j.filter(j._flag if inside else ~j._flag)
    df, keys = aggregate(
        j, "timestamp", lambda x: {"repeat_customers": (x.orders >= 2).sum(), "customers": x.count()},
        table="transactions", period=period, by=by, customers=customers, customer_level=True,
    )
    df = wilson(fill0(df, ["repeat_customers", "customers"]), "repeat_customers", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["repeat_customers", "customers"])


def participation_rate(
    loyalty: TableLike,
    *,
    transactions: TableLike,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Participation rate = buying customers with a ``join`` or ``earn`` row / customers with a purchase.

    Both up to ``as_of``; per period: the customers who bought in the period, members
    when their first join or earn was in that period or before. Members who never bought
    are not counted (the rate is a share of buyers). Unit: fraction of buying customers;
    Wilson interval. Counts ``members``, ``customers``.
    """
    period = check_period(period)
    pc = buyers(transactions, period=period, start=start, as_of=as_of)
    ev = _events(loyalty, start, as_of)
    f = first_times(ev.filter(ev.kind.isin(_MEMBER)), "customer_id", period)
    j = pc.left_join(f, pc.customer_id == f._fcust)
    member = j._first.notnull() if period is None else j._fidx.notnull() & (j._fidx <= j._pidx)
    j = j.mutate(_member=member.fill_null(False))
    df, keys = aggregate(j, "timestamp", lambda x: {"members": x._member.sum(), "customers": x.count()},
                         table="transactions", period=period, by=by, customers=customers, customer_level=True)
    df = wilson(fill0(df, ["members", "customers"]), "members", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["members", "customers"])


def redemption_rate(
    loyalty: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Redemption rate = Σ points of ``redeem`` rows / Σ points of ``earn`` rows.

    Points are taken as absolute values (a redemption booked as −500 points counts 500);
    rows without points add nothing. Per period: points redeemed and earned in the
    period, so it may pass 1. Unit: fraction of earned points. Interval: linearisation
    (delta method) for a ratio of sums over customers (Cochran 1977, §6.3). Counts
    ``redeemed_points``, ``earned_points``.
    """
    period = check_period(period)
    ev = _events(loyalty, start, as_of)
    gcols = ["customer_id"]
    if period is not None:
        ev = ev.mutate(_pidx=period_index(ev.timestamp, period))
        gcols.append("_pidx")
    pc = ev.group_by(gcols).aggregate(
        earned=ev.points.sum(where=ev.kind == "earn").fill_null(0.0),
        redeemed=ev.points.sum(where=ev.kind == "redeem").fill_null(0.0),
    )
    df, keys = aggregate(
        pc, "timestamp",
        lambda x: {"customers": x.count(), "earned_points": x.earned.sum(), "redeemed_points": x.redeemed.sum(),
                   "_xx": (x.earned * x.earned).sum(), "_yy": (x.redeemed * x.redeemed).sum(),
                   "_xy": (x.earned * x.redeemed).sum()},
        table="loyalty", period=period, by=by, customers=customers, customer_level=True,
    )
    df = fill0(df, ["customers", "earned_points", "redeemed_points", "_xx", "_yy", "_xy"])
    df = ratio_of_sums(df, "customers", "earned_points", "redeemed_points", "_xx", "_yy", "_xy", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["redeemed_points", "earned_points"])


def _member_repeat(loyalty, transactions, *, inside, period, by, customers, start, as_of, active_days, confidence):
    period = check_period(period)
    if active_days is None:
        from .. import activity

        active_days = activity.default_active_days(transactions, as_of=as_of)
    pc = buyers(transactions, period=period, start=start, as_of=as_of)
    ev = _events(loyalty, None, as_of)
    f = first_times(ev.filter(ev.kind.isin(_MEMBER)), "customer_id", period)
    if as_of is None:
        as_of = to_table(transactions, "transactions").timestamp.max().execute()
    before = _day_after(as_of) - pd.Timedelta(days=int(active_days))
    return repeat_split(pc, f, inside=inside, before=before, strict=True, period=period, by=by,
                        customers=customers, as_of=as_of, confidence=confidence)


def member_repeat_rate(
    loyalty: TableLike,
    *,
    transactions: TableLike,
    active_days: int | None = None,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate of members: members with ≥ 2 orders / members with ≥ 1 order.

    A member here joined (a ``join`` or ``earn`` row) before ``as_of − active_days``, so
    that joining came before the chance of a second purchase; orders up to ``as_of``.
    Per period: members who joined before the period began, orders inside the period.
    ``active_days`` None: chosen from the transactions. Unit: fraction; Wilson interval.
    Counts ``repeat_customers``, ``customers``. Compare with :func:`non_member_repeat_rate`
    through :func:`compare` (descriptive: members choose to join, :data:`CAVEAT`).
    """
    return _member_repeat(loyalty, transactions, inside=True, period=period, by=by, customers=customers,
                          start=start, as_of=as_of, active_days=active_days, confidence=confidence)


def non_member_repeat_rate(
    loyalty: TableLike,
    *,
    transactions: TableLike,
    active_days: int | None = None,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate of the buying customers who are not members in the sense of
    :func:`member_repeat_rate` (never joined, or joined on or after ``as_of − active_days``)."""
    return _member_repeat(loyalty, transactions, inside=False, period=period, by=by, customers=customers,
                          start=start, as_of=as_of, active_days=active_days, confidence=confidence)


def compare(group: Metric | None, others: Metric | None) -> dict[str, float] | None:
    """The difference ``group − others`` of two shares with the pooled two-proportion z-test.

    Returns ``{difference, z, p_value}`` (None when either is missing); see
    :func:`._common.change_test` (Fleiss, Levin and Paik 2003, §2.5).
    """
    if group is None or others is None:
        return None
    t = change_test(others, group, kind="proportion")
    return {"difference": t["delta"], "z": t["z"], "p_value": t["p_value"]}
