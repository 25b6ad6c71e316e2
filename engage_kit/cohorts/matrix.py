"""The cohort matrix: cohort assignment and the cohort × offset counts, from the engine.

:func:`cohort_matrix` assigns every customer to the calendar period of their first
purchase (or sign-up) and counts, per cohort and period offset, the active customers,
orders and net revenue; only one row per cohort and offset comes back to pandas.
:class:`CohortMatrix` holds those counts and gives the wide views (retention, net revenue
retention, orders per customer) and the export layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..engine import cache
from ..errors import DataError, ParameterError
from .params import (
    COHORT_BY,
    METRICS,
    MISSING_SEGMENT,
    RETENTION_MODES,
    _choice,
    _customers_table,
    _non_negative_int,
    _resolve_as_of,
    as_table,
    check_period,
)
from .periods import period_index, period_index_of, period_label, period_name, period_start

_MEASURES = ("active", "active_unbounded", "orders", "revenue", "gross_revenue", "returns")


@dataclass
class CohortMatrix:
    """Cohort × offset counts, with the view selected by ``metric`` and ``retention_mode``.

    Attributes
    ----------
    cohorts : DataFrame
        One row per cohort (per segment and cohort when split): ``[segment,] cohort`` (label),
        ``cohort_index``, ``start`` (first day), ``customers`` (cohort size).
    cells : DataFrame
        One row per cohort and offset whose period has started on or before ``as_of``:
        keys, ``offset``, ``period_index``, ``complete``, and the counts ``active``
        (customers with a purchase in that period), ``active_unbounded`` (customers with a
        purchase in that period or a later one), ``orders`` (purchase orders), ``revenue``
        (net: purchases + returns), ``gross_revenue`` (purchases only), ``returns``
        (returned amount, positive).
    """

    period: str
    cohort_by: str
    metric: str
    retention_mode: str
    as_of: pd.Timestamp
    segment: str | None
    max_periods: int | None
    cohorts: pd.DataFrame
    cells: pd.DataFrame
    last_complete_index: int = field(default=0)

    # -- shape ---------------------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Row keys: ``["cohort"]``, or ``["segment", "cohort"]`` when split by a segment."""
        return ["segment", "cohort"] if self.segment else ["cohort"]

    @property
    def offsets(self) -> list[int]:
        """Offsets with at least one started cell, 0 first."""
        if self.cells.empty:
            return []
        return list(range(int(self.cells["offset"].max()) + 1))

    @property
    def customers(self) -> int:
        """Customers in all cohorts."""
        return int(self.cohorts["customers"].sum())

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts (calendar periods; not multiplied by segments)."""
        return int(self.cohorts["cohort_index"].nunique())

    @property
    def sizes(self) -> pd.Series:
        """Cohort sizes indexed like the wide frames."""
        return self.cohorts.set_index(self.keys)["customers"]

    @property
    def active_column(self) -> str:
        """The count behind customer retention in this retention mode."""
        return "active" if self.retention_mode == "n_period" else "active_unbounded"

    def __repr__(self) -> str:
        split = f", by {self.segment}" if self.segment else ""
        return (
            f"<CohortMatrix: {self.n_cohorts} {period_name(self.period)}ly cohorts "
            f"({self.cohort_by}), {self.customers:,} customers, offsets 0-{max(self.offsets, default=0)}, "
            f"metric={self.metric}, retention_mode={self.retention_mode}{split}, as_of {self.as_of.date()}>"
        )

    # -- wide views ------------------------------------------------------------------------
    def wide(self, measure: str, *, complete_only: bool = True) -> pd.DataFrame:
        """Cohorts (rows, oldest first) × offsets (columns) of one count in ``cells``.

        Incomplete cells are NaN when ``complete_only`` (the default); cells whose period has
        not started are NaN always.
        """
        if measure not in self.cells.columns:
            raise ParameterError(f"measure must be one of {', '.join(_MEASURES + ('complete',))}; got {measure!r}")
        c = self.cells
        values = c[measure].astype(float)
        if complete_only:
            values = values.where(c["complete"])
        frame = pd.DataFrame({**{k: c[k] for k in self.keys}, "offset": c["offset"], "v": values})
        wide = frame.set_index([*self.keys, "offset"])["v"].unstack("offset")
        wide = wide.reindex(index=self.sizes.index, columns=self.offsets)
        wide.columns.name = "offset"
        return wide

    @property
    def complete(self) -> pd.DataFrame:
        """True where the cell's period ended on or before ``as_of``."""
        return self.wide("complete", complete_only=False).fillna(0).astype(bool)

    @property
    def started(self) -> pd.DataFrame:
        """True where the cell's period began on or before ``as_of`` (complete or not)."""
        return self.wide("active", complete_only=False).notna()

    @property
    def pending(self) -> pd.DataFrame:
        """True where the cell's period has begun but is not complete on ``as_of``."""
        return self.started & ~self.complete

    @property
    def retention(self) -> pd.DataFrame:
        """Share of each cohort active at each offset (in ``retention_mode``); NaN when incomplete."""
        return self.wide(self.active_column).div(self.sizes, axis=0)

    @property
    def values(self) -> pd.DataFrame:
        """The matrix of the chosen ``metric``.

        customers: retention share (see :attr:`retention`); orders: purchase orders per
        cohort customer; revenue: net revenue retention, revenue at offset k / revenue at
        offset 0 (NaN where the offset-0 revenue is not positive; can exceed 1).
        """
        if self.metric == "customers":
            return self.retention
        if self.metric == "orders":
            return self.wide("orders").div(self.sizes, axis=0)
        return net_revenue_retention(self)

    def to_frame(self, measure: str | None = None) -> pd.DataFrame:
        """The export layout: ``[segment,] cohort, customers, 0, 1, ...`` (incomplete cells NaN).

        ``measure`` None gives customer retention (shares); a count name from ``cells``
        (e.g. ``revenue``) gives that count.
        """
        wide = self.retention if measure is None else self.wide(measure)
        wide = wide.copy()
        wide.columns = [str(c) for c in wide.columns]
        out = wide.reset_index()
        out.insert(len(self.keys), "customers", self.sizes.to_numpy())
        return out

    # -- variants ---------------------------------------------------------------------------
    def with_options(self, *, metric: str | None = None, retention_mode: str | None = None) -> CohortMatrix:
        """The same counts viewed with another metric or retention mode (no new query)."""
        metric = _choice("metric", metric or self.metric, METRICS)
        mode = _choice("retention_mode", retention_mode or self.retention_mode, RETENTION_MODES)
        _check_mode(metric, mode)
        return replace(self, metric=metric, retention_mode=mode)

    def overall(self) -> CohortMatrix:
        """All segments added together (the matrix without the split)."""
        if not self.segment:
            return self
        cohorts = (
            self.cohorts.groupby(["cohort_index"], as_index=False)
            .agg(cohort=("cohort", "first"), start=("start", "first"), customers=("customers", "sum"))
            .sort_values("cohort_index")[["cohort", "cohort_index", "start", "customers"]]
            .reset_index(drop=True)
        )
        sums = {m: (m, "sum") for m in _MEASURES}
        cells = (
            self.cells.groupby(["cohort_index", "offset"], as_index=False)
            .agg(cohort=("cohort", "first"), period_index=("period_index", "first"),
                 complete=("complete", "first"), **sums)
            .sort_values(["cohort_index", "offset"])
            .reset_index(drop=True)
        )
        return replace(self, segment=None, cohorts=cohorts, cells=cells[["cohort", *_cell_columns()]])

    def split(self) -> dict[str, CohortMatrix]:
        """One matrix per segment value (largest segment first)."""
        if not self.segment:
            return {"all": self}
        order = self.cohorts.groupby("segment")["customers"].sum().sort_values(ascending=False).index
        out = {}
        for seg in order:
            co = self.cohorts[self.cohorts["segment"] == seg].drop(columns="segment").reset_index(drop=True)
            ce = self.cells[self.cells["segment"] == seg].drop(columns="segment").reset_index(drop=True)
            out[str(seg)] = replace(self, segment=None, cohorts=co, cells=ce)
        return out

    def eligible(self, min_cohort_size: int = 1) -> pd.Index:
        """Row keys of cohorts with at least ``min_cohort_size`` customers."""
        sizes = self.sizes
        return sizes.index[sizes >= min_cohort_size]


