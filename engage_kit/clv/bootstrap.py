"""Prediction intervals for the CLV models by the percentile bootstrap over customers.

Customers are resampled with replacement by drawing multinomial weights over the
compressed summary rows (one row per distinct (frequency, recency, T[, monetary_value])
with its count): drawing n customers with replacement from n is a draw of
Multinomial(n, wᵢ / n) counts over the rows, so nothing but the small compressed table
leaves the engine. Each resample is refitted by maximum likelihood, starting from the
full-data estimate; the purchase model and the spend model are refitted on the same
resampled customers (the rows carry both), so their uncertainty is joint. The population
forecasts and every row's expected purchases, P(alive) and CLV are recomputed at each
resample's parameters for the original customers, and the percentile interval of a figure
is the (α/2, 1 − α/2) quantiles of its resampled values (Efron and Tibshirani 1993, "An
Introduction to the Bootstrap", chapter 13). The intervals describe the uncertainty of
the fitted model (how far the parameters could be from what the data show), not the
chance variation of the purchases themselves.

Typical use::

    from engage_kit.clv import bootstrap
    boot = bootstrap.intervals(a.full_summary, a.bgnbd_full, gamma_gamma=a.gamma_gamma_full,
                               horizon=52, n_boot=200, seed=0)
    boot.parameters()            # estimate, low, high per parameter
    boot.results("bgnbd_full")   # results.json keys: low and high beside each figure
    boot.join(a.scored)          # clv_low, clv_high, ... joined back in the engine

:func:`analysis_intervals` does both fits of a :class:`~.analysis.CLVAnalysis` at once.

References
----------
[6] Efron and Tibshirani (1993), "An Introduction to the Bootstrap", Chapman & Hall,
    chapters 6 (bootstrap standard errors) and 13 (percentile intervals).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from ..errors import ModelError, ParameterError
from .base import TransactionModel, gradient_hessian
from .bgnbd import BGNBDModel, conditional_forecaster
from .gamma_gamma import GammaGammaModel
from .objective import BetaGeoObjective
from .prep import as_date, compress, days_per_unit, purchase_days
from .value import PURCHASE_KEYS, SCORE_KEYS, discount_rate_per_unit, discounted_expected_purchases

ROW_COLUMNS = ("p_alive", "expected_purchases", "clv")

# --- inputs ----------------------------------------------------------------------------


def _check_n_boot(n_boot: Any) -> int:
    try:
        n = int(n_boot)
    except (TypeError, ValueError):
        raise ParameterError(f"n_boot must be a whole number of bootstrap draws, at least 20; got {n_boot!r}") from None
    if n != n_boot or n < 20:
        raise ParameterError(f"n_boot must be a whole number of bootstrap draws, at least 20 (200 is usual); got {n_boot!r}")
    return n


def _check_level(level: Any) -> float:
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise ParameterError(f"level must be a fraction between 0.5 and 1 (0.95 for 95% intervals); got {level!r}") from None
    if not 0.5 <= lv < 1:
        raise ParameterError(f"level must be a fraction between 0.5 and 1 (0.95 for 95% intervals); got {level!r}")
    return lv


def compressed_rows(summary: Any, keys: tuple[str, ...]) -> pd.DataFrame:
    """Distinct ``keys`` rows with their customer count ``weight`` (int64), sorted by ``keys``.

    :func:`~engage_kit.clv.prep.compress`: an Ibis table is grouped in the engine (only the
    distinct rows leave it); a pandas DataFrame is grouped here, summing an existing ``weight``.
    """
    df = compress(summary, keys=tuple(keys)).reset_index(drop=True)
    df["weight"] = df["weight"].astype("int64")
    return df


# --- refits ----------------------------------------------------------------------------


def _inverse_hessian(grad: Callable[[np.ndarray], np.ndarray], lp: np.ndarray, h: float = 1e-6) -> np.ndarray | None:
    """Inverse of the Hessian (forward differences of the analytic gradient) at ``lp``, the
    start of every refit's BFGS: from the full-data curvature a warm start needs a few
    iterations instead of a dozen line searches. None when it is not positive definite."""
    H = gradient_hessian(grad, lp, step=h)
    try:
        np.linalg.cholesky(H)
        Hi = np.linalg.inv(H)
        return (Hi + Hi.T) / 2
    except np.linalg.LinAlgError:
        return None


def _refit_bgnbd(start: dict[str, float], objective: BetaGeoObjective, scale: float,
                 hess_inv: np.ndarray | None = None) -> dict[str, float]:
    """BG/NBD maximum likelihood on one draw's weights (``objective``: the rows with times
    multiplied by ``scale``, as :func:`~.bgnbd._bgnbd_mle` scales them), from ``start`` with
    BFGS and the analytic gradient; ``hess_inv`` the inverse Hessian at the start in that
    scaled log space."""
    lp0 = np.log([start["r"], start["alpha"] * scale, start["a"], start["b"]])
    with np.errstate(all="ignore"):
        res = minimize(objective, lp0, jac=True, method="BFGS",
                       options={"gtol": 1e-7, "maxiter": 2000, "hess_inv0": hess_inv})
    if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-6):
        raise ModelError(f"BG/NBD refit did not converge: {res.message}")
    theta = np.exp(res.x)
    theta[1] /= scale
    return dict(zip(("r", "alpha", "a", "b"), map(float, theta), strict=True))


def _refit_generic(model: TransactionModel, start: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                   w: np.ndarray, penalizer: float) -> dict[str, float]:
    """Any purchase model: BFGS on the weighted mean negative log-likelihood in log space
    (finite-difference gradient), from ``start``; slower than the BG/NBD refit."""
    keep = w > 0
    x, tx, T, w = x[keep], tx[keep], T[keep], w[keep]
    names = model.param_names
    W = float(w.sum())

    def f(lp: np.ndarray) -> float:
        p = dict(zip(names, np.exp(lp), strict=True))
        with np.errstate(all="ignore"):
            ll = model.formulas.log_likelihood(p, x, tx, T)
        v = -float(np.sum(w * ll)) / W + penalizer * float(np.sum(np.exp(2 * lp)))
        return v if np.isfinite(v) else 1e300

    res = minimize(f, np.log([start[k] for k in names]), method="BFGS", options={"gtol": 1e-6, "maxiter": 500})
    if not np.all(np.isfinite(res.x)) or res.fun >= 1e300:
        raise ModelError(f"{model.name} refit did not converge: {res.message}")
    return dict(zip(names, map(float, np.exp(res.x)), strict=True))


def gamma_gamma_mean_nll_and_grad(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray,
                                  penalizer: float = 0.0) -> tuple[float, np.ndarray]:
    """Weighted mean negative Gamma-Gamma log-likelihood and its gradient in log space.

    LL = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x − (px+q) ln(γ + m̄x)
    (Fader, Hardie and Lee 2005b, note 025, eq. 1a), so

    ∂LL/∂p = x [ψ(px+q) − ψ(px) + ln m̄ + ln x − ln(γ + m̄x)]
    ∂LL/∂q = ψ(px+q) − ψ(q) + ln γ − ln(γ + m̄x)
    ∂LL/∂γ = q/γ − (px+q)/(γ + m̄x)

    with ∂/∂log θ = θ ∂/∂θ and the penalty penalizer · Σ θ² (as lifetimes adds it).
    """
    p, q, g = np.exp(log_params)
    px = p * x
    lgm = np.log(g + m * x)
    ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * lgm
    dpq = digamma(px + q)
    d_p = x * (dpq - digamma(px) + np.log(m) + np.log(x) - lgm)
    d_q = dpq - digamma(q) + np.log(g) - lgm
    d_g = q / g - (px + q) / (g + m * x)
    W = w.sum()
    theta = np.array([p, q, g])
    grad_ll = np.array([np.sum(w * d_p), np.sum(w * d_q), np.sum(w * d_g)]) / W
    value = -float(np.sum(w * ll)) / W + penalizer * float(np.sum(theta**2))
    return value, -grad_ll * theta + penalizer * 2 * theta**2


class GammaGammaObjective:
    """:func:`gamma_gamma_mean_nll_and_grad` with its fixed parts summed once.

    The terms in x alone (ln Γ(px+q), ln Γ(px) and their digammas) are taken once per
    distinct x with the summed weights, and the terms linear in p (p Σ w x ln m̄,
    p Σ w x ln x, Σ w ln m̄) from sums made once; what is left per row and evaluation is
    one ln(γ + m̄x) and one division. The same value and gradient to rounding (1e-13).
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float = 0.0) -> None:
        self.ux, inv = np.unique(x, return_inverse=True)
        self.wu = np.bincount(inv.ravel(), weights=w, minlength=self.ux.size)
        self.w, self.mx = w, m * x
        self.wx = w * x
        self.W = float(w.sum())
        self.x_logs = float(np.sum(self.wx * (np.log(m) + np.log(x))))  # Σ w x (ln m̄ + ln x)
        self.w_log_m = float(np.sum(w * np.log(m)))
        self.penalizer = penalizer

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(log_params)
        pu = p * self.ux
        dpq = digamma(pu + q)
        per_x = float(np.sum(self.wu * (gammaln(pu + q) - gammaln(pu))))
        lgm = np.log(g + self.mx)
        inv_gm = 1.0 / (g + self.mx)
        s_wl, s_wxl = float(np.sum(self.w * lgm)), float(np.sum(self.wx * lgm))
        s_wi, s_wxi = float(np.sum(self.w * inv_gm)), float(np.sum(self.wx * inv_gm))
        W = self.W
        ll = per_x - W * gammaln(q) + W * q * np.log(g) + p * self.x_logs - self.w_log_m - p * s_wxl - q * s_wl
        d_p = float(np.sum(self.wu * self.ux * (dpq - digamma(pu)))) + self.x_logs - s_wxl
        d_q = float(np.sum(self.wu * dpq)) - W * digamma(q) + W * np.log(g) - s_wl
        d_g = W * q / g - p * s_wxi - q * s_wi
        theta = np.array([p, q, g])
        grad_ll = np.array([d_p, d_q, d_g]) / W
        value = -float(ll) / W + self.penalizer * float(np.sum(theta**2))
        return value, -grad_ll * theta + self.penalizer * 2 * theta**2


