"""Cohort retention: hand-checked matrices, engine vs pandas, CDNOW, survival, trend test, notebook."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from engage_kit import cohorts as co
from engage_kit.errors import DataError, ParameterError

# --- a table small enough to check on paper ------------------------------------------
#
# as_of 2024-03-15, monthly: January and February are complete, March is not.
#   A: buys Jan 5 and Mar 2 (skips February)                       -> cohort 2024-01
#   B: buys Jan 20 (30), returns it Feb 10 (-30)                   -> cohort 2024-01, NOT active in Feb
#   C: buys Jan 31 and Feb 1                                       -> cohort 2024-01
#   D: two orders in Feb (40 + 10), one in Mar (15)                -> cohort 2024-02
#   E: buys Mar 1                                                  -> cohort 2024-03 (still incomplete)
#   F: only a return                                               -> no cohort
#   G: a zero-amount purchase Feb 3 (zero amounts are purchases)   -> cohort 2024-02
#
#   n_period        customers   0     1     2
#   2024-01         3           1     1/3   .      (C in Feb; B's return does not count; Mar incomplete)
#   2024-02         2           1     .     .
#   2024-03         1           .     .     .
#   unbounded       2024-01 at 1: A (last active offset 2) and C (1) -> 2/3
#   net revenue     2024-01: 45 (Jan), -25 (Feb: 5 - 30); 2024-02: 50 (Feb)
#   orders          2024-01: 3, 1; 2024-02: 3

ROWS = [
    ("A", "2024-01-05 10:00", 10.0, "a1"),
    ("A", "2024-03-02 09:00", 20.0, "a2"),
    ("B", "2024-01-20 12:00", 30.0, "b1"),
    ("B", "2024-02-10 12:00", -30.0, "b1"),
    ("C", "2024-01-31 23:59", 5.0, "c1"),
    ("C", "2024-02-01 00:00", 5.0, "c2"),
    ("D", "2024-02-14 08:00", 40.0, "d1"),
    ("D", "2024-02-20 08:00", 10.0, "d2"),
    ("D", "2024-03-10 08:00", 15.0, "d3"),
    ("E", "2024-03-01 08:00", 8.0, "e1"),
    ("F", "2024-02-05 08:00", -5.0, "f1"),
    ("G", "2024-02-03 08:00", 0.0, "g1"),
]


@pytest.fixture
def tiny() -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["customer_id", "timestamp", "amount", "order_id"])
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def _wide(rows: list[list[float]], index: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, index=pd.Index(index, name="cohort"), dtype=float)
    out.columns = pd.Index(range(out.shape[1]), name="offset")
    return out


def test_tiny_matrix_by_hand(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-03-15")
    nan = np.nan
    assert m.sizes.to_dict() == {"2024-01": 3, "2024-02": 2, "2024-03": 1}
    pd.testing.assert_frame_equal(
        m.retention, _wide([[1, 1 / 3, nan], [1, nan, nan], [nan, nan, nan]], ["2024-01", "2024-02", "2024-03"])
    )
    unb = m.with_options(retention_mode="unbounded").retention
    assert unb.loc["2024-01", 1] == pytest.approx(2 / 3)
    rev = m.wide("revenue")
    assert rev.loc["2024-01", 0] == 45 and rev.loc["2024-01", 1] == -25 and rev.loc["2024-02", 0] == 50
    assert rev.loc["2024-01"].isna()[2] and rev.loc["2024-03"].isna().all()  # incomplete: NaN, never 0
    assert m.wide("orders").loc["2024-01", 0] == 3 and m.wide("orders").loc["2024-02", 0] == 3
    assert m.wide("returns").loc["2024-01", 1] == 30 and m.wide("gross_revenue").loc["2024-01", 1] == 5
    assert co.net_revenue_retention(m).loc["2024-01", 1] == pytest.approx(-25 / 45)
    assert m.with_options(metric="orders").values.loc["2024-01", 1] == pytest.approx(1 / 3)
    # started but incomplete cells versus cells that do not exist yet
    assert m.started.loc["2024-01", 2] and not m.complete.loc["2024-01", 2]
    assert not m.started.loc["2024-03", 1]


def test_tiny_matrix_once_march_is_complete(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-03-31")
    nan = np.nan
    pd.testing.assert_frame_equal(
        m.retention, _wide([[1, 1 / 3, 1 / 3], [1, 1 / 2, nan], [1, nan, nan]], ["2024-01", "2024-02", "2024-03"])
    )
    unb = m.with_options(retention_mode="unbounded").retention
    pd.testing.assert_frame_equal(
        unb, _wide([[1, 2 / 3, 1 / 3], [1, 1 / 2, nan], [1, nan, nan]], ["2024-01", "2024-02", "2024-03"])
    )
    rr = co.revenue_retention(m)
    assert rr.cumulative_per_customer.loc["2024-01"].tolist() == pytest.approx([15, 20 / 3, 40 / 3])
    assert rr.nrr.loc["2024-02", 1] == pytest.approx(15 / 50)
    # pooled NRR at offset 1 over both cohorts: (-25 + 15) / (45 + 50)
    assert rr.average_nrr.set_index("offset").loc[1, "value"] == pytest.approx(-10 / 95)


def test_as_of_drops_later_rows_and_default_as_of_is_last_purchase(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-02-29")
    assert m.sizes.to_dict() == {"2024-01": 3, "2024-02": 2}
    assert m.retention.loc["2024-01", 1] == pytest.approx(1 / 3)  # February complete on its last day
    assert co.cohort_matrix(tiny).as_of == pd.Timestamp("2024-03-10")


def test_csv_export_leaves_incomplete_cells_empty(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-03-15")
    frame = m.to_frame()
    assert list(frame.columns) == ["cohort", "customers", "0", "1", "2"]
    text = frame.to_csv(index=False)
    lines = text.strip().splitlines()
    assert lines[1].startswith("2024-01,3,1.0,0.333") and lines[1].endswith(",")
    assert lines[2] == "2024-02,2,1.0,,"
    assert lines[3] == "2024-03,1,,,"
    back = pd.read_csv(io.StringIO(text))
    assert back["2"].isna().all()
    rev = m.to_frame("revenue")
    assert rev.loc[0, "0"] == 45 and rev.loc[0, "1"] == -25


def test_period_labels_week_month_quarter(tiny):
    assert co.period_label([co.period_index_of("2024-01-07", "W")], "W") == ["2024-01-01"]  # Sunday -> its Monday
    assert co.period_label([co.period_index_of("2023-12-31", "W")], "W") == ["2023-12-25"]
    assert co.period_label([co.period_index_of("2024-01-31", "M")], "M") == ["2024-01"]
    assert co.period_label([co.period_index_of("2024-12-31", "Q")], "Q") == ["2024Q4"]
    assert list(co.period_start([co.period_index_of("2024-05-17", "Q")], "Q")) == [pd.Timestamp("2024-04-01")]
    weekly = co.cohort_matrix(tiny, period="W", as_of="2024-03-31")
    assert weekly.cohorts["cohort"].tolist() == ["2024-01-01", "2024-01-15", "2024-01-29", "2024-02-12", "2024-02-26"]
    # A bought on Fri 2024-01-05 and Sat 2024-03-02: week offset 8 (2024-02-26 is 8 Mondays later)
    a_week = weekly.retention.loc["2024-01-01"]
    assert a_week[8] == 1 and a_week.drop(index=[0, 8]).fillna(0).eq(0).all()
    assert weekly.complete.loc["2024-01-01", 12]  # week of Mon 2024-03-25 ends on Sun 2024-03-31 = as_of
    quarterly = co.cohort_matrix(tiny, period="q", as_of="2024-03-31")
    assert quarterly.cohorts["cohort"].tolist() == ["2024Q1"] and quarterly.sizes.iloc[0] == 6
    assert np.isnan(co.cohort_matrix(tiny, period="Q", as_of="2024-03-15").retention.iloc[0, 0])


def test_engine_period_index_matches_python():
    days = pd.date_range("2019-12-25", "2021-01-10", freq="D") + pd.Timedelta(hours=23, minutes=59)
    df = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(days))], "timestamp": days, "amount": 1.0})
    for p in ("W", "M", "Q"):
        m = co.cohort_matrix(df, period=p, as_of="2021-01-10")
        expected = pd.Series([co.period_index_of(d, p) for d in days]).value_counts().sort_index()
        got = m.cohorts.set_index("cohort_index")["customers"]
        pd.testing.assert_series_equal(got, expected, check_names=False)
        # weekly via pandas' own Monday-start weeks
    weeks = days.to_period("W-SUN").start_time.normalize()
    assert sorted(set(weeks.date.astype(str))) == co.cohort_matrix(df, period="W", as_of="2021-01-10").cohorts[
        "cohort"
    ].tolist()


def test_signup_cohorts(tiny):
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "H", "Z"],
            "signup_at": pd.to_datetime(["2023-12-28", "2024-01-02", "2024-01-30", "2024-01-25", "2024-02-02", None]),
            "segment": ["x", "y", "x", None, "y", "x"],
        }
    )
    m = co.cohort_matrix(tiny, cohort_by="signup", customers=customers, as_of="2024-03-31")
    # 2023-12: A (buys Jan, Mar); 2024-01: B, C, D; 2024-02: H (never buys). Z has no signup date.
    assert m.sizes.to_dict() == {"2023-12": 1, "2024-01": 3, "2024-02": 1}
    assert m.retention.loc["2023-12"].tolist() == pytest.approx([0, 1, 0, 1])
    assert m.retention.loc["2024-01"].tolist()[:3] == pytest.approx([2 / 3, 2 / 3, 1 / 3])  # B,C | C,D | D
    assert m.retention.loc["2024-02"].tolist()[:2] == [0, 0]
    seg = co.cohort_matrix(tiny, customers=customers, segment="segment", as_of="2024-03-31")
    assert set(seg.cohorts["segment"]) == {"x", "y", co.MISSING_SEGMENT}
    assert seg.cohorts.groupby("segment")["customers"].sum().to_dict() == {"x": 2, "y": 1, "(missing)": 3}


def test_segment_split_adds_up_to_the_whole(small_demo):
    ds = small_demo
    whole = co.cohort_matrix(ds.orders, as_of=ds.as_of)
    split = co.cohort_matrix(ds.orders, as_of=ds.as_of, customers=ds["customers"], segment="acquisition_channel")
    back = split.overall()
    pd.testing.assert_frame_equal(back.cohorts, whole.cohorts)
    for measure in ("active", "active_unbounded", "orders", "revenue"):
        pd.testing.assert_frame_equal(back.wide(measure), whole.wide(measure), check_exact=False)
    parts = split.split()
    assert sum(p.customers for p in parts.values()) == whole.customers
    assert list(split.to_frame().columns[:3]) == ["segment", "cohort", "customers"]


def _reference_matrix(df: pd.DataFrame, as_of: str, period: str) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Sizes, n-period and unbounded retention computed directly in pandas (no engine)."""
    freq = {"M": "M", "Q": "Q", "W": "W-SUN"}[period]
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    buys = df[(df["amount"] >= 0) & (df["timestamp"] < end)].copy()
    buys["p"] = buys["timestamp"].dt.to_period(freq)
    buys["ord"] = pd.PeriodIndex(buys["p"]).asi8
    first = buys.groupby("customer_id")["ord"].min().rename("first")
    buys = buys.join(first, on="customer_id")
    buys["offset"] = buys["ord"] - buys["first"]
    act = buys[["customer_id", "first", "offset"]].drop_duplicates()
    sizes = first.value_counts().sort_index()
    n = act.groupby(["first", "offset"]).size().unstack(fill_value=0)
    last = act.groupby("customer_id").agg(first=("first", "first"), last=("offset", "max"))
    width = n.shape[1]
    unb = pd.DataFrame({k: last[last["last"] >= k].groupby("first").size() for k in range(width)}).reindex(
        sizes.index).fillna(0)
    # mask incomplete cells: the period's end after as_of
    first_ord = np.asarray(n.index)[:, None] + np.arange(width)[None, :]
    ends = np.vectorize(lambda o: pd.Period(ordinal=int(o), freq=freq).end_time.normalize())(first_ord)
    done = ends <= pd.Timestamp(as_of)
    n = n.reindex(columns=range(width), fill_value=0).div(sizes, axis=0).where(done)
    unb = unb.reindex(columns=range(width)).div(sizes, axis=0).where(done)
    return sizes, n, unb


