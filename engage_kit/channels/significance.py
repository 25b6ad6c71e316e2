"""Tests on counts: the omnibus chi-square, every pair corrected as one family, the Bayesian best."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from .counts import CORRECTIONS, check_options
from .intervals import as_array, difference_interval, minimum_detectable_effect, ratio_interval


def omnibus_test(successes: Any, n: Any) -> dict[str, float]:
    """Chi-square test of homogeneity of k proportions (k×2 table, no continuity correction).

    X² = Σ (O − E)² / E over the successes and failures of every group, k − 1 degrees of
    freedom (Pearson; scipy ``chi2_contingency(correction=False)``); Cramér's V = sqrt(X²/N).
    """
    k, m = as_array(successes), as_array(n)
    keep = m > 0
    k, m = k[keep], m[keep]
    table = np.column_stack([k, m - k])
    if len(k) < 2 or table.sum(axis=0).min() == 0:
        return {"statistic": 0.0, "dof": max(len(k) - 1, 0), "p_value": 1.0, "cramers_v": 0.0,
                "method": "chi-square test of homogeneity"}
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return {"statistic": float(chi2), "dof": int(dof), "p_value": float(p),
            "cramers_v": float(math.sqrt(chi2 / table.sum())), "method": "chi-square test of homogeneity"}


def _two_proportion_p(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, min_expected: float):
    """Pooled two-proportion z-test; Fisher's exact test where an expected count is small."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - k2 / n2) / se
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
        expected = np.minimum.reduce([pooled * n1, (1 - pooled) * n1, pooled * n2, (1 - pooled) * n2])
    small = (expected < min_expected) & (se > 0)
    method = np.where(small, "fisher exact", "z-test (pooled)")
    for i in np.flatnonzero(small):
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        p[i] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    return z, p, method


def pairwise_tests(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    min_expected: float = 5.0,
    power: float = 0.8,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Two-proportion tests for every pair of groups, corrected as one family.

    Each pair (a, b) is tested with the pooled two-proportion z-test (equivalent to the
    2×2 chi-square test without continuity correction), or with Fisher's exact test when an
    expected cell count is below ``min_expected``. All p-values form one family corrected
    with statsmodels ``multipletests(method=correction)``: ``"holm"`` (Holm 1979, family-wise
    error) or ``"fdr_bh"`` (Benjamini and Hochberg 1995, false discovery rate).

    Returns
    -------
    DataFrame
        a, b, units_a, units_b, rate_a, rate_b, difference (rate_a − rate_b) with
        Newcombe's interval (diff_low, diff_high), relative_lift (rate_a / rate_b − 1) with
        the log interval, z, p_value, p_adjusted, significant, test, mde (the rise over the
        pair's pooled rate detectable with ``power`` at alpha / number of pairs, the
        strictest level the correction applies) and mde_uncorrected (at ``alpha``).
    """
    from statsmodels.stats.multitest import multipletests

    check_options(unit="customer", alpha=alpha, correction=correction)
    k, m = as_array(successes), as_array(n)
    if k.shape != m.shape or k.ndim != 1:
        raise ParameterError("successes and n must be one-dimensional and of the same length")
    if np.any(k < 0) or np.any(k > m):
        raise ParameterError("every count of successes must be between 0 and its group's size")
    labels = list(names) if names is not None else list(range(len(k)))
    ia, ib = np.triu_indices(len(k), 1)
    cols = ["a", "b", "units_a", "units_b", "rate_a", "rate_b", "difference", "diff_low", "diff_high",
            "relative_lift", "lift_low", "lift_high", "z", "p_value", "p_adjusted", "significant", "test",
            "mde", "mde_uncorrected"]
    if ia.size == 0:
        return pd.DataFrame(columns=cols)
    k1, n1, k2, n2 = k[ia], m[ia], k[ib], m[ib]
    z, p, method = _two_proportion_p(k1, n1, k2, n2, min_expected)
    reject, p_adj, _, _ = multipletests(p, alpha=alpha, method=CORRECTIONS[correction])
    d, dlo, dhi = difference_interval(k1, n1, k2, n2, confidence=confidence)
    r, rlo, rhi = ratio_interval(k1, n1, k2, n2, confidence=confidence)
    pooled = (k1 + k2) / (n1 + n2)
    return pd.DataFrame(
        {
            "a": [labels[i] for i in ia],
            "b": [labels[i] for i in ib],
            "units_a": n1.astype("int64"),
            "units_b": n2.astype("int64"),
            "rate_a": k1 / n1,
            "rate_b": k2 / n2,
            "difference": d,
            "diff_low": dlo,
            "diff_high": dhi,
            "relative_lift": r - 1,
            "lift_low": rlo - 1,
            "lift_high": rhi - 1,
            "z": z,
            "p_value": p,
            "p_adjusted": p_adj,
            "significant": reject.astype(bool),
            "test": method,
            "mde": minimum_detectable_effect(pooled, n1, n2, alpha=alpha / ia.size, power=power),
            "mde_uncorrected": minimum_detectable_effect(pooled, n1, n2, alpha=alpha, power=power),
        },
        columns=cols,
    )


def bayes_best(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any] | None = None,
    control: Any = None,
    draws: int = 20_000,
    prior: tuple[float, float] = (1.0, 1.0),
    confidence: float = 0.95,
    random_state: int = 0,
) -> pd.DataFrame:
    """Beta-binomial posterior of each group's rate and the probability each is best.

    With a Beta(α, β) prior (default uniform), the posterior of a rate after k successes in
    n units is Beta(α + k, β + n − k) (conjugacy; Gelman et al., BDA3 ch. 2). P(best) is the
    share of Monte Carlo draws (``draws``, seeded) in which a group has the highest rate;
    with a ``control``, P(beats control) is the share in which it beats the control.

    Returns
    -------
    DataFrame
        group, posterior_mean, cred_low, cred_high (equal-tailed credible interval),
        p_best and, with a control, p_beats_control.
    """
    k, m = as_array(successes), as_array(n)
    labels = list(names) if names is not None else list(range(len(k)))
    a, b = prior[0] + k, prior[1] + m - k
    rng = np.random.default_rng(random_state)
    sample = rng.beta(a[None, :], b[None, :], size=(draws, len(k)))
    best = np.bincount(sample.argmax(axis=1), minlength=len(k)) / draws
    q = (1 - confidence) / 2
    out = pd.DataFrame(
        {
            "group": labels,
            "posterior_mean": a / (a + b),
            "cred_low": stats.beta.ppf(q, a, b),
            "cred_high": stats.beta.ppf(1 - q, a, b),
            "p_best": best,
        }
    )
    if control is not None and control in labels:
        ci = labels.index(control)
        out["p_beats_control"] = (sample > sample[:, [ci]]).mean(axis=0)
        out.loc[ci, "p_beats_control"] = np.nan
    return out
