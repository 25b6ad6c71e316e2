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

import contextlib
import csv
import datetime as dt
import errno
import functools
import io
import operator
import os
import re
import stat
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
from .errors import ConfigError, DataError, EngineMemoryError, closest
from .schema import BOOL_FALSE, BOOL_TRUE, TABLES, TableSpec

MAX_EXAMPLES = 5
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEY_WHOLE = ("nps", "ces")  # answered in whole points; csat may be an average of items
_OFFSET_RE = r"(Z|z|[+-]\d{2}:?\d{2})$"
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".tsv.gz", ".txt.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
# tables the loader derives from transactions (not in the config): the purchases and
# returns behind the return figures, and the guest orders kept for order-level figures
DERIVED_TABLES = ("order_returns", "guest_transactions")


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
    """Read the source of ``tcfg`` into the engine, CSV as text, with a 1-based ``_row``.

    Before the engine reads a file, its first bytes are looked at (a few KB: cheap), so
    a file that is not what its name says (UTF-16 text, gzip or ZIP bytes, an image...)
    gets a message saying what it is. A folder is read as one table: its CSV files
    (one header, checked) or its Parquet files.
    """
    name = tcfg.name
    if tcfg.path is None:
        return eng.with_row_numbers(con, _read_database(con, tcfg), _table_name(name))
    path = Path(tcfg.path)
    where = f"table {name} ({path})"
    problem = _path_problem(path)
    if problem:
        raise DataError(f"{where}: {problem}")
    read = tcfg.read
    lower = path.name.lower()
    sep = read.get("sep", "\t" if ".tsv" in lower else None)
    sep = None if sep is None else str(sep)
    enc = _encoding(read)
    skip = read.get("skip_rows")
    spark = eng.kind_of(con) == "spark"
    if spark and skip and (lower.endswith(CSV_SUFFIXES) or path.is_dir()):
        raise DataError(
            f"{where}: tables.{name}.read.skip_rows is not available on Spark (its CSV reader cannot skip lines); "
            "remove the lines above the header from the file, or read it with engine: {kind: duckdb}"
        )
    source: str | list[str] = str(path)
    head = b""  # the first bytes of the (first) CSV file, unpacked
    if path.is_dir():
        kind, files = _folder_sources(path, where)
        if kind == "csv":
            head = _check_csv_files(files, where, name, sep=sep, enc=enc, skip=skip, spark=spark)
            source = [str(f) for f in files]
    elif lower.endswith(CSV_SUFFIXES):
        kind = "csv"
        head = _check_csv_files([path], where, name, sep=sep, enc=enc, skip=skip, spark=spark)
    elif lower.endswith(".parquet"):
        kind = "parquet"
        start = _head(path, 4)
        if start != b"PAR1":
            raise DataError(
                f"{where}: cannot be read as Parquet: a Parquet file starts with the bytes PAR1, this one is "
                f"{_what_it_is(_head(path), str(path))}"
            )
    elif lower.endswith(EXCEL_SUFFIXES):
        kind = "excel"
        start = _head(path, 8)
        if not (start.startswith(b"PK\x03\x04") or start.startswith(_OLE)):  # .xlsx is a ZIP, .xls an OLE file
            raise DataError(f"{where}: cannot be read as an Excel workbook: it is {_what_it_is(_head(path), str(path))}")
    else:
        raise DataError(f"{where}: unknown file type '{path.suffix}'; use .csv, .parquet or .xlsx")
    try:
        header = None
        if kind == "csv":
            raw = eng.read_csv_text(con, source, _table_name(name), sep=sep, encoding=enc, skip=skip)
            problem = None
            if len(raw.columns) == 1:  # no separator split the header: a wrong sep or rows of unequal length
                problem = _csv_shape_problem(con, source, head, tcfg, where, sep=sep, enc=enc, failed=False)
            elif skip is None and _header_width(head, sep, enc) not in (0, len(raw.columns)):
                # DuckDB's sniffer skipped lines to find rows of equal length: a later line became the header
                problem = _csv_shape_problem(con, source, head, tcfg, where, sep=sep, enc=enc, failed=True)
            if problem:
                raise DataError(problem)
            if _maybe_renamed(raw.columns):  # the reader renamed a repeated name: read the header as written
                header = eng.csv_header(con, source, f"{_table_name(name)}_header", sep=sep, encoding=enc, skip=skip)
        elif kind == "parquet":
            raw = con.read_parquet(str(path), table_name=_table_name(name))
        else:
            raw, header = _read_excel(con, path, tcfg, where)
        if header:
            repeated = _repeated_names(header)
            if repeated:
                raise DataError(
                    f"{where}: the header repeats column names: {'; '.join(repeated)}; "
                    "a column name must be unique (the kit cannot tell which one to use): rename or drop one of them"
                )
        return eng.with_row_numbers(con, raw, _table_name(name))
    except EngineMemoryError as e:
        raise EngineMemoryError(f"{where}: {e}") from None
    except DataError:
        raise
    except Exception as e:  # the engine's own parse errors: say what they mean, else show their first line
        if eng.is_out_of_memory(e):
            raise eng.memory_error(con, e, where) from None
        if kind == "csv":
            problem = _csv_error_problem(con, e, source, head, tcfg, where, sep=sep, enc=enc)
            if problem:
                raise DataError(problem) from None
        first = _first_line(e)
        if "encod" in str(e).lower() or "unicode" in str(e).lower():
            first += f"; set tables.{name}.read.encoding (e.g. latin-1)"
        raise DataError(f"{where}: cannot be read: {first}") from None


