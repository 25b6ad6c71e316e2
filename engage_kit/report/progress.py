"""What a report run shows in the terminal while it works: one live line of running notebooks.

On a terminal the last line keeps each running notebook and its elapsed time up to date
("running: engagement_kpis 12 s · clv_bgnbd 5 s"); messages print above it. Where the
output is not a terminal (a log file, CI), messages print as they are and nothing else.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO


class LiveLine:
    """A log that keeps one status line of the running notebooks at the bottom of a terminal."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.on = bool(getattr(self.stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
        self.interval = interval
        self.running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False

    def __call__(self, message: str) -> None:
        """Print ``message`` (above the status line, which is drawn again)."""
        with self._lock:
            self._clear()
            print(message, file=self.stream, flush=True)
            self._draw()

    def started(self, name: str) -> None:
        """``name`` is running from now."""
        with self._lock:
            self.running[name] = time.monotonic()
            self._clear()
            self._draw()
        if self.on and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="engage-kit-progress", daemon=True)
            self._thread.start()

    def finished(self, name: str) -> None:
        """``name`` has ended (its result line is printed by the caller)."""
        with self._lock:
            self.running.pop(name, None)
            self._clear()
            self._draw()

    def close(self) -> None:
        """Stop updating and remove the status line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._clear()

    def text(self) -> str:
        """The status line: each running notebook with its elapsed time in whole seconds."""
        now = time.monotonic()
        parts = [f"{name} {now - t0:.0f} s" for name, t0 in self.running.items()]
        return "  running: " + " · ".join(parts) if parts else ""

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self._clear()
                self._draw()

    def _draw(self) -> None:
        line = self.text()
        if self.on and line:
            self.stream.write(line)
            self.stream.flush()
            self._shown = True

    def _clear(self) -> None:
        if self.on and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
