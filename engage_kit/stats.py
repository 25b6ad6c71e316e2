"""Intervals and small statistical helpers shared by every analysis module.

Every rate engage-kit reports is an :class:`Estimate`: its value, the interval, and the
count behind it, so a reader sees how much to trust it (DESIGN.md, Output contract:
``{value, low, high, n}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% (or other) interval and the number of units behind it.

    The interval always contains the figure: ``low <= value <= high`` (a bound a rounding
    error or a percentile bootstrap puts on the wrong side is moved onto the value), so
    error bars ``value - low`` and ``high - value`` are never negative.
    """

    value: float
    low: float
    high: float
    n: int
    method: str = ""

    def __post_init__(self) -> None:
        try:
            low, high = contain(self.value, self.low, self.high)
        except (TypeError, ValueError):  # not numbers (a caller's own use): leave as given
            return
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def to_dict(self) -> dict[str, Any]:
        """The ``{value, low, high, n}`` object of results.json."""
        d = asdict(self)
        d.pop("method")
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def contain(value: Any, low: Any, high: Any) -> tuple[Any, Any]:
    """``(low, high)`` widened where needed so that ``low <= value <= high``.

    Floats or numpy arrays; NaN bounds stay NaN (no interval), a NaN value leaves the
    bounds alone. At k = 0 or k = n a Wilson bound lands a rounding error (1e-17) on the
    wrong side of k/n; that is enough for matplotlib to refuse the error bar.
    """
    v = np.asarray(value, dtype=float)
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isfinite(v) & (lo > v), v, lo)
        hi = np.where(np.isfinite(v) & (hi < v), v, hi)
    if lo.ndim == 0 and hi.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def error_bars(value: Any, low: Any, high: Any) -> np.ndarray:
    """The ``(2, n)`` array ``[value - low, high - value]`` for matplotlib's ``xerr`` / ``yerr``.

    Never negative (clipped at 0), so an interval that misses its estimate by a rounding
    error cannot crash a chart; NaN (no interval) stays NaN and draws no bar.
    """
    v = np.atleast_1d(np.asarray(value, dtype=float))
    lo = np.atleast_1d(np.asarray(low, dtype=float))
    hi = np.atleast_1d(np.asarray(high, dtype=float))
    with np.errstate(invalid="ignore"):
        return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])


NAN_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"), 0, "none")


def wilson_interval(successes: float, n: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    p~ = (k + z²/2) / (n + z²),  half-width = z / (n + z²) · sqrt(k(n − k)/n + z²/4)
    (Wilson 1927; Brown, Cai and DasGupta 2001), from
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")``. Works at k = 0
    and k = n, unlike Wald. The bounds are clipped to [0, 1] and to contain k / n exactly
    (at k = 0 the lower bound is 0, at k = n the upper bound is 1, not a rounding error
    away). Returns (nan, nan) for n = 0. Vectorised over numpy arrays.
    """
    k = np.asarray(successes, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    ok = n_arr > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(k, np.where(ok, n_arr, 1.0), alpha=1 - confidence, method="wilson")
        p = np.where(ok, k / np.where(ok, n_arr, 1), np.nan)
        low = np.where(ok, np.clip(np.minimum(lo, p), 0, 1), np.nan)
        high = np.where(ok, np.clip(np.maximum(hi, p), 0, 1), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def proportion(successes: float, n: float, *, confidence: float = 0.95) -> Estimate:
    """A proportion k/n with its Wilson interval."""
    n_int = int(n)
    if n_int <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "wilson")
    lo, hi = wilson_interval(successes, n, confidence=confidence)
    return Estimate(float(successes) / float(n), lo, hi, n_int, "wilson")


def mean_estimate(values: np.ndarray, *, confidence: float = 0.95) -> Estimate:
    """A mean with its t interval (x̄ ± t·s/√n)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "t")
    m = float(x.mean())
    if n == 1:
        return Estimate(m, float("nan"), float("nan"), 1, "t")
    se = x.std(ddof=1) / np.sqrt(n)
    t = stats.t.ppf(0.5 + confidence / 2, n - 1)
    return Estimate(m, m - t * se, m + t * se, n, "t")


def bootstrap_estimate(
    statistic: Callable[[np.ndarray], float],
    data: np.ndarray,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
    n: int | None = None,
) -> Estimate:
    """Percentile bootstrap interval of ``statistic`` over resampled rows of ``data``.

    ``data`` is resampled along its first axis (rows are the independent units, e.g.
    customers); ``statistic`` maps a resampled array to a float.
    """
    data = np.asarray(data)
    m = data.shape[0]
    value = float(statistic(data))
    if m < 2:
        return Estimate(value, float("nan"), float("nan"), n if n is not None else m, "bootstrap")
    rng = np.random.default_rng(random_state)
    reps = np.empty(n_boot)
    for i in range(n_boot):
        reps[i] = statistic(data[rng.integers(0, m, m)])
    reps = reps[np.isfinite(reps)]
    a = (1 - confidence) / 2
    lo, hi = (np.quantile(reps, [a, 1 - a]) if reps.size else (np.nan, np.nan))
    return Estimate(value, float(lo), float(hi), n if n is not None else m, "bootstrap")
