"""Service KPIs from support tickets: first contact resolution and average handle time.

Tickets are placed in periods by ``opened_at``.
"""

from __future__ import annotations

import pandas as pd

from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_not_all_null,
    check_period,
    fill0,
    finish,
    t_mean,
    to_table,
    wilson,
    window,
)

__all__ = ["first_contact_resolution", "average_handle_seconds"]


def first_contact_resolution(
    tickets: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """First contact resolution FCR = resolved tickets with contacts = 1 / resolved tickets.

    A ticket is resolved when ``resolved_at`` is set. Resolved tickets without a
    ``contacts`` count cannot be classified and are left out of both counts (so
    ``resolved`` counts the resolved tickets with a contacts count). Unit: fraction of
    resolved tickets; Wilson interval. ``by``: ``channel`` or a customer attribute.

    Returns a :class:`Metric` (counts ``first_contact``, ``resolved``) or one row per
    period / segment.
    """
    period = check_period(period)
    t = to_table(tickets, "tickets")
    check_not_all_null(t, "contacts", "tickets", "first contact resolution needs the number of contacts per ticket")
    t = window(t, "opened_at", start=start, as_of=as_of)
    t = t.filter(t.resolved_at.notnull() & t.contacts.notnull())
    df, keys = aggregate(
        t, "opened_at", lambda x: {"first_contact": (x.contacts == 1).sum(), "resolved": x.count()},
        table="tickets", period=period, by=by, customers=customers,
    )
    df = wilson(fill0(df, ["first_contact", "resolved"]), "first_contact", "resolved", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["first_contact", "resolved"])


def average_handle_seconds(
    tickets: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Average handle time AHT = mean ``handle_seconds`` (talk + hold + after-contact work).

    Over all tickets that have a handle time, resolved or not. Unit: seconds per ticket.
    Interval: t interval of the mean. Returns a :class:`Metric` (counts
    ``handle_seconds``, the total, and ``tickets``) or one row per period / segment.
    """
    period = check_period(period)
    t = to_table(tickets, "tickets")
    check_not_all_null(t, "handle_seconds", "tickets", "average handle time needs handle_seconds per ticket")
    t = window(t, "opened_at", start=start, as_of=as_of)
    t = t.filter(t.handle_seconds.notnull())
    df, keys = aggregate(
        t, "opened_at",
        lambda x: {"handle_seconds": x.handle_seconds.sum(), "tickets": x.count(),
                   "_mean": x.handle_seconds.mean(), "_sd": x.handle_seconds.std()},
        table="tickets", period=period, by=by, customers=customers,
    )
    df = t_mean(fill0(df, ["handle_seconds", "tickets"]), "tickets", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["handle_seconds", "tickets"])
