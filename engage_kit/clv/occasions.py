"""Engine-side summaries for the fixed-occasion and the subscription settings.

Fixed occasions (discrete BG/BB): an occasion is a calendar year, quarter or month; a
customer either buys (gives, attends) in an occasion or not. Per customer, the first
occasion with a purchase is the start; over the ``n`` occasions after it until the end of
calibration, ``frequency`` x counts the occasions with a purchase and ``recency`` t_x is
the last of them (0 when x = 0), as in Fader, Hardie and Shang (2010).

Subscriptions (sBG): a customer's cohort is the period of ``signup_at``; a cancellation
during period cohort + t − 1 is a loss at renewal decision t (t >= 1). Survivors at
decision t are the cohort's customers who had not cancelled during the first t periods.

Only compressed rows leave the engine: distinct (x, t_x, n, holdout purchases) with counts,
occasion totals, and survivors per cohort and period.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from ..errors import DataError, ParameterError
from ..values import as_date
from .prep import as_table

OCCASIONS = {"Y": "year", "Q": "quarter", "M": "month"}
PER_YEAR = {"Y": 1, "Q": 4, "M": 12}


def check_occasion(occasion: str) -> str:
    """``Y``, ``Q`` or ``M``; a clear error for anything else."""
    occ = str(occasion).upper()
    if occ not in OCCASIONS:
        raise ParameterError(f"occasion must be 'Y' (year), 'Q' (quarter) or 'M' (month); got {occasion!r}")
    return occ


def occasion_index(ts: ibis.Value, occasion: str) -> ibis.Value:
    """Engine expression: the occasion of ``ts`` as a consecutive integer (year · k + part)."""
    occ = check_occasion(occasion)
    if occ == "Y":
        return ts.year().cast("int64")
    if occ == "Q":
        return (ts.year() * 4 + ts.quarter() - 1).cast("int64")
    return (ts.year() * 12 + ts.month() - 1).cast("int64")


def occasion_of(when: Any, occasion: str) -> int:
    """The occasion index of one date, in Python (see :func:`occasion_index`)."""
    occ = check_occasion(occasion)
    ts = pd.Timestamp(when)
    return {"Y": ts.year, "Q": ts.year * 4 + ts.quarter - 1, "M": ts.year * 12 + ts.month - 1}[occ]


def occasion_start(index: int, occasion: str) -> pd.Timestamp:
    """The first day of occasion ``index``."""
    occ = check_occasion(occasion)
    per = PER_YEAR[occ]
    year, part = divmod(int(index), per)
    return pd.Timestamp(year=year, month=part * (12 // per) + 1, day=1)


def occasion_label(index: int, occasion: str) -> str:
    """A reader's name for an occasion: 2024, 2024 Q3, 2024-07."""
    occ = check_occasion(occasion)
    start = occasion_start(index, occ)
    if occ == "Y":
        return f"{start.year}"
    if occ == "Q":
        return f"{start.year} Q{start.quarter}"
    return start.strftime("%Y-%m")


def last_complete_occasion(as_of: Any, occasion: str) -> int:
    """The last occasion that ends on or before ``as_of`` (inclusive)."""
    day = as_date(as_of, "as_of")
    idx = occasion_of(day, occasion)
    return idx if (occasion_start(idx + 1, occasion) - pd.Timedelta(days=1)) <= day else idx - 1


def purchase_occasions(purchases: Any, occasion: str, *, last: int) -> ibis.Table:
    """One row per (customer, occasion with a purchase) up to occasion ``last``, with the
    occasion's summed amount (purchases: amount >= 0)."""
    t = as_table(purchases)
    t = t.filter(t.amount >= 0, t.customer_id.notnull(), t.timestamp.notnull())
    t = t.mutate(occ=occasion_index(t.timestamp.cast("timestamp"), occasion))
    t = t.filter(t.occ <= last)
    return t.group_by(["customer_id", "occ"]).aggregate(amount=t.amount.sum())


