"""The engine: an Ibis connection where the heavy steps run (DESIGN.md, Engine).

DuckDB in-process is the default: nothing to start, reads CSV and Parquet directly,
works out of core and uses every core. DuckDB takes 80% of the machine's memory unless
told otherwise, so ``memory_limit`` in the config's ``engine`` section caps it.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from .config import EngineConfig
from .errors import ConfigError


def connect(engine: EngineConfig | None = None) -> Any:
    """Open the Ibis backend described by ``engine`` (default: in-memory DuckDB)."""
    engine = engine or EngineConfig()
    if engine.kind == "duckdb":
        kwargs: dict[str, Any] = {}
        if engine.memory_limit:
            kwargs["memory_limit"] = str(engine.memory_limit)
        if engine.threads:
            kwargs["threads"] = int(engine.threads)
        if engine.temp_directory:
            kwargs["temp_directory"] = str(engine.temp_directory)
        try:
            con = ibis.duckdb.connect(engine.path or ":memory:", **kwargs)
        except Exception as e:  # duckdb raises its own error types for bad settings
            raise ConfigError(f"engine: DuckDB could not start with {kwargs}: {e}") from None
        return con
    if engine.kind == "spark":
        raise ConfigError(
            "engine.kind: spark is not available in this version of engage-kit yet; "
            "use kind: duckdb (the default)"
        )
    raise ConfigError(f"engine.kind: unknown engine '{engine.kind}'")


# --- engine-side functions the loaders need (DuckDB names) -------------------------


@ibis.udf.scalar.builtin(name="try_strptime")
def try_strptime(value: str, fmt: str) -> dt.Timestamp():
    """Parse text with a strftime format; NULL where it does not match."""


@ibis.udf.scalar.builtin(name="timezone")
def to_local_naive(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():
    """Convert an instant to the wall-clock time of ``zone`` (naive)."""

