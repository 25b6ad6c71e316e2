"""Churn prediction: dates, features without leakage, labels, metrics, models, notebook."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engage_kit import churn, engine
from engage_kit.errors import DataError, ModelError, ParameterError

TS = pd.Timestamp


def _purchases(rows):
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).astype(
        {"customer_id": "string", "timestamp": "datetime64[us]", "amount": "float64"}
    )


# --- dates -----------------------------------------------------------------------------


def test_default_cutoffs_are_the_latest_complete_windows():
    cutoff, test_cutoff = churn.resolve_cutoffs("2024-12-31", inactivity_days=90)
    assert test_cutoff == TS("2024-10-02")  # 2024-12-31 - 90 days
    assert cutoff == TS("2024-07-04")  # test_cutoff - 90 days
    assert cutoff + pd.Timedelta(days=90) <= test_cutoff


def test_explicit_cutoffs_are_checked():
    c, t = churn.resolve_cutoffs("2024-12-31", cutoff="2024-01-31", test_cutoff="2024-06-30", inactivity_days=30)
    assert (c, t) == (TS("2024-01-31"), TS("2024-06-30"))
    with pytest.raises(ParameterError, match="training labels would see the test period"):
        churn.resolve_cutoffs("2024-12-31", cutoff="2024-06-01", test_cutoff="2024-06-30", inactivity_days=90)
    with pytest.raises(ParameterError, match=r"past the end of the data \(as_of 2024-12-31\).*2024-10-02"):
        churn.resolve_cutoffs("2024-12-31", test_cutoff="2024-11-30", inactivity_days=90)
    with pytest.raises(ParameterError, match="before the first transaction"):
        churn.resolve_cutoffs("2024-12-31", inactivity_days=90, data_start="2024-08-01")
    with pytest.raises(ParameterError, match="inactivity_days must be a whole number"):
        churn.resolve_cutoffs("2024-12-31", inactivity_days=0)


# --- features and labels on a frame checked by hand ----------------------------------------


@pytest.fixture
def tiny():
    # cutoff 2024-03-31 (inclusive): E = 2024-04-01 00:00
    return _purchases(
        [
            ("A", "2023-01-10", 10.0),  # outside the 365-day window, counts in all-time figures
            ("A", "2024-01-01", 20.0),
            ("A", "2024-03-01", 30.0),
            ("A", "2024-03-31 12:00", 40.0),  # on the cutoff day: a feature, not a label
            ("B", "2024-02-01", 5.0),
            ("B", "2024-05-01", 7.0),  # after the cutoff: label only
            ("C", "2022-12-01", 9.0),  # nothing in the window: not in the population
            ("D", "2024-06-29 23:59", 1.0),  # first purchase after the cutoff
        ]
    )


def test_features_by_hand(tiny):
    f = churn.build_features(tiny, cutoff="2024-03-31", feature_window_days=365, trend_days=30).execute()
    f = f.set_index("customer_id").sort_index()
    assert list(f.index) == ["A", "B"]
    a, b = f.loc["A"], f.loc["B"]
    assert a.orders_total == 4 and a.orders_window == 3
    assert a.spend_window == pytest.approx(90.0)
    assert a.avg_order_value == pytest.approx(30.0)
    assert a.recency_days == pytest.approx(0.5)  # 12:00 on the cutoff day
    assert a.tenure_days == pytest.approx((TS("2024-04-01") - TS("2023-01-10")).days)
    gaps = np.array([356, 60, 30.5])  # 2023-01-10 -> 2024-01-01 -> 03-01 -> 03-31 12:00
    assert a.gap_mean_days == pytest.approx(gaps.mean())
    assert a.gap_std_days == pytest.approx(gaps.std(ddof=1))
    assert a.gap_max_days == pytest.approx(356)
    assert a.recency_to_gap == pytest.approx(0.5 / gaps.mean())
    # trend: last 30 days (from 2024-03-02) vs the 30 before (from 2024-02-01)
    assert a.orders_recent == 1 and a.orders_prior == 1 and a.orders_trend == 0
    assert a.spend_trend == pytest.approx(40.0 - 30.0)
    assert b.orders_total == 1 and np.isnan(b.gap_mean_days) and np.isnan(b.recency_to_gap)
    assert b.recency_days == pytest.approx((TS("2024-04-01") - TS("2024-02-01")).days)
    assert b.orders_recent == 0 and b.orders_prior == 1 and b.orders_trend == -1


def test_overdue_ratio_counts_the_usual_gap_as_at_least_one_day():
    # two orders ten minutes apart: a mean gap of 0.007 days would make 90 days "13,000 gaps overdue"
    p = _purchases([("A", "2024-01-01 10:00", 5.0), ("A", "2024-01-01 10:10", 5.0)])
    f = churn.build_features(p, cutoff="2024-03-31").execute().set_index("customer_id")
    recency = (TS("2024-04-01") - TS("2024-01-01 10:10")) / pd.Timedelta(days=1)
    assert f.loc["A", "recency_to_gap"] == pytest.approx(recency / 1.0)


def test_labels_by_hand(tiny):
    df = churn.churn_frame(tiny, cutoff="2024-03-31", inactivity_days=90, feature_window_days=365, as_of="2024-06-30")
    labels = df.set_index("customer_id")["churned"].to_dict()
    assert labels == {"A": 1, "B": 0}  # B buys on 2024-05-01, inside (03-31, 06-29]
    # the label window is [2024-04-01, 2024-04-01 + 30 days): B's purchase on 05-01 is outside it
    df30 = churn.churn_frame(tiny, cutoff="2024-03-31", inactivity_days=30, feature_window_days=365)
    assert df30.set_index("customer_id")["churned"].to_dict() == {"A": 1, "B": 1}
    # a purchase in the last minute of the label window counts
    t2 = pd.concat([tiny, _purchases([("A", "2024-06-29 23:59", 1.0)])])
    assert churn.churn_frame(t2, cutoff="2024-03-31", inactivity_days=90).set_index("customer_id").churned["A"] == 0


def test_bad_input_messages(tiny):
    with pytest.raises(DataError, match=r"no customer has a purchase in the 365 days up to the cutoff 2021-12-31"):
        churn.churn_frame(tiny, cutoff="2021-12-31", inactivity_days=90)
    with pytest.raises(ParameterError, match=r"label window of 90 days ends 2024-06-29, past the end of the data"):
        churn.churn_frame(tiny, cutoff="2024-03-31", inactivity_days=90, as_of="2024-05-31")
    with pytest.raises(ParameterError, match="unknown model 'logistics' \\(did you mean 'logistic'\\?\\)"):
        churn.run_churn_study({"purchases": tiny}, as_of="2024-06-30", models=["logistics"])
    with pytest.raises(DataError, match="needs a customers table with a 'churned' column"):
        churn.run_churn_study({"purchases": tiny}, as_of="2024-06-30", mode="labelled")
    with pytest.raises(ParameterError, match="contact_cost must be a non-negative"):
        churn.run_churn_study({"purchases": tiny}, as_of="2024-06-30", contact_cost=-1.0)
    # everyone churned in training: a clear model error, not a scikit-learn traceback
    with pytest.raises(ModelError, match="a model needs both churners and customers who stayed"):
        churn.run_churn_study({"purchases": tiny}, as_of="2024-12-31", cutoff="2024-03-31",
                              test_cutoff="2024-09-30", inactivity_days=30)


# --- leakage ------------------------------------------------------------------------------


def _demo_tables(ds):
    t = churn.churn_tables(ds)
    return {k: v.execute() for k, v in t.items()}


def test_features_ignore_everything_after_the_cutoff(small_demo):
    cutoff = TS("2024-06-30")
    after = cutoff + pd.Timedelta(hours=24)  # the first instant after the cutoff day
    tables = _demo_tables(small_demo)
    before = churn.build_features(cutoff=cutoff, **tables).execute().sort_values("customer_id").reset_index(drop=True)
    assert len(before) > 500
    who = before["customer_id"].iloc[:50].tolist() + ["NEW-1"]
    n = len(who)
    when = [after + pd.Timedelta(days=int(d)) for d in np.arange(n) % 60]
    planted = dict(tables)
    planted["purchases"] = pd.concat([tables["purchases"], pd.DataFrame(
        {"order_id": [f"X{i}" for i in range(n)], "is_return": False, "customer_id": who, "timestamp": when,
         "amount": 999.0, "quantity": 1.0, "channel": "web"})], ignore_index=True)
    planted["returns"] = pd.concat([tables["returns"], pd.DataFrame(
        {"order_id": [f"R{i}" for i in range(n)], "is_return": True, "customer_id": who, "timestamp": when,
         "amount": -50.0, "quantity": 1.0, "channel": "web"})], ignore_index=True)
    events = ["open", "click", "unsubscribe", "conversion", "like", "attendance", "delivered"]
    planted["touches"] = pd.concat([tables["touches"], pd.DataFrame(
        {"timestamp": [w for w in when for _ in events], "channel": [("social" if e == "like" else "email")
                                                                     for _ in when for e in events],
         "event": events * n, "customer_id": [c for c in who for _ in events], "campaign_id": "LATE",
         "value": np.nan})], ignore_index=True)
    planted["surveys"] = pd.concat([tables["surveys"], pd.DataFrame(
        {"timestamp": when * 3, "kind": ["nps"] * n + ["csat"] * n + ["ces"] * n, "score": [0.0] * n + [1.0] * n + [7.0] * n,
         "customer_id": who * 3, "touchpoint": "late", "channel": "email"})], ignore_index=True)
    planted["tickets"] = pd.concat([tables["tickets"], pd.DataFrame(
        {"ticket_id": [f"TX{i}" for i in range(n)], "opened_at": when, "customer_id": who,
         "resolved_at": [w + pd.Timedelta(hours=5) for w in when], "channel": "phone", "contacts": 4.0,
         "handle_seconds": 9999.0})], ignore_index=True)
    planted["web_sessions"] = pd.concat([tables["web_sessions"], pd.DataFrame(
        {"session_id": [f"SX{i}" for i in range(n)], "started_at": when, "pageviews": 50.0, "duration_seconds": 999.0,
         "customer_id": who, "landing_page": "/", "exit_page": "/", "converted": False})], ignore_index=True)
    assert "usage_trend" in before.columns
    planted["usage"] = pd.concat([tables["usage"], pd.DataFrame(
        {"customer_id": who, "timestamp": when, "feature": "late", "quantity": 500.0})], ignore_index=True)
    planted["customers"] = pd.concat([tables["customers"], pd.DataFrame(
        {"customer_id": ["NEW-1"], "signup_at": [after], "acquisition_channel": ["email"], "segment": ["consumer"],
         "country": ["DE"], "test_group": ["control"]})], ignore_index=True)
    # a ticket opened before the cutoff and resolved after it stays unresolved at the cutoff
    open_at_cutoff = tables["tickets"]["resolved_at"].isna() & (tables["tickets"]["opened_at"] < cutoff)
    assert open_at_cutoff.any()
    i = tables["tickets"].index[open_at_cutoff][0]
    planted["tickets"].loc[i, "resolved_at"] = after + pd.Timedelta(days=3)
    out = churn.build_features(cutoff=cutoff, **planted).execute().sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(out, before)

    # the check can fail: the same rows on the cutoff day itself do change the features
    on_day = dict(planted)
    on_day["purchases"] = planted["purchases"].assign(
        timestamp=lambda d: d["timestamp"].where(~d["order_id"].str.startswith("X"), cutoff + pd.Timedelta(hours=12)))
    moved = churn.build_features(cutoff=cutoff, **on_day).execute().sort_values("customer_id").reset_index(drop=True)
    assert not moved["spend_window"].equals(before["spend_window"])


# --- metrics ------------------------------------------------------------------------------


def test_auc_and_average_precision_match_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.3
    s = np.round(rng.random(500) + 0.3 * y, 1)  # many ties
    assert churn.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert churn.average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert np.isnan(churn.roc_auc(np.zeros(5), np.arange(5)))


def test_lift_gains_and_contact_rules_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 1] * 2)  # 6 churners of 20: rate 0.3
    score = np.array([0.9, 0.8] + [0.1] * 7 + [0.05] + [0.7, 0.6] + [0.1] * 7 + [0.05])
    # top 10% = 2 customers (0.9 and 0.8), both churners: lift = 1 / 0.3
    assert churn.top_decile_lift(y, score) == pytest.approx(1 / 0.3)
    g = churn.gains_table(y, score, bins=5)
    assert g["customers"].tolist() == [4, 4, 4, 4, 4]
    assert g.loc[0, "churners"] == 4 and g.loc[0, "share_of_churners"] == pytest.approx(4 / 6)
    assert g["share_of_churners"].iloc[-1] == pytest.approx(1.0)
    mask, rule = churn.contact_rule(score)
    assert mask.sum() == 2 and "top 10%" in rule
    mask, _ = churn.contact_rule(score, threshold=0.65)
    assert mask.sum() == 3
    value = np.full(20, 100.0)
    mask, rule = churn.contact_rule(score, value=value, contact_cost=15.0, save_rate=0.25)
    assert mask.tolist() == (score * 0.25 * 100 > 15).tolist() and mask.sum() == 3 and "contact cost" in rule
    assert churn.confusion(y, mask) == {"tp": 3, "fp": 0, "fn": 3, "tn": 14}
    cb = churn.cost_benefit_curve(y, score, value, contact_cost=15.0, save_rate=0.25)
    # the first three (0.9, 0.8, 0.7) are churners: 3 * 25 saved - 3 * 15 cost
    assert cb.loc[2, "net"] == pytest.approx(75 - 45)
    assert cb.loc[2, "expected_net"] == pytest.approx(0.25 * 100 * (0.9 + 0.8 + 0.7) - 45)
    with pytest.raises(ParameterError, match="threshold must be a churn probability"):
        churn.contact_rule(score, threshold=2)


def test_prepare_columns_types_text_and_drops_ids():
    df = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(100)],
            "charges": [str(i) for i in range(99)] + [" "],  # numbers as text, one blank
            "plan": ["a", "b"] * 50,
            "email": [f"u{i}@x" for i in range(100)],
            "flag": [True, False] * 50,
            "empty": pd.Series([None] * 100, dtype="string"),
            "churned": [0, 1] * 50,
        }
    )
    out, numeric, categorical, notes = churn.prepare_columns(df)
    assert numeric == ["charges", "flag"] and categorical == ["plan"]
    assert np.isnan(out["charges"].iloc[-1]) and out["charges"].iloc[5] == 5.0
    assert any("email" in n and "identifier" in n for n in notes)


def test_reasons_add_up_to_the_logistic_log_odds():
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"recency_days": rng.exponential(60, n), "orders_total": rng.poisson(3, n).astype(float),
                      "plan": rng.choice(["basic", "pro"], n)})
    X.loc[::7, "orders_total"] = np.nan
    logit = 0.03 * X["recency_days"] - 0.3 * X["orders_total"].fillna(3) + (X["plan"] == "basic") * 1.0 - 1
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pipe = churn.make_model("logistic", ["recency_days", "orders_total"], ["plan"]).fit(X, y)
    c = churn.contributions(pipe, X, X, ["recency_days", "orders_total"], ["plan"])
    assert list(c.columns) == ["recency_days", "orders_total", "plan"]
    d = pipe.decision_function(X)
    np.testing.assert_allclose(c.sum(axis=1), d - d.mean(), atol=1e-9)
    reasons = churn.top_reasons(pipe, X, X, ["recency_days", "orders_total"], ["plan"])
    top = int(np.argmax(d))
    assert reasons.iloc[top]["reason_1"] != ""
    assert any(r.startswith("days since last purchase:") or r == "plan: basic" for r in reasons.iloc[top])
    # every cell is story.reason of the customer's k-th largest contribution, blank below the threshold
    from engage_kit.churn import story

    ex = churn.Explainer(pipe, X, ["recency_days", "orders_total"], ["plan"])
    vals = c.to_numpy()
    for i in range(n):
        ranked = np.argsort(-vals[i], kind="stable")
        want = [story.reason(c.columns[j], X[c.columns[j]].astype(object).iloc[i], ex.averages.get(c.columns[j]))
                if vals[i, j] >= 0.1 else "" for j in ranked]
        assert reasons.iloc[i].tolist() == want
    assert (reasons == "").any().any() and (reasons != "").any().any()


def test_permutation_importance_finds_the_signal():
    rng = np.random.default_rng(1)
    n = 1500
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n), "cat": rng.choice(["a", "b"], n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * X["signal"]))).astype(int)
    pipe = churn.make_model("gradient_boosting", ["signal", "noise"], ["cat"]).fit(X, y)
    imp = churn.permutation_importance_table(pipe, X, y, ["signal", "noise"], ["cat"])
    assert imp.loc[0, "feature"] == "signal" and imp.loc[0, "importance"] > 0.2
    assert abs(imp.set_index("feature").loc["noise", "importance"]) < 0.03


# --- bounded samples and batch scoring (the engine keeps the per-customer rows) -----------------


def test_allocate_shares_out_exactly_the_cap():
    assert churn.allocate({0: 7, 1: 3}, 5) == {0: 4, 1: 1}  # 3.5 / 1.5: the tie goes to the first class
    assert churn.allocate({0: 700, 1: 300}, 101) == {0: 71, 1: 30}
    assert churn.allocate({0: 997, 1: 3}, 10) == {0: 9, 1: 1}  # at least one of each class
    assert churn.allocate({0: 4, 1: 2}, 50) == {0: 4, 1: 2}  # never more than a class holds


def test_engine_sample_is_stratified_capped_and_repeatable():
    import hashlib

    import ibis

    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame({"customer_id": [f"K{i:05d}" for i in rng.permutation(n)],
                       "churned": (rng.random(n) < 0.3).astype("int64"), "x": rng.normal(size=n)})
    t = ibis.memtable(df)
    counts = churn.class_counts(t)
    assert counts == {0: int((df.churned == 0).sum()), 1: int(df.churned.sum())}
    first = churn.stratified_sample(t, 101, random_state=7).execute()
    again = churn.stratified_sample(t, 101, random_state=7).execute()
    assert len(first) == 101
    assert int(first.churned.sum()) == round(101 * counts[1] / n)
    assert sorted(first.customer_id) == sorted(again.customer_id)
    # the customers first in md5("<seed>:<id>") order, computed here without the engine
    expected: set[str] = set()
    for cls, k in churn.allocate(counts, 101).items():
        ids = df.loc[df.churned == cls, "customer_id"]
        expected |= set(sorted(ids, key=lambda c: (hashlib.md5(f"7:{c}".encode()).hexdigest(), c))[:k])
    assert set(first.customer_id) == expected
    assert set(churn.stratified_sample(t, 101, random_state=8).execute().customer_id) != expected
    assert len(churn.stratified_sample(t, None).execute()) == n
    assert len(churn.stratified_sample(t, 5000).execute()) == n
    rare = df.assign(churned=(df.customer_id < "K00003").astype("int64"))
    small = churn.stratified_sample(ibis.memtable(rare), 10, random_state=0).execute()
    assert len(small) == 10 and small.churned.sum() == 1


def test_scoring_in_small_batches_gives_the_scores_of_one_batch(tmp_path):
    import ibis

    rng = np.random.default_rng(5)
    n = 230
    df = pd.DataFrame({"customer_id": [f"S{i:04d}" for i in rng.permutation(n)],
                       "recency_days": rng.exponential(60, n), "orders_total": rng.poisson(3, n).astype(float),
                       "plan": rng.choice(["basic", "pro", " "], n), "spend_window": rng.gamma(2, 50, n),
                       "flag": rng.random(n) < 0.5})
    df.loc[::9, "orders_total"] = np.nan
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.02 * df["recency_days"] - 1)))).astype(int)
    plan = churn.plan_columns(df.assign(churned=y))
    cols = plan.numeric + plan.categorical
    assert set(cols) == {"recency_days", "orders_total", "spend_window", "flag", "plan"}
    X = churn.apply_columns(df, plan)
    model = churn.make_model("gradient_boosting", plan.numeric, plan.categorical).fit(X[cols], y)
    logit = churn.make_model("logistic", plan.numeric, plan.categorical).fit(X[cols], y)
    explainer = churn.Explainer(logit, X[cols], plan.numeric, plan.categorical)
    table = ibis.memtable(df)

    def run(name, chunk, ranges):
        path = tmp_path / f"{name}.parquet"
        written = churn.score_in_batches(
            table, path, plan=plan, predict=lambda b: model.predict_proba(b[cols])[:, 1], explainer=explainer,
            value_rule=churn.value_source(X), chunk_size=chunk, ranges=ranges)
        assert written == n
        return pd.read_parquet(path)

    one = run("one", 10_000, False)
    assert one["customer_id"].tolist() == sorted(df["customer_id"])
    for ranges in (False, True):  # DuckDB's stream, and the row ranges Spark uses
        assert len(list(churn.engine_batches(table, 17, ranges=ranges))) == 14
        pd.testing.assert_frame_equal(run(f"small-{ranges}", 17, ranges), one, check_exact=True)
    # the figures of the whole frame at once
    whole = X.sort_values("customer_id").reset_index(drop=True)
    np.testing.assert_array_equal(one["churn_probability"], model.predict_proba(whole[cols])[:, 1])
    np.testing.assert_array_equal(one["annual_value"], churn.customer_value(whole)[0].to_numpy())
    np.testing.assert_array_equal(one["days_since_purchase"], whole["recency_days"].round().to_numpy())
    reasons = churn.top_reasons(logit, whole[cols], X[cols], plan.numeric, plan.categorical)
    assert one["reason_1"].tolist() == reasons["reason_1"].tolist()


def test_ranking_and_contact_rules_in_the_engine_match_pandas():
    import ibis

    rng = np.random.default_rng(2)
    n = 53
    p = np.round(rng.random(n), 1)  # many ties
    df = pd.DataFrame({"customer_id": [f"R{i:03d}" for i in rng.permutation(n)], "churn_probability": p,
                       "annual_value": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 40, n))})
    df["expected_loss"] = df["churn_probability"] * df["annual_value"]
    df["reason_1"] = ""
    t = ibis.memtable(df)
    by_id = df.sort_values("customer_id").reset_index(drop=True)
    ranked, rule = churn.rank_scores(t)
    got = ranked.order_by("rank").execute()
    want = df.sort_values(["churn_probability", "customer_id"], ascending=[False, True])
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["rank"].tolist() == list(range(1, n + 1))
    assert got["at_risk"].tolist() == [True] * 6 + [False] * (n - 6)  # ceil(5.3)
    mask, text = churn.contact_rule(by_id["churn_probability"])
    assert rule == text and set(got.loc[got["at_risk"], "customer_id"]) == set(by_id.loc[mask, "customer_id"])
    for kw in ({"threshold": 0.5}, {"contact_cost": 10.0, "save_rate": 0.3}):
        ranked, rule = churn.rank_scores(t, **kw)
        got = ranked.execute()
        mask, text = churn.contact_rule(by_id["churn_probability"], value=by_id["annual_value"], **kw)
        assert rule == text and 0 < mask.sum() < n
        assert set(got.loc[got["at_risk"], "customer_id"]) == set(by_id.loc[mask, "customer_id"])


def test_the_training_sample_is_capped_by_default_on_every_engine(small_demo, monkeypatch, tmp_path):
    # DuckDB: the default cap applies there too (the model barely changes past it; the time grows)
    monkeypatch.setattr(engine, "MODEL_TRAINING_ROWS", 300)
    st = churn.churn_study(small_demo, models=["logistic"], n_boot=20)
    assert len(st.train) == 300 and len(st.test) == 300
    assert st.summary()["scored"] > 1000  # every active customer is still scored
    # the Spark steps on DuckDB: the default cap, row-range batches and the kept Parquet file
    monkeypatch.setattr(churn.study, "kind_of", lambda con: "spark")
    st = churn.churn_study(small_demo, models=["logistic"], n_boot=20, work_dir=tmp_path, chunk_size=400)
    full = st.results()
    assert len(st.train) == 300 and len(st.test) == 300
    assert full["train.customers"] == sum(st.train_counts.values()) > 300
    assert full["test.customers"] == sum(st.test_counts.values()) > 300
    assert int(st.train["churned"].sum()) == churn.allocate(st.train_counts, 300)[1]
    assert st.train["customer_id"].is_monotonic_increasing
    assert any("stratified sample of 300 of" in n and "training" in n for n in st.notes)
    assert any("stratified sample of 300 of" in n and "test" in n for n in st.notes)
    # scoring is not capped: every active customer gets a score, from the file the engine reads
    assert (tmp_path / ".work" / "scored_batches.parquet").exists()
    scored = pd.read_parquet(tmp_path / ".work" / "scored_batches.parquet")
    assert st.summary()["scored"] == len(scored) == scored["customer_id"].nunique() > 1000
    assert scored["customer_id"].is_monotonic_increasing


# --- the label window is the kit's activity window ------------------------------------------


def test_label_window_defaults_to_the_data_activity_window():
    # one customer buying every 20 days over 50 days: gaps of 20 days -> a 30-day window,
    # so the default split needs 2 x 30 = 60 days of history
    rows = [("A", TS("2024-01-01") + pd.Timedelta(days=d), 10.0) for d in (0, 20, 40)]
    rows.append(("B", TS("2024-02-19"), 5.0))
    purchases = _purchases(rows)
    from engage_kit.activity import default_active_days

    assert default_active_days(purchases) == 30
    with pytest.raises(ModelError, match="needs at least 60 days of history"):
        churn.run_churn_study({"purchases": purchases}, as_of="2024-02-19")
    with pytest.raises(ModelError, match="needs at least 180 days of history"):  # a given window wins
        churn.run_churn_study({"purchases": purchases}, as_of="2024-02-19", inactivity_days=90)


def test_active_sentence_says_what_churn_means():
    from engage_kit.activity import ActiveWindow

    w = ActiveWindow(90, "config")
    assert churn.active_sentence(w).startswith("**Active = bought in the last 90 days**; set in the config")
    assert churn.active_sentence(w).endswith("Here churn = no purchase in the 90 days after a cutoff.")



# --- what the report says ------------------------------------------------------------------


def _facts(**kw):
    from types import SimpleNamespace

    base = dict(mode="non_contractual", cutoff=TS("2024-04-06"), test_cutoff=TS("2024-07-05"), inactivity_days=90,
                feature_window_days=365, rule="the top 10% by churn probability", value_basis="spend in the last 365 days",
                contact_cost=5.0, save_rate=0.25, train_label_end=TS("2024-07-05"))
    base.update(kw)
    return SimpleNamespace(**base)


def _figures(**kw):
    s = dict(at_risk=1287, scored=12866, at_risk_probability=0.91, at_risk_value=52_300.4, scored_value=400_000.0,
             at_risk_value_share=0.13075, at_risk_median_days=301.0, expected_churners=7750.2,
             expected_churn_share=0.6024, best_model="gradient_boosting", best_auc=0.8123, best_auc_low=0.80,
             bgnbd_auc=0.7912, bgnbd_auc_high=0.79, recency_auc=0.7456, best_top_rate=0.963,
             recency_top_rate=0.951, test_churn_rate=0.6024, perfect_top_reach=0.166, best_auc_high=0.82,
             test_churn_low=0.594, test_churn_high=0.611, reachable_days=90, reachable=8000, gone=4866,
             gone_value=150_000.0, reachable_at_risk=800, reachable_at_risk_value=40_000.0,
             reachable_at_risk_loss=31_000.4, reachable_at_risk_probability=0.78)
    s.update(kw)
    return s


def test_story_sentences_read_the_figures():
    st, s = _facts(), _figures()
    cards = churn.story.summary_cards(st, s, "EUR")
    assert [c["value"] for c in cards] == ["800", "31,000 EUR", "4,866", "96%"]
    assert cards[0]["detail"] == "of the 8,000 who bought in the last 90 days; average chance not to buy in the next 90 days: 78%"
    assert cards[2]["detail"] == "bought in the last 365 days, but not in the last 90 days: a win-back audience"
    found = churn.story.findings(st, s, "EUR", pd.DataFrame({"label": ["days since last web session"]}))
    assert len(found) == 5
    assert found[0].startswith("**800 customers at risk can still be won back**: they bought in the last 90 days")
    assert "**31,000 EUR**" in found[0] and "contact them first" in found[0]
    assert found[1].startswith("**4,866 customers have already gone**") and "not on the list" in found[1]
    assert "**96% stopped buying**, against 95%" in found[2] and found[2].endswith("the list is worth using.")
    assert found[3].startswith("**60%** of the customers who bought in the year before 5 July 2024")
    assert "(between 59% and 61%)" in found[3] and "monthly" in found[3]
    assert found[4].startswith("**Days since last web session** tells leavers apart the most")
    trust = churn.story.trust_sentence(st, s)
    assert trust == ("The model learnt from what happened after 6 April 2024 and was tested on what happened after "
                     "5 July 2024, a period it had not seen. It ranks leavers above stayers with a score of **0.81** "
                     "(between 0.80 and 0.82; 0.5 is chance, 1 is perfect), better than sorting customers by the time "
                     "since their last purchase (0.75).")
    base = churn.story.baseline_sentence(st, s)
    assert base.endswith("reaches 0.79: the gradient boosting model is clearly better (the 95% intervals do not overlap).")
    narrow = churn.story.baseline_sentence(st, _figures(best_auc_low=0.78))
    assert narrow.endswith("the gradient boosting model is only narrowly ahead.")
    assert churn.story.auc_sentence(s, {"recency": 0.7456, "bgnbd": 0.7912}) == (
        "On the test set the gradient boosting reaches a ROC-AUC of 0.81; the recency baseline 0.75; "
        "the BG/NBD baseline 0.79.")
    assert churn.story.auc_sentence(s, {}).endswith("0.81; no baseline could be scored.")
    assert churn.story.decision_sentence("the top 10% by churn probability",
                                         churn.confusion_rates({"tp": 3, "fp": 1, "fn": 6, "tn": 10})) == (
        "Contacting the top 10% by churn probability selects 4 test customers, 75% of whom churned; "
        "they are 33% of all churners.")
    assert churn.story.not_covered(False) == {"Cost and benefit": "no cost per retention contact was given"}
    assert churn.story.not_covered(True) == {"Cost and benefit": None}
    # the old sentences stay for callers of the package
    assert churn.story.at_risk_sentence(st, s, "EUR").startswith("**1,287 customers are at risk**")
    assert churn.story.expected_sentence(st, s) == (
        "Across all 12,866 scored customers, about 7,750 (60%) are expected not to buy in the next 90 days.")


def test_story_for_a_labelled_snapshot_and_unknown_values():
    st = _facts(mode="labelled", cutoff=None, test_cutoff=None, inactivity_days=None, train_label_end=None)
    s = _figures(at_risk_value_share=float("nan"), at_risk_median_days=float("nan"), recency_top_rate=float("nan"),
                 recency_auc=float("nan"), bgnbd_auc=float("nan"), reachable_days=None, gone=float("nan"),
                 gone_value=float("nan"), reachable=12866)
    cards = churn.story.summary_cards(st, s, "USD")
    assert [c["label"] for c in cards] == ["At risk, still reachable", "Their value at risk",
                                           "Leavers on the model's list"]
    assert cards[0]["detail"] == "of 12,866 current customers; average chance to churn: 78%"
    assert cards[2]["detail"] == "of its top 10% in the test period; all customers: 60%"
    found = churn.story.findings(st, s, "USD")
    assert len(found) == 1 and "they are current" in found[0]
    assert churn.story.trust_sentence(st, s) == (
        "The model was tested on a random 30% of the labelled customers (a weaker test than a later period). It ranks "
        "leavers above stayers with a score of **0.81** (between 0.80 and 0.82; 0.5 is chance, 1 is perfect).")
    assert churn.story.periods_sentence(st).startswith("This is a labelled snapshot: there is no time order")
    assert churn.story.expected_sentence(st, s).endswith("(60%) are expected to churn.")


def test_not_applicable_in_plain_words():
    why = ("the data cover 546 day(s) (1997-01-01 to 1998-06-30): churn prediction needs at least 730 days of "
           "history before as_of, one label window of 365 days (inactivity_days) to train on and one to test on; "
           "use more history, or a shorter window that fits these data (at most 272 days): active_days in the "
           "config, or notebooks.churn_prediction.inactivity_days")
    text = churn.story.not_applicable(why)
    assert text == ("the data cover 546 days (1 January 1997 to 30 June 1998), and predicting who stops buying over "
                    "365 days needs 730 days: one period of 365 days to learn from and a later one to test on. A churn "
                    "window of at most 272 days would fit these data.")
    other = churn.story.not_applicable("table customers: only 5 customers have a churned value; at least 20 are needed")
    assert other == "the customers: only 5 customers have a churned value; at least 20 are needed."
    hint = churn.story.not_applicable("no customer has a purchase; choose a later cutoff or a longer feature_window_days")
    assert hint == "no customer has a purchase."
    r = churn.unavailable_results(why, plain=text)
    assert r["not_applicable"] == text and r["best_model"] == {"value": None, "reason": why}


def test_the_list_leaves_out_customers_already_gone():
    import ibis

    from engage_kit.churn.actionable import actionable

    # G has the highest chance of leaving and the most value, but has been quiet longer than
    # reachable_days (90): gone, counted apart, never on the list
    df = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "G"],
        "churn_probability": [0.50, 0.90, 0.80, 0.10, 0.99],
        "days_since_purchase": [10.0, 80.0, 90.0, 5.0, 200.0],
        "annual_value": [400.0, 100.0, 300.0, 50.0, 5000.0],
    })
    df["expected_loss"] = df["churn_probability"] * df["annual_value"]
    for k in (1, 2, 3):
        df[f"reason_{k}"] = ""
    ranked, _ = churn.rank_scores(ibis.memtable(df), threshold=0.3)
    listed = actionable(ranked, reachable_days=90, kind="threshold", threshold=0.3).execute()
    assert listed["customer_id"].tolist() == ["C", "A", "B"]  # by value at risk: 240, 200, 90
    top = actionable(ranked, reachable_days=90, kind="top").execute()
    assert top["customer_id"].tolist() == ["B"]  # the top 10% of the 4 reachable: one customer
    everyone = actionable(ranked, reachable_days=None, kind="threshold", threshold=0.3).execute()
    assert everyone["customer_id"].iloc[0] == "G"

    from dataclasses import replace

    from engage_kit.churn.study import ChurnStudy

    study = ChurnStudy(
        mode="non_contractual", as_of=TS("2024-12-31"), cutoff=TS("2024-04-06"), test_cutoff=TS("2024-07-05"),
        inactivity_days=90, feature_window_days=365, train=pd.DataFrame(), test=pd.DataFrame(), numeric=[],
        categorical=[], models={}, predictions=pd.DataFrame(), metrics={}, best_model="logistic",
        importance=pd.DataFrame(), scores=ranked, rule="the customers with a churn probability of at least 30%",
        value_basis="spend", threshold=0.3, reachable_days=90, rule_kind="threshold",
    )
    st = study.score_stats()
    assert (st["scored"], st["reachable"], st["gone"], st["gone_value"]) == (5, 4, 1, 5000.0)
    assert st["at_risk"] == 4  # the rule over everyone scored (the scores file) still counts G
    assert st["reachable_at_risk"] == 3 and st["reachable_at_risk_value"] == 800.0
    assert st["reachable_at_risk_loss"] == pytest.approx(240 + 200 + 90)
    shown = study.at_risk_display(10, "EUR")
    assert shown["customer"].tolist() == ["C", "A", "B"] and "G" not in shown["customer"].tolist()
    assert list(shown.columns) == ["customer", "chance of leaving", "days since last purchase", "yearly value (EUR)",
                                   "value at risk (EUR)", churn.story.REASONS_HEADER]
    wider = replace(study, reachable_days=365, _stats=None, _actionable=None).score_stats()
    assert wider["gone"] == 0 and wider["reachable_at_risk"] == 4


def test_reasons_come_from_the_model_that_scored():
    from engage_kit.churn.actionable import model_reasons, typical_values

    class OnlyX:  # a model whose chance of leaving depends on x alone
        def predict_proba(self, X):
            p = np.clip(np.asarray(X["x"], dtype=float) / 100, 0, 1)
            return np.column_stack([1 - p, p])

    ref = pd.DataFrame({"x": [10.0, 20.0, 30.0], "y": [1.0, 2.0, 3.0], "c": ["a", "a", "b"]})
    typical = typical_values(ref, ["x", "y"], ["c"])
    assert typical == {"x": 20.0, "y": 2.0, "c": "a"}
    X = pd.DataFrame({"x": [80.0, 20.0], "y": [9.0, 9.0], "c": ["b", "b"]})
    reasons = model_reasons(OnlyX(), X, typical, ["x", "y"], ["c"])
    assert reasons.loc[0, "reason_1"].startswith("x: 80 (average 20)")
    assert reasons.loc[0, "reason_2"] == "" and (reasons.loc[1] == "").all()  # y and c do not move this model


def test_story_escapes_data_values_in_markdown():
    st = _facts(rule="the top 10% by churn probability", value_basis="Monthly_Charges x 12")
    text = churn.story.at_risk_sentence(st, _figures(), "<b>$</b>")
    assert "&lt;b&gt;&#36;&lt;/b&gt; a year" in text and "Monthly&#95;Charges x 12" in text
    assert churn.story.notes(["a *b*", "c"]) == "- a &#42;b&#42;\n- c"
    # the cards are escaped by nb.kpi_cards: their text stays as it is
    assert churn.story.summary_cards(st, _figures(), "<b>")[1]["value"] == "31,000 <b>"
    assert churn.story.contact_rule_text("expected_value", threshold=None, contact_cost=5, save_rate=0.3) == (
        "the customers whose expected saving (churn probability x 30% kept x yearly value) exceeds the contact "
        "cost of 5.00")
    assert churn.story.value_basis("spend_window", "spend", feature_window_days=180) == (
        "spend in the last 180 days, scaled to a year")


# --- the study on the demo data -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_study(small_demo):
    # a 90-day label window, as the hand checks below compute it (the data's own window is 180 days)
    return churn.churn_study(small_demo, inactivity_days=90, contact_cost=5.0, n_boot=100)


def test_demo_out_of_time_split(demo_study, small_demo):
    st = demo_study
    assert st.mode == "non_contractual"
    assert st.as_of == TS("2024-12-31")
    assert st.test_cutoff == st.as_of - pd.Timedelta(days=90)
    assert st.cutoff == st.test_cutoff - pd.Timedelta(days=90)
    # training labels: no purchase in (cutoff, cutoff + 90 days]; recompute one customer by hand
    p = small_demo.purchases.execute()
    row = st.train.iloc[0]
    later = p[(p.customer_id == row.customer_id) & (p.timestamp >= st.cutoff + pd.Timedelta(days=1))
              & (p.timestamp < st.cutoff + pd.Timedelta(days=91))]
    assert row.churned == int(later.empty)
    # the scored customers bought in the 365 days up to as_of
    last = p.groupby("customer_id").timestamp.max()
    scored_last = last.reindex(st.scores.execute().customer_id)
    assert (scored_last >= st.as_of - pd.Timedelta(days=364)).all()
    assert st.summary()["scored"] == (last >= st.as_of - pd.Timedelta(days=364)).sum()


def test_demo_best_model_beats_recency_and_matches_the_true_bgnbd(demo_study, small_demo, small_demo_truth):
    st = demo_study
    auc = {m: v["roc_auc"].value for m, v in st.metrics.items()}
    assert st.best_model in ("logistic", "gradient_boosting")
    assert auc[st.best_model] == max(auc[m] for m in ("logistic", "gradient_boosting"))
    assert auc[st.best_model] > auc["recency"] + 0.03
    assert st.metrics[st.best_model]["roc_auc"].low > auc["recency"]
    # the churn probability from the generator's true BG/NBD parameters: the best one can do
    # from purchase history alone; engagement features may add to it
    truth = small_demo_truth["bgnbd"]
    p_true, _ = churn.bgnbd_churn_probability(
        small_demo.purchases, st.test["customer_id"].tolist(), cutoff=st.test_cutoff, inactivity_days=90, params=truth
    )
    auc_true = churn.roc_auc(st.test["churned"], p_true)
    assert 0.7 < auc_true < 0.9
    assert auc[st.best_model] > auc_true - 0.02
    # the fitted BG/NBD baseline is close to the truth's ranking
    assert abs(auc["bgnbd"] - auc_true) < 0.03
    assert st.metrics["bgnbd"]["brier"] < st.metrics["recency"]["brier"]


def test_demo_results_and_scores(demo_study):
    r = demo_study.results()
    for key in ("mode", "cutoff", "test_cutoff", "inactivity_days", "train.customers", "train.churn_rate",
                "test.customers", "test.churn_rate", "best_model"):
        assert key in r
    for name in ("logistic", "gradient_boosting", "recency", "bgnbd"):
        for key in ("roc_auc", "pr_auc", "brier", "top_decile_lift"):
            assert r[f"models.{name}.{key}"] is not None
    assert r["best_model"] not in churn.BASELINES
    assert r["cost_benefit.contact_cost"] == 5.0
    s = demo_study.scores.order_by("rank").execute()
    assert s["rank"].tolist() == list(range(1, len(s) + 1))
    assert s["churn_probability"].is_monotonic_decreasing
    assert s["customer_id"].is_unique
    assert (s.loc[s["at_risk"], "reason_1"] != "").mean() > 0.9
    # the expected-value rule: contact when p * save_rate * value > cost
    ev = s["churn_probability"] * 0.25 * s["annual_value"] > 5.0
    assert (ev == s["at_risk"]).all()


def test_demo_summary_and_reader_tables(demo_study):
    s = demo_study.summary()
    r = demo_study.results()
    # the share of churners in the top 10% is the top-decile lift times the test churn rate
    for name, key in (("gradient_boosting", None), ("recency", "recency_top_rate"), ("bgnbd", "bgnbd_top_rate")):
        rate = demo_study.top_decile_rate(name)
        assert rate == pytest.approx(r[f"models.{name}.top_decile_lift"] * r["test.churn_rate"].value)
        if key:
            assert s[key] == pytest.approx(rate)
    assert s["best_top_rate"] == pytest.approx(demo_study.top_decile_rate())
    assert s["expected_churners"] == pytest.approx(demo_study.scores.execute()["churn_probability"].sum())
    assert 0 < s["at_risk_value"] <= s["scored_value"]
    assert s["best_auc_low"] <= s["best_auc"]
    risk = demo_study.at_risk_display(10)
    assert list(risk.columns[:3]) == ["customer", "chance of leaving", "days since last purchase"]
    assert len(risk) == 10 and risk["days since last purchase"].le(90).all()  # still reachable
    assert risk["value at risk"].is_monotonic_decreasing
    assert risk.iloc[:, -1].str.len().gt(0).all()  # reasons joined into one readable column
    assert risk.iloc[:, -1].nunique() > 5  # each customer's own reasons
    assert s["reachable"] + s["gone"] == s["scored"] and s["gone"] > 0
    assert r["at_risk.reachable"] == s["reachable_at_risk"] and r["gone.customers"] == s["gone"]
    periods = demo_study.periods_display()
    assert periods["cutoff"].tolist() == [str(demo_study.cutoff.date()), str(demo_study.test_cutoff.date())]
    mt = demo_study.metrics_display()
    assert set(mt["model"]) == {churn.MODEL_LABELS[m] for m in ("logistic", "gradient_boosting", "recency", "bgnbd")}


# --- the labelled snapshot (IBM Telco) -------------------------------------------------------


def _telco(shared_data, n=None, seed=0):
    df = pd.read_csv(shared_data / "telco_customer_churn.csv", dtype=str)
    if n is not None:
        df = df.sample(n, random_state=seed)
    return df


def test_telco_labelled_auc_in_the_published_range(shared_data):
    df = _telco(shared_data).rename(columns={"customerID": "customer_id", "Churn": "churned"})
    df["churned"] = df["churned"].str.strip().str.lower().map({"yes": True, "no": False})
    st = churn.run_churn_study({"customers": df}, as_of="2024-12-31", n_boot=50)
    assert st.mode == "labelled"
    assert st.cutoff is None and st.test_cutoff is None
    auc = st.metrics["logistic"]["roc_auc"].value
    assert 0.80 <= auc <= 0.88  # about 0.84 is published for logistic regression
    assert "TotalCharges" in st.numeric and "Contract" in st.categorical
    assert st.metrics["recency"].get("available") is False
    assert any("weaker test" in n for n in st.notes)
    assert st.summary()["scored"] == int((~df["churned"]).sum())  # the current customers
    assert st.value_basis == "MonthlyCharges x 12"


# --- the notebook, headless ---------------------------------------------------------------


def test_notebook_runs_on_the_small_demo(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    _, out = run_notebook("churn_prediction", tmp_path, small_demo_config, contact_cost=5.0, top_n=10)
    r = json.loads((out / "results.json").read_text())
    assert r["mode"] == "non_contractual"
    # the label window is the data's activity window: 180 days on the small demo, so the test
    # cutoff is 2024-12-31 - 180 days = 2024-07-04 and the training cutoff 180 days before it
    assert r["active_days"] == {"value": 180, "source": "data", "repeat_purchase_days": 4608, "gap_p90_days": 153.0} and r["inactivity_days"] == 180
    assert r["cutoff"] == "2024-01-06" and r["test_cutoff"] == "2024-07-04"
    assert r["train"]["customers"] > 500 and 0 < r["train"]["churn_rate"]["value"] < 1
    assert set(r["models"]) == {"logistic", "gradient_boosting", "recency", "bgnbd"}
    best = r["best_model"]
    assert best in ("logistic", "gradient_boosting")
    assert r["models"][best]["roc_auc"]["value"] > r["models"]["recency"]["roc_auc"]["value"]
    assert r["meta"]["parameters"]["contact_cost"] == 5.0
    scores = pd.read_csv(out / "scores.csv")
    assert {"customer_id", "churn_probability", "rank", "reason_1"} <= set(scores.columns)
    assert len(scores) == r["scored"]["customers"]


@pytest.mark.slow
def test_rendered_report_opens_with_findings_in_plain_words(tmp_path, small_demo_config):
    import re

    from engage_kit.cli import main
    from tests.helpers import plain_words_problems, visible_text

    out = tmp_path / "report"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "churn_prediction"]) == 0
    page = (out / "churn_prediction.html").read_text(encoding="utf-8")
    body, appendix = visible_text(page)
    assert plain_words_problems(body) == []
    assert re.search(r'<h2 id="([^"]+)"', page.split("<main>", 1)[1]).group(1) == "What-we-found"
    assert body.index("What we found") < body.index("Key figures") < body.index("Customers to contact first")
    assert "ROC-AUC" not in body and "BG/NBD" not in body and "logistic regression" not in body
    assert "ROC-AUC" in appendix and "Glossary" in appendix
    r = json.loads((out / "churn_prediction" / "results.json").read_text())
    found = r["findings"]
    assert 3 <= len(found) <= 5
    assert found[0].startswith(f"{r['at_risk']['reachable']:,} customers at risk can still be won back")
    assert f"{r['at_risk']['reachable_expected_loss']:,.0f} EUR" in found[0]
    assert found[1].startswith(f"{r['gone']['customers']:,} customers have already gone")
    assert f"{r['gone']['value']:,.0f} EUR" in found[1]
    rate = r["test"]["churn_rate"]
    assert f"{rate['value']:.0%} of the customers who bought" in found[3]
    assert f"between {rate['low']:.0%} and {rate['high']:.0%}" in found[3]
    assert r["reachable_days"] == r["inactivity_days"] == 180
    assert r["reachable"]["customers"] + r["gone"]["customers"] == r["scored"]["customers"]
    assert "Not covered by this data: Cost and benefit" in body
    scores = pd.read_csv(out / "churn_prediction" / "scores.csv")
    assert len(scores) == r["scored"]["customers"] and int(scores["at_risk"].sum()) == r["at_risk"]["customers"]


def test_labelled_split_in_the_engine_and_batches_do_not_change_the_scores(shared_data):
    df = _telco(shared_data, n=600).rename(columns={"customerID": "customer_id", "Churn": "churned"})
    df["churned"] = df["churned"].str.strip().str.lower().map({"yes": True, "no": False})
    kw = dict(as_of="2024-12-31", n_boot=20, models=["logistic"])
    st = churn.run_churn_study({"customers": df}, **kw)
    small = churn.run_churn_study({"customers": df}, chunk_size=37, **kw)
    n_churned = int(df["churned"].sum())
    assert len(st.test) == 180 and abs(int(st.test["churned"].sum()) - 180 * n_churned / 600) <= 0.5
    assert not set(st.train["customer_id"]) & set(st.test["customer_id"])
    assert st.test["customer_id"].tolist() == small.test["customer_id"].tolist()
    a, b = st.scores.order_by("rank").execute(), small.scores.order_by("rank").execute()
    assert len(a) == 600 - n_churned
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # a cap: out-of-fold scores inside the sample, the fitted model outside it; yes/no text labels
    raw = df.assign(churned=df["churned"].map({True: " Yes", False: "no"}))
    capped = churn.run_churn_study({"customers": raw}, max_training_rows=100, chunk_size=37, **kw)
    assert len(capped.train) == 100 and capped.results()["train.customers"] == 420
    assert capped.summary()["scored"] == 600 - n_churned
    assert capped.scores.churn_probability.notnull().all().execute()


def test_notebook_runs_on_a_labelled_snapshot(tmp_path, shared_data):
    folder = tmp_path / "telco"
    folder.mkdir()
    _telco(shared_data, n=1500).to_csv(folder / "customers.csv", index=False)
    (folder / "config.yaml").write_text(
        "title: Telco subscribers\ncurrency: USD\ntables:\n  customers:\n    path: customers.csv\n"
        "    columns: {customer_id: customerID, churned: Churn}\n",
        encoding="utf-8",
    )
    from tests.conftest import run_notebook

    _, out = run_notebook("churn_prediction", tmp_path, folder / "config.yaml")
    r = json.loads((out / "results.json").read_text())
    assert r["mode"] == "labelled" and r["cutoff"] is None
    assert r["test"]["customers"] == 450  # 30% of 1,500, stratified
    assert 0.75 < r["models"]["logistic"]["roc_auc"]["value"] < 0.92
    assert r["models"]["recency"]["roc_auc"] is None
    assert (out / "scores.csv").exists()


def test_cancellations_by_calendar_month_by_hand():
    """The survivor counts of tests/test_cohorts.py::test_subscriber_retention_by_hand read by month.

    January: the three January subscribers, none cancels. February: those three and the two
    February ones; a (January) and e (February) cancel: 2 of 5. March: 3 left, c cancels.
    April: 2, none. Over the four months 3 of 13 subscriber-months.
    """
    import ibis

    from engage_kit.cohorts.subscriptions import (
        cancellations_by_period,
        recent_cancellation_rate,
        subscriber_retention,
    )

    customers = ibis.memtable(pd.DataFrame({
        "customer_id": list("abcde"),
        "signup_at": pd.to_datetime(["2024-01-03", "2024-01-15", "2024-01-31", "2024-02-01", "2024-02-10"]),
        "cancelled_at": pd.to_datetime(["2024-02-10", None, "2024-03-05", None, "2024-02-20"]),
    }))
    r = subscriber_retention(customers, "M", as_of="2024-04-30")
    by = cancellations_by_period(r.survivors, "M")
    assert by[["period", "at_risk", "cancelled"]].to_dict("list") == {
        "period": ["2024-01", "2024-02", "2024-03", "2024-04"], "at_risk": [3, 5, 3, 2], "cancelled": [0, 2, 1, 0]}
    assert by["rate"].tolist() == pytest.approx([0, 0.4, 1 / 3, 0])
    recent = recent_cancellation_rate(by)
    assert (recent["value"], recent["n"], recent["cancelled"], recent["from"]) == (pytest.approx(3 / 13), 13, 3, "2024-01")
    assert recent["low"] < 3 / 13 < recent["high"]


def test_tied_scores_give_each_resample_the_sorted_functions_value():
    """The bootstrap scores resamples by counts per tie group, not by sorting each one:
    ROC-AUC equal bit for bit, average precision to rounding, on scores full of ties."""
    from engage_kit.churn.evaluation import TiedScores, average_precision, roc_auc

    rng = np.random.default_rng(5)
    n = 400
    y = (rng.random(n) < 0.3).astype(float)
    for score in (np.round(rng.normal(size=n) + y, 1), rng.integers(0, 4, n).astype(float), np.zeros(n)):
        tied = TiedScores(y, score)
        assert tied.binary  # labels 0 and 1: both classes counted in one pass
        general = TiedScores(y, score)
        general.binary = False  # the two-pass count, as for other labels
        for _ in range(20):
            idx = rng.integers(0, n, n)
            counts = np.bincount(idx, minlength=n).astype(float)
            assert tied.auc(counts) == roc_auc(y[idx], score[idx]) == general.auc(counts)
            assert tied.average_precision(counts) == general.average_precision(counts)
            assert tied.average_precision(counts) == pytest.approx(average_precision(y[idx], score[idx]), rel=1e-14)
    one_class = np.bincount(np.flatnonzero(y == 0)[:5], minlength=n).astype(float)
    assert np.isnan(TiedScores(y, y).auc(one_class)) and np.isnan(TiedScores(y, y).average_precision(one_class))


def test_evaluate_scores_intervals_are_the_bootstrap_of_the_sorted_functions():
    from engage_kit.churn.evaluation import average_precision, evaluate_scores, roc_auc
    from engage_kit.stats import bootstrap_estimate

    rng = np.random.default_rng(6)
    y = (rng.random(300) < 0.4).astype(float)
    s = np.round(rng.random(300) + 0.3 * y, 2)
    got = evaluate_scores(y, s, n_boot=60, random_state=3)
    data = np.column_stack([y, s])
    auc = bootstrap_estimate(lambda d: roc_auc(d[:, 0], d[:, 1]), data, n_boot=60, random_state=3)
    ap = bootstrap_estimate(lambda d: average_precision(d[:, 0], d[:, 1]), data, n_boot=60, random_state=3)
    assert got["roc_auc"] == auc
    for field in ("value", "low", "high"):
        assert getattr(got["pr_auc"], field) == pytest.approx(getattr(ap, field), rel=1e-14)
    s[::9] = np.nan  # NaN scores: the functions on the resampled rows themselves
    got = evaluate_scores(y, s, n_boot=30, random_state=3)
    ap = bootstrap_estimate(lambda d: average_precision(d[:, 0], d[:, 1]), np.column_stack([y, s]), n_boot=30, random_state=3)
    assert np.isnan(got["roc_auc"].value) and got["pr_auc"] == ap


def test_reasons_are_worded_as_one_reason_at_a_time():
    """The list form words each value as reason() does: numbers, rates, missing values, text."""
    from engage_kit.churn import story

    values = np.array([3, np.int64(12), 2.25, 12.5, 0.04, float("nan"), None, pd.NA, "web", True, -1.0], dtype=object)
    got = story.reasons("orders_365d", values, 3.25)
    label = story.feature_label("orders_365d")
    assert got == [f"{label}: 3 (average 3.2)", f"{label}: 12 (average 3.2)", f"{label}: 2.2 (average 3.2)",
                   f"{label}: 12 (average 3.2)", f"{label}: 0.0 (average 3.2)", f"{label}: none recorded",
                   f"{label}: none recorded", f"{label}: none recorded", f"{label}: web",
                   f"{label}: 1 (average 3.2)", f"{label}: -1 (average 3.2)"]
    assert got == [story.reason("orders_365d", v, 3.25) for v in values]
    rate = story.feature_label("email_open_rate")
    assert story.reasons("email_open_rate", [0.25, 0.333], None) == [
        f"{rate}: 25% (most customers have none)", f"{rate}: 33% (most customers have none)"]
