"""The catalogue of headline KPIs and the functions that compute them all at once.

:data:`KPIS` names each KPI's results.json key, table, function, unit, direction and
test; :func:`compute` computes one from a mapping of tables (``Dataset.tables``) for the
window, per period or per segment; :func:`headline`, :func:`kpis_by_period`,
:func:`kpis_by_segment` compute them all; :func:`period_changes` tests the last change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from .. import activity
from ..errors import ParameterError, did_you_mean
from . import (
    adoption,
    email,
    events,
    loyalty,
    pages,
    referrals,
    retention,
    returns,
    revenue,
    satisfaction,
    sentiment,
    service,
    social,
    web,
)
from ._common import DateLike, Metric, change_test, check_period, shared_orders


@dataclass(frozen=True)
class KPI:
    """One headline KPI: its results.json key, how to compute it and how to read it.

    ``unit``: ``share`` (fraction 0-1), ``ratio`` (fraction that may pass 1), ``points``
    (NPS), ``money``, ``seconds``, ``count`` (per unit: orders, pages, interactions) or
    ``scale`` (CES points). ``better``: ``higher``, ``lower`` or None (depends on the
    survey question). ``test``: how a change between periods is tested (``proportion``:
    two-proportion z-test; ``normal``: z-test from the two intervals). ``last_period``:
    the headline is for the last complete period before as_of, not the whole window.
    """

    key: str
    label: str
    table: str
    func: Callable[..., Any]
    unit: str
    better: str | None
    test: str
    definition: str
    interval: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    last_period: bool = False
    customer_level: bool = False
    needs: tuple[str, ...] = ()  # further tables, passed by name (loyalty figures need the transactions)
    column: str | None = None  # an optional column of ``table`` that must hold values, else no figure
    active: bool = False  # takes ``active_days``
    only_with_data: bool = False  # no figure (None) when nothing in the window counts (n = 0)

    @property
    def area(self) -> str:
        return self.key.split(".", 1)[0]


def _k(key, label, table, func, unit, better, test, definition, interval, *, kwargs=(), last_period=False,
       customer_level=False, needs=(), column=None, active=False, only_with_data=False) -> KPI:
    return KPI(key, label, table, func, unit, better, test, definition, interval, tuple(kwargs), last_period,
               customer_level, tuple(needs), column, active, only_with_data)


_W, _T, _B, _D = "Wilson score", "t interval of the mean", "bootstrap over customers", "delta method (ratio of sums)"
KPIS: list[KPI] = [
    _k("retention.customer_retention_rate", "Customer retention rate", "transactions",
       retention.customer_retention_rate, "ratio", "higher", "normal",
       "(E − N) / S for the period: S customers active at its start, E active at its end, N new in it; "
       "active = bought within the trailing active_days", _B, last_period=True, customer_level=True),
    _k("retention.churn_rate", "Churn rate", "transactions", retention.churn_rate, "ratio", "lower", "normal",
       "1 − customer retention rate", _B, last_period=True, customer_level=True),
    _k("retention.repeat_purchase_rate", "Repeat purchase rate", "transactions", retention.repeat_purchase_rate,
       "share", "higher", "proportion", "customers with 2 or more orders / customers with at least 1 order", _W,
       customer_level=True),
    _k("revenue.average_order_value", "Average order value", "transactions", revenue.average_order_value,
       "money", "higher", "normal", "revenue of purchases (orders with amount ≥ 0) / number of those orders", _T),
    _k("revenue.purchase_frequency", "Purchase frequency", "transactions", revenue.purchase_frequency,
       "count", "higher", "normal", "purchase orders / customers with at least one", _T, customer_level=True),
    _k("revenue.net_dollar_retention", "Net dollar retention", "transactions", revenue.net_dollar_retention,
       "ratio", "higher", "normal",
       "net revenue in period P of the customers who bought in P − 1 / their net revenue in P − 1", _D,
       last_period=True, customer_level=True),
    _k("revenue.gross_revenue_retention", "Gross revenue retention", "transactions",
       revenue.gross_revenue_retention, "ratio", "higher", "normal",
       "as net dollar retention, each customer's revenue in P capped at its P − 1 value", _D,
       last_period=True, customer_level=True),
    _k("returns.order_rate", "Order return rate", "order_returns", returns.order_return_rate, "share", "lower",
       "proportion", "purchase orders with a return matched to them (cancelled orders included) / purchase orders; "
       "orders counted in the period they were placed", _W, customer_level=True),
    _k("returns.value_rate", "Returned value rate", "order_returns", returns.return_value_rate, "ratio", "lower",
       "normal", "returned amounts / gross revenue (purchases before returns); returns counted in the period they "
       "came back", _D, customer_level=True),
    _k("returns.customer_rate", "Customers who returned", "order_returns", returns.returning_customer_rate, "share",
       "lower", "proportion", "customers with a purchase and a return / customers with a purchase", _W,
       customer_level=True),
    _k("satisfaction.nps", "Net Promoter Score", "surveys", satisfaction.nps, "points", "higher", "normal",
       "100 × (share of 9–10 answers − share of 0–6 answers) on the 0–10 scale",
       "normal, Var = 100²(p + d − (p − d)²)/n"),
    _k("satisfaction.csat", "CSAT", "surveys", satisfaction.csat, "share", "higher", "proportion",
       "share of 4–5 answers on the 1–5 scale", _W),
    _k("satisfaction.ces_mean", "Customer effort score", "surveys", satisfaction.ces_mean, "scale", None, "normal",
       "mean answer on the 1–7 scale (direction depends on the question asked)", _T),
    _k("service.first_contact_resolution", "First contact resolution", "tickets",
       service.first_contact_resolution, "share", "higher", "proportion",
       "resolved tickets with contacts = 1 / resolved tickets (resolved_at set)", _W, column="contacts"),
    _k("service.average_handle_seconds", "Average handle time", "tickets", service.average_handle_seconds,
       "seconds", "lower", "normal", "mean handle_seconds over the tickets that have one, resolved or not", _T,
       column="handle_seconds"),
    _k("service.containment_rate", "Self-service containment", "tickets", service.containment_rate, "share",
       "higher", "proportion", "bot or self-service contacts not escalated to a person / bot or self-service "
       "contacts (handled_by bot or self_service, escalated known)", _W, column="handled_by"),
    _k("email.open_rate", "Email open rate", "touches", email.open_rate, "share", "higher", "proportion",
       "opened / delivered, per (customer, campaign) email counted once; delivered = sent − bounced where a "
       "campaign has no delivered events", _W, kwargs=[("channel", "email")]),
    _k("email.click_rate", "Email click rate", "touches", email.click_rate, "share", "higher", "proportion",
       "clicked / delivered emails", _W, kwargs=[("channel", "email")]),
    _k("email.click_to_open_rate", "Email click-to-open rate", "touches", email.click_to_open_rate, "share",
       "higher", "proportion", "emails opened and clicked / opened emails", _W, kwargs=[("channel", "email")]),
    _k("email.conversion_rate", "Email conversion rate", "touches", email.conversion_rate, "share", "higher",
       "proportion", "emails followed by a conversion event / delivered emails", _W, kwargs=[("channel", "email")]),
    _k("email.unsubscribe_rate", "Email unsubscribe rate", "touches", email.unsubscribe_rate, "share", "lower",
       "proportion", "emails with an unsubscribe / delivered emails", _W, kwargs=[("channel", "email")]),
    _k("email.bounce_rate", "Email bounce rate", "touches", email.bounce_rate, "share", "lower", "proportion",
       "bounced / sent emails", _W, kwargs=[("channel", "email")]),
    _k("web.bounce_rate", "Web bounce rate", "web_sessions", web.bounce_rate, "share", "lower", "proportion",
       "single-page sessions (pageviews = 1) / sessions", _W, column="pageviews"),
    _k("web.conversion_rate", "Web conversion rate", "web_sessions", web.conversion_rate, "share", "higher",
       "proportion", "converted sessions / sessions", _W, column="converted"),
    _k("web.pages_per_session", "Pages per session", "web_sessions", web.pages_per_session, "count", "higher",
       "normal", "pageviews / sessions", _T, column="pageviews"),
    _k("social.engagement_rate", "Social engagement rate", "touches", social.engagement_rate, "ratio", "higher",
       "normal", "engagement event rows (like, share, comment, click) / view event rows on the social channel",
       "exact Poisson (Garwood)"),
    _k("events.attendance_rate", "Event attendance rate", "touches", events.attendance_rate, "share", "higher",
       "proportion", "registered (customer, event) pairs that attended / registered pairs", _W),
    _k("web.form_fills", "Form fills", "touches", pages.form_fills, "count", "higher", "normal",
       "touch rows with event form_submit, any channel", "exact Poisson (Garwood)", only_with_data=True),
    _k("loyalty.participation_rate", "Loyalty participation", "loyalty", loyalty.participation_rate, "share",
       "higher", "proportion", "buying customers with a join or earn row / customers with a purchase", _W,
       needs=["transactions"], customer_level=True),
    _k("loyalty.redemption_rate", "Points redeemed", "loyalty", loyalty.redemption_rate, "ratio", "higher",
       "normal", "points of redeem rows / points of earn rows", _D, customer_level=True),
    _k("loyalty.member_repeat_rate", "Repeat purchase rate, members", "loyalty", loyalty.member_repeat_rate,
       "share", "higher", "proportion", "repeat purchase rate of the customers who joined or earned before "
       "as_of − active_days (per period: before the period began)", _W, needs=["transactions"], active=True,
       customer_level=True),
    _k("loyalty.non_member_repeat_rate", "Repeat purchase rate, non-members", "loyalty",
       loyalty.non_member_repeat_rate, "share", "higher", "proportion",
       "repeat purchase rate of the other buying customers", _W, needs=["transactions"], active=True,
       customer_level=True),
    _k("referrals.referral_rate", "Referral rate", "referrals", referrals.referral_rate, "share", "higher",
       "proportion", "buying customers who referred someone / customers with a purchase", _W,
       needs=["transactions"], customer_level=True),
    _k("referrals.conversion_rate", "Referral conversion", "referrals", referrals.conversion_rate, "share",
       "higher", "proportion", "referrals whose referred customer made a purchase / referrals", _W,
       needs=["transactions"], customer_level=True),
    _k("referrals.referred_repeat_rate", "Repeat purchase rate, referred", "referrals",
       referrals.referred_repeat_rate, "share", "higher", "proportion",
       "repeat purchase rate of the customers named as referred", _W, needs=["transactions"], customer_level=True),
    _k("referrals.other_repeat_rate", "Repeat purchase rate, not referred", "referrals",
       referrals.other_repeat_rate, "share", "higher", "proportion",
       "repeat purchase rate of the other buying customers", _W, needs=["transactions"], customer_level=True),
    _k("adoption.declining_share", "Customers with declining usage", "usage", adoption.declining_share, "share",
       "lower", "proportion", "customers whose usage in the last 30 days is below half their 30-day average of "
       "the 90 days before / customers with usage in those 90 days", _W, customer_level=True),
    _k("sentiment.share_positive", "Positive comments", "texts", sentiment.share_positive, "share", "higher",
       "proportion", "comments and texts with polarity > 0.05 / comments and texts (surveys.comment, touches.text); "
       "polarity by VADER (English) or the German Polarity Lexicon with VADER's rules (German)", _W),
    _k("sentiment.share_negative", "Negative comments", "texts", sentiment.share_negative, "share", "lower",
       "proportion", "comments and texts with polarity < −0.05 / comments and texts", _W),
    _k("sentiment.mean", "Average sentiment", "texts", sentiment.mean, "scale", "higher", "normal",
       "mean polarity of the comments and texts, from −1 (negative) to 1 (positive)", _T),
]
KPI_BY_KEY = {k.key: k for k in KPIS}


def _kpi(key: str) -> KPI:
    if key not in KPI_BY_KEY:
        raise ParameterError(f"unknown KPI '{key}'{did_you_mean(key, KPI_BY_KEY)}; known: {', '.join(KPI_BY_KEY)}")
    return KPI_BY_KEY[key]


def compute(
    key: str,
    tables: Mapping[str, Any],
    *,
    period: str = "M",
    active_days: int | None = None,
    as_of: DateLike = None,
    per_period: bool = False,
    by: str | None = None,
    confidence: float = 0.95,
    language: str = "auto",
    _cache: dict | None = None,
) -> Metric | pd.DataFrame | None:
    """Compute headline KPI ``key`` from ``tables`` (a mapping such as ``Dataset.tables``).

    Whole window (default), per period (``per_period=True``, periods of length
    ``period``) and/or per segment (``by``; customer attributes come from
    ``tables["customers"]``). KPIs marked ``last_period`` are for the last complete
    period before ``as_of`` unless ``per_period``. ``active_days`` (retention and churn):
    None chooses it from the transactions (:func:`engage_kit.activity.default_active_days`).
    Returns None when the KPI's table is absent. ``_cache`` (a dict) lets several calls
    share one engine query for the email rates. ``language`` (``en``, ``de``, ``auto``): of
    the comments and texts the sentiment KPIs read (:func:`.sentiment.text_table`).
    """
    k = _kpi(key)
    period = check_period(period) or "M"
    if k.table == "texts":  # the comments and texts of surveys and touches, scored
        texts = sentiment.text_table(tables, language=language)
        if texts is None:
            return None
        tables = {**tables, "texts": texts}
    if k.table not in tables or any(n not in tables for n in k.needs):
        return None
    if k.column is not None and not _has_values(tables[k.table], k.column, _cache):
        return None
    if k.active:
        active_days = _active_days(tables, active_days, as_of, _cache)
    if k.area == "retention" and k.last_period:
        active_days = _active_days(tables, active_days, as_of, _cache)
    if k.area == "email" and _cache is not None:
        ck = ("email", per_period, by)
        if ck not in _cache:
            _cache[ck] = email.message_rates(
                tables["touches"], channel="email", period=period if per_period else None, by=by,
                customers=tables.get("customers"), as_of=as_of, confidence=confidence,
            )
        got = _cache[ck]
        name = key.split(".", 1)[1]
        if isinstance(got, dict):
            return got[name]
        num, den = email.RATES[name]
        out = got[got["metric"] == name].drop(columns="metric")
        return out.rename(columns={"numerator": num, "denominator": den}).reset_index(drop=True)
    if key == "retention.churn_rate" and _cache is not None:  # 1 − CRR: reuse its bootstrap
        crr = compute("retention.customer_retention_rate", tables, period=period, active_days=active_days,
                      as_of=as_of, per_period=per_period, by=by, confidence=confidence, _cache=_cache)
        return retention.complement(crr)
    ck = (key, per_period, by)
    if _cache is not None and ck in _cache:
        return _cache[ck]
    kw: dict[str, Any] = dict(k.kwargs)
    kw.update(as_of=as_of, by=by, customers=tables.get("customers"), confidence=confidence)
    kw.update({n: tables[n] for n in k.needs})
    if k.active:
        kw["active_days"] = active_days
    if k.last_period:
        kw.update(period=period, all_periods=per_period)
        if k.area == "retention":
            kw["active_days"] = active_days
    else:
        kw["period"] = period if per_period else None
    data = tables[k.table]
    if k.func in _RETENTION_MEASURES and _cache is not None:  # NDR and GRR: one table serves both
        rk = ("revenue_retention", per_period, by)
        if rk not in _cache:
            _cache[rk] = revenue.revenue_retention(data, **{n: kw[n] for n in _RETENTION_ARGS})
        out = revenue.retention_measure(_RETENTION_MEASURES[k.func], _cache[rk], all_periods=per_period, by=by)
    else:
        guests = tables.get("guest_transactions") if key == "revenue.average_order_value" else None
        if guests is not None:  # an order-level figure: guest orders count (missing_customer_id: guest)
            data = data.union(guests.select(*data.columns))
        out = k.func(data, **kw)
        if guests is not None and isinstance(out, Metric):
            out = replace(out, note="including guest orders")
    if k.only_with_data and isinstance(out, Metric) and out.n == 0:
        out = None
    if _cache is not None:
        _cache[ck] = out
    return out


_RETENTION_MEASURES = {revenue.net_dollar_retention: "ndr", revenue.gross_revenue_retention: "grr"}
_RETENTION_ARGS = ("period", "as_of", "all_periods", "by", "customers", "confidence")


def _has_values(t: Any, column: str, cache: dict | None) -> bool:
    """Whether ``column`` of table ``t`` exists and holds a value (asked once per cache)."""
    ck = ("has", id(t), column)
    if cache is not None and ck in cache:
        return cache[ck]
    cols = t.columns if hasattr(t, "columns") else ()
    if column not in cols:
        got = False
    elif isinstance(t, pd.DataFrame):
        got = bool(t[column].notna().any())
    else:
        got = int(t[column].count().execute() or 0) > 0
    if cache is not None:
        cache[ck] = got
    return got


def _active_days(tables: Mapping[str, Any], active_days: int | None, as_of: DateLike, cache: dict | None) -> int:
    """``active_days`` checked, or chosen from the transactions once per cache (None given)."""
    if active_days is not None:
        return activity.check_active_days(active_days)
    if cache is not None and "active_days" in cache:
        return cache["active_days"]
    days = activity.default_active_days(tables["transactions"], as_of=as_of)
    if cache is not None:
        cache["active_days"] = days
    return days


def headline(
    tables: Mapping[str, Any],
    *,
    period: str = "M",
    active_days: int | None = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
    language: str = "auto",
) -> dict[str, Metric | None]:
    """Every headline KPI for the whole window (None where its table is absent).

    Keys are the results.json keys (``email.open_rate``...). Retention rate, churn, NDR
    and GRR are for the last complete period before ``as_of``.
    """
    cache: dict = {}
    with shared_orders():  # the order-level KPIs group the orders once
        return {k.key: compute(k.key, tables, period=period, active_days=active_days, as_of=as_of,
                               confidence=confidence, language=language, _cache=cache) for k in KPIS}


def kpis_by_period(
    tables: Mapping[str, Any],
    *,
    period: str = "M",
    active_days: int | None = None,
    as_of: DateLike = None,
    keys: list[str] | None = None,
    confidence: float = 0.95,
    language: str = "auto",
) -> pd.DataFrame:
    """Every headline KPI per calendar period, long: one row per KPI and period.

    Columns: key, area, label, period, period_start, period_end, complete, value, low,
    high, n, reason. Use :func:`wide` for one row per period and one column per KPI.

    ``reason`` says why a value is missing where the KPI knows (else None). The customer
    retention and churn rates of periods that start less than ``active_days`` after the
    first transaction are left empty with their reason: customers active before the data
    began are not seen and nobody can have lapsed yet, so (E − N) / S would be near 100% by
    construction, not by behaviour (:func:`.retention.not_computable`).
    """
    frames, cache = [], {}
    with shared_orders():  # the order-level KPIs group the orders once
        computed = [(k, compute(k.key, tables, period=period, active_days=active_days, as_of=as_of, per_period=True,
                                confidence=confidence, language=language, _cache=cache))
                    for k in KPIS if keys is None or k.key in keys]
    for k, df in computed:
        if df is None or len(df) == 0:
            continue
        df = df.reindex(columns=["period", "period_start", "period_end", "complete", "value", "low", "high", "n",
                                 "reason"])
        df["reason"] = df["reason"].astype(object).where(df["reason"].notna(), None)
        df.insert(0, "label", k.label)
        df.insert(0, "area", k.area)
        df.insert(0, "key", k.key)
        frames.append(df)
    cols = ["key", "area", "label", "period", "period_start", "period_end", "complete", "value", "low", "high", "n",
            "reason"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def every_view(
    tables: Mapping[str, Any],
    segment: str | None = None,
    **options: Any,
) -> tuple[dict[str, Metric | None], pd.DataFrame, pd.DataFrame | None]:
    """:func:`headline`, :func:`kpis_by_period` and (when ``segment`` is given)
    :func:`kpis_by_segment` with the same ``options``, the orders grouped once for all three.

    The same figures as the three calls one after another: they share the engine's table of
    orders (:func:`._common.shared_orders`) instead of each grouping the transactions into
    orders again (10M-row bench: about 1.7 s a grouping).
    """
    with shared_orders():
        head = headline(tables, **options)
        trend = kpis_by_period(tables, **options)
        by_seg = kpis_by_segment(tables, segment, **options) if segment else None
    return head, trend, by_seg


def wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per period, one column per KPI (its value), from :func:`kpis_by_period`."""
    if long.empty:
        return pd.DataFrame(columns=["period", "period_start", "period_end"])
    w = long.pivot_table(index="period_start", columns="key", values="value", aggfunc="first", dropna=False)
    order = [k.key for k in KPIS if k.key in w.columns]
    periods = long.drop_duplicates("period_start")[["period", "period_start", "period_end"]]
    w = periods.merge(w[order].reset_index(), on="period_start", how="left")
    w = w.sort_values("period_start", kind="stable").reset_index(drop=True)
    w.columns.name = None
    return w


