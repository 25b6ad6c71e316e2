"""Channel comparison: which channels, campaigns or customer groups truly perform better.

Raw rates invite wrong decisions: small groups look great by chance and many pairwise
comparisons produce false winners. This package counts units and outcomes per group in
the engine (Ibis), then tests the differences on those counts:

- a funnel per group (exposed, opened, clicked, converted, revenue) with Wilson intervals,
  and revenue per exposed unit with a bootstrap interval over units;
- an omnibus chi-square test of homogeneity across groups;
- two-proportion tests for every pair, corrected as one family (Holm or Benjamini-Hochberg);
- effect sizes: the difference of rates with Newcombe's hybrid score interval (built on
  Wilson intervals) and the relative lift with a log (Katz) interval;
- a Bayesian view: Beta(1, 1) prior, beta-binomial posterior, probability each group is best;
- the minimum detectable effect at the data's group sizes (80% power);
- with a control group that received nothing: the incremental lift of each group;
- value by acquisition channel (retention, historic revenue per customer, cost per
  acquisition and return on spend when costs are given) and trends by period.

Units (``unit="customer"``): comparing by a touches column (``channel``, ``campaign_id``),
the units of a group are the customers exposed through it (an exposure event, e.g. sent,
delivered, view); comparing by a customer attribute (``acquisition_channel``,
``test_group``), the units are every customer with that value, touched or not. A unit
converts when it has at least one ``outcome`` event (through the group's channel or
campaign when comparing by a touches column). ``unit="customer_campaign"`` does the same
per (customer, campaign) pair.

The package:

- :mod:`.counts`: input checks and the per-group counts from the engine (:func:`group_counts`);
- :mod:`.intervals`: differences and ratios of rates, the minimum detectable effect,
  revenue per unit with its bootstrap interval;
- :mod:`.significance`: the omnibus test, the pairwise tests, the Bayesian best;
- :mod:`.lift`: the lift over a control group, and finding one among the customers;
- :mod:`.trends`: rates by period and who leads in them;
- :mod:`.acquisition`: value by acquisition channel;
- :mod:`.costs`: spend per group;
- :mod:`.picks`: the best and worst rows of a table (:func:`pick`, :func:`best_and_worst`);
- :mod:`.comparison`: :func:`compare_channels` and its :class:`ChannelComparison`;
- :mod:`.tables`: the report's tables, headers in words;
- :mod:`.story`: every sentence, title, caption and card text of the report;
- :mod:`.charts`: every figure;
- :mod:`.analysis`: the report's whole analysis in one call (:func:`analyse`).

Typical use::

    from engage_kit import channels
    result = channels.compare_channels(ds["touches"], ds["customers"], compare_by="channel")
    channels.story.summarise(result)
"""

from __future__ import annotations

from ..text import chart_label
from . import charts, story, tables
from .acquisition import acquisition_or_reason, acquisition_value
from .analysis import ChannelAnalysis, analyse
from .charts import plot_acquisition, plot_funnel, plot_lift, plot_pairwise, plot_rates, plot_trends
from .comparison import ChannelComparison, compare_channels, compare_other_unit, cost_table
from .costs import check_costs, parse_costs
from .counts import (
    CLICK_EVENTS,
    CONVERSION_EVENTS,
    CORRECTIONS,
    EXPOSURE_EVENTS,
    OPEN_EVENTS,
    PERIODS,
    UNITS,
    GroupCounts,
    group_counts,
)
from .intervals import (
    bootstrap_revenue_per_unit,
    difference_interval,
    minimum_detectable_effect,
    ratio_interval,
)
from .lift import control_lift, find_control_groups, lift_skip_reason
from .picks import best_and_worst, pick
from .significance import bayes_best, omnibus_test, pairwise_tests
from .story import (
    CORRECTION_NAMES,
    acquisition_sentence,
    acquisition_title,
    bayes_sentence,
    cost_sentence,
    format_p,
    funnel_sentence,
    funnel_title,
    lift_sentence,
    lift_title,
    pairwise_sentence,
    pairwise_skip_reason,
    pairwise_title,
    rates_sentence,
    rates_title,
    summarise,
    summary_cards,
    trends_sentence,
    trends_title,
    unit_views_sentence,
)
from .tables import acquisition_display, unit_views
from .trends import group_trends, trend_leader, trend_top_group

__all__ = [
    "CLICK_EVENTS",
    "CONVERSION_EVENTS",
    "CORRECTIONS",
    "CORRECTION_NAMES",
    "EXPOSURE_EVENTS",
    "OPEN_EVENTS",
    "PERIODS",
    "UNITS",
    "ChannelAnalysis",
    "ChannelComparison",
    "GroupCounts",
    "acquisition_display",
    "acquisition_value",
    "analyse",
    "bayes_best",
    "bootstrap_revenue_per_unit",
    "chart_label",
    "charts",
    "check_costs",
    "compare_channels",
    "control_lift",
    "cost_table",
    "difference_interval",
    "find_control_groups",
    "format_p",
    "group_counts",
    "group_trends",
    "minimum_detectable_effect",
    "omnibus_test",
    "pairwise_tests",
    "parse_costs",
    "plot_acquisition",
    "plot_funnel",
    "plot_lift",
    "plot_pairwise",
    "plot_rates",
    "plot_trends",
    "ratio_interval",
    "story",
    "summarise",
    "tables",
    "trend_leader",
    # picks, titles and sentences of the report (safe on zero and one groups)
    "acquisition_or_reason",
    "acquisition_sentence",
    "acquisition_title",
    "bayes_sentence",
    "best_and_worst",
    "compare_other_unit",
    "cost_sentence",
    "funnel_sentence",
    "funnel_title",
    "lift_sentence",
    "lift_skip_reason",
    "lift_title",
    "pairwise_sentence",
    "pairwise_skip_reason",
    "pairwise_title",
    "pick",
    "rates_sentence",
    "rates_title",
    "summary_cards",
    "trend_top_group",
    "trends_sentence",
    "trends_title",
    "unit_views",
    "unit_views_sentence",
]
