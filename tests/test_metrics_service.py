"""Self-service containment and the figures by contact reason, on hand-computed tickets."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_kit import metrics as M
from engage_kit.metrics import service

TICKETS = pd.DataFrame({
    "ticket_id": list("abcdefgh"),
    "opened_at": [f"2024-01-0{i}" for i in range(1, 9)],
    "resolved_at": ["2024-01-10"] * 7 + [None],
    "contacts": [1, 1, 2, 1, 3, 1, 1, 1],
    "handle_seconds": [100, 200, 300, 400, 500, 600, 700, 800],
    "handled_by": ["bot", "Bot", "self-service", "agent", "agent", "bot", "bot", None],
    "escalated": [False, True, False, None, True, False, None, False],
    "reason": ["billing", "billing", "billing", "login", "login", "login", "delivery", None],
})


def test_containment_by_hand():
    # self-served with a known escalation: a (no), b (yes), c (no), f (no); g unknown is left out
    m = service.containment_rate(TICKETS)
    assert m.counts == {"contained": 3, "self_served": 4} and m.value == 0.75
    assert 0 < m.low < 0.75 < m.high <= 1


def test_a_bot_answering_95_of_100_has_containment_095():
    t = pd.DataFrame({"ticket_id": [str(i) for i in range(100)], "opened_at": ["2024-01-01"] * 100,
                      "handled_by": ["bot"] * 100, "escalated": [True] * 5 + [False] * 95})
    assert service.containment_rate(t).value == pytest.approx(0.95)


def test_by_reason_by_hand():
    r = service.by_reason(TICKETS)
    fcr = r["fcr"].set_index("group")
    # billing: a, b resolved at first contact, c took 2; login: d, f first, e took 3; delivery: g
    assert (fcr.loc["billing", "first_contact"], fcr.loc["billing", "resolved"]) == (2, 3)
    assert fcr.loc["login", "value"] == pytest.approx(2 / 3) and fcr.loc["delivery", "value"] == 1
    assert fcr.loc["billing", "rest"] == pytest.approx(3 / 4)  # login + delivery
    aht = r["aht"].set_index("group")
    assert aht.loc["billing", "value"] == pytest.approx(200) and aht.loc["login", "value"] == pytest.approx(500)
    assert aht.loc["billing", "rest"] == pytest.approx((400 + 500 + 600 + 700) / 4)
    assert "(unknown)" not in fcr.index  # the ticket without a reason is left out


def test_no_handled_by_no_containment_figure():
    plain = TICKETS.drop(columns=["handled_by", "escalated", "reason"])
    head = M.headline({"tickets": plain})
    assert head["service.containment_rate"] is None
    assert "service.fcr_by_reason" not in M.breakdowns.breakdowns({"tickets": plain})


def test_figures_by_group_per_period_and_the_period_over_period_test():
    from engage_kit.metrics import breakdowns
    from engage_kit.metrics._common import change_test

    feb = TICKETS.assign(ticket_id=[f"f{x}" for x in TICKETS["ticket_id"]],
                         opened_at=[f"2024-02-0{i}" for i in range(1, 9)], resolved_at=["2024-02-10"] * 7 + [None],
                         contacts=[1, 1, 1, 1, 1, 1, 1, 1])
    mar = TICKETS.iloc[:1].assign(ticket_id="m1", opened_at="2024-03-05", resolved_at=None)  # March unfinished
    tk = pd.concat([TICKETS, feb, mar], ignore_index=True)
    per = service.by_reason(tk, period="M", as_of="2024-03-20")
    fcr = per["fcr"]
    assert list(fcr.columns[:4]) == ["period", "period_start", "period_end", "complete"]
    # each period's figures are those of that month alone
    for month, start, end in (("2024-01", "2024-01-01", "2024-01-31"), ("2024-02", "2024-02-01", "2024-02-29")):
        alone = service.by_reason(tk, start=start, as_of=end)["fcr"].set_index("group")
        got = fcr[fcr["period"] == month].set_index("group")
        pd.testing.assert_series_equal(got["value"], alone.loc[got.index, "value"])
        assert got["complete"].all()
    jan, feb_ = (fcr[fcr["period"] == m].set_index("group") for m in ("2024-01", "2024-02"))
    assert (feb_.loc["billing", "first_contact"], feb_.loc["billing", "resolved"]) == (3, 3)
    ch = breakdowns.period_changes({"service.fcr_by_reason": fcr, "service.aht_by_reason": per["aht"]})
    row = ch[(ch["name"] == "service.fcr_by_reason") & (ch["group"] == "billing")].iloc[0]
    assert (row["previous_period"], row["period"]) == ("2024-01", "2024-02")  # March is not complete
    want = change_test(M.Metric(jan.loc["billing", "value"], jan.loc["billing", "low"], jan.loc["billing", "high"], 3),
                       M.Metric(1.0, feb_.loc["billing", "low"], feb_.loc["billing", "high"], 3), kind="proportion")
    assert row["z"] == pytest.approx(want["z"]) and row["p_value"] == pytest.approx(want["p_value"])
    assert row["p_holm"] >= row["p_value"] and not row["significant"]
    # handle times did not change: nothing beyond chance; a group missing the period before is not tested
    assert set(ch["name"]) == {"service.fcr_by_reason", "service.aht_by_reason"}
    gap = fcr[fcr["period"] != "2024-02"]
    assert breakdowns.period_changes({"service.fcr_by_reason": gap}).empty
    # the report's call: every breakdown per period, tested
    bd = breakdowns.breakdowns({"tickets": tk}, as_of="2024-03-20", period="M")
    assert set(bd) == {"service.fcr_by_reason", "service.aht_by_reason"}
    assert all(list(df.columns[:4]) == ["period", "period_start", "period_end", "complete"] for df in bd.values())
    whole = breakdowns.breakdowns({"tickets": tk}, as_of="2024-03-20")
    assert len(breakdowns.results(whole, {}, changes=ch)["period_changes_by_group"]) == len(ch)


def test_tickets_without_handle_times_give_the_other_figures():
    """A help desk export without handle times once stopped the KPI report ("column
    'handle_seconds' is empty in every row"); the figure is left out, the others stay."""
    t = TICKETS.assign(handle_seconds=None, handled_by=None, escalated=None)
    head = M.headline({"tickets": t}, as_of="2024-01-31")
    assert head["service.average_handle_seconds"] is None and head["service.containment_rate"] is None
    # resolved: a-g; at the first contact: a, b, d, f, g
    assert head["service.first_contact_resolution"].value == pytest.approx(5 / 7)
