"""The decision: whom to contact, what each customer is worth a year, and the net value of contacting.

The contact rule (:func:`contact_rule`) contacts the customers with at least a
``threshold`` churn probability; else, given a ``contact_cost`` and customer values,
those whose expected saving p x save_rate x value exceeds the cost; else the top decile.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from . import story
from .evaluation import _ranking, _top_count


def contact_rule(
    probability: Any,
    *,
    threshold: float | None = None,
    value: Any = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    top_fraction: float = 0.1,
) -> tuple[np.ndarray, str]:
    """Which customers to contact, and the rule in words.

    - ``threshold`` given: contact when churn probability >= threshold;
    - else ``contact_cost`` and ``value`` given: contact when the expected value saved
      exceeds the cost, p * save_rate * value > contact_cost (the expected-value-maximising
      decision for each customer);
    - else the top ``top_fraction`` (default the top decile) by probability.

    Returns
    -------
    (mask, description)
    """
    p = np.asarray(probability, dtype=float)
    kind, text = _rule_kind(threshold=threshold, has_value=value is not None, contact_cost=contact_cost,
                            save_rate=save_rate, top_fraction=top_fraction)
    if kind == "threshold":
        return p >= float(threshold), text
    if kind == "expected_value":
        v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
        return (p * save_rate * v > float(contact_cost)), text
    k = _top_count(p.size, top_fraction)
    mask = np.zeros(p.size, dtype=bool)
    mask[_ranking(p)[:k]] = True
    return mask, text


def _rule_kind(*, threshold: float | None, has_value: bool, contact_cost: float | None, save_rate: float,
               top_fraction: float = 0.1) -> tuple[str, str]:
    """Which contact rule applies (``threshold``, ``expected_value`` or ``top``) and its words."""
    if threshold is not None:
        if not 0 <= float(threshold) <= 1:
            raise ParameterError(f"threshold must be a churn probability between 0 and 1; got {threshold!r}")
        kind = "threshold"
    elif contact_cost is not None and has_value:
        _check_costs(contact_cost, save_rate)
        kind = "expected_value"
    else:
        kind = "top"
    return kind, story.contact_rule_text(kind, threshold=threshold, contact_cost=contact_cost, save_rate=save_rate,
                                         top_fraction=top_fraction)


def _check_costs(contact_cost: Any, save_rate: Any) -> None:
    if contact_cost is not None and (not isinstance(contact_cost, (int, float)) or contact_cost < 0):
        raise ParameterError(f"contact_cost must be a non-negative amount per contact; got {contact_cost!r}")
    if not isinstance(save_rate, (int, float)) or not 0 < save_rate <= 1:
        raise ParameterError(f"save_rate must be a fraction in (0, 1]; got {save_rate!r}")


def cost_benefit_curve(
    y: Any, probability: Any, value: Any, *, contact_cost: float, save_rate: float = 0.25
) -> pd.DataFrame:
    """Net value of contacting the k customers with the highest expected saving.

    Customers are ordered by expected value saved, p * save_rate * value. For each k:
    value_saved = save_rate * (sum of value over the churners among the first k),
    cost = k * contact_cost, net = value_saved - cost (realised on the test labels),
    and expected_net = sum(p * save_rate * value) - cost (what the model expected).
    """
    _check_costs(contact_cost, save_rate)
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
    order = _ranking(p * save_rate * v)
    k = np.arange(1, y.size + 1)
    saved = save_rate * np.cumsum((v * y)[order])
    expected = np.cumsum((p * save_rate * v)[order])
    cost = k * float(contact_cost)
    return pd.DataFrame(
        {"contacted": k, "share_contacted": k / y.size, "value_saved": saved, "cost": cost,
         "net": saved - cost, "expected_net": expected - cost}
    )


def best_contact(curve: pd.DataFrame) -> pd.Series:
    """The row of a :func:`cost_benefit_curve` with the highest realised net value (the first such row)."""
    return curve.loc[curve["net"].idxmax()]


def value_source(frame: pd.DataFrame, *, feature_window_days: int = 365) -> tuple[str | None, str, str]:
    """Which column gives the yearly value (:func:`customer_value`), decided on a sample.

    Returns
    -------
    (column or None, description, how)
        ``how`` is ``spend`` (spend_window * 365 / feature_window_days), ``monthly``
        (times 12), ``yearly`` (as it is) or ``none``.
    """
    if "spend_window" in frame.columns and frame["spend_window"].notna().any():
        col, how = "spend_window", "spend"
    else:
        col, how = _value_column(frame)
    return col, story.value_basis(col, how, feature_window_days=feature_window_days), how


def _value_column(frame: pd.DataFrame) -> tuple[str | None, str]:
    """A monthly (MonthlyCharges, mrr...) or yearly (annual_revenue, arr...) value column, and which."""
    norm = {re.sub(r"[^a-z]", "", c.lower()): c for c in frame.columns}
    for key in ("monthlycharges", "monthlycharge", "monthlyrevenue", "monthlyfee", "mrr"):
        if key in norm:
            return norm[key], "monthly"
    for key in ("annualrevenue", "annualvalue", "yearlycharges", "arr", "clv"):
        if key in norm:
            return norm[key], "yearly"
    return None, "none"


def value_of(frame: pd.DataFrame, source: tuple[str | None, str, str], *, feature_window_days: int = 365) -> pd.Series:
    """The yearly value of each customer of ``frame`` by a :func:`value_source` rule."""
    col, _, how = source
    if col is None or col not in frame.columns:
        return pd.Series(np.nan, index=frame.index)
    if how == "spend":
        return pd.to_numeric(frame[col], errors="coerce").fillna(0.0) * 365.0 / feature_window_days
    v = pd.to_numeric(frame[col].astype("string").str.strip(), errors="coerce")
    return v * 12 if how == "monthly" else v


def customer_value(frame: pd.DataFrame, *, feature_window_days: int = 365) -> tuple[pd.Series, str]:
    """A yearly value per customer for the value at risk, and how it was computed.

    With transactions: historic yearly spend, spend_window * 365 / feature_window_days.
    Without: a monthly charge column (MonthlyCharges, monthly_charges, mrr...) times 12,
    or a yearly one (annual_revenue, arr...). NaN when none exists.
    """
    source = value_source(frame, feature_window_days=feature_window_days)
    return value_of(frame, source, feature_window_days=feature_window_days), source[1]
