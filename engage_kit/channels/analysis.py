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
from .counts import MissingOutcome, unit_text
from .lift import find_control_groups, lift_skip_reason


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
    result_reason: str | None = None  # why there is no comparison although there are touches

    @property
    def no_result(self) -> str:
        """Why there is no comparison, in plain words."""
        return self.result_reason or story.NO_TOUCHES_PLAIN

    @property
    def primary(self) -> ChannelComparison | None:
        """The comparison the report leads with: per message when there is a view per message, else the run's."""
        r, o = self.result, self.other
        return o if r is not None and r.unit == "customer" and o is not None else r

    @property
    def secondary(self) -> ChannelComparison | None:
        """The other view of :attr:`primary` (None when there is only one)."""
        return self.result if self.primary is not self.result else self.other

    def unknown_costs(self) -> list[str]:
        """The cost keys that match neither a compared group nor an acquisition channel (see :func:`check_costs`).

        Raises a ParameterError when no key matches.
        """
        acquired = self.acquisition.group if self.acquisition is not None else []
        return check_costs(self.costs, self.result.groups.group if self.result is not None else [], acquired)

    def lift_skip_reason(self) -> str | None:
        """Why the incremental-lift section cannot be shown, or None."""
        if self.result is None:
            return story.NO_TOUCHES_SHORT
        return lift_skip_reason(self.result, self.customers)

    def control_hint(self) -> str:
        """How to measure the causal lift when the customers table marks a control group ("" otherwise)."""
        if self.result is None or self.result.lift is not None or self.customers is None:
            return ""
        return story.control_hint(find_control_groups(self.customers))

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

    # what the report shows, and why not

    def title(self, section: str) -> str:
        """The heading of a section of the report's body (a key of ``story.TITLES``)."""
        word = story.PERIOD_WORDS.get(self.period or "", "period")
        if section == "rates" and self.other is None:
            return f"{tables.words(self.outcome).capitalize()} rates"
        if section == "funnel":
            return f"Funnel per {tables.words(self.compare_by)}"
        if section == "trends":
            return f"Rates by {word}"
        return story.TITLES[section]

    def intro(self, section: str) -> str:
        """The plain-words introduction of a section of the report's body."""
        return story.INTRO["rates_one" if section == "rates" and self.other is None else section]

    def reason(self, section: str) -> str | None:
        """Why a section of the report's body (a key of ``story.TITLES``) is not shown, in plain words, or None."""
        r = self.result
        if section == "acquisition":
            return None if self.acquisition is not None else story.ACQUISITION_PLAIN
        if r is None:
            return self.no_result
        if section == "differences":
            return story.pairwise_skip_reason(r)
        if section == "lift":
            return story.lift_skip_text(r, {})
        if section == "cost":
            return story.cost_plain_reason(self.costs) if self.cost_skip_reason() else None
        if section == "trends":
            word = story.PERIOD_WORDS.get(self.period or "", "period")
            return f"no {word} has units to count" if self.trends_skip_reason() else None
        return None

    def not_covered(self) -> dict[str, str | None]:
        """The parts of the report the data does not allow, by title, with why (for ``nb.not_covered``)."""
        if self.result is None:
            return {"Channel comparison": self.no_result,
                    story.TITLES["acquisition"]: self.reason("acquisition")}
        return {self.title(k): self.reason(k) for k in story.TITLES}

    def left_out(self) -> dict[str, str]:
        """The technical reason of every part left out (for "Method and diagnostics"), by name."""
        out = {
            "Channel comparison": (self.result_reason or story.NO_TOUCHES) if self.result is None else None,
            "Pairwise tests": story.pairwise_skip_reason(self.result) if self.result is not None else None,
            "Incremental lift": self.lift_skip_reason() if self.result is not None else None,
            "Per customer or per message": self.unit_views_skip_reason() if self.result is not None else None,
            "Value by acquisition channel": self.acquisition_reason,
            "Cost and return": self.cost_skip_reason(),
            "Trends": self.trends_skip_reason() if self.result is not None else None,
        }
        return {k: v for k, v in out.items() if v}

    def findings(self) -> list[str]:
        """What we found (:func:`story.findings`): which group to use for what, and whether it is more than chance."""
        return story.findings(self.result, self.other, self.acquisition, currency=self.currency,
                              no_result=self.no_result)

    def cards(self) -> list[dict[str, Any]]:
        """The key figures (:func:`story.summary_cards`); none without a comparison."""
        if self.result is None:
            return []
        return story.summary_cards(self.result, currency=self.currency, other=self.other)

    # the report's tables: keyword arguments of ``nb.table``

    def funnel_table(self) -> dict[str, Any]:
        """The funnel per group."""
        r = self.result
        return dict(df=r.funnel_display(self.currency), percent=[f"{r.outcome} rate"],
                    integer=["units", "exposed", "opened", "clicked", "converted"], caption=story.funnel_caption(r))

    def pairwise_table(self, *, other: bool = False) -> dict[str, Any]:
        """Every pair's test, smallest p-value first (``other``: of the comparison per the other unit)."""
        r = self.other if other else self.result
        return dict(df=r.pairwise_display(), percent=["rate a", "rate b", "relative lift"],
                    caption=story.pairwise_caption(r))

    def posterior_table(self) -> dict[str, Any]:
        """Each group's posterior rate and chance of being best."""
        post = tables.posterior_frame(self.primary)
        return dict(df=post, percent=[c for c in post.columns if c not in ("group", "units", "conversions")],
                    integer=["units", "conversions"],
                    caption=story.POSTERIOR_CAPTION.format(unit=unit_text(self.primary.unit)))

    def lift_table(self) -> dict[str, Any]:
        """The lift of each group over the control."""
        return dict(df=tables.lift_frame(self.result),
                    percent=["rate", "control rate", "relative lift", "95% low ", "95% high "],
                    integer=["units", "extra outcomes"], decimals=1, caption=story.lift_caption(self.result))

    def unit_views_table(self) -> dict[str, Any]:
        """The groups per customer and per customer-campaign pair side by side."""
        both = tables.unit_views(self.result, self.other)
        if {"customers", "messages"} <= set(both.columns):
            both["messages per customer"] = both["messages"] / both["customers"]
        return dict(df=both, percent=[c for c in both.columns if c.startswith("rate")],
                    integer=[c for c in both.columns[1:] if not c.startswith(("rate", "messages per"))], decimals=1,
                    caption=story.UNIT_VIEWS_CAPTION)

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
        """The results.json payload: the comparison (:meth:`ChannelComparison.to_results`), the same groups per
        the other unit (``other_unit``: unit, groups, pairwise, significant_pairs), acquisition, and
        ``not_applicable`` with its reason when the data allows none of the report."""
        r = self.result
        out = r.to_results() if r is not None else {"compare_by": self.compare_by, "outcome": self.outcome, "groups": {}}
        if self.other is not None:
            o = self.other.to_results()
            out["other_unit"] = {k: o[k] for k in ("unit", "groups", "pairwise", "significant_pairs")}
        if self.acquisition is not None:
            out["acquisition"] = {str(a.group): {"customers": int(a.customers), "active_rate": a.active_rate,
                                                 "revenue_per_customer": a.revenue_per_customer,
                                                 "revenue_per_customer_year": a.revenue_per_customer_year}
                                  for a in self.acquisition.itertuples()}
        na = story.not_applicable(r, self.acquisition, no_result=self.no_result)
        if na:
            out["not_applicable"] = na
        return out

    def files(self, ctx: Any) -> list[str]:
        """The files written in the report's output folder (results.json and the CSV exports)."""
        folder = ctx.output_dir
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

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
    result = other = other_reason = result_reason = None
    if ds.has("touches"):
        try:
            result = compare_channels(ds["touches"], customers, compare_by=compare_by, outcome=outcome, unit=unit,
                                      control=control, alpha=alpha, correction=correction, costs=costs,
                                      period=period, campaign=campaign)
        except MissingOutcome as e:  # e.g. the default outcome, conversion, on a newsletter's touches
            result_reason = story.missing_outcome_plain(e.outcome, e.events)
        if result is not None:
            other, other_reason = compare_other_unit(ds["touches"], customers, result)
    acq, acq_reason = acquisition_or_reason(ds["transactions"], customers, as_of=ds.as_of, active_days=active.days,
                                            costs=costs)
    cost = cost_table(result) if costs and result is not None else None
    return ChannelAnalysis(
        compare_by=compare_by, outcome=outcome, period=period, currency=currency,
        active_definition=active.definition, costs=costs, customers=customers, result=result, other=other,
        other_reason=other_reason, acquisition=acq, acquisition_reason=acq_reason, cost=cost,
        result_reason=result_reason,
    )
