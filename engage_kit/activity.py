"""One definition of *active* for every report: bought within the last ``active_days``.

The KPIs' retention and churn (:mod:`engage_kit.metrics.retention`), the cohort survival
view (:func:`engage_kit.cohorts.lapse_durations`), churn's label window
(``inactivity_days`` in :mod:`engage_kit.churn`) and the channels' active rate all use the
same window. It comes from, in this order: a notebook parameter, the config's top-level
``active_days``, else the data (:func:`default_active_days`). :func:`active_window`
resolves it and says where it came from; each notebook calls it once through
:meth:`engage_kit.nb.Context.active`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from .errors import ParameterError

WINDOW_STEPS = (30, 60, 90, 180, 365)  # days; the data's choice is rounded up to one of these
GAP_QUANTILE = 0.9
SOURCES = {"parameter": "set by the report's parameter", "config": "set in the config", "data": "chosen from the data"}
_SECONDS_PER_DAY = 86_400


def check_active_days(value: Any, name: str = "active_days") -> int:
    """``value`` as a whole number of days >= 1, else a ParameterError naming ``name``."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer, float, np.floating))
    if not ok or not np.isfinite(value) or value != int(value) or value < 1:
        raise ParameterError(f"{name} must be a whole number of days >= 1 (e.g. 90); got {value!r}")
    return int(value)


