"""Tests between cohorts: do recent cohorts retain better or worse, and do segments differ?

:func:`trend_test` is a quasi-binomial logistic regression of retention on the cohort's
start (McCullagh and Nelder 1989, section 4.5); :func:`segment_difference` a Pearson
chi-square test of offset-k retention across segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from ..errors import ParameterError
from .matrix import CohortMatrix
from .params import _non_negative_int
from .retention import average_curve, cohort_curves


@dataclass(frozen=True)
class TrendResult:
    """Test of a trend in offset-k retention across cohorts.

    ``direction`` is ``improving`` or ``declining`` when the slope is significant at
    ``alpha``, ``no clear trend`` when not, ``not testable`` with fewer than 3 cohorts.
    ``first_fitted`` and ``last_fitted`` are the model's retention for the oldest and the
    newest cohort; ``change`` their difference (a fraction: 0.05 = 5 points).
    """

    offset: int
    direction: str
    p_value: float | None
    slope_per_period: float | None
    odds_ratio_per_period: float | None
    first_fitted: float | None
    last_fitted: float | None
    cohorts: int
    customers: int
    dispersion: float | None
    alpha: float = 0.05
    method: str = "quasi-binomial logistic regression of retention on cohort start (t test of the slope)"

    @property
    def change(self) -> float | None:
        if self.first_fitted is None or self.last_fitted is None:
            return None
        return self.last_fitted - self.first_fitted

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "p_value": self.p_value,
            "offset": self.offset,
            "change": self.change,
            "odds_ratio_per_period": self.odds_ratio_per_period,
            "first_fitted": self.first_fitted,
            "last_fitted": self.last_fitted,
            "cohorts": self.cohorts,
            "customers": self.customers,
            "dispersion": self.dispersion,
            "method": self.method,
        }


def trend_test(
    active: Any,
    customers: Any,
    cohort_index: Any,
    *,
    offset: int = 1,
    alpha: float = 0.05,
) -> TrendResult:
    """Logistic trend test of retention on cohort order, robust to extra-binomial variation.

    Model: logit P(active at offset k | cohort c) = β0 + β1·(t_c − t_0), with t_c the
    cohort's period index, fitted as a binomial GLM on the grouped counts. Cohorts differ
    for reasons other than their age (seasonality, campaigns), so the variance is scaled by
    the Pearson dispersion φ = max(1, X²/(m − 2)) (quasi-binomial; McCullagh and Nelder 1989,
    §4.5) and the slope is tested with a t test on m − 2 degrees of freedom, m = number of
    cohorts. With φ = 1 the test is the Wald version of the Cochran–Armitage trend test.

    Parameters
    ----------
    active, customers : array-like
        Customers retained at the offset and cohort sizes, one per cohort.
    cohort_index : array-like
        The cohorts' period indexes (only differences matter).
    offset : int
        The offset the counts are for (reported back).
    alpha : float
        Significance level for ``direction``.
    """
    import statsmodels.api as sm

    a = np.asarray(active, dtype=float)
    n = np.asarray(customers, dtype=float)
    x = np.asarray(cohort_index, dtype=float)
    keep = n > 0
    a, n, x = a[keep], n[keep], x[keep]
    m = a.size
    total = int(n.sum())
    untestable = TrendResult(int(offset), "not testable", None, None, None, None, None, m, total, None, alpha)
    if m < 3 or np.ptp(x) == 0 or a.sum() == 0 or a.sum() == n.sum():
        return untestable
    x0 = x - x.min()
    design = sm.add_constant(x0, has_constant="add")
    model = sm.GLM(np.column_stack([a, n - a]), design, family=sm.families.Binomial())
    try:
        first = model.fit()
        df_resid = m - 2
        phi = max(1.0, float(first.pearson_chi2) / df_resid)
        res = model.fit(scale=phi, use_t=True)
    except Exception:  # noqa: BLE001 - separation or non-convergence: no test possible
        return untestable
    slope = float(res.params[1])
    p = float(res.pvalues[1])
    if not np.isfinite(p):
        return untestable
    fitted = 1.0 / (1.0 + np.exp(-(res.params[0] + res.params[1] * np.array([0.0, x0.max()]))))
    direction = "no clear trend" if p >= alpha else ("improving" if slope > 0 else "declining")
    return TrendResult(
        offset=int(offset),
        direction=direction,
        p_value=p,
        slope_per_period=slope,
        odds_ratio_per_period=float(np.exp(slope)),
        first_fitted=float(fitted[0]),
        last_fitted=float(fitted[1]),
        cohorts=m,
        customers=total,
        dispersion=phi,
        alpha=alpha,
    )


def retention_trend(
    matrix: CohortMatrix,
    *,
    offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> TrendResult:
    """Do recent cohorts retain better or worse at ``offset``? (see :func:`trend_test`).

    Uses the cohorts that completed ``offset`` and have at least ``min_cohort_size``
    customers, in the matrix's retention mode. A split matrix is added up first.
    """
    offset = _non_negative_int("offset", offset, minimum=1)
    cc = cohort_curves(matrix.overall(), min_cohort_size=min_cohort_size)
    at = cc[cc["offset"] == offset]
    return trend_test(at["active"], at["customers"], at["cohort_index"], offset=offset, alpha=alpha)


def segment_difference(matrix: CohortMatrix, *, offset: int = 1, min_cohort_size: int = 1) -> dict[str, Any]:
    """Pearson chi-square test that offset-k retention is the same in every segment.

    Pools each segment's eligible cohorts that completed ``offset`` into one 2 × G table
    (retained / not retained by segment). Returns ``{offset, chi2, dof, p_value, segments}``;
    p_value None with fewer than two segments.
    """
    if not matrix.segment:
        raise ParameterError("segment_difference needs a matrix split by a segment (cohort_matrix(..., segment=...))")
    avg = average_curve(matrix, min_cohort_size=min_cohort_size)
    at = avg[avg["offset"] == offset]
    out: dict[str, Any] = {"offset": int(offset), "segments": int(len(at)), "chi2": None, "dof": None, "p_value": None}
    if len(at) < 2:
        return out
    table = np.vstack([at["active"].to_numpy(float), (at["customers"] - at["active"]).to_numpy(float)])
    if (table.sum(axis=1) == 0).any():
        return out
    chi2, p, dof, _ = sps.chi2_contingency(table, correction=False)
    out.update(chi2=float(chi2), dof=int(dof), p_value=float(p))
    return out
