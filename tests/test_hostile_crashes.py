"""Hostile inputs that crashed a report: each case builds its data in tmp_path.

4. Wilson intervals at k = 0 and k = n came back a hair outside their estimate, and an
   error bar (value - low) went negative: ``clv_bgnbd`` on the kit's own 800-customer demo.
5. Tiny data (one customer, two customers, every purchase on one day, one customer with
   one purchase): every report renders, sections that cannot be computed say so.
6. A channel comparison with one channel (web visits and conversions), customers without
   an acquisition channel and transactions without a channel: "the best and the worst" of
   a table of zero or one rows.

Fast tests call the package functions that crashed; the slow ones render the reports with
the runner, one run per dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from engage_kit import channels, churn, clv
from engage_kit import cohorts as co
from engage_kit import metrics as M
from engage_kit.catalogue import NOTEBOOKS as CATALOGUE
from engage_kit.clv import charts as clv_charts
from engage_kit.errors import ParameterError
from engage_kit.stats import Estimate, contain, error_bars, proportion, wilson_interval

matplotlib.use("Agg")

NOTEBOOKS = list(CATALOGUE)  # every report the kit renders

TINY = {
    "one_customer": [
        ("A", "2024-01-05 10:00", 10.0, "o1"),
        ("A", "2024-02-10 10:00", 20.0, "o2"),
        ("A", "2024-04-01 10:00", 15.0, "o3"),
        ("A", "2024-06-20 10:00", 12.0, "o4"),
    ],
    "two_customers": [
        ("A", "2024-01-05 10:00", 10.0, "o1"),
        ("A", "2024-03-10 10:00", 20.0, "o2"),
        ("B", "2024-02-01 10:00", 15.0, "o3"),
        ("B", "2024-05-20 10:00", 12.0, "o4"),
        ("A", "2024-06-01 10:00", 8.0, "o5"),
    ],
    "all_purchases_on_one_day": [
        ("A", "2024-03-05 09:00", 10.0, "o1"),
        ("B", "2024-03-05 11:00", 20.0, "o2"),
        ("C", "2024-03-05 12:00", 15.0, "o3"),
        ("A", "2024-03-05 18:00", 5.0, "o4"),
        ("D", "2024-03-05 20:00", 7.0, "o5"),
    ],
    "one_customer_one_purchase": [("A", "2024-03-05 09:00", 10.0, "o1")],
}


def write_tiny(folder: Path, rows: list[tuple], *, touches: bool = False) -> Path:
    """A tiny dataset (CSV and config.yaml) in ``folder``; returns the config path.

    Transactions only by default. ``touches=True`` adds a sales ``channel`` to the
    transactions and a touches table of the same customers (an email sent to each, opened
    and converted by the first), so that every report, the channel comparison too, runs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tx = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "order_id"])
    tables = "tables:\n  transactions: {path: t.csv}\n"
    if touches:
        tx["channel"] = ["web" if i % 2 == 0 else "app" for i in range(len(tx))]
        first = tx.groupby("customer_id", sort=True)["timestamp"].min()
        ev = []
        for i, (cid, ts) in enumerate(first.items()):
            day = pd.Timestamp(ts).normalize()
            ev.append((day, "email", "sent", cid, "WELCOME"))
            if i == 0:
                ev += [(day + pd.Timedelta(hours=1), "email", "open", cid, "WELCOME"),
                       (day + pd.Timedelta(hours=2), "email", "conversion", cid, "WELCOME")]
        pd.DataFrame(ev, columns=["timestamp", "channel", "event", "customer_id", "campaign_id"]).to_csv(
            folder / "touches.csv", index=False)
        tables += "  touches: {path: touches.csv}\n"
    tx.to_csv(folder / "t.csv", index=False)
    (folder / "config.yaml").write_text(tables, encoding="utf-8")
    return folder / "config.yaml"


