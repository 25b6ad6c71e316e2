"""Scoring every current customer without holding them all in the driver.

The customers to score stay in the engine: they are streamed in batches
(:func:`engine_batches`), scored in Python, appended to a Parquet file that the engine
reads back (:func:`score_in_batches`), and ranked, counted and exported there
(:func:`rank_scores`), so the driver never holds one row per customer for all customers.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import backend_of, cache, kind_of
from .columns import ColumnPlan, apply_columns
from .decisions import _rule_kind, value_of
from .evaluation import _top_count
from .explain import Explainer
from .features import _check_int

# customers scored per batch: one batch of features, probabilities and reasons in memory at a time
SCORING_CHUNK_ROWS = 50_000


def engine_batches(table: ibis.Table, chunk_size: int = SCORING_CHUNK_ROWS, *, ranges: bool | None = None) -> Iterator[Any]:
    """The rows of ``table`` ordered by customer_id, at most ``chunk_size`` at a time (Arrow data).

    DuckDB streams them (``to_pyarrow_batches``). Ibis's PySpark backend builds its
    batches from one collected Arrow table, so on Spark (or with ``ranges=True``) the rows
    are numbered by customer_id in the engine, the numbered table is cached there, and
    each batch is one query for a range of row numbers: the driver holds one batch at a time.
    """
    chunk_size = _check_int("chunk_size", chunk_size)
    if ranges is None:
        ranges = kind_of(backend_of(table)) == "spark"
    if not ranges:
        yield from table.order_by("customer_id").to_pyarrow_batches(chunk_size=chunk_size)
        return
    numbered = cache(table.mutate(_ek_row=ibis.row_number().over(order_by=table.customer_id)))
    try:
        n = int(numbered.count().execute())
        for lo in range(0, n, chunk_size):
            part = numbered.filter(numbered._ek_row >= lo, numbered._ek_row < lo + chunk_size)
            yield part.order_by("_ek_row").drop("_ek_row").to_pyarrow()
    finally:
        numbered.release()


def score_in_batches(
    table: ibis.Table,
    path: str | Path,
    *,
    plan: ColumnPlan,
    predict: Callable[[pd.DataFrame], np.ndarray],
    explainer: Explainer,
    value_rule: tuple[str | None, str, str],
    feature_window_days: int = 365,
    chunk_size: int = SCORING_CHUNK_ROWS,
    ranges: bool | None = None,
) -> int:
    """Score the customers of an engine table batch by batch into one Parquet file.

    Each batch (:func:`engine_batches`) is typed with ``plan`` (decided on the training
    sample), given its churn probability (``predict`` on the typed frame), yearly value
    (:func:`value_of`), expected loss (probability x value), days since the last purchase
    (rounded ``recency_days``, when present) and top reasons, and appended to ``path``
    with ``pyarrow.parquet.ParquetWriter``. Every figure depends on the customer's own row
    only, so the batch size does not change the result.

    Returns
    -------
    int
        The number of customers written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = plan.numeric + plan.categorical
    has_days = "recency_days" in table.columns
    fields = [("customer_id", pa.string()), ("churn_probability", pa.float64())]
    if has_days:
        fields.append(("days_since_purchase", pa.float64()))
    fields += [("annual_value", pa.float64()), ("expected_loss", pa.float64())]
    fields += [(f"reason_{k}", pa.string()) for k in (1, 2, 3)]
    schema = pa.schema(fields)
    written = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in engine_batches(table, chunk_size, ranges=ranges):
            if not batch.num_rows:
                continue
            X = apply_columns(batch.to_pandas(), plan).reset_index(drop=True)
            prob = np.asarray(predict(X), dtype=float)
            value = value_of(X, value_rule, feature_window_days=feature_window_days).to_numpy(dtype=float)
            out = pd.DataFrame({"customer_id": X["customer_id"].astype(str).to_numpy(dtype=object), "churn_probability": prob})
            if has_days:
                out["days_since_purchase"] = X["recency_days"].astype("float64").round().to_numpy()
            out["annual_value"] = value
            out["expected_loss"] = prob * value
            reasons = explainer.reasons(X[cols])
            for col in reasons.columns:
                out[col] = reasons[col].astype(object).to_numpy()
            writer.write_table(pa.Table.from_pandas(out, schema=schema, preserve_index=False))
            written += len(out)
    return written