def _same(engine: pd.DataFrame, ref: pd.DataFrame) -> None:
    a = engine.to_numpy(float)
    b = ref.to_numpy(float)[:, : a.shape[1]]
    a = a[:, : b.shape[1]]
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12)


@pytest.mark.parametrize("period", ["W", "M", "Q"])
def test_demo_matrix_matches_pandas(small_demo, period):
    ds = small_demo
    orders = ds.orders.execute()
    m = co.cohort_matrix(ds.orders, period=period, as_of=ds.as_of)
    sizes, n, unb = _reference_matrix(orders, str(ds.as_of.date()), period)
    assert m.sizes.tolist() == sizes.tolist()
    assert m.customers == orders.loc[orders["amount"] >= 0, "customer_id"].nunique()
    _same(m.retention, n)
    _same(m.with_options(retention_mode="unbounded").retention, unb)
    # offset 0 of a complete first-purchase cohort is 1 by definition
    assert (m.retention[0].dropna() == 1).all()


def test_unbounded_versus_n_period(small_demo):
    ds = small_demo
    m = co.cohort_matrix(ds.orders, as_of="2024-10-15")
    n = m.retention
    u = m.with_options(retention_mode="unbounded").retention
    un, nn = u.to_numpy(), n.to_numpy()
    assert np.array_equal(np.isnan(un), np.isnan(nn))
    done = ~np.isnan(un)
    assert (un[done] >= nn[done]).all()
    assert (np.diff(un, axis=1)[done[:, 1:]] <= 1e-12).all()  # never rises with the offset
    assert (un[:, 1:][done[:, 1:]] > nn[:, 1:][done[:, 1:]]).mean() > 0.9
    # the last complete column of a cohort still counts purchases in the incomplete October
    o = ds.orders.execute()
    o = o[(~o.is_return) & (o.timestamp < pd.Timestamp("2024-10-16"))]
    first = o.groupby("customer_id").timestamp.min()
    jan = first[first.dt.strftime("%Y-%m") == "2023-01"].index
    later = o[o.customer_id.isin(jan) & (o.timestamp >= pd.Timestamp("2024-09-01"))].customer_id.nunique()
    assert u.loc["2023-01", 20] == pytest.approx(later / len(jan))
    assert u.loc["2023-01", 20] >= n.loc["2023-01", 20]
    assert np.isnan(u.loc["2023-01", 21]) and m.started.loc["2023-01", 21]


