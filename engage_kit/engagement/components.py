"""Engagement components per customer at a date, and their percentile ranks, in the engine.

Dates: ``date`` is inclusive, like ``as_of``: a component reads rows with a timestamp in
the trailing window ``[E - window_days, E)``, where ``E = date + 1 day``.

The population at a date is every customer with a purchase (amount >= 0) before ``E``.
Each component is a raw value per customer (a count, an amount, days) and a percentile
rank within the customers who could have it (its *eligible* customers):

    rank = (number of eligible customers with a lower value) / (eligible customers - 1)

the SQL ``PERCENT_RANK`` (ISO/IEC 9075; ties share the lowest rank; 0 for the lowest value
and for a single customer, 1 for the highest). Recency is ranked by descending days since
the last purchase, so the most recent buyer ranks highest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from ..engine import strip
from ..schema import TABLES

DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class Component:
    """One engagement signal: its name, the table it comes from, how it reads in words.

    ``more`` and ``fewer`` are the verb phrases of the drivers' sentences ("open {x}× more
    e-mails"); ``higher_is_better`` is False for recency (days since the last purchase).
    ``everyone`` says whether every customer of the population could have it (else only
    those with a row of the right kind in the window: customers e-mailed, survey answerers).
    """

    name: str
    label: str
    table: str
    more: str
    fewer: str
    higher_is_better: bool = True
    everyone: bool = True


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in [
        Component("recency", "days since the last purchase", "transactions", "bought {x}× more recently",
                  "bought {x}× less recently", higher_is_better=False),
        Component("frequency", "purchases", "transactions", "buy {x}× more often", "buy {x}× less often"),
        Component("spend", "net spend", "transactions", "spend {x}× more", "spend {x}× less"),
        Component("email_opens", "e-mail opens", "touches", "open {x}× more e-mails", "open {x}× fewer e-mails",
                  everyone=False),
        Component("email_clicks", "e-mail clicks", "touches", "click {x}× more e-mails", "click {x}× fewer e-mails",
                  everyone=False),
        Component("web_sessions", "web visits", "web_sessions", "visit the website {x}× more often",
                  "visit the website {x}× less often"),
        Component("pageviews", "pages viewed", "web_sessions", "view {x}× more pages", "view {x}× fewer pages"),
        Component("social", "social likes, shares and comments", "touches", "interact {x}× more on social media",
                  "interact {x}× less on social media"),
        Component("events", "events attended", "touches", "attend {x}× more events", "attend {x}× fewer events"),
        Component("nps", "survey answer (promoter, passive, detractor)", "surveys",
                  "answer surveys {x}× more favourably", "answer surveys {x}× less favourably", everyone=False),
        Component("support", "support contacts", "tickets", "contact support {x}× more often",
                  "contact support {x}× less often"),
        Component("loyalty", "loyalty programme activity", "loyalty", "use the loyalty programme {x}× more",
                  "use the loyalty programme {x}× less"),
        Component("usage", "product usage", "usage", "use the product {x}× more", "use the product {x}× less"),
    ]
}
PURCHASE_COMPONENTS = ("recency", "frequency", "spend")


def rank_column(name: str) -> str:
    """The column holding a component's percentile rank (``rank_<name>``)."""
    return f"rank_{name}"


def day_end(day: Any) -> pd.Timestamp:
    """The first instant after an inclusive date."""
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1)


def engagement_tables(ds: Any) -> dict[str, ibis.Table]:
    """The tables of a dataset the components read: purchases and returns (orders), and
    touches, surveys, tickets, web_sessions, loyalty, usage, customers when present
    (loyalty and usage only when the data contract knows them)."""
    out: dict[str, ibis.Table] = {}
    if ds.has("transactions"):
        o = ds.orders
        out["purchases"] = o.filter(~o.is_return)
        out["returns"] = o.filter(o.is_return)
    for name in ("touches", "surveys", "tickets", "web_sessions", "loyalty", "usage", "customers"):
        if name in ("loyalty", "usage") and name not in TABLES:
            continue
        if ds.has(name):
            out[name] = ds.table(name)
    return out


def candidate_components(tables: dict[str, Any]) -> dict[str, str | None]:
    """Each component: None when its table is there, else why it is left out."""
    have = {("transactions" if k in ("purchases", "returns") else k) for k in tables}
    out: dict[str, str | None] = {}
    for name, c in COMPONENTS.items():
        if c.table in have:
            out[name] = None
        elif c.table in ("loyalty", "usage") and c.table not in TABLES:
            out[name] = f"the data contract has no {c.table} table yet"
        else:
            out[name] = f"no {c.table.replace('_', ' ')} table"
    return out