def kpis_by_segment(
    tables: Mapping[str, Any],
    by: str,
    *,
    period: str = "M",
    active_days: int | None = None,
    as_of: DateLike = None,
    keys: list[str] | None = None,
    confidence: float = 0.95,
    language: str = "auto",
) -> pd.DataFrame:
    """Every headline KPI per segment ``by``, long: key, area, label, segment, value, low, high, n.

    ``by`` is a customer attribute (joined from ``tables["customers"]``) or a column of
    the KPI's own table (such as ``channel``). KPIs it cannot split are left out and
    listed in ``attrs["skipped"]`` with the reason.
    """
    frames, skipped, cache = [], {}, {}
    with shared_orders():  # the order-level KPIs group the orders once
        for k in KPIS:
            if keys is not None and k.key not in keys:
                continue
            try:
                df = compute(k.key, tables, period=period, active_days=active_days, as_of=as_of, by=by,
                             confidence=confidence, language=language, _cache=cache)
            except ParameterError as e:
                skipped[k.key] = str(e)
                continue
            if df is None or len(df) == 0:
                continue
            df = df.rename(columns={by: "segment"})[["segment", "value", "low", "high", "n"]].copy()
            df.insert(0, "label", k.label)
            df.insert(0, "area", k.area)
            df.insert(0, "key", k.key)
            frames.append(df)
    cols = ["key", "area", "label", "segment", "value", "low", "high", "n"]
    out = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    out.attrs["skipped"] = skipped
    return out


