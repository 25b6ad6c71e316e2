"""The list to act on: customers who can still be won back, ranked by the value at risk.

A scored customer is *reachable* when their last purchase lies within ``reachable_days``
(by default the activity window, the churn window of the study): they are still active,
so a retention contact can keep them. The others have already gone quiet for longer than
that; they are counted apart (a win-back audience), not put at the top of the list.

Among the reachable customers the contact rule of the study selects those at risk (the
top 10% of the reachable by churn probability, or the threshold or expected-value rule,
which are per customer), and the list ranks them by value at risk: churn probability x
yearly value. The reasons of the customers shown come from the model that scored them
(:func:`model_reasons`), the customers' own inputs set one at a time to the average
customer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from . import story
from .columns import ColumnPlan, apply_columns
from .evaluation import _top_count


def reachable(scores: ibis.Table, reachable_days: int | None) -> Any:
    """The engine expression "last purchase within ``reachable_days``" (None: everyone is reachable)."""
    if reachable_days is None or "days_since_purchase" not in scores.columns:
        return None
    return scores.days_since_purchase <= float(reachable_days)


def actionable(
    scores: ibis.Table,
    *,
    reachable_days: int | None,
    kind: str,
    threshold: float | None = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    top_fraction: float = 0.1,
) -> ibis.Table:
    """The reachable customers the contact rule selects, highest value at risk first (in the engine).

    Parameters
    ----------
    scores : ibis.Table
        The ranked scores of a study (:func:`~engage_kit.churn.scoring.rank_scores`).
    reachable_days : int, optional
        A customer is reachable when their last purchase is at most this many days old;
        None: every scored customer is.
    kind : str
        The contact rule: ``threshold``, ``expected_value`` or ``top`` (the top
        ``top_fraction`` of the reachable customers by churn probability).

    Returns
    -------
    ibis.Table
        The columns of ``scores``, ordered by expected_loss (probability x yearly value)
        descending, then customer_id.
    """
    reach = reachable(scores, reachable_days)
    r = scores if reach is None else scores.filter(reach)
    if kind == "threshold":
        chosen = r.filter(r.churn_probability >= float(threshold))
    elif kind == "expected_value":
        chosen = r.filter(r.churn_probability * float(save_rate) * r.annual_value.fill_null(0.0) > float(contact_cost))
    else:
        n = int(r.count().execute())
        w = ibis.window(order_by=[ibis.desc(r.churn_probability), r.customer_id])
        numbered = r.mutate(_ek_reach_rank=ibis.row_number().over(w))
        chosen = numbered.filter(numbered._ek_reach_rank < _top_count(n, top_fraction)).drop("_ek_reach_rank")
    return chosen.order_by([ibis.desc(chosen.expected_loss), chosen.customer_id])


def typical_values(reference: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> dict[str, Any]:
    """The average customer: the mean of each numeric input (NaN where most customers have
    none, as in the reasons' "(most customers have none)") and the most common category."""
    out: dict[str, Any] = {}
    for col in numeric:
        s = pd.to_numeric(reference[col], errors="coerce")
        out[col] = float(s.mean()) if s.notna().mean() >= 0.5 else np.nan
    for col in categorical:
        mode = reference[col].dropna().mode()
        out[col] = mode.iloc[0] if len(mode) else np.nan
    return out


def model_reasons(
    model: Any, X: pd.DataFrame, typical: dict[str, Any], numeric: Sequence[str], categorical: Sequence[str],
    *, n: int = 3, min_change: float = 0.01,
) -> pd.DataFrame:
    """Each customer's top reasons from the model that scored them.

    For every input, the customer's value is replaced by the average customer's
    (``typical``, :func:`typical_values`) and the model scores the customer again: the
    inputs whose replacement lowers the churn probability the most (by at least
    ``min_change``) are the reasons, largest first, in the words of
    :func:`~engage_kit.churn.story.reason`. Works with any fitted pipeline with
    ``predict_proba``; each row depends on that customer only.

    Returns a frame indexed like ``X`` with columns reason_1 .. reason_n ("" where fewer).
    """
    cols = list(numeric) + list(categorical)
    frame = X[cols].reset_index(drop=True)
    base = model.predict_proba(frame)[:, 1]
    drops = np.zeros((len(frame), len(cols)))
    for j, col in enumerate(cols):
        changed = frame.copy()
        changed[col] = typical.get(col, np.nan)
        if col in numeric:
            changed[col] = changed[col].astype("float64")
        drops[:, j] = base - model.predict_proba(changed)[:, 1]
    order = np.argsort(-drops, axis=1, kind="stable")[:, :n]
    raw = frame.to_numpy(dtype=object)
    rows = []
    for i, idx in enumerate(order):
        rows.append([story.reason(cols[j], raw[i, j], typical.get(cols[j]) if cols[j] in numeric else None)
                     if drops[i, j] >= min_change else "" for j in idx])
    return pd.DataFrame(rows, index=X.index, columns=[f"reason_{k + 1}" for k in range(n)])


def list_reasons(listed: ibis.Table, features: ibis.Table, size: int, *, plan: ColumnPlan, model: Any,
                  typical: dict[str, Any]) -> pd.DataFrame:
    """customer_id and reason_1..3 of the first ``size`` customers of the list to act on, from
    the model that scored them (:func:`~engage_kit.churn.actionable.model_reasons`); a small
    query on the engine's feature table."""
    cols = ["customer_id", "reason_1", "reason_2", "reason_3"]
    if not size:
        return pd.DataFrame(columns=cols)
    ids = listed.limit(int(size)).customer_id.execute().astype(str).tolist()
    if not ids:
        return pd.DataFrame(columns=cols)
    rows = features.filter(features.customer_id.cast("string").isin(ids)).execute()
    X = apply_columns(rows, plan).reset_index(drop=True)
    reasons = model_reasons(model, X, typical, plan.numeric, plan.categorical)
    reasons.insert(0, "customer_id", X["customer_id"].astype(str).to_numpy())
    return reasons
