"""BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma fits through ``lifetimes``, with our own
likelihoods, standard errors and predictions in the data's time unit.

The ``lifetimes`` fitters (0.11.3) are called with plain numpy arrays of the unique
(frequency, recency, T) rows and ``weights=`` (their counts): the same parameters as
fitting every customer, several times faster. engage_kit computes the log-likelihood as
the sum over customers at the fitted parameters in the data's time unit (``lifetimes``
keeps a per-customer mean on internally rescaled times), gives Pareto/NBD the standard
errors ``lifetimes`` lacks, and returns Python floats for scalar inputs.

References
----------
[1] Fader, Hardie and Lee (2005a), "Counting Your Customers the Easy Way: An Alternative
    to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
[2] Fader and Hardie (2013), "Overcoming the BG/NBD Model's #NUM! Error Problem",
    http://brucehardie.com/notes/027/ ; P(alive): http://brucehardie.com/notes/021/
[3] Fader and Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
    Expressions", http://brucehardie.com/notes/009/
[4] Batislam, Denizel and Filiztekin (2007), "Empirical validation and comparison of
    models for customer base analysis" (MBG/NBD).
[5] Fader, Hardie and Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis", JMR 42(4); Gamma-Gamma: http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import abc
import contextlib
import io
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logsumexp

from ..errors import ModelError, ParameterError
from .prep import summary_arrays

Z95 = 1.959963984540054
# a fit is at the edge of its parameter space when an estimate is outside [LOWER_BOUND,
# UPPER_BOUND] or its relative standard error exceeds MAX_RELATIVE_SE (its 95% interval
# would span a factor above e^(2 · 1.96 · 10), about 10^17)
LOWER_BOUND = 1e-5
UPPER_BOUND = 1e5
MAX_RELATIVE_SE = 10.0


# --- helpers ---------------------------------------------------------------------------


def _lifetimes():
    """Import the lifetimes fitters without letting them change global warning filters."""
    with warnings.catch_warnings():
        import lifetimes
        from lifetimes.utils import ConvergenceError
    return lifetimes, ConvergenceError


def _scalar_or_array(result: Any, *inputs: Any) -> Any:
    """A Python float when every input is a scalar, else a float numpy array."""
    arr = np.asarray(result, dtype=float)
    if all(np.ndim(v) == 0 for v in inputs):
        return float(arr.reshape(-1)[0]) if arr.size else float("nan")
    return arr


def _arrays(*values: Any) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _params(params: Any, names: tuple[str, ...]) -> tuple[float, ...]:
    if hasattr(params, "params_"):
        params = params.params_
    try:
        return tuple(float(params[n]) for n in names)
    except (KeyError, TypeError, IndexError):
        raise ParameterError(f"params must give {', '.join(names)}; got {params!r}") from None


def _shape_text(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> str:
    n = float(w.sum())
    repeat = float(w[x > 0].sum())
    return (
        f"{n:,.0f} customers in {x.size:,} unique (frequency, recency, T) rows, "
        f"{repeat:,.0f} ({repeat / n:.0%}) with repeat purchases, frequency up to {x.max():,.0f}, "
        f"T from {T.min():.3g} to {T.max():.3g}"
    )


def check_inputs(x: np.ndarray, tx: np.ndarray | None, T: np.ndarray, w: np.ndarray, model: str) -> None:
    """Raise :class:`ParameterError` for impossible (frequency, recency, T) rows.

    Frequency must be a whole number >= 0, recency and T >= 0 and recency <= T
    (T = 0 and recency = T are valid); weights must be >= 0. The message counts the
    bad rows and shows up to three.
    """
    with np.errstate(invalid="ignore"):
        rules = [
            ("frequency is not a whole number >= 0", ~np.isfinite(x) | (x < 0) | (x != np.round(x))),
            ("T is negative or not a number", ~np.isfinite(T) | (T < 0)),
            ("weight is negative or not a number", ~np.isfinite(w) | (w < 0)),
        ]
        if tx is not None:
            tol = 1e-9 * np.maximum(1.0, np.abs(T))
            rules[1:1] = [
                ("recency is negative or not a number", ~np.isfinite(tx) | (tx < 0)),
                ("recency is greater than T", np.isfinite(tx) & np.isfinite(T) & (tx > T + tol)),
            ]
    problems = []
    for what, bad in rules:
        idx = np.flatnonzero(bad)
        if idx.size:
            shown = ", ".join(
                "(" + ", ".join(f"{name}={arr[i]:g}" for name, arr in (("frequency", x), ("recency", tx), ("T", T)) if arr is not None) + ")"
                for i in idx[:3]
            )
            problems.append(f"{idx.size:,} row(s) where {what}, e.g. {shown}")
    if problems:
        raise ParameterError(f"{model}: impossible customer summaries: " + "; ".join(problems))


def check_fit_data(x: np.ndarray, T: np.ndarray, w: np.ndarray, model: str, tx: np.ndarray | None = None) -> None:
    """Raise :class:`ParameterError` for impossible rows (:func:`check_inputs`) and a clear
    :class:`ModelError` when the data cannot identify the model."""
    check_inputs(x, tx, T, w, model)
    n = float(np.sum(w))
    if x.size == 0 or n == 0:
        raise ModelError(f"{model}: no customers to fit; check the dates (is the calibration period empty?)")
    if n < 2:
        raise ModelError(
            f"{model}: only one customer in the data; the model describes how purchase rates "
            "vary across customers and needs many (hundreds at least)"
        )
    if not np.any(x > 0):
        raise ModelError(
            f"{model}: none of the {n:,.0f} customers made a repeat purchase (every frequency is 0), "
            "so purchase rates and drop-out cannot be estimated; use a longer calibration period "
            "or check that purchases on different days are not merged (customer_id, timestamp)"
        )
    if float(np.max(T)) <= 0:
        raise ModelError(f"{model}: every customer's T is 0 (all first purchases on the end date); move the end date later")


def _not_converged(model: str, x: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float, detail: str = "") -> ModelError:
    suggestion = 0.001 if penalizer <= 0 else penalizer * 10
    return ModelError(
        f"{model} did not converge{(': ' + detail) if detail else ''}. Data: {_shape_text(x, T, w)}. "
        f"Try penalizer={suggestion:g} (a small L2 penalty on the parameters; raise it tenfold if that "
        "is not enough), or a longer calibration period."
    )


def numeric_hessian(f, x0: np.ndarray, *, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function ``f`` at ``x0``."""
    x0 = np.asarray(x0, dtype=float)
    k = x0.size
    h = step * np.maximum(1.0, np.abs(x0))
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i = np.zeros(k)
            e_j = np.zeros(k)
            e_i[i] = h[i]
            e_j[j] = h[j]
            val = (f(x0 + e_i + e_j) - f(x0 + e_i - e_j) - f(x0 - e_i + e_j) + f(x0 - e_i - e_j)) / (4 * h[i] * h[j])
            H[i, j] = H[j, i] = val
    return H


