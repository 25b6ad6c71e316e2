"""Shared machinery of the KPI functions: input tables, windows, periods, segments, intervals.

Every metric follows the same path: the canonical table (an Ibis table, or a pandas
DataFrame wrapped with :func:`ibis.memtable`) is cut to the window, given a calendar
period key and a segment key when asked, and aggregated to counts in the engine. Only
those counts (one row per period and segment) come back to pandas, where the value and
its interval are computed. A call without ``period`` and ``by`` returns one
:class:`Metric`; with either, a DataFrame with one row per period and/or segment.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, ParameterError, did_you_mean
from ..schema import TABLES
from ..stats import Estimate, wilson_interval

PERIODS = ("W", "M", "Q")
UNKNOWN = "(unknown)"
SEG = "_seg"
PERIOD_COLUMNS = ["period", "period_start", "period_end", "complete"]
_NULL_TYPES = {"id": "string", "string": "string", "float": "float64", "int": "float64",
               "bool": "boolean", "timestamp": "timestamp"}

TableLike = Any  # ibis.Table or pandas.DataFrame
DateLike = str | dt.date | pd.Timestamp | None


@dataclass(frozen=True)
class Metric(Estimate):
    """A KPI value with its interval, the units behind it (``n``) and its counts.

    ``counts`` holds the numerator and denominator (or the sums behind a mean), e.g.
    ``{"opened": 512, "delivered": 1704}``. ``to_dict()`` gives the results.json object
    ``{value, low, high, n}`` (and ``note`` when set). A value that cannot be computed is NaN with a ``reason``
    (DESIGN.md: ``{"value": null, "reason": "..."}``), never a number with a zero-width
    interval standing in for it.
    """

    counts: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None  # why the value cannot be computed (value NaN)
    note: str | None = None  # what the figure includes beyond its definition ("including guest orders")

    @property
    def computable(self) -> bool:
        """False when there is no value (no complete period, no data before it, a zero denominator)."""
        return self.value is not None and bool(np.isfinite(self.value))

    def why_not(self) -> str:
        """The reason the value cannot be computed (a default for a zero denominator)."""
        if self.reason:
            return self.reason
        return "nothing to compute it from (a zero denominator)" if self.n == 0 else "it cannot be computed from the data"

    def to_dict(self) -> dict[str, Any]:
        """``{value, low, high, n}``; ``{value: null, reason}`` when it cannot be computed."""
        if not self.computable:
            return {"value": None, "reason": self.why_not()}
        d = Estimate(self.value, self.low, self.high, self.n, self.method).to_dict()
        return {**d, "note": self.note} if self.note else d


def nan_metric(method: str = "none", *, reason: str | None = None, **counts: float) -> Metric:
    """A metric that cannot be computed (no units behind it), with the reason when known."""
    return Metric(float("nan"), float("nan"), float("nan"), 0, method, counts, reason)


# --- input tables ----------------------------------------------------------------------


def to_table(data: TableLike, table: str, *, required: Sequence[str] = ()) -> ibis.Table:
    """The canonical table ``table`` as an Ibis table, whatever form it came in.

    A pandas DataFrame is wrapped with :func:`ibis.memtable` (ids cast to text, time
    columns parsed, channel / event / kind labels stripped of blanks as the loader does). Optional canonical columns the data lacks are added as typed nulls,
    so every metric can refer to them. ``required`` columns must be present.
    """
    spec = TABLES[table]
    if isinstance(data, pd.DataFrame):
        df = data.copy()
        for col in spec.columns:
            if col.name not in df.columns:
                continue
            if col.kind == "id":
                df[col.name] = df[col.name].astype("string")
            elif col.kind == "timestamp" and not pd.api.types.is_datetime64_any_dtype(df[col.name]):
                df[col.name] = pd.to_datetime(df[col.name], format="mixed")
            elif col.kind in ("float", "int"):
                df[col.name] = pd.to_numeric(df[col.name]).astype("float64")
            elif col.kind == "string" and col.name in ("channel", "event", "kind"):
                df[col.name] = df[col.name].astype("string").str.strip()
        if table == "customers":
            for c in df.columns:
                if c != "customer_id" and df[c].dtype == object:
                    df[c] = df[c].astype("string")
        t = ibis.memtable(df)
    elif isinstance(data, ibis.Table):
        t = data
    else:
        raise ParameterError(
            f"expected the {table} table as an Ibis table or a pandas DataFrame, got {type(data).__name__}"
        )
    missing = [c for c in list(spec.required) + list(required) if c not in t.columns]
    if missing:
        raise DataError(
            f"table {table}: column(s) {', '.join(dict.fromkeys(missing))} missing; "
            f"its columns are: {', '.join(t.columns)}"
        )
    extra = {
        c.name: ibis.null(_NULL_TYPES[c.kind])
        for c in spec.columns
        if c.name not in t.columns and c.name != "churned"
    }
    return t.mutate(**extra) if extra else t


def check_not_all_null(t: ibis.Table, column: str, table: str, why: str) -> None:
    """Raise a DataError when ``column`` has no value at all (an unmapped optional column)."""
    if int(t[column].count().execute() or 0) == 0 and int(t.count().execute()) > 0:
        raise DataError(
            f"table {table}: column '{column}' is empty in every row; {why}. Map it in the "
            f"config (tables.{table}.columns: {{{column}: <your column>}})"
        )


def window(t: ibis.Table, ts: str, *, start: DateLike = None, as_of: DateLike = None) -> ibis.Table:
    """Rows with ``start <= t[ts] < as_of + 1 day`` (``as_of`` inclusive; either may be None)."""
    if start is not None:
        t = t.filter(t[ts] >= pd.Timestamp(start).to_pydatetime())
    if as_of is not None:
        t = t.filter(t[ts] < (pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)).to_pydatetime())
    return t


# --- calendar periods ------------------------------------------------------------------


def check_period(period: str | None) -> str | None:
    """``W``, ``M`` or ``Q`` (case-insensitive), or None; anything else is a ParameterError."""
    if period is None:
        return None
    p = str(period).strip().upper()
    if p not in PERIODS:
        raise ParameterError(
            f"period must be one of W (ISO weeks, Monday to Sunday), M (calendar months) or "
            f"Q (calendar quarters); got {period!r}"
        )
    return p


def period_index(ts: ibis.Value, period: str) -> ibis.Value:
    """An integer per calendar period (consecutive periods differ by 1), as an engine expression."""
    if period == "M":
        return ts.year() * 12 + ts.month() - 1
    if period == "Q":
        return ts.year() * 4 + ts.quarter() - 1
    # Mondays: 1970-01-05 is the first Monday after the epoch
    return (ts.truncate("W").epoch_seconds() - 4 * 86400) // (7 * 86400)


def period_start(index: Any, period: str) -> pd.DatetimeIndex:
    """First day of the periods numbered by :func:`period_index`."""
    idx = np.asarray(index, dtype="int64")
    if period == "W":
        return pd.DatetimeIndex(pd.Timestamp("1970-01-05") + pd.to_timedelta(idx * 7, unit="D"))
    months = idx * (3 if period == "Q" else 1)
    return pd.DatetimeIndex(
        pd.to_datetime({"year": months // 12, "month": months % 12 + 1, "day": np.ones_like(idx)})
    )


def period_label(start: pd.Timestamp, period: str) -> str:
    """``2024-01`` (month), ``2024Q1`` (quarter) or ``2024-W01`` (ISO week)."""
    start = pd.Timestamp(start)
    if period == "M":
        return f"{start:%Y-%m}"
    if period == "Q":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    iso = start.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def timestamp_index(value: DateLike, period: str) -> int:
    """The period number of a date (as :func:`period_index` would give in the engine)."""
    ts = pd.Timestamp(value)
    if period == "M":
        return ts.year * 12 + ts.month - 1
    if period == "Q":
        return ts.year * 4 + (ts.month - 1) // 3
    monday = ts.normalize() - pd.Timedelta(days=ts.weekday())
    return int((monday - pd.Timestamp("1970-01-05")).days // 7)


def add_period_columns(df: pd.DataFrame, period: str, as_of: DateLike, index_col: str = "_pidx") -> pd.DataFrame:
    """Replace the integer period index by ``period``, ``period_start``, ``period_end``, ``complete``.

    A period is complete when it ends on or before ``as_of`` (inclusive): its last day is
    at most ``as_of``.
    """
    idx = df[index_col].astype("int64").to_numpy()
    starts = period_start(idx, period)
    ends = period_start(idx + 1, period)
    df = df.drop(columns=[index_col])
    df.insert(0, "period", [period_label(s, period) for s in starts])
    df.insert(1, "period_start", starts)
    df.insert(2, "period_end", ends - pd.Timedelta(days=1))
    if as_of is None:
        complete = np.ones(len(df), dtype=bool)
    else:
        complete = ends <= pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    df.insert(3, "complete", np.asarray(complete, dtype=bool))
    return df


def last_complete_index(as_of: DateLike, period: str) -> int:
    """Number of the last period that ends on or before ``as_of`` (inclusive)."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    return timestamp_index(end, period) - 1


