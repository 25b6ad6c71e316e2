"""Compare two report runs: every results.json and CSV export, counts exactly, floats to a tolerance.

Usage: ``.venv/bin/python -m tests.compare_runs OLD_OUT NEW_OUT [--rel 1e-9] [--only NAME ...]``.
Prints one line per difference and a summary; exits 1 when anything differs. Run times and
other per-run fields of ``meta`` are left out. Used to check that a change of structure
leaves every figure as it was.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

META_ONLY_FIELDS = {"run_at", "run_seconds", "dataset", "engine", "started", "version", "kit_version"}


def differences(a, b, path: str = "", *, rel: float = 1e-9, left: str = "old", right: str = "new") -> list[str]:
    """Where two results.json trees differ: ints and text exactly, floats to ``rel`` (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if path == "/meta" and k in META_ONLY_FIELDS:
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {left if k in a else right}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}", rel=rel, left=left, right=right)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]", rel=rel, left=left, right=right)]
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return [] if a is b else [f"{path}: {a} vs {b}"]
        if math.isnan(a) and math.isnan(b):
            return []
        return [] if math.isclose(a, b, rel_tol=rel, abs_tol=rel) else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def csv_differences(a: Path, b: Path, *, rel: float) -> list[str]:
    x, y = pd.read_csv(a), pd.read_csv(b)
    if list(x.columns) != list(y.columns):
        return [f"{a.name}: columns {list(x.columns)} vs {list(y.columns)}"]
    if len(x) != len(y):
        return [f"{a.name}: {len(x)} vs {len(y)} rows"]
    out = []
    for c in x.columns:
        if pd.api.types.is_float_dtype(x[c]) or pd.api.types.is_float_dtype(y[c]):
            u, v = pd.to_numeric(x[c], errors="coerce"), pd.to_numeric(y[c], errors="coerce")
            bad = ~((u.isna() & v.isna()) | ((u - v).abs() <= rel * (1 + u.abs())))
        else:
            both_missing = x[c].isna() & y[c].isna()  # pandas 3: a missing text stays missing after astype(str)
            bad = ~both_missing & (x[c].astype(str) != y[c].astype(str))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            out.append(f"{a.name}: column {c}, {int(bad.sum())} rows differ, first row {i}: {x[c].iloc[i]!r} vs {y[c].iloc[i]!r}")
    return out


def compare(old: Path, new: Path, *, rel: float = 1e-9, only: list[str] | None = None) -> list[str]:
    out = []
    for folder in sorted(p for p in old.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if only and folder.name not in only:
            continue
        other = new / folder.name
        if not other.is_dir():
            out.append(f"{folder.name}: missing in {new}")
            continue
        for f in sorted(folder.iterdir()):
            g = other / f.name
            if f.suffix not in (".json", ".csv"):
                continue
            if not g.exists():
                out.append(f"{folder.name}/{f.name}: missing in {new}")
            elif f.suffix == ".json":
                a, b = json.loads(f.read_text()), json.loads(g.read_text())
                out += [f"{folder.name}/{f.name}{d}" for d in differences(a, b, rel=rel)]
            else:
                out += [f"{folder.name}/{d}" for d in csv_differences(f, g, rel=rel)]
        extra = sorted({g.name for g in other.iterdir() if g.suffix in (".json", ".csv")}
                       - {f.name for f in folder.iterdir()})
        out += [f"{folder.name}/{n}: only in {new}" for n in extra]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rel", type=float, default=1e-9)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args(argv)
    diffs = compare(args.old, args.new, rel=args.rel, only=args.only)
    for d in diffs:
        print(d)
    print(f"{len(diffs)} difference(s) between {args.old} and {args.new}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
