"""The YAML config (DESIGN.md, Config contract): reading, key checks, defaults.

Unknown keys are reported all at once, each with the closest valid key, before any
value is checked. Values are then checked one by one with messages that say where
the problem is and how to fix it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import yaml

from . import presets
from .catalogue import NOTEBOOKS
from .errors import KEY_ALIASES, ConfigError, did_you_mean
from .schema import TABLES
from .tablekeys import parse_identity, parse_return_rules, parse_table_maps

TOP_KEYS = ("title", "currency", "period", "as_of", "timezone", "engine", "active_days", "identity", "language", "tables",
            "notebooks", "benchmarks")
TABLE_KEYS = ("path", "read", "columns", "derive", "connection", "table", "sql", "password_env",
              "missing_customer_id", "returns", "outliers", "preset", "constants", "values", "exclude", "attributes")
READ_KEYS = ("sep", "decimal", "thousands", "encoding", "date_format", "sheet", "skip_rows", "duplicates", "timestamp_unit")
# read.timestamp_unit: numbers in timestamp columns are times since 1970-01-01 UTC in this unit
TIMESTAMP_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}
RETURNS_KEYS = ("match", "match_days", "order_column", "cancel_when", "refund_column")
OUTLIER_KEYS = ("exclude_above",)
MISSING_CUSTOMER_ID = ("error", "drop", "guest")
# keys that only the transactions table has
TRANSACTION_KEYS = ("missing_customer_id", "returns", "outliers")
ENGINE_KEYS = ("kind", "memory_limit", "threads", "path", "master", "settings", "temp_directory")
ENGINE_KINDS = ("duckdb", "spark")
PERIODS = ("W", "M", "Q")
LANGUAGES = ("en", "de", "auto")  # of free text; auto: chosen per text by its stop words
# benchmarks: target lines on the KPI report's charts (a share 0-1 each; null leaves the line out)
BENCHMARKS: dict[str, float] = {"customer_retention_rate": 0.85}


@dataclass
class TableConfig:
    """Where one canonical table comes from and how to read it."""

    name: str
    path: Path | None = None
    read: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> name in the file
    connection: str | None = None
    table: str | None = None
    sql: str | None = None
    password_env: str | None = None
    derive: dict[str, str] = field(default_factory=dict)  # canonical -> arithmetic over source columns
    missing_customer_id: str = "error"  # transactions: error | drop | guest
    returns: dict[str, Any] = field(default_factory=lambda: {"match": "orders", "match_days": 90})
    outliers: dict[str, Any] = field(default_factory=dict)  # {exclude_above: amount}
    label: str | None = None  # how messages name the source instead of its path (built-in datasets)
    preset: str | None = None  # the import preset the settings start from (engage_kit.presets)
    preset_optional: tuple[str, ...] = ()  # canonical columns the preset maps only when the export has them
    constants: dict[str, Any] = field(default_factory=dict)  # canonical -> one value for every row
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)  # canonical -> {export value: kit value}
    exclude: dict[str, list[str]] = field(default_factory=dict)  # source column -> values whose rows are left out
    attributes: list[str] | None = None  # customers: the source columns kept as attributes (None: all)

    @property
    def source(self) -> str:
        """A short description of the source, for messages."""
        if self.label:
            return self.label
        if self.path is not None:
            return str(self.path)
        return f"{safe_url(str(self.connection))} ({self.table or 'sql query'})"


# query parameters of a connection URL that hold a secret (libpq's and common drivers')
SECRET_PARAMETERS = ("password", "passwd", "pwd", "sslpassword", "secret", "token", "access_token", "api_key", "apikey", "key")


def safe_url(url: str) -> str:
    """A connection URL without its credentials, for messages, logs and reports.

    The user name stays, the password of the user information goes
    (``postgresql://u:pw@h/db`` → ``postgresql://u@h/db``), and so does the value of every
    secret query parameter (``?password=pw`` → ``?password=***``).
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = f"{userinfo.split(':', 1)[0]}@{host}"
        query = "&".join(
            f"{k}=***" if k.lower() in SECRET_PARAMETERS else (f"{k}={v}" if sep else k)
            for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item)
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # not a URL urllib can split: show nothing of it
        return "<connection URL>"


def url_credentials(url: str) -> tuple[str | None, str | None]:
    """The user name and password of a connection URL, percent-decoded (``p%40ss`` → ``p@ss``).

    The password comes from the user information or, when that has none, from a
    ``password=`` query parameter.
    """
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is None:
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() == "password":
                password = value
    return user, password


@dataclass
class EngineConfig:
    """Which engine runs the heavy steps (DESIGN.md, Engine)."""

    kind: str = "duckdb"
    memory_limit: str | None = None
    threads: int | None = None
    path: str | None = None
    master: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    temp_directory: str | None = None
    session: Any = field(default=None, repr=False)  # an existing SparkSession (Python only)


@dataclass
class Config:
    """A validated config. Build one with :func:`load_config` or :func:`parse_config`."""

    tables: dict[str, TableConfig]
    title: str = "Customer engagement review"
    currency: str = "EUR"
    period: str = "M"
    as_of: dt.date | None = None
    timezone: str = "UTC"
    engine: EngineConfig = field(default_factory=EngineConfig)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    active_days: int | None = None  # one definition of active, in days; None: chosen from the data
    language: str = "auto"  # of free text (comments): en, de, or auto (chosen per text)
    identity: dict[str, str] = field(default_factory=dict)  # {email: lowercase_trim}: emails hashed into customer ids
    benchmarks: dict[str, float] = field(default_factory=lambda: dict(BENCHMARKS))  # name -> target (share 0-1)
    source: Path | None = None  # the YAML file, when read from one
    name: str | None = None  # the built-in dataset's name, when it is one

    @property
    def label(self) -> str:
        """The dataset as a reader knows it: a built-in name or the config file."""
        if self.name:
            return self.name
        return str(self.source) if self.source else "in-memory config"

    def to_dict(self) -> dict[str, Any]:
        """A YAML-ready mapping that :func:`parse_config` reads back."""
        out: dict[str, Any] = {
            "title": self.title,
            "currency": self.currency,
            "period": self.period,
            "timezone": self.timezone,
        }
        if self.as_of:
            out["as_of"] = self.as_of.isoformat()
        if self.active_days is not None:
            out["active_days"] = self.active_days
        if self.language != "auto":
            out["language"] = self.language
        if self.identity:
            out["identity"] = dict(self.identity)
        eng = {k: v for k, v in vars(self.engine).items() if v not in (None, {}) and k != "session"}
        if eng != {"kind": "duckdb"}:
            out["engine"] = eng
        tables = {}
        for name, t in self.tables.items():
            d: dict[str, Any] = {}
            for key in TABLE_KEYS:
                v = getattr(t, key)
                if v in (None, {}) or (key, v) in (("missing_customer_id", "error"), ("returns", {"match": "orders", "match_days": 90})):
                    continue
                d[key] = str(v) if isinstance(v, Path) else v
            tables[name] = d
        out["tables"] = tables
        if self.notebooks:
            out["notebooks"] = self.notebooks
        if self.benchmarks != BENCHMARKS:  # a removed default line is written as null
            out["benchmarks"] = {**{k: None for k in BENCHMARKS}, **self.benchmarks}
        return out


def _unknown_keys(raw: dict[str, Any]) -> list[str]:
    """Every unknown key in the config, each with the closest valid one."""
    problems = []

    def check(mapping: Any, valid: tuple[str, ...], where: str) -> None:
        if not isinstance(mapping, dict):
            return
        for key in mapping:
            if str(key) not in valid:
                problems.append(f"unknown key '{where}{key}'{did_you_mean(str(key), valid, aliases=KEY_ALIASES)}")

    check(raw, TOP_KEYS, "")
    check(raw.get("engine"), ENGINE_KEYS, "engine.")
    tables = raw.get("tables")
    if isinstance(tables, dict):
        for name, spec in tables.items():
            if str(name) not in TABLES:
                problems.append(
                    f"unknown table 'tables.{name}'{did_you_mean(str(name), TABLES)}; "
                    f"valid tables: {', '.join(TABLES)}"
                )
                continue
            if isinstance(spec, dict):
                check(spec, TABLE_KEYS, f"tables.{name}.")
                check(spec.get("read"), READ_KEYS, f"tables.{name}.read.")
                check(spec.get("returns"), RETURNS_KEYS, f"tables.{name}.returns.")
                check(spec.get("outliers"), OUTLIER_KEYS, f"tables.{name}.outliers.")
                cols = spec.get("columns")
                if isinstance(cols, dict) and name != "customers":
                    check(cols, tuple(TABLES[name].names), f"tables.{name}.columns.")
    notebooks = raw.get("notebooks")
    if isinstance(notebooks, dict):
        check(notebooks, NOTEBOOKS, "notebooks.")
    check(raw.get("benchmarks"), tuple(BENCHMARKS), "benchmarks.")
    return problems


def _parse_benchmarks(raw: Any, errors: list[str]) -> dict[str, float]:
    """``benchmarks``: the defaults (:data:`BENCHMARKS`) with the given values over them.

    Each value is a share between 0 and 1 (0.85 = 85%); ``null`` leaves that line out, and
    ``benchmarks: null`` leaves every line out. Unknown names are reported with the unknown keys.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(f"benchmarks: expected a mapping such as {{customer_retention_rate: 0.85}}, got {raw!r}")
        return dict(BENCHMARKS)
    out = dict(BENCHMARKS)
    for name, value in raw.items():
        name = str(name)
        if value is None:
            out.pop(name, None)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            errors.append(
                f"benchmarks.{name}: {value!r} is not a share between 0 and 1; write 0.85 for 85% "
                "(or null to leave the target line out)"
            )
        else:
            out[name] = float(value)
    return out


def _parse_date(value: Any, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"{where}: '{value}' is not a date; write it as YYYY-MM-DD, e.g. 2024-12-31"
        ) from None


def _read_problems(table: str, read: dict[str, Any]) -> list[str]:
    """What is wrong with a table's ``read`` options (values that cannot work together)."""
    problems = []
    decimal, thousands = read.get("decimal"), read.get("thousands")
    if decimal is not None and thousands is not None and str(decimal) == str(thousands):
        problems.append(
            f"tables.{table}.read: decimal and thousands are both '{decimal}', so '1{decimal}234' could be "
            f"either number; give them different characters, e.g. {{decimal: ',', thousands: '.'}}"
        )
    skip = read.get("skip_rows")
    if skip is not None and (isinstance(skip, bool) or not isinstance(skip, int) or skip < 0):
        problems.append(f"tables.{table}.read.skip_rows: '{skip}' is not a number of rows; give a whole number such as 2")
    dup = read.get("duplicates")
    if dup is not None and str(dup).strip().lower() not in ("keep", "drop"):
        problems.append(f"tables.{table}.read.duplicates: '{dup}' is not 'keep' or 'drop' (identical rows: drop is the default)")
    unit = read.get("timestamp_unit")
    if unit is not None and str(unit).strip().lower() not in TIMESTAMP_UNITS:
        units = ", ".join(f"{k} ({v})" for k, v in TIMESTAMP_UNITS.items())
        problems.append(
            f"tables.{table}.read.timestamp_unit: '{unit}' is not one of {units}"
            f"{did_you_mean(str(unit), TIMESTAMP_UNITS, aliases=_UNIT_ALIASES)}; it reads numbers in the "
            "timestamp columns as times since 1970-01-01 UTC (epoch times)"
        )
    elif unit is not None and read.get("date_format"):
        problems.append(
            f"tables.{table}.read: give either date_format (dates written as text) or timestamp_unit "
            "(dates written as numbers of seconds, milliseconds or microseconds since 1970-01-01), not both"
        )
    return problems


_UNIT_ALIASES = {"sec": "s", "secs": "s", "second": "s", "seconds": "s", "millis": "ms", "milliseconds": "ms",
                 "millisecond": "ms", "msec": "ms", "micros": "us", "microseconds": "us", "microsecond": "us",
                 "usec": "us", "µs": "us"}


def _transaction_rules(
    name: str, spec: dict[str, Any], errors: list[str]
) -> tuple[dict[str, str], str, dict[str, Any], dict[str, Any]]:
    """``derive``, ``missing_customer_id``, ``returns`` and ``outliers`` of one table, checked."""
    from .schema import TABLES as _TABLES

    derive_raw = spec.get("derive") or {}
    derive: dict[str, str] = {}
    if not isinstance(derive_raw, dict):
        errors.append(f"tables.{name}.derive: expected a mapping such as {{amount: \"Quantity * UnitPrice\"}}")
    else:
        valid = tuple(_TABLES[name].names) if name in _TABLES else ()
        for k, v in derive_raw.items():
            if str(k) not in valid:
                errors.append(f"tables.{name}.derive.{k}: '{k}' is not a column of {name}{did_you_mean(str(k), valid)}")
            elif not isinstance(v, (str, int, float)) or isinstance(v, bool):
                errors.append(f"tables.{name}.derive.{k}: expected an expression in quotes, e.g. \"Quantity * UnitPrice\"")
            else:
                derive[str(k)] = str(v)
        both = sorted(set(derive) & set(map(str, spec.get("columns") or {})))
        if both:
            errors.append(f"tables.{name}: {', '.join(both)} both mapped in columns and derived in derive; keep one")
    for key in TRANSACTION_KEYS:
        if key in spec and name != "transactions":
            errors.append(f"tables.{name}.{key}: only the transactions table has this setting")
    missing = str(spec.get("missing_customer_id", "error")).strip().lower()
    if missing not in MISSING_CUSTOMER_ID:
        errors.append(
            f"tables.{name}.missing_customer_id: '{spec.get('missing_customer_id')}' is not one of "
            f"{', '.join(MISSING_CUSTOMER_ID)}{did_you_mean(missing, MISSING_CUSTOMER_ID)}"
        )
        missing = "error"
    returns: dict[str, Any] = {"match": "orders", "match_days": 90}
    r = spec.get("returns")
    if r is not None:
        if not isinstance(r, dict):
            errors.append(f"tables.{name}.returns: expected a mapping such as {{match_days: 90}} or {{match: none}}")
        else:
            match = r.get("match", "orders")
            match = "none" if match is None or match is False else str(match).strip().lower()
            if match not in ("orders", "none"):
                errors.append(f"tables.{name}.returns.match: '{r.get('match')}' is not 'orders' or 'none'")
            days = r.get("match_days", 90)
            if isinstance(days, bool) or not isinstance(days, int) or days < 0:
                errors.append(f"tables.{name}.returns.match_days: expected a whole number of days >= 0, got {days!r}")
                days = 90
            returns = {"match": match, "match_days": days}
            col = r.get("order_column")
            if col is not None:
                if not isinstance(col, str) or not col.strip():
                    errors.append(
                        f"tables.{name}.returns.order_column: expected the name of the column that gives a return's "
                        f"original order, got {col!r}"
                    )
                else:
                    returns["order_column"] = col.strip()
    outliers: dict[str, Any] = {}
    o = spec.get("outliers")
    if o is not None:
        above = o.get("exclude_above") if isinstance(o, dict) else None
        if isinstance(above, bool) or not isinstance(above, (int, float)) or above <= 0:
            errors.append(f"tables.{name}.outliers: expected {{exclude_above: AMOUNT}} with a positive amount, got {o!r}")
        else:
            outliers = {"exclude_above": float(above)}
    return derive, missing, returns, outliers


def parse_config(raw: Any, *, base_dir: Path | None = None, source: Path | None = None) -> Config:
    """Validate a config mapping (as read from YAML) and return a :class:`Config`.

    Parameters
    ----------
    raw : mapping
        The parsed YAML document.
    base_dir : Path, optional
        Directory that relative table paths are resolved against (the config's folder).
    source : Path, optional
        The config file, named in messages.
    """
    where = f"config {source}" if source else "config"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: expected a mapping of keys (title, tables, ...), got {type(raw).__name__}"
        )
    problems = _unknown_keys(raw)
    if problems:
        raise ConfigError(f"{where} has {len(problems)} unknown key(s):\n  - " + "\n  - ".join(problems))

    errors: list[str] = []
    base_dir = base_dir or Path.cwd()

    period = str(raw.get("period", "M")).upper()
    if period not in PERIODS:
        errors.append(f"period: '{raw.get('period')}' is not one of W, M, Q")
    tz = str(raw.get("timezone") or "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.append(f"timezone: '{tz}' is not a known time zone (e.g. UTC, Europe/Berlin)")
    try:
        as_of = _parse_date(raw.get("as_of"), "as_of")
    except ConfigError as e:
        errors.append(str(e))
        as_of = None
    active_days = raw.get("active_days")
    if active_days is not None and (isinstance(active_days, bool) or not isinstance(active_days, int) or active_days < 1):
        errors.append(
            f"active_days: '{active_days}' is not a number of days; give a whole number of days >= 1 such as 90 "
            "(or leave it out to choose it from the data)"
        )
        active_days = None
    language = str(raw.get("language") or "auto").strip().lower()
    if language not in LANGUAGES:
        errors.append(f"language: '{raw.get('language')}' is not one of en, de, auto (auto: chosen per text)")
        language = "auto"

    eng_raw = raw.get("engine") or {}
    engine = EngineConfig()
    if not isinstance(eng_raw, dict):
        errors.append("engine: expected a mapping such as {kind: duckdb, memory_limit: 8GB}")
    else:
        engine = EngineConfig(**{k: eng_raw[k] for k in ENGINE_KEYS if k in eng_raw})
        engine.kind = str(engine.kind or "duckdb").lower()
        if engine.threads is not None:
            threads = engine.threads
            if isinstance(threads, str) and threads.strip().isdigit():
                threads = int(threads)
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                errors.append(f"engine.threads: '{engine.threads}' is not a number of threads; give a whole number such as 4")
                threads = None
            engine.threads = threads
        if engine.settings is not None and not isinstance(engine.settings, dict):
            errors.append(
                f"engine.settings: expected a mapping of setting -> value such as "
                f"{{spark.sql.shuffle.partitions: '64'}}, got {engine.settings!r}"
            )
            engine.settings = {}
        engine.settings = dict(engine.settings or {})
        if engine.kind not in ENGINE_KINDS:
            errors.append(
                f"engine.kind: '{engine.kind}' is not one of {', '.join(ENGINE_KINDS)}"
                f"{did_you_mean(engine.kind, ENGINE_KINDS)}"
            )

    tables_raw = raw.get("tables")
    tables: dict[str, TableConfig] = {}
    if not isinstance(tables_raw, dict) or not tables_raw:
        errors.append(
            "tables: missing; list at least `transactions: {path: ...}` "
            "(or `customers` with a churned column)"
        )
    else:
        for name, spec in tables_raw.items():
            if isinstance(spec, str):
                spec = {"path": spec}
            if not isinstance(spec, dict):
                errors.append(f"tables.{name}: expected a mapping with `path`, got {spec!r}")
                continue
            preset, optional = None, ()
            if "preset" in spec:  # the preset's settings under the user's own
                try:
                    spec, optional = presets.merge(str(name), spec, f"tables.{name}")
                except ConfigError as e:
                    errors.append(str(e))
                    continue
                preset = str(tables_raw[name]["preset"]).strip()
            has_path, has_conn = "path" in spec, "connection" in spec
            if has_path == has_conn:
                errors.append(f"tables.{name}: give either `path` (a file) or `connection` (a database)")
                continue
            if has_conn and not (spec.get("table") or spec.get("sql")):
                errors.append(f"tables.{name}: with `connection`, give `table` or `sql`")
            cols = spec.get("columns") or {}
            if not isinstance(cols, dict):
                errors.append(f"tables.{name}.columns: expected a mapping canonical name -> your column")
                cols = {}
            read = spec.get("read") or {}
            if not isinstance(read, dict):
                errors.append(f"tables.{name}.read: expected a mapping such as {{sep: ';'}}")
                read = {}
            errors.extend(_read_problems(name, read))
            path = None
            if has_path:
                try:
                    path = Path(str(spec["path"])).expanduser()
                except RuntimeError:  # ~user of a user that does not exist
                    errors.append(f"tables.{name}.path: '{spec['path']}': the home folder in it does not exist on this machine")
                    path = Path(str(spec["path"]))
                if not path.is_absolute():
                    path = base_dir / path
            derive, missing, returns, outliers = _transaction_rules(name, spec, errors)
            if isinstance(spec.get("returns"), dict):
                returns.update(parse_return_rules(name, spec["returns"], errors))
            maps = parse_table_maps(name, spec, () if name == "customers" else tuple(TABLES[name].names), errors)
            tables[name] = TableConfig(
                name=name,
                path=path,
                read=dict(read),
                columns={str(k): str(v) for k, v in cols.items()},
                connection=spec.get("connection"),
                table=spec.get("table"),
                sql=spec.get("sql"),
                password_env=spec.get("password_env"),
                derive=derive,
                missing_customer_id=missing,
                returns=returns,
                outliers=outliers,
                preset=preset,
                preset_optional=tuple(optional),
                **maps,
            )
        if tables and "transactions" not in tables and "customers" not in tables:
            errors.append("tables: `transactions` is required (or `customers` with a churned column)")

    identity = parse_identity(raw.get("identity"), errors)
    benchmarks = _parse_benchmarks(raw["benchmarks"] if "benchmarks" in raw else dict(BENCHMARKS), errors)
    notebooks_raw = raw.get("notebooks") or {}
    notebooks: dict[str, dict[str, Any]] = {}
    if not isinstance(notebooks_raw, dict):
        errors.append("notebooks: expected a mapping of notebook name -> parameters")
    else:
        for nb, params in notebooks_raw.items():
            if params is None:
                params = {}
            if not isinstance(params, dict):
                errors.append(f"notebooks.{nb}: expected a mapping of parameter -> value")
                continue
            notebooks[str(nb)] = dict(params)

    if errors:
        raise ConfigError(f"{where} has {len(errors)} problem(s):\n  - " + "\n  - ".join(errors))

    return Config(
        tables=tables,
        title=str(raw.get("title") or "Customer engagement review"),
        currency=str(raw.get("currency") or "EUR"),
        period=period,
        as_of=as_of,
        timezone=tz,
        engine=engine,
        notebooks=notebooks,
        active_days=active_days,
        language=language,
        identity=identity,
        benchmarks=benchmarks,
        source=source,
    )


class _BadValue(yaml.constructor.ConstructorError):
    """A value YAML recognised but cannot build (``2024-02-30``), with its place in the file."""


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but an impossible date is an error with its line and column
    (PyYAML raises a bare ``ValueError`` from ``datetime.date`` without a place)."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as e:
            raise _BadValue(
                None,
                None,
                f"'{node.value}' is not a real date ({e}); write a date that exists as YYYY-MM-DD, e.g. 2024-02-29",
                node.start_mark,
            ) from None


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _ConfigLoader.construct_yaml_timestamp)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file.

    Relative table paths are resolved against the config file's folder.
    """
    try:
        path = Path(path).expanduser()
    except RuntimeError:  # ~user of a user that does not exist
        raise ConfigError(f"config file {path}: the home folder in it does not exist on this machine") from None
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"config {path} is a folder; give the YAML file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read: {e}") from None
    try:
        raw = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader
    except _BadValue as e:
        mark = e.problem_mark
        raise ConfigError(
            f"config file {path}, line {mark.line + 1}, column {mark.column + 1}: {e.problem}"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    except (ValueError, OverflowError, RecursionError) as e:  # PyYAML's constructors raise these too
        raise ConfigError(f"config file {path} cannot be read: {e}") from None
    if raw is None:
        raise ConfigError(f"config file {path} is empty; it needs at least a `tables:` section")
    return parse_config(raw, base_dir=path.parent.resolve(), source=path)


def write_config(config: Config, path: str | Path) -> Path:
    """Write ``config`` as YAML (table paths relative to the file where possible)."""
    path = Path(path)
    data = config.to_dict()
    for spec in data["tables"].values():
        if "path" in spec:
            p = Path(spec["path"])
            try:
                spec["path"] = str(p.resolve().relative_to(path.parent.resolve()))
            except ValueError:
                spec["path"] = str(p)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
