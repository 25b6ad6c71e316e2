"""Every sentence, title, card and caption of the customer engagement report: numbers in,
plain words out. Data values (segment names) are escaped with :func:`engage_kit.text.esc`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..stats import Estimate
from ..text import esc, pct
from .components import COMPONENTS
from .movement import NEW, moved
from .scoring import LEVELS

SECTION_TITLES = {
    "now": "How engaged customers are now",
    "predicts": "Does the score predict buying?",
    "movement": "Who moved between levels",
    "drivers": "What sets each level apart",
    "segments": "Engagement by segment",
}
LEVEL_WORDS = {"low": "low", "medium": "medium", "high": "high"}
LEVEL_PEOPLE = {"low": "Low-engagement customers", "medium": "Medium-engagement customers",
                "high": "Highly engaged customers"}
BEFORE_WORDS = {NEW: "new since then", "low": "low", "medium": "medium", "high": "high"}


def day(d: Any) -> str:
    """A date in words: 31 December 2024."""
    t = pd.Timestamp(d)
    return f"{t.day} {t:%B %Y}"


def label(component: str) -> str:
    return COMPONENTS[component].label if component in COMPONENTS else component.replace("_", " ")


# --- findings ------------------------------------------------------------------------


def findings(a: Any) -> list[str]:
    """The 3-5 findings of "What we found" (Markdown)."""
    if a.why:
        return [not_applicable_sentence(a.why)]
    out = [mix_finding(a), validation_finding(a)]
    out.append(movement_finding(a))
    d = drivers_finding(a)
    if d:
        out.append(d)
    top = sorted(((w, c) for c, w in a.weights.items() if w > 0), reverse=True)[:3]
    if top and len(out) < 5:
        how = "learned from who bought again" if a.weights_mode == "learned" else (
            "the same for every signal" if a.weights_mode == "equal" else "as given")
        out.append(f"What counts most in the score ({how}): "
                   + ", ".join(f"{label(c)} ({pct(w, 0)})" for w, c in top) + ".")
    return out[:5]


def mix_finding(a: Any) -> str:
    c = a.counts.set_index("level")
    return (f"**{pct(c.at['high', 'share'])}** of the {a.customers:,} customers are highly engaged, "
            f"{pct(c.at['medium', 'share'])} medium and {pct(c.at['low', 'share'])} low, on {day(a.as_of)} "
            f"(their signals over the last {a.window_days} days).")


def validation_finding(a: Any) -> str:
    v = a.validation
    rates = v.get("level_rates") or {}
    hi, lo = rates.get("high"), rates.get("low")
    if v.get("reason") or hi is None or lo is None or not hi.n or not lo.n:
        return (f"Whether the score predicts buying could not be checked: {esc(v.get('reason') or 'too few customers')}. "
                "Treat the levels as a description, not a forecast.")
    first = (f"The score predicts buying: of the customers scored highly engaged on {day(a.cutoff)}, "
             f"**{pct(hi.value)}** bought in the next {a.horizon_days} days, against {pct(lo.value)} of the low ones.")
    if hi.value <= lo.value:
        first = (f"The levels do not predict buying: of the customers scored highly engaged on {day(a.cutoff)}, "
                 f"{pct(hi.value)} bought in the next {a.horizon_days} days, against {pct(lo.value)} of the low ones.")
    return first + " " + recency_comparison(a)


def recency_comparison(a: Any) -> str:
    v = a.validation
    s, r, d = v.get("score"), v.get("recency"), v.get("versus_recency")
    if not isinstance(s, Estimate) or not isinstance(r, Estimate):
        return ""
    digits = 2 if f"{s.value:.2f}" != f"{r.value:.2f}" else 3  # never "0.83 against 0.83"
    both = f"score {s.value:.{digits}f} against {r.value:.{digits}f}"
    if isinstance(d, Estimate) and np.isfinite(d.low) and d.low > 0:
        how = "only slightly better" if d.value < 0.02 else "better"
        return (f"It sorts later buyers ahead {how} than days since the last purchase alone "
                f"({both} on a scale where 0.5 is chance and 1 is perfect).")
    return (f"It is not better than days since the last purchase alone ({both}, where 0.5 is chance): "
            "for targeting, recency alone does as well.")


def movement_finding(a: Any) -> str:
    down, up = a.moved_down(), moved(a.transitions, "up")
    return (f"**{down:,}** customers fell a level since {day(a.previous_end)} and {up:,} rose; the ones who fell "
            "are the first to win back, before they drop out altogether.")


def driver_sentence(row: Any, *, first: bool = True) -> str:
    """"Highly engaged customers open 3.4× more e-mails than the average customer" (no full stop)."""
    c = COMPONENTS[row["component"]]
    r = float(row["ratio"])
    who = LEVEL_PEOPLE[row["level"]]
    who = who if first else who[0].lower() + who[1:]
    if not 0.1 <= r <= 10:  # "1,616.8× less" says less than the two averages themselves
        return (f"{who} stand out most on {c.label}: {float(row['level_mean']):,.1f} on average against "
                f"{float(row['all_mean']):,.1f} for the average customer")
    phrase = c.more.format(x=f"{r:.1f}") if r >= 1 else c.fewer.format(x=f"{1 / r:.1f}")
    return f"{who} {phrase} than the average customer"


def drivers_finding(a: Any) -> str | None:
    d = a.drivers
    if d is None or d.empty:
        return None
    rows = d[d["level"].isin(["high", "low"])].iloc[::-1]
    parts = [driver_sentence(r, first=i == 0) for i, (_, r) in enumerate(rows.iterrows())]
    return "; ".join(parts) + "." if parts else None


def not_applicable_sentence(why: str) -> str:
    return f"No engagement score for this data: {esc(why)}."


# --- cards, sections ------------------------------------------------------------------


def summary_cards(a: Any) -> list[dict[str, Any]]:
    c = a.counts.set_index("level")
    cards = [{"label": "Customers scored", "value": f"{a.customers:,}", "detail": f"on {day(a.as_of)}"}]
    for lv in reversed(LEVELS):
        cards.append({"label": f"{LEVEL_WORDS[lv].capitalize()} engagement", "value": pct(c.at[lv, 'share']),
                      "detail": f"{int(c.at[lv, 'customers']):,} customers"})
    cards.append({"label": "Fell a level", "value": f"{a.moved_down():,}", "detail": f"since {day(a.previous_end)}"})
    return cards


def intro(a: Any) -> str:
    comps = ", ".join(label(c) for c in a.components)
    return (f"Each customer gets a score from 0 to 100: how they rank against the other customers on {comps}, "
            f"over the {a.window_days} days up to {day(a.as_of)}, weighted by how much each signal told who bought "
            f"again. Below {a.cuts[0]:g} is low, from {a.cuts[1]:g} high, in between medium.")


def left_out_sentence(a: Any) -> str | None:
    if not a.left_out:
        return None
    return "Signals not in the score, for want of data: " + "; ".join(
        f"{label(k)} ({esc(r)})" for k, r in a.left_out.items()) + "."


def now_sentence(a: Any) -> str:
    c = a.counts.set_index("level")
    return (f"{int(c.at['high', 'customers']):,} customers are highly engaged, {int(c.at['medium', 'customers']):,} "
            f"medium and {int(c.at['low', 'customers']):,} low.")


def levels_table(a: Any) -> pd.DataFrame:
    rates = a.validation.get("level_rates") or {}
    rows = []
    for _, r in a.counts.iterrows():
        e = rates.get(r["level"])
        ok = e is not None and e.n > 0
        rows.append({"level": r["level"], "customers now": int(r["customers"]), "share now": float(r["share"]),
                     f"bought within {a.horizon_days} days of the check date": e.value if ok else np.nan,
                     "from": e.low if ok else np.nan, "to": e.high if ok else np.nan})
    return pd.DataFrame(rows)


def predicts_intro(a: Any) -> str:
    return (f"To check the score, it was computed as it would have been on {day(a.cutoff)} and set against who "
            f"actually bought in the {a.horizon_days} days that followed.")


def trend_sentence(a: Any) -> str:
    t = a.validation.get("trend") or {}
    if t.get("rises"):
        return "The share who bought rises step by step from low to medium to high, beyond what chance would give."
    if t.get("z") is None or not np.isfinite(t.get("z", np.nan)):
        return "Whether buying rises from low to high could not be tested on these customers."
    return "The share who bought does not rise clearly from low to high: the levels tell little about who buys."


def transitions_table(a: Any) -> pd.DataFrame:
    t = a.transitions
    wide = t.pivot(index="before", columns="now", values="customers").reindex(index=[*LEVELS, NEW], columns=list(LEVELS))
    wide = wide.fillna(0).astype(int)
    wide.index = [f"{BEFORE_WORDS[i]}" for i in wide.index]
    wide.columns = [f"now {c}" for c in wide.columns]
    wide.insert(0, f"on {day(a.previous_end)}", wide.index)
    return wide.reset_index(drop=True)


def movement_sentence(a: Any) -> str:
    t = a.transitions
    hi = t[t["before"] == "high"]
    stay = hi.loc[hi["now"] == "high", "share"]
    stay_text = f"{pct(stay.iloc[0])} of the highly engaged customers stayed high" if len(stay) and np.isfinite(
        stay.iloc[0]) else "no customer was highly engaged then"
    new = int(t.loc[t["before"] == NEW, "customers"].sum())
    return (f"Since {day(a.previous_end)}: {stay_text}; {a.moved_down():,} customers fell a level and "
            f"{new:,} are new customers.")


def mix_sentence(a: Any) -> str:
    m = a.mix
    hi = m[m["level"] == "high"].sort_values("period_end")
    if len(hi) < 2:
        return "Only one period end is in the data, so there is no trend to show."
    first, last = hi.iloc[0], hi.iloc[-1]
    diff = 100 * (last["share"] - first["share"])
    way = "grew" if diff > 0.5 else ("shrank" if diff < -0.5 else "held steady")
    return (f"The highly engaged share {way}: {pct(first['share'])} on {day(first['period_end'])}, "
            f"{pct(last['share'])} on {day(last['period_end'])}.")


def mix_title(a: Any) -> str:
    hi = a.mix[a.mix["level"] == "high"].sort_values("period_end")
    if len(hi) < 2:
        return "Level mix at each period end"
    return (f"Highly engaged share: {pct(hi.iloc[0]['share'])} on {day(hi.iloc[0]['period_end'])}, "
            f"{pct(hi.iloc[-1]['share'])} now")


def drivers_sentences(a: Any) -> str:
    d = a.drivers
    if d is None or d.empty:
        return "No signal sets the levels apart in a way that can be put as a ratio."
    return " ".join(driver_sentence(r) + "." for _, r in d.iterrows())


def means_table(a: Any) -> pd.DataFrame:
    m = a.means
    rows = []
    for c in a.components:
        row = {"signal": label(c)}
        for lv in LEVELS:
            row[lv] = float(m.at[lv, c]) if lv in m.index else np.nan
        row["all customers"] = float(m.at["all", c])
        rows.append(row)
    return pd.DataFrame(rows)


MEANS_CAPTION = "Average of each signal per level (customers who could have it), over the scoring window"


def segment_title(segment: str) -> str:
    return f"Engagement by {esc(segment).replace('_', ' ')}"


def segments_table(a: Any) -> pd.DataFrame:
    s = a.segments
    return pd.DataFrame({"segment": s["segment"].astype(str), "customers": s["customers"].astype(int),
                         "high": s["high"], "medium": s["medium"], "low": s["low"],
                         "fell a level": s["moved_down"].astype(int)})


def segments_sentence(a: Any) -> str:
    s = a.segments
    if s is None or s.empty:
        return "No segment has customers."
    best = s.sort_values("high", ascending=False).iloc[0]
    worst = s.sort_values("high").iloc[0]
    return (f"{esc(best['segment'])} has the largest highly engaged share ({pct(best['high'])}), "
            f"{esc(worst['segment'])} the smallest ({pct(worst['high'])}).")


def not_covered(a: Any) -> dict[str, str | None]:
    v = a.validation
    return {
        SECTION_TITLES["predicts"]: v.get("reason") if v.get("reason") else None,
        SECTION_TITLES["segments"]: None if a.segment else "no split asked for",
    }


# --- appendix --------------------------------------------------------------------------

APPENDIX_INTRO = (
    "Components are percentile ranks (the SQL PERCENT_RANK: the share of eligible customers with a lower value, "
    "ties sharing the lowest rank) within the customers who could have each signal: every buyer for purchases, web, "
    "social, events and support; customers e-mailed in the window for e-mail; survey answerers for the NPS answer "
    "(+1 promoter, 0 passive, −1 detractor). The score is 100 × the weighted mean of a customer's ranks."
)


def weights_table(a: Any) -> pd.DataFrame:
    return pd.DataFrame({"signal": [label(c) for c in a.weights], "weight": list(a.weights.values())})


def weights_sentence(a: Any) -> str:
    v = a.validation
    if a.weights_mode == "learned":
        s = (f"Weights: a logistic regression (L2, C = 1) of bought in the {a.horizon_days} days after "
             f"{day(a.cutoff)} on the ranks on that day (ranks a customer cannot have set to 0.5), coefficients "
             "clipped at zero and scaled to sum to one.")
    elif a.weights_mode == "equal":
        s = "Weights: equal for every signal."
    else:
        s = "Weights: as given, scaled to sum to one."
    if v.get("out_of_time") and a.weights_mode == "learned":
        s += (f" The check on {day(a.cutoff)} uses weights learned the same way one horizon earlier, on "
              f"{day(v.get('weights_at'))}, so it is out of time.")
    return s


def auc_table(a: Any) -> pd.DataFrame:
    v = a.validation
    rows = []
    for key, name in (("score", "engagement score"), ("recency", "days since the last purchase alone"),
                      ("frequency", "purchases alone"), ("versus_recency", "score minus recency")):
        e = v.get(key)
        if isinstance(e, Estimate):
            rows.append({"ranking": name, "ROC-AUC": e.value, "from": e.low, "to": e.high, "customers": e.n})
    return pd.DataFrame(rows)


AUC_CAPTION = "ROC-AUC at the check date with 95% bootstrap intervals (500 draws over customers)"


def trend_method(a: Any) -> str:
    t = a.validation.get("trend") or {}
    z, p = t.get("z"), t.get("p_value")
    if z is None or not np.isfinite(z):
        return "Cochran–Armitage trend test across low, medium, high: not computable on these customers."
    return (f"Cochran–Armitage trend test across low, medium, high (scores 0, 1, 2): z = {z:.2f}, one-sided "
            f"p = {p:.3g}.")


def calibration_frame(a: Any) -> pd.DataFrame | None:
    c = a.validation.get("calibration")
    if c is None or c.empty:
        return None
    return c.rename(columns={"band": "score band", "predicted": "predicted chance", "observed": "bought",
                             "low": "from", "high": "to"})


CALIBRATION_CAPTION = "Calibration at the check date: the model's predicted chance against the share who bought"


def notes_sentence(a: Any) -> str | None:
    return " ".join(esc(n[0].upper() + n[1:]) + "." for n in a.notes) if a.notes else None


def export_sentence(filename: str) -> str:
    return (f"Every customer's score, level and signal ranks are in {esc(filename)} in the report's folder "
            "(real customer ids).")


GLOSSARY = pd.DataFrame(
    [
        ("percentile rank", "the share of comparable customers with a lower value: 0 lowest, 1 highest"),
        ("score", "100 × the weighted mean of a customer's ranks"),
        ("ROC-AUC", "the chance that a customer who bought is ranked above one who did not (0.5 chance, 1 perfect)"),
        ("Wilson interval", "the 95% range of a share given the number of customers behind it"),
        ("bootstrap", "re-drawing the customers at random many times to see how much a figure moves"),
    ],
    columns=["term", "meaning"],
)
