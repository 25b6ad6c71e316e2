"""How good a set of churn scores is on the test set: ROC-AUC, PR-AUC, Brier, lift, gains, calibration.

ROC-AUC and average precision are computed here by their closed forms (the values of
``sklearn.metrics.roc_auc_score`` and ``average_precision_score``, checked in the tests),
which are fast enough to bootstrap: the intervals resample customers
(:func:`engage_kit.stats.bootstrap_estimate`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..stats import Estimate, wilson_interval


def _ranking(score: np.ndarray) -> np.ndarray:
    """Order of customers by descending score (ties kept in input order)."""
    return np.argsort(-np.asarray(score, dtype=float), kind="stable")


def _top_count(n: int, top_fraction: float = 0.1) -> int:
    """How many customers the top-fraction rule contacts: ceil(fraction * n), at least one."""
    return max(1, math.ceil(top_fraction * n)) if n else 0


def top_fraction_rate(y: Any, score: Any, *, fraction: float = 0.1) -> float:
    """Churn rate among the first ceil(fraction * n) customers by descending score.

    NaN when there is no customer.
    """
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return float("nan")
    return float(y[_ranking(score)[:_top_count(y.size, fraction)]].mean())


def top_decile_lift(y: Any, score: Any, *, fraction: float = 0.1) -> float:
    """Churn rate among the top ``fraction`` by score divided by the overall churn rate.

    The top group is the first ceil(fraction * n) customers by descending score.
    """
    y = np.asarray(y, dtype=float)
    if y.size == 0 or y.mean() == 0:
        return float("nan")
    return float(top_fraction_rate(y, score, fraction=fraction) / y.mean())


def gains_table(y: Any, score: Any, *, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score decile (1 = highest scores).

    Columns: decile, customers, churners, churn_rate, share_contacted, share_of_churners
    (cumulative share of all churners found), lift (decile churn rate / overall rate),
    cumulative_lift.
    """
    y = np.asarray(y, dtype=float)
    order = _ranking(score)
    groups = np.array_split(y[order], bins)
    total = y.sum()
    rows = []
    cum_n = cum_k = 0.0
    for i, g in enumerate(groups, start=1):
        cum_n += g.size
        cum_k += g.sum()
        rows.append(
            {
                "decile": i,
                "customers": int(g.size),
                "churners": int(g.sum()),
                "churn_rate": float(g.mean()) if g.size else float("nan"),
                "share_contacted": cum_n / y.size,
                "share_of_churners": cum_k / total if total else float("nan"),
                "lift": float(g.mean() / y.mean()) if g.size and y.mean() else float("nan"),
                "cumulative_lift": float((cum_k / cum_n) / y.mean()) if y.mean() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def gains_curve(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative gains curve: (share of customers contacted, share of churners reached).

    Customers are contacted by descending score; both arrays start at 0 and end at 1.
    """
    y = np.asarray(y, dtype=float)
    order = _ranking(score)
    found = np.r_[0, np.cumsum(y[order])] / y.sum()
    share = np.arange(y.size + 1) / y.size
    return share, found


def roc_auc(y: Any, score: Any) -> float:
    """ROC-AUC by the Mann-Whitney rank formula (ties count one half).

    AUC = (sum of the ranks of the positives - n1 (n1 + 1) / 2) / (n1 n0)
    (Hanley and McNeil 1982); the same value as ``sklearn.metrics.roc_auc_score``,
    fast enough to bootstrap. NaN when only one class is present.
    """
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=float)
    n1 = y.sum()
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


class TiedScores:
    """One score's tie groups, found once, for the ROC-AUC and average precision of many
    resamples of the same customers (a bootstrap) without sorting each resample again.

    A resample is given by ``counts``: how often each customer was drawn
    (``np.bincount(idx, minlength=n)``). With P_g and N_g the drawn positives and
    negatives whose score is the g-th smallest distinct value,

        AUC = Σ_g P_g (Σ_{h<g} N_h + N_g / 2) / (n1 n0)

    the Mann-Whitney count with ties one half, the same sum as the rank formula of
    :func:`roc_auc` (equal bit for bit while the counts stay below 2^53); and, over the
    distinct values from the highest down, with TP_g and W_g the drawn positives and
    customers at or above the g-th,

        AP = Σ_g (P_g / n1) · TP_g / W_g

    the step-wise average precision of :func:`average_precision`.
    """

    def __init__(self, y: Any, score: Any) -> None:
        self.y = np.asarray(y, dtype=float)
        s = np.asarray(score, dtype=float)
        self.has_nan = bool(np.isnan(s).any())
        values, groups = np.unique(s, return_inverse=True)
        self.groups = groups.ravel()
        self.size = values.size
        # with labels 0 and 1, one pass counts both classes: bin 2g + y holds group g's class y
        self.binary = bool(np.all((self.y == 0) | (self.y == 1)))
        self.bins = 2 * self.groups + self.y.astype(np.intp) if self.binary else None

    def _per_group(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.binary:
            both = np.bincount(self.bins, weights=counts, minlength=2 * self.size)
            return both[1::2], both[0::2]
        pos = np.bincount(self.groups, weights=counts * self.y, minlength=self.size)
        every = np.bincount(self.groups, weights=counts, minlength=self.size)
        return pos, every - pos

    def auc(self, counts: np.ndarray) -> float:
        """ROC-AUC of the resample (NaN with one class only, or a NaN score, as :func:`roc_auc`)."""
        pos, neg = self._per_group(counts)
        n1, n0 = pos.sum(), neg.sum()
        if n1 == 0 or n0 == 0 or self.has_nan:
            return float("nan")
        below = np.cumsum(neg) - neg
        return float(np.sum(pos * (below + 0.5 * neg)) / (n1 * n0))

    def average_precision(self, counts: np.ndarray) -> float:
        """Average precision of the resample (NaN without a positive, as :func:`average_precision`)."""
        if self.has_nan:  # NaN scores are no threshold: the order of the resample decides
            raise ValueError("average precision of resamples with NaN scores needs the resampled rows")
        pos, neg = self._per_group(counts)
        n1 = pos.sum()
        if n1 == 0:
            return float("nan")
        pos, every = pos[::-1], (pos + neg)[::-1]
        keep = every > 0  # only values drawn are thresholds
        tp, w = np.cumsum(pos)[keep], np.cumsum(every)[keep]
        return float(np.sum(pos[keep] / n1 * tp / w))


def average_precision(y: Any, score: Any) -> float:
    """PR-AUC as average precision: AP = sum_k (R_k - R_(k-1)) P_k over distinct thresholds.

    The step-wise area of ``sklearn.metrics.average_precision_score`` (no interpolation);
    tied scores form one threshold. NaN when there is no positive.
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _bootstrap_auc_ap(y: np.ndarray, s: np.ndarray, *, n_boot: int, random_state: int) -> tuple[Estimate, Estimate]:
    """ROC-AUC and average precision with the percentile intervals of
    :func:`engage_kit.stats.bootstrap_estimate` (the same draws: ``rng.integers(0, n, n)`` from
    ``random_state``), each resample scored through :class:`TiedScores` instead of sorted."""
    n = y.size
    auc_value, ap_value = roc_auc(y, s), average_precision(y, s)
    if n < 2:
        return (Estimate(auc_value, float("nan"), float("nan"), n, "bootstrap"),
                Estimate(ap_value, float("nan"), float("nan"), n, "bootstrap"))
    tied = TiedScores(y, s)
    rng = np.random.default_rng(random_state)
    reps = np.empty((n_boot, 2))
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        if tied.has_nan:  # NaN scores: the functions themselves, on the resampled rows
            reps[i] = roc_auc(y[idx], s[idx]), average_precision(y[idx], s[idx])
            continue
        counts = np.bincount(idx, minlength=n).astype(float)
        reps[i] = tied.auc(counts), tied.average_precision(counts)
    out = []
    for value, r in ((auc_value, reps[:, 0]), (ap_value, reps[:, 1])):
        r = r[np.isfinite(r)]
        lo, hi = (np.quantile(r, [0.025, 0.975]) if r.size else (np.nan, np.nan))
        out.append(Estimate(float(value), float(lo), float(hi), n, "bootstrap"))
    return out[0], out[1]


def evaluate_scores(
    y: Any,
    score: Any,
    *,
    probability: Any = None,
    n_boot: int = 200,
    random_state: int = 0,
) -> dict[str, Any]:
    """Discrimination and calibration of one set of churn scores.

    ROC-AUC and PR-AUC (average precision) come with percentile bootstrap intervals
    over customers (:func:`engage_kit.stats.bootstrap_estimate`); the Brier score is
    mean((p - y)^2) on ``probability`` (default: ``score``); top-decile lift is
    :func:`top_decile_lift`.

    Returns
    -------
    dict
        roc_auc (Estimate), pr_auc (Estimate), brier, top_decile_lift.
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    p = s if probability is None else np.asarray(probability, dtype=float)
    auc, ap = _bootstrap_auc_ap(y, s, n_boot=n_boot, random_state=random_state)
    return {
        "roc_auc": auc,
        "pr_auc": ap,
        "brier": float(np.mean((p - y) ** 2)),
        "top_decile_lift": top_decile_lift(y, s),
    }


def calibration_table(y: Any, probability: Any, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn rate in ``bins`` groups of equal size.

    Columns: bin, customers, predicted, observed, low, high (Wilson interval of the
    observed rate).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if idx.size == 0:
            continue
        k = y[idx].sum()
        lo, hi = wilson_interval(k, idx.size)
        rows.append({"bin": i, "customers": int(idx.size), "predicted": float(p[idx].mean()),
                     "observed": float(k / idx.size), "low": lo, "high": hi})
    return pd.DataFrame(rows)


def calibration_gap(calibration: pd.DataFrame) -> float:
    """The largest gap between predicted and observed churn over the bins of :func:`calibration_table`."""
    return float(np.max(np.abs(calibration["predicted"] - calibration["observed"])))


def confusion(y: Any, contacted: Any) -> dict[str, int]:
    """Counts of contacted/not contacted against churned/stayed: tp, fp, fn, tn."""
    y = np.asarray(y).astype(bool)
    c = np.asarray(contacted).astype(bool)
    return {"tp": int((c & y).sum()), "fp": int((c & ~y).sum()), "fn": int((~c & y).sum()), "tn": int((~c & ~y).sum())}


def confusion_rates(counts: dict[str, int]) -> dict[str, float]:
    """What the contacted group of :func:`confusion` holds.

    contacted = tp + fp; precision = tp / (tp + fp), the share of the contacted who churned;
    recall = tp / (tp + fn), the share of all churners contacted (each 0 when its group is empty).
    """
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {"contacted": tp + fp, "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}
