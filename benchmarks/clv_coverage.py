"""Coverage of the CLV bootstrap intervals and recovery of covariate effects, at full size.

Usage::

    .venv/bin/python benchmarks/clv_coverage.py                  # everything
    .venv/bin/python benchmarks/clv_coverage.py --only coverage --datasets 40 --n-boot 200
    .venv/bin/python benchmarks/clv_coverage.py --only speed     # 200 refits on the 20,000-customer demo
    .venv/bin/python benchmarks/clv_coverage.py --only covariates

- ``coverage``: ``--datasets`` data sets of ``--customers`` customers simulated from known
  BG/NBD parameters; the share of them whose 95% percentile-bootstrap interval (``--n-boot``
  draws) covers the true value, per parameter. The target is 85-100% for 40 data sets of
  2,000 customers and 200 draws (95% nominal; with 40 data sets one miss is 2.5 points).
- ``speed``: wall time of ``bootstrap.intervals`` with the Gamma-Gamma spend model and
  per-customer CLV intervals on the demo data (20,000 customers), 200 draws.
- ``covariates``: BG/NBD and Pareto/NBD with a categorical and a numeric covariate on both
  processes, simulated with known effects: the estimates, their 95% Wald intervals, how
  often the intervals cover the truth over ``--datasets`` data sets, and the likelihood-
  ratio test against the model without covariates.

The figures are printed and written to ``benchmarks/clv_coverage.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TRUTH = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}


def coverage(datasets: int, customers: int, n_boot: int, seed: int) -> dict[str, Any]:
    """Share of simulated data sets whose bootstrap intervals cover the true parameters."""
    from engage_kit import clv
    from engage_kit.clv import bootstrap, simulate

    hits = {k: 0 for k in TRUTH}
    widths: dict[str, list[float]] = {k: [] for k in TRUTH}
    failed = 0
    started = time.perf_counter()
    for i in range(datasets):
        df = simulate.simulate_bgnbd(customers, TRUTH, seed=seed + i)
        model = clv.fit_bgnbd(clv.compress(df))
        boot = bootstrap.intervals(df, model, n_boot=n_boot, seed=seed + i)
        failed += boot.n_failed
        par = boot.parameters().set_index("parameter")
        for k, v in TRUTH.items():
            hits[k] += int(par.loc[k, "low"] <= v <= par.loc[k, "high"])
            widths[k].append(float(par.loc[k, "high"] / par.loc[k, "low"]))
    seconds = time.perf_counter() - started
    return {
        "datasets": datasets, "customers": customers, "n_boot": n_boot, "seed": seed,
        "coverage": {k: hits[k] / datasets for k in TRUTH},
        "median_high_over_low": {k: float(np.median(v)) for k, v in widths.items()},
        "failed_refits": failed, "seconds": seconds,
        "seconds_per_refit": seconds / (datasets * n_boot),
    }


def speed(n_boot: int) -> dict[str, Any]:
    """Wall time of the full-period bootstrap on the 20,000-customer demo."""
    import engage_kit.clv  # noqa: F401  (the package first: it imports the engine in order)
    from engage_kit import clv
    from engage_kit.clv import bootstrap
    from engage_kit.datasets import generate_demo

    demo = generate_demo(20_000, seed=42, tables=("transactions",))
    tx = demo.tables["transactions"]
    tx = tx[tx["amount"] >= 0]
    orders = tx.groupby("order_id", as_index=False).agg(customer_id=("customer_id", "first"),
                                                        timestamp=("timestamp", "min"), amount=("amount", "sum"))
    summary = clv.customer_summary(orders, end=demo.truth["end"]).execute()
    model = clv.fit_bgnbd(clv.compress(summary))
    gg = clv.fit_gamma_gamma(summary)
    started = time.perf_counter()
    purchases_only = bootstrap.intervals(summary, model, n_boot=n_boot, seed=0, holdout_duration=26.0)
    mid = time.perf_counter()
    boot = bootstrap.intervals(summary, model, gamma_gamma=gg, n_boot=n_boot, seed=0, horizon=52)
    done = time.perf_counter()
    par = boot.parameters()
    return {
        "customers": int(summary.shape[0]), "rows": int(len(boot.rows)), "n_boot": n_boot,
        "seconds_bgnbd_only": mid - started, "seconds_with_spend_and_customers": done - mid,
        "failed": boot.n_failed + purchases_only.n_failed,
        "parameters": par.round(4).to_dict(orient="records"),
        "ml_standard_errors": {**model.standard_errors_, **{f"gamma_gamma.{k}": v for k, v in gg.standard_errors_.items()}},
        "figures": boot.figures,
    }


def covariates(datasets: int, customers: int, seed: int) -> dict[str, Any]:
    """Recovery of known covariate effects (BG/NBD and Pareto/NBD)."""
    from engage_kit.clv import covariates as cov
    from engage_kit.clv import simulate

    out: dict[str, Any] = {}
    specs = {
        "bgnbd": (simulate.simulate_bgnbd, TRUTH),
        "pareto_nbd": (simulate.simulate_pareto_nbd, {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 12.0}),
    }
    gamma_rate = np.array([np.log(1.4), 0.0, -0.2])
    gamma_drop = np.array([np.log(0.7), 0.3, 0.0])
    for key, (sim, base) in specs.items():
        hits: dict[str, int] = {}
        est: dict[str, list[float]] = {}
        p_values = []
        started = time.perf_counter()
        for i in range(datasets):
            rng = np.random.default_rng(seed + 1000 + i)
            channel = rng.choice(["organic", "referral", "paid"], customers, p=[0.5, 0.3, 0.2])
            tenure = rng.normal(0.0, 1.0, customers)
            customers_df = pd.DataFrame({"channel": channel, "tenure": tenure})
            design = cov.design_matrix(customers_df, ["channel", "tenure"], reference={"channel": "organic"})
            z = design.matrix
            truth_r = dict(zip(design.names, gamma_rate, strict=True))
            truth_d = dict(zip(design.names, gamma_drop, strict=True))
            df = sim(customers, base, seed=seed + i, z=z, gamma_rate=gamma_rate, gamma_dropout=gamma_drop)
            df = pd.concat([df, customers_df], axis=1)
            fit = cov.fit_covariates(df, ["channel", "tenure"], model=key, reference={"channel": "organic"})
            p_values.append(fit.lr_test()["p_value"])
            table = fit.effects()
            for row in table.itertuples():
                truth = (truth_r if row.process == "purchase" else truth_d)[row.covariate]
                name = f"{row.process}.{row.covariate}"
                hits[name] = hits.get(name, 0) + int(row.low_log <= truth <= row.high_log)
                est.setdefault(name, []).append(float(row.coefficient))
        out[key] = {
            "datasets": datasets, "customers": customers,
            "truth": {"purchase": dict(zip(design.names, gamma_rate.tolist(), strict=True)),
                      "dropout": dict(zip(design.names, gamma_drop.tolist(), strict=True))},
            "mean_estimate": {k: float(np.mean(v)) for k, v in est.items()},
            "coverage_95": {k: v / datasets for k, v in hits.items()},
            "lr_test_median_p": float(np.median(p_values)),
            "seconds_per_fit": (time.perf_counter() - started) / datasets,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["coverage", "speed", "covariates"], action="append")
    ap.add_argument("--datasets", type=int, default=40)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=str(HERE / "clv_coverage.json"))
    args = ap.parse_args()
    parts = args.only or ["coverage", "speed", "covariates"]
    results: dict[str, Any] = {}
    if "speed" in parts:
        results["speed"] = speed(args.n_boot)
        print(json.dumps({"speed": results["speed"]}, indent=1, default=float))
    if "coverage" in parts:
        results["coverage"] = coverage(args.datasets, args.customers, args.n_boot, args.seed)
        print(json.dumps({"coverage": results["coverage"]}, indent=1, default=float))
    if "covariates" in parts:
        results["covariates"] = covariates(min(args.datasets, 20), 4 * args.customers, args.seed)
        print(json.dumps({"covariates": results["covariates"]}, indent=1, default=float))
    Path(args.out).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
