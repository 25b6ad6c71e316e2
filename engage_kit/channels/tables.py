"""The report's tables as a reader sees them: headers in words, intervals as text.

Each function takes computed frames and only renames, selects and formats; the numbers
stay as they are (percentages and money are formatted by ``nb.table``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..text import words
from .picks import not_tracked

if TYPE_CHECKING:
    from .comparison import ChannelComparison

POSTERIOR_HEADERS = {"posterior_mean": "posterior rate", "cred_low": "95% low", "cred_high": "95% high",
                     "p_best": "chance of being best", "p_beats_control": "chance of beating control"}
LIFT_COLUMNS = ["group", "units", "rate", "control_rate", "lift", "lift_low", "lift_high", "relative_lift", "relative_low",
                "relative_high", "incremental", "significant"]




def unit_noun(unit: str) -> str:
    """What a unit is called in the report: a customer, or a message (one campaign to one customer)."""
    return "message" if unit == "customer_campaign" else "customer"


def interval_text(low: Iterable[float], high: Iterable[float], spec: str) -> list[str]:
    """Intervals as text, "low to high", each end formatted with ``spec`` (e.g. ``".1%"``)."""
    return [f"{lo:{spec}} to {hi:{spec}}" for lo, hi in zip(low, high, strict=True)]


def funnel_frame(result: ChannelComparison, currency: str = "") -> pd.DataFrame:
    """The funnel per group as a reader sees it: headers in words, intervals as text,
    opens left blank where they are not tracked (clicks but no opens)."""
    g = result.groups
    cur = f" ({currency})" if currency else ""
    opened = g["opened"].astype("float64").where(~not_tracked(g))
    return pd.DataFrame({
        words(result.compare_by): [words(x) for x in g["group"]],
        "units": g["units"].to_numpy(),
        "exposed": g["exposed"].to_numpy(),
        "opened": opened.to_numpy(),
        "clicked": g["clicked"].to_numpy(),
        "converted": g["conversions"].to_numpy(),
        f"{result.outcome} rate": g["rate"].to_numpy(),
        "95% interval": interval_text(g["rate_low"], g["rate_high"], ".1%"),
        f"revenue{cur}": g["revenue"].to_numpy(),
        f"revenue per unit{cur}": g["revenue_per_unit"].to_numpy(),
        "95% interval ": interval_text(g["rpu_low"], g["rpu_high"], ",.2f"),
    })


def pairwise_frame(result: ChannelComparison, max_rows: int = 50) -> pd.DataFrame:
    """The pairwise tests as a reader sees them, smallest p-value first: differences
    in percentage points, p-values as text, "yes"/"no" for significance."""
    pw = result.pairwise.sort_values("p_value", kind="stable").head(max_rows)

    def p_text(p: float) -> str:
        return "< 0.001" if p < 0.001 else f"{p:.3f}"

    return pd.DataFrame({
        "a": pw["a"].to_numpy(), "b": pw["b"].to_numpy(),
        "rate a": pw["rate_a"].to_numpy(), "rate b": pw["rate_b"].to_numpy(),
        "difference (pts)": pw["difference"].to_numpy() * 100,
        "95% interval (pts)": interval_text(pw["diff_low"] * 100, pw["diff_high"] * 100, "+.2f"),
        "relative lift": pw["relative_lift"].to_numpy(),
        "p-value": [p_text(p) for p in pw["p_value"]],
        "p adjusted": [p_text(p) for p in pw["p_adjusted"]],
        "real difference": np.where(pw["significant"], "yes", "no"),
        "test": pw["test"].to_numpy(),
        "detectable gap (pts)": pw["mde"].to_numpy() * 100,
    })


def acquisition_display(value: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`acquisition_value` as a reader sees it: headers in words, intervals as text,
    money in whole units with the currency in the header."""
    cur = f" ({currency})" if currency else ""
    out = pd.DataFrame({
        "acquisition channel": [words(x) for x in value["group"]],
        "customers": value["customers"].to_numpy(),
        "repeat rate": value["repeat_rate"].to_numpy(),
        "95% interval": interval_text(value["repeat_low"], value["repeat_high"], ".1%"),
        "active rate": value["active_rate"].to_numpy(),
        "95% interval ": interval_text(value["active_low"], value["active_high"], ".1%"),
        f"net revenue{cur}": value["revenue"].to_numpy().round(),
        f"per customer{cur}": value["revenue_per_customer"].to_numpy(),
        "95% interval  ": interval_text(value["rpc_low"], value["rpc_high"], ",.2f"),
        f"per customer-year{cur}": value["revenue_per_customer_year"].to_numpy(),
    })
    for col, name in (("spend", "spend"), ("cost_per_acquisition", "cost per acquisition"),
                      ("return_on_spend", "return on spend")):
        if col in value.columns:
            out[name + (cur if col != "return_on_spend" else "")] = value[col].to_numpy()
    return out


def unit_views(result: ChannelComparison, other: ChannelComparison | None) -> pd.DataFrame:
    """The groups counted per ``result.unit`` and per ``other.unit`` side by side (headers in words)."""
    if other is None:
        return pd.DataFrame(columns=["group"])
    a, b = unit_noun(result.unit), unit_noun(other.unit)
    both = result.groups[["group", "units", "rate"]].merge(
        other.groups[["group", "units", "rate"]], on="group", suffixes=("_a", "_b"))
    both.columns = ["group", f"{a}s", f"rate per {a}", f"{b}s", f"rate per {b}"]
    both["group"] = [words(x) for x in both["group"]]
    return both


def posterior_frame(result: ChannelComparison) -> pd.DataFrame:
    """Each group's posterior rate, credible interval and chance of being best (and of beating the control)."""
    g = result.groups
    cols = ["group", "units", "conversions", "posterior_mean", "cred_low", "cred_high", "p_best"]
    cols += ["p_beats_control"] if "p_beats_control" in g.columns else []
    return g[cols].rename(columns=POSTERIOR_HEADERS)


LIFT_HEADERS = {"group": "group", "units": "units", "rate": "rate", "control_rate": "control rate",
                "lift": "lift (points)", "lift_low": "95% low", "lift_high": "95% high",
                "relative_lift": "relative lift", "relative_low": "95% low ", "relative_high": "95% high ",
                "incremental": "extra outcomes", "significant": "more than chance"}


def lift_frame(result: ChannelComparison) -> pd.DataFrame:
    """The lift of each group over the control: rates, lift (in points), relative lift, incremental
    outcomes and whether it is more than chance, headers in words."""
    cols = [c for c in LIFT_COLUMNS if c in result.lift.columns]
    out = result.lift[cols].copy()
    for c in ("lift", "lift_low", "lift_high"):
        out[c] = out[c] * 100
    if "significant" in out.columns:
        out["significant"] = np.where(out["significant"].astype(bool), "yes", "no")
    out["group"] = [words(x) for x in out["group"]]
    return out.rename(columns=LIFT_HEADERS)
