"""Leads: how many become customers, how fast, by source; form fills per period.

A lead converts when its ``customer_id`` is set and that customer's first purchase falls
on or after the lead's creation day, up to ``as_of``. A lead whose customer had bought
before it was created was already a customer: it is counted apart and left out of the
rates. Conversion rates get Wilson (1927) 95% intervals; the sources are compared with a
chi-square test of independence over the r × 2 table (converted, not converted). Days to
convert: the median over converted leads of (first purchase day − creation day). Leads
created recently have had less time to convert, so the rate is a floor for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps

from ..engine import strip
from ..stats import Estimate, proportion
from .people import FORM_EVENT, day_number, purchase_days
from .timing import median_of_counts

NO_SOURCE = "(no source)"
PERIOD_UNITS = {"W": "week", "M": "month", "Q": "quarter"}


@dataclass
class LeadFigures:
    """Lead conversion overall and by source."""

    rate: Estimate
    already_customers: int
    median_days: float
    by_source: pd.DataFrame  # source, leads, converted, rate, low, high, median_days
    test_p: float  # chi-square across sources (NaN with fewer than two sources)


def lead_conversion(ds: Any) -> LeadFigures:
    """Lead-to-customer conversion, counted in the engine per (source, converted, days)."""
    end = (ds.as_of + pd.Timedelta(days=1)).to_pydatetime()
    lt = ds.table("leads")
    lt = lt.filter(lt.lead_id.notnull(), lt.created_at.notnull(), lt.created_at < end)
    buys = purchase_days(ds, end)
    j = lt.left_join(buys, lt.customer_id.cast("string") == buys.customer_id)
    created = day_number(j.created_at)
    bought = j.first_day.notnull()
    before = bought & (j.first_day < created)
    j = j.mutate(source=ibis.coalesce(j.source.cast("string"), ibis.literal(NO_SOURCE)),
                 status=ibis.cases((before, "already"), (bought, "converted"), else_="open"),
                 days=ibis.ifelse(bought & ~before, j.first_day - created, ibis.null("int64")))
    df = j.group_by(["source", "status", "days"]).aggregate(leads=j.count()).execute()
    df["leads"] = df["leads"].astype("int64")
    already = int(df.loc[df["status"] == "already", "leads"].sum())
    df = df[df["status"] != "already"]
    rows = []
    for src, part in df.groupby("source", sort=True):
        n = int(part["leads"].sum())
        conv = part[part["status"] == "converted"]
        k = int(conv["leads"].sum())
        e = proportion(k, n)
        rows.append({"source": str(src), "leads": n, "converted": k, "rate": e.value, "low": e.low, "high": e.high,
                     "median_days": median_of_counts(conv["days"].astype(float), conv["leads"]) if k else np.nan})
    by = pd.DataFrame(rows, columns=["source", "leads", "converted", "rate", "low", "high", "median_days"])
    by = by.sort_values(["rate", "source"], ascending=[False, True]).reset_index(drop=True)
    n, k = int(by["leads"].sum()), int(by["converted"].sum())
    conv_all = df[df["status"] == "converted"]
    p = float("nan")
    table = np.column_stack([by["converted"], by["leads"] - by["converted"]]) if len(by) else np.zeros((0, 2))
    if len(by) >= 2 and (table.sum(axis=0) > 0).all():
        p = float(sps.chi2_contingency(table, correction=False)[1])
    return LeadFigures(rate=proportion(k, n), already_customers=already,
                       median_days=median_of_counts(conv_all["days"].astype(float), conv_all["leads"]) if k else np.nan,
                       by_source=by, test_p=p)


def _period_label(start: pd.Series, period: str) -> pd.Series:
    s = pd.to_datetime(start)
    if period == "M":
        return s.dt.strftime("%Y-%m")
    if period == "Q":
        return s.dt.year.astype(str) + "Q" + s.dt.quarter.astype(str)
    return s.dt.strftime("%Y-%m-%d")


def per_period(ds: Any, period: str = "M") -> pd.DataFrame:
    """Leads created and form fills (touches with ``event: form_submit``) per period:
    ``period, start, leads, form_fills`` (W: weeks from Monday, M months, Q quarters)."""
    unit = {"W": "W", "M": "M", "Q": "Q"}[period]
    end = (ds.as_of + pd.Timedelta(days=1)).to_pydatetime()
    parts = []
    if ds.has("leads"):
        lt = ds.table("leads")
        lt = lt.filter(lt.created_at.notnull(), lt.created_at < end)
        g = lt.group_by(start=lt.created_at.truncate(unit).cast("date")).aggregate(leads=lt.count()).execute()
        parts.append(g.set_index("start"))
    if ds.has("touches"):
        t = ds.table("touches")
        t = t.filter(t.timestamp.notnull(), t.timestamp < end, strip(t.event.lower()) == FORM_EVENT)
        g = t.group_by(start=t.timestamp.truncate(unit).cast("date")).aggregate(form_fills=t.count()).execute()
        parts.append(g.set_index("start"))
    if not parts:
        return pd.DataFrame(columns=["period", "start", "leads", "form_fills"])
    df = pd.concat(parts, axis=1).fillna(0).sort_index()
    for c in ("leads", "form_fills"):
        df[c] = df[c].astype("int64") if c in df.columns else 0
    df = df.reset_index().rename(columns={"index": "start"})
    df["start"] = pd.to_datetime(df["start"])
    df.insert(0, "period", _period_label(df["start"], period))
    return df[["period", "start", "leads", "form_fills"]]
