"""The churn models and baselines: scikit-learn pipelines, and the BG/NBD probability of no purchase.

Baselines scored on the same test set as the models: ``recency`` (days since the last
purchase: "call everyone who has not bought lately") and ``bgnbd`` (the BG/NBD
probability of no purchase in the label window, from :mod:`engage_kit.clv`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError, did_you_mean
from .features import _day_end, _table

MODEL_NAMES = ("logistic", "gradient_boosting")
BASELINES = ("recency", "bgnbd")
# readable names of the models and baselines (tables, charts and sentences)
MODEL_LABELS = {
    "logistic": "logistic regression",
    "gradient_boosting": "gradient boosting",
    "recency": "recency baseline",
    "bgnbd": "BG/NBD baseline",
}


def make_model(
    name: str,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    random_state: int = 0,
    class_weight: Any = None,
):
    """A scikit-learn Pipeline: preprocessing (ColumnTransformer) and a classifier.

    ``logistic``: median imputation with missing-value indicators and standardisation
    for numbers, one-hot encoding for categories (unknown levels ignored), then an L2
    logistic regression (C = 1). ``gradient_boosting``: numbers as they are (missing
    values handled by the trees), one-hot categories, then
    ``HistGradientBoostingClassifier`` (learning rate 0.1, 15 leaves, at least 40
    customers per leaf, early stopping on 10% of the training rows).
    ``class_weight`` ("balanced" or None) re-weights classes in the fit; the test set is
    never resampled.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    onehot = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    if name == "logistic":
        num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())])
        pre = ColumnTransformer([("num", num, list(numeric)), ("cat", onehot, list(categorical))])
        clf = LogisticRegression(C=1.0, max_iter=5000, class_weight=class_weight)
    elif name == "gradient_boosting":
        pre = ColumnTransformer([("num", "passthrough", list(numeric)), ("cat", onehot, list(categorical))])
        clf = HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            class_weight=class_weight,
            random_state=random_state,
        )
    else:
        raise ParameterError(f"unknown model '{name}'; models are chosen from {', '.join(MODEL_NAMES)}")
    return Pipeline([("prepare", pre), ("model", clf)])


def recency_baseline():
    """The ``recency`` baseline as a Pipeline: logistic regression on log(1 + recency_days).

    The ranking (and so ROC-AUC, PR-AUC and lift) is that of days since the last
    purchase; the one-variable fit only turns it into a probability for the Brier score.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pre = ColumnTransformer(
        [("recency", Pipeline([("impute", SimpleImputer(strategy="median")), ("log", FunctionTransformer(np.log1p))]),
          ["recency_days"])]
    )
    return Pipeline([("prepare", pre), ("model", LogisticRegression(max_iter=1000))])


def _check_two_classes(y: np.ndarray, where: str) -> None:
    classes = np.unique(y)
    if classes.size < 2:
        only = "churned" if classes.size and classes[0] == 1 else "stayed"
        raise ModelError(
            f"{where}: every one of the {y.size:,} customers {only}; a model needs both churners and "
            "customers who stayed. Choose another cutoff or inactivity_days"
        )


def _check_class_counts(counts: dict[int, int], where: str) -> None:
    """:func:`_check_two_classes` on counts per label ({0: stayed, 1: churned})."""
    if counts.get(0, 0) and counts.get(1, 0):
        return
    _check_two_classes(np.repeat([0, 1], [counts.get(0, 0), counts.get(1, 0)]), where)


def _check_models(models: Any) -> list[str]:
    if isinstance(models, str):
        models = [models]
    models = list(models or [])
    if not models:
        raise ParameterError(f"models is empty; choose one or more of {', '.join(MODEL_NAMES)}")
    bad = [m for m in models if m not in MODEL_NAMES]
    if bad:
        raise ParameterError(
            f"unknown model '{bad[0]}'{did_you_mean(str(bad[0]), MODEL_NAMES)}; models are chosen from "
            f"{', '.join(MODEL_NAMES)}"
        )
    return models


def _openmp_threads(n_rows: int):
    """One OpenMP thread for the gradient boosting on small data, where threads cost more than they save.

    scikit-learn's OpenMP runtime is loaded first: threadpoolctl only limits libraries
    already loaded, and a limit set before the first ``sklearn.ensemble`` import would be
    silently ignored (the permutation importance then ran with spinning threads, several
    times slower on a busy machine).
    """
    import contextlib

    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the limit applies to)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp") if n_rows < 200_000 else contextlib.nullcontext()


# --- BG/NBD baseline -------------------------------------------------------------------


def bgnbd_churn_probability(
    purchases: Any,
    customer_ids: Sequence[str],
    *,
    cutoff: Any,
    inactivity_days: int,
    params: dict[str, float] | None = None,
    penalizer: float = 0.0,
) -> tuple[np.ndarray, dict[str, float]]:
    """BG/NBD probability of no purchase in the ``inactivity_days`` after ``cutoff``.

    P(no purchase in (T, T + t]) = (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + t))^(r + x)
    (Fader, Hardie and Lee 2005), with t = inactivity_days / 7 weeks; frequency x,
    recency and T (weeks) from the purchases up to the cutoff (inclusive). Not
    1 - P(alive), which is 0 for every one-time buyer. Computed by
    :func:`engage_kit.clv.prob_no_purchase`; the model is fitted on every customer with a
    purchase up to the cutoff (:func:`engage_kit.clv.fit_bgnbd`) unless ``params``
    (r, alpha, a, b in weeks) are given.

    Returns
    -------
    (probability per customer of ``customer_ids``, params used)
    """
    from .. import clv

    p = _table(purchases)
    p = p.filter(p.timestamp < _day_end(cutoff).to_pydatetime())
    summary = clv.customer_summary(p, end=pd.Timestamp(cutoff).normalize(), time_unit="W")
    if params is None:
        model = clv.fit_bgnbd(summary, penalizer=penalizer)
        params = dict(model.params_)
    ids = ibis.memtable(pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="string")}))
    s = summary.join(ids, summary.customer_id == ids.customer_id).select(summary).execute()
    s = s.set_index("customer_id").reindex(pd.Index(list(customer_ids)))
    prob = clv.prob_no_purchase(
        params,
        s["frequency"].to_numpy(dtype=float),
        s["recency"].to_numpy(dtype=float),
        s["T"].to_numpy(dtype=float),
        inactivity_days / 7.0,
    )
    return np.asarray(prob, dtype=float), {k: float(v) for k, v in params.items()}
