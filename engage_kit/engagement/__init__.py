"""Customer engagement: how engaged is each customer, low, medium or high, and does it predict buying?

Engagement is read from many signals (purchases, e-mail, web, social, events, surveys,
support, and loyalty and product usage when those tables exist). Each signal is a
percentile rank within the customers who could have it; the score (0-100) is their
weighted mean, with weights learned out of time from who bought again; levels are fixed
cut points of the score. The report checks the score against later purchases instead of
assuming it works, and compares it with recency alone.

The package:

- :mod:`~engage_kit.engagement.components`: the signals per customer and their ranks, in the engine;
- :mod:`~engage_kit.engagement.scoring`: weights (learned, equal, given), the score and levels;
- :mod:`~engage_kit.engagement.validation`: ROC-AUC with bootstrap intervals, level rates with
  Wilson intervals, the trend test, calibration;
- :mod:`~engage_kit.engagement.movement`: transitions between levels, the mix by period,
  segments, drivers;
- :mod:`~engage_kit.engagement.analysis`: :func:`analyse` and :class:`EngagementAnalysis`;
- :mod:`~engage_kit.engagement.story`: every sentence the report shows;
- :mod:`~engage_kit.engagement.charts`: every figure.

Typical use::

    from engage_kit import engagement
    a = engagement.analyse(ds, window_days=180, horizon_days=90)
    engagement.story.findings(a)
"""

from __future__ import annotations

from . import charts, story
from .analysis import EngagementAnalysis, analyse
from .charts import plot_auc, plot_levels, plot_mix, plot_next_active, plot_weights
from .components import COMPONENTS, candidate_components, engagement_tables, ranked, raw_components
from .scoring import LEVELS, check_levels, check_weights, equal_weights, learned_weights, score_expr
from .validation import auc_estimates, calibration_table, level_rates, trend_test

__all__ = [
    "charts",
    "story",
    "EngagementAnalysis",
    "analyse",
    "plot_auc",
    "plot_levels",
    "plot_mix",
    "plot_next_active",
    "plot_weights",
    "COMPONENTS",
    "candidate_components",
    "engagement_tables",
    "ranked",
    "raw_components",
    "LEVELS",
    "check_levels",
    "check_weights",
    "equal_weights",
    "learned_weights",
    "score_expr",
    "auc_estimates",
    "calibration_table",
    "level_rates",
    "trend_test",
]
