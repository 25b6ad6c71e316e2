"""Every sentence, title, caption and card the cohort report shows: numbers in, plain words out.

The functions read the figures the computation modules made (a :class:`CohortMatrix`,
:class:`RevenueRetention`, the survival and segment tables, the :class:`CohortAnalysis`)
and put them into words; data values are escaped for HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..stats import Estimate
from ..text import esc
from .analysis import CohortAnalysis
from .compare import TrendResult
from .matrix import CohortMatrix
from .params import SUMMARY_OFFSETS, _choice
from .periods import period_label, period_name
from .retention import average_curve
from .revenue import RevenueRetention, _cumulative_offset

ACTIVITY_USE = ("Here it defines a lapse (no purchase in that many days) in the survival view; the cohort heatmap "
                "counts purchases per period instead.")
SEGMENT_HINT = "Set the `segment` parameter (e.g. `\"acquisition_channel\"`) to split these views by a customer attribute."


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def _p(p: float | None) -> str:
    """``p = 0.123`` or ``p < 0.001``."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def trend_sentence(trend: TrendResult, period: str) -> str:
    """One plain sentence about the cohort trend at the tested offset."""
    unit = period_name(period)
    at = f"{unit} {trend.offset}"
    if trend.direction == "not testable":
        return f"Too few cohorts ({trend.cohorts}) have reached {at} to test whether retention changes across cohorts."
    change = trend.change or 0.0
    points = f"{abs(100 * change):.1f} points"
    if trend.direction == "improving":
        return (f"Recent cohorts retain better: the fitted {at} retention rose by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {_p(trend.p_value)}).")
    if trend.direction == "declining":
        return (f"Recent cohorts retain worse: the fitted {at} retention fell by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {_p(trend.p_value)}).")
    return (f"There is no clear trend: recent cohorts retain about as well at {at} as older ones across "
            f"{trend.cohorts} cohorts (fitted change {100 * change:+.1f} points, trend test {_p(trend.p_value)}).")