# --- segments --------------------------------------------------------------------------


def add_segment(
    t: ibis.Table,
    by: str | None,
    customers: TableLike | None,
    *,
    table: str,
    customer_level: bool = False,
) -> ibis.Table:
    """Add the segment key ``_seg``: a column of ``t`` or a customer attribute joined in.

    A column of the table itself (such as ``channel``) is used as it is, unless the
    measure is per customer (``customer_level``): then only customer attributes apply.
    Customers without the attribute, and rows without a customer, fall in ``(unknown)``.
    """
    if by is None:
        return t
    own = [c for c in t.columns if not c.startswith("_") and c != "customer_id"]
    if by in t.columns and by != "customer_id" and not customer_level:
        seg = t[by]
    else:
        if customers is None:
            where = "the customers table" + ("" if customer_level else f" or the {table} table")
            raise ParameterError(
                f"segment '{by}': pass customers=... to split by a customer attribute; '{by}' "
                f"must be a column of {where}"
                + ("" if customer_level else f" (columns of {table}: {', '.join(own)})")
            )
        c = to_table(customers, "customers")
        attrs = [x for x in c.columns if x not in ("customer_id", "signup_at", "churned")]
        if by not in c.columns or by == "customer_id":
            options = attrs if customer_level else attrs + [x for x in own if x not in attrs]
            kind = "a per-customer measure: split it by a customer attribute" if customer_level else "no such column"
            raise ParameterError(
                f"segment '{by}' for table {table}: {kind}{did_you_mean(by, options)}; "
                f"valid: {', '.join(options) or 'none'}"
            )
        a = c.group_by("customer_id").aggregate(**{SEG: c[by].arbitrary().cast("string")})
        a = a.rename(_seg_customer="customer_id")
        t = t.left_join(a, t.customer_id == a._seg_customer).drop("_seg_customer")
        seg = t[SEG]
    return t.mutate(**{SEG: seg.cast("string").fill_null(UNKNOWN)})


