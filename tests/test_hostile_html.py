"""Data is text, never code: a script planted in every text column of every table never runs.

The demo dataset is written as CSV, then every text column of every table is given a
payload: ids and attribute values carry it in every row (so it reaches tables, sentences,
chart labels and the index), and enumerations the kit reads by value (event, kind,
channel of touches) get extra rows whose value is the payload. All reports are rendered
and opened in headless Chromium: no planted script may run, and the payload must be
shown as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from engage_kit.cli import main
from engage_kit.schema import TABLES

from .chromium import chromium_path, inspect_page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile-html")]

MARK = "EKX"
PAYLOAD = (
    f'<script>window.__ek_xss="script"</script><img src=x onerror="window.__ek_xss=\'img\'">'
    f"[{MARK}](javascript:window.__ek_xss='link')*{MARK}*"
)
# columns the kit reads by value: the payload is added as extra rows, not written over them
ENUMERATIONS = {"touches": ("channel", "event"), "surveys": ("kind",), "loyalty": ("kind",), "tickets": ("handled_by",)}
IDS = ("customer_id", "order_id", "ticket_id", "session_id", "lead_id", "campaign_id")
NOT_TEXT = ("timestamp", "signup_at", "opened_at", "resolved_at", "started_at", "created_at", "converted")


def plant(folder: Path) -> Path:
    """Rewrite the demo CSVs in ``folder`` with the payload in every text column."""
    cfg_path = folder / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["title"] = f"Review {PAYLOAD}"
    for name, spec in cfg["tables"].items():
        path = folder / spec["path"]
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        enum = ENUMERATIONS.get(name, ())
        for col in df.columns:
            typed = name in TABLES and TABLES[name].kind(col) in ("timestamp", "float", "int", "bool")
            if typed or col in NOT_TEXT or col in enum or pd.to_numeric(df[col].replace("", None), errors="coerce").notna().any():
                continue
            if col in IDS:
                df[col] = df[col].map(lambda v: f"{PAYLOAD}{v}" if v else v)
            else:
                df[col] = df[col].map(lambda v: f"{v}{PAYLOAD}" if v else v)
        extra = []
        for col in enum:
            rows = df.sample(frac=0.05, random_state=1).copy()
            rows[col] = PAYLOAD
            extra.append(rows)
        if extra:
            df = pd.concat([df, *extra], ignore_index=True)
        df.to_csv(path, index=False)
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return cfg_path


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    from engage_kit.datasets import write_demo

    folder = tmp_path_factory.mktemp("planted")
    write_demo(folder, 2000, seed=7, fmt="csv")
    cfg = plant(folder)
    outs = {}
    for label, extra in (("pseudonymised", []), ("show-ids", ["--show-ids"])):
        out = folder / f"out-{label}"
        code = main(["report", str(cfg), "--out", str(out), "--jobs", "2", *extra])
        outs[label] = (code, out)
    return outs


def test_reports_render_with_the_payload_everywhere(planted):
    for code, out in planted.values():
        run = json.loads((out / "run.json").read_text())
        status = {n["name"]: (n["status"], n["error"]) for n in run["notebooks"]}
        assert code == 0, status


def test_no_raw_payload_in_any_page(planted):
    for _, out in planted.values():
        for page in sorted(out.glob("*.html")):
            html = page.read_text()
            assert '<script>window.__ek_xss' not in html, page.name
            assert '<img src=x onerror' not in html, page.name
            assert 'href="javascript:' not in html.lower(), page.name
            assert f"<em>{MARK}</em>" not in html, page.name  # no Markdown from the data either


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (Debian package 'chromium'); .ci/run installs it")
def test_no_planted_script_runs_in_chromium_and_the_payload_is_text(planted, tmp_path):
    for label, (_, out) in planted.items():
        for page in sorted(out.glob("*.html")):
            info = inspect_page(page, probe="window.__ek_xss === undefined ? null : window.__ek_xss")
            assert info["probe"] is None, (label, page.name, info["probe"])
            assert info["broken"] == 0, (label, page.name)  # no planted <img> became an element
            assert "<script>window.__ek_xss" in info["text"], (label, page.name)
