"""Page figures: exits and time on page from ``pageviews``, else exit and bounce shares from
``web_sessions``; form fills from touches.

With ``pageviews`` (one row per page seen: session_id, page, timestamp), a session's last
pageview is its exit, and the time on a page runs to the session's next pageview (the
last page of a session has none). Without it, ``web_sessions.exit_page`` and
``landing_page`` give the exit share and bounce rate by page.
"""

from __future__ import annotations

import ibis
import pandas as pd

from . import groups
from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    fill0,
    finish,
    poisson_rate,
    to_table,
    window,
)

__all__ = ["page_exits", "exit_shares", "landing_bounces", "form_fills"]


def page_exits(
    pageviews: TableLike, *, period: str | None = None, start: DateLike = None, as_of: DateLike = None,
    confidence: float = 0.95, most: int | None = 20,
) -> dict[str, pd.DataFrame]:
    """Exit rate and mean time on page per page, each tested against the other pages.

    Exit rate = sessions whose last pageview is the page / pageviews of the page (Wilson;
    higher is worse). Time on page = seconds from the pageview to the session's next one,
    mean over the pageviews that have a next one (t interval). Pageviews of a session at
    the same instant are ordered by page name. Returns ``{"exit": ..., "seconds": ...}``,
    frames of :data:`.groups.GROUP_COLUMNS` plus counts, the most viewed pages first.
    ``period``: the same per calendar period of the pageview (:func:`.groups.per_period`).
    """
    t = window(to_table(pageviews, "pageviews"), "timestamp", start=start, as_of=as_of)
    t = t.filter(t.session_id.notnull() & t.page.notnull())
    w = ibis.window(group_by=t.session_id, order_by=[t.timestamp, t.page])
    t = t.mutate(_next=t.timestamp.lead().over(w))
    secs = t._next.epoch_seconds() - t.timestamp.epoch_seconds()
    t = t.mutate(_secs=secs.cast("float64"), group=t.page)
    t, keys = groups.with_period(t, "timestamp", period)
    df = t.group_by(keys).aggregate(
        exits=t._next.isnull().sum(), pageviews=t.count(), timed=t._secs.count(),
        seconds=t._secs.sum(), _squares=(t._secs * t._secs).sum(),
    ).execute()

    def ex(d: pd.DataFrame) -> pd.DataFrame:
        return groups.proportion_groups(d[["group", "exits", "pageviews"]], "exits", "pageviews", better="lower",
                                        confidence=confidence, most=most).drop(columns="method")

    def tm(d: pd.DataFrame) -> pd.DataFrame:
        return groups.mean_groups(d[d["timed"] > 0][["group", "timed", "seconds", "_squares"]], "timed", "seconds",
                                  "_squares", better=None, confidence=confidence,
                                  most=most).drop(columns=["method", "_squares"])

    return {"exit": groups.per_period(df, ex, period=period, as_of=as_of),
            "seconds": groups.per_period(df, tm, period=period, as_of=as_of)}


def exit_shares(
    web_sessions: TableLike, *, period: str | None = None, start: DateLike = None, as_of: DateLike = None,
    confidence: float = 0.95, most: int | None = 20,
) -> pd.DataFrame:
    """Exit share per page = sessions whose ``exit_page`` is the page / sessions with an exit page.

    Wilson interval; tested against the other pages. Without page-level data this is the
    share of all exits, not an exit rate (a page seen often exits often).
    """
    t = window(to_table(web_sessions, "web_sessions"), "started_at", start=start, as_of=as_of)
    t = t.filter(t.exit_page.notnull()).mutate(group=t.exit_page)
    t, keys = groups.with_period(t, "started_at", period)
    df = t.group_by(keys).aggregate(exits=t.count()).execute()
    df["sessions"] = df.groupby([k for k in keys if k != "group"])["exits"].transform("sum") if len(keys) > 1 \
        else float(df["exits"].sum())

    def make(d: pd.DataFrame) -> pd.DataFrame:
        return groups.proportion_groups(d, "exits", "sessions", better=None, confidence=confidence, most=most,
                                        test=False).drop(columns="method")

    return groups.per_period(df, make, period=period, as_of=as_of)


def landing_bounces(
    web_sessions: TableLike, *, period: str | None = None, start: DateLike = None, as_of: DateLike = None,
    confidence: float = 0.95, most: int | None = 20,
) -> pd.DataFrame:
    """Bounce rate per landing page = single-page sessions / sessions with a pageview count
    (as :func:`.web.bounce_rate`), each landing page tested against the others."""
    t = window(to_table(web_sessions, "web_sessions"), "started_at", start=start, as_of=as_of)
    t = t.filter(t.landing_page.notnull() & t.pageviews.notnull()).mutate(group=t.landing_page)
    t, keys = groups.with_period(t, "started_at", period)
    df = t.group_by(keys).aggregate(single_page=(t.pageviews == 1).sum(), sessions=t.count()).execute()

    def make(d: pd.DataFrame) -> pd.DataFrame:
        return groups.proportion_groups(d, "single_page", "sessions", better="lower", confidence=confidence,
                                        most=most).drop(columns="method")

    return groups.per_period(df, make, period=period, as_of=as_of)


def form_fills(
    touches: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Form fills = touch rows with ``event`` ``form_submit`` (any channel), in the window or per period.

    Unit: forms submitted; exact Poisson interval (Garwood 1936) for the count. Periods
    differ in length (28–31 days a month), which a change between periods includes.
    Counts ``form_fills``.
    """
    period = check_period(period)
    t = window(to_table(touches, "touches"), "timestamp", start=start, as_of=as_of)
    t = t.filter(t.event.lower() == "form_submit")
    df, keys = aggregate(t, "timestamp", lambda x: {"form_fills": x.count()}, table="touches", period=period,
                         by=by, customers=customers)
    df = fill0(df, ["form_fills"])
    df["_one"] = 1.0
    df = poisson_rate(df, "form_fills", "_one", confidence)
    df["value"] = df["form_fills"]
    df["n"] = df["form_fills"].astype("int64")
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["form_fills"])
