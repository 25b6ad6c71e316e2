"""Preparing columns for the models: one typing plan decided on the training sample, applied to any batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)


@dataclass
class ColumnPlan:
    """How to type each column, decided once on the training sample (:func:`plan_columns`).

    ``kinds`` maps a column to its conversion: ``bool`` (to 0/1), ``number_text`` (text
    parsed as numbers), ``bool_text`` (true/false text to 0/1), ``text`` (stripped, blanks
    missing) or ``number`` (to float); columns not listed are left as they are.
    ``numeric`` and ``categorical`` are the model inputs.
    """

    kinds: dict[str, str]
    numeric: list[str]
    categorical: list[str]
    notes: list[str]


def _stripped(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA)


def _bool_float(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    # a batch whose boolean column has missing values arrives as objects (True/False/None)
    return _stripped(s).str.lower().map({"true": 1.0, "false": 0.0}).astype("float64")


def _convert(s: pd.Series, kind: str) -> pd.Series:
    if kind in ("bool", "bool_text"):
        return _bool_float(s)
    if kind == "number_text":
        return pd.to_numeric(_stripped(s), errors="coerce").astype("float64")
    if kind == "text":
        text = _stripped(s)
        return text.astype(object).where(text.notna(), np.nan)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def plan_columns(
    df: pd.DataFrame, *, exclude: Sequence[str] = ("customer_id", "churned"), max_levels: int = 50
) -> ColumnPlan:
    """Decide how to type the feature columns, on a (training) sample.

    A text column becomes numeric when at least 95% of its non-blank values parse as
    numbers (e.g. the Telco file's ``TotalCharges``, blank for new subscribers).
    Booleans become 0/1. Text columns with more than ``max_levels`` distinct values and
    more than half as many values as rows (ids, e-mail addresses) are dropped, as are
    columns with a single value. :func:`apply_columns` applies the plan to any batch.
    """
    kinds: dict[str, str] = {}
    numeric: list[str] = []
    categorical: list[str] = []
    notes: list[str] = []
    n = len(df)
    for col in df.columns:
        if col in exclude:
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            kind = "bool"
        elif _is_text(s):
            text = _stripped(s)
            filled = int(text.notna().sum())
            num = pd.to_numeric(text, errors="coerce")
            if filled and num.notna().sum() >= 0.95 * filled:
                kind = "number_text"
            elif filled and text.str.lower().dropna().isin(["true", "false"]).all():
                kind = "bool_text"
            else:
                kinds[col] = "text"
                levels = text.nunique(dropna=True)
                if levels == 0:  # an empty optional column
                    continue
                if levels <= 1:
                    notes.append(f"column '{col}' has a single value and is not used")
                elif levels > max_levels and levels > 0.5 * n:
                    notes.append(f"column '{col}' looks like an identifier ({levels:,} distinct values) and is not used")
                else:
                    categorical.append(col)
                continue
        elif pd.api.types.is_numeric_dtype(s):
            kind = "number"
        else:
            continue
        kinds[col] = kind
        values = _convert(s, kind)
        if values.nunique(dropna=True) <= 1 and values.notna().all():
            notes.append(f"column '{col}' has a single value and is not used")
            continue
        if values.isna().all():
            continue
        numeric.append(col)
    return ColumnPlan(kinds=kinds, numeric=numeric, categorical=categorical, notes=notes)


def apply_columns(df: pd.DataFrame, plan: ColumnPlan) -> pd.DataFrame:
    """Type a frame (the sample, or one batch of customers to score) as ``plan`` says."""
    out = df.copy()
    for col, kind in plan.kinds.items():
        if col in out.columns:
            out[col] = _convert(out[col], kind)
    return out


def prepare_columns(
    df: pd.DataFrame, *, exclude: Sequence[str] = ("customer_id", "churned"), max_levels: int = 50
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """Type the feature columns: numeric text becomes numbers, ids and constants are dropped.

    :func:`plan_columns` then :func:`apply_columns` on the same frame.

    Returns
    -------
    (frame, numeric, categorical, notes)
    """
    plan = plan_columns(df, exclude=exclude, max_levels=max_levels)
    return apply_columns(df, plan), plan.numeric, plan.categorical, plan.notes
