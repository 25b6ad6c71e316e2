"""Returns matched to the purchases they cancel: hand-computed cases on the engine."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from engage_kit.returns import match_returns

ROWS = [
    # _row, customer, time, amount, order, product
    (1, "a", "2024-01-01 10:00", 50.0, "A1", "p1"),
    (2, "a", "2024-01-01 10:00", 50.0, "A1", "p2"),
    (3, "a", "2024-01-01 10:12", -100.0, "CA1", "p1"),  # cancels A1 twelve minutes later
    (4, "b", "2024-02-01 09:00", 80.0, "B1", "p3"),
    (5, "b", "2024-02-01 09:00", 20.0, "B1", "p4"),
    (6, "b", "2024-02-05 09:00", -50.0, "CB1", "p3"),  # half of B1
    (7, "c", "2024-03-01 09:00", -30.0, "CC1", "p9"),  # no purchase before: unmatched
    (8, "c", "2024-03-02 09:00", 30.0, "C1", "p9"),
    (9, "d", "2024-01-01 09:00", 10.0, "D1", None),
    (10, "d", "2024-06-01 09:00", 10.0, "D2", None),
    (11, "d", "2024-06-02 09:00", -25.0, "CD", None),  # D1 is past 90 days: D2, 15 too much
    (12, "e", "2024-01-01 09:00", 20.0, "E1", "p5"),
    (13, "e", "2024-01-03 09:00", 35.0, "E2", "p6"),
    (14, "e", "2024-01-05 09:00", -20.0, "CE", "p7"),  # no product match: E1 has the same amount
    (15, "f", "2024-01-01 09:00", 40.0, "F1", "p8"),
    (16, "f", "2024-01-02 09:00", 40.0, "F2", "p8"),
    (17, "f", "2024-01-03 09:00", -40.0, "F1", "p8"),  # booked under F1's own number: F1, not the later F2
    (18, "g", "2024-01-01 09:00", 0.0, "G1", "p1"),  # a free order absorbs nothing
    (19, "g", "2024-01-02 09:00", -5.0, "CG", "p1"),
]


@pytest.fixture()
def lines():
    df = pd.DataFrame(ROWS, columns=["_row", "customer_id", "timestamp", "amount", "order_id", "product_id"])
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return ibis.duckdb.connect().create_table("lines", df), df


def test_matching_by_hand(lines):
    t, df = lines
    out, stats = match_returns(t)
    got = out.order_by("_row").execute().set_index("_row")["amount"].to_dict()
    assert got == {
        4: 40.0, 5: 10.0,  # B1 scaled by 1 - 50/100
        7: -30.0, 8: 30.0,  # unmatched return kept
        9: 10.0, 11: -15.0,  # D2 cancelled, the excess stays as a return on the return's row
        13: 35.0,  # E1 cancelled by the return of its amount; E2 kept
        16: 40.0,  # F1 cancelled by the return under its number
        18: 0.0, 19: -5.0,
    }
    assert out.amount.sum().execute() == pytest.approx(df["amount"].sum())  # net revenue unchanged
    assert stats.returns == 7 and stats.matched == 5
    assert stats.cancelled_orders == 4 and stats.reduced_orders == 1
    assert stats.cancelled_value == pytest.approx(100 + 10 + 20 + 40)
    assert stats.returned_value == pytest.approx(100 + 50 + 30 + 25 + 20 + 40 + 5)


def test_match_days_bounds_the_window(lines):
    t, _ = lines
    out, stats = match_returns(t, match_days=0)  # the return's own day only
    got = out.order_by("_row").execute().set_index("_row")["amount"].to_dict()
    assert stats.matched == 1  # a's cancellation twelve minutes after the order
    assert 1 not in got and 2 not in got and 3 not in got
    assert got[6] == -50.0 and got[4] == 80.0  # four days apart: not matched


def test_no_returns_is_the_identity(lines):
    t, df = lines
    pos = t.filter(t.amount >= 0)
    out, stats = match_returns(pos)
    assert out.count().execute() == int((df["amount"] >= 0).sum())
    assert stats.returns == 0 and stats.matched == 0


def test_customers_without_returns_do_not_change_the_matching():
    """Only returning customers' orders are grouped and joined: adding customers who never
    returned anything leaves every match and count as it was."""
    base = pd.DataFrame({
        "_row": [1, 2, 3, 4], "customer_id": ["c1", "c1", "c1", "c2"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06", "2024-01-02"]),
        "amount": [100.0, 50.0, -50.0, 30.0], "order_id": ["o1", "o2", "r1", "o3"], "product_id": [None, "p", "p", None],
    })
    more = pd.concat([base, pd.DataFrame({
        "_row": [5, 6], "customer_id": ["c3", "c3"], "timestamp": pd.to_datetime(["2024-01-03", "2024-01-04"]),
        "amount": [50.0, 50.0], "order_id": ["o4", "o5"], "product_id": ["p", "p"],
    })], ignore_index=True)
    got = []
    for df in (base, more):
        out, m = match_returns(ibis.memtable(df))
        got.append((m.returns, m.matched, m.cancelled_orders, m.reduced_orders, m.matched_value,
                    m.matches.execute().order_id.tolist(), out.execute().sort_values("_row")))
    assert got[0][:6] == got[1][:6] == (1, 1, 1, 0, 50.0, ["o2"])
    pd.testing.assert_frame_equal(got[1][6][got[1][6]._row <= 4].reset_index(drop=True), got[0][6].reset_index(drop=True))
