"""Load the tables a config names into the engine, check them and coerce their types.

Every table is read as raw text (CSV) or with its stored types (Parquet, Excel through
pandas), columns are mapped onto the canonical names (DESIGN.md, Data contract), and each
value is try-cast so that failures can be counted and shown with their row numbers. All
problems of all tables are collected and raised together as one :class:`DataError`;
warnings (returns, zero amounts, rows after ``as_of``, duplicate rows, rows with impossible
values left out, columns found under another spelling) are kept on the :class:`Dataset` and
printed by ``engage-kit validate``.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import ibis
import ibis.expr.datatypes as idt
import pandas as pd

from . import derive as derive_mod
from . import engine as eng
from .config import Config, TableConfig, safe_url, url_credentials
from .engine import connect
from .errors import ConfigError, DataError, closest
from .schema import BOOL_FALSE, BOOL_TRUE, TABLES, TableSpec

MAX_EXAMPLES = 5
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEY_WHOLE = ("nps", "ces")  # answered in whole points; csat may be an average of items
_OFFSET_RE = r"(Z|z|[+-]\d{2}:?\d{2})$"
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".tsv.gz", ".txt.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


@dataclass
class TableReport:
    """What loading one table found: its size and its problems."""

    name: str
    source: str
    rows: int = 0
    customers: int | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Dataset:
    """Validated canonical tables in an engine, with the config that produced them.

    Tables are Ibis tables (``ds["transactions"]``); ``to_pandas(name)`` returns one as a
    DataFrame for interactive use. ``orders`` collapses order lines to orders, returns
    (amount < 0) kept apart from purchases.
    """

    def __init__(
        self,
        config: Config,
        con: Any,
        tables: dict[str, ibis.Table],
        *,
        as_of: pd.Timestamp,
        reports: dict[str, TableReport] | None = None,
    ) -> None:
        self.config = config
        self.con = con
        self.tables = tables
        self.as_of = pd.Timestamp(as_of).normalize()
        self.reports = reports or {}

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


# --- reading -------------------------------------------------------------------------


def _table_name(name: str) -> str:
    return f"ek_raw_{name}"


def _read_raw(con: Any, tcfg: TableConfig) -> ibis.Table:
    """Read the source of ``tcfg`` into the engine, CSV as text, with a 1-based ``_row``."""
    name = tcfg.name
    if tcfg.path is None:
        return eng.with_row_numbers(con, _read_database(con, tcfg), _table_name(name))
    path = Path(tcfg.path)
    where = f"table {name} ({path})"
    if not path.exists():
        hint = ""
        if path.parent.exists():
            near = closest(path.name, [p.name for p in path.parent.iterdir()])
            if near:
                hint = f" (did you mean '{near}'?)"
        raise DataError(f"{where}: file not found{hint}")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{where}: the file is empty (0 bytes); export it again with its rows")
    if path.is_file() and not os.access(path, os.R_OK):
        raise DataError(f"{where}: the file cannot be read (permission denied)")
    read = tcfg.read
    lower = path.name.lower()
    try:
        if lower.endswith(CSV_SUFFIXES):
            sep = read.get("sep", "\t" if ".tsv" in lower else None)
            enc = None
            if read.get("encoding"):
                enc = str(read["encoding"]).lower().replace("_", "-")
                enc = {"latin1": "latin-1", "iso-8859-1": "latin-1", "utf8": "utf-8"}.get(enc, enc)
            raw = eng.read_csv_text(
                con, str(path), _table_name(name), sep=sep, encoding=enc, skip=read.get("skip_rows")
            )
        elif lower.endswith(".parquet") or path.is_dir():
            raw = con.read_parquet(str(path), table_name=_table_name(name))
        elif lower.endswith(EXCEL_SUFFIXES):
            df = pd.read_excel(path, sheet_name=read.get("sheet", 0), dtype=str)
            df.columns = [str(c) for c in df.columns]
            raw = eng.materialize(con, _table_name(name), ibis.memtable(df))
        else:
            raise DataError(
                f"{where}: unknown file type '{path.suffix}'; use .csv, .parquet or .xlsx"
            )
        header = None
        if _maybe_renamed(raw.columns):  # the reader renamed a repeated name: read the header as written
            if lower.endswith(CSV_SUFFIXES):
                header = eng.csv_header(
                    con, str(path), f"{_table_name(name)}_header", sep=sep, encoding=enc, skip=read.get("skip_rows")
                )
            elif lower.endswith(EXCEL_SUFFIXES):
                first = pd.read_excel(path, sheet_name=read.get("sheet", 0), header=None, nrows=1, dtype=str)
                header = ["" if pd.isna(v) else str(v) for v in first.iloc[0]] if len(first) else None
    except DataError:
        raise
    except Exception as e:  # the engine's own parse errors: show their first line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "encod" in str(e).lower() or "unicode" in str(e).lower():
            first += f"; set tables.{name}.read.encoding (e.g. latin-1)"
        raise DataError(f"{where}: cannot be read: {first}") from None
    if header:
        repeated = _repeated_names(header)
        if repeated:
            raise DataError(
                f"{where}: the header repeats column names: {'; '.join(repeated)}; "
                "a column name must be unique (the kit cannot tell which one to use): rename or drop one of them"
            )
    return eng.with_row_numbers(con, raw, _table_name(name))


def _maybe_renamed(columns: list[str]) -> bool:
    """True when columns look like a reader's renames of a repeated header name: a name
    plus a number beside the name itself or beside another such rename (DuckDB
    ``amount, amount_1``, pandas ``amount, amount.1``, Spark ``amount2, amount3``)."""
    lowered = {str(c).lower() for c in columns}
    bases: list[str] = []
    for c in columns:
        m = re.fullmatch(r"(.+?)[_.]?\d+", str(c))
        if m:
            bases.append(m.group(1).lower())
    return any(b in lowered for b in bases) or len(bases) != len(set(bases))


def _repeated_names(header: list[str]) -> list[str]:
    """Names the header gives to more than one column (ignoring case, as the readers
    do), each as "columns 3 ('amount') and 4 ('amount')"."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        if h.strip():
            positions.setdefault(h.strip().lower(), []).append(i)
    out = []
    for where in positions.values():
        if len(where) > 1:
            named = [f"{i} ('{header[i - 1]}')" for i in where]
            out.append("columns " + ", ".join(named[:-1]) + " and " + named[-1])
    return out


