"""BG/NBD and Pareto/NBD with customer covariates (engage_kit.clv.covariates)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from engage_kit import clv
from engage_kit.clv import covariates as cov
from engage_kit.clv import simulate, story_depth
from engage_kit.clv.pareto import pareto_nbd_log_likelihood
from engage_kit.errors import ParameterError

BG = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}
PNBD = {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 12.0}
# channel=referral, channel=paid, tenure (per standard deviation)
RATE = {"channel=referral": np.log(1.4), "channel=paid": 0.0, "tenure": -0.2}
DROP = {"channel=referral": np.log(0.7), "channel=paid": 0.3, "tenure": 0.0}


def _customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"channel": rng.choice(["organic", "referral", "paid"], n, p=[0.5, 0.3, 0.2]),
                         "tenure": rng.normal(0.0, 1.0, n)})


def _simulated(sim, base, n, seed):
    customers = _customers(n, seed)
    d = cov.design_matrix(customers, ["channel", "tenure"])
    assert d.names == ["channel=referral", "channel=paid", "tenure"] and d.references == {"channel": "organic"}
    g1 = np.array([RATE[k] for k in d.names])
    g2 = np.array([DROP[k] for k in d.names])
    df = sim(n, base, seed=seed, z=d.matrix, gamma_rate=g1, gamma_dropout=g2)
    return pd.concat([df, customers], axis=1)


def test_design_matrix_codes_levels_against_the_reference():
    rows = pd.DataFrame({"channel": ["a", "b", "b", "c", None], "spend": [1.0, 2.0, 3.0, 4.0, 5.0]})
    d = cov.design_matrix(rows, ["channel", "spend"])
    assert d.references == {"channel": "b"}  # the most common level
    assert d.names == ["channel=a", "channel=c", "channel=(missing)", "spend"]
    np.testing.assert_array_equal(d.matrix[:, 0], [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(d.matrix[:, 3], [1, 2, 3, 4, 5])
    d2 = cov.design_matrix(rows, ["channel"], reference={"channel": "a"})
    assert d2.names == ["channel=b", "channel=c", "channel=(missing)"]
    with pytest.raises(ParameterError, match="not found"):
        cov.design_matrix(rows, ["country"])
    with pytest.raises(ParameterError, match="missing value"):
        cov.design_matrix(rows.assign(spend=[1.0, np.nan, 2.0, 3.0, 4.0]), ["spend"])
    with pytest.raises(ParameterError, match="same value"):
        cov.design_matrix(rows.assign(spend=1.0), ["spend"])
    with pytest.raises(ParameterError, match="reference level"):
        cov.design_matrix(rows, ["channel"], reference={"channel": "zz"})


def test_likelihoods_reduce_to_the_plain_models_and_the_gradient_is_exact():
    df = _simulated(simulate.simulate_bgnbd, BG, 600, seed=1)
    rows = cov.covariate_rows(df, ["channel", "tenure"])
    d = cov.design_matrix(rows, ["channel", "tenure"], weight=rows["weight"].to_numpy(float))
    x, tx, T, w = (rows[k].to_numpy(float) for k in ("frequency", "recency", "T", "weight"))
    Z = d.matrix
    zero = np.concatenate([np.log(list(BG.values())), np.zeros(2 * Z.shape[1])])
    _, _, ll = cov.bgnbd_cov_ll_and_grad(zero, x, tx, T, w, Z, Z)
    np.testing.assert_allclose(ll, clv.bgnbd_log_likelihood(BG, x, tx, T), rtol=1e-10)
    pzero = np.concatenate([np.log(list(PNBD.values())), np.zeros(2 * Z.shape[1])])
    _, pll = cov.pareto_cov_nll(pzero, x, tx, T, w, Z, Z)
    np.testing.assert_allclose(pll, pareto_nbd_log_likelihood(PNBD, x, tx, T), rtol=1e-9)
    # analytic gradient against central differences, away from zero coefficients
    th = zero + np.random.default_rng(0).normal(0, 0.2, zero.size)
    _, g, _ = cov.bgnbd_cov_ll_and_grad(th, x, tx, T, w, Z, Z)
    h = 1e-6
    num = np.array([(cov.bgnbd_cov_ll_and_grad(th + e, x, tx, T, w, Z, Z)[0]
                     - cov.bgnbd_cov_ll_and_grad(th - e, x, tx, T, w, Z, Z)[0]) / (2 * h) for e in np.eye(th.size) * h])
    np.testing.assert_allclose(g, num, atol=1e-6)


def _within(fit, truth_rate, truth_drop, k=3.0):
    e = fit.effects()
    for row in e.itertuples():
        truth = (truth_rate if row.process == "purchase" else truth_drop)[row.covariate]
        assert abs(row.coefficient - truth) < k * row.se, (row.process, row.covariate, row.coefficient, row.se, truth)


def test_bgnbd_recovers_known_effects():
    df = _simulated(simulate.simulate_bgnbd, BG, 8000, seed=3)
    fit = cov.fit_covariates(df, ["channel", "tenure"])
    assert fit.design.references == {"channel": "organic"}
    _within(fit, RATE, DROP)
    for k, v in BG.items():
        assert abs(fit.params_[k] - v) < 3 * fit.standard_errors_[k], (k, fit.params_[k], fit.standard_errors_[k])
    lr = fit.lr_test()
    assert lr["df"] == 6 and lr["p_value"] < 1e-6
    e = fit.effects().set_index(["process", "covariate"])
    ref_rate = e.loc[("purchase", "channel=referral")]
    assert ref_rate["low"] < 1.4 < ref_rate["high"] and ref_rate["low"] > 1.0
    words = story_depth.effect_sentences(fit)
    assert len(words) == 6
    assert words[0].startswith("Customers from referral buy 1.") and "as often as customers from organic [" in words[0]
    assert "still be buying" in words[3]
    assert "measurably better" in story_depth.lr_sentence(fit) and "p < 0.001" in story_depth.lr_sentence(fit)
    res = story_depth.results(fit)
    assert res["covariates.effects"]["purchase.channel=referral"]["value"] == pytest.approx(ref_rate["multiplier"])


def test_a_covariate_without_effect_is_not_found():
    df = simulate.simulate_bgnbd(3000, BG, seed=8)
    df["noise"] = np.random.default_rng(9).normal(0, 1, len(df))
    df["tier"] = np.random.default_rng(10).choice(["gold", "silver"], len(df))
    fit = cov.fit_covariates(df, ["noise", "tier"])
    assert fit.lr_test()["p_value"] > 0.01
    _within(fit, {"noise": 0.0, "tier=gold": 0.0, "tier=silver": 0.0}, {"noise": 0.0, "tier=gold": 0.0, "tier=silver": 0.0})
    assert "do not describe" in story_depth.lr_sentence(fit)


def test_pareto_nbd_recovers_known_effects():
    df = _simulated(simulate.simulate_pareto_nbd, PNBD, 4000, seed=4)
    fit = cov.fit_covariates(df, ["channel", "tenure"], model="pareto_nbd")
    _within(fit, RATE, DROP)
    assert fit.lr_test()["p_value"] < 1e-4
    words = story_depth.effect_sentences(fit)
    assert any("drop out" in s and "as fast as customers from organic" in s for s in words)


def test_covariates_come_from_the_customers_table_in_the_engine():
    df = _simulated(simulate.simulate_bgnbd, BG, 2000, seed=5)
    df["customer_id"] = [f"C{i}" for i in range(len(df))]
    summary = ibis.memtable(df[["customer_id", "frequency", "recency", "T"]])
    customers = ibis.memtable(df[["customer_id", "channel", "tenure"]])
    joined = cov.with_customers(summary, customers, ["channel", "tenure"])
    fit_engine = cov.fit_covariates(joined, ["channel", "tenure"], dropout=False)
    fit_pandas = cov.fit_covariates(df, ["channel", "tenure"], dropout=False)
    assert fit_engine.dropout_names == [] and len(fit_engine.rate_names) == 3
    for k, v in fit_pandas.params_.items():
        assert fit_engine.params_[k] == pytest.approx(v, rel=1e-5, abs=1e-7)
    with pytest.raises(Exception, match="country"):
        cov.with_customers(summary, customers, ["country"])
