"""Every sentence, title, caption and card text of the channel comparison report.

Numbers in, plain language out: each function reads a computed comparison (or a small
frame of it) and words it; nothing here queries the engine. Each is safe on zero groups
and on one. Group names come from the data and are escaped (``esc`` for Markdown,
``chart_label`` for chart titles). The report's body speaks plain words ("more than
chance"); test names, p-values and corrections are worded for "Method and diagnostics".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..text import chart_label, esc
from .counts import unit_text
from .picks import best_and_worst, not_tracked, pick
from .tables import unit_noun, unit_views, words
from .trends import trend_leader, trend_top_group

if TYPE_CHECKING:
    from .comparison import ChannelComparison

CORRECTION_NAMES = {
    "holm": "Holm's step-down method (controls the family-wise error rate)",
    "fdr_bh": "Benjamini-Hochberg (controls the false discovery rate)",
}
NO_TOUCHES = "the dataset has no touches table (marketing events); add one to compare channels"
NO_TOUCHES_SHORT = "no touches table"
NO_TOUCHES_PLAIN = "the data holds no marketing messages (nothing sent, opened or clicked)"
NO_PERIODS = "no periods with units"
ACQUISITION_PLAIN = "the data does not say through which channel each customer came"
ACTIVE_USE = "Here it sets the active rate by acquisition channel."
OTHER_UNIT_NEEDS_TOUCHES = "applies when comparing by a touches column (channel, campaign_id)"
NO_CAMPAIGN_PAIRS = "the touches carry no campaign_id, so there are no customer-campaign pairs to count"
POSTERIOR_CAPTION = "Posterior rate per {unit} (95% credible interval) and probability of being the best"
UNIT_VIEWS_CAPTION = "The same groups counted per customer and per message (customer-campaign pair)"
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
    "A difference within chance is not evidence of equality: the smallest gap each comparison could have "
    "detected is in Method and diagnostics.",
)
PAST = {"conversion": "converted", "click": "clicked", "open": "opened"}
PERIOD_WORDS = {"W": "week", "M": "month", "Q": "quarter"}

# the sections of the report's body, in plain words (the technical side is in APPENDIX_INTRO)
TITLES = {
    "rates": "Rates per customer and per message",
    "funnel": "Funnel",
    "differences": "Which differences are more than chance",
    "lift": "What the messages added over a control group",
    "acquisition": "Value by acquisition channel",
    "cost": "Cost and return",
    "trends": "Rates over time",
    "limits": "What the data cannot say",
}
INTRO = {
    "rates": "Each dot is a group's rate; the bar around it is the range its true rate very likely lies in (95%). "
             "Per customer, a customer counts once however many messages reached them; per message, each campaign "
             "sent to a customer counts once. A channel that writes more often gains per customer, not per "
             "message.",
    "rates_one": "Each dot is a group's rate; the bar around it is the range its true rate very likely lies in (95%).",
    "funnel": "How far the customers of each group went: reached, opened, clicked, converted. Revenue is the value "
              "the marketing system attributes to the outcome events, not the shop's transactions.",
    "differences": "Each pair of groups, with the range its true difference very likely lies in. A difference is "
                   "more than chance when it holds after allowing for the number of pairs compared.",
    "lift": "Only a group that received nothing, chosen at random, tells what the messages caused: the lift is "
            "the difference in rate over that control group.",
    "acquisition": "Customers brought in by each acquisition channel, followed through the transactions: repeat "
                   "rate (buyers with two or more purchase days), active rate, net revenue per customer to date "
                   "(returns netted) and per customer-year (fair to channels that started recently).",
    "cost": "Cost per outcome (spend divided by the customers who converted) and return on spend (attributed "
            "revenue divided by spend).",
    "trends": "Each group's rate by period, with the range its true value very likely lies in; a gap that holds "
              "period after period is more credible than one that comes and goes.",
    "limits": "The numbers above rest on these choices and limits.",
}
APPENDIX_INTRO = (
    "How the figures are computed and tested. Rates carry 95% Wilson score intervals; revenue per unit a bootstrap "
    "interval over units (most units spend nothing). A chi-square test of homogeneity asks whether the groups differ "
    "at all; every pair is then tested with a pooled two-proportion z-test (Fisher's exact test where an expected "
    "count is below 5), all pairs (the control included) corrected together as one family. Differences carry "
    "Newcombe's hybrid score interval (built on the Wilson intervals), the relative lift a log (Katz) interval. The "
    "detectable gap is the smallest true difference each comparison would catch with 80% power after the "
    "correction. \"More than chance\" in the report means: significant after this correction."
)
BAYES_INTRO = (
    "A Bayesian view: with a uniform Beta(1, 1) prior, each group's rate has a Beta posterior; 20,000 joint draws "
    "(seeded) give the probability that each group is truly the best, read beside the tests above."
)
GLOSSARY = (
    ("Customer reached", "a customer with at least one exposure event (sent, delivered, viewed) through the group"),
    ("Message", "one campaign sent to one customer (a customer-campaign pair), however many touches it took"),
    ("Rate", "the share of units (customers or messages) with at least one outcome event"),
    ("Range / interval", "the 95% interval: the range the true value very likely lies in"),
    ("More than chance", "significant at the chosen level after the correction for the number of pairs"),
    ("Control group", "customers chosen at random to receive nothing; the only basis for a causal lift"),
    ("Detectable gap", "the minimum detectable effect: the smallest true gap a test would catch with 80% power"),
    ("Posterior, chance of being best", "the Bayesian view: how likely each group's true rate is the highest"),
)


def _pct(x: float, digits: int = 1) -> str:
    """A rate with one decimal (two below 0.1%), "–" when missing."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x * 100:.{digits}f}%" if abs(x) >= 0.001 or digits > 1 else f"{x * 100:.2f}%"


