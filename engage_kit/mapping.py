"""Value-level settings of a table: ``constants``, ``values``, ``exclude``, ``attributes`` and the
transactions' ``returns.cancel_when`` and ``returns.refund_column`` (README, "Settings for tool exports").

They let a config (or a preset) describe an export whose values are not the kit's own:

- ``constants: {channel: email}``: a canonical column the export does not have, one value
  for every row (a newsletter tool's export is all email);
- ``values: {event: {opened: open, clicked: click}}``: the export's values of a mapped column
  replaced by the kit's, matched ignoring case and surrounding spaces; values not listed stay
  as they are, a value mapped to ``null`` becomes blank;
- ``exclude: {Status: [failed, ""]}``: rows whose source column holds one of the values are
  left out (``""`` is a blank cell), with a warning that counts them;
- ``attributes: [Plan, Country]`` (customers): the source columns kept as attributes (default:
  every column not mapped);
- ``returns.cancel_when: {"Financial Status": [refunded, voided]}``: an order with a row whose
  column holds one of the values is cancelled: a return of its whole value is booked on it;
- ``returns.refund_column: "Refunded Amount"``: the amount refunded on the row's order, booked
  as a return of the order at the row's time (orders cancelled by ``cancel_when`` excepted).

The returns become ordinary return lines, so they are matched to their orders like any other
(DESIGN.md, Data contract): an order returned in full is a cancelled order.
"""

from __future__ import annotations

from typing import Any

import ibis

from . import engine as eng


def _text_key(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _key_of(col: ibis.Value) -> ibis.Value:
    """A source value as the maps compare it: text, trimmed, lower case; blank is ''."""
    return eng.trim(col.cast("string")).lower().fill_null("")


def matches(col: ibis.Value, listed: list[str]) -> ibis.Value:
    """True where the source column holds one of ``listed`` (compared as :func:`_key_of`)."""
    return _key_of(col).isin(listed)


def mapped(col: ibis.Value, table: dict[str, str | None]) -> ibis.Value:
    """The column with the export's values replaced by the kit's (others unchanged), as text."""
    key = _key_of(col)
    text = eng.trim(col.cast("string"))
    return ibis.cases(*[(key == k, ibis.literal(v, type="string")) for k, v in table.items()], else_=text)


def constant(value: Any) -> ibis.Value:
    """One value for every row, as text (typed like a source column)."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return ibis.literal(str(value), type="string")


def returns_from_rules(t: ibis.Table) -> tuple[ibis.Table, dict[str, float]]:
    """Book ``cancel_when`` and ``refund_column`` as return lines (see the module docstring).

    Parameters
    ----------
    t : ibis.Table
        Canonical transaction lines with ``_row``, ``_cancel`` (bool, may be absent) and
        ``_refund`` (float, may be absent).

    Returns
    -------
    (ibis.Table, dict)
        The lines with the returns added (``_cancel`` and ``_refund`` dropped; each return
        has a ``_row`` above every source row) and counts: ``cancelled_orders``,
        ``cancelled_value``, ``refunds``, ``refunded_value``.
    """
    has_cancel, has_refund = "_cancel" in t.columns, "_refund" in t.columns
    base = t.drop(*[c for c in ("_cancel", "_refund") if c in t.columns])
    if not (has_cancel or has_refund):
        return base, {}
    top = int(t._row.max().execute() or 0) + 1
    parts = [base]
    stats = {"cancelled_orders": 0, "cancelled_value": 0.0, "refunds": 0, "refunded_value": 0.0}
    cancelled = None
    if has_cancel:
        flagged = t.filter(t._cancel.fill_null(False) & t.order_id.notnull())
        cancelled = flagged.select(c_order=flagged.order_id).distinct()
        lines = t.join(cancelled, t.order_id == cancelled.c_order)
        lines = lines.filter(lines.amount > 0)
        rets = lines.mutate(amount=-lines.amount, _row=lines._row + top).select(*base.columns)
        parts.append(rets)
        s = rets.aggregate(n=rets.order_id.nunique(), v=(-rets.amount).sum()).execute().iloc[0]
        stats["cancelled_orders"], stats["cancelled_value"] = int(s["n"] or 0), float(s["v"] or 0.0)
    if has_refund:
        r = t.filter(t._refund.fill_null(0) > 0)
        if cancelled is not None:
            r = r.left_join(cancelled, r.order_id == cancelled.c_order)
            r = r.filter(r.c_order.isnull())
        refunds = r.mutate(amount=-r._refund, product_id=ibis.null("string"), quantity=ibis.null("float64"),
                           _row=r._row + 2 * top).select(*base.columns)
        parts.append(refunds)
        s = refunds.aggregate(n=refunds.count(), v=(-refunds.amount).sum()).execute().iloc[0]
        stats["refunds"], stats["refunded_value"] = int(s["n"] or 0), float(s["v"] or 0.0)
    return ibis.union(*parts), stats
