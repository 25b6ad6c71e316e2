"""BG/NBD: likelihood, predictions and the maximum-likelihood fit with an analytic gradient.

All formulas are numpy, vectorised and in the data's time unit; scalar inputs give
Python floats.

References
----------
[1] Fader, Hardie and Lee (2005a), "Counting Your Customers the Easy Way: An Alternative
    to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
[2] Fader and Hardie (2013), "Overcoming the BG/NBD Model's #NUM! Error Problem",
    http://brucehardie.com/notes/027/ ; P(alive): http://brucehardie.com/notes/021/
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

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
)
from .objective import betageo_fit

# --- formulas --------------------------------------------------------------------------


def bgnbd_log_likelihood(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood, equation (6) of [1].

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) / (α+T)^(r+x)
        + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / Γ(r) / (α+t_x)^(r+x)
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    x, tx, T = _arrays(frequency, recency, T)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    term1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        term2 = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return base + np.logaddexp(term1, term2)


def _log_hyp2f1_bgnbd(a_: np.ndarray, b_: np.ndarray, c_: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z) with Euler's transformation where the direct series overflows ([2])."""
    a_, b_, c_, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a_, b_, c_, z)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.log(hyp2f1(a_, b_, c_, z))
        bad = ~np.isfinite(out)
        if bad.any():  # the transformed series only where the direct one overflowed
            a2, b2, c2, z2 = a_[bad], b_[bad], c_[bad], z[bad]
            out[bad] = np.log(hyp2f1(c2 - a2, c2 - b2, c2, z2)) + (c2 - a2 - b2) * np.log1p(-z2)
    return out


def bgnbd_expected_purchases(params: Any, t: Any) -> Any:
    """E[X(t)]: expected repeat purchases in (0, t] of a new customer, equation (9) of [1].

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    (tt,) = _arrays(t)
    z = tt / (alpha + tt)
    lh = _log_hyp2f1_bgnbd(np.full_like(tt, r), np.full_like(tt, b), np.full_like(tt, a + b - 1), z)
    out = (a + b - 1) / (a - 1) * (1 - np.exp(lh + r * np.log(alpha / (alpha + tt))))
    return _scalar_or_array(np.where(tt > 0, out, 0.0), t)


def bgnbd_conditional_expected_purchases(params: Any, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t], equation (10) of [1].

    = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
      / [1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)]
    """
    tt, x, tx, TT = np.broadcast_arrays(*_arrays(t, frequency, recency, T))
    out = np.where(tt > 0, _bgnbd_if_alive(params, tt, x, TT) / _bgnbd_alive_odds(params, x, tx, TT), 0.0)
    return _scalar_or_array(out, t, frequency, recency, T)


def _bgnbd_if_alive(params: Any, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The numerator of equation (10) of [1], which does not depend on t_x:
    (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]."""
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    z = t / (alpha + T + t)
    lh = _log_hyp2f1_bgnbd(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    return first * (1 - np.exp(lh + (r + x) * np.log((alpha + T) / (alpha + t + T))))


def _bgnbd_alive_odds(params: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The denominator of equation (10) of [1]: 1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)."""
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf odds: P(alive) 0
        return 1 + np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)


