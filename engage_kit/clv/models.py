"""BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma fits through ``lifetimes``, with our own
likelihoods, standard errors and predictions in the data's time unit.

The ``lifetimes`` fitters (0.11.3) are called with plain numpy arrays of the unique
(frequency, recency, T) rows and ``weights=`` (their counts): the same parameters as
fitting every customer, several times faster. engage_kit computes the log-likelihood as
the sum over customers at the fitted parameters in the data's time unit (``lifetimes``
keeps a per-customer mean on internally rescaled times), gives Pareto/NBD the standard
errors ``lifetimes`` lacks, and returns Python floats for scalar inputs.

The families live in their own modules: :mod:`.bgnbd` (BG/NBD), :mod:`.pareto`
(Pareto/NBD and MBG/NBD), :mod:`.gamma_gamma` (spend) on the shared machinery of
:mod:`.base` (input checks, convergence messages, standard errors, fitted-model classes);
this module gathers them under one name and fits several purchase models at once.

The references behind each formula ([1]-[5] in the docstrings) are listed in the
module that holds it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import ParameterError
from .base import (
    LOWER_BOUND,
    MAX_RELATIVE_SE,
    UPPER_BOUND,
    Z95,
    FittedModel,
    PurchaseFormulas,
    TransactionModel,
    check_fit_data,
    check_inputs,
    log_space_standard_errors,
    numeric_hessian,
)
from .bgnbd import (
    BGNBDModel,
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_mean_nll_and_grad,
    bgnbd_p_alive,
    bgnbd_pmf,
    fit_bgnbd,
    prob_no_purchase,
)
from .gamma_gamma import (
    GammaGammaModel,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    spend_independence,
)
from .pareto import (
    MBGNBDModel,
    ParetoNBDModel,
    fit_mbgnbd,
    fit_pareto_nbd,
    mbgnbd_conditional_expected_purchases,
    mbgnbd_expected_purchases,
    mbgnbd_log_likelihood,
    mbgnbd_p_alive,
    pareto_nbd_conditional_expected_purchases,
    pareto_nbd_expected_purchases,
    pareto_nbd_log_likelihood,
    pareto_nbd_p_alive,
)

FITTERS = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd, "mbgnbd": fit_mbgnbd}


def fit_models(summary: Any, models: list[str] | tuple[str, ...] = ("bgnbd", "pareto_nbd", "mbgnbd"), *, penalizer: float = 0.0) -> dict[str, TransactionModel]:
    """Fit several purchase models on the same (compressed) summary; keys as in ``models``."""
    from .prep import compress

    unknown = [m for m in models if m not in FITTERS]
    if unknown:
        from ..errors import did_you_mean

        raise ParameterError(
            "models: unknown model(s) " + ", ".join(f"'{m}'{did_you_mean(m, FITTERS)}" for m in unknown)
            + f"; choose from {', '.join(FITTERS)}"
        )
    comp = compress(summary) if not (isinstance(summary, pd.DataFrame) and "weight" in summary.columns) else summary
    return {m: FITTERS[m](comp, penalizer=penalizer) for m in models}


__all__ = [
    "BGNBDModel",
    "FITTERS",
    "FittedModel",
    "GammaGammaModel",
    "LOWER_BOUND",
    "MAX_RELATIVE_SE",
    "MBGNBDModel",
    "ParetoNBDModel",
    "PurchaseFormulas",
    "TransactionModel",
    "UPPER_BOUND",
    "Z95",
    "bgnbd_conditional_expected_purchases",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_mean_nll_and_grad",
    "bgnbd_p_alive",
    "bgnbd_pmf",
    "check_fit_data",
    "check_inputs",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_models",
    "fit_pareto_nbd",
    "gamma_gamma_log_likelihood",
    "log_space_standard_errors",
    "mbgnbd_conditional_expected_purchases",
    "mbgnbd_expected_purchases",
    "mbgnbd_log_likelihood",
    "mbgnbd_p_alive",
    "numeric_hessian",
    "pareto_nbd_conditional_expected_purchases",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_p_alive",
    "prob_no_purchase",
    "spend_independence",
]