def _pts(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x * 100:+.1f} points"


def _between(low: float, high: float) -> str:
    """An interval in words; two decimals when one decimal would show the same number twice."""
    if _pct(low) == _pct(high) and np.isfinite(low) and np.isfinite(high):
        return f"between {low * 100:.2f}% and {high * 100:.2f}%"
    return f"between {_pct(low)} and {_pct(high)}"


def _money(x: float, currency: str = "") -> str:
    return f"{x:,.2f} {esc(currency)}".rstrip()


def format_p(p: float) -> str:
    """A p-value for a reader: "p < 0.001" below one in a thousand, else two significant digits."""
    if p is None or not np.isfinite(p):
        return "p = –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _b(x: Any) -> str:
    return f"**{esc(words(x))}**"


def _n(x: Any) -> str:
    return esc(words(x))


def _method(correction: str) -> str:
    return {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}.get(correction, correction)


def _chance(p: float) -> str:
    return "above 99%" if p > 0.99 else f"{p:.0%}"


def _plural(outcome: str) -> str:
    return f"{outcome}s" if outcome in PAST else f"{words(outcome)} events"


def _views(result: ChannelComparison, other: ChannelComparison | None) -> tuple[Any, Any]:
    """(the comparison per customer, the comparison per message), either None when absent."""
    if result.unit == "customer_campaign":
        return (other if other is not None and other.unit == "customer" else None), result
    return result, (other if other is not None and other.unit == "customer_campaign" else None)


def _ranked(c: ChannelComparison) -> pd.DataFrame:
    """The groups other than the control, highest rate first."""
    g = c.groups
    if c.control is not None:
        g = g[g["group"] != c.control]
    return g.sort_values(["rate", "units"], ascending=[False, False], kind="stable").reset_index(drop=True)


def _pair(c: ChannelComparison, a: Any, b: Any) -> pd.Series | None:
    pw = c.pairwise
    if not len(pw):
        return None
    hit = pw[((pw["a"] == a) & (pw["b"] == b)) | ((pw["a"] == b) & (pw["b"] == a))]
    return None if hit.empty else hit.iloc[0]


def _more(c: ChannelComparison, a: Any, b: Any) -> bool:
    p = _pair(c, a, b)
    return p is not None and bool(p["significant"])


def _of_its(c: ChannelComparison) -> str:
    """What a rate is a share of: "of its messages lead to a conversion", "of the customers it reached converted"."""
    past = PAST.get(c.outcome, f"had a {words(c.outcome)} event")
    if c.unit == "customer_campaign":
        return f"of its messages led to a {words(c.outcome)}" if c.mode == "touches" else (
            f"of its customer-campaign pairs {past}")
    return f"of the customers it reached {past}" if c.mode == "touches" else f"of its customers {past}"


def _unit_noun(c: ChannelComparison) -> str:
    if c.unit == "customer_campaign":
        return "message" if c.mode == "touches" else "customer-campaign pair"
    return "customer reached" if c.mode == "touches" else "customer"


def _units_noun(c: ChannelComparison) -> str:
    return {"customer reached": "customers reached", "customer-campaign pair": "customer-campaign pairs"}.get(
        _unit_noun(c), f"{_unit_noun(c)}s")


def messages_per_customer(per_customer: ChannelComparison, per_message: ChannelComparison, group: Any) -> float:
    """Messages (customer-campaign pairs) per customer reached of ``group``: how often it writes."""
    a = per_customer.groups.set_index("group")["units"]
    b = per_message.groups.set_index("group")["units"]
    return float(b[group] / a[group]) if group in a.index and group in b.index and a[group] else float("nan")


