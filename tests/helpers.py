"""Helpers the data-input tests share: write a config with its files, run the CLI, check a message."""

from __future__ import annotations

import textwrap
from pathlib import Path

from engage_kit.cli import main


def write(tmp_path: Path, files: dict[str, str | bytes], config: str) -> Path:
    """Write ``files`` (text is dedented; bytes as they are) and ``config.yaml`` into ``tmp_path``."""
    for name, content in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content), encoding="utf-8")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(textwrap.dedent(config), encoding="utf-8")
    return cfg


def run(argv: list[str], capsys) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and everything it printed."""
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_clear_error(code: int, text: str, *fragments: str) -> None:
    """Exit 2, no traceback, and every fragment in the message."""
    assert code == 2, text
    assert "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
