"""Churn prediction: who is about to leave, how sure we are, and what it is worth.

Two settings (DESIGN.md, Churn):

- **non-contractual** (only transactions needed): at a ``cutoff`` date, features come
  only from data up to and including that day; the label is "no purchase in the
  ``inactivity_days`` days after the cutoff", among customers with at least one purchase
  in the ``feature_window_days`` days up to it. Models are trained at ``cutoff`` and
  evaluated out of time at ``test_cutoff`` (``cutoff + inactivity_days <= test_cutoff``,
  so no training label sees the test period);
- **labelled snapshot** (contractual): a customers table with a ``churned`` column;
  attributes (and transactional features, when transactions exist) predict it; there is
  no time order, so a stratified random split is used, a weaker test.

Dates: ``cutoff`` is inclusive, like ``as_of``: features use rows with a timestamp
before ``cutoff + 1 day``; the label window is the ``inactivity_days`` days that follow.
A label window is complete when ``cutoff + inactivity_days <= as_of``.

The per-customer features are Ibis expressions executed by the engine
(:func:`build_features`). Only bounded samples leave the engine: the training and test
sets (all customers, or a stratified sample of at most ``max_training_rows`` drawn in the
engine by :func:`stratified_sample`) are pulled into pandas to fit scikit-learn pipelines
(preprocessing inside the pipeline, so nothing learnt from the test set leaks into the
fit). The customers to score stay in the engine: they are streamed in batches, scored in
Python, appended to a Parquet file that the engine reads back, and ranked, counted and
exported there (:func:`score_in_batches`, :func:`rank_scores`), so the driver never holds
one row per customer for all customers. Baselines scored on the same test set: ``recency`` (days
since the last purchase: "call everyone who has not bought lately") and ``bgnbd`` (the
BG/NBD probability of no purchase in the label window, from :mod:`engage_kit.clv`).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from .activity import default_active_days
from .engine import backend_of, kind_of, sample_order, training_cap
from .errors import DataError, ModelError, ParameterError
from .stats import bootstrap_estimate, error_bars, proportion

MODES = ("non_contractual", "labelled")
MODEL_NAMES = ("logistic", "gradient_boosting")
BASELINES = ("recency", "bgnbd")
DAY_SECONDS = 86400.0
# customers scored per batch: one batch of features, probabilities and reasons in memory at a time
SCORING_CHUNK_ROWS = 50_000

# readable names for the features the builder makes (used in reasons and charts)
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "days since last purchase",
    "tenure_days": "days since first purchase",
    "orders_total": "orders, all time",
    "orders_window": "orders in the feature window",
    "spend_window": "spend in the feature window",
    "avg_order_value": "average order value",
    "gap_mean_days": "mean days between orders",
    "gap_std_days": "spread of days between orders",
    "gap_max_days": "longest gap between orders",
    "recency_to_gap": "days since last purchase ÷ usual gap",
    "orders_recent": "orders in the last trend period",
    "orders_prior": "orders in the trend period before",
    "orders_trend": "change in orders (last vs prior period)",
    "spend_trend": "change in spend (last vs prior period)",
    "returns_window": "returns in the feature window",
    "return_amount_window": "returned amount in the feature window",
    "opens": "message opens",
    "clicks": "message clicks",
    "open_rate": "open rate",
    "unsubscribes": "unsubscribes",
    "conversions": "campaign conversions",
    "social_interactions": "social interactions",
    "event_attendance": "events attended",
    "days_since_engagement": "days since last engagement",
    "sessions": "web sessions",
    "sessions_recent": "web sessions in the last trend period",
    "pageviews": "pageviews",
    "days_since_session": "days since last web session",
    "last_nps": "last NPS score",
    "last_csat": "last CSAT score",
    "last_ces": "last CES score",
    "tickets_window": "support tickets",
    "unresolved_tickets": "unresolved tickets at the cutoff",
    "handle_seconds_mean": "mean handle time (s)",
    "contacts_mean": "contacts per resolved ticket",
    "account_age_days": "days since signup",
    "acquisition_channel": "acquisition channel",
}


def _table(t: Any) -> ibis.Table | None:
    """An Ibis table from an Ibis table or a pandas DataFrame (None stays None)."""
    if t is None:
        return None
    if isinstance(t, pd.DataFrame):
        return ibis.memtable(t)
    return t


def _day_end(day: Any) -> pd.Timestamp:
    """The first instant after an inclusive date."""
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1)


def _epoch(ts: pd.Timestamp) -> float:
    return float(pd.Timestamp(ts).timestamp())


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise ParameterError(f"{name} must be a whole number of at least {low}; got {value!r}")
    return int(value)


# --- dates ---------------------------------------------------------------------------


def resolve_cutoffs(
    as_of: Any,
    *,
    cutoff: Any = None,
    test_cutoff: Any = None,
    inactivity_days: int = 90,
    data_start: Any = None,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The training and test cutoffs of the out-of-time split, checked.

    Defaults: ``test_cutoff = as_of - inactivity_days`` (the latest cutoff whose label
    window is complete) and ``cutoff = test_cutoff - inactivity_days`` (the latest
    training cutoff whose labels end before the test period starts).

    Parameters
    ----------
    as_of : date
        Last day of the data (inclusive).
    cutoff, test_cutoff : date, optional
        Training and test cutoffs (inclusive days).
    inactivity_days : int
        Length of the label window in days.
    data_start : date, optional
        First day of the data; the training cutoff must come after it.

    Returns
    -------
    (cutoff, test_cutoff) : tuple of pd.Timestamp

    Raises
    ------
    ParameterError
        When a label window would pass the end of the data, or the training labels would
        overlap the test period.
    """
    inactivity_days = _check_int("inactivity_days", inactivity_days)
    as_of = pd.Timestamp(as_of).normalize()
    window = pd.Timedelta(days=inactivity_days)
    test_cutoff = as_of - window if test_cutoff is None else pd.Timestamp(test_cutoff).normalize()
    cutoff = test_cutoff - window if cutoff is None else pd.Timestamp(cutoff).normalize()
    latest = as_of - window
    if test_cutoff + window > as_of:
        raise ParameterError(
            f"test_cutoff {test_cutoff.date()}: its label window of {inactivity_days} days ends "
            f"{(test_cutoff + window).date()}, past the end of the data (as_of {as_of.date()}); "
            f"choose test_cutoff on or before {latest.date()} or a shorter inactivity_days"
        )
    if cutoff + window > test_cutoff:
        raise ParameterError(
            f"cutoff {cutoff.date()}: its label window of {inactivity_days} days ends "
            f"{(cutoff + window).date()}, after test_cutoff {test_cutoff.date()}, so training labels "
            f"would see the test period; choose cutoff on or before {(test_cutoff - window).date()}"
        )
    if data_start is not None and cutoff < pd.Timestamp(data_start).normalize():
        raise ParameterError(
            f"cutoff {cutoff.date()} is before the first transaction ({pd.Timestamp(data_start).date()}): "
            "no customer can have bought before it; choose a later cutoff or a shorter inactivity_days"
        )
    return cutoff, test_cutoff


# --- features ------------------------------------------------------------------------


def build_features(
    purchases: Any,
    *,
    cutoff: Any,
    feature_window_days: int = 365,
    trend_days: int = 90,
    population: Any = None,
    returns: Any = None,
    customers: Any = None,
    touches: Any = None,
    surveys: Any = None,
    tickets: Any = None,
    web_sessions: Any = None,
) -> ibis.Table:
    """Per-customer churn features at ``cutoff``, as one Ibis expression.

    Only rows with a timestamp before ``E = cutoff + 1 day`` are read (``cutoff`` is
    inclusive); the feature window is ``[E - feature_window_days, E)``. Nothing after
    the cutoff enters: tickets count as unresolved when they were not resolved before
    ``E``, and handle time and contacts come only from tickets resolved before ``E``.

    Features (days are 86,400 s, fractional):

    - ``recency_days`` = (E - last purchase) / day; ``tenure_days`` = (E - first purchase);
    - ``orders_total`` (all history), ``orders_window``, ``spend_window``,
      ``avg_order_value`` = spend_window / orders_window;
    - inter-purchase gaps over all history: ``gap_mean_days``, ``gap_std_days``,
      ``gap_max_days``; ``recency_to_gap`` = recency_days / max(gap_mean_days, 1) ("overdue";
      the usual gap counts as at least one day, so two orders minutes apart do not make
      every later day look thousands of gaps overdue);
    - trend: ``orders_recent`` (last ``trend_days``), ``orders_prior`` (the
      ``trend_days`` before), ``orders_trend`` = recent - prior, ``spend_trend`` likewise;
    - returns in the window (``returns`` given): ``returns_window``, ``return_amount_window``;
    - touches in the window: ``opens``, ``clicks`` (non-social), ``open_rate`` = opens /
      delivered, ``unsubscribes``, ``conversions``, ``social_interactions`` (social like,
      share, comment, click), ``event_attendance``, ``days_since_engagement``;
    - web sessions: ``sessions``, ``sessions_recent``, ``pageviews`` (window),
      ``days_since_session``;
    - surveys: ``last_nps``, ``last_csat``, ``last_ces`` (latest answer before E);
    - tickets: ``tickets_window``, ``unresolved_tickets``, ``handle_seconds_mean``,
      ``contacts_mean``;
    - customers: ``account_age_days`` (from signup_at), ``acquisition_channel`` and every
      other attribute column (``churned`` never: it is a label).

    Parameters
    ----------
    purchases : Ibis table or DataFrame
        Orders that are purchases: customer_id, timestamp, amount.
    cutoff : date
        The last day of data the features may use (inclusive).
    feature_window_days : int
        Length of the feature window (days); the population is every customer with at
        least one purchase in it, unless ``population`` is given.
    trend_days : int
        Length of each of the two periods compared by the trend features (days).
    population : Ibis table or DataFrame, optional
        Customers to build features for (a ``customer_id`` column), e.g. every customer of
        a labelled snapshot; they need not have purchases.
    returns, customers, touches, surveys, tickets, web_sessions : optional
        The optional canonical tables (``returns``: orders with amount < 0).

    Returns
    -------
    ibis.Table
        One row per customer: ``customer_id`` and the features.
    """
    feature_window_days = _check_int("feature_window_days", feature_window_days)
    trend_days = _check_int("trend_days", trend_days)
    end = _day_end(cutoff)
    E = _epoch(end)
    start_e = E - feature_window_days * DAY_SECONDS
    recent_e = E - trend_days * DAY_SECONDS
    prior_e = E - 2 * trend_days * DAY_SECONDS
    end_dt = end.to_pydatetime()

    def days_since(col: ibis.Value) -> ibis.Value:
        return (ibis.literal(E) - col) / DAY_SECONDS

    def secs(col: ibis.Value) -> ibis.Value:
        return col.epoch_seconds().cast("float64")

    p = _table(purchases)
    p = p.filter(p.timestamp < end_dt, p.customer_id.notnull())
    p = p.select("customer_id", e=secs(p.timestamp), amount=p.amount.cast("float64"))
    w = ibis.window(group_by="customer_id", order_by="e")
    p = p.mutate(gap=(p.e - p.e.lag().over(w)) / DAY_SECONDS)
    in_win = p.e >= start_e
    agg = p.group_by("customer_id").aggregate(
        _first=p.e.min(),
        _last=p.e.max(),
        orders_total=p.count(),
        orders_window=in_win.cast("int64").sum(),
        spend_window=p.amount.sum(where=in_win),
        gap_mean_days=p.gap.mean(),
        gap_std_days=p.gap.std(),
        gap_max_days=p.gap.max(),
        orders_recent=(p.e >= recent_e).cast("int64").sum(),
        orders_prior=((p.e >= prior_e) & (p.e < recent_e)).cast("int64").sum(),
        _spend_recent=p.amount.sum(where=p.e >= recent_e),
        _spend_prior=p.amount.sum(where=(p.e >= prior_e) & (p.e < recent_e)),
    )
    agg = agg.mutate(
        recency_days=days_since(agg._last),
        tenure_days=days_since(agg._first),
        spend_window=agg.spend_window.fill_null(0.0),
        avg_order_value=ibis.ifelse(agg.orders_window > 0, agg.spend_window / agg.orders_window, ibis.null("float64")),
        orders_trend=agg.orders_recent - agg.orders_prior,
        spend_trend=agg._spend_recent.fill_null(0.0) - agg._spend_prior.fill_null(0.0),
    )
    agg = agg.mutate(
        recency_to_gap=ibis.ifelse(
            agg.gap_mean_days.notnull(), agg.recency_days / ibis.greatest(agg.gap_mean_days, 1.0), ibis.null("float64")
        )
    ).drop("_first", "_last", "_spend_recent", "_spend_prior")

    if population is None:
        base = agg.filter(agg.orders_window > 0)
    else:
        pop = _table(population)
        pop = pop.filter(pop.customer_id.notnull()).select("customer_id").distinct()
        base = _left(pop, agg, zero=["orders_total", "orders_window", "spend_window", "orders_recent",
                                     "orders_prior", "orders_trend", "spend_trend"])

    if returns is not None:
        r = _table(returns)
        r = r.filter(r.timestamp < end_dt, r.timestamp >= (end - pd.Timedelta(days=feature_window_days)).to_pydatetime())
        ra = r.group_by("customer_id").aggregate(
            returns_window=r.count(), return_amount_window=(-r.amount.cast("float64")).sum()
        )
        base = _left(base, ra, zero=["returns_window", "return_amount_window"])

    if touches is not None:
        t = _table(touches)
        t = t.filter(t.timestamp < end_dt, t.customer_id.notnull())
        t = t.mutate(_e=secs(t.timestamp), _ev=t.event.lower().strip(), _ch=t.channel.lower().strip())
        inw = t._e >= start_e
        social = (t._ch == "social") & t._ev.isin(["like", "share", "comment", "click"])
        engaged = t._ev.isin(["open", "click", "like", "share", "comment", "conversion", "attendance", "interaction"])
        ta = t.group_by("customer_id").aggregate(
            opens=((t._ev == "open") & inw).cast("int64").sum(),
            clicks=((t._ev == "click") & (t._ch != "social") & inw).cast("int64").sum(),
            _delivered=((t._ev == "delivered") & inw).cast("int64").sum(),
            unsubscribes=((t._ev == "unsubscribe") & inw).cast("int64").sum(),
            conversions=((t._ev == "conversion") & inw).cast("int64").sum(),
            social_interactions=(social & inw).cast("int64").sum(),
            event_attendance=((t._ev == "attendance") & inw).cast("int64").sum(),
            _last_engaged=t._e.max(where=engaged),
        )
        ta = ta.mutate(
            open_rate=ibis.ifelse(ta._delivered > 0, ta.opens / ta._delivered, ibis.null("float64")),
            days_since_engagement=days_since(ta._last_engaged),
        ).drop("_delivered", "_last_engaged")
        base = _left(base, ta, zero=["opens", "clicks", "unsubscribes", "conversions", "social_interactions",
                                     "event_attendance"])

    if web_sessions is not None:
        s = _table(web_sessions)
        s = s.filter(s.started_at < end_dt, s.customer_id.notnull())
        s = s.mutate(_e=secs(s.started_at))
        sa = s.group_by("customer_id").aggregate(
            sessions=(s._e >= start_e).cast("int64").sum(),
            sessions_recent=(s._e >= recent_e).cast("int64").sum(),
            pageviews=s.pageviews.cast("float64").sum(where=s._e >= start_e),
            _last=s._e.max(),
        )
        sa = sa.mutate(days_since_session=days_since(sa._last), pageviews=sa.pageviews.fill_null(0.0)).drop("_last")
        base = _left(base, sa, zero=["sessions", "sessions_recent", "pageviews"])

    if surveys is not None:
        v = _table(surveys)
        v = v.filter(v.timestamp < end_dt, v.customer_id.notnull(), v.score.notnull())
        kind = v.kind.lower().strip()
        va = v.group_by("customer_id").aggregate(
            **{f"last_{k}": v.score.cast("float64").argmax(v.timestamp, where=kind == k) for k in ("nps", "csat", "ces")}
        )
        base = _left(base, va)

    if tickets is not None:
        k = _table(tickets)
        k = k.filter(k.opened_at < end_dt, k.customer_id.notnull())
        resolved = k.resolved_at.notnull() & (k.resolved_at < end_dt)
        inw = k.opened_at >= (end - pd.Timedelta(days=feature_window_days)).to_pydatetime()
        ka = k.group_by("customer_id").aggregate(
            tickets_window=inw.cast("int64").sum(),
            unresolved_tickets=(~resolved).cast("int64").sum(),
            handle_seconds_mean=k.handle_seconds.cast("float64").mean(where=resolved & inw),
            contacts_mean=k.contacts.cast("float64").mean(where=resolved & inw),
        )
        base = _left(base, ka, zero=["tickets_window", "unresolved_tickets"])

    if customers is not None:
        c = _table(customers)
        keep = [col for col in c.columns if col not in ("customer_id", "signup_at", "churned")]
        exprs: dict[str, ibis.Value] = {col: c[col] for col in keep}
        if "signup_at" in c.columns:
            se = secs(c.signup_at)
            exprs["account_age_days"] = ibis.ifelse(c.signup_at < end_dt, days_since(se), ibis.null("float64"))
        ca = c.filter(c.customer_id.notnull()).select("customer_id", **exprs)
        ca = ca.distinct(on="customer_id", keep="first")
        base = _left(base, ca)
    return base


