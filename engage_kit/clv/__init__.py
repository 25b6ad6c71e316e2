"""Customer lifetime value: BG/NBD purchase counts, Gamma-Gamma spend, discounted CLV.

engage_kit owns the data preparation (one transaction per customer and day, times in
days / 7 unrounded), the units and the CLV arithmetic, and calls the ``lifetimes``
fitters with plain numpy arrays of the unique (frequency, recency, T) rows and their
counts as weights.

Typical use::

    from engage_kit import clv
    summary = clv.customer_summary(ds.purchases, end=ds.as_of, time_unit="W")
    model = clv.fit_bgnbd(summary)
    model.p_alive(3, 20.0, 30.0)
"""

from __future__ import annotations

from . import story
from .analysis import (
    CLVAnalysis,
    analyse,
    analyse_or_reason,
    clv_histogram,
    comparison_table,
    customer_stats,
    customers_table,
    example_customers,
    example_rows,
    example_table,
    segment_table,
    unavailable_results,
    value_bands,
)
from .bgbb import BGBBModel, fit_bgbb
from .contractual import ContractualAnalysis, analyse_contractual
from .discrete import DiscreteAnalysis, analyse_discrete
from .models import (
    BGNBDModel,
    FittedModel,
    GammaGammaModel,
    MBGNBDModel,
    ParetoNBDModel,
    TransactionModel,
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    bgnbd_pmf,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_mbgnbd,
    fit_models,
    fit_pareto_nbd,
    gamma_gamma_log_likelihood,
    mbgnbd_log_likelihood,
    pareto_nbd_log_likelihood,
    prob_no_purchase,
    spend_independence,
)
from .occasions import occasion_summary, survivor_counts
from .prep import (
    calibration_holdout,
    compress,
    customer_summary,
    default_calibration_end,
    purchase_days,
)
from .sbg import SBGModel, fit_sbg, fit_sbg_by_cohort
from .settings import Choice, analyse_setting, choose_setting, setting_results
from .validation import (
    add_predictions,
    compare_models,
    conditional_expectations,
    frequency_histogram,
    holdout_groups,
    holdout_summary,
    holdout_value_lift,
    p_alive_calibration,
    p_alive_history,
    preferred_model,
    share_buying,
    top_decile_lift,
    tracking,
)
from .value import (
    SEGMENT_LABELS,
    SEGMENTS,
    assign_segments,
    clv_frame,
    discount_rate_per_unit,
    discounted_expected_purchases,
    expected_value_expr,
    frequency_recency_matrix,
    purchase_scores,
    rfm_scores,
    score_customers,
    segment_rfm_crosstab,
    segment_summary,
    top_customers,
)

__all__ = [
    "story",
    "BGBBModel",
    "Choice",
    "ContractualAnalysis",
    "DiscreteAnalysis",
    "SBGModel",
    "analyse_contractual",
    "analyse_discrete",
    "analyse_setting",
    "choose_setting",
    "fit_bgbb",
    "fit_sbg",
    "fit_sbg_by_cohort",
    "occasion_summary",
    "setting_results",
    "survivor_counts",
    "CLVAnalysis",
    "analyse",
    "analyse_or_reason",
    "unavailable_results",
    "example_customers",
    "example_rows",
    "example_table",
    "comparison_table",
    "segment_table",
    "clv_histogram",
    "value_bands",
    "customer_stats",
    "customers_table",
    "holdout_value_lift",
    "expected_value_expr",
    "purchase_scores",
    "BGNBDModel",
    "FittedModel",
    "GammaGammaModel",
    "MBGNBDModel",
    "ParetoNBDModel",
    "SEGMENTS",
    "SEGMENT_LABELS",
    "TransactionModel",
    "add_predictions",
    "assign_segments",
    "bgnbd_conditional_expected_purchases",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "bgnbd_pmf",
    "calibration_holdout",
    "clv_frame",
    "compare_models",
    "preferred_model",
    "compress",
    "conditional_expectations",
    "customer_summary",
    "default_calibration_end",
    "discount_rate_per_unit",
    "discounted_expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_models",
    "fit_pareto_nbd",
    "frequency_histogram",
    "frequency_recency_matrix",
    "gamma_gamma_log_likelihood",
    "holdout_groups",
    "holdout_summary",
    "mbgnbd_log_likelihood",
    "p_alive_calibration",
    "p_alive_history",
    "pareto_nbd_log_likelihood",
    "prob_no_purchase",
    "purchase_days",
    "rfm_scores",
    "score_customers",
    "segment_rfm_crosstab",
    "segment_summary",
    "share_buying",
    "spend_independence",
    "top_customers",
    "top_decile_lift",
    "tracking",
]
