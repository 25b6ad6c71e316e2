"""The channel comparison report's analysis, as one call.

:func:`analyse` compares the groups (:func:`~engage_kit.channels.compare_channels`),
counts them per the other unit, values the acquisition channels and sets costs against
outcomes. The notebook only calls it, draws with :mod:`~engage_kit.channels.charts` and
words with :mod:`~engage_kit.channels.story`; :meth:`ChannelAnalysis.results` gives the
figures of ``channel_comparison/results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import story, tables
from .acquisition import acquisition_or_reason
from .comparison import ChannelComparison, compare_channels, compare_other_unit, cost_table
from .costs import check_costs, parse_costs
from .lift import lift_skip_reason


@dataclass
class ChannelAnalysis:
    """Everything the channel comparison report shows (see :func:`analyse`).

    Attributes
    ----------
    result : ChannelComparison or None
        The comparison; None without a touches table.
    other, other_reason
        The same comparison per the other unit, or None and why not.
    acquisition, acquisition_reason
        Value by acquisition channel (:func:`acquisition_value`), or None and why not.
    cost : DataFrame or None
        Cost per outcome of the groups with a cost (:func:`cost_table`).
    """

    compare_by: str
    outcome: str
    period: str | None
    currency: str
    active_definition: str
    costs: dict[Any, float] | None
    customers: Any
    result: ChannelComparison | None
    other: ChannelComparison | None
    other_reason: str | None
    acquisition: pd.DataFrame | None
    acquisition_reason: str | None
    cost: pd.DataFrame | None

    def unknown_costs(self) -> list[str]:
        """The cost keys that match neither a compared group nor an acquisition channel (see :func:`check_costs`).

        Raises a ParameterError when no key matches.
        """
        return check_costs(self.costs, self.result.groups.group if self.result is not None else [], self.acquisition.group)

    def lift_skip_reason(self) -> str | None:
        """Why the incremental-lift section cannot be shown, or None."""
        if self.result is None:
            return story.NO_TOUCHES_SHORT
        return lift_skip_reason(self.result, self.customers)

    def unit_views_skip_reason(self) -> str | None:
        """Why the per-customer and per-message views cannot be shown side by side, or None."""
        if self.result is None:
            return story.NO_TOUCHES_SHORT
        return self.other_reason if self.other is None else None

    def cost_skip_reason(self) -> str | None:
        """Why the cost section cannot be shown, or None."""
        return story.cost_skip_reason(self.costs, self.result)

    def trends_skip_reason(self) -> str | None:
        """Why the trends section cannot be shown, or None."""
        r = self.result
        return story.NO_PERIODS if r is None or r.trends is None or r.trends.empty else None

    # the report's tables: keyword arguments of ``nb.table``

    def funnel_table(self) -> dict[str, Any]:
        """The funnel per group."""
        r = self.result
        return dict(df=r.funnel_display(self.currency), percent=[f"{r.outcome} rate"],
                    integer=["units", "exposed", "opened", "clicked", "converted"], caption=story.funnel_caption(r))

    def pairwise_table(self) -> dict[str, Any]:
        """Every pair's test, smallest p-value first."""
        r = self.result
        return dict(df=r.pairwise_display(), percent=["rate a", "rate b", "relative lift"],
                    caption=story.pairwise_caption(r))

    def posterior_table(self) -> dict[str, Any]:
        """Each group's posterior rate and chance of being best."""
        post = tables.posterior_frame(self.result)
        return dict(df=post, percent=[c for c in post.columns if c not in ("group", "units", "conversions")],
                    integer=["units", "conversions"], caption=story.POSTERIOR_CAPTION)

    def lift_table(self) -> dict[str, Any]:
        """The lift of each group over the control."""
        return dict(df=tables.lift_frame(self.result),
                    percent=["rate", "control_rate", "lift", "lift_low", "lift_high", "relative_lift", "relative_low",
                             "relative_high"],
                    integer=["units"], decimals=1, caption=story.lift_caption(self.result))

    def unit_views_table(self) -> dict[str, Any]:
        """The groups per customer and per customer-campaign pair side by side."""
        both = tables.unit_views(self.result, self.other)
        return dict(df=both, percent=[c for c in both.columns if c.startswith("rate")],
                    integer=[c for c in both.columns[1:] if not c.startswith("rate")], caption=story.UNIT_VIEWS_CAPTION)

    def acquisition_table(self) -> dict[str, Any]:
        """Retention and historic value by acquisition channel."""
        shown = tables.acquisition_display(self.acquisition, self.currency)
        return dict(df=shown, percent=["repeat rate", "active rate"], integer=["customers", shown.columns[6]],
                    caption=story.acquisition_caption(self.active_definition))

    def cost_table(self) -> dict[str, Any]:
        """Cost per outcome and return on spend of the groups with a cost."""
        return dict(df=self.cost, money=["spend", "cost_per_outcome", "revenue", "cost_per_incremental"],
                    integer=["conversions"], decimals=1, currency=self.currency, caption=story.COST_CAPTION)

    # outputs

    def results(self) -> dict[str, Any]:
        """The results.json payload: the comparison (:meth:`ChannelComparison.to_results`) and acquisition."""
        r = self.result
        out = r.to_results() if r is not None else {"compare_by": self.compare_by, "outcome": self.outcome, "groups": {}}
        if self.acquisition is not None:
            out["acquisition"] = {str(a.group): {"customers": int(a.customers), "active_rate": a.active_rate,
                                                 "revenue_per_customer": a.revenue_per_customer,
                                                 "revenue_per_customer_year": a.revenue_per_customer_year}
                                  for a in self.acquisition.itertuples()}
        return out

    def export(self, ctx: Any) -> None:
        """Write the CSV exports (groups, pairwise, trends, acquisition) with ``ctx.export``."""
        r = self.result
        if r is not None:
            ctx.export(r.groups_table(), "groups.csv")
            ctx.export(r.pairwise, "pairwise.csv")
            if r.trends is not None:
                ctx.export(r.trends, "trends.csv")
        if self.acquisition is not None:
            ctx.export(self.acquisition, "acquisition.csv")