def _left(base: ibis.Table, other: ibis.Table, *, zero: Sequence[str] = ()) -> ibis.Table:
    """``base`` left-joined with ``other`` on customer_id; ``zero`` columns: null -> 0."""
    cols = [c for c in other.columns if c != "customer_id"]
    j = base.left_join(other, base.customer_id == other.customer_id)
    out = j.select(base, *[other[c] for c in cols])
    fills = {c: out[c].fill_null(0) for c in zero if c in cols}
    return out.mutate(**fills) if fills else out


def churn_labels(purchases: Any, population: Any, *, cutoff: Any, inactivity_days: int = 90) -> ibis.Table:
    """The label: no purchase in the ``inactivity_days`` days after the cutoff.

    ``churned = 1`` when a customer of ``population`` has no purchase with a timestamp in
    ``[cutoff + 1 day, cutoff + 1 day + inactivity_days)``.

    Returns an Ibis table: customer_id, churned (int 0/1).
    """
    inactivity_days = _check_int("inactivity_days", inactivity_days)
    end = _day_end(cutoff)
    stop = end + pd.Timedelta(days=inactivity_days)
    p = _table(purchases)
    later = (
        p.filter(p.timestamp >= end.to_pydatetime(), p.timestamp < stop.to_pydatetime())
        .select("customer_id")
        .distinct()
        .mutate(_bought=ibis.literal(1))
    )
    pop = _table(population).select("customer_id")
    j = pop.left_join(later, pop.customer_id == later.customer_id)
    return j.select(pop.customer_id, churned=(1 - j._bought.fill_null(0)).cast("int64"))


def churn_table(
    purchases: Any,
    *,
    cutoff: Any,
    inactivity_days: int = 90,
    feature_window_days: int = 365,
    as_of: Any = None,
    trend_days: int = 90,
    **tables: Any,
) -> ibis.Table:
    """Features at ``cutoff`` and the label after it, as one Ibis expression (nothing runs).

    The customers are those active in the feature window before the cutoff; see
    :func:`churn_frame` for the parameters.

    Returns
    -------
    ibis.Table
        customer_id, the features, and ``churned`` (0/1).

    Raises
    ------
    ParameterError
        The label window ends after ``as_of``.
    """
    inactivity_days = _check_int("inactivity_days", inactivity_days)
    cutoff = pd.Timestamp(cutoff).normalize()
    if as_of is not None and cutoff + pd.Timedelta(days=inactivity_days) > pd.Timestamp(as_of).normalize():
        raise ParameterError(
            f"cutoff {cutoff.date()}: the label window of {inactivity_days} days ends "
            f"{(cutoff + pd.Timedelta(days=inactivity_days)).date()}, past the end of the data "
            f"(as_of {pd.Timestamp(as_of).date()}); choose a cutoff on or before "
            f"{(pd.Timestamp(as_of).normalize() - pd.Timedelta(days=inactivity_days)).date()}"
        )
    feats = build_features(
        purchases, cutoff=cutoff, feature_window_days=feature_window_days, trend_days=trend_days, **tables
    )
    labels = churn_labels(purchases, feats.select("customer_id"), cutoff=cutoff, inactivity_days=inactivity_days)
    j = feats.join(labels, feats.customer_id == labels.customer_id)
    return j.select(feats, labels.churned)


def _check_history(first: Any, as_of: pd.Timestamp, inactivity_days: int) -> None:
    """Raise :class:`ModelError` when the data are shorter than the two label windows the
    default cutoffs need (one to train on, one to test on): too little history, not a bad
    parameter, so a report skips the analysis and says why."""
    if first is None or pd.isna(first):
        raise ModelError("table transactions: no purchases, so there is no one to predict churn for")
    first = pd.Timestamp(first).normalize()
    need = 2 * inactivity_days
    if (as_of - first).days < need:
        raise ModelError(
            f"the data cover {(as_of - first).days + 1:,} day(s) ({first.date()} to {as_of.date()}): churn prediction "
            f"needs at least {need:,} days of history before as_of, one label window of {inactivity_days} days "
            "(inactivity_days) to train on and one to test on; use more history, or a shorter window that fits "
            f"these data (at most {(as_of - first).days // 2:,} days): active_days in the config, or "
            "notebooks.churn_prediction.inactivity_days"
        )


def _nobody_active(feature_window_days: int, cutoff: Any) -> DataError:
    return DataError(
        f"table transactions: no customer has a purchase in the {feature_window_days} days up to the "
        f"cutoff {pd.Timestamp(cutoff).date()}, so there is nobody to predict churn for; choose a later cutoff "
        "or a longer feature_window_days"
    )


def _nobody_to_score(feature_window_days: int, as_of: Any) -> DataError:
    return DataError(
        f"table transactions: no customer has a purchase in the {feature_window_days} days up to "
        f"as_of {pd.Timestamp(as_of).date()}; there is nobody to score"
    )


def churn_frame(
    purchases: Any,
    *,
    cutoff: Any,
    inactivity_days: int = 90,
    feature_window_days: int = 365,
    as_of: Any = None,
    trend_days: int = 90,
    **tables: Any,
) -> pd.DataFrame:
    """Features at ``cutoff`` and the label after it, for the customers active before it.

    :func:`churn_table` executed into pandas (one row per customer: for small data and
    inspection; :func:`run_churn_study` only pulls bounded samples).

    Parameters
    ----------
    purchases : Ibis table or DataFrame
        Purchase orders (customer_id, timestamp, amount).
    cutoff : date
        Inclusive last day of the features.
    inactivity_days, feature_window_days, trend_days : int
        See :func:`build_features` and :func:`churn_labels`.
    as_of : date, optional
        Last day of the data; the label window must end on or before it.
    **tables
        Optional tables passed to :func:`build_features`.

    Returns
    -------
    DataFrame
        customer_id, the features, and ``churned`` (0/1).

    Raises
    ------
    ParameterError
        The label window ends after ``as_of``.
    DataError
        No customer bought in the feature window before the cutoff.
    """
    t = churn_table(purchases, cutoff=cutoff, inactivity_days=inactivity_days, feature_window_days=feature_window_days,
                    as_of=as_of, trend_days=trend_days, **tables)
    df = t.order_by("customer_id").execute()
    if df.empty:
        raise _nobody_active(feature_window_days, cutoff)
    return df


def scoring_frame(
    purchases: Any, *, as_of: Any, feature_window_days: int = 365, trend_days: int = 90, **tables: Any
) -> pd.DataFrame:
    """Features at ``as_of`` for the customers active in the feature window up to it (in pandas)."""
    df = build_features(
        purchases, cutoff=as_of, feature_window_days=feature_window_days, trend_days=trend_days, **tables
    ).order_by("customer_id").execute()
    if df.empty:
        raise _nobody_to_score(feature_window_days, as_of)
    return df


# --- bounded samples drawn in the engine -----------------------------------------------


def allocate(counts: dict[Any, int], total: int, *, minimum: int = 1) -> dict[Any, int]:
    """Share ``total`` rows out over classes in proportion to their sizes.

    Each class gets round(total * n_class / n) rows by the largest-remainder method (the
    shares add up to exactly ``total``; equal remainders go to the smaller class label),
    at least ``minimum`` of each non-empty class and never more than the class holds.
    """
    n = sum(counts.values())
    keys = sorted(k for k, v in counts.items() if v > 0)
    total = int(min(total, n))
    if not keys or total <= 0:
        return dict.fromkeys(counts, 0)
    exact = {k: total * counts[k] / n for k in keys}
    out = {k: int(math.floor(exact[k])) for k in keys}
    left = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    for k in keys:  # at least `minimum` of each class, taken from the largest classes
        while out[k] < min(minimum, counts[k]):
            donor = max((d for d in keys if d != k and out[d] > minimum), key=lambda d: out[d], default=None)
            if donor is None:
                break
            out[donor] -= 1
            out[k] += 1
    return {k: min(out.get(k, 0), counts[k]) for k in counts}


