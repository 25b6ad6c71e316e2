"""The report runner: parameters, faults, atomic output, self-contained HTML, index page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engage_kit.catalogue import NOTEBOOK_TITLES
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


@pytest.fixture(scope="session")
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


def _fails_before_running(code: int, err: str, out: Path, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert not out.exists()  # no notebook started


@pytest.mark.parametrize(
    ("flag", "fragments"),
    [
        ("ok_report.steps=2024-02-30", ["ok_report.steps=2024-02-30", "expected a whole number", "'2024-02-30'"]),
        ("ok_report.steps=2.5", ["expected a whole number", "'2.5'", "like the default, 3"]),
        ("ok_report.steps=true", ["expected a whole number", "'true'"]),
        ("ok_report.rate=abc", ["ok_report.rate=abc", "expected a number", "'abc'", "like the default, 0.5"]),
        ("ok_report.rate=.nan", ["expected a number", "'.nan'"]),
        ("ok_report.config=x", ["'config' is set by the runner", "its parameters: label, rate, steps"]),
        ("ok_report.output_dir=x", ["'output_dir' is set by the runner from --out"]),
    ],
)
def test_set_values_of_the_wrong_type_fail_before_running(tmp_path, small_demo_config, fixture_notebooks, capsys, flag, fragments):
    out = tmp_path / "out"
    code = report(small_demo_config, out, "--only", "ok_report", "--set", flag)
    _fails_before_running(code, capsys.readouterr().err, out, "bad notebook parameters", *fragments)


def test_every_bad_set_value_is_reported_at_once(tmp_path, small_demo_config, fixture_notebooks, capsys):
    out = tmp_path / "out"
    code = report(small_demo_config, out, "--only", "ok_report", "--set", "ok_report.steps=many", "--set", "ok_report.rate=x")
    _fails_before_running(code, capsys.readouterr().err, out, "--set ok_report.steps=many", "--set ok_report.rate=x")


def _config_with(tmp_path: Path, notebooks: str) -> Path:
    """A config whose data is never read: the notebook parameters fail first."""
    (tmp_path / "tx.csv").write_text("customer_id,timestamp,amount\na,2024-01-01,10\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tables: {transactions: {path: tx.csv}}\nnotebooks:\n" + notebooks)
    return cfg


def test_impossible_date_in_set_is_a_message_not_a_traceback(tmp_path, capsys):
    out = tmp_path / "out"
    code = report(_config_with(tmp_path, "  {}\n"), out, "--only", "clv_bgnbd", "--set", "clv_bgnbd.calibration_end=2024-02-30")
    _fails_before_running(
        code, capsys.readouterr().err, out, "--set clv_bgnbd.calibration_end=2024-02-30",
        "'2024-02-30' is not a date", "day is out of range for month", "YYYY-MM-DD, e.g. 2024-06-30",
    )


@pytest.mark.parametrize(
    ("flag", "fragments"),
    [
        ("churn_prediction.cutoff=yesterday", ["'yesterday' is not a date", "YYYY-MM-DD"]),
        ("churn_prediction.test_cutoff=2024-13-01", ["'2024-13-01' is not a date", "month must be in 1..12"]),
        ("churn_prediction.as_of=31.12.2024", ["'31.12.2024' is not a date"]),
        ("churn_prediction.as_of=2024-06-30T00:00+02:00", ["has a time zone", "YYYY-MM-DD"]),
    ],
)
def test_bad_dates_in_set_for_every_date_parameter(tmp_path, capsys, flag, fragments):
    out = tmp_path / "out"
    code = report(_config_with(tmp_path, "  {}\n"), out, "--only", "churn_prediction", "--set", flag)
    _fails_before_running(code, capsys.readouterr().err, out, f"--set {flag}", *fragments)


@pytest.mark.parametrize(
    ("notebooks", "fragments"),
    [
        (
            '  clv_bgnbd: {calibration_end: "2024-02-30"}\n',
            ["config notebooks.clv_bgnbd.calibration_end", "'2024-02-30' is not a date", "YYYY-MM-DD, e.g. 2024-06-30"],
        ),
        ("  clv_bgnbd: {observation_end: yesterday}\n", ["notebooks.clv_bgnbd.observation_end", "'yesterday' is not a date"]),
        ("  clv_bgnbd: {as_of: 20241301}\n", ["notebooks.clv_bgnbd.as_of", "'20241301' is not a date"]),
        ("  clv_bgnbd: {horizon: a year}\n", ["notebooks.clv_bgnbd.horizon", "expected a whole number", "'a year'"]),
        ("  clv_bgnbd: {annual_discount_rate: 10%}\n", ["notebooks.clv_bgnbd.annual_discount_rate", "expected a number", "'10%'"]),
        ("  clv_bgnbd: {top_n: [1, 2]}\n", ["notebooks.clv_bgnbd.top_n", "expected a whole number"]),
        ("  clv_bgnbd: {output_dir: elsewhere}\n", ["notebooks.clv_bgnbd.output_dir", "is set by the runner from --out"]),
        # parameters whose default is None: typed by their name or help comment
        ("  clv_bgnbd: {max_training_rows: all}\n", ["notebooks.clv_bgnbd.max_training_rows", "expected a whole number", "'all'"]),
        ("  churn_prediction: {inactivity_days: three months}\n", ["notebooks.churn_prediction.inactivity_days", "whole number"]),
        ("  churn_prediction: {threshold: high}\n", ["notebooks.churn_prediction.threshold", "expected a number", "'high'"]),
        ("  churn_prediction: {contact_cost: 5 EUR}\n", ["notebooks.churn_prediction.contact_cost", "expected a number"]),
        ("  engagement_kpis: {active_days: [30, 90]}\n", ["notebooks.engagement_kpis.active_days", "whole number"]),
    ],
)
def test_bad_values_in_the_config_notebooks_section_fail_before_running(tmp_path, capsys, notebooks, fragments):
    out = tmp_path / "out"
    nb = notebooks.split(":")[0].strip()
    code = report(_config_with(tmp_path, notebooks), out, "--only", nb)
    _fails_before_running(code, capsys.readouterr().err, out, "bad notebook parameters", *fragments)


def test_config_and_set_problems_are_listed_together(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = _config_with(tmp_path, '  churn_prediction: {inactivity_days: "many", cutoff: "yesterday"}\n')
    code = report(cfg, out, "--only", "churn_prediction", "--set", "churn_prediction.top_n=lots")
    _fails_before_running(
        code, capsys.readouterr().err, out,
        "notebooks.churn_prediction.inactivity_days: expected a whole number, got 'many'",
        "notebooks.churn_prediction.cutoff: 'yesterday' is not a date",
        "--set churn_prediction.top_n=lots: expected a whole number",
    )


def test_valid_parameter_values_are_kept_and_typed(tmp_path):
    import datetime as dt

    from engage_kit.config import parse_config

    config = parse_config({
        "tables": {"transactions": {"path": "tx.csv"}},
        "notebooks": {
            "clv_bgnbd": {
                "calibration_end": dt.date(2024, 6, 30),  # a YAML date
                "observation_end": "2024-12-31",  # quoted in the YAML
                "as_of": dt.datetime(2024, 12, 31, 12, 0),  # a YAML timestamp
                "horizon": 26, "annual_discount_rate": 0.08, "margin": 1, "models": "bgnbd",
                "max_training_rows": None,
            },
            "churn_prediction": {"cutoff": None, "test_cutoff": "None", "inactivity_days": "60", "save_rate": "0.3",
                                 "threshold": 0.4, "models": ["logistic"]},
        },
    }, base_dir=tmp_path)
    sets = ["clv_bgnbd.top_n=10", "churn_prediction.as_of=20241231", "churn_prediction.contact_cost=null",
            "clv_bgnbd.time_unit=D", "churn_prediction.feature_window_days=180.0"]
    params = runner.resolve_parameters(["clv_bgnbd", "churn_prediction"], config, sets)
    assert params["clv_bgnbd"] == {
        "calibration_end": "2024-06-30", "observation_end": "2024-12-31", "as_of": "2024-12-31T12:00:00",
        "horizon": 26, "annual_discount_rate": 0.08, "margin": 1.0, "models": ["bgnbd"], "max_training_rows": None,
        "top_n": 10, "time_unit": "D",
    }
    assert params["churn_prediction"] == {
        "cutoff": None, "test_cutoff": None, "inactivity_days": 60, "save_rate": 0.3, "threshold": 0.4,
        "models": ["logistic"], "as_of": "2024-12-31", "contact_cost": None, "feature_window_days": 180,
    }
    assert isinstance(params["clv_bgnbd"]["margin"], float)


def test_what_every_notebook_parameter_takes():
    """Parameters whose default is None are typed by name or help comment (dates, whole numbers,
    numbers); the rest by their default. A new or changed parameter changes this table: check it."""
    infos = {name: runner.notebook_parameters(name) for name in runner.available_notebooks()}
    none_default = {
        (name, p): runner.parameter_kind(p, info)
        for name, params in infos.items() for p, info in params.items() if info["default"] == "None"
    }
    assert none_default == {
        ("engagement_kpis", "period"): "any", ("engagement_kpis", "active_days"): "int",
        ("engagement_kpis", "segment"): "any", ("engagement_kpis", "as_of"): "date",
        ("cohort_retention", "period"): "any", ("cohort_retention", "segment"): "any",
        ("cohort_retention", "max_periods"): "int", ("cohort_retention", "inactivity_days"): "int",
        ("cohort_retention", "as_of"): "date",
        ("clv_bgnbd", "calibration_end"): "date", ("clv_bgnbd", "observation_end"): "date",
        ("clv_bgnbd", "max_training_rows"): "int", ("clv_bgnbd", "as_of"): "date",
        ("clv_bgnbd", "occasion"): "any", ("clv_bgnbd", "holdout_occasions"): "int",
        ("clv_bgnbd", "occasion_horizon"): "int",
        ("churn_prediction", "mode"): "any", ("churn_prediction", "cutoff"): "date",
        ("churn_prediction", "test_cutoff"): "date", ("churn_prediction", "inactivity_days"): "int",
        ("churn_prediction", "reachable_days"): "int",
        ("churn_prediction", "threshold"): "float", ("churn_prediction", "contact_cost"): "float",
        ("churn_prediction", "as_of"): "date", ("churn_prediction", "max_training_rows"): "int",
        ("channel_comparison", "control"): "any", ("channel_comparison", "campaign"): "any",
        ("channel_comparison", "costs"): "any", ("channel_comparison", "period"): "any",
        ("channel_comparison", "active_days"): "int",
        ("customer_journey", "as_of"): "date", ("customer_journey", "period"): "any",
        ("customer_engagement", "segment"): "any", ("customer_engagement", "period"): "any",
        ("customer_engagement", "as_of"): "date", ("customer_engagement", "max_training_rows"): "int",
    }
    kind = {(name, p): runner.parameter_kind(p, info) for name, params in infos.items() for p, info in params.items()}
    assert kind["clv_bgnbd", "horizon"] == "int" and kind["clv_bgnbd", "annual_discount_rate"] == "float"
    assert kind["clv_bgnbd", "models"] == "list" and kind["cohort_retention", "censor_at"] == "str"


def test_which_notebook_parameters_are_dates():
    """The rule (name or help comment says date; the default is None or a date) on every notebook.

    A new parameter in a notebook changes this list: check that it is classified right.
    """
    dates = {
        name: sorted(p for p, info in runner.notebook_parameters(name).items() if runner.is_date_parameter(p, info))
        for name in runner.available_notebooks()
    }
    assert dates == {
        "engagement_kpis": ["as_of"],
        "cohort_retention": ["as_of"],
        "clv_bgnbd": ["as_of", "calibration_end", "observation_end"],
        "churn_prediction": ["as_of", "cutoff", "test_cutoff"],
        "channel_comparison": [],
        "customer_engagement": ["as_of"],
        "customer_journey": ["as_of"],
    }
    # censor_at ends like a date but its default is a word; a number is never a date
    assert not runner.is_date_parameter("censor_at", {"default": '"lapse_horizon"', "help": ""})
    assert not runner.is_date_parameter("lag_end", {"default": "7", "help": "days after the end date"})
    assert runner.is_date_parameter("start", {"default": '"2024-01-01"', "help": "first day"})
    assert runner.is_date_parameter("signup_at", {"default": "None", "help": ""})


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


def _printed_threads(executed: Path) -> list[str]:
    """What the fixture notebook printed of its kernel's thread limit."""
    cells = json.loads(executed.read_text())["cells"]
    text = "".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))
    return re.search(r"threads: (.*)", text).group(1).split()


