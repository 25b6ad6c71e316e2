"""Every sentence, title, caption and card of the cohort report's body: numbers in, plain words out.

The functions read the figures the computation modules made (a :class:`CohortMatrix`,
:class:`RevenueRetention`, the survival and segment tables, the :class:`CohortAnalysis`)
and put them into words a reader without statistics training follows; data values are
escaped for HTML. The method, the tests and their names are in :mod:`.method` (the
report's appendix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..stats import Estimate
from ..text import esc, pct, words
from .analysis import CohortAnalysis
from .compare import TrendResult
from .matrix import CohortMatrix
from .params import SUMMARY_OFFSETS, _choice
from .periods import period_name
from .retention import average_curve
from .revenue import RevenueRetention, _cumulative_offset, earlier_cohorts_share

ACTIVITY_USE = ("Here it says when a customer counts as lapsed (no purchase in that many days); the cohort views "
                "count purchases per period instead.")
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 6: "six", 12: "twelve"}

SECTION_TITLES = {
    "heatmap": "Who comes back, cohort by cohort",
    "curves": "Are newer customers coming back more?",
    "revenue": "Revenue from each cohort",
    "survival": "How long customers keep buying",
    "subscriptions": "How long subscribers stay",
}


def segment_title(segment: str | None) -> str:
    """The title of the section split by ``segment``: "By acquisition channel"."""
    return f"By {words(segment)}" if segment else "By segment"






def between(e: Estimate, digits: int = 1) -> str:
    """An interval in words: "between 21.7% and 22.9%" ("" without one)."""
    if not (np.isfinite(e.low) and np.isfinite(e.high)):
        return ""
    return f"between {pct(e.low, digits)} and {pct(e.high, digits)}"


def _days_between(e: Estimate) -> str:
    if not (np.isfinite(e.low) and np.isfinite(e.high)):
        return ""
    return f"between {e.low:,.0f} and {e.high:,.0f} days"


def _after(k: int, unit: str) -> str:
    """``one month``, ``three months``, ``12 weeks``."""
    return f"{NUMBER_WORDS.get(k, str(k))} {unit}{'s' if k != 1 else ''}"


def _bought(cohort_by: str, retention_mode: str = "n_period") -> str:
    """What a cohort's share at offset k counts, as a verb phrase."""
    verb = "buy again" if cohort_by == "first_purchase" else "buy"
    return verb if retention_mode == "n_period" else f"are still buying ({verb} then or later)"


def _joining(cohort_by: str) -> str:
    return "their first purchase" if cohort_by == "first_purchase" else "signing up"


def money(v: float, currency: str = "") -> str:
    """Money with thousands separators and no cents: ``123,857 EUR``."""
    return f"{v:,.0f} {currency}".strip()


# --- what we found ----------------------------------------------------------------------


def _retention_finding(res: dict[str, Any], unit: str) -> str | None:
    avg = res.get("average_retention") or {}
    ks = [k for k in SUMMARY_OFFSETS if str(k) in avg]
    if not ks:
        return None
    first = ks[0]
    later = next((k for k in ks if k >= 3), None)
    e1 = avg[str(first)]
    text = (f"**{pct(e1.value)}** of new customers {_bought(res['cohort_by'], res['retention_mode'])} "
            f"{_after(first, unit)} after {_joining(res['cohort_by'])} ({between(e1)})")
    fewer = False
    if later is not None:
        e3 = avg[str(later)]
        text += f", **{pct(e3.value)}** {_after(later, unit)} after ({between(e3)})"
        fewer = e3.value < e1.value
    return text + (f": fewer come back as the {unit}s pass, so a follow-up soon after the first order is the "
                   "first lever." if fewer else ": a follow-up soon after the first order is the first lever.")


def trend_finding(trend: TrendResult, period: str) -> str:
    """The finding on newer against older cohorts, in plain words."""
    unit = period_name(period)
    at = f"{unit}-{trend.offset} rate"
    if trend.direction == "not testable":
        return (f"Too few cohorts ({trend.cohorts}) have reached {unit} {trend.offset} to tell whether newer "
                "customers come back more or less than older ones.")
    points = f"**{100 * (trend.change or 0.0):+.1f} points**"
    span = f"from the oldest to the newest of {trend.cohorts} cohorts"
    if trend.direction == "improving":
        return (f"Newer customers come back more: the {at} moved {points} {span}, more than chance: find what "
                "changed in how they were won and do more of it.")
    if trend.direction == "declining":
        return (f"Newer customers come back less: the {at} moved {points} {span}, more than chance: check what "
                "changed in how recent customers were won before spending more on it.")
    return (f"Newer customers come back about as often as older ones: the {at} moved {points} {span}, no more "
            f"than chance; judge new campaigns by their {at} against this baseline.")