def class_counts(table: ibis.Table, label: str = "churned") -> dict[int, int]:
    """Rows per label value (0/1), counted in the engine; rows with no label are left out."""
    t = table.filter(table[label].notnull())
    df = t.group_by(label).aggregate(n=t.count()).execute()
    out = {0: 0, 1: 0}
    out.update({int(k): int(v) for k, v in zip(df[label], df["n"], strict=True)})
    return out


def stratified_sample(
    table: ibis.Table,
    max_rows: int | None,
    *,
    random_state: int = 0,
    label: str = "churned",
    counts: dict[int, int] | None = None,
) -> ibis.Table:
    """A stratified sample of at most ``max_rows`` rows, drawn in the engine.

    Each class keeps round(max_rows * n_class / n) rows (:func:`allocate`: at least one
    of each class), the first ones by :func:`~engage_kit.engine.sample_order`, so DuckDB and Spark keep the
    same customers for a given ``random_state``. The whole table is returned when
    ``max_rows`` is None or not smaller than the table.

    Parameters
    ----------
    table : ibis.Table
        customer_id and a 0/1 ``label`` column.
    max_rows : int or None
        The cap.
    random_state : int
        Mixed into the sort key.
    counts : dict, optional
        Rows per class, when already known (:func:`class_counts`).

    Returns
    -------
    ibis.Table
        The sample (same columns), unordered.
    """
    counts = counts if counts is not None else class_counts(table, label)
    if max_rows is None or sum(counts.values()) <= max_rows:
        return table
    keep = allocate(counts, int(max_rows))
    return _first_by_key(table, keep, random_state=random_state, label=label)


def _first_by_key(table: ibis.Table, keep: dict[int, int], *, random_state: int, label: str,
                  invert: bool = False) -> ibis.Table:
    """The first ``keep[c]`` rows of each class ``c`` by :func:`~engage_kit.engine.sample_order` (or all the others)."""
    key = sample_order(table.customer_id, random_state)
    w = ibis.window(group_by=table[label], order_by=[key, table.customer_id])
    t = table.mutate(_ek_pos=ibis.row_number().over(w))
    limit = ibis.literal(0)
    for cls, k in keep.items():
        limit = ibis.ifelse(t[label] == int(cls), ibis.literal(int(k)), limit)
    chosen = t._ek_pos < limit
    return t.filter(~chosen if invert else chosen).drop("_ek_pos")


def _fetch(table: ibis.Table) -> pd.DataFrame:
    """A bounded table into pandas, ordered by customer_id (the same conversion as the batches)."""
    return table.order_by("customer_id").to_pyarrow().to_pandas()


def churn_tables(ds: Any) -> dict[str, ibis.Table]:
    """The tables of a :class:`~engage_kit.loaders.Dataset` that the feature builder uses."""
    out: dict[str, ibis.Table] = {}
    if ds.has("transactions"):
        o = ds.orders
        out["purchases"] = o.filter(~o.is_return)
        out["returns"] = o.filter(o.is_return)
    for name in ("customers", "touches", "surveys", "tickets", "web_sessions"):
        if ds.has(name):
            out[name] = ds[name]
    return out


# --- preparing columns for the models ------------------------------------------------


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)


@dataclass
class ColumnPlan:
    """How to type each column, decided once on the training sample (:func:`plan_columns`).

    ``kinds`` maps a column to its conversion: ``bool`` (to 0/1), ``number_text`` (text
    parsed as numbers), ``bool_text`` (true/false text to 0/1), ``text`` (stripped, blanks
    missing) or ``number`` (to float); columns not listed are left as they are.
    ``numeric`` and ``categorical`` are the model inputs.
    """

    kinds: dict[str, str]
    numeric: list[str]
    categorical: list[str]
    notes: list[str]


def _stripped(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA)


