"""Parameter values checked once for every analysis: dates, with a clear error naming the parameter."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .errors import ParameterError


def as_date(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a normalised, time-zone-free Timestamp; a ParameterError naming ``name`` when
    it is missing or not a date."""
    if value is None:
        raise ParameterError(f"{name} is required")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a date such as '2024-06-30'; got {value!r}") from None
    if pd.isna(ts):
        raise ParameterError(f"{name} must be a date such as '2024-06-30'; got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()