def span(result: ChannelComparison | None) -> str:
    """The periods the comparison covers, "from 2023-01 to 2024-12" ("" without periods)."""
    tr = None if result is None else result.trends
    if tr is None or tr.empty:
        return ""
    fmt = "%Y-%m-%d" if result.period == "W" else "%Y-%m"
    return f"from {pd.Timestamp(tr['period'].min()):{fmt}} to {pd.Timestamp(tr['period'].max()):{fmt}}"


# --- What we found ------------------------------------------------------------------------


def _lift_finding(result: ChannelComparison) -> str | None:
    lift = result.lift
    top = pick(lift, "lift")
    if top is None:
        return None
    plural = _plural(result.outcome)
    ctl = ("the control group" if words(result.control).lower() in ("control", "control group")
           else f"the control group {_b(result.control)}")
    sig = lift["significant"].astype(bool) if "significant" in lift.columns else pd.Series(False, index=lift.index)
    rng = f"between {top.lift_low * 100:+.1f} and {_pts(top.lift_high)}"
    if bool(sig.loc[top.name]):
        return (f"The messages work: {_b(top.group)} added **{_pts(top.lift)}** of {words(result.outcome)} over "
                f"{ctl}, which got no message ({rng}, more than chance), about "
                f"{top.incremental:,.0f} extra {plural}; {int(sig.sum())} of {len(lift)} groups beat the control by "
                f"more than chance. This is the one causal figure here: back {_n(top.group)} first.")
    return (f"No group beat {ctl} by more than chance: the best, {_b(top.group)}, added "
            f"**{_pts(top.lift)}** of {words(result.outcome)} ({rng}). Test on more customers before spending more "
            "on these messages.")


def _lead_finding(c: ChannelComparison) -> str | None:
    r = _ranked(c)
    if r.empty:
        return None
    best = r.iloc[0]
    head = f"**{_pct(best.rate)}** {_of_its(c)} ({_between(best.rate_low, best.rate_high)})"
    if len(r) == 1:
        return f"Only {_b(best.group)} has units to count: {head}; there is nothing to compare it with."
    second = r.iloc[1]
    if _more(c, best.group, second.group):
        return (f"Use {_b(best.group)} for {_plural(c.outcome)}: {head}, more than chance above "
                f"{_n(second.group)} ({_pct(second.rate)}).")
    return (f"{_b(best.group)} leads on {_plural(c.outcome)}: {head}, but not by more than chance over "
            f"{_n(second.group)} ({_pct(second.rate)}); no group is a clear winner yet, so give both more volume "
            "before choosing.")


def _frequency_finding(pc: ChannelComparison, pm: ChannelComparison, when: str) -> str | None:
    rc, rm = _ranked(pc), _ranked(pm)
    if len(rc) < 2 or rm.empty:
        return None
    bc, bm = rc.iloc[0], rm.iloc[0]
    head = f"**{_pct(bc.rate)}** {_of_its(pc)} ({_between(bc.rate_low, bc.rate_high)})"
    when = f" {when}" if when else ""
    if bc.group == bm.group:
        return f"{_b(bc.group)} also reaches the most buyers{when}: {head}."
    fc, fm = messages_per_customer(pc, pm, bc.group), messages_per_customer(pc, pm, bm.group)
    return (f"{_b(bc.group)} converts the most customers{when}: {head}, because it wrote to each about "
            f"**{fc:.1f}** times against {fm:.1f} for {_n(bm.group)}. That lead is frequency, not a better message: "
            f"keep {_n(bc.group)} for reach, and use {_n(bm.group)} for more {_plural(pm.outcome)} per message sent.")


def _weakest_finding(c: ChannelComparison, also: ChannelComparison | None) -> str | None:
    r = _ranked(c)
    if len(r) < 3:
        return None
    w, nxt = r.iloc[-1], r.iloc[-2]
    extra = ""
    if also is not None:
        ra = _ranked(also)
        if len(ra) and ra.iloc[-1]["group"] == w.group:
            extra = f" and {_pct(ra.iloc[-1]['rate'])} {_of_its(also).replace(' led ', ' lead ')}"
    verdict = (f"more than chance below {_n(nxt.group)} ({_pct(nxt.rate)})" if _more(c, w.group, nxt.group)
               else f"though not by more than chance below {_n(nxt.group)} ({_pct(nxt.rate)})")
    return (f"{_b(w.group)} converts least: **{_pct(w.rate)}** {_of_its(c)} ({_between(w.rate_low, w.rate_high)})"
            f"{extra}, {verdict}. Rework its messages, or move its budget to {_n(r.iloc[0]['group'])}.")


