"""Intervals on counts: differences and ratios of rates, the detectable effect, revenue per unit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..stats import Estimate, wilson_interval


def as_array(x: Any) -> np.ndarray:
    """``x`` as a float array (the counts and sizes of the vectorised formulas)."""
    return np.asarray(x, dtype=float)


def difference_interval(
    k1: Any, n1: Any, k2: Any, n2: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two proportions p1 − p2 with Newcombe's hybrid score interval.

    low = d − sqrt((p1 − l1)² + (u2 − p2)²), high = d + sqrt((u1 − p1)² + (p2 − l2)²),
    where (l, u) are the Wilson intervals of each proportion (Newcombe 1998, method 10;
    statsmodels ``confint_proportions_2indep(method="newcomb")``). Vectorised.
    """
    k1, n1, k2, n2 = map(as_array, (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        l1, u1 = wilson_interval(k1, n1, confidence=confidence)
        l2, u2 = wilson_interval(k2, n2, confidence=confidence)
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def ratio_interval(
    k1: Any, n1: Any, k2: Any, n2: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two proportions p1 / p2 with the adjusted log (Katz) interval.

    With 0.5 added to each count and each size (which keeps zero counts finite):
    exp(log(p1'/p2') ± z·sqrt(1/k1' − 1/n1' + 1/k2' − 1/n2')) (Katz et al. 1978; statsmodels
    ``confint_proportions_2indep(compare="ratio", method="log-adjusted")``). The point
    estimate is the plain ratio (NaN when p2 = 0). Vectorised.
    """
    k1, n1, k2, n2 = map(as_array, (k1, n1, k2, n2))
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(k2 > 0, (k1 / n1) / (k2 / n2), np.nan)
        a1, m1, a2, m2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5
        centre = np.log((a1 / m1) / (a2 / m2))
        half = z * np.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    return ratio, np.exp(centre - half), np.exp(centre + half)


def minimum_detectable_effect(
    baseline: Any, n1: Any, n2: Any, *, alpha: float = 0.05, power: float = 0.8
) -> np.ndarray:
    """Smallest rise over ``baseline`` a two-sided test at ``alpha`` detects with ``power``.

    On Cohen's arcsine scale h = 2·asin√p2 − 2·asin√p1, a two-sample test has the given
    power when h = (z₁₋α/₂ + z_power)·sqrt(1/n1 + 1/n2) (Cohen 1988, ch. 6; statsmodels
    ``NormalIndPower``). Returns p2 − p1 with p2 = sin(asin√p1 + h/2)², capped at 1.
    Vectorised.
    """
    p, n1, n2 = map(as_array, (baseline, n1, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        h = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * np.sqrt(1 / n1 + 1 / n2)
        angle = np.minimum(np.arcsin(np.sqrt(np.clip(p, 0, 1))) + h / 2, np.pi / 2)
        return np.sin(angle) ** 2 - p


def bootstrap_revenue_per_unit(
    values: Any,
    counts: Any,
    n_units: int,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int = 0,
    max_draws: int = 20_000_000,
) -> Estimate:
    """Revenue per unit with a percentile bootstrap over units, from non-zero values only.

    Most units spend nothing, so a group is summarised by its ``n_units`` and the
    non-zero revenues (``values``, each held by ``counts`` units). Resampling n units with
    replacement draws K ~ Binomial(n, m/n) spending units (m = Σ counts) and K values from
    the spenders: exactly the ordinary bootstrap over units (Efron and Tibshirani 1993),
    without materialising the zeros. Beyond ``max_draws`` draws, the normal (CLT) interval
    x̄ ± z·s/√n is used.
    """
    v = as_array(values)
    c = as_array(counts)
    n = int(n_units)
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "bootstrap")
    m = int(c.sum())
    total = float((v * c).sum())
    mean = total / n
    if m == 0:
        return Estimate(0.0, 0.0, 0.0, n, "bootstrap")
    q = (1 - confidence) / 2
    if n_boot * m > max_draws:
        var = ((v**2 * c).sum() / n - mean**2) * n / max(n - 1, 1)
        half = stats.norm.ppf(1 - q) * math.sqrt(max(var, 0) / n)
        return Estimate(mean, mean - half, mean + half, n, "normal")
    rng = np.random.default_rng(random_state)
    k = rng.binomial(n, m / n, size=n_boot)
    draws = rng.choice(v, size=int(k.sum()), p=c / m)
    ends = np.cumsum(k)
    sums = np.concatenate([[0.0], np.cumsum(draws)])
    reps = (sums[ends] - sums[ends - k]) / n
    lo, hi = np.quantile(reps, [q, 1 - q])
    return Estimate(mean, float(lo), float(hi), n, "bootstrap")
