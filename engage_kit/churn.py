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
(:func:`build_features`); the per-customer feature table is then pulled into pandas to
fit scikit-learn pipelines (preprocessing inside the pipeline, so nothing learnt from the
test set leaks into the fit). Baselines scored on the same test set: ``recency`` (days
since the last purchase: "call everyone who has not bought lately") and ``bgnbd`` (the
BG/NBD probability of no purchase in the label window, from :mod:`engage_kit.clv`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from .errors import DataError, ModelError, ParameterError
from .stats import bootstrap_estimate, proportion

MODES = ("non_contractual", "labelled")
MODEL_NAMES = ("logistic", "gradient_boosting")
BASELINES = ("recency", "bgnbd")
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
    df = j.select(feats, labels.churned).order_by("customer_id").execute()
    if df.empty:
        raise DataError(
            f"table transactions: no customer has a purchase in the {feature_window_days} days up to the "
            f"cutoff {cutoff.date()}, so there is nobody to predict churn for; choose a later cutoff "
            "or a longer feature_window_days"
        )
    return df


def scoring_frame(
    purchases: Any, *, as_of: Any, feature_window_days: int = 365, trend_days: int = 90, **tables: Any
) -> pd.DataFrame:
    """Features at ``as_of`` for the customers active in the feature window up to it."""
    df = build_features(
        purchases, cutoff=as_of, feature_window_days=feature_window_days, trend_days=trend_days, **tables
    ).order_by("customer_id").execute()
    if df.empty:
        raise DataError(
            f"table transactions: no customer has a purchase in the {feature_window_days} days up to "
            f"as_of {pd.Timestamp(as_of).date()}; there is nobody to score"
        )
    return df


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


def prepare_columns(
    df: pd.DataFrame, *, exclude: Sequence[str] = ("customer_id", "churned"), max_levels: int = 50
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """Type the feature columns: numeric text becomes numbers, ids and constants are dropped.

    A text column becomes numeric when at least 95% of its non-blank values parse as
    numbers (e.g. the Telco file's ``TotalCharges``, blank for new subscribers).
    Booleans become 0/1. Text columns with more than ``max_levels`` distinct values and
    more than half as many values as rows (ids, e-mail addresses) are dropped, as are
    columns with a single value.

    Returns
    -------
    (frame, numeric, categorical, notes)
    """
    out = df.copy()
    numeric: list[str] = []
    categorical: list[str] = []
    notes: list[str] = []
    n = len(out)
    for col in out.columns:
        if col in exclude:
            continue
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("float64")
            s = out[col]
        elif _is_text(s):
            text = s.astype("string").str.strip().replace("", pd.NA)
            filled = int(text.notna().sum())
            num = pd.to_numeric(text, errors="coerce")
            if filled and num.notna().sum() >= 0.95 * filled:
                out[col] = num.astype("float64")
                s = out[col]
            else:
                lower = text.str.lower()
                if filled and lower.dropna().isin(["true", "false"]).all():
                    out[col] = lower.map({"true": 1.0, "false": 0.0}).astype("float64")
                    s = out[col]
                else:
                    out[col] = text.astype(object).where(text.notna(), np.nan)
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
        if pd.api.types.is_numeric_dtype(s):
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
            if out[col].nunique(dropna=True) <= 1 and out[col].notna().all():
                notes.append(f"column '{col}' has a single value and is not used")
                continue
            if out[col].isna().all():
                continue
            numeric.append(col)
    return out, numeric, categorical, notes


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
    if threshold is not None:
        if not 0 <= float(threshold) <= 1:
            raise ParameterError(f"threshold must be a churn probability between 0 and 1; got {threshold!r}")
        return p >= float(threshold), f"the customers with a churn probability of at least {float(threshold):.0%}"
    if contact_cost is not None and value is not None:
        _check_costs(contact_cost, save_rate)
        v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
        return (p * save_rate * v > float(contact_cost)), (
            f"the customers whose expected saving (churn probability x {save_rate:.0%} kept x yearly value) "
            f"exceeds the contact cost of {float(contact_cost):,.2f}"
        )
    k = max(1, math.ceil(top_fraction * p.size)) if p.size else 0
    mask = np.zeros(p.size, dtype=bool)
    mask[_ranking(p)[:k]] = True
    return mask, f"the top {top_fraction:.0%} by churn probability"


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


def customer_value(frame: pd.DataFrame, *, feature_window_days: int = 365) -> tuple[pd.Series, str]:
    """A yearly value per customer for the value at risk, and how it was computed.

    With transactions: historic yearly spend, spend_window * 365 / feature_window_days.
    Without: a monthly charge column (MonthlyCharges, monthly_charges, mrr...) times 12,
    or a yearly one (annual_revenue, arr...). NaN when none exists.
    """
    if "spend_window" in frame.columns and frame["spend_window"].notna().any():
        v = pd.to_numeric(frame["spend_window"], errors="coerce").fillna(0.0) * 365.0 / feature_window_days
        if feature_window_days == 365:
            return v, "spend in the last 365 days"
        return v, f"spend in the last {feature_window_days} days, scaled to a year"
    norm = {re.sub(r"[^a-z]", "", c.lower()): c for c in frame.columns}
    for key in ("monthlycharges", "monthlycharge", "monthlyrevenue", "monthlyfee", "mrr"):
        if key in norm:
            v = pd.to_numeric(frame[norm[key]].astype("string").str.strip(), errors="coerce") * 12
            return v, f"{norm[key]} x 12"
    for key in ("annualrevenue", "annualvalue", "yearlycharges", "arr", "clv"):
        if key in norm:
            return pd.to_numeric(frame[norm[key]].astype("string").str.strip(), errors="coerce"), norm[key]
    return pd.Series(np.nan, index=frame.index), "not available"


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


def contributions(pipeline, X: pd.DataFrame, reference: pd.DataFrame, numeric: Sequence[str],
                  categorical: Sequence[str]) -> pd.DataFrame:
    """Per-customer contributions to the log-odds of churn of a fitted logistic pipeline.

    contribution_ij = coef_j * (z_ij - mean of z_j over ``reference``), where z is the
    preprocessed (standardised / one-hot) value; one-hot and missing-indicator columns are
    summed back onto their input column. Positive values push towards churn.
    """
    pre = pipeline.named_steps["prepare"]
    coef = pipeline.named_steps["model"].coef_.ravel()
    z = np.asarray(pre.transform(X), dtype=float)
    z0 = np.asarray(pre.transform(reference), dtype=float).mean(axis=0)
    contrib = (z - z0) * coef
    src = _source_columns(pipeline, numeric, categorical)
    df = pd.DataFrame(contrib, columns=range(len(src)), index=X.index)
    df.columns = src
    return df.T.groupby(level=0, sort=False).sum().T


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
    c = contributions(pipeline, X, reference, numeric, categorical)
    averages = {
        col: (reference[col].mean() if reference[col].notna().mean() >= 0.5 else np.nan)
        for col in numeric if col in reference
    }
    vals = c.to_numpy()
    cols = list(c.columns)
    raw = X[cols].to_numpy(dtype=object)
    order = np.argsort(-vals, axis=1, kind="stable")[:, :n]
    rows = []
    for i, idx in enumerate(order):
        rows.append([
            _describe(cols[j], raw[i, j], averages.get(cols[j])) if vals[i, j] >= min_log_odds else ""
            for j in idx
        ])
    return pd.DataFrame(rows, index=X.index, columns=[f"reason_{k + 1}" for k in range(n)])


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
    """Everything the churn report shows: data, fitted models, test metrics, scores."""

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
    scores: pd.DataFrame
    rule: str
    value_basis: str
    contact_cost: float | None = None
    save_rate: float = 0.25
    threshold: float | None = None
    bgnbd_params: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)

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
    def at_risk(self) -> pd.DataFrame:
        """The scored customers the contact rule selects, highest probability first."""
        return self.scores[self.scores["at_risk"]]

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
        risk = self.at_risk
        nan = float("nan")
        days = risk["days_since_purchase"] if "days_since_purchase" in risk.columns else pd.Series(dtype=float)
        return {
            "scored": len(self.scores),
            "scored_value": float(self.scores["annual_value"].sum(min_count=1)),
            "expected_churners": float(self.scores["churn_probability"].sum()),
            "at_risk": len(risk),
            "at_risk_value": float(risk["annual_value"].sum(min_count=1)) if len(risk) else 0.0,
            "at_risk_probability": float(risk["churn_probability"].mean()) if len(risk) else nan,
            "at_risk_median_days": float(days.median()) if days.notna().any() else nan,
            "expected_loss": float(self.scores["expected_loss"].sum(min_count=1)),
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
        risk = self.at_risk.head(top_n)
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
        train_y = self.train["churned"].to_numpy()
        test_y = self.test["churned"].to_numpy()
        out: dict[str, Any] = {
            "mode": self.mode,
            "as_of": self.as_of,
            "cutoff": self.cutoff,
            "test_cutoff": self.test_cutoff,
            "inactivity_days": self.inactivity_days,
            "feature_window_days": self.feature_window_days,
            "train.customers": int(train_y.size),
            "train.churn_rate": proportion(train_y.sum(), train_y.size),
            "test.customers": int(test_y.size),
            "test.churn_rate": proportion(test_y.sum(), test_y.size),
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


def _sample_rows(df: pd.DataFrame, max_rows: int | None, random_state: int) -> pd.DataFrame:
    if max_rows is None or len(df) <= max_rows:
        return df
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(df, train_size=int(max_rows), stratify=df["churned"], random_state=random_state)
    return keep.sort_index()


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


def run_churn_study(
    tables: dict[str, Any],
    *,
    as_of: Any,
    mode: str | None = None,
    cutoff: Any = None,
    test_cutoff: Any = None,
    inactivity_days: int = 90,
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
    ``churned`` value; the customers not churned are scored with out-of-fold
    probabilities (5-fold cross-validation), so no one is scored by a model that saw
    their label.

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
        Fit on a stratified sample of at most this many training customers.
    """
    tables = {k: v for k, v in tables.items() if v is not None}
    mode = detect_mode(tables, mode)
    models = _check_models(models)
    _check_costs(contact_cost, save_rate)
    feature_window_days = _check_int("feature_window_days", feature_window_days)
    trend_days = _check_int("trend_days", trend_days)
    as_of = pd.Timestamp(as_of).normalize()
    extra = {k: v for k, v in tables.items() if k != "purchases"}
    notes: list[str] = []
    bgnbd_params = None

    if mode == "non_contractual":
        purchases = _table(tables["purchases"])
        first = purchases.timestamp.min().execute()
        cutoff, test_cutoff = resolve_cutoffs(
            as_of, cutoff=cutoff, test_cutoff=test_cutoff, inactivity_days=inactivity_days, data_start=first
        )
        extra_nc = dict(extra)
        kw = dict(inactivity_days=inactivity_days, feature_window_days=feature_window_days, as_of=as_of,
                  trend_days=trend_days, **extra_nc)
        train = churn_frame(purchases, cutoff=cutoff, **kw)
        test = churn_frame(purchases, cutoff=test_cutoff, **kw)
        score_df = scoring_frame(purchases, as_of=as_of, feature_window_days=feature_window_days,
                                 trend_days=trend_days, **extra_nc)
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
        feats = build_features(
            purchases, cutoff=as_of, feature_window_days=feature_window_days, trend_days=trend_days,
            population=c, **{k: v for k, v in extra.items() if k != "customers"}, customers=c,
        )
        lab = c.select("customer_id", _label=c.churned)
        j = feats.join(lab, feats.customer_id == lab.customer_id)
        full = j.select(feats, churned=j._label).order_by("customer_id").execute()
        unknown = int(full["churned"].isna().sum())
        if unknown:
            notes.append(f"{unknown:,} customers with no churned value are left out of training and testing")
        known = full[full["churned"].notna()].copy()
        known["churned"] = known["churned"].astype(bool).astype(int)
        if "purchases" not in tables:  # transactional features are empty or zero: leave them out
            known = known.drop(columns=[col for col in known.columns if col in FEATURE_LABELS
                                        and col != "account_age_days"])
        _check_two_classes(known["churned"].to_numpy(), "table customers, column churned")
        if len(known) < 20:
            raise DataError(f"table customers: only {len(known)} customers have a churned value; at least 20 are needed")
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(known, test_size=test_size, stratify=known["churned"], random_state=random_state)
        train, test = train.sort_index(), test.sort_index()
        score_df = known[known["churned"] == 0]
        notes.append(
            "labelled snapshot: no time order exists, so the test set is a stratified random split of the same "
            "snapshot; this is a weaker test than an out-of-time one (the scores describe who resembles past "
            "churners, not who will leave next)"
        )

    with _openmp_threads(len(train)):
        _check_two_classes(train["churned"].to_numpy(), f"training set (cutoff {cutoff.date() if cutoff is not None else 'split'})")
        fit_df = _sample_rows(train, max_training_rows, random_state)
        if len(fit_df) < len(train):
            notes.append(f"models are fitted on a stratified sample of {len(fit_df):,} of {len(train):,} training customers")

        typed_train, numeric, categorical, col_notes = prepare_columns(pd.concat([fit_df, test, score_df], keys=["a", "b", "c"]))
        notes.extend(col_notes)
        Xfit = typed_train.loc["a"]
        Xtest = typed_train.loc["b"]
        Xscore = typed_train.loc["c"]
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
        value_test, _ = customer_value(Xtest, feature_window_days=feature_window_days)
        preds["value"] = value_test.to_numpy()
        importance = permutation_importance_table(fitted[best], Xtest[cols], ytest, numeric, categorical,
                                                  random_state=random_state)

        # scoring: refit on the latest complete labels (non-contractual), out-of-fold (labelled)
        if mode == "non_contractual":
            refit_df = _sample_rows(test, max_training_rows, random_state)
            Xrefit = typed_train.loc["b"].loc[refit_df.index] if len(refit_df) < len(test) else Xtest
            yrefit = Xrefit["churned"].to_numpy(dtype=int)
            final = make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight)
            final.fit(Xrefit[cols], yrefit)
            score_prob = final.predict_proba(Xscore[cols])[:, 1]
            explainer = (
                final if best == "logistic" else make_model("logistic", numeric, categorical).fit(Xrefit[cols], yrefit)
            )
            reference = Xrefit
        else:
            from sklearn.model_selection import StratifiedKFold, cross_val_predict

            Xall = pd.concat([Xfit, Xtest])
            yall = Xall["churned"].to_numpy(dtype=int)
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
            oof = cross_val_predict(
                make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight),
                Xall[cols], yall, cv=cv, method="predict_proba",
            )[:, 1]
            oof_s = pd.Series(oof, index=Xall["customer_id"].to_numpy())
            score_prob = oof_s.reindex(Xscore["customer_id"].to_numpy()).to_numpy()
            missing = np.isnan(score_prob)
            if missing.any():  # current customers outside the fitted sample
                score_prob[missing] = fitted[best].predict_proba(Xscore.loc[missing, cols])[:, 1]
            explainer = make_model("logistic", numeric, categorical).fit(Xall[cols], yall)
            reference = Xall

        value_score, value_basis = customer_value(Xscore, feature_window_days=feature_window_days)
        reasons = top_reasons(explainer, Xscore[cols], reference[cols], numeric, categorical)
        scores = pd.DataFrame(
            {
                "customer_id": Xscore["customer_id"].to_numpy(),
                "churn_probability": score_prob,
                "annual_value": value_score.to_numpy(),
            }
        )
        scores["expected_loss"] = scores["churn_probability"] * scores["annual_value"]
        for col in reasons.columns:
            scores[col] = reasons[col].to_numpy()
        if "recency_days" in Xscore.columns:
            scores.insert(2, "days_since_purchase", Xscore["recency_days"].round().to_numpy())
        order = _ranking(scores["churn_probability"].to_numpy())
        scores = scores.iloc[order].reset_index(drop=True)
        scores.insert(2, "rank", np.arange(1, len(scores) + 1))
        no_value = scores["annual_value"].isna().all()
        mask, rule = contact_rule(scores["churn_probability"], threshold=threshold,
                                  value=None if no_value else scores["annual_value"],
                                  contact_cost=contact_cost, save_rate=save_rate)
        scores["at_risk"] = mask
        if contact_cost is not None and no_value:
            notes.append("contact_cost is given but no customer value is known; the top decile is used instead")

        return ChurnStudy(
            mode=mode, as_of=as_of, cutoff=cutoff, test_cutoff=test_cutoff, inactivity_days=inactivity_days,
            feature_window_days=feature_window_days, train=train, test=test, numeric=numeric, categorical=categorical,
            models=fitted, predictions=preds, metrics=metrics, best_model=best, importance=importance, scores=scores,
            rule=rule, value_basis=value_basis, contact_cost=contact_cost, save_rate=save_rate, threshold=threshold,
            bgnbd_params=bgnbd_params, notes=notes,
        )


def churn_study(ds: Any, **params: Any) -> ChurnStudy:
    """:func:`run_churn_study` on a :class:`~engage_kit.loaders.Dataset` (its tables and as_of)."""
    return run_churn_study(churn_tables(ds), as_of=ds.as_of, **params)


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
    ax.errorbar([v.value for v in vals], y, xerr=[[v.value - v.low for v in vals], [v.high - v.value for v in vals]],
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
    ax.errorbar(cal["predicted"], cal["observed"], yerr=[cal["observed"] - cal["low"], cal["high"] - cal["observed"]],
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