def analyse(
    ds: Any,
    *,
    active: Any,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    control: Any = None,
    campaign: Any = None,
    alpha: float = 0.05,
    correction: str = "holm",
    costs: Any = None,
    period: str | None = None,
    currency: str = "",
) -> ChannelAnalysis:
    """The whole channel comparison of a dataset, as the report shows it.

    Parameters
    ----------
    ds : Dataset
        The opened dataset (touches, customers and transactions are read when present).
    active : ActiveWindow
        The report's activity window (its days set the active rate by acquisition channel).
    compare_by, outcome, unit, control, campaign, alpha, correction
        See :func:`compare_channels`.
    costs : mapping or text, optional
        Spend per group or acquisition channel (see :func:`parse_costs`).
    period : {"W", "M", "Q"} or None
        Period of the trends; None: the config's.
    currency : str
        Currency of the data, for the tables.

    Returns
    -------
    ChannelAnalysis
    """
    period = period or ds.config.period
    costs = parse_costs(costs)
    customers = ds["customers"] if ds.has("customers") else None
    result = other = other_reason = None
    if ds.has("touches"):
        result = compare_channels(ds["touches"], customers, compare_by=compare_by, outcome=outcome, unit=unit,
                                  control=control, alpha=alpha, correction=correction, costs=costs,
                                  period=period, campaign=campaign)
        other, other_reason = compare_other_unit(ds["touches"], customers, result)
    acq, acq_reason = acquisition_or_reason(ds["transactions"], customers, as_of=ds.as_of, active_days=active.days,
                                            costs=costs)
    cost = cost_table(result) if costs and result is not None else None
    return ChannelAnalysis(
        compare_by=compare_by, outcome=outcome, period=period, currency=currency,
        active_definition=active.definition, costs=costs, customers=customers, result=result, other=other,
        other_reason=other_reason, acquisition=acq, acquisition_reason=acq_reason, cost=cost,
    )
