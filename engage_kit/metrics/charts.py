"""The KPI report's figures: trends with their bands, segments with their intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..stats import error_bars
from .kpis import _kpi


def _unit_axis(ax, unit: str, values: pd.Series, currency: str, axis: str = "y") -> None:
    """Percent axes for rates (one decimal below 10%), money with decimals when the range is small."""
    import matplotlib.ticker as mticker

    from ..plots import percent_axis

    v = pd.to_numeric(values, errors="coerce").abs()
    top = float(v.max()) if v.notna().any() else 1.0
    target = ax.yaxis if axis == "y" else ax.xaxis
    if unit in ("share", "ratio"):
        percent_axis(ax, axis=axis, decimals=1 if top < 0.1 else 0)
        target.set_major_formatter(mticker.FuncFormatter(_distinct_percent(target, 1 if top < 0.1 else 0)))
        if axis == "x":  # narrow panels: few ticks so the labels do not run together
            target.set_major_locator(mticker.MaxNLocator(4, steps=[1, 2, 5, 10]))
    elif unit == "money":  # the currency goes in the axis label, ticks stay short
        target.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}" if top >= 100 else "{x:,.1f}"))
        target.set_major_locator(mticker.MaxNLocator(5))
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(currency)


def _distinct_percent(axis, least: int = 0):
    """Percent tick formatter with the fewest decimals (at least ``least``) that keep the labels distinct."""
    def fmt(x: float, pos: Any = None) -> str:
        lo, hi = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_majorticklocs() if lo - 1e-12 <= t <= hi + 1e-12]
        d = least
        while d < 3 and len({f"{100 * t:.{d}f}" for t in ticks}) < len(ticks):
            d += 1
        return f"{100 * x:.{d}f}%"
    return fmt


def plot_trends(long: pd.DataFrame, keys: list[str], *, title: str, currency: str = "", ylabel: str | None = None,
                benchmarks: Mapping[str, float | None] | None = None):
    """Line chart of KPIs per period with their 95% bands; incomplete periods hollow. Returns the axes.

    ``benchmarks`` (the config's ``benchmarks``, name -> target share): a KPI of ``keys``
    whose name after the area is a benchmark's name (``customer_retention_rate`` for
    ``retention.customer_retention_rate``) gets a dashed line at the target, labelled
    "target 85%"; None values draw nothing.
    """
    import matplotlib.pyplot as plt

    from ..plots import PALETTE

    fig, ax = plt.subplots(figsize=(9, 4))
    units = set()
    for i, key in enumerate(keys):
        g = long[long["key"] == key].sort_values("period_start")
        if g.empty:
            continue
        k = _kpi(key)
        units.add(k.unit)
        c = PALETTE[i % len(PALETTE)]
        x = g["period_start"]
        ax.plot(x, g["value"], marker="o", ms=4, color=c, label=k.label)
        ax.fill_between(x, g["low"].astype(float), g["high"].astype(float), color=c, alpha=0.15, lw=0)
        inc = g[~g["complete"].astype(bool)]
        if len(inc):
            ax.plot(inc["period_start"], inc["value"], "o", ms=7, mfc="white", color=c)
    shown = long[long["key"].isin(keys)]
    _targets(ax, [k for k in keys if (long["key"] == k).any()], benchmarks)
    if units <= {"share", "ratio"}:
        _unit_axis(ax, "share", shown["high"], currency)
    elif units == {"money"}:
        _unit_axis(ax, "money", shown["high"], currency)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(ax.get_legend_handles_labels()[0]) > 1:  # one series: the title names it
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    fig.autofmt_xdate()
    return ax


def _targets(ax, keys: list[str], benchmarks: Mapping[str, float | None] | None) -> None:
    """A dashed grey line per benchmark whose KPI is drawn, labelled with its target."""
    names = {k.split(".", 1)[-1] for k in keys}
    for name, value in (benchmarks or {}).items():
        if value is None or name not in names:
            continue
        label = f"target {100 * float(value):.1f}%".replace(".0%", "%")
        ax.axhline(float(value), color="#555555", ls="--", lw=1.2, label=label, zorder=1)
        ax.annotate(label, xy=(1, float(value)), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize=9, color="#555555")


def plot_segments(seg: pd.DataFrame, keys: list[str], *, title: str, by: str, currency: str = ""):
    """Dot-and-whisker chart of KPIs per segment (95% intervals). Returns the figure."""
    import matplotlib.pyplot as plt

    from ..plots import color_for

    keys = [k for k in keys if (seg["key"] == k).any()]
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(4.2 * max(len(keys), 1), 0.45 * seg["segment"].nunique() + 1.5),
                             squeeze=False, sharey=True)
    for ax, key in zip(axes[0], keys, strict=False):
        g = seg[seg["key"] == key].sort_values("segment")
        y = range(len(g))
        cols = [color_for(s) for s in g["segment"]]
        ax.errorbar(g["value"], list(y), xerr=error_bars(g["value"], g["low"], g["high"]),
                    fmt="none", ecolor="#999", capsize=3)
        ax.scatter(g["value"], list(y), color=cols, zorder=3)
        ax.set_yticks(list(y), [str(s) for s in g["segment"]])
        ax.set_ylim(-0.6, len(g) - 0.4)
        k = _kpi(key)
        _unit_axis(ax, k.unit, g["high"], currency, axis="x")
        ax.set_title(k.label, fontsize=11)
    axes[0][0].set_ylabel(by)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_sentiment_by_score(by_score: pd.DataFrame):
    """Stacked bars: negative, neutral and positive comments per answer group (NPS, CSAT). Returns the axes.

    From :func:`.sentiment.by_score`; the title states the finding when both ends of the NPS
    scale wrote comments.
    """
    import matplotlib.pyplot as plt

    from ..plots import NEGATIVE, POSITIVE, percent_axis
    from .story import SCORE_GROUP_WORDS

    df = by_score.reset_index(drop=True)
    names = [f"{k.upper()} {SCORE_GROUP_WORDS.get(g, g)}" for k, g in zip(df["kind"], df["group"], strict=True)]
    neg, pos = df["share_negative"].astype(float), df["share_positive"].astype(float)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(df) + 1.5))
    y = list(range(len(df)))[::-1]
    ax.barh(y, neg, color=NEGATIVE, label="negative")
    ax.barh(y, 1 - neg - pos, left=neg, color="#cccccc", label="neutral")
    ax.barh(y, pos, left=1 - pos, color=POSITIVE, label="positive")
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    percent_axis(ax, axis="x")
    g = df.set_index(df["kind"] + ":" + df["group"])
    if {"nps:detractor", "nps:promoter"} <= set(g.index):
        title = (f"Detractors wrote negative comments {g.loc['nps:detractor', 'share_negative']:.0%} of the time, "
                 f"promoters {g.loc['nps:promoter', 'share_negative']:.0%}")
    else:
        title = "Tone of the comments by answer"
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    return ax