def bgnbd_conditional_on_groups(params: Any, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                                groups: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """:func:`bgnbd_conditional_expected_purchases` for many rows that share few (x, T) pairs:
    the hypergeometric part once per pair. ``groups`` = (x of each pair, T of each pair,
    each row's pair), e.g. from :func:`xT_groups`. The same values, element for element."""
    gx, gT, at = groups
    gt = np.full(gx.shape, float(t))
    alive = _bgnbd_if_alive(params, gt, gx, gT)[at]
    out = alive / _bgnbd_alive_odds(params, x, tx, T)
    return np.where(float(t) > 0, out, 0.0)


def conditional_forecaster(model: TransactionModel, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> Any:
    """``f(t, at=model)``: ``at.conditional_expected_purchases(t, x, tx, T)`` for many ``t``, or
    many fits ``at`` of the same model (bootstrap draws), on the same rows.

    For BG/NBD the rows' distinct (x, T) pairs are found once and the hypergeometric part
    is taken per pair (:func:`bgnbd_conditional_on_groups`); other models use their own
    method. The same values, element for element.
    """
    x, tx, T = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(x, tx, T))
    groups = xT_groups(x, T) if isinstance(model, BGNBDModel) else None

    def forecast(t: float, at: TransactionModel | None = None) -> np.ndarray:
        at = model if at is None else at
        if groups is not None and isinstance(at, BGNBDModel):
            return bgnbd_conditional_on_groups(at.params_, float(t), x, tx, T, groups)
        return np.asarray(at.conditional_expected_purchases(t, x, tx, T), dtype=float)

    return forecast


def xT_groups(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, T) pairs of the rows and each row's pair, for :func:`bgnbd_conditional_on_groups`."""
    pairs, at = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    return pairs[:, 0].copy(), pairs[:, 1].copy(), at.reshape(-1)


def bgnbd_p_alive(params: Any, frequency: Any, recency: Any, T: Any) -> Any:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) ([2], note 021)."""
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    x, tx, TT = np.broadcast_arrays(*_arrays(frequency, recency, T))
    log_div = (r + x) * np.log((alpha + TT) / (alpha + tx)) + np.log(a / (b + np.maximum(x, 1) - 1))
    out = np.where(x == 0, 1.0, expit(-log_div))
    return _scalar_or_array(out, frequency, recency, T)


def prob_no_purchase(params: Any, frequency: Any, recency: Any, T: Any, t: Any) -> Any:
    """BG/NBD probability that a customer makes no purchase in the next ``t`` time units.

    P(Y(t) = 0 | x, t_x, T) = (1 − P(alive)) + P(alive) · ((α+T)/(α+T+t))^(r+x):
    a customer who has dropped out never buys again; one who is alive buys nothing in
    (T, T+t] with probability E[e^(−λt) | x, T] under the Gamma(r+x, α+T) posterior of λ
    (Fader, Hardie and Lee 2005a [1], sections 4-5). Also known as 1 − P(active in t).

    Parameters
    ----------
    params : mapping or BGNBDModel
        r, alpha, a, b in the data's time unit.
    frequency, recency, T : array_like
        The customer's history (recency and T in the time unit).
    t : float or array_like
        Length of the future window in the time unit.
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    x, tx, TT, tt = np.broadcast_arrays(*_arrays(frequency, recency, T, t))
    pa = np.asarray(bgnbd_p_alive({"r": r, "alpha": alpha, "a": a, "b": b}, x, tx, TT), dtype=float)
    out = (1 - pa) + pa * ((alpha + TT) / (alpha + TT + tt)) ** (r + x)
    return _scalar_or_array(out, frequency, recency, T, t)


def bgnbd_pmf(params: Any, t: Any, n: int) -> Any:
    """P(X(t) = n): probability of n repeat purchases in (0, t] for a new customer, equation (8) of [1].

    = B(a, b+n)/B(a, b) · Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n
      + δ(n>0) B(a+1, b+n−1)/B(a, b) · [1 − (α/(α+t))^r Σ_{j<n} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j]
    """
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    (tt,) = _arrays(t)
    n = int(n)
    with np.errstate(divide="ignore"):
        lp = r * np.log(alpha / (alpha + tt))
        lq = np.log(tt / (alpha + tt))
    nb_terms = [np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + lp + (j * lq if j else 0.0)) for j in range(n + 1)]
    first = np.exp(betaln(a, b + n) - betaln(a, b)) * nb_terms[n]
    if n > 0:
        second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1 - np.sum(nb_terms[:n], axis=0))
    else:
        second = 0.0
    return _scalar_or_array(first + second, t)


# --- fitted model ----------------------------------------------------------------------


