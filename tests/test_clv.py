"""CLV: data preparation, BG/NBD / Pareto/NBD / Gamma-Gamma fits, validation, CLV arithmetic.

Published figures: Fader, Hardie and Lee (2005a, 2005b) on the CDNOW 1/10 sample,
calibration to 1997-09-30, holdout to 1998-06-30, weeks.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from engage_kit import clv
from engage_kit.errors import DataError, ModelError, ParameterError
from tests.helpers import plain_words_problems, visible_text

CAL, OBS = "1997-09-30", "1998-06-30"


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"])
    )


@pytest.fixture(scope="module")
def cdnow():
    from engage_kit.datasets import load_cdnow

    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def cdnow_cal(cdnow):
    return clv.calibration_holdout(cdnow, calibration_end=CAL, observation_end=OBS).execute()


@pytest.fixture(scope="module")
def cdnow_bg(cdnow_cal):
    return clv.fit_bgnbd(cdnow_cal)


# --- data preparation, checked by hand ---------------------------------------------------


def test_customer_summary_by_hand():
    tx = _tx([
        ("A", "2024-01-01 09:00", 10.0),
        ("A", "2024-01-01 17:00", 5.0),    # same day: one transaction of 15
        ("A", "2024-01-08 10:00", 20.0),   # +7 days
        ("A", "2024-01-15 10:00", 40.0),   # +14 days
        ("A", "2024-01-20 10:00", -40.0),  # return: not a purchase
        ("A", "2024-02-01 10:00", 99.0),   # after end: ignored
        ("B", "2024-01-10 12:00", 0.0),    # zero amounts are purchases
        ("C", "2024-01-30 10:00", 5.0),    # first purchase after end: not a customer yet
    ])
    s = clv.customer_summary(tx, end="2024-01-29").execute().set_index("customer_id").sort_index()
    assert list(s.index) == ["A", "B"]
    a, b = s.loc["A"], s.loc["B"]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(2.0)         # 14 days / 7
    assert a["T"] == pytest.approx(28 / 7)           # 2024-01-01 to 2024-01-29
    assert a["monetary_value"] == pytest.approx(30)  # (20 + 40) / 2, first purchase excluded
    assert a["total_amount"] == pytest.approx(75)
    assert b["frequency"] == 0 and b["recency"] == 0 and b["monetary_value"] == 0
    assert b["T"] == pytest.approx(19 / 7)
    d = clv.customer_summary(tx, end="2024-01-29", time_unit="D").execute().set_index("customer_id")
    assert d.loc["A", "recency"] == 14 and d.loc["A", "T"] == 28
    late = clv.customer_summary(tx, end="2024-01-29", start="2024-01-05").execute().set_index("customer_id")
    assert late.loc["A", "frequency"] == 1 and late.loc["A", "monetary_value"] == pytest.approx(40)


def test_calibration_holdout_by_hand():
    tx = _tx([
        ("A", "2024-01-01", 10.0),
        ("A", "2024-01-10", 10.0),
        ("A", "2024-02-02", 30.0),
        ("A", "2024-02-02", 10.0),  # same day in the holdout: one purchase of 40
        ("A", "2024-02-09", 20.0),
        ("B", "2024-01-20", 5.0),
        ("C", "2024-02-05", 5.0),   # first purchase in the holdout: not in the cohort
        ("B", "2024-03-05", 5.0),   # after observation_end
    ])
    ch = clv.calibration_holdout(tx, calibration_end="2024-01-31", observation_end="2024-02-29").execute()
    ch = ch.set_index("customer_id").sort_index()
    assert list(ch.index) == ["A", "B"]
    assert ch.loc["A", "frequency_holdout"] == 2
    assert ch.loc["A", "monetary_value_holdout"] == pytest.approx(30)
    assert ch.loc["B", "frequency_holdout"] == 0
    assert ch.loc["A", "duration_holdout"] == pytest.approx(29 / 7)
    with pytest.raises(ParameterError, match="observation_end"):
        clv.calibration_holdout(tx, calibration_end="2024-01-31", observation_end="2024-01-01")


def test_compress_counts_rows():
    df = pd.DataFrame({"frequency": [0, 0, 1, 1, 1], "recency": [0, 0, 2.0, 2.0, 3.0], "T": [5.0, 5.0, 6.0, 6.0, 6.0]})
    c = clv.compress(df)
    assert c["weight"].tolist() == [2, 2, 1]
    assert c["weight"].sum() == len(df)
    again = clv.compress(c)
    assert again["weight"].tolist() == [2, 2, 1]


def test_bad_inputs_name_the_problem():
    with pytest.raises(DataError, match="amount"):
        clv.customer_summary(pd.DataFrame({"customer_id": ["a"], "timestamp": [pd.Timestamp("2024-01-01")]}), end="2024-02-01")
    tx = _tx([("A", "2024-01-01", 1.0)])
    with pytest.raises(ParameterError, match="time_unit"):
        clv.customer_summary(tx, end="2024-02-01", time_unit="M")
    with pytest.raises(ParameterError, match="end"):
        clv.customer_summary(tx, end="not a date")
    with pytest.raises(ParameterError, match="models"):
        clv.fit_models(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}), ["bgnbd", "paretonbd"])


# --- published figures: CDNOW sample ----------------------------------------------------


def test_cdnow_holdout_counts(cdnow_cal):
    assert len(cdnow_cal) == 2357
    assert int(cdnow_cal["frequency_holdout"].sum()) == 1882
    assert int((cdnow_cal["frequency"] > 0).sum()) == 946


def test_cdnow_bgnbd_reproduces_paper(cdnow_bg):
    p, se = cdnow_bg.params_, cdnow_bg.standard_errors_
    assert p["r"] == pytest.approx(0.243, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-4)
    assert cdnow_bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.1)
    assert se["r"] == pytest.approx(0.0126, abs=5e-5)
    assert se["alpha"] == pytest.approx(0.378, abs=5e-4)
    assert se["a"] == pytest.approx(0.186, abs=5e-4)
    assert se["b"] == pytest.approx(0.705, abs=5e-4)
    assert cdnow_bg.aic_ == pytest.approx(2 * 4 + 2 * 9582.43, abs=0.2)
    assert "BG/NBD" in repr(cdnow_bg) and "2,357" in repr(cdnow_bg)
    s = cdnow_bg.summary
    assert list(s["parameter"]) == ["r", "alpha", "a", "b"]
    assert (s["low"] < s["estimate"]).all() and (s["estimate"] < s["high"]).all()


def test_cdnow_log_likelihood_matches_lifetimes_formula(cdnow_cal, cdnow_bg):
    from lifetimes import BetaGeoFitter

    c = clv.compress(cdnow_cal)
    w = c["weight"].to_numpy(float)
    logp = np.log([cdnow_bg.params_[k] for k in ("r", "alpha", "a", "b")])
    nll_mean = BetaGeoFitter._negative_log_likelihood(logp, c["frequency"].to_numpy(), c["recency"].to_numpy(),
                                                      c["T"].to_numpy(), w, 0.0)
    assert -nll_mean * w.sum() == pytest.approx(cdnow_bg.log_likelihood_, rel=1e-10)


def test_cdnow_pareto_and_gamma_gamma(cdnow_cal):
    pn = clv.fit_pareto_nbd(cdnow_cal)
    assert pn.params_["r"] == pytest.approx(0.553, abs=5e-4)
    assert pn.params_["alpha"] == pytest.approx(10.578, abs=5e-4)
    assert pn.params_["s"] == pytest.approx(0.606, abs=5e-4)
    assert pn.params_["beta"] == pytest.approx(11.669, abs=5e-4)
    assert pn.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)
    assert all(np.isfinite(v) and v > 0 for v in pn.standard_errors_.values())
    gg = clv.fit_gamma_gamma(cdnow_cal)
    assert gg.n_customers_ == 946
    assert gg.params_["p"] == pytest.approx(6.25, abs=5e-3)
    assert gg.params_["q"] == pytest.approx(3.74, abs=5e-3)
    assert gg.params_["gamma"] == pytest.approx(15.44, abs=5e-3)


def test_cdnow_holdout_and_tracking(cdnow, cdnow_cal, cdnow_bg):
    groups = clv.holdout_groups(clv.calibration_holdout(cdnow, calibration_end=CAL, observation_end=OBS))
    h = clv.holdout_summary(groups, cdnow_bg)
    assert h["actual_repeat_transactions"] == 1882
    direct = cdnow_bg.conditional_expected_purchases(39.0, cdnow_cal["frequency"], cdnow_cal["recency"], cdnow_cal["T"]).sum()
    assert h["predicted_repeat_transactions"] == pytest.approx(direct, rel=1e-10)
    tr = clv.tracking(cdnow, cdnow_bg, calibration_end=CAL, observation_end=OBS)
    last = tr.iloc[-1]
    assert int(last["period"]) == 78
    assert last["cumulative_expected"] == pytest.approx(4160.6, abs=0.05)
    assert last["cumulative_actual"] == 4339
    assert (last["cumulative_expected"] - 4339) / 4339 == pytest.approx(-0.041, abs=5e-4)
    # the data read once and shared between models: the same table, and no engine query
    from engage_kit.clv.validation import tracking_counts

    counts = tracking_counts(cdnow, calibration_end=CAL, observation_end=OBS)
    assert counts.firsts["n"].sum() == 2357 and counts.per["actual"].sum() == 4339
    shared = clv.tracking(None, cdnow_bg, calibration_end=CAL, observation_end=OBS, counts=counts)
    pd.testing.assert_frame_equal(shared, tr, check_exact=False, rtol=1e-12)
    hist, chi = clv.frequency_histogram(cdnow_cal, cdnow_bg)
    assert hist["actual"].sum() == 2357
    assert hist["expected"].sum() == pytest.approx(2357)
    assert hist["actual"].iloc[0] == 1411
    assert 0 < chi["p_value"] < 1


def test_compressed_and_uncompressed_fits_agree(cdnow_cal):
    from lifetimes import BetaGeoFitter

    compressed = clv.fit_bgnbd(clv.compress(cdnow_cal))
    full = BetaGeoFitter().fit(cdnow_cal["frequency"].to_numpy(), cdnow_cal["recency"].to_numpy(), cdnow_cal["T"].to_numpy())
    for k in ("r", "alpha", "a", "b"):
        assert compressed.params_[k] == pytest.approx(full.params_[k], rel=1e-6)


def test_predictions_match_lifetimes_and_are_scalar_safe(cdnow_bg):
    f = cdnow_bg.fitter_
    x, tx, T = np.array([0, 1, 5, 20]), np.array([0.0, 10.0, 30.0, 38.0]), np.array([39.0, 39.0, 39.0, 39.0])
    np.testing.assert_allclose(cdnow_bg.p_alive(x, tx, T), f.conditional_probability_alive(x, tx, T), rtol=1e-10)
    np.testing.assert_allclose(cdnow_bg.conditional_expected_purchases(10.0, x, tx, T),
                               f.conditional_expected_number_of_purchases_up_to_time(10.0, x, tx, T), rtol=1e-8)
    np.testing.assert_allclose(cdnow_bg.expected_purchases(np.array([1.0, 39.0])),
                               f.expected_number_of_purchases_up_to_time(np.array([1.0, 39.0])), rtol=1e-8)
    for n in range(4):
        assert cdnow_bg.pmf(39.0, n) == pytest.approx(float(f.probability_of_n_purchases_up_to_time(39.0, n)), rel=1e-8)
    assert sum(cdnow_bg.pmf(39.0, n) for n in range(200)) == pytest.approx(1.0, abs=1e-6)
    for value in (cdnow_bg.p_alive(2, 30.0, 38.0), cdnow_bg.conditional_expected_purchases(10, 2, 30.0, 38.0),
                  clv.prob_no_purchase(cdnow_bg.params_, 2, 30.0, 38.0, 10.0)):
        assert isinstance(value, float)


def test_prob_no_purchase_formula(cdnow_bg):
    p = cdnow_bg.params_
    r, alpha = p["r"], p["alpha"]
    # a customer without repeat purchases is alive: only the Poisson-gamma term remains
    assert clv.prob_no_purchase(p, 0, 0.0, 20.0, 10.0) == pytest.approx(((alpha + 20) / (alpha + 30)) ** r)
    # a very long window: only the dead never buy
    pa = cdnow_bg.p_alive(5, 10.0, 39.0)
    assert clv.prob_no_purchase(p, 5, 10.0, 39.0, 1e12) == pytest.approx(1 - pa, abs=1e-6)
    # vectorised, between 0 and 1, falling with the window
    t = np.array([1.0, 10.0, 100.0])
    v = clv.prob_no_purchase(p, np.full(3, 3), np.full(3, 20.0), np.full(3, 39.0), t)
    assert np.all(np.diff(v) < 0) and np.all((v > 0) & (v < 1))
    # same as the pmf of no purchase for a new customer (x = 0, T = 0)
    assert clv.prob_no_purchase(p, 0, 0.0, 0.0, 13.0) == pytest.approx(cdnow_bg.pmf(13.0, 0), rel=1e-10)


# --- simulations with known truth -------------------------------------------------------


def _simulate_bgnbd(n, r, alpha, a, b, *, weeks, seed):
    """Summary data from the BG/NBD process: dropout only after a repeat purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(weeks / 4, weeks, n)
    x = np.zeros(n, int)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def test_bgnbd_recovers_simulated_truth():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}
    df = _simulate_bgnbd(6000, **truth, weeks=104, seed=3)
    m = clv.fit_bgnbd(df)
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 3 * m.standard_errors_[k], (k, m.params_[k], m.standard_errors_[k])


