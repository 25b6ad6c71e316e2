"""Charts of the CLV report. Each returns (figure, one plain sentence with the numbers).

The charts of the report's body speak of "the forecast" and "the chance of still buying";
those drawn for the appendix (:func:`frequency_histogram`, :func:`p_alive_calibration`,
``tracking(..., models="all")``) name the models.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..nb import say
from ..plots import ACCENT, color_for, date_axis, percent_axis
from ..stats import error_bars
from .analysis import CLVAnalysis
from .contractual import ContractualAnalysis
from .discrete import DiscreteAnalysis
from .setting_story import UNIT, discrete_forecast_text, retention_text
from .story import SEGMENT_WORDS, band_label
from .value import SEGMENTS, frequency_recency_matrix

# one colour per segment, from good to gone (grey is the share of customers)
SEGMENT_COLORS = {"champions": "#2ca02c", "active": "#1f77b4", "at_risk": "#ff7f0e", "lost": "#d62728",
                  "one_time": "#9467bd"}

MODEL_COLOR = "#ff7f0e"
TEST_SHADE = "#f0f0f0"


def thousands_axis(ax: plt.Axes, axis: str = "y") -> None:
    """Whole numbers with thousands separators on ``axis`` (40,000, not 40000)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))


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
    """Mean purchases in the test period by repeat purchases before it: actual vs forecast."""
    c = a.conditional
    fig, ax = plt.subplots()
    ax.plot(c["frequency"], c["actual"], marker="o", label="actual", color=ACCENT)
    ax.plot(c["frequency"], c["predicted"], marker="s", linestyle="--", label="forecast", color=MODEL_COLOR)
    ax.set_xlabel(f"repeat purchases up to {a.calibration_end.date()}")
    ax.set_ylabel(f"average purchases in the {a.holdout_length:.0f} test {a.unit_name}")
    top = c.iloc[-1]
    ax.set_title(f"Customers who bought more before bought more in the test period: {top['actual']:.1f} vs "
                 f"{c.iloc[0]['actual']:.1f}")
    ax.legend()
    worst = c.assign(gap=(c["predicted"] - c["actual"]).abs()).sort_values("gap").iloc[-1]
    text = (f"Customers with {top['frequency']} repeat purchases before the test period made {top['actual']:.1f} "
            f"purchases each in it (forecast {top['predicted']:.1f}); the largest gap is at {worst['frequency']} "
            f"repeat purchases ({worst['actual']:.2f} actual vs {worst['predicted']:.2f} forecast).")
    return fig, text