def _revenue_finding(c: ChannelComparison, lead: Any, currency: str) -> str | None:
    r = c.groups if c.control is None else c.groups[c.groups["group"] != c.control]
    rich = pick(r, "revenue_per_unit")
    if rich is None or not rich.revenue_per_unit > 0:
        return None
    rng = f"between {_money(rich.rpu_low)} and {_money(rich.rpu_high, currency)}"
    head = f"{_b(rich.group)} brings the most revenue per {_unit_noun(c)}: **{_money(rich.revenue_per_unit, currency)}** ({rng})"
    rest = r[r["group"] != rich.group]
    nxt = pick(rest, "revenue_per_unit")
    if nxt is None:
        return head + "."
    clear = rich.rpu_low > nxt.rpu_high
    text = (f"{head}, against {_money(nxt.revenue_per_unit, currency)} for {_n(nxt.group)}; "
            + ("the two ranges do not overlap, so the gap is more than chance" if clear
               else "the two ranges overlap, so the gap may be chance"))
    if lead is not None and lead != rich.group:
        text += f". More {_plural(c.outcome)} from {_n(lead)} do not mean more value"
    return text + "."


def _acquisition_finding(value: pd.DataFrame | None, currency: str) -> str | None:
    top, low = best_and_worst(value, "revenue_per_customer_year")
    if top is None or top.group == low.group or not low.revenue_per_customer_year > 0:
        return None
    ratio = top.revenue_per_customer_year / low.revenue_per_customer_year
    return (f"Customers who came through {_b(top.group)} are worth the most: "
            f"**{_money(top.revenue_per_customer_year, currency)}** per customer-year against "
            f"{_money(low.revenue_per_customer_year, currency)} through {_n(low.group)} ({ratio:.1f}×). Grow "
            f"{_n(top.group)}, keeping in mind that these channels bring different customers, not only a different "
            "treatment.")


def missing_outcome_plain(outcome: str, events: list[str]) -> str:
    """Why channels are not compared when the outcome event is never recorded, in plain words."""
    shown = ", ".join(esc(words(e)) for e in events[:8]) + (" and others" if len(events) > 8 else "")
    return (f"the messages record no {esc(words(outcome))} events, the success this comparison counts "
            f"(they record {shown}; the outcome parameter picks another)")


def findings(result: ChannelComparison | None, other: ChannelComparison | None = None,
             acquisition: pd.DataFrame | None = None, *, currency: str = "", most: int = 5,
             no_result: str = NO_TOUCHES_PLAIN) -> list[str]:
    """What we found: 3-5 sentences saying which group to use for what, and whether it is more than chance.

    In order: the lift over a control group (the one causal figure) when there is one; the
    leader per message (else per customer) and whether it leads by more than chance; when
    the leader per customer differs, that its lead is frequency; the weakest group; where
    the most revenue comes from; the most valuable acquisition channel.
    """
    out: list[str | None] = []
    if result is not None and len(result.groups):
        pc, pm = _views(result, other)
        primary = pm if pm is not None else result
        out.append(_lift_finding(result))
        out.append(_lead_finding(primary))
        if pc is not None and pm is not None:
            out.append(_frequency_finding(pc, pm, span(result)))
        out.append(_weakest_finding(primary, pc if primary is pm else None))
        lead = _ranked(pc if pc is not None else result)
        out.append(_revenue_finding(pc if pc is not None else result, lead["group"].iloc[0] if len(lead) else None,
                                    currency))
    elif result is not None:
        out.append(f"No {words(result.compare_by)} group has units to count, so there is nothing to compare.")
    else:
        out.append(f"Channels cannot be compared on this data: {no_result}.")
    out.append(_acquisition_finding(acquisition, currency))
    return [t for t in out if t][:most]


def not_applicable(result: ChannelComparison | None, acquisition: pd.DataFrame | None, *,
                   no_result: str = NO_TOUCHES_PLAIN) -> str | None:
    """Why the report has nothing to show (no comparison and no acquisition channels), or None."""
    if result is None and acquisition is None:
        return no_result + ", and no acquisition channel per customer"
    return None


def summarise(result: ChannelComparison, *, currency: str = "", other: ChannelComparison | None = None) -> list[str]:
    """The findings of a comparison alone (:func:`findings` without acquisition channels)."""
    return findings(result, other, currency=currency)


# --- key figures --------------------------------------------------------------------------