def interpretation(
    summary: dict[str, Any],
    *,
    revenue: RevenueRetention | None = None,
    survival: pd.DataFrame | None = None,
    inactivity_days: int | None = None,
    segments: pd.DataFrame | None = None,
    segment: str | None = None,
) -> str:
    """A short Markdown interpretation generated from the numbers (escaped for HTML).

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
        parts = [f"{_pct(e.value)} {mode} in {unit} {k}" for k, e in sorted(avg.items())]
        parts[1:] = [p.replace(f"{mode} in", "in", 1) for p in parts[1:]]
        lines.append("Average retention (weighted by cohort size, cohorts old enough only): "
                     + ", ".join(parts) + ".")
    ex = summary.get("extremes") or {}
    k = summary["trend"].offset
    if ex:
        b, w = ex["best"], ex["worst"]
        lines.append(
            f"At {unit} {k}, the best cohort was {esc(str(b['cohort']))} ({_pct(b['retention'].value)} of "
            f"{b['customers']:,}, 95% CI {_pct(b['retention'].low)}–{_pct(b['retention'].high)}) and the worst "
            f"{esc(str(w['cohort']))} ({_pct(w['retention'].value)} of {w['customers']:,}, 95% CI "
            f"{_pct(w['retention'].low)}–{_pct(w['retention'].high)})."
        )
    lines.append(trend_sentence(summary["trend"], period))
    if revenue is not None and not revenue.average_nrr.empty:
        nrr = revenue.average_nrr.set_index("offset")["value"]
        shown = [o for o in (1, 3, 6, 12) if o in nrr.index]
        if shown:
            lines.append("Net revenue retention (revenue in a later period over the first period's, returns netted): "
                         + ", ".join(f"{_pct(nrr[o], 0)} at {unit} {o}" for o in shown) + ".")
    if survival is not None and len(survival):
        s = survival.iloc[0]
        med = s["median_days"]
        if np.isfinite(med):
            med_text = f"half of the customers had made their last purchase within {med:,.0f} days of their first"
        else:
            med_text = "fewer than half of the customers have lapsed so far, so the median lifetime is not reached yet"
        lines.append(
            f"{_pct(s['lapsed_share'])} of customers have lapsed (no purchase in the last {inactivity_days} days); "
            f"by the Kaplan–Meier estimate {med_text}."
        )
    if segments is not None and len(segments) > 1 and f"retention_{k}" in segments:
        s = segments.dropna(subset=[f"retention_{k}"])
        if len(s) > 1:
            hi = s.loc[s[f"retention_{k}"].idxmax()]
            lo = s.loc[s[f"retention_{k}"].idxmin()]
            lines.append(
                f"By {esc(str(segment))}: {esc(str(hi['segment']))} retains best at {unit} {k} "
                f"({_pct(hi[f'retention_{k}'])}), {esc(str(lo['segment']))} worst ({_pct(lo[f'retention_{k}'])})."
            )
    return "\n".join(f"- {line}" for line in lines)


def summary_cards(summary: dict[str, Any], *, inactivity_days: int | None = None,
                  survival: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """KPI cards for :func:`engage_kit.nb.kpi_cards` from :func:`executive_summary`."""
    unit = period_name(summary["period"])
    cards: list[dict[str, Any]] = [
        {"label": "Customers", "value": f"{summary['customers']:,}",
         "detail": f"in {summary['cohorts']} {unit}ly cohorts"},
    ]
    for k, e in sorted(summary["average_retention"].items()):
        cards.append({"label": f"Retention, {unit} {k}", "value": _pct(e.value),
                      "detail": f"95% CI {_pct(e.low)}–{_pct(e.high)}"})
    tr = summary["trend"]
    if tr.direction in ("improving", "declining"):
        delta = f"{100 * (tr.change or 0):+.1f} pts"
        good = tr.direction == "improving"
    else:
        delta, good = None, None
    cards.append({"label": f"Trend at {unit} {tr.offset}", "value": tr.direction,
                  "detail": f"{_p(tr.p_value)}, {tr.cohorts} cohorts", "delta": delta, "good": good})
    if survival is not None and len(survival):
        s = survival.iloc[0]
        cards.append({"label": "Lapsed", "value": _pct(s["lapsed_share"]),
                      "detail": f"no purchase in {inactivity_days} days"})
    return cards


def describe_heatmap(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """One plain sentence with the numbers behind :func:`plot_heatmap`."""
    m = matrix.overall()
    unit = period_name(m.period)
    keep = m.eligible(min_cohort_size)
    left_out = m.n_cohorts - len(keep)
    pending = int(m.pending.loc[keep].to_numpy().sum())
    what = {"customers": "the share of the cohort active", "revenue": "net revenue as a share of the cohort's first-"
            f"{unit} revenue", "orders": "orders per cohort customer"}[m.metric]
    text = (f"Each row is one of {len(keep)} {unit}ly cohorts (sizes on the right), each cell {what} "
            f"{'in' if m.retention_mode == 'n_period' else 'in or after'} that {unit}")
    if left_out:
        text += f"; {left_out} cohort{'s' if left_out > 1 else ''} under {min_cohort_size} customers left out"
    if pending:
        text += (f". {pending} hatched cell{'s are' if pending != 1 else ' is'} in the {unit} not complete on "
                 f"{m.as_of.date()}: left blank, not counted as zero.")
    else:
        text += f". Every {unit} up to {m.as_of.date()} is complete, so no cell is left blank."
    return text


def describe_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """One plain sentence with the numbers behind :func:`plot_curves`."""
    m = matrix.overall()
    unit = period_name(m.period)
    avg = average_curve(m, min_cohort_size=min_cohort_size).set_index("offset")
    shown = [k for k in SUMMARY_OFFSETS if k in avg.index]
    if not shown:
        return f"No cohort has completed {unit} 1 yet, so there is no retention curve to show."
    parts = [f"{_pct(avg.loc[k, 'value'])} at {unit} {k} (95% CI {_pct(avg.loc[k, 'low'])}–"
             f"{_pct(avg.loc[k, 'high'])}, {int(avg.loc[k, 'cohorts'])} cohorts)" for k in shown]
    return ("The size-weighted average curve (black) keeps " + "; ".join(parts)
            + f". Later {unit}s rest on the older cohorts only; shaded bands are Wilson 95% intervals.")


def describe_revenue(rev: RevenueRetention, *, part: str = "nrr", currency: str = "") -> str:
    """A plain sentence with the numbers behind one revenue chart.

    ``part``: ``layers`` (:func:`plot_revenue_layers`), ``nrr`` (:func:`plot_nrr`) or
    ``cumulative`` (:func:`plot_cumulative_revenue`).
    """
    part = _choice("part", part, ("layers", "nrr", "cumulative"))
    unit = period_name(rev.period)
    keep = rev.sizes.index[rev.sizes >= rev.min_cohort_size]

    def money(v: float) -> str:
        return f"{v:,.0f} {currency}".strip()

    if part == "layers":
        bp = rev.by_period[rev.by_period["cohort"].isin(set(keep)) & rev.by_period["complete"]]
        if bp.empty:
            return f"No {unit} is complete yet, so there is no revenue to compare."
        last = bp["period_index"].max()
        cur = bp[bp["period_index"] == last]
        total = cur["revenue"].sum()
        new = cur.loc[cur["cohort_index"] == last, "revenue"].sum()
        label = period_label([last], rev.period)[0]
        label = f"the week of {label}" if rev.period == "W" else label
        share = 1 - new / total if total else float("nan")
        return (f"Net revenue (purchases minus returns) per {unit}, stacked by cohort, oldest at the bottom: in "
                f"{label}, the last complete {unit}, {money(total)} came in, {_pct(share, 0)} of it from customers "
                f"acquired in earlier {unit}s.")
    if part == "nrr":
        nrr = rev.average_nrr.set_index("offset")["value"] if len(rev.average_nrr) else pd.Series(dtype=float)
        shown = [k for k in SUMMARY_OFFSETS if k in nrr.index]
        over = rev.nrr.loc[keep].iloc[:, 1:] if rev.nrr.shape[1] > 1 else pd.DataFrame()
        n_over = int((over > 1).to_numpy().sum()) if len(over) else 0
        text = ""
        if shown:
            text = (f"Across cohorts, net revenue in a later {unit} is " + ", ".join(
                f"{_pct(nrr[k], 0)} at {unit} {k}" for k in shown) + f" of the first {unit}'s; ")
        if n_over == 0:
            return text + f"no cohort has yet spent more in a later {unit} than in its first."
        return text + (f"{n_over} cell{'s' if n_over != 1 else ' of the heatmap'} exceed{'' if n_over != 1 else 's'} "
                       f"100% (a cohort spending more than in its first {unit}).")
    cum = rev.cumulative_per_customer.loc[keep]
    k = _cumulative_offset(cum)
    if k is None:
        return "No cohort has a complete first period yet."
    col = cum[k].dropna()
    return (f"By {unit} {k}, cohorts have brought in {col.mean():,.2f} {currency} per customer on average "
            f"(from {col.min():,.2f} to {col.max():,.2f} across {len(col)} cohorts), returns netted.").replace("  ", " ")



def describe_survival(survival: pd.DataFrame, *, inactivity_days: int, censor_at: str = "lapse_horizon") -> str:
    """Plain sentences with the numbers behind :func:`plot_survival`."""
    s = survival.iloc[0]
    med = s["median_days"]
    text = (f"{_pct(s['lapsed_share'])} of {int(s['customers']):,} customers have lapsed (no purchase in the "
            f"{inactivity_days} days before as_of; 95% CI {_pct(s['lapsed_low'])}–{_pct(s['lapsed_high'])}). ")
    if np.isfinite(med):
        text += (f"By the Kaplan–Meier estimate, half make their last purchase within {med:,.0f} days of their "
                 f"first (95% CI {s['median_low']:,.0f}–{s['median_high']:,.0f} days)")
    else:
        text += "Fewer than half are estimated to lapse within the observed time, so the median is not reached"
    col = [c for c in survival.columns if c.startswith("survival_") and c.endswith("d")]
    if col and np.isfinite(s[col[0]]):
        days = col[0][len("survival_"):-1]
        text += f"; {_pct(s[col[0]])} are still buying {days} days after their first purchase"
    text += "."
    if censor_at == "lapse_horizon":
        text += (f" Customers who have not lapsed count as still buying up to {inactivity_days} days before the "
                 "analysis date, the last day a lapse can already be seen (in survival terms they are censored "
                 "there); bands are log-log Greenwood 95% intervals.")
    else:
        text += (" Customers who have not lapsed count as still buying up to the analysis date (censored there), "
                 "which overstates survival at long durations; bands are log-log Greenwood 95% intervals.")
    if len(survival) > 1:
        seg = survival.iloc[1:]
        best = seg.loc[seg["lapsed_share"].idxmin()]
        worst = seg.loc[seg["lapsed_share"].idxmax()]
        text += (f" By group, {esc(str(best['group']))} lapses least ({_pct(best['lapsed_share'])}) and "
                 f"{esc(str(worst['group']))} most ({_pct(worst['lapsed_share'])}).")
    return text


def describe_segments(segments: pd.DataFrame, test: dict[str, Any], *, segment: str, period: str) -> str:
    """Plain sentences about the split by ``segment`` (from :func:`segment_summary` and :func:`segment_difference`)."""
    unit = period_name(period)
    k = test["offset"]
    col = f"retention_{k}"
    s = segments.dropna(subset=[col]) if col in segments else segments.iloc[0:0]
    if len(s) < 2:
        return f"Fewer than two values of {esc(segment)} have cohorts that completed {unit} {k}."
    hi = s.loc[s[col].idxmax()]
    lo = s.loc[s[col].idxmin()]
    text = (f"At {unit} {k}, {esc(str(hi['segment']))} keeps {_pct(hi[col])} of its customers and "
            f"{esc(str(lo['segment']))} {_pct(lo[col])}")
    if test.get("p_value") is not None:
        verdict = "a real difference" if test["p_value"] < 0.05 else "no clear difference"
        text += (f"; across the {test['segments']} values of {esc(segment)} that is {verdict} "
                 f"(chi-square {test['chi2']:.1f}, {test['dof']} df, {_p(test['p_value'])})")
    return text + "."


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
    what = {"customers": "retention", "revenue": "net revenue retention", "orders": "orders per customer"}[m.metric]
    f = _percent0 if m.metric != "orders" else _decimal2
    return (f"{unit.capitalize()}-1 {what} ranges from {f(col.min())} ({_row_name(col.idxmin())}) "
            f"to {f(col.max())} ({_row_name(col.idxmax())})")


def _percent0(v: float) -> str:
    return f"{100 * v:.0f}%"


def _decimal2(v: float) -> str:
    return f"{v:.2f}"


def heatmap_pending_note(period: str, as_of: pd.Timestamp) -> str:
    """The line over a heatmap with hatched cells."""
    return f"Hatched: {period_name(period)} not complete on {as_of.date()} (left blank, not zero)"


def curves_title(avg: pd.DataFrame, *, period: str, retention_mode: str) -> str:
    """Title of :func:`plot_curves` from the average curve it draws (:func:`average_curve`)."""
    if not len(avg):
        return "No cohort has a complete retention curve yet"
    unit = period_name(period)
    mode = "active" if retention_mode == "n_period" else "active then or later"
    a1 = avg.iloc[0]
    later = avg[avg["offset"].isin(SUMMARY_OFFSETS) & (avg["offset"] > a1["offset"])]
    return (f"On average {100 * a1['value']:.0f}% of a cohort is {mode} in {unit} {int(a1['offset'])}"
            + (f", {100 * later.iloc[-1]['value']:.0f}% in {unit} {int(later.iloc[-1]['offset'])}"
               if len(later) else ""))


def segment_curves_title(avg: pd.DataFrame, *, period: str, segment: str) -> str:
    """Title of :func:`plot_segment_curves`: the segments retaining best and worst at offset 1."""
    at = avg[avg["offset"] == 1]
    if len(at) > 1:
        hi, lo = at.loc[at["value"].idxmax()], at.loc[at["value"].idxmin()]
        unit = period_name(period)
        return f"{hi['segment']} keeps {100 * hi['value']:.0f}% at {unit} 1, {lo['segment']} {100 * lo['value']:.0f}%"
    return f"Retention by {segment}"


def revenue_layers_title(period_label_text: str, share_old: float) -> str:
    """Title of :func:`plot_revenue_layers`: the share of the last complete period's net revenue
    from earlier cohorts."""
    if np.isfinite(share_old):
        return f"In {period_label_text}, {100 * share_old:.0f}% of net revenue came from earlier cohorts"
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


def survival_title(median: Estimate, one_year: Estimate, *, inactivity_days: int | None = None) -> str:
    """Title of :func:`plot_survival` from the median lifetime and S(365 days)."""
    if np.isfinite(median.value):
        return f"Half of customers make their last purchase within {median.value:,.0f} days of their first"
    if np.isfinite(one_year.value):
        return f"{100 * one_year.value:.0f}% of customers are still buying a year after their first purchase"
    return ("Time until customers lapse" if inactivity_days is None
            else f"Time until customers lapse ({inactivity_days} days without a purchase)")


# --- the report's tables, notes and exports --------------------------------------------


def skipped_without_customers() -> tuple[str, str]:
    """Section and reason when sign-up cohorts or a segment split need a customers table the data lacks."""
    return ("Sign-up cohorts and the segment split",
            "this dataset has no customers table; first-purchase cohorts, no split")


def skipped_survival(inactivity_days: int) -> tuple[str, str]:
    """Section and reason when no customer has any follow-up before the lapse horizon."""
    return ("Survival", f"no customer bought before as_of minus {inactivity_days} days, so no lapse can be seen yet")


def trend_table(a: CohortAnalysis) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for retention at the trend offset by cohort."""
    unit, k = period_name(a.period), a.trend_offset
    active = f"Active in {unit} {k}"
    frame = a.trend_table[["cohort", "customers", "active", "retention", "low", "high"]].rename(columns={
        "cohort": "Cohort", "customers": "Customers", "active": active,
        "retention": "Retention", "low": "95% CI low", "high": "95% CI high"})
    return {"df": frame, "percent": ["Retention", "95% CI low", "95% CI high"], "integer": ["Customers", active],
            "caption": f"Retention at {unit} {k} by cohort (Wilson 95% interval)"}