@pytest.fixture(scope="module")
def demo5k():
    from engage_kit.datasets import generate_demo

    demo = generate_demo(5_000, seed=42, tables=("transactions",))
    tx = demo.tables["transactions"]
    tx = tx[tx["amount"] >= 0]
    orders = tx.groupby("order_id", as_index=False).agg(
        customer_id=("customer_id", "first"), timestamp=("timestamp", "min"), amount=("amount", "sum"))
    return demo.truth, clv.customer_summary(orders, end=demo.truth["end"]).execute()


def test_demo_recovers_generator_truth(demo5k):
    """The demo's BG/NBD and Gamma-Gamma parameters come back within three standard errors.

    The generator draws purchases in continuous time; the kit counts purchase days, so a
    second purchase on the same day merges into the first. That loses about 3% of the
    repeat purchases of the most frequent buyers and biases alpha up by about 5% (two
    standard errors at 20,000 customers, checked with continuous-time summaries), so the
    check uses 5,000 customers, where sampling error dominates that bias.
    """
    truth, summary = demo5k
    m = clv.fit_bgnbd(summary)
    for k, v in truth["bgnbd"].items():
        assert abs(m.params_[k] - v) < 3 * m.standard_errors_[k], (k, m.params_[k], m.standard_errors_[k])
    gg = clv.fit_gamma_gamma(summary)
    for k, v in truth["gamma_gamma"].items():
        assert abs(gg.params_[k] - v) < 3 * gg.standard_errors_[k], (k, gg.params_[k], gg.standard_errors_[k])


# --- CLV arithmetic -------------------------------------------------------------------