def _refit_gamma_gamma(start: dict[str, float], x: np.ndarray, m: np.ndarray, w: np.ndarray,
                       penalizer: float, hess_inv: np.ndarray | None = None) -> dict[str, float]:
    """Gamma-Gamma maximum likelihood on weighted (x, m̄) rows from ``start`` (BFGS, analytic
    gradient, :class:`GammaGammaObjective`)."""
    keep = w > 0
    objective = GammaGammaObjective(x[keep], m[keep], w[keep], penalizer)
    lp0 = np.log([start["p"], start["q"], start["gamma"]])
    with np.errstate(all="ignore"):
        res = minimize(objective, lp0, jac=True, method="BFGS",
                       options={"gtol": 1e-8, "maxiter": 2000, "hess_inv0": hess_inv})
    if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-5):
        raise ModelError(f"Gamma-Gamma refit did not converge: {res.message}")
    return dict(zip(("p", "q", "gamma"), map(float, np.exp(res.x)), strict=True))


def _model_at(model: Any, params: dict[str, float]) -> Any:
    """A model of the same class carrying ``params`` (no standard errors)."""
    return type(model)(params, {}, float("nan"), model.n_customers_, model.n_rows_, penalizer=model.penalizer)


# --- the result ------------------------------------------------------------------------


