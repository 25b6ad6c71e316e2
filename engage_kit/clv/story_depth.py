"""Sentences and tables of the CLV report's intervals and covariate effects: numbers in,
plain words out (the bootstrap of :mod:`.bootstrap`, the fits of :mod:`.covariates`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .bootstrap import BootstrapResult, CLVIntervals
from .covariates import CovariateFit

NO_INTERVALS = ("There are no ranges on these figures: the data are too few to refit the model reliably on "
                "resamples of the customers, so how precise the forecast is cannot be said; read the figures as rough.")

INTERVALS_INTRO = (
    "The ranges in brackets are 95% intervals: the model was refitted on many resamples of the customers, and the "
    "range holds the middle 95% of what those refits forecast. They show how precisely the data pin the model "
    "down, not how much buying will vary by chance."
)


def _money(value: float, currency: str = "") -> str:
    return f"{value:,.0f} {currency}".strip()


def _times(v: float) -> str:
    return f"{v:.2f}×" if v < 0.995 or v > 1.005 else "1.00×"


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def value_interval_sentence(ci: CLVIntervals, currency: str, *, horizon: float, unit_name: str = "weeks") -> str:
    """The total expected value and expected purchases over the horizon with their intervals."""
    f = ci.full.figures
    tot, ep = f.get("clv.total"), f.get("clv.expected_purchases")
    if tot is None or ep is None:
        return ""
    return (f"Over the next {horizon:g} {unit_name} customers are expected to bring {_money(tot['value'], currency)} "
            f"[{_money(tot['low'], currency)} to {_money(tot['high'], currency)}] from "
            f"{_num(ep['value'])} purchases [{_num(ep['low'])} to {_num(ep['high'])}].")


def holdout_interval_sentence(ci: CLVIntervals, actual: float | None = None) -> str:
    """The test-period forecast with its interval, and whether what happened lies inside it."""
    h = ci.calibration.figures.get("holdout.predicted_repeat_transactions")
    if h is None:
        return ""
    text = f"For the test period the model forecast {_num(h['value'])} repeat purchases [{_num(h['low'])} to {_num(h['high'])}]"
    if actual is None or not math.isfinite(float(actual)):
        return text + "."
    inside = h["low"] <= actual <= h["high"]
    return text + (f"; the {actual:,.0f} that happened lie inside that range." if inside else
                   f"; the {actual:,.0f} that happened lie outside it, so the model misses more than its "
                   "precision alone explains (customers changed, or the model's assumptions do not hold).")


def band_sentence(band: pd.DataFrame, boot: BootstrapResult) -> str:
    """The forecast chart's shaded band, with its width at the last period."""
    if band.empty:
        return ""
    last = band.iloc[-1]
    return (f"The shaded band is the 95% interval of the forecast from {boot.n_draws} refits on resampled customers: "
            f"by {pd.Timestamp(last['end']).date()} between {last['cumulative_low']:,.0f} and "
            f"{last['cumulative_high']:,.0f} repeat purchases in all.")


def parameter_interval_table(boot: BootstrapResult) -> pd.DataFrame:
    """Model, parameter, estimate, bootstrap standard error and the 95% interval, for the appendix."""
    p = boot.parameters()
    return pd.DataFrame({"Model": p["model"], "Parameter": p["parameter"], "Estimate": p["estimate"],
                         "Bootstrap SE": p["se"], "95% low": p["low"], "95% high": p["high"]})


def bootstrap_method_sentence(boot: BootstrapResult) -> str:
    """The appendix's method note: draws, failures, time."""
    failed = (f"; {boot.n_failed} refit(s) did not converge and are left out" if boot.n_failed else "")
    return (f"Intervals: percentile bootstrap (Efron and Tibshirani 1993), {boot.n_draws} of {boot.n_boot} resamples of "
            f"the customers (multinomial weights over the compressed rows, seed {boot.seed}), each refitted by maximum "
            f"likelihood from the full-data estimate{failed}; {boot.seconds:.0f} s.")


# --- covariates ------------------------------------------------------------------------


def _who(column: str, level: str | None) -> str:
    words = column.replace("_", " ")
    if level is None:
        return words
    if any(k in column.lower() for k in ("channel", "source", "campaign")):
        return f"customers from {level.replace('_', ' ')}"
    return f"customers with {words} {level}"


def _split(name: str) -> tuple[str, str | None]:
    if "=" in name:
        c, lv = name.split("=", 1)
        return c, lv
    return name, None


def effect_label(covariate: str) -> str:
    """A coefficient's name in words: "acquisition_channel=referral" is "customers from referral"."""
    col, lv = _split(covariate)
    return _who(col, lv)


def _uncertain(low: float, high: float) -> str:
    return "; the data cannot tell this apart from no difference" if low <= 1 <= high else ""


