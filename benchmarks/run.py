"""Speed and memory of the heavy steps, each beside its reference, measured in one run.

Usage: ``make bench`` (10M transaction rows, 1M customers) or ``make bench SIZE=small``
(a tenth of that). Data is generated once with the demo generator and cached under
``benchmarks/data/<size>/``. Every step runs in a fresh process; its peak resident memory
is sampled over the whole process tree. The table is printed and written to
``benchmarks/last_run.json``.

``summary_spark`` runs the customer summary on Spark local mode at three sizes (whole
customers up to 1M and 3M rows at full size, then all ~10M rows), beside the same function
on DuckDB, to show that it runs and how its cost grows with the rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = {
    # customers, window start: over nine years the demo process gives ~10 rows a customer
    "full": (1_000_000, "2016-01-01"),
    "small": (100_000, "2016-01-01"),
}
END = "2024-12-31"
STEPS = [
    "summary",
    "summary_spark",
    "bgnbd_fit",
    "bgnbd_fit_all",
    "bgnbd_fit_pymc",
    "mbgnbd_fit",
    "pareto_fit",
    "cohort_matrix",
    "churn_features",
    "load_csv",
    "load_parquet",
    "report_demo",
    "report_large",
]
MEMORY_LIMIT = "3GB"  # per engine; DuckDB takes 80% of memory unless told otherwise
FIT_STEPS = {"bgnbd_fit", "bgnbd_fit_all", "bgnbd_fit_pymc", "mbgnbd_fit", "pareto_fit"}  # on the cached summary


def _config_text(transactions: str, customers: str) -> str:
    """The benchmark data's config: its two tables, DuckDB capped at MEMORY_LIMIT."""
    return (
        "title: Benchmark data\n"
        f"engine: {{kind: duckdb, memory_limit: {MEMORY_LIMIT}}}\n"
        "tables:\n"
        f"  transactions: {{path: {transactions}}}\n"
        f"  customers: {{path: {customers}}}\n"
    )
SPARK_MASTER = "local[2]"
SPARK_MEMORY = "6GB"  # driver memory: local mode runs everything in the driver's JVM
SUBSET_SEED = 2024
ROW_GROUP = 262_144  # Parquet row group: the unit both engines read in parallel
QUERY_RUNS = 5  # summary_spark: the query runs this often in one session; the best time counts


def scales(name: str, size: str) -> tuple[int | None, ...]:
    """Row targets a step is measured at: ``None`` is all the data, once, for most steps.

    ``summary_spark`` and ``report_large`` run on subsets of as many rows as the data has
    customers and three times that (1M and 3M rows at full size), then on all of it (~10
    rows a customer), to show how their cost grows.
    """
    if name not in ("summary_spark", "report_large"):
        return (None,)
    n = SIZES[size][0]
    return (n, 3 * n, None)


def data_dir(size: str) -> Path:
    return HERE / "data" / size


def _write_parquet(df, path: Path) -> None:
    """Write a frame as Parquet: microsecond timestamps (Spark cannot read nanoseconds) and
    row groups of ``ROW_GROUP`` rows, so that every file, subsets too, is read in parallel."""
    df.to_parquet(
        path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True, row_group_size=ROW_GROUP
    )


