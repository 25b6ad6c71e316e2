"""The report runner: parameters, faults, atomic output, self-contained HTML, index page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engage_kit.cli import main
from engage_kit.report import runner

from .chromium import chromium_path, inspect_page

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
pytestmark = pytest.mark.xdist_group("report-fixtures")


@pytest.fixture()
def fixture_notebooks(monkeypatch):
    monkeypatch.setenv("ENGAGE_KIT_NOTEBOOKS", str(FIXTURES))
    return FIXTURES


def report(cfg: Path, out: Path, *args: str) -> int:
    return main(["report", str(cfg), "--out", str(out), *args])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, small_demo_config):
    """One run of the fixture notebooks (one ok, one failing) shared by several tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ENGAGE_KIT_NOTEBOOKS", str(FIXTURES))
    out = tmp_path_factory.mktemp("run") / "out"
    code = report(small_demo_config, out, "--only", "ok_report", "broken", "--set", "ok_report.rate=0.25")
    mp.undo()
    return code, out


def test_failing_notebook_does_not_stop_the_others(rendered):
    code, out = rendered
    assert code == 1
    run = json.loads((out / "run.json").read_text())
    status = {n["name"]: n["status"] for n in run["notebooks"]}
    assert status == {"broken": "failed", "ok_report": "ok"}
    # the partial notebook is kept and linked; the index names the error
    assert (out / "broken.ipynb").exists() and (out / "broken.html").exists()
    index = (out / "index.html").read_text()
    assert "deliberate failure for the test" in index and 'href="broken.ipynb"' in index
    assert "did not finish" in (out / "broken.html").read_text()


def test_results_and_typed_parameters(rendered):
    _, out = rendered
    res = json.loads((out / "ok_report" / "results.json").read_text())
    assert res["rate"] == 0.25 and isinstance(res["rate"], float)
    assert res["customers"] == 2000
    assert res["meta"]["schema_version"] == 1 and res["meta"]["as_of"] == "2024-12-31"
    assert res["meta"]["parameters"]["rate"] == 0.25


def test_html_is_self_contained_code_hidden_and_escaped(rendered):
    _, out = rendered
    html = (out / "ok_report.html").read_text()
    assert ">subplots<" not in html and "nb.start" not in html  # no code
    assert "data:image/png;base64," in html  # figures embedded
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)
    assert external == []
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # ids are pseudonymised in HTML by default
    assert "cust-" in html and not re.search(r">C0\d{5}<", html)
    # table of contents from the headings
    assert 'class="ek-toc"' in html and "Second section" in html.split("</nav>")[0]


def test_show_code_and_show_ids(tmp_path, small_demo_config, fixture_notebooks):
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "ok_report", "--show-code", "--show-ids") == 0
    html = (out / "ok_report.html").read_text()
    assert "<summary>Show code</summary>" in html and ">subplots<" in html
    assert re.search(r">C0\d{5}<", html)


def test_unknown_notebook_and_parameter_fail_before_running(tmp_path, small_demo_config, fixture_notebooks, capsys):
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "ok_reprt") == 2
    err = capsys.readouterr().err
    assert "unknown notebook" in err and "did you mean 'ok_report'" in err
    assert report(small_demo_config, out, "--only", "ok_report", "--set", "ok_report.rat=1") == 2
    err = capsys.readouterr().err
    assert "no parameter 'rat'" in err and "did you mean 'rate'" in err
    assert report(small_demo_config, out, "--only", "ok_report", "--set", "ok_report.steps=many") == 2
    assert "whole number" in capsys.readouterr().err
    assert not out.exists()


def test_timeout_marks_the_notebook_failed(tmp_path, small_demo_config, fixture_notebooks):
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "sleepy", "--timeout", "2") == 1
    run = json.loads((out / "run.json").read_text())
    assert run["notebooks"][0]["status"] == "failed"
    assert "timed out" in run["notebooks"][0]["error"]