def _secs(col: ibis.Value) -> ibis.Value:
    return col.epoch_seconds().cast("float64")


EXACT = "decimal(38, 6)"  # sums of amounts and quantities: exact to 6 decimal places


def _exact(col: ibis.Value) -> ibis.Value:
    """A value to sum exactly: a float sum depends on the order the engine adds the rows
    in (DuckDB and Spark differ by 1e-13), enough to move a customer past a tie in the
    ranks; a decimal sum is the same in any order. Cast back with ``.cast("float64")``."""
    return col.cast(EXACT)


def _left(base: ibis.Table, other: ibis.Table, zero: tuple[str, ...] = ()) -> ibis.Table:
    cols = [c for c in other.columns if c != "customer_id"]
    j = base.left_join(other, base.customer_id == other.customer_id)
    out = j.select(base, *[other[c] for c in cols])
    fills = {c: out[c].fill_null(0) for c in zero if c in cols}
    return out.mutate(**fills) if fills else out


def raw_components(
    tables: dict[str, Any], *, date: Any, window_days: int = 180, components: tuple[str, ...] | None = None
) -> ibis.Table:
    """Raw component values per customer at ``date``, as one Ibis expression.

    Columns: ``customer_id``, one column per component (the raw value; null where the
    customer is not eligible) and ``recency_days``. Definitions, over ``[E - window_days, E)``:

    - ``recency`` = days from the last purchase (ever, before E) to E;
    - ``frequency`` = purchase orders; ``spend`` = purchases plus returns (net);
      amounts, pageviews and usage are summed as decimals (exact in any row order, so every
      engine ranks the same values), then given as floats;
    - ``email_opens``, ``email_clicks`` = touches on channel email with event open / click;
      eligible: customers with any e-mail touch in the window;
    - ``web_sessions`` = sessions started; ``pageviews`` = their pageviews;
    - ``social`` = social likes, shares and comments; ``events`` = event attendances;
    - ``nps`` = the latest NPS answer in the window as +1 (9-10, promoter), 0 (7-8),
      -1 (0-6, detractor); eligible: customers who answered;
    - ``support`` = support tickets opened;
    - ``loyalty`` = loyalty rows (earn, redeem...); ``usage`` = the sum of usage quantity
      (rows when quantity is empty).

    Parameters
    ----------
    tables : dict
        From :func:`engagement_tables` (``purchases`` is required).
    date : date
        The inclusive last day of data the components may read.
    window_days : int
        The trailing window (days).
    components : tuple of str, optional
        The components to build (default: every one whose table is present).
    """
    end = day_end(date)
    end_dt = end.to_pydatetime()
    start_dt = (end - pd.Timedelta(days=int(window_days))).to_pydatetime()
    E = float(end.timestamp())
    wanted = set(components) if components is not None else {n for n, r in candidate_components(tables).items() if r is None}

    p = tables["purchases"]
    p = p.filter(p.timestamp < end_dt, p.customer_id.notnull())
    inw = p.timestamp >= start_dt
    base = p.group_by("customer_id").aggregate(
        _last=_secs(p.timestamp).max(),
        frequency=inw.cast("int64").sum(),
        spend=_exact(p.amount).sum(where=inw),
    )
    base = base.mutate(recency=(ibis.literal(E) - base._last) / DAY_SECONDS,
                       spend=base.spend.fill_null(ibis.literal(0, EXACT))).drop("_last")
    if "returns" in tables:
        r = tables["returns"]
        r = r.filter(r.timestamp < end_dt, r.timestamp >= start_dt, r.customer_id.notnull())
        ra = r.group_by("customer_id").aggregate(_returned=_exact(r.amount).sum())
        base = _left(base, ra)
        base = base.mutate(spend=base.spend + base._returned.fill_null(ibis.literal(0, EXACT))).drop("_returned")
    base = base.mutate(spend=base.spend.cast("float64"))

    def window_rows(name: str, time_col: str) -> ibis.Table:
        t = tables[name]
        return t.filter(t[time_col] < end_dt, t[time_col] >= start_dt, t.customer_id.notnull())

    if "touches" in tables and wanted & {"email_opens", "email_clicks", "social", "events"}:
        t = window_rows("touches", "timestamp")
        ev, ch = strip(t.event.lower()), strip(t.channel.lower())
        is_email = ch == "email"
        ta = t.group_by("customer_id").aggregate(
            _emailed=is_email.cast("int64").sum(),
            email_opens=(is_email & (ev == "open")).cast("int64").sum(),
            email_clicks=(is_email & (ev == "click")).cast("int64").sum(),
            social=((ch == "social") & ev.isin(["like", "share", "comment"])).cast("int64").sum(),
            events=(ev == "attendance").cast("int64").sum(),
        )
        base = _left(base, ta, zero=("_emailed", "email_opens", "email_clicks", "social", "events"))
        emailed = base._emailed > 0
        base = base.mutate(
            email_opens=ibis.ifelse(emailed, base.email_opens, ibis.null("int64")),
            email_clicks=ibis.ifelse(emailed, base.email_clicks, ibis.null("int64")),
        ).drop("_emailed")
    if "web_sessions" in tables and wanted & {"web_sessions", "pageviews"}:
        s = window_rows("web_sessions", "started_at")
        sa = s.group_by("customer_id").aggregate(web_sessions=s.count(), pageviews=_exact(s.pageviews).sum().cast("float64"))
        base = _left(base, sa, zero=("web_sessions", "pageviews"))
    if "surveys" in tables and "nps" in wanted:
        v = window_rows("surveys", "timestamp")
        v = v.filter(strip(v.kind.lower()) == "nps", v.score.notnull())
        sc = v.score.cast("float64")
        va = v.group_by("customer_id").aggregate(
            nps=ibis.cases((sc >= 9, 1.0), (sc >= 7, 0.0), else_=-1.0).argmax(v.timestamp)
        )
        base = _left(base, va)
    if "tickets" in tables and "support" in wanted:
        k = window_rows("tickets", "opened_at")
        base = _left(base, k.group_by("customer_id").aggregate(support=k.count()), zero=("support",))
    if "loyalty" in tables and "loyalty" in wanted:
        lo = window_rows("loyalty", "timestamp")
        base = _left(base, lo.group_by("customer_id").aggregate(loyalty=lo.count()), zero=("loyalty",))
    if "usage" in tables and "usage" in wanted:
        u = window_rows("usage", "timestamp")
        qty = _exact(u.quantity).fill_null(ibis.literal(1, EXACT)) if "quantity" in u.columns else ibis.literal(1, EXACT)
        base = _left(base, u.group_by("customer_id").aggregate(usage=qty.sum().cast("float64")), zero=("usage",))
    keep = [n for n in COMPONENTS if n in base.columns and n in wanted]
    return base.select("customer_id", *keep)


