"""Churn features and labels at a cutoff, as Ibis expressions the engine runs.

Dates: ``cutoff`` is inclusive, like ``as_of``: features use rows with a timestamp
before ``cutoff + 1 day``; the label window is the ``inactivity_days`` days that follow.
A label window is complete when ``cutoff + inactivity_days <= as_of``.

Non-contractual mode: the label is "no purchase in the ``inactivity_days`` days after the
cutoff", among customers with at least one purchase in the ``feature_window_days`` days
up to it (:func:`churn_table`). Labelled mode: a customers table with a ``churned``
column (:func:`detect_mode`; its values read by :func:`_label_values`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import strip
from ..errors import DataError, ModelError, ParameterError, did_you_mean
from ..metrics.adoption import usage_trend

MODES = ("non_contractual", "labelled")
DAY_SECONDS = 86400.0


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
    "usage_trend": "product use in the last 30 days ÷ usual month",
    "account_age_days": "days since signup",
    "acquisition_channel": "acquisition channel",
}


def feature_label(col: str) -> str:
    """The readable name of a feature column (:data:`FEATURE_LABELS`, else its name with spaces)."""
    return FEATURE_LABELS.get(col, col.replace("_", " "))


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
    usage: Any = None,
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
    - usage (product use): ``usage_trend`` = usage in the 30 days up to the cutoff / the
      30-day average of the 90 days before them (:func:`engage_kit.metrics.adoption.usage_trend`;
      below 0.5 is a declining customer of ``adoption.declining_share``; null without use in
      those 90 days);
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
    returns, customers, touches, surveys, tickets, web_sessions, usage : optional
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
        t = t.mutate(_e=secs(t.timestamp), _ev=strip(t.event.lower()), _ch=strip(t.channel.lower()))
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
        kind = strip(v.kind.lower())
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

    if usage is not None:  # rows up to the cutoff day only, like every other feature
        base = _left(base, usage_trend(_table(usage), cutoff=end - pd.Timedelta(days=1)))

    if customers is not None:
        c = _table(customers)
        # cancelled_at (subscriptions) would reveal the outcome: never a feature
        keep = [col for col in c.columns if col not in ("customer_id", "signup_at", "churned", "cancelled_at")]
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


def churn_frame(purchases: Any, *, cutoff: Any, feature_window_days: int = 365, **options: Any) -> pd.DataFrame:
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
    **options
        ``inactivity_days``, ``as_of``, ``trend_days`` (above) and the optional tables passed
        to :func:`build_features`, as :func:`churn_table` takes them.

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
    t = churn_table(purchases, cutoff=cutoff, feature_window_days=feature_window_days, **options)
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


def churn_tables(ds: Any) -> dict[str, ibis.Table]:
    """The tables of a :class:`~engage_kit.loaders.Dataset` that the feature builder uses."""
    out: dict[str, ibis.Table] = {}
    if ds.has("transactions"):
        o = ds.orders
        out["purchases"] = o.filter(~o.is_return)
        out["returns"] = o.filter(o.is_return)
    for name in ("customers", "touches", "surveys", "tickets", "web_sessions", "usage"):
        if ds.has(name):
            out[name] = ds[name]
    return out


def detect_mode(tables: dict[str, Any], mode: str | None = None) -> str:
    """``labelled`` when the customers table has a ``churned`` column, else ``non_contractual``."""
    has_label = "customers" in tables and "churned" in _table(tables["customers"]).columns
    if mode is None:
        return "labelled" if has_label else "non_contractual"
    if mode not in MODES:
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
    text = strip(col.cast("string")).lower()
    return text.cases(("true", 1), ("yes", 1), ("1", 1), ("false", 0), ("no", 0), ("0", 0), else_=None).cast("int64")
