"""What the CLV report says: numbers in, plain words out.

The body of the report speaks of "the model", "the chance a customer is still buying" and
"the test period"; the model names, parameters, likelihoods and tests are said only in the
"Method and diagnostics" appendix (:data:`APPENDIX_INTRO`, :func:`glossary`).
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..text import esc
from .models import FittedModel
from .validation import preferred_model

if TYPE_CHECKING:
    from ..activity import ActiveWindow
    from .analysis import CLVAnalysis

# what the P(alive) calibration chart leaves out
REPEAT_BUYERS_ONLY = " (Repeat buyers only: the model rates customers without a repeat purchase alive by construction.)"
# the share of customers whose value the top-customers finding is about
TOP_SHARE = 0.10

# parameters whose bound means "no drop-out" in each purchase model
_DROPOUT = {"BG/NBD": ("a", "b"), "MBG/NBD": ("a", "b"), "Pareto/NBD": ("s", "beta")}
_RATE = ("r", "alpha")
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}

SEGMENT_WORDS = {"champions": "Champions", "active": "Active", "at_risk": "At risk", "lost": "Lost",
                 "one_time": "One-time buyers"}
SEGMENT_DESCRIPTIONS = {
    "champions": "likely still buying, among the 20% of highest expected value",
    "active": "likely still buying, lower expected value",
    "at_risk": "bought more than once, chance of still buying between 20% and 50%",
    "lost": "bought more than once, chance of still buying below 20%",
    "one_time": "one purchase so far; the model cannot judge them yet",
}

SECTION_TITLES = {
    "forecast": "How well the forecast matched the test period",
    "active": "Who is still buying",
    "value": "What customers are worth",
}


# --- numbers in words ------------------------------------------------------------------------


def money(value: float, currency: str = "") -> str:
    """A whole amount with thousands separators and its currency: ``890,270 EUR``."""
    return f"{value:,.0f} {currency}".strip()


def rounded(value: float) -> float:
    """``value`` to three significant digits (the digits of a range that matter)."""
    if not np.isfinite(value) or value == 0:
        return float(value)
    return float(f"{value:.3g}")


def _share(value: float) -> str:
    return f"{value:.0%}"


def _segments(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``results["segments"]`` with every segment present (0 customers where absent)."""
    seg = results.get("segments") or {}
    return {s: seg.get(s, {"customers": 0, "share": 0.0, "total_clv": 0.0}) for s in SEGMENT_WORDS}


def _repeat_buyers(results: dict[str, Any]) -> tuple[int, int]:
    """(repeat buyers likely still buying, repeat buyers) from the segment counts."""
    seg = _segments(results)
    likely = int(seg["champions"]["customers"] + seg["active"]["customers"])
    repeat = likely + int(seg["at_risk"]["customers"] + seg["lost"]["customers"])
    return likely, repeat


def _when(a: CLVAnalysis) -> str:
    return f"the {a.holdout_length:.0f} {a.unit_name} after {a.calibration_end.date()}"


def _too(error: float) -> str:
    return "too high" if error > 0 else "too low"


# --- the boundary note -----------------------------------------------------------------------


def boundary_parts(model: FittedModel) -> tuple[str, str] | None:
    """(what it means for a reader, the method detail) when ``model`` ended at the edge of
    its parameter space; None for a regular fit.

    Drop-out parameters at a bound (BG/NBD a → 0 or b → ∞, Pareto/NBD s → 0 or β → ∞)
    mean the data shows almost no drop-out; purchase-rate parameters at a bound (r, α → ∞)
    mean customers barely differ in how often they buy.
    """
    at = model.boundary_
    if not at:
        return None
    if set(at) & set(_DROPOUT.get(model.name, ())):
        text = (
            "This data shows almost no drop-out, so every customer looks active: the chances of still buying "
            "carry no information, and the forecasts assume customers keep buying as they have."
        )
    elif set(at) & set(_RATE):
        text = (
            "Customers in this data barely differ in how often they buy, so forecasts for individual customers "
            "lean on the average rate."
        )
    else:
        text = "Part of the purchase model cannot be pinned down by this data."
    return text, f"The {model.name} fit ends at a bound, {'; '.join(at.values())}; its interval is left blank."