def test_discount_rate_conversion():
    d_w = clv.discount_rate_per_unit(0.10, "W")
    d_d = clv.discount_rate_per_unit(0.10, "D")
    assert (1 + d_w) ** (365.25 / 7) == pytest.approx(1.10)
    assert (1 + d_d) ** 365.25 == pytest.approx(1.10)
    with pytest.raises(ParameterError, match="fraction"):
        clv.discount_rate_per_unit(10, "W")


def test_undiscounted_clv_is_expected_purchases(cdnow_bg):
    x, tx, T = np.array([0, 2, 7]), np.array([0.0, 20.0, 35.0]), np.array([39.0, 39.0, 39.0])
    d0 = clv.discounted_expected_purchases(cdnow_bg, x, tx, T, horizon=52, annual_discount_rate=0.0)
    np.testing.assert_allclose(d0, cdnow_bg.conditional_expected_purchases(52.0, x, tx, T), rtol=1e-12)
    d10 = clv.discounted_expected_purchases(cdnow_bg, x, tx, T, horizon=52, annual_discount_rate=0.10)
    assert np.all(d10 < d0) and np.all(d10 > d0 / 1.1)


def test_clv_same_money_in_days_and_weeks(cdnow):
    out = {}
    for unit, horizon in (("W", 52), ("D", 364)):
        s = clv.customer_summary(cdnow, end=OBS, time_unit=unit)
        bg, gg = clv.fit_bgnbd(s), clv.fit_gamma_gamma(s)
        out[unit] = (bg, clv.score_customers(s, bg, gg, horizon=horizon, time_unit=unit).execute().set_index("customer_id").sort_index())
    (bw, w), (bd, d) = out["W"], out["D"]
    assert bd.params_["alpha"] == pytest.approx(7 * bw.params_["alpha"], rel=1e-5)
    assert bd.params_["r"] == pytest.approx(bw.params_["r"], rel=1e-5)
    assert d["clv"].sum() == pytest.approx(w["clv"].sum(), rel=1e-5)
    np.testing.assert_allclose(d["clv"], w["clv"], rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(d["p_alive"], w["p_alive"], rtol=1e-5)


def test_scores_join_back_every_customer(cdnow):
    s = clv.customer_summary(cdnow, end=OBS)
    bg, gg = clv.fit_bgnbd(s), clv.fit_gamma_gamma(s)
    scored = clv.assign_segments(clv.rfm_scores(clv.score_customers(s, bg, gg, horizon=52)))
    df = scored.execute()
    assert len(df) == 2357 and df["customer_id"].is_unique
    pdf = clv.score_customers(s.execute(), bg, gg, horizon=52).set_index("customer_id").sort_index()
    np.testing.assert_allclose(df.set_index("customer_id").sort_index()["clv"], pdf["clv"], rtol=1e-12)
    # expected value per purchase: own mean shrunk to the population mean, x = 0 gets the mean
    one = df[df["frequency"] == 0]
    assert np.allclose(one["expected_avg_value"], gg.population_mean)
    assert set(df.loc[df["frequency"] == 0, "segment"]) == {"one_time"}
    assert df.loc[df["segment"] == "lost", "p_alive"].max() < 0.2
    assert set(df["r_score"]) == {1, 2, 3, 4, 5}
    assert df.groupby("r_score").size().max() - df.groupby("r_score").size().min() <= 1
    seg = clv.segment_summary(scored)
    assert seg["customers"].sum() == 2357 and seg["share_of_clv"].sum() == pytest.approx(1)


def test_p_alive_history_follows_purchases(cdnow_bg):
    tx = _tx([("A", "1997-01-01", 10.0), ("A", "1997-01-15", 10.0), ("A", "1997-02-12", 10.0)])
    h = clv.p_alive_history(tx, ["A"], cdnow_bg, end="1997-06-30")
    assert h["date"].iloc[0] == pd.Timestamp("1997-01-01") and h["date"].iloc[-1] == pd.Timestamp("1997-06-30")
    assert (h.loc[h["date"] < "1997-01-15", "p_alive"] == 1).all()
    assert h["purchase"].sum() == 3
    row = h[h["date"] == "1997-03-12"].iloc[0]  # 2 repeat purchases, t_x = 6 weeks, T = 10 weeks
    assert row["p_alive"] == pytest.approx(cdnow_bg.p_alive(2, 6.0, 10.0))
    quiet = h[h["date"] > "1997-02-12"]["p_alive"].to_numpy()
    assert np.all(np.diff(quiet) <= 1e-12)


def test_top_decile_lift_by_hand():
    g = pd.DataFrame({"weight": [1] * 10, "predicted_value": np.arange(10, 0, -1.0), "amount_holdout": [50.0] + [5.0] * 9})
    lift = clv.top_decile_lift(g)
    assert lift["captured"] == pytest.approx(50 / 95)
    assert lift["lift"] == pytest.approx(50 / 95 / 0.1)


# --- degenerate data and failures ----------------------------------------------------------


def test_degenerate_inputs_give_clear_errors():
    with pytest.raises(ModelError, match="only one customer"):
        clv.fit_bgnbd(pd.DataFrame({"frequency": [3], "recency": [5.0], "T": [10.0]}))
    with pytest.raises(ModelError, match="none of the 3 customers made a repeat purchase"):
        clv.fit_bgnbd(pd.DataFrame({"frequency": [0, 0, 0], "recency": [0.0] * 3, "T": [1.0, 2.0, 3.0]}))
    with pytest.raises(ModelError, match="Gamma-Gamma"):
        clv.fit_gamma_gamma(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))
    with pytest.raises(ParameterError, match="penalizer"):
        clv.fit_bgnbd(pd.DataFrame({"frequency": [0, 1], "recency": [0.0, 1.0], "T": [2.0, 2.0]}), penalizer=-1)


def test_non_convergence_message_suggests_a_penalizer(monkeypatch, cdnow_cal):
    from engage_kit.clv import bgnbd

    def boom(*args, **kwargs):
        raise RuntimeError("Desired error not necessarily achieved due to precision loss.")

    monkeypatch.setattr(bgnbd, "_bgnbd_mle", boom)
    with pytest.raises(ModelError) as err:
        clv.fit_bgnbd(cdnow_cal)
    msg = str(err.value)
    assert "did not converge" in msg and "penalizer=0.001" in msg
    assert "2,357 customers" in msg and "946 (40%) with repeat purchases" in msg


# --- the notebook -------------------------------------------------------------------------