def _interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along the first axis ([6], chapter 13); NaN draws are ignored.

    The per-customer intervals are taken as the draws arrive (:class:`_Tails`, the same
    figures), so the tables here are small: figures and parameters per draw."""
    a = (1 - level) / 2
    draws = np.asarray(draws, dtype=float)
    with np.errstate(all="ignore"):
        f = np.nanquantile if np.isnan(draws).any() else np.quantile  # nanquantile is slow: only where needed
        lo, hi = f(draws, [a, 1 - a], axis=0)
    return lo, hi


class _Tails:
    """Each column's percentile interval over draws that arrive one row at a time, in memory
    for the tails only: the figures of :func:`_interval` over the whole table, bit for bit.

    A linear-interpolation percentile at level ``l`` of ``m`` draws reads two neighbouring
    order statistics, at positions ⌊q (m − 1)⌋ and the next, q = (1 − l)/2 from either end
    (Hyndman and Fan's method 7, numpy's default). So the k = ⌊q (n − 1)⌋ + 2 smallest and
    k largest draws of each column are all that is kept, for at most ``n`` draws: 6 of 200
    at 95%, instead of all 200. NaN draws are left out and counted per column, as
    ``np.nanquantile`` leaves them out. A million customers' intervals held 200 draws × 2.5M
    numbers (4 GB) before; their tails take 290 MB.

    Adding a row costs one comparison per column and side: a draw enters a column's tail
    only when it is below the tail's largest (above its smallest), which after b draws
    happens to k / b of the columns.
    """

    def __init__(self, n_columns: int, n_draws: int, level: float) -> None:
        self.q = (1 - level) / 2  # as _interval computes it
        self.k = int(math.floor(self.q * (n_draws - 1))) + 2
        self.low = np.full((self.k, n_columns), np.inf)  # ascending: the k smallest so far
        self.high = np.full((self.k, n_columns), -np.inf)  # descending: the k largest so far
        self.count = np.zeros(n_columns, dtype=np.int64)  # non-NaN draws per column

    @staticmethod
    def _bubble(tail: np.ndarray, carry: np.ndarray, smaller: bool) -> None:
        """Insert ``carry`` (one value per column, overwritten) into the columns of ``tail``,
        sorted ascending (``smaller``) or descending, in place: each value moves down its
        column to its place and the last value drops out."""
        keep, push = (np.minimum, np.maximum) if smaller else (np.maximum, np.minimum)
        kept = np.empty_like(carry)
        for row in tail:
            keep(row, carry, out=kept)
            push(row, carry, out=carry)
            row[...] = kept

    def _insert(self, tail: np.ndarray, v: np.ndarray, smaller: bool) -> None:
        """Insert ``v`` into each column's sorted ``tail`` where it belongs among its k values."""
        edge = tail[-1]
        at = np.flatnonzero(v < edge if smaller else v > edge)
        if not at.size:
            return
        if at.size > v.size // 4:  # most columns (the first draws): in place, no gather
            self._bubble(tail, v.copy(), smaller)
            return
        part = tail[:, at]
        self._bubble(part, v[at], smaller)
        tail[:, at] = part

    def add(self, row: np.ndarray) -> None:
        """One draw: a value per column."""
        v = np.asarray(row, dtype=float)
        nan = np.isnan(v)
        self.count += ~nan
        has_nan = bool(nan.any())
        self._insert(self.low, np.where(nan, np.inf, v) if has_nan else v, smaller=True)
        self._insert(self.high, np.where(nan, -np.inf, v) if has_nan else v, smaller=False)

    def _quantile(self, q: float, upper: bool) -> np.ndarray:
        """numpy's linear quantile of each column's ``count`` draws, from its tail."""
        m = self.count
        virtual = (m - 1) * q
        prev = np.floor(virtual)
        above = virtual >= m - 1  # numpy takes the last value (index -1) for both neighbours
        lo_idx = np.where(above, m - 1, prev).astype(np.intp)
        hi_idx = np.where(above, m - 1, prev + 1).astype(np.intp)
        gamma = virtual - np.where(above, -1.0, prev)
        cols = np.arange(m.size)
        if upper:  # position j from the bottom is the (m - 1 - j)-th largest
            a = self.high[np.clip(m - 1 - lo_idx, 0, self.k - 1), cols]
            b = self.high[np.clip(m - 1 - hi_idx, 0, self.k - 1), cols]
        else:
            a = self.low[np.clip(lo_idx, 0, self.k - 1), cols]
            b = self.low[np.clip(hi_idx, 0, self.k - 1), cols]
        with np.errstate(all="ignore"):  # numpy's _lerp, step for step
            diff = b - a
            out = a + diff * gamma
            np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
        out[m == 0] = np.nan  # no draw in the column
        return out

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """The low and high percentile of every column, as ``_interval(table, level)``."""
        return self._quantile(self.q, upper=False), self._quantile(1 - self.q, upper=True)


