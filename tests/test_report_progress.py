"""The live line a report run keeps in the terminal."""

from __future__ import annotations

import io

from engage_kit.report.progress import LiveLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_running_notebooks_and_messages_above_them(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    term = Terminal()
    live = LiveLine(term, interval=60)
    live.started("engagement_kpis")
    live.started("clv_bgnbd")
    assert term.getvalue().count("running:") == 2 and term.getvalue().count("\r\x1b[K") == 1  # redrawn, not appended
    assert live.text().startswith("  running: engagement_kpis 0 s · clv_bgnbd 0 s")
    live("  [1/2] clv_bgnbd: ok (3.0 s)")
    live.finished("engagement_kpis")
    live.close()
    out = term.getvalue()
    assert "\r\x1b[K  [1/2] clv_bgnbd: ok (3.0 s)\n" in out  # the status line is cleared before a message
    assert out.endswith("\r\x1b[K")  # and gone at the end


def test_a_log_file_gets_the_messages_only():
    log = io.StringIO()
    live = LiveLine(log)
    live.started("engagement_kpis")
    live("Done")
    live.finished("engagement_kpis")
    live.close()
    assert log.getvalue() == "Done\n"
