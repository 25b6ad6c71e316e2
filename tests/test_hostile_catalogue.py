"""The catalogue of hostile CLI input: what every kind of bad input gets.

One table, one row per case: bad files, bad values, bad configs, bad ``--out`` targets,
bad flags and bad ``--set`` values. Each case builds its files in a fresh folder, runs
``engage_kit.cli.main`` there (the folder is the current directory, so commands read as a
user types them) and must give exit code 2, no Python traceback, the key phrases of its
message, and leave every file and folder as it was (no notebook started, no output
written). No case needs a notebook to run: ``validate``, or ``report`` input that fails
before the first notebook starts.

A case marked ``surprise`` does not keep the contract yet (a traceback, another exit
code, output written); it is an expected failure (strict: once fixed it fails the suite,
so that the mark is removed) and the table says why. A ``note`` marks a case that keeps
the contract with a message that could be clearer.

Print the catalogue as Markdown (the committed copy is ``tests/hostile_catalogue.md``)::

    .venv/bin/python -m tests.test_hostile_catalogue > tests/hostile_catalogue.md
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shlex
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engage_kit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
CATALOGUE = Path(__file__).parent / "hostile_catalogue.md"
REGENERATE = ".venv/bin/python -m tests.test_hostile_catalogue > tests/hostile_catalogue.md"
pytestmark = pytest.mark.xdist_group("report-fixtures")

TX = "customer_id,timestamp,amount\na,2024-01-01,10\nb,2024-01-02,20\n"
TABLES = "tables: {transactions: {path: tx.csv}}\n"
REPORT = "report config.yaml --out out --only ok_report"  # the fixture notebook, never reached


@dataclass
class Case:
    """One hostile input: the command, the files it finds, the phrases its message must hold."""

    name: str
    what: str  # the kind of input: file, value, config, out, flag, set, demo-data
    command: str  # the arguments after ``engage-kit``, run in the case's folder
    phrases: tuple[str, ...]
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # None: an empty folder
    notebooks: str = "fixtures"  # "fixtures" (tests/fixtures/notebooks) or "real" (notebooks/)
    surprise: str | None = None  # why this case does not keep the contract yet (an expected failure)
    note: str | None = None  # keeps the contract, but the message could be clearer

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


def case(name: str, what: str, command: str, *phrases: str, **kw) -> Case:
    files = {"tx.csv": TX, "config.yaml": TABLES}
    files.update(kw.pop("files", {}))
    return Case(name, what, command, phrases, files=files, **kw)


def cfg(text: str, **files: str | bytes | None) -> dict[str, str | bytes | None]:
    """``config.yaml`` with ``text`` (dedented) and more files (``tx_csv`` is ``tx.csv``)."""
    out: dict[str, str | bytes | None] = {"config.yaml": textwrap.dedent(text)}
    out.update({k.replace("_csv", ".csv").replace("__", "/"): v for k, v in files.items()})
    return out


CASES = [
    # --- bad files ----------------------------------------------------------------------
    case("config file missing", "file", "validate nope.yaml", "config file nope.yaml does not exist"),
    case("config is a folder", "file", "validate conf", "config conf is a folder", "YAML file inside it",
         files={"conf": None}),
    case("config not YAML", "file", "validate config.yaml", "is not valid YAML", "at line 2",
         files=cfg("tables: {transactions: [path: tx.csv\n")),
    case("config empty", "file", "validate config.yaml", "config.yaml is empty", "tables:", files=cfg("")),
    case("config not UTF-8", "file", "validate config.yaml", "config.yaml cannot be read", "utf-8",
         files={"config.yaml": b"title: Caf\xe9\n" + TABLES.encode()}),
    case("config a list, not a mapping", "file", "validate config.yaml", "expected a mapping of keys", "got list",
         files=cfg("- tables\n- transactions\n")),
    case("table file missing", "file", "validate config.yaml", "table transactions", "nope.csv", "file not found",
         files=cfg("tables: {transactions: {path: nope.csv}}\n")),
    case("table file empty", "file", "validate config.yaml", "table transactions", "tx.csv", "empty",
         files={"tx.csv": ""}),
    case("table header only", "file", "validate config.yaml", "tx.csv", "no rows",
         files={"tx.csv": "customer_id,timestamp,amount\n"}),
    case("table of an unknown file type", "file", "validate config.yaml", "unknown file type '.json'", ".csv, .parquet or .xlsx",
         files=cfg("tables: {transactions: {path: tx.json}}\n", **{"tx.json": "{}"})),
    case("parquet file that is not Parquet", "file", "validate config.yaml", "table transactions", "tx.parquet",
         "cannot be read", "Parquet", files=cfg("tables: {transactions: {path: tx.parquet}}\n", **{"tx.parquet": "hello"})),
    case("Excel file that is not Excel", "file", "validate config.yaml", "table transactions", "tx.xlsx", "cannot be read",
         files=cfg("tables: {transactions: {path: tx.xlsx}}\n", **{"tx.xlsx": "hello"}),
         note="pandas' words: 'specify an engine manually', which no config option does; say the file is not an Excel workbook"),
    case("table path is a folder", "file", "validate config.yaml", "table transactions", "cannot be read",
         files=cfg("tables: {transactions: {path: data}}\n", data=None),
         note="DuckDB's words: 'No files found that match the pattern'; say it is a folder and to name the file inside it"),
    case("table path under an unknown user's home", "file", "validate config.yaml", "~nouser",
         files=cfg("tables: {transactions: {path: ~nouser/tx.csv}}\n"),),
    case("config path under an unknown user's home", "file", "validate ~nouser/config.yaml", "~nouser",),
    case("NUL byte in a cell", "file", "validate config.yaml", "column 'customer_id'", "NUL byte", "row 2", "export it again",
         files={"tx.csv": b"customer_id,timestamp,amount\na,2024-01-01,1\na\x00,2024-01-02,2\n"}),
    case("duplicate header", "file", "validate config.yaml", "columns 3 ('amount') and 4 ('amount')", "rename",
         files={"tx.csv": "customer_id,timestamp,amount,amount\na,2024-01-01,1,2\n"}),
    # --- bad values ---------------------------------------------------------------------
    case("missing column, did you mean", "value", "validate config.yaml", "table transactions", "customer_id",
         "did you mean 'customer'", files={"tx.csv": "customer,timestamp,amount\na,2024-01-01,1\n"}),
    case("mapped column absent", "value", "validate config.yaml", "kunden", "did you mean 'kunde'",
         files=cfg("tables: {transactions: {path: tx.csv, columns: {customer_id: kunden}}}\n",
                   tx_csv="kunde,timestamp,amount\na,2024-01-01,1\n")),
    case("unparseable dates", "value", "validate config.yaml", "column 'timestamp'", "row 2: 'yesterday'",
         "row 3: '31/12/2024'", "date_format",
         files={"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\nb,yesterday,2\nc,31/12/2024,3\n"}),
    case("text in amount", "value", "validate config.yaml", "column 'amount'", "not numbers", "row 2: 'abc'",
         files={"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-01-02,abc\n"}),
    case("NaN and infinite amounts", "value", "validate config.yaml", "column 'amount'", "row 1: 'nan'", "row 2: 'inf'",
         "leave the cell blank", files={"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,nan\nb,2024-01-02,inf\nc,2024-01-03,5\n"}),
    case("empty customer_id", "value", "validate config.yaml", "customer_id", "empty in 1", "row 2",
         files={"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\n,2024-01-02,2\n"}),
    case("NPS 7.5", "value", "validate config.yaml", "table surveys", "not whole numbers", "row 1: nps 7.5",
         files=cfg("tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}\n",
                   s_csv="timestamp,kind,score\n2024-01-01,nps,7.5\n2024-01-01,nps,9\n")),
    case("NPS 11, outside its scale", "value", "validate config.yaml", "table surveys", "row 1: nps 11",
         files=cfg("tables: {transactions: {path: tx.csv}, surveys: {path: s.csv}}\n",
                   s_csv="timestamp,kind,score\n2024-01-01,nps,11\n2024-01-01,nps,9\n")),
    case("wrong separator", "value", "validate config.yaml", "required column 'customer_id' is missing",
         files=cfg("tables: {transactions: {path: tx.csv, read: {sep: ';'}}}\n"),
         note="'did you mean 'customer_id,timestamp,amount'? map it with columns: {customer_id: customer_id,timestamp,amount}': "
              "the header is one column, so the separator is wrong; say that and name the separator seen"),
    case("one column mapped to two names", "value", "validate config.yaml", "required column 'amount' is missing",
         files=cfg("tables: {transactions: {path: tx.csv, columns: {customer_id: amount}}}\n"),
         note="says 'amount' is missing while listing 'amount' among the file's columns; say it is already mapped to customer_id"),
    case("customers table alone without churned", "value", "validate config.yaml", "no report can run", "churned column",
         files=cfg("tables: {customers: {path: c.csv}}\n", c_csv="customer_id,segment\na,x\nb,y\n")),
    # --- bad configs --------------------------------------------------------------------
    case("unknown config keys", "config", "validate config.yaml", "unknown key 'titel'", "did you mean 'title'",
         "unknown key 'tables.transactions.read.delimiter'",
         files=cfg("titel: x\ntables: {transactions: {path: tx.csv, read: {delimiter: ';'}}}\n")),
    case("no tables", "config", "validate config.yaml", "tables: missing", "transactions: {path: ...}",
         files=cfg("title: ACME\n")),
    case("bad period", "config", "validate config.yaml", "period: 'Y' is not one of W, M, Q", files=cfg("period: Y\n" + TABLES)),
    case("bad timezone", "config", "validate config.yaml", "timezone: 'Mars/Olympus' is not a known time zone", "Europe/Berlin",
         files=cfg("timezone: Mars/Olympus\n" + TABLES)),
    case("as_of 2024-02-30", "config", "validate config.yaml", "line 1", "'2024-02-30' is not a real date", "YYYY-MM-DD",
         files=cfg("as_of: 2024-02-30\n" + TABLES)),
    case("as_of not ISO", "config", "validate config.yaml", "as_of: '31.12.2024' is not a date", "YYYY-MM-DD",
         files=cfg('as_of: "31.12.2024"\n' + TABLES)),
    case("engine threads many", "config", "validate config.yaml", "engine.threads: 'many'", "whole number",
         files=cfg("engine: {threads: many}\n" + TABLES)),
    case("engine kind misspelt", "config", "validate config.yaml", "engine.kind: 'duckbd'", "did you mean 'duckdb'",
         files=cfg("engine: {kind: duckbd}\n" + TABLES)),
    case("active_days 0", "config", "validate config.yaml", "active_days: '0' is not a number of days", ">= 1",
         files=cfg("active_days: 0\n" + TABLES)),
    case("decimal == thousands", "config", "validate config.yaml", "decimal and thousands are both ','", "different",
         files=cfg("tables: {transactions: {path: tx.csv, read: {decimal: ',', thousands: ','}}}\n")),
    case("unknown date_format code", "config", "validate config.yaml", "tables.transactions.read.date_format", "'%Q-%Y'",
         files=cfg("tables: {transactions: {path: tx.csv, read: {date_format: '%Q-%Y'}}}\n")),
    case("returns.match_days negative", "config", "validate config.yaml", "tables.transactions.returns.match_days", ">= 0",
         files=cfg("tables: {transactions: {path: tx.csv, returns: {match_days: -1}}}\n")),
    case("missing_customer_id misspelt", "config", "validate config.yaml", "missing_customer_id: 'gues'", "did you mean 'guest'",
         files=cfg("tables: {transactions: {path: tx.csv, missing_customer_id: gues}}\n")),
    case("unknown notebook in the config", "config", "validate config.yaml", "unknown key 'notebooks.clv'", "did you mean 'clv_bgnbd'",
         files=cfg(TABLES + "notebooks: {clv: {horizon: 26}}\n")),
    case("validate: bad notebook parameter in the config", "config", "validate config.yaml", "inactivity_days", "whole number",
         files=cfg(TABLES + 'notebooks: {churn_prediction: {inactivity_days: "many"}}\n'), notebooks="real",),
    # --- bad --out targets --------------------------------------------------------------
    case("--out at a folder with documents", "out", "report config.yaml --out documents --only ok_report",
         "holds files the kit did not write", "thesis.docx", ".engage-kit-report",
         files={"documents/thesis.docx": b"my only copy"}),
    case("--out an existing file", "out", "report config.yaml --out notes.txt --only ok_report", "is an existing file",
         files={"notes.txt": "do not delete"}),
    case("--out /", "out", "report config.yaml --out / --only ok_report", "refusing to write reports over the file system's root"),
    case("--out . (the current folder)", "out", "report config.yaml --out . --only ok_report", "current folder"),
    case("--out at the data folder", "out", "report config.yaml --out data --only ok_report", "which this run reads", "tx.csv",
         files=cfg("tables: {transactions: {path: data/tx.csv}}\n", data__tx_csv=TX)),
    case("--out empty", "out", "report config.yaml --out '' --only ok_report", "--out",),
    case("--out under an unknown user's home", "out", "report config.yaml --out ~nouser/out --only ok_report", "~nouser",),
    # --- bad flags ----------------------------------------------------------------------
    case("--jobs 0", "flag", f"{REPORT} --jobs 0", "--jobs must be at least 1, got 0"),
    case("--jobs many", "flag", f"{REPORT} --jobs many", "argument --jobs: invalid int value: 'many'"),
    case("--timeout -1", "flag", f"{REPORT} --timeout -1", "--timeout must be a positive number of seconds, got -1"),
    case("--timeout nan", "flag", f"{REPORT} --timeout nan", "--timeout must be a positive number of seconds",),
    case("--timeout inf", "flag", f"{REPORT} --timeout inf", "--timeout must be a positive number of seconds",),
    case("CONFIG and --dataset", "flag", "report config.yaml --dataset demo --out out", "give either CONFIG or --dataset, not both"),
    case("unknown --dataset", "flag", "report --dataset acme --out out", "argument --dataset: invalid choice: 'acme'"),
    case("--only an unknown notebook", "flag", "report config.yaml --out out --only ok_reprt", "unknown notebook(s): 'ok_reprt'",
         "did you mean 'ok_report'"),
    # --- bad --set values and notebook parameters ---------------------------------------
    case("--set unknown notebook", "set", f"{REPORT} --set ok_reprt.rate=1", "unknown notebook 'ok_reprt'", "did you mean 'ok_report'"),
    case("--set unknown parameter", "set", f"{REPORT} --set ok_report.rat=1", "no parameter 'rat'", "did you mean 'rate'",
         "its parameters: label, rate, steps"),
    case("--set without =", "set", f"{REPORT} --set ok_report.rate", "write it as NOTEBOOK.PARAMETER=VALUE"),
    case("--set text for a whole number", "set", f"{REPORT} --set ok_report.steps=many", "ok_report.steps=many",
         "expected a whole number, got 'many'", "like the default, 3"),
    case("--set text for a number", "set", f"{REPORT} --set ok_report.rate=half", "expected a number, got 'half'"),
    case("--set a parameter the runner sets", "set", f"{REPORT} --set ok_report.output_dir=elsewhere",
         "'output_dir' is set by the runner from --out"),
    case("--set every problem at once", "set", f"{REPORT} --set ok_report.steps=x --set ok_report.rate=y --set ok_report.nope=1",
         "ok_report.steps=x", "ok_report.rate=y", "no parameter 'nope'"),
    case("--set calibration_end=2024-02-30", "set", "report config.yaml --out out --only clv_bgnbd --set clv_bgnbd.calibration_end=2024-02-30",
         "'2024-02-30' is not a date", "YYYY-MM-DD, e.g. 2024-06-30", notebooks="real"),
    case("--set as_of with a time zone", "set", "report config.yaml --out out --only churn_prediction --set churn_prediction.as_of=2024-06-30T00:00+02:00",
         "has a time zone", notebooks="real"),
    case("config notebooks: quoted impossible date", "set", "report config.yaml --out out --only clv_bgnbd",
         "config notebooks.clv_bgnbd.calibration_end: '2024-02-30' is not a date", notebooks="real",
         files=cfg(TABLES + 'notebooks: {clv_bgnbd: {calibration_end: "2024-02-30"}}\n')),
    case("config notebooks: yesterday for a date", "set", "report config.yaml --out out --only churn_prediction",
         "notebooks.churn_prediction.cutoff: 'yesterday' is not a date", notebooks="real",
         files=cfg(TABLES + "notebooks: {churn_prediction: {cutoff: yesterday}}\n")),
    case("config notebooks: inactivity_days many", "set", "report config.yaml --out out --only churn_prediction",
         "notebooks.churn_prediction.inactivity_days: expected a whole number, got 'many'", notebooks="real",
         files=cfg(TABLES + 'notebooks: {churn_prediction: {inactivity_days: "many"}}\n')),
    case("--set a number for a None default", "set", "report config.yaml --out out --only churn_prediction --set churn_prediction.threshold=high",
         "churn_prediction.threshold=high: expected a number, got 'high'", notebooks="real"),
    # --- report on bad data: stops before the first notebook ----------------------------
    case("report on text in amount", "value", REPORT, "column 'amount'", "row 1: 'x'",
         files={"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,x\n"}),
    # --- demo-data ----------------------------------------------------------------------
    case("demo-data into a file", "demo-data", "demo-data existing --customers 10", "existing is a file, not a folder",
         files={"existing": "not a folder"}),
    case("demo-data under a file", "demo-data", "demo-data existing/sub --customers 10", "cannot write the demo dataset",
         "Not a directory", files={"existing": "not a folder"}),
    case("demo-data too few customers", "demo-data", "demo-data demo --customers 5", "--customers must be at least 10"),
    case("demo-data --customers 0", "demo-data", "demo-data demo --customers 0", "--customers must be at least 10",),
    case("demo-data negative seed", "demo-data", "demo-data demo --customers 10 --seed -1", "--seed",),
]
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


# --- running a case -----------------------------------------------------------------


def build(c: Case, folder: Path) -> None:
    for name, content in c.files.items():
        p = folder / name
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``, a file with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(folder.rglob("*"))
    }


def invoke(argv: list[str]) -> int:
    """``engage-kit ARGV``; argparse's own errors exit with SystemExit(2), turned into the code."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1


