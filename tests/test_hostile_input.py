"""Hostile input: every bad value, header or config option is a message naming the table (or
config key), the column and example rows, with exit code 2 and no Python traceback.

Tests are named after the case of the issue they come from (7, 9, 11, 12, 13, 14, 16).
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import engage_kit as ek
from tests.helpers import assert_clear_error, run, write

TX = "customer_id,timestamp,amount\na,2024-01-01,10\nb,2024-01-02,20\n"








# --- 7: NaN and infinite numbers ------------------------------------------------------


def test_7_nan_and_infinite_amounts_are_bad_values(tmp_path, capsys):
    tx = "customer_id,timestamp,amount\na,2024-01-01,nan\nb,2024-01-02,inf\nc,2024-01-03,-inf\nd,2024-01-04,5\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "table transactions", "tx.csv", "column 'amount'", "3 of 4 values",
        "row 1: 'nan'", "row 2: 'inf'", "row 3: '-inf'", "leave the cell blank",
    )
    assert "total -inf" not in text


@pytest.mark.parametrize(
    ("table", "file", "column", "text"),
    [
        ("surveys", "s.csv", "score", "timestamp,kind,score\n2024-01-01,csat,4\n2024-01-01,csat,NaN\n"),
        ("tickets", "t.csv", "handle_seconds", "ticket_id,opened_at,handle_seconds\nt1,2024-01-01,60\nt2,2024-01-01,Infinity\n"),
        ("web_sessions", "w.csv", "pageviews", "session_id,started_at,pageviews\ns1,2024-01-01,3\ns2,2024-01-01,-inf\n"),
    ],
)
def test_7_nan_and_infinity_in_other_numeric_columns(tmp_path, capsys, table, file, column, text):
    cfg = write(tmp_path, {"tx.csv": TX, file: text}, f"tables: {{transactions: {{path: tx.csv}}, {table}: {{path: {file}}}}}")
    code, out = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, out, f"table {table}", file, f"column '{column}'", "1 of 2 values", "row 2:", "leave the cell blank")


def test_7_infinity_in_a_parquet_column_is_a_bad_value(tmp_path, capsys):
    import pandas as pd

    pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [1.0, float("inf")]}
    ).to_parquet(tmp_path / "tx.parquet")
    cfg = write(tmp_path, {}, "tables: {transactions: {path: tx.parquet}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "column 'amount'", "1 of 2 values", "row 2: inf")


# --- 9: tracebacks where a message is promised ---------------------------------------


def test_9_impossible_as_of_date_in_the_config(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv": TX}, "as_of: 2024-02-30\ntables: {transactions: {path: tx.csv}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "config.yaml", "line 1", "'2024-02-30' is not a real date", "YYYY-MM-DD")


def test_9_impossible_calibration_end_stops_before_any_notebook(tmp_path, capsys):
    cfg = write(
        tmp_path,
        {"tx.csv": TX},
        "tables: {transactions: {path: tx.csv}}\nnotebooks:\n  clv_bgnbd: {calibration_end: 2024-02-30}\n",
    )
    out = tmp_path / "reports"
    code, text = run(["report", str(cfg), "--out", str(out), "--only", "clv_bgnbd"], capsys)
    assert_clear_error(code, text, "config.yaml", "line 3", "'2024-02-30' is not a real date", "YYYY-MM-DD")
    assert not out.exists()  # nothing ran


def test_9_impossible_date_in_a_real_process_has_no_traceback(tmp_path):
    cfg = write(tmp_path, {"tx.csv": TX}, "as_of: 2024-02-30\ntables: {transactions: {path: tx.csv}}\n")
    proc = subprocess.run([sys.executable, "-m", "engage_kit.cli", "validate", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "2024-02-30" in proc.stderr


@pytest.mark.parametrize(
    ("engine", "fragments"),
    [
        ("{threads: many}", ["engine.threads", "'many'", "whole number"]),
        ("{threads: 0}", ["engine.threads", "'0'", "whole number"]),
        ("{settings: [a, b]}", ["engine.settings", "expected a mapping", "['a', 'b']"]),
    ],
)
def test_9_engine_options_of_the_wrong_type(tmp_path, capsys, engine, fragments):
    cfg = write(tmp_path, {"tx.csv": TX}, f"engine: {engine}\ntables: {{transactions: {{path: tx.csv}}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "config.yaml", *fragments)


def test_9_unknown_date_format_code(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv": TX}, "tables: {transactions: {path: tx.csv, read: {date_format: '%Q-%Y'}}}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "tables.transactions.read.date_format", "'%Q-%Y'", "%d.%m.%Y")


def test_9_demo_data_into_an_existing_file(tmp_path, capsys):
    target = tmp_path / "existing"
    target.write_text("not a folder")
    code, text = run(["demo-data", str(target), "--customers", "10"], capsys)
    assert_clear_error(code, text, str(target), "is a file, not a folder")
    code, text = run(["demo-data", str(target / "sub"), "--customers", "10"], capsys)
    assert_clear_error(code, text, "cannot write the demo dataset", "Not a directory")
    assert target.read_text() == "not a folder"


# --- 11: impossible ticket values -----------------------------------------------------


def test_11_negative_handle_seconds_and_resolved_before_opened_are_left_out(tmp_path, capsys):
    from engage_kit.metrics.service import average_handle_seconds

    tickets = (
        "ticket_id,opened_at,resolved_at,handle_seconds\n"
        "t1,2024-01-01 10:00,2024-01-01 11:00,300\n"
        "t2,2024-01-01 10:00,2024-01-01 10:30,-3000\n"
        "t3,2024-01-02 10:00,2024-01-01 09:00,200\n"
        "t4,2024-01-02 10:00,,100\n"
    )
    cfg = write(tmp_path, {"tx.csv": TX, "t.csv": tickets}, "tables: {transactions: {path: tx.csv}, tickets: {path: t.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "Traceback" not in text
    for fragment in (
        "table tickets", "t.csv", "2 rows have impossible values and are left out of every figure",
        "1 with a negative handle_seconds (e.g. row 2: handle_seconds -3000)",
        "1 with resolved_at before opened_at (e.g. row 3: opened_at 2024-01-02 10:00:00, resolved_at 2024-01-01 09:00:00)",
        "correct them in the source",
    ):
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    ds = ek.open_dataset(cfg)
    assert sorted(ds.to_pandas("tickets").ticket_id) == ["t1", "t4"]
    assert ds.reports["tickets"].rows == 2
    assert average_handle_seconds(ds["tickets"]).value == pytest.approx(200.0)


def test_11_negative_pageviews_and_durations_are_left_out(tmp_path):
    sessions = "session_id,started_at,pageviews,duration_seconds\ns1,2024-01-01,3,60\ns2,2024-01-01,-1,60\ns3,2024-01-01,2,-5\n"
    cfg = write(tmp_path, {"tx.csv": TX, "w.csv": sessions}, "tables: {transactions: {path: tx.csv}, web_sessions: {path: w.csv}}")
    ds = ek.open_dataset(cfg)
    assert ds.to_pandas("web_sessions").session_id.tolist() == ["s1"]
    (warning,) = [w for w in ds.warnings if "impossible" in w]
    assert "row 2: pageviews -1" in warning and "row 3: duration_seconds -5" in warning


# --- 12: column names matched ignoring case, spaces and underscores -------------------


@pytest.mark.parametrize("header", ["Order ID", "ORDER_ID", "orderid", " order id "])
def test_12_order_id_spelled_differently_is_used_and_reported(tmp_path, capsys, header):
    tx = f"customer_id,timestamp,amount,{header}\na,2024-01-01,1,o1\na,2024-01-01,2,o1\nb,2024-01-02,3,o2\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "transactions (" in text and f"using column '{header.strip()}' as order_id" in text
    ds = ek.open_dataset(cfg)
    assert ds.orders.count().execute() == 2  # o1's two lines are one order
    assert sorted(ds.purchases.execute().amount) == [3.0, 3.0]


def test_12_two_columns_matching_one_name_are_an_error(tmp_path, capsys):
    tx = "customer_id,timestamp,amount,Order ID,ORDER_ID\na,2024-01-01,1,o1,x\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "'Order ID'", "'ORDER_ID'", "order_id", "tables.transactions.columns")


# --- 13: duplicate headers, decimal = thousands, NUL bytes ----------------------------


def test_13_duplicate_header_names_are_an_error_naming_both(tmp_path, capsys):
    tx = "customer_id,timestamp,amount,amount\na,2024-01-01,1,2\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "tx.csv", "columns 3 ('amount') and 4 ('amount')", "rename")


def test_13_duplicate_header_names_in_excel(tmp_path, capsys):
    import pandas as pd

    pd.DataFrame([["a", "2024-01-01", 1, 2]], columns=["customer_id", "timestamp", "amount", "amount"]).to_excel(
        tmp_path / "tx.xlsx", index=False
    )
    cfg = write(tmp_path, {}, "tables: {transactions: {path: tx.xlsx}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "columns 3 ('amount') and 4 ('amount')")


def test_13_a_column_really_named_like_a_rename_is_not_a_duplicate(tmp_path):
    tx = "customer_id,timestamp,amount,amount_1\na,2024-01-01,1,2\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    assert ek.open_dataset(cfg).to_pandas("transactions").amount.tolist() == [1.0]


def test_13_decimal_equal_to_thousands_is_a_config_error(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv": TX}, "tables: {transactions: {path: tx.csv, read: {decimal: ',', thousands: ','}}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "config.yaml", "tables.transactions.read", "decimal and thousands are both ','", "different")


def test_13_nul_bytes_are_an_error_with_the_row(tmp_path, capsys):
    tx = b"customer_id,timestamp,amount\na,2024-01-01,1\na\x00,2024-01-02,2\n"
    cfg = write(tmp_path, {"tx.csv": tx}, "tables: {transactions: {path: tx.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "table transactions", "column 'customer_id'", "NUL byte", "row 2", "export it again")


# --- 14: NPS and CES in whole points --------------------------------------------------


def test_14_nps_and_ces_scores_must_be_whole_numbers(tmp_path, capsys):
    surveys = "timestamp,kind,score\n2024-01-01,nps,7.5\n2024-01-01,ces,3.2\n2024-01-01,csat,4.5\n2024-01-01,nps,9.0\n"
    cfg = write(tmp_path, {"tx.csv": TX, "s.csv": surveys}, "tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "table surveys", "column 'score'", "2 nps/ces scores are not whole numbers",
        "row 1: nps 7.5", "row 2: ces 3.2",
    )
    assert "row 3" not in text and "row 4" not in text  # csat 4.5 and nps 9.0 are fine


def test_14_scale_and_whole_number_problems_together(tmp_path, capsys):
    surveys = "timestamp,kind,score\n2024-01-01,nps,11\n2024-01-01,nps,7.5\n"
    cfg = write(tmp_path, {"tx.csv": TX, "s.csv": surveys}, "tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "2 problem(s)", "outside their scale", "row 1: nps 11", "not whole numbers", "row 2: nps 7.5")


# --- 16: every problem in one run -----------------------------------------------------


def test_16_every_problem_of_every_table_in_one_run(tmp_path, capsys):
    cfg = write(
        tmp_path,
        {
            "tx.csv": "customer_id,timestamp,amount\na,notadate,1\nb,2024-01-02,nan\n",
            "s.csv": "timestamp,kind\nyesterday,nps\n",  # score missing and a bad timestamp
            "w.csv": "session_id,started_at,pageviews\ns1,2024-01-01,many\n",
        },
        "tables: {transactions: {path: tx.csv}, tickets: {path: nope.csv}, surveys: {path: s.csv}, web_sessions: {path: w.csv}}",
    )
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(
        code, text, "6 problem(s)",
        "table transactions", "column 'timestamp'", "row 1: 'notadate'", "column 'amount'", "row 2: 'nan'",
        "table tickets", "nope.csv", "file not found",
        "table surveys", "required column 'score' is missing", "row 1: 'yesterday'",
        "table web_sessions", "column 'pageviews'", "row 1: 'many'",
    )


# --- the same checks on Spark (where Ibis's isinf() compiles to FALSE) ----------------


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_7_11_13_14_the_checks_hold_on_spark(tmp_path):
    import shutil

    pytest.importorskip("pyspark")
    if not shutil.which("java"):
        pytest.skip("Java is not installed (Spark needs Java 17 or newer)")
    from engage_kit.config import EngineConfig, load_config
    from engage_kit.engine import connect
    from engage_kit.errors import DataError
    from engage_kit.loaders import load_dataset

    bad = write(
        tmp_path,
        {
            "tx.csv": b"customer_id,timestamp,amount,amount\na,2024-01-01,1,1\n",
            "tx2.csv": b"customer_id,timestamp,amount\na,2024-01-01,inf\nb\x00,2024-01-02,-inf\nc,2024-01-02,nan\n",
            "s.csv": "timestamp,kind,score\n2024-01-01,nps,7.5\n",
        },
        "tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}",
    )
    con = connect(EngineConfig(kind="spark", master="local[1]"))
    try:
        with pytest.raises(DataError) as err:
            load_dataset(load_config(bad), con=con)
        msg = str(err.value)
        assert "columns 3 ('amount') and 4 ('amount')" in msg and "row 1: nps 7.5" in msg
        (tmp_path / "config.yaml").write_text("tables: {transactions: {path: tx2.csv}}")
        with pytest.raises(DataError) as err:
            load_dataset(load_config(tmp_path / "config.yaml"), con=con)
        msg = str(err.value)
        assert "3 of 3 values are not numbers" in msg and "row 1: 'inf'" in msg and "row 2: '-inf'" in msg
        assert "NUL byte" in msg and "row 2" in msg
        tickets = "ticket_id,opened_at,resolved_at,handle_seconds\nt1,2024-01-01,2024-01-01,60\nt2,2024-01-01,2023-12-31,60\n"
        good = write(tmp_path, {"tx.csv": TX, "t.csv": tickets}, "tables: {transactions: {path: tx.csv}, tickets: {path: t.csv}}")
        ds = load_dataset(load_config(good), con=con)
        assert ds.to_pandas("tickets").ticket_id.tolist() == ["t1"]
        assert any("1 with resolved_at before opened_at (e.g. row 2" in w for w in ds.warnings)
    finally:
        con.disconnect()


def test_10_a_typo_date_in_2099_does_not_move_as_of(tmp_path, capsys):
    text = "customer_id,timestamp,amount\na,2024-01-01,5\nb,2024-02-01,6\nc,2099-12-31,7\nd,1970-01-01,3\n"
    cfg = write(tmp_path, {"tx.csv": text}, "tables: {transactions: {path: tx.csv}}")
    ds = ek.open_dataset(cfg)
    assert ds.as_of == pd.Timestamp("2024-02-01")
    notes = " ".join(ds.warnings)
    assert "2 rows have a timestamp before 1990-01-01 or after" in notes and "row 3: '2099-12-31" in notes
    assert "as_of is 2024-02-01, the last date before the implausible future dates" in notes
    code, out = run(["validate", str(cfg)], capsys)
    assert code == 0 and "check them for typos" in out