def period_changes(long: pd.DataFrame) -> pd.DataFrame:
    """Last complete period against the one before, per KPI: is the change more than noise?

    From :func:`kpis_by_period`. Proportions use the pooled two-proportion z-test; other
    KPIs a z-test from the two intervals (:func:`._common.change_test`). p-values are
    also given Holm-adjusted across the KPIs tested (Holm 1979), since many changes are
    read at once. Columns: key, label, previous_period, period, previous, current, delta,
    z, p_value, p_holm, significant (p_holm < 0.05), better (True/False/None).
    """
    rows = []
    if long.empty:
        return pd.DataFrame(columns=["key", "label", "previous_period", "period", "previous", "current", "delta",
                                     "z", "p_value", "p_holm", "significant", "better"])
    done = long[long["complete"].astype(bool)]
    for key, g in done.groupby("key", sort=False):
        g = g.sort_values("period_start")
        if len(g) < 2:
            continue
        a, b = g.iloc[-2], g.iloc[-1]
        k = KPI_BY_KEY[key]
        prev = Metric(float(a.value), float(a.low), float(a.high), int(a.n))
        cur = Metric(float(b.value), float(b.low), float(b.high), int(b.n))
        t = change_test(prev, cur, kind=k.test)
        better = None
        if k.better and np.isfinite(t["delta"]) and t["delta"] != 0:
            better = (t["delta"] > 0) == (k.better == "higher")
        rows.append({"key": key, "label": k.label, "previous_period": a.period, "period": b.period,
                     "previous": prev.value, "current": cur.value, **t, "better": better})
    out = pd.DataFrame(rows)
    if out.empty:
        return period_changes(pd.DataFrame())
    ok = out["p_value"].notna()
    out["p_holm"] = np.nan
    if ok.any():
        out.loc[ok, "p_holm"] = multipletests(out.loc[ok, "p_value"], method="holm")[1]
    out["significant"] = out["p_holm"] < 0.05
    return out[["key", "label", "previous_period", "period", "previous", "current", "delta", "z", "p_value",
                "p_holm", "significant", "better"]]