def test_parallel_jobs(tmp_path, small_demo_config, fixture_notebooks, monkeypatch):
    monkeypatch.delenv(runner.THREAD_VARIABLE, raising=False)
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "ok_report", "broken", "--jobs", "2") == 1
    run = json.loads((out / "run.json").read_text())
    assert [n["name"] for n in run["notebooks"]] == ["broken", "ok_report"]
    assert (out / "ok_report" / "results.json").exists()
    # each kernel of a parallel run gets its share of the cores in OpenMP
    assert _printed_threads(out / "ok_report.ipynb") == [str(runner.worker_threads(2))]


def test_the_longest_reports_start_first_and_the_rest_keep_their_order():
    names = list(NOTEBOOK_TITLES)
    order = runner.start_order(names)
    assert sorted(order) == sorted(names)
    assert order[:4] == list(runner.LONGEST_FIRST)
    rest = [n for n in names if n not in runner.LONGEST_FIRST]
    assert order[4:] == rest
    assert runner.start_order(["ok_report", "clv_bgnbd", "broken"]) == ["clv_bgnbd", "ok_report", "broken"]


def test_worker_threads_share_the_cores():
    assert runner.worker_threads(2, cores=2) == 1
    assert runner.worker_threads(2, cores=8) == 4
    assert runner.worker_threads(3, cores=8) == 2
    assert runner.worker_threads(4, cores=2) == 1
    assert runner.worker_threads(1, cores=8) == 8