def summary_cards(result: ChannelComparison, *, currency: str = "", other: ChannelComparison | None = None
                  ) -> list[dict[str, Any]]:
    """The report's key figures (label, value, detail; text escaped by ``nb.kpi_cards``).

    They tell the story of the findings: the leader per message, the leader per customer
    over the whole window (and how often it writes), the pairs that differ by more than
    chance, the most revenue, the lift over a control group.
    """
    g = result.groups
    pc, pm = _views(result, other)
    units = int(g["units"].sum())
    reached = "customers reached, counted per group" if result.unit == "customer" else f"{unit_text(result.unit)}s"
    cards: list[dict[str, Any]] = [
        {"label": f"{words(result.compare_by)}{'s' if result.compare_by.endswith('group') else ' groups'} compared",
         "value": f"{len(g)}",
         "detail": f"{units:,} {reached}"},
    ]
    for c, label in ((pm, "message"), (pc, "customer")):
        r = _ranked(c) if c is not None else pd.DataFrame()
        if r.empty:
            continue
        best = r.iloc[0]
        detail = _between(best.rate_low, best.rate_high)
        if label == "customer" and span(result):
            detail = f"{span(result)}; {detail}"
        if len(r) > 1:
            detail += f"; next {words(r.iloc[1]['group'])} {_pct(r.iloc[1]['rate'])}"
        if label == "customer" and pm is not None and best.group in set(pm.groups["group"]):
            detail += f"; {messages_per_customer(pc, pm, best.group):.1f} messages per customer"
        cards.append({"label": f"{'best ' if len(r) > 1 else ''}{words(result.outcome)} rate per {label}",
                      "value": f"{words(best.group)}: {_pct(best.rate)}", "detail": detail})
    main = pm if pm is not None else result
    pw = main.pairwise
    if len(pw):
        detail = f"pairs of groups compared per {_unit_noun(main)}"
        if pc is not None and pm is not None and len(pc.pairwise):
            detail += f"; per customer {int(pc.pairwise['significant'].sum())} of {len(pc.pairwise)}"
        cards.append({"label": "differences more than chance",
                      "value": f"{int(pw['significant'].sum())} of {len(pw)}", "detail": detail})
    else:
        cards.append({"label": "differences more than chance", "value": "none to test",
                      "detail": "one group: there is no pair to compare"})
    rev = pc if pc is not None else result
    rich = pick(rev.groups, "revenue_per_unit")
    if rich is not None:
        cards.append({"label": f"{'most ' if len(g) > 1 else ''}revenue per {_unit_noun(rev)}",
                      "value": f"{words(rich.group)}: {rich.revenue_per_unit:,.2f} {currency}".rstrip(),
                      "detail": f"between {rich.rpu_low:,.2f} and {rich.rpu_high:,.2f} {currency}".rstrip()})
    top = pick(result.lift, "lift")
    if top is not None:
        cards.append({"label": f"best lift over {words(result.control)}", "value": f"{top.lift * 100:+.1f} points",
                      "detail": f"{words(top.group)}: between {top.lift_low * 100:+.1f} and {top.lift_high * 100:+.1f} "
                                "points (caused by the messages)"})
    return cards


# --- rates, funnel, differences -------------------------------------------------------------


def rates_title(result: ChannelComparison, other: ChannelComparison | None = None) -> str:
    """Title of the rates chart: the leader per customer and per message (one sentence when they differ)."""
    pc, pm = _views(result, other)
    if pc is not None and pm is not None:
        bc, bm = _ranked(pc), _ranked(pm)
        if len(bc) > 1 and len(bm) and bc.iloc[0]["group"] != bm.iloc[0]["group"]:
            return (f"{chart_label(words(bc.iloc[0]['group']))} converts the most customers, "
                    f"{chart_label(words(bm.iloc[0]['group']))} the most per message")
    g = _ranked(result)
    if g.empty:
        return f"{words(result.outcome)} rate by {words(result.compare_by)}"
    if len(g) == 1:
        return f"{chart_label(words(g.iloc[0]['group']))}: {_pct(g.iloc[0]['rate'])} {words(result.outcome)} rate (the only group)"
    return (f"{chart_label(words(g.iloc[0]['group']))} leads on {words(result.outcome)} rate "
            f"({_pct(g.iloc[0]['rate'])} vs {_pct(g.iloc[1]['rate'])})")


def _range_text(c: ChannelComparison) -> str:
    hi, lo = best_and_worst(c.groups, "rate")
    return f"from {_pct(lo.rate)} ({_n(lo.group)}) to {_pct(hi.rate)} ({_n(hi.group)})"


def rates_sentence(result: ChannelComparison, other: ChannelComparison | None = None) -> str:
    """The range of rates per customer and per message, and the least certain group."""
    g = result.groups
    hi = pick(g, "rate")
    if hi is None:
        return f"No group has a {words(result.outcome)} rate yet."
    if len(g) == 1:
        return (f"{_n(hi.group)}: {_pct(hi.rate)} {_of_its(result)} ({_between(hi.rate_low, hi.rate_high)}, "
                f"{int(hi.units):,} {_units_noun(result)}).")
    pc, pm = _views(result, other)
    parts = [f"per {_unit_noun(c)} {_range_text(c)}" for c in (pc, pm) if c is not None and len(c.groups) > 1]
    wide = pick(g.assign(_w=g["rate_high"] - g["rate_low"]), "_w")
    return (f"Rates range {'; '.join(parts) if parts else _range_text(result)}. The least certain is "
            f"{_n(wide.group)}, whose range spans {wide._w * 100:.1f} points ({int(wide.units):,} "
            f"{_units_noun(result)}).")


