"""Charts of the customer engagement report. Each ``plot_*`` draws on ``ax`` (a new figure
when None) and returns the axes; matplotlib is imported when a chart is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..stats import Estimate, error_bars
from . import story
from .scoring import LEVELS

LEVEL_COLORS = {"low": "#d62728", "medium": "#ff7f0e", "high": "#2ca02c"}


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    import matplotlib.pyplot as plt

    return ax or plt.subplots(figsize=figsize)[1]


def plot_levels(a: Any, ax: Any = None) -> Any:
    """Share of customers in each level now."""
    from ..plots import percent_axis

    ax = _axes(ax, (8, 3.2))
    c = a.counts.set_index("level").reindex(list(LEVELS))
    ax.bar([story.LEVEL_WORDS[lv] for lv in LEVELS], c["share"].to_numpy(), color=[LEVEL_COLORS[lv] for lv in LEVELS])
    for i, (s, n) in enumerate(zip(c["share"], c["customers"], strict=True)):
        ax.annotate(f"{n:,}", (i, s), ha="center", va="bottom", fontsize=9)
    percent_axis(ax)
    ax.set_ylabel("share of customers")
    hi = c.at["high", "share"]
    ax.set_title(f"{story.pct(hi)} of customers are highly engaged on {story.day(a.as_of)}")
    return ax


def plot_next_active(a: Any, ax: Any = None) -> Any:
    """Share who bought in the horizon after the check date, per level, with Wilson intervals."""
    from ..plots import percent_axis

    ax = _axes(ax, (8.5, 3.4))
    rates = a.validation.get("level_rates") or {}
    lv = [x for x in LEVELS if isinstance(rates.get(x), Estimate) and rates[x].n > 0]
    vals = np.array([rates[x].value for x in lv])
    err = error_bars(vals, [rates[x].low for x in lv], [rates[x].high for x in lv])
    ax.bar([story.LEVEL_WORDS[x] for x in lv], vals, yerr=err, capsize=6, color=[LEVEL_COLORS[x] for x in lv])
    percent_axis(ax)
    ax.set_ylabel(f"bought within {a.horizon_days} days")
    ax.set_xlabel(f"level on {story.day(a.cutoff)}")
    if "high" in lv and "low" in lv:
        ax.set_title(f"{story.pct(rates['high'].value)} of highly engaged customers bought again, "
                     f"{story.pct(rates['low'].value)} of low ones")
    else:
        ax.set_title("Share who bought again, by level")
    return ax


def plot_auc(a: Any, ax: Any = None) -> Any:
    """ROC-AUC of the score, recency alone and frequency alone, with bootstrap intervals."""
    ax = _axes(ax, (8, 2.8))
    v = a.validation
    names = [("score", "engagement score"), ("recency", "days since last purchase"), ("frequency", "purchases")]
    have = [(k, n) for k, n in names if isinstance(v.get(k), Estimate)]
    e = [v[k] for k, _ in have]
    y = np.arange(len(have))[::-1]
    ax.barh(y, [x.value for x in e], xerr=error_bars([x.value for x in e], [x.low for x in e], [x.high for x in e]),
            capsize=5, color=["#1f77b4", "#7f7f7f", "#bcbd22"][: len(have)])
    ax.set_yticks(y, [n for _, n in have])
    ax.axvline(0.5, color="#999", ls="--", lw=1)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("ROC-AUC (0.5 = chance, 1 = perfect)")
    ax.set_title("How well each ranking sorts later buyers first")
    return ax


def plot_mix(a: Any, ax: Any = None) -> Any:
    """The level mix at each period end, stacked."""
    from ..plots import percent_axis

    ax = _axes(ax, (9, 3.6))
    m = a.mix.pivot(index="period_end", columns="level", values="share").reindex(columns=list(LEVELS)).fillna(0)
    x = np.arange(len(m))
    bottom = np.zeros(len(m))
    for lv in LEVELS:
        ax.bar(x, m[lv].to_numpy(), bottom=bottom, color=LEVEL_COLORS[lv], label=story.LEVEL_WORDS[lv], width=0.7)
        bottom += m[lv].to_numpy()
    ax.set_xticks(x, [f"{d:%d %b %Y}" for d in m.index], rotation=0, fontsize=9)
    percent_axis(ax)
    ax.set_ylabel("share of customers")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_title(story.mix_title(a))
    return ax


def plot_weights(a: Any, ax: Any = None) -> Any:
    """Each signal's weight in the score."""
    from ..plots import percent_axis

    ax = _axes(ax, (8, 0.4 * max(len(a.weights), 3) + 1))
    items = sorted(a.weights.items(), key=lambda kv: kv[1])
    ax.barh([story.label(k) for k, _ in items], [w for _, w in items], color="#1f77b4")
    percent_axis(ax, axis="x")
    ax.set_xlabel("weight in the score")
    ax.set_title("What the score rests on")
    return ax