def _contain(value: Any, low: Any, high: Any) -> tuple[Any, Any]:
    """Bounds widened onto the estimate where a percentile lands on its wrong side (the
    kit's intervals always contain the figure: :class:`engage_kit.stats.Estimate`)."""
    v = np.asarray(value, dtype=float)
    lo = np.where(np.isfinite(low) & np.isfinite(v), np.minimum(low, v), low)
    hi = np.where(np.isfinite(high) & np.isfinite(v), np.maximum(high, v), high)
    return lo, hi


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass
class BootstrapResult:
    """Percentile-bootstrap intervals of a purchase model (and its spend model).

    Attributes
    ----------
    model_name : str
        The purchase model ("BG/NBD", ...).
    level : float
        Interval level (0.95).
    n_boot, n_failed, seed : int
        Draws asked for, refits that did not converge (left out), the seed.
    estimates : dict
        Full-data estimates: the purchase model's parameters, then the spend model's
        prefixed ``gamma_gamma.``.
    draws : pandas.DataFrame
        One row per successful draw, the same columns as ``estimates``.
    figures : dict
        Population figures, each ``{"value", "low", "high"}``: results.json names
        (``holdout.predicted_repeat_transactions``, ``clv.expected_purchases``,
        ``clv.total``, ``clv.mean``) as far as they were asked for.
    rows : pandas.DataFrame
        The compressed rows (keys, ``weight``) with ``<score>``, ``<score>_low`` and
        ``<score>_high`` for p_alive, expected_purchases and clv (when a horizon was given).
    seconds : float
        Wall time of the refits and predictions.
    """

    model_name: str
    level: float
    n_boot: int
    n_failed: int
    seed: int
    estimates: dict[str, float]
    draws: pd.DataFrame
    figures: dict[str, dict[str, float]]
    rows: pd.DataFrame
    keys: tuple[str, ...]
    seconds: float
    purchase_model: Any = field(repr=False, default=None)
    failures: list[str] = field(repr=False, default_factory=list)

    @property
    def n_draws(self) -> int:
        """Successful draws behind the intervals."""
        return len(self.draws)

    def models(self) -> list[Any]:
        """The purchase model at each draw's parameters (for bands of other figures)."""
        names = self.purchase_model.param_names
        return [_model_at(self.purchase_model, {k: float(row[k]) for k in names}) for _, row in self.draws.iterrows()]

    def band(self, statistic: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise percentile band of ``statistic(model)`` (a number or an array) over the draws."""
        vals = np.array([np.asarray(statistic(m), dtype=float) for m in self.models()])
        return _interval(vals, self.level)

    def parameters(self) -> pd.DataFrame:
        """model, parameter, estimate, se (standard deviation of the draws), low, high."""
        lo, hi = _interval(self.draws.to_numpy(float), self.level)
        est = np.array([self.estimates[k] for k in self.draws.columns])
        lo, hi = _contain(est, lo, hi)
        model = ["Gamma-Gamma" if k.startswith("gamma_gamma.") else self.model_name for k in self.draws.columns]
        return pd.DataFrame({
            "model": model,
            "parameter": [k.removeprefix("gamma_gamma.") for k in self.draws.columns],
            "estimate": est,
            "se": self.draws.std(ddof=1).to_numpy(float),
            "low": lo,
            "high": hi,
        })

    def results(self, prefix: str = "bgnbd_full", gamma_gamma_prefix: str | None = "gamma_gamma_full") -> dict[str, Any]:
        """results.json keys: ``low`` and ``high`` beside each figure.

        ``<prefix>.params_low`` and ``<prefix>.params_high`` beside ``<prefix>.params``
        (the spend model's beside ``<gamma_gamma_prefix>.params``), ``<figure>_low`` and
        ``<figure>_high`` beside each population figure (``clv.total_low`` ...), and
        ``<prefix>.bootstrap`` with the method, level, draws and failed refits.
        """
        par = self.parameters()
        out: dict[str, Any] = {}
        for model_key, sub in ((prefix, par[par["model"] != "Gamma-Gamma"]), (gamma_gamma_prefix, par[par["model"] == "Gamma-Gamma"])):
            if model_key is None or sub.empty:
                continue
            out[f"{model_key}.params_low"] = {r.parameter: _num(r.low) for r in sub.itertuples()}
            out[f"{model_key}.params_high"] = {r.parameter: _num(r.high) for r in sub.itertuples()}
        for key, f in self.figures.items():
            out[f"{key}_low"] = _num(f["low"])
            out[f"{key}_high"] = _num(f["high"])
        out[f"{prefix}.bootstrap"] = {"method": "percentile bootstrap over customers", "level": self.level,
                                      "n_boot": self.n_boot, "draws": self.n_draws, "failed": self.n_failed,
                                      "seed": self.seed}
        return out

    def customer_intervals(self) -> pd.DataFrame:
        """One row per compressed row: the keys and, per score, its interval columns."""
        cols = [c for s in ROW_COLUMNS for c in (f"{s}_low", f"{s}_high") if c in self.rows]
        return self.rows[list(self.keys) + cols]

    def join(self, scored: Any) -> Any:
        """``scored`` (Ibis table or DataFrame with the keys) with the interval columns
        joined on the keys; for an Ibis table the join runs in the engine."""
        rows = self.customer_intervals().copy()
        rows["frequency"] = rows["frequency"].astype("int64")
        if isinstance(scored, pd.DataFrame):
            return scored.merge(rows, on=list(self.keys), how="left")
        return scored.join(ibis.memtable(rows), list(self.keys))

    def __repr__(self) -> str:
        return (f"<BootstrapResult: {self.model_name}, {self.n_draws} of {self.n_boot} draws, "
                f"{self.level:.0%} percentile intervals, {self.seconds:.1f} s>")


# --- the bootstrap ---------------------------------------------------------------------


def intervals(
    summary_rows: Any,
    model: TransactionModel,
    *,
    gamma_gamma: GammaGammaModel | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    horizon: float | None = None,
    holdout_duration: float | None = None,
    time_unit: str = "W",
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    average_value: float | None = None,
) -> BootstrapResult:
    """Percentile-bootstrap intervals for a fitted purchase model and what it predicts.

    Parameters
    ----------
    summary_rows : ibis.Table or pandas.DataFrame
        The customers the model was fitted on: a per-customer summary (Ibis, e.g.
        ``a.full_summary``, grouped in the engine) or compressed rows with ``weight``
        (e.g. ``a.groups``). With ``monetary_value`` (and ``horizon``) the rows are
        (frequency, recency, T, monetary_value), as the CLV needs.
    model : TransactionModel
        The full-data fit (BG/NBD refits use its analytic gradient; other purchase models
        a finite-difference gradient, several times slower).
    gamma_gamma : GammaGammaModel, optional
        The spend model, refitted on the same resampled customers (repeat buyers with
        a positive mean spend).
    n_boot : int
        Bootstrap draws (at least 20; 200 is usual for 95% intervals [6]).
    seed : int
        Seed of the multinomial draws: the same seed gives the same intervals.
    level : float
        Interval level (0.95).
    horizon : float, optional
        CLV horizon in ``time_unit``: gives each row's p_alive, expected_purchases and clv
        intervals and the ``clv.expected_purchases``, ``clv.total``, ``clv.mean`` figures.
    holdout_duration : float, optional
        Holdout length in ``time_unit``: gives ``holdout.predicted_repeat_transactions``.
    time_unit, annual_discount_rate, margin, average_value :
        As in :func:`~.value.score_customers` (``average_value``: the value per purchase
        without a spend model).

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Draw b: weights w⁽ᵇ⁾ ~ Multinomial(n, wᵢ/n) over the rows (resampling n customers with
    replacement [6], chapter 6), refit from the full-data estimate, predictions for the
    original rows at θ⁽ᵇ⁾. CLV at a draw is margin · E[Z | x, m̄; θ_GG⁽ᵇ⁾] · E[Y(h) | x,
    t_x, T; θ⁽ᵇ⁾] · ρ, with ρ each row's discount factor (discounted over undiscounted
    expected purchases) at the full-data fit: the discount factor moves by far less than
    the interval across draws (checked in the tests), and computing it per draw would
    cost 52 hypergeometric evaluations per row instead of one. Refits that fail to
    converge are left out and counted (``n_failed``).
    """
    started = time.perf_counter()
    n_boot = _check_n_boot(n_boot)
    level = _check_level(level)
    unit = str(time_unit).upper()
    days_per_unit(unit)
    has_m = horizon is not None and (
        "monetary_value" in (summary_rows.columns if isinstance(summary_rows, ibis.Table) else pd.DataFrame(summary_rows).columns))
    if gamma_gamma is not None and not has_m:
        raise ParameterError("bootstrap: a spend model needs rows with monetary_value and a horizon")
    keys = tuple(SCORE_KEYS) if has_m else tuple(PURCHASE_KEYS)
    rows = compressed_rows(summary_rows, keys)
    w0 = rows["weight"].to_numpy(float)
    n = int(round(w0.sum()))
    if n < 2:
        raise ModelError("bootstrap: fewer than two customers to resample")
    fit_keys = rows[list(PURCHASE_KEYS)].to_numpy(float)
    ufit, inv = np.unique(fit_keys, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    ux, utx, uT = ufit[:, 0], ufit[:, 1], ufit[:, 2]
    wfit0 = np.bincount(inv, weights=w0, minlength=len(ufit))
    if gamma_gamma is not None:
        mv = rows["monetary_value"].to_numpy(float)
        gmask = (rows["frequency"].to_numpy(float) > 0) & (mv > 0)
        ugg, ginv = np.unique(np.column_stack([rows["frequency"].to_numpy(float)[gmask], mv[gmask]]), axis=0, return_inverse=True)
        ginv = ginv.reshape(-1)
    est = dict(model.params_)
    if gamma_gamma is not None:
        est.update({f"gamma_gamma.{k}": v for k, v in gamma_gamma.params_.items()})

    # BG/NBD: the hypergeometric part of each draw's forecast once per distinct (x, T), not per row
    forecast = conditional_forecaster(model, ux, utx, uT)

    def predict(pm: TransactionModel, gg: GammaGammaModel | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with np.errstate(all="ignore"):
            if holdout_duration is not None:
                hold = forecast(float(holdout_duration), pm)
                out["holdout.predicted_repeat_transactions"] = float(np.sum(wfit0 * hold))
            if horizon is not None:
                pa = np.asarray(pm.p_alive(ux, utx, uT), dtype=float)
                ep = forecast(float(horizon), pm)
                out["p_alive"], out["expected_purchases"] = pa, ep  # per distinct (x, t_x, T): rows gather them
        return out

    point = predict(model, gamma_gamma)
    if horizon is not None:
        disc = discounted_expected_purchases(model, ux, utx, uT, horizon=horizon, time_unit=unit,
                                             annual_discount_rate=annual_discount_rate)
        ep0 = np.asarray(model.conditional_expected_purchases(float(horizon), ux, utx, uT), dtype=float)
        with np.errstate(all="ignore"):
            rho = np.where(ep0 > 0, disc / ep0, 1.0 / (1 + discount_rate_per_unit(annual_discount_rate, unit)) ** (float(horizon) / 2))
        rho_rows = rho[inv]
        if gamma_gamma is None and average_value is None:
            raise ParameterError("bootstrap: the CLV needs a spend model or an average_value per purchase")

    def value_per_purchase(gg: GammaGammaModel | None) -> np.ndarray:
        if gg is None:
            return np.full(len(rows), float(average_value))
        return np.asarray(gg.expected_average_value(rows["frequency"].to_numpy(float), rows["monetary_value"].to_numpy(float)), dtype=float)

    def add_clv(pred: dict[str, Any], gg: GammaGammaModel | None) -> None:
        if horizon is None:
            return
        ep_rows = pred["expected_purchases"][inv]
        clv = float(margin) * value_per_purchase(gg) * ep_rows * rho_rows
        pred["clv"] = clv
        pred["clv.expected_purchases"] = float(np.sum(w0 * ep_rows))
        pred["clv.total"] = float(np.sum(w0 * clv))
        pred["clv.mean"] = pred["clv.total"] / w0.sum()

    add_clv(point, gamma_gamma)
    bg_hess = gg_hess = None
    if isinstance(model, BGNBDModel):
        scale = 10.0 / float(np.max(uT))
        # one thread: a draw's rows are a few blocks at most, and the pool would outlive the loop
        bg_objective = BetaGeoObjective(ux, utx * scale, uT * scale, wfit0, model.penalizer, threads=1)
        lp_est = np.log([est["r"], est["alpha"] * scale, est["a"], est["b"]])
        with np.errstate(all="ignore"):
            bg_hess = _inverse_hessian(lambda lp: bg_objective(lp)[1], lp_est)
    if gamma_gamma is not None:
        wg0 = np.bincount(ginv, weights=w0[gmask], minlength=len(ugg))
        lg_est = np.log([gamma_gamma.params_[k] for k in ("p", "q", "gamma")])
        with np.errstate(all="ignore"):
            gg_objective = GammaGammaObjective(ugg[:, 0], ugg[:, 1], wg0, gamma_gamma.penalizer)
            gg_hess = _inverse_hessian(lambda lp: gg_objective(lp)[1], lg_est)
    rng = np.random.default_rng(seed)
    draws: list[dict[str, float]] = []
    preds: list[dict[str, Any]] = []  # each draw's figures
    # each draw's per-row predictions go into the tails of their columns (only the draws
    # that can be a percentile are kept: _Tails)
    row_draws = {c: _Tails(np.size(point[c]), n_boot, level) for c in ROW_COLUMNS if c in point}
    failures: list[str] = []
    p = w0 / w0.sum()
    for _ in range(n_boot):
        wb = rng.multinomial(n, p).astype(float)
        wfit = np.bincount(inv, weights=wb, minlength=len(ufit))
        try:
            if isinstance(model, BGNBDModel):
                params = _refit_bgnbd(model.params_, bg_objective.reweighted(wfit), scale, bg_hess)
            else:
                params = _refit_generic(model, model.params_, ux, utx, uT, wfit, model.penalizer)
            if not all(np.isfinite(v) and 0 < v < 1e7 for v in params.values()):
                raise ModelError("the estimates ran off")
            pm = _model_at(model, params)
            gg = None
            row = dict(params)
            if gamma_gamma is not None:
                wg = np.bincount(ginv, weights=wb[gmask], minlength=len(ugg))
                gparams = _refit_gamma_gamma(gamma_gamma.params_, ugg[:, 0], ugg[:, 1], wg, gamma_gamma.penalizer, gg_hess)
                gg = _model_at(gamma_gamma, gparams)
                row.update({f"gamma_gamma.{k}": v for k, v in gparams.items()})
        except (ModelError, np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            failures.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
            continue
        pred = predict(pm, gg)
        add_clv(pred, gg)
        for c, tails in row_draws.items():
            tails.add(pred.pop(c))
        draws.append(row)
        preds.append(pred)
    if len(draws) < max(10, n_boot // 2):
        raise ModelError(
            f"bootstrap: only {len(draws)} of {n_boot} refits converged ({failures[0] if failures else ''}); "
            "the model is too weakly identified on these data for bootstrap intervals"
        )
    figures: dict[str, dict[str, float]] = {}
    for key in ("holdout.predicted_repeat_transactions", "clv.expected_purchases", "clv.total", "clv.mean"):
        if key in point:
            vals = np.array([d[key] for d in preds])
            lo, hi = _interval(vals, level)
            lo, hi = _contain(point[key], lo, hi)
            figures[key] = {"value": point[key], "low": float(lo), "high": float(hi)}
    out_rows = rows.copy()
    for col in list(row_draws):
        lo, hi = _contain(point[col], *row_draws.pop(col).interval())
        at = slice(None) if col == "clv" else inv  # p_alive and expected_purchases per distinct (x, t_x, T)
        out_rows[col] = point[col][at]
        out_rows[f"{col}_low"] = lo[at]
        out_rows[f"{col}_high"] = hi[at]
    return BootstrapResult(
        model_name=model.name, level=level, n_boot=n_boot, n_failed=len(failures), seed=int(seed), estimates=est,
        draws=pd.DataFrame(draws, columns=list(est)), figures=figures, rows=out_rows, keys=keys,
        seconds=time.perf_counter() - started, purchase_model=model, failures=failures,
    )


# --- the forecast band -----------------------------------------------------------------


def tracking_band(purchases: Any, boot: BootstrapResult, *, calibration_end: Any, observation_end: Any,
                  time_unit: str = "W", period_days: int = 7, start: Any = None,
                  firsts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pointwise percentile band of the repeat-purchase tracking forecast.

    The forecast of :func:`~.validation.tracking` (Σᵢ E[X((D − firstᵢ)/u)], equation 9 of
    Fader, Hardie and Lee 2005a, for the customers acquired by ``calibration_end``) at
    each draw of ``boot`` (a bootstrap of the calibration fit); one small engine query
    for the customers' first purchase days, none when they are given (``firsts``: first_day
    and n, as :func:`~.validation.tracking_counts` counts them).

    Returns
    -------
    pandas.DataFrame
        period, end, expected, expected_low, expected_high, cumulative_expected,
        cumulative_low, cumulative_high (the same periods as the tracking table).
    """
    unit = days_per_unit(time_unit)
    cal = as_date(calibration_end, "calibration_end")
    obs = as_date(observation_end, "observation_end")
    if firsts is None:
        days = purchase_days(purchases, start=start, end=obs)
        firsts = days.group_by("customer_id").aggregate(first_day=days.day.min())
        firsts = firsts.filter(firsts.first_day <= cal.date())
        firsts = firsts.group_by("first_day").aggregate(n=firsts.count()).order_by("first_day").execute()
    cols = ["period", "end", "expected", "expected_low", "expected_high", "cumulative_expected", "cumulative_low", "cumulative_high"]
    if firsts.empty:
        return pd.DataFrame(columns=cols)
    origin = pd.Timestamp(firsts["first_day"].min())
    n_periods = int(math.ceil(((obs - origin).days + 1) / period_days))
    k = np.arange(n_periods)
    ends = pd.DatetimeIndex(np.minimum(origin + pd.to_timedelta(k * period_days + period_days - 1, unit="D"), obs))
    first_off = (pd.to_datetime(firsts["first_day"]) - origin).dt.days.to_numpy(float)
    n_first = firsts["n"].to_numpy(float)
    end_off = (ends - origin).days.to_numpy(float)
    elapsed = np.maximum(end_off[:, None] - first_off[None, :], 0.0)
    u_days, e_inv = np.unique(elapsed, return_inverse=True)
    e_inv = e_inv.reshape(elapsed.shape)

    def cumulative(m: Any) -> np.ndarray:
        ex = np.asarray(m.expected_purchases(u_days / unit), dtype=float)
        return (ex[e_inv] * n_first).sum(axis=1)

    point = cumulative(boot.purchase_model)
    cum_draws = np.array([cumulative(m) for m in boot.models()])
    inc_draws = np.diff(np.concatenate([np.zeros((len(cum_draws), 1)), cum_draws], axis=1), axis=1)
    inc = np.diff(np.concatenate([[0.0], point]))
    clo, chi = _contain(point, *_interval(cum_draws, boot.level))
    ilo, ihi = _contain(inc, *_interval(inc_draws, boot.level))
    return pd.DataFrame({"period": k + 1, "end": ends, "expected": inc, "expected_low": ilo, "expected_high": ihi,
                         "cumulative_expected": point, "cumulative_low": clo, "cumulative_high": chi})[cols]


# --- the analysis as a whole -----------------------------------------------------------


@dataclass
class CLVIntervals:
    """Bootstrap intervals of a :class:`~.analysis.CLVAnalysis`: the calibration fit
    (holdout forecast, tracking band) and the full-period fit (parameters, horizon
    forecast, each customer's P(alive), expected purchases and CLV)."""

    calibration: BootstrapResult
    full: BootstrapResult
    band: pd.DataFrame

    @property
    def seconds(self) -> float:
        return self.calibration.seconds + self.full.seconds

    def results(self) -> dict[str, Any]:
        """The results.json keys to merge into ``a.results()`` (low/high beside each figure)."""
        out = self.calibration.results("bgnbd", "gamma_gamma")
        out.update(self.full.results("bgnbd_full", "gamma_gamma_full"))
        if len(self.band):
            last = self.band.iloc[-1]
            out["holdout.cumulative_forecast_low"] = _num(last["cumulative_low"])
            out["holdout.cumulative_forecast_high"] = _num(last["cumulative_high"])
        return out

    def customers_table(self, customers: Any) -> Any:
        """``customers`` (e.g. :func:`~.analysis.customers_table`) with ``clv_low`` and
        ``clv_high`` (and the P(alive) and expected-purchase bounds) joined in the engine,
        highest CLV first."""
        t = self.full.join(customers)
        if isinstance(t, pd.DataFrame):
            return t.sort_values(["clv", "customer_id"], ascending=[False, True]).reset_index(drop=True)
        return t.order_by([ibis.desc("clv"), "customer_id"])


def analysis_intervals(a: Any, purchases: Any, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> CLVIntervals:
    """Bootstrap both fits of a CLV analysis (see :func:`intervals`).

    Parameters
    ----------
    a : CLVAnalysis
        The result of :func:`~.analysis.analyse`.
    purchases : ibis.Table or pandas.DataFrame
        The purchases ``a`` was computed from (for the tracking band's first purchase days).
    n_boot, seed, level :
        As in :func:`intervals`; both fits use the same settings.
    """
    cal = intervals(a.groups, a.bgnbd, n_boot=n_boot, seed=seed, level=level,
                    holdout_duration=a.holdout_length, time_unit=a.time_unit)
    full = intervals(a.full_summary, a.bgnbd_full, gamma_gamma=a.gamma_gamma_full, n_boot=n_boot, seed=seed,
                     level=level, horizon=a.horizon, time_unit=a.time_unit, annual_discount_rate=a.annual_discount_rate,
                     margin=a.margin, average_value=a.average_value)
    band = tracking_band(purchases, cal, calibration_end=a.calibration_end, observation_end=a.observation_end,
                         time_unit=a.time_unit, firsts=a.tracking_counts.firsts if a.tracking_counts else None)
    return CLVIntervals(calibration=cal, full=full, band=band)
