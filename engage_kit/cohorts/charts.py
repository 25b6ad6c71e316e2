"""Charts of the cohort report: heatmaps, retention curves, revenue layers and survival curves.

Every figure is drawn here (matplotlib, imported when a chart is drawn); the titles come
from :mod:`engage_kit.cohorts.story`. Each function returns the Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..stats import Estimate
from ..text import chart_label
from . import story
from .matrix import CohortMatrix
from .periods import period_index_of, period_label, period_name
from .retention import average_curve, cohort_curves
from .revenue import RevenueRetention
from .survival import median_survival, survival_at

MAX_LAYERS = 8  # layers of the revenue chart; more cohorts are grouped


def _offset_label(period: str, cohort_by: str | None = None) -> str:
    """The x-axis label of an offset axis: ``Months since the cohort's first purchase`` (or
    ``sign-up``; ``start`` when ``cohort_by`` is None)."""
    since = "start" if cohort_by is None else ("first purchase" if cohort_by == "first_purchase" else "sign-up")
    return f"{period_name(period).capitalize()}s since the cohort's {since}"


def _heatmap(ax, values: pd.DataFrame, pending: pd.DataFrame, *, fmt: str, vmax: float | None, cmap: str,
             annotate: bool, fontsize: float = 9) -> Any:
    """Draw ``values`` as a heatmap; ``pending`` cells (started, not complete) are hatched.

    Cell labels are ``fontsize`` points; a percentage label drops its "%" sign when the
    cells are too narrow for it (the colour bar then says the cells are in %).
    """
    import matplotlib.patches as mpatches

    data = values.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(data)
    vmax = vmax if vmax is not None else (np.nanmax(data) if np.isfinite(data).any() else 1.0)
    im = ax.imshow(masked, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    pending = pending.to_numpy(dtype=bool)
    for i, j in zip(*np.nonzero(pending), strict=True):
        ax.add_patch(mpatches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#f0f0f0", edgecolor="#999999",
                                        hatch="///", linewidth=0))
    bare = False
    if annotate:
        fig = ax.figure
        cell_pt = ax.get_position().width * fig.get_figwidth() * 72 / max(values.shape[1], 1)
        bare = fmt.endswith("%") and cell_pt < 3.2 * fontsize  # "100%" needs about 3 ems
        for i, j in zip(*np.nonzero(np.isfinite(data)), strict=True):
            v = data[i, j]
            dark = v > 0.6 * vmax
            text = f"{100 * v:.0f}" if bare else format(v, fmt)
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color="white" if dark else "#222222")
    ax.set_xticks(range(values.shape[1]))
    ax.set_xticklabels([str(c) for c in values.columns], fontsize=fontsize)
    ax.set_yticks(range(values.shape[0]))
    labels = [" · ".join(map(str, ix)) if isinstance(ix, tuple) else str(ix) for ix in values.index]
    ax.set_yticklabels(labels, fontsize=fontsize)
    ax.grid(False)
    if values.shape[1] > 24:
        for lab in ax.get_xticklabels()[1::2]:
            lab.set_visible(False)
    if values.shape[0] > 40:
        for lab in ax.get_yticklabels()[1::2]:
            lab.set_visible(False)
    return im, pending.any(), bare


def plot_heatmap(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    annotate: bool | None = None,
):
    """Cohort heatmap of ``matrix.values`` with cohort sizes beside the rows.

    Incomplete cells (period not finished at ``as_of``) are hatched grey, never 0; cells
    whose period has not started are blank. Cohorts below ``min_cohort_size`` are left out;
    so is offset 0 of first-purchase retention (100% by definition). The figure is page
    wide (10 in) so that its 9-pt labels are read at their size. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    m = matrix
    keep = m.eligible(min_cohort_size)
    full = m.values.loc[keep]
    first = 1 if story._drops_offset_zero(m) else 0
    values = full.iloc[:, first:]
    pending = m.pending.loc[keep].iloc[:, first:]
    sizes = m.sizes.loc[keep]
    rows, cols = values.shape
    annotate = (cols <= 30 and rows <= 40) if annotate is None else annotate
    height = min(24, max(3.5, 0.3 * rows + 2.0))
    fig = plt.figure(figsize=(10, height))
    gs = fig.add_gridspec(1, 3, width_ratios=[max(cols, 4), 2.2, 0.35], wspace=0.05, left=0.09, right=0.93,
                          bottom=1.0 / height, top=1 - 0.8 / height)
    ax = fig.add_subplot(gs[0])
    axs = fig.add_subplot(gs[1], sharey=ax)
    cax = fig.add_subplot(gs[2])
    pct = m.metric in ("customers", "revenue")
    fmt = ".0%" if pct else ".2f"
    finite = values.to_numpy(float)
    vmax = None  # orders, or no finished cell yet: _heatmap scales on the data (1.0 when empty)
    if m.metric == "customers" and np.isfinite(finite).any():
        later = finite[:, 1:] if first == 0 and finite.shape[1] > 1 else finite
        vmax = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    elif m.metric == "revenue" and np.isfinite(finite).any():
        later = finite[:, 1:] if first == 0 and finite.shape[1] > 1 else finite
        vmax = float(np.nanquantile(later[np.isfinite(later)], 0.98)) if np.isfinite(later).any() else 1.0
        vmax = max(vmax, 0.05)
    im, has_pending, bare = _heatmap(ax, values, pending, fmt=fmt, vmax=vmax, cmap="YlGnBu", annotate=annotate)
    ax.set_xlabel(_offset_label(m.period, m.cohort_by), fontsize=10)
    ax.set_ylabel("Cohort", fontsize=10)
    cbar = fig.colorbar(im, cax=cax)
    if pct:
        cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.ax.tick_params(labelsize=9)
    cbar.set_label({"customers": "Share of the cohort buying", "revenue": "Net revenue vs the first period",
                    "orders": "Orders per cohort customer"}[m.metric] + (" (cells in %)" if bare else ""),
                   fontsize=10)
    axs.barh(range(rows), sizes.to_numpy(), color="#9ecae1", height=0.8)
    for i, s in enumerate(sizes.to_numpy()):
        axs.text(s, i, f" {s:,}", va="center", fontsize=9)
    axs.set_xlabel("Customers", fontsize=10)
    axs.tick_params(axis="y", left=False, labelleft=False)
    axs.tick_params(axis="x", bottom=False, labelbottom=False)
    axs.set_xlim(0, sizes.max() * 1.9 if len(sizes) else 1)
    axs.grid(False)
    axs.spines[["top", "right", "bottom"]].set_visible(False)
    if has_pending:
        ax.set_title(story.heatmap_pending_note(m.period, m.as_of),
                     fontsize=9, fontweight="normal", color="#555555", loc="left")
    if title is None:
        title = story.heatmap_title(m, full)
    fig.suptitle(title, x=0.01, y=1 - 0.1 / height, ha="left", va="top", fontsize=13, fontweight="bold")
    return fig


