"""Customer summaries simulated from the BG/NBD and Pareto/NBD processes with known
parameters (and covariate effects), vectorised, for the coverage and recovery checks.

BG/NBD (Fader, Hardie and Lee 2005a, section 3): while alive a customer buys at the times
of a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase she drops out
with probability p ~ Beta(a, b). Pareto/NBD (Schmittlein, Morrison and Colombo 1987): she
buys at rate λ ~ Gamma(r, α) during an exponential lifetime with rate μ ~ Gamma(s, β).
With covariates z (Fader and Hardie 2007, note 019; CLVTools' definitions): α becomes
α·exp(−γ₁ᵀz) (so λ is scaled by exp(γ₁ᵀz)); BG/NBD's a and b become a·exp(γ₂ᵀz) and
b·exp(γ₂ᵀz); Pareto/NBD's β becomes β·exp(−γ₂ᵀz) (μ scaled by exp(γ₂ᵀz)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _order_statistic_times(rng: np.random.Generator, x: np.ndarray, n: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Time of the x-th of n uniform arrivals on (0, length): length · Beta(x, n − x + 1); 0 for x = 0."""
    out = np.zeros(x.shape)
    pos = x > 0
    out[pos] = length[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    return out


def _linear(z: np.ndarray | None, gamma: Any, n: int) -> np.ndarray:
    if z is None or gamma is None:
        return np.zeros(n)
    return np.asarray(z, dtype=float) @ np.asarray(gamma, dtype=float)


def simulate_bgnbd(n: int, params: dict[str, float], *, T: Any = (26.0, 104.0), seed: int = 0,
                   z: np.ndarray | None = None, gamma_rate: Any = None, gamma_dropout: Any = None) -> pd.DataFrame:
    """Per-customer (frequency, recency, T) from the BG/NBD process.

    Parameters
    ----------
    n : int
        Customers.
    params : dict
        r, alpha, a, b (alpha in the time unit of T).
    T : (low, high) or array_like
        Observation lengths: uniform on (low, high), or one per customer.
    seed : int
        Seed of the random generator.
    z : array (n, k), optional
        Covariates; ``gamma_rate`` (k,) scales λ by exp(γ₁ᵀz), ``gamma_dropout`` (k,)
        scales both a and b by exp(γ₂ᵀz).

    Notes
    -----
    N ~ Poisson(λT) purchases would happen in (0, T] if she never dropped out; she stops
    after J ~ Geometric(p) repeat purchases, so x = min(N, J), and t_x is the x-th of N
    uniform arrival times on (0, T].
    """
    rng = np.random.default_rng(seed)
    TT = rng.uniform(T[0], T[1], n) if isinstance(T, tuple) else np.asarray(T, dtype=float)
    ur, ud = _linear(z, gamma_rate, n), _linear(z, gamma_dropout, n)
    lam = rng.gamma(params["r"], 1.0 / (params["alpha"] * np.exp(-ur)))
    p = rng.beta(params["a"] * np.exp(ud), params["b"] * np.exp(ud))
    N = rng.poisson(lam * TT)
    J = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(N, J)
    tx = _order_statistic_times(rng, x, N, TT)
    return pd.DataFrame({"frequency": x.astype("int64"), "recency": tx, "T": TT})


def simulate_pareto_nbd(n: int, params: dict[str, float], *, T: Any = (26.0, 104.0), seed: int = 0,
                        z: np.ndarray | None = None, gamma_rate: Any = None, gamma_dropout: Any = None) -> pd.DataFrame:
    """Per-customer (frequency, recency, T) from the Pareto/NBD process (r, alpha, s, beta);
    covariates as in :func:`simulate_bgnbd`, ``gamma_dropout`` scaling μ by exp(γ₂ᵀz)."""
    rng = np.random.default_rng(seed)
    TT = rng.uniform(T[0], T[1], n) if isinstance(T, tuple) else np.asarray(T, dtype=float)
    ur, ud = _linear(z, gamma_rate, n), _linear(z, gamma_dropout, n)
    lam = rng.gamma(params["r"], 1.0 / (params["alpha"] * np.exp(-ur)))
    mu = rng.gamma(params["s"], 1.0 / (params["beta"] * np.exp(-ud)))
    life = np.minimum(rng.exponential(1.0 / mu), TT)
    x = rng.poisson(lam * life)
    tx = _order_statistic_times(rng, x, x, life)
    return pd.DataFrame({"frequency": x.astype("int64"), "recency": tx, "T": TT})
