"""Social KPIs from the touches table (channel ``social``).

likes, shares, comments, clicks, views = event rows of each kind; engagement rate =
engagement event rows (like, share, comment, click) / view event rows: engagements per
view, which can exceed 1 when one view brings several reactions. Its interval is the
exact Poisson interval of a rate (Garwood 1936), since it is a count per exposure, not
a share. Rows are placed in periods by their timestamp.
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
    label_counts,
    poisson_rate,
    to_table,
    window,
)

__all__ = ["ENGAGEMENT_EVENTS", "social_counts", "engagement_rate"]

ENGAGEMENT_EVENTS = {
    "likes": ("like", "likes", "reaction"),
    "shares": ("share", "shares", "retweet", "repost"),
    "comments": ("comment", "comments", "reply"),
    "clicks": ("click", "clicks"),
}
VIEW_EVENTS = ("view", "views", "impression", "impressions")


def _counts(touches, channel, period, by, customers, start, as_of):
    period = check_period(period)
    t = to_table(touches, "touches")
    t = window(t, "timestamp", start=start, as_of=as_of)
    ev = t.event.lower()
    t = t.filter(t.channel.lower() == channel.lower()).mutate(_ev=ev)

    def aggs(x):
        out = {"views": x._ev.isin(VIEW_EVENTS).sum()}
        for name, names in ENGAGEMENT_EVENTS.items():
            out[name] = x._ev.isin(names).sum()
        return out

    df, keys = aggregate(t, "timestamp", aggs, table="touches", period=period, by=by, customers=customers)
    cols = ["views", *ENGAGEMENT_EVENTS]
    df = fill0(df, cols)
    df["engagements"] = df[list(ENGAGEMENT_EVENTS)].sum(axis=1)
    return df, keys, period, as_of


def social_counts(
    touches: TableLike,
    *,
    channel: str = "social",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
) -> pd.DataFrame:
    """Views, likes, shares, comments, clicks and engagements (their sum) on ``channel``.

    One row, or one per period and/or segment (``by``: ``campaign_id`` for posts, or a
    customer attribute with ``customers``).
    """
    df, keys, period, as_of = _counts(touches, channel, period, by, customers, start, as_of)
    return label_counts(df, period=period, by=by, as_of=as_of)


def engagement_rate(
    touches: TableLike,
    *,
    channel: str = "social",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Engagement rate = engagement event rows (like, share, comment, click) / view event rows.

    Unit: engagements per view on the social channel (the denominator is views, not
    followers or reach). Interval: exact Poisson (Garwood 1936) for the engagement count
    over the views. ``n`` is the number of views. Counts ``engagements``, ``views``.
    """
    df, keys, period, as_of = _counts(touches, channel, period, by, customers, start, as_of)
    df = poisson_rate(df, "engagements", "views", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["engagements", "views"])
