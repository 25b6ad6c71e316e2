"""The purchase models BG/NBD is compared with: Pareto/NBD and MBG/NBD, fitted by maximum
likelihood on compressed rows with analytic gradients (the objectives of lifetimes'
``ParetoNBDFitter`` and ``ModifiedBetaGeoFitter``, :mod:`.pareto_objective` and
:mod:`.objective`), with their likelihoods and predictions.

All formulas are numpy, vectorised and in the data's time unit; scalar inputs give
Python floats. Pareto/NBD gets the standard errors ``lifetimes`` lacks.

References
----------
[3] Fader and Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
    Expressions", http://brucehardie.com/notes/009/
[4] Batislam, Denizel and Filiztekin (2007), "Empirical validation and comparison of
    models for customer base analysis" (MBG/NBD).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, hyp2f1, logsumexp

from .base import (
    PurchaseFormulas,
    TransactionModel,
    _arrays,
    _check_estimates,
    _first_line,
    _fit_data,
    _lifetimes,
    _not_converged,
    _params,
    _scalar_or_array,
    central_gradient_hessian,
    log_space_errors,
)
from .bgnbd import _log_hyp2f1_bgnbd
from .objective import betageo_fit, betageo_mle
from .pareto_objective import ParetoNBDObjective

# --- Pareto/NBD ------------------------------------------------------------------------


def _pareto_nbd_log_a0(r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """log A0 of equations (19)/(20) of [3] (−inf when t_x = T, where A0 = 0)."""
    if alpha >= beta:
        big, second = alpha, s + 1.0
    else:
        big, second = beta, r + x
    diff = abs(alpha - beta)
    rsx = r + s + x
    q1 = big + tx
    q2 = big + T
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = hyp2f1(rsx, second, rsx + 1.0, diff / q1)
        p2 = hyp2f1(rsx, second, rsx + 1.0, diff / q2)
        # log(p1/q1^rsx − p2/q2^rsx); exactly 0 (log −inf) when t_x = T
        out = logsumexp(
            np.stack([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)]),
            axis=0,
            b=np.stack([np.ones_like(x), -np.ones_like(x)]),
        ) - rsx * np.log(q1 * q2)
    return np.where(tx >= T, -np.inf, out)


def pareto_nbd_log_likelihood(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood, equation (18) of [3].

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A0 ],
    A0 from equations (19)/(20) (Gauss hypergeometric function; the larger of α, β
    in the denominator).
    """
    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    x, tx, T = np.broadcast_arrays(*_arrays(frequency, recency, T))
    log_a0 = _pareto_nbd_log_a0(r, alpha, s, beta, x, tx, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T), np.log(s) + log_a0 - np.log(r + s + x))
    return a1 + a2


def pareto_nbd_p_alive(params: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """Pareto/NBD P(alive | x, t_x, T), equation (11) of Fader and Hardie's note 009 [3].

    P(alive) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0), computed as
    expit(−log of the second term), so it stays in [0, 1] where A0 under- or overflows
    (P(alive) = 1 when t_x = T).
    """
    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    shape = np.broadcast_shapes(*(np.shape(v) for v in (frequency, recency, T)))
    x, tx, TT = (a.reshape(-1) for a in np.broadcast_arrays(*_arrays(frequency, recency, T)))
    log_a0 = _pareto_nbd_log_a0(r, alpha, s, beta, x, tx, TT)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + TT) + s * np.log(beta + TT) + log_a0
    out = np.where(np.isneginf(log_ratio), 1.0, expit(-log_ratio)).reshape(shape)
    return _scalar_or_array(out, frequency, recency, T)


