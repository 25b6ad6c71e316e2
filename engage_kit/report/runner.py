"""The report runner: validate once, execute notebooks with papermill, render HTML, index.

A run renders into a fresh sibling folder of OUT and replaces OUT when it finishes, also
when some notebooks failed (their pages and the index say so); an interrupted run leaves
the previous OUT untouched (DESIGN.md, Output contract). Notebooks run in separate
processes when ``jobs > 1``: papermill's ``cwd`` would change the directory of the whole
process, so it is never used.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..catalogue import NOTEBOOKS, title
from ..config import Config
from ..errors import DataError, ParameterError, did_you_mean
from ..readiness import report_readiness
from .index import write_index
from .output import check_out, make_snapshot_dir, make_stage, remove_stale, replace
from .progress import LiveLine

KERNEL_NAME = "engage-kit"


def notebooks_dir() -> Path:
    """Folder of the kit's notebooks (``ENGAGE_KIT_NOTEBOOKS`` overrides, for tests)."""
    env = os.environ.get("ENGAGE_KIT_NOTEBOOKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "notebooks"


def available_notebooks() -> list[str]:
    """Notebook names present, in the contract's order, then any others alphabetically."""
    folder = notebooks_dir()
    present = {p.stem for p in folder.glob("*.ipynb")}
    ordered = [n for n in NOTEBOOKS if n in present]
    return ordered + sorted(present - set(ordered))


@dataclass
class NotebookResult:
    """The outcome of one notebook in a run."""

    name: str
    status: str  # ok, failed, skipped (not run), not_applicable (ran; the data allows none of it)
    seconds: float = 0.0
    error: str | None = None
    html: str | None = None
    ipynb: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why a skipped notebook did not run


# --- parameters ---------------------------------------------------------------------


def notebook_parameters(name: str) -> dict[str, dict[str, Any]]:
    """The parameters cell of a notebook, as papermill's ``inspect_notebook`` reads it."""
    import papermill as pm

    return pm.inspect_notebook(str(notebooks_dir() / f"{name}.ipynb"))


_NO_DEFAULT = object()  # a default that is an expression, not a literal
# a date parameter: a name like as_of, cutoff, calibration_end, signup_at, start_date...
_DATE_NAME = re.compile(r"(?:^|_)(?:as_of|cutoff|date|end|at)$")
# ... or a help comment that says so: "(date)", "cutoff date", "YYYY-MM-DD"
_DATE_HELP = re.compile(r"\bdates?\b|YYYY-MM-DD", re.IGNORECASE)
_DATE_EXAMPLE = "write it as YYYY-MM-DD, e.g. 2024-06-30"
# a parameter whose default is None: a whole number or a number by its name or help comment
_INT_NAME = re.compile(r"(?:_days|_rows|_periods|_count|^top_n)$|^(?:max|min|n)_")
_INT_HELP = re.compile(r"\((?:days|count)\)|^days:|this many", re.IGNORECASE)
_FLOAT_NAME = re.compile(r"(?:_rate|_cost|^threshold|_share|_fraction)$")
_FLOAT_HELP = re.compile(r"\((?:fraction[^)]*|0-1|currency)\)|probability", re.IGNORECASE)


def _default(info: dict[str, Any]) -> Any:
    """The parameter's default in the notebook as a Python value (``_NO_DEFAULT`` if not a literal)."""
    try:
        return ast.literal_eval(info.get("default") or "None")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NO_DEFAULT


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def is_date_parameter(name: str, info: dict[str, Any]) -> bool:
    """Whether a notebook parameter is a date.

    It is when its default is a date (``start = "2024-01-01"``), or when its default is
    None (or an expression) and its name (``as_of``, ``cutoff``, ``*_end``, ``*_date``,
    ``*_at``) or its help comment (``# ... (date)``, ``YYYY-MM-DD``) says so. A parameter
    whose default is a number, a list or a word (``censor_at = "lapse_horizon"``) is
    never a date, whatever its name.
    """
    default = _default(info)
    if isinstance(default, str) and _iso_date(default):
        return True
    if default is not None and default is not _NO_DEFAULT:
        return False
    return bool(_DATE_NAME.search(name) or _DATE_HELP.search(info.get("help") or ""))


def _date_value(raw: Any, where: str) -> str | None:
    """A date parameter's value as ISO text (what the notebooks read), checked."""
    if isinstance(raw, (dt.date, dt.datetime)):  # YAML read it as a date already
        return raw.isoformat()
    if not isinstance(raw, str):
        raise ParameterError(f"{where}: '{raw}' is not a date; {_DATE_EXAMPLE}")
    text = raw.strip()
    if text.lower() in ("", "none", "null", "~"):
        return None
    day = _iso_date(text)
    if day is not None:
        return day.isoformat()
    try:  # a date with a time of day (the notebooks use its day), as YAML reads 2024-06-30 12:00
        moment = dt.datetime.fromisoformat(text)
    except ValueError as e:
        why = f" ({e})" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else ""
        raise ParameterError(f"{where}: '{raw}' is not a date{why}; {_DATE_EXAMPLE}") from None
    if moment.tzinfo is not None:
        raise ParameterError(
            f"{where}: '{raw}' has a time zone; give the day alone in the config's timezone, "
            f"{_DATE_EXAMPLE}"
        )
    return text


def parameter_kind(name: str, info: dict[str, Any]) -> str:
    """What a notebook parameter takes: date, int, float, bool, str, list, dict... or any.

    The type of the default in the parameters cell; for a default of None (``inactivity_days
    = None  # ... (days); None: the config's active_days``), the parameter's name or its
    help comment: dates (see :func:`is_date_parameter`), whole numbers (``*_days``,
    ``*_rows``, ``max_*``, "(days)", "(count)", "this many"), numbers (``*_rate``,
    ``*_cost``, ``threshold``, "(0-1)", "(fraction ...)", "(currency)"); anything else is
    ``any`` and is passed on as YAML reads it.
    """
    if is_date_parameter(name, info):
        return "date"
    kind = (info.get("inferred_type_name") or "None").split("[")[0].lower()
    if kind != "none":  # an annotation in the cell
        return kind
    default = _default(info)
    if default is not None:
        return "any" if default is _NO_DEFAULT else type(default).__name__.lower()
    help_text = info.get("help") or ""
    if _INT_NAME.search(name) or _INT_HELP.search(help_text):
        return "int"
    if _FLOAT_NAME.search(name) or _FLOAT_HELP.search(help_text):
        return "float"
    return "any"


def _typed_value(raw: Any, info: dict[str, Any], where: str, name: str) -> Any:
    """Check and type a parameter value against the parameter in the notebook.

    ``raw`` is the text of a ``--set`` flag or a value from the config's ``notebooks:``
    section (already typed by YAML, or quoted text); both get the same checks. Dates are
    checked with ``datetime.date.fromisoformat``; numbers and booleans against the type
    of the default in the parameters cell. A bad value raises :class:`ParameterError`.
    """
    if raw is None:
        return None
    kind = parameter_kind(name, info)
    if kind == "date":
        return _date_value(raw, where)
    default = _default(info)
    like = f"; write it like the default, {info.get('default')}" if default not in (None, _NO_DEFAULT) else ""
    if isinstance(raw, str):
        text = raw.strip()
        if text.lower() in ("none", "null", "~"):
            return None
        if kind == "str":
            return raw
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, OverflowError, RecursionError):  # 2024-02-30: ValueError
            value = raw
        if isinstance(value, (dt.date, dt.datetime)):
            return text
    else:  # from the config, typed by YAML
        value = raw.isoformat() if isinstance(raw, (dt.date, dt.datetime)) else raw
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{where}: expected a whole number, got '{raw}'{like}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParameterError(f"{where}: expected a number, got '{raw}'{like}")
        value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ParameterError(f"{where}: expected true or false, got '{raw}'")
    elif kind in ("list", "tuple"):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif not isinstance(value, list):
            value = [value]
    return value


