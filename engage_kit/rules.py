"""The rules applied to a typed table before the analyses see it (DESIGN.md, Data contract).

Rows after ``as_of`` and identical duplicate rows go; for transactions, guest orders are set
aside, returns matched to the purchases they cancel (:mod:`engage_kit.returns`) and outlier
orders listed; dates before 1990 or after the file was written are warned about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from . import engine as eng
from .config import TableConfig
from .datanotes import MAX_EXAMPLES, TableReport, _examples, _share
from .schema import TABLES


def _finish(
    con: Any, name: str, t: ibis.Table, as_of_end: pd.Timestamp, report: TableReport, where: str,
    tcfg: TableConfig | None = None,
) -> tuple[ibis.Table, dict[str, ibis.Table]]:
    """Drop rows after as_of and identical duplicate rows; for transactions set guest
    orders aside, match returns to purchases and flag outlier orders; materialise.

    Returns the table and the tables derived from it (:data:`DERIVED_TABLES`).

    A row is a duplicate only when every column of the source row is identical (the
    columns the kit does not use included, carried as ``_x*``); ``read: {duplicates: keep}``
    keeps them. Transactions without an order_id never have identical rows here: each
    row got its own order id, since without one every row is one order.
    """
    spec = TABLES[name]
    tcol = spec.time_column
    tcfg = tcfg or TableConfig(name=name)
    if tcol is not None:
        late = int(t.filter(t[tcol] >= as_of_end.to_pydatetime()).count().execute())
        if late:
            report.warnings.append(
                f"{where}: {late:,} rows after as_of ({(as_of_end - pd.Timedelta(days=1)).date()}) are left out"
            )
            t = t.filter(t[tcol] < as_of_end.to_pydatetime())
    data_cols = [c for c in t.columns if c != "_row"]
    extras = [c for c in data_cols if re.fullmatch(r"_x\d+", c)]
    n0 = int(t.count().execute())
    distinct = int(t.select(*data_cols).distinct().count().execute())
    dropped = n0 - distinct
    keep = str(tcfg.read.get("duplicates", "drop")).strip().lower() == "keep"
    if dropped:
        # a window groups NULLs together, as the duplicate count does (a join would not)
        first = t.mutate(_first=t._row.min().over(ibis.window(group_by=data_cols)))
        pairs = first.filter(first._row != first._first).select("_first", "_row").order_by("_row").limit(3).execute()
        shown = ", ".join(f"row {int(r)} repeats row {int(f)}" for r, f in zip(pairs["_row"], pairs["_first"], strict=True))
        if keep:
            report.warnings.append(f"{where}: {dropped:,} rows repeat an earlier row in every column ({shown}); kept (read.duplicates: keep)")
        else:
            report.warnings.append(
                f"{where}: {dropped:,} rows repeat an earlier row in every column and are dropped ({shown}); "
                f"set tables.{name}.read.duplicates: keep to count them"
            )
            t = t.group_by(data_cols).aggregate(_row=t._row.min())
    t = t.drop(*extras) if extras else t
    reordered = bool(dropped and not keep)
    after = None
    if name == "transactions":
        t, changed, after = _transactions_rules(con, t, tcfg, report, where)
        reordered = reordered or changed
    # keep the source's row order (a sort only when a step above may have changed it); the
    # netted lines of return matching are computed here, in the one copy that sorts them
    t = t.drop("_ret_order") if "_ret_order" in t.columns else t
    final = eng.materialize(con, f"ek_{name}", t.order_by("_row").drop("_row") if reordered else t.drop("_row"))
    side: dict[str, ibis.Table] = {}
    if after is not None:
        kept, side = after(final)
        if kept is not final:  # outlier orders excluded: the lines without them are stored apart
            eng.drop(con, f"ek_{name}")
        final = kept
    report.rows = int(final.count().execute()) if name == "transactions" else (n0 if keep else distinct)
    if "customer_id" in final.columns:
        report.customers = int(final.customer_id.nunique().execute())
    if tcol is not None:
        rng = final.aggregate(lo=final[tcol].min(), hi=final[tcol].max()).execute().iloc[0]
        report.start, report.end = rng.lo, rng.hi
    return final, side


def _transactions_rules(
    con: Any, t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str
) -> tuple[ibis.Table, bool, Callable[[ibis.Table], tuple[ibis.Table, dict[str, ibis.Table]]]]:
    """Guest orders and returns matched to purchases (DESIGN.md, Data contract); then, on the
    stored lines, outlier orders.

    Returns the lines (an expression: :func:`_finish` stores them once, sorted back into
    the source's order), whether their rows may have been reordered, and the step to run
    on the stored lines: it lists (or excludes) the outlier orders and returns the lines
    and the derived tables: ``order_returns`` (:func:`engage_kit.returns.return_ledger`,
    the purchases and returns behind the return figures; only when there are returns) and,
    for ``missing_customer_id: guest``, ``guest_transactions`` (the rows without a
    customer, for the order-level figures).
    """
    from .mapping import returns_from_rules
    from .returns import match_returns, return_ledger

    t, booked = returns_from_rules(t)  # returns.cancel_when and returns.refund_column
    if booked.get("cancelled_orders"):
        report.warnings.append(
            f"{where}: {booked['cancelled_orders']:,} orders are cancelled by tables.transactions.returns.cancel_when "
            f"({booked['cancelled_value']:,.2f}): a return of their whole value is booked on each"
        )
    if booked.get("refunds"):
        report.warnings.append(
            f"{where}: {booked['refunds']:,} refunds from tables.transactions.returns.refund_column "
            f"({booked['refunded_value']:,.2f}) are booked as returns of their orders"
        )
    # one pass over the lines: gross revenue, the guest rows, and whether customers returned anything
    guest = t.customer_id.isnull()
    sale = ibis.ifelse(t.amount > 0, t.amount, 0.0)
    g = t.aggregate(
        gross=sale.sum(), n=guest.sum(), rev=ibis.ifelse(guest, sale, 0.0).sum(),
        orders=t.order_id.nunique(where=guest), returns=((t.amount < 0) & ~guest).sum(),
    ).execute().iloc[0]
    gross = float(g["gross"] or 0.0)
    side: dict[str, ibis.Table] = {}
    canonical = [c for c in t.columns if c not in ("_row", "_ret_order")]
    if int(g["n"] or 0):
        guests = t.filter(guest)
        rev = float(g["rev"] or 0.0)
        what = {"drop": "left out of every figure",
                "guest": "left out of every per-customer analysis and kept in revenue, order count and order value "
                         "(guest orders)"}
        report.warnings.append(
            f"{where}: {int(g['n']):,} rows ({int(g['orders']):,} orders) have no customer_id and are "
            f"{what[tcfg.missing_customer_id]}; they hold {rev:,.2f} ({_share(rev, gross)}) of gross revenue"
        )
        if tcfg.missing_customer_id == "guest":
            side["guest_transactions"] = guests.select(*canonical)
        t = t.filter(t.customer_id.notnull())
    before = t
    has_returns = bool(int(g["returns"] or 0))
    matched = tcfg.returns.get("match", "orders") != "none" and has_returns
    matches = None
    if matched:
        t, m = match_returns(t, match_days=int(tcfg.returns.get("match_days", 90)))
        matches = eng.materialize(con, "ek_return_matches", m.matches)
        report.warnings.append(
            f"{where}: {m.returns:,} return lines ({m.returned_value:,.2f}); {m.matched:,} matched to a purchase in the "
            f"{int(tcfg.returns.get('match_days', 90))} days before ({m.matched_value:,.2f}): {m.cancelled_orders:,} orders "
            f"cancelled ({m.cancelled_value:,.2f}, {_share(m.cancelled_value, gross)} of gross revenue; no purchase anywhere), "
            f"{m.reduced_orders:,} reduced; {m.returns - m.matched:,} unmatched returns stay in net revenue "
            "(returns: {match: none} turns matching off)"
        )
    if has_returns:  # no return line at all: the export may hold none, so no return figure
        side["order_returns"] = return_ledger(before, matches)

    def after(final: ibis.Table) -> tuple[ibis.Table, dict[str, ibis.Table]]:
        kept, excluded = _outlier_orders(con, final, tcfg, report, where)
        out = side
        if excluded is not None:
            out = {k: v.filter(~v.order_id.isin(excluded.order_id)) for k, v in side.items()}
        return kept, {k: eng.materialize(con, f"ek_{k}", v) for k, v in out.items()}

    return t, matched, after


def _outlier_orders(
    con: Any, t: ibis.Table, tcfg: TableConfig, report: TableReport, where: str
) -> tuple[ibis.Table, ibis.Table | None]:
    """Orders above both 100 × the median order and its 99.99th percentile: listed, not removed
    unless ``outliers: {exclude_above: AMOUNT}`` says so.

    Returns the table and, when orders were excluded, a table of their ``order_id``.
    """
    from .privacy import pseudonymise

    p = t.filter(t.amount >= 0)
    # one row per order, computed once: read by the quantiles and by the list of big orders
    orders = eng.materialize(
        con, "ek_orders_check", p.group_by("order_id").aggregate(customer_id=p.customer_id.arbitrary(), amount=p.amount.sum())
    )
    # the exact 99.99th percentile (an approximate one is the maximum itself on small data)
    q = orders.aggregate(med=orders.amount.approx_median(), p9999=orders.amount.quantile(0.9999),
                         total=orders.amount.sum()).execute().iloc[0]
    if q["med"] is None or pd.isna(q["med"]):
        return t, None
    limit = max(100 * float(q["med"]), float(q["p9999"]))
    above = tcfg.outliers.get("exclude_above")
    cut = float(above) if above else limit
    big = orders.filter(orders.amount > cut)
    n_big = int(big.count().execute())
    if not n_big:
        return t, None
    top = big.order_by(ibis.desc("amount")).limit(5).execute()
    ids = pseudonymise(top["customer_id"], force=True)
    shown = ", ".join(f"{a:,.2f} ({c})" for a, c in zip(top["amount"], ids, strict=True))
    value = float(big.amount.sum().execute())
    rule = f"above {cut:,.2f}" + ("" if above else " (100 × the median order and its 99.99th percentile)")
    if not above:
        report.warnings.append(
            f"{where}: {n_big:,} unusually large orders {rule} hold {value:,.2f} "
            f"({_share(value, float(q['total']))} of purchase value); largest: {shown}. They are kept; "
            "tables.transactions.outliers: {exclude_above: AMOUNT} excludes them"
        )
        return t, None
    report.warnings.append(
        f"{where}: {n_big:,} orders {rule} are excluded by tables.transactions.outliers.exclude_above "
        f"({value:,.2f}, {_share(value, float(q['total']))} of purchase value); largest: {shown}"
    )
    excluded = eng.materialize(con, "ek_excluded_orders", big.select("order_id"))
    # a filter keeps the stored lines' order
    return eng.materialize(con, "ek_transactions_kept", t.filter(~t.order_id.isin(excluded.order_id))), excluded


EARLIEST_PLAUSIBLE = pd.Timestamp("1990-01-01")


def _latest_plausible(tcfg: TableConfig) -> pd.Timestamp:
    """One day after the source file was last written (or after today, for other sources)."""
    stamp = pd.Timestamp.now()
    if tcfg.path is not None:
        try:
            path = Path(tcfg.path)
            times = [p.stat().st_mtime for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path.stat().st_mtime]
            if times:
                stamp = min(stamp, pd.Timestamp.fromtimestamp(max(times)))
        except OSError:
            pass
    return stamp + pd.Timedelta(days=1)


def _implausible_dates(t: ibis.Table, col: str, tcfg: TableConfig, report: TableReport) -> None:
    """Warn about dates before 1990 or after the file was written: typos such as 2099-12-31."""
    latest = _latest_plausible(tcfg)
    bad = t.filter((t[col] < EARLIEST_PLAUSIBLE.to_pydatetime()) | (t[col] > latest.to_pydatetime()))
    n = int(bad.count().execute())
    if not n:
        return
    ex = bad.select("_row", value=bad[col].cast("string")).order_by("_row").limit(MAX_EXAMPLES).execute()
    report.warnings.append(
        f"table {report.name} ({tcfg.source}): {n:,} rows have a {col} before {EARLIEST_PLAUSIBLE.date()} or after "
        f"{(latest - pd.Timedelta(days=1)).date()} (when the data was written), e.g. {_examples(ex, 'value')}; "
        "check them for typos"
    )