def unit_views_sentence(result: ChannelComparison, other: ChannelComparison | None) -> str:
    """Who leads per customer and who per message, and what that says."""
    both = unit_views(result, other)
    if other is None or both.empty:
        return "No group can be counted both ways."
    a, b = unit_noun(result.unit), unit_noun(other.unit)
    lead_a, lead_b = pick(both, f"rate per {a}"), pick(both, f"rate per {b}")
    if lead_a is None or lead_b is None:
        return "No group has a rate in both views."
    if len(both) == 1:
        return (f"With one group, {_n(lead_a.group)}, there is no ranking to compare: its rate is "
                f"{_pct(lead_a[f'rate per {a}'])} per {a} and {_pct(lead_b[f'rate per {b}'])} per {b}.")
    return (f"Per {a} the leader is {_n(lead_a.group)}; per {b} it is {_n(lead_b.group)}"
            + (": the ranking depends on the unit, so how often a channel writes, not how well each message works, "
               "drives part of the gap." if lead_a.group != lead_b.group else ": the ranking holds in both views."))


def funnel_title(result: ChannelComparison) -> str:
    """Title of the funnel chart: the group with the highest click-through."""
    lead = pick(result.groups, "click_rate")
    noun = _unit_noun(result)
    if lead is None:
        return f"Funnel per {noun}"
    more = "highest click-through" if len(result.groups) > 1 else "click-through"
    return f"{chart_label(words(lead.group))} has the {more} per {noun} ({lead.click_rate:.1%})"


def funnel_caption(result: ChannelComparison) -> str:
    """Caption of the funnel table: what a unit and a converted unit are."""
    return (f"Funnel per {words(result.compare_by)} (units: {_units_noun(result)}; converted: units with at least "
            f"one {words(result.outcome)} event; opens left blank where they are not tracked)")


def funnel_sentence(result: ChannelComparison, *, currency: str = "") -> str:
    """Clickers and converters of the leader, and where the most revenue per unit comes from."""
    g = result.groups
    lead, rich = pick(g, "click_rate"), pick(g, "revenue_per_unit")
    if lead is not None and lead.click_rate > 0:
        text = (f"{_n(lead.group)} turns {_pct(lead.click_rate)} of its {_units_noun(result)} into clickers and "
                f"{_pct(lead.conversion_rate)} into converters")
    else:
        text = "No clicks are recorded for these units"
    if rich is not None:
        text += (f"; the {'most ' if len(g) > 1 else ''}revenue per {_unit_noun(result)} comes from {_n(rich.group)}: "
                 f"{_money(rich.revenue_per_unit, currency)} (between {rich.rpu_low:,.2f} and {rich.rpu_high:,.2f})")
    return text + "."


def omnibus_sentence(result: ChannelComparison) -> str:
    """The chi-square test across all groups, its effect size and the correction of the pairs."""
    om = result.omnibus
    return (f"Chi-square test of homogeneity across {len(result.groups)} groups: X² = {om['statistic']:,.1f} on "
            f"{om['dof']} degrees of freedom, {format_p(om['p_value'])}; Cramér's V = {om['cramers_v']:.3f} "
            f"(0 = no association, 1 = complete). Correction: {CORRECTION_NAMES[result.correction]}.")


def pairwise_caption(result: ChannelComparison) -> str:
    """Caption of the pairwise table: how many pairs, their order, what the detectable gap is."""
    return (f"Pairwise comparisons per {unit_text(result.unit)} ({len(result.pairwise)} pairs, smallest p-value "
            f"first; at most 50 shown; {_method(result.correction)} correction at alpha {result.alpha:g}). "
            "Detectable gap: the smallest true difference the test would catch with 80% power after the correction")


def pairwise_title(result: ChannelComparison) -> str:
    pw = result.pairwise
    n_sig = int(pw["significant"].sum()) if len(pw) else 0
    return f"{n_sig} of {len(pw)} differences per {_unit_noun(result)} are more than chance"


def pairwise_sentence(result: ChannelComparison, other: ChannelComparison | None = None) -> str:
    """How many pairs differ by more than chance (in both views), and what the others could have missed."""
    pw = result.pairwise
    if not len(pw):
        return "With one group there is no pair to test."
    n_sig = int(pw["significant"].sum())
    text = (f"All {len(pw)} differences per {_unit_noun(result)} are more than chance" if n_sig == len(pw) else
            f"{n_sig} of {len(pw)} differences per {_unit_noun(result)} are more than chance")
    if other is not None and len(other.pairwise):
        text += f"; per {_unit_noun(other)}, {int(other.pairwise['significant'].sum())} of {len(other.pairwise)}"
    ns = pw[~pw["significant"].astype(bool)]
    widest = pick(ns, "mde")
    if widest is not None:
        text += (f". The others could hide true gaps of up to {widest.mde * 100:.1f} points, so they show no clear "
                 "difference, not equality")
    return text + "."


