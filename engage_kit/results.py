"""results.json: headline figures, machine-readable (DESIGN.md, Output contract).

Dotted keys (``email.open_rate``) become nested objects; rates with intervals are
``{value, low, high, n}`` objects; dates are ISO strings; a ``meta`` object records the
schema version, the kit version, the parameters, the data's date range and the run time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Convert numpy, pandas, dates and Estimates to plain JSON values (NaN -> null)."""
    from .stats import Estimate

    if isinstance(value, Estimate):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return to_jsonable(value.to_dict())
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if pd.isna(value):
            return None
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is None or isinstance(value, (str, int)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Turn dotted keys into nested objects: {"a.b": 1} -> {"a": {"b": 1}}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def write_results(
    output_dir: str | Path,
    results: dict[str, Any],
    *,
    notebook: str,
    parameters: dict[str, Any] | None = None,
    dataset: Any = None,
    started: dt.datetime | None = None,
) -> Path:
    """Write ``<output_dir>/results.json`` with a ``meta`` object; return its path."""
    from ._version import __version__

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    meta: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kit_version": __version__,
        "notebook": notebook,
        "parameters": parameters or {},
        "run_at": now.isoformat(timespec="seconds"),
    }
    if started is not None:
        meta["run_seconds"] = round((now - started).total_seconds(), 2)
    if dataset is not None:
        meta["dataset"] = dataset.config.label
        meta["title"] = dataset.config.title
        meta["as_of"] = dataset.as_of
        rep = dataset.reports.get("transactions") or next(iter(dataset.reports.values()), None)
        if rep is not None:
            meta["data_start"] = rep.start
            meta["data_end"] = rep.end
    payload = nest(results)
    payload["meta"] = meta
    path = output_dir / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(payload), indent=2, allow_nan=False), encoding="utf-8")
    tmp.replace(path)
    return path