def _range_and_average(ax, lines: list[tuple[str, pd.Series]], average: pd.Series, *, label: str,
                       cmap_name: str = "viridis_r", most: int = 6) -> None:
    """Cohort lines on ``ax``: each of them when there are at most ``most``, else the range
    across cohorts as a light band with the oldest and the newest cohort (with at least two
    points) drawn; ``average`` in black on top. At most ``most`` + 1 lines in all."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap(cmap_name)
    n = len(lines)
    if n <= most:
        for i, (name, y) in enumerate(lines):
            ax.plot(y.index, y.to_numpy(), color=cmap(0.15 + 0.75 * i / max(n - 1, 1)), lw=1.3,
                    marker="o" if len(y) == 1 else None, ms=3, label=f"Cohort {name}")
    else:
        wide = pd.concat([y.rename(name) for name, y in lines], axis=1)
        ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color="#bbbbbb", alpha=0.35, lw=0,
                        label="Range across cohorts")
        long = [(name, y) for name, y in lines if len(y) >= 2]
        for (name, y), col, what in ((long[0], cmap(0.2), "oldest"), (long[-1], cmap(0.9), "newest")) if long else ():
            ax.plot(y.index, y.to_numpy(), color=col, lw=1.4, label=f"{what.capitalize()} cohort ({name})")
    ax.plot(average.index, average.to_numpy(), color="black", lw=2.5, label=label)


def plot_curves(
    matrix: CohortMatrix,
    *,
    min_cohort_size: int = 1,
    title: str | None = None,
    show_intervals: bool = False,
):
    """Retention curves: the size-weighted average in black, and the cohorts around it.

    Up to six cohorts are drawn each (coloured from old, light, to recent, dark; with
    ``show_intervals`` the average's Wilson 95% band too); more cohorts are shown as the range across them (a light band)
    with the oldest and the newest drawn. Offset 0 is left out for first-purchase cohorts
    (it is 1 by definition). Returns the Figure.
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
    lines = [(str(c), g.set_index("offset")["retention"]) for c, g in cc.groupby("cohort", sort=True)]
    if len(avg):
        if show_intervals:  # the average's own 95% band
            ax.fill_between(avg["offset"], avg["low"], avg["high"], color="black", alpha=0.12, lw=0)
        _range_and_average(ax, lines, avg.set_index("offset")["value"], label="Average, weighted by cohort size")
        ax.legend(loc="upper right", fontsize=10)
    ax.set_xlabel(_offset_label(m.period, m.cohort_by))
    word = "buying" if m.retention_mode == "n_period" else "buying then or later"
    ax.set_ylabel(f"Share of the cohort {word}")
    ax.set_ylim(bottom=0)
    _whole_periods(ax)
    percent_axis(ax)
    if title is None:
        title = story.curves_title(avg, period=m.period, retention_mode=m.retention_mode)
    ax.set_title(title)
    return fig


def _whole_periods(ax) -> None:
    """Offsets are whole periods: integer ticks at an even step."""
    import matplotlib.ticker as mticker

    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True, steps=[1, 2, 3, 6, 10]))


