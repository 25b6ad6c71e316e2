"""Contractual sBG: the two published examples, the formulas, survivors counted in the
engine, the demo variant's truth and the subscription report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

import engage_kit as ek
from engage_kit.clv import demo
from engage_kit.clv.contractual import analyse_contractual
from engage_kit.clv.occasions import survivor_counts
from engage_kit.clv.sbg import (
    _lost_and_alive,
    fit_sbg,
    fit_sbg_by_cohort,
    sbg_derl,
    sbg_nll_and_grad,
    sbg_survival,
)
from engage_kit.clv.settings import choose_setting
from engage_kit.errors import ModelError
from tests.helpers import plain_words_problems, visible_text

# Fader and Hardie (2007), "How to project customer retention", table 1 and section 4:
# survivors of 1,000 customers at the start of years 0-7, fitted on all of them
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _fit(survivors: list[int]):
    return fit_sbg(pd.DataFrame({"period": range(len(survivors)), "survivors": survivors}))


@pytest.mark.parametrize(("survivors", "alpha", "beta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_the_published_examples_are_reproduced(survivors, alpha, beta):
    m = _fit(survivors)
    assert round(m.params_["alpha"], 3) == alpha
    assert round(m.params_["beta"], 3) == beta
    assert m.n_customers_ == 1000
    # the fitted curve stays close to what it was fitted on (the paper's figure 3)
    fitted = 1000 * np.asarray(m.survival(np.arange(8)))
    assert np.max(np.abs(fitted - np.array(survivors))) < 20


def test_pooled_cohorts_are_the_sum_of_their_likelihoods():
    both = pd.concat([pd.DataFrame({"cohort": c, "period": range(8), "survivors": s}) for c, s in ((1, REGULAR), (2, HIGH_END))])
    pooled = fit_sbg(both)
    assert pooled.n_customers_ == 2000
    assert pooled.log_likelihood_ < _fit(REGULAR).log_likelihood_ + _fit(HIGH_END).log_likelihood_
    per = fit_sbg_by_cohort(both)
    assert round(per[1].params_["alpha"], 3) == 0.704 and round(per[2].params_["beta"], 3) == 3.806


def test_the_gradient_and_derl_agree_with_direct_computation():
    df = pd.DataFrame({"period": range(8), "survivors": REGULAR})
    args = _lost_and_alive(df)
    for start in ([0.3, 0.5], [0.7, 1.2], [2.0, 6.0]):
        err = check_grad(lambda p: sbg_nll_and_grad(p, *args)[0], lambda p: sbg_nll_and_grad(p, *args)[1], np.log(start))
        assert err < 1e-6
    p = {"alpha": 0.704, "beta": 1.182}
    d = 0.1
    for renewals in (0, 3, 10):
        j = np.arange(1, 5000)
        s = np.asarray(sbg_survival(p, renewals + j)) / float(sbg_survival(p, renewals))
        assert sbg_derl(p, renewals, d) == pytest.approx(float(np.sum(s / (1 + d) ** (j - 1))), rel=1e-9)
    # the longer a subscriber has stayed, the longer they are expected to stay
    assert sbg_derl(p, 5, d) > sbg_derl(p, 1, d)


def test_impossible_survivors_are_clear_errors():
    with pytest.raises(ModelError, match="cancelled"):
        _fit([100, 100, 100])
    with pytest.raises(Exception, match="never increase"):
        _fit([100, 120, 90])


def test_survivors_are_counted_in_the_engine_by_hand():
    c = pd.DataFrame({
        "customer_id": list("abcdef"),
        "signup_at": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-31", "2024-02-10", "2024-02-11", "2024-05-01"]),
        "cancelled_at": pd.to_datetime(["2024-01-25", None, "2024-03-02", "2024-02-28", None, None]),
    })
    s = survivor_counts(c, "M", as_of="2024-04-30")
    jan = s[s["cohort"] == 2024 * 12].set_index("period")["survivors"].tolist()
    feb = s[s["cohort"] == 2024 * 12 + 1].set_index("period")["survivors"].tolist()
    # January: a leaves in its first month, c in its third; observed through April (4 decisions)
    assert jan == [3, 2, 2, 1, 1]
    assert feb == [2, 1, 1, 1]
    assert 2024 * 12 + 4 not in set(s["cohort"])  # May signups are after the last complete month


@pytest.fixture(scope="module")
def subscriptions_config(tmp_path_factory) -> Path:
    return demo.write_variant("subscriptions", tmp_path_factory.mktemp("subscriptions") / "subscribers", 3000)


def test_the_demo_variant_recovers_its_truth(subscriptions_config):
    ds = ek.open_dataset(subscriptions_config)
    a = analyse_contractual(ds["customers"], ds.purchases, as_of=ds.as_of, period="M")
    for k, v in demo.SUBSCRIPTION_TRUTH.items():
        est, se = a.model_full.params_[k], a.model_full.standard_errors_[k]
        assert abs(est - v) < 3 * se + 0.05 * v, (k, est, se, v)
    assert abs(a.holdout["error"]) < 0.05
    f = a.figures
    for key in ("remaining_periods", "first_year_retention", "value_per_subscriber", "total_value"):
        assert f[key]["low"] <= f[key]["value"] <= f[key]["high"], key
    assert f["active_subscribers"]["value"] == int(a.active["subscribers"].sum())
    assert a.value_per_period == pytest.approx(19 * 0.7 + 39 * 0.3, rel=0.1)


def test_auto_chooses_subscriptions_when_cancellations_are_recorded(subscriptions_config):
    ds = ek.open_dataset(subscriptions_config)
    choice = choose_setting(ds, "auto")
    assert (choice.setting, choice.occasion, choice.source) == ("contractual", "M", "auto")


@pytest.mark.slow
def test_the_report_renders_the_contractual_setting(subscriptions_config, tmp_path):
    from engage_kit.cli import main

    out = tmp_path / "out"
    assert main(["report", str(subscriptions_config), "--only", "clv_bgnbd", "--out", str(out)]) == 0
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    assert res["setting"]["value"] == "contractual"
    assert 3 <= len(res["findings"]) <= 5
    assert res["sbg_full"]["params"]["beta"] > 0
    assert {"value", "low", "high", "n"} <= set(res["figures"]["remaining_periods"])
    body, appendix = visible_text((out / "clv_bgnbd.html").read_text(encoding="utf-8"))
    body = body.split("Contents", 1)[1]
    assert plain_words_problems(body) == []
    assert "sBG" not in body and "sBG" in appendix
    assert "subscriptions" in body


@pytest.mark.slow
def test_a_setting_the_data_cannot_support_says_why(small_demo_config, tmp_path):
    """setting contractual on data without cancellations: not applicable, with the reason."""
    from engage_kit.cli import main

    out = tmp_path / "out"
    code = main(["report", str(small_demo_config), "--only", "clv_bgnbd", "--out", str(out),
                 "--set", "clv_bgnbd.setting=contractual"])
    assert code == 0
    res = json.loads((out / "clv_bgnbd" / "results.json").read_text())
    assert "cancellation" in res["not_applicable"]
    assert res["clv"]["total"]["value"] is None


@pytest.mark.slow
def test_both_settings_render_on_spark_with_the_figures_of_duckdb(tmp_path):
    """setting discrete and contractual on small demo variants: Spark gives DuckDB's figures."""
    import os
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed (pip install -e '.[spark]'; make setup does it)")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Java is not installed (Spark needs Java 17 or newer)")
    from engage_kit.cli import main

    for variant in ("occasions", "subscriptions"):
        config = demo.write_variant(variant, tmp_path / variant, 1500)
        spark = config.parent / "spark.yaml"
        spark.write_text(config.read_text() + '\nengine:\n  kind: spark\n  master: "local[2]"\n')
        runs = {}
        for engine, cfg in (("duckdb", config), ("spark", spark)):
            out = tmp_path / f"{variant}-{engine}"
            assert main(["report", str(cfg), "--only", "clv_bgnbd", "--out", str(out)]) == 0, (variant, engine)
            runs[engine] = json.loads((out / "clv_bgnbd" / "results.json").read_text())
        d, s = runs["duckdb"], runs["spark"]
        assert d["setting"] == s["setting"] and d["findings"] == s["findings"]
        model = "bgbb_full" if variant == "occasions" else "sbg_full"
        for k, v in d[model]["params"].items():
            assert s[model]["params"][k] == pytest.approx(v, rel=1e-6), (variant, k)
        assert s["clv"]["customers"] == d["clv"]["customers"]
        assert s["clv"]["total"] == pytest.approx(d["clv"]["total"], rel=1e-6)