def _without_secrets(text: str, url: str, password: str | None) -> str:
    """``text`` (a driver's message) with the URL and the password, raw or encoded, masked."""
    if url in text:
        text = text.replace(url, safe_url(url))
    for secret in {password, quote(password or "", safe=""), urlsplit(url).password}:
        if secret:
            text = text.replace(secret, "***")
    return text


def _read_database(con: Any, tcfg: TableConfig) -> ibis.Table:
    """Copy a database table (or query result) into the engine through Ibis.

    Read with Ibis's PostgreSQL backend and streamed into the engine as Arrow batches:
    DuckDB's own postgres extension downloads itself at run time, which a machine
    without internet cannot do. The password comes from the environment variable named
    by ``password_env``; it is never printed.
    """
    name = tcfg.name
    url = str(tcfg.connection)
    shown = safe_url(url)
    where = f"table {name} ({shown})"
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise DataError(f"{where}: only postgresql:// connections are supported, got '{parts.scheme}://'")
    user, password = url_credentials(url)
    if tcfg.password_env:
        password = os.environ.get(tcfg.password_env)
        if password is None:
            raise DataError(
                f"{where}: the environment variable {tcfg.password_env} (tables.{name}.password_env) is not set; "
                f"set it to the database password before running"
            )
    try:
        pg = ibis.postgres.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            user=user,
            password=password,
            database=(parts.path or "/").lstrip("/") or None,
            connect_timeout=10,
        )
    except Exception as e:  # psycopg's OperationalError and friends
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        reason = _without_secrets(reason, url, password)
        raise DataError(f"{where}: cannot connect to the database: {reason}") from None
    try:
        source = pg.sql(tcfg.sql) if tcfg.sql else pg.table(str(tcfg.table))
        import pyarrow as pa

        batches = source.to_pyarrow_batches(chunk_size=1_000_000)
        arrow = pa.Table.from_batches(list(batches), schema=batches.schema)
    except Exception as e:  # noqa: BLE001 - missing table, bad SQL, permissions
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        reason = _without_secrets(reason, url, password)
        what = f"the query (tables.{name}.sql)" if tcfg.sql else f"table '{tcfg.table}'"
        raise DataError(f"{where}: cannot read {what}: {reason}") from None
    finally:
        pg.disconnect()
    if arrow.num_rows == 0 and not arrow.num_columns:
        raise DataError(f"{where}: the source returned no columns")
    return eng.register_arrow(con, _table_name(name), arrow)


def _name_key(name: str) -> str:
    """A column name as the kit matches it: case, spaces and underscores ignored
    (``Order ID``, ``ORDER_ID`` and ``orderid`` are all ``order_id``)."""
    return re.sub(r"[\s_]+", "", str(name)).lower()


_QUANTITY_WORDS = ("quantity", "qty", "menge", "anzahl", "units", "count", "quantite", "cantidad")
_PRICE_WORDS = ("unitprice", "price", "preis", "einzelpreis", "unitcost", "prix", "precio", "itemprice")


def _amount_hint(columns: list[str]) -> str | None:
    """``"<quantity> * <price>"`` when the columns include a quantity and a unit price."""
    def pick(words: tuple[str, ...]) -> str | None:
        keys = {c: _name_key(c) for c in columns}
        for w in words:
            for c, k in keys.items():
                if k == w or k.endswith(w) or k.startswith(w):
                    return c
        return None

    q, p = pick(_QUANTITY_WORDS), pick(_PRICE_WORDS)
    if q is None or p is None or q == p:
        return None
    quote = lambda c: c if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", c) else '"' + c.replace('"', '""') + '"'  # noqa: E731
    return f"{quote(q)} * {quote(p)}"


