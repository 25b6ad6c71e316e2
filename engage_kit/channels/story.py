"""Every sentence, title, caption and card text of the channel comparison report.

Numbers in, plain language out: each function reads a computed comparison (or a small
frame of it) and words it; nothing here queries the engine. Each is safe on zero groups
and on one. Group names come from the data and are escaped (``esc`` for Markdown,
``chart_label`` for chart titles).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..text import chart_label, esc
from .counts import unit_text
from .picks import best_and_worst, not_tracked, pick
from .tables import unit_views
from .trends import trend_leader, trend_top_group

if TYPE_CHECKING:
    from .comparison import ChannelComparison

CORRECTION_NAMES = {
    "holm": "Holm's step-down method (controls the family-wise error rate)",
    "fdr_bh": "Benjamini-Hochberg (controls the false discovery rate)",
}
NO_TOUCHES = "the dataset has no touches table (marketing events); add one to compare channels"
NO_TOUCHES_SHORT = "no touches table"
NO_PERIODS = "no periods with units"
ACTIVE_USE = "Here it sets the active rate by acquisition channel."
OTHER_UNIT_NEEDS_TOUCHES = "applies when comparing by a touches column (channel, campaign_id)"
NO_CAMPAIGN_PAIRS = "the touches carry no campaign_id, so there are no customer-campaign pairs to count"
POSTERIOR_CAPTION = "Posterior rate (95% credible interval) and probability of being the best"
UNIT_VIEWS_CAPTION = "The same groups counted per customer and per customer-campaign pair"
COST_CAPTION = "Cost per outcome and return on spend (revenue attributed by the touches)"
ACQUISITION_REASONS = {
    "no table": "there is no customers table (with an {by} column)",
    "no column": "the customers table has no {by} column",
    "empty column": "no customer has an {by} value (the column is empty)",
    "no value": "no customer has an {by} value",
}
CAVEATS = (
    "Attribution: a conversion logged under the last touch credits that channel alone; channels that speak last "
    "(retargeting, SMS reminders) look better than they are, and earlier touches look worse.",
    "Opens are inflated by mail privacy proxies that pre-load every image (Apple Mail Privacy Protection), "
    "so an open rate is not a reading rate; prefer clicks and conversions.",
    "Comparisons between channels are associations: only a randomised control group gives a causal lift.",
    "A non-significant difference is not evidence of equality: see each pair's minimum detectable effect.",
)


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x * 100:.{digits}f}%"


def _pts(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x * 100:+.2f} pts"


def format_p(p: float) -> str:
    """A p-value for a reader: "p < 0.001" below one in a thousand, else two significant digits."""
    if p is None or not np.isfinite(p):
        return "p = –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def summarise(result: ChannelComparison, *, currency: str = "", other: ChannelComparison | None = None) -> list[str]:
    """Plain-language findings of a comparison: what is real, what is noise, what the data cannot say.

    ``other``: the same comparison per the other unit (:func:`engage_kit.channels.compare_other_unit`); when
    its leader differs, a line says so. Group names are HTML-escaped (they come from the data).
    """
    def e(x: Any) -> str:
        return f"**{esc(x)}**"

    lines: list[str] = []
    g = result.groups
    unit_word = "customer" if result.unit == "customer" else "customer-campaign pair"
    om = result.omnibus
    if len(g) < 2:
        lines.append(
            f"Only one group of {esc(result.compare_by)} has units, so there is nothing to compare it with: the "
            "figures below describe it alone."
        )
    elif om["p_value"] < result.alpha:
        lines.append(
            f"The {result.outcome} rate differs across the {len(g)} groups of {esc(result.compare_by)} "
            f"(chi-square test, {format_p(om['p_value'])})."
        )
    else:
        lines.append(
            f"The {len(g)} groups of {esc(result.compare_by)} show no difference in {result.outcome} rate "
            f"beyond chance (chi-square test, {format_p(om['p_value'])}): the spread in the chart is noise at this "
            "sample size."
        )
    best, rich = pick(g, "p_best"), pick(g, "revenue_per_unit")
    if best is not None and len(g) > 1:
        lines.append(
            f"{e(best.group)} has the highest rate, {_pct(best.rate, 2)} per {unit_word} "
            f"(95% interval {_pct(best.rate_low, 2)} to {_pct(best.rate_high, 2)}); the probability that it is truly "
            f"the best is {_chance(best.p_best)}."
        )
    elif best is not None:
        lines.append(
            f"{e(best.group)}: {_pct(best.rate, 2)} per {unit_word} "
            f"(95% interval {_pct(best.rate_low, 2)} to {_pct(best.rate_high, 2)})."
        )
    if best is not None and rich is not None and rich.group != best.group:
        lines.append(
            f"The most revenue per {unit_word} comes from {e(rich.group)}, not {e(best.group)}: "
            f"{rich.revenue_per_unit:,.2f} {esc(currency)} (95% {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f}) against "
            f"{best.revenue_per_unit:,.2f}; a higher {esc(str(result.outcome))} rate is not the same as more value."
        )
    view = _unit_view_line(result, other)
    if view:
        lines.append(view)
    pw = result.pairwise
    method = "Holm" if result.correction == "holm" else "Benjamini-Hochberg"
    if len(pw):
        sig = pw[pw.significant]
        real = [f"{e(r.a)} vs {e(r.b)} ({_pts(r.difference)})" for r in sig.head(8).itertuples()]
        if real:
            lines.append(
                f"Real differences ({len(sig)} of {len(pw)} pairs, {method}-corrected at alpha {result.alpha:g}): "
                + "; ".join(real) + ("; …" if len(sig) > 8 else "") + "."
            )
        else:
            lines.append(f"No pair differs after the {method} correction of {len(pw)} comparisons.")
        noise = pw[~pw.significant.astype(bool)]
        r = pick(noise, "mde", largest=False)
        if r is not None:
            lines.append(
                f"{len(noise)} pair(s) are indistinguishable from noise; for example {e(r.a)} vs {e(r.b)} "
                f"({_pts(r.difference)}) could only have been detected if the true gap were at least "
                f"{_pts(r.mde).lstrip('+')} (80% power): a non-significant result does not rule out smaller gaps."
            )
    if result.lift is not None and len(result.lift):
        parts = [
            f"{e(r.group)} {_pts(r.lift)} (95% {_pts(r.lift_low)} to {_pts(r.lift_high)})"
            for r in result.lift.itertuples()
        ]
        lines.append(
            f"Against the control group {e(result.control)} (no message), the incremental lift is: "
            + "; ".join(parts)
            + ". This is the only causal number in this report, valid because the groups were assigned at random."
        )
    else:
        lines.append(
            "Without a control group these are associations, not effects: customers reached through a channel "
            "differ from the others, and a channel may take credit for conversions that would have happened anyway."
        )
    caveats = []
    if result.mode == "touches" and result.unit == "customer":
        caveats.append(
            "per-customer rates reward channels that send more often; compare per message with "
            "unit='customer_campaign'"
        )
    caveats.append("conversions logged by the last touch inflate that channel (last-touch attribution)")
    if result.outcome == "open" or "open" in str(result.outcome):
        caveats.append("email opens are inflated by mail privacy proxies that pre-load images")
    else:
        caveats.append("opens are inflated by mail privacy proxies, so clicks and conversions are the better outcomes")
    if not_tracked(g).any():
        no_open = [e(x) for x in g.loc[not_tracked(g), "group"]]
        caveats.append(f"{', '.join(no_open)}: no opens recorded (not tracked there), so open rates are not comparable")
    lines.append("What the data cannot say: " + "; ".join(caveats) + ".")
    return lines


def _method(correction: str) -> str:
    return {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}.get(correction, correction)


def _chance(p: float) -> str:
    return "above 99%" if p > 0.99 else f"{p:.0%}"


def summary_cards(result: ChannelComparison, *, currency: str = "") -> list[dict[str, Any]]:
    """The executive summary's KPI cards (label, value, detail; text escaped by ``nb.kpi_cards``)."""
    g, pw = result.groups, result.pairwise
    unit_word = unit_text(result.unit)
    cards: list[dict[str, Any]] = [
        {"label": f"{result.compare_by.replace('_', ' ')} groups compared", "value": f"{len(g)}",
         "detail": f"{int(g['units'].sum()):,} {unit_word} units"},
    ]
    best = pick(g, "p_best")
    if best is not None:
        detail = f"95% interval {best.rate_low:.1%} to {best.rate_high:.1%}"
        detail += f"; chance it is truly the best: {_chance(best.p_best)}" if len(g) > 1 else "; the only group"
        cards.append({"label": f"{'best ' if len(g) > 1 else ''}{result.outcome} rate",
                      "value": f"{best.group}: {best.rate:.1%}", "detail": detail})
    n_sig = int(pw["significant"].sum()) if len(pw) else 0
    if len(pw):
        cards.append({"label": "real differences", "value": f"{n_sig} of {len(pw)} pairs",
                      "detail": f"after the {_method(result.correction)} correction for {len(pw)} comparisons "
                                f"(alpha {result.alpha:g})"})
    else:
        cards.append({"label": "real differences", "value": "none to test",
                      "detail": "one group: there is no pair to compare"})
    rich = pick(g, "revenue_per_unit")
    if rich is not None:
        cards.append({"label": f"{'most ' if len(g) > 1 else ''}revenue per {unit_word}",
                      "value": f"{rich.group}: {rich.revenue_per_unit:,.2f} {currency}".rstrip(),
                      "detail": f"95% interval {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f}"})
    top = pick(result.lift, "lift")
    if top is not None:
        cards.append({"label": f"best lift over {result.control}", "value": f"{top.lift * 100:+.2f} pts",
                      "detail": f"{top.group}: 95% {top.lift_low * 100:+.2f} to {top.lift_high * 100:+.2f} pts (causal)"})
    return cards


