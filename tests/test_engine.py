"""The engine helpers, and the rule that per-customer tables stay in the engine."""

from __future__ import annotations

import hashlib
import json

import matplotlib
import pandas as pd
import pytest

import engage_kit as ek
from engage_kit import engine
from engage_kit.errors import ParameterError
from tests.conftest import NOTEBOOKS


def test_sample_order_is_md5_of_seed_and_id(small_demo):
    t = small_demo.purchases.select("customer_id").distinct().limit(5)
    got = t.mutate(k=engine.sample_order(t.customer_id, 7)).execute()
    want = [hashlib.md5(f"7:{c}".encode()).hexdigest() for c in got["customer_id"]]
    assert got["k"].tolist() == want


def test_training_cap(small_demo):
    assert engine.training_cap(small_demo.purchases, None) is None  # DuckDB: everyone
    assert engine.training_cap(small_demo.purchases, None, every_engine=True) == engine.MODEL_TRAINING_ROWS == 200_000
    assert engine.training_cap("spark", None, every_engine=True) == engine.MODEL_TRAINING_ROWS
    assert engine.training_cap("duckdb", 50, every_engine=True) == 50
    assert engine.training_cap("spark", None) == engine.SPARK_TRAINING_ROWS
    assert engine.training_cap("spark", 50) == 50
    for bad in (0, -3, True):
        with pytest.raises(ParameterError, match="max_training_rows must be a positive"):
            engine.training_cap("duckdb", bad)


def test_write_table_writes_csv_in_the_tables_order(small_demo, tmp_path):
    t = small_demo.purchases.group_by("customer_id").aggregate(n=small_demo.purchases.count())
    t = t.order_by([t.n.desc(), "customer_id"])
    path = engine.write_table(t, tmp_path / "out", "per_customer")
    assert path == tmp_path / "out" / "per_customer.csv"
    df = pd.read_csv(path, dtype={"customer_id": str})
    pd.testing.assert_frame_equal(df, t.execute(), check_dtype=False)


# --- nothing per customer comes back to Python ------------------------------------------

CAP = 300  # max_training_rows for the notebooks below; the demo has 2,000 customers


def _code_cells(name: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["engagement_kpis", "cohort_retention", "clv_bgnbd", "churn_prediction",
                                  "channel_comparison"])
def test_notebooks_never_fetch_one_row_per_customer(name, small_demo_config, tmp_path, monkeypatch):
    """Run a notebook's cells in this process and watch every result the engine returns.

    A result with a customer_id column must be bounded (a training sample, a top list, a
    few examples): never one row for every customer. Per-customer outputs are written by
    the engine, and scoring streams batches (checked in test_churn.py).
    """
    from ibis.backends.duckdb import Backend

    matplotlib.use("Agg")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    customers = int(ek.open_dataset(small_demo_config).purchases.customer_id.nunique().execute())
    seen: list[tuple[int, list[str]]] = []
    execute, to_pyarrow, batches = Backend.execute, Backend.to_pyarrow, Backend.to_pyarrow_batches

    def note(out):
        columns = list(out.columns) if isinstance(out, pd.DataFrame) else list(getattr(out, "column_names", []))
        if "customer_id" in columns:
            seen.append((len(out) if isinstance(out, pd.DataFrame) else out.num_rows, columns))
        return out

    def watched_batches(self, expr, *args, chunk_size: int = 1_000_000, **kwargs):
        assert chunk_size <= 50_000, "scoring batches must be bounded"
        return batches(self, expr, *args, chunk_size=chunk_size, **kwargs)

    monkeypatch.setattr(Backend, "execute", lambda self, expr, *a, **k: note(execute(self, expr, *a, **k)))
    monkeypatch.setattr(Backend, "to_pyarrow", lambda self, expr, *a, **k: note(to_pyarrow(self, expr, *a, **k)))
    monkeypatch.setattr(Backend, "to_pyarrow_batches", watched_batches)
    cells = _code_cells(name)
    params = {"config": str(small_demo_config), "output_dir": str(tmp_path)}
    namespace: dict = {}
    exec(cells[0], namespace)  # the parameters cell, then the values a run would inject
    if "max_training_rows" in namespace:
        params["max_training_rows"] = CAP
    namespace.update(params)
    for code in cells[1:]:
        exec(code, namespace)
        matplotlib.pyplot.close("all")
    assert (tmp_path / name / "results.json").exists()
    big = [(n, cols) for n, cols in seen if n > CAP]
    assert big == [], f"{name} fetched per-customer rows ({customers:,} customers): {big}"