def _pareto_nbd_drop_term(s: float, beta: float, T: Any, t: Any) -> np.ndarray:
    """(1 − ((β+T)/(β+T+t))^(s−1)) / (s−1), and its limit log((β+T+t)/(β+T)) at s = 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(beta + T) - np.log(beta + T + t)
        if abs(s - 1.0) < 1e-12:
            return -log_ratio
        return -np.expm1((s - 1.0) * log_ratio) / (s - 1.0)


def pareto_nbd_expected_purchases(params: Any, t: Any) -> Any:
    """Pareto/NBD E[X(t)] for a new customer, equation (17) of [3].

    E[X(t)] = r β / (α (s−1)) · [1 − (β/(β+t))^(s−1)]
    """
    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    (tt,) = _arrays(t)
    out = r * beta / alpha * _pareto_nbd_drop_term(s, beta, 0.0, tt)
    return _scalar_or_array(np.where(tt > 0, out, 0.0), t)


def pareto_nbd_conditional_expected_purchases(params: Any, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """Pareto/NBD E[Y(t) | x, t_x, T], equation (22) of [3].

    E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive | x, t_x, T)
    """
    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    tt, x, tx, TT = np.broadcast_arrays(*_arrays(t, frequency, recency, T))
    pa = np.asarray(pareto_nbd_p_alive({"r": r, "alpha": alpha, "s": s, "beta": beta}, x, tx, TT), dtype=float)
    out = (r + x) * (beta + TT) / (alpha + TT) * _pareto_nbd_drop_term(s, beta, TT, tt) * pa
    return _scalar_or_array(np.where(tt > 0, out, 0.0), t, frequency, recency, T)


class ParetoNBDModel(TransactionModel):
    """A fitted Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): r, alpha, s, beta."""

    name = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")

    formulas = PurchaseFormulas(pareto_nbd_log_likelihood, pareto_nbd_expected_purchases,
                                pareto_nbd_conditional_expected_purchases, pareto_nbd_p_alive)


def fit_pareto_nbd(summary: Any, *, penalizer: float = 0.0) -> ParetoNBDModel:
    """Fit the Pareto/NBD model by maximum likelihood on compressed rows, with the analytic gradient.

    The objective, time scaling (the longest T is 1) and penalty of lifetimes'
    ``ParetoNBDFitter`` (:class:`~.pareto_objective.ParetoNBDObjective`), minimised by BFGS
    from lifetimes' start (every parameter 1 in its time unit), then Newton steps to a
    gradient below 1e-12 (:func:`~.objective.betageo_mle` with ``polish``). Standard errors
    come from the observed information of the log-likelihood (equation 18 of Fader and
    Hardie's note 009, without the penalty) in log-parameter space, the Hessian by central
    differences of the analytic gradient.

    Parameters
    ----------
    summary : pandas.DataFrame or table
        frequency, recency and T per customer, or compressed rows with a weight column.
    penalizer : float
        lifetimes' ``penalizer_coef``: an L2 penalty on the parameters in lifetimes' time unit.

    Raises
    ------
    ParameterError
        For impossible rows or penalizer.
    ModelError
        When the data cannot identify the model or the fit does not converge.
    """
    label = "Pareto/NBD"
    pen, x, tx, T, w = _fit_data(summary, penalizer, label)
    lifetimes, _ = _lifetimes()
    scale = 1.0 / float(np.max(T))  # lifetimes' ParetoNBDFitter rescales time so the longest T is 1
    names = ("r", "alpha", "s", "beta")
    with np.errstate(all="ignore"):
        objective = ParetoNBDObjective(x, tx * scale, T * scale, w, pen)
        plain = objective.without_penalty()
        try:
            lp = betageo_mle(objective, polish=True, start=np.zeros(4), value_noise=1e-14)
            H = central_gradient_hessian(lambda p: plain(p)[1], lp)
            ll = -plain(lp)[0] * float(w.sum()) + float(np.dot(w, x)) * np.log(scale)  # back in the data's time unit
        except (RuntimeError, np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise _not_converged(label, x, T, w, pen, _first_line(e, "")) from None
    theta = np.exp(lp)
    theta[[1, 3]] /= scale
    params = dict(zip(names, map(float, theta), strict=True))
    _check_estimates(label, params, x, T, w, pen)
    se = dict(zip(names, map(float, log_space_errors(theta, H, float(w.sum()))), strict=True))
    fitter = lifetimes.ParetoNBDFitter(penalizer_coef=pen)
    fitter.params_ = pd.Series(params)  # the lifetimes object carries the parameters for its predictions
    return ParetoNBDModel(params, se, float(ll), w.sum(), x.size, penalizer=pen, fitter=fitter)


# --- MBG/NBD ---------------------------------------------------------------------------


def mbgnbd_log_likelihood(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood (Batislam et al. 2007 [4]; drop-out possible at time 0).

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · [(α+T)^−(r+x) + (a/(b+x)) (α+t_x)^−(r+x)]
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    x, tx, T = _arrays(frequency, recency, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return a1 + a2 + a3 + np.logaddexp(a4, 0.0)


def mbgnbd_p_alive(params: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """MBG/NBD P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)) (Batislam et al. [4]).

    Unlike BG/NBD, a customer can drop out right after the first purchase, so x = 0 is
    not alive by construction.
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    x, tx, TT = np.broadcast_arrays(*_arrays(frequency, recency, T))
    log_div = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + TT) - np.log(alpha + tx))
    return _scalar_or_array(expit(-log_div), frequency, recency, T)


