"""Charts of the CLV report's intervals and covariate effects. Each returns (figure, one
plain sentence with the numbers), like :mod:`.charts`.

- :func:`forecast_band`: the repeat-purchase tracking chart (actual against the forecast)
  with the forecast's bootstrap band shaded;
- :func:`effects`: each covariate's multiplier of the purchase rate (and, for Pareto/NBD,
  of the drop-out rate) with its 95% interval, against 1 (no difference).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import ACCENT, date_axis
from .bootstrap import BootstrapResult
from .covariates import CovariateFit
from .story_depth import band_sentence, effect_label

MODEL_COLOR = "#ff7f0e"  # the forecast's colour in the other CLV charts
TEST_SHADE = "#f0f0f0"


def forecast_band(track: pd.DataFrame, band: pd.DataFrame, boot: BootstrapResult, *, calibration_end: Any,
                  cumulative: bool = False) -> tuple[plt.Figure, str]:
    """Repeat purchases per week (or cumulated): actual, forecast and its 95% band.

    Parameters
    ----------
    track : pandas.DataFrame
        :func:`~.validation.tracking` of the calibration fit (``a.tracks["bgnbd"]``).
    band : pandas.DataFrame
        :func:`~.bootstrap.tracking_band` of the same fit (``ci.band``).
    boot : BootstrapResult
        The bootstrap behind the band (``ci.calibration``).
    calibration_end : date
        End of the calibration period (the test period after it is shaded).
    cumulative : bool
        Cumulated repeat purchases instead of weekly ones.
    """
    keep = np.ones(len(track), dtype=bool)
    if not cumulative and len(track) and (track["end"].iloc[-1] - track["start"].iloc[-1]).days < 6:
        keep[-1] = False  # an incomplete last week, left out as in the report's weekly chart
    t, b = track[keep], band[keep]
    col_a, col_e, lo, hi = (("cumulative_actual", "cumulative_expected", "cumulative_low", "cumulative_high") if cumulative
                            else ("actual", "expected", "expected_low", "expected_high"))
    fig, ax = plt.subplots()
    ax.fill_between(b["end"], b[lo], b[hi], color=MODEL_COLOR, alpha=0.25, linewidth=0, label="forecast, 95% interval")
    ax.plot(t["end"], t[col_a], color=ACCENT, label="actual", linewidth=2)
    ax.plot(t["end"], t[col_e], linestyle="--", color=MODEL_COLOR, label="forecast")
    cal = pd.Timestamp(calibration_end)
    hold = t[t["end"] > cal]
    if len(hold):
        ax.axvspan(hold["start"].iloc[0], hold["end"].iloc[-1], color=TEST_SHADE, zorder=0)
    date_axis(ax)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("repeat purchases" + (", cumulative" if cumulative else " per week"))
    inside = float(np.mean((hold[col_a].to_numpy() >= b.loc[hold.index, lo].to_numpy())
                           & (hold[col_a].to_numpy() <= b.loc[hold.index, hi].to_numpy()))) if len(hold) else float("nan")
    if np.isfinite(inside):
        ax.set_title(f"{inside:.0%} of the test weeks fall inside the forecast's 95% band" if not cumulative else
                     "Cumulative repeat purchases against the forecast and its 95% band")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    text = band_sentence(band, boot)
    if np.isfinite(inside) and not cumulative:
        text += f" In {inside:.0%} of the {len(hold)} test weeks the actual purchases lie inside the band."
    return fig, text


def effects(fit: CovariateFit) -> tuple[plt.Figure, str]:
    """Multipliers of the purchase rate (and Pareto/NBD's drop-out rate) with 95% intervals."""
    e = fit.effects()
    if fit.model == "bgnbd":
        e = e[e["process"] == "purchase"]
    e = e.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(e) + 1.5))
    y = np.arange(len(e))[::-1]
    for proc, color in (("purchase", ACCENT), ("dropout", MODEL_COLOR)):
        sel = (e["process"] == proc).to_numpy()
        if sel.any():
            s = e[sel]
            ax.errorbar(s["multiplier"], y[sel], xerr=[s["multiplier"] - s["low"], s["high"] - s["multiplier"]], fmt="o",
                        color=color, capsize=3)
    ax.axvline(1.0, color="#888", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{'purchase' if p == 'purchase' else 'drop-out'}: {effect_label(c)}" for p, c in zip(e["process"], e["covariate"], strict=True)])
    ax.set_xlabel("multiplier of the rate against the reference (log scale; 1 = no difference)")
    top = e.iloc[(np.log(e["multiplier"]).abs()).idxmax()] if len(e) else None
    ax.set_title("Which customer attributes go with buying more often" if top is None else
                 f"The largest difference: {effect_label(top['covariate'])} ({top['multiplier']:.2f}×)")
    text = (f"{len(e)} effect(s); points are the estimated multipliers, bars their 95% intervals; a bar crossing 1 "
            "means the data cannot tell the difference from none.")
    return fig, text