def write_web_only(folder: Path) -> Path:
    """Case 6: customers without acquisition_channel, touches of web visits and conversions
    only (no campaign ids), transactions without a channel."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(30)],
        "signup_at": [f"2024-01-{1 + i % 20:02d}" for i in range(30)],
        "segment": ["a" if i % 2 else "b" for i in range(30)],
    }).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({
        "customer_id": [f"C{i % 30}" for i in range(60)],
        "timestamp": [f"2024-{1 + i % 6:02d}-{1 + i % 27:02d} 10:00" for i in range(60)],
        "amount": [10.0 + i for i in range(60)],
    }).to_csv(folder / "transactions.csv", index=False)
    touches = []
    for i in range(80):
        day = f"2024-{1 + i % 6:02d}-{1 + i % 27:02d}"
        touches.append((f"{day} 09:00", "web", "visit", f"C{i % 30}"))
        if i % 4 == 0:
            touches.append((f"{day} 09:30", "web", "conversion", f"C{i % 30}"))
    pd.DataFrame(touches, columns=["timestamp", "channel", "event", "customer_id"]).to_csv(folder / "touches.csv", index=False)
    (folder / "config.yaml").write_text(
        "tables:\n  transactions: {path: transactions.csv}\n  customers: {path: customers.csv}\n"
        "  touches: {path: touches.csv}\n",
        encoding="utf-8",
    )
    return folder / "config.yaml"


def render(cfg: Path, out: Path, only: list[str], monkeypatch, jobs: int = 1) -> dict:
    """Render ``only`` with the report runner; return {name: NotebookResult}."""
    from engage_kit.config import load_config
    from engage_kit.report.runner import run_report

    monkeypatch.delenv("ENGAGE_KIT_NOTEBOOKS", raising=False)  # the kit's own notebooks
    results = run_report(load_config(cfg), out=out, only=only, jobs=jobs, log=lambda msg: None)
    return {r.name: r for r in results}


def cell_text(executed: Path) -> str:
    """Every Markdown and text output of an executed notebook, joined."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            parts.append("".join(data.get("text/markdown", "")) + "".join(o.get("text", "")))
    return "\n".join(parts)


# --- 4. intervals contain their estimate ----------------------------------------------


def test_wilson_interval_contains_its_estimate_at_k0_and_kn():
    n = np.arange(1, 5001, dtype=float)
    for k in (np.zeros_like(n), n):
        lo, hi = wilson_interval(k, n)
        assert np.all(lo <= k / n) and np.all(k / n <= hi)
    assert wilson_interval(0, 37)[0] == 0.0 and wilson_interval(37, 37)[1] == 1.0
    for k, m in [(0, 1), (0, 800), (800, 800), (3, 7)]:
        e = proportion(k, m)
        assert e.low <= e.value <= e.high
    assert np.isnan(wilson_interval(0, 0)[0])  # no units: no interval


def test_estimates_and_error_bars_never_put_the_value_outside():
    e = Estimate(0.0, 1e-17, 0.2, 10)  # a bound a rounding error on the wrong side
    assert e.low == 0.0 and e.high == 0.2
    e = Estimate(1.0, 0.7, 1.0 - 1e-16, 10)
    assert e.high == 1.0
    nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
    assert np.isnan(nan.low) and np.isnan(nan.high)
    lo, hi = contain(np.array([0.0, 0.5, np.nan]), np.array([1e-17, 0.4, 0.1]), np.array([0.3, 0.6, 0.2]))
    assert lo[0] == 0.0 and lo[1] == 0.4 and lo[2] == 0.1
    bars = error_bars([0.0, 0.5, 0.5], [1e-17, 0.4, np.nan], [0.3, 0.4999999, np.nan])
    assert bars.shape == (2, 3) and np.all(bars[:, :2] >= 0) and np.isnan(bars[:, 2]).all()


def test_p_alive_calibration_chart_with_a_bin_at_k0_and_kn():
    import matplotlib.pyplot as plt

    k = np.array([0.0, 40.0, 12.0])
    n = np.array([50.0, 40.0, 30.0])
    lo, hi = wilson_interval(k, n)
    cal = pd.DataFrame({
        "p_alive_low": [0.0, 0.5, 0.9], "p_alive_high": [0.5, 0.9, 1.0], "customers": n,
        "mean_p_alive": [0.3, 0.7, 0.95], "actual_share_buying": k / n,
        # the old bounds, a rounding error off the estimate: the chart must still draw
        "actual_low": lo + np.array([1e-17, 0, 0]), "actual_high": hi - np.array([0, 1e-16, 0]),
    })
    a = SimpleNamespace(calibration=cal, calibration_end=pd.Timestamp("2024-06-30"))
    fig, text = clv_charts.p_alive_calibration(a)
    plt.close(fig)
    assert "bought in the holdout" in text


