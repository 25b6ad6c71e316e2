"""Contractual shifted-beta-geometric (sBG) model: survivor counts per cohort and period,
the maximum-likelihood fit with an analytic gradient, projected retention, expected
remaining lifetime and discounted residual value.

Each subscriber renews at the end of every period with a fixed probability 1 − θ and
θ ~ Beta(α, β) varies across subscribers, so the retention rate of a cohort rises with
tenure as the least loyal leave first. ``period`` k = 0 is signup; survivors at k are the
subscribers still there after k renewal decisions.

References
----------
[1] Fader and Hardie (2007), "How to Project Customer Retention", Journal of Interactive
    Marketing 21(1), 76-90.
[2] Fader and Hardie (2010), "Customer-Base Valuation in a Contractual Setting: The
    Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, hyp2f1

from ..errors import ModelError, ParameterError
from .base import FittedModel, _arrays, _params, _scalar_or_array

NAMES = ("alpha", "beta")

# --- formulas --------------------------------------------------------------------------


def sbg_churn_pmf(params: Any, t: Any) -> Any:
    """P(T = t) = B(α+1, β+t−1) / B(α, β), t = 1, 2, ...: the chance of leaving at the
    t-th renewal decision, equation (5) of [1]."""
    a, b = _params(params, NAMES)
    (tt,) = _arrays(t)
    return _scalar_or_array(np.exp(betaln(a + 1, b + tt - 1) - betaln(a, b)), t)


def sbg_survival(params: Any, t: Any) -> Any:
    """S(t) = P(T > t) = B(α, β+t) / B(α, β): the share of a cohort still there after t
    renewal decisions, equation (6) of [1]."""
    a, b = _params(params, NAMES)
    (tt,) = _arrays(t)
    return _scalar_or_array(np.exp(betaln(a, b + tt) - betaln(a, b)), t)


def sbg_retention_rate(params: Any, t: Any) -> Any:
    """r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1): the renewal rate at decision t, equation (8) of [1]."""
    a, b = _params(params, NAMES)
    (tt,) = _arrays(t)
    return _scalar_or_array((b + tt - 1) / (a + b + tt - 1), t)


def sbg_derl(params: Any, renewals: Any, discount_rate: float) -> Any:
    """Discounted expected residual lifetime of a subscriber who has renewed ``renewals``
    times (n − 1 in [2]), in periods, computed just before the next renewal decision.

    DERL(d | α, β, n−1) = Σ_{j≥1} S(n+j−1)/S(n−1) / (1+d)^(j−1)
                        = (β+n−1)/(α+β+n−1) · 2F1(1, β+n; α+β+n; 1/(1+d)),

    equation (6) of [2]; ``discount_rate`` d is per period (> 0). With d → 0 and α > 1 it
    is the expected number of further renewals.
    """
    a, b = _params(params, NAMES)
    (k,) = _arrays(renewals)
    d = float(discount_rate)
    if not d > 0:
        raise ParameterError(f"discount_rate must be > 0 per period; got {discount_rate!r}")
    nn = k + 1
    out = (b + nn - 1) / (a + b + nn - 1) * hyp2f1(1.0, b + nn, a + b + nn, 1 / (1 + d))
    return _scalar_or_array(out, renewals)


def _lost_and_alive(survivors: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cohort: the customers lost at each decision t (weights of log P(T=t)) and the
    survivors at the last observed period (weight of log S(t_last))."""
    df = survivors.sort_values(["cohort", "period"]) if "cohort" in survivors else survivors.assign(cohort=0).sort_values("period")
    t_lost, w_lost, t_alive, w_alive = [], [], [], []
    for _, g in df.groupby("cohort", sort=True):
        k = g["period"].to_numpy(dtype=float)
        s = g["survivors"].to_numpy(dtype=float)
        if k[0] != 0 or np.any(np.diff(k) != 1):
            raise ParameterError("sBG: survivors must be given for consecutive periods 0, 1, 2, ... of each cohort")
        if np.any(np.diff(s) > 0) or np.any(s < 0):
            raise ParameterError("sBG: survivors must be counts that never increase with the period")
        t_lost.append(k[1:])
        w_lost.append(s[:-1] - s[1:])
        t_alive.append(k[-1:])
        w_alive.append(s[-1:])
    return tuple(np.concatenate(v) if v else np.zeros(0) for v in (t_lost, w_lost, t_alive, w_alive))  # type: ignore[return-value]


def sbg_log_likelihood(params: Any, survivors: pd.DataFrame) -> float:
    """Log-likelihood of survivor counts, equation (7) of [1], summed over cohorts.

    LL(α, β) = Σ_cohorts [ Σ_{t=1}^{K} (S_{t−1} − S_t) ln P(T=t) + S_K ln S(K) ],

    S_t the cohort's survivors after t decisions and K its last observed period.
    """
    t_lost, w_lost, t_alive, w_alive = _lost_and_alive(survivors)
    return float(np.sum(w_lost * np.log(np.asarray(sbg_churn_pmf(params, t_lost))))
                 + np.sum(w_alive * np.log(np.asarray(sbg_survival(params, t_alive)))))


