"""Gamma-Gamma spend model: likelihood, fit through ``lifetimes``, expected spend, and the
check of its assumption that spend does not depend on purchase frequency.

References
----------
[5] Fader, Hardie and Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis", JMR 42(4); Gamma-Gamma: http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from ..errors import ModelError, ParameterError
from .base import (
    Z95,
    FittedModel,
    _arrays,
    _check_penalizer,
    _first_line,
    _lifetimes,
    _params,
    _quiet,
    _scalar_or_array,
    check_inputs,
)
from .prep import summary_arrays


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
    with _quiet():
        try:
            fitter.fit(x, m, weights=w)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as e:
            raise ModelError(
                f"Gamma-Gamma did not converge ({_first_line(e, 'optimiser failed')}). "
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