def effect_sentences(fit: CovariateFit, *, n_purchases: int = 5) -> list[str]:
    """One plain sentence per covariate effect, with its 95% interval.

    Purchase rate: "customers from referral buy 1.40× as often as customers from organic
    [1.21×, 1.62×]". Drop-out, Pareto/NBD: "... drop out 0.70× as fast ...". Drop-out,
    BG/NBD: the share still buying after ``n_purchases`` repeat purchases (the model scales
    both beta parameters, :mod:`.covariates`).
    """
    out = []
    eff = fit.effects()
    refs = fit.design.references
    still = fit.still_buying(n_purchases).set_index("covariate") if fit.model == "bgnbd" and fit.dropout_names else None
    for row in eff.itertuples():
        col, lv = _split(row.covariate)
        if lv is not None:
            who, than = _who(col, lv).capitalize(), f" as {_who(col, refs.get(col, 'the reference'))}"
        else:
            who, than = f"Each unit more of {col.replace('_', ' ')}", ""
        rng = f"[{_times(row.low)}, {_times(row.high)}]"
        if row.process == "purchase":
            verb = "buy" if lv is not None else "goes with buying"
            out.append(f"{who} {verb} {_times(row.multiplier)} as often{than} {rng}{_uncertain(row.low, row.high)}.")
        elif fit.model == "pareto_nbd":
            verb = "drop out" if lv is not None else "goes with dropping out"
            out.append(f"{who} {verb} {_times(row.multiplier)} as fast{than} {rng}{_uncertain(row.low, row.high)}.")
        elif still is not None:
            s, ref = still.loc[row.covariate], still.loc["reference"]
            subject = _who(col, lv) if lv is not None else f"customers with one unit more of {col.replace('_', ' ')}"
            base = (f"{_who(col, refs.get(col, 'the reference'))}" if lv is not None else "the others")
            out.append(f"After {n_purchases} repeat purchases, {s['share']:.0%} of {subject} would still be buying "
                       f"[{s['low']:.0%}, {s['high']:.0%}], against {ref['share']:.0%} of {base}"
                       f"{_uncertain(row.low, row.high)}.")
    return out


def lr_sentence(fit: CovariateFit) -> str:
    """The likelihood-ratio test against the model without covariates, in words."""
    lr = fit.lr_test()
    cols = ", ".join(c.replace("_", " ") for c in fit.design.columns)
    p = "p < 0.001" if lr["p_value"] < 0.001 else f"p = {lr['p_value']:.3f}"
    verdict = ("describe customers' buying measurably better than the model without them"
               if lr["p_value"] < 0.05 else "do not describe customers' buying measurably better than the model without them")
    return (f"Together, {cols} {verdict} (likelihood-ratio test: {lr['statistic']:.1f} on {lr['df']} degrees of "
            f"freedom, {p}).")


def effects_table(fit: CovariateFit) -> pd.DataFrame:
    """The coefficients for the appendix: process, covariate, coefficient, SE, multiplier with its interval, p-value."""
    e = fit.effects()
    return pd.DataFrame({"Process": e["process"], "Covariate": e["covariate"], "Coefficient": e["coefficient"],
                         "SE": e["se"], "Multiplier": e["multiplier"], "95% low": e["low"], "95% high": e["high"],
                         "p-value": e["p_value"]})


def results(fit: CovariateFit, prefix: str = "covariates") -> dict[str, Any]:
    """results.json keys of a covariate fit: ``<prefix>.model``, ``.params``, ``.se``,
    ``.lr_test``, ``.references`` and ``.effects`` (one object per coefficient with
    ``value`` (the multiplier), ``low``, ``high``, ``p_value``)."""
    d = fit.to_dict()

    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not np.isfinite(v) else v

    effects = {f"{r['process']}.{r['covariate']}": {"value": clean(r["multiplier"]), "low": clean(r["low"]),
                                                     "high": clean(r["high"]), "p_value": clean(r["p_value"])}
               for r in d["effects"]}
    return {f"{prefix}.model": d["model"], f"{prefix}.params": d["params"], f"{prefix}.se": d["se"],
            f"{prefix}.lr_test": d["lr_test"], f"{prefix}.references": d["references"], f"{prefix}.effects": effects}


COVARIATES_TITLE = "Which customers buy more"
COVARIATES_INTRO = (
    "Customers who differ in an attribute from the customers table may buy at different rates and stop buying at "
    "different rates. Each line compares one group with the reference group, with its 95% interval in brackets."
)


def effects_text(fit: CovariateFit, *, n_purchases: int = 5) -> str:
    """The covariate effects as one text, one line each (:func:`effect_sentences`)."""
    return "\n\n".join(effect_sentences(fit, n_purchases=n_purchases))


def covariates_method(fit: CovariateFit) -> str:
    """The appendix's note on the covariate model: which model, how the covariates enter, the test."""
    where = ("the purchase rate and both drop-out parameters" if fit.model == "bgnbd" else
             "the purchase rate and the drop-out rate")
    return (f"Covariate effects: {fit.name} on {fit.n_customers_:,} customers, fitted on the full period; each "
            f"covariate multiplies {where} by exp(coefficient), against the reference level of each categorical "
            f"column (95% Wald intervals). {lr_sentence(fit)}")
