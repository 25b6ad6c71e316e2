"""The cohort report's appendix, "Method and diagnostics": the tests, their names, the
intervals, the tables behind the charts and a glossary.

The report's body speaks in plain words (:mod:`.story`); here the same figures are given
with their methods (Wilson intervals, the quasi-binomial trend test, Kaplan–Meier with
Greenwood intervals, the chi-square test across segments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..text import esc, pct
from .analysis import CohortAnalysis
from .compare import TrendResult
from .periods import period_name
from .revenue import RevenueRetention
from .story import describe_revenue, words

INTRO = (
    "Cohorts are the customers whose first purchase (or sign-up) falls in the same calendar period. A cohort's share "
    "at period k is the share of its customers with a purchase in the k-th period after the cohort's own (or, in the "
    "unbounded mode, in that period or any later one); a return never counts as a purchase. Periods that are not over "
    "on the analysis date are left blank, never counted as zero. Averages over cohorts are weighted by cohort size "
    "(pooled counts) and use only the cohorts that completed the period; cohorts below the minimum size are left out "
    "of charts and averages but kept in the exported files. Shares come with Wilson score 95% intervals."
)


def trend_sentence(trend: TrendResult, period: str) -> str:
    """The cohort trend with its test: fitted change, number of cohorts, p-value."""
    unit = period_name(period)
    at = f"{unit} {trend.offset}"
    if trend.direction == "not testable":
        return f"Too few cohorts ({trend.cohorts}) have reached {at} to test whether retention changes across cohorts."
    change = trend.change or 0.0
    points = f"{abs(100 * change):.1f} points"
    p = _p(trend.p_value)
    if trend.direction == "improving":
        return (f"Recent cohorts retain better: the fitted {at} retention rose by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {p}).")
    if trend.direction == "declining":
        return (f"Recent cohorts retain worse: the fitted {at} retention fell by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {p}).")
    return (f"There is no clear trend: recent cohorts retain about as well at {at} as older ones across "
            f"{trend.cohorts} cohorts (fitted change {100 * change:+.1f} points, trend test {p}).")


TREND_METHOD = (
    "Trend test: a quasi-binomial logistic regression of each cohort's retention at the tested period on the cohort's "
    "start (one point per cohort, weighted by its size), with the dispersion estimated from the data so that "
    "cohort-to-cohort noise beyond the binomial does not pass for a trend; the slope's t test gives the p-value and a "
    "trend counts as more than chance below 0.05 (McCullagh and Nelder 1989, section 4.5). The fitted change is the "
    "model's retention for the newest cohort minus that for the oldest."
)


def _p(p: float | None) -> str:
    """``p = 0.123`` or ``p < 0.001``."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def interpretation(
    summary: dict[str, Any],
    *,
    revenue: RevenueRetention | None = None,
    survival: pd.DataFrame | None = None,
    inactivity_days: int | None = None,
    segments: pd.DataFrame | None = None,
    segment: str | None = None,
) -> str:
    """The headline figures in technical terms, as a Markdown list (escaped for HTML).

    ``summary`` is :func:`executive_summary`'s result; ``survival`` is
    :func:`survival_summary`'s table; ``segments`` is :func:`segment_summary`'s.
    """
    period = summary["period"]
    unit = period_name(period)
    lines = []
    avg = summary["average_retention"]
    mode = "active" if summary.get("retention_mode", "n_period") == "n_period" else "active then or later"
    lines.append(
        f"{summary['customers']:,} customers in {summary['cohorts']} {unit}ly cohorts "
        f"({esc(str(summary['first_cohort']))} to {esc(str(summary['last_cohort']))})."
    )
    if avg:
        parts = [f"{pct(e.value)} {mode} in {unit} {k} (95% CI {pct(e.low)}–{pct(e.high)})"
                 for k, e in sorted(avg.items())]
        parts[1:] = [p.replace(f"{mode} in", "in", 1) for p in parts[1:]]
        lines.append("Average retention (weighted by cohort size, cohorts old enough only): " + ", ".join(parts) + ".")
    ex = summary.get("extremes") or {}
    k = summary["trend"].offset
    if ex:
        b, w = ex["best"], ex["worst"]
        lines.append(
            f"At {unit} {k}, the best cohort was {esc(str(b['cohort']))} ({pct(b['retention'].value)} of "
            f"{b['customers']:,}, 95% CI {pct(b['retention'].low)}–{pct(b['retention'].high)}) and the worst "
            f"{esc(str(w['cohort']))} ({pct(w['retention'].value)} of {w['customers']:,}, 95% CI "
            f"{pct(w['retention'].low)}–{pct(w['retention'].high)})."
        )
    lines.append(trend_sentence(summary["trend"], period))
    if revenue is not None and not revenue.average_nrr.empty:
        nrr = revenue.average_nrr.set_index("offset")["value"]
        shown = [o for o in (1, 3, 6, 12) if o in nrr.index]
        if shown:
            lines.append("Net revenue retention (revenue in a later period over the first period's, returns netted): "
                         + ", ".join(f"{pct(nrr[o], 0)} at {unit} {o}" for o in shown) + ".")
    if survival is not None and len(survival):
        s = survival.iloc[0]
        med = s["median_days"]
        if np.isfinite(med):
            med_text = (f"the median time from the first to the last purchase is {med:,.0f} days (95% CI "
                        f"{s['median_low']:,.0f}–{s['median_high']:,.0f})")
        else:
            med_text = "fewer than half of the customers have lapsed so far, so the median lifetime is not reached yet"
        lines.append(
            f"{pct(s['lapsed_share'])} of customers have lapsed (no purchase in the last {inactivity_days} days, 95% "
            f"CI {pct(s['lapsed_low'])}–{pct(s['lapsed_high'])}); by the Kaplan–Meier estimate {med_text}."
        )
    if segments is not None and len(segments) > 1 and f"retention_{k}" in segments:
        s = segments.dropna(subset=[f"retention_{k}"])
        if len(s) > 1:
            hi = s.loc[s[f"retention_{k}"].idxmax()]
            lo = s.loc[s[f"retention_{k}"].idxmin()]
            lines.append(
                f"By {esc(words(segment))}: {esc(words(hi['segment']))} retains best at {unit} {k} "
                f"({pct(hi[f'retention_{k}'])}), {esc(words(lo['segment']))} worst ({pct(lo[f'retention_{k}'])})."
            )
    return "\n".join(f"- {line}" for line in lines)