@pytest.mark.slow
def test_demo_800_customers_clv_bgnbd_renders(tmp_path, monkeypatch):
    from engage_kit.cli import main

    data = tmp_path / "demo800"
    assert main(["demo-data", str(data), "--format", "csv", "--customers", "800"]) == 0
    results = render(data / "config.yaml", tmp_path / "out", ["clv_bgnbd"], monkeypatch)
    assert results["clv_bgnbd"].status == "ok", results["clv_bgnbd"].error
    res = json.loads((tmp_path / "out" / "clv_bgnbd" / "results.json").read_text())
    share = res["holdout"]["share_buying"]
    assert share["low"] <= share["value"] <= share["high"]


# --- 5. tiny data ----------------------------------------------------------------------


def _tiny_frame(case: str) -> pd.DataFrame:
    df = pd.DataFrame(TINY[case], columns=["customer_id", "timestamp", "amount", "order_id"])
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


@pytest.mark.parametrize("case", ["all_purchases_on_one_day", "one_customer_one_purchase"])
def test_all_purchases_on_one_day_kpis_by_period_is_a_table(case):
    """Was: TypeError: 'Metric' has no len() (no period has started after the first one)."""
    tx = _tiny_frame(case)
    for key in ("retention.customer_retention_rate", "retention.churn_rate"):
        out = M.compute(key, {"transactions": tx}, period="M", active_days=90, per_period=True, _cache={})
        assert isinstance(out, pd.DataFrame) and out.empty
    trend = M.kpis_by_period({"transactions": tx}, period="M", active_days=90)
    assert isinstance(trend, pd.DataFrame) and len(trend)


@pytest.mark.parametrize("case", list(TINY))
@pytest.mark.parametrize("metric", ["customers", "revenue", "orders"])
def test_one_or_two_customers_cohort_heatmap_draws(case, metric):
    """Was: UnboundLocalError: vmax (no finished cell to scale the colours on; orders always)."""
    import matplotlib.pyplot as plt

    m = co.cohort_matrix(_tiny_frame(case), metric=metric)
    fig = co.plot_heatmap(m)
    plt.close(fig)


def test_one_customer_clv_and_churn_give_a_reason_not_a_crash(tmp_path):
    import engage_kit as ek

    ds = ek.open_dataset(write_tiny(tmp_path / "one", TINY["one_customer"]))
    a, why = clv.analyse_or_reason(ds.purchases, as_of=ds.as_of)
    assert a is None and "only one customer" in why
    assert clv.unavailable_results(why)["clv.total"] == {"value": None, "reason": why}
    with pytest.raises(ParameterError, match="time_unit"):  # a typo still fails the report
        clv.analyse_or_reason(ds.purchases, as_of=ds.as_of, time_unit="X")
    study, why = churn.churn_study_or_reason(ds, work_dir=tmp_path / "work")
    assert study is None and "needs at least 180 days of history" in why
    assert churn.unavailable_results(why)["test.churn_rate"]["reason"] == why
    with pytest.raises(ParameterError, match="unknown model"):
        churn.churn_study_or_reason(ds, models=["logistics"], work_dir=tmp_path / "work")

    day = ek.open_dataset(write_tiny(tmp_path / "day", TINY["all_purchases_on_one_day"]))
    a, why = clv.analyse_or_reason(day.purchases, as_of=day.as_of)
    assert a is None and "too short" in why


@pytest.mark.slow
@pytest.mark.parametrize("case", list(TINY))
def test_tiny_data_renders_every_report(tmp_path, monkeypatch, case):
    cfg = write_tiny(tmp_path / "data", TINY[case], touches=True)
    out = tmp_path / "out"
    results = render(cfg, out, NOTEBOOKS, monkeypatch, jobs=2)
    # the models need more data: those reports ran, say so, and are not applicable to it
    expected = {n: "not_applicable" if n in ("clv_bgnbd", "churn_prediction") else "ok" for n in NOTEBOOKS}
    got = {n: r.status for n, r in results.items()}
    assert {n: r.error for n, r in results.items() if r.status == "failed"} == {}
    # the score and the journey need people over time: on tiny data they run, or say why they do not apply
    for name in ("customer_engagement", "customer_journey"):
        assert got.pop(name) in ("ok", "not_applicable"), name
        expected.pop(name)
    assert got == expected
    # the reports say so, results.json gives the reason
    for name, key in (("clv_bgnbd", "total"), ("churn_prediction", None)):
        said = cell_text(out / f"{name}.ipynb")
        assert "skipped:" in said or "does not apply" in said or "Not applicable" in said
        res = json.loads((out / name / "results.json").read_text())
        figure = res["clv"][key] if key else res["test"]["churn_rate"]
        assert figure["value"] is None and figure["reason"]
    assert (out / "index.html").exists()