def _cell_columns() -> list[str]:
    return ["cohort_index", "offset", "period_index", "complete", *_MEASURES]


def _check_mode(metric: str, retention_mode: str) -> None:
    if retention_mode == "unbounded" and metric != "customers":
        raise ParameterError(
            f"retention_mode='unbounded' counts customers active in an offset or any later one, so it "
            f"applies to metric='customers' only; with metric={metric!r} use retention_mode='n_period'"
        )


def cohort_matrix(
    transactions: Any,
    *,
    period: str = "M",
    metric: str = "customers",
    retention_mode: str = "n_period",
    as_of: Any = None,
    cohort_by: str = "first_purchase",
    customers: Any = None,
    segment: str | None = None,
    max_periods: int | None = None,
) -> CohortMatrix:
    """Count customers, orders and revenue per cohort and period offset, in the engine.

    Parameters
    ----------
    transactions : ibis.Table or pandas.DataFrame
        Orders or transaction rows with ``customer_id``, ``timestamp``, ``amount`` and
        optionally ``order_id`` (rows sharing one are one order; without it every row is an
        order). Pass the dataset's ``ds.orders``: rows with amount >= 0 are purchases, rows
        with amount < 0 are returns. Returns never make a customer active and never start a
        cohort; they are netted into ``revenue`` in the period of their own timestamp.
        Passing ``ds.purchases`` instead gives gross revenue.
    period : {"W", "M", "Q"}
        Calendar period of cohorts and offsets: weeks starting on Monday, months, quarters.
    metric : {"customers", "revenue", "orders"}
        The view of :attr:`CohortMatrix.values`: customer retention share, net revenue
        retention (revenue at offset k / revenue at offset 0), or orders per cohort customer.
        Every count is computed whatever the metric.
    retention_mode : {"n_period", "unbounded"}
        ``n_period``: active in exactly period cohort + k. ``unbounded``: active in period
        cohort + k or any later period up to ``as_of`` (customers only).
    as_of : date, optional
        Analysis date, inclusive: rows after it are ignored and cells whose period ends after
        it are incomplete. Default: the date of the last purchase.
    cohort_by : {"first_purchase", "signup"}
        Cohort = period of the first purchase (offset 0 retention is 1 by definition), or of
        ``signup_at`` in ``customers`` (customers without a purchase count in the cohort size;
        customers without ``signup_at`` or signed up after ``as_of`` are left out; purchases
        before the sign-up period are ignored).
    customers : ibis.Table or pandas.DataFrame, optional
        The customers table (``customer_id``, ``signup_at``, attribute columns); needed for
        ``cohort_by="signup"`` and for ``segment``.
    segment : str, optional
        A column of ``customers`` (segment, acquisition_channel, country...) to split every
        cohort by. Customers without a value (or missing from ``customers``) form the
        segment ``"(missing)"``.
    max_periods : int, optional
        Highest offset kept (default: all). Unbounded retention still counts purchases in
        later periods.

    Returns
    -------
    CohortMatrix
        Small pandas frames: one row per cohort and one per cohort and offset.
    """
    period = check_period(period)
    metric = _choice("metric", metric, METRICS)
    retention_mode = _choice("retention_mode", retention_mode, RETENTION_MODES)
    cohort_by = _choice("cohort_by", cohort_by, COHORT_BY)
    _check_mode(metric, retention_mode)
    max_periods = _non_negative_int("max_periods", max_periods, allow_none=True)

    t = as_table(transactions, name="transactions", required=("customer_id", "timestamp", "amount"))
    cust = _customers_table(customers, cohort_by=cohort_by, segment=segment)
    as_of_ts = _resolve_as_of(t, as_of)
    as_of_end = as_of_ts + pd.Timedelta(days=1)

    t = t.filter(
        t.customer_id.notnull(), t.timestamp.notnull(), t.amount.notnull(), t.timestamp < as_of_end.to_pydatetime()
    )
    t = t.mutate(pidx=period_index(t.timestamp, period), is_purchase=t.amount >= 0)

    # cohort of every customer (engine)
    if cohort_by == "first_purchase":
        buys = t.filter(t.is_purchase)
        coh = buys.group_by("customer_id").aggregate(cohort_index=buys.pidx.min())
    else:
        c = cust.filter(cust.signup_at.notnull(), cust.signup_at < as_of_end.to_pydatetime())
        coh = c.group_by("customer_id").aggregate(cohort_index=period_index(c.signup_at, period).min())
    if segment:
        seg = cust.group_by("customer_id").aggregate(segment=cust[segment].cast("string").arbitrary())
        coh = coh.left_join(seg, "customer_id").select(
            "customer_id", "cohort_index", segment=ibis.coalesce(seg.segment, ibis.literal(MISSING_SEGMENT))
        )
    gkeys = ["segment", "cohort_index"] if segment else ["cohort_index"]

    # one row per customer and period with activity, orders and money (engine)
    if "order_id" in t.columns:
        n_orders = t.order_id.nunique(where=t.is_purchase) + t.count(where=t.is_purchase & t.order_id.isnull())
    else:
        n_orders = t.count(where=t.is_purchase)
    cp = t.group_by(["customer_id", "pidx"]).aggregate(
        active=t.is_purchase.any(),
        orders=n_orders,
        revenue=t.amount.sum(),
        gross_revenue=t.amount.sum(where=t.is_purchase).fill_null(0.0),
        returns=(-t.amount).sum(where=~t.is_purchase).fill_null(0.0),
    )
    j = cp.join(coh, "customer_id")
    j = j.mutate(offset=(j.pidx - j.cohort_index).cast("int64"))
    j = j.filter(j.offset >= 0)
    # the customer-period table is read twice: materialise it once in the engine
    with cache(j) as j:
        cells = (
            j.group_by([*gkeys, "offset"])
            .aggregate(
                active=j.count(where=j.active),
                orders=j.orders.sum(),
                revenue=j.revenue.sum(),
                gross_revenue=j.gross_revenue.sum(),
                returns=j.returns.sum(),
            )
            .execute()
        )
        act = j.filter(j.active)
        last = act.group_by(["customer_id", *gkeys]).aggregate(last_offset=act.offset.max())
        lasts = last.group_by([*gkeys, "last_offset"]).aggregate(n=last.count()).execute()
    sizes = coh.group_by(gkeys).aggregate(customers=coh.count()).execute()
    if sizes.empty:
        raise DataError(
            f"transactions: no customers with a {'purchase' if cohort_by == 'first_purchase' else 'sign-up'} "
            f"on or before as_of {as_of_ts.date()}; check as_of and the amounts (purchases have amount >= 0)"
        )
    return _assemble(
        sizes, cells, lasts, period=period, as_of=as_of_ts, segment=segment, max_periods=max_periods,
        metric=metric, retention_mode=retention_mode, cohort_by=cohort_by,
    )