def test_notebook_on_small_demo(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    _, out = run_notebook("clv_bgnbd", tmp_path, small_demo_config)
    res = json.loads((out / "results.json").read_text())
    for key in ("time_unit", "calibration_end", "observation_end", "customers"):
        assert key in res
    assert res["time_unit"] == "W"
    for block in ("bgnbd", "bgnbd_full"):
        assert set(res[block]["params"]) == {"r", "alpha", "a", "b"}
        assert set(res[block]["se"]) == {"r", "alpha", "a", "b"}
        assert res[block]["log_likelihood"] < 0
    for block in ("gamma_gamma", "gamma_gamma_full"):
        assert set(res[block]["params"]) == {"p", "q", "gamma"} and res[block]["customers"] > 0
    h = res["holdout"]
    assert h["actual_repeat_transactions"] > 0
    assert h["predicted_repeat_transactions"] == pytest.approx(h["actual_repeat_transactions"], rel=0.3)
    assert h["mae_per_customer"] > 0
    assert res["clv"]["horizon"] == 52 and res["clv"]["total"] > 0
    assert res["clv"]["mean"] == pytest.approx(res["clv"]["total"] / res["clv"]["customers"])
    # the default split holds out the last quarter of the data
    cal, obs = pd.Timestamp(res["calibration_end"]), pd.Timestamp(res["observation_end"])
    assert 0.2 < (obs - cal).days / 730 < 0.3
    cust = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert list(cust.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                                  "expected_purchases", "expected_avg_value", "clv", "segment", "p_alive_low",
                                  "p_alive_high", "expected_purchases_low", "expected_purchases_high", "clv_low", "clv_high"]
    assert len(cust) == res["clv"]["customers"] and cust["clv"].sum() == pytest.approx(res["clv"]["total"], rel=1e-9)
    assert (cust["clv_low"] <= cust["clv"] + 1e-9).all() and (cust["clv"] <= cust["clv_high"] + 1e-9).all()
    # the bootstrap's 95% intervals beside each figure (uncertainty="bootstrap" by default)
    for block in ("bgnbd", "bgnbd_full", "gamma_gamma_full"):
        assert set(res[block]["params_low"]) == set(res[block]["params"]) == set(res[block]["params_high"])
        for k, v in res[block]["params"].items():
            assert res[block]["params_low"][k] <= v <= res[block]["params_high"][k]
    assert res["bgnbd_full"]["bootstrap"]["draws"] >= 190 and res["bgnbd_full"]["bootstrap"]["seed"] == 0
    for block, key in (("holdout", "predicted_repeat_transactions"), ("holdout", "cumulative_forecast"),
                       ("clv", "total"), ("clv", "expected_purchases"), ("clv", "mean")):
        assert res[block][f"{key}_low"] <= res[block][key] <= res[block][f"{key}_high"], key
    assert 0 <= res["holdout"]["band_coverage"] <= 1
    assert "covariates" not in res  # none named by default


@pytest.mark.slow
def test_report_with_covariates_states_the_referral_effect(tmp_path, small_demo_config):
    from engage_kit.cli import main

    out = tmp_path / "out"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "clv_bgnbd",
                 "--set", "clv_bgnbd.covariates=acquisition_channel", "--set", "clv_bgnbd.uncertainty=none"]) == 0
    html = (out / "clv_bgnbd.html").read_text()
    body, appendix = visible_text(html)
    assert plain_words_problems(body) == []
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    cov = res["covariates"]
    assert {"model", "params", "se", "lr_test", "references", "effects", "still_buying"} <= set(cov)
    assert cov["model"] == "bgnbd" and cov["references"] == {"acquisition_channel": "organic"}
    ref = cov["effects"]["purchase.acquisition_channel=referral"]
    assert ref["low"] <= ref["value"] <= ref["high"]
    sentence = (f"Customers from referral buy {ref['value']:.2f}× as often as customers from organic "
                f"[{ref['low']:.2f}×, {ref['high']:.2f}×]")
    assert sentence in body.split("Which customers buy more", 2)[2]
    # model names and the likelihood-ratio test only in "Method and diagnostics"
    assert "likelihood-ratio" not in body and "likelihood-ratio test" in appendix
    assert "BG/NBD with covariates" in appendix
    assert "clv_low" not in pd.read_csv(out / "clv_bgnbd" / "customers.csv", nrows=1).columns  # uncertainty="none"
    assert "total_low" not in res["clv"]


@pytest.mark.slow
@pytest.mark.parametrize("name, setting", [("demo-occasions", "discrete"), ("demo-subscriptions", "contractual")])
def test_the_built_in_demo_variants_render_the_clv_report(tmp_path, name, setting):
    from engage_kit.cli import main
    from engage_kit.datasets import BUILTIN

    assert name in BUILTIN
    out = tmp_path / "out"
    assert main(["report", "--dataset", name, "--out", str(out), "--only", "clv_bgnbd"]) == 0
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    assert res["setting"]["value"] == setting and not res.get("not_applicable")
    html = (out / "clv_bgnbd.html").read_text()
    assert "Traceback" not in html and plain_words_problems(visible_text(html)[0]) == []


def test_list_parameters_from_the_config_and_from_set(small_demo_config):
    from engage_kit.config import load_config
    from engage_kit.report.runner import resolve_parameters

    config = load_config(small_demo_config)
    config.notebooks = {"clv_bgnbd": {"covariates": ["acquisition_channel"], "n_boot": 50, "uncertainty": "none"}}
    # "none" reaches the notebook as None, which the report reads as no intervals
    assert resolve_parameters(["clv_bgnbd"], config, None)["clv_bgnbd"] == {
        "covariates": ["acquisition_channel"], "n_boot": 50, "uncertainty": None}
    config.notebooks = {}
    for raw, want in (("acquisition_channel", ["acquisition_channel"]), ("[acquisition_channel, region]",
                      ["acquisition_channel", "region"]), ("a,b", ["a", "b"]), ("[]", [])):
        got = resolve_parameters(["clv_bgnbd"], config, [f"clv_bgnbd.covariates={raw}"])["clv_bgnbd"]
        assert got == {"covariates": want}, raw
    with pytest.raises(ParameterError, match="whole number"):
        resolve_parameters(["clv_bgnbd"], config, ["clv_bgnbd.n_boot=many"])


def test_the_report_depth_checks_its_parameters(small_demo):
    from engage_kit.clv import depth

    with pytest.raises(ParameterError, match="uncertainty must be one of bootstrap, none"):
        depth.report_intervals(object(), None, uncertainty="jackknife")
    assert depth.report_intervals(object(), None, uncertainty=None) is None
    assert depth.report_intervals(None, None) is None and depth.report_covariates(None, small_demo, ["x"]) is None
    assert depth.report_covariates(object(), small_demo, []) is None


def test_notebook_on_cdnow_sample_with_paper_dates(tmp_path):
    from tests.conftest import run_notebook

    _, out = run_notebook("clv_bgnbd", tmp_path, "cdnow-sample", calibration_end=CAL, observation_end=OBS)
    res = json.loads((out / "results.json").read_text())
    assert res["calibration_end"] == CAL and res["observation_end"] == OBS
    assert res["customers"] == 2357
    assert res["bgnbd"]["params"]["r"] == pytest.approx(0.2426, abs=1e-4)
    assert res["bgnbd"]["log_likelihood"] == pytest.approx(-9582.43, abs=0.1)
    assert res["gamma_gamma"]["customers"] == 946
    assert res["gamma_gamma"]["params"]["p"] == pytest.approx(6.25, abs=5e-3)
    assert res["holdout"]["actual_repeat_transactions"] == 1882
    assert res["holdout"]["cumulative_forecast"] == pytest.approx(4160.6, abs=0.05)
    assert res["holdout"]["cumulative_actual"] == 4339


# --- the own BG/NBD optimiser against lifetimes ------------------------------------------


def test_bgnbd_analytic_gradient_matches_finite_differences(cdnow):
    from engage_kit.clv import models

    c = clv.compress(clv.customer_summary(cdnow, end=CAL).execute())
    x, r, T, w = (c[k].to_numpy(float) for k in ("frequency", "recency", "T", "weight"))
    for penalizer in (0.0, 0.01):
        args = (x, r * 0.3, T * 0.3, w, penalizer)
        lp = np.log([0.3, 5.0, 0.8, 2.0])
        _, g = models.bgnbd_mean_nll_and_grad(lp, *args)
        h = 1e-6
        num = [
            (models.bgnbd_mean_nll_and_grad(lp + e, *args)[0] - models.bgnbd_mean_nll_and_grad(lp - e, *args)[0]) / (2 * h)
            for e in np.eye(4) * h
        ]
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_bgnbd_fit_equals_lifetimes_plain_fit():
    """Own optimiser (compressed rows) vs lifetimes' BetaGeoFitter on every customer: same estimates."""
    from lifetimes import BetaGeoFitter

    from engage_kit.datasets import generate_demo

    tx = generate_demo(3_000, seed=9, tables=("transactions",)).tables["transactions"]
    s = clv.customer_summary(tx[tx.amount >= 0], end="2024-12-31").execute()
    ours = clv.fit_bgnbd(s)
    ref = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    for k in ("r", "alpha", "a", "b"):
        assert ours.params_[k] == pytest.approx(ref.params_[k], rel=1e-6), k
        assert ours.standard_errors_[k] == pytest.approx(ref.standard_errors_[k], rel=1e-3), k
    # predictions go through lifetimes with the estimated parameters
    np.testing.assert_allclose(
        ours.conditional_expected_purchases(10.0, s["frequency"], s["recency"], s["T"]),
        ref.conditional_expected_number_of_purchases_up_to_time(10.0, s["frequency"], s["recency"], s["T"]),
        rtol=1e-5,
    )


