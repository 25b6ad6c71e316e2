"""Loaders: CSV, Parquet, Excel, German-format CSV, type coercion, and every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import engage_kit as ek
from engage_kit.cli import main
from engage_kit.errors import DataError
from tests.helpers import write

GOOD = """customer_id,timestamp,amount,order_id
c1,2024-01-05 10:00:00,10.50,o1
c1,2024-01-05 10:00:00,4.50,o1
c2,2024-02-01,20,o2
c1,2024-03-10,-5,o1
c3,2024-03-11,0,o3
"""




def validate(cfg: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(cfg)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_csv_loads_and_types_are_canonical(tmp_path):
    cfg = write(tmp_path, {"tx.csv": GOOD}, "tables: {transactions: {path: tx.csv, returns: {match: none}}}")
    ds = ek.open_dataset(cfg)
    tx = ds.to_pandas("transactions")
    assert len(tx) == 5
    assert str(tx.customer_id.dtype) in ("string", "str", "object")
    assert pd.api.types.is_datetime64_any_dtype(tx.timestamp)
    assert tx.amount.dtype == "float64"
    assert ds.as_of == pd.Timestamp("2024-03-11")
    orders = ds.orders.execute().sort_values(["order_id", "is_return"])
    # o1's two lines are one order of 15.00; its return is kept apart
    o1 = orders[orders.order_id == "o1"]
    assert o1.amount.tolist() == [15.0, -5.0]
    assert o1.is_return.tolist() == [False, True]
    assert ds.purchases.count().execute() == 3
    assert any("negative amounts" in w for w in ds.warnings)
    assert any("amount of 0" in w for w in ds.warnings)


def test_a_return_under_its_order_number_nets_the_order_by_default(tmp_path):
    cfg = write(tmp_path, {"tx.csv": GOOD}, "tables: {transactions: {path: tx.csv}}")
    ds = ek.open_dataset(cfg)
    orders = ds.orders.execute().set_index("order_id")
    assert orders.loc["o1", "amount"] == pytest.approx(10.0) and not orders["is_return"].any()
    assert ds.to_pandas("transactions").amount.sum() == pytest.approx(30.0)  # net revenue unchanged
    assert any("1 matched to a purchase" in w and "1 reduced" in w for w in ds.warnings)


def test_parquet_and_excel(tmp_path):
    df = pd.DataFrame(
        {
            "cust": ["a", "b", "a"],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"]),
            "value": [1.0, 2.0, 3.0],
        }
    )
    df.to_parquet(tmp_path / "tx.parquet")
    df.to_excel(tmp_path / "tx.xlsx", index=False)
    mapping = "columns: {customer_id: cust, timestamp: when, amount: value}"
    for name in ("tx.parquet", "tx.xlsx"):
        cfg = write(tmp_path, {}, f"tables: {{transactions: {{path: {name}, {mapping}}}}}")
        tx = ek.open_dataset(cfg).to_pandas("transactions")
        assert tx.amount.sum() == 6.0, name
        assert tx.timestamp.max() == pd.Timestamp("2024-02-01"), name


def test_german_csv(tmp_path):
    text = "Kundennummer;Bestelldatum;Umsatz\nK-1;05.01.2024;1.234,50\nK-2;31.12.2023;0,99\n"
    (tmp_path / "orders.csv").write_bytes(text.encode("latin-1"))
    cfg = write(
        tmp_path,
        {},
        """
        tables:
          transactions:
            path: orders.csv
            read: {sep: ";", decimal: ",", thousands: ".", encoding: latin-1, date_format: "%d.%m.%Y"}
            columns: {customer_id: Kundennummer, timestamp: Bestelldatum, amount: Umsatz}
        """,
    )
    tx = ek.open_dataset(cfg).to_pandas("transactions").sort_values("customer_id")
    assert tx.amount.tolist() == [1234.5, 0.99]
    assert tx.timestamp.tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2023-12-31")]


def test_time_zones_become_local_naive(tmp_path):
    text = "customer_id,timestamp,amount\na,2024-03-31T23:30:00+00:00,1\nb,2024-03-31 10:00:00,1\n"
    cfg = write(tmp_path, {"tx.csv": text}, "timezone: Europe/Berlin\ntables: {transactions: {path: tx.csv}}")
    tx = ek.open_dataset(cfg).to_pandas("transactions").sort_values("customer_id")
    # 23:30 UTC is 01:30 the next day in Berlin (summer time): it belongs to April
    assert tx.timestamp.tolist() == [pd.Timestamp("2024-04-01 01:30"), pd.Timestamp("2024-03-31 10:00")]


def test_booleans_and_blank_cells(tmp_path):
    cfg = write(
        tmp_path,
        {
            "tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\n",
            "customers.csv": "customer_id,churned,plan\na,Yes,\nb,no,pro\nc,1,basic\nd,,basic\n",
        },
        "tables: {transactions: {path: tx.csv}, customers: {path: customers.csv}}",
    )
    cust = ek.open_dataset(cfg).to_pandas("customers").set_index("customer_id")
    assert cust.churned.tolist()[:3] == [True, False, True]
    assert pd.isna(cust.churned["d"])
    assert pd.isna(cust.plan["a"]) and cust.plan["b"] == "pro"


def test_as_of_is_inclusive_and_later_rows_are_dropped(tmp_path):
    text = "customer_id,timestamp,amount\na,2024-01-31 23:59:59,1\nb,2024-02-01 00:00:00,1\n"
    cfg = write(tmp_path, {"tx.csv": text}, "as_of: 2024-01-31\ntables: {transactions: {path: tx.csv}}")
    ds = ek.open_dataset(cfg)
    assert ds.to_pandas("transactions").customer_id.tolist() == ["a"]
    assert any("after as_of" in w for w in ds.warnings)


def test_duplicate_rows_dropped_with_warning(tmp_path):
    text = "customer_id,timestamp,amount,order_id\na,2024-01-01,1,o1\na,2024-01-01,1,o1\nb,2024-01-02,2,o2\n"
    cfg = write(tmp_path, {"tx.csv": text}, "tables: {transactions: {path: tx.csv}}")
    ds = ek.open_dataset(cfg)
    assert ds.reports["transactions"].rows == 2
    assert any("1 rows repeat an earlier row in every column and are dropped (row 2 repeats row 1)" in w
               for w in ds.warnings)


def test_without_order_id_every_row_is_one_order(tmp_path):
    # two identical rows without an order id are two purchases (CDNOW has such rows)
    text = "customer_id,timestamp,amount\na,2024-01-01,1\na,2024-01-01,1\nb,2024-01-02,2\n"
    cfg = write(tmp_path, {"tx.csv": text}, "tables: {transactions: {path: tx.csv}}")
    ds = ek.open_dataset(cfg)
    assert ds.reports["transactions"].rows == 3
    assert ds.orders.count().execute() == 3
    assert not any("duplicated" in w for w in ds.warnings)


BAD_CASES = {
    "missing_file": (
        {},
        "tables: {transactions: {path: nope.csv}}",
        ["nope.csv", "file not found"],
    ),
    "empty_file": ({"tx.csv": ""}, "tables: {transactions: {path: tx.csv}}", ["tx.csv", "empty"]),
    "header_only": (
        {"tx.csv": "customer_id,timestamp,amount\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["tx.csv", "empty", "no rows"],
    ),
    "missing_required_column": (
        {"tx.csv": "customer,timestamp,amount\na,2024-01-01,1\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["transactions", "customer_id", "did you mean 'customer'"],
    ),
    "mapping_to_absent_column": (
        {"tx.csv": "kunde,timestamp,amount\na,2024-01-01,1\n"},
        "tables: {transactions: {path: tx.csv, columns: {customer_id: kunden}}}",
        ["transactions", "kunden", "did you mean 'kunde'"],
    ),
    "bad_timestamps": (
        {"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\nb,yesterday,2\nc,31/12/2024,3\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["transactions", "timestamp", "row 2: 'yesterday'", "row 3: '31/12/2024'", "date_format"],
    ),
    "bad_amounts": (
        {"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-01-02,abc\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["transactions", "amount", "not numbers", "row 2: 'abc'"],
    ),
    "conflicting_order_ids": (
        {"tx.csv": "customer_id,timestamp,amount,order_id\na,2024-01-01,1,o1\nb,2024-01-01,1,o1\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["transactions", "order_id", "o1", "customer 'a'", "customer 'b'"],
    ),
    "customer_id_missing": (
        {"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\n,2024-01-02,2\n"},
        "tables: {transactions: {path: tx.csv}}",
        ["transactions", "customer_id", "empty in 1", "row 2"],
    ),
    "score_out_of_scale": (
        {
            "tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\n",
            "s.csv": "timestamp,kind,score\n2024-01-01,nps,11\n2024-01-01,csat,0\n2024-01-01,nps,7\n",
        },
        "tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}",
        ["surveys", "score", "row 1: nps 11", "row 2: csat 0"],
    ),
    "unknown_keys_all_at_once": (
        {"tx.csv": GOOD},
        "titel: x\nperiode: M\ntables: {transaction: {path: tx.csv}}",
        ["'titel'", "did you mean 'title'", "'periode'", "did you mean 'period'", "tables.transaction", "'transactions'"],
    ),
    "invalid_yaml": ({}, "tables: {transactions: [path: x.csv\n", ["not valid YAML", "line"]),
    "unknown_read_option": (
        {"tx.csv": GOOD},
        "tables: {transactions: {path: tx.csv, read: {delimiter: ';'}}}",
        ["tables.transactions.read.delimiter"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_a_clear_error_with_exit_code_2(tmp_path, capsys, case):
    files, config, expected = BAD_CASES[case]
    cfg = write(tmp_path, files, config)
    code, text = validate(cfg, capsys)
    assert code == 2, text
    assert "Traceback" not in text
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def test_all_problems_of_all_tables_reported_together(tmp_path):
    cfg = write(
        tmp_path,
        {
            "tx.csv": "customer_id,timestamp,amount\na,notadate,1\n",
            "t.csv": "ticket_id,opened_at\nt1,2024-01-01\n,2024-01-02\n",
        },
        "tables: {transactions: {path: tx.csv}, tickets: {path: t.csv}}",
    )
    with pytest.raises(DataError) as err:
        ek.open_dataset(cfg)
    msg = str(err.value)
    assert "2 problem(s)" in msg and "timestamp" in msg and "ticket_id" in msg


def test_cli_prints_no_traceback_in_a_real_process(tmp_path):
    cfg = write(tmp_path, {"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,x\n"}, "tables: {transactions: {path: tx.csv}}")
    proc = subprocess.run(
        [sys.executable, "-m", "engage_kit.cli", "validate", str(cfg)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "amount" in proc.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "engage_kit.cli", "validate", str(cfg), "--debug"], capture_output=True, text=True
    )
    assert "Traceback" in debug.stderr


def test_snapshot_round_trip(tmp_path, small_demo):
    from engage_kit.loaders import open_snapshot, write_snapshot

    write_snapshot(small_demo, tmp_path / "snap")
    snap = open_snapshot(tmp_path / "snap")
    assert set(snap.tables) == set(small_demo.tables)
    assert snap.as_of == small_demo.as_of
    for name in small_demo.tables:
        assert snap[name].count().execute() == small_demo[name].count().execute()
    assert ek.open_dataset(tmp_path / "snap").reports["transactions"].rows == small_demo.reports["transactions"].rows


def test_a_snapshot_carries_the_memory_limit_of_the_notebooks_that_read_it(tmp_path, small_demo):
    from engage_kit.loaders import open_snapshot, write_snapshot

    write_snapshot(small_demo, tmp_path / "snap", memory_limit="700MB")
    snap = open_snapshot(tmp_path / "snap")
    assert snap.config.engine.memory_limit == "700MB"
    got = snap.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert got == "667.5 MiB"  # 700,000,000 bytes, in the units DuckDB shows
    write_snapshot(small_demo, tmp_path / "snap2")  # no share: the config's own engine settings
    assert open_snapshot(tmp_path / "snap2").config.engine.memory_limit == small_demo.config.engine.memory_limit


def test_the_activity_window_is_worked_out_once_per_run(tmp_path, small_demo, monkeypatch):
    """The run keeps the window chosen from the data in its snapshot; a notebook reads it
    there (no pass over the purchases) unless its parameter or the config sets one."""
    import json

    from engage_kit import activity, nb
    from engage_kit.loaders import open_snapshot, write_snapshot
    from engage_kit.report import runner

    chosen = runner._activity(small_demo)
    assert chosen == activity.active_window(small_demo["transactions"], as_of=small_demo.as_of)
    assert chosen.source == "data" and chosen.gaps > 0
    write_snapshot(small_demo, tmp_path / "snap", activity=chosen)
    assert json.loads((tmp_path / "snap" / "snapshot.json").read_text())["activity"]["days"] == chosen.days

    def no_pass(*args, **kwargs):
        raise AssertionError("the window was worked out again")

    ctx = nb.Context(name="x", ds=open_snapshot(tmp_path / "snap"), output_dir=tmp_path / "out", params={})
    monkeypatch.setattr(activity, "purchase_gap_counts", no_pass)
    assert ctx.active() == chosen and ctx.active().to_dict() == chosen.to_dict()
    assert ctx.active(30).days == 30 and ctx.active(30).source == "parameter"  # the parameter still wins
    monkeypatch.undo()
    # a config that sets the window: nothing is kept, the config's value is used
    configured = ek.open_dataset(small_demo.config.source)
    configured.config.active_days = 60
    assert runner._activity(configured) is None
    write_snapshot(configured, tmp_path / "snap60", activity=runner._activity(configured))
    assert "activity" not in json.loads((tmp_path / "snap60" / "snapshot.json").read_text())
    ctx = nb.Context(name="x", ds=open_snapshot(tmp_path / "snap60"), output_dir=tmp_path / "out", params={})
    assert (ctx.active().days, ctx.active().source) == (60, "config")


# --- a real PostgreSQL server as a source --------------------------------------------

from .pgserver import PgServer, pg_bin  # noqa: E402


@pytest.fixture(scope="module")
def pg(small_demo_config):
    if pg_bin() is None:
        pytest.skip("PostgreSQL server not installed (Debian package 'postgresql'); .ci/run installs it")
    server = PgServer().start()
    import psycopg

    tx = pd.read_parquet(small_demo_config.parent / "transactions.parquet")
    with psycopg.connect(server.url(), password=server.password, autocommit=True) as c:
        c.execute(
            "CREATE TABLE orders (order_id text, customer_id text, ts timestamp, amount numeric(12,2), "
            "quantity integer, channel text)"
        )
        with c.cursor().copy("COPY orders FROM STDIN") as copy:
            for r in tx.itertuples(index=False):
                copy.write_row((r.order_id, r.customer_id, r.timestamp.to_pydatetime(), r.amount, int(r.quantity), r.channel))
    yield server
    server.stop()


def _pg_config(tmp_path: Path, server, extra: str = "") -> Path:
    cfg = tmp_path / "pg.yaml"
    cfg.write_text(
        "tables:\n  transactions:\n"
        f"    connection: {server.url()}\n"
        "    password_env: EK_TEST_PG_PASSWORD\n"
        f"{extra or '    table: orders'}\n"
        "    columns: {timestamp: ts}\n"
    )
    return cfg


def test_postgres_source_gives_the_same_figures_as_parquet(pg, tmp_path, monkeypatch, small_demo_config):
    from engage_kit.clv import customer_summary

    monkeypatch.setenv("EK_TEST_PG_PASSWORD", pg.password)
    from_db = ek.open_dataset(_pg_config(tmp_path, pg))
    from_files = ek.open_dataset(small_demo_config)
    a, b = from_db.reports["transactions"], from_files.reports["transactions"]
    assert (a.rows, a.customers, a.start, a.end) == (b.rows, b.customers, b.start, b.end)
    end = from_files.as_of
    s_db = customer_summary(from_db.purchases, end=end).execute().sort_values("customer_id").reset_index(drop=True)
    s_f = customer_summary(from_files.purchases, end=end).execute().sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(s_db, s_f, check_dtype=False, atol=1e-9)
    # a query works as a source too
    q = ek.open_dataset(_pg_config(tmp_path, pg, "    sql: SELECT * FROM orders WHERE amount > 0"))
    assert q.reports["transactions"].rows < a.rows


def test_postgres_wrong_password_and_unreachable_are_clear_errors(pg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EK_TEST_PG_PASSWORD", "wrong-password-123")
    code, text = validate(_pg_config(tmp_path, pg), capsys)
    assert code == 2 and "cannot connect" in text and "wrong-password-123" not in text
    assert pg.password not in text
    monkeypatch.delenv("EK_TEST_PG_PASSWORD")
    code, text = validate(_pg_config(tmp_path, pg), capsys)
    assert code == 2 and "EK_TEST_PG_PASSWORD" in text and "is not set" in text
    monkeypatch.setenv("EK_TEST_PG_PASSWORD", pg.password)
    cfg = tmp_path / "down.yaml"
    cfg.write_text(
        "tables:\n  transactions:\n    connection: postgresql://ek:inline-secret@127.0.0.1:1/nodb\n    table: orders\n"
    )
    code, text = validate(cfg, capsys)
    assert code == 2 and "cannot connect" in text and "inline-secret" not in text and "Traceback" not in text


def test_an_order_id_of_two_customers_is_an_error_and_guest_rows_do_not_count(tmp_path):
    """One order, one customer: o1 on c1 and c2 is named with its rows; o2 with a guest row
    (no customer) beside c3's rows is no conflict."""
    csv = (
        "customer_id,timestamp,amount,order_id\n"
        "c1,2024-01-05,10,o1\n"
        "c3,2024-01-06,5,o2\n"
        "c2,2024-01-07,4,o1\n"
        ",2024-01-08,3,o2\n"
        "c3,2024-01-09,2,o2\n"
        "c4,2024-01-10,1,o3\n"
    )
    cfg = write(tmp_path, {"tx.csv": csv}, "tables: {transactions: {path: tx.csv, missing_customer_id: guest}}")
    with pytest.raises(DataError) as e:
        ek.open_dataset(cfg)
    text = str(e.value)
    assert "1 order_id(s) belong to more than one customer" in text
    assert "order 'o1' (row 1: customer 'c1', row 3: customer 'c2')" in text
    assert "o2" not in text
