"""Every sentence, title, card and table of the customer-journey report, in plain words.

Numbers in, words out; data values (channel and source names) are escaped for HTML. The
appendix ("Method and diagnostics") is :func:`method_text` and :func:`test_table` at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..text import esc, pct
from .analysis import JourneyAnalysis
from .people import STAGES

STAGE_WORDS = {"lead": "first contact", "engaged": "engaged", "first_purchase": "first purchase",
               "repeat_purchase": "bought again", "advocate": "recommends us"}
METHOD_WORDS = {"first_touch": "First touch", "last_touch": "Last touch", "markov": "Whole path"}
SECTION_TITLES = {
    "funnel": "From first contact to purchase",
    "groups": "Which sources and channels bring buyers",
    "timing": "How long people take to buy",
    "paths": "Paths before the first purchase",
    "credit": "Which channels get the credit",
    "leads": "Leads",
}
INTRO = ("Every person the data knows, from their first contact (a lead, a sign-up, a touch or a visit) "
         "to their first purchase, a second purchase and a recommendation.")


def _n(x: Any) -> str:
    return f"{int(x):,}"


def words(name: Any) -> str:
    """A data value in words (``paid_search`` → ``paid search``), escaped by the caller where needed."""
    return str(name).replace("_", " ")


def stage(s: str) -> str:
    """A stage in words."""
    return STAGE_WORDS.get(s, str(s).replace("_", " "))


def biggest_drop(a: JourneyAnalysis) -> tuple[str, float] | None:
    """The step with the lowest conversion: (stage, conversion)."""
    f = a.funnel.iloc[1:4]
    f = f[np.isfinite(f["conversion"].astype(float))]
    if f.empty:
        return None
    r = f.loc[f["conversion"].astype(float).idxmin()]
    return str(r["stage"]), float(r["conversion"])


def findings(a: JourneyAnalysis) -> list[str]:
    """The report's opening: 3 to 5 findings in plain words."""
    f = a.funnel
    out = []
    total = a.total
    if total == 0:
        return ["The data holds nobody with a contact or a purchase up to the analysis date.",
                "No funnel, path or credit can be shown.", "Add transactions and leads or touches to see the journey."]
    buyers = int(f["people"].iloc[2])
    conv = f["conversion"].iloc[2]
    out.append(f"Of **{_n(total)}** people we know, **{_n(buyers)}** made a first purchase; of those who engaged, "
               f"**{pct(conv)}** went on to buy.")
    drop = biggest_drop(a)
    if drop:
        out.append(f"The biggest drop is before **{esc(stage(drop[0]))}**: only **{pct(drop[1])}** of the people at the "
                   "stage before reach it.")
    if a.leads is not None and len(a.leads.by_source) >= 1:
        bs = a.leads.by_source
        best, worst = bs.iloc[0], bs.iloc[-1]
        if len(bs) >= 2:
            out.append(f"Leads from **{esc(words(best['source']))}** become customers most often (**{pct(best['rate'])}**), "
                       f"leads from **{esc(words(worst['source']))}** least often (**{pct(worst['rate'])}**).")
        else:
            out.append(f"**{pct(a.leads.rate.value)}** of leads became customers.")
    if len(a.attribution):
        out.append(credit_sentence(a))
    m = a.to_repeat.median
    if m is not None and np.isfinite(m.value) and len(out) < 5:
        out.append(f"Half of first-time buyers buy again within **{m.value:.0f} days**.")
    while len(out) < 3:
        out.append(f"Repeat purchases reach **{_n(f['people'].iloc[3])}** people.")
    return out[:5]


def summary_cards(a: JourneyAnalysis) -> list[dict[str, Any]]:
    """Key-figure cards."""
    f = a.funnel
    cards = [{"label": "People", "value": _n(a.total), "detail": "with a contact or a purchase"},
             {"label": "First purchase", "value": _n(f["people"].iloc[2]),
              "detail": f"{pct(f['people'].iloc[2] / a.total if a.total else np.nan)} of everyone"}]
    if a.leads is not None and a.leads.rate.n:
        r = a.leads.rate
        cards.append({"label": "Leads who became customers", "value": pct(r.value),
                      "detail": f"{pct(r.low)} to {pct(r.high)}, {_n(r.n)} leads"})
    m = a.to_first.median
    cards.append({"label": "Days from first contact to purchase",
                  "value": f"{m.value:.0f}" if m is not None and np.isfinite(m.value) else "not reached",
                  "detail": "half have bought by then" if m is not None and np.isfinite(m.value)
                  else "fewer than half have bought so far"})
    return cards


def funnel_table(a: JourneyAnalysis) -> dict[str, Any]:
    """The funnel as a table (arguments of :func:`engage_kit.nb.table`)."""
    f = a.funnel
    df = pd.DataFrame({
        "Stage": [stage(s) for s in f["stage"]], "People": f["people"],
        "Share of the stage before": f["conversion"], "From": f["conversion_low"], "To": f["conversion_high"],
        "Got no further": np.where(np.arange(len(f)) < len(f) - 1, f["stopped"].astype(float), np.nan),
    })
    return {"df": df, "percent": ["Share of the stage before", "From", "To"], "integer": ["People", "Got no further"],
            "caption": "People at each stage (from and to: the 95% range of the share)"}