def _resolve_columns(
    raw: ibis.Table, tcfg: TableConfig, spec: TableSpec
) -> tuple[dict[str, str], list[str], list[str]]:
    """Map canonical names to the file's columns; return (mapping, errors, notes).

    A name matches its own spelling first, then any column that is the same ignoring
    case, spaces and underscores; every column found the second way is a note (a
    warning ``validate`` prints), and two such columns for one name are an error.
    """
    file_cols = [c for c in raw.columns if c != "_row"]
    where = f"table {spec.name} ({tcfg.source})"
    mapping: dict[str, str] = {}
    errors: list[str] = []
    notes: list[str] = []

    def find(name: str, used: set[str]) -> tuple[str | None, list[str]]:
        if name in file_cols and name not in used:
            return name, []
        same = [c for c in file_cols if _name_key(c) == _name_key(name) and c not in used]
        return (same[0], []) if len(same) == 1 else (None, same)

    def several(name: str, cols: list[str], what: str) -> str:
        return (
            f"{where}: {what} matches {len(cols)} columns ({', '.join(repr(c) for c in cols)}; names are "
            f"matched ignoring case, spaces and underscores); name the one to use with "
            f"tables.{spec.name}.columns: {{{name}: <column>}}"
        )

    for canon, user in tcfg.columns.items():
        found, same = find(user, set())
        if found is not None:
            mapping[canon] = found
            if found != user:
                notes.append(f"{where}: the config maps {canon} to '{user}'; using the file's column '{found}'")
        elif same:
            errors.append(several(canon, same, f"the config maps column '{canon}' to '{user}', which"))
        elif derive_mod.looks_like_expression(user):
            errors.append(
                f"{where}: the config maps column '{canon}' to '{user}', which is not a column but a "
                f"calculation; write it under derive instead: tables.{spec.name}.derive: {{{canon}: \"{user}\"}}"
            )
        else:
            near = closest(user, file_cols)
            errors.append(
                f"{where}: the config maps column '{canon}' to '{user}', but the file has no "
                f"column '{user}'"
                + (f" (did you mean '{near}'?)" if near else "")
                + f"; its columns are: {', '.join(file_cols)}"
            )
    used = set(mapping.values())
    for col in spec.columns:
        if col.name in mapping or col.name in tcfg.columns or col.name in tcfg.derive:
            continue
        found, same = find(col.name, used)
        if found is not None:
            mapping[col.name] = found
            used.add(found)
            if found != col.name:
                notes.append(
                    f"{where}: using column '{found}' as {col.name} (column names match ignoring case, "
                    f"spaces and underscores; map it in tables.{spec.name}.columns to choose another)"
                )
        elif same:
            errors.append(several(col.name, same, f"column '{col.name}'"))
        elif col.required:
            near = closest(col.name, [c for c in file_cols if c not in used])
            product = _amount_hint(file_cols) if col.name == "amount" else None
            if product:
                hint = f" (the file has a quantity and a price: derive it with tables.{spec.name}.derive: {{amount: \"{product}\"}})"
            elif near:
                hint = f" (did you mean '{near}'? map it with tables.{spec.name}.columns: {{{col.name}: {near}}})"
            else:
                hint = ""
            errors.append(
                f"{where}: required column '{col.name}' is missing{hint}; the file's columns are: {', '.join(file_cols)}"
            )
    if spec.name == "customers":  # extra columns are attributes, kept under their names
        for c in file_cols:
            if c not in mapping.values():
                mapping[c] = c
    return mapping, errors, notes


def _clean_text(col: ibis.Value) -> ibis.Value:
    """Text with surrounding spaces removed; blank cells become NULL."""
    return eng.trim(col.cast("string")).nullif("")


def _typed(con: Any, col: ibis.Value, kind: str, read: dict[str, Any], timezone: str) -> ibis.Value:
    """The expression that turns a raw column into its canonical type (NULL on failure)."""
    dtype = col.type()
    if kind in ("id", "string"):
        if dtype.is_floating():
            col = col.try_cast("int64")
        return _clean_text(col)
    if kind in ("float", "int"):
        if dtype.is_numeric() or dtype.is_boolean():
            return col.cast("float64")
        s = _clean_text(col)
        if read.get("thousands"):
            s = s.replace(str(read["thousands"]), "")
        if read.get("decimal") and str(read["decimal"]) != ".":
            s = s.replace(str(read["decimal"]), ".")
        return s.try_cast("float64")
    if kind == "bool":
        if dtype.is_boolean():
            return col
        if dtype.is_numeric():
            return col.cast("float64") == 1
        s = _clean_text(col).lower()
        return ibis.cases((s.isin(BOOL_TRUE), True), (s.isin(BOOL_FALSE), False), else_=ibis.null("boolean"))
    if kind == "timestamp":
        if dtype.is_timestamp():
            if dtype.timezone:
                return eng.local_naive(con, timezone, col)
            return col
        if dtype.is_date():
            return col.cast("timestamp")
        s = _clean_text(col)
        fmt = read.get("date_format")
        if fmt:
            if "%z" in str(fmt) or "%Z" in str(fmt):
                return eng.local_naive(con, timezone, eng.parse_timestamp(con, s, str(fmt)))
            return eng.parse_timestamp(con, s, str(fmt))
        aware = eng.local_naive(con, timezone, s.try_cast(idt.Timestamp(timezone="UTC")))
        return ibis.ifelse(s.re_search(_OFFSET_RE), aware, s.try_cast("timestamp"))
    raise ValueError(f"unknown column kind {kind}")


_KIND_WORDS = {
    "float": "are not numbers",
    "int": "are not numbers",
    "timestamp": "cannot be read as dates/times",
    "bool": "are not true/false, yes/no or 1/0 values",
}


def _examples(df: pd.DataFrame, value_col: str | None = None) -> str:
    parts = []
    for _, row in df.head(MAX_EXAMPLES).iterrows():
        if value_col is None:
            parts.append(f"row {int(row['_row'])}")
        else:
            value = row[value_col]
            if hasattr(value, "dtype") and hasattr(value, "item"):  # a numpy scalar: show 'inf', not np.float64(inf)
                value = value.item()
            parts.append(f"row {int(row['_row'])}: {value!r}")
    return ", ".join(parts)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _count(value: Any) -> int:
    """A count from an aggregate (NULL when every value was NULL: 0)."""
    return 0 if value is None or pd.isna(value) else int(value)