# --- 6. best and worst of zero or one rows ------------------------------------------------


def test_best_and_worst_of_zero_and_one_rows():
    empty = pd.DataFrame({"group": [], "rate": []})
    assert channels.best_and_worst(empty, "rate") == (None, None)
    assert channels.pick(None, "rate") is None
    assert channels.pick(pd.DataFrame({"group": ["a"], "rate": [np.nan]}), "rate") is None
    one = pd.DataFrame({"group": ["web"], "rate": [0.2]})
    top, low = channels.best_and_worst(one, "rate")
    assert top.group == low.group == "web"
    two = pd.DataFrame({"group": ["a", "b", "c"], "rate": [0.1, np.nan, 0.3]}, index=[5, 5, 7])  # odd index
    top, low = channels.best_and_worst(two, "rate")
    assert (top.group, low.group) == ("c", "a")


def _acq(groups: list[str], per_year: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"group": groups, "revenue_per_customer_year": per_year, "active_rate": [0.5] * len(groups)})


def test_acquisition_title_and_sentence_on_zero_one_and_two_channels():
    for df in (_acq([], []), _acq(["web"], [12.0]), _acq(["web", "shop"], [12.0, 0.0]), _acq(["web", "shop"], [12.0, 4.0])):
        assert channels.acquisition_title(df) and channels.acquisition_sentence(df, currency="EUR")
    assert "3.0×" in channels.acquisition_title(_acq(["web", "shop"], [12.0, 4.0]))
    assert "no other channel" in channels.acquisition_sentence(_acq(["web"], [12.0]))


def test_channel_comparison_without_acquisition_channel_web_only_in_the_package(tmp_path):
    import engage_kit as ek

    ds = ek.open_dataset(write_web_only(tmp_path / "data"))
    acq, why = channels.acquisition_or_reason(ds["transactions"], ds["customers"], as_of=ds.as_of)
    assert acq is None and "acquisition_channel" in why
    result = channels.compare_channels(ds["touches"], ds["customers"], period="M")
    assert list(result.groups.group) == ["web"] and result.pairwise.empty
    other, why = channels.compare_other_unit(ds["touches"], ds["customers"], result)
    assert other is None and "campaign_id" in why
    texts = [channels.rates_title(result), channels.rates_sentence(result), channels.funnel_title(result),
             channels.funnel_sentence(result), channels.pairwise_sentence(result), channels.bayes_sentence(result),
             channels.trends_title(result), channels.trends_sentence(result), channels.unit_views_sentence(result, other),
             *result.summary(other=other)]
    assert all(isinstance(t, str) for t in texts)
    assert channels.pairwise_skip_reason(result) and channels.lift_skip_reason(result)
    assert [c["value"] for c in channels.summary_cards(result)][:1] == ["1"]


@pytest.mark.slow
def test_channel_comparison_without_acquisition_channel_web_only(tmp_path, monkeypatch):
    cfg = write_web_only(tmp_path / "data")
    out = tmp_path / "out"
    results = render(cfg, out, ["channel_comparison"], monkeypatch)
    assert results["channel_comparison"].status == "ok", results["channel_comparison"].error
    text = cell_text(out / "channel_comparison.ipynb")
    assert "Value by acquisition channel skipped:" in text and "Pairwise tests skipped:" in text
    res = json.loads((out / "channel_comparison" / "results.json").read_text())
    assert set(res["groups"]) == {"web"} and "acquisition" not in res


def test_an_analysis_that_cannot_run_marks_its_report_not_applicable():
    from engage_kit import churn, clv

    why = "the data cover 2 days"
    assert churn.unavailable_results(why)["not_applicable"] == why
    assert clv.unavailable_results(why)["not_applicable"] == why
