"""What the KPI report says: values in their units, cards, tables for readers, sentences.

Numbers in, plain language out: nothing here queries the engine or computes a KPI.
"""

from __future__ import annotations

import re
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
               "retention.churn_rate": "fraction (may be below 0%)",
               "web.form_fills": "forms submitted", "sentiment.mean": "polarity −1 to 1"}
    rows = []
    for k in KPIS:
        d = k.definition.replace("active_days", f"{active_days} days" if active_days else "activity window")
        if k.last_period:
            d += "; headline: the last complete period before the analysis date"
        rows.append({"KPI": k.label, "key": k.key, "definition": d, "unit": per_key.get(k.key, units[k.unit]),
                     "interval (95%)": k.interval, "table": {"order_returns": "transactions", "texts": "surveys, touches"}.get(k.table, k.table)})
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
    if key == "web.form_fills":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def format_delta(key: str, delta: float, *, currency: str = "") -> str:
    """A change in the KPI's unit: +0.5 pts for rates, +1.20 EUR, +12 s, +3.1 (NPS points);
    a change that rounds to nothing has no sign ("0.00", not "-0.00")."""
    if delta is None or not np.isfinite(delta):
        return ""
    text = _signed_delta(key, delta, currency=currency)
    return re.sub(r"^[+-](?=0(?:\.0+)?(?: |$))", "", text)