def pairwise_skip_reason(result: ChannelComparison) -> str | None:
    """Why there are no pairwise tests (one group), or None."""
    return None if len(result.pairwise) else (
        f"only one {words(result.compare_by)} group has units, so there is no pair to compare")


def bayes_sentence(result: ChannelComparison) -> str:
    """The group most likely to be the best, and how likely."""
    best = pick(result.groups, "p_best")
    if best is None:
        return "No group has units."
    if len(result.groups) == 1:
        return f"{esc(best.group)} is the only group: there is no other to be better than."
    return (f"{esc(best.group)} is the best group with probability {_chance(best.p_best)}"
            + ("; no group is a clear winner (none above 90%)." if best.p_best < 0.9 else "."))


# --- lift, acquisition, cost ------------------------------------------------------------------


def lift_skip_text(result: ChannelComparison, hint: Mapping[str, str]) -> str | None:
    """Why the incremental-lift section cannot be shown (no control group, or nothing beside it), or None.

    ``hint`` (the control-like groups of the customers table) is worded by :func:`control_hint`.
    """
    if result.lift is None:
        return f"none of the compared {words(result.compare_by)} groups is a control group that got no message"
    if result.lift.empty:
        return f"the control group {result.control} is the only group with units: there is nothing to compare it with"
    return None


def control_hint(hint: Mapping[str, str]) -> str:
    """How to measure the lift the messages caused, in words, when the customers table marks a control group."""
    parts = [f"the customers table marks a control group (column {esc(k)}, group {esc(v)}): running this report "
             f"compared by {esc(k)}, with {esc(v)} as the control group and only the experiment's campaign, measures "
             "what the messages caused" for k, v in hint.items()]
    return ("To measure the causal lift: " + "; ".join(parts) + ".") if parts else ""


def lift_caption(result: ChannelComparison) -> str:
    """Caption of the lift table."""
    return f"Lift over {result.control} (causal when groups were assigned at random)"


def lift_title(result: ChannelComparison) -> str:
    top = pick(result.lift, "lift")
    if top is None:
        return f"Lift over {chart_label(words(result.control))}"
    return (f"{chart_label(words(top.group))} adds {top.lift * 100:.1f} points of {words(result.outcome)} over "
            f"{chart_label(words(result.control))}")


def lift_sentence(result: ChannelComparison) -> str:
    lift = result.lift
    top = pick(lift, "lift")
    if top is None:
        return f"No group has a lift over {_n(result.control)}."
    n_sig = int(lift["significant"].sum()) if "significant" in lift.columns else 0
    return (f"{_n(top.group)} lifts the {words(result.outcome)} rate by {_pts(top.lift)} over {_n(result.control)} "
            f"(between {_pts(top.lift_low)} and {_pts(top.lift_high)}), about {top.incremental:,.0f} extra "
            f"{_plural(result.outcome)}; {n_sig} of {len(lift)} groups beat the control by more than chance.")


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
    t, lo = chart_label(words(top.group)), chart_label(words(low.group))
    if len(value) == 1 or top.group == low.group:
        return f"Customers from {t} bring {top.revenue_per_customer_year:,.2f} per customer-year"
    if low.revenue_per_customer_year > 0:
        ratio = top.revenue_per_customer_year / low.revenue_per_customer_year
        return f"Customers from {t} are worth {ratio:.1f}× those from {lo} per year"
    return f"Customers from {t} bring the most per customer-year, those from {lo} the least"


def acquisition_sentence(value: pd.DataFrame, *, currency: str = "") -> str:
    """The most and the least valuable acquisition channel per customer-year, with their active rates."""
    top, low = best_and_worst(value, "revenue_per_customer_year")
    caveat = ("Acquisition channels are not randomised: they differ in who they bring, not only in what they do.")
    if top is None:
        return "No acquisition channel has a tenure to divide by yet. " + caveat
    if len(value) == 1 or top.group == low.group:
        return (f"All customers with an acquisition channel came through {_n(top.group)}: "
                f"{_money(top.revenue_per_customer_year, currency)} per customer-year, active rate "
                f"{_pct(top.active_rate)}; there is no other channel to compare with.")
    return (f"Per customer-year, {_n(top.group)} customers bring {_money(top.revenue_per_customer_year, currency)} "
            f"against {low.revenue_per_customer_year:,.2f} for {_n(low.group)}; "
            f"their active rates are {_pct(top.active_rate)} and {_pct(low.active_rate)}. " + caveat)


