"""Reading a table's source: CSV, Parquet and Excel files (or folders of them) and database queries.

What a file is, from its first bytes (gzip, ZIP, UTF-16, binary), its separator and header and
ragged lines are checked here (Excel sheets in :mod:`.excel`), so a file that cannot be read gets
a message that says why.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import ibis

from . import engine as eng
from .config import TableConfig, safe_url, url_credentials
from .datanotes import CSV_SUFFIXES, EXCEL_SUFFIXES, _first_line
from .errors import DataError, EngineMemoryError, closest
from .excel import _read_excel
from .headers import _maybe_renamed, _repeated_names, _required_names

# --- reading -------------------------------------------------------------------------


def _table_name(name: str) -> str:
    return f"ek_raw_{name}"


class RawSource:
    """A table's source as the engine reads it, CSV as text, and how to explain a failed read.

    ``table`` has the source's columns. It is the reader itself, not a copy: on DuckDB the
    staged table that types it numbers its rows from its own insertion order
    (:func:`engage_kit.engine.stage`), so the file is read once. On Spark ``table`` already
    has ``_row`` (increasing ids in read order, ranked: nothing is copied there either).
    A file's bad line may only be met when every row is read, in the stage:
    :meth:`numbered` then reads the source alone and raises the message that says why.
    """

    def __init__(
        self, con: Any, name: str, table: ibis.Table, explain: Callable[[Exception], Exception] | None = None
    ) -> None:
        self.con, self.name, self.table = con, name, table
        self._explain = explain  # the DataError for an engine error while reading, or None
        self._numbered: ibis.Table | None = None

    def numbered(self) -> ibis.Table:
        """The source with a 1-based ``_row`` (DuckDB: copied once, when first asked for).

        Read for the examples of bad values, and to tell a source that cannot be read from
        values that cannot be typed; a read error raises its :class:`DataError`.
        """
        if self._numbered is None:
            if "_row" in self.table.columns:
                self._numbered = self.table
            else:
                try:
                    self._numbered = eng.with_row_numbers(self.con, self.table, _table_name(self.name))
                except Exception as e:
                    if self._explain is None:
                        raise
                    raise self._explain(e) from None
        return self._numbered


def _read_raw(con: Any, tcfg: TableConfig) -> RawSource:
    """Open the source of ``tcfg`` in the engine, CSV as text (:class:`RawSource`).

    Before the engine reads a file, its first bytes are looked at (a few KB: cheap), so
    a file that is not what its name says (UTF-16 text, gzip or ZIP bytes, an image...)
    gets a message saying what it is. A folder is read as one table: its CSV files
    (one header, checked) or its Parquet files.
    """
    name = tcfg.name
    if tcfg.path is None:
        return RawSource(con, name, eng.source_row_numbers(con, _read_database(con, tcfg)))
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

    def explain(e: Exception) -> Exception:
        """The engine's own parse errors: what they mean, else their first line."""
        if isinstance(e, EngineMemoryError):
            return EngineMemoryError(f"{where}: {e}")
        if eng.is_out_of_memory(e):
            return eng.memory_error(con, e, where)
        if kind == "csv":
            problem = _csv_error_problem(con, e, source, head, tcfg, where, sep=sep, enc=enc)
            if problem:
                return DataError(problem)
        first = _first_line(e)
        if "encod" in str(e).lower() or "unicode" in str(e).lower():
            first += f"; set tables.{name}.read.encoding (e.g. latin-1)"
        return DataError(f"{where}: cannot be read: {first}")

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
            df, header = _read_excel(path, tcfg, where)
            raw = eng.materialize(con, _table_name(name), ibis.memtable(df))
        if header:
            repeated = _repeated_names(header)
            if repeated:
                raise DataError(
                    f"{where}: the header repeats column names: {'; '.join(repeated)}; "
                    "a column name must be unique (the kit cannot tell which one to use): rename or drop one of them"
                )
    except EngineMemoryError as e:
        raise EngineMemoryError(f"{where}: {e}") from None
    except DataError:
        raise
    except Exception as e:
        raise explain(e) from None

    return RawSource(con, name, eng.source_row_numbers(con, raw), explain)


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
