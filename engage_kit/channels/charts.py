"""Charts of the channel comparison report: every figure, drawn with matplotlib.

The ``plot_*`` functions draw on a given axis (or a new figure); :func:`rates`,
:func:`funnel`, :func:`pairwise`, :func:`lift`, :func:`acquisition` and :func:`trends`
make the report's figures at its sizes, titled from :mod:`engage_kit.channels.story`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import ACCENT, color_for, date_axis, money_axis, percent_axis
from ..stats import error_bars
from ..text import chart_label
from . import story
from .picks import not_tracked
from .tables import unit_noun, words

if TYPE_CHECKING:
    from .comparison import ChannelComparison


def plot_rates(result: ChannelComparison, ax: Any = None, *, order: list[Any] | None = None) -> Any:
    """Each group's outcome rate with its 95% interval (dots and bars), the rate written beside each dot.

    ``order``: the groups from top to bottom (by default the comparison's, best rate first).
    """
    g = result.groups
    if order is not None:
        g = g.set_index("group").reindex([x for x in order if x in set(g["group"])]).reset_index()
    g = g.iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(g) + 1)))
    y = np.arange(len(g))
    for i, r in enumerate(g.itertuples()):
        ax.errorbar(r.rate, i, xerr=error_bars(r.rate, r.rate_low, r.rate_high), fmt="o",
                    color=color_for(r.group), capsize=4, ms=7)
        ax.annotate(f"{r.rate:.1%}", (r.rate_high, i), xytext=(6, 0), textcoords="offset points", va="center",
                    fontsize=10)
    ax.set_yticks(y, [chart_label(words(x)) for x in g["group"]])
    ax.set_ylim(-0.6, len(g) - 0.4)
    ax.set_xlim(0, float(g["rate_high"].max()) * 1.25 if len(g) and g["rate_high"].max() > 0 else 1)
    percent_axis(ax, "x", decimals=1 if len(g) and g["rate_high"].max() < 0.05 else 0)
    ax.set_xlabel(f"{words(result.outcome)} rate per {unit_noun(result.unit)} (95% interval)")
    return ax


def _points_axis(ax: Any) -> None:
    """Differences of rates on the x axis in percentage points, "+0.5", with the decimals the tick step needs."""
    ticks = [t for t in ax.get_xticks() if np.isfinite(t)]
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False)), default=0.01) * 100
    digits = 0 if step >= 1 else (1 if step >= 0.1 else 2)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v * 100:+.{digits}f}" if abs(v) > 1e-12 else "0"))


def plot_pairwise(result: ChannelComparison, ax: Any = None, max_pairs: int = 30) -> Any:
    """Differences of every pair with Newcombe intervals; significant pairs highlighted."""
    pw = result.pairwise.head(max_pairs).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.4 * len(pw) + 1)))
    for i, r in enumerate(pw.itertuples()):
        colour = ACCENT if r.significant else "#999999"
        ax.errorbar(r.difference, i, xerr=error_bars(r.difference, r.diff_low, r.diff_high),
                    fmt="o", color=colour, capsize=3)
    ax.axvline(0, color="#444", lw=1)
    ax.set_yticks(np.arange(len(pw)), [f"{chart_label(words(a))} − {chart_label(words(b))}"
                                       for a, b in zip(pw["a"], pw["b"], strict=True)])
    _points_axis(ax)
    ax.set_xlabel("difference in rate, percentage points (95% interval); blue: more than chance")
    return ax


def plot_funnel(result: ChannelComparison, ax: Any = None) -> Any:
    """Funnel stage rates per group (exposed, opened, clicked, converted) per unit."""
    g = result.groups
    stages = ["exposed_rate", "open_rate", "click_rate", "conversion_rate"]
    names = ["exposed", "opened", "clicked", "converted"]
    if ax is None:
        _, ax = plt.subplots()
    width = 0.8 / max(len(g), 1)
    x = np.arange(len(stages))
    untracked = set(g.loc[not_tracked(g), "group"])
    for i, r in enumerate(g.itertuples()):
        vals = [getattr(r, s) for s in stages]
        bars = ax.bar(x + i * width, vals, width, label=chart_label(words(r.group)), color=color_for(r.group))
        for j, (b, v) in enumerate(zip(bars, vals, strict=True)):
            text = "not\ntracked" if names[j] == "opened" and r.group in untracked else f"{v:.0%}" if v >= 0.1 else f"{v:.1%}"
            ax.annotate(text, (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=9,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x + width * (len(g) - 1) / 2, names)
    ax.set_ylim(0, 1.12)
    percent_axis(ax, "y")
    ax.set_ylabel(f"share of {unit_noun(result.unit)}s")
    ax.legend(title=words(result.compare_by), fontsize=10, loc="upper right", framealpha=0.95)
    return ax


def plot_trends(trends: pd.DataFrame, ax: Any = None, *, outcome: str = "conversion") -> Any:
    """Each group's rate by period with a shaded 95% interval."""
    if ax is None:
        _, ax = plt.subplots()
    for grp, sub in trends.groupby("group", sort=False):
        colour = color_for(grp)
        ax.plot(sub["period"], sub["rate"], marker="o", ms=4, color=colour, label=chart_label(words(grp)))
        ax.fill_between(sub["period"], sub["rate_low"], sub["rate_high"], color=colour, alpha=0.15)
    percent_axis(ax, "y", decimals=1 if len(trends) and trends["rate_high"].max() < 0.05 else 0)
    date_axis(ax, "x")
    ax.set_ylabel(f"{words(outcome)} rate")
    ax.legend(fontsize=10)
    return ax


def plot_lift(result: ChannelComparison, ax: Any = None) -> Any:
    """Each group's lift over the control with its 95% Newcombe interval."""
    lift = result.lift if result.lift is not None else pd.DataFrame(columns=["group", "lift", "lift_low", "lift_high"])
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(lift) + 1.2)))
    for i, r in enumerate(lift.itertuples()):
        ax.errorbar(r.lift, i, xerr=error_bars(r.lift, r.lift_low, r.lift_high), fmt="o", capsize=4,
                    color=color_for(r.group), ms=7)
    ax.axvline(0, color="#444", lw=1)
    ax.set_yticks(np.arange(len(lift)), [chart_label(words(x)) for x in lift["group"]])
    _points_axis(ax)
    ax.set_xlabel(f"lift over {chart_label(words(result.control))}, percentage points (95% interval)")
    return ax


