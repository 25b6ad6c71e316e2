"""Every figure of the customer-journey report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..stats import error_bars
from .analysis import JourneyAnalysis
from .story import METHOD_WORDS, biggest_drop, stage, words


def plot_funnel(a: JourneyAnalysis) -> plt.Figure:
    """Horizontal bars: people at each stage, the share of the stage before written on each bar."""
    f = a.funnel
    fig, ax = plt.subplots(figsize=(8, 3.6))
    y = np.arange(len(f))[::-1]
    ax.barh(y, f["people"], color="#1f77b4")
    ax.set_yticks(y, [stage(s) for s in f["stage"]])
    for yi, n, c in zip(y, f["people"], f["conversion"], strict=True):
        label = f"{int(n):,}" + (f"  ({100 * c:.0f}% of the stage before)" if np.isfinite(c) else "")
        ax.text(n, yi, " " + label, va="center", fontsize=9)
    ax.set_xlabel("People")
    ax.set_xlim(0, max(float(f["people"].max()), 1) * 1.6)
    drop = biggest_drop(a)
    ax.set_title(f"The biggest drop is before {stage(drop[0])}" if drop else "People at each stage")
    fig.tight_layout()
    return fig


def plot_time_to_convert(a: JourneyAnalysis) -> plt.Figure:
    """Share converted (1 − Kaplan–Meier) by days since first contact and since the first purchase."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for t, label, colour in ((a.to_first, "first purchase, from first contact", "#1f77b4"),
                             (a.to_repeat, "second purchase, from the first", "#ff7f0e")):
        if t.curve is None:
            continue
        km = t.curve
        ax.step(km["time"], 1 - km["survival"], where="post", label=label, color=colour)
        ax.fill_between(km["time"], 1 - km["high"], 1 - km["low"], step="post", alpha=0.2, color=colour)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel("Days")
    ax.set_ylabel("Share who have bought")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title("How soon people buy")
    fig.tight_layout()
    return fig


def plot_attribution(a: JourneyAnalysis) -> plt.Figure:
    """Grouped bars: each channel's share of the purchases under the three ways of giving credit."""
    t = a.attribution
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(t))
    w = 0.27
    for i, (m, label) in enumerate(METHOD_WORDS.items()):
        ax.bar(x + (i - 1) * w, t[m].astype(float), w, label=label)
    ax.set_xticks(x, [words(c) for c in t["channel"]])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_ylabel("Share of purchases")
    ax.legend()
    ax.set_title(f"{words(t['channel'].iloc[0]).capitalize()} gets the most credit when every step of the path counts")
    fig.tight_layout()
    return fig


def plot_leads(a: JourneyAnalysis) -> plt.Figure:
    """Lead-to-customer conversion by source with Wilson intervals."""
    b = a.leads.by_source
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(b) + 1.6))
    y = np.arange(len(b))[::-1]
    ax.barh(y, b["rate"], xerr=error_bars(b["rate"], b["low"], b["high"]), color="#2ca02c", capsize=3)
    ax.set_yticks(y, [words(s) for s in b["source"]])
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlabel("Leads who became customers")
    ax.set_title(f"Leads from {words(b['source'].iloc[0])} become customers most often")
    fig.tight_layout()
    return fig


def plot_periods(a: JourneyAnalysis) -> plt.Figure:
    """Leads created and form fills per period."""
    p = a.periods
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(p))
    ax.bar(x - 0.2, p["leads"], 0.4, label="Leads")
    ax.bar(x + 0.2, p["form_fills"], 0.4, label="Form fills")
    step = max(1, len(p) // 12)
    ax.set_xticks(x[::step], [str(s) for s in p["period"]][::step], rotation=45, ha="right")
    ax.set_ylabel("Count")
    ax.legend()
    ax.set_title("Leads and form fills per period")
    fig.tight_layout()
    return fig