def rank_scores(
    scored: ibis.Table,
    *,
    threshold: float | None = None,
    contact_cost: float | None = None,
    save_rate: float = 0.25,
    value_known: bool = True,
    top_fraction: float = 0.1,
    customers: int | None = None,
) -> tuple[ibis.Table, str]:
    """Rank scored customers and apply the contact rule, in the engine.

    ``rank`` is 1 for the highest churn probability (ties: customer_id order);
    ``at_risk`` is the :func:`contact_rule`: probability >= ``threshold``; else, with a
    ``contact_cost`` and known values, probability x save_rate x value > contact_cost;
    else the first ceil(top_fraction x n) ranks.

    Parameters
    ----------
    scored : ibis.Table
        customer_id, churn_probability, annual_value, expected_loss, reasons (and
        days_since_purchase), e.g. the file of :func:`score_in_batches` read by the engine.
    customers : int, optional
        The number of rows of ``scored``, when known (the top-fraction rule needs it).

    Returns
    -------
    (table, rule in words)
    """
    kind, text = _rule_kind(threshold=threshold, has_value=value_known, contact_cost=contact_cost,
                            save_rate=save_rate, top_fraction=top_fraction)
    w = ibis.window(order_by=[ibis.desc(scored.churn_probability), scored.customer_id])
    t = scored.mutate(rank=ibis.row_number().over(w) + 1)
    if kind == "threshold":
        at_risk = t.churn_probability >= float(threshold)
    elif kind == "expected_value":
        at_risk = t.churn_probability * float(save_rate) * t.annual_value.fill_null(0.0) > float(contact_cost)
    else:
        n = int(scored.count().execute()) if customers is None else int(customers)
        at_risk = t["rank"] <= _top_count(n, top_fraction)
    order = ["customer_id", "churn_probability", "rank"]
    order += [c for c in scored.columns if c not in ("customer_id", "churn_probability")]
    return t.mutate(at_risk=at_risk).select(*order, "at_risk"), text


def _rank_in_engine(
    con: Any, path: Path, *, threshold: float | None, contact_cost: float | None, save_rate: float, customers: int,
    spark: bool,
) -> tuple[ibis.Table, str, bool]:
    """Read the scored batches into the engine, rank them and apply the contact rule (:func:`rank_scores`).

    Returns the scores (kept in the engine), the rule in words, and whether any customer
    has a known value. On DuckDB (``spark`` False) the scores are copied into the engine, so
    the file may go.
    """
    scored = con.read_parquet(str(path))
    value_known = contact_cost is None or int(scored.annual_value.count().execute()) > 0
    scores, rule = rank_scores(scored, threshold=threshold, contact_cost=contact_cost, save_rate=save_rate,
                               value_known=value_known, customers=customers)
    scores = cache(scores)
    if not spark:
        _drop_view(con, scored)
    return scores, rule, value_known


def _remove_work_file(path: Path, own_dir: bool) -> None:
    """Remove the scored batches' file, and its folder when it is a temporary one of ours."""
    if own_dir:
        shutil.rmtree(path.parent.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the hidden .work folder, when nothing else is in it
            path.parent.rmdir()


def _drop_view(con: Any, table: ibis.Table) -> None:
    """Drop the engine's view (or table) over a file that is about to be removed."""
    name = table.get_name()
    try:
        con.drop_view(name, force=True)
    except Exception:  # noqa: BLE001 - some readers register a table instead of a view
        con.drop_table(name, force=True)
