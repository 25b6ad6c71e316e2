"""What the KPI report says: values in their units, cards, tables for readers, sentences.

Numbers in, plain language out: nothing here queries the engine or computes a KPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..text import esc
from ._common import Metric
from .kpis import KPIS, _kpi


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


PERIOD_WORDS = {"W": "week", "M": "month", "Q": "quarter"}


def describe_trends(long: pd.DataFrame, keys: list[str], *, currency: str = "") -> str:
    """:func:`describe_trend` for each of ``keys``, as one paragraph."""
    return " ".join(describe_trend(long, k, currency=currency) for k in keys)


def summary(
    changes: pd.DataFrame, head: Mapping[str, Metric | None], *, as_of: Any, period: str, currency: str = ""
) -> str:
    """The executive summary's paragraph: the data's end, the periods, what moved beyond noise,
    what cannot be computed and what a figure includes beyond its definition."""
    moved = changes[changes["significant"]] if len(changes) else changes
    found = "; ".join(finding(changes, k, currency=currency) for k in moved["key"]) if len(moved) else ""
    return (
        f"Data up to **{pd.Timestamp(as_of):%Y-%m-%d}**, periods of one {PERIOD_WORDS[period]}. "
        f"Intervals are 95%; retention, churn, NDR and GRR are for the last complete period, the rest for the whole window. "
        f"Of {len(changes)} KPIs compared with the period before, **{len(moved)}** changed by more than noise "
        f"(Holm-adjusted p < 0.05)"
        + (": " + found + "." if len(moved) else ".")
        + " " + describe_unavailable(head) + describe_notes(head)
    )


def historic_clv(m: Metric, *, currency: str = "") -> str:
    """The sentence on historic CLV (net revenue to date per buying customer)."""
    return (f"Historic CLV (net revenue to date) averages **{m.value:,.2f} {currency}** per buying customer "
            f"(95% CI {m.low:,.2f} – {m.high:,.2f}, {m.n:,} customers).")


def channel_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """The message rates of every channel (from :func:`.email.message_rates` by channel) as a
    table for readers: one row per channel, one column per rate."""
    wide_ch = rates.pivot_table(index="channel", columns="metric", values="value").reset_index()
    return wide_ch.rename(columns={c: c.replace("_", " ").capitalize() for c in wide_ch.columns})


def event_table(events: pd.DataFrame) -> pd.DataFrame:
    """Registrations, attendance and interactions per event (:func:`.events.event_counts` by
    campaign_id) with readers' column names."""
    ev = events.rename(columns={"campaign_id": "Event", "registered_attendees": "Registered and attended",
                                "walk_ins": "Walk-ins (not registered)"})
    return ev.rename(columns={c: c.capitalize() for c in ev.columns})


def interactions(m: Metric) -> str:
    """The sentence on interactions per attendee."""
    return f"Attendees made **{m.value:.2f}** interactions each on average (95% CI {m.low:.2f} – {m.high:.2f}, {m.n:,} attendances)."