def _signed_delta(key: str, delta: float, *, currency: str = "") -> str:
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
    active_days: int | None = None, span: str | None = None,
) -> list[dict[str, Any]]:
    """Cards for :func:`engage_kit.nb.kpi_cards`: value, 95% interval and n, change vs the previous period.

    Each card says the period its value is for. Retention, churn, NDR and GRR are for the
    last complete period (named), so their change is the card's own; the other cards show
    the whole window (``span``, e.g. "2023-01 to 2024-12"), and their change line is
    labelled with the one period it is about (``2024-12 alone: 32.2%, -7.0 pts vs 2024-11``).
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
        r = ch.loc[k.key] if k.key in ch.index else None
        detail = f"95% CI {format_value(k.key, m.low, currency=currency)} – {format_value(k.key, m.high, currency=currency)}"
        if k.last_period:
            detail += f" · in {r['period']}" if r is not None else " · last complete period"
        elif span:
            detail += f" · {span}"
        if isinstance(m, Metric) and m.note:
            detail += f" · {m.note}"
        detail += window
        card = {"label": k.label, "value": format_value(k.key, m.value, currency=currency), "detail": detail}
        if r is not None:
            d = format_delta(k.key, r["delta"], currency=currency)
            if d:
                noise = "" if bool(r["significant"]) else " (within chance)"
                # a whole-window card: its change is about one period, which the line names first
                where = "" if k.last_period else f"{r['period']} alone: {format_value(k.key, r['current'], currency=currency)}, "
                card["delta"] = f"{where}{d} vs {r['previous_period']}{noise}"
                card["up"] = bool(r["delta"] > 0) if d[:1] in "+-" else None  # a change shown as 0.00: no arrow
                card["good"] = None if not bool(r["significant"]) else r["better"]
        cards.append(card)
    return cards


def span(long: pd.DataFrame) -> str | None:
    """The periods a trend covers, "2023-01 to 2024-12" (None when it has none)."""
    if long.empty:
        return None
    periods = long.sort_values("period_start")["period"]
    return f"{periods.iloc[0]} to {periods.iloc[-1]}"


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
    noise = "more than chance" if bool(r["significant"]) else "within chance"
    return f"{k.label} {format_value(key, r['current'], currency=currency)} in {r['period']} ({d} vs {r['previous_period']}, {noise})"


PERIOD_WORDS = {"W": "week", "M": "month", "Q": "quarter"}


def describe_trends(long: pd.DataFrame, keys: list[str], *, currency: str = "") -> str:
    """:func:`describe_trend` for each of ``keys``, as one paragraph."""
    return " ".join(describe_trend(long, k, currency=currency) for k in keys)


def summary(
    changes: pd.DataFrame, head: Mapping[str, Metric | None], *, as_of: Any, period: str, currency: str = ""
) -> str:
    """The paragraph under the key figures: the data's end, the periods, how many figures moved
    by more than chance, what cannot be computed and what a figure includes beyond its definition."""
    word = PERIOD_WORDS[period]
    moved = int(changes["significant"].astype(bool).sum()) if len(changes) else 0
    when = f" from {changes['previous_period'].iloc[0]} to {changes['period'].iloc[0]}" if len(changes) else ""
    return (
        f"Data up to **{pd.Timestamp(as_of):%Y-%m-%d}**, by {word}. Each figure comes with a 95% interval, the range "
        f"its true value very likely lies in. Retention, churn and net dollar retention are for the last complete "
        f"{word}, the other figures for the whole period. Of {len(changes)} figures compared with the {word} before, "
        f"**{moved}** changed by more than chance{when}."
        + (" " + describe_unavailable(head) if describe_unavailable(head) else "") + describe_notes(head)
    )


APPENDIX_INTRO = (
    "How the figures are computed and tested. A change counts as more than chance when the two-proportion z-test "
    "(rates) or a z-test built from the two 95% intervals (other figures) gives a p-value below 0.05 after Holm's "
    "adjustment for reading many figures at once."
)
INTERVALS = (
    "Intervals: Wilson score for proportions; t interval for means; NPS with Var = 100²·(p + d − (p − d)²)/n; "
    "bootstrap over customers for the customer retention rate (E − N)/S; delta method for net dollar retention, "
    "gross revenue retention and the returned value rate; exact Poisson for the social engagement rate. A period is "
    "complete when it ends on or before the analysis date; hollow markers on the trend charts are incomplete periods."
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


# --- findings first: what a director reads before anything else ------------------------------

# what each section of the report is about, in plain words (definitions are in the glossary)
INTRO = {
    "retention": "Active customers bought within the activity window named at the top. Retention is the share of "
                 "the customers active at the start of a period who are still active at its end; churn is the "
                 "rest. Repeat purchase rate is the share of buying customers who bought more than once.",
    "revenue": "Lines with the same order number are one order; returns are taken off. Net dollar retention follows "
               "the customers who bought in the period before: how much of their spend came back. With short "
               "periods most customers do not buy in two periods running, so it sits well below 100% even when "
               "customers stay: compare it over time and between segments rather than with annual benchmarks.",
    "returns": "Each return is matched to the purchase it cancels (the data notes say how many were matched). "
               "Order return rate: the share of orders that came back in part or in full, counted in the period "
               "the order was placed, so the latest periods rise as late returns arrive. Returned value rate: "
               "returned amounts as a share of sales before returns, counted in the period of the return. "
               "Customers who returned: the share of buying customers with a return.",
    "satisfaction": "NPS: the share of promoters (answers 9–10) minus the share of detractors (0–6), in points. "
                    "CSAT: the share of 4–5 answers. Customer effort: the average answer on the 1–7 scale.",
    "service": "First contact resolution: the share of resolved tickets that took a single contact. Average "
               "handle time: over every ticket with a handle time.",
    "email": "Each email counts once per customer and campaign; rates are per delivered email (the bounce rate "
             "per sent email).",
    "web": "One row per visit: a bounce is a visit of one page; a conversion is a visit that ended in a purchase "
           "or sign-up.",
    "social": "Engagement rate: likes, shares, comments and clicks per view on the social channel.",
    "events": "Attendance rate: the share of registrations that attended.",
    "sentiment": "Every survey comment and text (social comments, reviews, chats) is read as positive, negative or "
                 "neutral, in English or German, and given a tone from −1 (negative) to 1 (positive). Positive and "
                 "negative comments: their share of all comments; average sentiment: the mean tone.",
}
SECTION_TITLES = {"retention": "Retention", "revenue": "Revenue", "returns": "Returns", "satisfaction": "Satisfaction",
                  "service": "Service", "email": "Email", "web": "Web", "social": "Social", "events": "Events",
                  "sentiment": "Comments and sentiment"}


def between(key: str, m: Metric, *, currency: str = "") -> str:
    """An interval in words: "between 31.2% and 34.0%" ("" when it has none)."""
    if not (np.isfinite(m.low) and np.isfinite(m.high)):
        return ""
    return f"between {format_value(key, m.low, currency=currency)} and {format_value(key, m.high, currency=currency)}"


def _change_finding(r: pd.Series, *, currency: str = "") -> str:
    k = _kpi(str(r["key"]))
    went = "rose" if r["delta"] > 0 else "fell"
    verdict = {True: "a change for the better", False: "a change for the worse"}.get(r["better"], "a change")
    return (f"**{k.label}** {went} from {format_value(k.key, r['previous'], currency=currency)} in {r['previous_period']} "
            f"to **{format_value(k.key, r['current'], currency=currency)}** in {r['period']}: more than chance, "
            f"{verdict}.")


def findings(head: Mapping[str, Metric | None], changes: pd.DataFrame, long: pd.DataFrame, *,
             active_days: int | None = None, currency: str = "", most: int = 5) -> list[str]:
    """What we found: 3-5 sentences, each with its number and, where it matters, its interval in words.

    First the changes from the period before that are more than chance (at most two, the
    biggest first); then retention for the last complete period, the repeat purchase rate,
    the order return rate and the Net Promoter Score where the data has them; when nothing
    changed beyond chance, that comes last.
    """
    out: list[str] = []
    moved = changes[changes["significant"].astype(bool)] if len(changes) else changes
    if len(moved):
        moved = moved.assign(_size=moved["z"].abs()).sort_values("_size", ascending=False)
        out += [_change_finding(r, currency=currency) for _, r in moved.head(2).iterrows()]
    steady = ""
    if not len(moved) and len(changes):  # worth saying, after the figures themselves
        last = changes.iloc[0]
        steady = f"No figure changed by more than chance from {last['previous_period']} to {last['period']}."
    covered = span(long)
    period_of = changes.set_index("key")["period"].to_dict() if len(changes) else {}
    crr = head.get("retention.customer_retention_rate")
    if isinstance(crr, Metric):
        window = f"active = bought in the last {active_days} days" if active_days else "active = bought recently"
        if crr.computable:
            out.append(f"**{format_value('retention.customer_retention_rate', crr.value)}** "
                       f"of the customers active at the start of "
                       f"{period_of.get('retention.customer_retention_rate', 'the last complete period')} were still "
                       "active at its end "
                       f"({between('retention.customer_retention_rate', crr)}; {window}).")
        else:
            out.append(f"Customer retention cannot be computed on this data: {crr.why_not()}.")
    rpr = head.get("retention.repeat_purchase_rate")
    if isinstance(rpr, Metric) and rpr.computable:
        out.append(f"**{format_value('retention.repeat_purchase_rate', rpr.value)}** of buying customers bought more "
                   f"than once" + (f" from {covered}" if covered else "") + ".")
    ret = head.get("returns.order_rate")
    if isinstance(ret, Metric) and ret.computable:
        out.append(f"**{format_value('returns.order_rate', ret.value)}** of orders came back in part or in full "
                   f"({between('returns.order_rate', ret)}).")
    nps = head.get("satisfaction.nps")
    if isinstance(nps, Metric) and nps.computable:
        out.append(f"The Net Promoter Score is **{format_value('satisfaction.nps', nps.value)}** points "
                   f"({between('satisfaction.nps', nps)}).")
    neg = head.get("sentiment.share_negative")
    if isinstance(neg, Metric) and neg.computable:
        out.append(f"**{format_value('sentiment.share_negative', neg.value)}** of {neg.n:,} comments were negative "
                   f"({between('sentiment.share_negative', neg)}).")
    if steady:
        out = out[: most - 1] + [steady]
    return out[:most]


def not_covered(shown: Mapping[str, str | None]) -> dict[str, str | None]:
    """The sections the data does not allow, by their titles, with why (for :func:`engage_kit.nb.not_covered`)."""
    quiet = ("loyalty", "referrals", "adoption", "pages")  # optional programmes: not named when absent
    return {SECTION_TITLES.get(area, area): why for area, why in shown.items()
            if not (area in quiet and why and why.startswith("the dataset has no "))}


def title_for(changes: pd.DataFrame, keys: list[str], *, currency: str = "") -> str:
    """A chart title for ``keys``: the finding of the one whose last change is more than chance
    (the first such), else of the first key."""
    sig = changes[changes["key"].isin(keys) & changes["significant"].astype(bool)] if len(changes) else changes
    return finding(changes, str(sig["key"].iloc[0]) if len(sig) else keys[0], currency=currency)


# --- comments and sentiment (numbers from :mod:`.sentiment`) -------------------------------------


def sentiment_table(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`.sentiment.by_group` for readers: the group, comments, positive, negative, average sentiment."""
    name = by.replace("_", " ").capitalize()
    return pd.DataFrame({
        name: [str(v).replace("_", " ") for v in df[by]], "Comments": df["texts"].astype("int64").to_numpy(),
        "Positive": df["share_positive"].to_numpy(float), "Negative": df["share_negative"].to_numpy(float),
        "Average sentiment": df["mean"].to_numpy(float),
    })


