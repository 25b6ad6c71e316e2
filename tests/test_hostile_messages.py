"""Hostile input, clear messages: files that are not what their name says, epoch times,
folders, symlink loops, ragged rows and wrong separators, workbooks, number formats,
memory limits and "did you mean" hints. Each message names the table (or config key),
the file, the column or line, and the fix; exit code 2, no Python traceback.

Tests are named after the case of the issue they come from (1 to 10).
"""

from __future__ import annotations

import gzip
import io
import os

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit.errors import closest
from tests.helpers import assert_clear_error, run, write

TX = "customer_id,timestamp,amount\na,2024-01-01,10\nb,2024-01-02,20\n"
TABLES = "tables: {transactions: {path: tx.csv}}\n"








# --- 1: integer epoch timestamps ------------------------------------------------------


def test_1_epoch_seconds_in_parquet_say_numbers_and_timestamp_unit_reads_them(tmp_path, capsys):
    pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": [1704067200, 1704153600], "amount": [1.0, 2.0]}
    ).to_parquet(tmp_path / "tx.parquet")
    cfg = write(tmp_path, {}, "tables: {transactions: {path: tx.parquet}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "table transactions", "tx.parquet", "column 'timestamp'", "2 of 2 values", "row 1: 1704067200",
        "holds numbers", "epoch times", "tables.transactions.read: {timestamp_unit: s}", "2024-01-01 00:00:00 UTC",
    )
    assert "is empty in" not in text

    cfg.write_text("timezone: Europe/Berlin\ntables: {transactions: {path: tx.parquet, read: {timestamp_unit: s}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    times = ek.open_dataset(cfg).to_pandas("transactions").timestamp.tolist()
    assert times == [pd.Timestamp("2024-01-01 01:00"), pd.Timestamp("2024-01-02 01:00")]  # UTC instants, Berlin time


def test_1_epoch_milliseconds_in_csv_and_a_bad_unit(tmp_path, capsys):
    tx = "customer_id,timestamp,amount\na,1704067200000,1\nb,1704153600500,2\nc,soon,3\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "column 'timestamp'", "row 1: '1704067200000'")  # 'soon' is text: date_format hint
    cfg.write_text("tables: {transactions: {path: tx.csv, read: {timestamp_unit: ms}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "column 'timestamp'", "1 of 3 values", "row 3: 'soon'", "timestamp_unit is 'ms'")
    (tmp_path / "tx.csv").write_text(tx.replace("c,soon,3\n", ""))
    times = ek.open_dataset(cfg).to_pandas("transactions").timestamp.tolist()
    assert times == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 00:00:00.500")]
    cfg.write_text("tables: {transactions: {path: tx.csv, read: {timestamp_unit: sec}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "config.yaml", "tables.transactions.read.timestamp_unit", "'sec'", "s (seconds)",
                       "did you mean 's'")


# --- 2: files that are not plain text ---------------------------------------------------


def _xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    pd.read_csv(io.StringIO(TX)).to_excel(buf, index=False)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (TX.encode("utf-16"), ["UTF-16 text", "byte-order mark FF FE", "read: {encoding: utf-16}"]),
        (TX.encode("utf-16-be"), ["UTF-16 big-endian", "save it as CSV UTF-8"]),
        (gzip.compress(TX.encode()), ["gzip-compressed", "1F 8B", "name it 'tx.csv.gz'"]),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, ["a PNG image", "not CSV text"]),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07binary" * 50, ["binary data, not text", "control bytes"]),
        ("xlsx", ["an Excel workbook (.xlsx)", "name it 'tx.xlsx'"]),
    ],
    ids=["utf-16", "utf-16-be", "gzip", "png", "binary", "xlsx"],
)
def test_2_a_csv_that_is_not_text_says_what_it_is(tmp_path, capsys, content, fragments):
    cfg = write(tmp_path, {"tx.csv": _xlsx_bytes() if content == "xlsx" else content}, TABLES)
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "tx.csv", *fragments)
    assert "latin-1" not in text