def purchase_gap_counts(transactions: Any, *, as_of: Any = None) -> pd.DataFrame:
    """Days between a customer's consecutive purchase days, counted in the engine.

    Purchase days are the distinct (customer_id, calendar day) pairs of rows with
    amount >= 0 (zero amounts included, returns never) up to ``as_of`` (inclusive). Each
    purchase day after a customer's first gives one gap: the days since that customer's
    previous purchase day (``lag`` over the days, ordered, per customer), so a gap is a
    whole number >= 1. Only the histogram leaves the engine.

    Returns
    -------
    DataFrame
        ``gap_days`` (int) and ``gaps`` (count), one row per gap length, sorted.
    """
    from .metrics._common import to_table, window

    t = to_table(transactions, "transactions")
    t = window(t, "timestamp", as_of=as_of)
    t = t.filter(t.customer_id.notnull(), t.timestamp.notnull(), t.amount >= 0)
    day = (t.timestamp.truncate("D").epoch_seconds() // _SECONDS_PER_DAY).cast("int64")
    days = t.select("customer_id", day=day).distinct()
    w = ibis.window(group_by="customer_id", order_by="day")
    gaps = days.mutate(gap_days=days.day - days.day.lag().over(w))
    gaps = gaps.filter(gaps.gap_days.notnull())
    out = gaps.group_by("gap_days").aggregate(gaps=gaps.count()).execute()
    out = out.astype({"gap_days": "int64", "gaps": "int64"})
    return out.sort_values("gap_days").reset_index(drop=True)


def gap_quantile(counts: pd.DataFrame, q: float = GAP_QUANTILE) -> float:
    """The ``q`` quantile of the gaps in :func:`purchase_gap_counts`' histogram.

    Linear interpolation between order statistics, as ``numpy.quantile`` (its default
    method 7, Hyndman and Fan 1996) would give on the gaps listed one by one. NaN when
    there are none.
    """
    c = counts[counts["gaps"] > 0].sort_values("gap_days")
    n = int(c["gaps"].sum())
    if n == 0:
        return float("nan")
    values = c["gap_days"].to_numpy(dtype=float)
    upto = np.cumsum(c["gaps"].to_numpy())  # the sorted gaps 0 .. upto[i] - 1 equal values[i]
    h = (n - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    x_lo = values[np.searchsorted(upto, lo, side="right")]
    x_hi = values[np.searchsorted(upto, hi, side="right")]
    return float(x_lo + (h - lo) * (x_hi - x_lo))


def round_up_window(days: float) -> int:
    """The shortest of 30, 60, 90, 180, 365 days that is at least ``days`` (365 beyond it and for NaN)."""
    if days is None or not np.isfinite(days):
        return WINDOW_STEPS[-1]
    return next((s for s in WINDOW_STEPS if days <= s), WINDOW_STEPS[-1])


def default_active_days(transactions: Any, *, as_of: Any = None) -> int:
    """The activity window chosen from the data, in days.

    Rule: take every customer's purchase days (distinct calendar days with a purchase,
    amount >= 0) and the days between each one and the same customer's previous one; the
    window is the 90th percentile of those gaps (linear interpolation, as
    ``numpy.quantile``), rounded up to 30, 60, 90, 180 or 365 days (365 when the
    percentile is longer, or when no customer bought on two days). So nine in ten repeat
    purchases come within the window of the one before: a customer quiet for longer has
    most likely lapsed.

    Parameters
    ----------
    transactions : Ibis table or DataFrame
        Canonical transactions (customer_id, timestamp, amount).
    as_of : date, optional
        Inclusive analysis date; later rows are ignored.

    Returns
    -------
    int
        One of 30, 60, 90, 180, 365.

    Examples
    --------
    Gaps of 10, 20, 30, 40 and 100 days: the 90th percentile is 76 days, so 90.
    """
    return round_up_window(gap_quantile(purchase_gap_counts(transactions, as_of=as_of)))


@dataclass(frozen=True)
class ActiveWindow:
    """The activity window one report uses: its length and where it came from.

    ``source`` is ``parameter``, ``config`` or ``data``; for ``data``, ``gap_days`` is the
    90th percentile of the days between purchase days and ``gaps`` how many gaps it rests on.
    """

    days: int
    source: str
    gap_days: float | None = None
    gaps: int | None = None

    @property
    def definition(self) -> str:
        """``active = bought in the last 90 days``."""
        return f"active = bought in the last {self.days} days"

    @property
    def how(self) -> str:
        """``chosen from the data``, ``set in the config`` or ``set by the report's parameter``."""
        return SOURCES[self.source]

    def sentence(self, uses: str | None = None) -> str:
        """The one sentence every report shows: the definition and where it came from.

        ``uses`` replaces the closing remark on what uses the window.
        """
        text = f"**Active = bought in the last {self.days} days**; {self.how}"
        if self.source == "data":
            if self.gaps:
                text += (f" (nine in ten of the {self.gaps:,} repeat purchase days came within {self.gap_days:,.0f} days "
                         f"of the customer's previous one, rounded up to 30, 60, 90, 180 or 365 days)")
            elif self.gaps == 0:
                text += " (no customer bought on two different days, so the longest window)"
            else:
                text += " (no transactions to choose it from, so the longest window)"
        return text + ". " + (uses or "Retention, churn and lapse figures use this window.")

    def to_dict(self) -> dict[str, Any]:
        """``{"value": 90, "source": "data"}`` for results.json; a window chosen from the data
        adds the repeat purchase days it was chosen from and their 90th percentile gap."""
        out: dict[str, Any] = {"value": self.days, "source": self.source}
        if self.source == "data" and self.gaps:
            out.update({"repeat_purchase_days": int(self.gaps), "gap_p90_days": float(self.gap_days)})
        return out

    def __repr__(self) -> str:
        return f"<ActiveWindow: {self.days} days, {self.how}>"


def active_window(
    transactions: Any = None, *, parameter: Any = None, configured: Any = None, as_of: Any = None
) -> ActiveWindow:
    """The activity window: ``parameter`` if given, else ``configured`` (the config's
    ``active_days``), else :func:`default_active_days` of ``transactions``.

    Without transactions and without a value, the longest window (365 days) is used.
    """
    if parameter is not None:
        return ActiveWindow(check_active_days(parameter), "parameter")
    if configured is not None:
        return ActiveWindow(check_active_days(configured), "config")
    if transactions is None:
        return ActiveWindow(WINDOW_STEPS[-1], "data")
    counts = purchase_gap_counts(transactions, as_of=as_of)
    q = gap_quantile(counts)
    return ActiveWindow(round_up_window(q), "data", None if not np.isfinite(q) else q, int(counts["gaps"].sum()))


def resolve(days: Any, transactions: Any, *, as_of: Any = None, name: str = "active_days") -> int:
    """``days`` checked, or the data's default when None (for the analysis functions)."""
    if days is None:
        return default_active_days(transactions, as_of=as_of)
    return check_active_days(days, name)