def _rewrite_old_parquet(folder: Path) -> None:
    """Rewrite Parquet files of an older cache (nanosecond timestamps, larger row groups)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in sorted(folder.glob("*.parquet")):
        meta = pq.ParquetFile(path).metadata
        nanos = any(pa.types.is_timestamp(f.type) and f.type.unit == "ns" for f in meta.schema.to_arrow_schema())
        if nanos or any(meta.row_group(i).num_rows > ROW_GROUP for i in range(meta.num_row_groups)):
            print(f"rewriting {path.name} (microsecond timestamps, row groups of {ROW_GROUP:,}) ...", flush=True)
            part = path.with_suffix(".partial")
            _write_parquet(pd.read_parquet(path), part)
            part.replace(path)


def prepare(size: str) -> Path:
    """Generate (once) transactions and customers at ``size``; Parquet, CSV and two configs."""
    folder = data_dir(size)
    done = folder / "ready"
    if done.exists():
        _rewrite_old_parquet(folder)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    n, start = SIZES[size]
    print(f"generating the {size} benchmark data ({n:,} customers, {start} to {END}) ...", flush=True)
    sys.path.insert(0, str(ROOT))
    from engage_kit.datasets import generate_demo

    demo = generate_demo(n, seed=2024, start=start, end=END, tables=("transactions", "customers"))
    tx = demo.tables["transactions"]
    _write_parquet(tx, folder / "transactions.parquet")
    tx.to_csv(folder / "transactions.csv", index=False)
    _write_parquet(demo.tables["customers"], folder / "customers.parquet")
    for name, ext in (("config.yaml", "parquet"), ("config_csv.yaml", "csv")):
        (folder / name).write_text(_config_text(f"transactions.{ext}", "customers.parquet"))
    (folder / "rows.txt").write_text(str(len(tx)))
    done.write_text("ok")
    return folder


def subset(size: str, rows: int | None) -> Path:
    """The transactions file of whole customers with about ``rows`` rows (written once).

    Customers are taken in a seeded random order until their rows would exceed ``rows``,
    so every customer keeps its full history, the subsets are nested, and they have the
    same mix of customers as the whole data. ``None`` is the whole ``transactions.parquet``.
    """
    folder = data_dir(size)
    if rows is None:
        return folder / "transactions.parquet"
    path = folder / f"transactions_customers_{rows}.parquet"
    if path.exists():
        return path
    import numpy as np
    import pandas as pd

    tx = pd.read_parquet(folder / "transactions.parquet")
    counts = tx["customer_id"].value_counts().sort_index()
    order = np.random.default_rng(SUBSET_SEED).permutation(len(counts))
    cumulative = counts.iloc[order].cumsum()
    keep = cumulative.index[cumulative.to_numpy() <= rows]
    part = path.with_suffix(".partial")
    _write_parquet(tx[tx["customer_id"].isin(keep)], part)  # the same writer as prepare()
    part.rename(path)
    return path


def subset_config(size: str, rows: int | None) -> Path:
    """A report config for the subset of :func:`subset` (its customers table cut to the same customers)."""
    folder = data_dir(size)
    if rows is None:
        return folder / "config.yaml"
    cfg = folder / f"config_customers_{rows}.yaml"
    if cfg.exists():
        return cfg
    import pandas as pd

    tx_path = subset(size, rows)
    keep = pd.read_parquet(tx_path, columns=["customer_id"])["customer_id"].unique()
    customers = pd.read_parquet(folder / "customers.parquet")
    cust_path = folder / f"customers_customers_{rows}.parquet"
    _write_parquet(customers[customers["customer_id"].isin(keep)], cust_path)
    cfg.write_text(_config_text(tx_path.name, cust_path.name))
    return cfg


# --- steps, each run in its own process ------------------------------------------------


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _purchases(folder: Path, path: Path | None = None):
    import ibis

    con = ibis.duckdb.connect(memory_limit=MEMORY_LIMIT)
    tx = con.read_parquet(str(path or folder / "transactions.parquet"), table_name="tx")
    return con, tx.filter(tx.amount >= 0)


def _summary_figures(summary) -> dict:
    """Aggregate a customer summary in its engine (forces all of it; only one row comes back)."""
    s = summary
    figures = s.aggregate(
        customers=s.count(),
        frequency_sum=s.frequency.sum(),
        recency_sum=s.recency.sum(),
        T_sum=s["T"].sum(),
        total_amount=s.total_amount.sum(),
    ).execute()
    out = {k: v.item() if hasattr(v, "item") else v for k, v in figures.iloc[0].items()}
    out["customers"] = int(out["customers"])
    out["total_amount"] = round(float(out["total_amount"]), 2)  # the order of a float sum differs
    return out


def _fit_summary(folder: Path, *, read: bool = True):
    """The weekly customer summary of all purchases (1M customers at full size), made once;
    with ``read=False`` only made (None returned)."""
    import pandas as pd

    cached = folder / "summary_weeks.parquet"
    if not cached.exists():
        from engage_kit.clv import customer_summary

        _, purchases = _purchases(folder)
        customer_summary(purchases, end=pd.Timestamp(END), time_unit="W").execute().to_parquet(cached)
    return pd.read_parquet(cached) if read else None


PARETO_CUSTOMERS = 100_000  # the Pareto/NBD fits (a Gauss hypergeometric function per row) on a sample


def _model_fit(name: str, impl: str, folder: Path) -> dict:
    """A model fit, kit or reference, on the summary's compressed rows with weights (the
    fair comparison: both sides see the same rows), on every customer for ``bgnbd_fit_all``
    (the kit compresses them itself) and for ``bgnbd_fit_pymc`` (pymc-marketing takes no weights)."""
    import warnings

    from engage_kit.clv import compress, fit_bgnbd, fit_mbgnbd, fit_pareto_nbd

    warnings.simplefilter("ignore")
    summary = _fit_summary(folder)
    if name == "pareto_fit":
        summary = summary.sample(n=min(PARETO_CUSTOMERS, len(summary)), random_state=SUBSET_SEED)
    rows = compress(summary) if name in ("bgnbd_fit", "mbgnbd_fit", "pareto_fit") else summary
    names = ("r", "alpha", "s", "beta") if name == "pareto_fit" else ("r", "alpha", "a", "b")
    if impl == "kit":
        fit = {"mbgnbd_fit": fit_mbgnbd, "pareto_fit": fit_pareto_nbd}.get(name, fit_bgnbd)
        secs, model = _timed(lambda: fit(rows))
        params = {k: float(model.params_[k]) for k in names}
    elif name == "bgnbd_fit_pymc":
        params, secs = _pymc_map(summary)
    else:
        from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

        Fitter = {"mbgnbd_fit": ModifiedBetaGeoFitter, "pareto_fit": ParetoNBDFitter}.get(name, BetaGeoFitter)
        f, r, T = (rows[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        w = rows["weight"].to_numpy(float) if "weight" in rows.columns else None
        secs, model = _timed(lambda: Fitter().fit(f, r, T, weights=w) if w is not None else Fitter().fit(f, r, T))
        params = {k: float(model.params_[k]) for k in names}
    return {"seconds": secs, "rows": len(rows), "customers": len(summary), "check": params}


def _pymc_map(summary) -> tuple[dict, float]:
    """pymc-marketing's BG/NBD maximum a posteriori with flat priors (the maximum-likelihood
    estimate) on every customer; the model is built and compiled inside the timing."""
    import pandas as pd
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame({"customer_id": range(len(summary)), "frequency": summary["frequency"].to_numpy(),
                         "recency": summary["recency"].to_numpy(), "T": summary["T"].to_numpy()})
    config = {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")}

    def fit():
        model = BetaGeoModel(data=data, model_config=config)
        model.fit(method="map", progressbar=False)
        return model

    secs, model = _timed(fit)
    post = model.idata.posterior
    return {k: float(post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")}, secs


def step(name: str, impl: str, size: str, limit: int | None = None) -> dict:
    """Run one step with one implementation (``kit`` or ``ref``); return seconds and a check.

    ``limit`` is the row target of a step measured at several sizes (see :func:`scales`).
    """
    folder = data_dir(size)
    rows = int((folder / "rows.txt").read_text())
    end = __import__("pandas").Timestamp(END)
    if name == "summary_spark":
        import pyarrow.parquet as pq

        from engage_kit.clv.prep import customer_summary

        path = subset(size, limit)
        if impl == "kit":
            from engage_kit.config import EngineConfig
            from engage_kit.engine import connect

            engine = EngineConfig(kind="spark", master=SPARK_MASTER, memory_limit=SPARK_MEMORY)
            startup, con = _timed(lambda: connect(engine, timezone="UTC"))
            tx = con.read_parquet(str(path), table_name="tx")
            purchases = tx.filter(tx.amount >= 0)
        else:
            startup, (con, purchases) = _timed(lambda: _purchases(folder, path))
        summary = customer_summary(purchases, end=end, time_unit="D")
        first, check = _timed(lambda: _summary_figures(summary))  # cold: the JVM compiles as it goes
        # then the best of a few more: the machine may be shared
        times = [first] + [_timed(lambda: _summary_figures(summary))[0] for _ in range(QUERY_RUNS - 1)]
        return {
            "seconds": min(times),
            "first_seconds": first,
            "startup_seconds": startup,
            "rows": pq.ParquetFile(path).metadata.num_rows,
            "check": check,
        }
    if name == "summary":
        if impl == "kit":
            from engage_kit.clv import customer_summary

            _, purchases = _purchases(folder)
            secs, df = _timed(lambda: customer_summary(purchases, end=end, time_unit="D").execute())
        else:
            import pandas as pd
            from lifetimes.utils import summary_data_from_transaction_data

            tx = pd.read_parquet(folder / "transactions.parquet")
            tx = tx[tx.amount >= 0]
            secs, df = _timed(
                lambda: summary_data_from_transaction_data(
                    tx, "customer_id", "timestamp", monetary_value_col="amount", observation_period_end=end, freq="D"
                )
            )
        return {"seconds": secs, "rows": rows, "check": {"customers": len(df), "frequency_sum": float(df["frequency"].sum())}}
    if name in FIT_STEPS:
        return _model_fit(name, impl, folder)
    if name == "cohort_matrix":
        from engage_kit.cohorts import cohort_matrix

        _, purchases = _purchases(folder)
        secs, m = _timed(lambda: cohort_matrix(purchases, period="M", as_of=end))
        return {"seconds": secs, "rows": rows, "check": {"cohorts": int(len(m.cohorts))}}
    if name == "churn_features":
        import pandas as pd

        from engage_kit.churn import build_features

        con, purchases = _purchases(folder)
        customers = con.read_parquet(str(folder / "customers.parquet"), table_name="customers")
        cutoff = end - pd.Timedelta(days=90)
        secs, feats = _timed(lambda: build_features(purchases, cutoff=cutoff, customers=customers).execute())
        return {"seconds": secs, "rows": rows, "check": {"customers": len(feats), "columns": feats.shape[1]}}
    if name in ("load_csv", "load_parquet"):
        ext = "csv" if name == "load_csv" else "parquet"
        if impl == "kit":
            import engage_kit as ek

            cfg = folder / ("config_csv.yaml" if ext == "csv" else "config.yaml")
            secs, ds = _timed(lambda: ek.open_dataset(cfg))
            n = ds.reports["transactions"].rows
        else:
            import duckdb

            con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
            reader = "read_csv" if ext == "csv" else "read_parquet"
            path = str(folder / f"transactions.{ext}")
            secs, _ = _timed(lambda: con.execute(f"CREATE TABLE tx AS SELECT * FROM {reader}(?)", [path]))
            n = con.execute("SELECT count(*) FROM tx").fetchone()[0]
        return {"seconds": secs, "rows": rows, "check": {"rows": n}}
    if name in ("report_demo", "report_large"):
        jobs = "2" if impl == "kit" else "1"
        target = ["--dataset", "demo"] if name == "report_demo" else [str(subset_config(size, limit))]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "engage_kit.cli", "report", *target, "--out", tmp + "/out", "--jobs", jobs]
            secs, proc = _timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
            run_json = Path(tmp) / "out" / "run.json"
            notebooks = json.loads(run_json.read_text())["notebooks"] if run_json.exists() else []
        if name == "report_large" and limit is not None:
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(subset(size, limit)).metadata.num_rows
        return {
            "seconds": secs,
            "rows": rows if name == "report_large" else None,
            "check": {"exit_code": proc.returncode},
            # each notebook's own time (run in parallel with --jobs 2, so they add up to more than the run)
            "notebooks": {nb["name"]: {"seconds": nb.get("seconds"), "status": nb.get("status")} for nb in notebooks},
        }
    raise ValueError(name)


# --- the parent: run each step in a child process, sample its memory -----------------


def measure(name: str, impl: str, size: str, limit: int | None = None) -> dict:
    import psutil

    cmd = [sys.executable, __file__, "--child", name, "--impl", impl, "--size", size]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        proc = subprocess.Popen([*cmd, "--result", out.name], cwd=ROOT)
        parent = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                procs = [parent, *parent.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        if proc.returncode != 0:
            return {"error": f"exit code {proc.returncode}", "peak_mb": peak / 2**20}
        result = json.loads(Path(out.name).read_text() or "{}")
    result["peak_mb"] = round(peak / 2**20, 1)
    return result


REFERENCES = {
    "summary": "lifetimes",
    "summary_spark": "duckdb",
    "bgnbd_fit": "lifetimes",
    "bgnbd_fit_all": "lifetimes, all rows",
    "bgnbd_fit_pymc": "pymc-marketing MAP",
    "mbgnbd_fit": "lifetimes",
    "pareto_fit": "lifetimes",
    "cohort_matrix": None,
    "churn_features": None,
    "load_csv": "duckdb.read_csv",
    "load_parquet": "duckdb.read_parquet",
    "report_demo": "jobs=1",
    "report_large": None,
}


SCALED_STEPS = ("summary_spark", "report_large")  # measured at several sizes: is the cost linear?


def linear_fit(rows: list[dict]) -> dict | None:
    """Least-squares line seconds = a + b · rows over one step's sizes, and its largest miss.

    None with fewer than three measured sizes (two points always lie on a line).
    """
    import numpy as np

    pts = sorted((r["rows"], r["seconds"]) for r in rows if r.get("rows") and r.get("seconds"))
    if len(pts) < 3:
        return None
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    miss = y - (intercept + slope * x)
    worst = int(np.argmax(np.abs(miss)))
    return {"sizes": [int(v) for v in x], "intercept_seconds": round(float(intercept), 2),
            "seconds_per_million_rows": round(float(slope * 1e6), 2),
            "largest_deviation_seconds": round(float(miss[worst]), 2),
            "largest_deviation_share": round(float(miss[worst] / y[worst]), 4),
            "largest_deviation_rows": int(x[worst])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=STEPS)
    p.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=["kit", "ref"], default="kit", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        res = step(args.child, args.impl, args.size, args.limit)
        Path(args.result).write_text(json.dumps(res, default=str))
        return 0

    prepare(args.size)
    rows_out = []
    header = f"{'step':<15}{'rows':>12}{'seconds':>10}{'reference':>22}{'ref s':>9}{'speed-up':>10}{'peak MB':>10}"
    print(header)
    print("-" * len(header), flush=True)
    for name, limit in [(n, limit) for n in args.steps for limit in scales(n, args.size)]:
        if name == "report_large" and args.size != "full":
            continue
        if name == "summary_spark" and importlib.util.find_spec("pyspark") is None:
            print(f"{name:<15}skipped: pyspark is not installed (make setup installs the 'spark' extra)")
            continue
        if name in ("summary_spark", "report_large"):
            subset_config(args.size, limit)  # written once, before the measured processes
        if name in FIT_STEPS:
            _fit_summary(data_dir(args.size), read=False)  # made before the measured processes
        ref_name = REFERENCES[name]
        skipped = None
        if name == "bgnbd_fit_pymc" and importlib.util.find_spec("pymc_marketing") is None:
            skipped = "pymc-marketing is not installed (pip install -e '.[bench]')"
        kit = measure(name, "kit", args.size, limit)
        ref = measure(name, "ref", args.size, limit) if ref_name and not skipped else {}
        entry = {
            "step": name,
            "rows": kit.get("rows"),
            "seconds": round(kit["seconds"], 3) if "seconds" in kit else None,
            "reference": ref_name,
            "reference_seconds": round(ref["seconds"], 3) if "seconds" in ref else None,
            "peak_mb": kit.get("peak_mb"),
            "reference_peak_mb": ref.get("peak_mb"),
            "check": kit.get("check"),
            "reference_check": ref.get("check"),
            "error": kit.get("error") or ref.get("error"),
            "size": args.size,
        }
        if skipped:
            entry["reference_skipped"] = skipped
        if "customers" in kit:
            entry["customers"] = kit["customers"]
        if kit.get("notebooks"):
            entry["notebooks"] = kit["notebooks"]
        if name in FIT_STEPS:  # the same estimates on both sides
            a, b = kit.get("check") or {}, ref.get("check") or {}
            if a and b:
                entry["max_relative_difference"] = max(abs(a[k] / b[k] - 1) for k in a)
        for key in ("first_seconds", "startup_seconds"):  # first (cold) query; engine start, not timed
            if key in kit or key in ref:
                entry[key] = round(kit[key], 3) if key in kit else None
                entry[f"reference_{key}"] = round(ref[key], 3) if key in ref else None
        rows_out.append(entry)
        ratio = entry["reference_seconds"] / entry["seconds"] if entry["seconds"] and entry["reference_seconds"] else None
        speed = "" if ratio is None else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"
        startup = (
            f"  (best of {QUERY_RUNS}; first {entry['first_seconds']:.1f} s; "
            f"start-up {entry['startup_seconds']:.1f} s, not included)"
            if entry.get("first_seconds") and entry.get("startup_seconds")
            else ""
        )
        print(
            f"{name:<15}{entry['rows'] or '':>12}{entry['seconds'] or float('nan'):>10.2f}"
            f"{ref_name or '-':>22}{entry['reference_seconds'] or float('nan'):>9.2f}{speed:>10}"
            f"{entry['peak_mb'] or float('nan'):>10.0f}"
            + (f"  ERROR {entry['error']}" if entry["error"] else startup)
            + (f"  reference skipped: {skipped}" if skipped else "")
            + (f"  estimates within {entry['max_relative_difference']:.1e}" if "max_relative_difference" in entry else ""),
            flush=True,
        )
        for nb, figures in (entry.get("notebooks") or {}).items():
            print(f"    {nb:<28}{figures['seconds'] or float('nan'):>8.1f} s  {figures['status']}", flush=True)
    out = HERE / "last_run.json"
    previous = json.loads(out.read_text()) if out.exists() else []
    fresh = {r["step"] for r in rows_out}
    # rows of other sizes, and steps not run this time, keep their last figures
    kept = [r for r in previous if r.get("size") != args.size or r.get("step") not in fresh]
    merged = sorted(kept + rows_out, key=lambda r: (r.get("size") != "full", STEPS.index(r["step"]) if r["step"] in STEPS else 99))
    for name in SCALED_STEPS:  # the line through this size's rows goes on its largest row
        rows = [r for r in merged if r["step"] == name and r.get("size") == args.size]
        fit = linear_fit(rows)
        for r in rows:
            r.pop("linear_fit", None)
        if fit:
            max(rows, key=lambda r: r["rows"] or 0)["linear_fit"] = fit
            print(f"{name}: {fit['intercept_seconds']:.1f} s + {fit['seconds_per_million_rows']:.2f} s per million rows; "
                  f"largest deviation {fit['largest_deviation_seconds']:+.1f} s ({fit['largest_deviation_share']:+.1%}) "
                  f"at {fit['largest_deviation_rows']:,} rows")
    out.write_text(json.dumps(merged, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