def choose_segment(tables: Mapping[str, Any], segment: str | None) -> str | None:
    """The segment to split by: ``segment`` when valid, else automatic (None = none found).

    Automatic: the customers table's ``segment`` column, else its first attribute, else
    ``channel``. A given ``segment`` must be a customer attribute or ``channel``.
    """
    attrs = []
    if "customers" in tables:
        c = tables["customers"]
        cols = list(c.columns)
        attrs = [x for x in cols if x not in ("customer_id", "signup_at", "churned")]
    if segment is None:
        if "segment" in attrs:
            return "segment"
        return attrs[0] if attrs else ("channel" if "touches" in tables or "transactions" in tables else None)
    valid = attrs + ["channel"]
    if segment not in valid:
        raise ParameterError(
            f"segment '{segment}' is neither a customer attribute nor 'channel'{did_you_mean(segment, valid)}; "
            f"valid: {', '.join(valid)}"
        )
    return segment


# the report's sections: the table each needs, and the KPI whose count says it has data
SECTIONS: dict[str, tuple[str, str | None]] = {
    "retention": ("transactions", None),
    "revenue": ("transactions", None),
    "returns": ("order_returns", None),
    "satisfaction": ("surveys", None),
    "service": ("tickets", None),
    "loyalty": ("loyalty", None),
    "referrals": ("referrals", None),
    "adoption": ("usage", None),
    "pages": ("pageviews", None),
    "email": ("touches", "email.bounce_rate"),
    "web": ("web_sessions", None),
    "social": ("touches", "social.engagement_rate"),
    "events": ("touches", "events.attendance_rate"),
    "sentiment": ("texts", "sentiment.mean"),  # only when the data has comments or texts
}


