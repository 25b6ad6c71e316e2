"""Where a run writes, and what it may replace (DESIGN.md, Output contract).

The kit writes only where it is told and only over what it wrote itself:

- OUT is replaced only when it is empty or carries the kit's marker file
  (``OUT/.engage-kit-report``, written into every finished run); a folder that holds
  anything else is refused, and so is an existing file.
- OUT may not contain the config or any table's source file, and may not be the file
  system's root, the home folder, or the current folder or one of its parents.
- A run renders into a hidden sibling folder ``.OUT.rendering-<pid>-*`` and its data
  snapshot into ``engage-kit-snapshot-<pid>-*`` in the temporary folder; both are removed
  when the run ends, also on SIGTERM and SIGINT, and leftovers of runs that were killed
  outright (their process is gone) are removed when the next run starts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .. import leftovers
from ..errors import ParameterError

MARKER = ".engage-kit-report"
STAGE_INFIX = ".rendering-"
OLD_INFIX = ".old-"
SNAPSHOT_PREFIX = "engage-kit-snapshot-"


def is_kit_output(folder: Path) -> bool:
    """True when ``folder`` was written by a run of the kit.

    A run writes :data:`MARKER`; folders written before the marker existed are recognised
    by their ``run.json`` (a ``meta`` object with the kit's version and a ``notebooks`` list).
    """
    if (folder / MARKER).is_file():
        return True
    run = folder / "run.json"
    if not run.is_file():
        return False
    try:
        data = json.loads(run.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "kit_version" in (data.get("meta") or {}) and isinstance(data.get("notebooks"), list)


def _listing(folder: Path, limit: int = 5) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def check_out(out: Path, *, protected: Iterable[Path] = ()) -> Path:
    """Check that a run may write ``out``; return it resolved, or raise :class:`ParameterError`.

    Parameters
    ----------
    out : Path
        The output folder asked for (``--out``).
    protected : iterable of Path
        Files the run reads (the config, every table's source): OUT may not contain them.
    """
    try:
        out = Path(out).expanduser()
    except RuntimeError:  # ~user of a user that does not exist
        raise ParameterError(f"--out {out}: the home folder in it does not exist on this machine") from None
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    where = f"--out {out}"
    if resolved == Path(resolved.anchor):
        raise ParameterError(f"{where}: refusing to write reports over the file system's root; name a folder of its own, e.g. reports/acme")
    if resolved == home:
        raise ParameterError(f"{where}: refusing to write reports over your home folder; name a folder of its own, e.g. reports/acme")
    if resolved == cwd or resolved in cwd.parents:
        raise ParameterError(
            f"{where}: refusing to write reports over the current folder or one that contains it "
            f"({cwd}); name a folder of its own, e.g. reports/acme"
        )
    if resolved.exists() and not resolved.is_dir():
        raise ParameterError(f"{where} is an existing file, not a folder; name a folder for the reports, e.g. reports/acme")
    for p in protected:
        try:
            src = Path(p).expanduser().resolve()
        except (OSError, RuntimeError):
            continue
        if src == resolved or resolved in src.parents:
            raise ParameterError(
                f"{where} contains {src}, which this run reads; a run replaces its output folder, "
                "so name a folder of its own, e.g. reports/acme"
            )
    if resolved.is_dir() and any(resolved.iterdir()) and not is_kit_output(resolved):
        raise ParameterError(
            f"{where} holds files the kit did not write ({_listing(resolved)}); a run replaces its "
            f"whole output folder, so it only writes into an empty folder or one it wrote before "
            f"(marked by {MARKER}). Name a new folder, e.g. {out / 'reports'}"
        )
    return resolved


def remove_stale(out: Path) -> list[Path]:
    """Remove leftovers of killed runs: stage folders beside ``out`` and data snapshots.

    Only folders whose name carries the process id of a process that no longer runs are
    removed (:mod:`engage_kit.leftovers`). Returns what was removed.
    """
    removed: list[Path] = []
    for prefix in (f".{out.name}{STAGE_INFIX}", f".{out.name}{OLD_INFIX}"):
        removed += leftovers.remove_stale(out.parent, prefix)
    return removed + leftovers.remove_stale(Path(tempfile.gettempdir()), SNAPSHOT_PREFIX)


def make_stage(out: Path) -> Path:
    """A fresh hidden sibling folder of ``out`` to render into (readable by others)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGE_INFIX}{os.getpid()}-", dir=out.parent))
    except OSError as e:
        raise ParameterError(
            f"--out {out}: cannot write into {out.parent} ({e.strerror or e}); choose a folder you can write to"
        ) from None
    stage.chmod(0o755)  # mkdtemp makes it private; reports are meant to be shared
    return stage


def make_snapshot_dir() -> Path:
    """A private temporary folder for the run's validated data snapshot."""
    return Path(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-"))


def replace(stage: Path, out: Path) -> None:
    """Mark the finished ``stage`` as the kit's and swap it in for ``out``.

    ``out`` is checked again first (it may have changed while the notebooks ran); the old
    folder is renamed aside, the stage renamed into place, and the old one removed after.
    """
    from .. import __version__

    (stage / MARKER).write_text(
        f"engage-kit {__version__}: this folder is written by `engage-kit report` and replaced by its next run\n",
        encoding="utf-8",
    )
    old = None
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not is_kit_output(out)):
            raise ParameterError(f"--out {out} changed while the reports were rendered (it now holds files the kit did not write); nothing was replaced")
        old = out.with_name(f".{out.name}{OLD_INFIX}{os.getpid()}")
        out.rename(old)
    try:
        stage.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
