"""Sentiment figures on Spark local mode equal DuckDB's: the texts are scored once in Python,
the scores go back into the engine as a table, and the shares, means and tables are counted
there (a small hand-labelled table set, the one tests/test_metrics_sentiment.py checks by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit import metrics as M
from engage_kit.config import load_config
from engage_kit.loaders import load_dataset
from engage_kit.metrics import sentiment
from tests.test_metrics_sentiment import SURVEYS, TOUCHES
from tests.test_spark import _needs_spark, spark_con  # noqa: F401 - the module's Spark fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]
KEYS = ["sentiment.share_positive", "sentiment.share_negative", "sentiment.mean"]


def _config(tmp_path):
    SURVEYS.to_csv(tmp_path / "surveys.csv", index=False)
    TOUCHES.to_csv(tmp_path / "touches.csv", index=False)
    pd.DataFrame({"customer_id": list("abcd"), "timestamp": ["2024-01-02"] * 4, "amount": [10.0, 20.0, 30.0, 40.0]}
                 ).to_csv(tmp_path / "transactions.csv", index=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("as_of: 2024-02-29\ntables:\n  transactions: {path: transactions.csv}\n"
                   "  surveys: {path: surveys.csv}\n  touches: {path: touches.csv}\n")
    return cfg


def _figures(ds) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    out: dict[str, float] = {}
    for key in KEYS:
        m = M.compute(key, ds.tables, period="M", as_of=ds.as_of)
        out.update({f"{key}.{c}": getattr(m, c) for c in ("value", "low", "high", "n")})
    trend = M.kpis_by_period(ds.tables, period="M", as_of=ds.as_of, keys=KEYS)
    for _, r in trend.iterrows():
        out.update({f"{r['key']}@{r['period']}.{c}": float(r[c]) for c in ("value", "low", "high", "n")})
    s = sentiment.summarise(ds.tables, as_of=ds.as_of)
    tables = {"by_channel": s.by_channel, "by_touchpoint": s.by_touchpoint, "by_score": s.by_score,
              "negative_words": s.negative_words}
    return out, tables


def test_sentiment_on_spark_matches_duckdb(tmp_path, spark_con):  # noqa: F811
    cfg = _config(tmp_path)
    duck, duck_tables = _figures(ek.open_dataset(cfg))
    spark, spark_tables = _figures(load_dataset(load_config(cfg), con=spark_con))
    assert spark == pytest.approx(duck, rel=1e-9, abs=1e-12, nan_ok=True)
    assert spark["sentiment.share_negative.value"] == pytest.approx(4 / 8)  # labelled by hand
    for name, df in duck_tables.items():
        first = df.columns[0]
        a = df.sort_values(list(df.columns[:2])).reset_index(drop=True)
        b = spark_tables[name].sort_values(list(df.columns[:2])).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b[a.columns], check_dtype=False, rtol=1e-9, obj=f"{name} by {first}")
