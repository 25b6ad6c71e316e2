"""The ``engage-kit`` command (DESIGN.md, CLI contract).

Bad input anywhere prints a message naming the table, column and example rows and exits
with code 2, without a Python traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import DataError, EngageKitError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="engage-kit",
        description="Customer-engagement analytics: render reports, validate data, write demo data.",
    )
    p.add_argument("--version", action="version", version=f"engage-kit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")

    r = sub.add_parser(
        "report",
        parents=[debug],
        help="render every report (HTML, executed notebooks, results.json) and the index page",
        description="Render the reports. Without CONFIG and --dataset, the built-in demo data is used.",
    )
    r.add_argument("config", nargs="?", help="config YAML file (see README)")
    r.add_argument("--dataset", choices=["demo", "cdnow", "cdnow-sample", "demo-occasions", "demo-subscriptions"], help="a built-in dataset instead of a config")
    r.add_argument("--out", help="output folder (default: reports/<dataset>)")
    r.add_argument("--only", nargs="+", metavar="NAME", help="render only these notebooks")
    r.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME.PARAM=VALUE",
        help="set a notebook parameter, e.g. --set churn_prediction.inactivity_days=60 (repeatable)",
    )
    r.add_argument("--jobs", type=int, default=1, metavar="N", help="notebooks run at once, in separate processes, each with cores / N OpenMP threads (default 1)")
    r.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds any one cell may run, whole seconds (fractions round up; default: no limit)")
    r.add_argument("--show-code", action="store_true", help="include the code, folded under 'Show code'")
    r.add_argument("--show-ids", action="store_true", help="show real customer ids in HTML (default: pseudonymised)")

    v = sub.add_parser(
        "validate",
        parents=[debug],
        help="load every table and report rows, customers, date range and every problem",
    )
    v.add_argument("config", help="config YAML file, or a built-in dataset name")

    sub.add_parser(
        "presets",
        parents=[debug],
        help="list the import presets (preset: NAME in a table's config) with the columns each expects",
    )

    d = sub.add_parser("demo-data", parents=[debug], help="write the synthetic demo dataset and a config for it")
    d.add_argument("directory", help="folder to write into (created if needed)")
    d.add_argument("--customers", type=int, default=None, help="number of customers (default 20,000)")
    d.add_argument("--seed", type=int, default=None, help="random seed (default 42)")
    d.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format of the tables")
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from . import resolve_config
    from .loaders import load_dataset
    from .readiness import report_readiness

    config = resolve_config(args.config)
    if config.notebooks:  # the notebooks: section is checked as report checks it, before the data
        from .report.runner import resolve_parameters, select_notebooks

        resolve_parameters(select_notebooks(None), config, [])
    ds = load_dataset(config, progress=lambda m: print(f"  {m}", file=sys.stderr))
    summary = ds.summary()
    ready = report_readiness(ds)
    if all(ready.values()):
        raise DataError(
            f"{config.label}: no report can run on this data:\n  - " + "\n  - ".join(f"{n} {why}" for n, why in ready.items())
        )
    print(f"{config.label}: usable. as_of {ds.as_of.date()} (inclusive)")
    with_pd = summary.astype(object).where(summary.notna(), "").to_string(index=False)  # blanks, any dtype
    print(with_pd)
    print("\nreports:")
    for name, why in ready.items():
        print(f"  {name}: " + ("can run" if why is None else f"skipped: it {why}"))
    if ds.warnings:
        print(f"\n{len(ds.warnings)} warning(s):")
        for w in ds.warnings:
            print(f"  - {w}")
    else:
        print("\nno problems found")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from .presets import describe

    print(describe(), end="")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .datasets import DEMO_CUSTOMERS, DEMO_SEED, write_demo

    n = DEMO_CUSTOMERS if args.customers is None else args.customers
    if n < 10:
        raise EngageKitError("--customers must be at least 10")
    if args.seed is not None and args.seed < 0:
        raise EngageKitError(f"--seed must be a whole number >= 0, got {args.seed}")
    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise EngageKitError(f"{target} is a file, not a folder; give a new folder (or an existing one) to write the demo dataset into")
    try:
        path = write_demo(target, n, seed=args.seed if args.seed is not None else DEMO_SEED, fmt=args.format)
    except OSError as e:  # a parent is a file, no permission, disk full...
        what = f" ({e.filename})" if e.filename else ""
        raise EngageKitError(f"cannot write the demo dataset into {target}: {e.strerror or e}{what}") from None
    print(f"wrote the demo dataset ({n:,} customers) and {path}")
    print(f"next: engage-kit validate {path}  |  engage-kit report {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from . import resolve_config
    from .report import run_report

    if args.config and args.dataset:
        raise EngageKitError("give either CONFIG or --dataset, not both")
    if args.jobs < 1:
        raise EngageKitError(f"--jobs must be at least 1, got {args.jobs}")
    if args.out is not None and not args.out.strip():
        raise EngageKitError("--out is empty; name the output folder, e.g. --out reports/acme (or leave --out out for reports/<name>)")
    if args.timeout is not None and not (0 < args.timeout < float("inf")):
        raise EngageKitError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    config = resolve_config(args.config or args.dataset or "demo")
    results = run_report(
        config,
        out=args.out,
        only=args.only,
        sets=args.sets,
        jobs=args.jobs,
        timeout=args.timeout,
        show_code=args.show_code,
        show_ids=args.show_ids,
    )
    return 0 if all(r.status in ("ok", "skipped", "not_applicable") for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``engage-kit`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    handlers = {"report": _cmd_report, "validate": _cmd_validate, "demo-data": _cmd_demo,
                "presets": _cmd_presets}
    try:
        return handlers[args.command](args)
    except EngageKitError as e:
        if getattr(args, "debug", False):
            raise
        print(f"engage-kit {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        terminated = type(e).__name__ == "Terminated"  # SIGTERM, raised by the report runner
        print(f"engage-kit: {'terminated' if terminated else 'interrupted'}; previous output left untouched", file=sys.stderr)
        return 143 if terminated else 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
