"""Charts of the cohort report: heatmaps, retention curves, revenue layers and survival curves.

Every figure is drawn here (matplotlib, imported when a chart is drawn); the titles come
from :mod:`engage_kit.cohorts.story`. Each function returns the Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from . import story
from .matrix import CohortMatrix
from .periods import period_index_of, period_label, period_name
from .retention import average_curve, cohort_curves
from .revenue import RevenueRetention
from .survival import median_survival, survival_at


def _offset_label(period: str, cohort_by: str | None = None) -> str:
    """The x-axis label of an offset axis: ``Months since the cohort's first purchase`` (or
    ``sign-up``; ``start`` when ``cohort_by`` is None)."""
    since = "start" if cohort_by is None else ("first purchase" if cohort_by == "first_purchase" else "sign-up")
    return f"{period_name(period).capitalize()}s since the cohort's {since}"


def _heatmap(ax, values: pd.DataFrame, pending: pd.DataFrame, *, fmt: str, vmax: float | None, cmap: str,
             annotate: bool) -> Any:
    """Draw ``values`` as a heatmap; ``pending`` cells (started, not complete) are hatched."""
    import matplotlib.patches as mpatches

    data = values.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(data)
    vmax = vmax if vmax is not None else (np.nanmax(data) if np.isfinite(data).any() else 1.0)
    im = ax.imshow(masked, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    pending = pending.to_numpy(dtype=bool)
    for i, j in zip(*np.nonzero(pending), strict=True):
        ax.add_patch(mpatches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#f0f0f0", edgecolor="#999999",
                                        hatch="///", linewidth=0))
    if annotate:
        for i, j in zip(*np.nonzero(np.isfinite(data)), strict=True):
            v = data[i, j]
            dark = v > 0.6 * vmax
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                    color="white" if dark else "#222222")
    ax.set_xticks(range(values.shape[1]))
    ax.set_xticklabels([str(c) for c in values.columns], fontsize=8)
    ax.set_yticks(range(values.shape[0]))
    labels = [" · ".join(map(str, ix)) if isinstance(ix, tuple) else str(ix) for ix in values.index]
    ax.set_yticklabels(labels, fontsize=8)
    ax.grid(False)
    if values.shape[1] > 30:
        for lab in ax.get_xticklabels()[1::2]:
            lab.set_visible(False)
    if values.shape[0] > 40:
        for lab in ax.get_yticklabels()[1::2]:
            lab.set_visible(False)
    return im, pending.any()


def plot_heatmap(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    annotate: bool | None = None,
):
    """Cohort heatmap of ``matrix.values`` with cohort sizes beside the rows.

    Incomplete cells (period not finished at ``as_of``) are hatched grey, never 0; cells
    whose period has not started are blank. Cohorts below ``min_cohort_size`` are left out.
    Returns the Figure.
    """
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    m = matrix
    keep = m.eligible(min_cohort_size)
    values = m.values.loc[keep]
    pending = m.pending.loc[keep]
    sizes = m.sizes.loc[keep]
    rows, cols = values.shape
    annotate = (cols <= 26 and rows <= 40) if annotate is None else annotate
    height = min(24, max(3.5, 0.32 * rows + 1.8))
    fig = plt.figure(figsize=(min(18, max(9, 0.5 * cols + 3.5)), height))
    gs = fig.add_gridspec(1, 2, width_ratios=[max(cols, 4), 3], wspace=0.04, top=1 - 0.75 / height)
    ax = fig.add_subplot(gs[0])
    axs = fig.add_subplot(gs[1], sharey=ax)
    pct = m.metric in ("customers", "revenue")
    fmt = ".0%" if pct else ".2f"
    finite = values.to_numpy(float)
    vmax = None  # orders, or no finished cell yet: _heatmap scales on the data (1.0 when empty)
    if m.metric == "customers" and np.isfinite(finite).any():
        # offset 0 is 1.0 for first-purchase cohorts: scale colours on the later offsets
        later = finite[:, 1:] if finite.shape[1] > 1 else finite
        vmax = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    elif m.metric == "revenue" and np.isfinite(finite).any():
        later = finite[:, 1:] if finite.shape[1] > 1 else finite
        vmax = float(np.nanquantile(later[np.isfinite(later)], 0.98)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    im, has_pending = _heatmap(ax, values, pending, fmt=fmt, vmax=vmax, cmap="YlGnBu", annotate=annotate)
    ax.set_xlabel(_offset_label(m.period, m.cohort_by))
    ax.set_ylabel("Cohort")
    cbar = fig.colorbar(im, ax=axs, fraction=0.2, pad=0.25)
    if pct:
        cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.set_label({"customers": "Share of the cohort active", "revenue": "Net revenue retention",
                    "orders": "Orders per cohort customer"}[m.metric])
    axs.barh(range(rows), sizes.to_numpy(), color="#9ecae1", height=0.8)
    for i, s in enumerate(sizes.to_numpy()):
        axs.text(s, i, f" {s:,}", va="center", fontsize=7)
    axs.set_xlabel("Cohort size")
    axs.tick_params(axis="y", left=False, labelleft=False)
    axs.set_xlim(0, sizes.max() * 1.45 if len(sizes) else 1)
    axs.grid(False)
    axs.spines[["top", "right"]].set_visible(False)
    axs.xaxis.set_major_locator(mticker.MaxNLocator(2))
    if has_pending:
        ax.set_title(story.heatmap_pending_note(m.period, m.as_of),
                     fontsize=9, fontweight="normal", color="#555555", loc="left")
    if title is None:
        title = story.heatmap_title(m, values)
    fig.suptitle(title, x=0.01, y=1 - 0.1 / height, ha="left", va="top", fontsize=13, fontweight="bold")
    return fig



def plot_curves(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    show_intervals: bool = True,
):
    """Retention curves per cohort (with Wilson 95% bands) and the size-weighted average.

    Cohorts are coloured from old (light) to recent (dark); the average is drawn in black
    with its own band. Offset 0 is left out for first-purchase cohorts (it is 1 by
    definition). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    from ..plots import percent_axis

    m = matrix.overall()
    cc = cohort_curves(m, min_cohort_size=min_cohort_size)
    avg = average_curve(m, min_cohort_size=min_cohort_size)
    start = 1 if m.cohort_by == "first_purchase" else 0
    cc = cc[cc["offset"] >= start]
    avg = avg[avg["offset"] >= start]
    fig, ax = plt.subplots(figsize=(10, 5))
    cohorts = cc["cohort"].drop_duplicates().tolist()
    cmap = plt.get_cmap("viridis_r")
    for i, c in enumerate(cohorts):
        g = cc[cc["cohort"] == c]
        color = cmap(0.15 + 0.75 * i / max(len(cohorts) - 1, 1))
        ax.plot(g["offset"], g["retention"], color=color, lw=1, alpha=0.8, marker="o" if len(g) == 1 else None, ms=3)
        if show_intervals:
            ax.fill_between(g["offset"], g["low"], g["high"], color=color, alpha=0.08, lw=0)
    if len(avg):
        ax.fill_between(avg["offset"], avg["low"], avg["high"], color="black", alpha=0.15, lw=0)
        ax.plot(avg["offset"], avg["value"], color="black", lw=2.5, label="Size-weighted average (95% CI)")
    if len(cohorts) >= 2:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=cmap(0.15), lw=1.5, label=f"Oldest cohort ({cohorts[0]})"),
                   Line2D([], [], color=cmap(0.9), lw=1.5, label=f"Newest cohort ({cohorts[-1]})")]
        ax.legend(handles=[*ax.get_legend_handles_labels()[0], *handles], loc="upper right")
    elif len(avg):
        ax.legend(loc="upper right")
    ax.set_xlabel(_offset_label(m.period, m.cohort_by))
    mode = "active" if m.retention_mode == "n_period" else "active then or later"
    ax.set_ylabel(f"Share of cohort {mode}")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    if title is None:
        title = story.curves_title(avg, period=m.period, retention_mode=m.retention_mode)
    ax.set_title(title)
    return fig