def boundary_note(model: FittedModel) -> str | None:
    """:func:`boundary_parts` as one note: the plain words, then the method in brackets."""
    parts = boundary_parts(model)
    if parts is None:
        return None
    return f"{parts[0]} (Method: {parts[1][0].lower()}{parts[1][1:]})"


def no_dropout(a: CLVAnalysis) -> bool:
    """Whether the forward-looking purchase model sees almost no drop-out (its chance of
    still buying then carries no information)."""
    return bool(set(a.bgnbd_full.boundary_) & set(_DROPOUT["BG/NBD"]))


# --- the opening -----------------------------------------------------------------------------


def value_finding(a: CLVAnalysis, results: dict[str, Any], currency: str) -> str:
    """The expected value of the customer base over the horizon, its range, what to do with it."""
    worth = "revenue" if a.margin >= 1 else f"profit at a {a.margin:.0%} margin"
    text = (
        f"Over the next {a.horizon:g} {a.unit_name} the {results['clv.customers']:,} customers are expected to bring "
        f"**{money(results['clv.total'], currency)}** of {worth} (in today's money, discounted at "
        f"{a.annual_discount_rate:.0%} a year)"
    )
    b_low, b_high = results.get("clv.total_low"), results.get("clv.total_high")
    if b_low is not None and b_high is not None and np.isfinite(b_low) and np.isfinite(b_high):
        text += (f"; as precisely as the data pin the model down, between {money(rounded(b_low))} and "
                 f"{money(rounded(b_high), currency)}")
    low, high = results.get("clv.range_low"), results.get("clv.range_high")
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return text + "."
    text += (f"; if the forecast is as far off as in the test period, between {money(rounded(low))} and "
             f"{money(rounded(high), currency)}")
    err = results.get("holdout.value_error")
    if err is None or not np.isfinite(err) or abs(err) <= 0.05:
        return text + ". Plan next year's revenue from existing customers on this figure."
    return (text + f". Plan on the range rather than the single figure: in the test period the revenue forecast ran "
            f"{abs(err):.0%} {'high' if err > 0 else 'low'}.")


def top_finding(results: dict[str, Any]) -> str:
    """How much of the value the top 10% of customers hold."""
    k = max(1, int(round(TOP_SHARE * results["clv.customers"])))
    return (
        f"The {TOP_SHARE:.0%} of customers with the highest expected value ({k:,} customers) hold "
        f"**{_share(results['clv.top_share_of_clv'])}** of it: keep them close (service, early access, thanks) "
        "before spending on the rest."
    )


def active_finding(results: dict[str, Any]) -> str:
    """How many repeat buyers are likely still buying, how many are at risk, whom to win back."""
    seg = _segments(results)
    likely, repeat = _repeat_buyers(results)
    at_risk, lost = int(seg["at_risk"]["customers"]), int(seg["lost"]["customers"])
    return (
        f"Of the {repeat:,} customers who bought more than once, **{likely:,} ({likely / repeat:.0%})** are likely still "
        f"buying (a chance of 50% or more); {at_risk:,} are at risk and {lost:,} very likely gone. Aim win-back offers "
        f"at the {at_risk:,} at risk: they can still be won back."
    )


def forecast_finding(a: CLVAnalysis, results: dict[str, Any]) -> str:
    """How well the forecast matched the test period, and how far to trust it."""
    err = results["holdout.error"]
    text = (
        f"Tested on {_when(a)}, which it was not shown, the model forecast "
        f"**{results['holdout.predicted_repeat_transactions']:,.0f}** repeat purchases against "
        f"{results['holdout.actual_repeat_transactions']:,} that happened ({abs(err):.1%} {_too(err)})"
    )
    captured = results.get("holdout.top_decile_captured")
    if captured is not None and np.isfinite(captured):
        text += (f"; the {TOP_SHARE:.0%} of customers it ranked highest made {_share(captured)} of the revenue in "
                 "those weeks")
    if abs(err) <= 0.05:
        advice = "Close enough to plan on and to choose whom to target."
    elif abs(err) <= 0.15:
        advice = f"Good for choosing whom to target; when budgeting, allow for it running about {abs(err):.0%} {'high' if err > 0 else 'low'}."
    else:
        advice = "Use it to rank customers rather than to budget."
    return f"{text}. {advice}"


