"""One plot theme for every report: fonts, a fixed colour per channel and segment,
percent axes. Analysis modules return data; these helpers draw it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]
# the same colour for a channel in every report
CHANNEL_COLORS = {
    "email": "#1f77b4",
    "sms": "#ff7f0e",
    "push": "#2ca02c",
    "social": "#e377c2",
    "web": "#9467bd",
    "chat": "#8c564b",
    "phone": "#7f7f7f",
    "event": "#bcbd22",
    "app": "#17becf",
    "store": "#d62728",
    "control": "#4d4d4d",
    "referral": "#2ca02c",
    "organic": "#9467bd",
    "paid_search": "#ff7f0e",
}
ACCENT = "#1f77b4"
NEGATIVE = "#d62728"
POSITIVE = "#2ca02c"


def set_theme() -> None:
    """Apply the kit's plot theme (call once at the top of a notebook)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    mpl.rcParams.update(
        {
            "figure.figsize": (9, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


def figure_title(fig: plt.Figure) -> str:
    """A figure's title in words: its suptitle, else its axes' titles joined with "; "."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        return " ".join(sup.get_text().split())
    titles = [" ".join(ax.get_title(loc).split()) for ax in fig.axes for loc in ("left", "center", "right")]
    return "; ".join(t for t in titles if t)


def show_titles_as_alt_text() -> None:
    """In a notebook kernel, give every displayed figure its title as PNG metadata ``alt``.

    The report's HTML template writes it as the image's alternative text, so a reader
    without the image (a screen reader, the number checks of the tests) gets the title.
    Outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the lab extra
        return
    ip = get_ipython()
    if ip is None:
        return
    from IPython.core.pylabtools import print_figure

    plt.close(plt.figure())  # load the inline backend now: it registers its own formatter on loading

    def png(fig: plt.Figure) -> tuple[bytes, dict[str, str]] | None:
        if not fig.axes and not fig.lines:
            return None
        data = print_figure(fig, "png", bbox_inches="tight")
        title = figure_title(fig)
        return (data, {"alt": title}) if title else data

    ip.display_formatter.formatters["image/png"].for_type(plt.Figure, png)


def color_for(name: object) -> str:
    """A fixed colour for a channel, segment or group name (stable across reports)."""
    key = str(name).lower()
    if key in CHANNEL_COLORS:
        return CHANNEL_COLORS[key]
    return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]


def colors_for(names: Iterable[object]) -> list[str]:
    """Colours for several names, in order."""
    return [color_for(n) for n in names]


def date_axis(ax: plt.Axes, axis: str = "x") -> None:
    """Dates on ``axis`` labelled concisely (year once, then months), so labels never overlap."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(locator)
    target.set_major_formatter(mdates.ConciseDateFormatter(locator))


def percent_axis(ax: plt.Axes, axis: str = "y", decimals: int = 0) -> None:
    """Show fractions (0-1) on ``axis`` as percentages."""
    fmt = mticker.PercentFormatter(xmax=1.0, decimals=decimals)
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    # even steps (1, 2 or 5 × 10^k): 2.5-point steps read as 2%, 5%, 8%, 10% once rounded
    target.set_major_locator(mticker.MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))


def money_axis(ax: plt.Axes, currency: str = "EUR", axis: str = "y") -> None:
    """Format ``axis`` as money with thousands separators and the currency code."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f} {currency}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