def trend_text(trend: TrendResult, period: str) -> str:
    """:func:`trend_finding` as the sentence under the retention curves (no bold)."""
    return trend_finding(trend, period).replace("**", "")


def _survival_finding(res: dict[str, Any], inactivity_days: int) -> str | None:
    s = res.get("survival")
    if not s:
        return None
    lapsed, med, one = s["lapsed_share"], s["median_days"], s.get("one_day_only")
    gone = (f"**{pct(lapsed.value)}** have not bought in the last {inactivity_days:,} days ({between(lapsed)})")
    if np.isfinite(med.value) and med.value > 0:
        return (f"Half of customers make their last purchase within **{med.value:,.0f} days** of their first "
                f"({_days_between(med)}); {gone}: contact customers who have gone quiet well before they reach "
                f"{inactivity_days:,} days without a purchase.")
    if np.isfinite(med.value) and one is not None:
        return (f"**{pct(one.value)}** of customers never bought again after their first purchase day "
                f"({between(one)}), and {gone}: the second purchase is the one to win, with a follow-up soon "
                "after the first.")
    return (f"Fewer than half of customers have stopped buying so far; {gone}, so most customers are still "
            "within reach.")


def _revenue_finding(res: dict[str, Any], unit: str) -> str | None:
    nrr = res.get("net_revenue_retention") or {}
    share = res.get("revenue_from_earlier_cohorts")
    parts = []
    if share and np.isfinite(share["share"]) and share["share"] < 0.995:
        parts.append(f"in {esc(share['period'])}, **{pct(share['share'], 0)}** of net revenue came from customers "
                     f"acquired in earlier {unit}s")
    ks = [k for k in SUMMARY_OFFSETS if str(k) in nrr]
    if ks:
        last = ks[-1]
        spend = (f"a cohort spends **{pct(nrr[str(ks[0])], 0)}** of its first {unit}'s net revenue "
                 f"{_after(ks[0], unit)} later")
        if last != ks[0]:
            spend += f" and **{pct(nrr[str(last)], 0)}** {_after(last, unit)} later"
        parts.append(spend)
    if not parts:
        return None
    text = "; ".join(parts)
    if len(parts) == 2:
        text += ": customers won earlier carry most of the revenue, so keeping them matters as much as winning new ones."
    else:
        text += ": most of a customer's value comes with the first order, so a second order is worth working for."
    return text[0].upper() + text[1:]


def _segment_finding(res: dict[str, Any], segment: str | None, unit: str, k: int) -> str | None:
    segs = res.get("segments") or {}
    rates = {s: v["average_retention"][str(k)] for s, v in segs.items() if str(k) in v["average_retention"]}
    if not segment or len(rates) < 2:
        return None
    hi, lo = max(rates, key=rates.get), min(rates, key=rates.get)
    p = (res.get("segment_test") or {}).get("p_value")
    text = (f"By {esc(words(segment))}, **{esc(words(hi))}** customers come back most: **{pct(rates[hi])}** buy "
            f"in {unit} {k}, against **{pct(rates[lo])}** for {esc(words(lo))}")
    if p is not None and p < 0.05:
        return text + f", more than chance: give {esc(words(hi))} a larger share of the acquisition budget."
    return text + ", a gap no larger than chance: no reason yet to move budget between them."


def _plural(k: int, unit: str) -> str:
    return f"{k} {unit}" + ("" if k == 1 else "s")


