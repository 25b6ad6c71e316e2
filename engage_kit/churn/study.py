"""The churn study: build the sets, fit the models, test them against the baselines, score customers.

:func:`run_churn_study` returns a :class:`ChurnStudy`, which holds everything the
report shows: the bounded training and test frames, the fitted models, the test metrics
and the scores kept in the engine, with the tables a reader sees and the figures of
``churn_prediction/results.json``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import kind_of, training_cap
from ..errors import DataError, ModelError
from ..stats import proportion
from . import story
from .actionable import actionable, list_reasons, reachable, typical_values
from .columns import ColumnPlan, apply_columns, plan_columns
from .decisions import (
    _check_costs,
    _rule_kind,
    best_contact,
    contact_rule,
    cost_benefit_curve,
    value_of,
    value_source,
)
from .evaluation import calibration_table, confusion, evaluate_scores, gains_table, top_fraction_rate
from .explain import Explainer, permutation_importance_table
from .features import _check_int, churn_tables, detect_mode
from .models import (
    BASELINES,
    MODEL_LABELS,
    _check_models,
    _openmp_threads,
    bgnbd_churn_probability,
    make_model,
    recency_baseline,
)
from .scoring import SCORING_CHUNK_ROWS, _rank_in_engine, _remove_work_file, score_in_batches
from .sets import StudySets, draw_samples, labelled_sets, out_of_time_sets


@dataclass
class ChurnStudy:
    """Everything the churn report shows: data, fitted models, test metrics, scores.

    ``train`` and ``test`` are the (bounded) pandas frames the models were fitted and
    tested on; ``train_counts`` and ``test_counts`` count every customer of each set by
    label ({0: stayed, 1: churned}), sampled or not. ``scores`` is an Ibis table in the
    engine with one row per scored customer (:func:`rank_scores`); the report's figures
    come from small queries on it (:meth:`score_stats`).
    """

    mode: str
    as_of: pd.Timestamp
    cutoff: pd.Timestamp | None
    test_cutoff: pd.Timestamp | None
    inactivity_days: int | None
    feature_window_days: int
    train: pd.DataFrame
    test: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    models: dict[str, Any]
    predictions: pd.DataFrame
    metrics: dict[str, dict[str, Any]]
    best_model: str
    importance: pd.DataFrame
    scores: ibis.Table
    rule: str
    value_basis: str
    contact_cost: float | None = None
    save_rate: float = 0.25
    threshold: float | None = None
    bgnbd_params: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    train_counts: dict[int, int] = field(default_factory=dict)
    test_counts: dict[int, int] = field(default_factory=dict)
    reachable_days: int | None = None
    rule_kind: str = "top"
    list_reasons: pd.DataFrame | None = None
    _stats: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _actionable: ibis.Table | None = field(default=None, repr=False, compare=False)

    def _set_size(self, which: str) -> tuple[int, int]:
        """(customers, churners) of the whole training or test set."""
        counts = self.train_counts if which == "train" else self.test_counts
        if counts:
            return int(sum(counts.values())), int(counts.get(1, 0))
        y = (self.train if which == "train" else self.test)["churned"].to_numpy()
        return int(y.size), int(y.sum())

    @property
    def scored_who(self) -> str:
        """Who is scored, in words: ``customers who bought in the last 365 days`` (or ``current customers``)."""
        return story.scored_who(self)

    @property
    def churn_window(self) -> str:
        """`` (no purchase in the next 90 days)`` in non-contractual mode, else ``""``: what churn means."""
        return story.churn_window(self)

    @property
    def train_label_end(self) -> pd.Timestamp | None:
        """The day the training labels end: ``cutoff + inactivity_days`` (None for a labelled snapshot)."""
        if self.cutoff is None or self.inactivity_days is None:
            return None
        return self.cutoff + pd.Timedelta(days=self.inactivity_days)

    # --- tables for the report ---
    def metrics_table(self) -> pd.DataFrame:
        """One row per model and baseline: AUCs with intervals, Brier, lift."""
        rows = []
        for name, m in self.metrics.items():
            auc, ap = m.get("roc_auc"), m.get("pr_auc")
            rows.append(
                {
                    "model": name,
                    "kind": "baseline" if name in BASELINES else "model",
                    "roc_auc": auc.value if auc else np.nan,
                    "roc_auc_low": auc.low if auc else np.nan,
                    "roc_auc_high": auc.high if auc else np.nan,
                    "pr_auc": ap.value if ap else np.nan,
                    "brier": m.get("brier", np.nan),
                    "top_decile_lift": m.get("top_decile_lift", np.nan),
                }
            )
        return pd.DataFrame(rows)

    def gains(self, name: str | None = None) -> pd.DataFrame:
        """Cumulative gains of one model (default: the best) on the test set."""
        name = name or self.best_model
        return gains_table(self.predictions["churned"], self.predictions[f"score_{name}"])

    def calibration(self, name: str | None = None) -> pd.DataFrame:
        """Predicted vs observed churn on the test set."""
        name = name or self.best_model
        return calibration_table(self.predictions["churned"], self.predictions[f"prob_{name}"])

    def test_contacts(self) -> tuple[np.ndarray, str]:
        """The contact rule applied to the test set (best model)."""
        return contact_rule(
            self.predictions[f"prob_{self.best_model}"], threshold=self.threshold,
            value=self.predictions["value"], contact_cost=self.contact_cost, save_rate=self.save_rate,
        )

    def confusion(self) -> dict[str, int]:
        """Confusion counts of the contact rule on the test set."""
        contacted, _ = self.test_contacts()
        return confusion(self.predictions["churned"], contacted)

    def cost_benefit(self) -> pd.DataFrame | None:
        """Net value by number contacted on the test set, when a contact cost is given."""
        if self.contact_cost is None or self.predictions["value"].isna().all():
            return None
        return cost_benefit_curve(
            self.predictions["churned"], self.predictions[f"prob_{self.best_model}"], self.predictions["value"],
            contact_cost=self.contact_cost, save_rate=self.save_rate,
        )

    @property
    def at_risk(self) -> ibis.Table:
        """The scored customers the contact rule selects, highest probability first (in the engine)."""
        return self.scores.filter(self.scores.at_risk).order_by("rank")

    @property
    def actionable(self) -> ibis.Table:
        """The list to act on: reachable customers (last purchase within ``reachable_days``) the
        contact rule selects among the reachable, highest value at risk first (in the engine;
        :func:`~engage_kit.churn.actionable.actionable`)."""
        if self._actionable is None:
            self._actionable = actionable(
                self.scores, reachable_days=self.reachable_days, kind=self.rule_kind, threshold=self.threshold,
                contact_cost=self.contact_cost, save_rate=self.save_rate,
            )
        return self._actionable

    def score_stats(self) -> dict[str, Any]:
        """Counts and sums over all scored customers, from two engine queries (kept once computed).

        scored, scored_value, expected_churners (sum of probabilities), expected_loss,
        at_risk, at_risk_value, at_risk_probability (mean) and at_risk_median_days
        (median days since the last purchase on the at-risk list; NaN without it); then
        reachable (customers whose last purchase is within ``reachable_days``), gone and
        gone_value (the others: NaN without days since the last purchase), and over the
        list to act on (:attr:`actionable`): reachable_at_risk, reachable_at_risk_value,
        reachable_at_risk_loss (value at risk) and reachable_at_risk_probability (mean).
        """
        if self._stats is not None:
            return self._stats
        s = self.scores
        risk = s.at_risk
        agg = s.aggregate(
            scored=s.count(),
            scored_value=s.annual_value.sum(),
            expected_churners=s.churn_probability.sum(),
            expected_loss=s.expected_loss.sum(),
            at_risk=s.count(where=risk),
            at_risk_value=s.annual_value.sum(where=risk),
            at_risk_probability=s.churn_probability.mean(where=risk),
        ).to_pyarrow().to_pylist()[0]
        nan = float("nan")
        out = {k: (nan if v is None else v) for k, v in agg.items()}
        out["scored"], out["at_risk"] = int(out["scored"]), int(out["at_risk"])
        if not out["at_risk"]:
            out["at_risk_value"] = 0.0
        out["at_risk_median_days"] = nan
        if "days_since_purchase" in s.columns:
            # exact on both engines (DuckDB's quantile_cont, Spark's percentile), as pandas'
            # (a filter, not median(where=...): Ibis compiles that for Spark into invalid SQL)
            median = s.filter(risk).days_since_purchase.cast("float64").median().execute()
            out["at_risk_median_days"] = nan if median is None or pd.isna(median) else float(median)
        reach = reachable(s, self.reachable_days)
        if reach is None:
            out["reachable"], out["gone"], out["gone_value"] = out["scored"], nan, nan
        else:
            split = s.aggregate(reachable=s.count(where=reach), gone_value=s.annual_value.sum(where=~reach))
            row = split.to_pyarrow().to_pylist()[0]
            out["reachable"] = int(row["reachable"])
            out["gone"] = out["scored"] - out["reachable"]
            out["gone_value"] = float(row["gone_value"] or 0.0)
        a = self.actionable
        row = a.aggregate(n=a.count(), value=a.annual_value.sum(), loss=a.expected_loss.sum(),
                          probability=a.churn_probability.mean()).to_pyarrow().to_pylist()[0]
        out["reachable_at_risk"] = int(row["n"])
        out["reachable_at_risk_value"] = float(row["value"] or 0.0)
        out["reachable_at_risk_loss"] = float(row["loss"] or 0.0)
        out["reachable_at_risk_probability"] = nan if row["probability"] is None else float(row["probability"])
        self._stats = out
        return out

    def top_decile_rate(self, name: str | None = None) -> float:
        """Share of churners among the top 10% of test customers by one model's score.

        The figure behind "how many of the people we call would really have left":
        top_decile_lift x the test churn rate. NaN when the model is not available.
        """
        name = name or self.best_model
        col = f"score_{name}"
        if col not in self.predictions.columns:
            return float("nan")
        return top_fraction_rate(self.predictions["churned"].to_numpy(dtype=float), self.predictions[col].to_numpy())

    def summary(self) -> dict[str, Any]:
        """Headline figures for the executive summary.

        Besides the counts and AUCs: ``expected_churners`` (the sum of the churn
        probabilities of everyone scored), ``scored_value`` (the yearly value of everyone
        scored), ``best_top_rate`` / ``recency_top_rate`` / ``bgnbd_top_rate`` (the share of
        churners in the top 10% of the test set by each score),
        ``at_risk_median_days`` (median days since the last purchase on the at-risk list),
        ``at_risk_value_share`` = at_risk_value / scored_value, ``expected_churn_share`` =
        expected_churners / scored, and ``perfect_top_reach`` = min(1, 0.1 / test churn rate),
        the most of all churners a perfect list of 10% of the test customers could reach
        (NaN where the divisor is 0).
        """
        best = self.metrics[self.best_model]
        rec = self.metrics.get("recency", {})
        bg = self.metrics.get("bgnbd", {})
        st = self.score_stats()
        nan = float("nan")
        rate = float(self.test["churned"].mean())
        return {
            "scored": st["scored"],
            "scored_value": float(st["scored_value"]),
            "expected_churners": float(st["expected_churners"]),
            "at_risk": st["at_risk"],
            "at_risk_value": float(st["at_risk_value"]),
            "at_risk_probability": float(st["at_risk_probability"]),
            "at_risk_median_days": float(st["at_risk_median_days"]),
            "expected_loss": float(st["expected_loss"]),
            "best_model": self.best_model,
            "best_auc": best["roc_auc"].value,
            "best_auc_low": best["roc_auc"].low,
            "bgnbd_auc_high": bg["roc_auc"].high if bg.get("roc_auc") else nan,
            "recency_auc": rec["roc_auc"].value if rec.get("roc_auc") else nan,
            "bgnbd_auc": bg["roc_auc"].value if bg.get("roc_auc") else nan,
            "best_lift": best["top_decile_lift"],
            "recency_lift": rec.get("top_decile_lift") or nan,
            "test_churn_rate": rate,
            "best_top_rate": self.top_decile_rate(),
            "recency_top_rate": self.top_decile_rate("recency") if rec.get("roc_auc") else nan,
            "bgnbd_top_rate": self.top_decile_rate("bgnbd") if bg.get("roc_auc") else nan,
            "at_risk_value_share": (float(st["at_risk_value"]) / float(st["scored_value"])
                                    if float(st["scored_value"]) else nan),
            "expected_churn_share": float(st["expected_churners"]) / st["scored"] if st["scored"] else nan,
            "perfect_top_reach": min(1, 0.1 / rate) if rate else nan,
            "reachable_days": self.reachable_days,
            "reachable": st["reachable"],
            "gone": st["gone"],
            "gone_value": st["gone_value"],
            "reachable_at_risk": st["reachable_at_risk"],
            "reachable_at_risk_value": st["reachable_at_risk_value"],
            "reachable_at_risk_loss": st["reachable_at_risk_loss"],
            "reachable_at_risk_probability": st["reachable_at_risk_probability"],
            "test_churn_low": self.results_rate("test").low,
            "test_churn_high": self.results_rate("test").high,
            "best_auc_high": best["roc_auc"].high,
        }

    def results_rate(self, which: str) -> Any:
        """The churn rate of the training or test set with its 95% Wilson interval."""
        n, k = self._set_size(which)
        return proportion(k, n)

    # --- tables as a reader sees them (headers in words, dates as dates) ---
    def metrics_display(self) -> pd.DataFrame:
        """:meth:`metrics_table` with readable names, plus the churn rate in the top 10%."""
        mt = self.metrics_table()
        return pd.DataFrame({
            "model": [MODEL_LABELS.get(m, m) for m in mt["model"]],
            "type": mt["kind"],
            "ROC-AUC": mt["roc_auc"],
            "95% interval": [f"{lo:.3f} to {hi:.3f}" if np.isfinite(lo) else "–"
                             for lo, hi in zip(mt["roc_auc_low"], mt["roc_auc_high"], strict=True)],
            "PR-AUC": mt["pr_auc"],
            "Brier score": mt["brier"],
            "churners in top 10%": [self.top_decile_rate(m) for m in mt["model"]],
            "top-decile lift": mt["top_decile_lift"],
        })

    def periods_display(self) -> pd.DataFrame:
        """Training and test sets: cutoff date, customers, churn rate with its 95% Wilson interval."""
        res = self.results()
        rows = []
        for label, key, day in (("training", "train", self.cutoff), ("test", "test", self.test_cutoff)):
            est = res[f"{key}.churn_rate"]
            rows.append({"set": label, "cutoff": day.date().isoformat() if day is not None else "random split",
                         "customers": est.n, "churn rate": est.value,
                         "95% interval": f"{est.low:.1%} to {est.high:.1%}"})
        return pd.DataFrame(rows)

    def at_risk_display(self, top_n: int = 25, currency: str = "") -> pd.DataFrame:
        """The first ``top_n`` customers of the list to act on (:attr:`actionable`), columns named
        for a reader: customer, chance of leaving, days since the last purchase, yearly value,
        value at risk and the main reasons from the model that scored them
        (:attr:`list_reasons`; the logistic reasons of the scores file where a customer has none).
        """
        risk = self.actionable.limit(int(top_n)).execute()
        ids = risk["customer_id"].astype(str).to_numpy()
        money = f" ({currency})" if currency else ""
        out = pd.DataFrame({"customer": ids, "chance of leaving": risk["churn_probability"].to_numpy()})
        if "days_since_purchase" in risk.columns:
            out["days since last purchase"] = risk["days_since_purchase"].to_numpy()
        out[f"yearly value{money}"] = risk["annual_value"].to_numpy()
        out[f"value at risk{money}"] = risk["expected_loss"].to_numpy()
        cols = [f"reason_{k}" for k in (1, 2, 3)]
        reasons = risk[[c for c in cols if c in risk.columns]].copy()
        if self.list_reasons is not None and len(self.list_reasons):
            own = self.list_reasons.set_index("customer_id")
            known = np.isin(ids, own.index.to_numpy())
            for c in reasons.columns:
                reasons.loc[known, c] = own.loc[ids[known], c].to_numpy()
        if len(reasons.columns):
            out[story.REASONS_HEADER] = [
                "; ".join(r for r in row if isinstance(r, str) and r) or "–"
                for row in reasons.itertuples(index=False)
            ]
        return out

    def gains_display(self) -> pd.DataFrame:
        """:meth:`gains` with readable headers."""
        return self.gains().rename(columns={
            "decile": "tenth (1 = highest risk)", "churn_rate": "churn rate", "share_contacted": "share contacted",
            "share_of_churners": "share of all churners reached", "cumulative_lift": "cumulative lift"})

    def confusion_display(self) -> pd.DataFrame:
        """:meth:`confusion` as a two-by-two table: contacted / not contacted against churned / stayed."""
        cm = self.confusion()
        return pd.DataFrame({"": ["contacted", "not contacted"], "churned": [cm["tp"], cm["fn"]],
                             "stayed": [cm["fp"], cm["tn"]]})

    def baseline_aucs(self) -> dict[str, float]:
        """Test ROC-AUC of each baseline that could be scored, by name (recency, then BG/NBD)."""
        mt = self.metrics_table()
        base = mt[mt["kind"] == "baseline"].dropna(subset=["roc_auc"])
        return dict(zip(base["model"], base["roc_auc"], strict=True))

    def results(self) -> dict[str, Any]:
        """The figures of ``churn_prediction/results.json`` as dotted keys."""
        n_train, k_train = self._set_size("train")
        n_test, k_test = self._set_size("test")
        out: dict[str, Any] = {
            "mode": self.mode,
            "as_of": self.as_of,
            "cutoff": self.cutoff,
            "test_cutoff": self.test_cutoff,
            "inactivity_days": self.inactivity_days,
            "feature_window_days": self.feature_window_days,
            "train.customers": n_train,
            "train.churn_rate": proportion(k_train, n_train),
            "test.customers": n_test,
            "test.churn_rate": proportion(k_test, n_test),
            "best_model": self.best_model,
            "features.numeric": self.numeric,
            "features.categorical": self.categorical,
        }
        for name, m in self.metrics.items():
            out[f"models.{name}.kind"] = "baseline" if name in BASELINES else "model"
            out[f"models.{name}.available"] = bool(m.get("available", True))
            for key in ("roc_auc", "pr_auc", "brier", "top_decile_lift"):
                out[f"models.{name}.{key}"] = m.get(key)
        if self.bgnbd_params:
            out["bgnbd_params"] = self.bgnbd_params
        s = self.summary()
        out["best_beats_recency"] = bool(s["best_auc"] > s["recency_auc"]) if np.isfinite(s["recency_auc"]) else None
        cm = self.confusion()
        _, rule = self.test_contacts()
        out.update({f"test.confusion.{k}": v for k, v in cm.items()})
        out["contact_rule"] = rule
        out["threshold"] = self.threshold
        out["scored.customers"] = s["scored"]
        out["at_risk.customers"] = s["at_risk"]
        out["at_risk.value"] = s["at_risk_value"]
        out["at_risk.expected_loss"] = s["expected_loss"]
        out["reachable_days"] = self.reachable_days
        out["reachable.customers"] = s["reachable"]
        out["gone.customers"] = None if not np.isfinite(s["gone"]) else int(s["gone"])
        out["gone.value"] = None if not np.isfinite(s["gone_value"]) else s["gone_value"]
        out["at_risk.reachable"] = s["reachable_at_risk"]
        out["at_risk.reachable_value"] = s["reachable_at_risk_value"]
        out["at_risk.reachable_expected_loss"] = s["reachable_at_risk_loss"]
        out["at_risk.reachable_mean_probability"] = s["reachable_at_risk_probability"]
        out["test.top_decile_churn_rate"] = s["best_top_rate"]  # the 10% the model ranks highest
        out["test.recency_top_decile_churn_rate"] = s["recency_top_rate"]  # the 10% longest without a purchase
        out["reasons_model"] = self.best_model
        # the share of leavers reached by contacting the top tenths of each list (the gains chart)
        g = self.gains()
        out["test.gains"] = [{"contacted": float(r.share_contacted), "leavers_reached": float(r.share_of_churners)}
                             for r in g.itertuples(index=False)]
        if "score_recency" in self.predictions.columns:
            rg = gains_table(self.predictions["churned"], self.predictions["score_recency"])
            out["test.recency_gains"] = [{"contacted": float(r.share_contacted),
                                          "leavers_reached": float(r.share_of_churners)}
                                         for r in rg.itertuples(index=False)]
        out["test.perfect_top_decile_reach"] = s["perfect_top_reach"]
        out["value_basis"] = self.value_basis
        cb = self.cost_benefit()
        if cb is not None:
            best = best_contact(cb)
            contacted, _ = self.test_contacts()
            chosen = cb.iloc[int(contacted.sum()) - 1] if contacted.sum() else None
            out["cost_benefit.contact_cost"] = self.contact_cost
            out["cost_benefit.save_rate"] = self.save_rate
            out["cost_benefit.best_contacted"] = int(best["contacted"])
            out["cost_benefit.best_net"] = float(best["net"])
            out["cost_benefit.rule_net"] = float(chosen["net"]) if chosen is not None else 0.0
        if len(self.importance):
            out["importance"] = self.importance.head(10)[["feature", "importance"]].to_dict(orient="records")
        out["notes"] = self.notes
        return out


def run_churn_study(
    tables: dict[str, Any],
    *,
    as_of: Any,
    mode: str | None = None,
    cutoff: Any = None,
    test_cutoff: Any = None,
    inactivity_days: int | None = None,
    feature_window_days: int = 365,
    trend_days: int = 90,
    models: Sequence[str] = ("logistic", "gradient_boosting"),
    threshold: float | None = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    class_weight: Any = None,
    max_training_rows: int | None = None,
    test_size: float = 0.3,
    n_boot: int = 200,
    random_state: int = 0,
    chunk_size: int = SCORING_CHUNK_ROWS,
    work_dir: str | Path | None = None,
    reachable_days: int | None = None,
    list_size: int = 25,
) -> ChurnStudy:
    """Build features, fit the models, evaluate them against the baselines, score customers.

    Non-contractual mode: training set at ``cutoff`` and out-of-time test set at
    ``test_cutoff`` (:func:`resolve_cutoffs`); models and the ``recency`` baseline are
    fitted on the training set and scored on the test set, the ``bgnbd`` baseline is
    fitted on the purchase history up to the test cutoff (no labels). The best model (the
    highest test ROC-AUC among the fitted models, baselines excluded) is refitted at the
    test cutoff, whose labels end at ``as_of``, and scores the customers active in the
    feature window up to ``as_of`` with features at ``as_of``: the same 'fit, then predict
    ``inactivity_days`` later' lag the test measured.

    Labelled mode: a stratified split (``test_size``) of the customers with a known
    ``churned`` value, drawn in the engine (each class ordered by :func:`~engage_kit.engine.sample_order`);
    the customers not churned are scored with out-of-fold probabilities (5-fold
    cross-validation) when they are in the fitted sample, by the fitted model otherwise,
    so no one is scored by a model that saw their label.

    Only bounded frames leave the engine: the training and test sets, each capped at
    ``max_training_rows`` by a stratified sample drawn in the engine
    (:func:`stratified_sample`). The customers to score are streamed in batches of
    ``chunk_size`` (:func:`score_in_batches`) into a Parquet file in ``work_dir`` that the
    engine reads back; ranking, the contact rule and every count over them run in the
    engine (:func:`rank_scores`, :meth:`ChurnStudy.score_stats`).

    Parameters
    ----------
    tables : dict
        ``purchases`` (orders with amount >= 0), and optionally ``returns``, ``customers``,
        ``touches``, ``surveys``, ``tickets``, ``web_sessions``, ``usage`` (see :func:`churn_tables`).
    as_of : date
        The last day of the data (inclusive).
    mode : str, optional
        ``non_contractual`` or ``labelled``; default: labelled when the customers table
        has a ``churned`` column.
    inactivity_days : int, optional
        Label window in days (churn = no purchase in it after a cutoff): the kit's one
        activity window. None: chosen from the purchases
        (:func:`engage_kit.activity.default_active_days`). Unused in labelled mode.
    threshold : float, optional
        Contact customers with at least this churn probability; default: the
        expected-value rule when ``contact_cost`` is given, else the top decile.
    contact_cost : float, optional
        Cost of one retention contact (currency).
    save_rate : float
        Share of contacted would-be churners that the contact keeps (for the value saved).
    class_weight : None or "balanced"
        Class weights in the fit (the test set is never resampled).
    max_training_rows : int, optional
        Fit (and test) on a stratified sample of at most this many customers. None:
        :data:`engage_kit.engine.MODEL_TRAINING_ROWS` (200,000) on every engine; every
        customer is scored either way.
    chunk_size : int
        Customers scored per batch.
    work_dir : path, optional
        Folder for the batches' Parquet file ``.work/scored_batches.parquet`` (default: a new
        temporary folder). On DuckDB the scores are copied into the engine and the file is
        removed; Spark reads it lazily, so it stays (a temporary folder is removed when the
        program exits normally; on a cluster, pass a folder the executors can read).
    reachable_days : int, optional
        A scored customer can still be won back when their last purchase is at most this
        many days old (:attr:`ChurnStudy.actionable`); the others are counted as gone.
        None: the label window ``inactivity_days`` (the activity window); in labelled mode
        without it, every scored customer is reachable.
    list_size : int
        How many customers of the list to act on get their reasons from the scoring model.

    Returns
    -------
    ChurnStudy
    """
    tables = {k: v for k, v in tables.items() if v is not None}
    mode = detect_mode(tables, mode)
    models = _check_models(models)
    _check_costs(contact_cost, save_rate)
    feature_window_days = _check_int("feature_window_days", feature_window_days)
    trend_days = _check_int("trend_days", trend_days)
    chunk_size = _check_int("chunk_size", chunk_size)
    list_size = _check_int("list_size", list_size, low=0)
    if reachable_days is not None:
        reachable_days = _check_int("reachable_days", reachable_days)
    if max_training_rows is not None:
        max_training_rows = _check_int("max_training_rows", max_training_rows, low=2)
    as_of = pd.Timestamp(as_of).normalize()

    if mode == "non_contractual":
        sets = out_of_time_sets(tables, as_of=as_of, cutoff=cutoff, test_cutoff=test_cutoff,
                                inactivity_days=inactivity_days, feature_window_days=feature_window_days,
                                trend_days=trend_days)
    else:
        sets = labelled_sets(tables, as_of=as_of, feature_window_days=feature_window_days, trend_days=trend_days,
                             test_size=test_size, random_state=random_state)
    notes = sets.notes
    spark = kind_of(sets.con) == "spark"
    train, test = draw_samples(sets, training_cap(kind_of(sets.con), max_training_rows, every_engine=True),
                                random_state=random_state)

    with _openmp_threads(len(train)):
        plan = plan_columns(pd.concat([train, test], ignore_index=True))
        notes.extend(plan.notes)
        Xfit = apply_columns(train, plan)
        Xtest = apply_columns(test, plan)
        if not plan.numeric + plan.categorical:
            raise DataError("no usable feature columns: every column is empty, constant or an identifier")
        fitted, preds, metrics, bgnbd_params = _fit_and_test(
            Xfit, Xtest, plan, sets, models=models, mode=mode, feature_window_days=feature_window_days,
            class_weight=class_weight, n_boot=n_boot, random_state=random_state,
        )
        best = max(models, key=lambda m: (np.nan_to_num(metrics[m]["roc_auc"].value, nan=-1.0)))
        reference_frame = pd.concat([Xfit, Xtest], ignore_index=True)
        value_rule = value_source(reference_frame, feature_window_days=feature_window_days)
        preds["value"] = value_of(Xtest, value_rule, feature_window_days=feature_window_days).to_numpy()
        cols = plan.numeric + plan.categorical
        importance = permutation_importance_table(fitted[best], Xtest[cols], Xtest["churned"].to_numpy(dtype=int),
                                                  plan.numeric, plan.categorical, random_state=random_state)
        # scoring: refit on the latest complete labels (non-contractual), out-of-fold (labelled)
        refit = mode == "non_contractual"
        explained = Xtest if refit else reference_frame
        predict, explainer, scorer = _scorer(best, fitted[best], explained, plan, refit=refit,
                                             class_weight=class_weight, random_state=random_state)
        own_dir = work_dir is None
        folder = Path(tempfile.mkdtemp(prefix="engage-kit-churn-")) if own_dir else Path(work_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # a working file, in a hidden folder among the exports (Spark skips hidden file names)
        path = folder / ".work" / "scored_batches.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            score_in_batches(sets.score_all, path, plan=plan, predict=predict, explainer=explainer,
                             value_rule=value_rule, feature_window_days=feature_window_days, chunk_size=chunk_size,
                             ranges=spark)
        except BaseException:
            _remove_work_file(path, own_dir)
            raise
    scores, rule, value_known = _rank_in_engine(
        sets.con, path, threshold=threshold, contact_cost=contact_cost, save_rate=save_rate, customers=sets.n_score,
        spark=spark,
    )
    rule_kind, _ = _rule_kind(threshold=threshold, has_value=value_known, contact_cost=contact_cost,
                              save_rate=save_rate)
    if reachable_days is None:
        reachable_days = sets.inactivity_days
    listed = actionable(scores, reachable_days=reachable_days, kind=rule_kind, threshold=threshold,
                        contact_cost=contact_cost, save_rate=save_rate)
    reasons = list_reasons(listed, sets.score_all, list_size, plan=plan, model=scorer,
                                 typical=typical_values(explained, plan.numeric, plan.categorical))
    for table in sets.kept:
        table.release()
    if not spark:  # the engine holds its own copy: the file is no longer needed
        _remove_work_file(path, own_dir)
    elif own_dir:  # Spark reads the file lazily: keep it while the program runs
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if contact_cost is not None and not value_known:
        notes.append("contact_cost is given but no customer value is known; the top decile is used instead")

    return ChurnStudy(
        mode=mode, as_of=as_of, cutoff=sets.cutoff, test_cutoff=sets.test_cutoff, inactivity_days=sets.inactivity_days,
        feature_window_days=feature_window_days, train=train, test=test, numeric=plan.numeric,
        categorical=plan.categorical, models=fitted, predictions=preds, metrics=metrics, best_model=best,
        importance=importance, scores=scores, rule=rule, value_basis=value_rule[1], contact_cost=contact_cost,
        save_rate=save_rate, threshold=threshold, bgnbd_params=bgnbd_params, notes=notes,
        train_counts=sets.train_counts, test_counts=sets.test_counts, reachable_days=reachable_days,
        rule_kind=rule_kind, list_reasons=reasons, _actionable=listed,
    )


def _not_available() -> dict[str, Any]:
    """The metrics of a baseline that could not be scored."""
    return {"available": False, "roc_auc": None, "pr_auc": None, "brier": None, "top_decile_lift": None}


def _fit_and_test(
    Xfit: pd.DataFrame, Xtest: pd.DataFrame, plan: ColumnPlan, sets: StudySets, *, models: list[str], mode: str,
    feature_window_days: int, class_weight: Any, n_boot: int, random_state: int,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, dict[str, Any]], dict[str, float] | None]:
    """Fit each model on the training frame and score it and the baselines on the test frame.

    Returns the fitted pipelines, the test predictions (customer_id, churned, prob_<name>
    and score_<name> per model and baseline), the metrics of each (:func:`evaluate_scores`)
    and the BG/NBD parameters (None when that baseline is not fitted). Notes on the
    baselines that are not available go to ``sets.notes``.
    """
    numeric, categorical = plan.numeric, plan.categorical
    cols = numeric + categorical
    notes = sets.notes
    yfit = Xfit["churned"].to_numpy(dtype=int)
    ytest = Xtest["churned"].to_numpy(dtype=int)
    bgnbd_params = None

    fitted: dict[str, Any] = {}
    preds = pd.DataFrame({"customer_id": Xtest["customer_id"].to_numpy(), "churned": ytest})
    metrics: dict[str, dict[str, Any]] = {}
    for name in models:
        pipe = make_model(name, numeric, categorical, random_state=random_state, class_weight=class_weight)
        pipe.fit(Xfit[cols], yfit)
        fitted[name] = pipe
        prob = pipe.predict_proba(Xtest[cols])[:, 1]
        preds[f"prob_{name}"] = prob
        preds[f"score_{name}"] = prob
        metrics[name] = evaluate_scores(ytest, prob, n_boot=n_boot, random_state=random_state)

    # baselines on the same test set
    if "recency_days" in numeric and Xfit["recency_days"].notna().any():
        base = recency_baseline().fit(Xfit[["recency_days"]], yfit)
        prob = base.predict_proba(Xtest[["recency_days"]])[:, 1]
        score = Xtest["recency_days"].fillna(float(feature_window_days)).to_numpy()
        preds["prob_recency"], preds["score_recency"] = prob, score
        metrics["recency"] = evaluate_scores(ytest, score, probability=prob, n_boot=n_boot, random_state=random_state)
    else:
        metrics["recency"] = _not_available()
        notes.append("the recency baseline needs transactions; it is not available for this data")
    if mode == "non_contractual":
        try:
            prob, bgnbd_params = bgnbd_churn_probability(
                sets.purchases, Xtest["customer_id"].tolist(), cutoff=sets.test_cutoff,
                inactivity_days=sets.inactivity_days,
            )
            preds["prob_bgnbd"], preds["score_bgnbd"] = prob, prob
            metrics["bgnbd"] = evaluate_scores(ytest, prob, n_boot=n_boot, random_state=random_state)
        except (ImportError, AttributeError) as e:
            metrics["bgnbd"] = _not_available()
            notes.append(f"the BG/NBD baseline is not available ({e})")
        except (ModelError, DataError) as e:
            metrics["bgnbd"] = _not_available()
            notes.append(f"the BG/NBD baseline could not be fitted: {e}")
    else:
        metrics["bgnbd"] = _not_available()
        notes.append("the BG/NBD baseline needs a time order (non-contractual mode); not used for a labelled snapshot")
    return fitted, preds, metrics, bgnbd_params


def _scorer(
    best: str, tested: Any, frame: pd.DataFrame, plan: ColumnPlan, *, refit: bool, class_weight: Any,
    random_state: int,
) -> tuple[Callable[[pd.DataFrame], np.ndarray], Explainer, Any]:
    """How the customers to score get their probability and their reasons, and the model that scores them.

    ``refit`` (non-contractual): the ``best`` model refitted on ``frame``, the test set,
    whose labels are the latest complete ones; the reasons come from a logistic regression
    fitted on it (the refitted model itself when it is one). Otherwise (labelled):
    out-of-fold probabilities (5-fold stratified cross-validation over ``frame``, the
    training and test sets) for the customers in it, the ``tested`` model for the others,
    so no one is scored by a model that saw their label.
    """
    numeric, categorical = plan.numeric, plan.categorical
    cols = numeric + categorical
    y = frame["churned"].to_numpy(dtype=int)
    if refit:
        final = make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight)
        final.fit(frame[cols], y)
        explainer_model = (
            final if best == "logistic" else make_model("logistic", numeric, categorical).fit(frame[cols], y)
        )

        def predict(X: pd.DataFrame) -> np.ndarray:
            return final.predict_proba(X[cols])[:, 1]
    else:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
        oof = cross_val_predict(
            make_model(best, numeric, categorical, random_state=random_state, class_weight=class_weight),
            frame[cols], y, cv=cv, method="predict_proba",
        )[:, 1]
        oof_s = pd.Series(oof, index=frame["customer_id"].astype(str).to_numpy())
        explainer_model = make_model("logistic", numeric, categorical).fit(frame[cols], y)

        def predict(X: pd.DataFrame) -> np.ndarray:
            prob = np.array(oof_s.reindex(X["customer_id"].astype(str).to_numpy()), dtype=float)
            missing = np.isnan(prob)
            if missing.any():  # current customers outside the fitted sample
                prob[missing] = tested.predict_proba(X.loc[missing, cols])[:, 1]
            return prob

    scorer = final if refit else tested  # labelled: the out-of-fold models are of its kind, fitted on folds
    return predict, Explainer(explainer_model, frame[cols], numeric, categorical), scorer


def churn_study(ds: Any, **params: Any) -> ChurnStudy:
    """:func:`run_churn_study` on a :class:`~engage_kit.loaders.Dataset` (its tables and as_of)."""
    return run_churn_study(churn_tables(ds), as_of=ds.as_of, **params)


# the headline figures of results.json that need a fitted study (DESIGN.md: a figure that
# cannot be computed is {"value": null, "reason": ...})
UNAVAILABLE_KEYS = ("best_model", "train.customers", "train.churn_rate", "test.customers", "test.churn_rate",
                    "scored.customers", "at_risk.customers", "at_risk.value")


def churn_study_or_reason(ds: Any, **params: Any) -> tuple[ChurnStudy | None, str | None]:
    """:func:`churn_study`, or ``(None, reason)`` when the data cannot support a model.

    Data too small or too short (history shorter than two label windows, every customer
    churned or every one stayed, a labelled snapshot of a handful of customers) raise
    :class:`ModelError`; a report then says why the analysis is skipped instead of failing.
    Invalid parameters and unusable tables still raise ``ParameterError`` and ``DataError``.
    """
    try:
        return churn_study(ds, **params), None
    except ModelError as e:
        return None, str(e)


def unavailable_results(reason: str, *, mode: str | None = None, plain: str | None = None) -> dict[str, Any]:
    """results.json figures of a churn study that could not run: each ``{value: null, reason}``,
    and ``not_applicable`` with the reason in plain words (``plain``, default the reason), so the
    index says the report does not apply."""
    out: dict[str, Any] = {"mode": mode} if mode else {}
    out.update({key: {"value": None, "reason": reason} for key in UNAVAILABLE_KEYS})
    out["not_applicable"] = plain or reason
    return out
