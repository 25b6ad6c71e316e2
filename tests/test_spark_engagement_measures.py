"""The engagement measures (service containment and reasons, loyalty, referrals, adoption, pages,
touchpoints) on Spark local mode give the figures of DuckDB, on a small hand-made table set."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit import metrics as M
from engage_kit.config import load_config
from engage_kit.loaders import load_dataset
from tests.test_metrics_adoption import USAGE
from tests.test_metrics_loyalty import LOY, REF, TX
from tests.test_metrics_pages import PV
from tests.test_metrics_service import TICKETS
from tests.test_spark import _needs_spark, spark_con  # noqa: F401 - the module's Spark fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

KEYS = ["service.containment_rate", "loyalty.participation_rate", "loyalty.redemption_rate",
        "loyalty.member_repeat_rate", "loyalty.non_member_repeat_rate", "referrals.referral_rate",
        "referrals.conversion_rate", "adoption.declining_share"]
SURVEYS = pd.DataFrame({
    "timestamp": ["2024-01-05", "2024-01-06", "2024-02-07", "2024-02-08", "2024-03-01", "2024-03-02", "2024-03-03"],
    "kind": ["nps"] * 6 + ["csat"], "score": [10, 9, 3, 8, 10, 0, 5],
    "customer_id": list("abcdabc"), "touchpoint": ["checkout", "checkout", "support", "support", "support", "app", "app"],
})


def _tables(tmp_path):
    tickets = TICKETS.assign(customer_id=list("aabbccdd"))
    frames = {"transactions": TX, "tickets": tickets, "loyalty": LOY, "referrals": REF, "usage": USAGE,
              "pageviews": PV, "surveys": SURVEYS}
    for name, df in frames.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("as_of: 2024-03-31\ntables:\n" + "".join(f"  {n}: {{path: {n}.csv}}\n" for n in frames))
    return cfg


def _figures(ds) -> dict[str, float]:
    """Every figure as flat name -> number (values, bounds and counts)."""
    out: dict[str, float] = {}
    for key in KEYS:
        m = M.compute(key, ds.tables, period="M", active_days=30, as_of=ds.as_of)
        assert m is not None, key
        out.update({f"{key}.value": m.value, f"{key}.low": m.low, f"{key}.high": m.high, f"{key}.n": m.n})
    trend = M.kpis_by_period(ds.tables, period="M", active_days=30, as_of=ds.as_of, keys=KEYS)
    for _, r in trend.iterrows():
        out.update({f"{r['key']}@{r['period']}.{c}": float(r[c]) for c in ("value", "low", "high", "n")})
    bd = M.breakdowns.breakdowns(ds.tables, as_of=ds.as_of)
    for name in ("service.fcr_by_reason", "service.aht_by_reason", "adoption.rate", "adoption.days_to_first_use",
                 "web.exit_rate_by_page", "web.time_on_page", "satisfaction.nps_by_touchpoint"):
        assert name in bd, name
    for key, m in M.breakdowns.results(bd, {}).items():
        if hasattr(m, "value"):
            out.update({f"{key}.value": m.value, f"{key}.low": m.low, f"{key}.high": m.high, f"{key}.n": m.n})
    per = M.breakdowns.breakdowns(ds.tables, as_of=ds.as_of, period="M")  # by group and period
    for name, df in per.items():
        for _, r in df.iterrows():
            out.update({f"{name}@{r['period']}.{r['group']}.{c}": float(r[c]) for c in ("value", "low", "high", "n")})
    for _, r in M.breakdowns.period_changes(per).iterrows():
        out.update({f"{r['name']}.change.{r['group']}.{c}": float(r[c]) for c in ("delta", "z", "p_value")})
    return out


def test_engagement_measures_on_spark_match_duckdb(tmp_path, spark_con):  # noqa: F811
    cfg = _tables(tmp_path)
    on_duckdb = _figures(ek.open_dataset(cfg))
    on_spark = _figures(load_dataset(load_config(cfg), con=spark_con))
    assert set(on_spark) == set(on_duckdb)
    differ = [(k, on_duckdb[k], on_spark[k]) for k in sorted(on_duckdb)
              if not (math.isnan(on_duckdb[k]) and math.isnan(on_spark[k]))
              and not math.isclose(on_duckdb[k], on_spark[k], rel_tol=1e-9, abs_tol=1e-9)]
    assert differ == []
    # the figures the hand-computed tests know, read on Spark
    assert on_spark["service.containment_rate.value"] == 0.75
    assert on_spark["web.exit_rate_by_page./.value"] == pytest.approx(2 / 3)
    assert on_spark["satisfaction.nps_by_touchpoint.checkout.value"] == 100
    assert on_spark["adoption.search.rate.value"] == 0.75
    assert any(k.startswith("service.fcr_by_reason.billing") for k in on_spark)
    assert any("@2024-03" in k for k in on_spark)  # per period too


def test_usage_trend_feature_on_spark_matches_duckdb(tmp_path, spark_con):  # noqa: F811
    from engage_kit import churn

    cfg = _tables(tmp_path)
    got = []
    for ds in (ek.open_dataset(cfg), load_dataset(load_config(cfg), con=spark_con)):
        t = churn.churn_tables(ds)
        f = churn.build_features(t["purchases"], cutoff="2024-03-31", usage=t["usage"]).execute()
        got.append(f.set_index("customer_id")["usage_trend"].sort_index())
    pd.testing.assert_series_equal(got[0], got[1], check_exact=False, rtol=1e-9)