def test_holdout_value_lift_ranks_customers_by_their_own_spend(cdnow, cdnow_cal, cdnow_bg):
    """The engine's lift equals the per-customer ranking done in pandas (ties pro rata)."""
    ch = clv.calibration_holdout(cdnow, calibration_end=CAL, observation_end=OBS)
    gg = clv.fit_gamma_gamma(cdnow_cal)
    lift = clv.holdout_value_lift(ch, cdnow_bg, gg, duration=39.0)
    d = cdnow_cal
    x, tx, T, m = (d[k].to_numpy(float) for k in ("frequency", "recency", "T", "monetary_value"))
    d = d.assign(predicted_value=cdnow_bg.conditional_expected_purchases(39.0, x, tx, T) * gg.expected_average_value(x, m))
    by_score = d.groupby("predicted_value", as_index=False).agg(weight=("customer_id", "size"),
                                                                 amount_holdout=("amount_holdout", "sum"))
    want = clv.top_decile_lift(by_score)
    assert lift["captured"] == pytest.approx(want["captured"], rel=1e-9)
    assert lift["lift"] > 2 and lift["customers"] == round(0.1 * 2357)
    # without a spend model the score is the expected number of purchases
    plain = clv.holdout_value_lift(ch, cdnow_bg, None, duration=39.0)
    assert plain["lift"] != lift["lift"] and plain["lift"] > 1


def test_customer_figures_come_from_the_engine_and_match_pandas(cdnow):
    s = clv.customer_summary(cdnow, end=OBS)
    bg, gg = clv.fit_bgnbd(s), clv.fit_gamma_gamma(s)
    scored = clv.score_customers(s, bg, gg, horizon=52)
    df = scored.execute().sort_values(["clv", "customer_id"], ascending=[False, True], kind="stable")
    st = clv.customer_stats(scored)
    v = df["clv"].to_numpy(float)
    assert st["customers"] == 2357
    assert st["total"] == pytest.approx(v.sum(), rel=1e-12) and st["median"] == pytest.approx(np.median(v), rel=1e-12)
    assert st["frequency_p99"] == pytest.approx(df["frequency"].quantile(0.99))
    assert st["max_T"] == pytest.approx(df["T"].max())
    assert st["top_share_of_clv"] == pytest.approx(v[:236].sum() / v.sum(), rel=1e-12)
    h = clv.clv_histogram(scored)
    pos = v[v > 0]
    edges = np.logspace(np.log10(max(pos.min(), 1e-2)), np.log10(pos.max() * 1.01), 40)
    counts, _ = np.histogram(pos, bins=edges)
    np.testing.assert_allclose(h["low"], edges[:-1])
    assert h["customers"].sum() == counts.sum()
    assert np.abs(h["customers"].to_numpy() - counts).sum() <= 2  # a value on an edge may land either side
    # examples: the most frequent buyer, a quiet frequent one, a typical one (ties: higher CLV first)
    rep = df[df["frequency"] > 0]
    ex = clv.example_customers(scored)
    assert ex[0] == rep.sort_values(["frequency", "clv"], ascending=False, kind="stable").iloc[0]["customer_id"]
    assert ex[1] == rep[rep["frequency"] >= 3].sort_values("p_alive", kind="stable").iloc[0]["customer_id"]
    assert abs(rep.set_index("customer_id").loc[ex[2], "frequency"] - rep["frequency"].median()) <= 0.5
    rows = clv.example_rows(scored, ex)
    assert rows["customer_id"].tolist() == ex


def test_gamma_gamma_trains_on_a_repeatable_capped_sample(cdnow):
    s = clv.customer_summary(cdnow, end=OBS)
    everyone = clv.fit_gamma_gamma(s)
    a, b = clv.fit_gamma_gamma(s, max_rows=400), clv.fit_gamma_gamma(s, max_rows=400)
    other = clv.fit_gamma_gamma(s, max_rows=400, seed=1)
    assert a.n_customers_ == 400 < everyone.n_customers_
    assert a.params_ == pytest.approx(b.params_, rel=1e-9)
    assert other.params_["p"] != pytest.approx(a.params_["p"], rel=1e-3)
    # a cap above the number of repeat customers changes nothing (sums may differ in the last bit)
    assert clv.fit_gamma_gamma(s, max_rows=10**6).params_ == pytest.approx(everyone.params_, rel=1e-9)
    with pytest.raises(ParameterError, match="max_training_rows must be a positive"):
        clv.fit_gamma_gamma(s, max_rows=0)
    res = clv.analyse(cdnow, as_of=OBS, calibration_end=CAL, models=["bgnbd"], max_training_rows=400)
    assert res.gamma_gamma_full.n_customers_ == 400
    assert any("random sample of 400 repeat customers" in n for n in res.notes)
    assert res.customer_stats["customers"] == 2357  # every customer is still scored


# --- impossible inputs, own Pareto/NBD and MBG/NBD predictions, fits at a bound -------------


@pytest.mark.parametrize("fit", [clv.fit_bgnbd, clv.fit_mbgnbd, clv.fit_pareto_nbd])
@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ({"frequency": [-1, 2, 3], "recency": [0.0, 5.0, 6.0], "T": [9.0, 9.0, 9.0]}, "frequency is not a whole number"),
        ({"frequency": [1.5, 2, 3], "recency": [3.0, 5.0, 6.0], "T": [9.0, 9.0, 9.0]}, "frequency is not a whole number"),
        ({"frequency": [1, 2, 3], "recency": [-3.0, 5.0, 6.0], "T": [9.0, 9.0, 9.0]}, "recency is negative"),
        ({"frequency": [1, 2, 3], "recency": [3.0, 5.0, 6.0], "T": [-9.0, 9.0, 9.0]}, "T is negative"),
        ({"frequency": [1, 2, 3], "recency": [3.0, 12.0, 16.0], "T": [9.0, 9.0, 9.0]}, "2 row(s) where recency is greater than T"),
    ],
)
def test_fitters_reject_impossible_inputs(fit, rows, words):
    with pytest.raises(ParameterError) as e:
        fit(pd.DataFrame(rows))
    assert words in str(e.value) and "e.g. (frequency=" in str(e.value)


def test_zero_T_and_recency_equal_to_T_are_valid_inputs(cdnow_cal):
    extra = pd.DataFrame({"frequency": [0, 3], "recency": [0.0, 20.0], "T": [0.0, 20.0]})
    df = pd.concat([cdnow_cal[["frequency", "recency", "T"]], extra], ignore_index=True)
    for fit in (clv.fit_bgnbd, clv.fit_pareto_nbd):
        assert fit(df).n_customers_ == len(df)


def test_gamma_gamma_rejects_non_integer_frequency():
    with pytest.raises(ParameterError, match="frequency is not a whole number"):
        clv.fit_gamma_gamma(pd.DataFrame({"frequency": [1.5, 2, 3], "monetary_value": [3.0, 4.0, 5.0]}))