def _bool_float(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    # a batch whose boolean column has missing values arrives as objects (True/False/None)
    return _stripped(s).str.lower().map({"true": 1.0, "false": 0.0}).astype("float64")


def _convert(s: pd.Series, kind: str) -> pd.Series:
    if kind in ("bool", "bool_text"):
        return _bool_float(s)
    if kind == "number_text":
        return pd.to_numeric(_stripped(s), errors="coerce").astype("float64")
    if kind == "text":
        text = _stripped(s)
        return text.astype(object).where(text.notna(), np.nan)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def plan_columns(
    df: pd.DataFrame, *, exclude: Sequence[str] = ("customer_id", "churned"), max_levels: int = 50
) -> ColumnPlan:
    """Decide how to type the feature columns, on a (training) sample.

    A text column becomes numeric when at least 95% of its non-blank values parse as
    numbers (e.g. the Telco file's ``TotalCharges``, blank for new subscribers).
    Booleans become 0/1. Text columns with more than ``max_levels`` distinct values and
    more than half as many values as rows (ids, e-mail addresses) are dropped, as are
    columns with a single value. :func:`apply_columns` applies the plan to any batch.
    """
    kinds: dict[str, str] = {}
    numeric: list[str] = []
    categorical: list[str] = []
    notes: list[str] = []
    n = len(df)
    for col in df.columns:
        if col in exclude:
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            kind = "bool"
        elif _is_text(s):
            text = _stripped(s)
            filled = int(text.notna().sum())
            num = pd.to_numeric(text, errors="coerce")
            if filled and num.notna().sum() >= 0.95 * filled:
                kind = "number_text"
            elif filled and text.str.lower().dropna().isin(["true", "false"]).all():
                kind = "bool_text"
            else:
                kinds[col] = "text"
                levels = text.nunique(dropna=True)
                if levels == 0:  # an empty optional column
                    continue
                if levels <= 1:
                    notes.append(f"column '{col}' has a single value and is not used")
                elif levels > max_levels and levels > 0.5 * n:
                    notes.append(f"column '{col}' looks like an identifier ({levels:,} distinct values) and is not used")
                else:
                    categorical.append(col)
                continue
        elif pd.api.types.is_numeric_dtype(s):
            kind = "number"
        else:
            continue
        kinds[col] = kind
        values = _convert(s, kind)
        if values.nunique(dropna=True) <= 1 and values.notna().all():
            notes.append(f"column '{col}' has a single value and is not used")
            continue
        if values.isna().all():
            continue
        numeric.append(col)
    return ColumnPlan(kinds=kinds, numeric=numeric, categorical=categorical, notes=notes)


def apply_columns(df: pd.DataFrame, plan: ColumnPlan) -> pd.DataFrame:
    """Type a frame (the sample, or one batch of customers to score) as ``plan`` says."""
    out = df.copy()
    for col, kind in plan.kinds.items():
        if col in out.columns:
            out[col] = _convert(out[col], kind)
    return out


def prepare_columns(
    df: pd.DataFrame, *, exclude: Sequence[str] = ("customer_id", "churned"), max_levels: int = 50
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """Type the feature columns: numeric text becomes numbers, ids and constants are dropped.

    :func:`plan_columns` then :func:`apply_columns` on the same frame.

    Returns
    -------
    (frame, numeric, categorical, notes)
    """
    plan = plan_columns(df, exclude=exclude, max_levels=max_levels)
    return apply_columns(df, plan), plan.numeric, plan.categorical, plan.notes


# --- models --------------------------------------------------------------------------


def make_model(
    name: str,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    random_state: int = 0,
    class_weight: Any = None,
):
    """A scikit-learn Pipeline: preprocessing (ColumnTransformer) and a classifier.

    ``logistic``: median imputation with missing-value indicators and standardisation
    for numbers, one-hot encoding for categories (unknown levels ignored), then an L2
    logistic regression (C = 1). ``gradient_boosting``: numbers as they are (missing
    values handled by the trees), one-hot categories, then
    ``HistGradientBoostingClassifier`` (learning rate 0.1, 15 leaves, at least 40
    customers per leaf, early stopping on 10% of the training rows).
    ``class_weight`` ("balanced" or None) re-weights classes in the fit; the test set is
    never resampled.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    onehot = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    if name == "logistic":
        num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())])
        pre = ColumnTransformer([("num", num, list(numeric)), ("cat", onehot, list(categorical))])
        clf = LogisticRegression(C=1.0, max_iter=5000, class_weight=class_weight)
    elif name == "gradient_boosting":
        pre = ColumnTransformer([("num", "passthrough", list(numeric)), ("cat", onehot, list(categorical))])
        clf = HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            class_weight=class_weight,
            random_state=random_state,
        )
    else:
        raise ParameterError(f"unknown model '{name}'; models are chosen from {', '.join(MODEL_NAMES)}")
    return Pipeline([("prepare", pre), ("model", clf)])


def recency_baseline():
    """The ``recency`` baseline as a Pipeline: logistic regression on log(1 + recency_days).

    The ranking (and so ROC-AUC, PR-AUC and lift) is that of days since the last
    purchase; the one-variable fit only turns it into a probability for the Brier score.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pre = ColumnTransformer(
        [("recency", Pipeline([("impute", SimpleImputer(strategy="median")), ("log", FunctionTransformer(np.log1p))]),
          ["recency_days"])]
    )
    return Pipeline([("prepare", pre), ("model", LogisticRegression(max_iter=1000))])


def _check_two_classes(y: np.ndarray, where: str) -> None:
    classes = np.unique(y)
    if classes.size < 2:
        only = "churned" if classes.size and classes[0] == 1 else "stayed"
        raise ModelError(
            f"{where}: every one of the {y.size:,} customers {only}; a model needs both churners and "
            "customers who stayed. Choose another cutoff or inactivity_days"
        )


# --- evaluation ----------------------------------------------------------------------


def _ranking(score: np.ndarray) -> np.ndarray:
    """Order of customers by descending score (ties kept in input order)."""
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")


def top_decile_lift(y: Any, score: Any, *, fraction: float = 0.1) -> float:
    """Churn rate among the top ``fraction`` by score divided by the overall churn rate.

    The top group is the first ceil(fraction * n) customers by descending score.
    """
    y = np.asarray(y, dtype=float)
    if y.size == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, math.ceil(fraction * y.size))
    top = y[_ranking(score)[:k]]
    return float(top.mean() / y.mean())


def gains_table(y: Any, score: Any, *, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score decile (1 = highest scores).

    Columns: decile, customers, churners, churn_rate, share_contacted, share_of_churners
    (cumulative share of all churners found), lift (decile churn rate / overall rate),
    cumulative_lift.
    """
    y = np.asarray(y, dtype=float)
    order = _ranking(score)
    groups = np.array_split(y[order], bins)
    total = y.sum()
    rows = []
    cum_n = cum_k = 0.0
    for i, g in enumerate(groups, start=1):
        cum_n += g.size
        cum_k += g.sum()
        rows.append(
            {
                "decile": i,
                "customers": int(g.size),
                "churners": int(g.sum()),
                "churn_rate": float(g.mean()) if g.size else float("nan"),
                "share_contacted": cum_n / y.size,
                "share_of_churners": cum_k / total if total else float("nan"),
                "lift": float(g.mean() / y.mean()) if g.size and y.mean() else float("nan"),
                "cumulative_lift": float((cum_k / cum_n) / y.mean()) if y.mean() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def roc_auc(y: Any, score: Any) -> float:
    """ROC-AUC by the Mann-Whitney rank formula (ties count one half).

    AUC = (sum of the ranks of the positives - n1 (n1 + 1) / 2) / (n1 n0)
    (Hanley and McNeil 1982); the same value as ``sklearn.metrics.roc_auc_score``,
    fast enough to bootstrap. NaN when only one class is present.
    """
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=float)
    n1 = y.sum()
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y: Any, score: Any) -> float:
    """PR-AUC as average precision: AP = sum_k (R_k - R_(k-1)) P_k over distinct thresholds.

    The step-wise area of ``sklearn.metrics.average_precision_score`` (no interpolation);
    tied scores form one threshold. NaN when there is no positive.
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def evaluate_scores(
    y: Any,
    score: Any,
    *,
    probability: Any = None,
    n_boot: int = 200,
    random_state: int = 0,
) -> dict[str, Any]:
    """Discrimination and calibration of one set of churn scores.

    ROC-AUC and PR-AUC (average precision) come with percentile bootstrap intervals
    over customers (:func:`engage_kit.stats.bootstrap_estimate`); the Brier score is
    mean((p - y)^2) on ``probability`` (default: ``score``); top-decile lift is
    :func:`top_decile_lift`.

    Returns
    -------
    dict
        roc_auc (Estimate), pr_auc (Estimate), brier, top_decile_lift.
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    p = s if probability is None else np.asarray(probability, dtype=float)
    data = np.column_stack([y, s])
    auc = bootstrap_estimate(lambda d: roc_auc(d[:, 0], d[:, 1]), data, n_boot=n_boot, random_state=random_state)
    ap = bootstrap_estimate(lambda d: average_precision(d[:, 0], d[:, 1]), data, n_boot=n_boot,
                            random_state=random_state)
    return {
        "roc_auc": auc,
        "pr_auc": ap,
        "brier": float(np.mean((p - y) ** 2)),
        "top_decile_lift": top_decile_lift(y, s),
    }


def calibration_table(y: Any, probability: Any, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn rate in ``bins`` groups of equal size.

    Columns: bin, customers, predicted, observed, low, high (Wilson interval of the
    observed rate).
    """
    from .stats import wilson_interval

    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if idx.size == 0:
            continue
        k = y[idx].sum()
        lo, hi = wilson_interval(k, idx.size)
        rows.append({"bin": i, "customers": int(idx.size), "predicted": float(p[idx].mean()),
                     "observed": float(k / idx.size), "low": lo, "high": hi})
    return pd.DataFrame(rows)


def contact_rule(
    probability: Any,
    *,
    threshold: float | None = None,
    value: Any = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    top_fraction: float = 0.1,
) -> tuple[np.ndarray, str]:
    """Which customers to contact, and the rule in words.

    - ``threshold`` given: contact when churn probability >= threshold;
    - else ``contact_cost`` and ``value`` given: contact when the expected value saved
      exceeds the cost, p * save_rate * value > contact_cost (the expected-value-maximising
      decision for each customer);
    - else the top ``top_fraction`` (default the top decile) by probability.

    Returns
    -------
    (mask, description)
    """
    p = np.asarray(probability, dtype=float)
    kind, text = _rule_kind(threshold=threshold, has_value=value is not None, contact_cost=contact_cost,
                            save_rate=save_rate, top_fraction=top_fraction)
    if kind == "threshold":
        return p >= float(threshold), text
    if kind == "expected_value":
        v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
        return (p * save_rate * v > float(contact_cost)), text
    k = _top_count(p.size, top_fraction)
    mask = np.zeros(p.size, dtype=bool)
    mask[_ranking(p)[:k]] = True
    return mask, text


def _top_count(n: int, top_fraction: float = 0.1) -> int:
    """How many customers the top-fraction rule contacts: ceil(fraction * n), at least one."""
    return max(1, math.ceil(top_fraction * n)) if n else 0


def _rule_kind(*, threshold: float | None, has_value: bool, contact_cost: float | None, save_rate: float,
               top_fraction: float = 0.1) -> tuple[str, str]:
    """Which contact rule applies (``threshold``, ``expected_value`` or ``top``) and its words."""
    if threshold is not None:
        if not 0 <= float(threshold) <= 1:
            raise ParameterError(f"threshold must be a churn probability between 0 and 1; got {threshold!r}")
        return "threshold", f"the customers with a churn probability of at least {float(threshold):.0%}"
    if contact_cost is not None and has_value:
        _check_costs(contact_cost, save_rate)
        return "expected_value", (
            f"the customers whose expected saving (churn probability x {save_rate:.0%} kept x yearly value) "
            f"exceeds the contact cost of {float(contact_cost):,.2f}"
        )
    return "top", f"the top {top_fraction:.0%} by churn probability"


def _check_costs(contact_cost: Any, save_rate: Any) -> None:
    if contact_cost is not None and (not isinstance(contact_cost, (int, float)) or contact_cost < 0):
        raise ParameterError(f"contact_cost must be a non-negative amount per contact; got {contact_cost!r}")
    if not isinstance(save_rate, (int, float)) or not 0 < save_rate <= 1:
        raise ParameterError(f"save_rate must be a fraction in (0, 1]; got {save_rate!r}")


def confusion(y: Any, contacted: Any) -> dict[str, int]:
    """Counts of contacted/not contacted against churned/stayed: tp, fp, fn, tn."""
    y = np.asarray(y).astype(bool)
    c = np.asarray(contacted).astype(bool)
    return {"tp": int((c & y).sum()), "fp": int((c & ~y).sum()), "fn": int((~c & y).sum()), "tn": int((~c & ~y).sum())}


def cost_benefit_curve(
    y: Any, probability: Any, value: Any, *, contact_cost: float, save_rate: float = 0.25
) -> pd.DataFrame:
    """Net value of contacting the k customers with the highest expected saving.

    Customers are ordered by expected value saved, p * save_rate * value. For each k:
    value_saved = save_rate * (sum of value over the churners among the first k),
    cost = k * contact_cost, net = value_saved - cost (realised on the test labels),
    and expected_net = sum(p * save_rate * value) - cost (what the model expected).
    """
    _check_costs(contact_cost, save_rate)
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
    order = _ranking(p * save_rate * v)
    k = np.arange(1, y.size + 1)
    saved = save_rate * np.cumsum((v * y)[order])
    expected = np.cumsum((p * save_rate * v)[order])
    cost = k * float(contact_cost)
    return pd.DataFrame(
        {"contacted": k, "share_contacted": k / y.size, "value_saved": saved, "cost": cost,
         "net": saved - cost, "expected_net": expected - cost}
    )


def value_source(frame: pd.DataFrame, *, feature_window_days: int = 365) -> tuple[str | None, str, str]:
    """Which column gives the yearly value (:func:`customer_value`), decided on a sample.

    Returns
    -------
    (column or None, description, how)
        ``how`` is ``spend`` (spend_window * 365 / feature_window_days), ``monthly``
        (times 12), ``yearly`` (as it is) or ``none``.
    """
    if "spend_window" in frame.columns and frame["spend_window"].notna().any():
        basis = ("spend in the last 365 days" if feature_window_days == 365
                 else f"spend in the last {feature_window_days} days, scaled to a year")
        return "spend_window", basis, "spend"
    norm = {re.sub(r"[^a-z]", "", c.lower()): c for c in frame.columns}
    for key in ("monthlycharges", "monthlycharge", "monthlyrevenue", "monthlyfee", "mrr"):
        if key in norm:
            return norm[key], f"{norm[key]} x 12", "monthly"
    for key in ("annualrevenue", "annualvalue", "yearlycharges", "arr", "clv"):
        if key in norm:
            return norm[key], norm[key], "yearly"
    return None, "not available", "none"


def value_of(frame: pd.DataFrame, source: tuple[str | None, str, str], *, feature_window_days: int = 365) -> pd.Series:
    """The yearly value of each customer of ``frame`` by a :func:`value_source` rule."""
    col, _, how = source
    if col is None or col not in frame.columns:
        return pd.Series(np.nan, index=frame.index)
    if how == "spend":
        return pd.to_numeric(frame[col], errors="coerce").fillna(0.0) * 365.0 / feature_window_days
    v = pd.to_numeric(frame[col].astype("string").str.strip(), errors="coerce")
    return v * 12 if how == "monthly" else v


def customer_value(frame: pd.DataFrame, *, feature_window_days: int = 365) -> tuple[pd.Series, str]:
    """A yearly value per customer for the value at risk, and how it was computed.

    With transactions: historic yearly spend, spend_window * 365 / feature_window_days.
    Without: a monthly charge column (MonthlyCharges, monthly_charges, mrr...) times 12,
    or a yearly one (annual_revenue, arr...). NaN when none exists.
    """
    source = value_source(frame, feature_window_days=feature_window_days)
    return value_of(frame, source, feature_window_days=feature_window_days), source[1]


# --- explanation ---------------------------------------------------------------------


def _source_columns(pipeline, numeric: Sequence[str], categorical: Sequence[str]) -> list[str]:
    """For each output column of the pipeline's preprocessing, the input column it comes from."""
    names = pipeline.named_steps["prepare"].get_feature_names_out()
    cats = sorted(categorical, key=len, reverse=True)
    out = []
    for name in names:
        part, _, rest = name.partition("__")
        if part == "num":
            out.append(rest.removeprefix("missingindicator_"))
        else:
            out.append(next((c for c in cats if rest.startswith(c + "_")), rest))
    return out


class Explainer:
    """Per-customer reasons from a fitted logistic pipeline, with the reference customers
    summarised once (so batches of customers are explained exactly as one frame would be).

    Parameters
    ----------
    pipeline : sklearn Pipeline
        A fitted :func:`make_model` ``logistic`` pipeline.
    reference : DataFrame
        The customers that define "average" (the training sample).
    numeric, categorical : sequence of str
        The model's input columns.
    """

    def __init__(self, pipeline, reference: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]):
        self.pipeline = pipeline
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.center = np.asarray(pipeline.named_steps["prepare"].transform(reference), dtype=float).mean(axis=0)
        self.sources = _source_columns(pipeline, numeric, categorical)
        self.averages = {
            col: (reference[col].mean() if reference[col].notna().mean() >= 0.5 else np.nan)
            for col in numeric if col in reference
        }

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Contributions to the log-odds (see :func:`contributions`)."""
        coef = self.pipeline.named_steps["model"].coef_.ravel()
        z = np.asarray(self.pipeline.named_steps["prepare"].transform(X), dtype=float)
        contrib = (z - self.center) * coef
        df = pd.DataFrame(contrib, columns=range(len(self.sources)), index=X.index)
        df.columns = self.sources
        return df.T.groupby(level=0, sort=False).sum().T

    def reasons(self, X: pd.DataFrame, *, n: int = 3, min_log_odds: float = 0.1) -> pd.DataFrame:
        """The top reasons (see :func:`top_reasons`)."""
        c = self.contributions(X)
        vals = c.to_numpy()
        cols = list(c.columns)
        raw = X[cols].to_numpy(dtype=object)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :n]
        rows = []
        for i, idx in enumerate(order):
            rows.append([
                _describe(cols[j], raw[i, j], self.averages.get(cols[j])) if vals[i, j] >= min_log_odds else ""
                for j in idx
            ])
        return pd.DataFrame(rows, index=X.index, columns=[f"reason_{k + 1}" for k in range(n)])


def contributions(pipeline, X: pd.DataFrame, reference: pd.DataFrame, numeric: Sequence[str],
                  categorical: Sequence[str]) -> pd.DataFrame:
    """Per-customer contributions to the log-odds of churn of a fitted logistic pipeline.

    contribution_ij = coef_j * (z_ij - mean of z_j over ``reference``), where z is the
    preprocessed (standardised / one-hot) value; one-hot and missing-indicator columns are
    summed back onto their input column. Positive values push towards churn.
    """
    return Explainer(pipeline, reference, numeric, categorical).contributions(X)


def _fmt_number(col: str, x: float) -> str:
    if col.endswith("_rate"):
        return f"{x:.0%}"
    if float(x).is_integer() or abs(x) >= 10:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def _describe(col: str, value: Any, average: Any) -> str:
    """A reason in words: "<feature>: <value> (average <mean>)", or "(most: none)"."""
    label = FEATURE_LABELS.get(col, col.replace("_", " "))
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return f"{label}: none recorded"
    if isinstance(value, (int, float, np.number)):
        if average is None or (isinstance(average, float) and np.isnan(average)):
            t = " (most customers have none)"
        else:
            t = f" (average {_fmt_number(col, float(average))})"
        return f"{label}: {_fmt_number(col, float(value))}{t}"
    return f"{label}: {value}"


def top_reasons(
    pipeline, X: pd.DataFrame, reference: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    *, n: int = 3, min_log_odds: float = 0.1,
) -> pd.DataFrame:
    """The ``n`` features that push each customer's churn risk up the most.

    From a fitted logistic pipeline: :func:`contributions` (coefficient x standardised
    deviation from the average customer), largest positive first; each reason reads
    "<feature>: <value> (average <mean over the reference customers>)", or "(most
    customers have none)" when most have no value. Contributions below ``min_log_odds`` are
    not reasons (left blank).

    Returns a frame indexed like ``X`` with columns reason_1 .. reason_n.
    """
    return Explainer(pipeline, reference, numeric, categorical).reasons(X, n=n, min_log_odds=min_log_odds)


def permutation_importance_table(
    pipeline, X: pd.DataFrame, y: Any, numeric: Sequence[str], categorical: Sequence[str],
    *, n_repeats: int = 3, random_state: int = 0, max_rows: int = 2000,
) -> pd.DataFrame:
    """Drop in held-out ROC-AUC when each input column is shuffled.

    Permutation importance (Breiman 2001; Fisher, Rudin and Dominici 2019): the mean over
    ``n_repeats`` shuffles of AUC(original) - AUC(column shuffled), on at most ``max_rows``
    customers of the test set. The preprocessing works row by row, so shuffling an input
    column equals shuffling the block of preprocessed columns it produces; the data are
    preprocessed once and only the classifier is re-run, which gives what
    ``sklearn.inspection.permutation_importance`` gives at a fraction of the time.

    Columns: feature, label, importance (mean AUC drop), std.
    """
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(random_state)
    if len(X) > max_rows:
        idx = rng.choice(len(X), max_rows, replace=False)
        X, y = X.iloc[idx], y[idx]
    pre = pipeline.named_steps["prepare"]
    model = pipeline.named_steps["model"]
    Z = np.asarray(pre.transform(X), dtype=float)
    src = np.array(_source_columns(pipeline, numeric, categorical))
    base = roc_auc(y, model.predict_proba(Z)[:, 1])
    rows = []
    for col in X.columns:
        block = np.flatnonzero(src == col)
        if block.size == 0:
            continue
        drops = []
        for _ in range(n_repeats):
            Zp = Z.copy()
            Zp[:, block] = Z[rng.permutation(Z.shape[0])][:, block]
            drops.append(base - roc_auc(y, model.predict_proba(Zp)[:, 1]))
        rows.append({"feature": col, "label": FEATURE_LABELS.get(col, col.replace("_", " ")),
                     "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    out = pd.DataFrame(rows, columns=["feature", "label", "importance", "std"])
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


# --- BG/NBD baseline -------------------------------------------------------------------


def bgnbd_churn_probability(
    purchases: Any,
    customer_ids: Sequence[str],
    *,
    cutoff: Any,
    inactivity_days: int,
    params: dict[str, float] | None = None,
    penalizer: float = 0.0,
) -> tuple[np.ndarray, dict[str, float]]:
    """BG/NBD probability of no purchase in the ``inactivity_days`` after ``cutoff``.

    P(no purchase in (T, T + t]) = (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + t))^(r + x)
    (Fader, Hardie and Lee 2005), with t = inactivity_days / 7 weeks; frequency x,
    recency and T (weeks) from the purchases up to the cutoff (inclusive). Not
    1 - P(alive), which is 0 for every one-time buyer. Computed by
    :func:`engage_kit.clv.prob_no_purchase`; the model is fitted on every customer with a
    purchase up to the cutoff (:func:`engage_kit.clv.fit_bgnbd`) unless ``params``
    (r, alpha, a, b in weeks) are given.

    Returns
    -------
    (probability per customer of ``customer_ids``, params used)
    """
    from . import clv

    p = _table(purchases)
    p = p.filter(p.timestamp < _day_end(cutoff).to_pydatetime())
    summary = clv.customer_summary(p, end=pd.Timestamp(cutoff).normalize(), time_unit="W")
    if params is None:
        model = clv.fit_bgnbd(summary, penalizer=penalizer)
        params = dict(model.params_)
    ids = ibis.memtable(pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="string")}))
    s = summary.join(ids, summary.customer_id == ids.customer_id).select(summary).execute()
    s = s.set_index("customer_id").reindex(pd.Index(list(customer_ids)))
    prob = clv.prob_no_purchase(
        params,
        s["frequency"].to_numpy(dtype=float),
        s["recency"].to_numpy(dtype=float),
        s["T"].to_numpy(dtype=float),
        inactivity_days / 7.0,
    )
    return np.asarray(prob, dtype=float), {k: float(v) for k, v in params.items()}


# --- the whole study -----------------------------------------------------------------


@dataclass
class ChurnStudy:
    """Everything the churn report shows: data, fitted models, test metrics, scores.

    ``train`` and ``test`` are the (bounded) pandas frames the models were fitted and
    tested on; ``train_counts`` and ``test_counts`` count every customer of each set by
    label ({0: stayed, 1: churned}), sampled or not. ``scores`` is an Ibis table in the
    engine with one row per scored customer (:func:`rank_scores`); the report's figures
    come from small queries on it (:meth:`score_stats`).
    """

    mode: str
    as_of: pd.Timestamp
    cutoff: pd.Timestamp | None
    test_cutoff: pd.Timestamp | None
    inactivity_days: int | None
    feature_window_days: int
    train: pd.DataFrame
    test: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    models: dict[str, Any]
    predictions: pd.DataFrame
    metrics: dict[str, dict[str, Any]]
    best_model: str
    importance: pd.DataFrame
    scores: ibis.Table
    rule: str
    value_basis: str
    contact_cost: float | None = None
    save_rate: float = 0.25
    threshold: float | None = None
    bgnbd_params: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    train_counts: dict[int, int] = field(default_factory=dict)
    test_counts: dict[int, int] = field(default_factory=dict)
    _stats: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def _set_size(self, which: str) -> tuple[int, int]:
        """(customers, churners) of the whole training or test set."""
        counts = self.train_counts if which == "train" else self.test_counts
        if counts:
            return int(sum(counts.values())), int(counts.get(1, 0))
        y = (self.train if which == "train" else self.test)["churned"].to_numpy()
        return int(y.size), int(y.sum())

    @property
    def scored_who(self) -> str:
        """Who is scored, in words: ``customers who bought in the last 365 days`` (or ``current customers``)."""
        if self.mode == "non_contractual":
            return f"customers who bought in the last {self.feature_window_days} days"
        return "current customers"

    @property
    def churn_window(self) -> str:
        """`` (no purchase in the next 90 days)`` in non-contractual mode, else ``""``: what churn means."""
        return f" (no purchase in the next {self.inactivity_days} days)" if self.mode == "non_contractual" else ""

    # --- tables for the report ---
    def metrics_table(self) -> pd.DataFrame:
        """One row per model and baseline: AUCs with intervals, Brier, lift."""
        rows = []
        for name, m in self.metrics.items():
            auc, ap = m.get("roc_auc"), m.get("pr_auc")
            rows.append(
                {
                    "model": name,
                    "kind": "baseline" if name in BASELINES else "model",
                    "roc_auc": auc.value if auc else np.nan,
                    "roc_auc_low": auc.low if auc else np.nan,
                    "roc_auc_high": auc.high if auc else np.nan,
                    "pr_auc": ap.value if ap else np.nan,
                    "brier": m.get("brier", np.nan),
                    "top_decile_lift": m.get("top_decile_lift", np.nan),
                }
            )
        return pd.DataFrame(rows)

    def gains(self, name: str | None = None) -> pd.DataFrame:
        """Cumulative gains of one model (default: the best) on the test set."""
        name = name or self.best_model
        return gains_table(self.predictions["churned"], self.predictions[f"score_{name}"])

    def calibration(self, name: str | None = None) -> pd.DataFrame:
        """Predicted vs observed churn on the test set."""
        name = name or self.best_model
        return calibration_table(self.predictions["churned"], self.predictions[f"prob_{name}"])

    def test_contacts(self) -> tuple[np.ndarray, str]:
        """The contact rule applied to the test set (best model)."""
        return contact_rule(
            self.predictions[f"prob_{self.best_model}"], threshold=self.threshold,
            value=self.predictions["value"], contact_cost=self.contact_cost, save_rate=self.save_rate,
        )

    def confusion(self) -> dict[str, int]:
        """Confusion counts of the contact rule on the test set."""
        contacted, _ = self.test_contacts()
        return confusion(self.predictions["churned"], contacted)

    def cost_benefit(self) -> pd.DataFrame | None:
        """Net value by number contacted on the test set, when a contact cost is given."""
        if self.contact_cost is None or self.predictions["value"].isna().all():
            return None
        return cost_benefit_curve(
            self.predictions["churned"], self.predictions[f"prob_{self.best_model}"], self.predictions["value"],
            contact_cost=self.contact_cost, save_rate=self.save_rate,
        )

    @property
    def at_risk(self) -> ibis.Table:
        """The scored customers the contact rule selects, highest probability first (in the engine)."""
        return self.scores.filter(self.scores.at_risk).order_by("rank")

    def score_stats(self) -> dict[str, Any]:
        """Counts and sums over all scored customers, from two engine queries (kept once computed).

        scored, scored_value, expected_churners (sum of probabilities), expected_loss,
        at_risk, at_risk_value, at_risk_probability (mean) and at_risk_median_days
        (median days since the last purchase on the at-risk list; NaN without it).
        """
        if self._stats is not None:
            return self._stats
        s = self.scores
        risk = s.at_risk
        agg = s.aggregate(
            scored=s.count(),
            scored_value=s.annual_value.sum(),
            expected_churners=s.churn_probability.sum(),
            expected_loss=s.expected_loss.sum(),
            at_risk=s.count(where=risk),
            at_risk_value=s.annual_value.sum(where=risk),
            at_risk_probability=s.churn_probability.mean(where=risk),
        ).to_pyarrow().to_pylist()[0]
        nan = float("nan")
        out = {k: (nan if v is None else v) for k, v in agg.items()}
        out["scored"], out["at_risk"] = int(out["scored"]), int(out["at_risk"])
        if not out["at_risk"]:
            out["at_risk_value"] = 0.0
        out["at_risk_median_days"] = nan
        if "days_since_purchase" in s.columns:
            # exact on both engines (DuckDB's quantile_cont, Spark's percentile), as pandas'
            # (a filter, not median(where=...): Ibis compiles that for Spark into invalid SQL)
            median = s.filter(risk).days_since_purchase.cast("float64").median().execute()
            out["at_risk_median_days"] = nan if median is None or pd.isna(median) else float(median)
        self._stats = out
        return out

    def top_decile_rate(self, name: str | None = None) -> float:
        """Share of churners among the top 10% of test customers by one model's score.

        The figure behind "how many of the people we call would really have left":
        top_decile_lift x the test churn rate. NaN when the model is not available.
        """
        name = name or self.best_model
        col = f"score_{name}"
        if col not in self.predictions.columns:
            return float("nan")
        y = self.predictions["churned"].to_numpy(dtype=float)
        k = max(1, math.ceil(0.1 * y.size))
        return float(y[_ranking(self.predictions[col].to_numpy())[:k]].mean())

    def summary(self) -> dict[str, Any]:
        """Headline figures for the executive summary.

        Besides the counts and AUCs: ``expected_churners`` (the sum of the churn
        probabilities of everyone scored), ``scored_value`` (the yearly value of everyone
        scored), ``best_top_rate`` / ``recency_top_rate`` / ``bgnbd_top_rate`` (the share of
        churners in the top 10% of the test set by each score) and
        ``at_risk_median_days`` (median days since the last purchase on the at-risk list).
        """
        best = self.metrics[self.best_model]
        rec = self.metrics.get("recency", {})
        bg = self.metrics.get("bgnbd", {})
        st = self.score_stats()
        nan = float("nan")
        return {
            "scored": st["scored"],
            "scored_value": float(st["scored_value"]),
            "expected_churners": float(st["expected_churners"]),
            "at_risk": st["at_risk"],
            "at_risk_value": float(st["at_risk_value"]),
            "at_risk_probability": float(st["at_risk_probability"]),
            "at_risk_median_days": float(st["at_risk_median_days"]),
            "expected_loss": float(st["expected_loss"]),
            "best_model": self.best_model,
            "best_auc": best["roc_auc"].value,
            "best_auc_low": best["roc_auc"].low,
            "bgnbd_auc_high": bg["roc_auc"].high if bg.get("roc_auc") else nan,
            "recency_auc": rec["roc_auc"].value if rec.get("roc_auc") else nan,
            "bgnbd_auc": bg["roc_auc"].value if bg.get("roc_auc") else nan,
            "best_lift": best["top_decile_lift"],
            "recency_lift": rec.get("top_decile_lift") or nan,
            "test_churn_rate": float(self.test["churned"].mean()),
            "best_top_rate": self.top_decile_rate(),
            "recency_top_rate": self.top_decile_rate("recency") if rec.get("roc_auc") else nan,
            "bgnbd_top_rate": self.top_decile_rate("bgnbd") if bg.get("roc_auc") else nan,
        }

    # --- tables as a reader sees them (headers in words, dates as dates) ---
    def metrics_display(self) -> pd.DataFrame:
        """:meth:`metrics_table` with readable names, plus the churn rate in the top 10%."""
        mt = self.metrics_table()
        return pd.DataFrame({
            "model": [MODEL_LABELS.get(m, m) for m in mt["model"]],
            "type": mt["kind"],
            "ROC-AUC": mt["roc_auc"],
            "95% interval": [f"{lo:.3f} to {hi:.3f}" if np.isfinite(lo) else "–"
                             for lo, hi in zip(mt["roc_auc_low"], mt["roc_auc_high"], strict=True)],
            "PR-AUC": mt["pr_auc"],
            "Brier score": mt["brier"],
            "churners in top 10%": [self.top_decile_rate(m) for m in mt["model"]],
            "top-decile lift": mt["top_decile_lift"],
        })

    def periods_display(self) -> pd.DataFrame:
        """Training and test sets: cutoff date, customers, churn rate with its 95% Wilson interval."""
        res = self.results()
        rows = []
        for label, key, day in (("training", "train", self.cutoff), ("test", "test", self.test_cutoff)):
            est = res[f"{key}.churn_rate"]
            rows.append({"set": label, "cutoff": day.date().isoformat() if day is not None else "random split",
                         "customers": est.n, "churn rate": est.value,
                         "95% interval": f"{est.low:.1%} to {est.high:.1%}"})
        return pd.DataFrame(rows)

    def at_risk_display(self, top_n: int = 25) -> pd.DataFrame:
        """The first ``top_n`` customers of the at-risk list, columns named for a reader.

        The reasons are joined into one column ("; "); ``customer_id`` keeps its name so
        the report can pseudonymise it.
        """
        risk = self.at_risk.limit(int(top_n)).execute()
        out = pd.DataFrame({"customer_id": risk["customer_id"].to_numpy(), "rank": risk["rank"].to_numpy(),
                            "churn probability": risk["churn_probability"].to_numpy()})
        if "days_since_purchase" in risk.columns:
            out["days since last purchase"] = risk["days_since_purchase"].to_numpy()
        out["yearly value"] = risk["annual_value"].to_numpy()
        reasons = [c for c in risk.columns if c.startswith("reason_")]
        if reasons:
            out["main reasons (the average customer in brackets)"] = [
                "; ".join(r for r in row if isinstance(r, str) and r) or "–"
                for row in risk[reasons].itertuples(index=False)
            ]
        return out

    def gains_display(self) -> pd.DataFrame:
        """:meth:`gains` with readable headers."""
        return self.gains().rename(columns={
            "decile": "tenth (1 = highest risk)", "churn_rate": "churn rate", "share_contacted": "share contacted",
            "share_of_churners": "share of all churners reached", "cumulative_lift": "cumulative lift"})

    def results(self) -> dict[str, Any]:
        """The figures of ``churn_prediction/results.json`` as dotted keys."""
        n_train, k_train = self._set_size("train")
        n_test, k_test = self._set_size("test")
        out: dict[str, Any] = {
            "mode": self.mode,
            "as_of": self.as_of,
            "cutoff": self.cutoff,
            "test_cutoff": self.test_cutoff,
            "inactivity_days": self.inactivity_days,
            "feature_window_days": self.feature_window_days,
            "train.customers": n_train,
            "train.churn_rate": proportion(k_train, n_train),
            "test.customers": n_test,
            "test.churn_rate": proportion(k_test, n_test),
            "best_model": self.best_model,
            "features.numeric": self.numeric,
            "features.categorical": self.categorical,
        }
        for name, m in self.metrics.items():
            out[f"models.{name}.kind"] = "baseline" if name in BASELINES else "model"
            out[f"models.{name}.available"] = bool(m.get("available", True))
            for key in ("roc_auc", "pr_auc", "brier", "top_decile_lift"):
                out[f"models.{name}.{key}"] = m.get(key)
        if self.bgnbd_params:
            out["bgnbd_params"] = self.bgnbd_params
        s = self.summary()
        out["best_beats_recency"] = bool(s["best_auc"] > s["recency_auc"]) if np.isfinite(s["recency_auc"]) else None
        cm = self.confusion()
        _, rule = self.test_contacts()
        out.update({f"test.confusion.{k}": v for k, v in cm.items()})
        out["contact_rule"] = rule
        out["threshold"] = self.threshold
        out["scored.customers"] = s["scored"]
        out["at_risk.customers"] = s["at_risk"]
        out["at_risk.value"] = s["at_risk_value"]
        out["at_risk.expected_loss"] = s["expected_loss"]
        out["value_basis"] = self.value_basis
        cb = self.cost_benefit()
        if cb is not None:
            best = cb.loc[cb["net"].idxmax()]
            contacted, _ = self.test_contacts()
            chosen = cb.iloc[int(contacted.sum()) - 1] if contacted.sum() else None
            out["cost_benefit.contact_cost"] = self.contact_cost
            out["cost_benefit.save_rate"] = self.save_rate
            out["cost_benefit.best_contacted"] = int(best["contacted"])
            out["cost_benefit.best_net"] = float(best["net"])
            out["cost_benefit.rule_net"] = float(chosen["net"]) if chosen is not None else 0.0
        if len(self.importance):
            out["importance"] = self.importance.head(10)[["feature", "importance"]].to_dict(orient="records")
        out["notes"] = self.notes
        return out


def _openmp_threads(n_rows: int):
    """One OpenMP thread for the gradient boosting on small data, where threads cost more than they save.

    scikit-learn's OpenMP runtime is loaded first: threadpoolctl only limits libraries
    already loaded, and a limit set before the first ``sklearn.ensemble`` import would be
    silently ignored (the permutation importance then ran with spinning threads, several
    times slower on a busy machine).
    """
    import contextlib

    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the limit applies to)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp") if n_rows < 200_000 else contextlib.nullcontext()


def engine_batches(table: ibis.Table, chunk_size: int = SCORING_CHUNK_ROWS, *, ranges: bool | None = None) -> Iterator[Any]:
    """The rows of ``table`` ordered by customer_id, at most ``chunk_size`` at a time (Arrow data).

    DuckDB streams them (``to_pyarrow_batches``). Ibis's PySpark backend builds its
    batches from one collected Arrow table, so on Spark (or with ``ranges=True``) the rows
    are numbered by customer_id in the engine, the numbered table is cached there, and
    each batch is one query for a range of row numbers: the driver holds one batch at a time.
    """
    chunk_size = _check_int("chunk_size", chunk_size)
    if ranges is None:
        ranges = kind_of(backend_of(table)) == "spark"
    if not ranges:
        yield from table.order_by("customer_id").to_pyarrow_batches(chunk_size=chunk_size)
        return
    numbered = table.mutate(_ek_row=ibis.row_number().over(order_by=table.customer_id)).cache()
    try:
        n = int(numbered.count().execute())
        for lo in range(0, n, chunk_size):
            part = numbered.filter(numbered._ek_row >= lo, numbered._ek_row < lo + chunk_size)
            yield part.order_by("_ek_row").drop("_ek_row").to_pyarrow()
    finally:
        numbered.release()


def score_in_batches(
    table: ibis.Table,
    path: str | Path,
    *,
    plan: ColumnPlan,
    predict: Callable[[pd.DataFrame], np.ndarray],
    explainer: Explainer,
    value_rule: tuple[str | None, str, str],
    feature_window_days: int = 365,
    chunk_size: int = SCORING_CHUNK_ROWS,
    ranges: bool | None = None,
) -> int:
    """Score the customers of an engine table batch by batch into one Parquet file.

    Each batch (:func:`engine_batches`) is typed with ``plan`` (decided on the training
    sample), given its churn probability (``predict`` on the typed frame), yearly value
    (:func:`value_of`), expected loss (probability x value), days since the last purchase
    (rounded ``recency_days``, when present) and top reasons, and appended to ``path``
    with ``pyarrow.parquet.ParquetWriter``. Every figure depends on the customer's own row
    only, so the batch size does not change the result.

    Returns
    -------
    int
        The number of customers written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = plan.numeric + plan.categorical
    has_days = "recency_days" in table.columns
    fields = [("customer_id", pa.string()), ("churn_probability", pa.float64())]
    if has_days:
        fields.append(("days_since_purchase", pa.float64()))
    fields += [("annual_value", pa.float64()), ("expected_loss", pa.float64())]
    fields += [(f"reason_{k}", pa.string()) for k in (1, 2, 3)]
    schema = pa.schema(fields)
    written = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in engine_batches(table, chunk_size, ranges=ranges):
            if not batch.num_rows:
                continue
            X = apply_columns(batch.to_pandas(), plan).reset_index(drop=True)
            prob = np.asarray(predict(X), dtype=float)
            value = value_of(X, value_rule, feature_window_days=feature_window_days).to_numpy(dtype=float)
            out = pd.DataFrame({"customer_id": X["customer_id"].astype(str).to_numpy(dtype=object), "churn_probability": prob})
            if has_days:
                out["days_since_purchase"] = X["recency_days"].astype("float64").round().to_numpy()
            out["annual_value"] = value
            out["expected_loss"] = prob * value
            reasons = explainer.reasons(X[cols])
            for col in reasons.columns:
                out[col] = reasons[col].astype(object).to_numpy()
            writer.write_table(pa.Table.from_pandas(out, schema=schema, preserve_index=False))
            written += len(out)
    return written