def plot_segment_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1, title: str | None = None):
    """Size-weighted average retention curve per segment with Wilson 95% bands."""
    import matplotlib.pyplot as plt

    from ..plots import color_for, percent_axis

    if not matrix.segment:
        raise ParameterError("plot_segment_curves needs a matrix split by a segment")
    avg = average_curve(matrix, min_cohort_size=min_cohort_size)
    start = 1 if matrix.cohort_by == "first_purchase" else 0
    avg = avg[avg["offset"] >= start]
    fig, ax = plt.subplots(figsize=(10, 5))
    order = matrix.cohorts.groupby("segment")["customers"].sum().sort_values(ascending=False).index
    for seg in order:
        g = avg[avg["segment"] == seg]
        if g.empty:
            continue
        col = color_for(seg)
        ax.fill_between(g["offset"], g["low"], g["high"], color=col, alpha=0.15, lw=0)
        ax.plot(g["offset"], g["value"], color=col, lw=2, label=str(seg))
    ax.set_xlabel(_offset_label(matrix.period))
    ax.set_ylabel("Share of cohort active")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    ax.legend(title=matrix.segment, loc="upper right")
    if title is None:
        title = story.segment_curves_title(avg, period=matrix.period, segment=matrix.segment)
    ax.set_title(title)
    return fig


