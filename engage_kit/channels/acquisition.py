"""Value by acquisition channel: retention, historic revenue per customer, cost and return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..stats import wilson_interval
from . import story
from .costs import parse_costs, spend_for
from .counts import as_table, need_columns


def acquisition_value(
    transactions: Any,
    customers: Any,
    *,
    as_of: Any,
    by: str = "acquisition_channel",
    active_days: int = 90,
    costs: Mapping[Any, float] | None = None,
) -> pd.DataFrame:
    """Retention and historic value of customers by acquisition channel.

    Per customer (in the engine): net revenue to date (purchases minus returns), purchase
    days, last purchase. Per channel: customers, buyers, repeat rate (buyers with two or
    more purchase days / buyers, Wilson), active rate (customers with a purchase in the
    ``active_days`` up to ``as_of`` / customers, Wilson), net revenue per customer with a t
    interval (historic CLV to date), net revenue per customer-year of tenure (tenure from
    signup, or first purchase, to ``as_of``). With ``costs`` (spend per channel): cost per
    acquisition = spend / customers and return on spend = net revenue / spend.
    """
    tx = as_table(transactions, "transactions")
    c = as_table(customers, "customers")
    need_columns(tx, "transactions", ["customer_id", "timestamp", "amount"])
    need_columns(c, "customers", ["customer_id", by])
    costs = parse_costs(costs)
    as_of_ts = pd.Timestamp(as_of).normalize()
    end = (as_of_ts + pd.Timedelta(days=1)).to_pydatetime()
    active_from = (as_of_ts + pd.Timedelta(days=1) - pd.Timedelta(days=int(active_days))).to_pydatetime()
    tx = tx.filter(tx.timestamp < end)
    buy = tx.amount >= 0
    per = tx.group_by(tx.customer_id.cast("string").name("_cid")).aggregate(
        net=tx.amount.sum(),
        days=tx.timestamp.date().nunique(where=buy),
        last=tx.timestamp.max(where=buy),
        first=tx.timestamp.min(where=buy),
    )
    cust = c.select(customer_id=c.customer_id.cast("string"), group=c[by],
                    signup_at=c.signup_at if "signup_at" in c.columns else ibis.null("timestamp"))
    cust = cust.filter(cust.group.notnull())
    j = cust.left_join(per, cust.customer_id == per._cid)
    since = ibis.coalesce(j.signup_at, j.first)
    j = j.mutate(
        net=j.net.fill_null(0.0),
        buyer=j.days.fill_null(0) > 0,
        repeat=j.days.fill_null(0) >= 2,
        active=j.last.notnull() & (j.last >= active_from),
        tenure_years=(ibis.literal(pd.Timestamp(end)).epoch_seconds() - since.epoch_seconds()) / (365.25 * 86400),
    )
    g = j.group_by("group").aggregate(
        customers=j.count(),
        buyers=j.buyer.cast("int64").sum(),
        repeat_buyers=j.repeat.cast("int64").sum(),
        active=j.active.cast("int64").sum(),
        revenue=j.net.sum(),
        revenue_sq=(j.net * j.net).sum(),
        tenure_years=j.tenure_years.sum(),
    ).execute()
    g = g.sort_values("group", kind="stable").reset_index(drop=True)
    n = g["customers"].to_numpy(float)
    rl, rh = wilson_interval(g["repeat_buyers"].to_numpy(), g["buyers"].to_numpy())
    al, ah = wilson_interval(g["active"].to_numpy(), n)
    mean = g["revenue"].to_numpy(float) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (g["revenue_sq"].to_numpy(float) - n * mean**2) / (n - 1)
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * np.sqrt(np.maximum(var, 0) / n)
        out = pd.DataFrame(
            {
                "group": g["group"],
                "customers": g["customers"].astype("int64"),
                "buyers": g["buyers"].astype("int64"),
                "repeat_rate": g["repeat_buyers"] / g["buyers"].replace(0, np.nan),
                "repeat_low": rl,
                "repeat_high": rh,
                "active_rate": g["active"] / n,
                "active_low": al,
                "active_high": ah,
                "revenue": g["revenue"].astype(float),
                "revenue_per_customer": mean,
                "rpc_low": mean - half,
                "rpc_high": mean + half,
                "revenue_per_customer_year": g["revenue"].to_numpy(float) / g["tenure_years"].to_numpy(float),
            }
        )
    if costs:
        spend = spend_for(out["group"], costs)
        out["spend"] = spend
        out["cost_per_acquisition"] = spend / out["customers"]
        out["return_on_spend"] = out["revenue"] / spend
    return out


def acquisition_or_reason(
    transactions: Any, customers: Any, *, by: str = "acquisition_channel", **kwargs: Any
) -> tuple[pd.DataFrame | None, str | None]:
    """:func:`acquisition_value`, or ``(None, reason)`` when no customer has an acquisition channel."""
    if customers is None:
        return None, story.acquisition_reason("no table", by)
    c = as_table(customers, "customers")
    if by not in c.columns:
        return None, story.acquisition_reason("no column", by)
    if int(c.filter(c[by].notnull()).count().execute()) == 0:
        return None, story.acquisition_reason("empty column", by)
    value = acquisition_value(transactions, customers, by=by, **kwargs)
    if value.empty:
        return None, story.acquisition_reason("no value", by)
    return value, None