def summary_text(result: ChannelComparison, *, currency: str = "", other: ChannelComparison | None = None) -> str:
    """The findings of :func:`summarise` as a Markdown bullet list."""
    return "\n\n".join(f"- {line}" for line in summarise(result, currency=currency, other=other))


def unit_views_sentence(result: ChannelComparison, other: ChannelComparison | None) -> str:
    """Who leads per customer and who per message, and what that says."""
    both = unit_views(result, other)
    if other is None or both.empty:
        return "No group can be counted both ways."
    a, b = unit_text(result.unit), unit_text(other.unit)
    lead_a, lead_b = pick(both, f"rate per {a}"), pick(both, f"rate per {b}")
    if lead_a is None or lead_b is None:
        return "No group has a rate in both views."
    if len(both) == 1:
        return (f"With one group, {esc(lead_a.group)}, there is no ranking to compare: its rate is "
                f"{_pct(lead_a[f'rate per {a}'], 2)} per {a} and {_pct(lead_b[f'rate per {b}'], 2)} per {b}.")
    return (f"Per {a} the leader is {esc(lead_a.group)}; per {b} it is {esc(lead_b.group)}"
            + (": the ranking depends on the unit, so frequency, not message quality, drives part of the gap."
               if lead_a.group != lead_b.group else ": the ranking holds in both views."))


