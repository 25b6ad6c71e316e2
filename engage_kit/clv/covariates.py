"""BG/NBD and Pareto/NBD with time-invariant customer covariates on purchase rate and drop-out.

The covariates are columns of the customers table (numeric, or categorical one-hot coded
against a reference level). As CLVTools defines them (Bachmann, Meierer and Näf 2021;
Fader and Hardie 2007, note 019), each customer i with covariates zᵢ gets her own
parameters:

- purchase rate, both models: αᵢ = α · exp(−γ₁ᵀzᵢ), so λ ~ Gamma(r, αᵢ) and the mean
  purchase rate r/αᵢ is scaled by exp(γ₁ᵀzᵢ);
- drop-out, Pareto/NBD: βᵢ = β · exp(−γ₂ᵀzᵢ), so the mean drop-out rate s/βᵢ is scaled
  by exp(γ₂ᵀzᵢ);
- drop-out, BG/NBD: aᵢ = a · exp(γ₂ᵀzᵢ) and bᵢ = b · exp(γ₂ᵀzᵢ) (CLVTools'
  ``bgnbd_staticcov_a_i`` / ``_b_i``): the mean drop-out chance a/(a+b) stays, while
  γ₂ > 0 makes customers more alike in it; the report states the effect as the share
  still buying after a number of purchases, E[(1−p)ᵏ] = B(aᵢ, bᵢ+k)/B(aᵢ, bᵢ).

The likelihoods are the models' own (equation 6 of Fader, Hardie and Lee 2005a;
equation 18 of Fader and Hardie's note 009) with the customer's parameters; they are
maximised on compressed rows (distinct frequency, recency, T and covariates, with
counts), BG/NBD with its analytic gradient, Pareto/NBD with a finite-difference one.
Standard errors come from the observed information; the likelihood-ratio test compares
the model with and without the covariates (χ² with as many degrees of freedom as
coefficients).

References
----------
[7] Fader and Hardie (2007), "Incorporating time-invariant covariates into the
    Pareto/NBD and BG/NBD models", http://brucehardie.com/notes/019/
[8] Bachmann, Meierer and Näf (2021), "The role of time-varying contextual factors in
    latent attrition models for customer base analysis", Marketing Science 40(4), 783-809;
    CLVTools, https://github.com/bachmannpatrick/CLVTools
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1, logsumexp

from ..errors import DataError, ModelError, ParameterError
from .base import Z95, gradient_hessian
from .bgnbd import fit_bgnbd
from .pareto import fit_pareto_nbd

KEYS = ("frequency", "recency", "T")
MODELS = {"bgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": ("r", "alpha", "s", "beta")}
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}


# --- design matrix ---------------------------------------------------------------------


@dataclass
class Design:
    """Covariate columns coded for the models.

    Attributes
    ----------
    names : list of str
        One per matrix column: a numeric column's name, or ``column=level`` for a level of
        a categorical column (the reference level has none).
    matrix : numpy.ndarray
        (rows, len(names)).
    references : dict
        The reference level of each categorical column.
    columns : list of str
        The covariate columns asked for.
    """

    names: list[str]
    matrix: np.ndarray
    references: dict[str, str]
    columns: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def design_matrix(rows: pd.DataFrame, columns: list[str], *, reference: dict[str, str] | None = None,
                  weight: np.ndarray | None = None) -> Design:
    """Numeric columns as they are; categorical ones one-hot against a reference level.

    Parameters
    ----------
    rows : pandas.DataFrame
        The covariate columns (one row per customer or per compressed row).
    columns : list of str
        Covariates to use.
    reference : dict, optional
        Reference level per categorical column; default its most common level (by
        ``weight`` when given), so effects compare with the typical customer.
    weight : array, optional
        Customers behind each row.

    Raises
    ------
    ParameterError
        A column that is not there, a numeric column with missing values, a constant column.
    """
    columns = _check_columns(columns)
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ParameterError(
            f"covariates: column(s) {', '.join(missing)} not found; the customers table has "
            + ", ".join(str(c) for c in rows.columns if c not in ("weight", *KEYS))
        )
    w = np.ones(len(rows)) if weight is None else np.asarray(weight, dtype=float)
    reference = dict(reference or {})
    names: list[str] = []
    cols: list[np.ndarray] = []
    refs: dict[str, str] = {}
    levels: dict[str, list[str]] = {}
    for c in columns:
        s = rows[c]
        if _is_numeric(s):
            v = s.to_numpy(float)
            if np.isnan(v).any():
                raise ParameterError(
                    f"covariates: numeric column {c} has {int(np.isnan(v).sum()):,} missing value(s); fill them or "
                    "leave the column out")
            if np.nanstd(v) == 0:
                raise ParameterError(f"covariates: column {c} has the same value for every customer")
            names.append(c)
            cols.append(v)
            continue
        lab = s.astype("string").fillna("(missing)").to_numpy(str)
        counts = pd.Series(w).groupby(lab).sum()
        # most common first; ties by name; missing values last
        counts = counts.loc[sorted(counts.index, key=lambda v: (v == "(missing)", -counts[v], v))]
        if len(counts) < 2:
            raise ParameterError(f"covariates: column {c} has only one level ({counts.index[0]!r})")
        if len(counts) > 20:
            raise ParameterError(f"covariates: column {c} has {len(counts)} levels; use a column with at most 20")
        ref = str(reference.get(c, counts.index[0]))
        if ref not in counts.index:
            raise ParameterError(f"covariates: reference level {ref!r} of {c} not found; levels: {', '.join(map(str, counts.index))}")
        refs[c] = ref
        levels[c] = [str(v) for v in counts.index]
        for lv in counts.index:
            if lv == ref:
                continue
            names.append(f"{c}={lv}")
            cols.append((lab == lv).astype(float))
    return Design(names=names, matrix=np.column_stack(cols) if cols else np.zeros((len(rows), 0)), references=refs,
                  columns=columns, levels=levels)


def _check_columns(columns: Any) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    cols = [str(c) for c in (columns or [])]
    if not cols:
        raise ParameterError("covariates: name at least one customers-table column, e.g. covariates: [acquisition_channel]")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise ParameterError(f"covariates: column(s) named twice: {', '.join(dup)}")
    return cols


def covariate_rows(summary: Any, columns: list[str]) -> pd.DataFrame:
    """Distinct (frequency, recency, T, covariates) rows with their customer count.

    An Ibis table (e.g. the summary joined with the customers table,
    :func:`with_customers`) is grouped in the engine; only these rows leave it.
    """
    columns = _check_columns(columns)
    keys = [*KEYS, *columns]
    if isinstance(summary, ibis.Table):
        missing = [c for c in keys if c not in summary.columns]
        if missing:
            raise ParameterError(f"covariates: column(s) {', '.join(missing)} not in the customer summary")
        agg = summary.weight.sum() if "weight" in summary.columns else summary.count()
        return summary.group_by(keys).aggregate(weight=agg).execute()
    df = pd.DataFrame(summary)
    missing = [c for c in keys if c not in df.columns]
    if missing:
        raise ParameterError(f"covariates: column(s) {', '.join(missing)} not in the customer summary")
    if "weight" not in df.columns:
        df = df.assign(weight=1)
    return df.groupby(keys, dropna=False, as_index=False, sort=True)["weight"].sum()


def with_customers(summary: ibis.Table, customers: ibis.Table, columns: list[str]) -> ibis.Table:
    """The per-customer summary with the covariate columns of the customers table (left
    join on customer_id in the engine; customers missing from it get nulls)."""
    columns = _check_columns(columns)
    missing = [c for c in columns if c not in customers.columns]
    if missing:
        raise DataError(f"customers: column(s) {', '.join(missing)} not found (covariates); it has "
                        + ", ".join(customers.columns))
    c = customers.select("customer_id", *columns).distinct(on="customer_id")
    j = summary.left_join(c, summary.customer_id == c.customer_id)
    return j.select(*[j[k] for k in summary.columns], *[j[k] for k in columns])


# --- likelihoods -----------------------------------------------------------------------


def bgnbd_cov_ll_and_grad(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray,
                          Z1: np.ndarray, Z2: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted mean negative BG/NBD log-likelihood with covariates and its analytic gradient.

    θ = (ln r, ln α, ln a, ln b, γ₁, γ₂); αᵢ = α e^(−γ₁ᵀz), aᵢ = a e^(γ₂ᵀz), bᵢ = b e^(γ₂ᵀz).
    LLᵢ is equation (6) of Fader, Hardie and Lee (2005a) at (r, αᵢ, aᵢ, bᵢ); with the
    softmax weights p₃, p₄ of its two terms (see :func:`~.bgnbd.bgnbd_mean_nll_and_grad`)

    ∂LL/∂αᵢ = r/αᵢ − (r+x)(p₃/(αᵢ+T) + p₄/(αᵢ+tₓ)),
    ∂LL/∂aᵢ = ψ(aᵢ+bᵢ) − ψ(aᵢ+bᵢ+x) + p₄/aᵢ,
    ∂LL/∂bᵢ = ψ(aᵢ+bᵢ) + ψ(bᵢ+x) − ψ(bᵢ) − ψ(aᵢ+bᵢ+x) − p₄/(bᵢ+x−1),

    and by the chain rule ∂/∂ln α = Σ αᵢ ∂/∂αᵢ, ∂/∂γ₁ = −Σ zᵢ αᵢ ∂/∂αᵢ,
    ∂/∂γ₂ = Σ zᵢ (aᵢ ∂/∂aᵢ + bᵢ ∂/∂bᵢ). Returns (value, gradient, per-row LL).
    """
    k1, k2 = Z1.shape[1], Z2.shape[1]
    r, alpha, a, b = np.exp(theta[:4])
    g1, g2 = theta[4:4 + k1], theta[4 + k1:4 + k1 + k2]
    al = alpha * np.exp(-(Z1 @ g1))
    e2 = np.exp(Z2 @ g2)
    ai, bi = a * e2, b * e2
    rx = r + x
    log_aT, log_at = np.log(al + T), np.log(al + tx)
    repeat = x > 0
    xm1 = np.maximum(x, 1) - 1
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(al)
    A2 = gammaln(ai + bi) + gammaln(bi + x) - gammaln(bi) - gammaln(ai + bi + x)
    A3 = -rx * log_aT
    with np.errstate(divide="ignore"):
        A4 = np.where(repeat, np.log(ai) - np.log(bi + xm1) - rx * log_at, -np.inf)
    m = np.maximum(A3, A4)
    e3, e4 = np.exp(A3 - m), np.exp(A4 - m)
    tot = e3 + e4
    ll = A1 + A2 + np.log(tot) + m
    p3, p4 = e3 / tot, e4 / tot
    W = w.sum()
    d_r = digamma(r + x) - digamma(r) + np.log(al) - p3 * log_aT - p4 * np.where(repeat, log_at, 0.0)
    d_al = r / al - rx * (p3 / (al + T) + np.where(repeat, p4 / (al + tx), 0.0))
    dab = digamma(ai + bi) - digamma(ai + bi + x)
    d_a = dab + p4 / ai
    d_b = dab + digamma(bi + x) - digamma(bi) - np.where(repeat, p4 / (bi + xm1), 0.0)
    s_al = w * al * d_al
    s_a, s_b = w * ai * d_a, w * bi * d_b
    grad = np.concatenate([
        [np.sum(w * d_r) * r, np.sum(s_al), np.sum(s_a), np.sum(s_b)],
        -(Z1.T @ s_al) if k1 else np.zeros(0),
        (Z2.T @ (s_a + s_b)) if k2 else np.zeros(0),
    ]) / W
    return -float(np.sum(w * ll)) / W, -grad, ll