def test_a_thread_limit_the_user_set_is_kept(monkeypatch):
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    def seen() -> str | None:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=runner._child_init,
                                 initargs=(3,)) as pool:
            return pool.submit(os.getenv, "OMP_NUM_THREADS").result()

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert seen() == "3"
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert seen() == "5"


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


@pytest.fixture(scope="session")
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
    assert set(status) == set(NOTEBOOK_TITLES)
    index = (out / "index.html").read_text()
    for name in NOTEBOOK_TITLES:
        res = json.loads((out / name / "results.json").read_text())
        assert res["meta"]["notebook"] == name and res["meta"]["as_of"] == "2024-12-31"
        html = (out / f"{name}.html").read_text()
        assert "data:image/png;base64," in html, name
        assert re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html) == [], name
        assert "<script src" not in html, name
        # no code in the page: tokens of code cells never appear between tags
        assert ">nb<" not in html and ">import<" not in html and "ctx = nb.start" not in html, name
        assert f'href="{name}.html"' in index
    assert index.count('class="status ok"') == len(NOTEBOOK_TITLES)


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
    """Equal up to floating-point summation order (the engine adds in parallel).

    Bootstrap bounds (keys ending in ``low``/``high``) come from refits that stop at the
    optimiser's tolerance, so a last-digit change in a customer's mean spend moves them by
    about 1e-8: they are compared to 1e-6.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            _close(a[k], b[k], max(rel, 1e-6) if str(k).endswith(("low", "high")) else rel) for k in a)
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


def test_a_report_page_links_back_names_its_charts_and_prints(tmp_path):
    import base64

    import nbformat

    from engage_kit.report.html import render_html

    png = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c6360000002000105"
        "7d0d4ee20000000049454e44ae426082")).decode()
    nb = nbformat.v4.new_notebook(metadata=nbformat.read(FIXTURES / "ok_report.ipynb", as_version=4).metadata)
    nb.cells = [nbformat.v4.new_markdown_cell("## Revenue <b>trend</b>"),
                nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
                    "display_data", data={"image/png": png, "text/plain": "<Figure>"})])]
    src = tmp_path / "r.ipynb"
    nbformat.write(nb, src)
    page = render_html(src, tmp_path / "r.html", meta={"report_title": "Engagement KPIs", "index_href": "index.html"})
    text = page.read_text(encoding="utf-8")
    assert '<a class="ek-back" href="index.html">' in text
    assert "No description has been provided" not in text and 'alt="Chart: Revenue trend"' in text
    assert "@page { size: A4" in text and "system-ui" in text


def test_a_report_with_nothing_to_show_is_not_applicable_not_ok(tmp_path, small_demo_config, fixture_notebooks):
    out = tmp_path / "out"
    assert report(small_demo_config, out, "--only", "empty_report") == 0  # not a failure either
    run = json.loads((out / "run.json").read_text())
    (nb,) = run["notebooks"]
    assert nb["status"] == "not_applicable" and nb["reason"] == "the data cover too few days"
    index = (out / "index.html").read_text()
    assert '<span class="status not_applicable">not applicable</span>' in index
    assert "Not applicable to this data: Empty Report" in index and "the data cover too few days" in index


def test_method_and_diagnostics_is_folded_whole(tmp_path):
    import nbformat

    from engage_kit.report.html import render_html

    nb = nbformat.v4.new_notebook()
    md_out = lambda text: nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": ""})  # noqa: E731
    nb.cells = [nbformat.v4.new_code_cell("a", outputs=[md_out("## Findings\n\nplain words")]),
                nbformat.v4.new_code_cell("b", outputs=[md_out("## Method and diagnostics\n\np-values")]),
                nbformat.v4.new_code_cell("c", outputs=[md_out("the glossary")])]
    src = tmp_path / "r.ipynb"
    nbformat.write(nb, src)
    text = render_html(src, tmp_path / "r.html", meta={"report_title": "r"}).read_text(encoding="utf-8")
    before, folded = text.split('<details class="ek-appendix" id="appendix">')
    assert "plain words" in before and "p-values" not in before
    assert folded.index('<div class="jp-Cell ') < folded.index("p-values") < folded.index("the glossary") < folded.index("</details>")


def test_a_table_on_the_page_downloads_as_csv_from_the_page_itself():
    from urllib.parse import unquote

    import pandas as pd

    from engage_kit.nb import _download_link

    df = pd.DataFrame({"segment": ['<img src=x onerror="alert(1)">', "b,c"], "customers": [1200, 3]})
    link = _download_link(df, "Customers by segment", cut=False)
    assert link.startswith('<p class="ek-download"><a download="customers-by-segment.csv" href="data:text/csv;charset=utf-8,')
    data = link.split("charset=utf-8,", 1)[1].split('"', 1)[0]
    assert "<" not in data and '"' not in data  # the payload cannot leave the attribute
    assert pd.read_csv(pd.io.common.StringIO(unquote(data))).equals(df)
    assert "(the 2 rows shown)" in _download_link(df, None, cut=True)


def test_a_long_table_sorts_by_a_click_and_no_other_script_may_run(tmp_path):
    import base64
    import hashlib
    from unittest import mock

    import nbformat
    import pandas as pd

    from engage_kit import nb as nbmod
    from engage_kit.report.html import CSP, SORT_JS, render_html
    from tests.chromium import chromium_path, inspect_page

    assert f"'sha256-{base64.b64encode(hashlib.sha256(SORT_JS.encode()).digest()).decode()}'" in CSP
    assert "unsafe-inline'; base" not in CSP.split("script-src", 1)[1]  # scripts only by hash
    shown = []
    with mock.patch.object(nbmod, "display", side_effect=shown.append):
        nbmod.table(pd.DataFrame({"segment": [f"s{i:02d}" for i in range(25)], "customers": list(range(1000, 1025))}))
    table_html = shown[0].to_html()
    assert 'class="ek-table ek-sortable"' in table_html
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("t", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": table_html, "text/plain": ""})])]
    nbformat.write(book, tmp_path / "t.ipynb")
    page = render_html(tmp_path / "t.ipynb", tmp_path / "t.html", meta={"report_title": "t"})
    assert f"<script>{SORT_JS}</script>" in page.read_text(encoding="utf-8")
    if chromium_path() is None:
        pytest.skip("chromium is not installed")
    probe = ("(() => { const t = document.querySelector('table.ek-sortable'); const h = t.tHead.rows[0].cells[1];"
             " h.click(); const first = t.tBodies[0].rows[0].cells[1].textContent;"
             " h.click(); return first + '|' + t.tBodies[0].rows[0].cells[1].textContent; })()")
    assert inspect_page(page, probe=probe)["probe"] == "1,000|1,024"  # ascending, then descending


def _engine_notebook(folder: Path) -> None:
    """A report that records the memory limit of its notebook's engine."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata=nbformat.read(FIXTURES / "ok_report.ipynb", as_version=4).metadata)
    nb.cells = [
        nbformat.v4.new_code_cell('config = "demo"\noutput_dir = "output"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from engage_kit import nb\n"
            'ctx = nb.start("engine_report", config=config, output_dir=output_dir, params={})\n'
            "limit = ctx.ds.con.raw_sql(\"SELECT current_setting('memory_limit')\").fetchone()[0]\n"
            'ctx.write_results({"memory_limit": limit})'
        ),
    ]
    nbformat.write(nb, folder / "engine_report.ipynb")


@pytest.mark.parametrize("jobs, expected", [("2", "715.2 MiB"), ("1", "1.3 GiB")])
def test_notebooks_run_at_once_share_the_engine_memory_limit(tmp_path, small_demo_config, monkeypatch, jobs, expected):
    """engine.memory_limit caps the whole run: two notebooks at once get half each
    (1.5GB / 2 = 750,000,000 bytes = 715.2 MiB); one at a time, each the whole limit."""
    import shutil

    import yaml

    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(FIXTURES / "ok_report.ipynb", folder)
    _engine_notebook(folder)
    monkeypatch.setenv("ENGAGE_KIT_NOTEBOOKS", str(folder))
    cfg = yaml.safe_load(small_demo_config.read_text())
    for table in cfg["tables"].values():
        table["path"] = str(small_demo_config.parent / table["path"])
    cfg["engine"] = {"kind": "duckdb", "memory_limit": "1.5GB"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    assert report(path, out, "--jobs", jobs) == 0
    got = json.loads((out / "engine_report" / "results.json").read_text())
    assert got["memory_limit"] == expected
