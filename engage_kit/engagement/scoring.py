"""Weights, the 0-100 score and its levels.

Score (per customer, in the engine):

    score = 100 · Σ_c w_c · rank_c / Σ_c w_c        (sums over the components the customer is eligible for)

a weighted mean of the percentile ranks (:mod:`.components`), so a customer who was never
e-mailed is scored on the other components, not punished with a zero. Levels by fixed cut
points ``[a, b]`` (default ``[33, 66]``): ``low`` when score < a, ``medium`` when
a <= score < b, ``high`` when score >= b.

Learned weights (the default): a logistic regression of "bought in the next
``horizon_days``" on the ranks at a cutoff (ineligible ranks set to 0.5, the middle),
L2-penalised with C = 1 (scikit-learn's default; the ranks share one 0-1 scale, so the
penalty treats them alike); the coefficients clipped at zero and normalised to sum to one
(a component that does not raise the chance of buying again gets no weight).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..errors import ParameterError, did_you_mean
from .components import COMPONENTS, rank_column

LEVELS = ("low", "medium", "high")
WEIGHT_MODES = ("learned", "equal")


def check_levels(levels: Any) -> tuple[float, float]:
    """Two cut points 0 < a < b < 100, else a :class:`ParameterError`."""
    try:
        a, b = (float(x) for x in levels)
    except (TypeError, ValueError):
        raise ParameterError(f"levels must be two cut points between 0 and 100, such as [33, 66]; got {levels!r}") from None
    if not 0 < a < b < 100:
        raise ParameterError(f"levels must be two rising cut points between 0 and 100, such as [33, 66]; got {levels!r}")
    return a, b


def check_weights(weights: Any, components: tuple[str, ...]) -> str | dict[str, float]:
    """``"learned"``, ``"equal"`` or a ``{component: weight}`` mapping (weights >= 0, not all 0)."""
    if isinstance(weights, str):
        if weights not in WEIGHT_MODES:
            raise ParameterError(f"weights '{weights}'{did_you_mean(weights, WEIGHT_MODES)}: choose learned, "
                                 "equal or a mapping such as {recency: 2, frequency: 1}")
        return weights
    if not isinstance(weights, Mapping):
        raise ParameterError(f"weights must be learned, equal or a mapping of component to weight; got {weights!r}")
    out: dict[str, float] = {}
    for k, v in weights.items():
        if k not in COMPONENTS:
            raise ParameterError(f"weights: unknown component '{k}'{did_you_mean(str(k), tuple(COMPONENTS))}; "
                                 f"components: {', '.join(COMPONENTS)}")
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"weights: the weight of {k} must be a number; got {v!r}") from None
        if not np.isfinite(w) or w < 0:
            raise ParameterError(f"weights: the weight of {k} must be a number of at least 0; got {v!r}")
        out[str(k)] = w
    return out


def normalise(raw: Mapping[str, float], components: tuple[str, ...]) -> dict[str, float]:
    """Weights over ``components`` (missing ones 0) scaled to sum to one; equal when all are 0."""
    w = {c: max(float(raw.get(c, 0.0)), 0.0) for c in components}
    total = sum(w.values())
    if total <= 0:
        return {c: 1.0 / len(components) for c in components} if components else {}
    return {c: v / total for c, v in w.items()}


def equal_weights(components: tuple[str, ...]) -> dict[str, float]:
    """1 / k for each of the k components."""
    return normalise(dict.fromkeys(components, 1.0), components)


def design_matrix(frame: pd.DataFrame, components: tuple[str, ...]) -> np.ndarray:
    """The ranks of ``components`` as a matrix, ineligible (null) ranks set to 0.5."""
    cols = [rank_column(c) for c in components]
    return frame[cols].astype(float).fillna(0.5).to_numpy()


def fit_logistic(frame: pd.DataFrame, components: tuple[str, ...], label: str = "active_next") -> Any | None:
    """The logistic regression of ``label`` on the ranks; None when the label has one class."""
    from sklearn.linear_model import LogisticRegression

    y = frame[label].astype(int).to_numpy()
    if len(np.unique(y)) < 2 or not components:
        return None
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(design_matrix(frame, components), y)
    return model


def learned_weights(model: Any, components: tuple[str, ...]) -> dict[str, float]:
    """Coefficients clipped at zero and normalised to sum to one (equal when every one is <= 0)."""
    coef = np.asarray(model.coef_, dtype=float).ravel()
    return normalise({c: max(b, 0.0) for c, b in zip(components, coef, strict=True)}, components)


def score_expr(t: ibis.Table, weights: Mapping[str, float]) -> ibis.Value:
    """``100 · Σ w_c rank_c / Σ w_c`` over the non-null ranks with positive weight (null when none)."""
    num: ibis.Value = ibis.literal(0.0)
    den: ibis.Value = ibis.literal(0.0)
    for c, w in weights.items():
        if w <= 0:
            continue
        r = t[rank_column(c)]
        num = num + (r * float(w)).fill_null(0.0)
        den = den + ibis.ifelse(r.notnull(), float(w), 0.0)
    return ibis.ifelse(den > 0, 100.0 * num / den, ibis.null("float64"))


def level_expr(score: ibis.Value, cuts: tuple[float, float]) -> ibis.Value:
    """``low`` / ``medium`` / ``high`` by the cut points (null score: null level)."""
    a, b = cuts
    return ibis.cases((score.isnull(), ibis.null("string")), (score < a, "low"), (score < b, "medium"), else_="high")


def level_of(score: Any, cuts: tuple[float, float]) -> np.ndarray:
    """:func:`level_expr` in numpy (for frames already in pandas)."""
    s = np.asarray(score, dtype=float)
    a, b = cuts
    return np.where(np.isnan(s), None, np.where(s < a, "low", np.where(s < b, "medium", "high")))


def scored(t: ibis.Table, weights: Mapping[str, float], cuts: tuple[float, float]) -> ibis.Table:
    """``t`` (ranks) with ``score`` and ``level`` columns."""
    t = t.mutate(score=score_expr(t, weights))
    return t.mutate(level=level_expr(t.score, cuts))