# --- grouped aggregation ---------------------------------------------------------------


_SHARED_ORDERS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("shared_orders", default=None)


@contextmanager
def shared_orders() -> Iterator[None]:
    """Within the block, :func:`orders_table` of the same rows is grouped once (and each
    :func:`shared_table` computed once).

    The first call for a table keeps its orders in the engine; later calls on the same
    rows (the same expression on the same connection) read them, and the kept tables are
    dropped when the block ends. Only for work that does not change the engine's tables
    meanwhile, such as computing every KPI at once (:func:`.kpis.headline`): on 10M
    transaction rows each grouping costs about 3 s, and the KPIs of one call group the
    same orders three to four times.
    """
    if _SHARED_ORDERS.get() is not None:  # nested: the outer block keeps them
        yield
        return
    kept: dict = {}
    token = _SHARED_ORDERS.set(kept)
    try:
        yield
    finally:
        _SHARED_ORDERS.reset(token)
        for table in kept.values():
            try:
                table.release()
            except Exception:  # the connection may be gone already; nothing is kept then
                pass


def shared_table(expr: ibis.Table) -> ibis.Table:
    """``expr`` kept in the engine once per :func:`shared_orders` block (``expr`` itself outside one).

    For an intermediate table that several KPIs of one call read, such as the per-customer
    purchases and returns of the return rates: the first call computes it, later calls of
    the same expression on the same connection read the kept copy, dropped when the block ends.
    """
    kept = _SHARED_ORDERS.get()
    if kept is None:
        return expr
    key = ("table", id(expr._find_backend(use_default=True)), expr.op())
    if key not in kept:
        from ..engine import cache

        kept[key] = cache(expr)
    return kept[key]


