"""Return figures: order return rate, returned value rate, customers who returned.

Hand-computed cases on the ledger, a pandas computation on the demo, the rule that names a
return's original order (``returns.order_column``), and the derived tables in snapshots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import engage_kit as ek
from engage_kit import metrics as M
from engage_kit.cli import main
from engage_kit.loaders import open_snapshot, write_snapshot
from engage_kit.metrics.returns import (
    NOT_MATCHED,
    order_return_rate,
    return_value_rate,
    returning_customer_rate,
)

LEDGER = pd.DataFrame(
    [
        # kind, order, customer, time, value, returned
        ("purchase", "A1", "a", "2024-01-03", 100.0, 100.0),  # cancelled in January
        ("purchase", "A2", "a", "2024-02-10", 50.0, 0.0),
        ("purchase", "B1", "b", "2024-01-20", 80.0, 30.0),  # partly returned, in February
        ("purchase", "C1", "c", "2024-02-01", 20.0, 0.0),
        ("return", "CA1", "a", "2024-01-04", 100.0, None),
        ("return", "CB1", "b", "2024-02-02", 30.0, None),
        ("return", "CX", "d", "2024-02-05", 10.0, None),  # no purchase of d: unmatched, d is no buyer
    ],
    columns=["kind", "order_id", "customer_id", "timestamp", "value", "returned"],
)


def test_window_figures_by_hand():
    m = order_return_rate(LEDGER)
    assert m.counts == {"returned_orders": 2, "orders": 4} and m.value == 0.5
    assert 0 < m.low < 0.5 < m.high < 1
    v = return_value_rate(LEDGER)
    assert v.counts == {"returned_value": 140.0, "gross_revenue": 250.0} and v.value == pytest.approx(0.56)
    assert v.n == 4 and v.low <= v.value <= v.high  # four customers: a, b, c and d
    c = returning_customer_rate(LEDGER)
    assert c.counts == {"returning_customers": 2, "customers": 3}  # a and b; d bought nothing


def test_per_period_by_hand():
    o = order_return_rate(LEDGER, period="M", as_of="2024-02-29").set_index("period")
    assert o.loc["2024-01", "returned_orders"] == 2 and o.loc["2024-01", "orders"] == 2  # by the order's month
    assert o.loc["2024-02", "returned_orders"] == 0 and o.loc["2024-02", "orders"] == 2
    v = return_value_rate(LEDGER, period="M", as_of="2024-02-29").set_index("period")
    assert v.loc["2024-01", "value"] == pytest.approx(100 / 180)  # by the return's month
    assert v.loc["2024-02", "value"] == pytest.approx(40 / 70)
    c = returning_customer_rate(LEDGER, period="M", as_of="2024-02-29").set_index("period")
    assert c.loc["2024-01", "returning_customers"] == 1 and c.loc["2024-01", "customers"] == 2  # a; b returned in Feb
    assert c.loc["2024-02", "returning_customers"] == 0 and c.loc["2024-02", "customers"] == 2


def test_unmatched_returns_leave_the_order_rate_undefined():
    led = LEDGER.assign(returned=np.nan)  # returns: {match: none}
    m = order_return_rate(led)
    assert not m.computable and m.to_dict() == {"value": None, "reason": NOT_MATCHED}
    assert return_value_rate(led).value == pytest.approx(0.56)  # needs no matching


def test_demo_against_pandas():
    ds = ek.open_dataset("demo")
    head = M.headline(ds.tables, as_of=ds.as_of)
    tx = ds.to_pandas("transactions")
    led = ds.to_pandas("order_returns")
    # the demo books each return under its order's own number, 3-20 days later
    buys = led[led.kind == "purchase"]
    rets = led[led.kind == "return"]
    assert head["returns.order_rate"].counts == {"returned_orders": int(buys.order_id.isin(rets.order_id).sum()),
                                                "orders": len(buys)}
    assert head["returns.order_rate"].value == pytest.approx(0.03, abs=0.01)  # the demo's 3% of orders
    assert head["returns.value_rate"].value == pytest.approx(rets.value.sum() / buys.value.sum())
    # gross revenue before matching = net purchases after matching + what matching took off them
    assert buys.value.sum() == pytest.approx(tx[tx.amount >= 0].amount.sum() + buys.returned.sum())
    trend = M.kpis_by_period(ds.tables, as_of=ds.as_of, keys=["returns.order_rate"])
    done = trend[trend.complete.astype(bool)]
    buys = buys.assign(period=pd.to_datetime(buys.timestamp).dt.strftime("%Y-%m"))
    by_hand = buys.groupby("period").apply(lambda g: (g.returned > 0).mean(), include_groups=False)
    assert done.set_index("period")["value"].to_dict() == pytest.approx(by_hand.loc[done.period].to_dict())


CREDIT_NOTES = """\
Invoice,Customer,Date,Amount,Original
I1,a,2024-01-01,40,
I2,a,2024-01-05,40,
I3,b,2024-01-02,25,
CN1,a,2024-01-10,-40,I1
"""


def _credit_notes(folder: Path, returns: str = "") -> Path:
    (folder / "tx.csv").write_text(CREDIT_NOTES)
    cfg = folder / "config.yaml"
    cfg.write_text(
        "tables:\n  transactions:\n    path: tx.csv\n"
        "    columns: {order_id: Invoice, customer_id: Customer, timestamp: Date, amount: Amount}\n" + returns
    )
    return cfg


def test_order_column_names_the_original_order(tmp_path):
    without = ek.open_dataset(_credit_notes(tmp_path)).purchases.execute()
    assert set(without.order_id) == {"I1", "I3"}  # same amount twice: the latest order, I2, was taken
    cfg = _credit_notes(tmp_path, "    returns: {order_column: Original}\n")
    ds = ek.open_dataset(cfg)
    assert set(ds.purchases.execute().order_id) == {"I2", "I3"}  # the credit note names I1
    led = ds.to_pandas("order_returns").set_index("order_id")
    assert led.loc["I1", "returned"] == 40 and led.loc["I2", "returned"] == 0
    assert "_ret_order" not in ds["transactions"].columns and "Original" not in ds["transactions"].columns


def test_order_column_that_is_not_in_the_file(tmp_path, capsys):
    cfg = _credit_notes(tmp_path, "    returns: {order_column: Orignal}\n")
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "returns.order_column is 'Orignal'" in err and "did you mean 'Original'" in err and "Traceback" not in err


def test_order_column_must_be_a_name(tmp_path, capsys):
    cfg = _credit_notes(tmp_path, "    returns: {order_column: 3}\n")
    assert main(["validate", str(cfg)]) == 2
    assert "returns.order_column: expected the name of the column" in capsys.readouterr().err


def test_no_returns_no_return_figures(tmp_path):
    (tmp_path / "tx.csv").write_text("order_id,customer_id,timestamp,amount\n1,a,2024-01-01,5\n2,a,2024-02-01,7\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables:\n  transactions:\n    path: tx.csv\n")
    ds = ek.open_dataset(cfg)
    assert not ds.has("order_returns") and not ds.has("guest_transactions")
    head = M.headline(ds.tables)
    assert head["returns.order_rate"] is None  # no card: the export may simply hold no returns
    assert "note" not in head["revenue.average_order_value"].to_dict()


def test_snapshot_keeps_the_derived_tables(tmp_path):
    from tests.test_line_items import _write

    ds = ek.open_dataset(_write(tmp_path))
    snap = write_snapshot(ds, tmp_path / "snap")
    again = open_snapshot(snap)
    assert set(again.tables) == {"transactions", "order_returns", "guest_transactions"}
    assert set(again.reports) == {"transactions"}
    a, b = M.headline(ds.tables), M.headline(again.tables)
    for key in ("revenue.average_order_value", "returns.order_rate", "returns.value_rate", "returns.customer_rate"):
        assert a[key].to_dict() == pytest.approx(b[key].to_dict())