@contextlib.contextmanager
def environment(c: Case, folder: Path) -> Iterator[None]:
    """The case's notebooks and folder (the current directory), restored afterwards."""
    saved_env, saved_cwd = os.environ.get("ENGAGE_KIT_NOTEBOOKS"), os.getcwd()
    if c.notebooks == "fixtures":
        os.environ["ENGAGE_KIT_NOTEBOOKS"] = str(FIXTURES)
    else:
        os.environ.pop("ENGAGE_KIT_NOTEBOOKS", None)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        if saved_env is None:
            os.environ.pop("ENGAGE_KIT_NOTEBOOKS", None)
        else:
            os.environ["ENGAGE_KIT_NOTEBOOKS"] = saved_env


def first_line(out: str, err: str) -> str:
    """The message's first line (the ``error:`` line) with its first item if it lists some;
    without an error, the first line of the output (or the last of the progress log)."""
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if ": error: " in line or line.startswith(("engage-kit: ", "Traceback"))]
    if errors:
        i = errors[0]
        line = lines[i]
        if line.startswith("Traceback"):
            return "Traceback ... " + lines[-1]
        if line.endswith(":") and i + 1 < len(lines):
            line += " " + lines[i + 1]
        return line
    shown = [line.strip() for line in out.splitlines() if line.strip()]
    return shown[0] if shown else (lines[-1] if lines else "")


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=c.surprise)] if c.surprise else [])
        for c in CASES
    ],
)
def test_hostile_case(c: Case, tmp_path, capsys):
    build(c, tmp_path)
    before = tree(tmp_path)
    with environment(c, tmp_path):
        code = invoke(c.argv)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 2, f"exit code {code}:\n{text}"
    assert "Traceback" not in text, text
    for phrase in c.phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    assert tree(tmp_path) == before, "the case changed the user's files or wrote output"


