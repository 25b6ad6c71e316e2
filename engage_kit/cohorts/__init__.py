"""Cohort retention: do customers acquired in each period keep coming back?

Customers are grouped into cohorts by the calendar period of their first purchase (or of
their sign-up). For every cohort and every period offset (offset 0 is the cohort's own
period, offset 1 the next period, ...) the engine counts the cohort's active customers,
its orders and its net revenue; only one row per cohort and offset comes back to pandas.

Definitions used throughout
---------------------------
- Periods are calendar periods: ``W`` weeks starting on Monday (label: the Monday's date,
  ``2024-01-01``), ``M`` months (``2024-01``), ``Q`` quarters (``2024Q1``).
- A purchase is a row (order) with amount >= 0, zero amounts included; a return
  (amount < 0) never makes a customer active and never starts a cohort.
- Revenue is **net** revenue: purchases plus returns, each booked in the period of its own
  timestamp. A cohort's revenue in a period can therefore be negative.
- ``n_period`` retention at offset k: share of the cohort with a purchase in period
  cohort + k (Amplitude's "N-day" / Mixpanel's "on" retention). ``unbounded`` retention at
  offset k: share with a purchase in period cohort + k *or any later period* up to ``as_of``
  (Amplitude's "unbounded" / "on or after" retention); it never rises with k.
- A cell is complete when its period ends on or before ``as_of`` (inclusive). Incomplete
  cells are NaN (blank in CSV exports, marked in charts), never 0.
- ``min_cohort_size`` leaves small cohorts out of charts and averages; the matrices and
  their CSV exports keep every cohort.

References: Fader and Hardie (2010), "Customer-base valuation in a contractual setting"
(cohort retention curves); Wilson (1927) intervals; Kaplan and Meier (1958) with
Greenwood's (1926) variance; McCullagh and Nelder (1989), section 4.5 (quasi-binomial
dispersion) for the cohort trend test.

The package
-----------
- ``params``: the choices (periods, metrics, retention modes, cohort definitions,
  censoring), the parameter checks and the input tables.
- ``periods``: calendar periods as consecutive integers, their first days and labels.
- ``matrix``: cohort assignment and the cohort × offset counts (:func:`cohort_matrix`,
  :class:`CohortMatrix`), net revenue retention per cell.
- ``retention``: retention curves per cohort and size-weighted averages with Wilson
  intervals, best and worst cohorts.
- ``compare``: tests between cohorts, the trend across cohorts (:func:`trend_test`) and
  the difference between segments (:func:`segment_difference`).
- ``revenue``: net revenue per cohort and offset, its retention and cumulation
  (:func:`revenue_retention`).
- ``survival``: time to lapse, Kaplan–Meier with Greenwood intervals.
- ``analysis``: the headline figures, the whole analysis of a dataset (:func:`analyse`,
  :class:`CohortAnalysis`) and results.json.
- ``story``: every sentence, title, caption and card of the report's body, in plain words,
  and its opening findings (:func:`findings`).
- ``method``: the appendix, "Method and diagnostics": the tests, intervals and glossary.
- ``charts``: every figure.

Typical use::

    from engage_kit import cohorts
    a = cohorts.analyse(ds, period="M", min_cohort_size=30)
    cohorts.story.findings(a)
"""

from __future__ import annotations

from . import charts, method, story
from .analysis import (
    CohortAnalysis,
    analyse,
    executive_summary,
    results_dict,
    segment_summary,
)
from .charts import (
    plot_cumulative_revenue,
    plot_curves,
    plot_heatmap,
    plot_nrr,
    plot_revenue_layers,
    plot_segment_curves,
    plot_survival,
)
from .compare import (
    TrendResult,
    retention_trend,
    segment_difference,
    trend_test,
)
from .matrix import (
    CohortMatrix,
    cohort_matrix,
    net_revenue_retention,
)
from .method import interpretation, trend_sentence
from .params import (
    CENSOR_AT,
    COHORT_BY,
    METRICS,
    MISSING_SEGMENT,
    PERIODS,
    RETENTION_MODES,
    SUMMARY_OFFSETS,
    as_table,
    check_period,
)
from .periods import (
    period_index,
    period_index_of,
    period_label,
    period_name,
    period_start,
)
from .retention import (
    average_curve,
    average_retention,
    cohort_curves,
    extreme_cohorts,
)
from .revenue import (
    RevenueRetention,
    _cumulative_offset,  # noqa: F401 - the offset the cumulative-revenue title and sentence share
    earlier_cohorts_share,
    revenue_retention,
)
from .story import (
    describe_curves,
    describe_heatmap,
    describe_revenue,
    describe_segments,
    describe_survival,
    findings,
    summary_cards,
)
from .survival import (
    kaplan_meier,
    lapse_durations,
    median_survival,
    survival_at,
    survival_curves,
    survival_summary,
)

__all__ = [
    "charts",
    "method",
    "story",
    "CohortAnalysis",
    "analyse",
    "executive_summary",
    "results_dict",
    "segment_summary",
    "plot_cumulative_revenue",
    "plot_curves",
    "plot_heatmap",
    "plot_nrr",
    "plot_revenue_layers",
    "plot_segment_curves",
    "plot_survival",
    "TrendResult",
    "retention_trend",
    "segment_difference",
    "trend_test",
    "CohortMatrix",
    "cohort_matrix",
    "net_revenue_retention",
    "CENSOR_AT",
    "COHORT_BY",
    "METRICS",
    "MISSING_SEGMENT",
    "PERIODS",
    "RETENTION_MODES",
    "SUMMARY_OFFSETS",
    "as_table",
    "check_period",
    "period_index",
    "period_index_of",
    "period_label",
    "period_name",
    "period_start",
    "average_curve",
    "average_retention",
    "cohort_curves",
    "extreme_cohorts",
    "RevenueRetention",
    "revenue_retention",
    "describe_curves",
    "describe_heatmap",
    "describe_revenue",
    "describe_segments",
    "describe_survival",
    "earlier_cohorts_share",
    "findings",
    "interpretation",
    "summary_cards",
    "trend_sentence",
    "kaplan_meier",
    "lapse_durations",
    "median_survival",
    "survival_at",
    "survival_curves",
    "survival_summary",
]