def orders_table(t: ibis.Table) -> ibis.Table:
    """One row per order (DESIGN.md, Data contract): rows sharing an order_id are one order.

    Rows without an order_id are one order each. Purchases (amount >= 0) and returns
    (amount < 0) are collapsed apart, so a return booked under its order's id never nets
    the purchase away. Columns: order_id, is_return, customer_id, timestamp (the order's
    first row), amount (summed), channel.

    The missing ids are numbered only when there are any: the loader gives every row an
    id, and numbering is a window over the whole table that costs about as much again as
    the grouping (4.5 s of 7.7 s on 10M rows), where asking costs 0.3 s.
    """
    kept = _SHARED_ORDERS.get()
    key = None
    if kept is not None:
        key = (id(t._find_backend(use_default=True)), t.op())  # operations compare by structure
        if key in kept:
            return kept[key]
    order_id = t.order_id
    if int(t.filter(t.order_id.isnull()).count().execute()):
        order_id = order_id.fill_null("#" + (ibis.row_number() + 1).cast("string"))
    t = t.mutate(order_id=order_id, is_return=t.amount < 0)
    orders = t.group_by(["order_id", "is_return"]).aggregate(
        customer_id=t.customer_id.arbitrary(),
        timestamp=t.timestamp.min(),
        amount=t.amount.sum(),
        channel=t.channel.arbitrary(),
    )
    if key is not None:
        from ..engine import cache

        orders = kept[key] = cache(orders)
    return orders