_RUNNER_SET = ("config", "output_dir")  # injected by the runner into every notebook


def _not_a_parameter(where: str, nb: str, key: str, info: dict[str, Any]) -> str:
    """The message for a parameter a user may not set: unknown, or one the runner sets."""
    settable = [p for p in info if p not in _RUNNER_SET]
    if key in _RUNNER_SET:
        what = "the config or dataset given to engage-kit report" if key == "config" else "--out"
        return f"{where}: '{key}' is set by the runner from {what}; its parameters: {', '.join(settable)}"
    return f"{where}: notebook '{nb}' has no parameter '{key}'{did_you_mean(key, settable)}; its parameters: {', '.join(settable)}"


def resolve_parameters(
    names: list[str], config: Config, sets: list[str] | None
) -> dict[str, dict[str, Any]]:
    """Parameters per notebook from the config's ``notebooks`` section and ``--set`` flags.

    Unknown notebooks and parameters are errors, all reported at once.
    """
    params: dict[str, dict[str, Any]] = {n: {} for n in names}
    problems: list[str] = []
    infos = {n: notebook_parameters(n) for n in names}
    for nb, values in config.notebooks.items():
        if nb not in names:
            continue
        for key, value in values.items():
            if key not in infos[nb] or key in _RUNNER_SET:
                problems.append(_not_a_parameter(f"config notebooks.{nb}.{key}", nb, key, infos[nb]))
                continue
            try:
                params[nb][key] = _typed_value(value, infos[nb][key], f"config notebooks.{nb}.{key}", key)
            except ParameterError as e:
                problems.append(str(e))
    for item in sets or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            problems.append(f"--set {item}: write it as NOTEBOOK.PARAMETER=VALUE, e.g. churn_prediction.inactivity_days=60")
            continue
        key, raw = item.split("=", 1)
        nb, param = key.split(".", 1)
        if nb not in names:
            valid = available_notebooks()
            problems.append(
                f"--set {item}: unknown notebook '{nb}'{did_you_mean(nb, valid)}"
                + ("" if nb not in valid else " (not selected by --only)")
            )
            continue
        if param not in infos[nb] or param in _RUNNER_SET:
            problems.append(_not_a_parameter(f"--set {item}", nb, param, infos[nb]))
            continue
        try:
            params[nb][param] = _typed_value(raw, infos[nb][param], f"--set {item}", param)
        except ParameterError as e:
            problems.append(str(e))
    if problems:
        raise ParameterError("\n  - ".join(["bad notebook parameters:", *problems]))
    return params


