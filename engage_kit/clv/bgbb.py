"""Discrete-time BG/BB: likelihood, predictions and the maximum-likelihood fit with an
analytic gradient, for customers who can buy (or give) at most once per fixed occasion.

A customer who is alive buys at each occasion with probability p ~ Beta(α, β) and drops
out before the next occasion with probability θ ~ Beta(γ, δ). The history over ``n``
occasions after the first purchase is summarised by (x, t_x, n): x repeat occasions with a
purchase, the last of them at occasion t_x (0 when x = 0).

All formulas are numpy, vectorised; scalar inputs give Python floats.

References
----------
[1] Fader, Hardie and Shang (2010), "Customer-Base Analysis in a Discrete-Time
    Noncontractual Setting", Marketing Science 29(6), 1086-1108.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ..errors import ModelError
from .base import FittedModel, _arrays, _first_line, _params, _scalar_or_array, check_inputs, gradient_hessian

NAMES = ("alpha", "beta", "gamma", "delta")

# --- formulas --------------------------------------------------------------------------


def _terms(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log of each term of equation (5) of [1]: column 0 the "alive through n" term,
    columns 1..max(n) the sum over i = 0..n−t_x−1 (−inf where i is beyond a row's range),
    and their derivatives with respect to (α, β, γ, δ) (shape rows × terms × 4)."""
    a, b, g, d = theta
    m = int(np.max(n - tx)) if n.size else 0
    i = np.arange(max(m, 0))[None, :]
    valid = i < (n - tx)[:, None]
    ax = (a + x)[:, None]
    # term 0: B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    b0 = (b + n - x)[:, None]
    d0 = (d + n)[:, None]
    # terms i: B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
    bi = (b + tx - x)[:, None] + i
    di = (d + tx)[:, None] + i
    B = np.concatenate([b0, bi], axis=1)
    D = np.concatenate([d0, di], axis=1)
    G = np.concatenate([np.full_like(d0, g), np.full_like(di, g + 1)], axis=1)
    ok = np.concatenate([np.ones_like(b0, dtype=bool), valid], axis=1)
    log_t = betaln(ax, B) - betaln(a, b) + betaln(G, D) - betaln(g, d)
    log_t = np.where(ok, log_t, -np.inf)
    dab = digamma(ax + B)
    dgd = digamma(G + D)
    grads = np.stack(
        [
            digamma(ax) - dab - digamma(a) + digamma(a + b),
            digamma(B) - dab - digamma(b) + digamma(a + b),
            digamma(G) - dgd - digamma(g) + digamma(g + d),
            digamma(D) - dgd - digamma(d) + digamma(g + d),
        ],
        axis=-1,
    )
    return log_t, grads


def _log_sum(log_t: np.ndarray) -> np.ndarray:
    m = np.max(log_t, axis=1)
    return m + np.log(np.sum(np.exp(log_t - m[:, None]), axis=1))


def bgbb_log_likelihood(params: Any, frequency: Any, recency: Any, n: Any) -> np.ndarray:
    """Per-customer BG/BB log-likelihood, equation (5) of [1].

    L(α, β, γ, δ | x, t_x, n) = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ)
        + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α, β) · B(γ+1, δ+t_x+i)/B(γ, δ)
    """
    theta = np.array(_params(params, NAMES))
    x, tx, nn = np.broadcast_arrays(*_arrays(frequency, recency, n))
    shape = x.shape
    log_t, _ = _terms(theta, x.reshape(-1), tx.reshape(-1), nn.reshape(-1))
    return _log_sum(log_t).reshape(shape)


def bgbb_mean_nll_and_grad(log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray,
                           w: np.ndarray, penalizer: float = 0.0) -> tuple[float, np.ndarray]:
    """Weighted mean negative log-likelihood (equation 5 of [1]) and its analytic gradient
    in log space.

    With LL = log Σ_k e^{A_k} over the terms of equation (5) and softmax weights
    p_k = e^{A_k} / Σ e^{A}, ∂LL/∂θ = Σ_k p_k ∂A_k/∂θ, each A_k a sum of log beta
    functions (∂ log B(u, v)/∂u = ψ(u) − ψ(u+v)); ∂/∂log θ = θ ∂/∂θ. The penalty is
    penalizer · Σ θ².
    """
    theta = np.exp(log_params)
    log_t, grads = _terms(theta, x, tx, n)
    ll = _log_sum(log_t)
    p = np.exp(log_t - ll[:, None])
    d_ll = np.einsum("rk,rkj->rj", p, grads)
    W = float(np.sum(w))
    value = -float(np.sum(w * ll)) / W + penalizer * float(np.sum(theta**2))
    grad = -(np.sum(w[:, None] * d_ll, axis=0) / W) * theta + penalizer * 2 * theta**2
    return value, grad