def survival_table(survival: pd.DataFrame) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for the lapsed share and median lifetime per group."""
    frame = survival[["group", "customers", "lapsed_share", "median_days", "median_low", "median_high",
                      "survival_365d"]].rename(columns={
        "group": "Group", "customers": "Customers", "lapsed_share": "Lapsed", "median_days": "Median days",
        "median_low": "Median, 95% CI low", "median_high": "Median, 95% CI high",
        "survival_365d": "Still buying after 365 days"})
    return {"df": frame, "percent": ["Lapsed", "Still buying after 365 days"],
            "integer": ["Customers", "Median days", "Median, 95% CI low", "Median, 95% CI high"],
            "caption": "Lapsed share and Kaplan–Meier median lifetime (days from the first to the last purchase)"}


def segment_table(segments: pd.DataFrame, *, period: str, segment: str) -> dict[str, Any]:
    """Arguments of :func:`engage_kit.nb.table` for :func:`segment_summary`'s retention and NRR by segment."""
    cols = ["segment", "customers", "cohorts"] + [
        c for c in segments.columns if c.startswith(("retention_", "nrr_")) and c.count("_") == 1]
    return {"df": segments[cols + ["trend", "trend_p_value"]],
            "percent": [c for c in cols if c.startswith(("retention_", "nrr_"))], "integer": ["customers", "cohorts"],
            "decimals": 3,
            "caption": f"Size-weighted retention and net revenue retention at {period_name(period)} 1, 3, 6, 12 by {segment}"}


def exports_sentence(period: str, output_dir: Any) -> str:
    """Where the CSV exports and results.json are, and what they hold."""
    unit = period_name(period)
    return (
        f"`retention_matrix.csv` (share of each cohort active per {unit}), `revenue_matrix.csv` (net revenue per cohort "
        f"and {unit}) and `results.json` are in the <code>{esc(Path(output_dir).name)}</code> folder beside this report; "
        "every cohort is in the CSV files, incomplete cells are empty."
    )
