"""Shared machinery of the CLV model fits: input checks, the calls into ``lifetimes``,
convergence messages, standard errors and the fitted-model classes every model builds on.

Each model family has its own module (:mod:`.bgnbd`, :mod:`.pareto`, :mod:`.gamma_gamma`);
:mod:`.models` gathers them under one name.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

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


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Run a ``lifetimes`` fit without its RuntimeWarnings and without what it prints."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _first_line(error: BaseException, default: str) -> str:
    """The first line of an optimiser's error message, ``default`` when it has none."""
    return str(error).strip().splitlines()[0] if str(error).strip() else default


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


def _check_penalizer(penalizer: float) -> float:
    try:
        pen = float(penalizer)
    except (TypeError, ValueError):
        raise ParameterError(f"penalizer must be a number >= 0; got {penalizer!r}") from None
    if not np.isfinite(pen) or pen < 0:
        raise ParameterError(f"penalizer must be a number >= 0; got {penalizer!r}")
    return pen


def _fit_data(summary: Any, penalizer: float, model: str) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The checked penalizer and the (frequency, recency, T) rows with their weights.

    Raises :class:`ParameterError` for an impossible penalizer or rows and
    :class:`ModelError` when the data cannot identify ``model`` (:func:`check_fit_data`).
    """
    pen = _check_penalizer(penalizer)
    arrays, w = summary_arrays(summary)
    x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
    check_fit_data(x, T, w, model, tx)
    return pen, x, tx, T, w


def _not_converged(model: str, x: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float, detail: str = "") -> ModelError:
    suggestion = 0.001 if penalizer <= 0 else penalizer * 10
    return ModelError(
        f"{model} did not converge{(': ' + detail) if detail else ''}. Data: {_shape_text(x, T, w)}. "
        f"Try penalizer={suggestion:g} (a small L2 penalty on the parameters; raise it tenfold if that "
        "is not enough), or a longer calibration period."
    )


def _ran_off(params: dict[str, float]) -> str:
    return f"the estimates ran off ({', '.join(f'{k}={v:.3g}' for k, v in params.items())})"


def _check_estimates(model: str, params: dict[str, float], x: np.ndarray, T: np.ndarray, w: np.ndarray,
                     penalizer: float) -> None:
    """Raise the not-converged :class:`ModelError` when an estimate is not a finite
    positive number or exceeds 1e7 (the optimiser ran off)."""
    if not all(np.isfinite(v) and v > 0 for v in params.values()) or max(params.values()) > 1e7:
        raise _not_converged(model, x, T, w, penalizer, _ran_off(params))


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


def gradient_hessian(grad: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, *, step: float = 1e-6) -> np.ndarray:
    """Hessian from an analytic gradient: forward differences, symmetrised.

    Row i is (∇f(x0 + h·eᵢ) − ∇f(x0)) / h, and H is (H + Hᵀ)/2; k + 1 gradient calls for
    k parameters (against 4k² function calls for :func:`numeric_hessian`).
    """
    g0 = grad(x0)
    k = x0.size
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        H[i] = (grad(x0 + e) - g0) / step
    return (H + H.T) / 2


def central_gradient_hessian(grad: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, *,
                             step: float = 1e-5) -> np.ndarray:
    """Hessian from an analytic gradient by central differences, symmetrised.

    Row i is (∇f(x0 + h·eᵢ) − ∇f(x0 − h·eᵢ)) / 2h: error O(h²) against O(h) for
    :func:`gradient_hessian`, for 2k gradient calls.
    """
    k = x0.size
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        H[i] = (grad(x0 + e) - grad(x0 - e)) / (2 * step)
    return (H + H.T) / 2


def log_space_standard_errors(total_ll, params: np.ndarray) -> np.ndarray:
    """Standard errors of positive parameters from the observed information in log space.

    Var(theta) = J (−∇² LL(log theta))⁻¹ J with J = diag(theta) (delta method).
    """
    logp = np.log(params)
    H = numeric_hessian(lambda lp: -total_ll(np.exp(lp)), logp)
    return log_space_errors(params, H, 1.0)  # the Hessian of the total: one "customer"


def log_space_errors(theta: np.ndarray, H: np.ndarray, customers: float) -> np.ndarray:
    """Standard errors of θ from the Hessian ``H`` of a mean negative log-likelihood in ln θ.

    Var(θ) = θ² · diag(H⁻¹) / W, W the customers the mean is over (the observed information
    is W·H; the delta method turns ln θ into θ). NaN where H is singular or a variance is not
    positive (a fit at a bound).
    """
    try:
        var = theta**2 * np.diag(np.linalg.inv(H)) / customers
    except np.linalg.LinAlgError:
        return np.full(theta.size, np.nan)
    return np.sqrt(np.where(var > 0, var, np.nan))


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


class PurchaseFormulas(NamedTuple):
    """A purchase model's formulas, each a function of (params, ...) in the data's time unit."""

    log_likelihood: Callable[..., np.ndarray]
    expected_purchases: Callable[..., Any]
    conditional_expected_purchases: Callable[..., Any]
    p_alive: Callable[..., Any]


class TransactionModel(FittedModel):
    """A purchase-count model (BG/NBD family, Pareto/NBD) with its predictions.

    Each model names its own :class:`PurchaseFormulas` in ``formulas``.
    """

    formulas: PurchaseFormulas

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (each model's own formula)."""
        return self.formulas.log_likelihood(self.params_, frequency, recency, T)

    def expected_purchases(self, t: Any) -> Any:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t]."""
        return self.formulas.expected_purchases(self.params_, t)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Expected purchases in the next ``t`` time units given (frequency, recency, T)."""
        return self.formulas.conditional_expected_purchases(self.params_, t, frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that the customer has not dropped out by T."""
        return self.formulas.p_alive(self.params_, frequency, recency, T)
