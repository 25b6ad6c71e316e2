"""A real export shape: one row per order line, cancellations, guest rows, derived amounts.

The fixture follows the public "Online Retail" line-item export (InvoiceNo, StockCode,
Description, Quantity, UnitPrice, InvoiceDate, CustomerID, Country; cancellations are
invoices starting with "C" with negative quantities). Every figure is computed by hand
below and compared on DuckDB and, where pyspark and Java are present, on Spark.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit.cli import main

HEADER = "InvoiceNo,StockCode,Description,Quantity,UnitPrice,InvoiceDate,CustomerID,Country\n"
LINES = [
    # two products at the same quantity and price on one invoice: two lines, not duplicates
    "536365,85123A,WHITE HANGING HEART,6,2.55,12/1/2010 8:26,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2.55,12/1/2010 8:26,17850,United Kingdom",
    # an exact duplicate line of the export: dropped
    "536365,71053,WHITE METAL LANTERN,6,2.55,12/1/2010 8:26,17850,United Kingdom",
    # a later order of the same customer
    "536400,22752,SET 7 BABUSHKA,2,7.65,12/20/2010 10:00,17850,United Kingdom",
    # an order cancelled in full two days later
    "536366,22633,HAND WARMER UNION JACK,6,1.85,12/1/2010 8:28,13047,United Kingdom",
    "536366,22632,HAND WARMER RED POLKA,6,1.85,12/1/2010 8:28,13047,United Kingdom",
    "C536366,22633,HAND WARMER UNION JACK,-6,1.85,12/3/2010 9:00,13047,United Kingdom",
    "C536366,22632,HAND WARMER RED POLKA,-6,1.85,12/3/2010 9:00,13047,United Kingdom",
    "536401,22633,HAND WARMER UNION JACK,10,1.85,12/10/2010 9:00,13047,United Kingdom",
    # half of an order returned
    "536367,84879,ASSORTED BIRD ORNAMENT,10,2.00,12/2/2010 11:00,12583,France",
    "536367,22745,POPPY'S PLAYHOUSE,10,2.00,12/2/2010 11:00,12583,France",
    "C536367,84879,ASSORTED BIRD ORNAMENT,-10,2.00,12/5/2010 11:00,12583,France",
    "536402,22745,POPPY'S PLAYHOUSE,5,2.00,12/15/2010 11:00,12583,France",
    # a return with no purchase before it
    "C536368,21730,GLASS STAR LANTERN,-2,4.25,12/6/2010 12:00,14688,United Kingdom",
    "536403,21730,GLASS STAR LANTERN,2,4.25,12/7/2010 12:00,14688,United Kingdom",
    "536404,21730,GLASS STAR LANTERN,4,4.25,12/21/2010 12:00,14688,United Kingdom",
    # guest rows: no customer id
    "536369,22086,PAPER CHAIN KIT,12,2.95,12/8/2010 14:00,,United Kingdom",
    "536369,22910,PAPER CHAIN KIT VINTAGE,12,2.95,12/8/2010 14:00,,United Kingdom",
    # a whale order cancelled 12 minutes later, and the customer's ordinary orders
    "536370,23843,PAPER CRAFT LITTLE BIRDIE,80995,2.08,12/9/2010 9:15,16446,United Kingdom",
    "C536371,23843,PAPER CRAFT LITTLE BIRDIE,-80995,2.08,12/9/2010 9:27,16446,United Kingdom",
    "536372,22980,PANTRY SCRUBBING BRUSH,1,1.65,12/1/2010 9:00,16446,United Kingdom",
    "536405,22982,PANTRY PASTRY BRUSH,1,1.25,12/22/2010 9:00,16446,United Kingdom",
]
CONFIG = """\
currency: GBP
tables:
  transactions:
    path: lines.csv
    read: {date_format: "%m/%d/%Y %H:%M"}
    columns: {customer_id: CustomerID, timestamp: InvoiceDate, order_id: InvoiceNo, product_id: StockCode}
    derive: {amount: "Quantity * UnitPrice"}
    missing_customer_id: guest
