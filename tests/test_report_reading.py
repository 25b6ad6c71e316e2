"""Every report page read as a director reads it: plain words, no empty section, findings that
agree with results.json (on the small demo and on the CDNOW sample)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from engage_kit.cli import main
from tests.helpers import plain_words_problems, visible_text

# one worker builds each report run once (a session fixture is per worker)
pytestmark = pytest.mark.xdist_group("report-reading")

PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d)?)%")


def stated_percentages(results: dict) -> set[str]:
    """Every rate in a results.json, written as a report writes it (one decimal or none)."""
    out: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, float) and -10 < node < 10:
            for v in (100 * node, abs(100 * node)):  # "ran 16% low" quotes an error of -0.156
                out.update({f"{v:.1f}", f"{v:.0f}", f"{v:.2f}".rstrip("0").rstrip(".")})

    walk(results)
    return out


def section_without_content(page: str) -> list[str]:
    """The h2 headings of the body followed by nothing to read before the next one."""
    body = page.partition('<details class="ek-appendix"')[0]
    parts = re.split(r'<h2 id="[^"]*">', body)[1:]
    empty = []
    for part in parts:
        title = re.sub(r"<[^>]+>", "", part.split("</h2>", 1)[0]).replace("¶", "").strip()
        rest = part.split("</h2>", 1)[1] if "</h2>" in part else ""
        if not re.search(r'<(img|table|p|li)\b|class="ek-card"', rest):  # cards are figures to read
            empty.append(title)
    return empty


@pytest.fixture(scope="session", params=["small-demo", "cdnow-sample"])
def run(request, small_demo_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("reading") / "out"
    args = [str(small_demo_config)] if request.param == "small-demo" else ["--dataset", "cdnow-sample"]
    code = main(["report", *args, "--out", str(out), "--jobs", "2"])
    assert code == 0
    return out


@pytest.mark.slow
def test_pages_speak_plain_words_and_have_no_empty_section(run: Path):
    pages = sorted(p for p in run.glob("*.html") if p.name != "index.html")
    assert pages
    for page in pages:
        html_text = page.read_text(encoding="utf-8")
        body, _ = visible_text(html_text)
        assert plain_words_problems(body) == [], page.name
        assert section_without_content(html_text) == [], page.name


@pytest.mark.slow
def test_findings_agree_with_results_json(run: Path):
    for res_path in sorted(run.glob("*/results.json")):
        res = json.loads(res_path.read_text(encoding="utf-8"))
        findings = res.get("findings") or []
        if res.get("not_applicable"):
            continue
        assert 3 <= len(findings) <= 5, res_path.parent.name
        known = stated_percentages({k: v for k, v in res.items() if k != "findings"})
        for text in findings:
            for pct in PERCENT.findall(text):
                assert pct in known, f"{res_path.parent.name}: {pct}% in {text!r} is not in results.json"


# phrases whose percentage is a convention, not a figure of the data
CONVENTIONS = re.compile(r"\(95%\)|95% (?:CI|interval)|\(100% by definition|below 100% even|may pass 100%")


def prose(page: str) -> list[str]:
    """Every sentence a reader meets outside "Method and diagnostics": paragraphs, list items,
    headings, cards and the charts' titles (their alternative text); tables are data, left out."""
    import html

    body = page.partition('<details class="ek-appendix"')[0]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r'<div class="ek-params">.*?</div>', " ", body, flags=re.S)
    body = re.sub(r"<table\b.*?</table>", " ", body, flags=re.S)
    titles = [html.unescape(a) for a in re.findall(r'<img[^>]*\balt="([^"]*)"', body)]
    blocks = re.split(r"<(?:p|li|h[1-6]|div|figcaption|blockquote)\b[^>]*>", body)
    text = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", b))).strip() for b in blocks]
    return [t for t in titles + text if t]


@pytest.mark.slow
def test_every_percentage_on_a_page_is_in_results_json(run: Path):
    """No "70%" in a title with "100%" in its caption: each percentage a sentence, card or
    chart title states is a value of the report's results.json, as rounded on the page."""
    problems = []
    for page in sorted(p for p in run.glob("*.html") if p.name != "index.html"):
        res_path = run / page.stem / "results.json"
        known = stated_percentages(json.loads(res_path.read_text(encoding="utf-8")))
        for sentence in prose(page.read_text(encoding="utf-8")):
            for pct in PERCENT.findall(CONVENTIONS.sub(" ", sentence)):
                if pct not in known:
                    problems.append(f"{page.stem}: {pct}% in {sentence[:160]!r}")
    assert problems == []


LARGE = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?)(?!\d)")


def stated_amounts(results: dict) -> set[str]:
    """Every number of a results.json as a page writes a large one: with thousands
    separators, whole or to one or two decimals, or rounded to three significant digits
    (a range "87,200 – 93,100")."""
    out: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and math.isfinite(node):
            for v in (node, abs(node)):
                out.update({f"{v:,.0f}", f"{v:,.1f}", f"{v:,.2f}", f"{float(f'{v:.3g}'):,.0f}"})

    walk(results)
    return out


@pytest.mark.slow
def test_every_large_number_on_a_page_is_in_results_json(run: Path):
    """Counts and amounts of 1,000 or more in the prose (customers, purchases, revenue)
    are values of results.json too: a sentence cannot quote a figure the output does not hold."""
    problems = []
    for page in sorted(p for p in run.glob("*.html") if p.name != "index.html"):
        known = stated_amounts(json.loads((run / page.stem / "results.json").read_text(encoding="utf-8")))
        for sentence in prose(page.read_text(encoding="utf-8")):
            for number in LARGE.findall(sentence):
                if number not in known:
                    problems.append(f"{page.stem}: {number} in {sentence[:160]!r}")
    assert problems == []


@pytest.mark.slow
def test_the_index_opens_with_what_we_found(run: Path):
    index = (run / "index.html").read_text(encoding="utf-8")
    assert '<section class="found"><h2>What we found</h2>' in index
    body, _ = visible_text(index)
    assert plain_words_problems(body.split("Data notes")[0]) == []


def test_one_way_to_write_a_share_as_a_percentage():
    """Every report writes a share as results.json's value reads, and a missing one as n/a."""
    from engage_kit.text import pct

    assert pct(0.1234) == "12.3%" and pct(0.1234, 0) == "12%" and pct(1) == "100.0%"
    assert pct(None) == pct(float("nan")) == pct(float("inf")) == "n/a"