def _date_format_problem(con: Any, fmt: str, table: str) -> str | None:
    """Why the engine cannot parse with ``fmt`` (one literal parsed), or None when it can."""
    try:
        con.execute(eng.parse_timestamp(con, ibis.literal("2000-01-01"), fmt))
    except Exception as e:  # noqa: BLE001 - each engine has its own error for a bad pattern
        return (
            f"tables.{table}.read.date_format '{fmt}' is not a date format: {_first_line(e)}; "
            "write it with strftime codes, e.g. '%d.%m.%Y' or '%Y-%m-%d %H:%M:%S'"
        )
    return None


_NON_FINITE = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")


def _load_table(
    con: Any,
    tcfg: TableConfig,
    config: Config,
    report: TableReport,
) -> ibis.Table | None:
    """Read, map, type and check one table; errors and warnings go into ``report``.

    Every check that can run does: a missing column does not hide bad values in the
    columns that are there, and bad values do not hide the table's own rules.
    """
    spec = TABLES[tcfg.name]
    where = f"table {spec.name} ({tcfg.source})"
    raw = _read_raw(con, tcfg)
    mapping, errors, notes = _resolve_columns(raw, tcfg, spec)
    report.errors.extend(errors)
    report.warnings.extend(notes)
    complete = all(c in mapping for c in spec.required)

    fmt = tcfg.read.get("date_format")
    if fmt and any(spec.kind(c) == "timestamp" and raw[u].type().is_string() for c, u in mapping.items()):
        problem = _date_format_problem(con, str(fmt), spec.name)
        if problem:
            report.errors.append(f"{where}: {problem}")
            return None

    exprs: dict[str, ibis.Value] = {"_row": raw._row}
    checks: dict[str, str] = {}  # canonical column -> source column, for typed columns
    texts: list[str] = []  # canonical text columns, checked for NUL bytes
    for canon, user in mapping.items():
        kind = spec.kind(canon)
        source = raw[user]
        typed = _typed(con, source, kind, tcfg.read, config.timezone)
        exprs[canon] = typed
        if kind in ("float", "int") and (source.type().is_string() or source.type().is_floating()):
            # NaN and infinity are bad values too: they pass a cast and break every sum.
            # x - x is 0 only for finite x (NaN for NaN and ±inf) on every engine; Ibis's
            # isinf() compiles to FALSE on Spark
            finite = typed.notnull() & ((typed - typed) == 0)
            given = _clean_text(source).notnull() if source.type().is_string() else source.notnull()
            exprs[f"_bad_{canon}"] = given & ~finite
            checks[canon] = user
        elif source.type().is_string() and kind not in ("id", "string"):
            exprs[f"_bad_{canon}"] = _clean_text(source).notnull() & typed.isnull()
            checks[canon] = user
        elif source.type().is_string():
            texts.append(canon)
    # derived columns: arithmetic over source columns, each read as a number
    file_cols = [c for c in raw.columns if c != "_row"]
    sources: dict[str, ibis.Value] = {}
    derived_from: dict[str, tuple[str, list[str]]] = {}  # source column -> (canonical, its expression)
    for canon, text in tcfg.derive.items():
        try:
            node = derive_mod.check(text, file_cols, where=f"{where}: tables.{spec.name}.derive.{canon}")
        except ConfigError as e:
            report.errors.append(str(e))
            continue
        for c in derive_mod.columns(node):
            if c not in sources:
                src = raw[c]
                num = _typed(con, src, "float", tcfg.read, config.timezone)
                given = _clean_text(src).notnull() if src.type().is_string() else src.notnull()
                key = f"_dsrc{len(sources)}"
                exprs[f"_bad_{key}"] = given & ~(num.notnull() & ((num - num) == 0))
                checks[key] = c
                derived_from[key] = (canon, text)
                sources[c] = num
        exprs[canon] = derive_mod.to_ibis(node, sources.__getitem__)
        mapping[canon] = f"= {text}"
    complete = all(c in mapping for c in spec.required)
    # the source's other columns take part in the duplicate check: two order lines that
    # differ only in a column the kit does not use are two lines
    used_sources = {u for u in mapping.values()} | set(sources)
    extras = [c for c in file_cols if c not in used_sources]
    for i, c in enumerate(extras):
        exprs[f"_x{i}"] = raw[c].cast("string")
    # materialise once: every check below reads this staged table, not the file again
    try:
        stage = eng.materialize(con, f"ek_stage_{spec.name}", raw.select(**exprs))
    except Exception as e:  # the engine could not apply the read options to these values
        raise DataError(f"{where}: cannot be read with tables.{spec.name}.read {tcfg.read}: {_first_line(e)}") from e

    n = int(stage.count().execute())
    if n == 0:
        cols = ", ".join(c for c in raw.columns if c != "_row")
        what = "the file is empty: it has a header" if tcfg.path is not None else "the source is empty: it has columns"
        report.errors.append(f"{where}: {what} ({cols}) but no rows")
        return None

    # type failures and NUL bytes, one count query for all columns
    aggs = {f"_bad_{c}": stage[f"_bad_{c}"].sum() for c in checks}
    aggs |= {f"_nul_{c}": eng.contains_nul(stage[c]).sum() for c in texts}
    counts = {k: _count(v) for k, v in stage.aggregate(**aggs).execute().iloc[0].items()} if aggs else {}
    fail_counts = {c: counts[f"_bad_{c}"] for c in checks}
    for canon, count in fail_counts.items():
        if not count:
            continue
        if canon in derived_from:
            target, text = derived_from[canon]
            rows = stage.filter(stage[f"_bad_{canon}"]).select("_row").order_by("_row").limit(MAX_EXAMPLES).execute()
            picked = raw.filter(raw._row.isin([int(r) for r in rows["_row"]]))
            ex = picked.select("_row", value=picked[checks[canon]]).order_by("_row").execute()
            report.errors.append(
                f"{where}: column '{checks[canon]}', used in tables.{spec.name}.derive.{target} ('{text}'): "
                f"{count:,} of {n:,} values are not numbers, e.g. {_examples(ex, 'value')}"
            )
            continue
        rows = stage.filter(stage[f"_bad_{canon}"]).select("_row").order_by("_row").limit(MAX_EXAMPLES).execute()
        picked = raw.filter(raw._row.isin([int(r) for r in rows["_row"]]))
        ex = picked.select("_row", value=picked[checks[canon]]).order_by("_row").execute()
        kind = spec.kind(canon)
        hint = ""
        if kind == "timestamp":
            hint = f"; give the format as tables.{spec.name}.read.date_format (e.g. '%d.%m.%Y')"
        elif kind in ("float", "int"):
            if any(str(v).strip().lower() in _NON_FINITE for v in ex["value"]):
                hint = "; NaN and infinite values are not numbers here: leave the cell blank where the value is missing"
            else:
                hint = f"; for '1.234,50' style numbers set tables.{spec.name}.read: {{decimal: ',', thousands: '.'}}"
        report.errors.append(
            f"{where}: column '{canon}'{_yours(canon, mapping)}: {count:,} of {n:,} values "
            f"{_KIND_WORDS[kind]}, e.g. {_examples(ex, 'value')}{hint}"
        )
    for canon in texts:
        nul = counts[f"_nul_{canon}"]
        if nul:
            ex = stage.filter(eng.contains_nul(stage[canon])).select("_row", value=stage[canon])
            ex = ex.order_by("_row").limit(MAX_EXAMPLES).execute()
            report.errors.append(
                f"{where}: column '{canon}'{_yours(canon, mapping)}: {nul:,} of {n:,} values contain a NUL "
                f"byte (\\x00), e.g. {_examples(ex, 'value')}; the file is damaged or not plain text: "
                "export it again, or remove the NUL bytes"
            )

    # required columns must not be blank
    for col in spec.columns:
        if not col.required or col.name not in mapping or fail_counts.get(col.name):
            continue
        if col.name == "customer_id" and spec.name == "transactions" and tcfg.missing_customer_id != "error":
            continue  # guest orders: counted and set aside in _finish
        blanks = stage.filter(stage[col.name].isnull())
        nb = int(blanks.count().execute())
        if nb:
            ex = blanks.select("_row").order_by("_row").limit(MAX_EXAMPLES).execute()
            guest = (
                f"; rows without a customer (guest orders) can be left out with tables.{spec.name}.missing_customer_id: "
                "drop, or kept out of the per-customer analyses with missing_customer_id: guest"
                if col.name == "customer_id" and spec.name == "transactions" else ""
            )
            report.errors.append(
                f"{where}: column '{col.name}'{_yours(col.name, mapping)} is empty in {nb:,} of {n:,} rows, "
                f"e.g. {_examples(ex)}; every row needs a {col.name}{guest}"
            )

    if not complete:  # the table's own rules need its required columns
        return None

    cols = [c for c in mapping]
    for col in spec.columns:  # optional canonical columns the file lacks: typed NULLs
        if col.name not in cols and col.name != "churned":  # churned marks a mode: only if given
            cols.append(col.name)
    null_types = {"id": "string", "string": "string", "float": "float64", "int": "float64",
                  "bool": "boolean", "timestamp": "timestamp"}
    table = stage.select(
        "_row",
        *[stage[c] if c in mapping else ibis.null(null_types[spec.kind(c)]).name(c) for c in cols],
        *[f"_x{i}" for i in range(len(extras))],
    )
    if spec.name == "transactions":
        # without an order_id every row is one order: give each such row its own id, so
        # identical rows stay separate purchases (CDNOW has 21 such same-day repeats)
        table = table.mutate(order_id=table.order_id.fill_null("#" + table._row.cast("string")))
    table = _check_table(con, table, spec, where, report, mapping)
    return None if report.errors else table


