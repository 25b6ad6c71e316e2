"""Bounded samples drawn in the engine: stratified by label, the same customers on every engine.

Only these samples leave the engine: the training and test sets (a
stratified sample of at most ``max_training_rows``, 200,000 by default, drawn by :func:`stratified_sample`)
are pulled into pandas to fit the models.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import pandas as pd

from ..engine import sample_order


def allocate(counts: dict[Any, int], total: int, *, minimum: int = 1) -> dict[Any, int]:
    """Share ``total`` rows out over classes in proportion to their sizes.

    Each class gets round(total * n_class / n) rows by the largest-remainder method (the
    shares add up to exactly ``total``; equal remainders go to the smaller class label),
    at least ``minimum`` of each non-empty class and never more than the class holds.
    """
    n = sum(counts.values())
    keys = sorted(k for k, v in counts.items() if v > 0)
    total = int(min(total, n))
    if not keys or total <= 0:
        return dict.fromkeys(counts, 0)
    exact = {k: total * counts[k] / n for k in keys}
    out = {k: int(math.floor(exact[k])) for k in keys}
    left = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    for k in keys:  # at least `minimum` of each class, taken from the largest classes
        while out[k] < min(minimum, counts[k]):
            donor = max((d for d in keys if d != k and out[d] > minimum), key=lambda d: out[d], default=None)
            if donor is None:
                break
            out[donor] -= 1
            out[k] += 1
    return {k: min(out.get(k, 0), counts[k]) for k in counts}


def class_counts(table: ibis.Table, label: str = "churned") -> dict[int, int]:
    """Rows per label value (0/1), counted in the engine; rows with no label are left out."""
    t = table.filter(table[label].notnull())
    df = t.group_by(label).aggregate(n=t.count()).execute()
    out = {0: 0, 1: 0}
    out.update({int(k): int(v) for k, v in zip(df[label], df["n"], strict=True)})
    return out


def stratified_sample(
    table: ibis.Table,
    max_rows: int | None,
    *,
    random_state: int = 0,
    label: str = "churned",
    counts: dict[int, int] | None = None,
) -> ibis.Table:
    """A stratified sample of at most ``max_rows`` rows, drawn in the engine.

    Each class keeps round(max_rows * n_class / n) rows (:func:`allocate`: at least one
    of each class), the first ones by :func:`~engage_kit.engine.sample_order`, so DuckDB and Spark keep the
    same customers for a given ``random_state``. The whole table is returned when
    ``max_rows`` is None or not smaller than the table.

    Parameters
    ----------
    table : ibis.Table
        customer_id and a 0/1 ``label`` column.
    max_rows : int or None
        The cap.
    random_state : int
        Mixed into the sort key.
    counts : dict, optional
        Rows per class, when already known (:func:`class_counts`).

    Returns
    -------
    ibis.Table
        The sample (same columns), unordered.
    """
    counts = counts if counts is not None else class_counts(table, label)
    if max_rows is None or sum(counts.values()) <= max_rows:
        return table
    keep = allocate(counts, int(max_rows))
    return _first_by_key(table, keep, random_state=random_state, label=label)


def _first_by_key(table: ibis.Table, keep: dict[int, int], *, random_state: int, label: str,
                  invert: bool = False) -> ibis.Table:
    """The first ``keep[c]`` rows of each class ``c`` by :func:`~engage_kit.engine.sample_order` (or all the others)."""
    key = sample_order(table.customer_id, random_state)
    w = ibis.window(group_by=table[label], order_by=[key, table.customer_id])
    t = table.mutate(_ek_pos=ibis.row_number().over(w))
    limit = ibis.literal(0)
    for cls, k in keep.items():
        limit = ibis.ifelse(t[label] == int(cls), ibis.literal(int(k)), limit)
    chosen = t._ek_pos < limit
    return t.filter(~chosen if invert else chosen).drop("_ek_pos")


def _fetch(table: ibis.Table) -> pd.DataFrame:
    """A bounded table into pandas, ordered by customer_id (the same conversion as the batches)."""
    return table.order_by("customer_id").to_pyarrow().to_pandas()
