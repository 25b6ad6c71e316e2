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


def visible_text(html_text: str) -> tuple[str, str]:
    """A report page's visible text: (the body outside "Method and diagnostics", the appendix).

    Styles, scripts and tags are dropped, entities decoded, white space folded; the
    header's parameter line is left out (it names the notebook's parameters on purpose).
    """
    import html
    import re

    t = re.sub(r"<(style|script)\b.*?</\1>", " ", html_text, flags=re.S)
    t = re.sub(r'<div class="ek-params">.*?</div>', " ", t, flags=re.S)
    body, _, appendix = t.partition('<details class="ek-appendix"')

    def text(part: str) -> str:
        part = re.sub(r"<[^>]+>", " ", part)
        return re.sub(r"\s+", " ", html.unescape(part)).strip()

    return text(body), text(appendix)


PLAIN_WORDS_PROBLEMS = {
    "a snake_case identifier": r"\b[a-z]+(?:_[a-z0-9]+)+\b",
    "a backtick": r"`",
    "a command-line option": r"--set\b|--only\b",
    "a traceback": r"Traceback",
    "a bare nan, None or NaT": r"(?<![\w.])(?:nan|None|NaT)(?![\w.])",
}


def plain_words_problems(text: str) -> list[str]:
    """What a director should not meet in a report's body: each problem with an example."""
    import re

    found = []
    for what, pattern in PLAIN_WORDS_PROBLEMS.items():
        m = re.search(pattern, text)
        if m:
            found.append(f"{what}: …{text[max(0, m.start() - 60):m.end() + 60]}…")
    return found
