"""Sentences the CLV report prints about its models: numbers in, plain words out."""

from __future__ import annotations

import pandas as pd

from .models import FittedModel
from .validation import preferred_model

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
    best = preferred_model(comparison)
    errors = comparison["holdout_error"]
    text = (
        f"{best['model']} has the lowest AIC ({best['aic']:,.1f})"
        + (" among the fits that did not end at a bound" if bool(comparison["at_boundary"].any()) and not best["at_boundary"] else "")
        + f"; holdout errors range from {errors.min():+.1%} to {errors.max():+.1%}."
    )
    edge = comparison.loc[comparison["at_boundary"].astype(bool), "model"].tolist()
    if edge:
        text += (
            f" {', '.join(edge)} ended at the edge of {'its' if len(edge) == 1 else 'their'} parameter space "
            "and should not be preferred on likelihood alone."
        )
    return text
