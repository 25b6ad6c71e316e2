"""Charts of the churn report: test-set ROC-AUC, gains, calibration, importance, cost and benefit.

Each ``plot_*`` function draws one chart of a :class:`~engage_kit.churn.study.ChurnStudy`
on ``ax`` (a new figure when None) and returns the axes; the titles are written by
:mod:`engage_kit.churn.story`. matplotlib (and :mod:`engage_kit.plots`) is imported when a chart
is drawn, not with the package.
"""

from __future__ import annotations

import numpy as np

from ..stats import error_bars
from . import story
from .decisions import best_contact
from .evaluation import calibration_gap, gains_curve, gains_table
from .models import MODEL_LABELS
from .study import ChurnStudy

MODEL_COLORS = {"logistic": "#1f77b4", "gradient_boosting": "#2ca02c", "recency": "#7f7f7f", "bgnbd": "#ff7f0e"}


def _axes(ax, figsize: tuple[float, float]):
    """``ax``, or the axes of a new figure of ``figsize``."""
    import matplotlib.pyplot as plt

    return ax or plt.subplots(figsize=figsize)[1]


def _available(study: ChurnStudy) -> list[str]:
    return [m for m, v in study.metrics.items() if v.get("roc_auc") is not None]


def plot_auc(study: ChurnStudy, ax=None):
    """Test ROC-AUC of every model and baseline with its bootstrap interval."""
    ax = _axes(ax, (8, 3.2))
    names = _available(study)
    vals = [study.metrics[m]["roc_auc"] for m in names]
    y = np.arange(len(names))[::-1]
    ax.barh(y, [v.value for v in vals], color=[MODEL_COLORS.get(m, "#999") for m in names])
    ax.errorbar([v.value for v in vals], y, xerr=error_bars([v.value for v in vals], [v.low for v in vals], [v.high for v in vals]),
                fmt="none", ecolor="black", capsize=3)
    ax.set_yticks(y, [MODEL_LABELS.get(m, m) for m in names])
    ax.axvline(0.5, color="#999", lw=1, ls="--")
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("ROC-AUC on the test set (0.5 = coin toss, 1 = perfect)")
    best, rec = study.metrics[study.best_model]["roc_auc"], study.metrics.get("recency", {}).get("roc_auc")
    ax.set_title(story.auc_title(study.best_model, best.value, rec.value if rec is not None else None))
    return ax


def plot_gains(study: ChurnStudy, ax=None):
    """Cumulative gains: share of leavers found when contacting the top x% by the best model's score,
    against the longest without a purchase first and random calls."""
    from ..plots import percent_axis

    ax = _axes(ax, (7, 4.5))
    y = study.predictions["churned"].to_numpy(dtype=float)
    shown = {study.best_model: "the model's list", "recency": "longest without a purchase first"}
    for m in [m for m in shown if m in _available(study)]:
        share, found = gains_curve(y, study.predictions[f"score_{m}"].to_numpy())
        ax.plot(share, found, label=shown[m], color=MODEL_COLORS.get(m), lw=2 if m == study.best_model else 1.2)
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="random calls")
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_xlabel("customers contacted (highest risk first)")
    ax.set_ylabel("leavers reached")
    g = study.gains()
    top20 = g.loc[min(1, len(g) - 1), "share_of_churners"]
    rec = None
    if "score_recency" in study.predictions.columns:
        rec = gains_table(y, study.predictions["score_recency"]).loc[min(1, len(g) - 1), "share_of_churners"]
    ax.set_title(story.gains_title(study.best_model, top20, rec))
    ax.legend(loc="lower right")
    return ax


def plot_calibration(study: ChurnStudy, ax=None):
    """Predicted vs observed churn rate by decile of predicted probability (best model)."""
    from ..plots import percent_axis

    ax = _axes(ax, (5.5, 5))
    cal = study.calibration()
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="perfect calibration")
    ax.errorbar(cal["predicted"], cal["observed"], yerr=error_bars(cal["observed"], cal["low"], cal["high"]),
                fmt="o-", color=MODEL_COLORS.get(study.best_model), capsize=3, label=MODEL_LABELS[study.best_model])
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_xlabel("predicted churn probability (decile mean)")
    ax.set_ylabel("observed churn rate")
    ax.set_title(story.calibration_title(calibration_gap(cal)))
    ax.legend(loc="upper left")
    return ax


def plot_importance(study: ChurnStudy, ax=None, top: int = 12):
    """Permutation importance (drop in test ROC-AUC) of the best model's inputs."""
    imp = study.importance.head(top).iloc[::-1]
    ax = _axes(ax, (8, 0.35 * len(imp) + 1.2))
    ax.barh(imp["label"], imp["importance"], xerr=imp["std"], color="#1f77b4")
    ax.set_xlabel("how much the model relies on the input (drop in its ranking score without it)")
    if len(imp):
        ax.set_title(story.importance_title(str(study.importance.loc[0, "label"])))
    return ax


def plot_cost_benefit(study: ChurnStudy, currency: str = "", ax=None):
    """Net value (value saved - contact cost) by number of customers contacted, test set."""
    from ..plots import money_axis

    cb = study.cost_benefit()
    ax = _axes(ax, (8, 4))
    ax.plot(cb["contacted"], cb["net"], color="#2ca02c", label="realised on the test set")
    ax.plot(cb["contacted"], cb["expected_net"], color="#1f77b4", ls="--", label="expected by the model")
    ax.axhline(0, color="#999", lw=1)
    best = best_contact(cb)
    ax.axvline(best["contacted"], color="#999", ls=":", lw=1)
    money_axis(ax, currency)
    ax.set_xlabel("customers contacted (highest expected saving first)")
    ax.set_ylabel("net value")
    ax.set_title(story.cost_benefit_title(int(best["contacted"]), best["net"], currency))
    ax.legend()
    return ax