def test_interrupted_run_leaves_previous_output(tmp_path, small_demo_config, fixture_notebooks, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".engage-kit-report").write_text("")
    (out / "index.html").write_text("last good report")

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_one", interrupted)
    assert report(small_demo_config, out, "--only", "ok_report") == 130
    assert (out / "index.html").read_text() == "last good report"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no half-written folder left


def test_parallel_jobs(tmp_path, small_demo_config, fixture_notebooks):
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "ok_report", "broken", "--jobs", "2") == 1
    run = json.loads((out / "run.json").read_text())
    assert [n["name"] for n in run["notebooks"]] == ["broken", "ok_report"]
    assert (out / "ok_report" / "results.json").exists()


def test_bad_data_is_exit_2_and_nothing_runs(tmp_path, fixture_notebooks, capsys):
    (tmp_path / "tx.csv").write_text("customer_id,timestamp,amount\na,2024-01-01,x\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tables: {transactions: {path: tx.csv}}\n")
    assert report(cfg, tmp_path / "out") == 2
    assert "amount" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (Debian package 'chromium'); .ci/run installs it")
def test_pages_load_in_chromium_with_all_images_and_no_console_errors(rendered, tmp_path):
    _, out = rendered
    for page in ("index.html", "ok_report.html"):
        info = inspect_page(out / page, tmp_path / f"{page}.png")
        assert info["broken"] == 0, page
        assert info["console_errors"] == [], page
    assert inspect_page(out / "ok_report.html")["total"] >= 1


# --- the real notebooks, end to end on the small demo ----------------------------------


@pytest.fixture(scope="module")
def batch(tmp_path_factory, small_demo_config):
    """Every notebook rendered once with --jobs 2 (shared by the checks below)."""
    out = tmp_path_factory.mktemp("batch") / "out"
    code = main(["report", str(small_demo_config), "--out", str(out), "--jobs", "2"])
    return code, out


def test_batch_renders_every_notebook(batch):
    code, out = batch
    run = json.loads((out / "run.json").read_text())
    status = {n["name"]: (n["status"], n["error"]) for n in run["notebooks"]}
    assert code == 0, status
    assert set(status) == set(runner.NOTEBOOK_TITLES)
    index = (out / "index.html").read_text()
    for name in runner.NOTEBOOK_TITLES:
        res = json.loads((out / name / "results.json").read_text())
        assert res["meta"]["notebook"] == name and res["meta"]["as_of"] == "2024-12-31"
        html = (out / f"{name}.html").read_text()
        assert "data:image/png;base64," in html, name
        assert re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html) == [], name
        assert "<script src" not in html, name
        # no code in the page: tokens of code cells never appear between tags
        assert ">nb<" not in html and ">import<" not in html and "ctx = nb.start" not in html, name
        assert f'href="{name}.html"' in index
    assert index.count('class="status ok"') == len(runner.NOTEBOOK_TITLES)


def test_batch_with_one_job_gives_the_same_figures(batch, tmp_path, small_demo_config):
    _, out2 = batch
    out1 = tmp_path / "out"
    assert main(["report", str(small_demo_config), "--out", str(out1), "--jobs", "1"]) == 0
    for name in ("cohort_retention", "clv_bgnbd"):
        a = json.loads((out1 / name / "results.json").read_text())
        b = json.loads((out2 / name / "results.json").read_text())
        a.pop("meta"), b.pop("meta")
        assert _close(a, b), name


def _close(a, b, rel=1e-9):
    """Equal up to floating-point summation order (the engine adds in parallel)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=rel, abs=1e-12)
    return a == b


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (Debian package 'chromium'); .ci/run installs it")
def test_real_reports_load_in_chromium(batch, tmp_path):
    _, out = batch
    for page in ("index.html", "clv_bgnbd.html", "engagement_kpis.html"):
        info = inspect_page(out / page, tmp_path / f"{page}.png")
        assert info["broken"] == 0, page
        assert info["console_errors"] == [], (page, info["console_errors"])
        if page != "index.html":
            assert info["total"] >= 5, page