def log_space_standard_errors(total_ll, params: np.ndarray) -> np.ndarray:
    """Standard errors of positive parameters from the observed information in log space.

    Var(theta) = J (−∇² LL(log theta))⁻¹ J with J = diag(theta) (delta method).
    """
    logp = np.log(params)
    H = numeric_hessian(lambda lp: -total_ll(np.exp(lp)), logp)
    try:
        cov_log = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full(params.size, np.nan)
    var = np.diag(cov_log) * params**2
    return np.sqrt(np.where(var > 0, var, np.nan))


# --- formulas (numpy, vectorised, in the data's time unit) ------------------------------


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


def gamma_gamma_log_likelihood(params: Any, frequency: Any, monetary_value: Any) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend m̄ over x purchases ([5], eq. 1a).

    f(m̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + m̄x)^(px+q)
    """
    p, q, g = _params(params, ("p", "q", "gamma"))
    x, m = _arrays(frequency, monetary_value)
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + g)
    )


def _log_hyp2f1_bgnbd(a_: np.ndarray, b_: np.ndarray, c_: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z) with Euler's transformation where the direct series overflows ([2])."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = np.log(hyp2f1(a_, b_, c_, z))
        alt = np.log(hyp2f1(c_ - a_, c_ - b_, c_, z)) + (c_ - a_ - b_) * np.log1p(-z)
    return np.where(np.isfinite(direct), direct, alt)


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
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    tt, x, tx, TT = np.broadcast_arrays(*_arrays(t, frequency, recency, T))
    z = tt / (alpha + TT + tt)
    lh = _log_hyp2f1_bgnbd(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.exp(lh + (r + x) * np.log((alpha + TT) / (alpha + tt + TT)))
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + TT) / (alpha + tx)) ** (r + x), 0.0)
    out = np.where(tt > 0, first * second / denom, 0.0)
    return _scalar_or_array(out, t, frequency, recency, T)


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


# --- fitted models ---------------------------------------------------------------------


class FittedModel:
    """Common state of a fitted model: parameters, standard errors, log-likelihood, AIC.

    Attributes
    ----------
    params_ : dict
        Parameter estimates (time-dependent ones in the data's time unit).
    standard_errors_ : dict
        Standard errors (observed information, delta method from log space).
    log_likelihood_ : float
        Sum over customers of the log-likelihood at ``params_`` in the data's time unit.
    n_customers_ : int
        Customers behind the fit (sum of the weights).
    n_rows_ : int
        Unique rows passed to the optimiser.
    fitter_ : object
        The fitted ``lifetimes`` object (None for models fitted here).
    """

    name = "model"
    param_names: tuple[str, ...] = ()

    def __init__(self, params: dict[str, float], standard_errors: dict[str, float], log_likelihood: float,
                 n_customers: int, n_rows: int, *, penalizer: float = 0.0, fitter: Any = None) -> None:
        self.params_ = {k: float(params[k]) for k in self.param_names}
        self.standard_errors_ = {k: float(standard_errors.get(k, np.nan)) for k in self.param_names}
        self.log_likelihood_ = float(log_likelihood)
        self.n_customers_ = int(round(n_customers))
        self.n_rows_ = int(n_rows)
        self.penalizer = float(penalizer)
        self.fitter_ = fitter

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @property
    def aic_(self) -> float:
        """Akaike information criterion, 2k − 2 LL."""
        return 2 * self.n_params - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion, k ln n − 2 LL."""
        return self.n_params * math.log(max(self.n_customers_, 1)) - 2 * self.log_likelihood_

    @property
    def confidence_intervals_(self) -> dict[str, tuple[float, float]]:
        """95% Wald intervals computed in log space (so they stay positive).

        θ · exp(±1.96 se/θ); NaN where the interval cannot be estimated: no finite
        standard error (singular information matrix) or a relative standard error above
        :data:`MAX_RELATIVE_SE` (the fit is at the edge of the parameter space and the
        interval would span dozens of orders of magnitude).
        """
        out = {}
        for k in self.param_names:
            v, se = self.params_[k], self.standard_errors_[k]
            if not np.isfinite(se) or v <= 0 or se / v > MAX_RELATIVE_SE:
                out[k] = (float("nan"), float("nan"))
            else:
                f = math.exp(Z95 * se / v)
                out[k] = (v / f, v * f)
        return out

    @property
    def boundary_(self) -> dict[str, str]:
        """Parameters at the edge of the parameter space, each with why (empty for a regular fit).

        A parameter is at a bound when its estimate is below :data:`LOWER_BOUND` or above
        :data:`UPPER_BOUND`, or when its standard error cannot be estimated (a singular
        or nearly singular information matrix: relative standard error above
        :data:`MAX_RELATIVE_SE`). At a bound the likelihood is flat in some direction, so
        Wald intervals and the figures that depend on that parameter carry no information.
        """
        out = {}
        for k in self.param_names:
            v, se = self.params_[k], self.standard_errors_[k]
            if v < LOWER_BOUND:
                out[k] = f"{k} = {v:.3g}, at its lower bound 0"
            elif v > UPPER_BOUND:
                out[k] = f"{k} = {v:.3g}, running off to infinity"
            elif not np.isfinite(se) or se / v > MAX_RELATIVE_SE:
                out[k] = f"{k} = {v:.3g} with no estimable standard error"
        return out

    @property
    def at_boundary(self) -> bool:
        """True when the fit ended at the edge of the parameter space (see :attr:`boundary_`)."""
        return bool(self.boundary_)

    @property
    def summary(self) -> pd.DataFrame:
        """Parameter table: estimate, standard error, 95% interval."""
        ci = self.confidence_intervals_
        return pd.DataFrame(
            {
                "parameter": list(self.param_names),
                "estimate": [self.params_[k] for k in self.param_names],
                "se": [self.standard_errors_[k] for k in self.param_names],
                "low": [ci[k][0] for k in self.param_names],
                "high": [ci[k][1] for k in self.param_names],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """params, se, log_likelihood, aic, customers (for results.json)."""
        return {
            "params": dict(self.params_),
            "se": dict(self.standard_errors_),
            "log_likelihood": self.log_likelihood_,
            "aic": self.aic_,
            "customers": self.n_customers_,
            "at_boundary": sorted(self.boundary_),
        }

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={self.params_[k]:.4g}" for k in self.param_names)
        return f"<{type(self).__name__}: {self.name} fitted on {self.n_customers_:,} customers; {ps}; log-likelihood {self.log_likelihood_:,.2f}>"


class TransactionModel(FittedModel, abc.ABC):
    """A purchase-count model (BG/NBD family, Pareto/NBD) with its predictions."""

    @abc.abstractmethod
    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (each model's own formula)."""

    @abc.abstractmethod
    def expected_purchases(self, t: Any) -> Any:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t]."""

    @abc.abstractmethod
    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Expected purchases in the next ``t`` time units given (frequency, recency, T)."""

    @abc.abstractmethod
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that the customer has not dropped out by T."""


class BGNBDModel(TransactionModel):
    """A fitted BG/NBD model (Fader, Hardie and Lee 2005a): r, alpha (time unit), a, b."""

    name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        return bgnbd_log_likelihood(self.params_, frequency, recency, T)

    def expected_purchases(self, t: Any) -> Any:
        return bgnbd_expected_purchases(self.params_, t)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        return bgnbd_conditional_expected_purchases(self.params_, t, frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        return bgnbd_p_alive(self.params_, frequency, recency, T)

    def prob_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability of no purchase in the next ``t`` time units (see :func:`prob_no_purchase`)."""
        return prob_no_purchase(self.params_, frequency, recency, T, t)

    def pmf(self, t: Any, n: int) -> Any:
        """P(X(t) = n) for a new customer (equation 8)."""
        return bgnbd_pmf(self.params_, t, n)


class MBGNBDModel(TransactionModel):
    """A fitted MBG/NBD model (Batislam et al. 2007): like BG/NBD, drop-out possible at time 0."""

    name = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        return mbgnbd_log_likelihood(self.params_, frequency, recency, T)

    def expected_purchases(self, t: Any) -> Any:
        return mbgnbd_expected_purchases(self.params_, t)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        return mbgnbd_conditional_expected_purchases(self.params_, t, frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        return mbgnbd_p_alive(self.params_, frequency, recency, T)


class ParetoNBDModel(TransactionModel):
    """A fitted Pareto/NBD model (Schmittlein, Morrison and Colombo 1987): r, alpha, s, beta."""

    name = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        return pareto_nbd_log_likelihood(self.params_, frequency, recency, T)

    def expected_purchases(self, t: Any) -> Any:
        return pareto_nbd_expected_purchases(self.params_, t)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        return pareto_nbd_conditional_expected_purchases(self.params_, t, frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        return pareto_nbd_p_alive(self.params_, frequency, recency, T)


class GammaGammaModel(FittedModel):
    """A fitted Gamma-Gamma spend model: p, q, gamma (lifetimes calls gamma ``v``)."""

    name = "Gamma-Gamma"
    param_names = ("p", "q", "gamma")

    def log_likelihood(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        return gamma_gamma_log_likelihood(self.params_, frequency, monetary_value)

    @property
    def population_mean(self) -> float:
        """E[Z] = p γ / (q − 1): the mean spend per transaction across customers."""
        p, q, g = (self.params_[k] for k in self.param_names)
        return p * g / (q - 1) if q > 1 else float("nan")

    def expected_average_value(self, frequency: Any, monetary_value: Any) -> Any:
        """E[Z | x, m̄] = (γ + m̄x) p / (px + q − 1), equation (5) of note 025 ([5]).

        A weighted mean of the customer's own mean spend and the population mean;
        customers with x = 0 get the population mean.
        """
        p, q, g = (self.params_[k] for k in self.param_names)
        x, m = np.broadcast_arrays(*_arrays(frequency, monetary_value))
        m = np.where(x > 0, m, 0.0)
        out = (g + m * x) * p / (p * x + q - 1)
        return _scalar_or_array(out, frequency, monetary_value)


# --- fitting ---------------------------------------------------------------------------


def _check_penalizer(penalizer: float) -> float:
    try:
        pen = float(penalizer)
    except (TypeError, ValueError):
        raise ParameterError(f"penalizer must be a number >= 0; got {penalizer!r}") from None
    if not np.isfinite(pen) or pen < 0:
        raise ParameterError(f"penalizer must be a number >= 0; got {penalizer!r}")
    return pen


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


def _gradient_jacobian(lp: np.ndarray, args: tuple, h: float = 1e-6) -> np.ndarray:
    """Hessian of the BG/NBD objective: forward differences of its analytic gradient."""
    g0 = bgnbd_mean_nll_and_grad(lp, *args)[1]
    H = np.empty((4, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        H[i] = (bgnbd_mean_nll_and_grad(lp + e, *args)[1] - g0) / h
    return (H + H.T) / 2


def _bgnbd_mle(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float) -> tuple[dict, dict]:
    """Maximum-likelihood BG/NBD parameters and standard errors (own optimiser).

    Same objective, time scaling and start as lifetimes' BetaGeoFitter (times scaled by
    10 / max T, log parameters from 0.1, gradient tolerance 1e-7), minimised by BFGS with
    the analytic gradient instead of automatic differentiation; standard errors from the observed information in log space
    (forward differences of the analytic gradient), as lifetimes reports them.
    """
    scale = 10.0 / float(np.max(T))
    args = (x, tx * scale, T * scale, w, penalizer, np.unique(x, return_inverse=True))
    res = minimize(bgnbd_mean_nll_and_grad, 0.1 * np.ones(4), args=args, jac=True, method="BFGS",
                   options={"gtol": 1e-7, "maxiter": 2000})
    if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-6):
        raise RuntimeError(res.message)
    lp = res.x
    H = _gradient_jacobian(lp, args)  # observed information in log space
    theta = np.exp(lp)
    theta[1] /= scale
    try:
        var = theta**2 * np.diag(np.linalg.inv(H)) / w.sum()
        se = np.sqrt(np.where(var > 0, var, np.nan))
    except np.linalg.LinAlgError:
        se = np.full(4, np.nan)
    names = ("r", "alpha", "a", "b")
    return dict(zip(names, map(float, theta), strict=True)), dict(zip(names, map(float, se), strict=True))


def _fit_bg_family(summary: Any, penalizer: float, *, modified: bool) -> TransactionModel:
    pen = _check_penalizer(penalizer)
    arrays, w = summary_arrays(summary)
    x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
    label = "MBG/NBD" if modified else "BG/NBD"
    check_fit_data(x, T, w, label, tx)
    lifetimes, ConvergenceError = _lifetimes()
    cls = lifetimes.ModifiedBetaGeoFitter if modified else lifetimes.BetaGeoFitter
    fitter = cls(penalizer_coef=pen)
    if not modified:
        # own optimiser with the analytic gradient (several times faster than lifetimes'
        # autograd on a million customers; the same estimates, checked in the tests);
        # the lifetimes object then carries the parameters for its prediction methods
        with np.errstate(all="ignore"):
            try:
                params, se = _bgnbd_mle(x, tx, T, w, pen)
            except (RuntimeError, np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
                raise _not_converged(label, x, T, w, pen, str(e).strip().splitlines()[0] if str(e).strip() else "") from None
        if not all(np.isfinite(v) and v > 0 for v in params.values()) or max(params.values()) > 1e7:
            raise _not_converged(label, x, T, w, pen, f"the estimates ran off ({', '.join(f'{k}={v:.3g}' for k, v in params.items())})")
        fitter.params_ = pd.Series(params)
        ll = float(np.sum(w * bgnbd_log_likelihood(params, x, tx, T)))
        return BGNBDModel(params, se, ll, w.sum(), x.size, penalizer=pen, fitter=fitter)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fitter.fit(x.astype(int), tx, T, weights=w)
        except ConvergenceError:
            raise _not_converged(label, x, T, w, pen) from None
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise _not_converged(label, x, T, w, pen, str(e).strip().splitlines()[0]) from None
    params = {k: float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")}
    if not all(np.isfinite(v) and v > 0 for v in params.values()) or max(params.values()) > 1e7:
        raise _not_converged(label, x, T, w, pen, f"the estimates ran off ({', '.join(f'{k}={v:.3g}' for k, v in params.items())})")
    se = {k: float(fitter.standard_errors_[k]) for k in params}
    model_cls = MBGNBDModel if modified else BGNBDModel
    ll_fn = mbgnbd_log_likelihood if modified else bgnbd_log_likelihood
    ll = float(np.sum(w * ll_fn(params, x, tx, T)))
    return model_cls(params, se, ll, w.sum(), x.size, penalizer=pen, fitter=fitter)


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
    return _fit_bg_family(summary, penalizer, modified=False)  # type: ignore[return-value]


def fit_mbgnbd(summary: Any, *, penalizer: float = 0.0) -> MBGNBDModel:
    """Fit the MBG/NBD model (lifetimes' ``ModifiedBetaGeoFitter``); see :func:`fit_bgnbd`."""
    return _fit_bg_family(summary, penalizer, modified=True)  # type: ignore[return-value]


def fit_pareto_nbd(summary: Any, *, penalizer: float = 0.0) -> ParetoNBDModel:
    """Fit the Pareto/NBD model with lifetimes' ``ParetoNBDFitter`` on compressed rows.

    lifetimes starts Nelder-Mead from random values; here it starts from 1 (in
    lifetimes' rescaled time) with BFGS (Nelder-Mead, lifetimes' default, when BFGS
    fails), so fits are reproducible. Standard
    errors come from the numerical Hessian of the summed log-likelihood (equation 18 of
    Fader and Hardie's note 009) in log-parameter space.
    """
    pen = _check_penalizer(penalizer)
    arrays, w = summary_arrays(summary)
    x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
    check_fit_data(x, T, w, "Pareto/NBD", tx)
    lifetimes, ConvergenceError = _lifetimes()
    names = ("r", "alpha", "s", "beta")
    fitter = None
    error = ""
    for method in ("BFGS", "Nelder-Mead"):  # BFGS is 3x faster; Nelder-Mead is lifetimes' default
        candidate = lifetimes.ParetoNBDFitter(penalizer_coef=pen)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                candidate.fit(x.astype(int), tx, T, weights=w, initial_params=np.ones(4), tol=1e-8,
                              fit_method=method, maxiter=20000)
            except (ConvergenceError, ValueError, FloatingPointError, np.linalg.LinAlgError) as e:
                error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                continue
        vals = np.array([float(candidate.params_[k]) for k in names])
        if np.all(np.isfinite(vals)) and np.all(vals > 0) and np.isfinite(candidate._negative_log_likelihood_):
            fitter = candidate
            break
        error = f"the estimates ran off ({', '.join(f'{k}={v:.3g}' for k, v in zip(names, vals, strict=True))})"
    if fitter is None:
        raise _not_converged("Pareto/NBD", x, T, w, pen, error)
    params = {k: float(fitter.params_[k]) for k in names}
    if not all(np.isfinite(v) and v > 0 for v in params.values()) or max(params.values()) > 1e7:
        raise _not_converged("Pareto/NBD", x, T, w, pen, f"the estimates ran off ({', '.join(f'{k}={v:.3g}' for k, v in params.items())})")

    def total(p: np.ndarray) -> float:
        return float(np.sum(w * pareto_nbd_log_likelihood(dict(zip(names, p, strict=True)), x, tx, T)))

    with np.errstate(all="ignore"):
        se_arr = log_space_standard_errors(total, np.array([params[k] for k in names]))
    ll = total(np.array([params[k] for k in names]))
    return ParetoNBDModel(params, dict(zip(names, se_arr, strict=True)), ll, w.sum(), x.size, penalizer=pen, fitter=fitter)


FITTERS = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd, "mbgnbd": fit_mbgnbd}


def fit_models(summary: Any, models: list[str] | tuple[str, ...] = ("bgnbd", "pareto_nbd", "mbgnbd"), *, penalizer: float = 0.0) -> dict[str, TransactionModel]:
    """Fit several purchase models on the same (compressed) summary; keys as in ``models``."""
    from .prep import compress

    unknown = [m for m in models if m not in FITTERS]
    if unknown:
        from ..errors import did_you_mean

        raise ParameterError(
            "models: unknown model(s) " + ", ".join(f"'{m}'{did_you_mean(m, FITTERS)}" for m in unknown)
            + f"; choose from {', '.join(FITTERS)}"
        )
    comp = compress(summary) if not (isinstance(summary, pd.DataFrame) and "weight" in summary.columns) else summary
    return {m: FITTERS[m](comp, penalizer=penalizer) for m in models}


def fit_gamma_gamma(summary: Any, *, penalizer: float = 0.0, max_rows: int | None = None,
                    seed: int = 0) -> GammaGammaModel:
    """Fit the Gamma-Gamma spend model on repeat customers (frequency >= 1, monetary_value > 0).

    Parameters
    ----------
    summary : ibis.Table or pandas.DataFrame
        Per-customer ``frequency`` and ``monetary_value`` (the mean amount of the repeat
        purchase days, first purchase excluded), or unique rows with a ``weight`` column.
    penalizer : float
        L2 penalty (lifetimes' ``penalizer_coef``).
    max_rows : int, optional
        For an Ibis table with ``customer_id``: fit on a random sample of at most this
        many repeat customers, drawn in the engine (:func:`engage_kit.engine.sample_order`,
        the same on every engine). Default: all on DuckDB, 200,000 on Spark.
    seed : int
        Seed of that sample.

    Returns
    -------
    GammaGammaModel
        p, q, gamma (lifetimes' ``v``) with standard errors and the summed log-likelihood.
        Customers whose repeat purchases are all zero-valued cannot enter the model
        (log 0) and are left out; ``n_customers_`` says how many were used.
    """
    pen = _check_penalizer(penalizer)
    keys = ("frequency", "monetary_value")
    if not isinstance(summary, pd.DataFrame):
        import ibis

        from ..engine import sample_order, training_cap

        if isinstance(summary, ibis.Table):
            s = summary.filter((summary.frequency > 0) & (summary.monetary_value > 0))
            cap = training_cap(s, max_rows) if "customer_id" in s.columns else None
            if cap is not None and int(s.count().execute()) > cap:
                s = s.mutate(_order=sample_order(s.customer_id, seed)).order_by(["_order", "customer_id"]).limit(cap)
            summary = s
    else:
        summary = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    arrays, w = summary_arrays(summary, keys=keys)
    x, m = arrays["frequency"], arrays["monetary_value"]
    check_inputs(x, None, np.zeros_like(x), w, "Gamma-Gamma")
    bad = np.flatnonzero(~np.isfinite(m))
    if bad.size:
        raise ParameterError(
            f"Gamma-Gamma: {bad.size:,} row(s) where monetary_value is not a number, e.g. "
            + ", ".join(f"(frequency={x[i]:g}, monetary_value={m[i]})" for i in bad[:3])
        )
    n = float(w.sum())
    if n < 2 or np.unique(m).size < 2:
        raise ModelError(
            f"Gamma-Gamma: {n:,.0f} customer(s) with repeat purchases of positive value; the spend model "
            "needs many repeat buyers with differing order values. Use a longer period or skip the value model."
        )
    lifetimes, ConvergenceError = _lifetimes()
    fitter = lifetimes.GammaGammaFitter(penalizer_coef=pen)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fitter.fit(x, m, weights=w)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as e:
            raise ModelError(
                f"Gamma-Gamma did not converge ({str(e).strip().splitlines()[0] if str(e).strip() else 'optimiser failed'}). "
                f"Data: {n:,.0f} repeat customers, mean spend from {m.min():,.2f} to {m.max():,.2f}. "
                f"Try penalizer={0.001 if pen <= 0 else pen * 10:g}."
            ) from None
    params = {"p": float(fitter.params_["p"]), "q": float(fitter.params_["q"]), "gamma": float(fitter.params_["v"])}
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise ModelError(f"Gamma-Gamma did not converge: estimates {params}; try penalizer=0.001")
    se = {"p": float(fitter.standard_errors_["p"]), "q": float(fitter.standard_errors_["q"]), "gamma": float(fitter.standard_errors_["v"])}
    ll = float(np.sum(w * gamma_gamma_log_likelihood(params, x, m)))
    return GammaGammaModel(params, se, ll, n, x.size, penalizer=pen, fitter=fitter)


def spend_independence(summary: Any) -> dict[str, Any]:
    """Pearson correlation of frequency and mean repeat spend among repeat customers.

    The Gamma-Gamma model assumes spend per transaction is independent of how often a
    customer buys ([5], section 3). Returns correlation, its 95% interval (Fisher z),
    n, and ``ok`` (False when |correlation| >= 0.3, a common rule of thumb).
    """
    if isinstance(summary, pd.DataFrame):
        df = summary[summary["frequency"] > 0]
        x = df["frequency"].to_numpy(float)
        m = df["monetary_value"].to_numpy(float)
        if "weight" in df.columns:
            w = df["weight"].to_numpy(float)
            x, m = np.repeat(x, w.astype(int)), np.repeat(m, w.astype(int))
        n = x.size
        r = float(np.corrcoef(x, m)[0, 1]) if n > 2 else float("nan")
    else:
        t = summary.filter(summary.frequency > 0)
        row = t.aggregate(
            r=t.frequency.cast("float64").corr(t.monetary_value, how="pop"), n=t.count()
        ).execute().iloc[0]
        r, n = float(row["r"]) if pd.notna(row["r"]) else float("nan"), int(row["n"])
    if n > 3 and np.isfinite(r) and abs(r) < 1:
        z = np.arctanh(r)
        half = Z95 / math.sqrt(n - 3)
        low, high = float(np.tanh(z - half)), float(np.tanh(z + half))
        p_value = float(2 * stats.norm.sf(abs(z) * math.sqrt(n - 3)))
    else:
        low = high = p_value = float("nan")
    return {"correlation": r, "low": low, "high": high, "n": int(n), "p_value": p_value,
            "ok": bool(not np.isfinite(r) or abs(r) < 0.3)}
