"""The CLV report's optional depth: bootstrap intervals and covariate effects, decided here
so the notebook only calls.

- :func:`report_intervals`: the bootstrap of both fits (:mod:`.bootstrap`) when the report's
  ``uncertainty`` parameter asks for it, else None;
- :func:`report_covariates`: the purchase model with the customers-table columns named by
  the ``covariates`` parameter (:mod:`.covariates`), else None;
- :func:`results`: the results.json keys of both (intervals beside each figure, the
  effects, and the shares and coverage the page's sentences quote);
- :func:`forecast_chart`: the weekly forecast chart, with the band when there are intervals;
- :func:`customers_export`: the customers export, with ``clv_low`` and ``clv_high`` when
  there are intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError
from . import charts, charts_depth, story_depth
from .analysis import customers_table
from .bootstrap import CLVIntervals, analysis_intervals
from .covariates import CovariateFit, fit_covariates, with_customers

UNCERTAINTY = ("bootstrap", "none")
STILL_BUYING_PURCHASES = 5  # the repeat purchases after which the drop-out effect is stated


def report_intervals(a: Any, purchases: Any, *, uncertainty: str = "bootstrap", n_boot: int = 200,
                     seed: int = 0) -> CLVIntervals | None:
    """Bootstrap intervals of the analysis, or None (no analysis, or ``uncertainty="none"``).

    Parameters
    ----------
    a : CLVAnalysis or None
        The analysis (None when the models could not run).
    purchases : ibis.Table or pandas.DataFrame
        The purchases ``a`` was computed from.
    uncertainty : {"bootstrap", "none"}
        The report's parameter.
    n_boot : int
        Bootstrap refits (at least 20).
    seed : int
        Seed of the resampling.

    Raises
    ------
    ParameterError
        An unknown ``uncertainty`` or a bad ``n_boot``.
    """
    mode = str(uncertainty).strip().lower() if uncertainty is not None else "none"
    if mode not in UNCERTAINTY:
        raise ParameterError(f"uncertainty must be one of {', '.join(UNCERTAINTY)}; got {uncertainty!r}")
    if a is None or mode == "none":
        return None
    return analysis_intervals(a, purchases, n_boot=n_boot, seed=seed)


def report_intervals_or_reason(a: Any, purchases: Any, *, uncertainty: Any = "bootstrap", n_boot: int = 200,
                               seed: int = 0) -> tuple[CLVIntervals | None, str | None]:
    """:func:`report_intervals`, or ``(None, reason)`` when the refits cannot give intervals.

    On a handful of customers most bootstrap refits do not converge (the model is too weakly
    identified on resamples this small); the report then shows its point figures with the
    reason there is no interval, instead of failing.
    """
    try:
        return report_intervals(a, purchases, uncertainty=uncertainty, n_boot=n_boot, seed=seed), None
    except ModelError as e:
        return None, str(e)


def _columns(covariates: Any) -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [c.strip() for c in covariates.split(",") if c.strip()]
    return [str(c) for c in covariates]


def report_covariates(a: Any, ds: Any, covariates: Any, *, model: str = "bgnbd") -> CovariateFit | None:
    """The full-period purchase model with covariates, or None (no analysis, none named).

    Parameters
    ----------
    a : CLVAnalysis or None
    ds : Dataset
        The report's dataset; the columns come from its customers table.
    covariates : list of str, str or None
        Customers-table columns (a comma-separated text is split).
    model : {"bgnbd", "pareto_nbd"}

    Raises
    ------
    ParameterError
        Covariates named on data without a customers table.
    """
    cols = _columns(covariates)
    if a is None or not cols:
        return None
    if not ds.has("customers"):
        raise ParameterError(f"covariates ({', '.join(cols)}) come from the customers table, and this data has none; "
                             "add a customers table to the config or leave covariates empty")
    summary = with_customers(a.full_summary, ds.table("customers"), cols)
    return fit_covariates(summary, cols, model=model)


def band_coverage(a: Any, ci: CLVIntervals) -> float | None:
    """Share of the complete test weeks whose actual repeat purchases lie inside the band
    (as the forecast chart of :func:`.charts_depth.forecast_band` counts them)."""
    track, band = a.tracks["bgnbd"], ci.band
    if len(track) != len(band) or not len(track):
        return None
    keep = np.ones(len(track), dtype=bool)
    if (track["end"].iloc[-1] - track["start"].iloc[-1]).days < 6:
        keep[-1] = False
    t, b = track[keep], band[keep]
    hold = t[t["end"] > pd.Timestamp(a.calibration_end)]
    if not len(hold):
        return None
    actual = hold["actual"].to_numpy()
    inside = (actual >= b.loc[hold.index, "expected_low"].to_numpy()) & (actual <= b.loc[hold.index, "expected_high"].to_numpy())
    return float(np.mean(inside))


def results(a: Any, ci: CLVIntervals | None, fit: CovariateFit | None, *, ci_reason: str | None = None) -> dict[str, Any]:
    """The results.json keys to merge into ``a.results()``.

    With intervals: ``<figure>_low``/``_high`` and ``<fit>.params_low``/``_high`` (see
    :meth:`.bootstrap.CLVIntervals.results`) and ``holdout.band_coverage``. With covariates:
    ``covariates.*`` (:func:`.story_depth.results`) and, for BG/NBD, ``covariates.still_buying``
    (per covariate level: the share still buying after a few repeat purchases, with its interval).
    Intervals asked for that the refits could not give: ``intervals: {value: null, reason}``.
    """
    out: dict[str, Any] = {}
    if ci is None and ci_reason:
        out["intervals"] = {"value": None, "reason": ci_reason}
    if ci is not None:
        out.update(ci.results())
        out["holdout.band_coverage"] = band_coverage(a, ci)
    if fit is not None:
        out.update(story_depth.results(fit))
        if fit.model == "bgnbd" and fit.dropout_names:
            sb = fit.still_buying(STILL_BUYING_PURCHASES)
            out["covariates.still_buying"] = {r.covariate: {"share": r.share, "low": r.low, "high": r.high,
                                                            "purchases": int(r.purchases)} for r in sb.itertuples()}
    return out


def forecast_chart(a: Any, ci: CLVIntervals | None) -> tuple[Any, str]:
    """The report's weekly repeat-purchase chart: with the forecast's 95% band
    (:func:`.charts_depth.forecast_band`) when there are intervals, else the plain one."""
    if ci is None or len(ci.band) != len(a.tracks["bgnbd"]):
        return charts.tracking(a, cumulative=False)
    return charts_depth.forecast_band(a.tracks["bgnbd"], ci.band, ci.calibration, calibration_end=a.calibration_end)


def customers_export(a: Any, ci: CLVIntervals | None) -> Any:
    """The customers table to export: :func:`.analysis.customers_table`, with ``clv_low``,
    ``clv_high`` and the P(alive) and expected-purchase bounds when there are intervals."""
    table = customers_table(a)
    return ci.customers_table(table) if ci is not None else table
