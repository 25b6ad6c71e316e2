"""Speed and memory of the heavy steps, each beside its reference, measured in one run.

Usage: ``make bench`` (10M transaction rows, 1M customers) or ``make bench SIZE=small``
(a tenth of that). Data is generated once with the demo generator and cached under
``benchmarks/data/<size>/``. Every step runs in a fresh process; its peak resident memory
is sampled over the whole process tree. The table is printed and written to
``benchmarks/last_run.json``.
"""

from __future__ import annotations

import argparse
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
    "bgnbd_fit",
    "cohort_matrix",
    "churn_features",
    "load_csv",
    "load_parquet",
    "report_demo",
    "report_large",
]
MEMORY_LIMIT = "3GB"  # per engine; DuckDB takes 80% of memory unless told otherwise


def data_dir(size: str) -> Path:
    return HERE / "data" / size


def prepare(size: str) -> Path:
    """Generate (once) transactions and customers at ``size``; Parquet, CSV and two configs."""
    folder = data_dir(size)
    done = folder / "ready"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    n, start = SIZES[size]
    print(f"generating the {size} benchmark data ({n:,} customers, {start} to {END}) ...", flush=True)
    sys.path.insert(0, str(ROOT))
    from engage_kit.datasets import generate_demo

    demo = generate_demo(n, seed=2024, start=start, end=END, tables=("transactions", "customers"))
    tx = demo.tables["transactions"]
    tx.to_parquet(folder / "transactions.parquet", index=False)
    tx.to_csv(folder / "transactions.csv", index=False)
    demo.tables["customers"].to_parquet(folder / "customers.parquet", index=False)
    for name, ext in (("config.yaml", "parquet"), ("config_csv.yaml", "csv")):
        (folder / name).write_text(
            "title: Benchmark data\n"
            f"engine: {{kind: duckdb, memory_limit: {MEMORY_LIMIT}}}\n"
            "tables:\n"
            f"  transactions: {{path: transactions.{ext}}}\n"
            "  customers: {path: customers.parquet}\n"
        )
    (folder / "rows.txt").write_text(str(len(tx)))
    done.write_text("ok")
    return folder


# --- steps, each run in its own process ------------------------------------------------


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _purchases(folder: Path):
    import ibis

    con = ibis.duckdb.connect(memory_limit=MEMORY_LIMIT)
    tx = con.read_parquet(str(folder / "transactions.parquet"), table_name="tx")
    return con, tx.filter(tx.amount >= 0)


def step(name: str, impl: str, size: str) -> dict:
    """Run one step with one implementation (``kit`` or ``ref``); return seconds and a check."""
    folder = data_dir(size)
    rows = int((folder / "rows.txt").read_text())
    end = __import__("pandas").Timestamp(END)
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
    if name == "bgnbd_fit":
        from engage_kit.clv import customer_summary, fit_bgnbd

        _, purchases = _purchases(folder)
        summary = customer_summary(purchases, end=end, time_unit="W").execute()
        if impl == "kit":
            secs, model = _timed(lambda: fit_bgnbd(summary))
            params = dict(model.params_)
        else:
            from lifetimes import BetaGeoFitter

            f, r, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
            secs, model = _timed(lambda: BetaGeoFitter().fit(f, r, T))
            params = {k: float(model.params_[k]) for k in ("r", "alpha", "a", "b")}
        return {"seconds": secs, "rows": len(summary), "check": {k: float(v) for k, v in params.items()}}
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
            import pandas as pd

            reader = pd.read_csv if ext == "csv" else pd.read_parquet
            secs, df = _timed(lambda: reader(folder / f"transactions.{ext}"))
            n = len(df)
        return {"seconds": secs, "rows": rows, "check": {"rows": n}}
    if name in ("report_demo", "report_large"):
        jobs = "2" if impl == "kit" else "1"
        target = ["--dataset", "demo"] if name == "report_demo" else [str(folder / "config.yaml")]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "engage_kit.cli", "report", *target, "--out", tmp + "/out", "--jobs", jobs]
            secs, proc = _timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        return {"seconds": secs, "rows": rows if name == "report_large" else None, "check": {"exit_code": proc.returncode}}
    raise ValueError(name)


# --- the parent: run each step in a child process, sample its memory -----------------


def measure(name: str, impl: str, size: str) -> dict:
    import psutil

    cmd = [sys.executable, __file__, "--child", name, "--impl", impl, "--size", size]
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
    "bgnbd_fit": "lifetimes",
    "cohort_matrix": None,
    "churn_features": None,
    "load_csv": "pandas.read_csv",
    "load_parquet": "pandas.read_parquet",
    "report_demo": "jobs=1",
    "report_large": None,
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=STEPS)
    p.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=["kit", "ref"], default="kit", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        res = step(args.child, args.impl, args.size)
        Path(args.result).write_text(json.dumps(res, default=str))
        return 0

    prepare(args.size)
    rows_out = []
    header = f"{'step':<15}{'rows':>12}{'seconds':>10}{'reference':>22}{'ref s':>9}{'speed-up':>10}{'peak MB':>10}"
    print(header)
    print("-" * len(header), flush=True)
    for name in args.steps:
        if name == "report_large" and args.size != "full":
            continue
        kit = measure(name, "kit", args.size)
        ref_name = REFERENCES[name]
        ref = measure(name, "ref", args.size) if ref_name else {}
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
        rows_out.append(entry)
        speed = (
            f"{entry['reference_seconds'] / entry['seconds']:.1f}x"
            if entry["seconds"] and entry["reference_seconds"]
            else ""
        )
        print(
            f"{name:<15}{entry['rows'] or '':>12}{entry['seconds'] or float('nan'):>10.2f}"
            f"{ref_name or '-':>22}{entry['reference_seconds'] or float('nan'):>9.2f}{speed:>10}"
            f"{entry['peak_mb'] or float('nan'):>10.0f}" + (f"  ERROR {entry['error']}" if entry["error"] else ""),
            flush=True,
        )
    out = HERE / "last_run.json"
    previous = json.loads(out.read_text()) if out.exists() else []
    fresh = {r["step"] for r in rows_out}
    kept = [r for r in previous if r.get("step") not in fresh and r.get("size") == args.size]
    merged = sorted(kept + rows_out, key=lambda r: STEPS.index(r["step"]) if r["step"] in STEPS else 99)
    out.write_text(json.dumps(merged, indent=2))  # steps not run this time keep their last figures
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
