"""Web KPIs from the web_sessions table (one row per session).

sessions = rows; pageviews = Σ pageviews; pages per session = mean pageviews; mean
session duration = mean duration_seconds; bounce rate = single-page sessions
(pageviews = 1) / sessions with a pageview count; conversion rate = converted sessions /
sessions with a converted flag. Sessions are placed in periods by ``started_at``.
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
    label_counts,
    t_mean,
    to_table,
    wilson,
    window,
)

__all__ = ["session_counts", "bounce_rate", "conversion_rate", "pages_per_session", "mean_session_seconds"]


def _sessions(web_sessions: TableLike, start: DateLike, as_of: DateLike, need: str | None, why: str = ""):
    t = to_table(web_sessions, "web_sessions")
    if need is not None:
        check_not_all_null(t, need, "web_sessions", why)
    return window(t, "started_at", start=start, as_of=as_of)


def session_counts(
    web_sessions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
) -> pd.DataFrame:
    """Sessions, pageviews, single-page sessions and converted sessions (one row, or per group).

    Columns: the period / segment keys, ``sessions``, ``pageviews`` (Σ; sessions without
    a count add nothing), ``single_page``, ``converted``, ``duration_seconds`` (Σ).
    """
    period = check_period(period)
    t = _sessions(web_sessions, start, as_of, None)
    df, keys = aggregate(
        t, "started_at",
        lambda x: {"sessions": x.count(), "pageviews": x.pageviews.sum(), "single_page": (x.pageviews == 1).sum(),
                   "converted": x.converted.sum(), "duration_seconds": x.duration_seconds.sum()},
        table="web_sessions", period=period, by=by, customers=customers,
    )
    df = fill0(df, ["sessions", "pageviews", "single_page", "converted", "duration_seconds"])
    return label_counts(df, period=period, by=by, as_of=as_of)


def bounce_rate(
    web_sessions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Bounce rate = single-page sessions (pageviews = 1) / sessions with a pageview count.

    Unit: fraction of sessions; Wilson interval. Counts ``single_page``, ``sessions``.
    ``by``: ``landing_page`` or another column of the table, or a customer attribute.
    """
    period = check_period(period)
    t = _sessions(web_sessions, start, as_of, "pageviews", "the bounce rate needs the pages viewed per session")
    t = t.filter(t.pageviews.notnull())
    df, keys = aggregate(t, "started_at", lambda x: {"single_page": (x.pageviews == 1).sum(), "sessions": x.count()},
                         table="web_sessions", period=period, by=by, customers=customers)
    df = wilson(fill0(df, ["single_page", "sessions"]), "single_page", "sessions", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["single_page", "sessions"])


def conversion_rate(
    web_sessions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Conversion rate = converted sessions / sessions with a converted flag.

    Unit: fraction of sessions; Wilson interval. Counts ``converted``, ``sessions``.
    """
    period = check_period(period)
    t = _sessions(web_sessions, start, as_of, "converted", "the conversion rate needs a converted flag per session")
    t = t.filter(t.converted.notnull())
    df, keys = aggregate(t, "started_at", lambda x: {"converted": x.converted.sum(), "sessions": x.count()},
                         table="web_sessions", period=period, by=by, customers=customers)
    df = wilson(fill0(df, ["converted", "sessions"]), "converted", "sessions", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["converted", "sessions"])


def _mean(web_sessions, column, why, *, period, by, customers, start, as_of, confidence, total):
    period = check_period(period)
    t = _sessions(web_sessions, start, as_of, column, why)
    t = t.filter(t[column].notnull())
    df, keys = aggregate(
        t, "started_at",
        lambda x: {total: x[column].sum(), "sessions": x.count(), "_mean": x[column].mean(), "_sd": x[column].std()},
        table="web_sessions", period=period, by=by, customers=customers,
    )
    df = t_mean(fill0(df, [total, "sessions"]), "sessions", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=[total, "sessions"])


def pages_per_session(
    web_sessions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Pages per session = Σ pageviews / sessions with a pageview count.

    Unit: pages per session; t interval of the mean. Counts ``pageviews``, ``sessions``.
    """
    return _mean(web_sessions, "pageviews", "pages per session needs the pages viewed per session",
                 period=period, by=by, customers=customers, start=start, as_of=as_of,
                 confidence=confidence, total="pageviews")


def mean_session_seconds(
    web_sessions: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Mean session duration = Σ duration_seconds / sessions with a duration.

    Unit: seconds per session; t interval of the mean. Counts ``duration_seconds``, ``sessions``.
    """
    return _mean(web_sessions, "duration_seconds", "the session duration needs duration_seconds",
                 period=period, by=by, customers=customers, start=start, as_of=as_of,
                 confidence=confidence, total="duration_seconds")