def plot_revenue_layers(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1, title: str | None = None):
    """Net revenue per calendar period stacked by cohort (the "layer cake")."""
    import matplotlib.pyplot as plt

    from ..plots import money_axis

    keep = set(rev.sizes.index[rev.sizes >= min_cohort_size])
    bp = rev.by_period[rev.by_period["cohort"].isin(keep)]
    wide = bp.pivot_table(index="period_start", columns="cohort_index", values="revenue", aggfunc="sum").fillna(0.0)
    fig, ax = plt.subplots(figsize=(10, 5))
    if wide.empty:
        ax.set_title(title or "No revenue to show")
        return fig
    cmap = plt.get_cmap("viridis_r")
    n = wide.shape[1]
    colors = [cmap(0.15 + 0.75 * i / max(n - 1, 1)) for i in range(n)]
    x = np.arange(len(wide))
    pos = wide.clip(lower=0).to_numpy()
    ax.stackplot(x, pos.T, colors=colors, alpha=0.9, lw=0)
    incomplete = bp.groupby("period_start")["complete"].all().reindex(wide.index).fillna(True).to_numpy()
    if (~incomplete).any():
        i0 = int(np.flatnonzero(~incomplete)[0])
        ax.axvspan(i0 - 0.5, len(wide) - 0.5, color="#dddddd", alpha=0.6, lw=0)
        ax.text(i0, ax.get_ylim()[1] * 0.97, " incomplete", fontsize=8, va="top", color="#555555")
    labels = period_label([period_index_of(d, rev.period) for d in wide.index], rev.period)
    step = max(1, len(labels) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(wide) - 0.5)
    money_axis(ax, currency)
    ax.set_ylabel("Net revenue")
    total = wide.sum(axis=1)
    complete_total = total[incomplete] if incomplete.any() else total
    if title is None and len(complete_total):
        last = complete_total.index[-1]
        share_old = 1 - wide.loc[last, wide.columns.max()] / total.loc[last] if total.loc[last] else np.nan
        lab = period_label([period_index_of(last, rev.period)], rev.period)[0]
        title = story.revenue_layers_title(lab, share_old)
    ax.set_title(title or "Net revenue by cohort")
    return fig