def rank_scores(
    scored: ibis.Table,
    *,
    threshold: float | None = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    value_known: bool = True,
    top_fraction: float = 0.1,
    customers: int | None = None,
) -> tuple[ibis.Table, str]:
    """Rank scored customers and apply the contact rule, in the engine.

    ``rank`` is 1 for the highest churn probability (ties: customer_id order);
    ``at_risk`` is the :func:`contact_rule`: probability >= ``threshold``; else, with a
    ``contact_cost`` and known values, probability x save_rate x value > contact_cost;
    else the first ceil(top_fraction x n) ranks.

    Parameters
    ----------
    scored : ibis.Table
        customer_id, churn_probability, annual_value, expected_loss, reasons (and
        days_since_purchase), e.g. the file of :func:`score_in_batches` read by the engine.
    customers : int, optional
        The number of rows of ``scored``, when known (the top-fraction rule needs it).

    Returns
    -------
    (table, rule in words)
    """
    kind, text = _rule_kind(threshold=threshold, has_value=value_known, contact_cost=contact_cost,
                            save_rate=save_rate, top_fraction=top_fraction)
    w = ibis.window(order_by=[ibis.desc(scored.churn_probability), scored.customer_id])
    t = scored.mutate(rank=ibis.row_number().over(w) + 1)
    if kind == "threshold":
        at_risk = t.churn_probability >= float(threshold)
    elif kind == "expected_value":
        at_risk = t.churn_probability * float(save_rate) * t.annual_value.fill_null(0.0) > float(contact_cost)
    else:
        n = int(scored.count().execute()) if customers is None else int(customers)
        at_risk = t["rank"] <= _top_count(n, top_fraction)
    order = ["customer_id", "churn_probability", "rank"]
    order += [c for c in scored.columns if c not in ("customer_id", "churn_probability")]
    return t.mutate(at_risk=at_risk).select(*order, "at_risk"), text


