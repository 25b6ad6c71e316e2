"""Engagement KPIs: every measure computed the same, documented way, with its uncertainty.

One module per area: :mod:`.retention`, :mod:`.revenue`, :mod:`.returns`,
:mod:`.satisfaction`, :mod:`.service`, :mod:`.email`, :mod:`.web`, :mod:`.social`, :mod:`.events`. Each
function takes a canonical table (Ibis, or pandas for small frames) and returns a
:class:`Metric` (value, interval, ``n`` and the counts behind it) for the window, or a
DataFrame with one row per calendar period (``period="W" | "M" | "Q"``) and/or segment
(``by=``: a column of the table such as ``channel``, or a customer attribute with
``customers=``).

This module adds the catalogue of headline KPIs (:data:`KPIS`) and the functions that
compute them all at once from a mapping of tables (``Dataset.tables``): :func:`headline`,
:func:`kpis_by_period`, :func:`kpis_by_segment`, :func:`period_changes`, :func:`glossary`.
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
from ..stats import error_bars
from ..text import esc
from . import email, events, retention, returns, revenue, satisfaction, service, social, web
from ._common import DateLike, Metric, change_test, check_period

__all__ = [
    "KPI",
    "KPIS",
    "Metric",
    "change_test",
    "check_period",
    "choose_segment",
    "compute",
    "describe_segments",
    "describe_notes",
    "describe_trend",
    "describe_unavailable",
    "finding",
    "format_delta",
    "format_value",
    "kpi_cards",
    "plot_segments",
    "plot_trends",
    "glossary",
    "headline",
    "kpis_by_period",
    "kpis_by_segment",
    "period_changes",
    "wide",
    "email",
    "events",
    "retention",
    "returns",
    "revenue",
    "satisfaction",
    "service",
    "social",
    "web",
]


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

    @property
    def area(self) -> str:
        return self.key.split(".", 1)[0]


def _k(key, label, table, func, unit, better, test, definition, interval, *, kwargs=(), last_period=False,
       customer_level=False) -> KPI:
    return KPI(key, label, table, func, unit, better, test, definition, interval, tuple(kwargs), last_period,
               customer_level)


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
       "resolved tickets with contacts = 1 / resolved tickets (resolved_at set)", _W),
    _k("service.average_handle_seconds", "Average handle time", "tickets", service.average_handle_seconds,
       "seconds", "lower", "normal", "mean handle_seconds over the tickets that have one, resolved or not", _T),
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
       "single-page sessions (pageviews = 1) / sessions", _W),
    _k("web.conversion_rate", "Web conversion rate", "web_sessions", web.conversion_rate, "share", "higher",
       "proportion", "converted sessions / sessions", _W),
    _k("web.pages_per_session", "Pages per session", "web_sessions", web.pages_per_session, "count", "higher",
       "normal", "pageviews / sessions", _T),
    _k("social.engagement_rate", "Social engagement rate", "touches", social.engagement_rate, "ratio", "higher",
       "normal", "engagement event rows (like, share, comment, click) / view event rows on the social channel",
       "exact Poisson (Garwood)"),
    _k("events.attendance_rate", "Event attendance rate", "touches", events.attendance_rate, "share", "higher",
       "proportion", "registered (customer, event) pairs that attended / registered pairs", _W),
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
    _cache: dict | None = None,
) -> Metric | pd.DataFrame | None:
    """Compute headline KPI ``key`` from ``tables`` (a mapping such as ``Dataset.tables``).

    Whole window (default), per period (``per_period=True``, periods of length
    ``period``) and/or per segment (``by``; customer attributes come from
    ``tables["customers"]``). KPIs marked ``last_period`` are for the last complete
    period before ``as_of`` unless ``per_period``. ``active_days`` (retention and churn):
    None chooses it from the transactions (:func:`engage_kit.activity.default_active_days`).
    Returns None when the KPI's table is absent. ``_cache`` (a dict) lets several calls
    share one engine query for the email rates.
    """
    k = _kpi(key)
    period = check_period(period) or "M"
    if k.table not in tables:
        return None
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
    if k.last_period:
        kw.update(period=period, all_periods=per_period)
        if k.area == "retention":
            kw["active_days"] = active_days
    else:
        kw["period"] = period if per_period else None
    data = tables[k.table]
    guests = tables.get("guest_transactions") if key == "revenue.average_order_value" else None
    if guests is not None:  # an order-level figure: guest orders count (missing_customer_id: guest)
        data = data.union(guests.select(*data.columns))
    out = k.func(data, **kw)
    if guests is not None and isinstance(out, Metric):
        out = replace(out, note="including guest orders")
    if _cache is not None:
        _cache[ck] = out
    return out


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
) -> dict[str, Metric | None]:
    """Every headline KPI for the whole window (None where its table is absent).

    Keys are the results.json keys (``email.open_rate``...). Retention rate, churn, NDR
    and GRR are for the last complete period before ``as_of``.
    """
    cache: dict = {}
    return {k.key: compute(k.key, tables, period=period, active_days=active_days, as_of=as_of,
                           confidence=confidence, _cache=cache) for k in KPIS}


def kpis_by_period(
    tables: Mapping[str, Any],
    *,
    period: str = "M",
    active_days: int | None = None,
    as_of: DateLike = None,
    keys: list[str] | None = None,
    confidence: float = 0.95,
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
    for k in KPIS:
        if keys is not None and k.key not in keys:
            continue
        df = compute(k.key, tables, period=period, active_days=active_days, as_of=as_of, per_period=True,
                     confidence=confidence, _cache=cache)
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
) -> pd.DataFrame:
    """Every headline KPI per segment ``by``, long: key, area, label, segment, value, low, high, n.

    ``by`` is a customer attribute (joined from ``tables["customers"]``) or a column of
    the KPI's own table (such as ``channel``). KPIs it cannot split are left out and
    listed in ``attrs["skipped"]`` with the reason.
    """
    frames, skipped, cache = [], {}, {}
    for k in KPIS:
        if keys is not None and k.key not in keys:
            continue
        try:
            df = compute(k.key, tables, period=period, active_days=active_days, as_of=as_of, by=by,
                         confidence=confidence, _cache=cache)
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


def changes_table(changes: pd.DataFrame, *, currency: str = "") -> pd.DataFrame:
    """:func:`period_changes` as a table for readers: values in their units, p-values as text.

    Columns: KPI, From, Value then, To, Value now, Change, p-value, Holm p-value, More than noise.
    """
    def p_text(p: float) -> str:
        if p is None or not np.isfinite(p):
            return "–"
        return "< 0.001" if p < 0.001 else f"{p:.3f}"

    cols = ["KPI", "From", "Value then", "To", "Value now", "Change", "p-value", "Holm p-value", "More than noise"]
    if changes.empty:
        return pd.DataFrame(columns=cols)
    keys = changes["key"]
    return pd.DataFrame({
        "KPI": changes["label"].to_numpy(),
        "From": changes["previous_period"].to_numpy(),
        "Value then": [format_value(k, v, currency=currency) for k, v in zip(keys, changes["previous"], strict=True)],
        "To": changes["period"].to_numpy(),
        "Value now": [format_value(k, v, currency=currency) for k, v in zip(keys, changes["current"], strict=True)],
        "Change": [format_delta(k, v, currency=currency) for k, v in zip(keys, changes["delta"], strict=True)],
        "p-value": [p_text(p) for p in changes["p_value"]],
        "Holm p-value": [p_text(p) for p in changes["p_holm"]],
        "More than noise": ["yes" if bool(s) else "no" for s in changes["significant"]],
    })[cols]


def glossary(*, active_days: int | None = None) -> pd.DataFrame:
    """Every headline KPI with its definition, unit, interval and source table.

    ``active_days`` fills in the activity window of the retention KPIs (None: "the
    activity window").
    """
    units = {"share": "fraction 0–1 (shown as %)", "ratio": "fraction (may pass 100%)", "points": "points −100 to 100",
             "money": "currency per order", "seconds": "seconds", "count": "count", "scale": "points 1–7"}
    per_key = {"revenue.purchase_frequency": "orders per customer", "web.pages_per_session": "pages per session",
               "social.engagement_rate": "engagements per view (may pass 100%)",
               "retention.churn_rate": "fraction (may be below 0%)"}
    rows = []
    for k in KPIS:
        d = k.definition.replace("active_days", f"{active_days} days" if active_days else "activity window")
        if k.last_period:
            d += "; headline: the last complete period before the analysis date"
        rows.append({"KPI": k.label, "key": k.key, "definition": d, "unit": per_key.get(k.key, units[k.unit]),
                     "interval (95%)": k.interval, "table": "transactions" if k.table == "order_returns" else k.table})
    return pd.DataFrame(rows)


# --- report helpers: segment choice, formatting, sentences and charts --------------------


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


def format_value(key: str, value: float, *, currency: str = "") -> str:
    """A KPI value as text in its unit: 29.5%, 31.8, 30.25 EUR, 659 s, 3.15."""
    if value is None or not np.isfinite(value):
        return "–"
    unit = _kpi(key).unit
    if unit in ("share", "ratio"):
        return f"{value:.1%}" if abs(value) >= 0.01 else f"{value:.2%}"
    if unit == "points":
        return f"{value:.1f}"
    if unit == "money":
        return f"{value:,.2f} {currency}".strip()
    if unit == "seconds":
        return f"{value:,.0f} s"
    return f"{value:.2f}"


def format_delta(key: str, delta: float, *, currency: str = "") -> str:
    """A change in the KPI's unit: +0.5 pts for rates, +1.20 EUR, +12 s, +3.1 (NPS points)."""
    if delta is None or not np.isfinite(delta):
        return ""
    unit = _kpi(key).unit
    if unit in ("share", "ratio"):
        return f"{100 * delta:+.1f} pts" if abs(delta) >= 0.001 else f"{100 * delta:+.2f} pts"
    if unit == "points":
        return f"{delta:+.1f} points"
    if unit == "money":
        return f"{delta:+,.2f} {currency}".strip()
    if unit == "seconds":
        return f"{delta:+,.0f} s"
    return f"{delta:+.2f}"


def kpi_cards(
    head: Mapping[str, Metric | None], changes: pd.DataFrame, *, keys: list[str] | None = None, currency: str = "",
    active_days: int | None = None,
) -> list[dict[str, Any]]:
    """Cards for :func:`engage_kit.nb.kpi_cards`: value, 95% interval and n, change vs the previous period.

    Retention, churn, NDR and GRR are for the last complete period, so their change is the
    card's own; the other cards show the whole window, and their change line names the
    last complete period and its value (``-7.0 pts to 32.2% in 2024-12 vs 2024-11``).
    The retention and churn cards name the activity window (``active_days``). A KPI whose
    table is absent has no card; one that cannot be computed shows "n/a" and the reason.
    """
    ch = changes.set_index("key") if len(changes) else pd.DataFrame()
    cards = []
    for k in KPIS:
        if keys is not None and k.key not in keys:
            continue
        m = head.get(k.key)
        if m is None:
            continue
        window = f" · active = bought in the last {active_days} days" if k.area == "retention" and k.last_period and active_days else ""
        if not np.isfinite(m.value):
            why = m.why_not() if isinstance(m, Metric) else "it cannot be computed from the data"
            cards.append({"label": k.label, "value": "n/a", "detail": f"not computable: {why}{window}"})
            continue
        detail = f"95% CI {format_value(k.key, m.low, currency=currency)} – {format_value(k.key, m.high, currency=currency)}"
        if k.last_period:
            detail += " · last period"
        if isinstance(m, Metric) and m.note:
            detail += f" · {m.note}"
        detail += window
        card = {"label": k.label, "value": format_value(k.key, m.value, currency=currency), "detail": detail}
        if k.key in ch.index:
            r = ch.loc[k.key]
            d = format_delta(k.key, r["delta"], currency=currency)
            if d:
                noise = "" if bool(r["significant"]) else " (within noise)"
                # the card's value covers the whole window: name the period the change is about
                where = "" if k.last_period else f" to {format_value(k.key, r['current'], currency=currency)} in {r['period']}"
                card["delta"] = f"{d}{where} vs {r['previous_period']}{noise}"
                card["good"] = None if not bool(r["significant"]) else r["better"]
        cards.append(card)
    return cards


def describe_unavailable(head: Mapping[str, Metric | None]) -> str:
    """One sentence naming the headline KPIs that cannot be computed, with their reasons ("" when none).

    KPIs sharing a reason (retention and churn) are named together; KPIs whose table is
    absent are not named (their sections say so).
    """
    by_reason: dict[str, list[str]] = {}
    for k in KPIS:
        m = head.get(k.key)
        if m is None or np.isfinite(m.value):
            continue
        why = m.why_not() if isinstance(m, Metric) else "it cannot be computed from the data"
        by_reason.setdefault(why, []).append(k.label)
    if not by_reason:
        return ""
    parts = [f"{' and '.join(labels)}: n/a ({why})" for why, labels in by_reason.items()]
    return "Not computable on this data: " + "; ".join(parts) + "."


def describe_notes(head: Mapping[str, Metric | None]) -> str:
    """One sentence per note a headline KPI carries ("" when none), e.g. guest orders in order value."""
    said = {"including guest orders": "{label} counts guest orders too (rows without a customer id); the "
                                      "per-customer figures leave them out."}
    parts = []
    for k in KPIS:
        m = head.get(k.key)
        if isinstance(m, Metric) and m.note and m.computable:
            parts.append(" " + said.get(m.note, "{label}: {note}.").format(label=k.label, note=m.note))
    return "".join(parts)


def describe_trend(long: pd.DataFrame, key: str, *, currency: str = "") -> str:
    """One sentence on a KPI's trend: first and last complete period, highest and lowest."""
    done = long[(long["key"] == key) & long["complete"].astype(bool)]
    g = done.dropna(subset=["value"])
    if g.empty:
        reasons = done["reason"].dropna().tolist() if "reason" in done.columns else []
        if reasons:  # the latest period's reason speaks for the rest
            return f"{_kpi(key).label}: n/a, no complete period can be measured ({reasons[-1]})."
        return f"{_kpi(key).label}: no complete period with data."
    g = g.sort_values("period_start")
    f, last = g.iloc[0], g.iloc[-1]
    hi, lo = g.loc[g["value"].idxmax()], g.loc[g["value"].idxmin()]
    fv = lambda v: format_value(key, v, currency=currency)  # noqa: E731
    return (
        f"{_kpi(key).label} went from {fv(f.value)} in {f.period} to {fv(last.value)} in {last.period} "
        f"(95% CI {fv(last.low)} – {fv(last.high)}); highest {fv(hi.value)} in {hi.period}, "
        f"lowest {fv(lo.value)} in {lo.period}."
    )


def describe_segments(seg: pd.DataFrame, key: str, *, currency: str = "") -> str:
    """One sentence on a KPI across segments: highest and lowest, and whether intervals overlap."""
    g = seg[seg["key"] == key].dropna(subset=["value"])
    if g.empty:
        return f"{_kpi(key).label}: no segment with data."
    hi, lo = g.loc[g["value"].idxmax()], g.loc[g["value"].idxmin()]
    fv = lambda v: format_value(key, v, currency=currency)  # noqa: E731
    if len(g) == 1:
        return f"{_kpi(key).label}: {fv(hi.value)} in {esc(hi.segment)} (the only segment)."
    apart = "their 95% intervals do not overlap" if lo.high < hi.low else "their 95% intervals overlap"
    text = (
        f"{_kpi(key).label} is highest in {esc(hi.segment)} ({fv(hi.value)}, n = {int(hi.n):,}) and lowest in "
        f"{esc(lo.segment)} ({fv(lo.value)}, n = {int(lo.n):,}); {apart}."
    )
    return text


def describe_segment_keys(seg: pd.DataFrame, keys: list[str], *, currency: str = "") -> str:
    """:func:`describe_segments` for each of ``keys`` that has data, then once what "(unknown)" holds."""
    shown = [k for k in keys if (seg["key"] == k).any()]
    text = " ".join(describe_segments(seg, k, currency=currency) for k in shown)
    if (seg["key"].isin(shown) & (seg["segment"].astype(str) == "(unknown)")).any():
        text += " (unknown) holds the rows without a known customer or without a value for the segment."
    return text


def _unit_axis(ax, unit: str, values: pd.Series, currency: str, axis: str = "y") -> None:
    """Percent axes for rates (one decimal below 10%), money with decimals when the range is small."""
    import matplotlib.ticker as mticker

    from ..plots import percent_axis

    v = pd.to_numeric(values, errors="coerce").abs()
    top = float(v.max()) if v.notna().any() else 1.0
    target = ax.yaxis if axis == "y" else ax.xaxis
    if unit in ("share", "ratio"):
        percent_axis(ax, axis=axis, decimals=1 if top < 0.1 else 0)
        target.set_major_formatter(mticker.FuncFormatter(_distinct_percent(target, 1 if top < 0.1 else 0)))
        if axis == "x":  # narrow panels: few ticks so the labels do not run together
            target.set_major_locator(mticker.MaxNLocator(4))
    elif unit == "money":  # the currency goes in the axis label, ticks stay short
        target.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}" if top >= 100 else "{x:,.1f}"))
        target.set_major_locator(mticker.MaxNLocator(5))
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(currency)