def test_2_what_the_names_promise_is_read(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv.gz": gzip.compress(TX.encode()), "u.csv": TX.encode("utf-16")},
                "tables: {transactions: {path: tx.csv.gz}}\n")
    assert ek.open_dataset(cfg).reports["transactions"].rows == 2
    cfg.write_text("tables: {transactions: {path: u.csv, read: {encoding: utf-16}}}\n")
    assert ek.open_dataset(cfg).reports["transactions"].rows == 2
    write(tmp_path, {"tx.parquet": TX}, "tables: {transactions: {path: tx.parquet}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "tx.parquet", "cannot be read as Parquet", "PAR1", "plain text", "name it .csv")


# --- 3: a folder of CSV files -----------------------------------------------------------


def test_3_a_folder_of_csv_files_is_one_table_with_one_header(tmp_path, capsys):
    files = {"orders/2024-01.csv": TX, "orders/2024-02.csv": "customer_id,timestamp,amount\nc,2024-02-01,5\n",
             "orders/_SUCCESS": ""}
    cfg = write(tmp_path, files, "tables: {transactions: {path: orders}}\n")
    ds = ek.open_dataset(cfg)
    assert ds.reports["transactions"].rows == 3
    assert ds.to_pandas("transactions").customer_id.tolist() == ["a", "b", "c"]

    write(tmp_path, {"orders/2024-03.csv": "customer_id,date,amount\nd,2024-03-01,5\n"}, "tables: {transactions: {path: orders}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "table transactions", "orders", "do not have one header",
        "2024-01.csv, 2024-02.csv: customer_id, timestamp, amount", "2024-03.csv: customer_id, date, amount",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg.write_text("tables: {transactions: {path: empty}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "cannot be read", "no .csv or .parquet files", "it is empty")


# --- 4: a symlink loop ------------------------------------------------------------------


def test_4_a_symlink_loop_is_named_as_such(tmp_path, capsys):
    os.symlink("loop.csv", tmp_path / "loop.csv")
    os.symlink("nowhere.csv", tmp_path / "dangling.csv")
    cfg = write(tmp_path, {}, "tables: {transactions: {path: loop.csv}, customers: {path: dangling.csv}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "table transactions", "symbolic link that leads back to itself", "loop.csv -> loop.csv",
        "table customers", "symbolic link to nowhere.csv, which does not exist",
    )
    assert "did you mean" not in text


# --- 5: ragged rows and a wrong separator ----------------------------------------------


@pytest.mark.parametrize(
    ("content", "read", "fragments"),
    [
        ("customer_id;timestamp;amount\na;2024-01-01;1\nb;2024-01-02;2;x\nc;2024-01-03;3\n", "{}",
         ["line 3 has 4: 'b;2024-01-02;2;x'", "the header's 3 values (separated by ';')", "needs double quotes"]),
        ("customer_id;timestamp;amount\na;2024-01-01;1\n", "{sep: ','}",
         ["header reads as one column, 'customer_id;timestamp;amount', with sep ','", "separated by ';'",
          'set tables.transactions.read: {sep: ";"}']),
        ("customer_id,timestamp,amount\n" + "".join(f"c{i},2024-01-01,{i}\n" for i in range(30_000)) + "x,2024-01-01,5,extra\n",
         "{}", ["line 30002 has 4: 'x,2024-01-01,5,extra'", "the header's 3 values (separated by ',')"]),
    ],
    ids=["ragged", "wrong-sep", "ragged-after-the-sniffed-lines"],
)
def test_5_ragged_rows_and_wrong_sep_are_one_message_with_the_line(tmp_path, capsys, content, read, fragments):
    cfg = write(tmp_path, {"tx.csv": content}, f"tables: {{transactions: {{path: tx.csv, read: {read}}}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "1 problem(s)", "table transactions", "tx.csv", *fragments)


# --- 6: a workbook whose data is not on the first sheet, or has no header row -----------


def test_6_excel_sheets_are_listed_with_the_sheet_setting(tmp_path, capsys):
    frame = pd.read_csv(io.StringIO(TX))
    with pd.ExcelWriter(tmp_path / "tx.xlsx") as w:
        pd.DataFrame({"Report": ["ACME orders"]}).to_excel(w, sheet_name="Cover", index=False)
        frame.to_excel(w, sheet_name="Orders 2024", index=False)
    cfg = write(tmp_path, {}, "tables: {transactions: {path: tx.xlsx}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "1 problem(s)", "sheet 'Cover' (the first of the workbook) has none of the columns",
        "sheet 'Orders 2024' has them", 'read: {sheet: "Orders 2024"}', "sheets: 'Cover', 'Orders 2024'",
    )
    cfg.write_text("tables: {transactions: {path: tx.xlsx, read: {sheet: orders 2024}}}\n")
    assert ek.open_dataset(cfg).reports["transactions"].rows == 2  # sheet names ignore case, as in Excel
    cfg.write_text("tables: {transactions: {path: tx.xlsx, read: {sheet: Order 2024}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "no sheet 'Order 2024'", "did you mean 'Orders 2024'")

    frame.to_excel(tmp_path / "nohead.xlsx", index=False, header=False)
    cfg.write_text("tables: {transactions: {path: nohead.xlsx}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "the first row of sheet 'Sheet1'", "holds values", "no header row",
                       "customer_id, timestamp, amount", "read: {sheet: NAME}")


# --- 7: English thousands separators ----------------------------------------------------


def test_7_english_thousands_get_the_thousands_hint(tmp_path, capsys):
    tx = 'customer_id,timestamp,amount\na,2024-01-01,"1,234.56"\nb,2024-01-02,"12,345,678"\nc,2024-01-03,3\n'
    cfg = write(tmp_path, {"tx.csv": tx}, TABLES)
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "column 'amount'", "row 1: '1,234.56'", "read: {thousands: ','}")
    assert "decimal: ','" not in text
    cfg.write_text("tables: {transactions: {path: tx.csv, read: {thousands: ','}}}\n")
    assert sorted(ek.open_dataset(cfg).to_pandas("transactions").amount) == [3.0, 1234.56, 12345678.0]
    (tmp_path / "tx.csv").write_text('customer_id,timestamp,amount\na,2024-01-01,"1.234,50"\n')
    cfg.write_text(TABLES)
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "row 1: '1.234,50'", "{decimal: ',', thousands: '.'}")


# --- 8: the engine out of memory --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_8_out_of_memory_names_engine_memory_limit(tmp_path, capsys, fmt):
    pd.read_csv(io.StringIO(TX)).to_parquet(tmp_path / "tx.parquet")
    cfg = write(tmp_path, {"tx.csv": TX}, f"engine: {{memory_limit: 1MB}}\ntables: {{transactions: {{path: tx.{fmt}}}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "ran out of memory", "raise engine.memory_limit", "memory_limit: 4GB")


# --- 9: aliases of config keys ----------------------------------------------------------


def test_9_aliases_of_config_keys_suggest_the_key(tmp_path, capsys):
    cfg = write(
        tmp_path, {"tx.csv": TX},
        "engine: {mem_limit: 4GB}\ntables: {transactions: {path: tx.csv, read: {seperator: ';', delimiter: ',', "
        "decimal_sep: ',', sheet_name: x}}}\n",
    )
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "5 unknown key(s)",
        "'tables.transactions.read.seperator' (did you mean 'sep'?)", "'tables.transactions.read.delimiter' (did you mean 'sep'?)",
        "'tables.transactions.read.decimal_sep' (did you mean 'decimal'?)", "'tables.transactions.read.sheet_name' (did you mean 'sheet'?)",
        "'engine.mem_limit' (did you mean 'memory_limit'?)",
    )


# --- 10: "did you mean" only for names that are really close ----------------------------


def test_10_did_you_mean_only_for_really_close_names(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv": "customer_id,timestamp,Country\na,2024-01-01,DE\n"}, TABLES)
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "required column 'amount' is missing", "the file's columns are: customer_id, timestamp, Country")
    assert "did you mean" not in text
    for typo in ("amout", "Amount", "amnt", "amuont", "amt"):
        assert closest(typo, ["customer_id", "Country", "amount"]) == "amount", typo
    assert closest("order_ID", ["order_id", "customer_id"]) == "order_id"
    assert closest("clv", ["engagement_kpis", "clv_bgnbd", "churn_prediction"]) == "clv_bgnbd"
    for far, choices in (("amount", ["Country"]), ("amount", ["account"]), ("nope.csv", ["tx.csv"]), ("a", ["amount"])):
        assert closest(far, choices) is None, (far, choices)
