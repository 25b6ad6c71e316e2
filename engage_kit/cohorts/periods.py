"""Calendar periods: weeks starting on Monday, months and quarters as consecutive integers.

A period index makes the offset of a purchase from its cohort a subtraction; the labels
are ``2024-01-01`` (the week's Monday), ``2024-01`` (month) and ``2024Q1`` (quarter).
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from .params import PERIODS, check_period

SECONDS_PER_DAY = 86_400
_MONDAY_EPOCH_DAYS = 4  # 1970-01-05, the first Monday after the Unix epoch
_MONDAY_EPOCH = pd.Timestamp("1970-01-05")


def period_index(ts: ibis.Value, period: str) -> ibis.Value:
    """Engine expression: the calendar period of ``ts`` as a consecutive integer.

    M: year * 12 + month - 1; Q: year * 4 + quarter - 1; W: whole weeks since Monday
    1970-01-05 (weeks start on Monday). Consecutive periods differ by one, so the offset of
    a purchase from its cohort is a subtraction.
    """
    period = check_period(period)
    if period == "M":
        return (ts.year() * 12 + ts.month() - 1).cast("int64")
    if period == "Q":
        return (ts.year() * 4 + ts.quarter() - 1).cast("int64")
    monday = ts.truncate("W")
    return ((monday.epoch_seconds() - _MONDAY_EPOCH_DAYS * SECONDS_PER_DAY) // (7 * SECONDS_PER_DAY)).cast("int64")


def period_index_of(when: Any, period: str) -> int:
    """The period index (see :func:`period_index`) of one date, computed in Python."""
    period = check_period(period)
    ts = pd.Timestamp(when)
    if period == "M":
        return ts.year * 12 + ts.month - 1
    if period == "Q":
        return ts.year * 4 + ts.quarter - 1
    return int((ts.normalize() - _MONDAY_EPOCH).days // 7)


def period_start(index: Any, period: str) -> pd.DatetimeIndex:
    """First day of each period index."""
    period = check_period(period)
    idx = np.atleast_1d(np.asarray(index, dtype="int64"))
    if period == "W":
        return pd.DatetimeIndex(_MONDAY_EPOCH + pd.to_timedelta(idx * 7, unit="D"))
    months_per = 1 if period == "M" else 3
    per_year = 12 // months_per
    years, within = np.divmod(idx, per_year)
    return pd.to_datetime(pd.DataFrame({"year": years, "month": within * months_per + 1, "day": 1}))


def period_label(index: Any, period: str) -> list[str]:
    """Labels of period indexes: ``2024-01`` (M), ``2024Q1`` (Q), the Monday ``2024-01-01`` (W)."""
    period = check_period(period)
    idx = np.atleast_1d(np.asarray(index, dtype="int64"))
    if period == "W":
        return [d.date().isoformat() for d in period_start(idx, "W")]
    per_year = 12 if period == "M" else 4
    years, within = np.divmod(idx, per_year)
    if period == "M":
        return [f"{y:04d}-{m + 1:02d}" for y, m in zip(years, within, strict=True)]
    return [f"{y:04d}Q{q + 1}" for y, q in zip(years, within, strict=True)]


def period_name(period: str, plural: bool = False) -> str:
    """``week``, ``month`` or ``quarter`` (plural with an s)."""
    word = PERIODS[check_period(period)]
    return word + "s" if plural else word
