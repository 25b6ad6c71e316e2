"""Exit rate and time on page from pageviews; exit share and landing bounces from sessions; form fills."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_kit import metrics as M
from engage_kit.metrics import pages

PV = pd.DataFrame([
    ("s1", "/", "2024-01-01 10:00:00"), ("s1", "/p", "2024-01-01 10:00:30"), ("s1", "/c", "2024-01-01 10:01:30"),
    ("s2", "/", "2024-01-02 09:00:00"),
    ("s3", "/p", "2024-01-03 09:00:00"), ("s3", "/", "2024-01-03 09:00:10"),
], columns=["session_id", "page", "timestamp"])


def test_exit_rate_and_time_on_page_by_hand():
    r = pages.page_exits(PV)
    ex = r["exit"].set_index("group")
    assert (ex.loc["/", "exits"], ex.loc["/", "pageviews"]) == (2, 3)  # s2 and s3 end on /
    assert ex.loc["/c", "value"] == 1 and ex.loc["/p", "value"] == 0
    secs = r["seconds"].set_index("group")
    assert secs.loc["/", "value"] == pytest.approx(30) and secs.loc["/p", "value"] == pytest.approx((60 + 10) / 2)


def test_without_pageviews_the_sessions_give_exit_share_and_bounces():
    ws = pd.DataFrame({"session_id": ["1", "2", "3", "4"], "started_at": ["2024-01-01"] * 4,
                       "pageviews": [1, 3, 1, 2], "landing_page": ["/", "/", "/blog", "/blog"],
                       "exit_page": ["/", "/buy", "/blog", "/buy"]})
    bd = M.breakdowns.breakdowns({"web_sessions": ws})
    share = bd["web.exit_share_by_page"].set_index("group")
    assert share.loc["/buy", "value"] == 0.5
    b = bd["web.bounce_rate_by_landing_page"].set_index("group")
    assert b.loc["/", "value"] == 0.5 and b.loc["/blog", "value"] == 0.5
    res = M.breakdowns.results(bd, {})
    assert res["web.exit_share_by_page./buy"].value == 0.5


def test_form_fills_only_when_there_are_any():
    t = pd.DataFrame({"timestamp": ["2024-01-05", "2024-02-01", "2024-02-03"], "channel": ["web"] * 3,
                      "event": ["form_submit", "form_submit", "view"]})
    assert pages.form_fills(t).value == 2
    per = pages.form_fills(t, period="M", as_of="2024-02-29").set_index("period")
    assert per["form_fills"].tolist() == [1, 1]
    assert M.headline({"touches": t.assign(event="view")})["web.form_fills"] is None
