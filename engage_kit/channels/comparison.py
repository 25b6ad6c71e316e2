"""The whole comparison: :func:`compare_channels` and the :class:`ChannelComparison` it returns.

The funnel per group with Wilson intervals and a bootstrap interval on revenue per unit,
the omnibus test, every pair corrected as one family, the Bayesian probability of being
best, the lift over a control group, cost figures and trends, from one set of counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..engine import cache
from ..errors import DataError, ParameterError, did_you_mean
from ..stats import Estimate, wilson_interval
from . import story, tables
from .costs import parse_costs, spend_for
from .counts import (
    EXPOSURE_EVENTS,
    PERIODS,
    as_table,
    campaign_list,
    check_options,
    counts_from,
    prepare,
    units_table,
)
from .intervals import bootstrap_revenue_per_unit
from .lift import control_lift
from .significance import bayes_best, omnibus_test, pairwise_tests
from .trends import trends_from


@dataclass
class ChannelComparison:
    """The result of :func:`compare_channels`.

    Attributes
    ----------
    groups : DataFrame
        One row per group: units, funnel counts and rates with Wilson intervals, conversions
        (outcome units), rate, revenue, revenue per unit with its bootstrap interval,
        posterior mean, credible interval, p_best (and p_beats_control), cost figures.
    omnibus : dict
        statistic, dof, p_value, cramers_v of the chi-square test across groups.
    pairwise : DataFrame
        Every pair, corrected as one family (see :func:`pairwise_tests`).
    lift : DataFrame or None
        Lift of each group over the control (see :func:`control_lift`).
    trends : DataFrame or None
        Rates by period (see :func:`group_trends`).
    notes : list of str
        What was left out and why.
    """

    compare_by: str
    outcome: str
    unit: str
    control: Any
    alpha: float
    correction: str
    mode: str
    groups: pd.DataFrame
    omnibus: dict[str, Any]
    pairwise: pd.DataFrame
    lift: pd.DataFrame | None = None
    trends: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    period: str | None = None
    campaign: list[str] | None = None

    def __repr__(self) -> str:
        sig = int(self.pairwise["significant"].sum()) if len(self.pairwise) else 0
        return (
            f"<ChannelComparison by {self.compare_by} ({self.unit}), outcome {self.outcome}: "
            f"{len(self.groups)} groups, omnibus p = {self.omnibus['p_value']:.3g}, "
            f"{sig} of {len(self.pairwise)} pairs differ ({self.correction}, alpha {self.alpha})>"
        )

    def rate(self, group: Any) -> Estimate:
        """The outcome rate of ``group`` with its Wilson interval."""
        row = self.groups.loc[self.groups["group"] == group].iloc[0]
        return Estimate(float(row.rate), float(row.rate_low), float(row.rate_high), int(row.units), "wilson")

    def revenue_per_unit(self, group: Any) -> Estimate:
        """Revenue per unit of ``group`` with its bootstrap interval."""
        row = self.groups.loc[self.groups["group"] == group].iloc[0]
        return Estimate(float(row.revenue_per_unit), float(row.rpu_low), float(row.rpu_high), int(row.units), "bootstrap")

    def to_results(self) -> dict[str, Any]:
        """The results.json payload (group names are raw keys, never split on dots)."""
        groups = {}
        for row in self.groups.itertuples(index=False):
            entry: dict[str, Any] = {
                "units": int(row.units),
                "conversions": int(row.conversions),
                "rate": self.rate(row.group).to_dict(),
                "revenue_per_unit": self.revenue_per_unit(row.group).to_dict(),
                "revenue": float(row.revenue),
                "p_best": float(row.p_best),
                "exposed": int(row.exposed),
                "opened": int(row.opened),
                "clicked": int(row.clicked),
                "converted": int(row.converted),
            }
            for share in ("open_rate", "click_rate", "conversion_rate"):  # funnel shares of the units, as quoted
                if share in self.groups.columns and pd.notna(getattr(row, share)):
                    entry[share] = float(getattr(row, share))
            for extra in ("spend", "cost_per_outcome", "return_on_spend"):
                if extra in self.groups.columns and pd.notna(getattr(row, extra)):
                    entry[extra] = float(getattr(row, extra))
            groups[str(row.group)] = entry
        pairs = [
            {
                "a": str(r.a), "b": str(r.b), "difference": float(r.difference),
                "difference_low": float(r.diff_low), "difference_high": float(r.diff_high),
                "relative_lift": float(r.relative_lift), "p_value": float(r.p_value),
                "p_adjusted": float(r.p_adjusted), "significant": bool(r.significant), "test": str(r.test),
                "mde": float(r.mde),
            }
            for r in self.pairwise.itertuples(index=False)
        ]
        out: dict[str, Any] = {
            "compare_by": self.compare_by,
            "outcome": self.outcome,
            "unit": self.unit,
            "control": None if self.control is None else str(self.control),
            "alpha": self.alpha,
            "correction": self.correction,
            "groups": groups,
            "units": int(self.groups["units"].sum()),  # every group's units added up (a unit may be in two groups)
            "omnibus": dict(self.omnibus),
            "pairwise": pairs,
            "significant_pairs": int(self.pairwise["significant"].sum()) if len(self.pairwise) else 0,
        }
        if self.lift is not None and len(self.lift):
            lift = {}
            for r in self.lift.itertuples(index=False):
                entry = Estimate(r.lift, r.lift_low, r.lift_high, int(r.units), "newcombe").to_dict()
                entry["relative"] = Estimate(r.relative_lift, r.relative_low, r.relative_high, int(r.units), "log").to_dict()
                entry["incremental"] = Estimate(r.incremental, r.incremental_low, r.incremental_high, int(r.units), "").to_dict()
                if hasattr(r, "p_adjusted"):
                    entry["p_adjusted"] = float(r.p_adjusted)
                    entry["significant"] = bool(r.significant)
                lift[str(r.group)] = entry
            out["lift"] = lift
        return out

    def groups_table(self) -> pd.DataFrame:
        """The per-group table exported as ``groups.csv`` (raw group values kept)."""
        cols = ["group", "units", "exposed", "opened", "clicked", "converted", "conversions", "rate", "rate_low",
                "rate_high", "open_rate", "click_rate", "conversion_rate", "revenue", "revenue_per_unit",
                "rpu_low", "rpu_high", "posterior_mean", "cred_low", "cred_high", "p_best", "p_beats_control",
                "spend", "cost_per_outcome", "return_on_spend"]
        return self.groups[[c for c in cols if c in self.groups.columns]].copy()

    def funnel_display(self, currency: str = "") -> pd.DataFrame:
        """The funnel per group as a reader sees it: headers in words, intervals as text,
        opens left blank where they are not tracked (clicks but no opens)."""
        return tables.funnel_frame(self, currency)

    def pairwise_display(self, max_rows: int = 50) -> pd.DataFrame:
        """The pairwise tests as a reader sees them, smallest p-value first: differences
        in percentage points, p-values as text, "yes"/"no" for significance."""
        return tables.pairwise_frame(self, max_rows)

    def summary(self, *, currency: str = "", other: ChannelComparison | None = None) -> list[str]:
        """Plain-language findings (Markdown, group names escaped); see :func:`engage_kit.channels.story.summarise`."""
        return story.summarise(self, currency=currency, other=other)


def compare_channels(
    touches: Any,
    customers: Any = None,
    *,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    control: Any = None,
    alpha: float = 0.05,
    correction: str = "holm",
    costs: Mapping[Any, float] | None = None,
    period: str | None = "M",
    campaign: str | Sequence[str] | None = None,
    exposure_events: Sequence[str] = EXPOSURE_EVENTS,
    n_boot: int = 2000,
    draws: int = 20_000,
    random_state: int = 0,
) -> ChannelComparison:
    """Compare the outcome rate of channels, campaigns or customer groups, with honest tests.

    Parameters
    ----------
    touches, customers : Ibis table or DataFrame
        Canonical touches; customers when ``compare_by`` is a customer attribute.
    compare_by, outcome, unit, campaign, exposure_events
        What is compared and counted (see :func:`group_counts`).
    control : optional
        The group that received nothing (e.g. ``"control"`` of an experiment's test_group);
        the lift of every other group over it is reported.
    alpha : float
        Significance level of the family of pairwise tests (default 0.05).
    correction : {"holm", "fdr_bh"}
        Multiple-comparison correction of all pairs as one family.
    costs : mapping, optional
        Spend per group (currency of the data): cost per outcome and return on spend.
    period : {"W", "M", "Q"} or None
        Period of the trends; None skips them.
    n_boot, draws, random_state
        Bootstrap resamples, posterior draws and their seed.

    Returns
    -------
    ChannelComparison
    """
    check_options(unit=unit, alpha=alpha, correction=correction)
    if period is not None and period not in PERIODS:
        raise ParameterError(f"period must be one of W, M, Q (or None); got '{period}'")
    prep = prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    units, outcome_only = units_table(prep, exposure_events)
    units = cache(units)
    gc = counts_from(prep, units, outcome_only, compare_by=compare_by, exposure_events=exposure_events)
    counts = gc.counts.copy()
    labels = list(counts["group"])
    if control is not None and control not in labels:
        raise ParameterError(
            f"control='{control}' is not a group of {compare_by}{did_you_mean(str(control), map(str, labels))}; "
            f"the groups are: {', '.join(map(str, labels))}"
        )
    # order: best rate first, the control last
    counts["rate"] = counts["conversions"] / counts["units"]
    counts["_ctl"] = counts["group"] == control if control is not None else False
    counts = counts.sort_values(["_ctl", "rate", "units"], ascending=[True, False, False], kind="stable")
    counts = counts.drop(columns="_ctl").reset_index(drop=True)
    labels = list(counts["group"])
    k, n = counts["conversions"].to_numpy(), counts["units"].to_numpy()
    counts["rate_low"], counts["rate_high"] = wilson_interval(k, n)
    for stage, col in [("opened", "open_rate"), ("clicked", "click_rate"), ("converted", "conversion_rate"),
                       ("exposed", "exposed_rate")]:
        counts[col] = counts[stage] / counts["units"]
    rpu = []
    for i, g in enumerate(labels):
        rv = gc.revenue_values[gc.revenue_values["group"] == g]
        rpu.append(bootstrap_revenue_per_unit(rv["revenue"], rv["units"], int(n[i]), n_boot=n_boot,
                                              random_state=random_state + i))
    counts["revenue_per_unit"] = [e.value for e in rpu]
    counts["rpu_low"] = [e.low for e in rpu]
    counts["rpu_high"] = [e.high for e in rpu]
    bayes = bayes_best(k, n, names=labels, control=control, draws=draws, random_state=random_state)
    counts = counts.merge(bayes, on="group", how="left")
    pw = pairwise_tests(k, n, names=labels, alpha=alpha, correction=correction)
    lift = control_lift(k, n, names=labels, control=control, pairwise=pw) if control is not None else None
    notes = list(gc.notes)
    costs = parse_costs(costs)
    if costs:
        spend = spend_for(counts["group"], costs)
        if spend.notna().any():
            counts["spend"] = spend
            with np.errstate(invalid="ignore", divide="ignore"):
                counts["cost_per_outcome"] = spend / counts["conversions"].replace(0, np.nan)
                counts["return_on_spend"] = counts["revenue"] / spend
    trends = None
    if period is not None:
        trends = trends_from(prep, units, period=period, exposure_events=exposure_events)
    return ChannelComparison(
        compare_by=compare_by, outcome=gc.outcome, unit=unit, control=control, alpha=float(alpha),
        correction=correction, mode=gc.mode, groups=counts, omnibus=omnibus_test(k, n), pairwise=pw,
        lift=lift, trends=trends, notes=notes, period=period, campaign=campaign_list(campaign),
    )


def compare_other_unit(
    touches: Any, customers: Any, result: ChannelComparison
) -> tuple[ChannelComparison | None, str | None]:
    """The same comparison counted per the other unit (customer ⇄ customer-campaign pair).

    Returns ``(comparison, None)``, or ``(None, reason)`` when the view does not apply
    (comparing by a customer attribute) or has no units (e.g. touches without campaign ids).
    """
    if result.mode != "touches":
        return None, story.OTHER_UNIT_NEEDS_TOUCHES
    other_unit = "customer_campaign" if result.unit == "customer" else "customer"
    if other_unit == "customer_campaign":
        t = as_table(touches, "touches")
        if "campaign_id" not in t.columns or int(t.filter(t.campaign_id.notnull()).count().execute()) == 0:
            return None, story.NO_CAMPAIGN_PAIRS
    try:
        other = compare_channels(touches, customers, compare_by=result.compare_by, outcome=result.outcome,
                                 unit=other_unit, alpha=result.alpha, correction=result.correction, period=None,
                                 campaign=result.campaign)
    except DataError as e:
        return None, story.no_units_reason(other_unit, e)
    if other.groups.empty:
        return None, story.no_units_reason(other_unit)
    return other, None


def cost_table(result: ChannelComparison) -> pd.DataFrame | None:
    """Spend, conversions, cost per outcome, revenue and return on spend of the groups with a cost.

    With a control group, the incremental outcomes of each group (see :func:`control_lift`)
    and the cost per incremental outcome = spend / incremental (blank unless positive).
    None when no group has a cost.
    """
    g = result.groups
    if "spend" not in g.columns:
        return None
    cost = g.loc[g.spend.notna(), ["group", "spend", "conversions", "cost_per_outcome", "revenue", "return_on_spend"]]
    if result.lift is not None:
        cost = cost.merge(result.lift[["group", "incremental"]], on="group", how="left")
        cost["cost_per_incremental"] = cost.spend / cost.incremental.where(cost.incremental > 0)
    return cost
