"""Discrete-time BG/BB: the published donations fit, the formulas against each other and
against lifetimes, the engine summaries over occasions, the setting choice and the report."""

from __future__ import annotations

import importlib.resources
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

import engage_kit as ek
from engage_kit.clv import demo
from engage_kit.clv.bgbb import (
    bgbb_conditional_expected_purchases,
    bgbb_discounted_expected_transactions,
    bgbb_expected_purchases,
    bgbb_log_likelihood,
    bgbb_mean_nll_and_grad,
    bgbb_p_alive,
    fit_bgbb,
)
from engage_kit.clv.discrete import analyse_discrete
from engage_kit.clv.occasions import compressed_occasions, last_complete_occasion, occasion_summary
from engage_kit.clv.settings import choose_setting
from engage_kit.errors import ModelError
from tests.helpers import plain_words_problems, visible_text

# Fader, Hardie and Shang (2010), section 3: the 1995 cohort of first-time donors, six
# repeat opportunities (1996-2001), 11,104 donors
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PUBLISHED_LL = -33225.6


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    """The donations summary shipped in the lifetimes wheel (read where it is installed)."""
    path = importlib.resources.files("lifetimes") / "datasets" / "donations.csv"
    with path.open("r") as fh:
        df = pd.read_csv(fh)
    return df.rename(columns={"periods": "n", "weights": "weight"})


@pytest.fixture(scope="module")
def fitted(donations):
    return fit_bgbb(donations)


def test_donations_reproduce_the_published_estimates(donations, fitted):
    assert int(donations["weight"].sum()) == 11104
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, rel=0.002), name
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.1)
    assert fitted.n_customers_ == 11104
    assert not fitted.at_boundary
    assert all(np.isfinite(v) and v > 0 for v in fitted.standard_errors_.values())


def test_the_analytic_gradient_matches_finite_differences(donations):
    x, tx, n, w = (donations[c].to_numpy(float) for c in ("frequency", "recency", "n", "weight"))
    for start in ([0.1, 0.2, 0.3, 0.4], [1.2, 0.75, 0.66, 2.8], [3.0, 0.5, 1.5, 6.0]):
        lp = np.log(start)
        err = check_grad(lambda p: bgbb_mean_nll_and_grad(p, x, tx, n, w)[0],
                         lambda p: bgbb_mean_nll_and_grad(p, x, tx, n, w)[1], lp)
        assert err < 1e-5


def test_the_likelihood_sums_to_one_over_every_history():
    """Over every possible (x, t_x) for n occasions the probabilities add up to one."""
    params = PUBLISHED
    n = 5
    total = 0.0
    for x in range(n + 1):
        for tx in ([0] if x == 0 else range(x, n + 1)):
            # (x, t_x) covers C(t_x − 1, x − 1) purchase patterns of the same probability
            ways = 1 if x == 0 else math.comb(tx - 1, x - 1)
            total += ways * float(np.exp(bgbb_log_likelihood(params, x, tx, n)))
    assert total == pytest.approx(1.0, abs=1e-10)


def test_predictions_agree_with_each_other(fitted):
    p = fitted.params_
    # a new customer (0, 0, 0) is the unconditional expectation
    assert bgbb_conditional_expected_purchases(p, 5, 0, 0, 0) == pytest.approx(bgbb_expected_purchases(p, 5), rel=1e-10)
    # DERT is the discounted sum of the expected purchases occasion by occasion
    d = 0.1
    t = np.arange(0, 3000)
    cum = np.asarray(bgbb_conditional_expected_purchases(p, t, 3, 5, 6))
    direct = float(np.sum(np.diff(cum) / (1 + d) ** t[1:]))
    assert bgbb_discounted_expected_transactions(p, d, 3, 5, 6) == pytest.approx(direct, rel=1e-8)
    # somebody who bought at every occasion is surely alive; one who stopped long ago less so
    assert bgbb_p_alive(p, 6, 6, 6) > 0.9 > bgbb_p_alive(p, 1, 1, 6)
    assert bgbb_p_alive(p, 0, 0, 0) == pytest.approx(p["delta"] / (p["gamma"] + p["delta"]))


def test_predictions_match_lifetimes(donations, fitted):
    """lifetimes' BetaGeoBetaBinomFitter at the same parameters (skipped where it does not run)."""
    from engage_kit.clv.base import _lifetimes

    lifetimes, _ = _lifetimes()
    f = lifetimes.BetaGeoBetaBinomFitter()
    f.params_ = pd.Series(fitted.params_)
    x, tx, n = donations["frequency"], donations["recency"], donations["n"]
    try:
        theirs_alive = np.asarray(f.conditional_probability_alive(1, x, tx, n), dtype=float)
        theirs_exp = np.asarray(f.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n), dtype=float)
    except Exception as e:  # lifetimes 0.11.3 on newer pandas / numpy
        pytest.skip(f"lifetimes' BG/BB does not run here: {e!r}")
    np.testing.assert_allclose(fitted.p_alive(x, tx, n), theirs_alive, rtol=1e-8)
    np.testing.assert_allclose(fitted.conditional_expected_purchases(5, x, tx, n), theirs_exp, rtol=1e-8)