def _yours(canon: str, mapping: dict[str, str]) -> str:
    user = mapping.get(canon, canon)
    if user.startswith("= "):
        return f" (derived: {user[2:]})"
    return f" (your column '{user}')" if user != canon else ""


def _check_table(
    con: Any, t: ibis.Table, spec: TableSpec, where: str, report: TableReport, mapping: dict[str, str]
) -> ibis.Table:
    """Table-specific rules: conflicting order ids, survey scales, returns and zero amounts,
    impossible values (negative durations and counts, tickets resolved before opened).

    Errors go into ``report.errors``; rows with impossible values are left out with a
    warning that counts them.
    """
    if spec.name == "transactions":
        has_order = "order_id" in mapping
        if has_order:
            conflicts = (
                t.filter(t.order_id.notnull())
                .group_by("order_id")
                .aggregate(customers=t.customer_id.nunique(), first_row=t._row.min())
                .filter(lambda g: g.customers > 1)
            )
            nc = int(conflicts.count().execute())
            if nc:
                ex = conflicts.order_by("first_row").limit(MAX_EXAMPLES).execute()
                examples = []
                for oid in ex.order_id:
                    rows = t.filter(t.order_id == oid).select("_row", "customer_id").order_by("_row").limit(3).execute()
                    examples.append(
                        f"order '{oid}' (" + ", ".join(f"row {r}: customer '{c}'" for r, c in zip(rows["_row"], rows["customer_id"], strict=True)) + ")"
                    )
                report.errors.append(
                    f"{where}: {nc:,} order_id(s) belong to more than one customer, e.g. "
                    + "; ".join(examples)
                    + "; an order belongs to one customer: check the order_id column mapping"
                )
        stats = t.aggregate(neg=(t.amount < 0).sum(), zero=(t.amount == 0).sum(), neg_sum=t.amount.sum(where=t.amount < 0)).execute().iloc[0]
        if _count(stats.neg):
            report.warnings.append(
                f"{where}: {int(stats.neg):,} rows have negative amounts (total {float(stats.neg_sum):,.2f}); "
                "they are treated as returns: never purchases, netted in net-revenue figures"
            )
        if _count(stats.zero):
            report.warnings.append(
                f"{where}: {int(stats.zero):,} rows have an amount of 0; they still count as purchases"
            )
    if spec.name == "surveys":
        kinds = t.kind.lower().strip()
        t = t.mutate(kind=kinds)
        lo = ibis.cases(*[(kinds == k, v[0]) for k, v in SURVEY_SCALES.items()], else_=ibis.null("float64"))
        hi = ibis.cases(*[(kinds == k, v[1]) for k, v in SURVEY_SCALES.items()], else_=ibis.null("float64"))
        outside = (lo.notnull() & ((t.score < lo) | (t.score > hi))).fill_null(False)
        fraction = (kinds.isin(SURVEY_WHOLE) & ~outside & (t.score % 1 != 0)).fill_null(False)
        unknown = (~kinds.isin(list(SURVEY_SCALES))).fill_null(False)
        c = t.aggregate(outside=outside.sum(), fraction=fraction.sum(), unknown=unknown.sum()).execute().iloc[0]

        def shown(cond: ibis.Value) -> str:
            ex = t.filter(cond).select("_row", "kind", "score").order_by("_row").limit(MAX_EXAMPLES).execute()
            return ", ".join(f"row {r}: {k} {v:g}" for r, k, v in zip(ex["_row"], ex["kind"], ex["score"], strict=True))

        if _count(c.outside):
            report.errors.append(
                f"{where}: column 'score': {_count(c.outside):,} scores are outside their scale "
                f"(nps 0-10, csat 1-5, ces 1-7), e.g. {shown(outside)}"
            )
        if _count(c.fraction):
            report.errors.append(
                f"{where}: column 'score': {_count(c.fraction):,} nps/ces scores are not whole numbers "
                f"(nps is answered 0, 1, ... 10 and ces 1, 2, ... 7), e.g. {shown(fraction)}; "
                "give the answers as given, not averaged or rescaled"
            )
        if _count(c.unknown):
            ex = t.filter(unknown).select("kind").distinct().limit(MAX_EXAMPLES).execute()
            report.warnings.append(
                f"{where}: {_count(c.unknown):,} answers have a kind other than nps, csat or ces "
                f"({', '.join(map(repr, ex.kind))}); they are kept but not scored"
            )
    return _exclude_impossible(t, spec, where, report, mapping)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _exclude_impossible(
    t: ibis.Table, spec: TableSpec, where: str, report: TableReport, mapping: dict[str, str]
) -> ibis.Table:
    """Leave out rows whose values cannot be true, with a warning that counts them.

    A value below its column's minimum (a negative handle_seconds, contacts, pageviews
    or duration) and a ticket resolved before it was opened would turn every average
    they enter into nonsense (an average handle time of -695 s). One count query for all
    rules; examples only for the rules that matched.
    """
    rules: list[tuple[str, ibis.Value, tuple[str, ...]]] = []
    for col in spec.columns:
        if col.minimum is not None and col.name in mapping:
            label = f"a negative {col.name}" if col.minimum == 0 else f"{col.name} below {col.minimum:g}"
            rules.append((label, (t[col.name] < col.minimum).fill_null(False), (col.name,)))
    if spec.name == "tickets" and "resolved_at" in mapping:
        rules.append(("resolved_at before opened_at", (t.resolved_at < t.opened_at).fill_null(False), ("opened_at", "resolved_at")))
    if not rules:
        return t
    impossible = functools.reduce(operator.or_, [cond for _, cond, _ in rules])
    agg = t.aggregate(_all=impossible.sum(), **{f"r{i}": r[1].sum() for i, r in enumerate(rules)}).execute().iloc[0]
    total = _count(agg["_all"])
    if not total:
        return t
    parts = []
    for i, (label, cond, cols) in enumerate(rules):
        k = _count(agg[f"r{i}"])
        if not k:
            continue
        ex = t.filter(cond).select("_row", *cols).order_by("_row").limit(3).execute()
        rows = ", ".join(
            f"row {int(r['_row'])}: " + ", ".join(f"{c} {_shown(r[c])}" for c in cols) for _, r in ex.iterrows()
        )
        parts.append(f"{k:,} with {label} (e.g. {rows})")
    report.warnings.append(
        f"{where}: {total:,} rows have impossible values and are left out of every figure: "
        + "; ".join(parts)
        + "; correct them in the source to count them"
    )
    return t.filter(~impossible)


