"""Charts of the CLV report. Each returns (figure, one plain sentence with the numbers)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..nb import say
from ..plots import ACCENT, color_for, date_axis, percent_axis
from ..stats import error_bars
from .analysis import CLVAnalysis
from .value import SEGMENTS, frequency_recency_matrix

# one colour per segment, from good to gone (grey is the share of customers)
SEGMENT_COLORS = {"champions": "#2ca02c", "active": "#1f77b4", "at_risk": "#ff7f0e", "lost": "#d62728",
                  "one_time": "#9467bd"}

MODEL_COLOR = "#ff7f0e"


def show(chart: tuple[plt.Figure, str], *, note: str = "") -> None:
    """Show a chart drawn by one of the functions here, then say its sentence (``note`` appended)."""
    _, text = chart
    plt.show()
    say(text + note)


def frequency_histogram(a: CLVAnalysis) -> tuple[plt.Figure, str]:
    """Customers by number of repeat purchases in the calibration period: actual vs model."""
    h, chi = a.histogram, a.chi2
    fig, ax = plt.subplots()
    x = np.arange(len(h))
    ax.bar(x - 0.2, h["actual"], 0.4, label="actual", color=ACCENT)
    ax.bar(x + 0.2, h["expected"], 0.4, label="BG/NBD", color=MODEL_COLOR)
    ax.set_xticks(x, h["frequency"])
    ax.set_xlabel(f"repeat purchases up to {a.calibration_end.date()}")
    ax.set_ylabel("customers")
    fit = "fits" if chi["p_value"] >= 0.05 else "departs from"
    ax.set_title(f"The model {fit} the spread of repeat purchases (chi² = {chi['chi2']:.1f}, p = {chi['p_value']:.2f})")
    ax.legend()
    share0 = h["actual"].iloc[0] / h["actual"].sum()
    text = (f"{share0:.0%} of customers made no repeat purchase in the calibration period (model: "
            f"{h['expected'].iloc[0] / h['expected'].sum():.0%}); chi-square {chi['chi2']:.1f} on {chi['df']} degrees "
            f"of freedom (p = {chi['p_value']:.2f}).")
    return fig, text


def conditional_expectations(a: CLVAnalysis) -> tuple[plt.Figure, str]:
    """Mean holdout purchases by calibration frequency: actual vs model."""
    c = a.conditional
    fig, ax = plt.subplots()
    ax.plot(c["frequency"], c["actual"], marker="o", label="actual", color=ACCENT)
    ax.plot(c["frequency"], c["predicted"], marker="s", linestyle="--", label="BG/NBD", color=MODEL_COLOR)
    ax.set_xlabel(f"repeat purchases up to {a.calibration_end.date()}")
    ax.set_ylabel(f"mean purchases in the {a.holdout_length:.0f}-{a.unit_name[:-1]} holdout")
    top = c.iloc[-1]
    ax.set_title(f"Customers who bought more before buy more after: {top['actual']:.1f} vs {c.iloc[0]['actual']:.2f}")
    ax.legend()
    worst = c.assign(gap=(c["predicted"] - c["actual"]).abs()).sort_values("gap").iloc[-1]
    text = (f"Customers with {top['frequency']} repeat purchases made {top['actual']:.2f} purchases each in the holdout "
            f"(model {top['predicted']:.2f}); the largest gap is at frequency {worst['frequency']} "
            f"({worst['actual']:.2f} actual vs {worst['predicted']:.2f} predicted).")
    return fig, text


def tracking(a: CLVAnalysis, *, cumulative: bool) -> tuple[plt.Figure, str]:
    """Repeat transactions per week (or cumulated): actual vs each fitted model."""
    fig, ax = plt.subplots()
    base = a.tracks["bgnbd"]
    col_a, col_e = ("cumulative_actual", "cumulative_expected") if cumulative else ("actual", "expected")
    ax.plot(base["period"], base[col_a], color=ACCENT, label="actual", linewidth=2)
    for key, t in a.tracks.items():
        name = a.models[key].name
        ax.plot(t["period"], t[col_e], linestyle="--", label=name,
                color=MODEL_COLOR if key == "bgnbd" else color_for(name))
    cal_period = base.loc[~base["holdout"], "period"].max() if (~base["holdout"]).any() else 0
    ax.axvline(cal_period + 0.5, color="#777", linestyle=":", linewidth=1)
    ax.text(cal_period + 1, ax.get_ylim()[1] * 0.95, "holdout", color="#555", va="top")
    ax.set_xlabel(f"week since {base['start'].iloc[0].date()}")
    ax.set_ylabel("repeat transactions" + (" (cumulative)" if cumulative else " per week"))
    last = base.iloc[-1]
    err = (last["cumulative_expected"] - last["cumulative_actual"]) / last["cumulative_actual"] if last["cumulative_actual"] else np.nan
    if cumulative:
        ax.set_title(f"By week {int(last['period'])} the model forecasts {last['cumulative_expected']:,.0f} repeat purchases; {last['cumulative_actual']:,.0f} happened")
        text = (f"Cumulative repeat transactions at week {int(last['period'])} ({last['end'].date()}): BG/NBD forecast "
                f"{last['cumulative_expected']:,.1f} against {last['cumulative_actual']:,.0f} actual ({err:+.1%}).")
    else:
        hold = base[base["holdout"]]
        ax.set_title("Weekly repeat purchases follow the model's trend" if abs(err) < 0.1 else "Weekly repeat purchases drift from the model")
        text = (f"In the holdout weeks customers made {hold['actual'].mean():,.1f} repeat purchases a week on average; "
                f"the BG/NBD model expected {hold['expected'].mean():,.1f}.") if len(hold) else "No holdout weeks."
    ax.legend()
    return fig, text


def p_alive_calibration(a: CLVAnalysis) -> tuple[plt.Figure, str]:
    """Share of customers buying in the holdout by P(alive) bin: model vs actual."""
    c = a.calibration
    fig, ax = plt.subplots()
    mid = (c["p_alive_low"] + c["p_alive_high"]) / 2
    yerr = error_bars(c["actual_share_buying"], c["actual_low"], c["actual_high"])
    ax.errorbar(mid, c["actual_share_buying"], yerr=yerr, fmt="o", color=ACCENT, label="actual share buying (95% CI)")
    if "model_share_buying" in c:
        ax.plot(mid, c["model_share_buying"], marker="s", linestyle="--", color=MODEL_COLOR, label="model: P(at least one purchase)")
    ax.plot(mid, c["mean_p_alive"], color="#999", linestyle=":", label="mean P(alive)")
    ax.set_xlabel(f"P(alive) on {a.calibration_end.date()}")
    ax.set_ylabel("share of customers")
    percent_axis(ax)
    percent_axis(ax, axis="x")
    low = c.iloc[0]
    hi = c.iloc[-1]
    ax.set_title("Repeat buyers the model rates alive buy again more often")
    ax.legend()
    text = (f"Of customers with P(alive) below {low['p_alive_high']:.0%}, {low['actual_share_buying']:.0%} bought in the holdout; "
            f"of those at {hi['p_alive_low']:.0%} or more, {hi['actual_share_buying']:.0%}"
            + (f" (model {hi['model_share_buying']:.0%})" if "model_share_buying" in c else "") + ".")
    return fig, text


def matrix(a: CLVAnalysis, data: pd.DataFrame, *, what: str) -> tuple[plt.Figure, str]:
    """Heat map of a frequency/recency matrix."""
    fig, ax = plt.subplots(figsize=(9, 5))
    im = ax.imshow(data.to_numpy(float), aspect="auto", cmap="viridis",
                   extent=[-0.5, data.columns.max() + 0.5, float(data.index.min()), float(data.index.max())])
    ax.set_xlabel("repeat purchases (frequency)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"recency ({a.unit_name} from first to last purchase)")
    cb = fig.colorbar(im, ax=ax)
    ax.grid(False)
    top = data.iloc[0].dropna()
    if what == "p_alive":
        cb.ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title("Customers who bought recently are alive; frequent buyers who went quiet are not")
        text = (f"A customer with {int(data.columns.max())} repeat purchases, the last right now, is alive with probability "
                f"{top.iloc[-1]:.0%}; the same customer with the last purchase at the start has "
                f"{data.iloc[-1].dropna().iloc[-1]:.0%}.")
    else:
        ax.set_title(f"Expected purchases in the next {a.horizon:g} {a.unit_name} rise with frequency and recency")
        text = (f"A customer with {int(data.columns.max())} repeat purchases and a recent last purchase is expected to buy "
                f"{top.iloc[-1]:.1f} times in the next {a.horizon:g} {a.unit_name}; with no repeat purchase "
                f"{data.iloc[-1].iloc[0]:.2f} times.")
    return fig, text


def frequency_recency(a: CLVAnalysis, *, what: str) -> tuple[plt.Figure, str]:
    """Heat map of the full-period BG/NBD model by frequency and recency (:func:`matrix`).

    ``what="expected"``: expected purchases over the horizon; ``"p_alive"``: P(alive).
    Frequencies run up to the 99th percentile of the customers' (between 5 and 30),
    recency up to the largest T.
    """
    max_f = int(min(max(a.customer_stats["frequency_p99"], 5), 30))
    max_T = a.customer_stats["max_T"]
    if what == "p_alive":
        data = frequency_recency_matrix(a.bgnbd_full, max_frequency=max_f, max_T=max_T, what="p_alive")
    else:
        data = frequency_recency_matrix(a.bgnbd_full, max_frequency=max_f, max_T=max_T, t=a.horizon)
    return matrix(a, data, what=what)


def p_alive_history(a: CLVAnalysis, history: pd.DataFrame) -> tuple[plt.Figure, str]:
    """P(alive) over time for a few example customers, purchases marked."""
    fig, ax = plt.subplots()
    parts = []
    for i, (_cid, h) in enumerate(history.groupby("customer_id", sort=False)):
        label = f"customer {i + 1}"
        color = plt.rcParams["axes.prop_cycle"].by_key()["color"][i % 10]
        ax.plot(h["date"], h["p_alive"], color=color, label=label)
        buys = h[h["purchase"]]
        ax.scatter(buys["date"], buys["p_alive"], color=color, s=14, zorder=3)
        parts.append(f"{label}: {int(h['purchase'].sum())} purchase days, P(alive) now {h['p_alive'].iloc[-1]:.0%}")
    ax.set_ylabel("P(alive)")
    date_axis(ax)
    percent_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.set_title("P(alive) falls while a customer is quiet and jumps back with each purchase")
    ax.legend()
    return fig, "; ".join(parts) + "."


def clv_distribution(a: CLVAnalysis, currency: str) -> tuple[plt.Figure, str]:
    """Distribution of predicted CLV across customers (log-spaced bins counted in the engine)."""
    h, c = a.clv_histogram, a.customer_stats
    fig, ax = plt.subplots()
    if len(h):
        edges = np.append(h["low"].to_numpy(float), h["high"].to_numpy(float)[-1])
        ax.hist(h["low"].to_numpy(float), bins=edges, weights=h["customers"].to_numpy(float), color=ACCENT)
        ax.set_xscale("log")
    ax.set_xlabel(f"predicted CLV over {a.horizon:g} {a.unit_name} ({currency}, log scale)")
    ax.set_ylabel("customers")
    top_share = c["top_share_of_clv"]
    ax.set_title(f"The top 10% of customers hold {top_share:.0%} of predicted value")
    text = (f"Median predicted CLV is {c['median']:,.2f} {currency}, the mean {c['mean']:,.2f} {currency}; "
            f"the top 10% of customers account for {top_share:.0%} of the {c['total']:,.0f} {currency} total.")
    return fig, text


def segments(a: CLVAnalysis, currency: str) -> tuple[plt.Figure, str]:
    """Share of customers and of predicted value per segment."""
    s = a.segments.set_index("segment").reindex([x for x in SEGMENTS if x in set(a.segments["segment"])])
    fig, ax = plt.subplots()
    y = np.arange(len(s))
    ax.barh(y + 0.2, s["share"], 0.4, label="share of customers", color="#bbbbbb")
    ax.barh(y - 0.2, s["share_of_clv"], 0.4, label="share of predicted value", color=[SEGMENT_COLORS.get(n, ACCENT) for n in s.index])
    ax.set_yticks(y, [n.replace("_", " ") for n in s.index])
    ax.invert_yaxis()
    percent_axis(ax, axis="x")
    ax.legend()
    champ = s.loc["champions"] if "champions" in s.index else None
    if champ is not None:
        ax.set_title(f"Champions: {champ['share']:.0%} of customers, {champ['share_of_clv']:.0%} of predicted value")
        text = (f"Champions ({int(champ['customers']):,} customers) hold {champ['share_of_clv']:.0%} of the predicted "
                f"{s['total_clv'].sum():,.0f} {currency}; at-risk and lost repeat buyers are "
                f"{s.reindex(['at_risk', 'lost'])['share'].fillna(0).sum():.0%} of customers.")
    else:
        ax.set_title("Predicted value by segment")
        text = "No customer reaches the champion thresholds."
    return fig, text


__all__ = [
    "clv_distribution",
    "conditional_expectations",
    "frequency_histogram",
    "frequency_recency",
    "matrix",
    "p_alive_calibration",
    "p_alive_history",
    "segments",
    "show",
    "tracking",
]
