"""Parameter checks and input tables shared by the cohort views.

The names of the choices a cohort report offers (periods, metrics, retention modes,
cohort definitions, censoring), the checks that turn a parameter into one of them or into
a clear error, and the Ibis tables of transactions and customers with their columns
checked.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from .. import engine as eng
from ..errors import DataError, ParameterError, did_you_mean
from ..values import as_date as _as_date

PERIODS = {"W": "week", "M": "month", "Q": "quarter"}
METRICS = ("customers", "revenue", "orders")
RETENTION_MODES = ("n_period", "unbounded")
COHORT_BY = ("first_purchase", "signup")
CENSOR_AT = ("lapse_horizon", "as_of")
SUMMARY_OFFSETS = (1, 3, 6, 12)
MISSING_SEGMENT = "(missing)"


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value)
    if text not in choices:
        raise ParameterError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}"
            f"{did_you_mean(text, choices)}"
        )
    return text


def check_period(period: Any) -> str:
    """The period code (W, M or Q, case-insensitive) or a clear error."""
    text = str(period).upper() if period is not None else ""
    if text not in PERIODS:
        raise ParameterError(f"period must be 'W' (weeks), 'M' (months) or 'Q' (quarters); got {period!r}")
    return text


def _non_negative_int(name: str, value: Any, *, allow_none: bool = False, minimum: int = 0) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or value != int(value):
        raise ParameterError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    if int(value) < minimum:
        raise ParameterError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    return int(value)


def as_table(data: Any, *, name: str, required: tuple[str, ...]) -> ibis.Table:
    """An Ibis table from an Ibis table or a pandas DataFrame, checked for ``required`` columns."""
    hint = f"Pass a table with {', '.join(required)}" + (" (e.g. the dataset's orders, ds.orders)" if name == "transactions" else "")
    return eng.as_table(data, name=name, required=required, hint=hint)


def _customers_table(customers: Any, *, cohort_by: str, segment: str | None) -> ibis.Table | None:
    need = []
    if cohort_by == "signup":
        need.append("signup_at")
    if segment:
        need.append(segment)
    if not need:
        return None
    if customers is None:
        why = "cohort_by='signup'" if cohort_by == "signup" else f"segment={segment!r}"
        raise ParameterError(f"{why} needs the customers table (customer_id and {', '.join(need)}); pass customers=")
    cust = as_table(customers, name="customers", required=("customer_id",))
    for col in need:
        if col not in cust.columns:
            choices = [c for c in cust.columns if c != "customer_id"]
            raise ParameterError(
                f"customers has no column {col!r}{did_you_mean(col, choices)}; its columns are: {', '.join(choices)}"
            )
    return cust


def _resolve_as_of(t: ibis.Table, as_of: Any) -> pd.Timestamp:
    if as_of is not None:
        return _as_date(as_of, "as_of")
    last = t.filter(t.amount >= 0).timestamp.max().execute()
    if last is None or pd.isna(last):
        raise DataError("transactions: no purchases (rows with amount >= 0); nothing to build cohorts from")
    return pd.Timestamp(last).normalize()
