"""Event (webinar, live event) KPIs from the touches table (channel ``event``).

Each (customer, event) pair counts once: registered = a ``registration`` row; attended =
an ``attendance`` row; interactions = ``interaction`` rows (questions, polls, chat
messages). registrations = registered pairs; attendance rate = registered pairs that
attended / registered pairs (walk-ins who attended without registering are counted
apart, as ``walk_ins``); interactions per attendee = interaction rows / attended pairs.
The event is identified by ``campaign_id``; rows without a customer_id are left out.
Pairs are placed in periods by their first row.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    fill0,
    finish,
    label_counts,
    t_mean,
    to_table,
    wilson,
    window,
)

__all__ = ["event_pairs", "event_counts", "attendance_rate", "interactions_per_attendee"]

REGISTRATION = ("registration", "register", "registered", "signup")
ATTENDANCE = ("attendance", "attend", "attended", "join", "joined")
INTERACTION = ("interaction", "question", "poll", "chat")


def event_pairs(
    touches: TableLike, *, channel: str = "event", start: DateLike = None, as_of: DateLike = None
) -> ibis.Table:
    """One row per (customer, event): registered, attended, interactions, first_ts (engine expression)."""
    t = to_table(touches, "touches")
    t = window(t, "timestamp", start=start, as_of=as_of)
    t = t.filter((t.channel.lower() == channel.lower()) & t.customer_id.notnull())
    ev = t.event.lower()
    t = t.mutate(_ev=ev, campaign_id=t.campaign_id.fill_null("(none)"))
    return t.group_by(["customer_id", "campaign_id"]).aggregate(
        registered=t._ev.isin(REGISTRATION).any(),
        attended=t._ev.isin(ATTENDANCE).any(),
        interactions=t._ev.isin(INTERACTION).sum(),
        first_ts=t.timestamp.min(),
    )


def _agg(touches, channel, period, by, customers, start, as_of, aggs):
    period = check_period(period)
    p = event_pairs(touches, channel=channel, start=start, as_of=as_of)
    df, keys = aggregate(p, "first_ts", aggs, table="touches", period=period, by=by, customers=customers)
    return df, keys, period, as_of


def event_counts(
    touches: TableLike,
    *,
    channel: str = "event",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
) -> pd.DataFrame:
    """Registrations, attendees, registered attendees, walk-ins and interactions (one row or per group).

    ``by``: ``campaign_id`` (the event) or a customer attribute (with ``customers``).
    """
    cols = ["registrations", "attendees", "registered_attendees", "walk_ins", "interactions"]
    df, keys, period, as_of = _agg(
        touches, channel, period, by, customers, start, as_of,
        lambda x: {"registrations": x.registered.sum(), "attendees": x.attended.sum(),
                   "registered_attendees": (x.registered & x.attended).sum(),
                   "walk_ins": (~x.registered & x.attended).sum(), "interactions": x.interactions.sum()},
    )
    df = fill0(df, cols)
    return label_counts(df, period=period, by=by, as_of=as_of)


def attendance_rate(
    touches: TableLike,
    *,
    channel: str = "event",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Attendance rate = registered (customer, event) pairs that attended / registered pairs.

    Unit: fraction of registrations; Wilson interval. Counts ``registered_attendees``,
    ``registrations``.
    """
    df, keys, period, as_of = _agg(
        touches, channel, period, by, customers, start, as_of,
        lambda x: {"registered_attendees": (x.registered & x.attended).sum(), "registrations": x.registered.sum()},
    )
    df = wilson(fill0(df, ["registered_attendees", "registrations"]), "registered_attendees", "registrations",
                confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["registered_attendees", "registrations"])


def interactions_per_attendee(
    touches: TableLike,
    *,
    channel: str = "event",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Interactions per attendee = interaction rows of attendees / attended (customer, event) pairs.

    Unit: interactions per attendee and event; t interval of the mean over attendees.
    Counts ``interactions``, ``attendees``.
    """
    def aggs(x):
        a = x.attended
        return {"interactions": x.interactions.sum(where=a), "attendees": a.sum(),
                "_mean": x.interactions.mean(where=a), "_sd": x.interactions.std(where=a)}

    df, keys, period, as_of = _agg(touches, channel, period, by, customers, start, as_of, aggs)
    df = t_mean(fill0(df, ["interactions", "attendees"]), "attendees", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["interactions", "attendees"])
