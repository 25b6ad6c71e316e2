"""The engine: an Ibis connection where the heavy steps run (DESIGN.md, Engine).

DuckDB in-process is the default: nothing to start, reads CSV and Parquet directly,
works out of core and uses every core. DuckDB takes 80% of the machine's memory unless
told otherwise, so ``memory_limit`` in the config's ``engine`` section caps it.

Apache Spark (``kind: spark``) runs the same Ibis expressions where the data outgrows
one machine. The few places where the engines differ (reading CSV as text, parsing
dates with a format, time zones, row numbers, materialising an intermediate table)
are the functions below; everything else in engage_kit is plain Ibis.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from . import leftovers
from .config import EngineConfig
from .errors import ConfigError, DataError, EngineMemoryError, ParameterError

# Model training on Spark uses at most this many rows (customers) unless the caller
# sets max_training_rows: the sample comes to the driver, the whole table never does.
SPARK_TRAINING_ROWS = 200_000
# The churn and engagement classifiers train and are checked on at most this many
# customers on every engine: beyond it a larger sample changes the test AUC by less than its
# own interval (0.7857 on 305,727 customers against 0.7845 on 200,000, interval
# half-width 0.0014, in benchmarks/README.md) and only costs time.
MODEL_TRAINING_ROWS = 200_000

SPARK_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={Path(__file__).parent / 'spark' / 'log4j2.properties'}",
}


def kind_of(con: Any) -> str:
    """``duckdb`` or ``spark`` for an Ibis backend."""
    return "spark" if getattr(con, "name", "") == "pyspark" else str(getattr(con, "name", "duckdb"))


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*", re.I)


def _spark_memory(limit: str) -> str:
    m = _SIZE.fullmatch(str(limit))
    if not m:
        raise ConfigError(f"engine.memory_limit: '{limit}' is not a size such as 8GB")
    number, unit = float(m.group(1)), (m.group(2) or "M").lower()
    return f"{int(number)}{unit}" if number == int(number) else f"{int(number * 1024)}{'m' if unit == 'g' else 'k'}"


def memory_share(engine: EngineConfig | None, jobs: int, *, machine_bytes: int | None = None) -> str | None:
    """DuckDB's memory limit for each of ``jobs`` notebooks that run at once.

    ``engine.memory_limit`` (DuckDB's own default when unset: 80% of the machine's memory)
    caps the run, not each notebook: two kernels with the whole limit each could together
    take twice the memory the user allowed. Each gets ``limit / jobs`` in whole megabytes
    (DuckDB's units: KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024).
    None where there is nothing to share: one job, another engine, or a limit that is not
    a plain size (DuckDB itself then reports it when the engine starts).
    """
    engine = engine or EngineConfig()
    if jobs <= 1 or engine.kind != "duckdb":
        return None
    if engine.memory_limit:
        m = _SIZE.fullmatch(str(engine.memory_limit))
        if not m or not m.group(2):  # a bare number: leave its meaning to DuckDB
            return None
        power = "KMGT".index(m.group(2).upper()) + 1
        total = float(m.group(1)) * (1024 if m.group(3) else 1000) ** power
    else:
        if machine_bytes is None:
            try:
                machine_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (AttributeError, ValueError, OSError):  # no sysconf (Windows): DuckDB's default per kernel
                return None
        total = 0.8 * machine_bytes
    return f"{max(1, int(total / jobs // 10**6))}MB"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 at ``path`` for the block: a process started inside (the
    Spark JVM) keeps writing there, not into a notebook's output."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "ab") as f:
            os.dup2(f.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


SPILL_PREFIX = "engage-kit-duckdb-"


def spill_directory() -> str | None:
    """A new folder for DuckDB's spill files, in the system's temporary folder.

    Named ``engage-kit-duckdb-<pid>-<random>``. The connection that uses it removes it
    when it closes or the process ends; a process that was killed cannot, so the folders
    of processes that no longer run are removed here first (:mod:`engage_kit.leftovers`).
    None when the temporary folder cannot be written to.
    """
    try:
        leftovers.remove_stale(Path(tempfile.gettempdir()), SPILL_PREFIX)
        return tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-")
    except OSError:  # no writable temporary folder: DuckDB's own default (it spills only when it must)
        return None


def connect(engine: EngineConfig | None = None, *, timezone: str = "UTC") -> Any:
    """Open the Ibis backend described by ``engine`` (default: in-memory DuckDB).

    For Spark, an existing SparkSession (``engine.session``, e.g. on a Databricks
    cluster) is used as it is; otherwise a local one is started with ``engine.master``
    (default ``local[*]``), ``engine.settings`` and the config's time zone.
    """
    engine = engine or EngineConfig()
    if engine.kind == "duckdb":
        kwargs: dict[str, Any] = {}
        if engine.memory_limit:
            kwargs["memory_limit"] = str(engine.memory_limit)
        if engine.threads:
            try:
                kwargs["threads"] = int(engine.threads)
            except (TypeError, ValueError):
                raise ConfigError(f"engine.threads: '{engine.threads}' is not a number of threads; give a whole number such as 4") from None
        own_temp = None
        if engine.temp_directory:
            kwargs["temp_directory"] = str(engine.temp_directory)
        else:  # DuckDB's default is ./.tmp: spill files in whatever folder the command ran in
            own_temp = spill_directory()
            if own_temp:
                kwargs["temp_directory"] = own_temp
        try:
            con = ibis.duckdb.connect(engine.path or ":memory:", **kwargs)
        except Exception as e:  # duckdb raises its own error types for bad settings
            if own_temp:
                shutil.rmtree(own_temp, ignore_errors=True)
            raise ConfigError(f"engine: DuckDB could not start with {kwargs}: {e}") from None
        if own_temp:  # removed when the connection goes or the process ends
            weakref.finalize(con, shutil.rmtree, own_temp, ignore_errors=True)
        return con
    if engine.kind == "spark":
        session = engine.session
        if session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise ConfigError(
                    "engine.kind: spark needs pyspark (pip install 'pyspark>=3.5,<4.1'); "
                    "or use kind: duckdb (the default)"
                ) from None
            settings = dict(SPARK_DEFAULTS)
            settings["spark.sql.warehouse.dir"] = os.path.join(tempfile.gettempdir(), "engage-kit-spark-warehouse")
            settings["spark.sql.session.timeZone"] = timezone
            if engine.memory_limit:
                settings["spark.driver.memory"] = _spark_memory(engine.memory_limit)
            settings.update({str(k): str(v) for k, v in (engine.settings or {}).items()})
            builder = SparkSession.builder.master(str(engine.master or "local[*]")).appName("engage-kit")
            for key, value in settings.items():
                builder = builder.config(key, value)
            log = Path(tempfile.gettempdir()) / "engage-kit-spark.log"
            try:
                with _stderr_to(log):  # the JVM writes its own messages to the stderr it inherits
                    session = builder.getOrCreate()
            except Exception as e:  # Java missing, bad master URL...
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ConfigError(
                    f"engine: Spark could not start ({engine.master or 'local[*]'}): {first} (Spark's log: {log})"
                ) from None
            session.sparkContext.setLogLevel("ERROR")
        # Ibis keeps Spark's session time zone at UTC: naive timestamps stay wall-clock
        # times, and instants are converted to the config's zone by the loader.
        return ibis.pyspark.connect(session)
    raise ConfigError(f"engine.kind: unknown engine '{engine.kind}'")


# --- engine-side functions the loaders need ---------------------------------------------


@ibis.udf.scalar.builtin(name="trim")
def trim(value: str) -> str:
    """Remove surrounding spaces (both engines' plain TRIM: faster than trimming a set)."""


def strip(text: ibis.StringValue) -> ibis.StringValue:
    """Surrounding white space removed, the same on every engine.

    Not ``StringValue.strip()``: on Spark Ibis writes it as ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``,
    and Spark reads ``\\v`` and ``\\f`` in a literal as the letters v and f, so "form_submit"
    became "orm_submit" and "view" "iew". A regular expression means the same on both engines.
    """
    return text.re_replace(r"^\s+|\s+$", "")


@ibis.udf.scalar.builtin(name="chr")
def _chr(code: int) -> str:
    """Both engines: the character with this code point (``chr(0)``: the NUL byte, which
    cannot be written as a SQL string literal)."""


def contains_nul(text: ibis.Value) -> ibis.Value:
    """True where the text holds a NUL byte (a damaged or binary file read as text)."""
    return text.contains(_chr(0))


@ibis.udf.scalar.builtin(name="md5")
def _md5(value: str) -> str:
    """Both engines: the lowercase hex MD5 digest of the text's UTF-8 bytes."""


def sample_order(ids: ibis.Value, seed: int = 0) -> ibis.Value:
    """A pseudo-random order of rows that is the same on every engine: md5("seed:id").

    Ordering by it and taking the first n rows draws a simple random sample of ids that
    DuckDB and Spark agree on (a hash of the engine's own would differ between them).
    """
    return _md5(ibis.literal(f"{int(seed)}:") + ids.cast("string"))


def training_cap(where: ibis.Table | str, max_rows: int | None, *, every_engine: bool = False) -> int | None:
    """Rows a model may train on: ``max_rows`` when given; otherwise all on DuckDB and
    :data:`SPARK_TRAINING_ROWS` on Spark, where the driver must not hold every customer,
    or :data:`MODEL_TRAINING_ROWS` on every engine with ``every_engine`` (the churn and
    engagement classifiers).

    ``where`` is a table in the engine or the engine's kind (``"duckdb"``, ``"spark"``).
    """
    if max_rows is not None:
        if isinstance(max_rows, bool) or int(max_rows) < 1:
            raise ParameterError(f"max_training_rows must be a positive number of rows; got {max_rows!r}")
        return int(max_rows)
    if every_engine:
        return MODEL_TRAINING_ROWS
    kind = where if isinstance(where, str) else kind_of(backend_of(where))
    return SPARK_TRAINING_ROWS if kind == "spark" else None


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(value: str, fmt: str) -> dt.Timestamp():
    """DuckDB: parse text with a strftime format; NULL where it does not match."""


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():
    """DuckDB: the wall-clock time in ``zone`` of an instant."""


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(value: str, fmt: str) -> dt.Timestamp():
    """Spark: parse text with a Java datetime pattern; NULL where it does not match."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_from_utc(ts: dt.Timestamp(), zone: str) -> dt.Timestamp():
    """Spark: the wall-clock time in ``zone`` of a UTC timestamp."""


@ibis.udf.scalar.builtin(name="monotonically_increasing_id")
def _spark_row_id() -> dt.int64:
    """Spark: increasing ids in the order rows were read (not consecutive)."""


_STRFTIME_TO_JAVA = {
    "%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%I": "hh", "%M": "mm",
    "%S": "ss", "%f": "SSSSSS", "%p": "a", "%b": "MMM", "%B": "MMMM", "%a": "EEE",
    "%A": "EEEE", "%j": "DDD", "%z": "Z", "%Z": "z", "%%": "%",
}


# codes that strftime parsing accepts with one digit too ("12/1/2010 8:26"): Java's
# one-letter forms read one or two digits, where its two-letter forms insist on two
_ONE_OR_TWO_DIGITS = {"%m": "M", "%d": "d", "%H": "H", "%I": "h", "%M": "m", "%S": "s"}


def java_datetime_pattern(fmt: str) -> str:
    """Translate a strftime format (``%d.%m.%Y``) to a Java pattern (``d.M.yyyy``).

    Day, month, hour, minute and second take one or two digits, as in strftime parsing,
    except where they touch another field without a separator (``%Y%m%d``: ``yyyyMMdd``).
    """
    out, i = [], 0
    while i < len(fmt):
        code = fmt[i : i + 2]
        if code in _STRFTIME_TO_JAVA:
            touches = (i >= 2 and fmt[i - 2] == "%") or fmt[i + 2 : i + 3] == "%"
            out.append(_ONE_OR_TWO_DIGITS[code] if code in _ONE_OR_TWO_DIGITS and not touches else _STRFTIME_TO_JAVA[code])
            i += 2
            continue
        ch = fmt[i]
        out.append(f"'{ch}'" if ch.isalpha() else ch)
        i += 1
    return "".join(out)


def parse_timestamp(con: Any, text: ibis.Value, fmt: str) -> ibis.Value:
    """Text -> timestamp with a strftime format; NULL where it does not match."""
    if kind_of(con) == "spark":
        return _spark_try_to_timestamp(text, java_datetime_pattern(fmt))
    return _duckdb_try_strptime(text, fmt)


def local_naive(con: Any, zone: str, instant: ibis.Value) -> ibis.Value:
    """An instant (timestamp with time zone) -> naive wall-clock time in ``zone``."""
    if kind_of(con) == "spark":
        return _spark_from_utc(instant.cast(dt.Timestamp()), zone)
    return _duckdb_timezone(zone, instant.cast(dt.Timestamp(timezone="UTC")))


@ibis.udf.scalar.builtin(name="make_timestamp")
def _duckdb_from_micros(micros: dt.int64) -> dt.Timestamp():
    """DuckDB: the (naive, UTC) timestamp ``micros`` microseconds after 1970-01-01."""


@ibis.udf.scalar.builtin(name="timestamp_micros")
def _spark_from_micros(micros: dt.int64) -> dt.Timestamp():
    """Spark: the timestamp ``micros`` microseconds after 1970-01-01 UTC."""


EPOCH_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}
# epoch times outside years 1-9999 are bad values (a unit off by 1000 lands there), not errors
_EPOCH_RANGE_US = (-62_135_596_800_000_000, 253_402_300_799_000_000)


def epoch_timestamp(con: Any, number: ibis.Value, unit: str, zone: str) -> ibis.Value:
    """Numbers of seconds, milliseconds or microseconds (``unit``: s, ms, us) since
    1970-01-01 UTC -> naive wall-clock time in ``zone``; NULL where the number is missing,
    not finite or outside the years 1-9999."""
    micros = number.cast("float64") * EPOCH_MICROS[unit]
    lo, hi = _EPOCH_RANGE_US
    inside = ibis.ifelse((micros >= lo) & (micros <= hi), micros, ibis.null("float64"))  # NaN and ±inf too
    whole = inside.round().cast("int64")
    instant = _spark_from_micros(whole) if kind_of(con) == "spark" else _duckdb_from_micros(whole)
    return local_naive(con, zone, instant)


def is_out_of_memory(e: BaseException) -> bool:
    """True for an engine's out-of-memory error (DuckDB's OutOfMemoryException, Spark's
    java.lang.OutOfMemoryError)."""
    return type(e).__name__ == "OutOfMemoryException" or "Out of Memory Error" in str(e) or "OutOfMemoryError" in str(e)


def memory_error(con: Any, e: BaseException, where: str = "") -> EngineMemoryError:
    """The message for an out-of-memory error: the engine's limit, engine.memory_limit and how to raise it."""
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    limit = ""
    if kind_of(con) != "spark":
        with contextlib.suppress(Exception):
            setting = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
            limit = f" (its limit: {setting})"
    prefix = f"{where}: " if where else ""
    return EngineMemoryError(
        f"{prefix}the engine ran out of memory{limit}: {first}; raise engine.memory_limit in the config "
        "(e.g. engine: {memory_limit: 4GB}), or leave it out to use 80% of the machine's memory; "
        "fewer engine.threads and an engine.temp_directory on a disk with room also help"
    )


def _csv_options(con: Any, *, header: bool, sep: str | None, encoding: str | None, skip: int | None) -> dict[str, Any]:
    """The engine's CSV reader options: every column as text, with the given separator,
    encoding and lines to skip (DuckDB only: Spark's reader cannot skip lines, and the
    loaders refuse ``read.skip_rows`` there)."""
    if kind_of(con) == "spark":
        kwargs: dict[str, Any] = {"header": header, "inferSchema": False}
        if sep:
            kwargs["sep"] = sep
    else:
        kwargs = {"all_varchar": True, "header": header}
        if sep:
            kwargs["delim"] = sep
        if skip:
            kwargs["skip"] = int(skip)
    if encoding:
        kwargs["encoding"] = encoding
    return kwargs


def read_csv_text(
    con: Any, path: str | list[str], name: str, *, sep: str | None, encoding: str | None, skip: int | None
) -> ibis.Table:
    """Read a CSV file (or several with one header: a list of files, or a folder on Spark)
    with every column as text (types are checked afterwards)."""
    return con.read_csv(path, table_name=name, **_csv_options(con, header=True, sep=sep, encoding=encoding, skip=skip))


def csv_header(con: Any, path: str, name: str, *, sep: str | None, encoding: str | None, skip: int | None) -> list[str]:
    """The header line of a CSV file as written, duplicates included.

    Both engines rename a repeated column name when they read a header (DuckDB
    ``amount_1``, Spark ``amount3``), so the file is read once more without a header and
    only its first line is fetched.
    """
    kwargs = _csv_options(con, header=False, sep=sep, encoding=encoding, skip=skip)
    try:
        first = con.read_csv(path, table_name=name, **kwargs).limit(1).to_pyarrow().to_pylist()
    finally:
        drop(con, name)
    return ["" if v is None else str(v) for v in first[0].values()] if first else []


def with_row_numbers(con: Any, table: ibis.Table, name: str) -> ibis.Table:
    """Add ``_row``: 1-based row numbers in the order the source was read.

    DuckDB: the source is copied into a table once and its ``rowid`` (insertion order)
    numbers the rows, which is about twice as fast as a ROW_NUMBER() window. Spark:
    increasing ids in read order, ranked.
    """
    if kind_of(con) == "spark":
        t = table.mutate(_ek_id=_spark_row_id())
        return t.mutate(_row=ibis.row_number().over(order_by=t._ek_id) + 1).drop("_ek_id")
    return _numbered(materialize(con, f"{name}_rows", table))


def source_row_numbers(con: Any, table: ibis.Table) -> ibis.Table:
    """A source as the loaders read it: on Spark with ``_row`` (:func:`with_row_numbers`,
    nothing copied); on DuckDB unchanged, numbered by :func:`stage` as it is copied."""
    return with_row_numbers(con, table, "") if kind_of(con) == "spark" else table


def stage(con: Any, name: str, expr: ibis.Table) -> ibis.Table:
    """Materialise ``expr`` (:func:`materialize`) with ``_row``, 1-based numbers in source order.

    An ``expr`` without ``_row`` (a DuckDB source, :func:`source_row_numbers`) is numbered
    by the stored table's ``rowid``: DuckDB keeps the order rows are read in when it
    stores them (``preserve_insertion_order``), so the file is read and typed in one pass,
    without a numbered copy of its text first.
    """
    stored = materialize(con, name, expr)
    return stored if "_row" in stored.columns else _numbered(stored)


def _numbered(stored: ibis.Table) -> ibis.Table:
    return stored.mutate(_row=stored.rowid() + 1)


def cache(expr: ibis.Table) -> ibis.Table:
    """``expr.cache()`` that also works on Spark when ``expr`` holds an in-memory table.

    Ibis's Spark backend caches with ``session.sql(query)`` without first registering the
    query's ``ibis.memtable`` views, so a cached expression built on a small pandas frame (a
    list of period ends, scores) failed with TABLE_OR_VIEW_NOT_FOUND. They are registered
    here, as ``execute`` does.
    """
    backend = expr._find_backend(use_default=True)
    if backend.name == "pyspark":
        backend._run_pre_execute_hooks(expr)
    return expr.cache()


def materialize(con: Any, name: str, expr: ibis.Table) -> ibis.Table:
    """Compute ``expr`` once and keep the result in the engine under ``name``.

    An out-of-memory error is an :class:`EngineMemoryError` naming engine.memory_limit.
    """
    if kind_of(con) == "spark":
        return cache(expr)
    try:
        return con.create_table(name, expr, overwrite=True)
    except Exception as e:
        if is_out_of_memory(e):
            raise memory_error(con, e) from None
        raise


def csv_rejects(
    con: Any, path: str | list[str], *, sep: str, encoding: str | None, skip: int | None, limit: int = 3
) -> list[tuple[int, str, str]]:
    """DuckDB: the first lines of a CSV file that do not split into the header's number
    of columns with ``sep``, as (line, csv_line, DuckDB's reason); [] on Spark or when
    every line fits. Reads the whole file once: for messages only."""
    if kind_of(con) == "spark":
        return []
    tag = f"ek_rejects_{abs(hash((str(path), sep))) % 10**8}"
    opts = {"all_varchar": True, "header": True, "delim": sep, "store_rejects": True,
            "rejects_table": f"{tag}_errors", "rejects_scan": f"{tag}_scans"}
    if encoding:
        opts["encoding"] = encoding
    if skip:
        opts["skip"] = int(skip)
    try:
        con.read_csv(path, table_name=f"{tag}_view", **opts).count().execute()
        rows = con.raw_sql(
            f"SELECT line, csv_line, error_message FROM {tag}_errors ORDER BY line LIMIT {int(limit)}"
        ).fetchall()
    except Exception:  # noqa: BLE001 - the diagnosis is a courtesy: no answer is an answer
        rows = []
    finally:
        for helper in (f"{tag}_view", f"{tag}_errors", f"{tag}_scans"):
            with contextlib.suppress(Exception):
                drop(con, helper)
    return [(int(line), str(text), str(why)) for line, text, why in rows]


def drop(con: Any, name: str) -> None:
    """Drop a helper table or view made by the loaders (no error when absent)."""
    if name not in con.list_tables():
        return
    try:
        con.drop_table(name, force=True)
    except Exception:  # noqa: BLE001 - readers may register views instead
        con.drop_view(name, force=True)


def register_arrow(con: Any, name: str, arrow: Any) -> ibis.Table:
    """Put an Arrow table (e.g. read from a database) into the engine."""
    if kind_of(con) == "spark":
        return con.create_table(name, arrow.to_pandas(), overwrite=True)
    return con.create_table(name, arrow, overwrite=True)


def write_parquet(con: Any, table: ibis.Table, path: str | Path) -> None:
    """Write a table as Parquet (a file on DuckDB, a folder of files on Spark)."""
    con.to_parquet(table, str(path))


def backend_of(table: ibis.Table) -> Any:
    """The Ibis backend a table expression runs on."""
    return table._find_backend(use_default=True)


def write_table(table: ibis.Table, folder: str | Path, stem: str) -> Path:
    """Write a per-customer table from the engine, without collecting it in Python.

    DuckDB writes ``folder/stem.csv`` (in the table's order); Spark writes a Parquet
    directory ``folder/stem.parquet/`` from its executors (DESIGN.md, Output contract).
    Returns the path written.
    """
    con = backend_of(table)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if kind_of(con) == "spark":
        path, part = folder / f"{stem}.parquet", folder / f".{stem}.parquet.partial"
        shutil.rmtree(part, ignore_errors=True)
        con.to_parquet_dir(table, str(part))
        shutil.rmtree(path, ignore_errors=True)  # replaced only once the new one is complete
        part.rename(path)
        return path
    path = folder / f"{stem}.csv"
    con.to_csv(table, str(path))
    return path


def as_table(data: Any, *, name: str, required: tuple[str, ...], hint: str = "") -> ibis.Table:
    """An Ibis table from an Ibis table or a pandas DataFrame, checked for ``required`` columns.

    A missing column is a :class:`DataError` that names the table, the columns it has and
    ``hint`` (what to pass instead).
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        data = ibis.memtable(data)
    if not isinstance(data, ibis.Table):
        raise DataError(f"{name}: expected an Ibis table or a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise DataError(f"{name}: column(s) {', '.join(missing)} missing; it has {', '.join(data.columns)}. {hint}".rstrip())
    return data