def _subscription_finding(res: dict[str, Any]) -> str | None:
    s = res.get("subscriptions")
    if not s:
        return None
    unit = {"M": "month", "Q": "quarter"}[s["period"]]
    named = [(int(k), v) for k, v in s["after"].items() if v.get("value") is not None]
    if not named:
        return None
    k, v = named[-1]
    text = (f"Of every 100 subscribers, **{100 * v['value']:.0f}** are still subscribed {_plural(k, unit)} after "
            f"signing up (between {100 * v['low']:.0f} and {100 * v['high']:.0f})")
    loss = s["loss"]
    if "first" not in loss:
        return text + "."
    text += f", and **{100 * named[0][1]['value']:.0f}** after one {unit}"
    first, later = loss["first"], loss["later_per_period"]
    if first > 1.5 * later:
        return text + (f": the first renewal loses the most ({pct(first, 0)} of subscribers, against about "
                       f"{pct(later, 0)} a {unit} after it), so a welcome or onboarding programme pays most there.")
    return text + (f": subscribers leave at a steady pace (about {pct(later, 0)} a {unit} after the first), so "
                   "keeping them is a matter for every renewal, not only the first.")


def describe_subscriptions(s: Any) -> str:
    """The subscription section's sentence: sign-ups, still subscribed, the first and last named decision."""
    r = s.results()
    unit = s.unit
    text = (f"{r['customers']:,} customers signed up in {r['cohorts']:,} {unit}ly cohorts; "
            f"**{r['still_subscribed']:,}** are still subscribed ({pct(r['share_still_subscribed'])}).")
    parts = [f"{pct(v['value'])} after {_plural(int(k), unit)} ({pct(v['low'])} – {pct(v['high'])})"
             for k, v in r["after"].items() if v.get("value") is not None]
    if parts:
        text += " Of the cohorts followed long enough, still subscribed: " + "; ".join(parts) + "."
    return text + " These are the same subscriber counts as the subscription forecast of the lifetime-value report."


def subscription_table(s: Any, *, most: int = 12) -> dict[str, Any]:
    """The newest ``most`` sign-up cohorts: signed up, still subscribed, share (for :func:`engage_kit.nb.table`)."""
    b = s.by_cohort.tail(most)
    df = pd.DataFrame({
        "Signed up in": b["cohort"].astype(str).to_numpy(),
        "Signed up": b["signed_up"].to_numpy(),
        "Still subscribed": b["still_subscribed"].to_numpy(),
        "Share still subscribed": [pct(x) for x in b["share"]],
    })
    return {"df": df, "caption": f"Subscribers by sign-up {s.unit} (the newest {len(b)} cohorts)"}


def subscriptions_title(s: Any) -> str:
    """The subscription chart's title: its last named figure in words."""
    r = s.results()
    named = [(int(k), v) for k, v in r["after"].items() if v.get("value") is not None]
    if not named:
        return "Share of subscribers still subscribed"
    k, v = named[-1]
    return f"{pct(v['value'], 0)} of subscribers are still subscribed {_plural(k, s.unit)} after signing up"


def findings(a: CohortAnalysis, *, results: dict[str, Any] | None = None, most: int = 5) -> list[str]:
    """What we found: 3-5 sentences, each with its number (bold), its interval in words where
    it matters and what it suggests doing; every number is one of ``results`` (``a.results()``)."""
    res = results if results is not None else a.results()
    unit = period_name(a.period)
    out = [
        _retention_finding(res, unit),
        _subscription_finding(res),
        trend_finding(a.trend, a.period),
        _survival_finding(res, a.inactivity_days),
        _revenue_finding(res, unit),
        _segment_finding(res, a.segment, unit, a.trend_offset),
    ]
    return [f for f in out if f][:most]


def not_covered(a: CohortAnalysis) -> dict[str, str | None]:
    """The parts of the report this data does not allow, with why (for :func:`engage_kit.nb.not_covered`)."""
    return {
        "Sign-up cohorts and the split by segment": (
            "the data has no customers table, so cohorts are by first purchase" if a.without_customers else None),
        SECTION_TITLES["survival"]: (
            None if a.has_survival else
            f"no customer's first purchase is more than {a.inactivity_days:,} days before the end of the data, "
            "so no one can have lapsed yet"),
    }


def activity_sentence(active: Any) -> str:
    """The activity window's sentence, in plain words (no parameter names)."""
    return active.sentence(uses=ACTIVITY_USE).replace(" (`active_days`)", " (set in the configuration)")


# --- key figures ---------------------------------------------------------------------------