def _unit_view_line(result: ChannelComparison, other: ChannelComparison | None) -> str | None:
    """The summary line when the leader changes with the unit (None when it does not)."""
    if other is None or len(result.groups) < 2:
        return None
    best, o = pick(result.groups, "p_best"), pick(other.groups, "rate")
    if best is None or o is None or o.group == best.group:
        return None
    ou = unit_text(other.unit)
    return (f"Per {ou} the order changes: **{esc(o.group)}** leads with {_pct(o.rate, 2)} (see 'Per customer or "
            f"per message'): part of {esc(best.group)}'s lead is that it reaches each customer more often, not that "
            "each message works better.")


def rates_title(result: ChannelComparison) -> str:
    """Title of the rates chart: the leader, and its gap to the runner-up."""
    g = result.groups
    best = pick(g, "p_best")
    if best is None:
        return f"{result.outcome} rate by {result.compare_by}"
    if len(g) == 1:
        return f"{chart_label(best.group)}: {best.rate:.2%} {result.outcome} rate (the only group)"
    top2 = g.sort_values("rate", ascending=False, kind="stable").head(2)
    return (f"{chart_label(best.group)} leads on {result.outcome} rate "
            f"({top2.rate.iloc[0]:.2%} vs {top2.rate.iloc[1]:.2%})")


