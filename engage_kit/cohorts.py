"""Cohort retention: do customers acquired in each period keep coming back?

Customers are grouped into cohorts by the calendar period of their first purchase (or of
their sign-up). For every cohort and every period offset (offset 0 is the cohort's own
period, offset 1 the next period, ...) the engine counts the cohort's active customers,
its orders and its net revenue; only one row per cohort and offset comes back to pandas.

Definitions used throughout
---------------------------
- Periods are calendar periods: ``W`` weeks starting on Monday (label: the Monday's date,
  ``2024-01-01``), ``M`` months (``2024-01``), ``Q`` quarters (``2024Q1``).
- A purchase is a row (order) with amount >= 0, zero amounts included; a return
  (amount < 0) never makes a customer active and never starts a cohort.
- Revenue is **net** revenue: purchases plus returns, each booked in the period of its own
  timestamp. A cohort's revenue in a period can therefore be negative.
- ``n_period`` retention at offset k: share of the cohort with a purchase in period
  cohort + k (Amplitude's "N-day" / Mixpanel's "on" retention). ``unbounded`` retention at
  offset k: share with a purchase in period cohort + k *or any later period* up to ``as_of``
  (Amplitude's "unbounded" / "on or after" retention); it never rises with k.
- A cell is complete when its period ends on or before ``as_of`` (inclusive). Incomplete
  cells are NaN (blank in CSV exports, marked in charts), never 0.
- ``min_cohort_size`` leaves small cohorts out of charts and averages; the matrices and
  their CSV exports keep every cohort.

References: Fader and Hardie (2010), "Customer-base valuation in a contractual setting"
(cohort retention curves); Wilson (1927) intervals; Kaplan and Meier (1958) with
Greenwood's (1926) variance; McCullagh and Nelder (1989), section 4.5 (quasi-binomial
dispersion) for the cohort trend test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps

from .activity import default_active_days
from .errors import DataError, ParameterError, did_you_mean
from .stats import Estimate, wilson_interval
from .text import esc

PERIODS = {"W": "week", "M": "month", "Q": "quarter"}
METRICS = ("customers", "revenue", "orders")
RETENTION_MODES = ("n_period", "unbounded")
COHORT_BY = ("first_purchase", "signup")
CENSOR_AT = ("lapse_horizon", "as_of")
SUMMARY_OFFSETS = (1, 3, 6, 12)
MISSING_SEGMENT = "(missing)"
_SECONDS_PER_DAY = 86_400
_MONDAY_EPOCH_DAYS = 4  # 1970-01-05, the first Monday after the Unix epoch
_MONDAY_EPOCH = pd.Timestamp("1970-01-05")
_MEASURES = ("active", "active_unbounded", "orders", "revenue", "gross_revenue", "returns")


# --- parameters and input ------------------------------------------------------------


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


def _as_date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a date such as '2024-06-30'; got {value!r}") from None
    if pd.isna(ts):
        raise ParameterError(f"{name} must be a date such as '2024-06-30'; got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def as_table(data: Any, *, name: str, required: tuple[str, ...]) -> ibis.Table:
    """An Ibis table from an Ibis table or a pandas DataFrame, checked for ``required`` columns."""
    if isinstance(data, pd.DataFrame):
        data = ibis.memtable(data)
    if not isinstance(data, ibis.Table):
        raise DataError(f"{name}: expected an Ibis table or a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise DataError(
            f"{name}: column(s) {', '.join(missing)} missing; it has {', '.join(data.columns)}. "
            f"Pass a table with {', '.join(required)}"
            + (" (e.g. the dataset's orders, ds.orders)" if name == "transactions" else "")
        )
    return data


# --- calendar periods ----------------------------------------------------------------


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
    return ((monday.epoch_seconds() - _MONDAY_EPOCH_DAYS * _SECONDS_PER_DAY) // (7 * _SECONDS_PER_DAY)).cast("int64")


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


# --- the cohort matrix ---------------------------------------------------------------


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
    with j.cache() as j:
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


# --- curves and averages -------------------------------------------------------------


def cohort_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1, confidence: float = 0.95) -> pd.DataFrame:
    """Retention of each cohort at each complete offset, with Wilson intervals.

    Returns one row per eligible cohort and complete offset: keys, ``cohort_index``,
    ``offset``, ``customers`` (cohort size), ``active``, ``retention`` = active / customers,
    ``low`` and ``high`` (Wilson 1927 score interval at ``confidence``).
    """
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    m = matrix
    c = m.cells[m.cells["complete"]].merge(m.cohorts[[*m.keys, "customers"]], on=m.keys)
    c = c[c["customers"] >= max(min_cohort_size, 1)]
    active = c[m.active_column].to_numpy(dtype=float)
    n = c["customers"].to_numpy(dtype=float)
    low, high = wilson_interval(active, n, confidence=confidence)
    out = c[[*m.keys, "cohort_index", "offset", "customers"]].copy()
    out["active"] = active.astype("int64")
    out["retention"] = active / n
    out["low"] = np.atleast_1d(low)
    out["high"] = np.atleast_1d(high)
    return out.reset_index(drop=True)


def average_curve(matrix: CohortMatrix, *, min_cohort_size: int = 1, confidence: float = 0.95) -> pd.DataFrame:
    """Size-weighted average retention per offset over the cohorts that reached it.

    value(k) = Σ_c active(c, k) / Σ_c size(c) over cohorts c whose offset k is complete and
    whose size is at least ``min_cohort_size`` (the pooled proportion, i.e. the mean of the
    cohorts' retention weighted by size), with a Wilson interval on the pooled counts.
    Later offsets rest on older cohorts only. Split matrices give one curve per segment.

    Returns
    -------
    DataFrame
        ``[segment,] offset, value, low, high, active, customers, cohorts``.
    """
    cc = cohort_curves(matrix, min_cohort_size=min_cohort_size, confidence=confidence)
    by = ["segment", "offset"] if matrix.segment else ["offset"]
    if cc.empty:
        return pd.DataFrame(columns=[*by, "value", "low", "high", "active", "customers", "cohorts"])
    g = cc.groupby(by, as_index=False).agg(
        active=("active", "sum"), customers=("customers", "sum"), cohorts=("retention", "size")
    )
    g["value"] = g["active"] / g["customers"]
    low, high = wilson_interval(g["active"].to_numpy(float), g["customers"].to_numpy(float), confidence=confidence)
    g["low"], g["high"] = np.atleast_1d(low), np.atleast_1d(high)
    return g[[*by, "value", "low", "high", "active", "customers", "cohorts"]]


def average_retention(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    min_cohort_size: int = 1,
) -> dict[int, Estimate]:
    """Size-weighted average retention at ``offsets`` (see :func:`average_curve`).

    Only offsets some eligible cohort has completed are returned. A split matrix is added up
    over segments first.
    """
    curve = average_curve(matrix.overall(), min_cohort_size=min_cohort_size).set_index("offset")
    out = {}
    for k in offsets:
        if k in curve.index:
            r = curve.loc[k]
            out[int(k)] = Estimate(float(r["value"]), float(r["low"]), float(r["high"]), int(r["customers"]), "wilson")
    return out


# --- trend: do recent cohorts retain better or worse? --------------------------------


@dataclass(frozen=True)
class TrendResult:
    """Test of a trend in offset-k retention across cohorts.

    ``direction`` is ``improving`` or ``declining`` when the slope is significant at
    ``alpha``, ``no clear trend`` when not, ``not testable`` with fewer than 3 cohorts.
    ``first_fitted`` and ``last_fitted`` are the model's retention for the oldest and the
    newest cohort; ``change`` their difference (a fraction: 0.05 = 5 points).
    """

    offset: int
    direction: str
    p_value: float | None
    slope_per_period: float | None
    odds_ratio_per_period: float | None
    first_fitted: float | None
    last_fitted: float | None
    cohorts: int
    customers: int
    dispersion: float | None
    alpha: float = 0.05
    method: str = "quasi-binomial logistic regression of retention on cohort start (t test of the slope)"

    @property
    def change(self) -> float | None:
        if self.first_fitted is None or self.last_fitted is None:
            return None
        return self.last_fitted - self.first_fitted

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "p_value": self.p_value,
            "offset": self.offset,
            "change": self.change,
            "odds_ratio_per_period": self.odds_ratio_per_period,
            "first_fitted": self.first_fitted,
            "last_fitted": self.last_fitted,
            "cohorts": self.cohorts,
            "customers": self.customers,
            "dispersion": self.dispersion,
            "method": self.method,
        }


def trend_test(
    active: Any,
    customers: Any,
    cohort_index: Any,
    *,
    offset: int = 1,
    alpha: float = 0.05,
) -> TrendResult:
    """Logistic trend test of retention on cohort order, robust to extra-binomial variation.

    Model: logit P(active at offset k | cohort c) = β0 + β1·(t_c − t_0), with t_c the
    cohort's period index, fitted as a binomial GLM on the grouped counts. Cohorts differ
    for reasons other than their age (seasonality, campaigns), so the variance is scaled by
    the Pearson dispersion φ = max(1, X²/(m − 2)) (quasi-binomial; McCullagh and Nelder 1989,
    §4.5) and the slope is tested with a t test on m − 2 degrees of freedom, m = number of
    cohorts. With φ = 1 the test is the Wald version of the Cochran–Armitage trend test.

    Parameters
    ----------
    active, customers : array-like
        Customers retained at the offset and cohort sizes, one per cohort.
    cohort_index : array-like
        The cohorts' period indexes (only differences matter).
    offset : int
        The offset the counts are for (reported back).
    alpha : float
        Significance level for ``direction``.
    """
    import statsmodels.api as sm

    a = np.asarray(active, dtype=float)
    n = np.asarray(customers, dtype=float)
    x = np.asarray(cohort_index, dtype=float)
    keep = n > 0
    a, n, x = a[keep], n[keep], x[keep]
    m = a.size
    total = int(n.sum())
    untestable = TrendResult(int(offset), "not testable", None, None, None, None, None, m, total, None, alpha)
    if m < 3 or np.ptp(x) == 0 or a.sum() == 0 or a.sum() == n.sum():
        return untestable
    x0 = x - x.min()
    design = sm.add_constant(x0, has_constant="add")
    model = sm.GLM(np.column_stack([a, n - a]), design, family=sm.families.Binomial())
    try:
        first = model.fit()
        df_resid = m - 2
        phi = max(1.0, float(first.pearson_chi2) / df_resid)
        res = model.fit(scale=phi, use_t=True)
    except Exception:  # noqa: BLE001 - separation or non-convergence: no test possible
        return untestable
    slope = float(res.params[1])
    p = float(res.pvalues[1])
    if not np.isfinite(p):
        return untestable
    fitted = 1.0 / (1.0 + np.exp(-(res.params[0] + res.params[1] * np.array([0.0, x0.max()]))))
    direction = "no clear trend" if p >= alpha else ("improving" if slope > 0 else "declining")
    return TrendResult(
        offset=int(offset),
        direction=direction,
        p_value=p,
        slope_per_period=slope,
        odds_ratio_per_period=float(np.exp(slope)),
        first_fitted=float(fitted[0]),
        last_fitted=float(fitted[1]),
        cohorts=m,
        customers=total,
        dispersion=phi,
        alpha=alpha,
    )


def retention_trend(
    matrix: CohortMatrix,
    *,
    offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> TrendResult:
    """Do recent cohorts retain better or worse at ``offset``? (see :func:`trend_test`).

    Uses the cohorts that completed ``offset`` and have at least ``min_cohort_size``
    customers, in the matrix's retention mode. A split matrix is added up first.
    """
    offset = _non_negative_int("offset", offset, minimum=1)
    cc = cohort_curves(matrix.overall(), min_cohort_size=min_cohort_size)
    at = cc[cc["offset"] == offset]
    return trend_test(at["active"], at["customers"], at["cohort_index"], offset=offset, alpha=alpha)


# --- executive summary, segments and interpretation ----------------------------------


def extreme_cohorts(matrix: CohortMatrix, *, offset: int = 1, min_cohort_size: int = 1) -> dict[str, Any]:
    """Best and worst cohort by retention at ``offset`` (eligible cohorts that completed it).

    Returns ``{"best": {...}, "worst": {...}}`` with cohort, customers and the retention
    Estimate, or an empty dict when fewer than two cohorts qualify.
    """
    cc = cohort_curves(matrix.overall(), min_cohort_size=min_cohort_size)
    at = cc[cc["offset"] == offset]
    if len(at) < 2:
        return {}
    out = {}
    for name, row in (("best", at.loc[at["retention"].idxmax()]), ("worst", at.loc[at["retention"].idxmin()])):
        out[name] = {
            "cohort": row["cohort"],
            "customers": int(row["customers"]),
            "retention": Estimate(float(row["retention"]), float(row["low"]), float(row["high"]),
                                  int(row["customers"]), "wilson"),
        }
    return out


def executive_summary(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    trend_offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Headline figures: customers, cohorts, average retention at ``offsets``, trend, extremes.

    Returns a dict with ``period``, ``cohorts`` (number of cohorts), ``cohorts_charted``
    (those with at least ``min_cohort_size`` customers), ``customers``, ``average_retention``
    ({offset: Estimate}, size-weighted, only cohorts that completed the offset),
    ``trend`` (:class:`TrendResult` at ``trend_offset``) and ``extremes`` (best and worst
    cohort at ``trend_offset``).
    """
    m = matrix.overall()
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    return {
        "period": m.period,
        "retention_mode": m.retention_mode,
        "cohort_by": m.cohort_by,
        "cohorts": m.n_cohorts,
        "cohorts_charted": int(len(m.eligible(min_cohort_size))),
        "customers": m.customers,
        "first_cohort": m.cohorts["cohort"].iloc[0],
        "last_cohort": m.cohorts["cohort"].iloc[-1],
        "average_retention": average_retention(m, offsets=offsets, min_cohort_size=min_cohort_size),
        "trend": retention_trend(m, offset=trend_offset, min_cohort_size=min_cohort_size, alpha=alpha),
        "extremes": extreme_cohorts(m, offset=trend_offset, min_cohort_size=min_cohort_size),
    }


def segment_summary(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    trend_offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per segment: customers, cohorts, average retention at ``offsets``, trend.

    ``min_cohort_size`` applies to the segment's own cohorts (segment × period). Columns:
    ``segment, customers, cohorts, retention_<k>, retention_<k>_low, retention_<k>_high,
    nrr_<k>`` (average net revenue retention), ``trend, trend_p_value``.
    """
    rows = []
    for seg, m in matrix.split().items():
        avg = average_retention(m, offsets=offsets, min_cohort_size=min_cohort_size)
        tr = retention_trend(m, offset=trend_offset, min_cohort_size=min_cohort_size, alpha=alpha)
        row: dict[str, Any] = {"segment": seg, "customers": m.customers, "cohorts": m.n_cohorts}
        for k in offsets:
            e = avg.get(k)
            row[f"retention_{k}"] = e.value if e else np.nan
            row[f"retention_{k}_low"] = e.low if e else np.nan
            row[f"retention_{k}_high"] = e.high if e else np.nan
        nrr = revenue_retention(m, min_cohort_size=min_cohort_size).average_nrr.set_index("offset")["value"]
        for k in offsets:
            row[f"nrr_{k}"] = float(nrr[k]) if k in nrr.index else np.nan
        row["trend"] = tr.direction
        row["trend_p_value"] = tr.p_value
        rows.append(row)
    return pd.DataFrame(rows)


def segment_difference(matrix: CohortMatrix, *, offset: int = 1, min_cohort_size: int = 1) -> dict[str, Any]:
    """Pearson chi-square test that offset-k retention is the same in every segment.

    Pools each segment's eligible cohorts that completed ``offset`` into one 2 × G table
    (retained / not retained by segment). Returns ``{offset, chi2, dof, p_value, segments}``;
    p_value None with fewer than two segments.
    """
    if not matrix.segment:
        raise ParameterError("segment_difference needs a matrix split by a segment (cohort_matrix(..., segment=...))")
    avg = average_curve(matrix, min_cohort_size=min_cohort_size)
    at = avg[avg["offset"] == offset]
    out: dict[str, Any] = {"offset": int(offset), "segments": int(len(at)), "chi2": None, "dof": None, "p_value": None}
    if len(at) < 2:
        return out
    table = np.vstack([at["active"].to_numpy(float), (at["customers"] - at["active"]).to_numpy(float)])
    if (table.sum(axis=1) == 0).any():
        return out
    chi2, p, dof, _ = sps.chi2_contingency(table, correction=False)
    out.update(chi2=float(chi2), dof=int(dof), p_value=float(p))
    return out


# --- revenue retention ---------------------------------------------------------------


def net_revenue_retention(matrix: CohortMatrix) -> pd.DataFrame:
    """Net revenue retention: cohort net revenue at offset k / its net revenue at offset 0.

    NRR(c, k) = R(c, k) / R(c, 0) with R net of returns; it exceeds 1 when a cohort spends
    more later than in its first period. NaN where R(c, 0) <= 0 or the cell is incomplete.
    """
    rev = matrix.wide("revenue")
    base = rev[0].where(rev[0] > 0) if 0 in rev.columns else pd.Series(np.nan, index=rev.index)
    return rev.div(base, axis=0)


@dataclass
class RevenueRetention:
    """Revenue views of a cohort matrix (net revenue: purchases plus returns).

    Attributes
    ----------
    revenue : cohorts × offsets, net revenue (NaN where incomplete).
    nrr : cohorts × offsets, net revenue retention R(c, k) / R(c, 0).
    cumulative_per_customer : cohorts × offsets, Σ_{j<=k} R(c, j) / size(c).
    by_period : long table, net revenue per calendar period and cohort (incomplete periods
        flagged), for the "layer cake" chart.
    average_nrr : per offset, Σ_c R(c, k) / Σ_c R(c, 0) over eligible cohorts that completed k.
    sizes : cohort sizes.
    pending : cohorts × offsets, True where the period has started but is not complete.
    """

    revenue: pd.DataFrame
    nrr: pd.DataFrame
    cumulative_per_customer: pd.DataFrame
    by_period: pd.DataFrame
    average_nrr: pd.DataFrame
    sizes: pd.Series
    pending: pd.DataFrame
    period: str
    min_cohort_size: int


def revenue_retention(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> RevenueRetention:
    """Net revenue per cohort and offset, net revenue retention and cumulative revenue per customer.

    The frames keep every cohort; ``average_nrr`` uses cohorts with at least
    ``min_cohort_size`` customers. A split matrix is added up first.
    """
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    m = matrix.overall()
    rev = m.wide("revenue")
    nrr = net_revenue_retention(m)
    cum = rev.cumsum(axis=1, skipna=False).div(m.sizes, axis=0)
    bp = m.cells[["cohort", "cohort_index", "period_index", "complete", "revenue"]].copy()
    bp["period"] = period_label(bp["period_index"], m.period)
    bp["period_start"] = period_start(bp["period_index"], m.period)
    keep = m.eligible(min_cohort_size)
    base = rev.loc[keep, 0].where(rev.loc[keep, 0] > 0) if 0 in rev.columns else None
    rows = []
    if base is not None:
        ok = base.notna()
        for k in rev.columns:
            col = rev.loc[keep, k][ok]
            done = col.notna()
            if done.sum() == 0:
                continue
            rows.append({"offset": int(k), "value": float(col[done].sum() / base[ok][done].sum()),
                         "cohorts": int(done.sum())})
    avg = pd.DataFrame(rows, columns=["offset", "value", "cohorts"])
    pending = m.started & ~m.complete
    return RevenueRetention(rev, nrr, cum, bp.reset_index(drop=True), avg, m.sizes, pending, m.period,
                            min_cohort_size)


# --- survival: time to lapse ----------------------------------------------------------


def lapse_durations(
    transactions: Any,
    *,
    as_of: Any = None,
    inactivity_days: int | None = None,
    customers: Any = None,
    segment: str | None = None,
    censor_at: str = "lapse_horizon",
) -> pd.DataFrame:
    """Per-customer lifetimes for survival analysis, counted in the engine.

    A customer has lapsed when they made no purchase in the ``inactivity_days`` days up to
    and including ``as_of``, i.e. their last purchase day is on or before the lapse horizon
    H = as_of − inactivity_days. The lifetime is the days from the first to the last
    purchase; for lapsed customers it is observed (an event). ``inactivity_days`` is the
    kit's one activity window (lapsed = not active); None chooses it from the data
    (:func:`engage_kit.activity.default_active_days`).

    Customers not lapsed are censored. ``censor_at="lapse_horizon"`` (default) censors
    them at H: a lapse is only visible up to H, so every customer is followed up to H,
    the censoring does not depend on the lifetime, and Kaplan–Meier is unbiased (checked on
    simulated data with known lifetimes in the tests). Customers whose first purchase is
    after H have no follow-up (``followed`` False) and are left out of the curves.
    ``censor_at="as_of"`` censors them at as_of instead (duration = days from the first
    purchase to as_of): customers who stopped buying within the last ``inactivity_days``
    are then counted as survivors beyond their true lifetime, which overstates survival,
    increasingly at long durations.

    Purchases are rows with amount >= 0; returns are ignored.

    Returns
    -------
    DataFrame
        One row per unique ``[segment,] duration_days, lapsed, followed`` with
        ``customers`` (count): small enough for :func:`kaplan_meier`'s ``weights``.
    """
    censor_at = _choice("censor_at", censor_at, CENSOR_AT)
    t = as_table(transactions, name="transactions", required=("customer_id", "timestamp", "amount"))
    as_of_ts = _resolve_as_of(t, as_of)
    if inactivity_days is None:
        inactivity_days = default_active_days(t, as_of=as_of_ts)
    inactivity_days = _non_negative_int("inactivity_days", inactivity_days, minimum=1)
    as_of_end = as_of_ts + pd.Timedelta(days=1)
    t = t.filter(t.customer_id.notnull(), t.timestamp.notnull(), t.amount >= 0, t.timestamp < as_of_end.to_pydatetime())
    day = (t.timestamp.truncate("D").epoch_seconds() // _SECONDS_PER_DAY).cast("int64")
    t = t.mutate(day=day)
    per = t.group_by("customer_id").aggregate(first_day=t.day.min(), last_day=t.day.max())
    as_of_day = int((as_of_ts - pd.Timestamp("1970-01-01")).days)
    horizon = as_of_day - inactivity_days
    lapsed = per.last_day <= horizon
    censor_day = ibis.literal(horizon if censor_at == "lapse_horizon" else as_of_day)
    per = per.mutate(
        lapsed=lapsed,
        followed=per.first_day <= censor_day,
        duration_days=ibis.ifelse(lapsed, per.last_day - per.first_day, censor_day - per.first_day),
    )
    keys = ["duration_days", "lapsed", "followed"]
    if segment:
        cust = _customers_table(customers, cohort_by="first_purchase", segment=segment)
        seg = cust.group_by("customer_id").aggregate(segment=cust[segment].cast("string").arbitrary())
        per = per.left_join(seg, "customer_id").select(
            *keys, segment=ibis.coalesce(seg.segment, ibis.literal(MISSING_SEGMENT))
        )
        keys = ["segment", *keys]
    out = per.group_by(keys).aggregate(customers=per.count()).execute()
    out["duration_days"] = out["duration_days"].astype("int64")
    out["lapsed"] = out["lapsed"].astype(bool)
    out["followed"] = out["followed"].astype(bool)
    out["customers"] = out["customers"].astype("int64")
    return out.sort_values(keys).reset_index(drop=True)


def kaplan_meier(
    durations: Any,
    events: Any,
    *,
    weights: Any = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier survival estimate with Greenwood variance, vectorised.

    S(t) = Π_{t_i <= t} (1 − d_i / n_i), with d_i events at t_i and n_i subjects at risk
    (duration >= t_i; censored at t_i still at risk). Greenwood (1926):
    Var S(t) = S(t)² Σ_{t_i <= t} d_i / (n_i (n_i − d_i)). The interval is the log-log
    ("exponential Greenwood") one, which stays within [0, 1]: S^{exp(±z σ)} with
    σ = sqrt(Σ d_i / (n_i (n_i − d_i))) / |log S| (Kalbfleisch and Prentice 2002, §1.3).

    Parameters
    ----------
    durations : array-like
        Times (any unit).
    events : array-like of bool
        True for an event (lapse), False for censored.
    weights : array-like, optional
        Number of subjects per row (for grouped input such as :func:`lapse_durations`).

    Returns
    -------
    DataFrame
        One row per distinct time: ``time, at_risk, events, censored, survival, se, low, high``.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if t.shape != e.shape or t.shape != w.shape:
        raise ParameterError("durations, events and weights must have the same length")
    if t.size == 0:
        raise DataError("kaplan_meier: no subjects")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise DataError("kaplan_meier: durations must be finite and >= 0")
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=w * e, minlength=times.size)
    c = np.bincount(inv, weights=w * ~e, minlength=times.size)
    leaving = d + c
    at_risk = w.sum() - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / at_risk)
        term = np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0)
        gw = np.cumsum(term)
        se = surv * np.sqrt(gw)
        z = sps.norm.ppf(0.5 + confidence / 2)
        log_s = np.log(surv)
        sigma = np.sqrt(gw) / np.abs(log_s)
        low = surv ** np.exp(z * sigma)
        high = surv ** np.exp(-z * sigma)
    flat = (surv >= 1.0) | (surv <= 0.0) | ~np.isfinite(sigma)
    low = np.where(flat, surv, low)
    high = np.where(flat, surv, high)
    se = np.where(np.isfinite(se), se, 0.0)
    return pd.DataFrame(
        {"time": times, "at_risk": at_risk, "events": d, "censored": c, "survival": surv, "se": se,
         "low": low, "high": high}
    )


def median_survival(km: pd.DataFrame) -> Estimate:
    """Median survival time from a :func:`kaplan_meier` table, with the interval read off its band.

    Median = first time with S(t) <= 0.5; its bounds are the first times where the lower
    and the upper band fall to 0.5 (NaN when never reached). ``n`` is the number of subjects.
    """
    n = int(round(float(km["at_risk"].iloc[0]))) if len(km) else 0

    def first(col: str) -> float:
        hit = km.loc[km[col] <= 0.5, "time"]
        return float(hit.iloc[0]) if len(hit) else float("nan")

    return Estimate(first("survival"), first("low"), first("high"), n, "kaplan-meier")


def survival_at(km: pd.DataFrame, time: float) -> Estimate:
    """S(time) with its interval from a :func:`kaplan_meier` table (step function)."""
    n = int(round(float(km["at_risk"].iloc[0]))) if len(km) else 0
    before = km[km["time"] <= time]
    if before.empty:
        return Estimate(1.0, 1.0, 1.0, n, "kaplan-meier")
    r = before.iloc[-1]
    if time > km["time"].max():
        return Estimate(float("nan"), float("nan"), float("nan"), n, "kaplan-meier")
    return Estimate(float(r["survival"]), float(r["low"]), float(r["high"]), n, "kaplan-meier")


def survival_curves(lapses: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, pd.DataFrame]:
    """Kaplan–Meier tables from :func:`lapse_durations`: ``"all"`` and one per segment.

    Customers without follow-up (``followed`` False) are left out.
    """
    lapses = lapses[lapses["followed"]]
    if lapses.empty:
        raise DataError(
            "no customer has any follow-up before the lapse horizon (as_of − inactivity_days); "
            "use a later as_of or fewer inactivity_days"
        )
    out = {"all": kaplan_meier(lapses["duration_days"], lapses["lapsed"], weights=lapses["customers"],
                               confidence=confidence)}
    if "segment" in lapses.columns:
        sizes = lapses.groupby("segment")["customers"].sum().sort_values(ascending=False)
        for seg in sizes.index:
            g = lapses[lapses["segment"] == seg]
            out[str(seg)] = kaplan_meier(g["duration_days"], g["lapsed"], weights=g["customers"],
                                         confidence=confidence)
    return out


def survival_summary(lapses: pd.DataFrame, curves: dict[str, pd.DataFrame], *, at_days: int = 365) -> pd.DataFrame:
    """Per curve: customers, lapsed share (Wilson), median lifetime in days, S(at_days).

    ``customers`` and the lapsed share count every customer; the median and S(at_days)
    come from the Kaplan–Meier curve (customers with follow-up).
    """
    rows = []
    for name, km in curves.items():
        g = lapses if name == "all" else lapses[lapses["segment"] == name]
        n = int(g["customers"].sum())
        k = int(g.loc[g["lapsed"], "customers"].sum())
        lo, hi = wilson_interval(k, n)
        med = median_survival(km)
        s = survival_at(km, at_days)
        rows.append({
            "group": name, "customers": n, "lapsed": k, "lapsed_share": k / n if n else np.nan,
            "lapsed_low": lo, "lapsed_high": hi,
            "median_days": med.value, "median_low": med.low, "median_high": med.high,
            f"survival_{at_days}d": s.value, f"survival_{at_days}d_low": s.low, f"survival_{at_days}d_high": s.high,
        })
    return pd.DataFrame(rows)


# --- words ---------------------------------------------------------------------------


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def _p(p: float | None) -> str:
    """``p = 0.123`` or ``p < 0.001``."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def trend_sentence(trend: TrendResult, period: str) -> str:
    """One plain sentence about the cohort trend at the tested offset."""
    unit = period_name(period)
    at = f"{unit} {trend.offset}"
    if trend.direction == "not testable":
        return f"Too few cohorts ({trend.cohorts}) have reached {at} to test whether retention changes across cohorts."
    change = trend.change or 0.0
    points = f"{abs(100 * change):.1f} points"
    if trend.direction == "improving":
        return (f"Recent cohorts retain better: the fitted {at} retention rose by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {_p(trend.p_value)}).")
    if trend.direction == "declining":
        return (f"Recent cohorts retain worse: the fitted {at} retention fell by {points} from the oldest to the "
                f"newest of {trend.cohorts} cohorts (trend test {_p(trend.p_value)}).")
    return (f"There is no clear trend: recent cohorts retain about as well at {at} as older ones across "
            f"{trend.cohorts} cohorts (fitted change {100 * change:+.1f} points, trend test {_p(trend.p_value)}).")


def interpretation(
    summary: dict[str, Any],
    *,
    revenue: RevenueRetention | None = None,
    survival: pd.DataFrame | None = None,
    inactivity_days: int | None = None,
    segments: pd.DataFrame | None = None,
    segment: str | None = None,
) -> str:
    """A short Markdown interpretation generated from the numbers (escaped for HTML).

    ``summary`` is :func:`executive_summary`'s result; ``survival`` is
    :func:`survival_summary`'s table; ``segments`` is :func:`segment_summary`'s.
    """
    period = summary["period"]
    unit = period_name(period)
    lines = []
    avg = summary["average_retention"]
    mode = "active" if summary.get("retention_mode", "n_period") == "n_period" else "active then or later"
    lines.append(
        f"{summary['customers']:,} customers in {summary['cohorts']} {unit}ly cohorts "
        f"({esc(str(summary['first_cohort']))} to {esc(str(summary['last_cohort']))})."
    )
    if avg:
        parts = [f"{_pct(e.value)} {mode} in {unit} {k}" for k, e in sorted(avg.items())]
        parts[1:] = [p.replace(f"{mode} in", "in", 1) for p in parts[1:]]
        lines.append("Average retention (weighted by cohort size, cohorts old enough only): "
                     + ", ".join(parts) + ".")
    ex = summary.get("extremes") or {}
    k = summary["trend"].offset
    if ex:
        b, w = ex["best"], ex["worst"]
        lines.append(
            f"At {unit} {k}, the best cohort was {esc(str(b['cohort']))} ({_pct(b['retention'].value)} of "
            f"{b['customers']:,}, 95% CI {_pct(b['retention'].low)}–{_pct(b['retention'].high)}) and the worst "
            f"{esc(str(w['cohort']))} ({_pct(w['retention'].value)} of {w['customers']:,}, 95% CI "
            f"{_pct(w['retention'].low)}–{_pct(w['retention'].high)})."
        )
    lines.append(trend_sentence(summary["trend"], period))
    if revenue is not None and not revenue.average_nrr.empty:
        nrr = revenue.average_nrr.set_index("offset")["value"]
        shown = [o for o in (1, 3, 6, 12) if o in nrr.index]
        if shown:
            lines.append("Net revenue retention (revenue in a later period over the first period's, returns netted): "
                         + ", ".join(f"{_pct(nrr[o], 0)} at {unit} {o}" for o in shown) + ".")
    if survival is not None and len(survival):
        s = survival.iloc[0]
        med = s["median_days"]
        if np.isfinite(med):
            med_text = f"half of the customers had made their last purchase within {med:,.0f} days of their first"
        else:
            med_text = "fewer than half of the customers have lapsed so far, so the median lifetime is not reached yet"
        lines.append(
            f"{_pct(s['lapsed_share'])} of customers have lapsed (no purchase in the last {inactivity_days} days); "
            f"by the Kaplan–Meier estimate {med_text}."
        )
    if segments is not None and len(segments) > 1 and f"retention_{k}" in segments:
        s = segments.dropna(subset=[f"retention_{k}"])
        if len(s) > 1:
            hi = s.loc[s[f"retention_{k}"].idxmax()]
            lo = s.loc[s[f"retention_{k}"].idxmin()]
            lines.append(
                f"By {esc(str(segment))}: {esc(str(hi['segment']))} retains best at {unit} {k} "
                f"({_pct(hi[f'retention_{k}'])}), {esc(str(lo['segment']))} worst ({_pct(lo[f'retention_{k}'])})."
            )
    return "\n".join(f"- {line}" for line in lines)


def summary_cards(summary: dict[str, Any], *, inactivity_days: int | None = None,
                  survival: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """KPI cards for :func:`engage_kit.nb.kpi_cards` from :func:`executive_summary`."""
    unit = period_name(summary["period"])
    cards: list[dict[str, Any]] = [
        {"label": "Customers", "value": f"{summary['customers']:,}",
         "detail": f"in {summary['cohorts']} {unit}ly cohorts"},
    ]
    for k, e in sorted(summary["average_retention"].items()):
        cards.append({"label": f"Retention, {unit} {k}", "value": _pct(e.value),
                      "detail": f"95% CI {_pct(e.low)}–{_pct(e.high)}"})
    tr = summary["trend"]
    if tr.direction in ("improving", "declining"):
        delta = f"{100 * (tr.change or 0):+.1f} pts"
        good = tr.direction == "improving"
    else:
        delta, good = None, None
    cards.append({"label": f"Trend at {unit} {tr.offset}", "value": tr.direction,
                  "detail": f"{_p(tr.p_value)}, {tr.cohorts} cohorts", "delta": delta, "good": good})
    if survival is not None and len(survival):
        s = survival.iloc[0]
        cards.append({"label": "Lapsed", "value": _pct(s["lapsed_share"]),
                      "detail": f"no purchase in {inactivity_days} days"})
    return cards


def results_dict(
    summary: dict[str, Any],
    *,
    revenue: RevenueRetention | None = None,
    survival: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    segment_test: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The figures for results.json (dotted keys nest; rates as {value, low, high, n})."""
    out: dict[str, Any] = {
        "period": summary["period"],
        "cohort_by": summary["cohort_by"],
        "retention_mode": summary["retention_mode"],
        "cohorts": summary["cohorts"],
        "cohorts_charted": summary["cohorts_charted"],
        "customers": summary["customers"],
        "first_cohort": summary["first_cohort"],
        "last_cohort": summary["last_cohort"],
        "average_retention": {str(k): e for k, e in summary["average_retention"].items()},
        "trend": summary["trend"].to_dict(),
    }
    for name, ex in (summary.get("extremes") or {}).items():
        out[f"{name}_cohort"] = {"cohort": ex["cohort"], "retention": ex["retention"]}
    if revenue is not None and not revenue.average_nrr.empty:
        out["net_revenue_retention"] = {
            str(int(r.offset)): float(r.value) for r in revenue.average_nrr.itertuples() if r.offset in SUMMARY_OFFSETS
        }
    if survival is not None and len(survival):
        s = survival.iloc[0]
        out["survival"] = {
            "lapsed_share": Estimate(float(s["lapsed_share"]), float(s["lapsed_low"]), float(s["lapsed_high"]),
                                     int(s["customers"]), "wilson"),
            "median_days": Estimate(float(s["median_days"]), float(s["median_low"]), float(s["median_high"]),
                                    int(s["customers"]), "kaplan-meier"),
        }
    if segments is not None and len(segments):
        out["segments"] = {
            str(r["segment"]): {
                "customers": int(r["customers"]),
                "average_retention": {
                    c.split("_")[1]: r[c] for c in segments.columns
                    if c.startswith("retention_") and c.count("_") == 1 and pd.notna(r[c])
                },
                "trend": {"direction": r["trend"], "p_value": r["trend_p_value"]},
            }
            for _, r in segments.iterrows()
        }
    if segment_test is not None:
        out["segment_test"] = segment_test
    return out


def describe_heatmap(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """One plain sentence with the numbers behind :func:`plot_heatmap`."""
    m = matrix.overall()
    unit = period_name(m.period)
    keep = m.eligible(min_cohort_size)
    left_out = m.n_cohorts - len(keep)
    pending = int((m.started & ~m.complete).loc[keep].to_numpy().sum())
    what = {"customers": "the share of the cohort active", "revenue": "net revenue as a share of the cohort's first-"
            f"{unit} revenue", "orders": "orders per cohort customer"}[m.metric]
    text = (f"Each row is one of {len(keep)} {unit}ly cohorts (sizes on the right), each cell {what} "
            f"{'in' if m.retention_mode == 'n_period' else 'in or after'} that {unit}")
    if left_out:
        text += f"; {left_out} cohort{'s' if left_out > 1 else ''} under {min_cohort_size} customers left out"
    if pending:
        text += (f". {pending} hatched cell{'s are' if pending != 1 else ' is'} in the {unit} not complete on "
                 f"{m.as_of.date()}: left blank, not counted as zero.")
    else:
        text += f". Every {unit} up to {m.as_of.date()} is complete, so no cell is left blank."
    return text


def describe_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1) -> str:
    """One plain sentence with the numbers behind :func:`plot_curves`."""
    m = matrix.overall()
    unit = period_name(m.period)
    avg = average_curve(m, min_cohort_size=min_cohort_size).set_index("offset")
    shown = [k for k in SUMMARY_OFFSETS if k in avg.index]
    if not shown:
        return f"No cohort has completed {unit} 1 yet, so there is no retention curve to show."
    parts = [f"{_pct(avg.loc[k, 'value'])} at {unit} {k} (95% CI {_pct(avg.loc[k, 'low'])}–"
             f"{_pct(avg.loc[k, 'high'])}, {int(avg.loc[k, 'cohorts'])} cohorts)" for k in shown]
    return ("The size-weighted average curve (black) keeps " + "; ".join(parts)
            + f". Later {unit}s rest on the older cohorts only; shaded bands are Wilson 95% intervals.")


def describe_revenue(rev: RevenueRetention, *, part: str = "nrr", currency: str = "") -> str:
    """A plain sentence with the numbers behind one revenue chart.

    ``part``: ``layers`` (:func:`plot_revenue_layers`), ``nrr`` (:func:`plot_nrr`) or
    ``cumulative`` (:func:`plot_cumulative_revenue`).
    """
    part = _choice("part", part, ("layers", "nrr", "cumulative"))
    unit = period_name(rev.period)
    keep = rev.sizes.index[rev.sizes >= rev.min_cohort_size]

    def money(v: float) -> str:
        return f"{v:,.0f} {currency}".strip()

    if part == "layers":
        bp = rev.by_period[rev.by_period["cohort"].isin(set(keep)) & rev.by_period["complete"]]
        if bp.empty:
            return f"No {unit} is complete yet, so there is no revenue to compare."
        last = bp["period_index"].max()
        cur = bp[bp["period_index"] == last]
        total = cur["revenue"].sum()
        new = cur.loc[cur["cohort_index"] == last, "revenue"].sum()
        label = period_label([last], rev.period)[0]
        label = f"the week of {label}" if rev.period == "W" else label
        share = 1 - new / total if total else float("nan")
        return (f"Net revenue (purchases minus returns) per {unit}, stacked by cohort, oldest at the bottom: in "
                f"{label}, the last complete {unit}, {money(total)} came in, {_pct(share, 0)} of it from customers "
                f"acquired in earlier {unit}s.")
    if part == "nrr":
        nrr = rev.average_nrr.set_index("offset")["value"] if len(rev.average_nrr) else pd.Series(dtype=float)
        shown = [k for k in SUMMARY_OFFSETS if k in nrr.index]
        over = rev.nrr.loc[keep].iloc[:, 1:] if rev.nrr.shape[1] > 1 else pd.DataFrame()
        n_over = int((over > 1).to_numpy().sum()) if len(over) else 0
        text = ""
        if shown:
            text = (f"Across cohorts, net revenue in a later {unit} is " + ", ".join(
                f"{_pct(nrr[k], 0)} at {unit} {k}" for k in shown) + f" of the first {unit}'s; ")
        if n_over == 0:
            return text + f"no cohort has yet spent more in a later {unit} than in its first."
        return text + (f"{n_over} cell{'s' if n_over != 1 else ' of the heatmap'} exceed{'' if n_over != 1 else 's'} "
                       f"100% (a cohort spending more than in its first {unit}).")
    cum = rev.cumulative_per_customer.loc[keep]
    k = _cumulative_offset(cum)
    if k is None:
        return "No cohort has a complete first period yet."
    col = cum[k].dropna()
    return (f"By {unit} {k}, cohorts have brought in {col.mean():,.2f} {currency} per customer on average "
            f"(from {col.min():,.2f} to {col.max():,.2f} across {len(col)} cohorts), returns netted.").replace("  ", " ")


def _cumulative_offset(cum: pd.DataFrame) -> int | None:
    """The offset the cumulative-revenue title and sentence speak of: the highest of 0, 1, 3, 6, 12
    reached by at least two cohorts (one when only one cohort has it); None when no cohort has any."""
    done = cum.notna().sum(axis=0)
    for least in (2, 1):
        ks = [k for k in cum.columns if done[k] >= least and k in (0, *SUMMARY_OFFSETS)]
        if ks:
            return max(ks)
    return None


def describe_survival(survival: pd.DataFrame, *, inactivity_days: int, censor_at: str = "lapse_horizon") -> str:
    """Plain sentences with the numbers behind :func:`plot_survival`."""
    s = survival.iloc[0]
    med = s["median_days"]
    text = (f"{_pct(s['lapsed_share'])} of {int(s['customers']):,} customers have lapsed (no purchase in the "
            f"{inactivity_days} days before as_of; 95% CI {_pct(s['lapsed_low'])}–{_pct(s['lapsed_high'])}). ")
    if np.isfinite(med):
        text += (f"By the Kaplan–Meier estimate, half make their last purchase within {med:,.0f} days of their "
                 f"first (95% CI {s['median_low']:,.0f}–{s['median_high']:,.0f} days)")
    else:
        text += "Fewer than half are estimated to lapse within the observed time, so the median is not reached"
    col = [c for c in survival.columns if c.startswith("survival_") and c.endswith("d")]
    if col and np.isfinite(s[col[0]]):
        days = col[0][len("survival_"):-1]
        text += f"; {_pct(s[col[0]])} are still buying {days} days after their first purchase"
    text += "."
    if censor_at == "lapse_horizon":
        text += (f" Customers who have not lapsed count as still buying up to {inactivity_days} days before the "
                 "analysis date, the last day a lapse can already be seen (in survival terms they are censored "
                 "there); bands are log-log Greenwood 95% intervals.")
    else:
        text += (" Customers who have not lapsed count as still buying up to the analysis date (censored there), "
                 "which overstates survival at long durations; bands are log-log Greenwood 95% intervals.")
    if len(survival) > 1:
        seg = survival.iloc[1:]
        best = seg.loc[seg["lapsed_share"].idxmin()]
        worst = seg.loc[seg["lapsed_share"].idxmax()]
        text += (f" By group, {esc(str(best['group']))} lapses least ({_pct(best['lapsed_share'])}) and "
                 f"{esc(str(worst['group']))} most ({_pct(worst['lapsed_share'])}).")
    return text


def describe_segments(segments: pd.DataFrame, test: dict[str, Any], *, segment: str, period: str) -> str:
    """Plain sentences about the split by ``segment`` (from :func:`segment_summary` and :func:`segment_difference`)."""
    unit = period_name(period)
    k = test["offset"]
    col = f"retention_{k}"
    s = segments.dropna(subset=[col]) if col in segments else segments.iloc[0:0]
    if len(s) < 2:
        return f"Fewer than two values of {esc(segment)} have cohorts that completed {unit} {k}."
    hi = s.loc[s[col].idxmax()]
    lo = s.loc[s[col].idxmin()]
    text = (f"At {unit} {k}, {esc(str(hi['segment']))} keeps {_pct(hi[col])} of its customers and "
            f"{esc(str(lo['segment']))} {_pct(lo[col])}")
    if test.get("p_value") is not None:
        verdict = "a real difference" if test["p_value"] < 0.05 else "no clear difference"
        text += (f"; across the {test['segments']} values of {esc(segment)} that is {verdict} "
                 f"(chi-square {test['chi2']:.1f}, {test['dof']} df, {_p(test['p_value'])})")
    return text + "."


# --- charts --------------------------------------------------------------------------


def _heatmap(ax, values: pd.DataFrame, pending: pd.DataFrame, *, fmt: str, vmax: float | None, cmap: str,
             annotate: bool) -> Any:
    """Draw ``values`` as a heatmap; ``pending`` cells (started, not complete) are hatched."""
    import matplotlib.patches as mpatches

    data = values.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(data)
    vmax = vmax if vmax is not None else (np.nanmax(data) if np.isfinite(data).any() else 1.0)
    im = ax.imshow(masked, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    pending = pending.to_numpy(dtype=bool)
    for i, j in zip(*np.nonzero(pending), strict=True):
        ax.add_patch(mpatches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#f0f0f0", edgecolor="#999999",
                                        hatch="///", linewidth=0))
    if annotate:
        for i, j in zip(*np.nonzero(np.isfinite(data)), strict=True):
            v = data[i, j]
            dark = v > 0.6 * vmax
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                    color="white" if dark else "#222222")
    ax.set_xticks(range(values.shape[1]))
    ax.set_xticklabels([str(c) for c in values.columns], fontsize=8)
    ax.set_yticks(range(values.shape[0]))
    labels = [" · ".join(map(str, ix)) if isinstance(ix, tuple) else str(ix) for ix in values.index]
    ax.set_yticklabels(labels, fontsize=8)
    ax.grid(False)
    if values.shape[1] > 30:
        for lab in ax.get_xticklabels()[1::2]:
            lab.set_visible(False)
    if values.shape[0] > 40:
        for lab in ax.get_yticklabels()[1::2]:
            lab.set_visible(False)
    return im, pending.any()


def plot_heatmap(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    annotate: bool | None = None,
):
    """Cohort heatmap of ``matrix.values`` with cohort sizes beside the rows.

    Incomplete cells (period not finished at ``as_of``) are hatched grey, never 0; cells
    whose period has not started are blank. Cohorts below ``min_cohort_size`` are left out.
    Returns the Figure.
    """
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    m = matrix
    keep = m.eligible(min_cohort_size)
    values = m.values.loc[keep]
    pending = (m.started & ~m.complete).loc[keep]
    sizes = m.sizes.loc[keep]
    rows, cols = values.shape
    annotate = (cols <= 26 and rows <= 40) if annotate is None else annotate
    height = min(24, max(3.5, 0.32 * rows + 1.8))
    fig = plt.figure(figsize=(min(18, max(9, 0.5 * cols + 3.5)), height))
    gs = fig.add_gridspec(1, 2, width_ratios=[max(cols, 4), 3], wspace=0.04, top=1 - 0.75 / height)
    ax = fig.add_subplot(gs[0])
    axs = fig.add_subplot(gs[1], sharey=ax)
    pct = m.metric in ("customers", "revenue")
    fmt = ".0%" if pct else ".2f"
    finite = values.to_numpy(float)
    vmax = None  # orders, or no finished cell yet: _heatmap scales on the data (1.0 when empty)
    if m.metric == "customers" and np.isfinite(finite).any():
        # offset 0 is 1.0 for first-purchase cohorts: scale colours on the later offsets
        later = finite[:, 1:] if finite.shape[1] > 1 else finite
        vmax = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    elif m.metric == "revenue" and np.isfinite(finite).any():
        later = finite[:, 1:] if finite.shape[1] > 1 else finite
        vmax = float(np.nanquantile(later[np.isfinite(later)], 0.98)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    im, has_pending = _heatmap(ax, values, pending, fmt=fmt, vmax=vmax, cmap="YlGnBu", annotate=annotate)
    unit = period_name(m.period)
    ax.set_xlabel(f"{unit.capitalize()}s since the cohort's {'first purchase' if m.cohort_by == 'first_purchase' else 'sign-up'}")
    ax.set_ylabel("Cohort")
    cbar = fig.colorbar(im, ax=axs, fraction=0.2, pad=0.25)
    if pct:
        cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.set_label({"customers": "Share of the cohort active", "revenue": "Net revenue retention",
                    "orders": "Orders per cohort customer"}[m.metric])
    axs.barh(range(rows), sizes.to_numpy(), color="#9ecae1", height=0.8)
    for i, s in enumerate(sizes.to_numpy()):
        axs.text(s, i, f" {s:,}", va="center", fontsize=7)
    axs.set_xlabel("Cohort size")
    axs.tick_params(axis="y", left=False, labelleft=False)
    axs.set_xlim(0, sizes.max() * 1.45 if len(sizes) else 1)
    axs.grid(False)
    axs.spines[["top", "right"]].set_visible(False)
    axs.xaxis.set_major_locator(mticker.MaxNLocator(2))
    if has_pending:
        ax.set_title(f"Hatched: {unit} not complete on {m.as_of.date()} (left blank, not zero)",
                     fontsize=9, fontweight="normal", color="#555555", loc="left")
    if title is None:
        title = _heatmap_title(m, values)
    fig.suptitle(title, x=0.01, y=1 - 0.1 / height, ha="left", va="top", fontsize=13, fontweight="bold")
    return fig


def _heatmap_title(m: CohortMatrix, values: pd.DataFrame) -> str:
    unit = period_name(m.period)
    if values.shape[1] < 2 or values[1].notna().sum() == 0:
        return f"{values.shape[0]} {unit}ly cohorts: none has completed {unit} 1 yet"
    col = values[1].dropna()
    what = {"customers": "retention", "revenue": "net revenue retention", "orders": "orders per customer"}[m.metric]
    f = (lambda v: f"{100 * v:.0f}%") if m.metric != "orders" else (lambda v: f"{v:.2f}")
    return (f"{unit.capitalize()}-1 {what} ranges from {f(col.min())} ({col.idxmin() if not isinstance(col.idxmin(), tuple) else ' · '.join(col.idxmin())}) "
            f"to {f(col.max())} ({col.idxmax() if not isinstance(col.idxmax(), tuple) else ' · '.join(col.idxmax())})")


def plot_curves(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    show_intervals: bool = True,
):
    """Retention curves per cohort (with Wilson 95% bands) and the size-weighted average.

    Cohorts are coloured from old (light) to recent (dark); the average is drawn in black
    with its own band. Offset 0 is left out for first-purchase cohorts (it is 1 by
    definition). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    from .plots import percent_axis

    m = matrix.overall()
    cc = cohort_curves(m, min_cohort_size=min_cohort_size)
    avg = average_curve(m, min_cohort_size=min_cohort_size)
    start = 1 if m.cohort_by == "first_purchase" else 0
    cc = cc[cc["offset"] >= start]
    avg = avg[avg["offset"] >= start]
    fig, ax = plt.subplots(figsize=(10, 5))
    cohorts = cc["cohort"].drop_duplicates().tolist()
    cmap = plt.get_cmap("viridis_r")
    for i, c in enumerate(cohorts):
        g = cc[cc["cohort"] == c]
        color = cmap(0.15 + 0.75 * i / max(len(cohorts) - 1, 1))
        ax.plot(g["offset"], g["retention"], color=color, lw=1, alpha=0.8, marker="o" if len(g) == 1 else None, ms=3)
        if show_intervals:
            ax.fill_between(g["offset"], g["low"], g["high"], color=color, alpha=0.08, lw=0)
    if len(avg):
        ax.fill_between(avg["offset"], avg["low"], avg["high"], color="black", alpha=0.15, lw=0)
        ax.plot(avg["offset"], avg["value"], color="black", lw=2.5, label="Size-weighted average (95% CI)")
    if len(cohorts) >= 2:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=cmap(0.15), lw=1.5, label=f"Oldest cohort ({cohorts[0]})"),
                   Line2D([], [], color=cmap(0.9), lw=1.5, label=f"Newest cohort ({cohorts[-1]})")]
        ax.legend(handles=[*ax.get_legend_handles_labels()[0], *handles], loc="upper right")
    elif len(avg):
        ax.legend(loc="upper right")
    unit = period_name(m.period)
    ax.set_xlabel(f"{unit.capitalize()}s since the cohort's {'first purchase' if m.cohort_by == 'first_purchase' else 'sign-up'}")
    mode = "active" if m.retention_mode == "n_period" else "active then or later"
    ax.set_ylabel(f"Share of cohort {mode}")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    if title is None:
        if len(avg):
            a1 = avg.iloc[0]
            later = avg[avg["offset"].isin(SUMMARY_OFFSETS) & (avg["offset"] > a1["offset"])]
            title = (f"On average {100 * a1['value']:.0f}% of a cohort is {mode} in {unit} {int(a1['offset'])}"
                     + (f", {100 * later.iloc[-1]['value']:.0f}% in {unit} {int(later.iloc[-1]['offset'])}"
                        if len(later) else ""))
        else:
            title = "No cohort has a complete retention curve yet"
    ax.set_title(title)
    return fig


def plot_segment_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1, title: str | None = None):
    """Size-weighted average retention curve per segment with Wilson 95% bands."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    if not matrix.segment:
        raise ParameterError("plot_segment_curves needs a matrix split by a segment")
    avg = average_curve(matrix, min_cohort_size=min_cohort_size)
    start = 1 if matrix.cohort_by == "first_purchase" else 0
    avg = avg[avg["offset"] >= start]
    fig, ax = plt.subplots(figsize=(10, 5))
    order = matrix.cohorts.groupby("segment")["customers"].sum().sort_values(ascending=False).index
    for seg in order:
        g = avg[avg["segment"] == seg]
        if g.empty:
            continue
        col = color_for(seg)
        ax.fill_between(g["offset"], g["low"], g["high"], color=col, alpha=0.15, lw=0)
        ax.plot(g["offset"], g["value"], color=col, lw=2, label=str(seg))
    unit = period_name(matrix.period)
    ax.set_xlabel(f"{unit.capitalize()}s since the cohort's start")
    ax.set_ylabel("Share of cohort active")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    ax.legend(title=matrix.segment, loc="upper right")
    if title is None:
        at = avg[avg["offset"] == 1]
        if len(at) > 1:
            hi, lo = at.loc[at["value"].idxmax()], at.loc[at["value"].idxmin()]
            title = (f"{hi['segment']} keeps {100 * hi['value']:.0f}% at {unit} 1, "
                     f"{lo['segment']} {100 * lo['value']:.0f}%")
        else:
            title = f"Retention by {matrix.segment}"
    ax.set_title(title)
    return fig


def plot_revenue_layers(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1, title: str | None = None):
    """Net revenue per calendar period stacked by cohort (the "layer cake")."""
    import matplotlib.pyplot as plt

    from .plots import money_axis

    keep = set(rev.sizes.index[rev.sizes >= min_cohort_size])
    bp = rev.by_period[rev.by_period["cohort"].isin(keep)]
    wide = bp.pivot_table(index="period_start", columns="cohort_index", values="revenue", aggfunc="sum").fillna(0.0)
    fig, ax = plt.subplots(figsize=(10, 5))
    if wide.empty:
        ax.set_title(title or "No revenue to show")
        return fig
    cmap = plt.get_cmap("viridis_r")
    n = wide.shape[1]
    colors = [cmap(0.15 + 0.75 * i / max(n - 1, 1)) for i in range(n)]
    x = np.arange(len(wide))
    pos = wide.clip(lower=0).to_numpy()
    ax.stackplot(x, pos.T, colors=colors, alpha=0.9, lw=0)
    incomplete = bp.groupby("period_start")["complete"].all().reindex(wide.index).fillna(True).to_numpy()
    if (~incomplete).any():
        i0 = int(np.flatnonzero(~incomplete)[0])
        ax.axvspan(i0 - 0.5, len(wide) - 0.5, color="#dddddd", alpha=0.6, lw=0)
        ax.text(i0, ax.get_ylim()[1] * 0.97, " incomplete", fontsize=8, va="top", color="#555555")
    labels = period_label([period_index_of(d, rev.period) for d in wide.index], rev.period)
    step = max(1, len(labels) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(wide) - 0.5)
    money_axis(ax, currency)
    ax.set_ylabel("Net revenue")
    total = wide.sum(axis=1)
    complete_total = total[incomplete] if incomplete.any() else total
    if title is None and len(complete_total):
        last = complete_total.index[-1]
        share_old = 1 - wide.loc[last, wide.columns.max()] / total.loc[last] if total.loc[last] else np.nan
        lab = period_label([period_index_of(last, rev.period)], rev.period)[0]
        title = (f"In {lab}, {100 * share_old:.0f}% of net revenue came from earlier cohorts"
                 if np.isfinite(share_old) else "Net revenue by cohort")
    ax.set_title(title or "Net revenue by cohort")
    return fig


def plot_nrr(rev: RevenueRetention, *, min_cohort_size: int = 1, title: str | None = None):
    """Heatmap of net revenue retention by cohort (R(c, k) / R(c, 0); can exceed 100%)."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    nrr = rev.nrr.loc[keep]
    pending = rev.pending.loc[keep]
    rows, cols = nrr.shape
    fig, ax = plt.subplots(figsize=(min(18, max(9, 0.5 * cols + 2)), min(24, max(3.5, 0.32 * rows + 1.8))))
    finite = nrr.to_numpy(float)
    later = finite[:, 1:] if cols > 1 else finite
    vmax = float(np.nanquantile(later[np.isfinite(later)], 0.98)) if np.isfinite(later).any() else 1.0
    im, _ = _heatmap(ax, nrr, pending, fmt=".0%", vmax=max(vmax, 0.05), cmap="YlGnBu",
                     annotate=cols <= 26 and rows <= 40)
    cbar = fig.colorbar(im, ax=ax, fraction=0.04)
    cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.set_label("Net revenue vs the cohort's first period")
    unit = period_name(rev.period)
    ax.set_xlabel(f"{unit.capitalize()}s since the cohort's start")
    ax.set_ylabel("Cohort")
    if title is None:
        avg = rev.average_nrr.set_index("offset")["value"] if len(rev.average_nrr) else pd.Series(dtype=float)
        if 1 in avg.index:
            title = f"Cohorts bring in {100 * avg[1]:.0f}% of their first-{unit} net revenue in {unit} 1"
        else:
            title = "Net revenue retention by cohort"
    ax.set_title(title)
    return fig


def plot_cumulative_revenue(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1,
                            title: str | None = None):
    """Cumulative net revenue per cohort customer by offset, one line per cohort."""
    import matplotlib.pyplot as plt

    from .plots import money_axis

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    cum = rev.cumulative_per_customer.loc[keep]
    fig, ax = plt.subplots(figsize=(10, 5))
    cmap = plt.get_cmap("viridis_r")
    n = len(cum)
    for i, (c, row) in enumerate(cum.iterrows()):
        r = row.dropna()
        ax.plot(r.index, r.to_numpy(), color=cmap(0.15 + 0.75 * i / max(n - 1, 1)), lw=1.2,
                marker="o" if len(r) == 1 else None, ms=3, label=str(c) if i in (0, n - 1) else None)
    unit = period_name(rev.period)
    ax.set_xlabel(f"{unit.capitalize()}s since the cohort's start")
    ax.set_ylabel("Cumulative net revenue per customer")
    money_axis(ax, currency)
    if n >= 1:
        ax.legend(title="cohort (light: oldest, dark: newest)", loc="lower right")
    if title is None:
        k = _cumulative_offset(cum)
        if k is not None and cum[k].notna().sum() >= 2:
            col = cum[k].dropna()
            title = (f"By {unit} {k}, a customer has brought in {col.min():,.0f}–{col.max():,.0f} {currency} "
                     f"depending on the cohort ({len(col)} cohorts)").replace("  ", " ")
        else:
            title = "Cumulative net revenue per customer by cohort"
    ax.set_title(title)
    return fig


def plot_survival(curves: dict[str, pd.DataFrame], *, inactivity_days: int | None = None, title: str | None = None,
                  max_days: float | None = None):
    """Kaplan–Meier curves (log-log Greenwood 95% bands) of the time to lapse, in days."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    fig, ax = plt.subplots(figsize=(10, 5))
    for name, km in curves.items():
        col = "black" if name == "all" else color_for(name)
        t = np.concatenate([[0.0], km["time"].to_numpy()])
        s = np.concatenate([[1.0], km["survival"].to_numpy()])
        lo = np.concatenate([[1.0], km["low"].to_numpy()])
        hi = np.concatenate([[1.0], km["high"].to_numpy()])
        ax.step(t, s, where="post", color=col, lw=2.2 if name == "all" else 1.5,
                label="All customers" if name == "all" else str(name))
        ax.fill_between(t, lo, hi, step="post", color=col, alpha=0.12, lw=0)
    ax.axhline(0.5, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("Days from the first purchase")
    ax.set_ylabel("Share not yet lapsed")
    ax.set_ylim(0, 1.02)
    if max_days:
        ax.set_xlim(0, max_days)
    percent_axis(ax)
    ax.legend(loc="upper right")
    if title is None:
        km = curves["all"]
        med = median_survival(km)
        s365 = survival_at(km, 365)
        if np.isfinite(med.value):
            title = f"Half of customers make their last purchase within {med.value:,.0f} days of their first"
        elif np.isfinite(s365.value):
            title = f"{100 * s365.value:.0f}% of customers are still buying a year after their first purchase"
        else:
            title = ("Time until customers lapse" if inactivity_days is None
                     else f"Time until customers lapse ({inactivity_days} days without a purchase)")
    ax.set_title(title)
    return fig