def test_duckdb_spills_into_its_own_folder_and_removes_it(tmp_path, monkeypatch):
    """Not DuckDB's default ./.tmp in the folder the command runs in (a killed 10M-row run left
    370 MB there): a folder of the kit's own, gone when the connection closes."""
    import gc
    import os
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{engine.SPILL_PREFIX}{dead.pid}-abc"  # a run that was killed
    (stale / "x").mkdir(parents=True)
    alive = tmp_path / f"{engine.SPILL_PREFIX}{os.getppid()}-abc"  # a run still going
    alive.mkdir()
    other = tmp_path / "engage-kit-duckdb-notes"  # not one of the kit's folders
    other.mkdir()

    con = engine.connect()
    folder = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
    assert os.path.dirname(folder) == str(tmp_path) and os.path.basename(folder).startswith(
        f"{engine.SPILL_PREFIX}{os.getpid()}-")
    con.raw_sql("SET memory_limit='300MB'")
    con.raw_sql("SET threads=1")
    con.raw_sql("CREATE TABLE t AS SELECT range AS i, md5(range::varchar) AS s FROM range(4000000) ORDER BY s")
    assert os.listdir(folder), "the sort should have spilled"
    assert not stale.exists() and alive.exists() and other.exists()
    assert not (tmp_path / ".tmp").exists()
    del con
    gc.collect()
    assert not os.path.exists(folder)


def test_duckdb_temp_directory_from_the_config_is_used_as_given(tmp_path):
    from engage_kit.config import EngineConfig

    con = engine.connect(EngineConfig(kind="duckdb", temp_directory=str(tmp_path / "spill")))
    assert con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0] == str(tmp_path / "spill")
    del con


def test_an_unwritable_temporary_folder_does_not_stop_the_engine(monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    con = engine.connect()
    assert con.raw_sql("SELECT 1").fetchone() == (1,)


def test_notebooks_run_at_once_share_the_engine_memory_limit():
    """engine.memory_limit caps the run: with two notebooks at once each engine gets half
    (10M-row bench: two kernels with 3GB each peaked at 4.9 GB together)."""
    from engage_kit.config import EngineConfig

    share = engine.memory_share
    assert share(EngineConfig(memory_limit="3GB"), 2) == "1500MB"
    assert share(EngineConfig(memory_limit="3GiB"), 2) == "1610MB"  # 3 * 1024**3 / 2 = 1,610,612,736 bytes
    assert share(EngineConfig(memory_limit="8 gb"), 3) == "2666MB"
    assert share(EngineConfig(memory_limit="512MB"), 4) == "128MB"
    # no limit: DuckDB's own default, 80% of the machine, shared out
    assert share(EngineConfig(), 2, machine_bytes=24 * 10**9) == "9600MB"
    # nothing to share: one job, another engine, a value DuckDB itself will judge
    assert share(EngineConfig(memory_limit="3GB"), 1) is None
    assert share(EngineConfig(kind="spark", memory_limit="3GB"), 2) is None
    assert share(EngineConfig(memory_limit="lots"), 2) is None
    assert share(EngineConfig(memory_limit="3000"), 2) is None
    assert share(None, 2, machine_bytes=10**9) == "400MB"