def test_max_periods_cuts_columns_not_unbounded_counts(small_demo):
    ds = small_demo
    full = co.cohort_matrix(ds.orders, as_of=ds.as_of, retention_mode="unbounded")
    cut = co.cohort_matrix(ds.orders, as_of=ds.as_of, retention_mode="unbounded", max_periods=3)
    assert cut.offsets == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(cut.retention, full.retention[[0, 1, 2, 3]])
    assert list(cut.to_frame().columns) == ["cohort", "customers", "0", "1", "2", "3"]


@pytest.mark.parametrize("period", ["W", "M", "Q"])
@pytest.mark.parametrize("metric", ["customers", "revenue", "orders"])
@pytest.mark.parametrize("cohort_by", ["first_purchase", "signup"])
def test_parameter_combinations(small_demo, period, metric, cohort_by):
    ds = small_demo
    m = co.cohort_matrix(
        ds.orders, period=period, metric=metric, as_of="2024-06-30", cohort_by=cohort_by, customers=ds["customers"],
        max_periods=8,
    )
    v = m.values
    assert v.shape[0] == m.n_cohorts and list(v.columns) == m.offsets and max(m.offsets) <= 8
    assert not (v.isna() & m.complete).any().any() or metric == "revenue"
    assert v.where(~m.complete).isna().all().all()  # incomplete cells always NaN
    if metric == "customers":
        vals = v.to_numpy()[~np.isnan(v.to_numpy())]
        assert ((vals >= 0) & (vals <= 1)).all()
    summary = co.executive_summary(m, min_cohort_size=10)
    assert summary["customers"] == m.customers and summary["cohorts"] == m.n_cohorts
    for k, e in summary["average_retention"].items():
        assert 0 <= e.low <= e.value <= e.high <= 1 and k in (1, 3, 6, 12)
    json.dumps(co.results_dict(summary, revenue=co.revenue_retention(m)), default=str)