def _rank_in_engine(
    con: Any, path: Path, *, threshold: float | None, contact_cost: float | None, save_rate: float, customers: int
) -> tuple[ibis.Table, str, bool]:
    """Read the scored batches into the engine, rank them and apply the contact rule (:func:`rank_scores`).

    Returns the scores (kept in the engine), the rule in words, and whether any customer
    has a known value. On DuckDB the scores are copied into the engine, so the file may go.
    """
    scored = con.read_parquet(str(path))
    value_known = contact_cost is None or int(scored.annual_value.count().execute()) > 0
    scores, rule = rank_scores(scored, threshold=threshold, contact_cost=contact_cost, save_rate=save_rate,
                               value_known=value_known, customers=customers)
    scores = scores.cache()
    if kind_of(con) != "spark":
        _drop_view(con, scored)
    return scores, rule, value_known


def _remove_work_file(path: Path, own_dir: bool) -> None:
    """Remove the scored batches' file, and its folder when it is a temporary one of ours."""
    if own_dir:
        shutil.rmtree(path.parent.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the hidden .work folder, when nothing else is in it
            path.parent.rmdir()


def _drop_view(con: Any, table: ibis.Table) -> None:
    """Drop the engine's view (or table) over a file that is about to be removed."""
    name = table.get_name()
    try:
        con.drop_view(name, force=True)
    except Exception:  # noqa: BLE001 - some readers register a table instead of a view
        con.drop_table(name, force=True)


def _check_models(models: Any) -> list[str]:
    if isinstance(models, str):
        models = [models]
    models = list(models or [])
    if not models:
        raise ParameterError(f"models is empty; choose one or more of {', '.join(MODEL_NAMES)}")
    bad = [m for m in models if m not in MODEL_NAMES]
    if bad:
        from .errors import did_you_mean

        raise ParameterError(
            f"unknown model '{bad[0]}'{did_you_mean(str(bad[0]), MODEL_NAMES)}; models are chosen from "
            f"{', '.join(MODEL_NAMES)}"
        )
    return models


def detect_mode(tables: dict[str, Any], mode: str | None = None) -> str:
    """``labelled`` when the customers table has a ``churned`` column, else ``non_contractual``."""
    has_label = "customers" in tables and "churned" in _table(tables["customers"]).columns
    if mode is None:
        return "labelled" if has_label else "non_contractual"
    if mode not in MODES:
        from .errors import did_you_mean

        raise ParameterError(f"unknown mode '{mode}'{did_you_mean(str(mode), MODES)}; choose one of {', '.join(MODES)}")
    if mode == "labelled" and not has_label:
        raise DataError("mode 'labelled' needs a customers table with a 'churned' column (true/false, yes/no or 1/0)")
    if mode == "non_contractual" and "purchases" not in tables:
        raise DataError("mode 'non_contractual' needs the transactions table")
    return mode


def _label_values(col: ibis.Value) -> ibis.Value:
    """A ``churned`` column (boolean, number, or yes/no text) as 0/1 (NULL when unknown)."""
    if col.type().is_boolean():
        return ibis.ifelse(col, 1, 0).cast("int64")
    if col.type().is_numeric():
        return ibis.ifelse(col != 0, 1, 0).cast("int64")
    text = col.cast("string").strip().lower()
    return text.cases(("true", 1), ("yes", 1), ("1", 1), ("false", 0), ("no", 0), ("0", 0), else_=None).cast("int64")


def _check_class_counts(counts: dict[int, int], where: str) -> None:
    """:func:`_check_two_classes` on counts per label ({0: stayed, 1: churned})."""
    if counts.get(0, 0) and counts.get(1, 0):
        return
    _check_two_classes(np.repeat([0, 1], [counts.get(0, 0), counts.get(1, 0)]), where)


def run_churn_study(
    tables: dict[str, Any],
    *,
    as_of: Any,
    mode: str | None = None,
    cutoff: Any = None,
    test_cutoff: Any = None,
    inactivity_days: int | None = None,
    feature_window_days: int = 365,
    trend_days: int = 90,
    models: Sequence[str] = ("logistic", "gradient_boosting"),
    threshold: float | None = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    class_weight: Any = None,
    max_training_rows: int | None = None,
    test_size: float = 0.3,
    n_boot: int = 200,
    random_state: int = 0,
    chunk_size: int = SCORING_CHUNK_ROWS,
    work_dir: str | Path | None = None,
) -> ChurnStudy:
    """Build features, fit the models, evaluate them against the baselines, score customers.

    Non-contractual mode: training set at ``cutoff`` and out-of-time test set at
    ``test_cutoff`` (:func:`resolve_cutoffs`); models and the ``recency`` baseline are
    fitted on the training set and scored on the test set, the ``bgnbd`` baseline is
    fitted on the purchase history up to the test cutoff (no labels). The best model (the
    highest test ROC-AUC among the fitted models, baselines excluded) is refitted at the
    test cutoff, whose labels end at ``as_of``, and scores the customers active in the
    feature window up to ``as_of`` with features at ``as_of``: the same 'fit, then predict
    ``inactivity_days`` later' lag the test measured.

    Labelled mode: a stratified split (``test_size``) of the customers with a known
    ``churned`` value, drawn in the engine (each class ordered by :func:`~engage_kit.engine.sample_order`);
    the customers not churned are scored with out-of-fold probabilities (5-fold
    cross-validation) when they are in the fitted sample, by the fitted model otherwise,
    so no one is scored by a model that saw their label.

    Only bounded frames leave the engine: the training and test sets, each capped at
    ``max_training_rows`` by a stratified sample drawn in the engine
    (:func:`stratified_sample`). The customers to score are streamed in batches of
    ``chunk_size`` (:func:`score_in_batches`) into a Parquet file in ``work_dir`` that the
    engine reads back; ranking, the contact rule and every count over them run in the
    engine (:func:`rank_scores`, :meth:`ChurnStudy.score_stats`).

    Parameters
    ----------
    tables : dict
        ``purchases`` (orders with amount >= 0), and optionally ``returns``, ``customers``,
        ``touches``, ``surveys``, ``tickets``, ``web_sessions`` (see :func:`churn_tables`).
    as_of : date
        The last day of the data (inclusive).
    mode : str, optional
        ``non_contractual`` or ``labelled``; default: labelled when the customers table
        has a ``churned`` column.
    inactivity_days : int, optional
        Label window in days (churn = no purchase in it after a cutoff): the kit's one
        activity window. None: chosen from the purchases
        (:func:`engage_kit.activity.default_active_days`). Unused in labelled mode.
    threshold : float, optional
        Contact customers with at least this churn probability; default: the
        expected-value rule when ``contact_cost`` is given, else the top decile.
    contact_cost : float, optional
        Cost of one retention contact (currency).
    save_rate : float
        Share of contacted would-be churners that the contact keeps (for the value saved).
    class_weight : None or "balanced"
        Class weights in the fit (the test set is never resampled).
    max_training_rows : int, optional
        Fit (and test) on a stratified sample of at most this many customers. None: every
        customer on DuckDB, :data:`engage_kit.engine.SPARK_TRAINING_ROWS` (200,000) on Spark.
    chunk_size : int
        Customers scored per batch.
    work_dir : path, optional
        Folder for the batches' Parquet file ``.work/scored_batches.parquet`` (default: a new
        temporary folder). On DuckDB the scores are copied into the engine and the file is
        removed; Spark reads it lazily, so it stays (a temporary folder is removed when the
        program exits normally; on a cluster, pass a folder the executors can read).

    Returns
    -------
    ChurnStudy
    """
    tables = {k: v for k, v in tables.items() if v is not None}
    mode = detect_mode(tables, mode)
    models = _check_models(models)
    _check_costs(contact_cost, save_rate)
    feature_window_days = _check_int("feature_window_days", feature_window_days)
    trend_days = _check_int("trend_days", trend_days)
    chunk_size = _check_int("chunk_size", chunk_size)
    if max_training_rows is not None:
        max_training_rows = _check_int("max_training_rows", max_training_rows, low=2)
    as_of = pd.Timestamp(as_of).normalize()
    extra = {k: v for k, v in tables.items() if k != "purchases"}
    notes: list[str] = []
    bgnbd_params = None

    if mode == "non_contractual":
        purchases = _table(tables["purchases"])
        con = backend_of(purchases)
        first = purchases.timestamp.min().execute()
        if inactivity_days is None:  # the kit's one activity window, chosen from the data
            inactivity_days = default_active_days(purchases, as_of=as_of)
        if cutoff is None and test_cutoff is None:
            _check_history(first, as_of, _check_int("inactivity_days", inactivity_days))
        cutoff, test_cutoff = resolve_cutoffs(
            as_of, cutoff=cutoff, test_cutoff=test_cutoff, inactivity_days=inactivity_days, data_start=first
        )
        kw = dict(inactivity_days=inactivity_days, feature_window_days=feature_window_days, as_of=as_of,
                  trend_days=trend_days, **extra)
        # each feature table is computed once and kept in the engine for the counts, samples and batches
        train_all = churn_table(purchases, cutoff=cutoff, **kw).cache()
        test_all = churn_table(purchases, cutoff=test_cutoff, **kw).cache()
        score_all = build_features(purchases, cutoff=as_of, feature_window_days=feature_window_days,
                                   trend_days=trend_days, **extra).cache()
        kept = [train_all, test_all, score_all]
        train_counts, test_counts = class_counts(train_all), class_counts(test_all)
        for counts, day in ((train_counts, cutoff), (test_counts, test_cutoff)):
            if not sum(counts.values()):
                raise _nobody_active(feature_window_days, day)
        n_score = int(score_all.count().execute())
        if not n_score:
            raise _nobody_to_score(feature_window_days, as_of)
    else:
        cutoff = test_cutoff = None
        inactivity_days = None
        c = _table(tables["customers"])
        if "purchases" in tables:
            purchases = _table(tables["purchases"])
        else:  # attributes only: an empty purchase history keeps one code path
            purchases = ibis.memtable(pd.DataFrame({
                "customer_id": pd.Series([], dtype="string"),
                "timestamp": pd.Series([], dtype="datetime64[us]"),
                "amount": pd.Series([], dtype="float64"),
            }))
        con = backend_of(c)
        feats = build_features(
            purchases, cutoff=as_of, feature_window_days=feature_window_days, trend_days=trend_days,
            population=c, **{k: v for k, v in extra.items() if k != "customers"}, customers=c,
        )
        lab = c.select("customer_id", _label=_label_values(c.churned))
        j = feats.join(lab, feats.customer_id == lab.customer_id)
        full = j.select(feats, churned=j._label)
        if "purchases" not in tables:  # transactional features are empty or zero: leave them out
            full = full.drop(*[col for col in full.columns if col in FEATURE_LABELS and col != "account_age_days"])
        n_full = int(full.count().execute())
        known_all = full.filter(full.churned.notnull()).cache()
        kept = [known_all]
        counts = class_counts(known_all)
        n_known = sum(counts.values())
        if n_full - n_known:
            notes.append(f"{n_full - n_known:,} customers with no churned value are left out of training and testing")
        _check_class_counts(counts, "table customers, column churned")
        if n_known < 20:  # valid data, too few of them: a ModelError, so reports skip the analysis
            raise ModelError(f"table customers: only {n_known} customers have a churned value; at least 20 are needed")
        if min(counts.values()) < 2:
            raise ModelError("table customers, column churned: each of churned and stayed needs at least two customers "
                            "to split them into training and test sets")
        n_test = math.ceil(float(test_size) * n_known)
        test_counts = allocate(counts, n_test)
        test_counts = {k: min(max(v, 1), counts[k] - 1) for k, v in test_counts.items()}
        train_counts = {k: counts[k] - test_counts[k] for k in counts}
        test_all = _first_by_key(known_all, test_counts, random_state=random_state, label="churned")
        train_all = _first_by_key(known_all, test_counts, random_state=random_state, label="churned", invert=True)
        score_all = known_all.filter(known_all.churned == 0)
        n_score = counts[0]
        notes.append(
            "labelled snapshot: no time order exists, so the test set is a stratified random split of the same "
            "snapshot; this is a weaker test than an out-of-time one (the scores describe who resembles past "
            "churners, not who will leave next)"
        )

    where = f"training set (cutoff {cutoff.date() if cutoff is not None else 'split'})"
    _check_class_counts(train_counts, where)
    cap = training_cap(kind_of(con), max_training_rows)
    train = _fetch(stratified_sample(train_all, cap, random_state=random_state, counts=train_counts))
    test = _fetch(stratified_sample(test_all, cap, random_state=random_state, counts=test_counts))
    for frame in (train, test):
        frame["churned"] = frame["churned"].astype(int)
    n_train, n_test_all = sum(train_counts.values()), sum(test_counts.values())
    if len(train) < n_train:
        notes.append(f"models are fitted on a stratified sample of {len(train):,} of {n_train:,} training customers")
    if len(test) < n_test_all:
        notes.append(f"models are tested on a stratified sample of {len(test):,} of {n_test_all:,} test customers")

    with _openmp_threads(len(train)):
        plan = plan_columns(pd.concat([train, test], ignore_index=True))
        notes.extend(plan.notes)
        numeric, categorical = plan.numeric, plan.categorical
        Xfit = apply_columns(train, plan)
        Xtest = apply_columns(test, plan)
        cols = numeric + categorical
        if not cols:
            raise DataError("no usable feature columns: every column is empty, constant or an identifier")
        yfit = Xfit["churned"].to_numpy(dtype=int)
        ytest = test["churned"].to_numpy(dtype=int)

        fitted: dict[str, Any] = {}
        preds = pd.DataFrame({"customer_id": test["customer_id"].to_numpy(), "churned": ytest})
        metrics: dict[str, dict[str, Any]] = {}
        for name in models:
            pipe = make_model(name, numeric, categorical, random_state=random_state, class_weight=class_weight)
            pipe.fit(Xfit[cols], yfit)
            fitted[name] = pipe
            prob = pipe.predict_proba(Xtest[cols])[:, 1]
            preds[f"prob_{name}"] = prob
            preds[f"score_{name}"] = prob
            metrics[name] = evaluate_scores(ytest, prob, n_boot=n_boot, random_state=random_state)

        # baselines on the same test set
        if "recency_days" in numeric and Xfit["recency_days"].notna().any():
            base = recency_baseline().fit(Xfit[["recency_days"]], yfit)
            prob = base.predict_proba(Xtest[["recency_days"]])[:, 1]
            score = Xtest["recency_days"].fillna(float(feature_window_days)).to_numpy()
            preds["prob_recency"], preds["score_recency"] = prob, score
            metrics["recency"] = evaluate_scores(ytest, score, probability=prob, n_boot=n_boot, random_state=random_state)
        else:
            metrics["recency"] = {"available": False, "roc_auc": None, "pr_auc": None, "brier": None, "top_decile_lift": None}
            notes.append("the recency baseline needs transactions; it is not available for this data")
        if mode == "non_contractual":
            try:
                prob, bgnbd_params = bgnbd_churn_probability(
                    purchases, test["customer_id"].tolist(), cutoff=test_cutoff, inactivity_days=inactivity_days
                )
                preds["prob_bgnbd"], preds["score_bgnbd"] = prob, prob
                metrics["bgnbd"] = evaluate_scores(ytest, prob, n_boot=n_boot, random_state=random_state)
            except (ImportError, AttributeError) as e:
                metrics["bgnbd"] = {"available": False, "roc_auc": None, "pr_auc": None, "brier": None, "top_decile_lift": None}
                notes.append(f"the BG/NBD baseline is not available ({e})")
            except (ModelError, DataError) as e:
                metrics["bgnbd"] = {"available": False, "roc_auc": None, "pr_auc": None, "brier": None, "top_decile_lift": None}
                notes.append(f"the BG/NBD baseline could not be fitted: {e}")
        else:
            metrics["bgnbd"] = {"available": False, "roc_auc": None, "pr_auc": None, "brier": None, "top_decile_lift": None}
            notes.append("the BG/NBD baseline needs a time order (non-contractual mode); not used for a labelled snapshot")

        best = max(models, key=lambda m: (np.nan_to_num(metrics[m]["roc_auc"].value, nan=-1.0)))
        reference_frame = pd.concat([Xfit, Xtest], ignore_index=True)
        value_rule = value_source(reference_frame, feature_window_days=feature_window_days)
        preds["value"] = value_of(Xtest, value_rule, feature_window_days=feature_window_days).to_numpy()
        importance = permutation_importance_table(fitted[best], Xtest[cols], ytest, numeric, categorical,
                                                  random_state=random_state)

        # scoring: refit on the latest complete labels (non-contractual), out-of-fold (labelled)
        if mode == "non_contractual":
            yrefit = Xtest["churned"].to_numpy(dtype=int)
            final = make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight)
            final.fit(Xtest[cols], yrefit)
            explainer_model = (
                final if best == "logistic" else make_model("logistic", numeric, categorical).fit(Xtest[cols], yrefit)
            )
            reference = Xtest

            def predict(X: pd.DataFrame) -> np.ndarray:
                return final.predict_proba(X[cols])[:, 1]
        else:
            from sklearn.model_selection import StratifiedKFold, cross_val_predict

            Xall = reference_frame
            yall = Xall["churned"].to_numpy(dtype=int)
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
            oof = cross_val_predict(
                make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight),
                Xall[cols], yall, cv=cv, method="predict_proba",
            )[:, 1]
            oof_s = pd.Series(oof, index=Xall["customer_id"].astype(str).to_numpy())
            explainer_model = make_model("logistic", numeric, categorical).fit(Xall[cols], yall)
            reference = Xall
            in_sample_model = fitted[best]

            def predict(X: pd.DataFrame) -> np.ndarray:
                prob = np.array(oof_s.reindex(X["customer_id"].astype(str).to_numpy()), dtype=float)
                missing = np.isnan(prob)
                if missing.any():  # current customers outside the fitted sample
                    prob[missing] = in_sample_model.predict_proba(X.loc[missing, cols])[:, 1]
                return prob

        explainer = Explainer(explainer_model, reference[cols], numeric, categorical)
        own_dir = work_dir is None
        folder = Path(tempfile.mkdtemp(prefix="engage-kit-churn-")) if own_dir else Path(work_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # a working file, in a hidden folder among the exports (Spark skips hidden file names)
        path = folder / ".work" / "scored_batches.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            score_in_batches(score_all, path, plan=plan, predict=predict, explainer=explainer,
                             value_rule=value_rule, feature_window_days=feature_window_days, chunk_size=chunk_size)
        except BaseException:
            _remove_work_file(path, own_dir)
            raise
    for table in kept:
        table.release()

    scores, rule, value_known = _rank_in_engine(
        con, path, threshold=threshold, contact_cost=contact_cost, save_rate=save_rate, customers=n_score
    )
    if kind_of(con) != "spark":  # the engine holds its own copy: the file is no longer needed
        _remove_work_file(path, own_dir)
    elif own_dir:  # Spark reads the file lazily: keep it while the program runs
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if contact_cost is not None and not value_known:
        notes.append("contact_cost is given but no customer value is known; the top decile is used instead")

    return ChurnStudy(
        mode=mode, as_of=as_of, cutoff=cutoff, test_cutoff=test_cutoff, inactivity_days=inactivity_days,
        feature_window_days=feature_window_days, train=train, test=test, numeric=numeric, categorical=categorical,
        models=fitted, predictions=preds, metrics=metrics, best_model=best, importance=importance, scores=scores,
        rule=rule, value_basis=value_rule[1], contact_cost=contact_cost, save_rate=save_rate, threshold=threshold,
        bgnbd_params=bgnbd_params, notes=notes, train_counts=train_counts, test_counts=test_counts,
    )