def _assemble(
    sizes: pd.DataFrame,
    cells: pd.DataFrame,
    lasts: pd.DataFrame,
    *,
    period: str,
    as_of: pd.Timestamp,
    segment: str | None,
    max_periods: int | None,
    metric: str,
    retention_mode: str,
    cohort_by: str,
) -> CohortMatrix:
    """Build the full cohort × offset grid from the engine's small results (pandas)."""
    gkeys = ["segment", "cohort_index"] if segment else ["cohort_index"]
    as_of_index = period_index_of(as_of, period)
    # a period is complete when the next one starts on or before as_of + 1 day
    next_start = period_start([as_of_index + 1], period)[0]
    last_complete = as_of_index if next_start <= as_of + pd.Timedelta(days=1) else as_of_index - 1

    sizes = sizes.copy()
    sizes["cohort_index"] = sizes["cohort_index"].astype("int64")
    if segment:
        sizes["segment"] = sizes["segment"].astype(str)
    sizes = sizes.sort_values(gkeys).reset_index(drop=True)
    sizes["cohort"] = period_label(sizes["cohort_index"], period)
    sizes["start"] = period_start(sizes["cohort_index"], period)
    sizes["customers"] = sizes["customers"].astype("int64")

    # grid: offsets 0 .. (as_of period - cohort), capped at max_periods
    span = (as_of_index - sizes["cohort_index"]).clip(lower=0).to_numpy()
    if max_periods is not None:
        span = np.minimum(span, max_periods)
    reps = span + 1
    grid = sizes.loc[np.repeat(sizes.index.to_numpy(), reps), [*gkeys, "cohort"]].reset_index(drop=True)
    grid["offset"] = np.concatenate([np.arange(r) for r in reps]).astype("int64")
    grid["period_index"] = grid["cohort_index"] + grid["offset"]
    grid["complete"] = grid["period_index"] <= last_complete

    cells = cells.copy()
    for c in ("cohort_index", "offset"):
        cells[c] = cells[c].astype("int64")
    if segment:
        cells["segment"] = cells["segment"].astype(str)
    grid = grid.merge(cells, on=[*gkeys, "offset"], how="left")
    for m in ("active", "orders"):
        grid[m] = grid[m].fillna(0).astype("int64")
    for m in ("revenue", "gross_revenue", "returns"):
        grid[m] = grid[m].astype(float).fillna(0.0)

    # unbounded: customers whose last active offset is >= k
    grid["active_unbounded"] = 0
    if not lasts.empty:
        lasts = lasts.copy()
        lasts["cohort_index"] = lasts["cohort_index"].astype("int64")
        lasts["last_offset"] = lasts["last_offset"].astype("int64")
        if segment:
            lasts["segment"] = lasts["segment"].astype(str)
        width = int(max(lasts["last_offset"].max(), grid["offset"].max())) + 1
        wide = lasts.pivot_table(index=gkeys, columns="last_offset", values="n", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=range(width), fill_value=0)
        at_least = pd.DataFrame(
            np.cumsum(wide.to_numpy()[:, ::-1], axis=1)[:, ::-1],
            index=wide.index,
            columns=pd.Index(range(width), name="offset"),
        )
        long = at_least.stack().rename("active_unbounded").reset_index()
        long["offset"] = long["offset"].astype("int64")
        grid = grid.drop(columns="active_unbounded").merge(long, on=[*gkeys, "offset"], how="left")
        grid["active_unbounded"] = grid["active_unbounded"].fillna(0).astype("int64")

    order = ["segment", "cohort_index", "offset"] if segment else ["cohort_index", "offset"]
    grid = grid.sort_values(order).reset_index(drop=True)
    keys = ["segment", "cohort"] if segment else ["cohort"]
    cohorts_cols = [*keys, "cohort_index", "start", "customers"]
    cell_cols = [*keys, *_cell_columns()]
    return CohortMatrix(
        period=period,
        cohort_by=cohort_by,
        metric=metric,
        retention_mode=retention_mode,
        as_of=as_of,
        segment=segment,
        max_periods=max_periods,
        cohorts=sizes[cohorts_cols],
        cells=grid[cell_cols],
        last_complete_index=int(last_complete),
    )


def net_revenue_retention(matrix: CohortMatrix) -> pd.DataFrame:
    """Net revenue retention: cohort net revenue at offset k / its net revenue at offset 0.

    NRR(c, k) = R(c, k) / R(c, 0) with R net of returns; it exceeds 1 when a cohort spends
    more later than in its first period. NaN where R(c, 0) <= 0 or the cell is incomplete.
    """
    rev = matrix.wide("revenue")
    base = rev[0].where(rev[0] > 0) if 0 in rev.columns else pd.Series(np.nan, index=rev.index)
    return rev.div(base, axis=0)