class BGNBDModel(TransactionModel):
    """A fitted BG/NBD model (Fader, Hardie and Lee 2005a): r, alpha (time unit), a, b."""

    name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    formulas = PurchaseFormulas(bgnbd_log_likelihood, bgnbd_expected_purchases,
                                bgnbd_conditional_expected_purchases, bgnbd_p_alive)

    def prob_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability of no purchase in the next ``t`` time units (see :func:`prob_no_purchase`)."""
        return prob_no_purchase(self.params_, frequency, recency, T, t)

    def pmf(self, t: Any, n: int) -> Any:
        """P(X(t) = n) for a new customer (equation 8)."""
        return bgnbd_pmf(self.params_, t, n)


# --- fitting ---------------------------------------------------------------------------


def bgnbd_mean_nll_and_grad(
    log_params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    penalizer: float = 0.0,
    x_unique: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Weighted mean negative BG/NBD log-likelihood and its analytic gradient in log space.

    The objective is the one lifetimes' BetaGeoFitter minimises: −Σ wᵢ LLᵢ / Σ wᵢ +
    penalizer · Σ θ² over θ = (r, α, a, b), with LLᵢ from equation (6) of [1] written as
    LL = A₁ + A₂ + log(e^{A₃} + δ(x>0) e^{A₄}). With the softmax weights
    p₃ = e^{A₃}/(e^{A₃} + δ e^{A₄}), p₄ = 1 − p₃ and ψ the digamma function:

    ∂LL/∂r = ψ(r+x) − ψ(r) + ln α − p₃ ln(α+T) − p₄ ln(α+tₓ)
    ∂LL/∂α = r/α − (r+x) (p₃/(α+T) + p₄/(α+tₓ))
    ∂LL/∂a = ψ(a+b) − ψ(a+b+x) + p₄/a
    ∂LL/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − p₄/(b+x−1)

    and ∂/∂log θ = θ ∂/∂θ. One pass over the (compressed) rows gives both. The gamma and
    digamma terms depend on x alone: with ``x_unique`` = (unique x, index of each row)
    they are computed once per distinct frequency.
    """
    r, alpha, a, b = np.exp(log_params)
    ux, inv = x_unique if x_unique is not None else np.unique(x, return_inverse=True)

    def per_x(f: Any, v: np.ndarray) -> np.ndarray:
        return f(v)[inv]

    rx = r + x
    log_aT = np.log(alpha + T)
    log_at = np.log(alpha + tx)
    repeat = x > 0
    xm1 = np.maximum(x, 1) - 1
    A1 = per_x(gammaln, r + ux) - gammaln(r) + r * np.log(alpha)
    A2 = gammaln(a + b) + per_x(gammaln, b + ux) - gammaln(b) - per_x(gammaln, a + b + ux)
    A3 = -rx * log_aT
    A4 = np.where(repeat, np.log(a) - np.log(b + xm1) - rx * log_at, -np.inf)
    m = np.maximum(A3, A4)
    e3 = np.exp(A3 - m)
    e4 = np.exp(A4 - m)
    tot = e3 + e4
    ll = A1 + A2 + np.log(tot) + m
    p3 = e3 / tot
    p4 = e4 / tot
    W = w.sum()
    d_r = per_x(digamma, r + ux) - digamma(r) + np.log(alpha) - p3 * log_aT - p4 * np.where(repeat, log_at, 0.0)
    d_alpha = r / alpha - rx * (p3 / (alpha + T) + np.where(repeat, p4 / (alpha + tx), 0.0))
    dab = digamma(a + b) - per_x(digamma, a + b + ux)
    d_a = dab + p4 / a
    d_b = dab + per_x(digamma, b + ux) - digamma(b) - np.where(repeat, p4 / (b + xm1), 0.0)
    theta = np.array([r, alpha, a, b])
    # elementwise products and sums, not BLAS dot products: on a busy machine BLAS
    # threads waiting for a core made each evaluation many times slower
    grad_ll = np.array([np.sum(w * d_r), np.sum(w * d_alpha), np.sum(w * d_a), np.sum(w * d_b)]) / W
    value = -np.sum(w * ll) / W + penalizer * float(np.sum(theta**2))
    grad = -grad_ll * theta + penalizer * 2 * theta**2
    return float(value), grad


def _bgnbd_mle(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float) -> tuple[dict, dict]:
    """Maximum-likelihood BG/NBD parameters and standard errors (own optimiser).

    Same objective, time scaling and start as lifetimes' BetaGeoFitter (times scaled by
    10 / max T, log parameters from 0.1, gradient tolerance 1e-7), minimised by BFGS with
    the analytic gradient instead of automatic differentiation (:class:`~.objective.BetaGeoObjective`,
    which sums per distinct value and over row blocks on threads); standard errors from the
    observed information in log space (forward differences of the analytic gradient), as
    lifetimes reports them.
    """
    return betageo_fit(x, tx, T, w, penalizer)


def fit_bgnbd(summary: Any, *, penalizer: float = 0.0) -> BGNBDModel:
    """Fit the BG/NBD model with lifetimes' ``BetaGeoFitter`` on compressed rows.

    Parameters
    ----------
    summary : ibis.Table or pandas.DataFrame
        Per-customer ``frequency``, ``recency``, ``T`` (from :func:`customer_summary`), or
        their unique rows with a ``weight`` column (from :func:`compress`).
    penalizer : float
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``); 0 for the plain
        maximum-likelihood estimate.

    Returns
    -------
    BGNBDModel
        ``params_`` (r, alpha in the summary's time unit, a, b), ``standard_errors_``,
        ``log_likelihood_`` (sum over customers, equation 6 of Fader, Hardie and Lee
        2005a), ``summary``.

    Raises
    ------
    ModelError
        On degenerate data (one customer, no repeat buyers) or when the optimiser does
        not converge (the message shows the data's shape and suggests a penalizer).
    """
    label = "BG/NBD"
    pen, x, tx, T, w = _fit_data(summary, penalizer, label)
    lifetimes, _ = _lifetimes()
    fitter = lifetimes.BetaGeoFitter(penalizer_coef=pen)
    # own optimiser with the analytic gradient (several times faster than lifetimes'
    # autograd on a million customers; the same estimates, checked in the tests);
    # the lifetimes object then carries the parameters for its prediction methods
    with np.errstate(all="ignore"):
        try:
            params, se = _bgnbd_mle(x, tx, T, w, pen)
        except (RuntimeError, np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise _not_converged(label, x, T, w, pen, _first_line(e, "")) from None
    _check_estimates(label, params, x, T, w, pen)
    fitter.params_ = pd.Series(params)
    ll = float(np.sum(w * bgnbd_log_likelihood(params, x, tx, T)))
    return BGNBDModel(params, se, ll, w.sum(), x.size, penalizer=pen, fitter=fitter)
