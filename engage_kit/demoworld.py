"""What the demo generator knows about its customers, handed to the generators of extra tables.

The core generator (``datasets.generate_demo``) draws purchases, customers, touches, surveys,
tickets and web sessions. Tables added later (leads, loyalty, usage, ...) are drawn by their
own modules from a :class:`DemoWorld`, each with a random stream of its own, so adding a
table never changes the draws of the tables that were there before.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class DemoWorld:
    """The demo's customers and their latent behaviour (one entry per customer unless noted).

    ``acq_days``, ``last_day``, ``active_until`` and ``buy_days`` are days since ``t_start``;
    ``buy_owner`` / ``buy_days`` list every purchase (customer index, day), sorted.
    ``tables`` holds the core tables already drawn; ``truth`` is the dict written to
    ``truth.json`` (an extra generator adds its own key to it).
    """

    seed: int
    t_start: pd.Timestamp
    window_days: int
    ids: np.ndarray
    acq_days: np.ndarray
    lam: np.ndarray  # purchases per week
    p_drop: np.ndarray
    nu: np.ndarray
    made: np.ndarray  # purchases in the window
    dropped_after_last: np.ndarray  # bool: its last purchase was its final one
    last_day: np.ndarray
    active_until: np.ndarray
    buy_owner: np.ndarray
    buy_days: np.ndarray
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any] = field(default_factory=dict)

    def rng(self, stream: int) -> np.random.Generator:
        """A random generator of its own for one extra table (``stream`` unique per module)."""
        return np.random.default_rng([self.seed, stream])

    def timestamps(self, days: np.ndarray) -> pd.Series:
        """Days since the start as timestamps floored to the second."""
        return pd.Series(self.t_start + pd.to_timedelta(days, unit="D")).dt.floor("s")


# modules that draw extra demo tables; each has ``DEMO_TABLES: dict[str, Callable[[DemoWorld], DataFrame]]``
# (table name -> generator). A new table: write the module, add its name here.
EXTRA_MODULES: tuple[str, ...] = ("engage_kit.metrics.demo_text", "engage_kit.metrics.demo", "engage_kit.journey.demo")


def extra_generators() -> dict[str, Callable[[DemoWorld], pd.DataFrame]]:
    """Table name -> generator of every extra demo table, in the order of ``EXTRA_MODULES``.

    Two modules that extend the same table (``touches``) are chained: the later one sees
    the earlier one's rows in ``world.tables``.
    """
    out: dict[str, Callable[[DemoWorld], pd.DataFrame]] = {}
    for module in EXTRA_MODULES:
        for name, make in importlib.import_module(module).DEMO_TABLES.items():
            out[name] = _chained(name, out[name], make) if name in out else make
    return out


def _chained(name: str, first: Callable[[DemoWorld], pd.DataFrame],
             then: Callable[[DemoWorld], pd.DataFrame]) -> Callable[[DemoWorld], pd.DataFrame]:
    """A generator that runs ``first``, keeps its table in ``world.tables`` and runs ``then``."""
    def make(world: DemoWorld) -> pd.DataFrame:
        world.tables[name] = first(world)
        return then(world)
    return make


def extra_tables(world: DemoWorld, wanted: set[str]) -> dict[str, pd.DataFrame]:
    """Draw every extra table that is wanted; each sees the tables drawn before it."""
    out: dict[str, pd.DataFrame] = {}
    for name, make in extra_generators().items():
        if name in wanted:
            out[name] = make(world)
            world.tables[name] = out[name]
    return out


def generator_fingerprint() -> str:
    """A short hash of the demo generator's source: cached demo data is rebuilt when it changes."""
    h = hashlib.sha256()
    files = [Path(__file__).with_name("datasets.py"), Path(__file__)]
    files += [Path(importlib.import_module(m).__file__ or "") for m in EXTRA_MODULES]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:10]