def bgbb_expected_purchases(params: Any, n: Any) -> Any:
    """E[X(n)]: expected repeat occasions with a purchase in the first ``n`` occasions after
    the first purchase, equation (7) of [1].

    E[X(n)] = α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ) Γ(1+δ+n) / (Γ(γ+δ+n) Γ(1+δ))]
    """
    a, b, g, d = _params(params, NAMES)
    (nn,) = _arrays(n)
    g = g if abs(g - 1) > 1e-9 else 1 + 1e-9
    ratio = np.exp(gammaln(g + d) + gammaln(1 + d + nn) - gammaln(g + d + nn) - gammaln(1 + d))
    return _scalar_or_array(a / (a + b) * d / (g - 1) * (1 - ratio), n)


def bgbb_p_alive(params: Any, frequency: Any, recency: Any, n: Any) -> Any:
    """P(alive at occasion n+1 | x, t_x, n), equation (11) of [1].

    = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n+1)/B(γ, δ) / L(α, β, γ, δ | x, t_x, n)
    """
    a, b, g, d = _params(params, NAMES)
    x, tx, nn = np.broadcast_arrays(*_arrays(frequency, recency, n))
    ll = bgbb_log_likelihood(params, x, tx, nn)
    log_num = betaln(a + x, b + nn - x) - betaln(a, b) + betaln(g, d + nn + 1) - betaln(g, d)
    return _scalar_or_array(np.exp(log_num - ll), frequency, recency, n)


def bgbb_conditional_expected_purchases(params: Any, future: Any, frequency: Any, recency: Any, n: Any) -> Any:
    """E[X(n, n+n*) | x, t_x, n]: expected purchases in the next ``future`` occasions,
    equation (13) of [1].

    = 1/L · B(α+x+1, β+n−x)/B(α, β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
          · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)]
    """
    a, b, g, d = _params(params, NAMES)
    f, x, tx, nn = np.broadcast_arrays(*_arrays(future, frequency, recency, n))
    g = g if abs(g - 1) > 1e-9 else 1 + 1e-9
    ll = bgbb_log_likelihood({"alpha": a, "beta": b, "gamma": g, "delta": d}, x, tx, nn)
    log_first = betaln(a + x + 1, b + nn - x) - betaln(a, b) + gammaln(g + d) - gammaln(1 + d) - ll
    bracket = np.exp(gammaln(1 + d + nn) - gammaln(g + d + nn)) - np.exp(gammaln(1 + d + nn + f) - gammaln(g + d + nn + f))
    return _scalar_or_array(np.exp(log_first) * d / (g - 1) * bracket, future, frequency, recency, n)


def bgbb_discounted_expected_transactions(params: Any, discount_rate: float, frequency: Any, recency: Any, n: Any) -> Any:
    """DERT(d | x, t_x, n): discounted expected residual transactions, equation (14) of [1].

    = B(α+x+1, β+n−x)/B(α, β) · B(γ, δ+n+1)/((1+d) B(γ, δ))
      · 2F1(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L(α, β, γ, δ | x, t_x, n)

    ``discount_rate`` is per occasion (d > 0); the next occasion is discounted once.
    """
    a, b, g, d = _params(params, NAMES)
    x, tx, nn = np.broadcast_arrays(*_arrays(frequency, recency, n))
    rate = float(discount_rate)
    ll = bgbb_log_likelihood(params, x, tx, nn)
    log_first = betaln(a + x + 1, b + nn - x) - betaln(a, b) + betaln(g, d + nn + 1) - betaln(g, d) - ll
    hyp = hyp2f1(1.0, d + nn + 1, g + d + nn + 1, 1 / (1 + rate))
    return _scalar_or_array(np.exp(log_first) * hyp / (1 + rate), frequency, recency, n)


# --- fitted model ----------------------------------------------------------------------