@pytest.fixture(scope="module")
def cdnow_models(cdnow_cal):
    return clv.fit_models(cdnow_cal, ["bgnbd", "pareto_nbd", "mbgnbd"])


def test_pareto_nbd_predictions_are_stable_where_lifetimes_gives_nan(cdnow_models):
    pn = cdnow_models["pareto_nbd"]
    r, alpha, s, beta = (pn.params_[k] for k in ("r", "alpha", "s", "beta"))
    # at t_x = T, P(alive) = 1 and equation (22) is (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)]
    closed = (r + 132) * (beta + 200) / ((alpha + 200) * (s - 1)) * (1 - ((beta + 200) / (beta + 210)) ** (s - 1))
    assert pn.conditional_expected_purchases(10, 132, 200, 200) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(6.2061, rel=2e-4)  # lifetimes' figure on numpy 1 (NaN on numpy 2)
    assert pn.p_alive(132, 200, 200) == pytest.approx(1.0, abs=1e-12)
    # a customer whose last purchase is long ago is less likely alive, and expected to buy less
    assert pn.p_alive(132, 100, 200) < 0.01 and pn.conditional_expected_purchases(10, 132, 100, 200) < 0.1


@pytest.mark.parametrize("key", ["pareto_nbd", "mbgnbd"])
def test_own_predictions_match_lifetimes_where_it_is_finite(cdnow_models, key):
    m = cdnow_models[key]
    f = m.fitter_
    rng = np.random.default_rng(1)
    T = rng.uniform(1, 39, 400)
    x = rng.integers(0, 15, 400).astype(float)
    tx = np.where(x > 0, T * rng.uniform(0, 1, 400), 0.0)
    ref = f.conditional_expected_number_of_purchases_up_to_time(20.0, x, tx, T)
    ok = np.isfinite(ref)
    np.testing.assert_allclose(m.conditional_expected_purchases(20.0, x, tx, T)[ok], ref[ok], rtol=1e-8)
    np.testing.assert_allclose(m.p_alive(x, tx, T), f.conditional_probability_alive(x, tx, T), rtol=1e-8)
    np.testing.assert_allclose(m.expected_purchases(np.array([1.0, 39.0])),
                               f.expected_number_of_purchases_up_to_time(np.array([1.0, 39.0])), rtol=1e-8)
    assert isinstance(m.p_alive(2, 10.0, 30.0), float)