def survival_method(inactivity_days: int, censor_at: str = "lapse_horizon") -> str:
    """How the survival curve is estimated: lapse, lifetime, censoring, Kaplan–Meier and Greenwood."""
    text = (f"Survival: a customer has lapsed after {inactivity_days} days without a purchase up to the analysis "
            "date; their lifetime is the days from the first to the last purchase. The curve is the Kaplan–Meier "
            "estimate of the share not yet lapsed, with log-log Greenwood 95% intervals (the bands); the median "
            "lifetime is where it crosses 50%, its interval where the bands do. ")
    if censor_at == "lapse_horizon":
        text += (f"Customers who have not lapsed count as still buying up to {inactivity_days} days before the "
                 "analysis date, the last day a lapse can already be seen (in survival terms they are censored "
                 "there); customers whose first purchase is later are left out of the curve.")
    else:
        text += ("Customers who have not lapsed count as still buying up to the analysis date (censored there), "
                 "which overstates survival at long durations.")
    return text


def survival_table(survival: pd.DataFrame) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for the lapsed share and median lifetime per group."""
    frame = survival[["group", "customers", "lapsed_share", "median_days", "median_low", "median_high",
                      "survival_365d"]].rename(columns={
        "group": "Group", "customers": "Customers", "lapsed_share": "Lapsed", "median_days": "Median days",
        "median_low": "Median, 95% CI low", "median_high": "Median, 95% CI high",
        "survival_365d": "Still buying after 365 days"})
    frame["Group"] = frame["Group"].map(lambda g: "All customers" if g == "all" else words(g))
    return {"df": frame, "percent": ["Lapsed", "Still buying after 365 days"],
            "integer": ["Customers", "Median days", "Median, 95% CI low", "Median, 95% CI high"],
            "caption": "Lapsed share and Kaplan–Meier median lifetime (days from the first to the last purchase)"}


def trend_table(a: CohortAnalysis) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for retention at the trend offset by cohort."""
    unit, k = period_name(a.period), a.trend_offset
    active = f"Active in {unit} {k}"
    frame = a.trend_table[["cohort", "customers", "active", "retention", "low", "high"]].rename(columns={
        "cohort": "Cohort", "customers": "Customers", "active": active,
        "retention": "Retention", "low": "95% CI low", "high": "95% CI high"})
    return {"df": frame, "percent": ["Retention", "95% CI low", "95% CI high"], "integer": ["Customers", active],
            "caption": f"Retention at {unit} {k} by cohort (Wilson 95% interval)"}