class BGBBModel(FittedModel):
    """A fitted BG/BB model (Fader, Hardie and Shang 2010): alpha, beta (buying), gamma, delta (drop-out).

    ``covariance_log_`` is the covariance of the log parameters (for parameter draws).
    """

    name = "BG/BB"
    param_names = NAMES
    covariance_log_: np.ndarray | None = None

    def log_likelihood(self, frequency: Any, recency: Any, n: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (equation 5)."""
        return bgbb_log_likelihood(self.params_, frequency, recency, n)

    def expected_purchases(self, n: Any) -> Any:
        """E[X(n)] for a new customer (equation 7)."""
        return bgbb_expected_purchases(self.params_, n)

    def p_alive(self, frequency: Any, recency: Any, n: Any) -> Any:
        """P(alive at the next occasion) (equation 11)."""
        return bgbb_p_alive(self.params_, frequency, recency, n)

    def conditional_expected_purchases(self, future: Any, frequency: Any, recency: Any, n: Any) -> Any:
        """Expected purchases in the next ``future`` occasions (equation 13)."""
        return bgbb_conditional_expected_purchases(self.params_, future, frequency, recency, n)

    def discounted_expected_transactions(self, discount_rate: float, frequency: Any, recency: Any, n: Any) -> Any:
        """DERT (equation 14) at a per-occasion discount rate."""
        return bgbb_discounted_expected_transactions(self.params_, discount_rate, frequency, recency, n)


def fit_bgbb(summary: Any, *, penalizer: float = 0.0) -> BGBBModel:
    """Fit the BG/BB model by maximum likelihood on compressed (x, t_x, n) rows.

    Parameters
    ----------
    summary : pandas.DataFrame
        Columns ``frequency`` (x), ``recency`` (t_x) and ``n`` (occasions after the first
        purchase), whole numbers with 0 <= x <= t_x <= n (t_x = 0 when x = 0), and
        optionally ``weight`` (customers per row).
    penalizer : float
        L2 penalty on the parameters; 0 for the plain maximum-likelihood estimate.

    Returns
    -------
    BGBBModel
        ``params_`` (alpha, beta, gamma, delta), ``standard_errors_`` (observed
        information in log space, delta method), ``log_likelihood_`` (equation 5 of
        Fader, Hardie and Shang 2010, summed over customers).

    Raises
    ------
    ParameterError
        On impossible rows. ModelError when there is nothing to fit or the optimiser
        does not converge.
    """
    label = "BG/BB"
    x = np.asarray(summary["frequency"], dtype=float)
    tx = np.asarray(summary["recency"], dtype=float)
    n = np.asarray(summary["n"], dtype=float)
    w = np.asarray(summary["weight"], dtype=float) if "weight" in summary else np.ones_like(x)
    check_inputs(x, tx, n, w, label)
    bad = (x > tx) & (x > 0) | ((x == 0) & (tx != 0)) | (n != np.round(n)) | (tx != np.round(tx))
    if np.any(bad):
        raise ModelError(f"{label}: {int(bad.sum())} row(s) where frequency, recency and n are not whole numbers with 0 <= x <= t_x <= n")
    keep = (w > 0) & (n > 0)
    x, tx, n, w = x[keep], tx[keep], n[keep], w[keep]
    if x.size == 0 or w.sum() < 2:
        raise ModelError(f"{label}: fewer than two customers with an occasion after their first purchase; nothing to fit")
    if not np.any(x > 0):
        raise ModelError(f"{label}: no customer bought again after their first occasion, so buying and drop-out cannot be told apart")
    pen = float(penalizer)
    args = (x, tx, n, w, pen)
    with np.errstate(all="ignore"):
        try:
            res = minimize(bgbb_mean_nll_and_grad, np.zeros(4), args=args, jac=True, method="BFGS",
                           options={"gtol": 1e-8, "maxiter": 2000})
        except (FloatingPointError, ValueError) as e:
            raise ModelError(f"{label} did not converge: {_first_line(e, 'the optimiser failed')}") from None
        theta = np.exp(res.x)
        if not np.all(np.isfinite(theta)) or (not res.success and np.max(np.abs(res.jac)) > 1e-5) or theta.max() > 1e7:
            raise ModelError(f"{label} did not converge: {res.message} (estimates {np.round(theta, 4).tolist()}); "
                             "try penalizer=0.001 or more occasions")
        H = gradient_hessian(lambda lp: bgbb_mean_nll_and_grad(lp, *args)[1], res.x)
    try:
        cov_log = np.linalg.inv(H) / w.sum()
        var = theta**2 * np.diag(cov_log)
        se = np.sqrt(np.where(var > 0, var, np.nan))
    except np.linalg.LinAlgError:
        cov_log, se = None, np.full(4, np.nan)
    params = dict(zip(NAMES, map(float, theta), strict=True))
    ll = float(np.sum(w * bgbb_log_likelihood(params, x, tx, n)))
    model = BGBBModel(params, dict(zip(NAMES, map(float, se), strict=True)), ll, w.sum(), x.size, penalizer=pen)
    model.covariance_log_ = cov_log
    return model


def parameter_draws(model: FittedModel, size: int = 200, seed: int = 0) -> list[dict[str, float]]:
    """Parameter sets drawn from the fit's asymptotic normal distribution in log space
    (the observed information of the fit), for intervals of derived figures; the point
    estimate alone when no covariance is available."""
    cov = getattr(model, "covariance_log_", None)
    names = model.param_names
    if cov is None or not np.all(np.isfinite(cov)):
        return [dict(model.params_)]
    mean = np.log([model.params_[k] for k in names])
    rng = np.random.default_rng(seed)
    draws = np.exp(rng.multivariate_normal(mean, (cov + cov.T) / 2, size=size, method="eigh"))
    return [dict(zip(names, map(float, row), strict=True)) for row in draws]