def _finish(
    con: Any, name: str, t: ibis.Table, as_of_end: pd.Timestamp, report: TableReport, where: str,
    tcfg: TableConfig | None = None,
) -> ibis.Table:
    """Drop rows after as_of and identical duplicate rows; for transactions set guest
    orders aside, match returns to purchases and flag outlier orders; materialise.

    A row is a duplicate only when every column of the source row is identical (the
    columns the kit does not use included, carried as ``_x*``); ``read: {duplicates: keep}``
    keeps them. Transactions without an order_id never have identical rows here: each
    row got its own order id, since without one every row is one order.
    """
    spec = TABLES[name]
    tcol = spec.time_column
    tcfg = tcfg or TableConfig(name=name)
    if tcol is not None:
        late = int(t.filter(t[tcol] >= as_of_end.to_pydatetime()).count().execute())
        if late:
            report.warnings.append(
                f"{where}: {late:,} rows after as_of ({(as_of_end - pd.Timedelta(days=1)).date()}) are left out"
            )
            t = t.filter(t[tcol] < as_of_end.to_pydatetime())
    data_cols = [c for c in t.columns if c != "_row"]
    extras = [c for c in data_cols if re.fullmatch(r"_x\d+", c)]
    n0 = int(t.count().execute())
    distinct = int(t.select(*data_cols).distinct().count().execute())
    dropped = n0 - distinct
    keep = str(tcfg.read.get("duplicates", "drop")).strip().lower() == "keep"
    if dropped:
        # a window groups NULLs together, as the duplicate count does (a join would not)
        first = t.mutate(_first=t._row.min().over(ibis.window(group_by=data_cols)))
        pairs = first.filter(first._row != first._first).select("_first", "_row").order_by("_row").limit(3).execute()
        shown = ", ".join(f"row {int(r)} repeats row {int(f)}" for r, f in zip(pairs["_row"], pairs["_first"], strict=True))
        if keep:
            report.warnings.append(f"{where}: {dropped:,} rows repeat an earlier row in every column ({shown}); kept (read.duplicates: keep)")
        else:
            report.warnings.append(
                f"{where}: {dropped:,} rows repeat an earlier row in every column and are dropped ({shown}); "
                f"set tables.{name}.read.duplicates: keep to count them"
            )
            t = t.group_by(data_cols).aggregate(_row=t._row.min())
    t = t.drop(*extras) if extras else t
    reordered = bool(dropped and not keep)
    if name == "transactions":
        t, changed = _transactions_rules(t, tcfg, report, where)
        reordered = reordered or changed
    # keep the source's row order (a sort only when a step above may have changed it)
    final = eng.materialize(con, f"ek_{name}", t.order_by("_row").drop("_row") if reordered else t.drop("_row"))
    report.rows = int(final.count().execute()) if name == "transactions" else (n0 if keep else distinct)
    if "customer_id" in final.columns:
        report.customers = int(final.customer_id.nunique().execute())
    if tcol is not None:
        rng = final.aggregate(lo=final[tcol].min(), hi=final[tcol].max()).execute().iloc[0]
        report.start, report.end = rng.lo, rng.hi
    return final


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _transactions_rules(
    t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str
) -> tuple[ibis.Table, bool]:
    """Guest orders, returns matched to purchases, outlier orders (DESIGN.md, Data contract).

    Returns the table and whether its rows may have been reordered.
    """
    from .returns import match_returns

    total = t.aggregate(n=t.count(), rev=t.amount.sum(), gross=ibis.ifelse(t.amount > 0, t.amount, 0.0).sum()).execute().iloc[0]
    gross = float(total["gross"] or 0.0)
    guests = t.filter(t.customer_id.isnull())
    g = guests.aggregate(n=guests.count(), orders=guests.order_id.nunique(),
                         rev=ibis.ifelse(guests.amount > 0, guests.amount, 0.0).sum()).execute().iloc[0]
    if int(g["n"]):
        rev = float(g["rev"] or 0.0)
        what = {"drop": "left out of every figure", "guest": "left out of every per-customer analysis (guest orders)"}
        report.warnings.append(
            f"{where}: {int(g['n']):,} rows ({int(g['orders']):,} orders) have no customer_id and are "
            f"{what[tcfg.missing_customer_id]}; they hold {rev:,.2f} ({_share(rev, gross)}) of gross revenue"
        )
        t = t.filter(t.customer_id.notnull())
    matched = tcfg.returns.get("match", "orders") != "none" and bool(int(t.filter(t.amount < 0).count().execute()))
    if matched:
        t, m = match_returns(t, match_days=int(tcfg.returns.get("match_days", 90)))
        report.warnings.append(
            f"{where}: {m.returns:,} return lines ({m.returned_value:,.2f}); {m.matched:,} matched to a purchase in the "
            f"{int(tcfg.returns.get('match_days', 90))} days before ({m.matched_value:,.2f}): {m.cancelled_orders:,} orders "
            f"cancelled ({m.cancelled_value:,.2f}, {_share(m.cancelled_value, gross)} of gross revenue; no purchase anywhere), "
            f"{m.reduced_orders:,} reduced; {m.returns - m.matched:,} unmatched returns stay in net revenue "
            "(returns: {match: none} turns matching off)"
        )
    return _outlier_orders(t, tcfg, report, where), matched