def aggregate(
    t: ibis.Table,
    ts: str,
    aggs: Callable[[ibis.Table], dict[str, ibis.Value]],
    *,
    table: str,
    period: str | None,
    by: str | None,
    customers: TableLike | None,
    customer_level: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Aggregate ``aggs(t)`` per period (``_pidx``) and segment (``_seg``) in the engine.

    Returns the counts as a small pandas frame (sorted) and the key columns used.
    Without keys the frame has exactly one row. Per period, ``attrs["last"]`` holds the
    date of the last row (the data's own as_of, used when none is given).
    """
    keys: list[str] = []
    if period is not None:
        if "_pidx" not in t.columns:
            t = t.mutate(_pidx=period_index(t[ts], period))
        keys.append("_pidx")
    if by is not None:
        t = add_segment(t, by, customers, table=table, customer_level=customer_level)
        keys.append(SEG)
    exprs = aggs(t)
    if period is not None and ts in t.columns:
        exprs["_last"] = t[ts].max()
    expr = t.group_by(keys).aggregate(**exprs) if keys else t.aggregate(**exprs)
    df = expr.execute()
    if keys:
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    if "_last" in df.columns:
        last = df["_last"].max() if len(df) else None
        df = df.drop(columns="_last")
        df.attrs["last"] = None if last is None or pd.isna(last) else pd.Timestamp(last).normalize()
    return df, keys


def label_counts(df: pd.DataFrame, *, period: str | None, by: str | None, as_of: DateLike) -> pd.DataFrame:
    """Name the groups of a count table: period columns when per period, ``by`` for the segment."""
    if period is not None:
        df = add_period_columns(df, period, as_of if as_of is not None else df.attrs.get("last"))
    if by is not None:
        df = df.rename(columns={SEG: by})
    return df


def finish(
    df: pd.DataFrame,
    keys: list[str],
    *,
    by: str | None,
    period: str | None,
    as_of: DateLike,
    counts: Sequence[str],
) -> Metric | pd.DataFrame:
    """Turn a frame of counts + ``value, low, high, n, method`` into the function's result.

    No keys: one :class:`Metric` (counts in ``.counts``). Keys: a DataFrame with
    ``period, period_start, period_end, complete`` (when per period), the segment column
    named ``by`` (when per segment), the counts, and ``value, low, high, n``.
    """
    cols = list(counts) + ["value", "low", "high", "n", "method"] + (["reason"] if "reason" in df.columns else [])
    if as_of is None:
        as_of = df.attrs.get("last")
    if not keys:
        row = df.iloc[0]
        reason = row.get("reason") if "reason" in df.columns else None
        return Metric(
            _float(row["value"]),
            _float(row["low"]),
            _float(row["high"]),
            int(row["n"]),
            str(row["method"]),
            {c: _num(row[c]) for c in counts},
            reason if isinstance(reason, str) and reason else None,
        )
    out = df[keys + cols].copy()
    out["n"] = out["n"].astype("int64")
    if period is not None:
        out = add_period_columns(out, period, as_of)
    if by is not None:
        out = out.rename(columns={SEG: by})
    return out.reset_index(drop=True)


def _float(v: Any) -> float:
    return float("nan") if v is None or pd.isna(v) else float(v)


def _num(v: Any) -> float:
    f = _float(v)
    return int(f) if np.isfinite(f) and f == int(f) else f


def fill0(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Nulls of sums over no rows become 0 (counts are numbers, never missing)."""
    for c in cols:
        df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0).astype("float64")
    return df


def max_timestamp(t: ibis.Table, ts: str) -> pd.Timestamp | None:
    """The last timestamp of ``t`` (the data's own as_of when none is given)."""
    v = t[ts].max().execute()
    return None if v is None or pd.isna(v) else pd.Timestamp(v).normalize()


# --- intervals, vectorised over the rows of a counts frame -----------------------------


def z_value(confidence: float) -> float:
    """The normal quantile of a two-sided ``confidence`` interval (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(df: pd.DataFrame, k: str, n: str, confidence: float) -> pd.DataFrame:
    """value = k / n with the Wilson score interval (Wilson 1927); NaN where n = 0."""
    z_value(confidence)
    kk = df[k].to_numpy(dtype=float)
    nn = df[n].to_numpy(dtype=float)
    lo, hi = wilson_interval(kk, nn, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["value"] = np.where(nn > 0, kk / np.where(nn > 0, nn, 1), np.nan)
    df["low"], df["high"] = np.atleast_1d(lo), np.atleast_1d(hi)
    df["n"] = nn.astype("int64")
    df["method"] = "wilson"
    return df


def t_mean(df: pd.DataFrame, n: str, mean: str, sd: str, confidence: float) -> pd.DataFrame:
    """value = mean with the t interval mean ± t(n−1) · sd / √n (Student 1908)."""
    z_value(confidence)
    nn = df[n].to_numpy(dtype=float)
    m = pd.to_numeric(df[mean], errors="coerce").to_numpy(dtype=float)
    s = pd.to_numeric(df[sd], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = stats.t.ppf(0.5 + confidence / 2, np.maximum(nn - 1, 1))
        half = np.where(nn >= 2, tq * s / np.sqrt(nn), np.nan)
    df["value"] = np.where(nn > 0, m, np.nan)
    df["low"], df["high"] = df["value"] - half, df["value"] + half
    df["n"] = nn.astype("int64")
    df["method"] = "t"
    return df


def poisson_rate(df: pd.DataFrame, k: str, exposure: str, confidence: float) -> pd.DataFrame:
    """value = k / exposure (events per unit) with the exact Poisson interval (Garwood 1936).

    low = χ²(α/2; 2k) / 2 / exposure, high = χ²(1 − α/2; 2k + 2) / 2 / exposure.
    """
    z_value(confidence)
    a = 1 - confidence
    kk = df[k].to_numpy(dtype=float)
    e = df[exposure].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(kk > 0, stats.chi2.ppf(a / 2, 2 * kk) / 2, 0.0) / e
        hi = stats.chi2.ppf(1 - a / 2, 2 * kk + 2) / 2 / e
        ok = e > 0
        df["value"] = np.where(ok, kk / np.where(ok, e, 1), np.nan)
        df["low"], df["high"] = np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
    df["n"] = e.astype("int64")
    df["method"] = "poisson-exact"
    return df


def ratio_of_sums(
    df: pd.DataFrame,
    n: str,
    sx: str,
    sy: str,
    sxx: str,
    syy: str,
    sxy: str,
    confidence: float,
) -> pd.DataFrame:
    """value R = Σy / Σx over n units with the linearisation (delta-method) interval.

    Var(R) ≈ Σ(yᵢ − R·xᵢ)² / ((n − 1) · n · x̄²), with
    Σ(yᵢ − R·xᵢ)² = Σy² − 2R·Σxy + R²·Σx² (Cochran 1977, *Sampling Techniques*, §6.3).
    """
    z = z_value(confidence)
    nn = df[n].to_numpy(dtype=float)
    x, y = df[sx].to_numpy(dtype=float), df[sy].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(x != 0, y / np.where(x != 0, x, 1), np.nan)
        ss = df[syy].to_numpy(float) - 2 * r * df[sxy].to_numpy(float) + r**2 * df[sxx].to_numpy(float)
        var = np.maximum(ss, 0) / np.maximum(nn - 1, 1) / nn / (x / nn) ** 2
        half = np.where(nn >= 2, z * np.sqrt(var), np.nan)
    df["value"], df["low"], df["high"] = r, r - half, r + half
    df["n"] = nn.astype("int64")
    df["method"] = "delta"
    return df


def multinomial_bootstrap(
    counts: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval when units fall in a few patterns.

    Resampling m units with replacement is the same as drawing the pattern counts from
    Multinomial(m, counts / m), so the bootstrap runs on the counts, not on the units.
    ``statistic`` maps an array of pattern counts (shape ``(reps, patterns)``) to one
    value per row.
    """
    z_value(confidence)
    c = np.asarray(counts, dtype=float)
    m = int(c.sum())
    if m < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    reps = rng.multinomial(m, c / m, size=n_boot).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        vals = statistic(reps)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return float(lo), float(hi)


# --- scales and change tests -----------------------------------------------------------


def check_scale(t: ibis.Table, kind: str, lo: int, hi: int, data: TableLike | None = None) -> None:
    """Raise a DataError naming the rows whose ``kind`` score is off its lo–hi integer scale."""
    if isinstance(data, pd.DataFrame):
        d = data.copy()
        d["_kind"] = d["kind"].astype("string").str.strip().str.lower()
        s = pd.to_numeric(d["score"], errors="coerce")
        bad = d[(d["_kind"] == kind) & (s.notna()) & ((s < lo) | (s > hi) | (s != s.round()))]
        if len(bad):
            shown = ", ".join(f"index {i}: {v:g}" for i, v in zip(bad.index[:5], s[bad.index[:5]], strict=True))
            raise DataError(_scale_message(kind, lo, hi, len(bad), shown))
        return
    def off_scale(tab: ibis.Table) -> ibis.Value:
        s = tab.score
        return (tab.kind.lower() == kind) & s.notnull() & ((s < lo) | (s > hi) | (s != s.round()))

    nbad = int(t.filter(off_scale(t)).count().execute())
    if nbad:
        marked = t.mutate(_rownum=ibis.row_number() + 1)
        ex = marked.filter(off_scale(marked)).order_by("_rownum").limit(5).execute()
        shown = ", ".join(
            f"row {int(r)} ({pd.Timestamp(ts):%Y-%m-%d}, customer {c}): {s:g}"
            for r, ts, c, s in zip(ex["_rownum"], ex["timestamp"], ex["customer_id"], ex["score"], strict=True)
        )
        raise DataError(_scale_message(kind, lo, hi, nbad, shown))


def _scale_message(kind: str, lo: int, hi: int, nbad: int, shown: str) -> str:
    return (
        f"table surveys: {nbad:,} {kind} score(s) are not whole numbers from {lo} to {hi}, e.g. {shown}; "
        f"fix or remove these answers (or give them another kind) before computing {kind.upper()}"
    )


def change_test(previous: Estimate, current: Estimate, *, kind: str = "normal") -> dict[str, float]:
    """Is the change from ``previous`` to ``current`` more than noise? Two-sided z-test.

    ``kind="proportion"``: the pooled two-proportion z-test, z = (p₂ − p₁) / √(p̂(1 − p̂)(1/n₁ + 1/n₂))
    with p̂ the pooled share (Fleiss, Levin and Paik 2003, §2.5). Otherwise the two
    estimates are taken as independent and normal, each standard error read from its 95%
    interval (half-width / 1.96): z = Δ / √(se₁² + se₂²).
    Returns delta, z and p_value (NaN when either side has no data).
    """
    nan = {"delta": float("nan"), "z": float("nan"), "p_value": float("nan")}
    if previous is None or current is None:
        return nan
    v1, v2 = previous.value, current.value
    if not (np.isfinite(v1) and np.isfinite(v2)):
        return nan
    delta = v2 - v1
    if kind == "proportion":
        n1, n2 = previous.n, current.n
        if n1 <= 0 or n2 <= 0:
            return {**nan, "delta": delta}
        pooled = (v1 * n1 + v2 * n2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    else:
        z95 = stats.norm.ppf(0.975)
        se1 = (previous.high - previous.low) / 2 / z95
        se2 = (current.high - current.low) / 2 / z95
        se = np.sqrt(se1**2 + se2**2) if np.isfinite(se1) and np.isfinite(se2) else np.nan
    if not np.isfinite(se) or se == 0:
        return {**nan, "delta": delta}
    z = delta / se
    return {"delta": float(delta), "z": float(z), "p_value": float(2 * stats.norm.sf(abs(z)))}
