"""The benchmark runner's own arithmetic (benchmarks/run.py), not its timings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_fit_gives_the_line_and_its_largest_miss_by_hand(run):
    # 10 + 50 s per million rows, the middle point 6 s above it: the least-squares line
    # through (1, 60), (3, 166), (10, 510) in millions is 13.04 + 49.78 x (slope
    # Sxy / Sxx = 2223.33 / 44.67); misses −2.82, +3.63, −0.81
    rows = [{"rows": 1_000_000, "seconds": 60.0}, {"rows": 3_000_000, "seconds": 166.0},
            {"rows": 10_000_000, "seconds": 510.0}]
    fit = run.linear_fit(rows)
    assert fit["seconds_per_million_rows"] == pytest.approx(49.78, abs=0.01)
    assert fit["intercept_seconds"] == pytest.approx(13.04, abs=0.01)
    assert fit["largest_deviation_rows"] == 3_000_000
    assert fit["largest_deviation_seconds"] == pytest.approx(3.63, abs=0.01)
    assert fit["largest_deviation_share"] == pytest.approx(3.63 / 166, abs=1e-4)


def test_two_sizes_are_no_test_of_linearity(run):
    assert run.linear_fit([{"rows": 1, "seconds": 1.0}, {"rows": 2, "seconds": 2.0}]) is None
    assert run.linear_fit([{"rows": 1, "seconds": 1.0}, {"rows": 2, "seconds": None}, {"rows": 3, "seconds": 3.0}]) is None