def test_bad_rows_and_empty_data_are_clear_errors():
    with pytest.raises(ModelError, match="whole numbers"):
        fit_bgbb(pd.DataFrame({"frequency": [2], "recency": [1], "n": [3]}))
    with pytest.raises(ModelError, match="nothing to fit"):
        fit_bgbb(pd.DataFrame({"frequency": [0], "recency": [0], "n": [0]}))
    with pytest.raises(ModelError, match="no customer bought again"):
        fit_bgbb(pd.DataFrame({"frequency": [0, 0], "recency": [0, 0], "n": [3, 4]}))


def test_occasion_summaries_are_computed_in_the_engine_by_hand():
    """Three customers, yearly occasions, calibration to 2022, holdout 2023-2024."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b", "c", "c"],
        "timestamp": pd.to_datetime(["2019-11-03", "2019-12-20", "2021-11-05", "2023-11-09",
                                     "2020-12-01", "2024-11-11", "2022-11-30", "2022-12-01"]),
        "amount": [10.0, 5.0, 20.0, 30.0, 7.0, 9.0, 4.0, 6.0],
    })
    assert last_complete_occasion("2024-12-31", "Y") == 2024
    assert last_complete_occasion("2024-12-30", "Y") == 2023
    s = occasion_summary(tx, "Y", calibration_last=2022, last=2024).execute().set_index("customer_id").sort_index()
    # a: first 2019 (two gifts, one occasion), bought again in 2021 of 2020-2022; one more in the holdout
    assert s.loc["a", ["frequency", "recency", "n", "holdout"]].tolist() == [1, 2, 3, 1]
    assert s.loc["a", "amount"] == pytest.approx(20.0)
    assert s.loc["b", ["frequency", "recency", "n", "holdout"]].tolist() == [0, 0, 2, 1]
    assert s.loc["c", ["frequency", "recency", "n", "holdout"]].tolist() == [0, 0, 0, 0]
    rows = compressed_occasions(occasion_summary(tx, "Y", calibration_last=2022, last=2024))
    assert int(rows["weight"].sum()) == 3


@pytest.fixture(scope="module")
def occasions_config(tmp_path_factory) -> Path:
    return demo.write_variant("occasions", tmp_path_factory.mktemp("occasions") / "donors", 3000)


def test_the_demo_variant_recovers_its_truth(occasions_config):
    ds = ek.open_dataset(occasions_config)
    a = analyse_discrete(ds.purchases, as_of=ds.as_of, occasion="Y")
    truth = demo.OCCASION_TRUTH
    for k, v in truth.items():
        est, se = a.model_full.params_[k], a.model_full.standard_errors_[k]
        assert abs(est - v) < 3 * se + 0.05 * v, (k, est, se, v)
    assert abs(a.holdout["error"]) < 0.05
    f = a.figures
    for key in ("share_alive", "expected_purchases", "total_value", "value_per_customer"):
        assert f[key]["low"] <= f[key]["value"] <= f[key]["high"], key
    assert f["share_alive"]["n"] == 3000


def test_auto_chooses_fixed_occasions_for_yearly_gifts_and_not_for_a_shop(occasions_config, small_demo):
    ds = ek.open_dataset(occasions_config)
    choice = choose_setting(ds, "auto")
    assert (choice.setting, choice.occasion, choice.source) == ("discrete", "Y", "auto")
    assert choose_setting(small_demo, "auto").setting == "noncontractual"
    assert choose_setting(small_demo).setting == "noncontractual"


@pytest.mark.slow
def test_the_report_renders_the_discrete_setting(occasions_config, tmp_path):
    from engage_kit.cli import main

    out = tmp_path / "out"
    assert main(["report", str(occasions_config), "--only", "clv_bgnbd", "--out", str(out)]) == 0
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    assert res["setting"]["value"] == "discrete" and res["setting"]["source"] == "parameter"
    assert 3 <= len(res["findings"]) <= 5
    assert res["bgbb_full"]["params"]["alpha"] > 0
    assert {"value", "low", "high", "n"} <= set(res["figures"]["total_value"])
    body, appendix = visible_text((out / "clv_bgnbd.html").read_text(encoding="utf-8"))
    body = body.split("Contents", 1)[1]  # past the header, which names the config file
    assert plain_words_problems(body) == []
    assert "BG/BB" not in body and "BG/BB" in appendix
    assert "fixed buying occasions" in body