def describe_funnel(a: JourneyAnalysis) -> str:
    f = a.funnel
    stop = f.iloc[:-1]
    if a.total == 0 or stop["stopped"].sum() == 0:
        return "Nobody stopped before the last stage."
    r = stop.loc[stop["stopped"].idxmax()]
    return (f"Most people who stop do so at **{esc(stage(r['stage']))}**: **{_n(r['stopped'])}** people "
            f"(**{pct(r['stopped'] / a.total)}** of everyone) got no further.")


def group_sentence(pair: tuple[pd.DataFrame, pd.DataFrame] | None, what: str) -> str:
    """Which steps differ between the groups (lead sources or acquisition channels), in words."""
    if not pair or pair[1].empty:
        return f"There are not enough people per {what} to compare."
    ft, tests = pair
    differs = tests[tests["differs"]]
    if differs.empty:
        return f"No step of the funnel differs between the {what}s beyond what chance explains."
    s = str(differs.iloc[0]["stage"])
    part = ft[ft["stage"] == s].dropna(subset=["conversion"]).sort_values("conversion", ascending=False)
    hi, lo = part.iloc[0], part.iloc[-1]
    steps = ", ".join(esc(stage(x)) for x in differs["stage"])
    return (f"The {what}s differ beyond chance at: **{steps}**. At **{esc(stage(s))}**, "
            f"**{esc(words(hi['group']))}** reaches it most often (**{pct(hi['conversion'])}**), "
            f"**{esc(words(lo['group']))}** least often (**{pct(lo['conversion'])}**).")


def group_table(pair: tuple[pd.DataFrame, pd.DataFrame], what: str) -> dict[str, Any]:
    """People per group at each stage and the share that bought."""
    ft = pair[0]
    wide = ft.pivot(index="group", columns="stage", values="people")[list(STAGES)]
    wide.columns = [stage(c) for c in wide.columns]
    wide["Bought, share of first contacts"] = wide[stage("first_purchase")] / wide[stage("lead")]
    wide = wide.reset_index().rename(columns={"group": what.capitalize()})
    wide[what.capitalize()] = [words(g) for g in wide[what.capitalize()]]
    return {"df": wide, "percent": ["Bought, share of first contacts"],
            "integer": [stage(s) for s in STAGES], "caption": f"People at each stage by {what}"}


def describe_timing(a: JourneyAnalysis) -> str:
    t, r = a.to_first, a.to_repeat
    parts = []
    if t.reason:
        parts.append(f"Time to a first purchase cannot be shown: {esc(t.reason)}.")
    elif t.median is not None and np.isfinite(t.median.value):
        parts.append(f"Half of the people we knew before they bought made a first purchase within "
                     f"**{t.median.value:.0f} days** of the first contact.")
    else:
        parts.append(f"Fewer than half of the **{_n(t.people)}** people we knew before they bought have bought so far "
                     f"(**{_n(t.converted)}** have), so there is no typical time yet.")
    if r.median is not None and np.isfinite(r.median.value):
        parts.append(f"Half of first-time buyers bought again within **{r.median.value:.0f} days**.")
    elif not r.reason:
        parts.append("Fewer than half of first-time buyers have bought again so far.")
    return " ".join(parts)


def paths_table(a: JourneyAnalysis, top: int = 10) -> dict[str, Any]:
    """The most common paths with their conversion."""
    p = a.path_table.head(top)
    df = pd.DataFrame({"Channels before buying (or so far)": [words(x) for x in p["path"]], "People": p["people"],
                       "Bought": p["purchases"], "Share who bought": p["conversion_rate"]})
    return {"df": df, "percent": ["Share who bought"], "integer": ["People", "Bought"],
            "caption": "The most common paths (repeats of a channel shown once)"}


def describe_paths(a: JourneyAnalysis) -> str:
    if a.path_table.empty:
        return "Nobody has a touch before buying."
    top = a.path_table.iloc[0]
    out = (f"The most common path is **{esc(words(top['path']))}** (**{_n(top['people'])}** people, "
           f"**{pct(top['conversion_rate'])}** bought).")
    if len(a.leaving):
        lv = a.leaving.iloc[0]
        out += (f" Of those who have not bought, **{pct(lv['share'])}** last had a **{esc(words(lv['channel']))}** "
                "contact before they went quiet.")
    return out


