"""The config's benchmarks drawn on the KPI report's trend charts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from engage_kit import metrics as M  # noqa: E402
from engage_kit.config import parse_config  # noqa: E402


def _trend() -> pd.DataFrame:
    starts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    rows = []
    for key, values in (("retention.customer_retention_rate", [0.80, 0.82, 0.79]),
                        ("retention.churn_rate", [0.20, 0.18, 0.21])):
        for s, v in zip(starts, values, strict=True):
            rows.append({"key": key, "period_start": s, "value": v, "low": v - 0.02, "high": v + 0.02,
                         "complete": True})
    return pd.DataFrame(rows)


def _targets(ax) -> list[tuple[str, float]]:
    return [(ln.get_label(), float(ln.get_ydata()[0])) for ln in ax.get_lines() if ln.get_linestyle() == "--"]


def test_retention_chart_shows_the_configured_target_line():
    keys = ["retention.customer_retention_rate", "retention.churn_rate"]
    tx = {"transactions": {"path": "x"}}
    ax = M.plot_trends(_trend(), keys, title="t", benchmarks=parse_config({"tables": tx}).benchmarks)
    assert _targets(ax) == [("target 85%", 0.85)]
    assert "target 85%" in [t.get_text() for t in ax.texts]  # labelled on the chart, not only in the legend
    assert ax.get_ylim()[1] > 0.85  # the line is inside the axes
    plt.close("all")
    changed = parse_config({"benchmarks": {"customer_retention_rate": 0.9}, "tables": tx}).benchmarks
    ax = M.plot_trends(_trend(), keys, title="t", benchmarks=changed)
    assert _targets(ax) == [("target 90%", 0.9)]
    plt.close("all")
    off = parse_config({"benchmarks": {"customer_retention_rate": None}, "tables": tx}).benchmarks
    for b in (off, None):
        assert _targets(M.plot_trends(_trend(), keys, title="t", benchmarks=b)) == []
        plt.close("all")
    # a chart without the retention rate gets no retention target
    assert _targets(M.plot_trends(_trend(), ["retention.churn_rate"], title="t", benchmarks={"customer_retention_rate": 0.85})) == []
    plt.close("all")