def test_min_cohort_size_leaves_cohorts_out_of_averages_not_exports(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-03-31")
    # offset 1: 2024-01 has 1 of 3, 2024-02 has 1 of 2 -> pooled 2/5; with min size 3 only 1/3
    assert co.average_retention(m)[1].value == pytest.approx(2 / 5)
    assert co.average_retention(m, min_cohort_size=3)[1].value == pytest.approx(1 / 3)
    assert co.average_retention(m, min_cohort_size=3)[1].n == 3
    assert len(m.to_frame()) == 3  # exports keep every cohort
    curve = co.average_curve(m, min_cohort_size=2)
    assert curve.set_index("offset").loc[2, "cohorts"] == 1


def test_cohort_curves_wilson_intervals(tiny):
    from statsmodels.stats.proportion import proportion_confint

    m = co.cohort_matrix(tiny, as_of="2024-03-31")
    cc = co.cohort_curves(m)
    row = cc[(cc["cohort"] == "2024-01") & (cc["offset"] == 1)].iloc[0]
    lo, hi = proportion_confint(1, 3, method="wilson")
    assert (row["low"], row["high"]) == pytest.approx((lo, hi))


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"period": "D"}, ParameterError, "period must be"),
        ({"metric": "revenu"}, ParameterError, "did you mean 'revenue'"),
        ({"retention_mode": "bounded"}, ParameterError, "retention_mode must be"),
        ({"cohort_by": "signup"}, ParameterError, "needs the customers table"),
        ({"segment": "segment"}, ParameterError, "needs the customers table"),
        ({"metric": "revenue", "retention_mode": "unbounded"}, ParameterError, "applies to metric='customers'"),
        ({"max_periods": -1}, ParameterError, "max_periods must be"),
        ({"as_of": "not a date"}, ParameterError, "as_of must be a date"),
    ],
)
def test_bad_parameters(tiny, kwargs, error, text):
    with pytest.raises(error, match=text):
        co.cohort_matrix(tiny, **kwargs)


def test_bad_input(tiny):
    with pytest.raises(DataError, match="amount"):
        co.cohort_matrix(tiny.drop(columns="amount"))
    customers = pd.DataFrame({"customer_id": ["A"], "segment": ["x"]})
    with pytest.raises(ParameterError, match="did you mean 'segment'"):
        co.cohort_matrix(tiny, customers=customers, segment="segmnt")
    with pytest.raises(DataError, match="no customers"):
        co.cohort_matrix(tiny, as_of="2020-01-01")
    with pytest.raises(DataError, match="expected an Ibis table"):
        co.cohort_matrix([1, 2, 3])


# --- CDNOW: real data, 18 months, customers acquired January to March 1997 -------------


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    from engage_kit.datasets import load_cdnow

    return load_cdnow(sample=False)


def test_cdnow_monthly_cohorts(cdnow):
    m = co.cohort_matrix(cdnow, period="M", as_of="1998-06-30")
    assert m.cohorts["cohort"].tolist() == ["1997-01", "1997-02", "1997-03"]
    assert m.sizes.tolist() == [7846, 8476, 7248] and m.customers == 23570
    assert m.offsets == list(range(18))  # January 1997 to June 1998
    assert m.complete.loc["1997-01", 17] and m.retention.loc["1997-03"].notna().sum() == 16
    sizes, n, unb = _reference_matrix(cdnow, "1998-06-30", "M")
    _same(m.retention, n)
    _same(m.with_options(retention_mode="unbounded").retention, unb)
    assert m.retention.loc["1997-01", 1] == pytest.approx(1156 / 7846, abs=0.0005)
    summary = co.executive_summary(m)
    assert summary["cohorts"] == 3 and summary["trend"].cohorts == 3
    assert set(summary["average_retention"]) == {1, 3, 6, 12}
    # all three cohorts completed month 12: the average is the pooled share
    pooled = (m.retention[12] * m.sizes).sum() / m.sizes.sum()
    assert summary["average_retention"][12].value == pytest.approx(pooled)
    # with June 1998 cut short the last column is incomplete, not zero
    short = co.cohort_matrix(cdnow, period="M", as_of="1998-06-20")
    assert short.retention[17].isna().all() and np.isnan(short.retention.loc["1997-02", 16]) and short.retention.loc["1997-02", 15] > 0


# --- survival -------------------------------------------------------------------------


def test_kaplan_meier_matches_statsmodels():
    from statsmodels.duration.survfunc import SurvfuncRight

    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(50, 400))
    c = np.round(rng.uniform(0, 120, 400))
    time = np.minimum(t, c)
    event = t <= c
    km = co.kaplan_meier(time, event)
    sf = SurvfuncRight(time, event.astype(int))
    at = km.set_index("time").loc[sf.surv_times]
    np.testing.assert_allclose(at["survival"], sf.surv_prob, rtol=1e-10)
    np.testing.assert_allclose(at["se"], sf.surv_prob_se, rtol=1e-8)
    # grouped input with weights gives the same curve
    g = pd.DataFrame({"t": time, "e": event}).value_counts().rename("n").reset_index()
    kw = co.kaplan_meier(g["t"], g["e"], weights=g["n"])
    pd.testing.assert_frame_equal(kw, km)
    sfw = SurvfuncRight(g["t"].to_numpy(), g["e"].astype(int).to_numpy(), freq_weights=g["n"].to_numpy())
    np.testing.assert_allclose(kw.set_index("time").loc[sfw.surv_times, "survival"], sfw.surv_prob, rtol=1e-10)
    assert (km["low"] <= km["survival"]).all() and (km["survival"] <= km["high"]).all()
    assert km["low"].min() >= 0 and km["high"].max() <= 1


def test_kaplan_meier_by_hand():
    # times 1, 2+, 3, 3, 4+: S(1) = 4/5, S(3) = 4/5 * (1 - 2/3) = 4/15
    km = co.kaplan_meier([1, 2, 3, 3, 4], [True, False, True, True, False])
    assert km["at_risk"].tolist() == [5, 4, 3, 1]
    assert km["survival"].tolist() == pytest.approx([0.8, 0.8, 4 / 15, 4 / 15])
    var3 = (4 / 15) ** 2 * (1 / (5 * 4) + 2 / (3 * 1))
    assert km["se"].iloc[2] == pytest.approx(np.sqrt(var3))
    assert co.median_survival(km).value == 3
    with pytest.raises(DataError):
        co.kaplan_meier([-1, 2], [True, True])