def credit_sentence(a: JourneyAnalysis) -> str:
    """Where the three ways of giving credit disagree, in one sentence."""
    t = a.attribution
    if t.empty:
        return "No channel can be credited: nobody bought after a touch."
    top = {m: str(t.loc[t[m].astype(float).idxmax(), "channel"]) for m in METHOD_WORDS}
    gap = (t["last_touch"].astype(float) - t["markov"].astype(float)).abs()
    c = t.loc[gap.idxmax()]
    if len(set(top.values())) == 1 and gap.max() < 0.1:
        return f"All three ways of sharing out the purchases put **{esc(words(top['markov']))}** first."
    more = float(c["markov"]) < float(c["last_touch"])
    return (f"Last touch gives **{esc(words(c['channel']))}** **{pct(c['last_touch'])}** of the purchases; weighing "
            f"every step of the path gives it **{pct(c['markov'])}**: "
            + ("the channels earlier in the path do more than last touch shows." if more else
               f"{esc(words(c['channel']))} does more earlier in the path than last touch shows."))


def credit_table(a: JourneyAnalysis) -> dict[str, Any]:
    t = a.attribution
    df = pd.DataFrame({"Channel": [words(c) for c in t["channel"]], **{METHOD_WORDS[m]: t[m].astype(float) for m in METHOD_WORDS}})
    return {"df": df, "percent": list(METHOD_WORDS.values()), "caption": "Share of the purchases credited to each channel"}


def leads_table(a: JourneyAnalysis) -> dict[str, Any]:
    b = a.leads.by_source
    df = pd.DataFrame({"Source": [words(x) for x in b["source"]], "Leads": b["leads"], "Became customers": b["converted"],
                       "Share": b["rate"], "From": b["low"], "To": b["high"], "Median days to buy": b["median_days"]})
    return {"df": df, "percent": ["Share", "From", "To"], "integer": ["Leads", "Became customers"], "decimals": 0,
            "caption": "Leads by source (from and to: the 95% range of the share)"}


def describe_leads(a: JourneyAnalysis) -> str:
    lf = a.leads
    r = lf.rate
    out = (f"**{pct(r.value)}** of **{_n(r.n)}** leads became customers (between {pct(r.low)} and {pct(r.high)})")
    if np.isfinite(lf.median_days):
        out += f"; those who did took a median of **{lf.median_days:.0f} days**"
    out += "."
    if np.isfinite(lf.test_p):
        out += (" The sources differ beyond what chance explains." if lf.test_p < 0.05
                else " The differences between sources are within what chance explains.")
    if lf.already_customers:
        out += f" {_n(lf.already_customers)} leads were already customers and are not counted."
    return out


def describe_periods(a: JourneyAnalysis) -> str:
    p = a.periods
    if p.empty:
        return "No leads or form fills to count per period."
    return (f"From **{esc(p['period'].iloc[0])}** to **{esc(p['period'].iloc[-1])}**: **{_n(p['leads'].sum())}** leads "
            f"and **{_n(p['form_fills'].sum())}** form fills.")


def not_covered(a: JourneyAnalysis) -> dict[str, str | None]:
    return dict(a.reasons)


# --- the appendix ------------------------------------------------------------------------

METHOD = """**Stages.** A person is a customer id or an unconverted lead. First contact: the earliest lead, sign-up,
touch the person made (not sent or delivered messages) or web session, else the first purchase. Engaged: the first
click, reply, comment, event attendance or web session. First purchase: the first order with an amount of zero or more.
Repeat: the first purchase on a later day. Advocate: an NPS answer of 9 or 10 or a referral made, after a purchase.
Each person counts at every stage up to the furthest one reached (a skipped stage counts as passed).

**Intervals and tests.** Shares have Wilson 95% intervals. Groups (lead sources, acquisition channels with at least
the minimum group size) are compared at each step with a chi-square test of independence; the four steps' p-values are
corrected with Holm's method. Lead sources are compared with one chi-square test.

**Time to convert.** Kaplan–Meier curves in whole days; people who have not converted are censored at the analysis
date; Greenwood variance, log-log intervals; the median with the interval read off the band.

**Paths and credit.** Touches before the first purchase (all touches for people who have not bought), repeats of a
channel collapsed. First touch and last touch give each purchase to one channel. "Whole path" is the Markov model (first order,
Anderl et al. 2016) reads the paths as a chain start → channels → conversion or null; removing a channel sends its
incoming transitions to null; removal effect = 1 − P(conversion without it) / P(conversion); shares are the removal
effects divided by their sum. The Markov chain uses every step; the path table shows the last steps only."""


def test_table(a: JourneyAnalysis) -> dict[str, Any]:
    """The step tests by lead source and acquisition channel."""
    rows = []
    for what, pair in (("lead source", a.by_source), ("acquisition channel", a.by_channel)):
        if pair and not pair[1].empty:
            for r in pair[1].itertuples(index=False):
                rows.append({"Compared by": what, "Step to": stage(r.stage), "Groups": r.groups, "Chi-square": r.chi2,
                             "p-value": r.p_value, "Holm p-value": r.p_holm})
    df = pd.DataFrame(rows, columns=["Compared by", "Step to", "Groups", "Chi-square", "p-value", "Holm p-value"])
    return {"df": df, "decimals": 4, "caption": "Tests between groups at each step"}


def exports_sentence(output_dir: Any) -> str:
    return (f"Exports in {esc(str(output_dir))}: the journeys file (one row per person: stage dates, source, channel, "
            "path) and the paths file (every path with its people, purchases and share who bought).")
