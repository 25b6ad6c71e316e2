"""Loyalty and referral figures on hand-computed tables, and the demo's known truth."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_kit import metrics as M
from engage_kit.metrics import loyalty as L
from engage_kit.metrics import referrals as R

TX = pd.DataFrame([("a", "2024-01-05", 10), ("a", "2024-03-01", 10), ("b", "2024-01-10", 5), ("c", "2024-02-01", 5),
                   ("c", "2024-02-20", 5), ("d", "2024-03-20", 5)], columns=["customer_id", "timestamp", "amount"])
LOY = pd.DataFrame([("a", "2024-01-01", "join", 0), ("a", "2024-01-05", "earn", 100), ("a", "2024-03-01", "redeem", -40),
                    ("c", "2024-03-10", "earn", 50), ("e", "2024-01-01", "join", 0)],
                   columns=["customer_id", "timestamp", "kind", "points"])
REF = pd.DataFrame([("a", "2024-01-20", "c"), ("a", "2024-02-15", None), ("b", "2024-03-01", "x"), ("z", "2024-03-02", "d")],
                   columns=["referrer_id", "timestamp", "referred_customer_id"])


def test_loyalty_by_hand():
    p = L.participation_rate(LOY, transactions=TX)
    assert p.counts == {"members": 2, "customers": 4}  # a and c of a, b, c, d; e never bought
    r = L.redemption_rate(LOY)
    assert r.counts == {"redeemed_points": 40, "earned_points": 150} and r.value == pytest.approx(40 / 150)
    # as_of 31 March, 30 days: members joined before 2 March: a (2 orders); c earned on 10 March
    m = L.member_repeat_rate(LOY, transactions=TX, active_days=30, as_of="2024-03-31")
    o = L.non_member_repeat_rate(LOY, transactions=TX, active_days=30, as_of="2024-03-31")
    assert m.counts == {"repeat_customers": 1, "customers": 1}
    assert o.counts == {"repeat_customers": 1, "customers": 3}  # b, c (repeat), d
    c = L.compare(m, o)
    assert c["difference"] == pytest.approx(2 / 3) and 0 < c["p_value"] < 1


def test_loyalty_per_period_by_hand():
    p = L.participation_rate(LOY, transactions=TX, period="M", as_of="2024-03-31").set_index("period")
    assert p["members"].tolist() == [1, 0, 1] and p["customers"].tolist() == [2, 1, 2]


def test_referrals_by_hand():
    assert R.referral_rate(REF, transactions=TX).counts == {"referrers": 2, "customers": 4}  # a, b; z never bought
    assert R.conversion_rate(REF, transactions=TX).counts == {"converted": 2, "referrals": 4}  # c and d bought
    assert R.referred_repeat_rate(REF, transactions=TX).counts == {"repeat_customers": 1, "customers": 2}  # c, d
    assert R.other_repeat_rate(REF, transactions=TX).counts == {"repeat_customers": 1, "customers": 2}  # a, b
    per = R.referral_rate(REF, transactions=TX, period="M", as_of="2024-03-31").set_index("period")
    assert per["referrers"].tolist() == [1, 0, 0]


def test_demo_recovers_the_truth(small_demo, small_demo_truth):
    truth = small_demo_truth["engagement_extras"]
    head = M.headline(small_demo.tables, as_of=small_demo.as_of, active_days=90)
    for key in ("service.containment_rate", "loyalty.participation_rate", "referrals.conversion_rate"):
        assert head[key] is not None and head[key].computable, key
    c = head["service.containment_rate"]
    assert c.low <= truth["containment"] <= c.high
    assert head["loyalty.participation_rate"].value == pytest.approx(truth["join_rate"], abs=0.04)
    assert head["loyalty.redemption_rate"].value == pytest.approx(truth["redeem_share"], abs=0.06)
    res = M.breakdowns.results(M.breakdowns.breakdowns(small_demo.tables, as_of=small_demo.as_of), head)
    assert res["loyalty.member_repeat_test"]["p_value"] < 0.05  # members choose to join: the frequent buyers
    assert res["adoption.search.rate"].value == pytest.approx(0.84, abs=0.06)
    assert any(k.startswith("service.fcr_by_reason.") for k in res)
    assert any(k.startswith("satisfaction.nps_by_touchpoint.") for k in res)
    assert any(k.startswith("web.exit_rate_by_page.") for k in res)