def _pareto_rows_ll(r: float, al: np.ndarray, s: float, be: np.ndarray, x: np.ndarray, tx: np.ndarray,
                    T: np.ndarray) -> np.ndarray:
    """Per-row Pareto/NBD log-likelihood (equation 18 of note 009) with per-row αᵢ, βᵢ."""
    big = np.maximum(al, be)
    second = np.where(al >= be, s + 1.0, r + x)
    diff = np.abs(al - be)
    rsx = r + s + x
    q1, q2 = big + tx, big + T
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = hyp2f1(rsx, second, rsx + 1.0, diff / q1)
        p2 = hyp2f1(rsx, second, rsx + 1.0, diff / q2)
        log_a0 = logsumexp(
            np.stack([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)]), axis=0,
            b=np.stack([np.ones_like(x), -np.ones_like(x)]),
        ) - rsx * np.log(q1 * q2)
        log_a0 = np.where(tx >= T, -np.inf, log_a0)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be)
        a2 = np.logaddexp(-(r + x) * np.log(al + T) - s * np.log(be + T), np.log(s) + log_a0 - np.log(rsx))
    return a1 + a2


def pareto_cov_nll(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray,
                   Z1: np.ndarray, Z2: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted mean negative Pareto/NBD log-likelihood with covariates: θ = (ln r, ln α,
    ln s, ln β, γ₁, γ₂), αᵢ = α e^(−γ₁ᵀz), βᵢ = β e^(−γ₂ᵀz) ([7], [8]). Returns (value, per-row LL)."""
    k1, k2 = Z1.shape[1], Z2.shape[1]
    r, alpha, s, beta = np.exp(theta[:4])
    al = alpha * np.exp(-(Z1 @ theta[4:4 + k1]))
    be = beta * np.exp(-(Z2 @ theta[4 + k1:4 + k1 + k2]))
    ll = _pareto_rows_ll(r, al, s, be, x, tx, T)
    v = -float(np.sum(w * ll)) / w.sum()
    return (v if np.isfinite(v) else 1e300), ll


# --- the fit ---------------------------------------------------------------------------


@dataclass
class CovariateFit:
    """A purchase model with covariates (see :func:`fit_covariates`).

    Attributes
    ----------
    model : str
        "bgnbd" or "pareto_nbd".
    params_ : dict
        The base parameters (for a customer at the reference: every zᵢ = 0), in the data's
        time unit, and the coefficients ``rate.<name>``, ``dropout.<name>``.
    standard_errors_ : dict
        Standard errors (base parameters by the delta method from log space).
    covariance_ : numpy.ndarray
        Covariance of (ln base parameters, γ₁, γ₂).
    log_likelihood_, log_likelihood_without_ : float
        Summed log-likelihoods with and without the covariates.
    design : Design
        The covariate coding.
    n_customers_ : int
    """

    model: str
    params_: dict[str, float]
    standard_errors_: dict[str, float]
    covariance_: np.ndarray
    log_likelihood_: float
    log_likelihood_without_: float
    design: Design
    rate_names: list[str]
    dropout_names: list[str]
    n_customers_: int
    theta_: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def name(self) -> str:
        return MODEL_NAMES[self.model] + " with covariates"

    def lr_test(self) -> dict[str, float]:
        """Likelihood-ratio test against the model without covariates: statistic
        2 (LL₁ − LL₀), degrees of freedom (number of coefficients), p-value (χ²)."""
        stat = max(2 * (self.log_likelihood_ - self.log_likelihood_without_), 0.0)
        df = len(self.rate_names) + len(self.dropout_names)
        return {"statistic": float(stat), "df": int(df), "p_value": float(stats.chi2.sf(stat, df))}

    def effects(self) -> pd.DataFrame:
        """One row per coefficient: process (purchase, dropout), covariate, coefficient,
        se, p_value (Wald), low_log, high_log (95% Wald interval of the coefficient),
        multiplier exp(±γ) of the process's mean rate and its interval (low, high).

        Purchase: the mean purchase rate is multiplied by exp(γ₁). Drop-out: for
        Pareto/NBD the mean drop-out rate by exp(γ₂); for BG/NBD exp(γ₂) multiplies both
        beta parameters (see the module notes).
        """
        rows = []
        k0 = 4
        for proc, names, offset in (("purchase", self.rate_names, k0), ("dropout", self.dropout_names, k0 + len(self.rate_names))):
            for j, nm in enumerate(names):
                i = offset + j
                g = float(self.theta_[i])
                se = float(np.sqrt(self.covariance_[i, i])) if np.isfinite(self.covariance_[i, i]) else float("nan")
                lo, hi = g - Z95 * se, g + Z95 * se
                rows.append({
                    "process": proc, "covariate": nm, "coefficient": g, "se": se,
                    "p_value": float(2 * stats.norm.sf(abs(g / se))) if se > 0 else float("nan"),
                    "low_log": lo, "high_log": hi,
                    "multiplier": float(np.exp(g)), "low": float(np.exp(lo)), "high": float(np.exp(hi)),
                })
        return pd.DataFrame(rows)

    def still_buying(self, n_purchases: int = 5, *, n_draws: int = 2000, seed: int = 0) -> pd.DataFrame:
        """BG/NBD: the share of customers still buying after ``n_purchases`` repeat
        purchases, E[(1−p)ᵏ] = B(aᵢ, bᵢ+k)/B(aᵢ, bᵢ), at the reference and for each
        drop-out covariate set to 1 (others at the reference), with a 95% interval from
        draws of the estimates' asymptotic normal distribution."""
        if self.model != "bgnbd":
            raise ParameterError("still_buying is the BG/NBD drop-out effect; Pareto/NBD states a rate multiplier")
        k = int(n_purchases)
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(self.theta_, self.covariance_, n_draws, method="eigh")
        off = 4 + len(self.rate_names)

        def share(th: np.ndarray, j: int | None) -> np.ndarray:
            a, b = np.exp(th[..., 2]), np.exp(th[..., 3])
            e = np.exp(th[..., off + j]) if j is not None else 1.0
            return np.exp(betaln(a * e, b * e + k) - betaln(a * e, b * e))

        out = []
        for j, nm in [(None, "reference"), *enumerate(self.dropout_names)]:
            d = share(draws, j)
            out.append({"covariate": nm, "share": float(share(self.theta_, j)), "low": float(np.quantile(d, 0.025)),
                        "high": float(np.quantile(d, 0.975)), "purchases": k})
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        """params, se, log_likelihood, lr_test, effects and references (for results.json)."""
        return {
            "model": self.model, "params": dict(self.params_), "se": dict(self.standard_errors_),
            "log_likelihood": self.log_likelihood_, "log_likelihood_without": self.log_likelihood_without_,
            "lr_test": self.lr_test(), "references": dict(self.design.references), "customers": self.n_customers_,
            "effects": self.effects().to_dict(orient="records"),
        }

    def __repr__(self) -> str:
        lr = self.lr_test()
        return (f"<CovariateFit: {self.name} on {self.n_customers_:,} customers; "
                f"{len(self.rate_names)} purchase and {len(self.dropout_names)} drop-out coefficients; "
                f"LR test {lr['statistic']:.1f} on {lr['df']} df, p = {lr['p_value']:.3g}>")


def _numeric_gradient(f, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.empty(theta.size)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def fit_covariates(summary: Any, covariates: list[str], *, model: str = "bgnbd", rate: bool = True,
                   dropout: bool = True, reference: dict[str, str] | None = None) -> CovariateFit:
    """Fit BG/NBD or Pareto/NBD with covariates on purchase rate and drop-out ([7], [8]).

    Parameters
    ----------
    summary : ibis.Table or pandas.DataFrame
        Per-customer frequency, recency, T and the covariate columns (the summary joined
        with the customers table, :func:`with_customers`), or such rows with ``weight``.
    covariates : list of str
        Customers-table columns; numeric ones enter as they are (effects per unit),
        categorical ones one-hot against a reference level (:func:`design_matrix`).
    model : {"bgnbd", "pareto_nbd"}
    rate, dropout : bool
        Which processes the covariates enter.
    reference : dict, optional
        Reference level per categorical column (default: its most common level).

    Returns
    -------
    CovariateFit
        Base parameters and coefficients with standard errors, the likelihood-ratio test
        against the model without covariates (fitted here on the same rows), effects.

    Raises
    ------
    ModelError
        When the optimiser does not converge or the information matrix is singular.
    """
    if model not in MODELS:
        raise ParameterError(f"covariates: model must be one of {', '.join(MODELS)}; got {model!r}")
    if not (rate or dropout):
        raise ParameterError("covariates: let them enter the purchase rate, the drop-out or both")
    rows = covariate_rows(summary, covariates)
    w = rows["weight"].to_numpy(float)
    design = design_matrix(rows, covariates, reference=reference, weight=w)
    x, tx, T = (rows[k].to_numpy(float) for k in KEYS)
    Z = design.matrix
    Z1 = Z if rate else np.zeros((len(rows), 0))
    Z2 = Z if dropout else np.zeros((len(rows), 0))
    base_rows = rows.groupby(list(KEYS), as_index=False)["weight"].sum()
    base = (fit_bgnbd if model == "bgnbd" else fit_pareto_nbd)(base_rows)
    names = MODELS[model]
    scale = 10.0 / float(np.max(T))
    xs, txs, Ts = x, tx * scale, T * scale
    start = np.concatenate([np.log([base.params_[k] * (scale if k in ("alpha", "beta") else 1.0) for k in names]),
                            np.zeros(Z1.shape[1] + Z2.shape[1])])
    args = (xs, txs, Ts, w, Z1, Z2)
    with np.errstate(all="ignore"):
        if model == "bgnbd":
            def fg(th):
                v, g, _ = bgnbd_cov_ll_and_grad(th, *args)
                return v, g
            res = minimize(fg, start, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": 3000})

            def grad(th):
                return bgnbd_cov_ll_and_grad(th, *args)[1]
        else:
            def f(th):
                return pareto_cov_nll(th, *args)[0]
            res = minimize(f, start, method="BFGS", options={"gtol": 1e-6, "maxiter": 3000})

            def grad(th):
                return _numeric_gradient(f, th)
        theta = res.x
        if not np.all(np.isfinite(theta)) or not np.isfinite(res.fun) or res.fun >= 1e300:
            raise ModelError(f"{MODEL_NAMES[model]} with covariates did not converge: {res.message}")
        H = gradient_hessian(grad, theta, step=1e-5)
    try:
        cov = np.linalg.inv(H) / w.sum()
    except np.linalg.LinAlgError:
        raise ModelError(f"{MODEL_NAMES[model]} with covariates: the information matrix is singular "
                         "(a covariate may be constant within the customers, or two columns may say the same)") from None
    diag = np.diag(cov)
    # back to the data's time unit: alpha and beta carry the scaling, the coefficients do not
    theta_u = theta.copy()
    for i, k in enumerate(names):
        if k in ("alpha", "beta"):
            theta_u[i] -= np.log(scale)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(diag > 0, diag, np.nan))
    params = {k: float(np.exp(theta_u[i])) for i, k in enumerate(names)}
    ses = {k: float(np.exp(theta_u[i]) * se[i]) for i, k in enumerate(names)}
    rate_names = list(design.names) if rate else []
    drop_names = list(design.names) if dropout else []
    for j, nm in enumerate(rate_names):
        params[f"rate.{nm}"] = float(theta[4 + j])
        ses[f"rate.{nm}"] = float(se[4 + j])
    for j, nm in enumerate(drop_names):
        params[f"dropout.{nm}"] = float(theta[4 + len(rate_names) + j])
        ses[f"dropout.{nm}"] = float(se[4 + len(rate_names) + j])
    targs = (x, tx, T, w, Z1, Z2)
    with np.errstate(all="ignore"):
        if model == "bgnbd":
            ll1 = float(np.sum(w * bgnbd_cov_ll_and_grad(theta_u, *targs)[2]))
        else:
            ll1 = float(np.sum(w * pareto_cov_nll(theta_u, *targs)[1]))
    return CovariateFit(model=model, params_=params, standard_errors_=ses, covariance_=cov, log_likelihood_=ll1,
                        log_likelihood_without_=float(base.log_likelihood_), design=design, rate_names=rate_names,
                        dropout_names=drop_names, n_customers_=int(round(w.sum())), theta_=theta_u)