def test_lapse_durations_by_hand():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d"],
            "timestamp": pd.to_datetime(
                ["2024-01-01 00:00", "2024-03-01 00:00", "2024-01-10 00:00", "2024-11-30 00:00", "2024-12-20 00:00", "2024-07-04 18:00"]
            ),
            "amount": [10.0, 5.0, 10.0, 10.0, 3.0, 4.0],
        }
    )
    lap = co.lapse_durations(df, as_of="2024-12-31", inactivity_days=180)
    # horizon = 2024-12-31 - 180 days = 2024-07-04: d's last purchase is on it -> lapsed
    rows = {(r.duration_days, r.lapsed, r.followed) for r in lap.itertuples()}
    assert rows == {(60, True, True), (176, False, True), (0, True, True), (-169, False, False)}
    lap2 = co.lapse_durations(df, as_of="2024-12-31", inactivity_days=180, censor_at="as_of")
    assert {(r.duration_days, r.lapsed) for r in lap2.itertuples()} >= {(356, False), (11, False)}
    curves = co.survival_curves(lap)
    assert curves["all"]["at_risk"].iloc[0] == 3  # c has no follow-up before the horizon
    summary = co.survival_summary(lap, curves)
    assert summary.loc[0, "customers"] == 4 and summary.loc[0, "lapsed"] == 2


def test_lapse_window_defaults_to_the_data_activity_window():
    from engage_kit.activity import default_active_days

    # purchase days 0, 40, 80 (a) and 0, 50 (b): gaps 40, 40, 50 -> 90th percentile 48 -> 60 days
    day = lambda n: pd.Timestamp("2024-01-01") + pd.Timedelta(days=n)  # noqa: E731
    df = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
                       "timestamp": [day(0), day(40), day(80), day(0), day(50)], "amount": 1.0})
    assert default_active_days(df, as_of=day(120)) == 60
    lap = co.lapse_durations(df, as_of=day(120))
    # horizon = day 120 - 60 = day 60: b (last purchase day 50) lapsed, a (day 80) not
    pd.testing.assert_frame_equal(lap, co.lapse_durations(df, as_of=day(120), inactivity_days=60))
    assert {(r.duration_days, r.lapsed) for r in lap.itertuples()} == {(50, True), (60, False)}


def _simulated_lifetimes(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.Timestamp]:
    """Customers buy every ~20 days (Poisson) for an exponential lifetime; the truth is known."""
    rng = np.random.default_rng(seed)
    first = np.floor(rng.uniform(0, 700, n))
    life = rng.exponential(200, n)
    k = rng.poisson(life / 20)
    owner = np.repeat(np.arange(n), k)
    times = np.floor(first[owner] + rng.uniform(0, 1, owner.size) * life[owner])
    last = first.copy()
    np.maximum.at(last, owner, times)
    days = np.concatenate([first, times])
    who = np.concatenate([np.arange(n), owner])
    as_of_day = 730
    keep = days <= as_of_day
    start = pd.Timestamp("2020-01-01")
    df = pd.DataFrame(
        {"customer_id": who[keep].astype(str), "timestamp": start + pd.to_timedelta(days[keep], unit="D"), "amount": 1.0}
    )
    return df, last - first, start + pd.Timedelta(days=as_of_day)


def test_kaplan_meier_recovers_simulated_lifetimes():
    df, truth, as_of = _simulated_lifetimes(6000, seed=11)
    lap = co.lapse_durations(df, as_of=as_of, inactivity_days=180)
    km = co.survival_curves(lap)["all"]
    for days in (30, 100, 200, 365):
        assert co.survival_at(km, days).value == pytest.approx(np.mean(truth > days), abs=0.025)
        e = co.survival_at(km, days)
        assert e.low - 0.01 <= np.mean(truth > days) <= e.high + 0.01
    # censoring the not-yet-lapsed at as_of instead overstates survival (why it is not the default)
    naive = co.survival_curves(co.lapse_durations(df, as_of=as_of, inactivity_days=180, censor_at="as_of"))["all"]
    assert co.survival_at(naive, 365).value > np.mean(truth > 365) + 0.08


# --- the cohort trend test ------------------------------------------------------------


def test_trend_test_finds_a_built_in_trend():
    rng = np.random.default_rng(5)
    idx = np.arange(24)
    sizes = np.full(24, 800)
    rising = rng.binomial(sizes, 0.15 + 0.004 * idx)
    r = co.trend_test(rising, sizes, idx)
    assert r.direction == "improving" and r.p_value < 0.001 and r.change == pytest.approx(0.092, abs=0.03)
    falling = rng.binomial(sizes, 0.25 - 0.004 * idx)
    assert co.trend_test(falling, sizes, idx).direction == "declining"
    assert co.trend_test([1, 2], [10, 10], [0, 1]).direction == "not testable"


def test_trend_test_holds_its_level_under_extra_binomial_noise():
    # no trend, but cohorts differ more than binomial sampling alone (beta-distributed rates)
    rng = np.random.default_rng(9)
    rejections = naive = 0
    runs = 300
    for _ in range(runs):
        p = rng.beta(30, 120, 18)  # mean 0.2, sd ~0.033
        n = np.full(18, 900)
        a = rng.binomial(n, p)
        rejections += co.trend_test(a, n, np.arange(18)).p_value < 0.05
        # the plain binomial test (no dispersion) for contrast
        import statsmodels.api as sm

        x = sm.add_constant(np.arange(18.0))
        naive += sm.GLM(np.column_stack([a, n - a]), x, family=sm.families.Binomial()).fit().pvalues[1] < 0.05
    assert rejections / runs < 0.09
    assert naive / runs > 0.2


def test_demo_recovers_what_the_generator_put_in(small_demo):
    ds = small_demo
    m = co.cohort_matrix(ds.orders, as_of=ds.as_of, customers=ds["customers"], segment="acquisition_channel")
    seg = co.segment_summary(m).set_index("segment")
    # the generator ties purchase rates to the acquisition channel: referral highest, social lowest
    assert seg.loc["referral", "retention_1"] > seg.loc["social", "retention_1"]
    test = co.segment_difference(m, offset=1)
    assert test["p_value"] < 0.01 and test["dof"] == 4
    # acquisition is spread evenly over the window (but its last 30 days): similar cohort sizes
    sizes = m.overall().sizes.iloc[:-1]
    assert sizes.min() > 0.6 * sizes.mean()
    # retention does not depend on the acquisition month in the generator
    assert co.retention_trend(m, offset=1).p_value > 0.01