def select_notebooks(only: list[str] | None) -> list[str]:
    """The notebooks to run: all present, or those named by ``--only`` (checked)."""
    present = available_notebooks()
    if not only:
        return present
    unknown = [n for n in only if n not in present]
    if unknown:
        raise ParameterError(
            "unknown notebook(s): "
            + ", ".join(f"'{n}'{did_you_mean(n, present)}" for n in unknown)
            + f"; available: {', '.join(present)}"
        )
    return [n for n in present if n in only]


# --- execution ----------------------------------------------------------------------


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def _quiet_kernel_manager() -> type:
    """A kernel manager whose kernel writes its own log (not the cells' output) to a file.

    A kernel stopped with its run prints ZMQ tracebacks to the terminal it inherited;
    they say nothing to an analyst. The log goes into ``JUPYTER_RUNTIME_DIR``, which the
    runner points at the run's snapshot folder.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            folder = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or tempfile.gettempdir())
            folder.mkdir(parents=True, exist_ok=True)
            kw.setdefault("stderr", open(folder / "kernel-stderr.log", "ab"))  # noqa: SIM115 - the kernel owns it
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def _error_line(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        first = (evalue or "").strip().splitlines()
        return f"{ename}: {first[0] if first else ''}".strip()
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def run_one(
    name: str,
    *,
    snapshot: str,
    stage: str,
    parameters: dict[str, Any],
    timeout: float | None,
    show_code: bool,
    show_ids: bool,
    meta: dict[str, Any],
) -> NotebookResult:
    """Execute one notebook and render its HTML; never raises for a failing notebook."""
    import papermill as pm

    os.environ["ENGAGE_KIT_PSEUDONYMISE"] = "0" if show_ids else "1"
    stage_dir = Path(stage)
    executed = stage_dir / f"{name}.ipynb"
    start = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(
            str(notebooks_dir() / f"{name}.ipynb"),
            str(executed),
            parameters={"config": snapshot, "output_dir": str(stage_dir), **parameters},
            kernel_name=_kernel_name(),
            progress_bar=False,
            log_output=False,
            # nbclient counts whole seconds: a fraction rounds up (0.5 -> 1 s)
            execution_timeout=math.ceil(timeout) if timeout else None,
            kernel_manager_class=_quiet_kernel_manager(),
        )
    except Exception as exc:  # noqa: BLE001 - any failure of one notebook is reported, not raised
        error = _error_line(exc)
        if "Timeout" in type(exc).__name__ or "timed out" in str(exc).lower():
            error = f"timed out after {timeout:g} s per cell" if timeout else error
    seconds = time.perf_counter() - start
    results: dict[str, Any] = {}
    res_path = stage_dir / name / "results.json"
    if error is None and res_path.exists():
        try:
            results = json.loads(res_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            results = {}
    html_name = None
    if executed.exists():
        from .html import render_html

        page_meta = dict(meta)
        page_meta.update(
            {
                "notebook": name,
                "report_title": title(name),
                "index_href": "index.html",  # the run's index sits beside every report
                "parameters": parameters,
                "duration": f"{seconds:.1f} s",
                "error": error,
            }
        )
        try:
            render_html(executed, stage_dir / f"{name}.html", meta=page_meta, show_code=show_code)
            html_name = f"{name}.html"
        except Exception as exc:  # noqa: BLE001
            error = error or f"HTML rendering failed: {_error_line(exc)}"
    # a notebook that ran but found nothing the data allows says so in results.json
    na = results.get("not_applicable") if isinstance(results.get("not_applicable"), str) else None
    return NotebookResult(
        name=name,
        status="failed" if error else ("not_applicable" if na else "ok"),
        seconds=round(seconds, 2),
        error=error,
        html=html_name,
        ipynb=f"{name}.ipynb" if executed.exists() else None,
        results=results,
        reason=None if error else na,
    )


def _run_one_in_child(kwargs: dict[str, Any]) -> NotebookResult:
    try:
        return run_one(**kwargs)
    except Exception as exc:  # noqa: BLE001
        return NotebookResult(name=kwargs["name"], status="failed", error=_error_line(exc))


def default_out(config: Config) -> Path:
    """``reports/<dataset>``: the built-in name, or the config's folder or file name."""
    if config.name:
        label = config.name
    elif config.source is not None:
        src = Path(config.source)
        label = src.parent.name if src.stem in ("config", "engage-kit", "engage_kit") else src.stem
    else:
        label = "report"
    return Path("reports") / (label or "report")


