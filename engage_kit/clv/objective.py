"""The BG/NBD and MBG/NBD objective on compressed rows, evaluated near the arithmetic limit,
and the maximum-likelihood fit both models share.

The mean negative log-likelihood of both models (the objective lifetimes' ``BetaGeoFitter``
and ``ModifiedBetaGeoFitter`` minimise) splits into terms that depend on one of x, T or t_x
alone, which are summed per distinct value with pre-summed weights, and one term per row:
the log of the two-part sum of equation (6) of Fader, Hardie and Lee (2005a). Per row that
costs one ``exp`` and one ``log``; everything else is a gather from a table of distinct
values or a multiply-add. The rows are evaluated in fixed blocks (cache-sized, summed in
a fixed order, so the result does not depend on the number of threads), the blocks on a
small thread pool: numpy releases the interpreter lock inside its loops.

References
----------
[1] Fader, Hardie and Lee (2005a), "Counting Your Customers the Easy Way: An Alternative
    to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
[2] Batislam, Denizel and Filiztekin (2007), "Empirical validation and comparison of
    models for customer base analysis", International Journal of Research in Marketing
    24(3), 201-209 (MBG/NBD).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln

from .base import central_gradient_hessian, gradient_hessian, log_space_errors

BLOCK = 1 << 16  # rows per block: its temporaries (0.5 MB each) stay in the core's cache
MAX_THREADS = 4
POLISH_STEPS = 5  # Newton steps after BFGS (two or three reach a gradient of 1e-12 from its tolerance)


class BetaGeoObjective:
    """Weighted mean negative log-likelihood of BG/NBD or MBG/NBD and its analytic gradient.

    With θ = (r, α, a, b), x the repeat purchases, t_x the recency, T the age and wᵢ the
    customers behind row i (W = Σ wᵢ), both models have

        LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+k) − ln B(a, b)
             − (r+x) ln(α+T) + δ · softplus(d),
        d  = ln a − ln(b+x+k−1) − (r+x) (ln(α+t_x) − ln(α+T)),

    where BG/NBD has k = 0 and δ = 1 for x > 0 only (equation 6 of [1]), and MBG/NBD has
    k = 1 and δ = 1 for every customer (drop-out possible at time 0, [2]). With
    p = expit(d), the weight of the second term (0 where δ = 0), and ψ the digamma function:

        ∂LL/∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T) − p (ln(α+t_x) − ln(α+T))
        ∂LL/∂α = r/α − (r+x)/(α+T) + p (r+x) (1/(α+T) − 1/(α+t_x))
        ∂LL/∂a = ψ(a+b) − ψ(a+b+x+k) + p/a
        ∂LL/∂b = ψ(a+b) − ψ(b) + ψ(b+x+k) − ψ(a+b+x+k) − p/(b+x+k−1)

    The objective is −Σ wᵢ LLᵢ / W + penalizer · Σ θ² in log parameters (∂/∂ln θ = θ ∂/∂θ),
    as lifetimes defines it. The beta functions are taken as ln B (scipy's ``betaln``), not
    as differences of ln Γ, which lose 1e-11 to cancellation when b is large (a fit with
    almost no drop-out, b → ∞). Every term but softplus(d) and p is a sum per distinct x, T or
    t_x; softplus(d) = max(d, 0) + ln(1 + e^−|d|) and p = ½ + ½ sign(d) (1 − e^−|d|)/(1 + e^−|d|)
    share one exponential.

    Parameters
    ----------
    x, tx, T, w : numpy.ndarray
        Frequency, recency, age and weight of each (compressed) row, in one time unit.
    penalizer : float
        L2 penalty on θ.
    modified : bool
        False for BG/NBD, True for MBG/NBD.
    threads : int, optional
        Threads over the row blocks (default: the machine's cores, at most 4). The value
        does not depend on it.

    Use as a context manager (or call :meth:`close`) to stop the threads.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float = 0.0, *,
                 modified: bool = False, threads: int | None = None) -> None:
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        self.penalizer = float(penalizer)
        self.k = 1.0 if modified else 0.0
        self.ux, inv_x = np.unique(x, return_inverse=True)
        inv_T, self.uT = _factorize(T)
        rows = np.flatnonzero(np.ones(x.size, dtype=bool) if modified else x > 0)  # where δ = 1
        rows = rows[np.argsort(inv_x[rows], kind="stable")]  # by x: runs of one x are summed with reduceat
        self._x, self._inv_x, self._inv_T_all, self._rows = x, inv_x, inv_T, rows
        self._weigh(w)
        inv_tx, self.utx = _factorize(tx[rows])
        self.x_rows = x[rows]
        self.inv_T = inv_T[rows]
        self.inv_tx = inv_tx
        at_x = inv_x[rows]
        n = rows.size
        self.blocks = []
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            starts = np.flatnonzero(np.r_[True, at_x[lo + 1:hi] != at_x[lo:hi - 1]])
            self.blocks.append((lo, hi, starts, np.diff(np.r_[starts, hi - lo]), at_x[lo + starts]))
        threads = min(len(self.blocks), MAX_THREADS, os.cpu_count() or 1) if threads is None else threads
        self._pool = ThreadPoolExecutor(threads) if threads > 1 and len(self.blocks) > 1 else None

    def _weigh(self, w: np.ndarray) -> None:
        """The sums of the weights per distinct x and T, and the weights of the rows."""
        x, inv_T = self._x, self._inv_T_all
        self.W = float(w.sum())
        self.wx = np.bincount(self._inv_x, weights=w, minlength=self.ux.size)
        self.wT = np.bincount(inv_T, weights=w, minlength=self.uT.size)
        self.wxT = np.bincount(inv_T, weights=w * x, minlength=self.uT.size)
        self.w_rows = w[self._rows]

    def reweighted(self, w: np.ndarray) -> BetaGeoObjective:
        """The same rows with other weights (a bootstrap draw; zero weights allowed): the
        sorting and the distinct values are reused, only the weight sums are taken again. The
        copy shares this objective's thread pool: build it with ``threads=1`` to close neither."""
        other = copy.copy(self)
        other._weigh(np.asarray(w, dtype=float))
        return other

    def close(self) -> None:
        """Stop the threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> BetaGeoObjective:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _block(self, block: tuple[int, int, np.ndarray, np.ndarray, np.ndarray], r: float, log_a: float, log_bx: np.ndarray, inv_bx: np.ndarray,
               log_T: np.ndarray, log_tx: np.ndarray, inv_T: np.ndarray, inv_tx: np.ndarray) -> tuple[float, ...]:
        """Over one block of rows: Σ w softplus(d), Σ w p D, Σ w p (r+x) (1/(α+T) − 1/(α+t_x)),
        Σ w p and Σ w p / (b+x+k−1), with D = ln(α+t_x) − ln(α+T)."""
        lo, hi, starts, runs, at_x = block
        w = self.w_rows[lo:hi]
        at_T = self.inv_T[lo:hi]
        at_tx = self.inv_tx[lo:hi]
        D = log_tx[at_tx] - log_T[at_T]
        rx = self.x_rows[lo:hi] + r
        d = np.repeat(log_a - log_bx[at_x], runs) - rx * D
        e = np.exp(-np.abs(d))
        one_e = 1.0 + e
        # ln(1+e) is within 1.2e-16 of log1p(e) for e in (0, 1], at a fraction of the cost
        softplus = np.maximum(d, 0.0) + np.log(one_e)
        p = 0.5 + 0.5 * np.copysign((1.0 - e) / one_e, d)
        wp = w * p
        G = inv_T[at_T] - inv_tx[at_tx]
        p_runs = np.add.reduceat(wp, starts)  # Σ w p over each run of one x
        # einsum, not np.dot: BLAS threads inside these threads would wait for each other's cores
        return (float(np.einsum("i,i->", w, softplus)), float(np.einsum("i,i->", wp, D)),
                float(np.einsum("i,i,i->", wp, rx, G)), float(p_runs.sum()), float(np.dot(p_runs, inv_bx[at_x])))

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and gradient at ``log_params`` = ln(r, α, a, b)."""
        r, alpha, a, b = np.exp(log_params)
        ux, wx, W, k = self.ux, self.wx, self.W, self.k
        bx = b + np.maximum(ux + k, 1.0) - 1.0  # b + x + k − 1 (unused where δ = 0)
        log_T = np.log(alpha + self.uT)
        inv_T = 1.0 / (alpha + self.uT)
        args = (r, float(np.log(a)), np.log(bx), 1.0 / bx, log_T, np.log(alpha + self.utx), inv_T, 1.0 / (alpha + self.utx))
        if self._pool is None:
            parts = [self._block(block, *args) for block in self.blocks]
        else:
            parts = list(self._pool.map(lambda block: self._block(block, *args), self.blocks))
        s_softplus, s_pD, s_pG, s_p, s_p_bx = (sum(p[i] for p in parts) for i in range(5))
        ll = (np.dot(wx, gammaln(r + ux)) - W * gammaln(r) + W * r * np.log(alpha)
              + np.dot(wx, betaln(a, b + ux + k)) - W * betaln(a, b)
              - r * np.dot(self.wT, log_T) - np.dot(self.wxT, log_T) + s_softplus)
        psi_abx = digamma(a + b + ux + k)
        g_r = np.dot(wx, digamma(r + ux)) - W * digamma(r) + W * np.log(alpha) - np.dot(self.wT, log_T) - s_pD
        g_alpha = W * r / alpha - np.dot(r * self.wT + self.wxT, inv_T) + s_pG
        g_a = W * digamma(a + b) - np.dot(wx, psi_abx) + s_p / a
        g_b = W * (digamma(a + b) - digamma(b)) + np.dot(wx, digamma(b + ux + k) - psi_abx) - s_p_bx
        theta = np.array([r, alpha, a, b])
        value = -ll / W + self.penalizer * float(np.sum(theta**2))
        grad = -np.array([g_r, g_alpha, g_a, g_b]) / W * theta + self.penalizer * 2 * theta**2
        return float(value), grad


def betageo_mle(objective: Callable[[np.ndarray], tuple[float, np.ndarray]], *, polish: bool = False,
                start: np.ndarray | None = None, value_noise: float = 0.0) -> np.ndarray:
    """Minimise a :class:`BetaGeoObjective` as lifetimes does; return the log parameters.

    lifetimes' start (log parameters 0.1, on times the caller has multiplied by 10 / max T;
    ``start`` for another one) and its tolerance (BFGS, gradient norm 1e-7), so the estimates
    are the ones lifetimes reaches, with the analytic gradient in place of automatic
    differentiation. BFGS stops within its tolerance of the optimum, which on a flat
    likelihood can leave the estimates 1e-5 (relative) from it; ``polish`` then takes
    Newton steps (Hessian by central differences of the gradient) while they lower the
    objective, until the gradient is below 1e-12: the exact maximum-likelihood estimate.
    Near the optimum a step lowers the objective by less than its rounding; with
    ``value_noise`` (relative) a step that raises it by no more than that is taken when it
    lowers the largest gradient component.

    Raises
    ------
    RuntimeError
        When the optimiser ends at a point that is not a minimum.
    """
    x0 = 0.1 * np.ones(4) if start is None else np.asarray(start, dtype=float)
    res = minimize(objective, x0, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
    if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-6):
        raise RuntimeError(res.message)
    lp = res.x
    if polish:
        value, grad = objective(lp)
        for _ in range(POLISH_STEPS):
            if np.max(np.abs(grad)) < 1e-12:
                break
            try:
                step = np.linalg.solve(central_gradient_hessian(lambda p: objective(p)[1], lp), grad)
            except np.linalg.LinAlgError:
                break
            new_value, new_grad = objective(lp - step)
            lower = new_value <= value or (new_value <= value + value_noise * abs(value)
                                           and np.max(np.abs(new_grad)) < np.max(np.abs(grad)))
            if not (np.isfinite(new_value) and lower):
                break
            lp, value, grad = lp - step, new_value, new_grad
    return lp


def betageo_fit(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float, *,
                modified: bool = False, polish: bool = False) -> tuple[dict[str, float], dict[str, float]]:
    """Maximum-likelihood BG/NBD (or MBG/NBD) parameters and their standard errors.

    lifetimes' time scaling (times multiplied by 10 / max T, so α is found in that unit and
    divided back), :func:`betageo_mle` on :class:`BetaGeoObjective`, and standard errors from
    the observed information in log space (:func:`~.base.log_space_errors`). The Hessian is
    taken by forward differences of the analytic gradient, as BG/NBD's published figures
    are, or by central differences when ``polish``
    (the exact optimum, where the O(h²) error matters).

    Returns
    -------
    params, standard_errors : dict
        Keyed r, alpha (in the data's time unit), a, b.

    Raises
    ------
    RuntimeError, numpy.linalg.LinAlgError, FloatingPointError, ValueError
        When the optimiser does not reach a minimum (the callers turn these into their
        not-converged :class:`~.base.ModelError`).
    """
    scale = 10.0 / float(np.max(T))
    with BetaGeoObjective(x, tx * scale, T * scale, w, penalizer, modified=modified) as objective:
        lp = betageo_mle(objective, polish=polish)
        hessian = central_gradient_hessian if polish else gradient_hessian
        H = hessian(lambda p: objective(p)[1], lp)
    theta = np.exp(lp)
    theta[1] /= scale
    se = log_space_errors(theta, H, float(np.sum(w)))
    names = ("r", "alpha", "a", "b")
    return dict(zip(names, map(float, theta), strict=True)), dict(zip(names, map(float, se), strict=True))


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value in its distinct values, and the distinct values (hashing, not sorting)."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp), np.asarray(uniques, dtype=float)