def rates_sentence(result: ChannelComparison) -> str:
    """The lowest and highest rate, and the widest interval (the least certain group)."""
    g = result.groups
    unit_word = unit_text(result.unit)
    hi, lo = best_and_worst(g, "rate")
    if hi is None:
        return f"No group has a {result.outcome} rate yet."
    width = g.assign(_w=g["rate_high"] - g["rate_low"])
    wide = pick(width, "_w")
    if len(g) == 1 or wide is None:
        return (f"{esc(hi.group)} converts {_pct(hi.rate, 2)} per {unit_word} (95% interval "
                f"{_pct(hi.rate_low, 2)} to {_pct(hi.rate_high, 2)}, {int(hi.units):,} units).")
    return (f"Rates range from {_pct(lo.rate, 2)} ({esc(lo.group)}) to {_pct(hi.rate, 2)} ({esc(hi.group)}) per "
            f"{unit_word}; the widest interval, {wide._w * 100:.2f} points, is that of {esc(wide.group)} "
            f"({int(wide.units):,} units).")


def funnel_title(result: ChannelComparison) -> str:
    """Title of the funnel chart: the group with the highest click-through."""
    lead = pick(result.groups, "click_rate")
    unit_word = unit_text(result.unit)
    if lead is None:
        return f"Funnel per {unit_word}"
    more = "highest click-through" if len(result.groups) > 1 else "click-through"
    return f"{chart_label(lead.group)} has the {more} per {unit_word} ({lead.click_rate:.1%})"


def funnel_caption(result: ChannelComparison) -> str:
    """Caption of the funnel table: what a unit and a converted unit are."""
    return (f"Funnel per {result.compare_by} ({unit_text(result.unit)} units; converted = units with at least one "
            f"{result.outcome} event; blank opens: not tracked)")


def funnel_sentence(result: ChannelComparison, *, currency: str = "") -> str:
    """Clickers and converters of the leader, and where the most revenue per unit comes from."""
    g = result.groups
    lead, rich = pick(g, "click_rate"), pick(g, "revenue_per_unit")
    if lead is not None and lead.click_rate > 0:
        text = f"{esc(lead.group)} turns {lead.click_rate:.1%} of its units into clickers and {lead.conversion_rate:.2%} into converters"
    else:
        text = "No clicks are recorded for these units"
    if rich is not None:
        text += (f"; the {'most ' if len(g) > 1 else ''}revenue per unit comes from {esc(rich.group)}: "
                 f"{rich.revenue_per_unit:,.2f} {esc(currency)} (95% {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f})")
    return text + "."


def omnibus_sentence(result: ChannelComparison) -> str:
    """The chi-square test across all groups, its effect size and the correction of the pairs."""
    om = result.omnibus
    return (f"Chi-square test of homogeneity across {len(result.groups)} groups: X² = {om['statistic']:,.1f} on "
            f"{om['dof']} degrees of freedom, {format_p(om['p_value'])}; Cramér's V = {om['cramers_v']:.3f} "
            f"(0 = no association, 1 = complete). Correction: {CORRECTION_NAMES[result.correction]}.")


def pairwise_caption(result: ChannelComparison) -> str:
    """Caption of the pairwise table: how many pairs, their order, what the detectable gap is."""
    return (f"Pairwise comparisons ({len(result.pairwise)} pairs, smallest p-value first; at most 50 shown). "
            "Detectable gap: the smallest true difference the test would catch with 80% power after the correction")


def pairwise_title(result: ChannelComparison) -> str:
    pw = result.pairwise
    n_sig = int(pw["significant"].sum()) if len(pw) else 0
    return f"{n_sig} of {len(pw)} differences survive the {_method(result.correction)} correction"


def pairwise_sentence(result: ChannelComparison) -> str:
    """How many pairs differ, and what the others could have missed."""
    pw = result.pairwise
    if not len(pw):
        return "With one group there is no pair to test."
    n_sig = int(pw["significant"].sum())
    ns = pw[~pw["significant"].astype(bool)]
    widest = pick(ns, "mde")
    return f"{n_sig} of {len(pw)} pairs differ after correction; " + (
        f"the other {len(ns)} could miss true gaps of up to {widest.mde * 100:.2f} points (their largest minimum "
        "detectable effect), so they show no difference, not equality." if widest is not None else
        ("every pair differs." if not len(ns) else f"the other {len(ns)} show no difference, not equality."))


