"""Load the tables a config names into the engine, check them and coerce their types.

Every table is read as raw text (CSV) or with its stored types (Parquet, Excel through
pandas), columns are mapped onto the canonical names (DESIGN.md, Data contract), and each
value is try-cast so that failures can be counted and shown with their row numbers. All
problems of all tables are collected and raised together as one :class:`DataError`;
warnings (returns, zero amounts, rows after ``as_of``, duplicate rows, rows with impossible
values left out, columns found under another spelling) are kept on the :class:`Dataset` and
printed by ``engage-kit validate``.

The work is split by stage: :mod:`.sources` reads, :mod:`.checks` maps, types and checks,
:mod:`.rules` applies the data contract's rules; :mod:`.datanotes` holds what each table's
loading found. This module opens datasets and snapshots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from . import engine as eng
from .checks import _load_table
from .config import Config
from .datanotes import DERIVED_TABLES, TableReport
from .engine import connect
from .errors import DataError
from .rules import _finish, _implausible_dates, _latest_plausible
from .schema import TABLES
from .sources import _table_name


class Dataset:
    """Validated canonical tables in an engine, with the config that produced them.

    Tables are Ibis tables (``ds["transactions"]``); ``to_pandas(name)`` returns one as a
    DataFrame for interactive use. ``orders`` collapses order lines to orders, returns
    (amount < 0) kept apart from purchases. Beside the config's tables, ``tables`` holds
    the ones the loader derives from transactions (:data:`DERIVED_TABLES`):
    ``order_returns`` (purchases and returns before matching, for the return figures) and,
    with ``missing_customer_id: guest``, ``guest_transactions``.
    """

    def __init__(
        self,
        config: Config,
        con: Any,
        tables: dict[str, ibis.Table],
        *,
        as_of: pd.Timestamp,
        reports: dict[str, TableReport] | None = None,
        activity: Any = None,
    ) -> None:
        self.config = config
        self.con = con
        self.tables = tables
        self.as_of = pd.Timestamp(as_of).normalize()
        self.reports = reports or {}
        # the activity window chosen from these transactions at as_of, when a report run
        # worked it out once for all its notebooks (an ActiveWindow; None: not yet known)
        self.activity = activity

    # --- access -----------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def has(self, name: str) -> bool:
        """True when the dataset has table ``name``."""
        return name in self.tables

    def __getitem__(self, name: str) -> ibis.Table:
        return self.table(name)

    def table(self, name: str) -> ibis.Table:
        """The canonical Ibis table ``name``; a clear error when the dataset has none."""
        if name not in self.tables:
            have = ", ".join(self.tables) or "none"
            raise DataError(
                f"table '{name}' is not in this dataset ({self.config.label}); tables loaded: {have}"
            )
        return self.tables[name]

    def to_pandas(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a pandas DataFrame (for interactive use and small tables)."""
        return self.table(name).execute()

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.reports.values() for w in r.warnings]

    @property
    def as_of_end(self) -> pd.Timestamp:
        """The first instant after ``as_of`` (as_of is inclusive)."""
        return self.as_of + pd.Timedelta(days=1)

    @property
    def orders(self) -> ibis.Table:
        """One row per order: rows sharing an order_id are one order (amounts summed).

        Purchases (amount >= 0) and returns (amount < 0) are collapsed separately, so a
        return booked under its order's id never nets away the purchase. Columns:
        order_id, customer_id, timestamp (the order's first row), amount, quantity,
        channel, is_return.
        """
        t = self.table("transactions")
        t = t.mutate(is_return=t.amount < 0)
        return t.group_by(["order_id", "is_return"]).aggregate(
            customer_id=t.customer_id.arbitrary(),
            timestamp=t.timestamp.min(),
            amount=t.amount.sum(),
            quantity=t.quantity.sum(),
            channel=t.channel.arbitrary(),
        )

    @property
    def purchases(self) -> ibis.Table:
        """Orders that are purchases (amount >= 0, zero amounts included)."""
        o = self.orders
        return o.filter(~o.is_return)

    def customer_attributes(self) -> list[str]:
        """Columns of the customers table that can split a report (segment, country...)."""
        if "customers" not in self.tables:
            return []
        skip = {"customer_id", "signup_at", "churned"}
        return [c for c in self.tables["customers"].columns if c not in skip]

    def summary(self) -> pd.DataFrame:
        """Rows, customers and date range per table."""
        rows = []
        for name, r in self.reports.items():
            rows.append(
                {
                    "table": name,
                    "source": r.source,
                    "rows": r.rows,
                    "customers": r.customers,
                    "from": r.start.date() if r.start is not None and pd.notna(r.start) else None,
                    "to": r.end.date() if r.end is not None and pd.notna(r.end) else None,
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {r.rows:,} rows" for n, r in self.reports.items())
        return f"<Dataset {self.config.label}, as_of {self.as_of.date()}: {parts}>"




def load_dataset(
    config: Config,
    *,
    con: Any = None,
    as_of: str | dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Load and validate every table of ``config``; raise one DataError listing all problems.

    Parameters
    ----------
    config : Config
        The validated config.
    con : Ibis backend, optional
        An open engine connection; by default one is opened from ``config.engine``.
    as_of : date, optional
        Overrides ``config.as_of``. Default: the last transaction date. Inclusive.
    progress : callable, optional
        Called with a short message as each table is loaded.

    The engine running out of memory in any step is a DataError naming engine.memory_limit.
    """
    con = con or connect(config.engine, timezone=config.timezone)
    try:
        return _load_dataset(config, con=con, as_of=as_of, progress=progress)
    except Exception as e:
        if eng.is_out_of_memory(e) and not isinstance(e, DataError):
            raise eng.memory_error(con, e, f"loading the data of {config.label}") from None
        raise


def _load_dataset(
    config: Config,
    *,
    con: Any,
    as_of: str | dt.date | None,
    progress: Callable[[str], None] | None,
) -> Dataset:
    """:func:`load_dataset` on an open connection."""
    reports: dict[str, TableReport] = {}
    staged: dict[str, ibis.Table] = {}
    for name, tcfg in config.tables.items():
        if progress:
            progress(f"loading {name} from {tcfg.source}")
        report = TableReport(name=name, source=tcfg.source)
        reports[name] = report
        try:
            t = _load_table(con, tcfg, config, report)
        except DataError as e:  # this table cannot be read at all: go on with the others
            report.errors.append(str(e))
            t = None
        if t is not None:
            staged[name] = t
    errors = [e for r in reports.values() for e in r.errors]
    if errors:
        raise DataError(
            f"{len(errors)} problem(s) in the data of {config.label}:\n  - " + "\n  - ".join(errors)
        )

    for name, t in staged.items():
        if TABLES[name].time_column:
            _implausible_dates(t, TABLES[name].time_column, config.tables[name], reports[name])
    as_of_value = as_of or config.as_of
    if as_of_value is None:
        anchor = "transactions" if "transactions" in staged else None
        if anchor:
            t = staged[anchor]
            latest = _latest_plausible(config.tables[anchor])
            last = t.timestamp.max().execute()
            if last is not None and pd.notna(last) and pd.Timestamp(last) > latest:
                kept = t.filter(t.timestamp <= latest.to_pydatetime()).timestamp.max().execute()
                if kept is not None and pd.notna(kept):
                    reports[anchor].warnings.append(
                        f"table {anchor} ({config.tables[anchor].source}): as_of is {pd.Timestamp(kept).date()}, the last "
                        f"date before the implausible future dates (the latest is {pd.Timestamp(last).date()}); "
                        "set as_of in the config to choose another"
                    )
                    last = kept
        else:
            candidates = [
                staged[n][TABLES[n].time_column].max().execute()
                for n in staged
                if TABLES[n].time_column
            ]
            candidates += [staged[n].signup_at.max().execute() for n in staged if n == "customers"]
            candidates = [c for c in candidates if c is not None and pd.notna(c)]
            last = max(candidates) if candidates else pd.Timestamp.today()
        as_of_ts = pd.Timestamp(last).normalize()
    else:
        as_of_ts = pd.Timestamp(as_of_value).normalize()
    as_of_end = as_of_ts + pd.Timedelta(days=1)

    tables: dict[str, ibis.Table] = {}
    derived: dict[str, ibis.Table] = {}
    for name, t in staged.items():
        tables[name], side = _finish(con, name, t, as_of_end, reports[name],
                                     f"table {name} ({config.tables[name].source})", config.tables[name])
        derived.update(side)
        for helper in (f"ek_stage_{name}", _table_name(name), f"{_table_name(name)}_rows",
                       "ek_return_matches", "ek_orders_check", "ek_excluded_orders"):
            eng.drop(con, helper)
    tables.update(derived)
    if "transactions" in tables and reports["transactions"].rows == 0:
        raise DataError(
            f"table transactions ({config.tables['transactions'].source}): no rows on or before "
            f"as_of {as_of_ts.date()}; set as_of to a later date"
        )
    return Dataset(config, con, tables, as_of=as_of_ts, reports=reports)


def open_snapshot(path: str | Path, *, con: Any = None) -> Dataset:
    """Open a validated snapshot written by :func:`write_snapshot` (no checks re-run)."""
    import json

    from .config import parse_config

    path = Path(path)
    meta = json.loads((path / "snapshot.json").read_text(encoding="utf-8"))
    config = parse_config(meta["config"], base_dir=path)
    config.name = meta.get("name") or meta.get("source")
    con = con or connect(config.engine, timezone=config.timezone)
    tables = {}
    reports = {}
    for name, info in meta["tables"].items():
        tables[name] = con.read_parquet(str(path / f"{name}.parquet"), table_name=f"ek_{name}")
        if info.get("derived"):
            continue
        reports[name] = TableReport(
            name=name,
            source=info["source"],
            rows=info["rows"],
            customers=info.get("customers"),
            start=pd.Timestamp(info["start"]) if info.get("start") else None,
            end=pd.Timestamp(info["end"]) if info.get("end") else None,
            warnings=info.get("warnings", []),
        )
    activity = None
    if meta.get("activity"):
        from .activity import ActiveWindow

        activity = ActiveWindow(**meta["activity"])
    return Dataset(config, con, tables, as_of=pd.Timestamp(meta["as_of"]), reports=reports, activity=activity)


def write_snapshot(ds: Dataset, path: str | Path, *, activity: Any = None, memory_limit: str | None = None) -> Path:
    """Write the validated tables as Parquet plus ``snapshot.json`` so notebooks skip checks.

    ``activity``: the activity window chosen from the transactions at ``ds.as_of``
    (:func:`engage_kit.activity.active_window`), kept so that every notebook of a run
    reads it instead of working it out again (a pass over the purchases each).
    ``memory_limit``: the engine memory limit of each notebook that reads the snapshot,
    in place of the config's (a parallel run's share, :func:`engage_kit.engine.memory_share`).
    """
    import dataclasses
    import json

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    info = {}
    for name, t in ds.tables.items():
        eng.write_parquet(ds.con, t, path / f"{name}.parquet")
        r = ds.reports.get(name, TableReport(name=name, source=name))
        info[name] = {
            "source": r.source,
            "rows": r.rows,
            "customers": r.customers,
            "start": None if r.start is None or pd.isna(r.start) else pd.Timestamp(r.start).isoformat(),
            "end": None if r.end is None or pd.isna(r.end) else pd.Timestamp(r.end).isoformat(),
            "warnings": r.warnings,
        }
    cfg = ds.config.to_dict()
    cfg["tables"] = {name: {"path": f"{name}.parquet"} for name in ds.tables if name not in DERIVED_TABLES}
    for name in DERIVED_TABLES:  # opened as tables, not read through the config again
        if name not in ds.tables:
            continue
        info[name]["derived"] = True
    cfg["as_of"] = ds.as_of.date().isoformat()
    if memory_limit is not None:
        cfg["engine"] = {**(cfg.get("engine") or {}), "memory_limit": memory_limit}
    meta = {
        "name": ds.config.name,
        "source": str(ds.config.source) if ds.config.source else None,
        "as_of": ds.as_of.date().isoformat(),
        "config": cfg,
        "tables": info,
    }
    if activity is not None:
        meta["activity"] = dataclasses.asdict(activity)
    (path / "snapshot.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def is_snapshot(path: str | Path) -> bool:
    """True when ``path`` is a snapshot folder."""
    p = Path(path)
    return p.is_dir() and (p / "snapshot.json").exists()