SCORE_GROUP_WORDS = {"detractor": "detractors (0–6)", "passive": "passives (7–8)", "promoter": "promoters (9–10)",
                     "dissatisfied": "dissatisfied (1–3)", "satisfied": "satisfied (4–5)"}


def score_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`.sentiment.by_score` for readers: survey, answer group, comments, negative, positive, average."""
    return pd.DataFrame({
        "Survey": [k.upper() for k in df["kind"]], "Answer": [SCORE_GROUP_WORDS.get(g, g) for g in df["group"]],
        "Comments": df["texts"].astype("int64").to_numpy(), "Negative": df["share_negative"].to_numpy(float),
        "Positive": df["share_positive"].to_numpy(float), "Average sentiment": df["mean"].to_numpy(float),
    })


def describe_scores(df: pd.DataFrame) -> str:
    """Do detractors write negative comments? One sentence per survey kind with both ends of its scale."""
    parts = []
    for kind, low, high in (("nps", "detractor", "promoter"), ("csat", "dissatisfied", "satisfied")):
        g = df[df["kind"] == kind].set_index("group") if len(df) else df
        if low in g.index and high in g.index:
            lo, hi = g.loc[low], g.loc[high]
            parts.append(f"{SCORE_GROUP_WORDS[low].capitalize()} wrote a negative comment **{lo.share_negative:.1%}** "
                         f"of the time ({int(lo.texts):,} comments), {SCORE_GROUP_WORDS[high]} "
                         f"**{hi.share_negative:.1%}** ({int(hi.texts):,}).")
    return " ".join(parts) or "No survey answer with a score came with a comment."


def describe_words(df: pd.DataFrame) -> str:
    """The words negative comments use most, in one sentence (words from customers, escaped)."""
    if df.empty:
        return "No negative comment to read words from."
    top = ", ".join(f"{esc(w)} ({int(n):,})" for w, n in zip(df["word"].head(5), df["texts"].head(5), strict=True))
    return f"The words negative comments use most, with the number of comments that use them: {top}."


def words_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`.sentiment.negative_words` for readers: word, comments, share of the negative comments."""
    return pd.DataFrame({"Word": df["word"].astype(str).to_numpy(), "Comments": df["texts"].astype("int64").to_numpy(),
                         "Share of negative comments": df["share"].to_numpy(float)})


def sentiment_method(summary: Any) -> str:
    """The appendix note on how comments were scored (a :class:`.sentiment.SentimentSummary`)."""
    langs = ", ".join(f"{n:,} {'German' if k == 'de' else 'English'}" for k, n in sorted(summary.languages.items()))
    return (f"Sentiment: {summary.texts:,} comments and texts ({langs}; {summary.distinct:,} distinct texts, each "
            "scored once). English by VADER (Hutto and Gilbert 2014), German by the German Polarity Lexicon "
            "(Clematide and Klenner 2010) with VADER's rules for negation (\"nicht gut\"), intensifiers and "
            "\"aber\"; positive above 0.05, negative below −0.05. The language is the config's language, or chosen "
            "per text by its stop words.")