def pairwise_skip_reason(result: ChannelComparison) -> str | None:
    """Why there are no pairwise tests (one group), or None."""
    return None if len(result.pairwise) else (
        f"only one {result.compare_by} group has units, so there is no pair to test")


def bayes_sentence(result: ChannelComparison) -> str:
    """The group most likely to be the best, and how likely."""
    best = pick(result.groups, "p_best")
    if best is None:
        return "No group has units."
    if len(result.groups) == 1:
        return f"{esc(best.group)} is the only group: there is no other to be better than."
    return (f"{esc(best.group)} is the best group with probability {_chance(best.p_best)}"
            + ("; no group is a clear winner (none above 90%)." if best.p_best < 0.9 else "."))


def lift_skip_text(result: ChannelComparison, hint: Mapping[str, str]) -> str | None:
    """Why the incremental-lift section cannot be shown (no control group, or nothing beside it), or None.

    ``hint``: the control-like groups of the customers table, {attribute: value}, which the
    reason names with how to rerun on them.
    """
    if result.lift is None:
        more = "; ".join(f"the customers table has one (column {k}, group '{v}'): rerun with compare_by='{k}', "
                         f"control='{v}' and campaign set to the experiment's campaign_id" for k, v in hint.items())
        return ("this run compares channels, and no channel is a no-message control group"
                + (f"; {more}" if more else ""))
    if result.lift.empty:
        return f"the control group {result.control} is the only group with units: there is nothing to compare it with"
    return None


def lift_caption(result: ChannelComparison) -> str:
    """Caption of the lift table."""
    return f"Lift over {result.control} (causal when groups were assigned at random)"


def lift_title(result: ChannelComparison) -> str:
    top = pick(result.lift, "lift")
    if top is None:
        return f"Lift over {chart_label(result.control)}"
    return (f"{chart_label(top.group)} adds {top.lift * 100:.1f} points of {result.outcome} over "
            f"{chart_label(result.control)}")


def lift_sentence(result: ChannelComparison) -> str:
    lift = result.lift
    top = pick(lift, "lift")
    if top is None:
        return f"No group has a lift over {esc(result.control)}."
    n_sig = int(lift["significant"].sum()) if "significant" in lift.columns else 0
    return (f"{esc(top.group)} lifts the {result.outcome} rate by {top.lift * 100:+.2f} points over {esc(result.control)} "
            f"(95% {top.lift_low * 100:+.2f} to {top.lift_high * 100:+.2f}), about {top.incremental:,.0f} extra outcomes; "
            f"{n_sig} of {len(lift)} groups beat the control after correction.")


def no_units_reason(unit: str, error: Exception | None = None) -> str:
    """Why the comparison per ``unit`` has nothing to show (with the error that said so, if any)."""
    return f"no {unit_text(unit)} units to count: {error}" if error is not None else f"no {unit_text(unit)} units to count"


def acquisition_reason(case: str, by: str) -> str:
    """Why there is no value by acquisition channel: a case of :data:`ACQUISITION_REASONS`."""
    return ACQUISITION_REASONS[case].format(by=by)


def acquisition_caption(definition: str) -> str:
    """Caption of the acquisition table, with the definition of the active rate."""
    return f"Retention and historic value by acquisition channel (active rate: {definition})"


def acquisition_title(value: pd.DataFrame) -> str:
    """Title of the acquisition chart: the most and the least valuable channel per customer-year."""
    top, low = best_and_worst(value, "revenue_per_customer_year")
    if top is None:
        return "Net revenue per customer-year by acquisition channel"
    if len(value) == 1 or top.group == low.group:
        return f"Customers from {chart_label(top.group)} bring {top.revenue_per_customer_year:,.2f} per customer-year"
    if low.revenue_per_customer_year > 0:
        ratio = top.revenue_per_customer_year / low.revenue_per_customer_year
        return (f"Customers from {chart_label(top.group)} are worth {ratio:.1f}× those from "
                f"{chart_label(low.group)} per year")
    return (f"Customers from {chart_label(top.group)} bring the most per customer-year, those from "
            f"{chart_label(low.group)} the least")