def _encoding(read: dict[str, Any]) -> str | None:
    """``read.encoding`` as the engines spell it (latin-1, utf-8, utf-16), or None."""
    if not read.get("encoding"):
        return None
    enc = str(read["encoding"]).strip().lower().replace("_", "-")
    return {"latin1": "latin-1", "iso-8859-1": "latin-1", "utf8": "utf-8", "utf16": "utf-16",
            "utf-16le": "utf-16", "utf16le": "utf-16"}.get(enc, enc)


def _path_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read at all (missing, a symlink loop, empty, no permission), or None."""
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return (
                f"the path is a symbolic link that leads back to itself ({_link_chain(path)}), so there is no "
                "file to read: point the link (or tables path) at the real file"
            )
        if e.errno == errno.EACCES:
            return "the file cannot be read (permission denied on its folder)"
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            return f"cannot be read: {e.strerror or e}"
        if os.path.islink(path):
            with contextlib.suppress(OSError):
                return f"the path is a symbolic link to {os.readlink(path)}, which does not exist: point it at the real file"
        hint = ""
        with contextlib.suppress(OSError):
            if path.parent.is_dir():
                near = closest(path.name, [p.name for p in path.parent.iterdir() if p.name != path.name])
                hint = f" (did you mean '{near}'?)" if near else ""
        return f"file not found{hint}"
    if stat.S_ISREG(st.st_mode):
        if st.st_size == 0:
            return "the file is empty (0 bytes); export it again with its rows"
        if not os.access(path, os.R_OK):
            return "the file cannot be read (permission denied)"
    return None


def _link_chain(path: Path) -> str:
    """``loop.csv -> loop.csv``: the links followed from ``path`` until one repeats."""
    chain, seen, current = [path.name], {os.path.normpath(path)}, path
    for _ in range(8):
        try:
            target = os.readlink(current)
        except OSError:
            break
        current = Path(os.path.normpath(current.parent / target))
        chain.append(target)
        if str(current) in seen:
            break
        seen.add(str(current))
    return " -> ".join(chain)


# --- what a file looks like, from its first bytes ------------------------------------

_HEAD_BYTES = 8192
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC = (  # (first bytes, kind, what the file is)
    (b"\x1f\x8b", "gzip", "gzip-compressed (its first bytes are 1F 8B)"),
    (b"PK\x03\x04", "zip", "a ZIP archive (its first bytes are PK)"),
    (b"PK\x05\x06", "zip", "an empty ZIP archive (its first bytes are PK)"),
    (_OLE, "ole", "an Excel 97-2003 workbook (.xls) or another old Office file (its first bytes are D0 CF 11 E0)"),
    (b"PAR1", "parquet", "a Parquet file (its first bytes are PAR1)"),
    (b"\x89PNG\r\n\x1a\n", "other", "a PNG image"),
    (b"\xff\xd8\xff", "other", "a JPEG image"),
    (b"GIF8", "other", "a GIF image"),
    (b"%PDF", "other", "a PDF document"),
    (b"SQLite format 3\x00", "other", "an SQLite database"),
    (b"\x00\x00\xfe\xff", "utf32", "UTF-32 text (its first bytes are the byte-order mark 00 00 FE FF)"),
    (b"\xff\xfe\x00\x00", "utf32", "UTF-32 text (its first bytes are the byte-order mark FF FE 00 00)"),
    (b"\xff\xfe", "utf16le", "UTF-16 text (its first bytes are the byte-order mark FF FE)"),
    (b"\xfe\xff", "utf16be", "UTF-16 big-endian text (its first bytes are the byte-order mark FE FF)"),
)
# bytes that plain text does not hold (tab, line feed, form feed and carriage return aside)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0c\r") + b"\x7f"


def _head(path: Path, n: int = _HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file (b"" when they cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, what the file is) for bytes that are not plain 8-bit or UTF-8 text, or None."""
    for magic, kind, what in _MAGIC:
        if head.startswith(magic):
            return kind, what
    sample = head[:1024]
    if len(sample) >= 8:
        odd, even = sample[1::2], sample[0::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            return "utf16le", "UTF-16 text without a byte-order mark (every other byte is 00)"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            return "utf16be", "UTF-16 big-endian text without a byte-order mark (every other byte is 00)"
    control = len(head) - len(head.translate(None, _CONTROL))
    if control >= 8 and control >= 0.02 * len(head):
        return "binary", (
            f"binary data, not text ({control:,} of its first {len(head):,} bytes are control bytes such as 00)"
        )
    return None


def _what_it_is(head: bytes, filename: str) -> str:
    """What a file is, from its first bytes, for a message (with a fix where one is clear)."""
    found = _sniff(head)
    if found is None:
        first = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
        start = first[0][:60] if first else ""
        return f"plain text, starting {start!r} (a CSV file? name it .csv)"
    kind, what = found
    if kind == "zip":
        inside = _zip_names(head, filename)
        if inside and any(n.startswith("xl/") for n in inside):
            return "an Excel workbook (.xlsx): name it .xlsx"
        if inside:
            return f"a ZIP archive (of {', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}): unpack it"
    if kind == "parquet":
        return f"{what}: name it .parquet"
    return what


def _zip_names(head: bytes, filename: str) -> list[str]:
    """Names of the members of a ZIP archive (read from the file named in the message)."""
    import zipfile

    with contextlib.suppress(Exception):
        path = Path(filename)
        if path.exists():
            with zipfile.ZipFile(path) as z:
                return z.namelist()
    return []


def _check_csv_files(
    files: list[Path], where: str, table: str, *, sep: str | None, enc: str | None, skip: Any, spark: bool
) -> bytes:
    """Check that each CSV file is text the engine can read (not UTF-16, gzip under a .csv
    name, ZIP, binary...) and that several files share one header; return the first
    file's first bytes (unpacked)."""
    heads: list[bytes] = []
    for f in files:
        raw = _head(f)
        problem = _csv_bytes_problem(f, raw, table, enc=enc, spark=spark)
        if problem:
            label = where if len(files) == 1 else f"{where}, file {f.name}"
            raise DataError(f"{label}: {problem}")
        heads.append(_unpacked(f, raw))
    if len(files) > 1:
        _same_headers(files, heads, where, sep=sep, enc=enc, skip=skip)
    return heads[0]


def _unpacked(path: Path, raw: bytes) -> bytes:
    """The first bytes of a file's text: gzip files unpacked (as much as ``raw`` holds)."""
    if raw[:2] == b"\x1f\x8b":
        import zlib

        try:
            return zlib.decompressobj(wbits=31).decompress(raw, _HEAD_BYTES)
        except zlib.error:
            return b""
    return raw


def _csv_bytes_problem(path: Path, raw: bytes, table: str, *, enc: str | None, spark: bool) -> str | None:
    """What is wrong with a CSV file's first bytes (the file is not plain text), or None."""
    lower = path.name.lower()
    suffix = next(s for s in sorted(CSV_SUFFIXES, key=len, reverse=True) if lower.endswith(s))
    stem = path.name[: len(path.name) - len(suffix)]
    found = _sniff(raw)
    kind, what = found if found else ("text", "plain text")
    if lower.endswith(".gz"):
        if kind == "gzip":
            inner = _sniff(_unpacked(path, raw))
            if inner and inner[0] not in ("utf16le",) and not (inner[0] == "utf16be" and spark and enc):
                return f"the file is gzip-compressed {inner[1]}, not CSV text: export the table as CSV (UTF-8)"
            if inner and inner[0] == "utf16le" and enc != "utf-16":
                return (
                    f"the file unpacks to {inner[1]}, not UTF-8: set tables.{table}.read: {{encoding: utf-16}}, "
                    "or save it as UTF-8"
                )
            return None
        return f"its name ends in .gz, but the file is {what}, not gzip-compressed: name it '{stem}{suffix[:-3]}'"
    if kind == "text":
        return None
    if kind == "gzip":
        return (
            f"the file is {what}, though its name ends in '{suffix}': name it '{path.name}.gz' "
            "(the kit unpacks .csv.gz files), or unpack it"
        )
    if kind == "utf16le":
        if enc == "utf-16":
            return None
        return (
            f"the file is {what}, not UTF-8 text: set tables.{table}.read: {{encoding: utf-16}}, "
            "or save it as CSV UTF-8"
        )
    if kind == "utf16be":
        if spark and enc:
            return None
        return f"the file is {what}, which the engine cannot read: save it as CSV UTF-8 (or as UTF-16 little-endian with read: {{encoding: utf-16}})"
    if kind == "utf32":
        return f"the file is {what}, which the engine cannot read: save it as CSV UTF-8"
    if kind == "zip":
        inside = _zip_names(raw, str(path))
        if any(n.startswith("xl/") for n in inside):
            return f"the file is an Excel workbook (.xlsx), though its name ends in '{suffix}': name it '{stem}.xlsx'"
        listed = f" of {', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}" if inside else ""
        return f"the file is a ZIP archive{listed}, not CSV text: unpack it and point tables.{table}.path at the CSV file inside"
    if kind == "ole":
        return f"the file is {what}, not CSV text: name it '{stem}.xls' if it is an Excel workbook, or save it as CSV"
    if kind == "parquet":
        return f"the file is {what}, not CSV text: name it '{stem}.parquet'"
    return f"the file is {what}, not CSV text: point tables.{table}.path at the data file (or export the table again as CSV)"


def _folder_sources(path: Path, where: str) -> tuple[str, list[Path]]:
    """What a folder holds: ("csv", its CSV files in name order) or ("parquet", [])."""
    try:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
    except OSError as e:
        raise DataError(f"{where}: cannot be read: {e.strerror or e}") from None
    files = [p for p in entries if p.is_file()]
    csvs = [p for p in files if p.name.lower().endswith(CSV_SUFFIXES)]
    parquets = [p for p in files if p.name.lower().endswith(".parquet")]
    if csvs and parquets:
        raise DataError(
            f"{where}: the folder holds CSV files ({_names(csvs)}) and Parquet files ({_names(parquets)}); "
            "a table is read from one kind: move the others out"
        )
    if csvs:
        return "csv", csvs
    if parquets or any(p.is_dir() for p in entries) and any(path.rglob("*.parquet")):
        return "parquet", []
    held = f" (it holds {_names(entries)})" if entries else " (it is empty)"
    raise DataError(
        f"{where}: cannot be read: the folder holds no .csv or .parquet files{held}; name a file as path, "
        "or a folder of CSV files with one header, or of Parquet files"
    )


def _names(paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(p.name for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _csv_text(head: bytes, enc: str | None, skip: Any) -> str:
    """The first lines of a CSV file as text, after ``skip_rows`` (a cut last line dropped)."""
    try:
        text = head.decode(enc or "utf-8", errors="replace")
    except LookupError:
        text = head.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    if len(head) >= _HEAD_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    if skip:
        text = "".join(text.splitlines(keepends=True)[int(skip) :])
    return text


def _first_text_line(head: bytes, enc: str | None, skip: Any) -> str:
    lines = _csv_text(head, enc, skip).splitlines()
    return lines[0] if lines else ""


_SEPARATORS = (",", ";", "\t", "|")


def _guess_sep(line: str, exclude: str | None = None) -> str | None:
    """The separator a header line most likely uses (the most frequent of , ; tab |), or None."""
    counts = {c: line.count(c) for c in _SEPARATORS if c != exclude}
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else None


def _header_width(head: bytes, sep: str | None, enc: str | None) -> int:
    """How many values the first line splits into (with ``sep``, or the likeliest
    separator); 0 when it has no separator at all."""
    line = _first_text_line(head, enc, None)
    use = sep or _guess_sep(line)
    if not use:
        return 0
    return len(next(csv.reader([line], delimiter=use), []))


def _sep_label(sep: str) -> str:
    return "tab" if sep == "\t" else f"'{sep}'"


def _sep_yaml(sep: str) -> str:
    return '"\\t"' if sep == "\t" else f'"{sep}"'


def _same_headers(files: list[Path], heads: list[bytes], where: str, *, sep: str | None, enc: str | None, skip: Any) -> None:
    """Several CSV files are one table only with one header: name the files that differ."""
    lines = [_first_text_line(h, enc, skip) for h in heads]
    use = sep or _guess_sep(lines[0]) or ","
    groups: dict[tuple[str, ...], list[Path]] = {}
    for f, line in zip(files, lines, strict=True):
        cols = tuple(c.strip() for c in next(csv.reader([line], delimiter=use), []))
        groups.setdefault(cols, []).append(f)
    if len(groups) == 1:
        return
    parts = [f"{_names(fs)}: {', '.join(cols) if cols else '(no header)'}" for cols, fs in list(groups.items())[:4]]
    raise DataError(
        f"{where}: the CSV files of the folder do not have one header ({'; '.join(parts)}); a folder is read as "
        "one table, so every file needs the same header: correct the files that differ, move them out, "
        "or name one file as path"
    )


def _required_names(tcfg: TableConfig) -> list[str]:
    """The names a table's required columns have in the source (mapped names where mapped)."""
    spec = TABLES[tcfg.name]
    return [tcfg.columns.get(c.name, c.name) for c in spec.columns if c.required and c.name not in tcfg.derive]


def _ragged_lines(text: str, sep: str, skip: Any) -> tuple[int, list[tuple[int, int, str]]]:
    """(values in the header, [(line number, values, line)] of the first lines of ``text``
    that split into another number of values with ``sep``)."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    n, bad, end = 0, [], 0
    offset = int(skip or 0)
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:
                continue
            if not n:
                n = len(record)
            elif len(record) != n:
                bad.append((start + offset, len(record), lines[start - 1] if start <= len(lines) else ""))
                if len(bad) == 3:
                    break
    except csv.Error:
        pass
    return n, bad


def _rejected(con: Any, source: str | list[str], sep: str, enc: str | None, skip: Any) -> tuple[int, list[tuple[int, int, str]]]:
    """The engine's view of the same: lines of the whole file that do not fit the header."""
    rows = eng.csv_rejects(con, source, sep=sep, encoding=enc, skip=skip)
    bad, n = [], 0
    for line, text, why in rows:
        m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", why)
        if m:
            n = int(m.group(1))
            bad.append((line, int(m.group(2)), text))
    return n, bad


def _ragged_message(where: str, sep: str, n: int, bad: list[tuple[int, int, str]]) -> str:
    shown = "; ".join(f"line {line} has {k}: {text[:100]!r}" for line, k, text in bad[:3])
    return (
        f"{where}: the lines do not all have the header's {n} values (separated by {_sep_label(sep)}): {shown}; "
        f"every line needs {n} values: correct these lines in the source (a value that holds {_sep_label(sep)} "
        "needs double quotes around it)"
    )


def _csv_shape_problem(
    con: Any, source: str | list[str], head: bytes, tcfg: TableConfig, where: str, *,
    sep: str | None, enc: str | None, failed: bool,
) -> str | None:
    """Why a CSV file reads as one column (``failed``: cannot be read at all): rows that do
    not all have the header's number of values, or a separator other than the one used.
    None when the file really has one column (or no reason is found)."""
    skip = tcfg.read.get("skip_rows")
    text = _csv_text(head, enc, skip)
    header = text.splitlines()[0] if text.splitlines() else ""
    use = (sep or _guess_sep(header)) if failed else _guess_sep(header, exclude=sep)
    if use is None:
        return None
    n, bad = _ragged_lines(text, use, skip)
    if not bad and (failed or sep is None):
        n, bad = _rejected(con, source, use, enc, skip)
    if bad:
        message = _ragged_message(where, use, n or bad[0][1], bad)
        if sep is not None and sep != use:
            message += f"; the lines are separated by {_sep_label(use)}: set tables.{tcfg.name}.read: {{sep: {_sep_yaml(use)}}}"
        return message
    if failed:
        return None
    missing = _required_names(tcfg)
    lost = ""
    if missing:
        lost = f", so required column '{missing[0]}' is missing" + (f" (and {', '.join(missing[1:])})" if missing[1:] else "")
    used = f", with sep {_sep_label(sep)}" if sep is not None else " (the engine could not tell the separator)"
    return (
        f"{where}: the header reads as one column, {header[:100]!r}{used}{lost}: the lines are separated by "
        f"{_sep_label(use)}; set tables.{tcfg.name}.read: {{sep: {_sep_yaml(use)}}}"
    )


def _csv_error_problem(
    con: Any, e: BaseException, source: str | list[str], head: bytes, tcfg: TableConfig, where: str, *,
    sep: str | None, enc: str | None,
) -> str | None:
    """What the engine's CSV error means (a line with more or fewer values than the header...), or None."""
    text = str(e)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and counts:
        original = re.search(r"Original Line: ?(.*)", text)
        found = re.search(r"delimiter = (\S+)", text)
        used = sep or (found.group(1) if found and found.group(1) != "(empty)" else None)
        used = used or _guess_sep(_first_text_line(head, enc, tcfg.read.get("skip_rows"))) or ","
        return _ragged_message(
            where, used, int(counts.group(1)), [(int(line.group(1)), int(counts.group(2)), original.group(1) if original else "")]
        )
    if "sniffing" in text or "CSV Error" in text:
        return _csv_shape_problem(con, source, head, tcfg, where, sep=sep, enc=enc, failed=True)
    return None


# --- Excel ------------------------------------------------------------------------------


def _read_excel(con: Any, path: Path, tcfg: TableConfig, where: str) -> tuple[ibis.Table, list[str] | None]:
    """Read one sheet of a workbook as text; (the table, its header as written when the
    reader may have renamed a repeated name). ``read.sheet`` names the sheet (or gives its
    number, counted from 0); default the first. A sheet without the table's columns is a
    message listing the workbook's sheets."""
    with pd.ExcelFile(path) as book:
        sheets = [str(s) for s in book.sheet_names]
        chosen = _pick_sheet(tcfg.read.get("sheet"), book.sheet_names, where, tcfg.name)
        df = pd.read_excel(book, sheet_name=chosen, dtype=str)
        df.columns = [str(c) for c in df.columns]
        problem = _sheet_problem(book, chosen, df, tcfg, where, sheets)
        if problem:
            raise DataError(problem)
        header = None
        if _maybe_renamed(list(df.columns)):
            first = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1, dtype=str)
            header = ["" if pd.isna(v) else str(v) for v in first.iloc[0]] if len(first) else None
    return eng.materialize(con, _table_name(tcfg.name), ibis.memtable(df)), header


def _sheet_yaml(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', '\\"') + '"'


def _pick_sheet(value: Any, names: list[Any], where: str, table: str) -> Any:
    """The sheet ``read.sheet`` names: a name (case ignored), or a number counted from 0."""
    listed = ", ".join(f"'{n}'" for n in names)
    if value is None:
        return names[0] if names else 0
    if isinstance(value, int) and not isinstance(value, bool):
        for n in names:
            if str(n) == str(value):
                return n
        if 0 <= value < len(names):
            return names[value]
        raise DataError(
            f"{where}: tables.{table}.read.sheet is {value}, but the workbook has {len(names)} sheet(s) ({listed}); "
            "give the sheet's name, or its number counted from 0"
        )
    text = str(value)
    same = [n for n in names if str(n) == text] or [n for n in names if str(n).strip().lower() == text.strip().lower()]
    if len(same) == 1:
        return same[0]
    near = closest(text, [str(n) for n in names])
    hint = f" (did you mean '{near}'?)" if near else ""
    raise DataError(
        f"{where}: the workbook has no sheet '{text}'{hint}; its sheets: {listed}; "
        f"set tables.{table}.read: {{sheet: NAME}} to one of them"
    )


def _looks_like_values(cells: list[str]) -> bool:
    """True when a header row holds values (numbers, dates) rather than column names."""
    named = [c.strip() for c in cells if c.strip() and not c.startswith("Unnamed:")]
    if not named:
        return False

    def value(c: str) -> bool:
        if re.fullmatch(r"[-+]?\d[\d.,]*", c):
            return True
        return bool(re.match(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}", c))

    return sum(value(c) for c in named) * 2 >= len(named)


def _sheet_problem(book: Any, chosen: Any, df: pd.DataFrame, tcfg: TableConfig, where: str, sheets: list[str]) -> str | None:
    """A message when the sheet read has none of the table's required columns: the sheet
    with them, or a first row of values (no header row); None otherwise."""
    wanted = _required_names(tcfg)
    keys = {_name_key(c) for c in df.columns}
    if not wanted or any(_name_key(w) in keys for w in wanted):
        return None
    label = f"sheet '{chosen}'" + (" (the first of the workbook)" if tcfg.read.get("sheet") is None else "")
    listed = ", ".join(f"'{s}'" for s in sheets)
    cells = [c for c in df.columns]
    first = f"its first row: {', '.join(cells)}" if cells else "it is empty"
    having = []
    for s in sheets:
        if s == str(chosen):
            continue
        with contextlib.suppress(Exception):
            cols = {_name_key(str(c)) for c in pd.read_excel(book, sheet_name=s, nrows=0).columns}
            if all(_name_key(w) in cols for w in wanted):
                having.append(s)
    columns = ", ".join(wanted)
    if having:
        return (
            f"{where}: {label} has none of the columns {columns} ({first}); sheet '{having[0]}' has them: "
            f"set tables.{tcfg.name}.read: {{sheet: {_sheet_yaml(having[0])}}} (the workbook's sheets: {listed})"
        )
    if _looks_like_values(cells):
        return (
            f"{where}: the first row of {label} holds values ({', '.join(cells[:6])}), not column names: the sheet has "
            f"no header row; add one above the data naming the columns ({columns}), or name the sheet that has "
            f"one with tables.{tcfg.name}.read: {{sheet: NAME}} (the workbook's sheets: {listed})"
        )
    if len(sheets) > 1:
        return (
            f"{where}: {label} has none of the columns {columns} ({first}); the workbook's sheets: {listed}: name "
            f"the sheet with the data with tables.{tcfg.name}.read: {{sheet: NAME}}, or map your column names "
            f"with tables.{tcfg.name}.columns"
        )
    return None


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
        unit = str(read.get("timestamp_unit") or "").strip().lower()
        if unit in eng.EPOCH_MICROS and (dtype.is_numeric() or dtype.is_string()):
            number = col if dtype.is_numeric() else _clean_text(col).try_cast("float64")
            return eng.epoch_timestamp(con, number, unit, timezone)
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


_ENGLISH_NUMBER = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")  # 1,234.56 and 1,234,567
_GERMAN_NUMBER = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?|[-+]?\d+,\d+")  # 1.234,56, 1.234.567 and 12,5


def _number_hint(values: list[str], table: str, read: dict[str, Any]) -> str:
    """The read option that would make these values numbers: thousands ',' for '1,234.56',
    decimal ',' for '1.234,56' and '12,5'; '1,234' alone could be either. Empty when
    the values look like neither."""
    values = [v.strip() for v in values]
    english = [v for v in values if _ENGLISH_NUMBER.fullmatch(v)]
    german = [v for v in values if _GERMAN_NUMBER.fullmatch(v)]
    sure_english = [v for v in english if "." in v or v.count(",") > 1]
    sure_german = [v for v in german if v not in english]
    en = f"for '1,234.56' style numbers (',' between thousands) set tables.{table}.read: {{thousands: ','}}"
    de = f"for '1.234,56' style numbers set tables.{table}.read: {{decimal: ',', thousands: '.'}}"
    if sure_english and not sure_german and str(read.get("thousands")) != ",":
        return f"; {en}"
    if sure_german and not sure_english and str(read.get("decimal")) != ",":
        return f"; {de}"
    if english and not sure_german and not sure_english:  # only '1,234': either
        return f"; {en}, or {de}"
    return ""


def _epoch_unit(number: float) -> str:
    """The epoch unit a number most likely has: s up to about year 5000, then ms, then us."""
    size = abs(number)
    return "s" if size < 1e11 else "ms" if size < 1e14 else "us"


def _timestamp_hint(values: list[Any], table: str, read: dict[str, Any]) -> str:
    """How to read these values as times: a date_format for text, timestamp_unit for
    numbers (epoch times), dates written as numbers (20240131) with '%Y%m%d'."""
    unit = read.get("timestamp_unit")
    if unit:
        return (
            f"; tables.{table}.read.timestamp_unit is '{unit}', so the values must be numbers of "
            f"{ {'s': 'seconds', 'ms': 'milliseconds', 'us': 'microseconds'}.get(str(unit).lower(), unit)} "
            "since 1970-01-01 (between the years 1 and 9999)"
        )
    numbers = []
    for v in values:
        try:
            numbers.append(float(str(v).strip()))
        except ValueError:
            break
    if values and len(numbers) == len(values):
        if all(re.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(\.0)?", str(v).strip()) for v in values):
            return (
                f"; the column holds numbers: for dates written as 20240131 set tables.{table}.read: "
                "{date_format: '%Y%m%d'}"
            )
        unit = _epoch_unit(sorted(numbers)[len(numbers) // 2])
        example = numbers[0]
        shown = ""
        with contextlib.suppress(Exception):
            shown = f" ({example:.0f} {unit} is {pd.Timestamp(int(example * eng.EPOCH_MICROS[unit]), unit='us')} UTC)"
        return (
            f"; the column holds numbers, not dates: if they are epoch times (time since 1970-01-01), set "
            f"tables.{table}.read: {{timestamp_unit: {unit}}}{shown}; s, ms and us read seconds, milliseconds "
            "and microseconds"
        )
    return f"; give the format as tables.{table}.read.date_format (e.g. '%d.%m.%Y')"


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
        elif kind == "timestamp" and source.type().is_numeric():  # numbers where times belong (epoch times?)
            exprs[f"_bad_{canon}"] = source.notnull() & typed.isnull()
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
    ret_col = _return_order_column(raw, tcfg, where, report) if spec.name == "transactions" else None
    if ret_col is not None:  # the order a return line names (returns.order_column)
        exprs["_ret_order"] = _clean_text(raw[ret_col].cast("string"))
    # the source's other columns take part in the duplicate check: two order lines that
    # differ only in a column the kit does not use are two lines
    used_sources = {u for u in mapping.values()} | set(sources) | ({ret_col} if ret_col else set())
    extras = [c for c in file_cols if c not in used_sources]
    for i, c in enumerate(extras):
        exprs[f"_x{i}"] = raw[c].cast("string")
    # materialise once: every check below reads this staged table, not the file again
    try:
        stage = eng.materialize(con, f"ek_stage_{spec.name}", raw.select(**exprs))
    except EngineMemoryError as e:
        raise EngineMemoryError(f"{where}: {e}") from None
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
            hint = _timestamp_hint(list(ex["value"]), spec.name, tcfg.read)
        elif kind in ("float", "int"):
            if any(str(v).strip().lower() in _NON_FINITE for v in ex["value"]):
                hint = "; NaN and infinite values are not numbers here: leave the cell blank where the value is missing"
            else:
                hint = _number_hint([str(v) for v in ex["value"]], spec.name, tcfg.read)
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
        *(["_ret_order"] if ret_col is not None else []),
    )
    if spec.name == "transactions":
        # without an order_id every row is one order: give each such row its own id, so
        # identical rows stay separate purchases (CDNOW has 21 such same-day repeats)
        table = table.mutate(order_id=table.order_id.fill_null("#" + table._row.cast("string")))
    table = _check_table(con, table, spec, where, report, mapping)
    return None if report.errors else table


def _return_order_column(raw: ibis.Table, tcfg: TableConfig, where: str, report: TableReport) -> str | None:
    """The source column ``returns.order_column`` names (matched as columns are), or None."""
    name = tcfg.returns.get("order_column")
    if not name:
        return None
    file_cols = [c for c in raw.columns if c != "_row"]
    if name in file_cols:
        return name
    same = [c for c in file_cols if _name_key(c) == _name_key(name)]
    if len(same) == 1:
        return same[0]
    near = closest(name, file_cols)
    report.errors.append(
        f"{where}: tables.{tcfg.name}.returns.order_column is '{name}', but the file has no column '{name}'"
        + (f" (did you mean '{near}'?)" if near else "")
        + f"; its columns are: {', '.join(file_cols)}"
    )
    return None


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
) -> tuple[ibis.Table, dict[str, ibis.Table]]:
    """Drop rows after as_of and identical duplicate rows; for transactions set guest
    orders aside, match returns to purchases and flag outlier orders; materialise.

    Returns the table and the tables derived from it (:data:`DERIVED_TABLES`).

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
    side: dict[str, ibis.Table] = {}
    if name == "transactions":
        t, changed, side = _transactions_rules(con, t, tcfg, report, where)
        reordered = reordered or changed
    # keep the source's row order (a sort only when a step above may have changed it)
    final = eng.materialize(con, f"ek_{name}", t.order_by("_row").drop("_row") if reordered else t.drop("_row"))
    report.rows = int(final.count().execute()) if name == "transactions" else (n0 if keep else distinct)
    if "customer_id" in final.columns:
        report.customers = int(final.customer_id.nunique().execute())
    if tcol is not None:
        rng = final.aggregate(lo=final[tcol].min(), hi=final[tcol].max()).execute().iloc[0]
        report.start, report.end = rng.lo, rng.hi
    return final, side


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _transactions_rules(
    con: Any, t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str
) -> tuple[ibis.Table, bool, dict[str, ibis.Table]]:
    """Guest orders, returns matched to purchases, outlier orders (DESIGN.md, Data contract).

    Returns the table, whether its rows may have been reordered, and the derived tables:
    ``order_returns`` (:func:`engage_kit.returns.return_ledger`, the purchases and returns
    behind the return figures; only when there are returns) and, for ``missing_customer_id: guest``,
    ``guest_transactions`` (the rows without a customer, for the order-level figures).
    """
    from .returns import match_returns, return_ledger

    total = t.aggregate(n=t.count(), rev=t.amount.sum(), gross=ibis.ifelse(t.amount > 0, t.amount, 0.0).sum()).execute().iloc[0]
    gross = float(total["gross"] or 0.0)
    side: dict[str, ibis.Table] = {}
    canonical = [c for c in t.columns if c not in ("_row", "_ret_order")]
    guests = t.filter(t.customer_id.isnull())
    g = guests.aggregate(n=guests.count(), orders=guests.order_id.nunique(),
                         rev=ibis.ifelse(guests.amount > 0, guests.amount, 0.0).sum()).execute().iloc[0]
    if int(g["n"]):
        rev = float(g["rev"] or 0.0)
        what = {"drop": "left out of every figure",
                "guest": "left out of every per-customer analysis and kept in revenue, order count and order value "
                         "(guest orders)"}
        report.warnings.append(
            f"{where}: {int(g['n']):,} rows ({int(g['orders']):,} orders) have no customer_id and are "
            f"{what[tcfg.missing_customer_id]}; they hold {rev:,.2f} ({_share(rev, gross)}) of gross revenue"
        )
        if tcfg.missing_customer_id == "guest":
            side["guest_transactions"] = guests.select(*canonical)
        t = t.filter(t.customer_id.notnull())
    before = t
    wanted = tcfg.returns.get("match", "orders") != "none"
    has_returns = bool(int(t.filter(t.amount < 0).count().execute()))
    matched = wanted and has_returns
    matches = None
    if matched:
        t, m = match_returns(t, match_days=int(tcfg.returns.get("match_days", 90)))
        matches = eng.materialize(con, "ek_return_matches", m.matches)
        t = eng.materialize(con, "ek_matched_transactions", t)  # read by every check below
        report.warnings.append(
            f"{where}: {m.returns:,} return lines ({m.returned_value:,.2f}); {m.matched:,} matched to a purchase in the "
            f"{int(tcfg.returns.get('match_days', 90))} days before ({m.matched_value:,.2f}): {m.cancelled_orders:,} orders "
            f"cancelled ({m.cancelled_value:,.2f}, {_share(m.cancelled_value, gross)} of gross revenue; no purchase anywhere), "
            f"{m.reduced_orders:,} reduced; {m.returns - m.matched:,} unmatched returns stay in net revenue "
            "(returns: {match: none} turns matching off)"
        )
    t, excluded = _outlier_orders(con, t, tcfg, report, where)
    if has_returns:  # no return line at all: the export may hold none, so no return figure
        side["order_returns"] = return_ledger(before, matches, matched=wanted)
    if excluded is not None:
        side = {k: v.filter(~v.order_id.isin(excluded.order_id)) for k, v in side.items()}
    if "_ret_order" in t.columns:
        t = t.drop("_ret_order")
    side = {k: eng.materialize(con, f"ek_{k}", v) for k, v in side.items()}
    return t, matched, side


def _outlier_orders(
    con: Any, t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str
) -> tuple[ibis.Table, ibis.Table | None]:
    """Orders above both 100 × the median order and its 99.99th percentile: listed, not removed
    unless ``outliers: {exclude_above: AMOUNT}`` says so.

    Returns the table and, when orders were excluded, a table of their ``order_id``.
    """
    from .privacy import pseudonymise

    p = t.filter(t.amount >= 0)
    # one row per order, computed once: read by the quantiles and by the list of big orders
    orders = eng.materialize(
        con, "ek_orders_check", p.group_by("order_id").aggregate(customer_id=p.customer_id.arbitrary(), amount=p.amount.sum())
    )
    # the exact 99.99th percentile (an approximate one is the maximum itself on small data)
    q = orders.aggregate(med=orders.amount.approx_median(), p9999=orders.amount.quantile(0.9999),
                         total=orders.amount.sum()).execute().iloc[0]
    if q["med"] is None or pd.isna(q["med"]):
        return t, None
    limit = max(100 * float(q["med"]), float(q["p9999"]))
    above = tcfg.outliers.get("exclude_above")
    cut = float(above) if above else limit
    big = orders.filter(orders.amount > cut)
    n_big = int(big.count().execute())
    if not n_big:
        return t, None
    top = big.order_by(ibis.desc("amount")).limit(5).execute()
    ids = pseudonymise(top["customer_id"], force=True)
    shown = ", ".join(f"{a:,.2f} ({c})" for a, c in zip(top["amount"], ids, strict=True))
    value = float(big.amount.sum().execute())
    rule = f"above {cut:,.2f}" + ("" if above else " (100 × the median order and its 99.99th percentile)")
    if not above:
        report.warnings.append(
            f"{where}: {n_big:,} unusually large orders {rule} hold {value:,.2f} "
            f"({_share(value, float(q['total']))} of purchase value); largest: {shown}. They are kept; "
            "tables.transactions.outliers: {exclude_above: AMOUNT} excludes them"
        )
        return t, None
    report.warnings.append(
        f"{where}: {n_big:,} orders {rule} are excluded by tables.transactions.outliers.exclude_above "
        f"({value:,.2f}, {_share(value, float(q['total']))} of purchase value); largest: {shown}"
    )
    excluded = eng.materialize(con, "ek_excluded_orders", big.select("order_id"))
    return t.filter(~t.order_id.isin(excluded.order_id)), excluded


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
        for helper in (f"ek_stage_{name}", _table_name(name), f"{_table_name(name)}_rows", "ek_matched_transactions",
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
    cfg["tables"] = {name: {"path": f"{name}.parquet"} for name in ds.tables if name not in DERIVED_TABLES}
    for name in DERIVED_TABLES:  # opened as tables, not read through the config again
        if name not in ds.tables:
            continue
        info[name]["derived"] = True
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


