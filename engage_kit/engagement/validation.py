"""Does the score predict anything? Out-of-time checks of the score against later purchases.

- ROC-AUC (Mann-Whitney, :func:`engage_kit.churn.evaluation.roc_auc`) with a percentile
  bootstrap interval over customers (Efron and Tibshirani 1993), for the score, for
  recency alone and for frequency alone, on the same customers and bootstrap draws;
- the next-horizon buying rate per level with Wilson intervals, and the Cochran-Armitage
  test for a trend across the ordered levels (Armitage 1955; Agresti 2002, section 5.3.5):

      T = Σ_i s_i (k_i − n_i p̄),  Var T = p̄ (1 − p̄) [Σ n_i s_i² − (Σ n_i s_i)² / N],
      z = T / sqrt(Var T)

  with level scores s = 0, 1, 2, k_i buyers of n_i customers, p̄ = K / N; one-sided p for
  a rise from low to high: P(Z > z);
- a calibration table: customers by score band of ten points, the logistic model's mean
  predicted chance against the observed share who bought.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..churn.evaluation import TiedScores, roc_auc
from ..stats import Estimate, proportion
from .scoring import LEVELS


def auc_estimates(
    y: np.ndarray, scores: dict[str, np.ndarray], *, n_boot: int = 500, random_state: int = 0
) -> dict[str, Estimate]:
    """ROC-AUC of each score with a 95% percentile bootstrap interval (the same draws for all).

    NaN (no interval) when ``y`` has one class only.
    """
    y = np.asarray(y, dtype=float)
    n = y.size
    out: dict[str, Estimate] = {}
    values = {k: roc_auc(y, s) if n else float("nan") for k, s in scores.items()}
    if n < 2 or len(np.unique(y)) < 2:
        return {k: Estimate(v, float("nan"), float("nan"), n, "bootstrap") for k, v in values.items()}
    rng = np.random.default_rng(random_state)
    reps = {k: np.empty(n_boot) for k in scores}
    tied = {k: TiedScores(y, s) for k, s in scores.items()}  # each resample scored without a sort
    for i in range(n_boot):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        both = 0 < counts @ y < n
        for k in scores:
            reps[k][i] = tied[k].auc(counts) if both else np.nan
    for k, v in values.items():
        r = reps[k][np.isfinite(reps[k])]
        lo, hi = (np.quantile(r, [0.025, 0.975]) if r.size else (np.nan, np.nan))
        out[k] = Estimate(float(v), float(lo), float(hi), n, "bootstrap")
    return out


def auc_difference(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, *, n_boot: int = 500, random_state: int = 0
) -> Estimate:
    """AUC(a) − AUC(b) with a 95% paired bootstrap interval (same draws as :func:`auc_estimates`)."""
    y = np.asarray(y, dtype=float)
    n = y.size
    if n < 2 or len(np.unique(y)) < 2:
        return Estimate(float("nan"), float("nan"), float("nan"), n, "bootstrap")
    value = roc_auc(y, a) - roc_auc(y, b)
    rng = np.random.default_rng(random_state)
    ta, tb = TiedScores(y, a), TiedScores(y, b)
    reps = np.empty(n_boot)
    for i in range(n_boot):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        reps[i] = ta.auc(counts) - tb.auc(counts) if 0 < counts @ y < n else np.nan
    r = reps[np.isfinite(reps)]
    lo, hi = (np.quantile(r, [0.025, 0.975]) if r.size else (np.nan, np.nan))
    return Estimate(float(value), float(lo), float(hi), n, "bootstrap")


def level_rates(counts: pd.DataFrame) -> dict[str, Estimate]:
    """Buying rate per level with Wilson intervals from ``counts`` (level, customers, buyers)."""
    by = counts.set_index("level") if len(counts) else pd.DataFrame(columns=["customers", "buyers"])
    out = {}
    for lv in LEVELS:
        n = int(by["customers"].get(lv, 0)) if lv in by.index else 0
        k = int(by["buyers"].get(lv, 0)) if lv in by.index else 0
        out[lv] = proportion(k, n)
    return out


def trend_test(counts: pd.DataFrame) -> dict[str, Any]:
    """Cochran-Armitage test for a rising buying rate from low to high (formula above).

    Returns ``{z, p_value, rises}``: ``rises`` is True when the rate rises at each step
    and the one-sided p is below 0.05; ``z`` and ``p_value`` are NaN when the test cannot
    be computed (fewer than two levels with customers, or nobody or everybody bought).
    """
    by = counts.set_index("level") if len(counts) else pd.DataFrame(columns=["customers", "buyers"])
    n = np.array([float(by["customers"].get(lv, 0)) if lv in by.index else 0.0 for lv in LEVELS])
    k = np.array([float(by["buyers"].get(lv, 0)) if lv in by.index else 0.0 for lv in LEVELS])
    s = np.arange(len(LEVELS), dtype=float)
    N, K = n.sum(), k.sum()
    if (n > 0).sum() < 2 or K <= 0 or K >= N:
        return {"z": float("nan"), "p_value": float("nan"), "rises": False}
    p = K / N
    T = float((s * (k - n * p)).sum())
    var = p * (1 - p) * ((n * s**2).sum() - (n * s).sum() ** 2 / N)
    if var <= 0:
        return {"z": float("nan"), "p_value": float("nan"), "rises": False}
    z = T / np.sqrt(var)
    pv = float(sps.norm.sf(z))
    rates = [ki / ni for ki, ni in zip(k, n, strict=True) if ni > 0]
    monotone = all(b >= a for a, b in zip(rates, rates[1:], strict=False))
    return {"z": float(z), "p_value": pv, "rises": bool(monotone and pv < 0.05)}


def calibration_table(score: np.ndarray, prob: np.ndarray, y: np.ndarray, *, width: float = 10.0) -> pd.DataFrame:
    """Customers by score band (0-10, 10-20, ...): mean predicted chance and observed share.

    Columns: band, customers, predicted, observed, low, high (Wilson interval of observed).
    """
    score = np.asarray(score, dtype=float)
    ok = np.isfinite(score)
    band = np.minimum(np.floor(score[ok] / width), 100 / width - 1).astype(int)
    df = pd.DataFrame({"band": band, "p": np.asarray(prob, dtype=float)[ok], "y": np.asarray(y, dtype=float)[ok]})
    g = df.groupby("band").agg(customers=("y", "size"), predicted=("p", "mean"), buyers=("y", "sum")).reset_index()
    rows = []
    for _, r in g.iterrows():
        e = proportion(r["buyers"], r["customers"])
        lo = int(r["band"] * width)
        rows.append({"band": f"{lo}-{int(lo + width)}", "customers": int(r["customers"]),
                     "predicted": float(r["predicted"]), "observed": e.value, "low": e.low, "high": e.high})
    return pd.DataFrame(rows, columns=["band", "customers", "predicted", "observed", "low", "high"])