def _distinct_percent(axis, least: int = 0):
    """Percent tick formatter with the fewest decimals (at least ``least``) that keep the labels distinct."""
    def fmt(x: float, pos: Any = None) -> str:
        lo, hi = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_majorticklocs() if lo - 1e-12 <= t <= hi + 1e-12]
        d = least
        while d < 3 and len({f"{100 * t:.{d}f}" for t in ticks}) < len(ticks):
            d += 1
        return f"{100 * x:.{d}f}%"
    return fmt


def plot_trends(long: pd.DataFrame, keys: list[str], *, title: str, currency: str = "", ylabel: str | None = None):
    """Line chart of KPIs per period with their 95% bands; incomplete periods hollow. Returns the axes."""
    import matplotlib.pyplot as plt

    from ..plots import PALETTE

    fig, ax = plt.subplots(figsize=(9, 4))
    units = set()
    for i, key in enumerate(keys):
        g = long[long["key"] == key].sort_values("period_start")
        if g.empty:
            continue
        k = _kpi(key)
        units.add(k.unit)
        c = PALETTE[i % len(PALETTE)]
        x = g["period_start"]
        ax.plot(x, g["value"], marker="o", ms=4, color=c, label=k.label)
        ax.fill_between(x, g["low"].astype(float), g["high"].astype(float), color=c, alpha=0.15, lw=0)
        inc = g[~g["complete"].astype(bool)]
        if len(inc):
            ax.plot(inc["period_start"], inc["value"], "o", ms=7, mfc="white", color=c)
    shown = long[long["key"].isin(keys)]
    if units <= {"share", "ratio"}:
        _unit_axis(ax, "share", shown["high"], currency)
    elif units == {"money"}:
        _unit_axis(ax, "money", shown["high"], currency)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(ax.get_legend_handles_labels()[0]) > 1:  # one series: the title names it
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    fig.autofmt_xdate()
    return ax


