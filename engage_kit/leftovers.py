"""Folders the kit names after its process, and removing them once that process is gone.

A run writes into folders named ``<prefix><pid>-<random>`` (a report's stage beside its
output, the data snapshot, DuckDB's spill files). A run that ends removes its own; one
that was killed cannot, so the next run removes the folders whose process no longer
runs. Only folders with the kit's prefixes and a process id are ever touched.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_PID = re.compile(r"^(\d+)(?:-|$)")


def pid_alive(pid: int) -> bool:
    """True when a process with this id runs, or may: another user's process, and on
    Windows always (there ``os.kill`` would end the process rather than look for it)."""
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    return True


def is_stale(name: str, prefix: str) -> bool:
    """True when ``name`` is ``prefix`` + the id of a process that no longer runs (+ ``-...``)."""
    if not name.startswith(prefix):
        return False
    m = _PID.match(name[len(prefix):])
    return bool(m) and not pid_alive(int(m.group(1)))


def remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Remove the stale folders ``prefix*`` directly in ``folder`` (not symlinks); return them."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(f"{prefix}*"):
        if path.is_dir() and not path.is_symlink() and is_stale(path.name, prefix):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