@pytest.mark.slow
def test_the_cohort_report_counts_the_same_subscribers(subscriptions_config, tmp_path):
    """The cohort report's subscriber retention is built on the survivor counts the sBG is fitted on."""
    from engage_kit import cohorts
    from engage_kit.cli import main

    ds = ek.open_dataset(subscriptions_config)
    a = analyse_contractual(ds["customers"], ds.purchases, as_of=ds.as_of, period="M")
    subs = cohorts.analyse(ds, period="M").subscriptions
    pd.testing.assert_frame_equal(subs.survivors.reset_index(drop=True), a.survivors.reset_index(drop=True),
                                  check_dtype=False)
    # the product-limit curve and the fitted model tell the same story a year on (both are estimates)
    assert abs(subs.after(12)["value"] - float(np.ravel(a.model_full.survival(12))[0])) < 0.05
    out = tmp_path / "out"
    assert main(["report", str(subscriptions_config), "--only", "cohort_retention", "churn_prediction", "--out", str(out)]) == 0
    res = json.loads((out / "cohort_retention" / "results.json").read_text())
    assert res["subscriptions"]["customers"] == int(a.survivors.query("period == 0")["survivors"].sum())
    assert any("subscribers" in f for f in res["findings"])
    body, _ = visible_text((out / "cohort_retention.html").read_text(encoding="utf-8"))
    assert "How long subscribers stay" in body and plain_words_problems(body) == []
    # the churn report reads the same counts by calendar month: every cancellation once
    churn = json.loads((out / "churn_prediction" / "results.json").read_text())["subscriptions"]
    cancelled = int(a.survivors.groupby("cohort")["survivors"].agg(lambda s: s.iloc[0] - s.iloc[-1]).sum())
    assert sum(v["cancelled"] for v in churn["by_period"].values()) == cancelled
    assert 3 <= len(json.loads((out / "churn_prediction" / "results.json").read_text())["findings"]) <= 5
    body, _ = visible_text((out / "churn_prediction.html").read_text(encoding="utf-8"))
    assert "Subscribers who cancel" in body and plain_words_problems(body) == []