def churn_study(ds: Any, **params: Any) -> ChurnStudy:
    """:func:`run_churn_study` on a :class:`~engage_kit.loaders.Dataset` (its tables and as_of)."""
    return run_churn_study(churn_tables(ds), as_of=ds.as_of, **params)


# the headline figures of results.json that need a fitted study (DESIGN.md: a figure that
# cannot be computed is {"value": null, "reason": ...})
UNAVAILABLE_KEYS = ("best_model", "train.customers", "train.churn_rate", "test.customers", "test.churn_rate",
                    "scored.customers", "at_risk.customers", "at_risk.value")


def churn_study_or_reason(ds: Any, **params: Any) -> tuple[ChurnStudy | None, str | None]:
    """:func:`churn_study`, or ``(None, reason)`` when the data cannot support a model.

    Data too small or too short (history shorter than two label windows, every customer
    churned or every one stayed, a labelled snapshot of a handful of customers) raise
    :class:`ModelError`; a report then says why the analysis is skipped instead of failing.
    Invalid parameters and unusable tables still raise ``ParameterError`` and ``DataError``.
    """
    try:
        return churn_study(ds, **params), None
    except ModelError as e:
        return None, str(e)


def active_sentence(active: Any, study: ChurnStudy | None = None) -> str:
    """The report's one sentence on the activity window (an :class:`~engage_kit.activity.ActiveWindow`)
    and what churn means here: no purchase in that window after a cutoff, or the churned label."""
    if study is not None and study.mode == "labelled":
        return active.sentence(uses="This report's churn is the customers table's churned label instead.")
    return active.sentence(uses=f"Here churn = no purchase in the {active.days} days after a cutoff.")