def ranked(raw: ibis.Table, components: tuple[str, ...]) -> ibis.Table:
    """``raw`` with ``rank_<component>`` columns: percentile ranks within the eligible customers.

    ``rank = PERCENT_RANK() OVER (PARTITION BY eligible ORDER BY value)`` (descending value
    for recency); null where the customer is not eligible (the raw value is null).
    """
    ranks = {}
    for name in components:
        col = raw[name]
        order = col.desc() if not COMPONENTS[name].higher_is_better else col.asc()
        w = ibis.window(group_by=col.isnull(), order_by=order)
        ranks[rank_column(name)] = ibis.ifelse(col.notnull(), ibis.percent_rank().over(w), ibis.null("float64"))
    return raw.mutate(**ranks)


def available_components(raw: ibis.Table, candidates: dict[str, str | None], *, window_days: int) -> dict[str, str | None]:
    """Each candidate component: None when it has data at this date, else why it is left out.

    A component is left out when its table is missing (the candidate's reason), when no
    customer is eligible, or when every eligible customer has the same value (a rank that
    cannot tell customers apart). Counted in the engine in one query.
    """
    present = [n for n, r in candidates.items() if r is None and n in raw.columns]
    out = dict(candidates)
    if not present:
        return out
    agg = {}
    for n in present:
        agg[f"{n}__n"] = raw[n].count()
        agg[f"{n}__lo"] = raw[n].cast("float64").min()
        agg[f"{n}__hi"] = raw[n].cast("float64").max()
    row = raw.aggregate(**agg).execute().iloc[0]
    for n in present:
        if not row[f"{n}__n"]:
            out[n] = f"nobody could have {COMPONENTS[n].label} in the {window_days} days"
        elif row[f"{n}__lo"] == row[f"{n}__hi"]:
            out[n] = f"every customer has the same {COMPONENTS[n].label} in the {window_days} days"
    return out
