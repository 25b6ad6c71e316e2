"""Sentences the CLV report prints about its models: numbers in, plain words out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..text import esc
from .models import FittedModel
from .validation import preferred_model

if TYPE_CHECKING:
    from ..activity import ActiveWindow
    from .analysis import CLVAnalysis

# why a section is skipped when the analysis itself could not run
NOT_FITTED = "the models could not be fitted on this data (see the executive summary)"
# what the P(alive) calibration chart leaves out
REPEAT_BUYERS_ONLY = " (Repeat buyers only: the model rates customers without a repeat purchase alive by construction.)"

# parameters whose bound means "no drop-out" in each purchase model
_DROPOUT = {"BG/NBD": ("a", "b"), "MBG/NBD": ("a", "b"), "Pareto/NBD": ("s", "beta")}
_RATE = ("r", "alpha")


def boundary_note(model: FittedModel) -> str | None:
    """What it means for a reader that ``model`` ended at the edge of its parameter space.

    None for a regular fit. Drop-out parameters at a bound (BG/NBD a → 0 or b → ∞,
    Pareto/NBD s → 0 or β → ∞) mean the data shows almost no drop-out; purchase-rate
    parameters at a bound (r, α → ∞) mean customers barely differ in how often they buy.
    """
    at = model.boundary_
    if not at:
        return None
    if set(at) & set(_DROPOUT.get(model.name, ())):
        text = (
            "This data shows almost no drop-out, so every customer looks active: the chance-still-active figures "
            "carry no information, and the forecasts assume customers keep buying as they have."
        )
    elif set(at) & set(_RATE):
        text = (
            "Customers in this data barely differ in how often they buy, so forecasts for individual customers "
            "lean on the average rate."
        )
    else:
        text = "Part of the purchase model cannot be pinned down by this data."
    detail = "; ".join(at.values())
    return f"{text} (Method: the {model.name} fit ends at a bound, {detail}; its interval is left blank.)"


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


def _skipped(section: str, reason: str) -> str:
    """The Markdown of :func:`engage_kit.nb.skipped`."""
    return f"> **{esc(section)} skipped:** {esc(reason)}"


def active_sentence(active: ActiveWindow) -> str:
    """The kit's activity window, stated once, and why this report does not use it."""
    return active.sentence(uses="This report does not use it: whether a customer is still buying is the model's P(alive), "
                                "a probability, not a fixed window.")


def kpi_cards(a: CLVAnalysis, results: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    """The executive summary's cards: predicted value and purchases over the horizon, the
    holdout forecast error (good below 10%) and the top-decile lift, from ``results``
    (:meth:`CLVAnalysis.results`) and the analysis."""
    h, horizon, unit = a.holdout, a.horizon, a.unit_name
    return [
        {"label": f"Predicted value, next {horizon:g} {unit}", "value": f"{results['clv.total']:,.0f} {currency}",
         "detail": f"{results['clv.customers']:,} customers, mean {results['clv.mean']:,.2f} {currency}"},
        {"label": "Expected purchases", "value": f"{results['clv.expected_purchases']:,.0f}", "detail": f"next {horizon:g} {unit}"},
        {"label": "Holdout forecast error", "value": f"{h['error']:+.1%}",
         "detail": f"{h['predicted_repeat_transactions']:,.0f} predicted vs {h['actual_repeat_transactions']:,} actual",
         "delta": f"{h['error']:+.1%}", "good": abs(h["error"]) < 0.1},
        {"label": "Top-decile lift", "value": f"{a.lift['lift']:.1f}x",
         "detail": f"top 10% by predicted value made {a.lift['captured']:.0%} of holdout revenue"},
    ]


def executive_summary(a: CLVAnalysis, results: dict[str, Any], currency: str) -> str:
    """The forecast over the horizon, how it did on the holdout and the champions' share
    of value, followed by the analysis' notes (each quoted as a note)."""
    h, horizon, unit = a.holdout, a.horizon, a.unit_name
    champ = a.segments.set_index("segment").reindex(["champions"]).iloc[0]
    text = (
        f"Over the next {horizon:g} {unit} the {results['clv.customers']:,} customers are expected to make "
        f"{results['clv.expected_purchases']:,.0f} purchases worth {results['clv.total']:,.0f} {currency} "
        f"(discounted at {a.annual_discount_rate:.0%} a year, margin {a.margin:.0%}). "
        f"Validated on the {a.holdout_length:.0f} {unit} after {a.calibration_end.date()}, the model predicted "
        f"{h['predicted_repeat_transactions']:,.0f} repeat purchases against {h['actual_repeat_transactions']:,} "
        f"({h['error']:+.1%}); per customer it is off by {h['mae_per_customer']:.2f} purchases on average. "
        f"Champions, {champ['share']:.0%} of customers, hold {champ['share_of_clv']:.0%} of the predicted value."
    )
    return "\n\n".join([text, *(f"> **Note:** {esc(note)}" for note in a.notes)])


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


def holdout_accuracy(a: CLVAnalysis) -> str:
    """Mean absolute error per customer on the holdout and the top-decile lift."""
    return (
        f"Per customer the forecast is off by {a.holdout['mae_per_customer']:.2f} purchases on average (MAE). "
        f"The 10% of customers with the highest predicted holdout value made {a.lift['captured']:.0%} of the "
        f"holdout revenue: a lift of {a.lift['lift']:.1f}."
    )


def comparison_summary(a: CLVAnalysis) -> str:
    """The preferred model (:func:`comparison_sentence`: lowest AIC among the fits that did
    not end at a bound) and the range of holdout errors, then each model that could not be
    fitted, said as a skipped section."""
    text = comparison_sentence(a.comparison)
    return "\n\n".join([text, *(_skipped(key, err) for key, err in a.model_errors.items())])


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


def top_caption(top_n: int, customers_file: str) -> str:
    """Caption of the top-customers table, naming the file with every customer."""
    return f"Top {top_n} customers by predicted CLV (all customers in {customers_file})"