def test_interpretation_and_results(small_demo):
    ds = small_demo
    m = co.cohort_matrix(ds.orders, as_of=ds.as_of)
    s = co.executive_summary(m, min_cohort_size=20)
    rev = co.revenue_retention(m, min_cohort_size=20)
    lap = co.lapse_durations(ds.orders, as_of=ds.as_of)
    surv = co.survival_summary(lap, co.survival_curves(lap))
    text = co.interpretation(s, revenue=rev, survival=surv, inactivity_days=180)
    assert f"{m.customers:,} customers" in text and "best cohort" in text and "trend test p" in text
    assert s["extremes"]["best"]["retention"].value >= s["extremes"]["worst"]["retention"].value
    res = co.results_dict(s, revenue=rev, survival=surv)
    assert res["trend"]["direction"] in ("improving", "declining", "no clear trend")
    assert 0 <= res["survival"]["lapsed_share"].value <= 1



def test_revenue_sentences_and_cumulative_title_agree(small_demo):
    import matplotlib

    matplotlib.use("Agg")
    ds = small_demo
    m = co.cohort_matrix(ds.orders, as_of=ds.as_of)
    rev = co.revenue_retention(m, min_cohort_size=20)
    keep = rev.sizes.index[rev.sizes >= 20]
    k = co._cumulative_offset(rev.cumulative_per_customer.loc[keep])
    assert k in (0, *co.SUMMARY_OFFSETS)
    text = co.describe_revenue(rev, part="cumulative", currency="EUR")
    fig = co.plot_cumulative_revenue(rev, currency="EUR", min_cohort_size=20)
    title = fig.axes[0].get_title()
    # the title and the sentence speak of the same offset
    assert text.startswith(f"By month {k},") and title.startswith(f"By month {k},")
    nrr = co.describe_revenue(rev, part="nrr")
    assert "0 cells" not in nrr and "100%" in nrr or "no cohort has yet spent more" in nrr
    surv_text = co.describe_survival(
        co.survival_summary(lap := co.lapse_durations(ds.orders, as_of=ds.as_of), co.survival_curves(lap)),
        inactivity_days=180)
    assert "count as lapsed" in surv_text and "Kaplan" not in surv_text
    assert "count as still buying up to 180 days before the analysis date" in co.method.survival_method(180)

def test_analysis_and_story_tables(small_demo):
    from types import SimpleNamespace

    a = co.analyse(small_demo, period="M", segment="acquisition_channel", min_cohort_size=20)
    assert not a.without_customers and a.segment == "acquisition_channel"
    expected = co.results_dict(a.summary, revenue=a.revenue, survival=a.survival, segments=a.segments,
                               segment_test=a.segment_test)
    assert json.dumps(a.results(), default=repr, sort_keys=True) == json.dumps(expected, default=repr, sort_keys=True)
    trend = co.method.trend_table(a)
    assert list(trend["df"].columns) == ["Cohort", "Customers", "Active in month 1", "Retention", "95% CI low",
                                         "95% CI high"]
    assert trend["caption"] == "Retention at month 1 by cohort (Wilson 95% interval)"
    assert len(trend["df"]) == int(a.overall.eligible(20).size) - 1  # the newest cohort has not completed month 1
    seg = co.story.segment_table(a.segments, period=a.period, segment=a.segment)
    assert seg["caption"] == ("Share of customers buying, and net revenue against the first month, by "
                              "acquisition channel")
    assert list(seg["df"].columns[:4]) == ["Acquisition channel", "Customers", "Cohorts", "Bought in month 1"]
    assert "Bought in month 1" in seg["percent"] and "paid search" in set(seg["df"]["Acquisition channel"])
    surv = co.method.survival_table(a.survival)
    assert surv["df"].columns[0] == "Group" and "Still buying after 365 days" in surv["percent"]
    assert co.story.not_covered(a) == {"Sign-up cohorts and the split by segment": None,
                                       "How long customers keep buying": None}
    text = co.method.exports_sentence("W", "/tmp/out/retention")
    assert "per week)" in text and "in the retention folder" in text
    # without a customers table, sign-up cohorts and the split fall back to first-purchase cohorts
    bare = SimpleNamespace(orders=small_demo.orders, as_of=small_demo.as_of, config=small_demo.config,
                           has=lambda name: False)
    b = co.analyse(bare, cohort_by="signup", segment="acquisition_channel", min_cohort_size=20)
    assert b.without_customers and b.cohort_by == "first_purchase" and b.segment is None and b.segments is None


def test_chart_titles_are_the_story_titles(tiny):
    m = co.cohort_matrix(tiny, as_of="2024-03-15")
    values = m.values
    assert co.story.heatmap_title(m, values) == "In month 1, 33% of a cohort buy again (2024-01)"
    assert co.story.heatmap_pending_note("M", m.as_of) == "Hatched: month not over on 2024-03-15 (left blank, not zero)"
    orders = m.with_options(metric="orders")
    assert co.story.heatmap_title(orders, orders.values).startswith("In month 1, cohorts place 0.33")
    assert co.story.curves_title(co.average_curve(m).iloc[0:0], period="M", retention_mode="n_period") == (
        "No cohort has a complete retention curve yet")


# --- the notebook ---------------------------------------------------------------------