def sbg_nll_and_grad(log_params: np.ndarray, t_lost: np.ndarray, w_lost: np.ndarray, t_alive: np.ndarray,
                     w_alive: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (equation 7 of [1]) and its analytic gradient in log space.

    ln P(T=t) = ln B(α+1, β+t−1) − ln B(α, β), ln S(t) = ln B(α, β+t) − ln B(α, β), with
    ∂ ln B(u, v)/∂u = ψ(u) − ψ(u+v) and ∂/∂ln θ = θ ∂/∂θ.
    """
    a, b = np.exp(log_params)
    W = float(np.sum(w_lost) + np.sum(w_alive))
    base_a = digamma(a) - digamma(a + b)
    base_b = digamma(b) - digamma(a + b)
    lp = betaln(a + 1, b + t_lost - 1) - betaln(a, b)
    ls = betaln(a, b + t_alive) - betaln(a, b)
    ll = np.sum(w_lost * lp) + np.sum(w_alive * ls)
    s_lost = digamma(a + b + t_lost)
    s_alive = digamma(a + b + t_alive)
    da = np.sum(w_lost * (digamma(a + 1) - s_lost - base_a)) + np.sum(w_alive * (digamma(a) - s_alive - base_a))
    db = np.sum(w_lost * (digamma(b + t_lost - 1) - s_lost - base_b)) + np.sum(w_alive * (digamma(b + t_alive) - s_alive - base_b))
    return -float(ll) / W, -np.array([da * a, db * b]) / W


# --- fitted model ----------------------------------------------------------------------


class SBGModel(FittedModel):
    """A fitted shifted-beta-geometric model (Fader and Hardie 2007): alpha, beta.

    ``covariance_log_`` is the covariance of the log parameters (for parameter draws).
    """

    name = "sBG"
    param_names = NAMES
    covariance_log_: np.ndarray | None = None

    def survival(self, t: Any) -> Any:
        """S(t), the share of a new cohort still there after t renewal decisions."""
        return sbg_survival(self.params_, t)

    def retention_rate(self, t: Any) -> Any:
        """The renewal rate at decision t."""
        return sbg_retention_rate(self.params_, t)

    def derl(self, renewals: Any, discount_rate: float) -> Any:
        """Discounted expected residual lifetime in periods (see :func:`sbg_derl`)."""
        return sbg_derl(self.params_, renewals, discount_rate)


def fit_sbg(survivors: pd.DataFrame) -> SBGModel:
    """Fit the sBG model by maximum likelihood to survivor counts of one or more cohorts.

    Parameters
    ----------
    survivors : pandas.DataFrame
        ``period`` (0, 1, 2, ... consecutive) and ``survivors`` (customers still there
        after ``period`` renewal decisions), and ``cohort`` when several cohorts share
        the parameters (pooled fit; each cohort its own last period).

    Returns
    -------
    SBGModel
        ``params_`` (alpha, beta), ``standard_errors_`` (observed information, delta
        method from log space), ``log_likelihood_`` (equation 7 of Fader and Hardie 2007).

    Raises
    ------
    ModelError
        When no cohort has a renewal decision observed or nobody left or stayed.
    """
    t_lost, w_lost, t_alive, w_alive = _lost_and_alive(survivors)
    n = float(np.sum(w_lost) + np.sum(w_alive))
    if t_lost.size == 0 or n < 2:
        raise ModelError("sBG: no cohort has been observed through a renewal decision yet; nothing to fit")
    if float(np.sum(w_lost)) == 0:
        raise ModelError("sBG: no subscriber has cancelled yet, so the cancellation rate cannot be estimated")
    if np.all(np.concatenate([t_lost[w_lost > 0], t_alive[w_alive > 0]]) <= 1):
        raise ModelError("sBG: only the first renewal decision has been observed; the spread of cancellation rates cannot be estimated")
    args = (t_lost, w_lost, t_alive, w_alive)
    with np.errstate(all="ignore"):
        res = minimize(sbg_nll_and_grad, np.zeros(2), args=args, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 1000})
        theta = np.exp(res.x)
        if not np.all(np.isfinite(theta)) or theta.max() > 1e7 or (not res.success and np.max(np.abs(res.jac)) > 1e-6):
            raise ModelError(f"sBG did not converge: {res.message} (estimates {np.round(theta, 4).tolist()})")
        h = 1e-6
        g0 = sbg_nll_and_grad(res.x, *args)[1]
        H = np.array([(sbg_nll_and_grad(res.x + h * np.eye(2)[i], *args)[1] - g0) / h for i in range(2)])
        H = (H + H.T) / 2
    try:
        cov_log = np.linalg.inv(H) / n
        var = theta**2 * np.diag(cov_log)
        se = np.sqrt(np.where(var > 0, var, np.nan))
    except np.linalg.LinAlgError:
        cov_log, se = None, np.full(2, np.nan)
    params = dict(zip(NAMES, map(float, theta), strict=True))
    ll = sbg_log_likelihood(params, survivors)
    model = SBGModel(params, dict(zip(NAMES, map(float, se), strict=True)), ll, n, t_lost.size + t_alive.size)
    model.covariance_log_ = cov_log
    return model


def fit_sbg_by_cohort(survivors: pd.DataFrame, *, min_customers: int = 30, min_periods: int = 3) -> dict[Any, SBGModel | str]:
    """One sBG fit per cohort: cohort -> fitted model, or the reason it could not be fitted
    (fewer than ``min_customers`` customers, fewer than ``min_periods`` renewal decisions
    observed, no cancellation yet)."""
    out: dict[Any, SBGModel | str] = {}
    for cohort, g in survivors.groupby("cohort", sort=True):
        size = float(g.loc[g["period"] == 0, "survivors"].sum())
        if size < min_customers:
            out[cohort] = f"{size:,.0f} customers, fewer than {min_customers}"
            continue
        if int(g["period"].max()) < min_periods:
            out[cohort] = f"{int(g['period'].max())} renewal(s) observed, fewer than {min_periods}"
            continue
        try:
            out[cohort] = fit_sbg(g.drop(columns="cohort"))
        except ModelError as e:
            out[cohort] = str(e)
    return out