def tracking(a: CLVAnalysis, *, cumulative: bool, models: str = "main") -> tuple[plt.Figure, str]:
    """Repeat purchases per week (or cumulated) over time: actual vs the forecast.

    ``models="main"`` draws the model behind the report's figures as "forecast"; ``"all"``
    (for the appendix) every fitted model by name. The weekly chart leaves out a last week
    that ends before its seventh day (said in the sentence); the test period is shaded.
    """
    fig, ax = plt.subplots()
    base = a.tracks["bgnbd"]
    col_a, col_e = ("cumulative_actual", "cumulative_expected") if cumulative else ("actual", "expected")
    keep = base.index
    partial = None
    if not cumulative and len(base) and (base["end"].iloc[-1] - base["start"].iloc[-1]).days < 6:
        partial = base.iloc[-1]
        keep = base.index[:-1]
    b = base.loc[keep]
    ax.plot(b["end"], b[col_a], color=ACCENT, label="actual", linewidth=2)
    for key, t in a.tracks.items():
        if models == "main" and key != "bgnbd":
            continue
        name = "forecast" if models == "main" else a.models[key].name
        ax.plot(t.loc[keep, "end"], t.loc[keep, col_e], linestyle="--", label=name,
                color=MODEL_COLOR if key == "bgnbd" else color_for(name))
    hold = b[b["holdout"]]
    if len(hold):
        top = ax.get_ylim()[1]
        ax.set_ylim(top=top * 1.1)  # room for the label above the lines
        ax.axvspan(hold["start"].iloc[0], hold["end"].iloc[-1], color=TEST_SHADE, zorder=0)
        ax.text(hold["start"].iloc[0], top * 1.09, " test period", color="#555", va="top", ha="left")
    date_axis(ax)
    thousands_axis(ax)
    ax.set_ylabel("repeat purchases" + (", cumulative" if cumulative else " per week"))
    last = base.iloc[-1]
    err = (last["cumulative_expected"] - last["cumulative_actual"]) / last["cumulative_actual"] if last["cumulative_actual"] else np.nan
    if cumulative:
        ax.set_title(f"By {last['end'].date()} the forecast adds up to {last['cumulative_expected']:,.0f} repeat "
                     f"purchases; {last['cumulative_actual']:,.0f} happened")
        text = (f"Cumulative repeat transactions at week {int(last['period'])} ({last['end'].date()}): forecast "
                f"{last['cumulative_expected']:,.1f} against {last['cumulative_actual']:,.0f} actual ({err:+.1%}), "
                "counting the calibration weeks too.")
    else:
        weekly = hold
        test_err = a.holdout["error"]  # the test-period error the findings and key figures quote
        ax.set_title("Weekly repeat purchases follow the forecast" if abs(test_err) < 0.1 else
                     f"In the test period the forecast runs {abs(test_err):.0%} {'above' if test_err > 0 else 'below'} "
                     "weekly repeat purchases")
        text = (f"In the test weeks customers made {weekly['actual'].mean():,.0f} repeat purchases a week on average; "
                f"the forecast was {weekly['expected'].mean():,.0f}.") if len(weekly) else "No test weeks."
        if partial is not None:
            days = (partial["end"] - partial["start"]).days + 1
            text += (f" The last week ({partial['start'].date()} to {partial['end'].date()}, {days} "
                     f"day{'s' if days > 1 else ''}) is left out: it is incomplete.")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(ax.get_lines()))  # below the dates, off the lines
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
    """Heat map of a frequency/recency matrix (expected purchases or the chance of still buying)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    im = ax.imshow(data.to_numpy(float), aspect="auto", cmap="viridis",
                   extent=[-0.5, data.columns.max() + 0.5, float(data.index.min()), float(data.index.max())])
    ax.set_xlabel("repeat purchases")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{a.unit_name} from first\nto last purchase")
    cb = fig.colorbar(im, ax=ax)
    ax.grid(False)
    top = data.iloc[0].dropna()
    quiet = float(data.index.max())
    if what == "p_alive":
        cb.ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        cb.set_label("chance of still buying")
        ax.set_title("Customers who bought recently are likely still buying; regulars who went quiet are not")
        text = (f"A customer who first bought {quiet:.0f} {a.unit_name} ago and made {int(data.columns.max())} repeat "
                f"purchases, the last one just now, {_chance_words(top.iloc[-1])}; the same customer with all purchases "
                f"at the start and quiet since {_chance_words(data.iloc[-1].dropna().iloc[-1])}.")
    else:
        cb.set_label(f"expected purchases, next {a.horizon:g} {a.unit_name}")
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


def _chance_words(p: float) -> str:
    """A chance of still buying in words, with the bands of the customer groups (50% and 20%)."""
    if p >= 0.8:
        return "is very likely still buying"
    if p >= 0.5:
        return "is probably still buying"
    return "is at risk" if p >= 0.2 else "is very likely gone"


def p_alive_history(a: CLVAnalysis, history: pd.DataFrame) -> tuple[plt.Figure, str]:
    """The chance of still buying over time for a few example customers, purchases marked."""
    fig, ax = plt.subplots()
    parts = []
    for i, (_cid, h) in enumerate(history.groupby("customer_id", sort=False)):
        label = f"customer {i + 1}"
        color = plt.rcParams["axes.prop_cycle"].by_key()["color"][i % 10]
        ax.plot(h["date"], h["p_alive"], color=color, label=label)
        buys = h[h["purchase"]]
        ax.scatter(buys["date"], buys["p_alive"], color=color, s=14, zorder=3)
        parts.append(f"customer {i + 1} bought on {int(h['purchase'].sum()):,} days and {_chance_words(h['p_alive'].iloc[-1])}")
    ax.set_ylabel("chance of still buying")
    date_axis(ax)
    percent_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.set_title("The chance falls while a customer is quiet and jumps back with each purchase (dots)")
    ax.legend(loc="lower left")
    return fig, "The example customers: " + "; ".join(parts) + "."


def value_bands(a: CLVAnalysis, currency: str) -> tuple[plt.Figure, str]:
    """Share of customers and of expected value per value band (:func:`engage_kit.clv.value_bands`)."""
    b = a.value_bands
    fig, ax = plt.subplots()
    labels = [band_label(lo, hi, currency) for lo, hi in zip(b["low"], b["high"], strict=True)]
    y = np.arange(len(b))
    ax.barh(y - 0.2, b["share"], 0.4, label="share of customers", color="#bbbbbb")
    ax.barh(y + 0.2, b["share_of_value"], 0.4, label="share of expected value", color=ACCENT)
    for yy, v in zip(y, b["share"], strict=True):
        ax.text(v, yy - 0.2, f" {v:.0%}", va="center", fontsize=10, color="#555")
    for yy, v in zip(y, b["share_of_value"], strict=True):
        ax.text(v, yy + 0.2, f" {v:.0%}", va="center", fontsize=10, color=ACCENT)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    percent_axis(ax, axis="x")
    ax.set_xlim(0, max(float(b["share"].max()), float(b["share_of_value"].max())) * 1.15)
    ax.set_xlabel(f"customers worth that much over the next {a.horizon:g} {a.unit_name}, and their share of the value")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    top = b.iloc[-1]
    ax.set_title(f"Customers worth {band_label(top['low'], top['high'], currency)}: {top['share']:.0%} of customers, "
                 f"{top['share_of_value']:.0%} of the value")
    low = b.iloc[0]
    text = (f"{int(top['customers']):,} customers are worth {band_label(top['low'], top['high'], currency)} each and hold "
            f"{top['share_of_value']:.0%} of the expected value; {int(low['customers']):,} ({low['share']:.0%}) are worth "
            f"{band_label(low['low'], low['high'], currency)} and hold {low['share_of_value']:.0%}.")
    return fig, text


def segments(a: CLVAnalysis, currency: str) -> tuple[plt.Figure, str]:
    """Share of customers and of expected value per customer group."""
    s = a.segments.set_index("segment").reindex([x for x in SEGMENTS if x in set(a.segments["segment"])])
    fig, ax = plt.subplots()
    y = np.arange(len(s))
    ax.barh(y - 0.2, s["share"], 0.4, label="share of customers", color="#bbbbbb")
    ax.barh(y + 0.2, s["share_of_clv"], 0.4, label="share of expected value (group colour)",
            color=[SEGMENT_COLORS.get(n, ACCENT) for n in s.index])
    for yy, v in zip(y, s["share"], strict=True):
        ax.text(v, yy - 0.2, f" {v:.0%}", va="center", fontsize=10, color="#555")
    for yy, v, n in zip(y, s["share_of_clv"], s.index, strict=True):
        ax.text(v, yy + 0.2, f" {v:.0%}", va="center", fontsize=10, color=SEGMENT_COLORS.get(n, ACCENT))
    ax.set_yticks(y, [SEGMENT_WORDS.get(n, n) for n in s.index])
    ax.invert_yaxis()
    percent_axis(ax, axis="x")
    ax.set_xlim(0, max(float(s["share"].max()), float(s["share_of_clv"].max())) * 1.15)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    champ = s.loc["champions"] if "champions" in s.index else None
    if champ is not None:
        ax.set_title(f"Champions: {champ['share']:.0%} of customers, {champ['share_of_clv']:.0%} of the expected value")
        text = (f"Champions ({int(champ['customers']):,} customers) hold {champ['share_of_clv']:.0%} of the expected "
                f"{s['total_clv'].sum():,.0f} {currency}; repeat buyers at risk or lost are "
                f"{s.reindex(['at_risk', 'lost'])['share'].fillna(0).sum():.0%} of customers.")
    else:
        ax.set_title("Expected value by customer group")
        text = "No customer reaches the champion thresholds."
    return fig, text


# --- fixed occasions and subscriptions ---------------------------------------------------


def occasion_tracking(a: DiscreteAnalysis) -> tuple[plt.Figure, str]:
    """Customers buying again per occasion: actual against the forecast of the model that
    learnt from the occasions before the shaded test occasions."""
    t = a.tracking
    fig, ax = plt.subplots()
    x = np.arange(len(t))
    ax.bar(x, t["actual"], 0.6, color=ACCENT, label="actual")
    ax.plot(x, t["expected"], "o--", color=MODEL_COLOR, label="forecast")
    hold = np.flatnonzero(t["holdout"].to_numpy())
    if hold.size:
        ax.axvspan(hold[0] - 0.5, hold[-1] + 0.5, color=TEST_SHADE, zorder=0)
    ax.set_xticks(x, t["occasion"])
    thousands_axis(ax)
    ax.set_ylabel("customers buying again")
    err = a.holdout["error"]
    ax.set_title("Repeat buying per occasion follows the forecast" if err is not None and abs(err) < 0.1
                 else "Repeat buying per occasion against the forecast (test occasions shaded)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    return fig, discrete_forecast_text(a)


def occasion_by_frequency(a: DiscreteAnalysis) -> tuple[plt.Figure, str]:
    """Purchases per customer in the test occasions by purchases before them: actual and forecast."""
    b = a.by_frequency
    fig, ax = plt.subplots()
    x = np.arange(len(b))
    ax.bar(x - 0.2, b["actual"], 0.4, color=ACCENT, label="actual")
    ax.bar(x + 0.2, b["predicted"], 0.4, color=MODEL_COLOR, label="forecast")
    labels = [f"{int(v)}" for v in b["frequency"]]
    if len(labels):
        labels[-1] += "+"
    ax.set_xticks(x, labels)
    ax.set_xlabel("occasions bought again before the test")
    ax.set_ylabel("purchases per customer in the test")
    ax.set_title("Customers who bought more often before buy more often in the test, as forecast")
    ax.legend()
    top = b.iloc[-1]
    text = (f"Customers who had bought again {labels[-1]} times made {top['actual']:.2f} purchases each in the test "
            f"(forecast {top['predicted']:.2f}); those who had not bought again made {b['actual'].iloc[0]:.2f} "
            f"(forecast {b['predicted'].iloc[0]:.2f}).") if len(b) else ""
    return fig, text


def retention_curve(a: ContractualAnalysis) -> tuple[plt.Figure, str]:
    """Share of a group of subscribers still there after each renewal: observed (all groups
    that reached it), the model's curve with its 95% band, and the projection beyond."""
    c = a.curve
    fig, ax = plt.subplots()
    ax.fill_between(c["period"], c["low"], c["high"], color=MODEL_COLOR, alpha=0.2, linewidth=0)
    ax.plot(c["period"], c["projected"], "--", color=MODEL_COLOR, label="model (95% band)")
    seen = c.dropna(subset=["observed"])
    ax.plot(seen["period"], seen["observed"], "o-", color=ACCENT, markersize=3, label="observed")
    percent_axis(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{UNIT[a.period][1]} since signup")
    ax.set_ylabel("still subscribed")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{c['projected'].iloc[-1]:.0%} of a group of subscribers are projected to stay {int(c['period'].max())} "
                 f"{UNIT[a.period][1]}")
    ax.legend()
    return fig, retention_text(a)


__all__ = [
    "occasion_by_frequency",
    "occasion_tracking",
    "retention_curve",
    "conditional_expectations",
    "frequency_histogram",
    "frequency_recency",
    "matrix",
    "p_alive_calibration",
    "p_alive_history",
    "segments",
    "show",
    "thousands_axis",
    "tracking",
    "value_bands",
]
