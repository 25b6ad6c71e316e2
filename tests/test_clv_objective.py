"""The fast BG/NBD and MBG/NBD objective: the same value and gradient as the row-by-row
formulas, independent of the threads, and fits that reach lifetimes' estimates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engage_kit import clv
from engage_kit.clv.bgnbd import bgnbd_mean_nll_and_grad
from engage_kit.clv.objective import BLOCK, BetaGeoObjective, betageo_mle
from engage_kit.clv.pareto import mbgnbd_log_likelihood
from engage_kit.clv.simulate import simulate_bgnbd

CAL = "1997-09-30"
POINTS = [np.full(4, 0.1), np.log([0.3, 5.0, 0.8, 2.0]), np.array([-2.0, 1.0, 3.0, -1.0])]


@pytest.fixture(scope="module")
def cdnow_rows():
    from engage_kit.datasets import load_cdnow

    c = clv.compress(clv.customer_summary(load_cdnow(sample=True), end=CAL).execute())
    return tuple(c[k].to_numpy(float) for k in ("frequency", "recency", "T", "weight"))


@pytest.fixture(scope="module")
def many_rows():
    """More rows than one block, in daily units, shuffled (the objective sorts them itself)."""
    s = simulate_bgnbd(3 * BLOCK, {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}, T=(1.0, 100.0), seed=3)
    s["T"] = np.round(s["T"] * 7) / 7
    s["recency"] = np.minimum(np.round(s["recency"] * 7) / 7, s["T"])
    c = clv.compress(s).sample(frac=1.0, random_state=1)
    return tuple(c[k].to_numpy(float) for k in ("frequency", "recency", "T", "weight"))


def _mbgnbd_objective(lp, x, tx, T, w, penalizer):
    """lifetimes' ModifiedBetaGeoFitter objective from the row-by-row log-likelihood."""
    theta = np.exp(lp)
    ll = mbgnbd_log_likelihood(dict(zip(("r", "alpha", "a", "b"), theta, strict=True)), x, tx, T)
    return -np.sum(w * ll) / w.sum() + penalizer * np.sum(theta**2)


@pytest.mark.parametrize("rows", ["cdnow_rows", "many_rows"])
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_bgnbd_objective_equals_the_row_by_row_formula(rows, penalizer, request):
    x, tx, T, w = request.getfixturevalue(rows)
    with BetaGeoObjective(x, tx * 0.3, T * 0.3, w, penalizer) as fast:
        for lp in POINTS:
            value, grad = fast(lp)
            ref_value, ref_grad = bgnbd_mean_nll_and_grad(lp, x, tx * 0.3, T * 0.3, w, penalizer)
            assert value == pytest.approx(ref_value, rel=1e-13)
            np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_mbgnbd_objective_and_its_gradient(cdnow_rows, penalizer):
    x, tx, T, w = cdnow_rows
    with BetaGeoObjective(x, tx * 0.3, T * 0.3, w, penalizer, modified=True) as fast:
        for lp in POINTS:
            value, grad = fast(lp)
            args = (x, tx * 0.3, T * 0.3, w, penalizer)
            assert value == pytest.approx(_mbgnbd_objective(lp, *args), rel=1e-13)
            h = 1e-6
            numeric = [(_mbgnbd_objective(lp + e, *args) - _mbgnbd_objective(lp - e, *args)) / (2 * h)
                       for e in np.eye(4) * h]
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("modified", [False, True])
def test_the_objective_does_not_depend_on_the_threads(many_rows, modified):
    x, tx, T, w = many_rows
    with BetaGeoObjective(x, tx, T, w, modified=modified, threads=1) as one, \
            BetaGeoObjective(x, tx, T, w, modified=modified, threads=3) as three:
        assert len(one.blocks) > 1
        for lp in POINTS:
            v1, g1 = one(lp)
            v3, g3 = three(lp)
            assert v1 == v3
            np.testing.assert_array_equal(g1, g3)


def test_fits_equal_lifetimes_on_the_same_compressed_rows(cdnow_rows):
    """The kit's BG/NBD and MBG/NBD fits against lifetimes on the same rows with weights."""
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter

    x, tx, T, w = cdnow_rows
    frame = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "weight": w})
    for fit, Fitter in ((clv.fit_bgnbd, BetaGeoFitter), (clv.fit_mbgnbd, ModifiedBetaGeoFitter)):
        ours = fit(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = Fitter().fit(x, tx, T, weights=w)
        for k in ("r", "alpha", "a", "b"):
            assert ours.params_[k] == pytest.approx(ref.params_[k], rel=1e-6), (fit.__name__, k)
            assert ours.standard_errors_[k] == pytest.approx(ref.standard_errors_[k], rel=1e-5), (fit.__name__, k)


def test_polish_reaches_the_exact_optimum(cdnow_rows):
    """BFGS stops within its tolerance; the Newton steps after it end where the gradient is 0."""
    x, tx, T, w = cdnow_rows
    scale = 10 / T.max()
    with BetaGeoObjective(x, tx * scale, T * scale, w, modified=True) as objective:
        rough = betageo_mle(objective)
        exact = betageo_mle(objective, polish=True)
        assert np.max(np.abs(objective(exact)[1])) < 1e-12 < np.max(np.abs(objective(rough)[1]))
        assert objective(exact)[0] <= objective(rough)[0]


def test_one_repeat_row_and_no_x0_rows():
    """Degenerate shapes: a single block of one row with x > 0 beside rows with x = 0."""
    x = np.array([0.0, 0.0, 2.0])
    tx = np.array([0.0, 0.0, 3.0])
    T = np.array([5.0, 8.0, 8.0])
    w = np.array([4.0, 1.0, 2.0])
    with BetaGeoObjective(x, tx, T, w) as fast:
        for lp in POINTS:
            value, grad = fast(lp)
            ref_value, ref_grad = bgnbd_mean_nll_and_grad(lp, x, tx, T, w)
            assert value == pytest.approx(ref_value, rel=1e-13)
            np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-13)
    with BetaGeoObjective(x[:2], tx[:2], T[:2], w[:2]) as none_repeat:  # no row has δ = 1
        assert none_repeat.blocks == []
        value, grad = none_repeat(POINTS[1])
        assert value == pytest.approx(bgnbd_mean_nll_and_grad(POINTS[1], x[:2], tx[:2], T[:2], w[:2])[0], rel=1e-13)


@pytest.mark.parametrize("modified", [False, True])
def test_reweighted_equals_an_objective_built_with_those_weights(many_rows, modified):
    """The bootstrap reuses one objective's sorting and distinct values for every draw."""
    x, tx, T, w = many_rows
    base = BetaGeoObjective(x, tx, T, w, 0.01, modified=modified, threads=1)
    draw = np.random.default_rng(3).multinomial(int(w.sum()), w / w.sum()).astype(float)  # zeros included
    fresh = BetaGeoObjective(x, tx, T, draw, 0.01, modified=modified, threads=1)
    other = base.reweighted(draw)
    for lp in POINTS:
        v0, g0 = fresh(lp)
        v1, g1 = other(lp)
        assert v1 == v0 and np.array_equal(g1, g0)
    assert base(POINTS[1])[0] == BetaGeoObjective(x, tx, T, w, 0.01, modified=modified, threads=1)(POINTS[1])[0]