def mbgnbd_expected_purchases(params: Any, t: Any) -> Any:
    """MBG/NBD E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b+1; a+b; t/(α+t))] ([4]).

    E[(1−p)/p · (1 − e^(−λpt))] over λ ~ Gamma(r, α), p ~ Beta(a, b): the BG/NBD
    expectation with the extra chance (1 − p) of surviving the first purchase.
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    (tt,) = _arrays(t)
    z = tt / (alpha + tt)
    lh = _log_hyp2f1_bgnbd(np.full_like(tt, r), np.full_like(tt, b + 1), np.full_like(tt, a + b), z)
    out = b / (a - 1) * (1 - np.exp(lh + r * np.log(alpha / (alpha + tt))))
    return _scalar_or_array(np.where(tt > 0, out, 0.0), t)


def mbgnbd_conditional_expected_purchases(params: Any, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """MBG/NBD E[Y(t) | x, t_x, T] ([4]; lifetimes' ModifiedBetaGeoFitter):

    = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
      / [1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)]
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    tt, x, tx, TT = np.broadcast_arrays(*_arrays(t, frequency, recency, T))
    z = tt / (alpha + TT + tt)
    lh = _log_hyp2f1_bgnbd(r + x, b + x + 1, a + b + x, z)
    first = (a + b + x) / (a - 1)
    second = 1 - np.exp(lh + (r + x) * np.log((alpha + TT) / (alpha + tt + TT)))
    pa = np.asarray(mbgnbd_p_alive({"r": r, "alpha": alpha, "a": a, "b": b}, x, tx, TT), dtype=float)
    out = np.where(tt > 0, first * second * pa, 0.0)
    return _scalar_or_array(out, t, frequency, recency, T)


class MBGNBDModel(TransactionModel):
    """A fitted MBG/NBD model (Batislam et al. 2007): like BG/NBD, drop-out possible at time 0."""

    name = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")

    formulas = PurchaseFormulas(mbgnbd_log_likelihood, mbgnbd_expected_purchases,
                                mbgnbd_conditional_expected_purchases, mbgnbd_p_alive)


def fit_mbgnbd(summary: Any, *, penalizer: float = 0.0) -> MBGNBDModel:
    """Fit the MBG/NBD model by maximum likelihood on compressed rows, with the analytic gradient.

    The objective, time scaling, start and tolerance of lifetimes' ``ModifiedBetaGeoFitter``
    (:func:`~.objective.betageo_mle` on :class:`~.objective.BetaGeoObjective` with
    ``modified=True``), then Newton steps to the exact optimum (lifetimes stops within its
    tolerance of it: 1e-7 relative on CDNOW, 5e-7 on a million customers); standard errors from the observed
    information in log space, the Hessian by central differences of the analytic gradient
    (:func:`~.objective.betageo_fit`; lifetimes differentiates its objective twice
    automatically, and the two standard errors differ by 1.7e-7 relative on CDNOW and 3.8e-7
    on a million customers).
    See :func:`fit_bgnbd` for the arguments.
    """
    label = "MBG/NBD"
    pen, x, tx, T, w = _fit_data(summary, penalizer, label)
    lifetimes, _ = _lifetimes()
    with np.errstate(all="ignore"):
        try:
            params, se = betageo_fit(x, tx, T, w, pen, modified=True, polish=True)
        except (RuntimeError, np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise _not_converged(label, x, T, w, pen, _first_line(e, "")) from None
    _check_estimates(label, params, x, T, w, pen)
    fitter = lifetimes.ModifiedBetaGeoFitter(penalizer_coef=pen)
    fitter.params_ = pd.Series(params)  # the lifetimes object carries the parameters for its predictions
    ll = float(np.sum(w * mbgnbd_log_likelihood(params, x, tx, T)))
    return MBGNBDModel(params, se, ll, w.sum(), x.size,
                       penalizer=pen, fitter=fitter)
