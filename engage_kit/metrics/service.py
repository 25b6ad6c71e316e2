"""Service KPIs from support tickets: first contact resolution, average handle time,
self-service containment, and resolution and handle time by contact reason.

Tickets are placed in periods by ``opened_at``. ``handled_by`` is ``bot``,
``self_service`` or ``agent`` (case, blanks and ``-`` / space for ``_`` are forgiven).
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..engine import strip
from . import groups
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

__all__ = ["first_contact_resolution", "average_handle_seconds", "containment_rate", "by_reason", "handler",
           "SELF_SERVED"]

SELF_SERVED = ("bot", "self_service")


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


def handler(t: ibis.Table) -> ibis.Value:
    """``handled_by`` in its canonical spelling: lower case, trimmed, ``-`` and spaces as ``_``."""
    return strip(t.handled_by).lower().re_replace(r"[\s-]+", "_")


def containment_rate(
    tickets: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Containment rate = bot or self-service contacts resolved without escalation / bot or self-service contacts.

    A contact with ``handled_by`` ``bot`` or ``self_service`` is contained when
    ``escalated`` is false (it was not handed to a person); contacts whose ``escalated``
    is unknown are left out of both counts. A chatbot that answers 95 of 100 questions
    and hands 5 to an agent has containment 0.95 (the contact-centre definition, e.g.
    Gartner's "self-service containment"). Unit: fraction of self-served contacts;
    Wilson interval. Counts ``contained``, ``self_served``.
    """
    period = check_period(period)
    t = to_table(tickets, "tickets")
    check_not_all_null(t, "handled_by", "tickets", "the containment rate needs who handled each contact")
    check_not_all_null(t, "escalated", "tickets", "the containment rate needs whether a contact was escalated")
    t = window(t, "opened_at", start=start, as_of=as_of)
    t = t.filter(handler(t).isin(SELF_SERVED) & t.escalated.notnull())
    df, keys = aggregate(
        t, "opened_at", lambda x: {"contained": (~x.escalated).sum(), "self_served": x.count()},
        table="tickets", period=period, by=by, customers=customers,
    )
    df = wilson(fill0(df, ["contained", "self_served"]), "contained", "self_served", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["contained", "self_served"])


def by_reason(
    tickets: TableLike,
    *,
    period: str | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
    most: int | None = 20,
) -> dict[str, pd.DataFrame]:
    """First contact resolution and average handle time per contact ``reason``, each against the rest.

    One engine query gives, per reason, the resolved tickets with a contact count and
    those resolved at the first contact (FCR, as :func:`first_contact_resolution`; Wilson
    interval, pooled two-proportion test against the other reasons) and n, Σ and Σ² of
    ``handle_seconds`` (AHT, as :func:`average_handle_seconds`; t interval, Welch test).
    p-values are Holm-adjusted across the reasons (:mod:`.groups`). Tickets without a
    reason are left out. Returns ``{"fcr": ..., "aht": ...}``, frames of
    :data:`.groups.GROUP_COLUMNS` plus counts, the ``most`` busiest reasons (None: all).
    ``period``: the same per calendar period of ``opened_at`` (:func:`.groups.per_period`).
    """
    t = to_table(tickets, "tickets")
    t = window(t, "opened_at", start=start, as_of=as_of)
    t = t.mutate(group=strip(t.reason)).filter(lambda x: x.group.notnull() & (x.group != ""))
    t, keys = groups.with_period(t, "opened_at", period)
    fcr_ok = t.resolved_at.notnull() & t.contacts.notnull()
    h = t.handle_seconds
    df = t.group_by(keys).aggregate(
        first_contact=(fcr_ok & (t.contacts == 1)).sum(),
        resolved=fcr_ok.sum(),
        tickets=h.count(),
        handle_seconds=h.sum(),
        _squares=(h * h).sum(),
    ).execute()

    def fcr(d: pd.DataFrame) -> pd.DataFrame:
        return groups.proportion_groups(d[d["resolved"].fillna(0) > 0][["group", "first_contact", "resolved"]],
                                        "first_contact", "resolved", better="higher", confidence=confidence,
                                        most=most).drop(columns="method")

    def aht(d: pd.DataFrame) -> pd.DataFrame:
        return groups.mean_groups(d[d["tickets"].fillna(0) > 0][["group", "tickets", "handle_seconds", "_squares"]],
                                  "tickets", "handle_seconds", "_squares", better="lower", confidence=confidence,
                                  most=most).drop(columns=["method", "_squares"])

    return {"fcr": groups.per_period(df, fcr, period=period, as_of=as_of),
            "aht": groups.per_period(df, aht, period=period, as_of=as_of)}