def segment_test_sentence(test: dict[str, Any], *, segment: str, period: str) -> str:
    """The chi-square test of the segment difference."""
    if test.get("p_value") is None:
        return f"Fewer than two groups by {esc(words(segment))} to compare."
    verdict = "more than chance" if test["p_value"] < 0.05 else "not more than chance"
    return (f"Difference by {esc(words(segment))} at {period_name(period)} {test['offset']}: Pearson chi-square "
            f"{test['chi2']:.1f} with {test['dof']} degrees of freedom, {_p(test['p_value'])} ({verdict}), on the "
            f"pooled counts of the {test['segments']} groups' cohorts.")


def segment_trend_table(segments: pd.DataFrame, *, segment: str) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for the trend test within each segment."""
    df = pd.DataFrame({words(segment).capitalize(): segments["segment"].map(words),
                       "Trend": segments["trend"], "Trend p-value": segments["trend_p_value"]})
    return {"df": df, "decimals": 3, "caption": f"Trend across cohorts within each {words(segment)} group"}


SEGMENT_HINT = ("This run does not split the cohorts by a customer attribute. The report can be run with a split, "
                "for example by acquisition channel or customer segment, to compare the groups.")


def exports_sentence(period: str, output_dir: Any, *, segment: str | None = None) -> str:
    """Where the exported files are, and what they hold."""
    unit = period_name(period)
    by_seg = (", retention_matrix_by_segment.csv (the same by " + esc(words(segment)) + ")") if segment else ""
    return (
        f"Files beside this report, in the {esc(Path(output_dir).name)} folder: retention_matrix.csv (share of each "
        f"cohort buying per {unit}), revenue_matrix.csv (net revenue per cohort and {unit}){by_seg} and results.json "
        "(every figure of this page); every cohort is in the CSV files, incomplete cells are empty."
    )


GLOSSARY = [
    ("Cohort", "The customers whose first purchase (or sign-up) falls in the same calendar period."),
    ("Bought again in month k", "The share of a cohort with a purchase in the k-th month after its own; the "
                                "retention rate at offset k."),
    ("Lapsed", "No purchase in the activity window (the days named at the top of the report) up to the analysis "
               "date."),
    ("Net revenue", "Purchases minus returns, each in the period of its own date."),
    ("Net revenue retention", "A cohort's net revenue in a later period as a share of its first period's."),
    ("95% interval", "The range the true figure very likely lies in (Wilson score interval for shares)."),
    ("More than chance", "A difference or trend the tests give a p-value below 0.05 for."),
    ("Kaplan–Meier", "The estimate of the share still buying after a number of days that also uses customers who "
                     "have not lapsed yet (censored: followed up to a date, fate after it unknown)."),
    ("Greenwood interval", "The 95% interval of a Kaplan–Meier curve."),
]


def glossary() -> pd.DataFrame:
    """The technical terms of the report and the appendix, in words."""
    return pd.DataFrame(GLOSSARY, columns=["Term", "Meaning"])


def nrr_sentence(rev: RevenueRetention) -> str:
    """The sentence under the net revenue retention heatmap."""
    return describe_revenue(rev, part="nrr")
