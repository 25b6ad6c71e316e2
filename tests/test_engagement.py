"""Customer engagement: ranks and scores by hand, weights, the out-of-time check, degenerate data."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

import engage_kit as ek
from engage_kit import engagement
from engage_kit.engagement import components as comp
from engage_kit.engagement import scoring as sc
from engage_kit.engagement import story
from engage_kit.engagement.movement import period_ends, previous_end, transitions
from engage_kit.engagement.validation import auc_estimates, calibration_table, trend_test
from engage_kit.errors import ParameterError
from engage_kit.results import to_jsonable
from tests.conftest import run_notebook
from tests.helpers import plain_words_problems


def _tiny() -> dict[str, ibis.Table]:
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "B", "C", "D"],
        "timestamp": pd.to_datetime(["2024-01-30", "2024-01-10", "2024-01-20", "2023-12-01", "2023-01-01"]),
        "amount": [10.0, 20.0, 5.0, 100.0, 50.0],
    })
    touches = pd.DataFrame({
        "customer_id": ["A", "A", "B"],
        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-05"]),
        "channel": ["email", "email", "email"],
        "event": ["sent", "open", "sent"],
    })
    return {"purchases": ibis.memtable(tx), "touches": ibis.memtable(touches)}


def _ranked_tiny(components=("recency", "frequency", "spend", "email_opens")) -> pd.DataFrame:
    raw = comp.raw_components(_tiny(), date="2024-01-31", window_days=180, components=components)
    return comp.ranked(raw, components)


def test_percentile_ranks_by_hand():
    df = _ranked_tiny().execute().set_index("customer_id").sort_index()
    # E = 2024-02-01: days since the last purchase 2, 12, 62, 396
    assert df["recency"].tolist() == pytest.approx([2.0, 12.0, 62.0, 396.0])
    assert df["frequency"].tolist() == [2, 1, 1, 0]  # D's purchase is outside the 180 days
    assert df["spend"].tolist() == pytest.approx([30.0, 5.0, 100.0, 0.0])
    # PERCENT_RANK = (customers with a lower value) / (n - 1); recency: fewer days rank higher
    assert df["rank_recency"].tolist() == pytest.approx([1, 2 / 3, 1 / 3, 0])
    assert df["rank_frequency"].tolist() == pytest.approx([1, 1 / 3, 1 / 3, 0])
    assert df["rank_spend"].tolist() == pytest.approx([2 / 3, 1 / 3, 1, 0])
    # e-mail opens only among customers e-mailed: A opened one, B none, C and D were not e-mailed
    assert df["rank_email_opens"].iloc[:2].tolist() == pytest.approx([1.0, 0.0])
    assert df["rank_email_opens"].iloc[2:].isna().all()


def test_score_and_levels_by_hand_with_equal_and_given_weights():
    t = _ranked_tiny(("recency", "frequency", "spend"))
    eq = sc.equal_weights(("recency", "frequency", "spend"))
    df = sc.scored(t, eq, (33, 66)).execute().set_index("customer_id").sort_index()
    assert df["score"].tolist() == pytest.approx([100 * (1 + 1 + 2 / 3) / 3, 100 * (4 / 3) / 3, 100 * (5 / 3) / 3, 0])
    assert df["level"].tolist() == ["high", "medium", "medium", "low"]
    given = sc.normalise(sc.check_weights({"recency": 2, "frequency": 1}, tuple(comp.COMPONENTS)),
                         ("recency", "frequency", "spend"))
    assert given == pytest.approx({"recency": 2 / 3, "frequency": 1 / 3, "spend": 0.0})
    df = sc.scored(t, given, (33, 66)).execute().set_index("customer_id").sort_index()
    assert df["score"].tolist() == pytest.approx([100, 100 * 5 / 9, 100 / 3, 0])
    assert df["level"].tolist() == ["high", "medium", "medium", "low"]  # 33.3 is at the cut: medium


def test_score_leaves_out_components_a_customer_cannot_have():
    comps = ("recency", "email_opens")
    df = sc.scored(_ranked_tiny(comps), sc.equal_weights(comps), (33, 66)).execute().set_index("customer_id")
    assert df.at["A", "score"] == pytest.approx(100.0)  # (1 + 1) / 2
    assert df.at["C", "score"] == pytest.approx(100 / 3)  # recency only: never e-mailed


def test_parameter_checks():
    with pytest.raises(ParameterError, match="learned"):
        sc.check_weights("learnt", ("recency",))
    with pytest.raises(ParameterError, match="unknown component 'recncy'.*recency"):
        sc.check_weights({"recncy": 1}, ("recency",))
    with pytest.raises(ParameterError, match="at least 0"):
        sc.check_weights({"recency": -1}, ("recency",))
    with pytest.raises(ParameterError, match="rising cut points"):
        sc.check_levels([66, 33])
    assert sc.check_levels([20, 80]) == (20.0, 80.0)


def test_learned_weights_recover_the_true_drivers_order():
    rng = np.random.default_rng(3)
    n = 5000
    r = rng.uniform(0, 1, (n, 3))
    logit = -2.0 + 3.0 * r[:, 0] + 1.2 * r[:, 1] + 0.0 * r[:, 2]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    comps = ("web_sessions", "email_opens", "social")
    frame = pd.DataFrame({**{comp.rank_column(c): r[:, i] for i, c in enumerate(comps)}, "active_next": y})
    w = sc.learned_weights(sc.fit_logistic(frame, comps), comps)
    assert w["web_sessions"] > w["email_opens"] > w["social"]
    assert w["social"] < 0.05 and sum(w.values()) == pytest.approx(1.0)


def test_trend_test_auc_and_calibration_by_hand():
    counts = pd.DataFrame({"level": ["low", "medium", "high"], "customers": [100, 100, 100], "buyers": [10, 20, 30]})
    t = trend_test(counts)
    # T = 2 * (30 - 20) = 20; Var T = 0.2 * 0.8 * (500 - 300^2 / 300) = 32
    assert t["z"] == pytest.approx(20 / np.sqrt(32)) and t["rises"]
    flat = trend_test(counts.assign(buyers=[20, 20, 20]))
    assert flat["z"] == pytest.approx(0.0) and not flat["rises"]
    assert np.isnan(trend_test(counts.assign(buyers=0))["z"])
    y = np.array([0, 0, 1, 1])
    e = auc_estimates(y, {"s": np.array([0.1, 0.4, 0.35, 0.8])}, n_boot=50)
    assert e["s"].value == pytest.approx(0.75)
    cal = calibration_table(np.array([5.0, 15.0, 99.0, 100.0]), np.array([0.1, 0.2, 0.9, 0.9]), np.array([0, 0, 1, 1]))
    assert cal["band"].tolist() == ["0-10", "10-20", "90-100"] and cal["customers"].tolist() == [1, 1, 2]


def test_period_ends_and_transitions():
    assert previous_end("2024-12-31", "M") == pd.Timestamp("2024-11-30")
    assert previous_end("2024-12-15", "Q") == pd.Timestamp("2024-09-30")
    assert period_ends("2024-12-15", "M", 3) == [pd.Timestamp("2024-10-31"), pd.Timestamp("2024-11-30"),
                                                 pd.Timestamp("2024-12-15")]
    now = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b", "c"], "level": ["low", "high", "medium"]}))
    before = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b"], "level": ["high", "high"]}))
    tr = transitions(now, before)
    assert tr.set_index(["before", "now"]).at[("high", "low"), "customers"] == 1
    assert tr.set_index(["before", "now"]).at[("new", "medium"), "customers"] == 1
    from engage_kit.engagement.movement import moved

    assert moved(tr, "down") == 1 and moved(tr, "up") == 0


# --- a simulation with known drivers ----------------------------------------------------------


def _write(folder: Path, tables: dict[str, pd.DataFrame], as_of: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["title: engagement test", "currency: EUR", "period: M"] + ([f"as_of: {as_of}"] if as_of else [])
    lines.append("tables:")
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
        lines.append(f"  {name}: {{path: {name}.parquet}}")
    (folder / "config.yaml").write_text("\n".join(lines) + "\n")
    return folder / "config.yaml"


def _simulated(folder: Path, n: int = 1200, seed: int = 5) -> Path:
    """Web visits drive buying strongly, e-mail opens weakly, social likes not at all."""
    rng = np.random.default_rng(seed)
    start, days = pd.Timestamp("2023-06-01"), 579
    s, o, z = rng.uniform(0, 1, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    ids = np.array([f"c{i:05d}" for i in range(n)])

    def events(rate: np.ndarray) -> tuple[np.ndarray, pd.Series]:
        k = rng.poisson(rate * days)
        owner = np.repeat(np.arange(n), k)
        return owner, start + pd.to_timedelta(rng.uniform(0, days, owner.size), unit="D")

    owner, ts = events(0.01 * (0.1 + 2.0 * s + 1.0 * o))
    tx = pd.DataFrame({"customer_id": np.concatenate([ids, ids[owner]]),
                       "timestamp": np.concatenate([np.full(n, start.to_datetime64()), ts.to_numpy()]),
                       "amount": rng.gamma(2.0, 20.0, n + owner.size)})
    tx["order_id"] = [f"o{i}" for i in range(len(tx))]
    ws_owner, ws_ts = events(0.08 * (0.05 + s))
    web = pd.DataFrame({"session_id": [f"s{i}" for i in range(ws_owner.size)], "started_at": ws_ts,
                        "customer_id": ids[ws_owner], "pageviews": rng.poisson(4, ws_owner.size).astype(float)})
    op_owner, op_ts = events(0.05 * (0.05 + o))
    so_owner, so_ts = events(0.05 * (0.05 + z))
    sent_day = np.arange(0, days, 30)
    touches = pd.concat([
        pd.DataFrame({"timestamp": np.tile(start + pd.to_timedelta(sent_day, unit="D"), n),
                      "channel": "email", "event": "sent", "customer_id": np.repeat(ids, sent_day.size)}),
        pd.DataFrame({"timestamp": op_ts, "channel": "email", "event": "open", "customer_id": ids[op_owner]}),
        pd.DataFrame({"timestamp": so_ts, "channel": "social", "event": "like", "customer_id": ids[so_owner]}),
    ], ignore_index=True)
    return _write(folder, {"transactions": tx, "web_sessions": web, "touches": touches}, as_of="2024-12-31")


def test_learned_weights_on_simulated_data_follow_the_true_drivers(tmp_path):
    ds = ek.open_dataset(_simulated(tmp_path / "sim"))
    a = engagement.analyse(ds, n_boot=100)
    w = a.weights
    assert a.validation["out_of_time"]
    assert w["web_sessions"] > w["email_opens"] > w["social"], w
    assert w["social"] < 0.05, w
    assert a.validation["score"].value > 0.5


# --- the demo ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(small_demo):
    return engagement.analyse(small_demo, n_boot=200)


def test_demo_levels_predict_buying_with_separate_intervals(demo):
    rates = demo.validation["level_rates"]
    assert rates["high"].low > rates["low"].high
    assert rates["low"].value < rates["medium"].value < rates["high"].value
    assert demo.validation["trend"]["rises"]
    assert demo.validation["out_of_time"]
    res = demo.results()
    assert set(res["levels"]) == {"low", "medium", "high"}
    assert sum(v["customers"] for v in res["levels"].values()) == res["customers"]
    assert set(res["levels"]["high"]["next_active"]) == {"value", "low", "high", "n"}
    assert res["weights"] and sum(res["weights"].values()) == pytest.approx(1.0)
    assert 0.5 < res["validation"]["roc_auc"]["value"] < 1
    assert res["validation"]["recency_roc_auc"]["value"] > 0.5
    assert isinstance(res["moved_down"], int) and res["moved_down"] >= 0
    json.dumps(to_jsonable(res))


def test_demo_story_reads_in_plain_words(demo):
    found = story.findings(demo)
    assert 3 <= len(found) <= 5
    text = " ".join(found + [story.intro(demo), story.movement_sentence(demo), story.mix_sentence(demo),
                             story.drivers_sentences(demo), story.trend_sentence(demo)])
    assert plain_words_problems(text) == []
    assert "× more" in story.drivers_sentences(demo) or "× fewer" in story.drivers_sentences(demo)


def test_demo_export_has_every_rank(demo, tmp_path):
    from engage_kit.engine import write_table

    path = write_table(demo.export_table(), tmp_path, "scores")
    df = pd.read_csv(path)
    assert list(df.columns[:3]) == ["customer_id", "score", "level"]
    assert {f"rank_{c}" for c in demo.components} <= set(df.columns)
    assert len(df) == demo.customers and df["score"].is_monotonic_decreasing


def test_the_weights_are_learned_on_a_capped_sample_by_default(small_demo, monkeypatch):
    # DuckDB too: past MODEL_TRAINING_ROWS the fit and the check use a stratified sample, said in a note
    from engage_kit import engine

    monkeypatch.setattr(engine, "MODEL_TRAINING_ROWS", 300)
    a = engagement.analyse(small_demo, n_boot=20)
    assert a.validation["score"].n == 300 < a.validation["customers"]
    assert any("stratified sample of 300 of the" in n for n in a.notes)
    assert a.customers == 2000  # every customer is still scored
    full = engagement.analyse(small_demo, n_boot=20, max_training_rows=10**6)
    assert full.validation["score"].n == full.validation["customers"] > 300
    assert not any("stratified sample" in n for n in full.notes)


def test_tables_read_by_several_queries_are_kept_in_the_engine(small_demo, monkeypatch):
    """Every customer's components now, the scores now and at the previous period end, and
    the labelled cutoff tables are built once each, not once per query that reads them."""
    from ibis.expr import operations as ops

    from engage_kit.engagement import analysis

    kept = []
    real = analysis.cache

    def counting(expr):
        out = real(expr)
        kept.append(out)
        return out

    monkeypatch.setattr(analysis, "cache", counting)
    a = engagement.analyse(small_demo, n_boot=20)
    assert len(kept) == 5  # components now, the two labelled cutoffs, scores now and before
    assert isinstance(a.scores.op(), ops.DatabaseTable)
    assert a.scores is kept[3] and a.transitions["customers"].sum() == a.customers
    assert a.mix.groupby("period_end")["customers"].sum().iloc[-1] == a.customers


def test_segment_split_on_the_demo(small_demo):
    attrs = small_demo.customer_attributes()
    seg = "segment" if "segment" in attrs else attrs[0]
    a = engagement.analyse(small_demo, segment=seg, weights="equal", n_boot=50)
    assert a.segments["customers"].sum() == a.customers
    assert a.weights == pytest.approx(sc.equal_weights(a.components))
    with pytest.raises(ParameterError, match="not a column"):
        engagement.analyse(small_demo, segment="no_such_column")


# --- degenerate data --------------------------------------------------------------------------


def _degenerate(tmp_path: Path, kind: str) -> Path:
    if kind == "one_customer":
        tx = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": pd.to_datetime(["2024-01-01", "2024-06-01"]),
                           "amount": [10.0, 20.0]})
        return _write(tmp_path / kind, {"transactions": tx})
    rng = np.random.default_rng(1)
    n = 300
    days = rng.uniform(0, 400, 1500)
    tx = pd.DataFrame({"customer_id": [f"c{i}" for i in rng.integers(0, n, 1500)],
                       "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
                       "amount": rng.gamma(2, 10, 1500)})
    if kind == "only_transactions":
        return _write(tmp_path / kind, {"transactions": tx})
    return _write(tmp_path / kind, {"transactions": tx}, as_of="2024-12-31")  # nobody bought after early 2024


def test_degenerate_data_give_reasons(tmp_path):
    one = engagement.analyse(ek.open_dataset(_degenerate(tmp_path, "one_customer")))
    assert one.why and one.results()["validation"]["roc_auc"]["value"] is None
    only = engagement.analyse(ek.open_dataset(_degenerate(tmp_path, "only_transactions")), n_boot=50)
    assert only.why is None and set(only.components) == {"recency", "frequency", "spend"}
    assert "web_sessions" in only.left_out
    late = engagement.analyse(ek.open_dataset(_degenerate(tmp_path, "nobody_later")), n_boot=50)
    res = late.results()
    assert late.weights_mode == "equal" and late.notes
    assert res["validation"]["roc_auc"]["value"] is None and res["validation"]["roc_auc"]["reason"]
    assert res["levels"]["high"]["next_active"]["value"] in (None, 0.0)
    for a in (one, only, late):
        assert plain_words_problems(" ".join(story.findings(a))) == []


@pytest.mark.parametrize("kind", ["one_customer", "only_transactions", "nobody_later"])
def test_notebook_renders_degenerate_data(tmp_path, kind):
    _, out = run_notebook("customer_engagement", tmp_path, _degenerate(tmp_path, kind))
    res = json.loads((out / "results.json").read_text())
    assert res["validation"]["roc_auc"]["value"] is None or kind == "only_transactions"
    if kind == "one_customer":
        assert res["not_applicable"]


def test_notebook_on_the_small_demo(tmp_path, small_demo_config):
    executed, out = run_notebook("customer_engagement", tmp_path, small_demo_config, segment="segment")
    res = json.loads((out / "results.json").read_text())
    assert 3 <= len(res["findings"]) <= 5
    assert (out / "scores.csv").exists()
    assert res["levels"]["high"]["next_active"]["low"] > res["levels"]["low"]["next_active"]["high"]


# --- Spark ------------------------------------------------------------------------------------


SPARK_DEMO_CUSTOMERS = 300  # a few hundred: every level is filled and Spark runs the analysis in about a minute


@pytest.fixture(scope="module")
def spark_demo_config(tmp_path_factory) -> Path:
    from engage_kit.datasets import write_demo

    return write_demo(tmp_path_factory.mktemp("engagement-spark-demo"), SPARK_DEMO_CUSTOMERS, seed=7)


@pytest.mark.slow
def test_spark_gives_duckdbs_figures(spark_demo_config, tmp_path):
    """The notebook's results.json figures (``results()`` and the findings) as on DuckDB:
    counts and text exactly, floats to 1e-9 (relative).

    Amounts and quantities are summed exactly (decimals), so both engines rank the same
    values and the frames pulled for the fits are equal bit for bit, ordered by customer_id:
    the logistic fits and the bootstraps see the same input. Only float means and shares
    computed in the engine may be a few ulps apart. In process (one Spark session, no
    notebook kernel) to stay fast; the notebook itself renders on Spark in tests/test_spark.py.
    """
    from engage_kit.engine import write_table
    from tests.test_spark import _spark_config, _spark_missing

    reason = _spark_missing()
    if reason:
        pytest.skip(reason)
    on_duckdb = engagement.analyse(ek.open_dataset(spark_demo_config))
    ds = ek.open_dataset(_spark_config(spark_demo_config, name="spark-engagement.yaml"))
    try:
        on_spark = engagement.analyse(ds)
        a = {**on_duckdb.results(), "findings": story.findings(on_duckdb)}
        b = {**on_spark.results(), "findings": story.findings(on_spark)}
        assert set(a["levels"]) == {"low", "medium", "high"} and a["validation"]["out_of_time"]
        assert all(v["customers"] > 0 for v in a["levels"].values()) and a["moved_down"] > 0
        assert a["components"] == list(comp.COMPONENTS) and a["left_out"] == {}
        assert _strict_differences(a, b) == []
        path = write_table(on_spark.export_table(), tmp_path, "scores")
        assert path.is_dir() and len(pd.read_parquet(path)) == a["customers"]
    finally:
        ds.con.disconnect()


def _strict_differences(a, b, path: str = "") -> list[str]:
    """Where two results.json trees differ: everything but floats exactly, floats to 1e-9 (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += (_strict_differences(a[k], b[k], f"{path}/{k}") if k in a and k in b
                    else [f"{path}/{k}: only on {'DuckDB' if k in a else 'Spark'}"])
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _strict_differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        if np.isnan(a) and np.isnan(b):
            return []
        return [] if np.isclose(a, b, rtol=1e-9, atol=1e-12) else [f"{path}: {a!r} vs {b!r}"]
    return [] if type(a) is type(b) and a == b else [f"{path}: {a!r} vs {b!r}"]


def test_auc_bootstrap_equals_sorting_every_resample():
    """auc_estimates and auc_difference score resamples by tie-group counts: the same
    intervals, bit for bit, as sorting each resample (the same draws)."""
    from engage_kit.churn.evaluation import roc_auc
    from engage_kit.engagement.validation import auc_difference, auc_estimates

    rng = np.random.default_rng(2)
    n = 500
    y = (rng.random(n) < 0.2).astype(float)
    a, b = np.round(rng.random(n) + 0.4 * y, 1), rng.integers(0, 6, n).astype(float)
    got, diff = auc_estimates(y, {"a": a, "b": b}, n_boot=80, random_state=4), auc_difference(y, a, b, n_boot=80, random_state=4)
    draws = np.random.default_rng(4)
    ra, rb = [], []
    for _ in range(80):
        idx = draws.integers(0, n, n)
        ra.append(roc_auc(y[idx], a[idx]))
        rb.append(roc_auc(y[idx], b[idx]))
    ra, rb = np.array(ra), np.array(rb)
    assert (got["a"].low, got["a"].high) == tuple(np.quantile(ra, [0.025, 0.975]))
    assert (got["b"].low, got["b"].high) == tuple(np.quantile(rb, [0.025, 0.975]))
    assert (diff.low, diff.high) == tuple(np.quantile(ra - rb, [0.025, 0.975]))