def unknown_costs_sentence(unknown: Iterable[Any]) -> str:
    """The cost keys that match no group, which are ignored."""
    return "Costs given for unknown groups (ignored): " + ", ".join(esc(u) for u in unknown)


def cost_skip_reason(costs: Mapping[Any, float] | None, result: ChannelComparison | None) -> str | None:
    """Why the cost section cannot be shown (no costs, or none for a compared group), or None."""
    if not costs:
        return ("no costs given: a spend per compared group or acquisition channel (for example 20,000 for email) "
                "adds cost per outcome and return on spend")
    if result is None or "spend" not in result.groups.columns:
        return "no compared group has a cost"
    return None


def cost_plain_reason(costs: Mapping[Any, float] | None) -> str:
    """:func:`cost_skip_reason` in words for the report's body."""
    return "no spend per channel was given" if not costs else "no spend was given for a compared group"


def cost_sentence(cost: pd.DataFrame, *, currency: str = "", has_control: bool = False) -> str:
    """The cheapest outcome among the groups with a cost."""
    cheap = pick(cost, "cost_per_outcome", largest=False)
    tail = ("cost per incremental outcome (over the control) is the figure to budget on." if has_control else
            "without a control group these are costs per attributed outcome, not per incremental one.")
    if cheap is None:
        return "No group with a cost has an outcome yet, so there is no cost per outcome; " + tail
    return f"The cheapest outcome comes from {_n(cheap.group)} at {_money(cheap.cost_per_outcome, currency)}; " + tail


# --- trends, limits, outputs ------------------------------------------------------------------


def trends_title(result: ChannelComparison) -> str:
    """Title of the trends chart: the group that leads most often (empty when no period has every group)."""
    tr = result.trends
    top = trend_top_group(tr)
    if top is None:
        return ""
    led, shared = trend_leader(tr, top)
    if not shared:
        return ""
    word = PERIOD_WORDS.get(result.period or "", "period")
    return (f"Per {word}, {chart_label(words(top))} converts best: the highest rate in {led} of the {shared} "
            f"{word}s when every group ran")


def trends_sentence(result: ChannelComparison, *, period: str | None = None,
                    other: ChannelComparison | None = None) -> str:
    """What the per-period rates show: who leads in the periods every group ran, and why it may differ from
    the whole-window leader per customer."""
    tr = result.trends
    word = PERIOD_WORDS.get(period or result.period or "", "period")
    if tr is None or tr.empty:
        return f"No {word} has units."
    text = (f"Rates are per {word} ({tr.period.nunique()} {word}s), so they are lower than the rates over the whole "
            "window above. ")
    top = trend_top_group(tr)
    led, shared = trend_leader(tr, top) if top is not None else (0, 0)
    if top is not None and len(result.groups) > 1:  # one group leads every period it has: nothing to say
        if shared:
            text += f"In the {shared} {word}s when every group had units, {_n(top)} has the highest rate in {led}. "
        else:
            text += f"No single {word} had units in every group. "
        pc, pm = _views(result, other)
        lead_c = _ranked(pc).iloc[0]["group"] if pc is not None and len(pc.groups) else None
        lead_m = _ranked(pm).iloc[0]["group"] if pm is not None and len(pm.groups) else None
        if result.unit == "customer" and lead_c is not None and lead_c != top:
            text += (f"Each {word} counts a customer once, so writing more often does not lift a {word}'s rate: "
                     + (f"the ranking follows the one per message ({_n(lead_m)} ahead), " if lead_m == top else "")
                     + f"while over the whole window {_n(lead_c)} converts more customers because it reaches them "
                     "more often. ")
    return text + f"A missing point means the group sent nothing that {word}."


def caveats(result: ChannelComparison) -> str:
    """What the data cannot say: the comparison's notes, then the limits of every channel comparison."""
    lines = [f"- {esc(n)}" for n in result.notes]
    g = result.groups
    if len(g) and not_tracked(g).any():
        no_open = ", ".join(_n(x) for x in g.loc[not_tracked(g), "group"])
        lines.append(f"- {no_open}: no opens recorded (not tracked there), so its open rate is not comparable.")
    lines += [f"- {c}" for c in CAVEATS]
    return "\n".join(lines)


def glossary() -> pd.DataFrame:
    """The report's terms and what they mean (for "Method and diagnostics")."""
    return pd.DataFrame(GLOSSARY, columns=["term", "meaning"])


def outputs_sentence(folder: str, files: Iterable[str] = ()) -> str:
    """The files written next to the report (only those that exist)."""
    names = sorted(files)
    listed = ", ".join(esc(n) for n in names) if names else "nothing"
    return f"Written in the folder <code>{esc(folder)}</code> next to this report: {listed}."