def _outlier_orders(t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str) -> ibis.Table:
    """Orders above both 100 × the median order and its 99.99th percentile: listed, not removed
    unless ``outliers: {exclude_above: AMOUNT}`` says so."""
    from .nb import pseudonymise

    p = t.filter(t.amount >= 0)
    orders = p.group_by("order_id").aggregate(customer_id=p.customer_id.arbitrary(), amount=p.amount.sum())
    q = orders.aggregate(med=orders.amount.approx_median(), p9999=orders.amount.quantile(0.9999),
                         total=orders.amount.sum()).execute().iloc[0]
    if q["med"] is None or pd.isna(q["med"]):
        return t
    limit = max(100 * float(q["med"]), float(q["p9999"]))
    above = tcfg.outliers.get("exclude_above")
    cut = float(above) if above else limit
    big = orders.filter(orders.amount > cut)
    n_big = int(big.count().execute())
    if n_big:
        top = big.order_by(ibis.desc("amount")).limit(5).execute()
        ids = pseudonymise(top["customer_id"], force=True)
        shown = ", ".join(f"{a:,.2f} ({c})" for a, c in zip(top["amount"], ids, strict=True))
        value = float(big.amount.sum().execute())
        rule = f"above {cut:,.2f}" + ("" if above else " (100 × the median order and its 99.99th percentile)")
        if above:
            report.warnings.append(
                f"{where}: {n_big:,} orders {rule} are excluded by tables.transactions.outliers.exclude_above "
                f"({value:,.2f}, {_share(value, float(q['total']))} of purchase value); largest: {shown}"
            )
            t = t.filter(~t.order_id.isin(big.order_id))
        else:
            report.warnings.append(
                f"{where}: {n_big:,} unusually large orders {rule} hold {value:,.2f} "
                f"({_share(value, float(q['total']))} of purchase value); largest: {shown}. They are kept; "
                "tables.transactions.outliers: {exclude_above: AMOUNT} excludes them"
            )
    return t


