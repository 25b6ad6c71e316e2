"""Churn prediction: who is about to leave, how sure we are, and what it is worth.

Two settings (DESIGN.md, Churn):

- **non-contractual** (only transactions needed): at a ``cutoff`` date, features come
  only from data up to and including that day; the label is "no purchase in the
  ``inactivity_days`` days after the cutoff", among customers with at least one purchase
  in the ``feature_window_days`` days up to it. Models are trained at ``cutoff`` and
  evaluated out of time at ``test_cutoff`` (``cutoff + inactivity_days <= test_cutoff``,
  so no training label sees the test period);
- **labelled snapshot** (contractual): a customers table with a ``churned`` column;
  attributes (and transactional features, when transactions exist) predict it; there is
  no time order, so a stratified random split is used, a weaker test.

Dates: ``cutoff`` is inclusive, like ``as_of``: features use rows with a timestamp
before ``cutoff + 1 day``; the label window is the ``inactivity_days`` days that follow.
A label window is complete when ``cutoff + inactivity_days <= as_of``.

The per-customer features are Ibis expressions executed by the engine
(:func:`build_features`). Only bounded samples leave the engine: the training and test
sets (a stratified sample of at most ``max_training_rows``, 200,000 by default, drawn in the
engine by :func:`stratified_sample`) are pulled into pandas to fit scikit-learn pipelines
(preprocessing inside the pipeline, so nothing learnt from the test set leaks into the
fit). The customers to score stay in the engine: they are streamed in batches, scored in
Python, appended to a Parquet file that the engine reads back, and ranked, counted and
exported there (:func:`score_in_batches`, :func:`rank_scores`), so the driver never holds
one row per customer for all customers. Baselines scored on the same test set: ``recency`` (days
since the last purchase: "call everyone who has not bought lately") and ``bgnbd`` (the
BG/NBD probability of no purchase in the label window, from :mod:`engage_kit.clv`).

The package:

- :mod:`~engage_kit.churn.features`: cutoffs, per-customer features and labels in the
  engine, the mode of a dataset (:func:`resolve_cutoffs`, :func:`build_features`,
  :func:`churn_labels`, :func:`churn_table`, :func:`detect_mode`);
- :mod:`~engage_kit.churn.sampling`: stratified samples drawn in the engine
  (:func:`allocate`, :func:`class_counts`, :func:`stratified_sample`);
- :mod:`~engage_kit.churn.sets`: the training, test and scoring sets of a study, and
  their bounded samples;
- :mod:`~engage_kit.churn.columns`: typing the feature columns (:class:`ColumnPlan`,
  :func:`plan_columns`, :func:`apply_columns`);
- :mod:`~engage_kit.churn.models`: the pipelines, the baselines and the BG/NBD churn
  probability (:func:`make_model`, :func:`recency_baseline`, :func:`bgnbd_churn_probability`);
- :mod:`~engage_kit.churn.evaluation`: ROC-AUC, PR-AUC, Brier score, lift, gains,
  calibration, confusion counts (:func:`evaluate_scores`);
- :mod:`~engage_kit.churn.explain`: permutation importance, contributions and reasons
  (:class:`Explainer`);
- :mod:`~engage_kit.churn.decisions`: the contact rule, customer value, cost and benefit;
- :mod:`~engage_kit.churn.scoring`: scoring in batches and ranking in the engine;
- :mod:`~engage_kit.churn.study`: :func:`run_churn_study` and the :class:`ChurnStudy` it returns;
- :mod:`~engage_kit.churn.charts`: the report's charts (``plot_*``);
- :mod:`~engage_kit.churn.story`: every sentence, card, caption and title the report shows.

Typical use::

    from engage_kit import churn
    study, why = churn.churn_study_or_reason(ds)
    churn.story.summary_cards(study, study.summary(), "EUR")
"""

from __future__ import annotations

from . import story, subscriptions
from .charts import plot_auc, plot_calibration, plot_cost_benefit, plot_gains, plot_importance
from .columns import ColumnPlan, apply_columns, plan_columns, prepare_columns
from .decisions import best_contact, contact_rule, cost_benefit_curve, customer_value, value_of, value_source
from .evaluation import (
    average_precision,
    calibration_gap,
    calibration_table,
    confusion,
    confusion_rates,
    evaluate_scores,
    gains_curve,
    gains_table,
    roc_auc,
    top_decile_lift,
    top_fraction_rate,
)
from .explain import Explainer, contributions, permutation_importance_table, top_reasons
from .features import (
    DAY_SECONDS,
    FEATURE_LABELS,
    MODES,
    build_features,
    churn_frame,
    churn_labels,
    churn_table,
    churn_tables,
    detect_mode,
    feature_label,
    resolve_cutoffs,
    scoring_frame,
)
from .models import (
    BASELINES,
    MODEL_LABELS,
    MODEL_NAMES,
    bgnbd_churn_probability,
    make_model,
    recency_baseline,
)
from .sampling import allocate, class_counts, stratified_sample
from .scoring import SCORING_CHUNK_ROWS, engine_batches, rank_scores, score_in_batches
from .story import active_sentence
from .study import (
    UNAVAILABLE_KEYS,
    ChurnStudy,
    churn_study,
    churn_study_or_reason,
    run_churn_study,
    unavailable_results,
)

__all__ = [
    "story",
    "subscriptions",
    "MODES",
    "MODEL_NAMES",
    "BASELINES",
    "DAY_SECONDS",
    "SCORING_CHUNK_ROWS",
    "FEATURE_LABELS",
    "MODEL_LABELS",
    "UNAVAILABLE_KEYS",
    "feature_label",
    "resolve_cutoffs",
    "build_features",
    "churn_labels",
    "churn_table",
    "churn_frame",
    "scoring_frame",
    "churn_tables",
    "detect_mode",
    "allocate",
    "class_counts",
    "stratified_sample",
    "ColumnPlan",
    "plan_columns",
    "apply_columns",
    "prepare_columns",
    "make_model",
    "recency_baseline",
    "bgnbd_churn_probability",
    "top_decile_lift",
    "top_fraction_rate",
    "gains_table",
    "gains_curve",
    "roc_auc",
    "average_precision",
    "evaluate_scores",
    "calibration_table",
    "calibration_gap",
    "confusion",
    "confusion_rates",
    "contact_rule",
    "cost_benefit_curve",
    "best_contact",
    "value_source",
    "value_of",
    "customer_value",
    "Explainer",
    "contributions",
    "top_reasons",
    "permutation_importance_table",
    "engine_batches",
    "score_in_batches",
    "rank_scores",
    "ChurnStudy",
    "run_churn_study",
    "churn_study",
    "churn_study_or_reason",
    "unavailable_results",
    "active_sentence",
    "plot_auc",
    "plot_gains",
    "plot_calibration",
    "plot_importance",
    "plot_cost_benefit",
]