def occasion_summary(purchases: Any, occasion: str, *, calibration_last: int, last: int) -> ibis.Table:
    """Per customer with a first purchase up to ``calibration_last``: frequency, recency,
    n over the calibration occasions, ``holdout`` (occasions with a purchase in
    (calibration_last, last]), ``first`` occasion and ``amount`` (mean per repeat
    occasion in calibration, 0 without one), computed in the engine."""
    po = purchase_occasions(purchases, occasion, last=last)
    cal = po.occ <= calibration_last
    g = po.group_by("customer_id").aggregate(
        first=po.occ.min(),
        last_cal=ibis.ifelse(cal, po.occ, ibis.null().cast("int64")).max(),
        k_cal=ibis.ifelse(cal, 1, 0).sum(),
        holdout=ibis.ifelse(cal, 0, 1).sum(),
        amount_cal=ibis.ifelse(cal, po.amount, 0.0).sum(),
        first_amount=po.amount.argmin(po.occ),
    )
    g = g.filter(g.first <= calibration_last)
    x = (g.k_cal - 1).cast("int64")
    return g.select(
        customer_id=g.customer_id,
        first=g.first.cast("int64"),
        frequency=x,
        recency=(g.last_cal - g.first).cast("int64"),
        n=(ibis.literal(calibration_last) - g.first).cast("int64"),
        holdout=g.holdout.cast("int64"),
        amount=ibis.ifelse(x > 0, (g.amount_cal - g.first_amount) / x.cast("float64"), 0.0),
    )


def compressed_occasions(summary: ibis.Table) -> pd.DataFrame:
    """Distinct (frequency, recency, n, holdout) rows with ``weight`` (customers) and the
    summed repeat ``amount`` (amount · frequency), pulled from the engine."""
    g = summary.group_by(["frequency", "recency", "n", "holdout"]).aggregate(
        weight=summary.count(), repeat_amount=(summary.amount * summary.frequency.cast("float64")).sum()
    )
    df = g.execute()
    if df.empty:
        return pd.DataFrame(columns=["frequency", "recency", "n", "holdout", "weight", "repeat_amount"])
    df = df.astype({"frequency": "int64", "recency": "int64", "n": "int64", "holdout": "int64", "weight": "int64",
                    "repeat_amount": "float64"})
    return df.sort_values(["n", "frequency", "recency", "holdout"]).reset_index(drop=True)


def occasion_totals(purchases: Any, occasion: str, *, last: int) -> pd.DataFrame:
    """Per occasion: customers with a purchase (``buyers``) and customers whose first purchase
    it was (``new``); repeat buyers are their difference."""
    po = purchase_occasions(purchases, occasion, last=last)
    first = po.group_by("customer_id").aggregate(first=po.occ.min())
    buyers = po.group_by("occ").aggregate(buyers=po.count())
    new = first.group_by("first").aggregate(new=first.count()).rename(occ="first")
    j = buyers.left_join(new, "occ").select("occ", "buyers", "new")
    df = j.execute().fillna({"new": 0}).astype({"occ": "int64", "buyers": "int64", "new": "int64"})
    return df.sort_values("occ").reset_index(drop=True)


