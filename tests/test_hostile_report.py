"""Hostile cases of the report runner: the user's files are never lost, killed runs leave nothing.

Each test builds its input in a temporary folder and asserts the exit code, that no
traceback is printed, the words of the message, and that the user's files are
byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from engage_kit.cli import main
from engage_kit.report import output

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
pytestmark = pytest.mark.xdist_group("report-fixtures")


@pytest.fixture(autouse=True)
def fixture_notebooks(monkeypatch):
    monkeypatch.setenv("ENGAGE_KIT_NOTEBOOKS", str(FIXTURES))


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def project(tmp_path):
    """A user's project folder: a config, its data in data/, and some documents."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "tx.csv").write_text(
        "customer_id,timestamp,amount\n" + "".join(f"c{i % 7},2024-0{1 + i % 6}-1{i % 9},{10 + i}\n" for i in range(60))
    )
    (root / "config.yaml").write_text("tables: {transactions: {path: data/tx.csv}}\n")
    (root / "documents").mkdir()
    (root / "documents" / "thesis.docx").write_bytes(b"my only copy")
    (root / "documents" / "notes.txt").write_text("do not delete")
    return root


def report(cfg: Path, out: Path | str, *args: str) -> int:
    return main(["report", str(cfg), "--out", str(out), "--only", "ok_report", *args])


def test_out_at_a_folder_of_documents_is_refused(project, capsys):
    before = tree(project)
    assert report(project / "config.yaml", project / "documents") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "holds files the kit did not write" in err and "thesis.docx" in err and ".engage-kit-report" in err
    assert tree(project) == before


def test_out_dot_in_a_project_folder_is_refused(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    before = tree(project)
    assert report(Path("config.yaml"), ".") == 2
    err = capsys.readouterr().err
    assert "current folder" in err and "Traceback" not in err
    assert tree(project) == before


def test_out_at_the_config_data_folder_is_refused(project, capsys):
    before = tree(project)
    assert report(project / "config.yaml", project / "data") == 2
    err = capsys.readouterr().err
    assert "tx.csv" in err and "which this run reads" in err
    assert report(project / "config.yaml", project) == 2  # the folder of the config itself
    assert "config.yaml" in capsys.readouterr().err
    assert tree(project) == before


def test_out_that_contains_the_data_is_refused_even_with_a_marker(project, capsys):
    (project / output.MARKER).write_text("")
    before = tree(project)
    assert report(project / "config.yaml", project) == 2
    assert "which this run reads" in capsys.readouterr().err
    assert tree(project) == before


def test_out_at_an_existing_file_is_an_error(project, capsys):
    target = project / "documents" / "notes.txt"
    assert report(project / "config.yaml", target) == 2
    assert "is an existing file" in capsys.readouterr().err
    assert target.read_text() == "do not delete"


@pytest.mark.parametrize("which", ["root", "home", "parent of the current folder"])
def test_out_at_root_home_or_a_parent_is_refused(project, capsys, monkeypatch, which):
    monkeypatch.chdir(project / "documents")
    target = {"root": Path("/"), "home": Path.home(), "parent of the current folder": Path("..")}[which]
    assert report(project / "config.yaml", target) == 2
    err = capsys.readouterr().err
    assert "refusing to write reports over" in err and "Traceback" not in err


def test_out_written_by_the_kit_is_replaced_and_marked(project, tmp_path):
    out = tmp_path / "reports"
    assert report(project / "config.yaml", out) == 0
    assert (out / output.MARKER).is_file()
    (out / "index.html").write_text("old")
    assert report(project / "config.yaml", out) == 0
    assert (out / "index.html").read_text() != "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_empty_out_folder_is_used(project, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert report(project / "config.yaml", out) == 0
    assert (out / "index.html").is_file()


def test_a_report_folder_from_before_the_marker_is_replaced(project, tmp_path):
    out = tmp_path / "old-reports"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"meta": {"kit_version": "0.1.0"}, "notebooks": []}))
    (out / "index.html").write_text("old")
    assert report(project / "config.yaml", out) == 0
    assert (out / output.MARKER).is_file()


