"""One exception family, so the CLI can print a message and exit 2 without a traceback."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping


class EngageKitError(Exception):
    """Base class of every error engage-kit raises on purpose (bad input, bad config)."""

    exit_code = 2


class ConfigError(EngageKitError):
    """The config file is missing, not YAML, or has unknown or invalid keys."""


class DataError(EngageKitError):
    """A table cannot be used: missing file, missing column, unparseable values..."""


class ParameterError(EngageKitError):
    """A notebook or function parameter has an invalid value."""


class EngineMemoryError(DataError):
    """The engine ran out of memory; the message names engine.memory_limit."""


class ModelError(EngageKitError):
    """A model cannot be fitted on this data (degenerate input, no convergence)."""


# A "did you mean" is offered only for a name that is really close to a valid one:
# difflib's similarity of at least CLOSE_RATIO ('amout', 'amnt' -> 'amount'; not 'Country'),
# one edit or swap away ('knid' -> 'kind'), or an abbreviation ('clv' -> 'clv_bgnbd',
# 'ctrl' -> 'control'). Measured: 'amount' vs 'country' is 0.62, 'amnt' vs 'amount' 0.80.
CLOSE_RATIO = 0.8

# Common other names of config keys (normalised: lower case, '_' for spaces and dashes);
# a hint names the key the kit uses when it is one of the valid keys at that place.
KEY_ALIASES = {
    # read options
    "seperator": "sep", "separator": "sep", "delimiter": "sep", "delimeter": "sep", "delim": "sep",
    "field_separator": "sep", "column_separator": "sep", "field_delimiter": "sep", "sep_char": "sep",
    "decimal_sep": "decimal", "decimal_separator": "decimal", "decimal_seperator": "decimal",
    "decimal_point": "decimal", "decimal_mark": "decimal", "decimal_char": "decimal",
    "thousands_sep": "thousands", "thousands_separator": "thousands", "thousand_separator": "thousands",
    "thousands_seperator": "thousands", "thousand_sep": "thousands", "grouping": "thousands",
    "charset": "encoding", "codec": "encoding", "enc": "encoding", "file_encoding": "encoding",
    "date_fmt": "date_format", "dateformat": "date_format", "datetime_format": "date_format",
    "timestamp_format": "date_format", "time_format": "date_format",
    "sheet_name": "sheet", "worksheet": "sheet", "tab": "sheet",
    "skiprows": "skip_rows", "skip": "skip_rows", "skip_lines": "skip_rows",
    "unit": "timestamp_unit", "epoch_unit": "timestamp_unit", "epoch": "timestamp_unit",
    "drop_duplicates": "duplicates", "dedupe": "duplicates", "dedup": "duplicates",
    # table keys
    "file": "path", "filename": "path", "file_path": "path", "filepath": "path", "location": "path",
    "mapping": "columns", "column_map": "columns", "rename": "columns", "cols": "columns",
    "query": "sql", "url": "connection", "uri": "connection", "dsn": "connection",
    "options": "read", "read_options": "read", "csv": "read",
    # engine keys
    "memory": "memory_limit", "mem_limit": "memory_limit", "max_memory": "memory_limit", "memory_max": "memory_limit",
    "num_threads": "threads", "n_threads": "threads", "cores": "threads",
    "temp_dir": "temp_directory", "tmp_dir": "temp_directory", "tmp_directory": "temp_directory",
    "spill_directory": "temp_directory", "type": "kind", "backend": "kind",
    # top-level keys
    "tz": "timezone", "time_zone": "timezone", "freq": "period", "frequency": "period",
    "granularity": "period", "asof": "as_of", "as_of_date": "as_of",
}


def _edits_at_most_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion, substitution or
    swap of two neighbouring letters (both at least 3 characters long)."""
    if min(len(a), len(b)) < 3 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) <= 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _abbreviates(short: str, long_: str) -> bool:
    """True when ``short`` is an abbreviation of ``long_``: the same first letter, its
    letters in order in ``long_``, and at least 3 of them and a third of ``long_``."""
    if len(short) < 3 or len(short) * 3 < len(long_) or short[0] != long_[0]:
        return False
    rest = iter(long_)
    return all(ch in rest for ch in short)


def closest(name: str, choices: Iterable[str], *, aliases: Mapping[str, str] | None = None) -> str | None:
    """Return the valid name really close to ``name`` (for "did you mean" hints), or None.

    Case is ignored. ``aliases`` maps other names of a key (``seperator``) to the key
    (``sep``): used when that key is one of ``choices``.
    """
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    key = str(name).lower()
    if key in lowered:
        return lowered[key]
    if aliases:
        target = aliases.get(re.sub(r"[\s\-]+", "_", key.strip()))
        if target is not None and target.lower() in lowered:
            return lowered[target.lower()]
    best: tuple[float, str] | None = None
    for low, original in lowered.items():
        ratio = difflib.SequenceMatcher(None, key, low).ratio()
        short, long_ = (key, low) if len(key) <= len(low) else (low, key)
        if ratio >= CLOSE_RATIO or _edits_at_most_one(key, low) or _abbreviates(short, long_):
            if best is None or ratio > best[0]:
                best = (ratio, original)
    return best[1] if best else None


def did_you_mean(name: str, choices: Iterable[str], *, aliases: Mapping[str, str] | None = None) -> str:
    """A `` (did you mean 'x'?)`` suffix, or an empty string when nothing is close."""
    best = closest(name, choices, aliases=aliases)
    return f" (did you mean '{best}'?)" if best else ""