@pytest.mark.parametrize("key", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_two_dimensional_inputs_give_the_flattened_values(cdnow_models, key):
    m = cdnow_models[key]
    X, TX = np.meshgrid(np.arange(0.0, 8.0), np.linspace(0.0, 30.0, 5))
    TX = np.where(X > 0, TX, 0.0)
    TT = np.full_like(X, 38.0)
    for grid, flat in (
        (m.p_alive(X, TX, TT), m.p_alive(X.ravel(), TX.ravel(), TT.ravel())),
        (m.conditional_expected_purchases(52.0, X, TX, TT), m.conditional_expected_purchases(52.0, X.ravel(), TX.ravel(), TT.ravel())),
    ):
        assert grid.shape == X.shape
        np.testing.assert_allclose(grid.ravel(), flat, rtol=1e-12)
    matrix = clv.frequency_recency_matrix(m, max_frequency=5, max_T=38.0, what="p_alive")
    assert matrix.loc[:, 1:].notna().all().all()  # frequency 0 has only recency 0


@pytest.fixture(scope="module")
def no_dropout():
    """Customers who never drop out: Poisson purchasing with gamma rates, 104 weeks."""
    rng = np.random.default_rng(5)
    n = 2000
    lam = rng.gamma(2.0, 1 / 3.0, n)
    T = rng.uniform(78, 104, n)
    x = rng.poisson(lam * T)
    tx = np.array([rng.uniform(0, t, k).max() if k else 0.0 for k, t in zip(x, T, strict=True)])
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def test_a_fit_at_the_boundary_says_so_instead_of_overflowing(no_dropout):
    m = clv.fit_bgnbd(no_dropout)
    assert m.at_boundary and {"a", "b"} & set(m.boundary_)
    summary = m.summary  # the interval step overflowed here
    assert summary.set_index("parameter").loc[["a", "b"], ["low", "high"]].isna().all().all()
    assert summary.set_index("parameter").loc[["r", "alpha"], ["low", "high"]].notna().all().all()
    note = clv.story.boundary_note(m)
    assert "almost no drop-out" in note and "carry no information" in note
    assert m.to_dict()["at_boundary"]
    regular = clv.fit_bgnbd(_simulate_bgnbd(3000, 0.5, 6.0, 0.7, 3.0, weeks=104, seed=4))
    assert not regular.at_boundary and clv.story.boundary_note(regular) is None


def test_the_comparison_prefers_a_model_that_is_not_at_a_bound():
    cmp = pd.DataFrame({"model": ["BG/NBD", "Pareto/NBD"], "aic": [100.0, 105.0], "at_boundary": [True, False],
                        "holdout_error": [0.01, 0.02]})
    assert clv.preferred_model(cmp)["model"] == "Pareto/NBD"
    assert "did not end at a bound" in clv.story.comparison_sentence(cmp)
    assert clv.preferred_model(cmp.assign(at_boundary=True))["model"] == "BG/NBD"


def _story_analysis(**extra):
    from types import SimpleNamespace

    base = dict(
        horizon=52.0, unit_name="weeks", annual_discount_rate=0.1, margin=1.0, holdout_length=26.0,
        first_day=pd.Timestamp("2023-01-01"), calibration_end=pd.Timestamp("2024-06-30"),
        observation_end=pd.Timestamp("2024-12-31"), notes=[],
        holdout={"error": 0.034, "predicted_repeat_transactions": 1034.4, "actual_repeat_transactions": 1000,
                 "mae_per_customer": 0.456},
        lift={"lift": 3.21, "captured": 0.321},
        segments=pd.DataFrame({"segment": ["champions", "lost"], "share": [0.2, 0.8], "share_of_clv": [0.6, 0.4]}),
        bgnbd_full=SimpleNamespace(name="BG/NBD", boundary_={}),
        value_bands=pd.DataFrame({"low": [0.0], "high": [np.nan], "customers": [1234], "value": [91011.2],
                                  "share": [1.0], "share_of_value": [1.0]}),
    )
    return SimpleNamespace(**(base | extra))


STORY_RESULTS = {
    "clv.customers": 1234, "clv.expected_purchases": 5678.4, "clv.total": 91011.2, "clv.mean": 73.75,
    "clv.top_share_of_clv": 0.456, "clv.range_low": 88011.2, "clv.range_high": 94011.2,
    "holdout.error": 0.034, "holdout.predicted_repeat_transactions": 1034.4, "holdout.actual_repeat_transactions": 1000,
    "holdout.top_decile_captured": 0.321,
    "segments": {"champions": {"customers": 200, "share": 0.162, "total_clv": 50000.0},
                 "active": {"customers": 300, "share": 0.243, "total_clv": 20000.0},
                 "at_risk": {"customers": 100, "share": 0.081, "total_clv": 5000.0},
                 "lost": {"customers": 100, "share": 0.081, "total_clv": 1000.0},
                 "one_time": {"customers": 534, "share": 0.433, "total_clv": 15011.2}},
}


def test_the_report_sentences_carry_the_analysis_numbers():
    a = _story_analysis(notes=["Few customers *bought* twice."])
    items = clv.story.findings(a, STORY_RESULTS, "EUR")
    assert len(items) == 5
    assert items[0].startswith("Over the next 52 weeks the 1,234 customers are expected to bring **91,011 EUR** of revenue")
    assert "between 88,000 and 94,000 EUR" in items[0] and items[0].endswith("on this figure.")
    far_off = clv.story.value_finding(a, STORY_RESULTS | {"holdout.value_error": -0.173}, "EUR")
    assert far_off.endswith("Plan on the range rather than the single figure: in the test period the revenue "
                            "forecast ran 17% low.")
    assert "(123 customers) hold **46%**" in items[1]
    assert items[2].startswith("Of the 700 customers who bought more than once, **500 (71%)** are likely still buying")
    assert "forecast **1,034** repeat purchases against 1,000 that happened (3.4% too high)" in items[3]
    assert "made 32% of the revenue" in items[3]
    assert items[4].startswith("**534** customers (43%) have bought only once; together they hold 16% of the expected value")
    text = clv.story.key_figures_text(a, STORY_RESULTS, "EUR")
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 2 and paragraphs[1].startswith("> **Note:** Few customers ") and "*bought*" not in paragraphs[1]
    assert clv.story.key_figures_text(_story_analysis(), STORY_RESULTS, "EUR").count("\n\n") == 0
    cards = clv.story.kpi_cards(a, STORY_RESULTS, "EUR")
    assert [c["value"] for c in cards] == ["91,011 EUR", "500", "+3.4%", "46%"]
    # a forecast error is neither good nor bad: a grey arrow
    assert cards[2]["good"] is None and cards[2]["delta"] == "3.4% too high" and cards[2]["up"] is True
    assert cards[0]["label"] == "Expected value, next 52 weeks" and "88,000 – 94,000 EUR" in cards[0]["detail"]
    assert clv.story.holdout_accuracy(a) == (
        "Per customer the forecast is off by 0.46 purchases on average over the 26 weeks after 2024-06-30. The 10% of "
        "customers it ranked highest beforehand made 32% of the revenue in those weeks, 3.2 times their share: the "
        "ranking is worth using to choose whom to target."
    )


def test_without_drop_out_the_note_opens_the_findings():
    from types import SimpleNamespace

    a = _story_analysis(bgnbd_full=SimpleNamespace(name="BG/NBD", boundary_={"a": "a = 1e-09, at its lower bound 0"}))
    items = clv.story.findings(a, STORY_RESULTS, "EUR")
    assert items[0].startswith("**Note:** This data shows almost no drop-out") and len(items) == 5
    assert not any("likely still buying" in t for t in items)
    assert clv.story.not_covered(a)["Who is still buying"] == "this data shows almost no drop-out, so every customer looks active"
    assert clv.story.not_covered(a)["What customers are worth"] is None
    # no repeat buyer with a spend (a handful of customers): no value section, and why
    none = _story_analysis(value_bands=pd.DataFrame(columns=["low", "high", "customers", "value", "share", "share_of_value"]))
    assert clv.story.not_covered(none)["What customers are worth"].startswith("no customer has a value to forecast")
    assert clv.story.findings(None, {}, "EUR") == []


def test_value_bands_have_round_edges_and_add_up():
    scored = pd.DataFrame({"clv": np.r_[np.linspace(0.5, 9, 50), np.linspace(11, 90, 40), [150.0, 400.0, 2500.0]]})
    b = clv.value_bands(scored)
    assert b["customers"].sum() == len(scored) and b["value"].sum() == pytest.approx(scored["clv"].sum())
    assert b["low"].iloc[0] == 0 and np.isnan(b["high"].iloc[-1]) and len(b) <= 8
    assert set(b["low"].iloc[1:]) <= {1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0}
    assert clv.story.band_label(0, 10, "EUR") == "under 10 EUR"
    assert clv.story.band_label(200, float("nan"), "EUR") == "200 EUR or more"
    assert clv.story.band_label(10, 20, "EUR") == "10–20 EUR"


def test_the_comparison_summary_names_the_lowest_aic_and_the_models_that_failed():
    cmp = pd.DataFrame({"model": ["BG/NBD", "Pareto/NBD"], "aic": [105.0, 100.0], "holdout_error": [0.012, -0.02]})
    a = _story_analysis(comparison=cmp, model_errors={"mbgnbd": "MBG/NBD did not converge"})
    assert clv.story.comparison_summary(a) == (
        "Pareto/NBD has the lowest AIC (100.0); holdout errors range from -2.0% to +1.2%."
        "\n\n> **MBG/NBD not fitted:** MBG/NBD did not converge"
    )
    assert clv.story.comparison_summary(_story_analysis(comparison=cmp, model_errors={})).count("\n") == 0


def test_the_spend_and_rfm_sentences():
    ind = {"n": 946, "correlation": 0.113, "low": 0.05, "high": 0.18, "ok": True}
    assert clv.story.independence_sentence(ind).endswith(
        "among 946 repeat customers is 0.11 (95% interval 0.05 to 0.18). That is weak enough for the model.")
    assert "**That is too strong" in clv.story.independence_sentence(ind | {"correlation": 0.5, "ok": False})
    crosstab = pd.DataFrame({1: [5, 3, 1], 5: [700, 1200, 34]}, index=["one_time", "active", "lost"])
    assert "1,234 repeat buyers sit in the most recent quintile" in clv.story.rfm_sentence(_story_analysis(rfm_crosstab=crosstab))


@pytest.mark.slow
def test_clv_report_renders_on_data_without_drop_out(tmp_path, no_dropout):
    from engage_kit.cli import main

    rng = np.random.default_rng(2)
    start = pd.Timestamp("2023-01-01")
    rows = []
    for i, (k, t) in enumerate(zip(no_dropout["frequency"].head(800), no_dropout["T"].head(800), strict=True)):
        first = start + pd.Timedelta(weeks=104 - t)
        days = np.sort(rng.uniform(0, t * 7, min(k, 60)))
        for d in [0.0, *days]:
            rows.append((f"C{i}", first + pd.Timedelta(days=float(d)), round(float(rng.gamma(5, 6)), 2)))
    pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).to_csv(tmp_path / "tx.csv", index=False)
    (tmp_path / "c.yaml").write_text("tables: {transactions: {path: tx.csv}}\n")
    out = tmp_path / "out"
    assert main(["report", str(tmp_path / "c.yaml"), "--out", str(out), "--only", "clv_bgnbd"]) == 0
    html = (out / "clv_bgnbd.html").read_text()
    assert "almost no drop-out" in html and "Traceback" not in html
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    assert {"a", "b"} & set(res["bgnbd_full"]["at_boundary"])
    assert all(isinstance(m["at_boundary"], bool) for m in res["models"])
    # the plain note opens the findings; the section on who is still buying is left out, and said so
    assert res["findings"][0].startswith("Note: This data shows almost no drop-out")
    body, _ = visible_text(html)
    assert plain_words_problems(body.split("Contents", 1)[1]) == []  # the header names the config's folder
    assert "Not covered by this data: Who is still buying" in body and 'id="Who-is-still-buying"' not in html


NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\d[\d,]*(?:\.\d+)?%?")


def _quotable(res: dict) -> set[str]:
    """Every way a report sentence may write a results.json number (and the sums the findings quote)."""
    values: list[float] = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values.append(float(v))

    walk({k: v for k, v in res.items() if k not in ("meta", "findings")})
    seg = res["segments"]
    likely = seg["champions"]["customers"] + seg["active"]["customers"]
    repeat = likely + seg["at_risk"]["customers"] + seg["lost"]["customers"]
    values += [likely, repeat, likely / repeat, seg["one_time"]["total_clv"] / res["clv"]["total"],
               abs(res["holdout"]["error"]), abs(res["holdout"]["value_error"]), round(0.1 * res["clv"]["customers"]),
               0.1, 0.5]
    out = {res["calibration_end"], res["observation_end"]}
    for v in values:
        out |= {f"{v:,.0f}", f"{v:.0%}", f"{v:.1%}", f"{v:g}", f"{clv.story.rounded(v):,.0f}"}
    return out


