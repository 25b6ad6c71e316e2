"""Feature adoption, time to first use and declining usage on a hand-computed table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engage_kit.metrics import adoption as A

USAGE = pd.DataFrame([
    ("a", "2024-01-10", "search", 1), ("a", "2024-03-20", "export", 1),
    ("b", "2024-01-15", "search", None),
    ("c", "2024-01-05", "search", 30), ("c", "2024-03-25", "search", 1),
    ("d", "2024-02-01", "export", 3), ("d", "2024-03-15", "export", 3),
], columns=["customer_id", "timestamp", "feature", "quantity"])


def test_feature_rates_by_hand():
    r = A.feature_rates(USAGE).set_index("group")
    assert r.loc["search", "value"] == 0.75 and r.loc["export", "value"] == 0.5


def test_time_to_first_use_by_hand():
    tx = pd.DataFrame([("a", "2024-01-01", 5), ("b", "2024-01-20", 5), ("c", "2024-01-01", 5)],
                      columns=["customer_id", "timestamp", "amount"])
    cu = pd.DataFrame({"customer_id": ["d"], "signup_at": ["2024-01-25"]})  # d never bought: from its sign-up
    r = A.time_to_first_use(USAGE, transactions=tx, customers=cu).set_index("group")
    assert r.loc["search", "value"] == 4  # 9, -5 (used before buying), 4
    assert r.loc["export", "value"] == 43  # 79 and 7


def test_declining_share_by_hand():
    # as_of 31 March: last 30 days from 2 March, the 90 before from 3 December
    m = A.declining_share(USAGE, as_of="2024-03-31")
    assert m.counts == {"declining": 2, "customers": 4}  # b (1 then 0) and c (30 then 1)
    per = A.declining_share(USAGE, period="M", as_of="2024-03-31").set_index("period")
    assert per.loc["2024-02", "declining"] == 3 and per.loc["2024-02", "customers"] == 3
    trend = A.usage_trend(USAGE, cutoff="2024-03-31").execute().set_index("customer_id")["usage_trend"]
    assert trend["c"] == pytest.approx(1 / (30 / 3)) and trend["b"] == 0


def test_median_interval():
    med, lo, hi = A.median_interval(np.arange(1, 101), np.ones(100))
    assert med == 50.5 and lo < med < hi


def test_usage_trend_is_a_churn_feature_at_the_cutoff_and_nothing_after():
    from engage_kit import churn

    # cutoff 30 June (inclusive): last 30 days 1-30 June, the 90 before them 3 March - 31 May
    usage = pd.DataFrame([
        ("A", "2024-03-02 23:00", "search", 50),  # before the 90 days: not counted
        ("A", "2024-03-10", "search", 3), ("A", "2024-04-10", "export", 3), ("A", "2024-05-10", "search", 3),
        ("A", "2024-06-15", "search", 1),  # 1 against a usual month of 9 / 3 = 3: declining
        ("A", "2024-07-01 00:00", "search", 100), ("A", "2024-07-20", "search", 100),  # after the cutoff
        ("B", "2024-03-03", "search", None), ("B", "2024-04-01", "search", None), ("B", "2024-05-31", "search", None),
        ("B", "2024-06-30 23:59", "search", 6),  # on the cutoff day: counts; 6 against 3 / 3 = 1
        ("C", "2024-06-20", "search", 4),  # no use in the 90 days before: no trend
        ("D", "2024-04-01", "search", 2),  # not a buying customer: not in the population
    ], columns=["customer_id", "timestamp", "feature", "quantity"]).astype(
        {"timestamp": "datetime64[us]", "quantity": "float64"})
    purchases = pd.DataFrame({"customer_id": ["A", "B", "C"], "timestamp": pd.to_datetime(["2024-05-01"] * 3),
                              "amount": [10.0, 20.0, 30.0]}).astype({"timestamp": "datetime64[us]"})
    f = churn.build_features(purchases, cutoff="2024-06-30", usage=usage).execute().set_index("customer_id")
    assert f.loc["A", "usage_trend"] == pytest.approx(1 / 3)
    assert f.loc["B", "usage_trend"] == pytest.approx(6.0)
    assert np.isnan(f.loc["C", "usage_trend"])
    assert set(f.index) == {"A", "B", "C"}
    # the same definition as declining_share: below 0.5 is declining (A and D, who stopped; not B)
    m = A.declining_share(usage, as_of="2024-06-30")
    assert m.counts == {"declining": 2, "customers": 3}
    # rows after the cutoff change nothing; without a usage table the features are those of before
    later = pd.concat([usage, usage.assign(timestamp=pd.Timestamp("2024-07-02"), quantity=1000.0)])
    g = churn.build_features(purchases, cutoff="2024-06-30", usage=later).execute().set_index("customer_id")
    pd.testing.assert_frame_equal(f.sort_index(), g.sort_index())
    plain = churn.build_features(purchases, cutoff="2024-06-30").execute().set_index("customer_id")
    assert "usage_trend" not in plain.columns
    pd.testing.assert_frame_equal(f.drop(columns="usage_trend").sort_index(), plain.sort_index())
    assert churn.feature_label("usage_trend") == "product use in the last 30 days ÷ usual month"
