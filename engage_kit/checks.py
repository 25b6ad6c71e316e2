"""One table's columns mapped onto the canonical names, typed and checked (DESIGN.md, Data contract).

Each value is try-cast so that failures can be counted and shown with their row numbers; the
table's own rules (conflicting order ids, survey scales, returns, impossible values) follow.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import re
from typing import Any

import ibis
import ibis.expr.datatypes as idt
import pandas as pd

from . import derive as derive_mod
from . import engine as eng
from . import identity as identity_mod
from . import mapping as mapping_mod
from . import presets as presets_mod
from .config import Config, TableConfig
from .datanotes import (
    _OFFSET_RE,
    MAX_EXAMPLES,
    SURVEY_SCALES,
    SURVEY_WHOLE,
    TableReport,
    _count,
    _examples,
    _first_line,
)
from .errors import ConfigError, DataError, EngineMemoryError, closest
from .headers import _name_key
from .schema import BOOL_FALSE, BOOL_TRUE, TABLES, TableSpec
from .sources import _read_raw

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


def _find_column(name: str, file_cols: list[str], used: set[str]) -> tuple[str | None, list[str]]:
    """The source column for ``name``: its own spelling, else the one column that is the same
    ignoring case, spaces and underscores; (None, the candidates) when there is none or several."""
    if name in file_cols and name not in used:
        return name, []
    same = [c for c in file_cols if _name_key(c) == _name_key(name) and c not in used]
    return (same[0], []) if len(same) == 1 else (None, same)


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

    def several(name: str, cols: list[str], what: str) -> str:
        return (
            f"{where}: {what} matches {len(cols)} columns ({', '.join(repr(c) for c in cols)}; names are "
            f"matched ignoring case, spaces and underscores); name the one to use with "
            f"tables.{spec.name}.columns: {{{name}: <column>}}"
        )

    for canon, user in tcfg.columns.items():
        found, same = _find_column(user, file_cols, set())
        if found is None and not same and canon in tcfg.preset_optional:
            continue  # the preset uses this column only when the export has it
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
        if col.name in mapping or col.name in tcfg.columns or col.name in tcfg.derive or col.name in tcfg.constants:
            continue
        found, same = _find_column(col.name, file_cols, used)
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
        keep = file_cols if tcfg.attributes is None else [f for a in tcfg.attributes if (f := _find_column(a, file_cols, set())[0])]
        for c in keep:
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
    opened = _read_raw(con, tcfg)
    raw = opened.table
    if tcfg.preset and _preset_misfit(raw, tcfg, where, report):
        return None
    mapping, errors, notes = _resolve_columns(raw, tcfg, spec)
    if not tcfg.preset:
        hint = presets_mod.suggestion([c for c in raw.columns if c != "_row"], spec.name)
        if hint and errors:
            errors[0] += f"; {hint}"
        elif hint:
            notes.append(f"{where}: {hint}")
    report.errors.extend(errors)
    report.warnings.extend(notes)
    excluded = _excluded(raw, tcfg, where, report)
    complete = all(c in mapping for c in spec.required)

    fmt = tcfg.read.get("date_format")
    if fmt and any(spec.kind(c) == "timestamp" and raw[u].type().is_string() for c, u in mapping.items()):
        problem = _date_format_problem(con, str(fmt), spec.name)
        if problem:
            report.errors.append(f"{where}: {problem}")
            return None

    exprs: dict[str, ibis.Value] = {"_row": raw._row} if "_row" in raw.columns else {}
    if excluded is not None:
        exprs["_out"] = excluded[0]
    checks: dict[str, str] = {}  # canonical column -> source column, for typed columns
    texts: list[str] = []  # canonical text columns, checked for NUL bytes
    for canon, user in mapping.items():
        kind = spec.kind(canon)
        source = raw[user]
        if canon in tcfg.values:  # the export's values replaced by the kit's
            source = mapping_mod.mapped(source, tcfg.values[canon])
        typed = _typed(con, source, kind, tcfg.read, config.timezone)
        if kind in ("id", "string") and identity_mod.applies(spec.name, canon, config.identity):
            typed = identity_mod.customer_key(typed, config.identity["email"])
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
    for canon, value in tcfg.constants.items():  # one value for every row
        exprs[canon] = _typed(con, mapping_mod.constant(value), spec.kind(canon), {}, config.timezone)
        mapping[canon] = f"= {value}"
    rule_cols = _return_rule_columns(raw, tcfg, where, report, exprs) if spec.name == "transactions" else set()
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
        stage = eng.stage(con, f"ek_stage_{spec.name}", raw.select(**exprs))
    except EngineMemoryError as e:
        raise EngineMemoryError(f"{where}: {e}") from None
    except Exception as e:
        opened.numbered()  # a source that cannot be read raises what its read error means
        # else the engine could not apply the read options to these values
        raise DataError(f"{where}: cannot be read with tables.{spec.name}.read {tcfg.read}: {_first_line(e)}") from e
    if excluded is not None:
        n_out = _count(stage.aggregate(n=stage._out.sum()).execute().iloc[0]["n"])
        if n_out:
            report.warnings.append(f"{where}: {n_out:,} rows are left out by tables.{spec.name}.exclude ({excluded[1]})")
        stage = stage.filter(~stage._out)

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
            picked = opened.numbered().filter(ibis._._row.isin([int(r) for r in rows["_row"]]))
            ex = picked.select("_row", value=picked[checks[canon]]).order_by("_row").execute()
            report.errors.append(
                f"{where}: column '{checks[canon]}', used in tables.{spec.name}.derive.{target} ('{text}'): "
                f"{count:,} of {n:,} values are not numbers, e.g. {_examples(ex, 'value')}"
            )
            continue
        rows = stage.filter(stage[f"_bad_{canon}"]).select("_row").order_by("_row").limit(MAX_EXAMPLES).execute()
        picked = opened.numbered().filter(ibis._._row.isin([int(r) for r in rows["_row"]]))
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
        *sorted(rule_cols),
    )
    if spec.name == "transactions":
        # without an order_id every row is one order: give each such row its own id, so
        # identical rows stay separate purchases (CDNOW has 21 such same-day repeats)
        table = table.mutate(order_id=table.order_id.fill_null("#" + table._row.cast("string")))
    table = _check_table(con, table, spec, where, report, mapping)
    return None if report.errors else table


def _source_column(raw: ibis.Table, name: str, setting: str, where: str, report: TableReport) -> str | None:
    """The source column a setting names (matched as columns are); an error naming it when absent."""
    file_cols = [c for c in raw.columns if c != "_row"]
    found, _ = _find_column(name, file_cols, set())
    if found is None:
        near = closest(name, file_cols)
        report.errors.append(
            f"{where}: {setting} names the column '{name}', but the file has no column '{name}'"
            + (f" (did you mean '{near}'?)" if near else "") + f"; its columns are: {', '.join(file_cols)}"
        )
    return found


def _preset_misfit(raw: ibis.Table, tcfg: TableConfig, where: str, report: TableReport) -> bool:
    """True (with one error naming the preset, the missing columns and the closest ones found)
    when the file lacks columns its preset reads."""
    preset = presets_mod.get(tcfg.preset or "")
    file_cols = [c for c in raw.columns if c != "_row"]
    section = {"columns": tcfg.columns, "optional": tcfg.preset_optional, "derive": tcfg.derive,
               "returns": tcfg.returns, "exclude": tcfg.exclude}
    missing = [c for c in presets_mod.expected_columns(section) if _find_column(c, file_cols, set())[0] is None]
    if not missing:
        return False
    shown = []
    for c in missing:
        near = closest(c, file_cols) or closest(c, file_cols, aliases=None)
        shown.append(f"'{c}'" + (f" (closest: '{near}')" if near else ""))
    other = presets_mod.suggest(file_cols, tcfg.name)
    also = f"; it looks like a {other.title} instead: preset: {other.name}" if other and other.name != preset.name else ""
    report.errors.append(
        f"{where}: the file does not fit preset {preset.name} ({preset.title}): missing column(s) {', '.join(shown)}; "
        f"the file's columns are: {', '.join(file_cols)}{also}; map a column of another name with "
        f"tables.{tcfg.name}.columns (your keys override the preset's)"
    )
    return True


def _excluded(raw: ibis.Table, tcfg: TableConfig, where: str, report: TableReport) -> tuple[ibis.Value, str] | None:
    """Which rows of ``raw`` ``exclude`` leaves out, and the rules in words (None: no rule).

    The condition is staged as ``_out``: the rows stay in the stage, so that its row
    numbers are the file's, and are counted and left out before any check reads it.
    """
    conds = []
    for name, listed in tcfg.exclude.items():
        col = _source_column(raw, name, f"tables.{tcfg.name}.exclude", where, report)
        if col is not None:
            conds.append((col, listed, mapping_mod.matches(raw[col], listed)))
    if not conds:
        return None
    what = "; ".join(f"{col} is {', '.join(repr(v) if v else 'blank' for v in listed)}" for col, listed, _ in conds)
    return functools.reduce(operator.or_, [c for *_, c in conds]), what


def _return_rule_columns(raw: ibis.Table, tcfg: TableConfig, where: str, report: TableReport,
                         exprs: dict[str, ibis.Value]) -> set[str]:
    """``_cancel`` and ``_refund``, from returns.cancel_when and returns.refund_column, into ``exprs``."""
    out = set()
    conds = []
    for name, listed in (tcfg.returns.get("cancel_when") or {}).items():
        col = _source_column(raw, name, f"tables.{tcfg.name}.returns.cancel_when", where, report)
        if col is not None:
            conds.append(mapping_mod.matches(raw[col], listed))
    if conds:
        exprs["_cancel"] = functools.reduce(operator.or_, conds)
        out.add("_cancel")
    name = tcfg.returns.get("refund_column")
    col = _source_column(raw, name, f"tables.{tcfg.name}.returns.refund_column", where, report) if name else None
    if col is not None:  # blank and non-numbers: no refund
        exprs["_refund"] = _typed(None, raw[col], "float", tcfg.read, "UTC")
        out.add("_refund")
    return out


def _return_order_column(raw: ibis.Table, tcfg: TableConfig, where: str, report: TableReport) -> str | None:
    """The source column ``returns.order_column`` names (matched as columns are), or None."""
    name = tcfg.returns.get("order_column")
    if not name:
        return None
    file_cols = [c for c in raw.columns if c != "_row"]
    found, _ = _find_column(name, file_cols, set())
    if found is not None:
        return found
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
            # two customers on one order: its smallest and largest customer id differ (NULLs,
            # guest rows, are ignored as a count of distinct values would; min and max are far cheaper)
            conflicts = (
                t.filter(t.order_id.notnull())
                .group_by("order_id")
                .aggregate(lo=t.customer_id.min(), hi=t.customer_id.max(), first_row=t._row.min())
                .filter(lambda g: g.lo != g.hi)
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
        kinds = eng.strip(t.kind.lower())
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