def plot_acquisition(value: pd.DataFrame, ax: Any = None, *, currency: str = "") -> Any:
    """Net revenue per customer-year by acquisition channel (from :func:`acquisition_value`)."""
    a = value.sort_values("revenue_per_customer_year")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(a) + 1.2)))
    ax.barh([chart_label(words(x)) for x in a["group"]], a["revenue_per_customer_year"],
            color=[color_for(x) for x in a["group"]])
    money_axis(ax, currency, axis="x")
    ax.set_xlabel(f"net revenue per customer-year ({currency})")
    return ax


def _figure(draw: Callable[..., Any], title: str, rows: float | None = None) -> plt.Figure:
    """A new figure drawn by ``draw(ax=...)`` and titled.

    ``rows``: the height the chart's rows take (inches); the figure is then 9 wide and
    rows + 1.2 high, at least 2.5. Without it, the theme's default size.
    """
    if rows is None:
        fig, ax = plt.subplots()
    else:
        fig, ax = plt.subplots(figsize=(9, max(2.5, rows + 1.2)))
    draw(ax=ax)
    ax.set_title(title)
    return fig


def rates(result: ChannelComparison, other: ChannelComparison | None = None) -> plt.Figure:
    """The rates chart of the report (:func:`plot_rates`), titled with the leader.

    With ``other`` (the same groups per the other unit), two panels side by side, per customer
    and per message, the groups in the same order in both.
    """
    if other is None or other.groups.empty:
        return _figure(partial(plot_rates, result), story.rates_title(result), 0.5 * len(result.groups))
    per_customer, per_message = (result, other) if result.unit == "customer" else (other, result)
    order = list(per_customer.groups["group"])
    fig, axes = plt.subplots(1, 2, figsize=(10, max(2.8, 0.55 * len(order) + 1.6)), sharey=False)
    for ax, c, name in ((axes[0], per_customer, "per customer reached, whole window"),
                        (axes[1], per_message, "per message")):
        plot_rates(c, ax=ax, order=order)
        ax.set_title(name, fontsize=11, fontweight="normal")
    if set(per_message.groups["group"]) == set(order):
        axes[1].set_yticklabels([])
    fig.suptitle(story.rates_title(result, other), x=0.02, ha="left", fontsize=13, fontweight="bold")
    fig.tight_layout()
    return fig


def funnel(result: ChannelComparison) -> plt.Figure:
    """The funnel chart of the report (:func:`plot_funnel`), titled with the highest click-through."""
    return _figure(partial(plot_funnel, result), story.funnel_title(result))


def pairwise(result: ChannelComparison) -> plt.Figure:
    """The pairwise chart of the report (:func:`plot_pairwise`), titled with the pairs that differ."""
    return _figure(partial(plot_pairwise, result), story.pairwise_title(result), 0.4 * min(len(result.pairwise), 30))


def lift(result: ChannelComparison) -> plt.Figure:
    """The lift chart of the report (:func:`plot_lift`), titled with the largest lift."""
    return _figure(partial(plot_lift, result), story.lift_title(result), 0.5 * len(result.lift))


def acquisition(value: pd.DataFrame, *, currency: str = "") -> plt.Figure:
    """The acquisition chart of the report (:func:`plot_acquisition`), titled with the most valuable channel."""
    return _figure(partial(plot_acquisition, value, currency=currency), story.acquisition_title(value), 0.5 * len(value))


def trends(result: ChannelComparison) -> plt.Figure:
    """The trends chart of the report (:func:`plot_trends`), titled with the group that leads most often."""
    return _figure(partial(plot_trends, result.trends, outcome=result.outcome), story.trends_title(result))