def plot_nrr(rev: RevenueRetention, *, min_cohort_size: int = 1, title: str | None = None):
    """Heatmap of net revenue retention by cohort (R(c, k) / R(c, 0); can exceed 100%)."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    nrr = rev.nrr.loc[keep]
    pending = rev.pending.loc[keep]
    rows, cols = nrr.shape
    fig, ax = plt.subplots(figsize=(min(18, max(9, 0.5 * cols + 2)), min(24, max(3.5, 0.32 * rows + 1.8))))
    finite = nrr.to_numpy(float)
    later = finite[:, 1:] if cols > 1 else finite
    vmax = float(np.nanquantile(later[np.isfinite(later)], 0.98)) if np.isfinite(later).any() else 1.0
    im, _ = _heatmap(ax, nrr, pending, fmt=".0%", vmax=max(vmax, 0.05), cmap="YlGnBu",
                     annotate=cols <= 26 and rows <= 40)
    cbar = fig.colorbar(im, ax=ax, fraction=0.04)
    cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.set_label("Net revenue vs the cohort's first period")
    ax.set_xlabel(_offset_label(rev.period))
    ax.set_ylabel("Cohort")
    if title is None:
        title = story.nrr_title(rev)
    ax.set_title(title)
    return fig


def plot_cumulative_revenue(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1,
                            title: str | None = None):
    """Cumulative net revenue per cohort customer by offset, one line per cohort."""
    import matplotlib.pyplot as plt

    from ..plots import money_axis

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    cum = rev.cumulative_per_customer.loc[keep]
    fig, ax = plt.subplots(figsize=(10, 5))
    cmap = plt.get_cmap("viridis_r")
    n = len(cum)
    for i, (c, row) in enumerate(cum.iterrows()):
        r = row.dropna()
        ax.plot(r.index, r.to_numpy(), color=cmap(0.15 + 0.75 * i / max(n - 1, 1)), lw=1.2,
                marker="o" if len(r) == 1 else None, ms=3, label=str(c) if i in (0, n - 1) else None)
    ax.set_xlabel(_offset_label(rev.period))
    ax.set_ylabel("Cumulative net revenue per customer")
    money_axis(ax, currency)
    if n >= 1:
        ax.legend(title="cohort (light: oldest, dark: newest)", loc="lower right")
    if title is None:
        title = story.cumulative_title(cum, period=rev.period, currency=currency)
    ax.set_title(title)
    return fig


def plot_survival(curves: dict[str, pd.DataFrame], *, inactivity_days: int | None = None, title: str | None = None,
                  max_days: float | None = None):
    """Kaplan–Meier curves (log-log Greenwood 95% bands) of the time to lapse, in days."""
    import matplotlib.pyplot as plt

    from ..plots import color_for, percent_axis

    fig, ax = plt.subplots(figsize=(10, 5))
    for name, km in curves.items():
        col = "black" if name == "all" else color_for(name)
        t = np.concatenate([[0.0], km["time"].to_numpy()])
        s = np.concatenate([[1.0], km["survival"].to_numpy()])
        lo = np.concatenate([[1.0], km["low"].to_numpy()])
        hi = np.concatenate([[1.0], km["high"].to_numpy()])
        ax.step(t, s, where="post", color=col, lw=2.2 if name == "all" else 1.5,
                label="All customers" if name == "all" else str(name))
        ax.fill_between(t, lo, hi, step="post", color=col, alpha=0.12, lw=0)
    ax.axhline(0.5, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("Days from the first purchase")
    ax.set_ylabel("Share not yet lapsed")
    ax.set_ylim(0, 1.02)
    if max_days:
        ax.set_xlim(0, max_days)
    percent_axis(ax)
    ax.legend(loc="upper right")
    if title is None:
        km = curves["all"]
        title = story.survival_title(median_survival(km), survival_at(km, 365), inactivity_days=inactivity_days)
    ax.set_title(title)
    return fig