def one_time_finding(results: dict[str, Any]) -> str | None:
    """The customers who bought only once and their share of the value (None when there are none)."""
    seg = _segments(results)["one_time"]
    if not seg["customers"]:
        return None
    share_value = seg["total_clv"] / results["clv.total"] if results["clv.total"] else float("nan")
    return (
        f"**{int(seg['customers']):,}** customers ({_share(seg['share'])}) have bought only once; together they hold "
        f"{_share(share_value)} of the expected value. A second-purchase offer soon after the first order is where "
        "most customers can still be moved."
    )


def findings(a: CLVAnalysis | None, results: dict[str, Any], currency: str) -> list[str]:
    """The report's opening, 4-5 findings in plain words (none when the models could not run).

    On data with almost no drop-out the boundary note comes first, in place of the still-buying finding.
    """
    if a is None:
        return []
    parts = boundary_parts(a.bgnbd_full)
    if parts and no_dropout(a):  # what the reader must know before any figure
        items = [f"**Note:** {esc(parts[0])}", value_finding(a, results, currency), top_finding(results)]
    else:
        items = [value_finding(a, results, currency), top_finding(results), active_finding(results)]
    items += [forecast_finding(a, results), one_time_finding(results)]
    return [t for t in items if t]


_HINT = re.compile(r"(?:;|\.|,)\s+(?:set|use|try|check|move|rerun|raise|skip)\b.*$", re.IGNORECASE | re.DOTALL)


def plain_reason(why: str) -> str:
    """A model error as a reader's reason: without the advice to the analyst (parameter names,
    what to try; the run log keeps the whole message) and without the model's name."""
    text = _HINT.sub("", str(why)).strip()
    text = re.sub(r"\bData: .*$", "", text).strip()
    text = re.sub(r"^(?:BG/NBD|Pareto/NBD|MBG/NBD|Gamma-Gamma):\s*", "", text)
    text = re.sub(r"^(?:BG/NBD|Pareto/NBD|MBG/NBD)\b", "the purchase model", text)
    text = text.replace("validation period", "test period").rstrip(" .;,")
    return text or "the data are too few for the models"


def log_reason(why: str) -> None:
    """Print the whole reason, advice included, to the run's error stream (the executed
    notebook keeps it; the report's page shows :func:`not_applicable`)."""
    print(f"clv_bgnbd skipped: {why}", file=sys.stderr)


def not_applicable(why: str) -> str:
    """The page's only line when the models cannot run on the data (:func:`plain_reason`)."""
    return f"**Not applicable:** {esc(plain_reason(why))}."


def not_covered(a: CLVAnalysis) -> dict[str, str | None]:
    """Sections of the report and why this data does not allow them (None: shown)."""
    return {SECTION_TITLES["forecast"]: None,
            SECTION_TITLES["active"]: ("this data shows almost no drop-out, so every customer looks active"
                                       if no_dropout(a) else None),
            SECTION_TITLES["value"]: ("no customer has a value to forecast: the value per purchase needs repeat "
                                      "buyers with a positive spend" if a.value_bands.empty else None)}