@pytest.mark.slow
def test_the_report_opens_with_findings_in_plain_words(tmp_path, small_demo_config):
    from engage_kit.cli import main

    out = tmp_path / "out"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "clv_bgnbd"]) == 0
    html = (out / "clv_bgnbd.html").read_text()
    body, appendix = visible_text(html)
    assert plain_words_problems(body) == []
    assert re.search(r"<h2[^>]*>(.*?)</h2>", html, re.S).group(1).startswith("What we found")
    text = body.split("Contents", 1)[1]  # the page's own text: the header names the report by its model
    for word in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma", "AIC", "P(alive)", "log-likelihood"):
        assert word not in text, word
        assert word in appendix, word
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    findings = res["findings"]
    assert 3 <= len(findings) <= 5
    quotable = _quotable(res)
    for sentence in findings:
        assert sentence in body.replace("  ", " ")
        for number in NUMBER.findall(sentence):
            assert number in quotable, f"{number!r} in {sentence!r} is not a results.json figure"
    assert f"{res['clv']['total']:,.0f}" in findings[0] and f"{res['clv']['top_share_of_clv']:.0%}" in findings[1]
    assert f"{res['holdout']['predicted_repeat_transactions']:,.0f}" in findings[3]
    # the same quantity has one number: the card, the value chart's sentence and the finding agree
    assert body.count(f"{res['clv']['top_share_of_clv']:.0%} of the") >= 2


def test_the_report_prefers_a_model_that_did_not_end_at_a_bound():
    from types import SimpleNamespace

    from engage_kit.clv import story

    comparison = pd.DataFrame({"model": ["BG/NBD", "Pareto/NBD"], "aic": [100.0, 104.0], "at_boundary": [True, False],
                               "holdout_error": [0.01, -0.02]})
    text = story.comparison_summary(SimpleNamespace(comparison=comparison, model_errors={}))
    assert text.startswith("Pareto/NBD has the lowest AIC (104.0) among the fits that did not end at a bound")
    assert "BG/NBD ended at the edge of its parameter space" in text


def test_a_report_that_cannot_run_says_why_without_advice_to_the_analyst():
    why = ("the data cover 2 day(s) (2024-01-01 to 2024-01-02): too short to hold out a validation period; "
           "set calibration_end explicitly or use more data")
    from engage_kit.nb import plain

    line = plain(clv.story.not_applicable(why))
    assert line == "Not applicable: the data cover 2 day(s) (2024-01-01 to 2024-01-02): too short to hold out a test period."
    converge = "BG/NBD did not converge: bad start. Data: 5 customers. Try penalizer=0.001 (a small L2 penalty)."
    assert clv.story.plain_reason(converge) == "the purchase model did not converge: bad start"
    assert plain_words_problems(plain(clv.story.not_applicable(
        "BG/NBD: none of the 5 customers made a repeat purchase (every frequency is 0), so purchase rates and drop-out "
        "cannot be estimated; use a longer calibration period or check that purchases on different days are not "
        "merged (customer_id, timestamp)"))) == []


def test_gradient_hessian_is_exact_on_a_quadratic():
    """f(x) = ½ xᵀAx + bᵀx has gradient Ax + b and Hessian A: forward differences of a linear
    gradient are exact up to rounding, and the result is symmetric."""
    from engage_kit.clv.base import gradient_hessian

    A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
    b = np.array([1.0, -2.0, 0.3])
    H = gradient_hessian(lambda x: A @ x + b, np.array([0.3, -1.0, 2.0]))
    np.testing.assert_allclose(H, A, atol=1e-8)
    assert np.array_equal(H, H.T)


def test_log_hyp2f1_transforms_only_where_the_direct_series_overflows():
    """The Euler-transformed series is computed only where the direct one is not finite:
    the same values as computing both everywhere and picking."""
    from scipy.special import hyp2f1

    from engage_kit.clv.bgnbd import _log_hyp2f1_bgnbd

    rng = np.random.default_rng(8)
    x = rng.integers(0, 600, 5000).astype(float)
    z = rng.uniform(0, 0.9999, 5000)
    a, b, c = 0.3 + x, 2.0 + x, 3.3 + 2 * x
    with np.errstate(all="ignore"):
        direct = np.log(hyp2f1(a, b, c, z))
        alt = np.log(hyp2f1(c - a, c - b, c, z)) + (c - a - b) * np.log1p(-z)
    assert (~np.isfinite(direct)).any() and np.isfinite(direct).any()
    np.testing.assert_array_equal(_log_hyp2f1_bgnbd(a, b, c, z), np.where(np.isfinite(direct), direct, alt))
    assert float(_log_hyp2f1_bgnbd(1.0, 2.0, 3.0, 0.5)) == pytest.approx(np.log(hyp2f1(1.0, 2.0, 3.0, 0.5)), rel=1e-15)


def test_conditional_expected_purchases_on_xT_groups_equals_per_row():
    """The bootstrap forecasts each draw once per distinct (x, T): the same values, bit for bit."""
    from engage_kit.clv.bgnbd import (
        bgnbd_conditional_expected_purchases,
        bgnbd_conditional_on_groups,
        xT_groups,
    )

    rng = np.random.default_rng(0)
    n = 5000
    x = rng.integers(0, 400, n).astype(float)
    T = rng.integers(1, 80, n).astype(float)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    params = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}
    groups = xT_groups(x, T)
    assert groups[0].size < n
    for t in (0.0, 39.0, 52.0):
        np.testing.assert_array_equal(bgnbd_conditional_on_groups(params, t, x, tx, T, groups),
                                      bgnbd_conditional_expected_purchases(params, t, x, tx, T))


def test_conditional_forecaster_equals_each_models_method():
    from engage_kit.clv.bgnbd import BGNBDModel, conditional_forecaster
    from engage_kit.clv.pareto import ParetoNBDModel

    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, 3000).astype(float)
    T = rng.integers(1, 80, 3000).astype(float)
    tx = np.where(x > 0, rng.uniform(0, 1, 3000) * T, 0.0)
    bg = BGNBDModel({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, {}, float("nan"), 3000, 3000)
    draw = BGNBDModel({"r": 0.3, "alpha": 5.0, "a": 0.7, "b": 2.0}, {}, float("nan"), 3000, 3000)
    pareto = ParetoNBDModel({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, {}, float("nan"), 3000, 3000)
    for model in (bg, pareto):
        f = conditional_forecaster(model, x, tx, T)
        for t in (0.0, 13.0, 52.0):
            np.testing.assert_array_equal(f(t), np.asarray(model.conditional_expected_purchases(t, x, tx, T)))
    np.testing.assert_array_equal(conditional_forecaster(bg, x, tx, T)(52.0, draw), draw.conditional_expected_purchases(52.0, x, tx, T))


def test_a_customer_long_silent_after_hundreds_of_purchases_expects_none_without_a_warning():
    """The odds of equation (10) overflow to inf for x = 400 bought by t_x = 1 of T = 100:
    P(alive) and the expected purchases are 0, quietly (a warning in a report is noise)."""
    import warnings

    from engage_kit.clv.bgnbd import bgnbd_conditional_expected_purchases

    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bgnbd_conditional_expected_purchases(params, 10.0, [400, 3], [1.0, 30.0], [100.0, 39.0])
    assert out[0] == 0.0 and 0 < out[1] < 10
