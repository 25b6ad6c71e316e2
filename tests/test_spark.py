"""Apache Spark in local mode: the same data, reports and figures as on DuckDB.

Spark needs pyspark (the ``spark`` extra, installed by ``make setup``) and Java 17+;
without them these tests skip and say which is missing. Every test here runs on one
pytest worker (a Spark JVM is large and slow to start).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit.catalogue import NOTEBOOK_TITLES
from engage_kit.cli import main
from engage_kit.config import EngineConfig, load_config
from engage_kit.errors import DataError
from engage_kit.loaders import load_dataset

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]
META_ONLY_FIELDS = {"run_at", "run_seconds", "dataset", "engine"}


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]'; make setup does it)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is not installed (Spark needs Java 17 or newer on PATH or JAVA_HOME)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _needs_spark():
    reason = _spark_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def spark_con():
    """One local Spark session for the in-process tests of this module."""
    from engage_kit.engine import connect

    con = connect(EngineConfig(kind="spark", master="local[2]"), timezone="Europe/Berlin")
    yield con
    con.disconnect()


def _spark_config(config: Path, name: str = "spark.yaml") -> Path:
    """The same config with ``engine: {kind: spark, master: "local[2]"}``."""
    text = config.read_text()
    out = config.parent / name
    out.write_text(text + '\nengine:\n  kind: spark\n  master: "local[2]"\n')
    return out


def _differences(a, b, path="") -> list[str]:
    """Where two results.json trees differ: counts exactly, floats to 1e-6 (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if path == "/meta" and k in META_ONLY_FIELDS:
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only on {'DuckDB' if k in a else 'Spark'}")
            else:
                out += _differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return [] if a is b else [f"{path}: {a} vs {b}"]
        if math.isnan(a) and math.isnan(b):
            return []
        return [] if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_differences_catch_what_they_should():
    a = {"meta": {"run_at": 1}, "n": 10, "x": 1.0, "m": {"p": [0.5, 2.0]}}
    assert _differences(a, {"meta": {"run_at": 2}, "n": 10, "x": 1.0 + 1e-9, "m": {"p": [0.5, 2.0]}}) == []
    assert _differences(a, {"meta": {}, "n": 11, "x": 1.001, "m": {"p": [0.5]}}) == [
        "/m/p: 2 vs 1 items", "/n: 10 vs 11", "/x: 1.0 vs 1.001"]


@pytest.fixture(scope="session")
def both_runs(small_demo_config, tmp_path_factory):
    """Every report rendered on DuckDB and on Spark local mode from the same files."""
    base = tmp_path_factory.mktemp("engines")
    duck, spark = base / "duckdb", base / "spark"
    assert main(["report", str(small_demo_config), "--out", str(duck), "--jobs", "2"]) == 0
    code = main(["report", str(_spark_config(small_demo_config)), "--out", str(spark), "--jobs", "2"])
    return code, duck, spark


def test_every_report_renders_on_spark(both_runs):
    code, _, spark = both_runs
    run = json.loads((spark / "run.json").read_text())
    status = {n["name"]: (n["status"], n["error"]) for n in run["notebooks"]}
    assert code == 0, status
    assert set(status) == set(NOTEBOOK_TITLES)
    for name in NOTEBOOK_TITLES:
        assert "data:image/png;base64," in (spark / f"{name}.html").read_text(), name
        # the JVM's own messages go to Spark's log file, not into the report
        nb = json.loads((spark / f"{name}.ipynb").read_text())
        stderr = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert stderr == [], (name, stderr)


@pytest.mark.parametrize("name", list(NOTEBOOK_TITLES))
def test_spark_gives_the_figures_of_duckdb(both_runs, name):
    _, duck, spark = both_runs
    a = json.loads((duck / name / "results.json").read_text())
    b = json.loads((spark / name / "results.json").read_text())
    assert _differences(a, b) == []


def test_per_customer_exports_are_written_by_spark(both_runs):
    """On Spark the per-customer tables are Parquet directories with the same rows."""
    _, duck, spark = both_runs
    for name, stem, key in (("clv_bgnbd", "customers", "clv"), ("churn_prediction", "scores", "churn_probability")):
        local = pd.read_csv(duck / name / f"{stem}.csv", dtype={"customer_id": str})
        folder = spark / name / f"{stem}.parquet"
        assert folder.is_dir() and any(folder.glob("*.parquet")), folder
        assert not (spark / name / ".work").exists(), "working files are removed when the run ends"
        remote = pd.read_parquet(folder)
        assert list(remote.columns) == list(local.columns)
        assert len(remote) == len(local)
        merged = local.merge(remote, on="customer_id", suffixes=("_duck", "_spark"))
        assert len(merged) == len(local)
        pd.testing.assert_series_equal(merged[f"{key}_duck"], merged[f"{key}_spark"], check_names=False, rtol=1e-6)
    # the CLV bootstrap runs on the compressed rows that leave the engine: seeded, each customer's
    # interval is the same on Spark (the spend per customer is a float sum whose order differs
    # between the engines, 1e-13, which the refits' stopping rule carries to about 1e-8)
    local = pd.read_csv(duck / "clv_bgnbd" / "customers.csv", dtype={"customer_id": str}).sort_values("customer_id")
    remote = pd.read_parquet(spark / "clv_bgnbd" / "customers.parquet").sort_values("customer_id")
    for col in ("clv_low", "clv_high"):
        assert remote[col].to_numpy() == pytest.approx(local[col].to_numpy(), rel=1e-6, abs=1e-9), col
    # the journey report's per-person table (its figures are compared in test_spark_gives_the_figures_of_duckdb)
    assert (spark / "customer_journey" / "journeys.parquet").is_dir()


# --- the loader on Spark ---------------------------------------------------------------


def test_time_zones_on_spark_match_duckdb(tmp_path, spark_con):
    text = "customer_id,timestamp,amount\na,2024-03-31T23:30:00+00:00,1\nb,2024-03-31 10:00:00,1\n"
    (tmp_path / "tx.csv").write_text(text)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("timezone: Europe/Berlin\ntables: {transactions: {path: tx.csv}}\n")
    on_spark = load_dataset(load_config(cfg), con=spark_con).to_pandas("transactions").sort_values("customer_id")
    on_duckdb = ek.open_dataset(cfg).to_pandas("transactions").sort_values("customer_id")
    # 23:30 UTC is 01:30 the next day in Berlin (summer time); a time without offset is local
    assert on_spark.timestamp.tolist() == [pd.Timestamp("2024-04-01 01:30"), pd.Timestamp("2024-03-31 10:00")]
    assert on_spark.timestamp.tolist() == on_duckdb.timestamp.tolist()


def test_a_directory_of_parquet_files_is_one_table(tmp_path, small_demo_config, spark_con):
    import pyarrow.parquet as pq

    tx = pq.read_table(small_demo_config.parent / "transactions.parquet")
    folder = tmp_path / "transactions"
    folder.mkdir()
    step = math.ceil(tx.num_rows / 3)
    for i in range(3):
        pq.write_table(tx.slice(i * step, step), folder / f"part-{i}.parquet")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables: {transactions: {path: transactions}}\n")
    on_spark = load_dataset(load_config(cfg), con=spark_con)
    on_duckdb = ek.open_dataset(cfg)
    a, b = on_spark.reports["transactions"], on_duckdb.reports["transactions"]
    assert (a.rows, a.customers, a.start, a.end) == (b.rows, b.customers, b.start, b.end)
    assert b.rows == ek.open_dataset(small_demo_config).reports["transactions"].rows


def test_an_existing_session_is_used_as_it_is(spark_con, small_demo_config):
    """From Python (e.g. on a Databricks cluster) the kit runs on the session it is given."""
    from engage_kit.config import Config
    from engage_kit.engine import connect, kind_of

    session = spark_con._session
    con = connect(EngineConfig(kind="spark", session=session))
    assert kind_of(con) == "spark" and con._session is session
    config = load_config(small_demo_config)
    assert isinstance(config, Config)
    ds = load_dataset(config, con=con)
    assert ds.reports["transactions"].rows == ek.open_dataset(small_demo_config).reports["transactions"].rows


def test_skip_rows_is_refused_on_spark_not_ignored(tmp_path, spark_con):
    """Spark's CSV reader cannot skip lines: the title line would become the header."""
    (tmp_path / "tx.csv").write_text("Orders export\ncustomer_id,timestamp,amount\na,2024-01-01,1\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables: {transactions: {path: tx.csv, read: {skip_rows: 1}}}\n")
    with pytest.raises(DataError, match="read.skip_rows is not available on Spark"):
        load_dataset(load_config(cfg), con=spark_con)
    assert ek.open_dataset(cfg).reports["transactions"].rows == 1  # DuckDB skips it


def test_a_return_names_its_order_on_spark(tmp_path, spark_con):
    from tests.test_metrics_returns import _credit_notes

    cfg = _credit_notes(tmp_path, "    returns: {order_column: Original}\n")
    ds = load_dataset(load_config(cfg), con=spark_con)
    assert set(ds.purchases.execute().order_id) == {"I2", "I3"}  # the credit note names I1, not the later I2
    led = ds.to_pandas("order_returns").set_index("order_id")
    assert led.loc["I1", "returned"] == 40 and led.loc["I2", "returned"] == 0


def test_strip_removes_white_space_and_nothing_else_on_both_engines(spark_con):
    """Ibis's own ``strip()`` on Spark cut a leading v or f ("form_submit" -> "orm_submit",
    "view" -> "iew"), which lost every form fill of the journey report on Spark."""
    import ibis

    from engage_kit.engine import strip

    values = ["form_submit", "view", " \tvisit\n", "fv", "f", "", " x y ", None]
    want = ["form_submit", "view", "visit", "fv", "f", "", "x y", None]
    df = pd.DataFrame({"e": pd.Series(values, dtype=object)})
    for con in (ibis.duckdb.connect(), spark_con):
        t = ibis.memtable(df)
        got = con.execute(t.select(t.e, s=strip(t.e)))
        pairs = {(None if pd.isna(e) else e): (None if pd.isna(s) else s) for e, s in zip(got["e"], got["s"], strict=True)}
        assert pairs == dict(zip(values, want, strict=True)), con.name


def test_a_cached_expression_may_hold_an_in_memory_table_on_spark(spark_con):
    """Ibis caches on Spark without registering ``ibis.memtable`` views first; the churn
    features (product use against a table of period ends) failed with TABLE_OR_VIEW_NOT_FOUND."""
    import ibis

    from engage_kit.engine import cache

    ends = ibis.memtable(pd.DataFrame({"k": [1, 2], "end": [10, 20]}))
    spark_rows = spark_con.sql("SELECT 1 AS k UNION ALL SELECT 1 UNION ALL SELECT 2")
    rows = cache(spark_rows.join(ends, "k")).count().execute()
    assert rows == 3