def kpi_cards(a: CLVAnalysis, results: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    """The key figures: expected value (and purchases) over the horizon, repeat buyers likely
    still buying, the test-period forecast error (neutral: no good or bad colour) and the
    top 10%'s share of the value, all from ``results`` (:meth:`CLVAnalysis.results`)."""
    horizon = f"next {a.horizon:g} {a.unit_name}"
    err = results["holdout.error"]
    value_detail = (f"{results['clv.expected_purchases']:,.0f} purchases by {results['clv.customers']:,} customers, "
                    f"{results['clv.mean']:,.2f} {currency} each on average")
    low, high = results.get("clv.range_low"), results.get("clv.range_high")
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        value_detail += f"; likely {money(rounded(low))} – {money(rounded(high), currency)}"
    likely, repeat = _repeat_buyers(results)
    cards = [
        {"label": f"Expected value, {horizon}", "value": money(results["clv.total"], currency), "detail": value_detail},
        {"label": "Repeat buyers likely still buying", "value": f"{likely:,}",
         "detail": (f"{likely / repeat:.0%} of {repeat:,} repeat buyers" if repeat else "no repeat buyers")
         + ("; almost no drop-out in this data" if no_dropout(a) else "; chance of still buying 50% or more")},
        {"label": "Forecast error, test period", "value": f"{err:+.1%}",
         "detail": (f"{results['holdout.predicted_repeat_transactions']:,.0f} forecast vs "
                    f"{results['holdout.actual_repeat_transactions']:,} actual repeat purchases, {_when(a)}"),
         "delta": f"{abs(err):.1%} {_too(err)}", "up": err > 0 if err else None, "good": None},
        {"label": f"Top {TOP_SHARE:.0%} of customers", "value": _share(results["clv.top_share_of_clv"]),
         "detail": f"of the expected value, {horizon}"},
    ]
    return cards


def key_figures_text(a: CLVAnalysis, results: dict[str, Any], currency: str) -> str:
    """What the key figures mean and over which periods, then the analysis' notes (each quoted)."""
    worth = "revenue" if a.margin >= 1 else f"profit ({a.margin:.0%} of revenue)"
    text = (
        f"A customer's value is the {worth} expected from their purchases over the next {a.horizon:g} "
        f"{a.unit_name}, in today's money (discounted at {a.annual_discount_rate:.0%} a year). The model learnt from "
        f"purchases from {a.first_day.date()} to {a.calibration_end.date()} and was tested on the "
        f"{a.holdout_length:.0f} {a.unit_name} to {a.observation_end.date()}, then recomputed on all purchases to "
        f"value every customer. Purchases on the same day count as one."
    )
    return "\n\n".join([text, *(f"> **Note:** {esc(note)}" for note in a.notes)])


def active_sentence(active: ActiveWindow) -> str:
    """The kit's activity window, stated once, and why this report does not use it."""
    return active.sentence(uses="This report does not use it: it estimates for each customer the chance of still "
                                "buying from their own rhythm of purchases, rather than a fixed window.")


# --- the sections ----------------------------------------------------------------------------


def forecast_intro(a: CLVAnalysis) -> str:
    """The plain intro of the test-period section."""
    return (f"The model learnt from purchases up to {a.calibration_end.date()} and forecast {_when(a)}, which it "
            "was not shown. The charts set its forecast against what happened.")


ACTIVE_INTRO = (
    "For each customer the model estimates the chance that they are still buying, from how often they bought and "
    "how long they have been quiet since. A regular customer who has been quiet for long is probably gone; one who "
    "buys rarely is not, yet. Customers who have bought only once count as still buying: the model cannot judge them "
    "until they buy again or stay away for long."
)


def value_intro(a: CLVAnalysis, currency: str) -> str:
    """The plain intro of the value section."""
    return (f"Expected value per customer over the next {a.horizon:g} {a.unit_name}, in {currency} of today's money. "
            "The customer groups combine the chance of still buying with the expected value.")


def holdout_accuracy(a: CLVAnalysis) -> str:
    """How far off the forecast is per customer, and how well it ranked customers on the test period."""
    text = (f"Per customer the forecast is off by {a.holdout['mae_per_customer']:.2f} purchases on average over "
            f"{_when(a)}.")
    if np.isfinite(a.lift.get("captured", float("nan"))):
        text += (f" The {TOP_SHARE:.0%} of customers it ranked highest beforehand made {a.lift['captured']:.0%} of "
                 f"the revenue in those {a.unit_name}, {a.lift['lift']:.1f} times their share: the ranking is worth "
                 "using to choose whom to target.")
    return text


def value_sentence(a: CLVAnalysis, currency: str) -> str:
    """The middle and the average value per customer, and the top 10%'s share."""
    c = a.customer_stats
    return (f"Half the customers are worth less than {c['median']:,.2f} {currency} over the next {a.horizon:g} "
            f"{a.unit_name}; the average is {c['mean']:,.2f} {currency}, pulled up by a few valuable customers. The "
            f"{TOP_SHARE:.0%} most valuable hold {_share(c['top_share_of_clv'])} of the {money(c['total'], currency)}.")


def band_label(low: float, high: float, currency: str) -> str:
    """A value band in words: "under 10 EUR", "10–20 EUR", "200 EUR or more"."""
    def n(v: float) -> str:
        return f"{v:,.0f}" if v >= 1 else f"{v:g}"
    if low <= 0:
        return f"under {n(high)} {currency}".strip()
    if not np.isfinite(high):
        return f"{n(low)} {currency} or more".strip()
    return f"{n(low)}–{n(high)} {currency}".strip()


def segment_table(a: CLVAnalysis) -> pd.DataFrame:
    """The customer groups for readers: names and descriptions in words."""
    s = a.segments
    return pd.DataFrame({
        "Group": s["segment"].map(SEGMENT_WORDS).to_numpy(),
        "Who they are": s["segment"].map(SEGMENT_DESCRIPTIONS).to_numpy(),
        "Customers": s["customers"].to_numpy(int),
        "Share of customers": s["share"].to_numpy(float),
        "Average repeat purchases": s["mean_frequency"].to_numpy(float),
        "Average chance of still buying": s["mean_p_alive"].to_numpy(float),
        "Average value": s["mean_clv"].to_numpy(float),
        "Share of value": s["share_of_clv"].to_numpy(float),
    })


SEGMENT_PERCENT = ["Share of customers", "Average chance of still buying", "Share of value"]


def customer_table(a: CLVAnalysis, rows: pd.DataFrame) -> pd.DataFrame:
    """Scored customers (``a.top`` or :func:`example_rows`) for readers, columns in words
    (expected purchases and value over the horizon, time since the last purchase as "quiet")."""
    unit = a.unit_name
    out = pd.DataFrame({"Customer": rows["customer_id"].astype(str).to_numpy()})
    if "example" in rows:
        out.insert(0, "Example", rows["example"].to_numpy())
    out["Repeat purchases"] = rows["frequency"].to_numpy(int)
    out[f"{unit.capitalize()} quiet"] = (rows["T"] - rows["recency"]).to_numpy(float)
    if "monetary_value" in rows:
        out["Average purchase"] = rows["monetary_value"].to_numpy(float)
    out["Chance of still buying"] = rows["p_alive"].to_numpy(float)
    if "expected_purchases" in rows:
        out["Expected purchases"] = rows["expected_purchases"].to_numpy(float)
    out["Expected value"] = rows["clv"].to_numpy(float)
    if "segment" in rows and rows["segment"].nunique() > 1:  # a column of one word says nothing
        out["Group"] = rows["segment"].map(SEGMENT_WORDS).to_numpy()
    return out


def top_caption(top_n: int, customers_file: str, unit: str = "weeks", horizon: float = 52) -> str:
    """Caption of the top-customers table, naming the file with every customer."""
    return (f"The {top_n} customers with the highest expected value: expected purchases and value over the next "
            f"{horizon:g} {unit}, {unit} quiet since the last purchase (every customer is in the file {customers_file})")


def examples_caption(a: CLVAnalysis) -> str:
    """Caption of the example-customer table."""
    return (f"The example customers; expected value over the next {a.horizon:g} {a.unit_name}, "
            f"{a.unit_name} quiet since the last purchase")


# --- the appendix ----------------------------------------------------------------------------


APPENDIX_INTRO = (
    "The purchase model is BG/NBD (Fader, Hardie and Lee 2005): each customer buys at their own steady rate "
    "(Poisson, rates gamma-distributed across customers) and after any purchase may drop out for good (probability "
    "beta-distributed across customers). The spend model is Gamma-Gamma: each customer's average purchase value "
    "varies around their own mean, shrunk towards the average of all customers. Both are fitted by maximum "
    "likelihood on the calibration period, checked on the holdout (the test period) and refitted on all data for "
    "the forward-looking figures. Time runs in days / 7 (weeks) from each customer's first purchase; purchases on "
    "the same day count as one transaction. Pareto/NBD and MBG/NBD, two other purchase models, are compared below."
)
RANGE_METHOD = (
    "The range given for the expected value is not a statistical interval: it applies the relative error of the "
    "holdout revenue forecast (expected purchases times expected spend per purchase against the revenue that "
    "happened) in both directions. The chance of still buying is P(alive) of the model; the customer groups use "
    "P(alive) of 50% and 20% and the top 20% of CLV as thresholds."
)
SETTINGS = (
    "The report can be run with another calibration end, holdout end, horizon, yearly discount rate, margin (to "
    "value profit instead of revenue) and purchase models; a small penalty on the parameters helps when a fit does "
    "not converge."
)


def glossary() -> pd.DataFrame:
    """The technical terms of the appendix in a sentence each."""
    rows = [
        ("P(alive)", "The chance that a customer has not dropped out, given their purchases: called the chance of "
                     "still buying in the report."),
        ("BG/NBD", "Beta-geometric / negative binomial model of repeat purchases: buying at a steady rate, dropping "
                   "out after a purchase."),
        ("Pareto/NBD", "Like BG/NBD, but a customer can drop out at any moment, not only after a purchase."),
        ("MBG/NBD", "Modified BG/NBD: a customer can also drop out right after the first purchase, so one-time "
                    "buyers are not all counted as alive."),
        ("Gamma-Gamma", "Model of the average purchase value of repeat buyers; assumes it does not depend on how "
                        "often they buy."),
        ("Calibration and holdout", "The period the models learn from, and the later test period they do not see."),
        ("CLV", "Customer lifetime value: expected discounted revenue (times the margin) over the horizon."),
        ("Frequency, recency, T", "Repeat purchase days; time from first to last purchase; time from first purchase "
                                  "to the end of the period."),
        ("Log-likelihood, AIC", "How well a model explains the data; AIC = 2 × parameters − 2 × log-likelihood, "
                                "lower is better."),
        ("MAE", "Mean absolute error: the average gap between forecast and actual purchases per customer."),
        ("Top-decile lift", "Share of holdout revenue made by the top 10% of customers by forecast, divided by 10%."),
        ("RFM", "Recency, frequency and monetary scores: quintiles (1 lowest, 5 best) marketers often use."),
    ]
    return pd.DataFrame(rows, columns=["Term", "Meaning"])


def fit_periods(a: CLVAnalysis, results: dict[str, Any]) -> str:
    """The calibration and holdout periods and the customers in the calibration period."""
    return (
        f"Calibration period: {a.first_day.date()} to {a.calibration_end.date()}; holdout: to {a.observation_end.date()} "
        f"({a.holdout_length:.0f} {a.unit_name}). {results['customers']:,} customers made their first purchase in the "
        "calibration period."
    )


def bgnbd_caption(a: CLVAnalysis) -> str:
    """Caption of the calibration BG/NBD parameter table."""
    return f"BG/NBD parameters (alpha in {a.unit_name}), 95% intervals; log-likelihood {a.bgnbd.log_likelihood_:,.2f}"


def gamma_gamma_caption(a: CLVAnalysis) -> str:
    """Caption of the calibration Gamma-Gamma parameter table."""
    return f"Gamma-Gamma spend parameters on {a.gamma_gamma.n_customers_:,} repeat customers"


def gamma_gamma_skip_reason(a: CLVAnalysis) -> str:
    """Why the calibration Gamma-Gamma fit is missing."""
    return a.gamma_gamma_error or "no repeat customers with positive spend"


def parameter_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A fitted model's parameter table with headers in words."""
    return summary.rename(columns={"parameter": "Parameter", "estimate": "Estimate", "se": "Standard error",
                                   "low": "95% low", "high": "95% high"})


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The purchase-model comparison with headers in words (holdout error as a fraction)."""
    cols = {"model": "Model", "parameters": "Parameters", "log_likelihood": "Log-likelihood", "aic": "AIC",
            "delta_aic": "AIC above the best", "predicted_holdout": "Holdout forecast", "actual_holdout": "Holdout actual",
            "holdout_error": "Holdout error", "mae_per_customer": "MAE per customer",
            "cumulative_forecast": "Cumulative forecast"}
    return comparison[[c for c in cols if c in comparison]].rename(columns=cols)


def comparison_sentence(comparison: pd.DataFrame) -> str:
    """Which purchase model the comparison prefers, and why, in one or two sentences."""
    if comparison.empty:
        return "No purchase model could be fitted for the comparison."
    if "at_boundary" not in comparison:
        comparison = comparison.assign(at_boundary=False)
    best = preferred_model(comparison)
    text = (
        f"{best['model']} has the lowest AIC ({best['aic']:,.1f})"
        + (" among the fits that did not end at a bound" if bool(comparison["at_boundary"].any()) and not best["at_boundary"] else "")
        + _holdout_error_range(comparison)
    )
    edge = comparison.loc[comparison["at_boundary"].astype(bool), "model"].tolist()
    if edge:
        text += (
            f" {', '.join(edge)} ended at the edge of {'its' if len(edge) == 1 else 'their'} parameter space "
            "and should not be preferred on likelihood alone."
        )
    return text


def _holdout_error_range(comparison: pd.DataFrame) -> str:
    errors = comparison["holdout_error"]
    return f"; holdout errors range from {errors.min():+.1%} to {errors.max():+.1%}."


def comparison_summary(a: CLVAnalysis) -> str:
    """The preferred model (:func:`comparison_sentence`: lowest AIC among the fits that did
    not end at a bound) and the range of holdout errors, then each model that could not be fitted."""
    text = comparison_sentence(a.comparison)
    return "\n\n".join([text, *(f"> **{esc(MODEL_NAMES.get(key, key))} not fitted:** {esc(err)}"
                                for key, err in a.model_errors.items())])


def independence_sentence(independence: dict[str, Any]) -> str:
    """Whether spend per purchase is independent enough of frequency for Gamma-Gamma
    (:func:`engage_kit.clv.spend_independence`)."""
    ind = independence
    return (
        "Gamma-Gamma assumes spend per purchase does not depend on purchase frequency: their correlation among "
        f"{ind['n']:,} repeat customers is {ind['correlation']:.2f} (95% interval {ind['low']:.2f} to {ind['high']:.2f}). "
        + ("That is weak enough for the model." if ind["ok"]
           else "**That is too strong: treat value forecasts for frequent buyers with caution.**")
    )


def refit_sentence(a: CLVAnalysis) -> str:
    """The full-period BG/NBD refit behind the forward-looking figures, and what CLV is."""
    p = a.bgnbd_full.params_
    return (
        f"Forward-looking figures come from a refit on all data to {a.observation_end.date()} "
        f"(r = {p['r']:.3f}, alpha = {p['alpha']:.3f}, a = {p['a']:.3f}, b = {p['b']:.3f}). "
        f"CLV is the expected discounted value of purchases in the next {a.horizon:g} {a.unit_name} times the margin."
    )


def rfm_sentence(a: CLVAnalysis) -> str:
    """What classic RFM scores are and how many repeat buyers sit in the most recent quintile."""
    recent = int(a.rfm_crosstab.loc[a.rfm_crosstab.index != "one_time"].iloc[:, -1].sum())
    return (
        "Classic RFM scores are quintiles of recency (time since the last purchase), frequency and total spend; "
        f"{recent:,} repeat buyers sit in the most recent quintile, and the table shows how the model's segments "
        "spread over the recency quintiles marketers know."
    )


def rfm_table(a: CLVAnalysis) -> pd.DataFrame:
    """The segment × recency-score table with the segments in words."""
    t = a.rfm_crosstab.reset_index()
    t["segment"] = t["segment"].map(SEGMENT_WORDS).fillna(t["segment"])
    return t.rename(columns={"segment": "Group"})


def method_notes(a: CLVAnalysis) -> str:
    """The analysis' technical notes and how the range is computed, as one paragraph each."""
    return "\n\n".join([*(esc(n) for n in getattr(a, "method_notes", [])), RANGE_METHOD, SETTINGS])