def unavailable_results(reason: str, *, mode: str | None = None) -> dict[str, Any]:
    """results.json figures of a churn study that could not run: each ``{value: null, reason}``."""
    out: dict[str, Any] = {"mode": mode} if mode else {}
    out.update({key: {"value": None, "reason": reason} for key in UNAVAILABLE_KEYS})
    return out


# --- charts --------------------------------------------------------------------------

MODEL_LABELS = {
    "logistic": "logistic regression",
    "gradient_boosting": "gradient boosting",
    "recency": "recency baseline",
    "bgnbd": "BG/NBD baseline",
}
_MODEL_COLORS = {"logistic": "#1f77b4", "gradient_boosting": "#2ca02c", "recency": "#7f7f7f", "bgnbd": "#ff7f0e"}


def _available(study: ChurnStudy) -> list[str]:
    return [m for m, v in study.metrics.items() if v.get("roc_auc") is not None]


def plot_auc(study: ChurnStudy, ax=None):
    """Test ROC-AUC of every model and baseline with its bootstrap interval."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 3.2))[1]
    names = _available(study)
    vals = [study.metrics[m]["roc_auc"] for m in names]
    y = np.arange(len(names))[::-1]
    ax.barh(y, [v.value for v in vals], color=[_MODEL_COLORS.get(m, "#999") for m in names])
    ax.errorbar([v.value for v in vals], y, xerr=error_bars([v.value for v in vals], [v.low for v in vals], [v.high for v in vals]),
                fmt="none", ecolor="black", capsize=3)
    ax.set_yticks(y, [MODEL_LABELS.get(m, m) for m in names])
    ax.axvline(0.5, color="#999", lw=1, ls="--")
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("ROC-AUC on the test set (0.5 = coin toss, 1 = perfect)")
    best, rec = study.metrics[study.best_model]["roc_auc"], study.metrics.get("recency", {}).get("roc_auc")
    if rec is not None:
        ax.set_title(f"{MODEL_LABELS[study.best_model].capitalize()} ranks churners with AUC {best.value:.2f} "
                     f"vs {rec.value:.2f} for recency alone")
    else:
        ax.set_title(f"{MODEL_LABELS[study.best_model].capitalize()} ranks churners with AUC {best.value:.2f}")
    return ax


def plot_gains(study: ChurnStudy, ax=None):
    """Cumulative gains: share of churners found when contacting the top x% by score."""
    import matplotlib.pyplot as plt

    from .plots import percent_axis

    ax = ax or plt.subplots(figsize=(7, 4.5))[1]
    y = study.predictions["churned"].to_numpy(dtype=float)
    for m in _available(study):
        order = _ranking(study.predictions[f"score_{m}"].to_numpy())
        found = np.r_[0, np.cumsum(y[order])] / y.sum()
        share = np.arange(y.size + 1) / y.size
        ax.plot(share, found, label=MODEL_LABELS.get(m, m), color=_MODEL_COLORS.get(m), lw=2 if m == study.best_model else 1.2)
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="random")
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_xlabel("customers contacted (highest risk first)")
    ax.set_ylabel("churners reached")
    g = study.gains()
    top20 = g.loc[min(1, len(g) - 1), "share_of_churners"]
    title = f"Calling the top 20% by {MODEL_LABELS[study.best_model]} reaches {top20:.0%} of churners"
    if "score_recency" in study.predictions.columns:
        rec = gains_table(y, study.predictions["score_recency"]).loc[min(1, len(g) - 1), "share_of_churners"]
        title += f"\n(recency alone {rec:.0%}, random calls 20%)"
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_calibration(study: ChurnStudy, ax=None):
    """Predicted vs observed churn rate by decile of predicted probability (best model)."""
    import matplotlib.pyplot as plt

    from .plots import percent_axis

    ax = ax or plt.subplots(figsize=(5.5, 5))[1]
    cal = study.calibration()
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="perfect calibration")
    ax.errorbar(cal["predicted"], cal["observed"], yerr=error_bars(cal["observed"], cal["low"], cal["high"]),
                fmt="o-", color=_MODEL_COLORS.get(study.best_model), capsize=3, label=MODEL_LABELS[study.best_model])
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_xlabel("predicted churn probability (decile mean)")
    ax.set_ylabel("observed churn rate")
    gap = float(np.max(np.abs(cal["predicted"] - cal["observed"])))
    ax.set_title(f"Predicted and observed churn differ by at most {gap * 100:.0f} points per decile")
    ax.legend(loc="upper left")
    return ax


def plot_importance(study: ChurnStudy, ax=None, top: int = 12):
    """Permutation importance (drop in test ROC-AUC) of the best model's inputs."""
    import matplotlib.pyplot as plt

    imp = study.importance.head(top).iloc[::-1]
    ax = ax or plt.subplots(figsize=(8, 0.35 * len(imp) + 1.2))[1]
    ax.barh(imp["label"], imp["importance"], xerr=imp["std"], color="#1f77b4")
    ax.set_xlabel("drop in ROC-AUC when the feature is shuffled")
    if len(imp):
        top = str(study.importance.loc[0, "label"])
        ax.set_title(f"{top[:1].upper() + top[1:]} tells churners apart the most")
    return ax


def plot_cost_benefit(study: ChurnStudy, currency: str = "", ax=None):
    """Net value (value saved - contact cost) by number of customers contacted, test set."""
    import matplotlib.pyplot as plt

    from .plots import money_axis

    cb = study.cost_benefit()
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    ax.plot(cb["contacted"], cb["net"], color="#2ca02c", label="realised on the test set")
    ax.plot(cb["contacted"], cb["expected_net"], color="#1f77b4", ls="--", label="expected by the model")
    ax.axhline(0, color="#999", lw=1)
    best = cb.loc[cb["net"].idxmax()]
    ax.axvline(best["contacted"], color="#999", ls=":", lw=1)
    money_axis(ax, currency)
    ax.set_xlabel("customers contacted (highest expected saving first)")
    ax.set_ylabel("net value")
    ax.set_title(f"Contacting the top {int(best['contacted']):,} would have netted {best['net']:,.0f} {currency}")
    ax.legend()
    return ax