def test_an_out_parent_that_cannot_be_written_is_exit_2(project, tmp_path, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkdtemp", denied)
    assert report(project / "config.yaml", tmp_path / "ro" / "out") == 2
    err = capsys.readouterr().err
    assert "cannot write into" in err and "Permission denied" in err and "Traceback" not in err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_killed_run_are_removed_at_the_next_start(project, tmp_path):
    out = tmp_path / "out"
    pid = _dead_pid()
    stale_stage = tmp_path / f".out.rendering-{pid}-abc"
    stale_old = tmp_path / f".out.old-{pid}"
    stale_snap = Path(tempfile.gettempdir()) / f"{output.SNAPSHOT_PREFIX}{pid}-xyz"
    live_stage = tmp_path / f".out.rendering-{os.getppid()}-keep"  # a live process's: kept
    for p in (stale_stage, stale_old, stale_snap, live_stage):
        p.mkdir()
        (p / "f").write_text("x")
    assert report(project / "config.yaml", out) == 0
    assert not stale_stage.exists() and not stale_old.exists() and not stale_snap.exists()
    assert live_stage.exists()


def _start_slow_run(project: Path, out: Path, jobs: str) -> subprocess.Popen:
    env = dict(os.environ, ENGAGE_KIT_NOTEBOOKS=str(FIXTURES))
    cmd = [sys.executable, "-m", "engage_kit.cli", "report", str(project / "config.yaml"), "--out", str(out),
           "--only", "sleepy", "--set", "sleepy.seconds=60", "--jobs", jobs]
    # a shell that starts the tests in the background ignores SIGINT, and its children
    # inherit that: restore Ctrl-C's default, as a terminal has it
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_stage(out: Path, proc: subprocess.Popen, seconds: float = 60) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stages = list(out.parent.glob(f".{out.name}.rendering-{proc.pid}-*"))
        if stages and any(stages[0].glob("*.ipynb")):  # the notebook has started
            return stages[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the run did not start")


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "jobs"), [(signal.SIGTERM, 143, "1"), (signal.SIGINT, 130, "2")])
def test_a_killed_run_leaves_the_previous_output_and_nothing_else(project, tmp_path, sig, code, jobs):
    out = tmp_path / "out"
    out.mkdir()
    (out / output.MARKER).write_text("")
    (out / "index.html").write_text("last good report")
    proc = _start_slow_run(project, out, jobs)
    _wait_for_stage(out, proc)
    time.sleep(1.5)
    if sig == signal.SIGINT:  # Ctrl-C reaches the whole process group, kernels too
        os.killpg(proc.pid, sig)
    else:  # a scheduler's time-out reaches the runner only
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "zmq" not in err.lower(), err
    assert "previous output left untouched" in err
    assert (out / "index.html").read_text() == "last good report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "project"]
    assert list(Path(tempfile.gettempdir()).glob(f"{output.SNAPSHOT_PREFIX}{proc.pid}-*")) == []


def test_a_fractional_timeout_rounds_up_instead_of_failing_every_notebook(project, tmp_path):
    out = tmp_path / "out"
    args = ["report", str(project / "config.yaml"), "--out", str(out), "--only", "sleepy"]
    assert main([*args, "--set", "sleepy.seconds=3", "--timeout", "0.5"]) == 1  # 0.5 s counts as 1 s
    run = json.loads((out / "run.json").read_text())
    assert "timed out after" in run["notebooks"][0]["error"]
    assert "TraitError" not in run["notebooks"][0]["error"]
    assert main([*args, "--set", "sleepy.seconds=0", "--timeout", "0.5"]) == 0


def test_customers_alone_without_churned_says_no_report_can_run(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ENGAGE_KIT_NOTEBOOKS")  # the real reports
    (tmp_path / "c.csv").write_text("customer_id,segment\na,x\nb,y\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables: {customers: {path: c.csv}}\n")
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "no report can run" in err and "churned column" in err and "Traceback" not in err
    assert main(["report", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert "no selected report can run" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_validate_lists_which_reports_the_data_allows(tmp_path, capsys):
    (tmp_path / "c.csv").write_text("customer_id,segment,churned\na,x,yes\nb,y,no\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables: {customers: {path: c.csv}}\n")
    assert main(["validate", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "churn_prediction: can run" in out
    assert "clv_bgnbd: skipped: it needs a transactions table" in out


def test_a_report_the_data_does_not_allow_is_skipped_with_its_reason(project, tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for src in (FIXTURES / "ok_report.ipynb", Path(__file__).parents[1] / "notebooks" / "channel_comparison.ipynb"):
        (folder / src.name).write_bytes(src.read_bytes())
    monkeypatch.setenv("ENGAGE_KIT_NOTEBOOKS", str(folder))
    out = tmp_path / "out"
    assert main(["report", str(project / "config.yaml"), "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    status = {n["name"]: (n["status"], n["reason"]) for n in run["notebooks"]}
    assert status["ok_report"][0] == "ok"
    assert status["channel_comparison"][0] == "skipped" and "touches" in status["channel_comparison"][1]
    index = (out / "index.html").read_text()
    assert "Not run on this data: Channel comparison" in index