def plot_segment_curves(matrix: CohortMatrix, *, min_cohort_size: int = 1, title: str | None = None):
    """Size-weighted average retention curve per segment with Wilson 95% bands (the eight
    largest segments; the title and the legend name them in words)."""
    import matplotlib.pyplot as plt

    from ..plots import color_for, percent_axis

    if not matrix.segment:
        raise ParameterError("plot_segment_curves needs a matrix split by a segment")
    avg = average_curve(matrix, min_cohort_size=min_cohort_size)
    start = 1 if matrix.cohort_by == "first_purchase" else 0
    avg = avg[avg["offset"] >= start]
    fig, ax = plt.subplots(figsize=(10, 5))
    order = matrix.cohorts.groupby("segment")["customers"].sum().sort_values(ascending=False).index[:8]
    for seg in order:
        g = avg[avg["segment"] == seg]
        if g.empty:
            continue
        col = color_for(seg)
        ax.fill_between(g["offset"], g["low"], g["high"], color=col, alpha=0.15, lw=0)
        ax.plot(g["offset"], g["value"], color=col, lw=2, label=story.words(seg))
    ax.set_xlabel(_offset_label(matrix.period, matrix.cohort_by))
    ax.set_ylabel("Share of the cohort buying")
    ax.set_ylim(bottom=0)
    _whole_periods(ax)
    percent_axis(ax)
    ax.legend(title=story.words(matrix.segment), loc="upper right")
    if title is None:
        title = story.segment_curves_title(avg, period=matrix.period, segment=matrix.segment)
    ax.set_title(title)
    return fig


def plot_revenue_layers(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1, title: str | None = None):
    """Net revenue per calendar period stacked by cohort (the "layer cake").

    The title states the share of the last complete period's net revenue from earlier
    cohorts, the figure its sentence and results.json give (:func:`earlier_cohorts_share`).
    """
    import matplotlib.pyplot as plt

    from ..plots import money_axis

    keep = set(rev.sizes.index[rev.sizes >= min_cohort_size])
    bp = rev.by_period[rev.by_period["cohort"].isin(keep)]
    wide = bp.pivot_table(index="period_start", columns="cohort_index", values="revenue", aggfunc="sum").fillna(0.0)
    fig, ax = plt.subplots(figsize=(10, 5))
    if wide.empty:
        ax.set_title(title or "No revenue to show")
        return fig
    # at most 8 layers: consecutive cohorts are grouped ("2023-01 to 2023-03") when there are more
    names = bp.drop_duplicates("cohort_index").set_index("cohort_index")["cohort"].astype(str)
    cols = list(wide.columns)
    size = -(-len(cols) // MAX_LAYERS)
    groups = [cols[i:i + size] for i in range(0, len(cols), size)]
    wide = pd.DataFrame({i: wide[g].sum(axis=1) for i, g in enumerate(groups)}, index=wide.index)
    labels_of = [names[g[0]] if len(g) == 1 else f"{names[g[0]]} to {names[g[-1]]}" for g in groups]
    cmap = plt.get_cmap("viridis_r")
    n = wide.shape[1]
    colors = [cmap(0.15 + 0.75 * i / max(n - 1, 1)) for i in range(n)]
    x = np.arange(len(wide))
    pos = wide.clip(lower=0).to_numpy()
    ax.stackplot(x, pos.T, colors=colors, alpha=0.9, lw=0, labels=[chart_label(t) for t in labels_of])
    handles, texts = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], texts[::-1], title="customers who joined", loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=9, title_fontsize=9)
    incomplete = bp.groupby("period_start")["complete"].all().reindex(wide.index).fillna(True).to_numpy()
    if (~incomplete).any():
        i0 = int(np.flatnonzero(~incomplete)[0])
        ax.axvspan(i0 - 0.5, len(wide) - 0.5, color="#dddddd", alpha=0.6, lw=0)
        ax.text(i0, ax.get_ylim()[1] * 0.97, " not over yet", fontsize=9, va="top", color="#555555")
    labels = period_label([period_index_of(d, rev.period) for d in wide.index], rev.period)
    step = max(1, len(labels) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=9)
    ax.set_xlim(-0.5, len(wide) - 0.5)
    money_axis(ax, currency)
    ax.set_ylabel("Net revenue")
    if title is None:
        shared = story.revenue_layers_share(rev)
        if shared is not None:
            title = story.revenue_layers_title(*shared)
    ax.set_title(title or "Net revenue by cohort")
    return fig