def run_report(
    config: Config,
    *,
    out: str | Path | None = None,
    only: list[str] | None = None,
    sets: list[str] | None = None,
    jobs: int = 1,
    timeout: float | None = None,
    show_code: bool = False,
    show_ids: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[NotebookResult]:
    """Render the reports of ``config`` into ``out``; return one result per notebook.

    Checks everything that can be checked before a notebook runs (notebook names,
    parameters, the data), validates the data once and hands every notebook the same
    validated snapshot.
    """

    live = LiveLine() if log is None else None  # a terminal keeps one live line of the running notebooks
    log = log or live
    try:
        return _run_report(config, out=out, only=only, sets=sets, jobs=jobs, timeout=timeout, show_code=show_code,
                           show_ids=show_ids, log=log, live=live)
    finally:
        if live is not None:
            live.close()


def _run_report(
    config: Config,
    *,
    out: str | Path | None,
    only: list[str] | None,
    sets: list[str] | None,
    jobs: int,
    timeout: float | None,
    show_code: bool,
    show_ids: bool,
    log: Callable[[str], None],
    live: LiveLine | None,
) -> list[NotebookResult]:
    """:func:`run_report` once its log is chosen."""
    from .. import __version__
    from ..engine import memory_share
    from ..loaders import load_dataset, write_snapshot

    names = select_notebooks(only)
    if not names:
        raise ParameterError(f"no notebooks found in {notebooks_dir()}")
    params = resolve_parameters(names, config, sets)
    out = check_out(Path(out) if out else default_out(config), protected=_sources(config))
    for leftover in remove_stale(out):
        log(f"removed {leftover}, left behind by an earlier run that was killed")
    run_started = dt.datetime.now().astimezone()

    log(f"Validating {config.label} ...")
    t0 = time.perf_counter()
    ds = load_dataset(config, progress=lambda m: log(f"  {m}"))
    for w in ds.warnings:
        log(f"  warning: {w}")
    log(f"  data ok in {time.perf_counter() - t0:.1f} s: " + ", ".join(f"{r.name} {r.rows:,} rows" for r in ds.reports.values()))
    ready = report_readiness(ds)
    skipped = {n: ready[n] for n in names if ready.get(n)}
    if len(skipped) == len(names):
        raise DataError(
            f"{config.label}: no selected report can run on this data:\n  - "
            + "\n  - ".join(f"{n} {why}" for n, why in skipped.items())
        )
    for n, why in skipped.items():
        log(f"  skipping {n}: it {why}")
    names = [n for n in names if n not in skipped]

    stage = make_stage(out)
    snap_dir = make_snapshot_dir()
    results: list[NotebookResult] = []
    saved_runtime = os.environ.get("JUPYTER_RUNTIME_DIR")
    # kernel connection files live in the snapshot folder, so they go with it
    os.environ["JUPYTER_RUNTIME_DIR"] = str(snap_dir / "runtime")
    try:
        with _terminate_as_interrupt():
            share = memory_share(config.engine, min(jobs, len(names)))  # notebooks run at once share the limit
            write_snapshot(ds, snap_dir, activity=_activity(ds), memory_limit=share)
            reports, warnings = ds.reports, ds.warnings
            _release(ds)  # the notebooks read the snapshot: free the engine's copy of the data
            rep = reports.get("transactions") or next(iter(reports.values()))
            meta = {
                "title": config.title,
                "dataset": config.label,
                "currency": config.currency,
                "as_of": ds.as_of.date().isoformat(),
                "data_range": (
                    f"{rep.start.date()} to {rep.end.date()}" if rep.start is not None and rep.end is not None else ""
                ),
                "run_at": run_started.strftime("%Y-%m-%d %H:%M %Z"),
                "kit_version": __version__,
            }
            common = {
                "snapshot": str(snap_dir),
                "stage": str(stage),
                "timeout": timeout,
                "show_code": show_code,
                "show_ids": show_ids,
                "meta": meta,
            }
            total = len(names)
            log(f"Rendering {total} report(s) into {out} with {jobs} job(s)")
            if jobs <= 1:
                for i, name in enumerate(names, 1):
                    if live is None or not live.on:
                        log(f"  [{i}/{total}] {name} ...")
                    if live is not None:
                        live.started(name)
                    r = run_one(name=name, parameters=params[name], **common)
                    results.append(r)
                    if live is not None:
                        live.finished(name)
                    log(f"  [{i}/{total}] {name}: {_status_text(r)}")
            else:
                results.extend(_run_parallel(names, params, common, jobs, log, live))
            results.extend(NotebookResult(name=n, status="skipped", reason=f"not run: this report {why}")
                           for n, why in skipped.items())
            index_meta = dict(meta, run_seconds=round(time.perf_counter() - t0, 1), warnings=warnings)
            write_index(stage, results, index_meta)
            (stage / "run.json").write_text(
                json.dumps(
                    {"meta": index_meta, "notebooks": [asdict(r) | {"results": None} for r in results]},
                    indent=2,
                    default=str,
                ),
                encoding="utf-8",
            )
            for work in stage.glob("*/.work"):  # working files the notebooks' engines read lazily
                shutil.rmtree(work, ignore_errors=True)
            replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(snap_dir, ignore_errors=True)
        if saved_runtime is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = saved_runtime
    ok = sum(r.status == "ok" for r in results)
    log(f"Done: {ok} of {len(results)} report(s) ok in {time.perf_counter() - t0:.1f} s -> {out / 'index.html'}")
    return results


def _sources(config: Config) -> list[Path]:
    """The files a run reads: the config and every table's source file or folder."""
    paths = [Path(config.source)] if config.source is not None else []
    return paths + [t.path for t in config.tables.values() if t.path is not None]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is so that it cleans up as on Ctrl-C."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("terminated")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# OpenMP starts a thread per core in every process (scikit-learn's gradient boosting).
# BLAS threads are left alone: their number changes how numpy sums a dot product, so
# limiting them moved a parallel run's bootstrap bounds by 1e-7 from a run with one job,
# and it saved nothing measurable (10M-row bench: 188.2 s against 189.8 s with OpenMP alone)
THREAD_VARIABLE = "OMP_NUM_THREADS"


def worker_threads(jobs: int, cores: int | None = None) -> int:
    """OpenMP threads for each of ``jobs`` notebooks run at once: the cores shared out, at
    least one.

    Without a limit every kernel starts an OpenMP thread per core, and threads that wait
    for work spin on a core: two kernels on two cores ran the churn model at less than half
    speed (10M-row bench: churn 150 s with two at a time, 45 s alone; 67 s with one OpenMP
    thread each). scikit-learn's models are the same on any number of threads.
    """
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def _child_init(threads: int) -> None:
    """Worker processes leave Ctrl-C to the runner, which stops them (no tracebacks), and
    limit the OpenMP threads of their kernels (:func:`worker_threads`) unless the
    environment already sets a limit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.setdefault(THREAD_VARIABLE, str(threads))  # the kernel this process starts inherits it


# the reports that take longest on large data, started first so that the short ones fill
# the gaps at the end (longest-processing-time-first; 10M-row bench with two at a time:
# CLV 110 s, churn 62 s, engagement KPIs 52 s, customer engagement 34 s, the rest 7-25 s)
LONGEST_FIRST = ("clv_bgnbd", "churn_prediction", "engagement_kpis", "customer_engagement")


def start_order(names: list[str]) -> list[str]:
    """The order in which a parallel run starts ``names``: :data:`LONGEST_FIRST`, then the
    others as given. On the 10M-row bench this ends the last report about 9 s sooner than
    the catalogue order; results, pages and the index keep the catalogue order."""
    rank = {n: i for i, n in enumerate(LONGEST_FIRST)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


def _run_parallel(
    names: list[str],
    params: dict[str, dict[str, Any]],
    common: dict[str, Any],
    jobs: int,
    log: Callable[[str], None],
    live: LiveLine | None = None,
) -> list[NotebookResult]:
    """Run the notebooks in ``jobs`` spawned processes; stop them all if the run is interrupted.

    The pool takes the notebooks in order, so the first ``jobs`` start at once and each
    one that ends lets the next one start: that is what the live line shows.
    """
    # spawn, not fork: the engine (DuckDB) and BLAS run threads, and a forked copy
    # of a threaded process can abort while it tidies up
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_child_init,
        initargs=(worker_threads(jobs),),
    )
    results: list[NotebookResult] = []
    total = len(names)
    try:
        order = start_order(names)
        futures = {pool.submit(_run_one_in_child, {"name": n, "parameters": params[n], **common}): n for n in order}
        waiting = list(order)
        if live is not None and live.on:
            for n in waiting[:jobs]:
                live.started(n)
            del waiting[:jobs]
        else:
            log("  running: " + ", ".join(order))
        for done, fut in enumerate(as_completed(futures), 1):
            r = fut.result()
            results.append(r)
            if live is not None and live.on:
                live.finished(r.name)
                if waiting:
                    live.started(waiting.pop(0))
            log(f"  [{done}/{total}] {r.name}: {_status_text(r)}")
    except BaseException:
        # the pool's own shutdown would wait for every running notebook to finish; each
        # worker's kernel goes with it (an orphaned kernel would hold the terminal's pipes)
        import psutil

        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    child.kill()
            except psutil.Error:
                pass
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    results.sort(key=lambda r: names.index(r.name))
    return results


def _activity(ds: Any) -> Any:
    """The activity window chosen from the transactions, worked out once for every notebook
    of the run (None when the config sets ``active_days`` or there are no transactions)."""
    from ..activity import active_window

    if getattr(ds.config, "active_days", None) is not None or not ds.has("transactions"):
        return None
    return active_window(ds.table("transactions"), as_of=ds.as_of)


def _release(ds: Any) -> None:
    """Drop the validated tables and close the runner's engine connection."""
    try:
        ds.con.disconnect()
    except Exception:  # noqa: BLE001 - nothing to free is fine too
        pass
    ds.tables.clear()


def _status_text(r: NotebookResult) -> str:
    if r.status == "ok":
        return f"ok ({r.seconds:.1f} s)"
    if r.status == "not_applicable":
        return f"not applicable to this data ({r.seconds:.1f} s): {r.reason}"
    return f"FAILED after {r.seconds:.1f} s: {r.error}"


def format_exception(exc: BaseException) -> str:
    """A traceback as text (for --debug)."""
    return "".join(traceback.format_exception(exc))
