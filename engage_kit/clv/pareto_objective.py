"""The Pareto/NBD objective on compressed rows with its analytic gradient.

The Pareto/NBD likelihood (equation 18 of [1]) is written with the survival integral

    L = Γ(r+x) α^r β^s / Γ(r) · [E(T) + J(t_x) − J(T)],
    E(t) = (α+t)^−(r+x) (β+t)^−s,
    J(t) = s ∫_t^∞ (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,

(a customer alive at T, or dead at some τ in (t_x, T], averaged over the gamma-distributed
purchase and drop-out rates). J(t) depends on the pair (x, t) only, so it is taken once
per distinct (x, t_x) and (x, T) pair. With Q(t) = J(t)/E(t), which lies in (0, 1) because
J(T) ≤ E(T),

    ln L = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β + ln E(T) + ln(1 − Q(T) + Q(t_x) e^D),
    D    = ln E(t_x) − ln E(T) ≥ 0,

whose last logarithm is of a number ≥ 1: no cancellation, however close t_x is to T.
Q(t) is a Gauss hypergeometric series (a positive series in z = |α−β|/(max(α,β)+t) whose
parameter derivatives are positive series too, :func:`_series`), summed where z ≤ 1/2;
where z > 1/2 (a small t when α and β are far apart) J(t) is the integral up to the
point t₁ where z = 1/2, by Gauss-Legendre quadrature, plus J(t₁) from the series
(:func:`_log_q`). Every term but one logaddexp per row is a sum per distinct value.

References
----------
[1] Fader and Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
    Expressions", http://brucehardie.com/notes/009/
[2] Abramowitz and Stegun (1964), Handbook of Mathematical Functions, 15.1.1 (the
    hypergeometric series) and 15.3.3 (Euler's transformation).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.special import digamma, gammaln

Z_SPLIT = 0.5  # the series is summed where z ≤ Z_SPLIT: at most about 60 terms
SERIES_TOL = 1e-17  # a series stops when a bound of its tail is below this fraction of its sum
GL_NODES, GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
PANEL_MAX = 1.5  # longest quadrature panel in ln(min(α, β) + τ)
PANEL_SPREAD = 8.0  # a panel's length times the largest slope of the log integrand on it
CUT = 45.0  # the quadrature stops where the integrand is this far (in log) below its peak and falling


class ParetoNBDObjective:
    """Pareto/NBD objective of lifetimes' ``ParetoNBDFitter`` over its number of rows, and its gradient.

    lifetimes minimises −Σ wᵢ ln Lᵢ / mean(w) + c · Σ θ², θ = (r, α, s, β); this is that
    divided by the number of rows n, the weighted mean negative log-likelihood plus
    (c / n) · Σ θ², as a function of ln θ. With a = r+x, the log-likelihood of a row is
    (see the module docstring)

        ln L = ln Γ(a) − ln Γ(r) + r ln α + s ln β − a ln(α+T) − s ln(β+T) + m,
        m    = ln(1 − Q(T) + e^u),   u = D + ln Q(t_x),
        D    = a (ln(α+T) − ln(α+t_x)) + s (ln(β+T) − ln(β+t_x)),

    and with q = Q(T) e^−m, p = e^(u−m) and ψ the digamma function

        ∂ ln L/∂θ = ∂(ln Γ(a) − ln Γ(r) + r ln α + s ln β + ln E(T))/∂θ
                    − q ∂ln Q(T)/∂θ + p (∂D/∂θ + ∂ln Q(t_x)/∂θ),

    ∂/∂r: ψ(a) − ψ(r) + ln α − ln(α+T), ∂/∂α: r/α − a/(α+T), ∂/∂s: ln β − ln(β+T),
    ∂/∂β: s/β − s/(β+T); ∂D/∂r = ln(α+T) − ln(α+t_x), ∂D/∂α = a (1/(α+T) − 1/(α+t_x)),
    ∂D/∂s = ln(β+T) − ln(β+t_x), ∂D/∂β = s (1/(β+T) − 1/(β+t_x)); ln Q and its derivatives
    from :func:`_log_q`. ∂/∂ln θ = θ ∂/∂θ.

    Parameters
    ----------
    x, tx, T, w : numpy.ndarray
        Frequency, recency, age and weight of each (compressed) row, in one time unit.
    penalizer : float
        lifetimes' ``penalizer_coef`` c (on θ in the rows' time unit).
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float = 0.0) -> None:
        x, tx, T, w = (np.asarray(v, dtype=float).reshape(-1) for v in (x, tx, T, w))
        n = x.size
        self.penalizer = float(penalizer) / n
        self.ux, inv_x = np.unique(x, return_inverse=True)
        ut, inv_t = np.unique(np.r_[tx, T], return_inverse=True)
        keys, inv = np.unique(np.r_[inv_x, inv_x].astype(np.int64) * ut.size + inv_t, return_inverse=True)  # by x, then t
        self.px, self.pt = self.ux[keys // ut.size], ut[keys % ut.size]
        self.i_tx, self.i_T = inv[:n], inv[n:]
        self.x, self.w = x, w
        self.W = float(w.sum())
        self.wx = np.bincount(inv_x, weights=w, minlength=self.ux.size)
        self.wT = np.bincount(self.i_T, weights=w, minlength=self.px.size)  # weights per (x, T) pair
        self.wxT = self.wT * self.px
        self.n_pairs = self.px.size
        # each pair's x among the distinct x and t among the distinct t; the pairs by t (z falls as t grows)
        self.ut, self.p_it = np.unique(self.pt, return_inverse=True)
        self.p_ix = np.searchsorted(self.ux, self.px)
        self.by_t = np.argsort(self.p_it, kind="stable")
        self.ix_by_t = self.p_ix[self.by_t]
        self.it_by_t = self.p_it[self.by_t]

    def without_penalty(self) -> ParetoNBDObjective:
        """The same rows without the penalty: the mean negative log-likelihood."""
        other = copy.copy(self)
        other.penalizer = 0.0
        return other

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and gradient at ``log_params`` = ln(r, α, s, β)."""
        r, alpha, s, beta = np.exp(np.asarray(log_params, dtype=float))
        W, ux, wx, wT, wxT = self.W, self.ux, self.wx, self.wT, self.wxT
        la = np.log(alpha + self.pt)
        lb = np.log(beta + self.pt)
        ia = 1.0 / (alpha + self.pt)
        ib = 1.0 / (beta + self.pt)
        log_q, d_log_q = _log_q(r + self.ux, s, alpha, beta, self, la, lb)
        i_tx, i_T, w = self.i_tx, self.i_T, self.w
        a_row = r + self.x
        d_la = la[i_T] - la[i_tx]
        d_lb = lb[i_T] - lb[i_tx]
        u = a_row * d_la + s * d_lb + log_q[i_tx]
        log_q_T = log_q[i_T]
        v = np.log1p(-np.exp(log_q_T))
        m = np.logaddexp(v, u)
        p = np.exp(u - m)
        q = np.exp(log_q_T - m)
        wp = w * p
        pair_T = np.bincount(i_T, weights=w * q, minlength=self.n_pairs)
        pair_tx = np.bincount(i_tx, weights=wp, minlength=self.n_pairs)
        pair_grad = np.einsum("ij,j->i", d_log_q, pair_tx - pair_T)  # Σ w (p ∂ln Q(t_x) − q ∂ln Q(T)) over (r, α, s, β)
        ll = (_dot(wx, gammaln(r + ux)) - W * gammaln(r) + W * (r * np.log(alpha) + s * np.log(beta))
              - _dot(r * wT + wxT, la) - s * _dot(wT, lb) + _dot(w, m))
        g_r = _dot(wx, digamma(r + ux)) - W * digamma(r) + W * np.log(alpha) - _dot(wT, la) + _dot(wp, d_la)
        g_alpha = W * r / alpha - _dot(r * wT + wxT, ia) + np.einsum("i,i,i->", wp, a_row, ia[i_T] - ia[i_tx])
        g_s = W * np.log(beta) - _dot(wT, lb) + _dot(wp, d_lb)
        g_beta = W * s / beta - s * _dot(wT, ib) + s * _dot(wp, ib[i_T] - ib[i_tx])
        theta = np.array([r, alpha, s, beta])
        value = -ll / W + self.penalizer * float(np.sum(theta**2))
        grad = -(np.array([g_r, g_alpha, g_s, g_beta]) + pair_grad) / W * theta + 2 * self.penalizer * theta**2
        return float(value), grad


def _log_q(a_x: np.ndarray, s: float, alpha: float, beta: float, pairs: ParetoNBDObjective, la: np.ndarray,
           lb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ln Q(t) = ln(J(t)/E(t)) per (x, t) pair and its derivatives w.r.t. (r, α, s, β).

    With a = r+x (``a_x`` per distinct x), m = min(α, β), M = max(α, β) and z = (M−m)/(M+t),
    Euler's transformation of the hypergeometric function of equations (19)-(20) of
    note 009 ([2], 15.3.3) gives a series of positive terms with ratio below z:

        α ≥ β:  Q(t) = s/(a+s) · Σₖ (a)ₖ/(a+s+1)ₖ zᵏ
        α < β:  Q(t) = s/(a+s) · (α+t)/(β+t) · Σₖ (s+1)ₖ/(a+s+1)ₖ zᵏ

    (:func:`_series`). Where z > 1/2 the series would be slow, and J(t) is split at t₁ with
    (M−m)/(M+t₁) = 1/2: J(t) = s ∫_t^{t₁} (α+τ)^−a (β+τ)^−(s+1) dτ + E(t₁) Q(t₁), the integral by
    Gauss-Legendre quadrature in ln(m+τ) (:func:`_near_integral`). J does not depend on t₁,
    so its derivatives are taken with t₁ held fixed.

    Returns
    -------
    log_q : numpy.ndarray
        ln Q(t) per pair.
    d_log_q : numpy.ndarray
        Shape (4, pairs): ∂ ln Q(t)/∂(r, α, s, β).
    """
    delta = abs(alpha - beta)
    big = max(alpha, beta)
    far_t = (big + pairs.ut) * Z_SPLIT < delta  # z > Z_SPLIT
    t1 = delta / Z_SPLIT - big
    log_q, d_log_q = _series(a_x, s, alpha, beta, np.where(far_t, t1, pairs.ut), pairs)
    far = far_t[pairs.p_it]
    if np.any(far):
        af, tf = a_x[pairs.p_ix[far]], pairs.pt[far]
        la1, lb1 = np.log(alpha + t1), np.log(beta + t1)
        # Q(t₁) E(t₁)/E(t) and the derivatives of ln(E(t₁)/E(t)) with respect to (r, α, s, β)
        tail = np.exp(log_q[far] - af * (la1 - la[far]) - s * (lb1 - lb[far]))
        d_ratio = np.array([la[far] - la1, af / (alpha + tf) - af / (alpha + t1), lb[far] - lb1,
                            s / (beta + tf) - s / (beta + t1)])
        integral, d_integral = _near_integral(af, s, alpha, beta, tf, la[far], lb[far], np.log(delta * (1 - Z_SPLIT) / Z_SPLIT))
        total = integral + tail
        d_log_q[:, far] = (d_integral + tail * (d_log_q[:, far] + d_ratio)) / total
        log_q[far] = np.log(total)
    return log_q, d_log_q


def _series(a_x: np.ndarray, s: float, alpha: float, beta: float, t_u: np.ndarray,
            pairs: ParetoNBDObjective) -> tuple[np.ndarray, np.ndarray]:
    """ln Q and its derivatives from the hypergeometric series (see :func:`_log_q`) per pair,
    at the distinct times ``t_u`` (t₁ in place of the times where z > 1/2).

    S = Σₖ cₖ zᵏ with c₀ = 1, cₖ₊₁ = cₖ (p+k)/(c+k), c = a+s+1 and p = a (α ≥ β) or s+1
    (α < β); the series in the derivatives are

        ∂S/∂a = Σₖ cₖ Gₐ,ₖ zᵏ,  Gₐ,ₖ = Σⱼ<ₖ ∂ln((p+j)/(c+j))/∂a,   ∂S/∂s likewise,
        ∂S/∂z = Σₖ (k+1) cₖ₊₁ zᵏ,

    where ∂ln((a+j)/(c+j))/∂a = (s+1)/((a+j)(c+j)), ∂ln((s+1+j)/(c+j))/∂s = a/((s+1+j)(c+j))
    and the other one is −1/(c+j) (no differences of nearly equal numbers). The coefficients
    depend on x alone and z on t alone. The terms fall at least as fast as zᵏ: at most K
    terms (K the first of 16, 32, ... for which the remainder bound
    c_K z^K ((K+1)/(1−z) + 1/(1−z)²) (1 + |Gₐ,K| + |Gₛ,K|) is below 1e-17 at the largest z;
    S ≥ 1), and for each pair only as many as that bound needs at its own z, with the
    largest coefficients over x. The four series are summed by Horner's scheme over the
    pairs in order of t (falling z), so the pairs that need term k are the first ones.
    """
    alpha_ge = alpha >= beta
    big = max(alpha, beta)
    z_u = abs(alpha - beta) / (big + t_u)
    z_max = float(np.max(z_u))
    K = 16
    while True:
        j = np.arange(K + 1, dtype=float)
        cj = a_x[:, None] + (s + 1.0) + j
        pj = a_x[:, None] + j if alpha_ge else np.broadcast_to(s + 1.0 + j, cj.shape)
        if alpha_ge:
            ga, gs = (s + 1.0) / (pj * cj), -1.0 / cj
        else:
            ga, gs = -1.0 / cj, a_x[:, None] / (pj * cj)
        ones = np.ones((a_x.size, 1))
        coef = np.concatenate([ones, np.cumprod(pj / cj, axis=1)], axis=1)  # c₀ … c_{K+1}
        Ga = np.concatenate([0 * ones, np.cumsum(ga, axis=1)], axis=1)  # Gₐ,₀ … Gₐ,K+1
        Gs = np.concatenate([0 * ones, np.cumsum(gs, axis=1)], axis=1)
        bound = (coef[:, K] * z_max**K * ((K + 1) / (1 - z_max) + 1 / (1 - z_max) ** 2)
                 * (1 + np.abs(Ga[:, K]) + np.abs(Gs[:, K])))
        if np.all(bound < SERIES_TOL) or K >= 4096:
            break
        K *= 2
    C = np.ascontiguousarray(np.stack([coef[:, :K], coef[:, :K] * Ga[:, :K], coef[:, :K] * Gs[:, :K],
                                       coef[:, 1:K + 1] * j[1:K + 1]], axis=2).transpose(1, 0, 2))  # (k, x, 4)
    # a pair needs term k while its remainder bound there, with the largest coefficient over x
    # and 1/(1−z) at its largest, is at least the tolerance: while z ≥ z_k. The pairs in order of
    # t are in order of falling z, so those are the first n_k: Horner's scheme over them.
    k = np.arange(1, K)
    h = np.max(coef[:, 1:K] * (1 + np.abs(Ga[:, 1:K]) + np.abs(Gs[:, 1:K])), axis=0)
    with np.errstate(divide="ignore"):
        log_z_k = (np.log(SERIES_TOL) - np.log(h * ((k + 1) / (1 - z_max) + 1 / (1 - z_max) ** 2))) / k
    z_sorted = z_u[pairs.it_by_t]
    counts = np.r_[z_sorted.size, np.searchsorted(-z_sorted, -np.exp(log_z_k), side="right")]
    counts = np.minimum.accumulate(counts)
    acc = np.zeros((z_sorted.size, 4))
    z4 = np.repeat(z_sorted, 4).reshape(-1, 4)
    for kk in range(K - 1, -1, -1):
        n_k = counts[kk]
        if n_k:
            head = acc[:n_k]
            head *= z4[:n_k]
            head += np.take(C[kk], pairs.ix_by_t[:n_k], axis=0)
    sums = np.empty((pairs.n_pairs, 4))
    sums[pairs.by_t] = acc
    S, Sa, Ss, Sz = sums.T
    a = a_x[pairs.p_ix]
    t = t_u[pairs.p_it]
    with np.errstate(divide="ignore"):
        base = np.log(s) - np.log(a + s)
    d = np.empty((4, a.size))
    d[0] = -1.0 / (a + s) + Sa / S
    d[2] = 1.0 / s - 1.0 / (a + s) + Ss / S
    dz = Sz / S
    if alpha_ge:
        log_q = base + np.log(S)
        d[1] = dz * (beta + t) / (alpha + t) ** 2
        d[3] = -dz / (alpha + t)
    else:
        log_q = base + np.log(alpha + t) - np.log(beta + t) + np.log(S)
        d[1] = 1.0 / (alpha + t) - dz / (beta + t)
        d[3] = -1.0 / (beta + t) + dz * (alpha + t) / (beta + t) ** 2
    return log_q, d


def _near_integral(a: np.ndarray, s: float, alpha: float, beta: float, t: np.ndarray, la: np.ndarray,
                   lb: np.ndarray, ell_end: float) -> tuple[np.ndarray, np.ndarray]:
    """s ∫_t^{t₁} (α+τ)^−a (β+τ)^−(s+1) dτ / E(t) and its derivatives w.r.t. (r, α, s, β).

    In ℓ = ln(m+τ), m = min(α, β) (from ln(m+t) to ``ell_end`` = ln(m+t₁)), the integrand
    (times e^ℓ, over E(t)) is g = s exp(−a (ln(α+τ) − ln(α+t)) − s (ln(β+τ) − ln(β+t))
    − ln(β+τ) + ℓ): analytic within π of the real axis, with the slope
    d ln g/dℓ = 1 − eₘ − e_M (m+τ)/(M+τ) (eₘ, e_M the exponents a and s+1 on the smaller and
    the larger of α+τ, β+τ), which only falls. The panels are at most 1.5 long and
    short enough that their length times the largest slope on them stays below 8 (24 nodes
    each then integrate to rounding); the quadrature stops at t₁ or where ln g, falling, is
    45 below its peak. The derivatives are the integrals of g ∂ln g/∂θ at fixed τ:
    −(ln(α+τ) − ln(α+t)), a/(α+t) − a/(α+τ), 1/s − (ln(β+τ) − ln(β+t)), s/(β+t) − (s+1)/(β+τ).
    """
    small = min(alpha, beta)
    delta = abs(alpha - beta)
    log_delta = np.log(delta)
    e_small, e_big = (a, np.full(a.size, s + 1.0)) if alpha <= beta else (np.full(a.size, s + 1.0), a)

    def log_g(ell: np.ndarray, rows: np.ndarray) -> np.ndarray:
        lap, lbp = _log_shift(ell, alpha - small, log_delta), _log_shift(ell, beta - small, log_delta)
        return np.log(s) - a[rows] * (lap - la[rows]) - s * (lbp - lb[rows]) - lbp + ell

    n = a.size
    ell = np.log(small + t)
    rows = np.arange(n)
    peak = log_g(ell, rows)
    starts, lengths, owners = [], [], []
    for _ in range(10_000):
        if not rows.size:
            break
        y = np.minimum(1 - Z_SPLIT, np.exp(ell - log_delta) * 4.5)  # bounds (m+τ)/(M+τ) on the panel
        spread = np.abs(1 - e_small[rows]) + e_big[rows] * y
        h = np.minimum(np.minimum(PANEL_MAX, PANEL_SPREAD / spread), ell_end - ell)
        starts.append(ell)
        lengths.append(h)
        owners.append(rows)
        ell = ell + h
        g_end = log_g(ell, rows)
        peak = np.maximum(peak, g_end)
        slope = 1 - e_small[rows] - e_big[rows] / (1 + delta * np.exp(-ell))
        more = (ell_end - ell > 1e-12 * max(1.0, abs(ell_end))) & ~((slope < 0) & (g_end < peak - CUT))
        ell, peak, rows = ell[more], peak[more], rows[more]
    start, length, owner = np.concatenate(starts), np.concatenate(lengths), np.concatenate(owners)
    nodes = start[:, None] + length[:, None] * (GL_NODES + 1) / 2
    weights = length[:, None] * GL_WEIGHTS / 2
    lap = _log_shift(nodes, alpha - small, log_delta)
    lbp = _log_shift(nodes, beta - small, log_delta)
    ao, lao, lbo = a[owner, None], la[owner, None], lb[owner, None]
    gw = weights * np.exp(np.log(s) - ao * (lap - lao) - s * (lbp - lbo) - lbp + nodes)
    inv_a, inv_b = np.exp(-lap), np.exp(-lbp)
    per_panel = [gw.sum(axis=1), -np.einsum("ij,ij->i", gw, lap - lao),
                 np.einsum("ij,ij->i", gw, (ao / (alpha + t[owner, None])) - ao * inv_a),
                 np.einsum("ij,ij->i", gw, 1 / s - (lbp - lbo)),
                 np.einsum("ij,ij->i", gw, s / (beta + t[owner, None]) - (s + 1) * inv_b)]
    sums = np.array([np.bincount(owner, weights=v, minlength=n) for v in per_panel])
    return sums[0], sums[1:]


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Σ uᵢ vᵢ without BLAS, whose threads wait for busy cores (numpy's einsum loop)."""
    return float(np.einsum("i,i->", u, v))


def _log_shift(ell: np.ndarray, shift: float, log_shift: float) -> np.ndarray:
    """ln(shift + e^ℓ): ℓ itself when shift is 0."""
    return ell if shift == 0 else np.logaddexp(log_shift, ell)