def plot_nrr(rev: RevenueRetention, *, min_cohort_size: int = 1, title: str | None = None):
    """Heatmap of net revenue retention by cohort (R(c, k) / R(c, 0); can exceed 100%); offset 0
    (100% by definition) is left out."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    nrr = rev.nrr.loc[keep].iloc[:, 1:] if rev.nrr.shape[1] > 1 else rev.nrr.loc[keep]
    pending = rev.pending.loc[keep].iloc[:, 1:] if rev.nrr.shape[1] > 1 else rev.pending.loc[keep]
    rows, cols = nrr.shape
    fig, ax = plt.subplots(figsize=(10, min(24, max(3.5, 0.3 * rows + 1.8))))
    finite = nrr.to_numpy(float)
    vmax = float(np.nanquantile(finite[np.isfinite(finite)], 0.98)) if np.isfinite(finite).any() else 1.0
    im, _, bare = _heatmap(ax, nrr, pending, fmt=".0%", vmax=max(vmax, 0.05), cmap="YlGnBu",
                           annotate=cols <= 30 and rows <= 40)
    cbar = fig.colorbar(im, ax=ax, fraction=0.04)
    cbar.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    cbar.set_label("Net revenue vs the cohort's first period" + (" (cells in %)" if bare else ""))
    ax.set_xlabel(_offset_label(rev.period))
    ax.set_ylabel("Cohort")
    if title is None:
        title = story.nrr_title(rev)
    ax.set_title(title)
    return fig


def plot_cumulative_revenue(rev: RevenueRetention, *, currency: str = "", min_cohort_size: int = 1,
                            title: str | None = None):
    """Cumulative net revenue per cohort customer by offset: the average of the cohorts in
    black, the cohorts around it (see :func:`_range_and_average`)."""
    import matplotlib.pyplot as plt

    from ..plots import money_axis

    keep = rev.sizes.index[rev.sizes >= min_cohort_size]
    cum = rev.cumulative_per_customer.loc[keep]
    fig, ax = plt.subplots(figsize=(10, 5))
    lines = [(str(c), row.dropna()) for c, row in cum.iterrows() if row.notna().any()]
    if lines:
        reached = cum.notna().sum(axis=0)
        average = cum.mean(axis=0)[reached >= min(3, len(lines))]  # not the tail one or two cohorts reach
        _range_and_average(ax, lines, average, label="Average of the cohorts")
        ax.legend(loc="lower right", fontsize=10)
    ax.set_xlabel(_offset_label(rev.period))
    ax.set_ylabel("Net revenue per customer, to date")
    _whole_periods(ax)
    money_axis(ax, currency)
    if title is None:
        title = story.cumulative_title(cum, period=rev.period, currency=currency)
    ax.set_title(title)
    return fig


def plot_survival(curves: dict[str, pd.DataFrame], *, inactivity_days: int | None = None, title: str | None = None,
                  max_days: float | None = None):
    """Kaplan–Meier curves (log-log Greenwood 95% bands) of the time to lapse, in days: the share
    of customers still buying so many days after their first purchase."""
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
                label="All customers" if name == "all" else story.words(name))
        ax.fill_between(t, lo, hi, step="post", color=col, alpha=0.12, lw=0)
    ax.axhline(0.5, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("Days from the first purchase")
    ax.set_ylabel("Share still buying")
    ax.set_ylim(0, 1.02)
    if max_days:
        ax.set_xlim(0, max_days)
    percent_axis(ax)
    ax.legend(loc="upper right")
    if title is None:
        km = curves["all"]
        s0 = survival_at(km, 0)
        gone = Estimate(1 - s0.value, 1 - s0.high, 1 - s0.low, s0.n)
        title = story.survival_title(median_survival(km), survival_at(km, 365), inactivity_days=inactivity_days,
                                     first_day=gone)
    ax.set_title(title)
    return fig


def plot_subscriptions(s: Any, *, title: str | None = None):
    """Share of subscribers still subscribed k periods after signing up, pooled over the cohorts
    followed that long (:func:`~engage_kit.cohorts.subscriptions.pooled_curve`), with its 95% band."""
    import matplotlib.pyplot as plt

    from ..plots import percent_axis

    c = s.curve
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.step(c["period"], c["share"], where="post", color="black", lw=2.2, label="Still subscribed")
    ax.fill_between(c["period"], c["low"], c["high"], step="post", color="black", alpha=0.12, lw=0, label="95% band")
    ax.set_xlabel(f"{s.unit.capitalize()}s after signing up")
    ax.set_ylabel("Share still subscribed")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(1, int(c["period"].max())))
    percent_axis(ax)
    ax.legend(loc="upper right")
    ax.set_title(title or story.subscriptions_title(s))
    return fig