"""

# by hand: the orders left after matching, with their net value
ORDERS = {
    "536365": 30.60,  # 6 × 2.55 twice; the duplicate line dropped
    "536400": 15.30,
    "536401": 18.50,  # 536366 cancelled in full: no order
    "536367": 20.00,  # 40 less the returned 20
    "536402": 10.00,
    "536403": 8.50,
    "536404": 17.00,
    "536372": 1.65,  # the whale 536370 cancelled
    "536405": 1.25,
}
UNMATCHED_RETURNS = -8.50  # C536368 came before any purchase of its customer
GUEST_REVENUE = 2 * 12 * 2.95


def _write(folder: Path, extra: str = "") -> Path:
    (folder / "lines.csv").write_text(HEADER + "\n".join(LINES) + "\n")
    cfg = folder / "config.yaml"
    cfg.write_text(CONFIG + extra)
    return cfg


def _check(ds) -> None:
    tx = ds.to_pandas("transactions")
    assert tx.customer_id.notna().all()  # guest rows are out of the per-customer table
    purchases = ds.purchases.execute().set_index("order_id")["amount"].round(2).to_dict()
    assert purchases == pytest.approx(ORDERS)
    returns = ds.orders.execute()
    assert returns[returns.is_return].amount.sum() == pytest.approx(UNMATCHED_RETURNS)
    # net revenue: every line's Quantity × UnitPrice, less the guests' and the duplicate line
    lines = pd.read_csv(pd.io.common.StringIO(HEADER + "\n".join(LINES)), dtype={"CustomerID": str})
    lines = lines.drop_duplicates()
    lines = lines[lines.CustomerID.notna()]
    assert tx.amount.sum() == pytest.approx((lines.Quantity * lines.UnitPrice).sum())
    # per customer: the whale customer has two purchases worth 2.90, not 168,472
    from engage_kit.clv import customer_summary

    s = customer_summary(ds.purchases, end=ds.as_of).execute().set_index("customer_id")
    assert s.loc["16446", "frequency"] == 1 and s.loc["16446", "total_amount"] == pytest.approx(2.90)
    assert s.loc["13047", "frequency"] == 0  # the cancelled order is not a purchase
    # AOV over purchase orders
    assert sum(ORDERS.values()) / len(ORDERS) == pytest.approx(float(ds.purchases.amount.mean().execute()))
    _check_kpis(ds)
    notes = " ".join(ds.warnings)
    assert "1 rows repeat an earlier row in every column" in notes
    assert "2 rows (1 orders) have no customer_id" in notes and f"{GUEST_REVENUE:,.2f}" in notes
    assert "2 orders cancelled" in notes and "1 reduced" in notes and "1 unmatched returns" in notes


def _check_kpis(ds) -> None:
    """Order-level figures with the guest orders; return figures over the lines before matching."""
    from engage_kit import metrics as M

    head = M.headline(ds.tables, period="W", as_of=ds.as_of)
    aov = head["revenue.average_order_value"]
    assert aov.counts == pytest.approx({"revenue": sum(ORDERS.values()) + GUEST_REVENUE, "orders": len(ORDERS) + 1})
    assert aov.to_dict()["note"] == "including guest orders"
    assert "Average order value counts guest orders too" in M.describe_notes(head)
    # by hand, from the lines: purchase orders (cancelled ones included) and every return line
    lines = pd.read_csv(pd.io.common.StringIO(HEADER + "\n".join(LINES)), dtype={"CustomerID": str, "InvoiceNo": str})
    lines = lines.drop_duplicates()
    lines = lines[lines.CustomerID.notna()].assign(amount=lambda d: d.Quantity * d.UnitPrice)
    buys, rets = lines[lines.amount >= 0], lines[lines.amount < 0]
    orders = buys.groupby("InvoiceNo").amount.sum()
    returned = {"536366", "536367", "536370"}  # the full cancellation, the half return, the whale
    assert head["returns.order_rate"].counts == {"returned_orders": len(returned), "orders": len(orders)}
    assert head["returns.order_rate"].value == pytest.approx(3 / 11)
    vr = head["returns.value_rate"]
    assert vr.counts == pytest.approx({"returned_value": -rets.amount.sum(), "gross_revenue": orders.sum()})
    assert vr.value == pytest.approx(-rets.amount.sum() / orders.sum())
    returning = set(rets.CustomerID)
    assert head["returns.customer_rate"].counts == {"returning_customers": len(returning & set(buys.CustomerID)),
                                                   "customers": buys.CustomerID.nunique()}


def test_line_item_export_on_duckdb(tmp_path):
    _check(ek.open_dataset(_write(tmp_path)))


def test_without_matching_the_cancelled_whale_is_a_purchase(tmp_path):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace("    missing_customer_id: guest\n", "    missing_customer_id: drop\n    returns: {match: none}\n"))
    ds = ek.open_dataset(cfg)
    purchases = ds.purchases.execute().set_index("order_id")["amount"]
    assert purchases["536370"] == pytest.approx(80995 * 2.08)


def test_guest_rows_are_an_error_by_default_naming_the_option(tmp_path, capsys):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace("    missing_customer_id: guest\n", ""))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "customer_id" in err and "missing_customer_id: guest" in err and "Traceback" not in err


def test_amount_as_a_column_expression_points_to_derive(tmp_path, capsys):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace('    derive: {amount: "Quantity * UnitPrice"}\n', "")
                   .replace("product_id: StockCode}", 'product_id: StockCode, amount: "Quantity * UnitPrice"}'))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "write it under derive instead" in err and "did you mean" not in err


def test_missing_amount_proposes_quantity_times_price(tmp_path, capsys):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace('    derive: {amount: "Quantity * UnitPrice"}\n', ""))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert 'derive: {amount: "Quantity * UnitPrice"}' in err and "Country" not in err.split("missing")[1].split(";")[0]


def test_derive_with_an_unknown_column_and_text_values(tmp_path, capsys):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace("Quantity * UnitPrice", "Quantity * UnitPrize"))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "derive.amount" in err and "'UnitPrize' (did you mean 'UnitPrice'?)" in err
    cfg.write_text(CONFIG.replace("Quantity * UnitPrice", "Quantity * Description"))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "column 'Description', used in tables.transactions.derive.amount" in err and "are not numbers" in err


def test_duplicates_keep(tmp_path):
    cfg = _write(tmp_path)
    cfg.write_text(CONFIG.replace('read: {date_format: "%m/%d/%Y %H:%M"}', 'read: {date_format: "%m/%d/%Y %H:%M", duplicates: keep}'))
    ds = ek.open_dataset(cfg)
    assert ds.purchases.execute().set_index("order_id").loc["536365", "amount"] == pytest.approx(45.90)


def test_an_outlier_order_is_listed_and_can_be_excluded(tmp_path):
    rows = [f"{600000 + i},X{i},ITEM,1,{10 + i % 7}.00,12/{1 + i % 20}/2010 10:00,{20000 + i % 40},UK" for i in range(400)]
    rows.append("700000,BIG,ITEM,1,250000,12/15/2010 10:00,20001,UK")
    (tmp_path / "lines.csv").write_text(HEADER + "\n".join(rows) + "\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG)
    ds = ek.open_dataset(cfg)
    notes = " ".join(ds.warnings)
    assert "1 unusually large orders" in notes and "250,000.00" in notes and "cust-" in notes
    assert ds.purchases.count().execute() == 401
    cfg.write_text(CONFIG + "    outliers: {exclude_above: 100000}\n")
    ds = ek.open_dataset(cfg)
    assert ds.purchases.count().execute() == 400
    assert "excluded by tables.transactions.outliers.exclude_above" in " ".join(ds.warnings)


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_line_item_export_on_spark(tmp_path):
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed (pip install -e '.[spark]'; make setup does it)")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Java is not installed (Spark needs Java 17 or newer)")
    cfg = _write(tmp_path, '\nengine:\n  kind: spark\n  master: "local[2]"\n')
    ds = ek.open_dataset(cfg)
    try:
        _check(ds)
    finally:
        ds.con.disconnect()