@pytest.mark.slow
def test_notebook_on_small_demo_with_segment(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    executed, out = run_notebook(
        "cohort_retention", tmp_path, small_demo_config, segment="acquisition_channel", metric="revenue",
    )
    res = json.loads((out / "results.json").read_text())
    assert res["period"] == "M" and res["customers"] == 2000 and res["cohorts"] == 24
    assert set(res["average_retention"]) == {"1", "3", "6", "12"}
    for e in res["average_retention"].values():
        assert 0 < e["low"] < e["value"] < e["high"] < 0.5
    assert res["trend"]["direction"] in ("improving", "declining", "no clear trend")
    assert 0 <= res["trend"]["p_value"] <= 1
    assert set(res["segments"]) == {"referral", "organic", "email", "paid_search", "social"}
    assert res["meta"]["parameters"]["segment"] == "acquisition_channel"
    matrix = pd.read_csv(out / "retention_matrix.csv", dtype={"cohort": str})
    assert list(matrix.columns[:4]) == ["cohort", "customers", "0", "1"]
    assert matrix["customers"].sum() == 2000
    last = matrix.iloc[-1]
    assert last["0"] == 1.0 and pd.isna(last["1"])  # the newest cohort's next month has not happened
    assert (out / "revenue_matrix.csv").exists() and (out / "retention_matrix_by_segment.csv").exists()
    text = executed.read_text()
    assert "Traceback" not in text


@pytest.mark.slow
def test_notebook_quarterly_signup_unbounded(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    _, out = run_notebook(
        "cohort_retention", tmp_path, small_demo_config, period="Q", cohort_by="signup",
        retention_mode="unbounded", as_of="2024-11-15", min_cohort_size=5,
    )
    res = json.loads((out / "results.json").read_text())
    assert res["period"] == "Q" and res["cohort_by"] == "signup" and res["retention_mode"] == "unbounded"
    matrix = pd.read_csv(out / "retention_matrix.csv", dtype={"cohort": str})
    assert matrix["cohort"].str.fullmatch(r"\d{4}Q[1-4]").all()
    assert matrix["cohort"].iloc[-1] == "2024Q4" and matrix.iloc[-1, 2:].isna().all()  # Q4 not complete
    assert "segments" not in res


# --- findings first, plain words, one number per concept --------------------------------

_NUMBER = re.compile(r"([+-]?\d[\d,]*(?:\.\d+)?)(%| days| points)")
_DAYS_RANGE = re.compile(r"between (\d[\d,]*) and (\d[\d,]*) days")


def _quoted_numbers(text: str) -> list[str]:
    """Every number with its unit in ``text``: "22.3%", "118 days", "+1.9 points"."""
    found = [n + u for n, u in _NUMBER.findall(text.replace("**", ""))]
    return found + [f"{n} days" for pair in _DAYS_RANGE.findall(text) for n in pair]


def _formatted_values(res: dict) -> set[str]:
    """Each number of results.json the way a sentence may quote it."""
    out: set[str] = set()

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif hasattr(v, "to_dict") and not isinstance(v, pd.DataFrame):
            walk(v.to_dict())
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
            out.update({f"{100 * v:.1f}%", f"{100 * v:.0f}%", f"{v:,.0f} days", f"{100 * v:+.1f} points"})

    walk(res)
    return out


def _check_numbers(sentences: list[str], res: dict) -> None:
    allowed = _formatted_values(res)
    for s in sentences:
        for n in _quoted_numbers(s):
            assert n in allowed, f"{n} in {s!r} is not a figure of results.json"


def test_findings_quote_results(small_demo):
    a = co.analyse(small_demo, segment="acquisition_channel", min_cohort_size=20)
    res = {**a.results(), "active_days": {"value": a.inactivity_days}}  # as the report writes it
    items = co.findings(a)
    assert 3 <= len(items) <= 5
    _check_numbers(items, res)
    # the month-1 figure with its interval in words, the trend, the survival and the segment findings
    e1 = res["average_retention"]["1"]
    assert f"**{100 * e1.value:.1f}%**" in items[0] and f"between {100 * e1.low:.1f}% and {100 * e1.high:.1f}%" in items[0]
    assert items[1].startswith("Newer customers")
    assert any("referral" in f for f in items)
    for f in items:
        assert "_" not in f and "p =" not in f and "Kaplan" not in f


def test_layers_title_sentence_and_results_agree_without_a_new_cohort(tiny):
    import matplotlib

    matplotlib.use("Agg")
    # April is complete and nobody joins in April: all of April's revenue is from earlier cohorts,
    # although the newest cohort (2024-03) buys in April too
    more = pd.DataFrame([("E", "2024-04-10 08:00", 8.0, "e2"), ("A", "2024-04-12 08:00", 10.0, "a3")],
                        columns=tiny.columns).assign(timestamp=lambda d: pd.to_datetime(d["timestamp"]))
    m = co.cohort_matrix(pd.concat([tiny, more]), as_of="2024-04-30")
    rev = co.revenue_retention(m)
    share = co.earlier_cohorts_share(rev)
    assert share["period"] == "2024-04" and share["share"] == pytest.approx(1.0) and share["revenue"] == 18
    title = co.plot_revenue_layers(rev).axes[0].get_title()
    assert title == "In 2024-04, 100% of net revenue came from customers acquired earlier"
    assert "100% of it from customers acquired in earlier months" in co.describe_revenue(rev, part="layers")
    s = co.executive_summary(m)
    assert co.results_dict(s, revenue=rev)["revenue_from_earlier_cohorts"]["share"] == pytest.approx(1.0)


def test_charts_are_readable_at_page_width(small_demo):
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    a = co.analyse(small_demo, segment="acquisition_channel", min_cohort_size=20)
    figs = {"heatmap": co.plot_heatmap(a.overall, min_cohort_size=20), "curves": co.plot_curves(a.overall, min_cohort_size=20),
            "cumulative": co.plot_cumulative_revenue(a.revenue, min_cohort_size=20),
            "segments": co.plot_segment_curves(a.matrix, min_cohort_size=20),
            "survival": co.plot_survival(a.curves)}
    for name, fig in figs.items():
        fig.canvas.draw()
        assert fig.get_figwidth() <= 10.3, name  # shown at its size on the page (1,030 px at 100 dpi)
        texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
        assert min(t.get_fontsize() for t in texts) >= 9, name
        if name != "heatmap":
            assert len(fig.axes[0].get_lines()) <= 8, name
        plt.close(fig)
    # the heatmap leaves out month 0 (100% by definition) and labels every cell
    heat = co.plot_heatmap(a.overall, min_cohort_size=20)
    assert heat.axes[0].get_xticklabels()[0].get_text() == "1"


@pytest.mark.slow
def test_report_reads_in_plain_words(tmp_path, small_demo_config):
    from engage_kit.cli import main
    from tests.helpers import plain_words_problems, visible_text

    out = tmp_path / "out"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "cohort_retention",
                 "--set", "cohort_retention.segment=acquisition_channel"]) == 0
    page = (out / "cohort_retention.html").read_text(encoding="utf-8")
    body, appendix = visible_text(page)
    assert plain_words_problems(body) == []
    for word in ("Kaplan", "Greenwood", "censored", "Wilson", "p =", "chi-square", "as_of", "within 0 days"):
        assert word not in body, word
    assert "Kaplan–Meier" in appendix and "Greenwood" in appendix
    assert re.search(r"<h2[^>]*>\s*What we found", page)
    first_h2 = re.search(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S).group(1)
    assert "What we found" in first_h2
    res = json.loads((out / "cohort_retention" / "results.json").read_text())
    assert 3 <= len(res["findings"]) <= 5
    for f in res["findings"]:
        assert f in body
    _check_numbers(res["findings"], res)


