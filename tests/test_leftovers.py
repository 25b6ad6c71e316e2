"""Folders named after a process, removed once the process is gone; never anything else."""

from __future__ import annotations

import os
import subprocess
import sys

from engage_kit import leftovers


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_pid_alive():
    assert leftovers.pid_alive(os.getpid()) and leftovers.pid_alive(os.getppid())
    assert not leftovers.pid_alive(_dead_pid())


def test_on_windows_nothing_is_signalled(monkeypatch):
    """os.kill(pid, 0) ends the process on Windows: every process counts as running there."""
    def kill(*_):
        raise AssertionError("os.kill called")

    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(os, "kill", kill)
    assert leftovers.pid_alive(_dead_pid())


def test_remove_stale_takes_only_the_prefix_and_dead_processes(tmp_path):
    dead = _dead_pid()
    gone = tmp_path / f"ek-x-{dead}-abc"
    (gone / "inside").mkdir(parents=True)
    exact = tmp_path / f"ek-x-{dead}"
    exact.mkdir()
    alive = tmp_path / f"ek-x-{os.getppid()}-abc"
    alive.mkdir()
    not_pid = tmp_path / "ek-x-notes"
    not_pid.mkdir()
    other = tmp_path / f"other-{dead}-abc"
    other.mkdir()
    a_file = tmp_path / f"ek-x-{dead}-file"
    a_file.write_text("mine")
    link = tmp_path / f"ek-x-{dead}-link"
    link.symlink_to(alive)
    removed = leftovers.remove_stale(tmp_path, "ek-x-")
    assert sorted(removed) == sorted([gone, exact])
    assert not gone.exists() and not exact.exists()
    assert alive.exists() and not_pid.exists() and other.exists() and a_file.exists() and link.is_symlink()
    assert leftovers.remove_stale(tmp_path / "missing", "ek-x-") == []