def sections(tables: Mapping[str, Any], head: Mapping[str, Metric | None]) -> dict[str, str | None]:
    """For each area of the KPI report, None when it has data to show, else why it is skipped.

    An area needs its table (``order_returns`` exists only when the transactions hold a
    return); the touch-based areas (email, social, events) also need rows of their kind,
    read from the headline KPI's ``n``. The sentiment area is listed only when the data has
    comments or texts (data without them reads as before).
    """
    out: dict[str, str | None] = {}
    for area, (table, key) in SECTIONS.items():
        if table == "texts":  # no comment or text column: no section, and nothing to say about it
            if head.get(key) is not None:
                out[area] = None if head[key].n > 0 else "no comment or text up to the analysis date"
            continue
        if table not in tables:
            out[area] = ("the transactions hold no returns (no amount below 0)" if table == "order_returns"
                         else f"the dataset has no {table.replace('_', ' ')} table")
        elif key is not None and (head.get(key) is None or head[key].n == 0):
            out[area] = "the dataset has no data for this section"
        else:
            out[area] = None
    return out


def has_segments(seg: pd.DataFrame | None, keys: list[str]) -> bool:
    """True when the per-segment table holds any of ``keys`` (a segment applies to them)."""
    return seg is not None and bool(seg["key"].isin(keys).any())