def occasion_profile(purchases: Any, occasion: str) -> dict[str, float]:
    """How far purchases look like fixed occasions: occasions spanned, the largest number of
    distinct purchase days in one occasion and the share of customers who ever bought
    twice within one occasion (engine counts)."""
    t = as_table(purchases)
    t = t.filter(t.amount >= 0, t.customer_id.notnull(), t.timestamp.notnull())
    t = t.mutate(occ=occasion_index(t.timestamp.cast("timestamp"), occasion), day=t.timestamp.cast("timestamp").date())
    days = t.group_by(["occ", "day"]).aggregate(rows=t.count())
    per_occ = days.group_by("occ").aggregate(days=days.count())
    stats = per_occ.aggregate(occasions=per_occ.count(), max_days=per_occ.days.max(), first=per_occ.occ.min(),
                              last=per_occ.occ.max()).execute()
    cd = t.group_by(["customer_id", "occ"]).aggregate(days=t.day.nunique())
    cust = cd.group_by("customer_id").aggregate(twice=(cd.days > 1).cast("int64").max())
    twice = cust.aggregate(customers=cust.count(), twice=cust.twice.sum()).execute()
    if stats.empty or not int(stats["occasions"].iloc[0] or 0):
        return {"occasions": 0, "span": 0, "max_days": 0, "share_twice": 0.0}
    n_cust = int(twice["customers"].iloc[0] or 0)
    return {
        "occasions": int(stats["occasions"].iloc[0]),
        "span": int(stats["last"].iloc[0]) - int(stats["first"].iloc[0]) + 1,
        "max_days": int(stats["max_days"].iloc[0]),
        "share_twice": float(twice["twice"].iloc[0] or 0) / n_cust if n_cust else 0.0,
    }


# --- subscriptions -----------------------------------------------------------------------


def survivor_counts(customers: Any, period: str, *, as_of: Any) -> pd.DataFrame:
    """Survivors per cohort and renewal decision from ``signup_at`` and ``cancelled_at``.

    Cohort c = the period of ``signup_at``; a cancellation during period c + t − 1 is a
    loss at decision t; the last observed decision of cohort c is K_c = L − c + 1 with L
    the last complete period up to ``as_of``. Customers without ``signup_at`` or who signed
    up after period L are left out; a cancellation after ``as_of`` counts as none.

    Returns
    -------
    pandas.DataFrame
        cohort (period index), period (0..K_c), survivors; one row per cohort and period.
    """
    t = as_table(customers, name="customers", required=("customer_id", "signup_at", "cancelled_at"))
    last = last_complete_occasion(as_of, period)
    end = as_date(as_of, "as_of") + pd.Timedelta(days=1)
    t = t.filter(t.signup_at.notnull())
    cancelled = t.cancelled_at.notnull() & (t.cancelled_at.cast("timestamp") < end.to_pydatetime())
    t = t.mutate(cohort=occasion_index(t.signup_at.cast("timestamp"), period),
                 lost_at=ibis.ifelse(cancelled, occasion_index(t.cancelled_at.cast("timestamp"), period), ibis.null().cast("int64")))
    t = t.filter(t.cohort <= last)
    t = t.mutate(lost_at=ibis.ifelse(t.lost_at.notnull(), ibis.greatest(t.lost_at, t.cohort) - t.cohort + 1, ibis.null().cast("int64")))
    g = t.group_by(["cohort", "lost_at"]).aggregate(customers=t.count()).execute()
    if g.empty:
        raise DataError("customers: no customer with a signup_at on or before the last complete period; "
                        "the subscription view needs signup_at and cancelled_at")
    rows = []
    for cohort, grp in g.groupby("cohort", sort=True):
        size = int(grp["customers"].sum())
        K = last - int(cohort) + 1
        lost = grp.dropna(subset=["lost_at"])
        by_t = lost.groupby(lost["lost_at"].astype("int64"))["customers"].sum()
        alive = size
        rows.append((int(cohort), 0, alive))
        for k in range(1, K + 1):
            alive -= int(by_t.get(k, 0))
            rows.append((int(cohort), k, alive))
    return pd.DataFrame(rows, columns=["cohort", "period", "survivors"])


def subscriber_tenures(customers: Any, period: str, *, as_of: Any) -> pd.DataFrame:
    """Active subscribers at ``as_of`` by renewals made (K_c of their cohort): renewals, subscribers."""
    s = survivor_counts(customers, period, as_of=as_of)
    last = s.groupby("cohort", sort=True).tail(1)
    out = last.rename(columns={"period": "renewals", "survivors": "subscribers"})[["cohort", "renewals", "subscribers"]]
    return out[out["subscribers"] > 0].reset_index(drop=True)