# --- subscriptions: the survivor counts of the subscription CLV -------------------------------


def test_subscriber_retention_by_hand():
    """Two monthly sign-up cohorts followed to the end of April 2024.

    January (a, b, c): a cancels in February (lost at decision 2), c in March (decision 3):
    survivors 3, 3, 2, 1, 1. February (d, e): e cancels in February (decision 1): 2, 1, 1, 1.
    Product limit over the cohorts observed at each renewal: at 1, 4 of 5 stay (0.8); at 2,
    3 of the 4 left (0.6); at 3, 2 of 3 (0.4); at 4 only January is followed and its one
    subscriber stays (0.4: a young cohort never lifts the curve).
    """
    import ibis

    from engage_kit.cohorts.subscriptions import subscriber_retention

    customers = ibis.memtable(pd.DataFrame({
        "customer_id": list("abcdef"),
        "signup_at": pd.to_datetime(["2024-01-03", "2024-01-15", "2024-01-31", "2024-02-01", "2024-02-10", None]),
        "cancelled_at": pd.to_datetime(["2024-02-10", None, "2024-03-05", None, "2024-02-20", None]),
    }))
    r = subscriber_retention(customers, "M", as_of="2024-04-30")
    assert r.survivors.query("cohort == cohort.min()")["survivors"].tolist() == [3, 3, 2, 1, 1]
    assert r.survivors.query("cohort == cohort.max()")["survivors"].tolist() == [2, 1, 1, 1]
    assert r.curve["share"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.4])
    assert r.curve["at_risk"].tolist() == [5, 5, 4, 3, 1]
    assert r.curve["still"].tolist() == [5, 4, 3, 2, 1]
    # Greenwood: var log S(1) = 1 / (5 · 4); the log-log band holds the estimate
    # and se = sqrt(0.05) / |ln 0.8| = 1.0021: exp(−exp(ln(−ln 0.8) ± 1.96 · 1.0021)) = 0.2038 and 0.9692
    assert (r.curve.loc[1, "low"], r.curve.loc[1, "high"]) == pytest.approx((0.2038, 0.9692), abs=2e-4)
    assert (r.curve["low"] <= r.curve["share"]).all() and (r.curve["share"] <= r.curve["high"]).all()
    assert r.by_cohort.to_dict("list") == {"cohort": ["2024-01", "2024-02"], "signed_up": [3, 2],
                                           "still_subscribed": [1, 1], "periods": [4, 3],
                                           "share": [1 / 3, 1 / 2]}
    res = r.results()
    assert res["customers"] == 5 and res["still_subscribed"] == 2 and res["share_still_subscribed"] == 0.4
    assert res["after"]["1"]["value"] == pytest.approx(0.8) and res["after"]["1"]["n"] == 5
    # the first renewal loses 20%; from 1 to 3 months 0.8 → 0.4 is 1 − sqrt(0.5) = 29.3% a month
    assert res["loss"] == pytest.approx({"first": 0.2, "later_per_period": 1 - 0.5 ** 0.5, "over": 3})
    assert res["after"]["6"] == {"value": None, "reason": "no cohort has been followed for 6 months yet"}
    # no cancellations recorded: nothing to show (a shop's customers table)
    shop = ibis.memtable(pd.DataFrame({"customer_id": ["a"], "signup_at": pd.to_datetime(["2024-01-03"]),
                                       "cancelled_at": pd.Series([None], dtype="datetime64[ns]")}))
    assert subscriber_retention(shop, "M", as_of="2024-04-30") is None
    assert subscriber_retention(None, "M", as_of="2024-04-30") is None


def test_pooled_curve_keeps_quiet_decisions_and_cohorts_seen_only_at_sign_up():
    """The product limit over survivor counts, by hand: a decision where nobody leaves keeps its
    row, a cohort followed only to sign-up counts at sign-up only, and an emptied cohort stops."""
    from engage_kit.cohorts.subscriptions import pooled_curve

    survivors = pd.DataFrame({
        "cohort": ["a"] * 4 + ["b"] + ["c"] * 3,
        "period": [0, 1, 2, 3, 0, 0, 1, 2],
        "survivors": [4, 4, 2, 2, 5, 1, 0, 0],
    })
    curve = pooled_curve(survivors)
    assert curve["period"].tolist() == [0, 1, 2, 3]
    assert curve["at_risk"].tolist() == [10, 5, 4, 2]  # b leaves after sign-up, c empties at 1
    assert curve["still"].tolist() == [10, 4, 2, 2]
    assert curve["share"].tolist() == pytest.approx([1.0, 0.8, 0.4, 0.4])
    assert (curve.loc[0, "low"], curve.loc[0, "high"]) == (1.0, 1.0)
