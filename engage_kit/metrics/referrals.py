"""Referral programme KPIs: how many buyers refer, how many referrals buy, and how referred
customers repeat.

The ``referrals`` table holds one row per referral: ``referrer_id`` (the customer who
referred), ``timestamp``, ``referred_customer_id`` (once the referred person is a
customer) and ``reward``. Purchases as in :mod:`.loyalty`.
"""

from __future__ import annotations

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
    to_table,
    wilson,
    window,
)
from .loyalty import buyers, first_times, repeat_split

__all__ = ["referral_rate", "conversion_rate", "referred_repeat_rate", "other_repeat_rate"]


def _referrals(referrals: TableLike, start: DateLike, as_of: DateLike):
    return window(to_table(referrals, "referrals"), "timestamp", start=start, as_of=as_of)


def referral_rate(
    referrals: TableLike,
    *,
    transactions: TableLike,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Referral rate = distinct referrers among the buying customers / customers with a purchase.

    Both up to ``as_of`` (per period: referrals made and purchases made in the period).
    A referrer who never bought is not a buying customer and is not counted, so the rate
    is a share. Unit: fraction of buying customers; Wilson interval. Counts
    ``referrers``, ``customers``.
    """
    period = check_period(period)
    pc = buyers(transactions, period=period, start=start, as_of=as_of)
    r = _referrals(referrals, start, as_of)
    r = r.filter(r.referrer_id.notnull())
    gcols = {"_rcust": r.referrer_id}
    if period is not None:
        gcols["_ridx"] = period_index(r.timestamp, period)
    f = r.group_by(**gcols).aggregate(_k=r.count())
    cond = pc.customer_id == f._rcust
    if period is not None:
        cond = cond & (pc._pidx == f._ridx)
    j = pc.left_join(f, cond)
    j = j.mutate(_ref=j._k.notnull())
    df, keys = aggregate(j, "timestamp", lambda x: {"referrers": x._ref.sum(), "customers": x.count()},
                         table="transactions", period=period, by=by, customers=customers, customer_level=True)
    df = wilson(fill0(df, ["referrers", "customers"]), "referrers", "customers", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["referrers", "customers"])


def conversion_rate(
    referrals: TableLike,
    *,
    transactions: TableLike,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Referral conversion rate = referrals whose referred customer made a purchase / referrals.

    A referral converts when its ``referred_customer_id`` has a purchase up to ``as_of``
    (referrals without a referred customer have not converted). Per period: the
    referrals made in the period, so the latest periods rise as referred people buy
    later. ``by``: a customer attribute of the referrer. Unit: fraction of referrals;
    Wilson interval. Counts ``converted``, ``referrals``.
    """
    period = check_period(period)
    b = buyers(transactions, period=None, start=None, as_of=as_of)
    b = b.select(_bcust=b.customer_id)
    r = _referrals(referrals, start, as_of)
    r = r.mutate(customer_id=r.referrer_id)
    j = r.left_join(b, r.referred_customer_id == b._bcust)
    j = j.mutate(_conv=j._bcust.notnull())
    df, keys = aggregate(j, "timestamp", lambda x: {"converted": x._conv.sum(), "referrals": x.count()},
                         table="referrals", period=period, by=by, customers=customers, customer_level=True)
    df = wilson(fill0(df, ["converted", "referrals"]), "converted", "referrals", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["converted", "referrals"])


def _repeat(referrals, transactions, *, inside, period, by, customers, start, as_of, confidence):
    period = check_period(period)
    pc = buyers(transactions, period=period, start=start, as_of=as_of)
    f = first_times(_referrals(referrals, None, as_of), "referred_customer_id", period)
    return repeat_split(pc, f, inside=inside, before=None, strict=False, period=period, by=by, customers=customers,
                        as_of=as_of, confidence=confidence)


def referred_repeat_rate(
    referrals: TableLike,
    *,
    transactions: TableLike,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate of referred customers: those with ≥ 2 orders / those with ≥ 1 order.

    Referred = named as ``referred_customer_id`` in a referral up to ``as_of`` (per
    period: in that period or before). Unit: fraction; Wilson interval. Counts
    ``repeat_customers``, ``customers``. Compare with :func:`other_repeat_rate`
    (:func:`.loyalty.compare`).
    """
    return _repeat(referrals, transactions, inside=True, period=period, by=by, customers=customers, start=start,
                   as_of=as_of, confidence=confidence)


def other_repeat_rate(
    referrals: TableLike,
    *,
    transactions: TableLike,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Repeat purchase rate of the buying customers who were not referred (see :func:`referred_repeat_rate`)."""
    return _repeat(referrals, transactions, inside=False, period=period, by=by, customers=customers, start=start,
                   as_of=as_of, confidence=confidence)