def plot_segments(seg: pd.DataFrame, keys: list[str], *, title: str, by: str, currency: str = ""):
    """Dot-and-whisker chart of KPIs per segment (95% intervals). Returns the figure."""
    import matplotlib.pyplot as plt

    from ..plots import color_for

    keys = [k for k in keys if (seg["key"] == k).any()]
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(4.2 * max(len(keys), 1), 0.45 * seg["segment"].nunique() + 1.5),
                             squeeze=False, sharey=True)
    for ax, key in zip(axes[0], keys, strict=False):
        g = seg[seg["key"] == key].sort_values("segment")
        y = range(len(g))
        cols = [color_for(s) for s in g["segment"]]
        ax.errorbar(g["value"], list(y), xerr=error_bars(g["value"], g["low"], g["high"]),
                    fmt="none", ecolor="#999", capsize=3)
        ax.scatter(g["value"], list(y), color=cols, zorder=3)
        ax.set_yticks(list(y), [str(s) for s in g["segment"]])
        ax.set_ylim(-0.6, len(g) - 0.4)
        k = _kpi(key)
        _unit_axis(ax, k.unit, g["high"], currency, axis="x")
        ax.set_title(k.label, fontsize=11)
    axes[0][0].set_ylabel(by)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return fig


def finding(changes: pd.DataFrame, key: str, *, currency: str = "") -> str:
    """A chart title that states the finding: the last complete period and its change."""
    k = _kpi(key)
    r = changes[changes["key"] == key] if len(changes) else changes
    if r is None or r.empty:
        return k.label
    r = r.iloc[0]
    d = format_delta(key, r["delta"], currency=currency)
    noise = "more than noise" if bool(r["significant"]) else "within noise"
    return f"{k.label} {format_value(key, r['current'], currency=currency)} in {r['period']} ({d} vs {r['previous_period']}, {noise})"