EARLIEST_PLAUSIBLE = pd.Timestamp("1990-01-01")


def _latest_plausible(tcfg: TableConfig) -> pd.Timestamp:
    """One day after the source file was last written (or after today, for other sources)."""
    stamp = pd.Timestamp.now()
    if tcfg.path is not None:
        try:
            path = Path(tcfg.path)
            times = [p.stat().st_mtime for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path.stat().st_mtime]
            if times:
                stamp = min(stamp, pd.Timestamp.fromtimestamp(max(times)))
        except OSError:
            pass
    return stamp + pd.Timedelta(days=1)


def _implausible_dates(t: ibis.Table, col: str, tcfg: TableConfig, report: TableReport) -> None:
    """Warn about dates before 1990 or after the file was written: typos such as 2099-12-31."""
    latest = _latest_plausible(tcfg)
    bad = t.filter((t[col] < EARLIEST_PLAUSIBLE.to_pydatetime()) | (t[col] > latest.to_pydatetime()))
    n = int(bad.count().execute())
    if not n:
        return
    ex = bad.select("_row", value=bad[col].cast("string")).order_by("_row").limit(MAX_EXAMPLES).execute()
    report.warnings.append(
        f"table {report.name} ({tcfg.source}): {n:,} rows have a {col} before {EARLIEST_PLAUSIBLE.date()} or after "
        f"{(latest - pd.Timedelta(days=1)).date()} (when the data was written), e.g. {_examples(ex, 'value')}; "
        "check them for typos"
    )


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
    """
    con = con or connect(config.engine, timezone=config.timezone)
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
    for name, t in staged.items():
        tables[name] = _finish(con, name, t, as_of_end, reports[name], f"table {name} ({config.tables[name].source})",
                               config.tables[name])
        for helper in (f"ek_stage_{name}", _table_name(name), f"{_table_name(name)}_rows"):
            eng.drop(con, helper)
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
        reports[name] = TableReport(
            name=name,
            source=info["source"],
            rows=info["rows"],
            customers=info.get("customers"),
            start=pd.Timestamp(info["start"]) if info.get("start") else None,
            end=pd.Timestamp(info["end"]) if info.get("end") else None,
            warnings=info.get("warnings", []),
        )
    return Dataset(config, con, tables, as_of=pd.Timestamp(meta["as_of"]), reports=reports)


def write_snapshot(ds: Dataset, path: str | Path) -> Path:
    """Write the validated tables as Parquet plus ``snapshot.json`` so notebooks skip checks."""
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
    cfg["tables"] = {name: {"path": f"{name}.parquet"} for name in ds.tables}
    cfg["as_of"] = ds.as_of.date().isoformat()
    meta = {
        "name": ds.config.name,
        "source": str(ds.config.source) if ds.config.source else None,
        "as_of": ds.as_of.date().isoformat(),
        "config": cfg,
        "tables": info,
    }
    (path / "snapshot.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def is_snapshot(path: str | Path) -> bool:
    """True when ``path`` is a snapshot folder."""
    p = Path(path)
    return p.is_dir() and (p / "snapshot.json").exists()