def test_the_catalogue_file_lists_every_case():
    text = CATALOGUE.read_text(encoding="utf-8")
    missing = [c.name for c in CASES if f"| {escape(c.name)} |" not in text]
    assert not missing, f"{CATALOGUE.name} is out of date (missing {missing}); regenerate it: {REGENERATE}"


# --- the catalogue as Markdown ------------------------------------------------------


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def run_for_catalogue(c: Case) -> tuple[int, str, str]:
    """Run one case in a fresh folder: exit code, stdout and stderr, the folder shown as TMP.

    A traceback is caught and printed as the console script would print it.
    """

    def shown(text: str) -> str:
        for path in sorted({str(folder.resolve()), str(folder)}, key=len, reverse=True):
            text = text.replace(path, "TMP")
        return text.replace(str(Path.home()), "~")

    with tempfile.TemporaryDirectory(prefix="ek-hostile-") as tmp:
        folder = Path(tmp)
        build(c, folder)
        out, err = io.StringIO(), io.StringIO()
        with environment(c, folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = invoke(c.argv)
            except Exception:  # noqa: BLE001 - what the user would see
                traceback.print_exc()
                code = 1
        return code, shown(out.getvalue()), shown(err.getvalue())


def catalogue() -> str:
    rows = [
        f"Hostile CLI input and what it gets, one row per case of tests/test_hostile_catalogue.py "
        f"(regenerate: `{REGENERATE}`).",
        "",
        "| case | kind | command | exit code | first line of the message | note |",
        "|---|---|---|---|---|---|",
    ]
    for c in CASES:
        code, out, err = run_for_catalogue(c)
        note = f"**surprise**: {c.surprise}" if c.surprise else (f"unclear: {c.note}" if c.note else "")
        if not c.surprise and (code != 2 or "Traceback" in out + err):
            note = f"**unexpected** (the test fails): exit {code} {note}"
        rows.append(
            f"| {escape(c.name)} | {c.what} | `engage-kit {escape(c.command)}` | {code} | "
            f"{escape(first_line(out, err))} | {escape(note)} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="ek-cache-") as cache:
        os.environ["ENGAGE_KIT_CACHE"] = cache  # as the tests do: never the user's cache
        sys.stdout.write(catalogue())
