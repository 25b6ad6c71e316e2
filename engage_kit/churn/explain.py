"""Why a customer scores high: permutation importance, log-odds contributions and top reasons.

Reasons come from a fitted logistic pipeline (:class:`Explainer`): coefficient times
the customer's standardised deviation from the average reference customer, summed back
onto each input column; the largest positive contributions are the customer's reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import story
from .evaluation import roc_auc
from .features import feature_label


def _source_columns(pipeline, numeric: Sequence[str], categorical: Sequence[str]) -> list[str]:
    """For each output column of the pipeline's preprocessing, the input column it comes from."""
    names = pipeline.named_steps["prepare"].get_feature_names_out()
    cats = sorted(categorical, key=len, reverse=True)
    out = []
    for name in names:
        part, _, rest = name.partition("__")
        if part == "num":
            out.append(rest.removeprefix("missingindicator_"))
        else:
            out.append(next((c for c in cats if rest.startswith(c + "_")), rest))
    return out


class Explainer:
    """Per-customer reasons from a fitted logistic pipeline, with the reference customers
    summarised once (so batches of customers are explained exactly as one frame would be).

    Parameters
    ----------
    pipeline : sklearn Pipeline
        A fitted :func:`make_model` ``logistic`` pipeline.
    reference : DataFrame
        The customers that define "average" (the training sample).
    numeric, categorical : sequence of str
        The model's input columns.
    """

    def __init__(self, pipeline, reference: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]):
        self.pipeline = pipeline
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.center = np.asarray(pipeline.named_steps["prepare"].transform(reference), dtype=float).mean(axis=0)
        self.sources = _source_columns(pipeline, numeric, categorical)
        self.averages = {
            col: (reference[col].mean() if reference[col].notna().mean() >= 0.5 else np.nan)
            for col in numeric if col in reference
        }

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Contributions to the log-odds (see :func:`contributions`)."""
        coef = self.pipeline.named_steps["model"].coef_.ravel()
        z = np.asarray(self.pipeline.named_steps["prepare"].transform(X), dtype=float)
        contrib = (z - self.center) * coef
        df = pd.DataFrame(contrib, columns=range(len(self.sources)), index=X.index)
        df.columns = self.sources
        return df.T.groupby(level=0, sort=False).sum().T

    def reasons(self, X: pd.DataFrame, *, n: int = 3, min_log_odds: float = 0.1) -> pd.DataFrame:
        """The top reasons (see :func:`top_reasons`)."""
        c = self.contributions(X)
        vals = c.to_numpy()
        cols = list(c.columns)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :n]
        strong = np.take_along_axis(vals, order, axis=1) >= min_log_odds
        out = np.full(order.shape, "", dtype=object)
        for j, col in enumerate(cols):  # each column's reasons worded in one pass
            rows, ranks = np.nonzero((order == j) & strong)
            if len(rows):
                out[rows, ranks] = story.reasons(col, X[col].to_numpy(dtype=object)[rows], self.averages.get(col))
        return pd.DataFrame(out, index=X.index, columns=[f"reason_{k + 1}" for k in range(order.shape[1])])


def contributions(pipeline, X: pd.DataFrame, reference: pd.DataFrame, numeric: Sequence[str],
                  categorical: Sequence[str]) -> pd.DataFrame:
    """Per-customer contributions to the log-odds of churn of a fitted logistic pipeline.

    contribution_ij = coef_j * (z_ij - mean of z_j over ``reference``), where z is the
    preprocessed (standardised / one-hot) value; one-hot and missing-indicator columns are
    summed back onto their input column. Positive values push towards churn.
    """
    return Explainer(pipeline, reference, numeric, categorical).contributions(X)


def top_reasons(
    pipeline, X: pd.DataFrame, reference: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    *, n: int = 3, min_log_odds: float = 0.1,
) -> pd.DataFrame:
    """The ``n`` features that push each customer's churn risk up the most.

    From a fitted logistic pipeline: :func:`contributions` (coefficient x standardised
    deviation from the average customer), largest positive first; each reason reads
    "<feature>: <value> (average <mean over the reference customers>)", or "(most
    customers have none)" when most have no value. Contributions below ``min_log_odds`` are
    not reasons (left blank).

    Returns a frame indexed like ``X`` with columns reason_1 .. reason_n.
    """
    return Explainer(pipeline, reference, numeric, categorical).reasons(X, n=n, min_log_odds=min_log_odds)


def permutation_importance_table(
    pipeline, X: pd.DataFrame, y: Any, numeric: Sequence[str], categorical: Sequence[str],
    *, n_repeats: int = 3, random_state: int = 0, max_rows: int = 2000,
) -> pd.DataFrame:
    """Drop in held-out ROC-AUC when each input column is shuffled.

    Permutation importance (Breiman 2001; Fisher, Rudin and Dominici 2019): the mean over
    ``n_repeats`` shuffles of AUC(original) - AUC(column shuffled), on at most ``max_rows``
    customers of the test set. The preprocessing works row by row, so shuffling an input
    column equals shuffling the block of preprocessed columns it produces; the data are
    preprocessed once and only the classifier is re-run, which gives what
    ``sklearn.inspection.permutation_importance`` gives at a fraction of the time.

    Columns: feature, label, importance (mean AUC drop), std.
    """
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(random_state)
    if len(X) > max_rows:
        idx = rng.choice(len(X), max_rows, replace=False)
        X, y = X.iloc[idx], y[idx]
    pre = pipeline.named_steps["prepare"]
    model = pipeline.named_steps["model"]
    Z = np.asarray(pre.transform(X), dtype=float)
    src = np.array(_source_columns(pipeline, numeric, categorical))
    base = roc_auc(y, model.predict_proba(Z)[:, 1])
    rows = []
    for col in X.columns:
        block = np.flatnonzero(src == col)
        if block.size == 0:
            continue
        drops = []
        for _ in range(n_repeats):
            Zp = Z.copy()
            Zp[:, block] = Z[rng.permutation(Z.shape[0])][:, block]
            drops.append(base - roc_auc(y, model.predict_proba(Zp)[:, 1]))
        rows.append({"feature": col, "label": feature_label(col),
                     "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    out = pd.DataFrame(rows, columns=["feature", "label", "importance", "std"])
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