def summary_cards(summary: dict[str, Any], *, inactivity_days: int | None = None,
                  survival: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Key figure cards for :func:`engage_kit.nb.kpi_cards` from :func:`executive_summary`."""
    unit = period_name(summary["period"])
    cards: list[dict[str, Any]] = [
        {"label": "Customers", "value": f"{summary['customers']:,}",
         "detail": f"in {summary['cohorts']} {unit}ly cohorts, {esc(str(summary['first_cohort']))} to "
                   f"{esc(str(summary['last_cohort']))}"},
    ]
    again = "Bought again" if summary.get("cohort_by", "first_purchase") == "first_purchase" else "Bought"
    later = "" if summary.get("retention_mode", "n_period") == "n_period" else " or later"
    for k, e in sorted(summary["average_retention"].items()):
        cards.append({"label": f"{again} in {unit} {k}{later}", "value": pct(e.value), "detail": between(e)})
    tr = summary["trend"]
    value = {"improving": "coming back more", "declining": "coming back less",
             "no clear trend": "about the same", "not testable": "too few cohorts"}[tr.direction]
    card: dict[str, Any] = {"label": "Newer customers", "value": value,
                            "detail": f"{unit}-{tr.offset} rate, oldest to newest of {tr.cohorts} cohorts"}
    if tr.direction != "not testable" and tr.change is not None:
        card.update(delta=f"{100 * tr.change:+.1f} pts", up=tr.change > 0,
                    good={"improving": True, "declining": False}.get(tr.direction))
    cards.append(card)
    if survival is not None and len(survival):
        s = survival.iloc[0]
        cards.append({"label": "Lapsed", "value": pct(s["lapsed_share"]),
                      "detail": f"no purchase in the last {inactivity_days} days"})
    return cards


# --- the sections' sentences --------------------------------------------------------------


def describe_heatmap(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """The sentence under :func:`plot_heatmap`: what a row and a cell are, what is left out."""
    m = matrix.overall()
    unit = period_name(m.period)
    keep = m.eligible(min_cohort_size)
    left_out = m.n_cohorts - len(keep)
    pending = int(m.pending.loc[keep].to_numpy().sum())
    who = "first bought" if m.cohort_by == "first_purchase" else "signed up"
    what = {"customers": f"the share of them who bought {'in' if m.retention_mode == 'n_period' else 'in or after'} "
                         f"that {unit} after joining",
            "revenue": f"their net revenue in that {unit} as a share of their first {unit}'s",
            "orders": "their orders per customer in that " + unit}[m.metric]
    text = f"Each row is the customers who {who} in one {unit} (their number on the right); each cell is {what}."
    if _drops_offset_zero(m):
        text += f" The joining {unit} itself (100% by definition) is left out."
    if left_out:
        text += (f" {left_out} cohort{'s' if left_out > 1 else ''} of fewer than {min_cohort_size} customers "
                 f"{'are' if left_out > 1 else 'is'} left out (they are in the exported file).")
    if pending:
        text += (f" Hatched cells: the {unit} is not over on {m.as_of.date()}, so they are left blank rather than "
                 "counted as zero.")
    return text


def _drops_offset_zero(m: CohortMatrix) -> bool:
    """Whether the heatmap leaves out offset 0 (100% by definition for first-purchase retention)."""
    return m.cohort_by == "first_purchase" and m.metric in ("customers", "revenue") and m.values.shape[1] > 1


def describe_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """The sentence under :func:`plot_curves`."""
    m = matrix.overall()
    unit = period_name(m.period)
    avg = average_curve(m, min_cohort_size=min_cohort_size).set_index("offset")
    shown = [k for k in SUMMARY_OFFSETS if k in avg.index]
    if not shown:
        return f"No cohort has completed {unit} 1 yet, so there is no curve to show."
    parts = [f"{pct(avg.loc[k, 'value'])} in {unit} {k}" for k in shown]
    return ("The black line is the average of all cohorts, weighted by their size: " + ", ".join(parts)
            + f". {_lines_note(len(m.eligible(min_cohort_size)))} Later {unit}s rest on the older cohorts only, as "
            "newer ones have not got there yet.")


def _lines_note(cohorts: int) -> str:
    """What the coloured lines and the grey band of the curve charts are (see ``charts._range_and_average``)."""
    if cohorts <= 6:
        return "Each coloured line is one cohort."
    return "The grey band spans the lowest to the highest cohort; the oldest and the newest cohort are drawn."


def layers_sentence(rev: RevenueRetention, *, currency: str = "") -> str:
    """The sentence under :func:`plot_revenue_layers`, with the share its title states."""
    unit = period_name(rev.period)
    s = earlier_cohorts_share(rev)
    if s is None:
        return f"No {unit} is complete yet, so there is no revenue to compare."
    label = f"the week of {s['period']}" if rev.period == "W" else s["period"]
    text = (f"Net revenue (purchases minus returns) per {unit}, one layer per cohort, oldest at the bottom: in "
            f"{label}, the last complete {unit}, {money(s['revenue'], currency)} came in, {pct(s['share'], 0)} of "
            f"it from customers acquired in earlier {unit}s.")
    newest = rev.sizes.index[rev.sizes >= rev.min_cohort_size]
    if len(newest) and s["share"] >= 0.995:
        text += f" No customer in this data joined after {esc(str(newest[-1]))}."
    if (~rev.by_period["complete"]).any():
        text += f" The grey area is the {unit} not over yet."
    return text


def nrr_sentence(rev: RevenueRetention) -> str:
    """Net revenue a cohort brings in later, against its first period (plain words)."""
    unit = period_name(rev.period)
    nrr = rev.average_nrr.set_index("offset")["value"] if len(rev.average_nrr) else pd.Series(dtype=float)
    shown = [k for k in SUMMARY_OFFSETS if k in nrr.index]
    if not shown:
        return ""
    return (f"Against the net revenue of its first {unit}, a cohort brings in " + ", ".join(
        f"{pct(nrr[k], 0)} in {unit} {k}" for k in shown) + " (averaged over the cohorts that got there).")


def describe_revenue(rev: RevenueRetention, *, part: str = "nrr", currency: str = "") -> str:
    """A plain sentence with the numbers behind one revenue chart.

    ``part``: ``layers`` (:func:`plot_revenue_layers`), ``nrr`` (:func:`plot_nrr`) or
    ``cumulative`` (:func:`plot_cumulative_revenue`).
    """
    part = _choice("part", part, ("layers", "nrr", "cumulative"))
    unit = period_name(rev.period)
    keep = rev.sizes.index[rev.sizes >= rev.min_cohort_size]
    if part == "layers":
        return layers_sentence(rev, currency=currency)
    if part == "nrr":
        over = rev.nrr.loc[keep].iloc[:, 1:] if rev.nrr.shape[1] > 1 else pd.DataFrame()
        n_over = int((over > 1).to_numpy().sum()) if len(over) else 0
        text = nrr_sentence(rev)
        text = (text[:-1] + "; ") if text else ""
        if n_over == 0:
            return text + f"no cohort has yet spent more in a later {unit} than in its first."
        return text + (f"{n_over} cell{'s' if n_over != 1 else ' of the heatmap'} exceed{'' if n_over != 1 else 's'} "
                       f"100% (a cohort spending more than in its first {unit}).")
    cum = rev.cumulative_per_customer.loc[keep]
    k = _cumulative_offset(cum)
    if k is None:
        return "No cohort has a complete first period yet."
    col = cum[k].dropna()
    return (f"By {unit} {k}, cohorts have brought in {money(col.mean(), currency)} per customer on average "
            f"(from {money(col.min(), currency)} to {money(col.max(), currency)} across {len(col)} cohorts), "
            f"returns netted. The black line is their average (where at least three cohorts got there). "
            f"{_lines_note(len(keep))}")


def describe_survival(survival: pd.DataFrame, *, inactivity_days: int, censor_at: str = "lapse_horizon") -> str:
    """The sentences under :func:`plot_survival`, in plain words (the method is in :mod:`.method`)."""
    s = survival.iloc[0]
    lapsed = Estimate(s["lapsed_share"], s["lapsed_low"], s["lapsed_high"], int(s["customers"]))
    text = (f"{pct(s['lapsed_share'])} of {int(s['customers']):,} customers have not bought in the last "
            f"{inactivity_days:,} days ({between(lapsed)}) and count as lapsed. ")
    med = Estimate(s["median_days"], s["median_low"], s["median_high"], int(s["customers"]))
    if np.isfinite(med.value) and med.value > 0:
        text += (f"Half of customers make their last purchase within {med.value:,.0f} days of their first "
                 f"({_days_between(med)})")
    elif np.isfinite(med.value):
        text += f"{pct(s.get('one_day', np.nan))} of customers never bought again after their first purchase day"
    else:
        text += "Fewer than half of customers are expected to lapse within the time the data covers"
    if np.isfinite(med.value) and med.value > 0 and np.isfinite(s.get("one_day", np.nan)) and s["one_day"] >= 0.05:
        text += (f"; {pct(s['one_day'])} never bought again after their first purchase day (the drop at day 0 of "
                 "the chart)")
    if "survival_365d" in survival.columns and np.isfinite(s["survival_365d"]):
        text += f"; {pct(s['survival_365d'])} are still buying a year after their first purchase"
    text += "."
    if len(survival) > 1:
        seg = survival.iloc[1:]
        best = seg.loc[seg["lapsed_share"].idxmin()]
        worst = seg.loc[seg["lapsed_share"].idxmax()]
        text += (f" By group, {esc(words(best['group']))} lapses least ({pct(best['lapsed_share'])}) and "
                 f"{esc(words(worst['group']))} most ({pct(worst['lapsed_share'])}).")
    return text


def describe_segments(segments: pd.DataFrame, test: dict[str, Any], *, segment: str, period: str) -> str:
    """Plain sentences about the split by ``segment`` (from :func:`segment_summary` and :func:`segment_difference`)."""
    unit = period_name(period)
    k = test["offset"]
    col = f"retention_{k}"
    s = segments.dropna(subset=[col]) if col in segments else segments.iloc[0:0]
    if len(s) < 2:
        return f"Fewer than two groups by {esc(words(segment))} have cohorts that completed {unit} {k}."
    hi = s.loc[s[col].idxmax()]
    lo = s.loc[s[col].idxmin()]
    text = (f"In {unit} {k}, {pct(hi[col])} of {esc(words(hi['segment']))} customers buy, against "
            f"{pct(lo[col])} of {esc(words(lo['segment']))} customers")
    if test.get("p_value") is not None:
        verdict = "more than chance" if test["p_value"] < 0.05 else "no more than chance"
        text += f"; across the {test['segments']} groups the differences are {verdict}"
    return text + "."


def segment_table(segments: pd.DataFrame, *, period: str, segment: str) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table`: share buying and net revenue retention by segment, in words."""
    unit = period_name(period)
    ret = [c for c in segments.columns if c.startswith("retention_") and c.count("_") == 1]
    nrr = [c for c in segments.columns if c.startswith("nrr_") and c.count("_") == 1]
    names = {"segment": words(segment).capitalize(), "customers": "Customers", "cohorts": "Cohorts"}
    names.update({c: f"Bought in {unit} {c.split('_')[1]}" for c in ret})
    names.update({c: f"Revenue in {unit} {c.split('_')[1]}, vs first" for c in nrr})
    df = segments[["segment", "customers", "cohorts", *ret, *nrr]].rename(columns=names)
    df[names["segment"]] = df[names["segment"]].map(words)
    return {"df": df, "percent": [names[c] for c in ret + nrr], "integer": ["Customers", "Cohorts"],
            "caption": f"Share of customers buying, and net revenue against the first {unit}, by {words(segment)}"}


# --- chart titles ----------------------------------------------------------------------


def _row_name(key: Any) -> str:
    """A heatmap row key as text: ``2024-01`` or ``segment · 2024-01``."""
    return key if not isinstance(key, tuple) else " · ".join(key)


def heatmap_title(m: CohortMatrix, values: pd.DataFrame) -> str:
    """Title of :func:`plot_heatmap`: the range of offset-1 values across the cohorts shown."""
    unit = period_name(m.period)
    if values.shape[1] < 2 or values[1].notna().sum() == 0:
        return f"{values.shape[0]} {unit}ly cohorts: none has completed {unit} 1 yet"
    col = values[1].dropna()
    lo, hi = f"{_row_name(col.idxmin())}", f"{_row_name(col.idxmax())}"
    if m.metric == "orders":
        return f"In {unit} 1, cohorts place {col.min():.2f} ({lo}) to {col.max():.2f} ({hi}) orders per customer"
    what = ("buy" if m.metric == "customers" else "bring in") + (" again" if m.cohort_by == "first_purchase" else "")
    share = "of a cohort" if m.metric == "customers" else "of a cohort's first revenue"
    if len(col) == 1:
        return f"In {unit} 1, {_percent0(col.iloc[0])} {share} {what} ({lo})"
    return f"In {unit} 1, from {_percent0(col.min())} ({lo}) to {_percent0(col.max())} ({hi}) {share} {what}"


def _percent0(v: float) -> str:
    return f"{100 * v:.0f}%"


def heatmap_pending_note(period: str, as_of: pd.Timestamp) -> str:
    """The line over a heatmap with hatched cells."""
    return f"Hatched: {period_name(period)} not over on {as_of.date()} (left blank, not zero)"


def curves_title(avg: pd.DataFrame, *, period: str, retention_mode: str) -> str:
    """Title of :func:`plot_curves` from the average curve it draws (:func:`average_curve`)."""
    if not len(avg):
        return "No cohort has a complete retention curve yet"
    unit = period_name(period)
    mode = "buys" if retention_mode == "n_period" else "is still buying"
    a1 = avg.iloc[0]
    later = avg[avg["offset"].isin(SUMMARY_OFFSETS) & (avg["offset"] > a1["offset"])]
    return (f"On average {100 * a1['value']:.0f}% of a cohort {mode} in {unit} {int(a1['offset'])}"
            + (f", {100 * later.iloc[-1]['value']:.0f}% in {unit} {int(later.iloc[-1]['offset'])}"
               if len(later) else ""))


def segment_curves_title(avg: pd.DataFrame, *, period: str, segment: str) -> str:
    """Title of :func:`plot_segment_curves`: the segments buying most and least at offset 1."""
    at = avg[avg["offset"] == 1]
    if len(at) > 1:
        hi, lo = at.loc[at["value"].idxmax()], at.loc[at["value"].idxmin()]
        unit = period_name(period)
        return (f"In {unit} 1, {100 * hi['value']:.0f}% of {words(hi['segment'])} customers buy, "
                f"{100 * lo['value']:.0f}% of {words(lo['segment'])} customers")
    return f"Share buying by {words(segment)}"


def revenue_layers_title(period_label_text: str, share_old: float) -> str:
    """Title of :func:`plot_revenue_layers`: the share of the last complete period's net revenue
    from earlier cohorts (:func:`earlier_cohorts_share`, as in its sentence)."""
    if np.isfinite(share_old):
        return f"In {period_label_text}, {100 * share_old:.0f}% of net revenue came from customers acquired earlier"
    return "Net revenue by cohort"


def nrr_title(rev: RevenueRetention) -> str:
    """Title of :func:`plot_nrr`: the average net revenue retention at offset 1."""
    avg = rev.average_nrr.set_index("offset")["value"] if len(rev.average_nrr) else pd.Series(dtype=float)
    if 1 in avg.index:
        unit = period_name(rev.period)
        return f"Cohorts bring in {100 * avg[1]:.0f}% of their first-{unit} net revenue in {unit} 1"
    return "Net revenue retention by cohort"


def cumulative_title(cum: pd.DataFrame, *, period: str, currency: str = "") -> str:
    """Title of :func:`plot_cumulative_revenue`, at the offset :func:`describe_revenue` speaks of."""
    k = _cumulative_offset(cum)
    if k is not None and cum[k].notna().sum() >= 2:
        col = cum[k].dropna()
        return (f"By {period_name(period)} {k}, a customer has brought in {col.min():,.0f}–{col.max():,.0f} "
                f"{currency} depending on the cohort ({len(col)} cohorts)").replace("  ", " ")
    return "Cumulative net revenue per customer by cohort"


def survival_title(median: Estimate, one_year: Estimate, *, inactivity_days: int | None = None,
                   first_day: Estimate | None = None) -> str:
    """Title of :func:`plot_survival` from the median lifetime, the share still buying after
    365 days and (when the median is 0 days) the share gone after their first day."""
    if np.isfinite(median.value) and median.value > 0:
        return f"Half of customers make their last purchase within {median.value:,.0f} days of their first"
    if np.isfinite(median.value) and first_day is not None and np.isfinite(first_day.value):
        return f"{100 * first_day.value:.0f}% of customers never bought again after their first purchase day"
    if np.isfinite(one_year.value):
        return f"{100 * one_year.value:.0f}% of customers are still buying a year after their first purchase"
    return ("Time until customers lapse" if inactivity_days is None
            else f"Time until customers lapse ({inactivity_days} days without a purchase)")


def revenue_layers_share(rev: RevenueRetention) -> tuple[str, float] | None:
    """The (period label, share) the layers chart's title states, or None."""
    s = earlier_cohorts_share(rev)
    return None if s is None else (str(s["period"]), float(s["share"]))