def acquisition_sentence(value: pd.DataFrame, *, currency: str = "") -> str:
    """The most and the least valuable acquisition channel per customer-year, with their active rates."""
    top, low = best_and_worst(value, "revenue_per_customer_year")
    caveat = ("Acquisition channels are not randomised: they differ in who they bring, not only in what they do.")
    if top is None:
        return "No acquisition channel has a tenure to divide by yet. " + caveat
    cur = esc(currency)
    if len(value) == 1 or top.group == low.group:
        return (f"All customers with an acquisition channel came through {esc(top.group)}: "
                f"{top.revenue_per_customer_year:,.2f} {cur} per customer-year, active rate {_pct(top.active_rate)}; "
                "there is no other channel to compare with.")
    return (f"Per customer-year, {esc(top.group)} customers bring {top.revenue_per_customer_year:,.2f} {cur} "
            f"against {low.revenue_per_customer_year:,.2f} for {esc(low.group)}; their active rates are "
            f"{_pct(top.active_rate)} and {_pct(low.active_rate)}. " + caveat)


def unknown_costs_sentence(unknown: Iterable[Any]) -> str:
    """The cost keys that match no group, which are ignored."""
    return "Costs given for unknown groups (ignored): " + ", ".join(esc(u) for u in unknown)


def cost_skip_reason(costs: Mapping[Any, float] | None, result: ChannelComparison | None) -> str | None:
    """Why the cost section cannot be shown (no costs, or none for a compared group), or None."""
    if not costs:
        return "no costs given (parameter costs: spend per group, e.g. {'email': 20000})"
    if result is None or "spend" not in result.groups.columns:
        return "no compared group has a cost"
    return None


def cost_sentence(cost: pd.DataFrame, *, currency: str = "", has_control: bool = False) -> str:
    """The cheapest outcome among the groups with a cost."""
    cheap = pick(cost, "cost_per_outcome", largest=False)
    tail = ("cost per incremental outcome (over the control) is the figure to budget on." if has_control else
            "without a control group these are costs per attributed outcome, not per incremental one.")
    if cheap is None:
        return "No group with a cost has an outcome yet, so there is no cost per outcome; " + tail
    return (f"The cheapest outcome comes from {esc(cheap.group)} at {cheap.cost_per_outcome:,.2f} {esc(currency)}; "
            + tail)


def trends_title(result: ChannelComparison) -> str:
    """Title of the trends chart: the group that leads most often (empty when no period has every group)."""
    tr = result.trends
    top = trend_top_group(tr)
    if top is None:
        return ""
    led, shared = trend_leader(tr, top)
    if not shared:
        return ""
    return f"{chart_label(top)} has the highest rate in {led} of the {shared} periods where every group had units"


def trends_sentence(result: ChannelComparison, *, period: str | None = None) -> str:
    """What the per-period rates show: who leads in the periods every group ran."""
    tr = result.trends
    words = {"W": "week", "M": "month", "Q": "quarter"}.get(period or result.period or "", "period")
    if tr is None or tr.empty:
        return f"No {words} has units."
    text = f"Rates are per {words} ({tr.period.nunique()} {words}s), so they are lower than the whole-period rates above. "
    top, best = trend_top_group(tr), pick(result.groups, "p_best")
    led, shared = trend_leader(tr, top) if top is not None else (0, 0)
    if top is not None and len(result.groups) > 1:  # one group leads every period it has: nothing to say
        if shared:
            text += f"In the {shared} {words}s where every group had units, {esc(top)} has the highest rate in {led}"
            if best is not None and best.group != top:
                text += f"; {esc(best.group)} in {trend_leader(tr, best.group)[0]}"
            text += ". "
        else:
            text += "No single period had units in every group. "
    return text + "A missing point means the group sent nothing that period."


def caveats(result: ChannelComparison) -> str:
    """What the data cannot say: the comparison's notes, then the limits of every channel comparison."""
    lines = [f"- {esc(n)}" for n in result.notes]
    lines += [f"- {c}" for c in CAVEATS]
    return "\n".join(lines)


def outputs_sentence(folder: str) -> str:
    """Where the results and exports were written."""
    return ("Written: results.json and the CSV exports (groups, pairwise, trends, acquisition) in the folder "
            f"<code>{esc(folder)}</code> next to this report.")
