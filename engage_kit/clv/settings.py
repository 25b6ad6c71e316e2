"""Which model family the CLV report uses: the ``setting`` parameter.

- ``noncontractual`` (default): customers buy whenever they like and leave unseen (BG/NBD
  and its relatives, :mod:`.analysis`);
- ``discrete``: purchases fall on fixed occasions (a yearly appeal, a quarterly event): each
  customer buys at most once per occasion (BG/BB, :mod:`.discrete`);
- ``contractual``: subscribers whose cancellations are seen (``customers.cancelled_at``),
  renewing once per period (sBG, :mod:`.contractual`);
- ``auto``: contractual when the customers table has ``signup_at`` and a filled
  ``cancelled_at``; else discrete when, for a year, quarter or month, customers never buy on
  two days of one occasion and most occasions have purchases; else noncontractual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DataError, ModelError, ParameterError
from .occasions import OCCASIONS, check_occasion, occasion_profile

SETTINGS = ("noncontractual", "discrete", "contractual", "auto")
# fixed occasions: at most this share of customers bought on two days of one occasion ...
MAX_SHARE_TWICE = 0.01
# ... and at least this share of the occasions in the data's span have purchases
MIN_OCCUPIED = 0.8
MIN_OCCASIONS = 3


@dataclass
class Choice:
    """The setting used, its occasion (``Y``, ``Q`` or ``M``; None for noncontractual), where
    the choice came from (``parameter`` or ``auto``) and why, in plain words."""

    setting: str
    occasion: str | None
    source: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.setting, "occasion": self.occasion, "source": self.source, "reason": self.why}


def check_setting(setting: str) -> str:
    """One of :data:`SETTINGS`; a clear error for anything else."""
    s = str(setting).strip().lower()
    if s not in SETTINGS:
        raise ParameterError(f"setting must be one of {', '.join(SETTINGS)}; got {setting!r}")
    return s


def has_cancellations(ds: Any) -> bool:
    """True when the dataset's customers table has ``signup_at`` and a ``cancelled_at`` that is filled at least once."""
    if not ds.has("customers"):
        return False
    c = ds["customers"]
    if "cancelled_at" not in c.columns or "signup_at" not in c.columns:
        return False
    return int(c.cancelled_at.notnull().cast("int64").sum().execute() or 0) > 0


def fixed_occasion(purchases: Any) -> tuple[str | None, dict[str, dict[str, float]]]:
    """The shortest occasion (month, quarter, year) at which purchases look like fixed
    occasions (see the module text), or None; with the profile of each occasion tried."""
    profiles = {}
    for occ in ("M", "Q", "Y"):
        p = occasion_profile(purchases, occ)
        profiles[occ] = p
        occupied = p["occasions"] / p["span"] if p["span"] else 0.0
        if p["span"] >= MIN_OCCASIONS and p["share_twice"] <= MAX_SHARE_TWICE and occupied >= MIN_OCCUPIED:
            return occ, profiles
    return None, profiles


def choose_setting(ds: Any, setting: str = "noncontractual", occasion: str | None = None) -> Choice:
    """The setting the report uses, and why (plain words for the report's body).

    Parameters
    ----------
    ds : Dataset
        The validated dataset (``ds.purchases``, optional ``customers``).
    setting : {"noncontractual", "discrete", "contractual", "auto"}
        The parameter; ``auto`` looks at the data.
    occasion : {"Y", "Q", "M"}, optional
        Occasion (discrete) or renewal period (contractual); None: detected for
        discrete (year when nothing fits), a month for contractual.
    """
    s = check_setting(setting)
    occ = check_occasion(occasion) if occasion is not None else None
    names = {"Y": "year", "Q": "quarter", "M": "month"}
    if s == "noncontractual":
        return Choice(s, None, "parameter", "customers buy whenever they like and leave without telling us")
    if s == "contractual":
        occ = occ or "M"
        return Choice(s, occ, "parameter", f"customers subscribe, renew once a {names[occ]} and their cancellations are recorded")
    if s == "discrete":
        if occ is None:
            occ = fixed_occasion(ds.purchases)[0] or "Y"
        return Choice(s, occ, "parameter", f"customers can buy at most once a {names[occ]}, on fixed occasions")
    if has_cancellations(ds):
        occ = occ or "M"
        return Choice("contractual", occ, "auto",
                      f"the customer list records cancellations, so customers are treated as subscribers renewing once a {names[occ]}")
    found, _ = fixed_occasion(ds.purchases)
    if found is not None and (occ is None or occ == found):
        return Choice("discrete", found, "auto",
                      f"no customer bought twice in one {names[found]} and purchases fall in almost every {names[found]}, "
                      f"so each {names[found]} is treated as one buying occasion")
    return Choice("noncontractual", None, "auto", "customers buy whenever they like and cancellations are not recorded")


def analyse_setting(ds: Any, choice: Choice, **params: Any) -> tuple[Any, str | None]:
    """The discrete or contractual analysis for ``choice``, or ``(None, reason)`` when the
    data cannot support it (a missing table or column, too few periods, a fit that fails).

    ``params``: annual_discount_rate, margin, penalizer (discrete), holdout (periods held
    out, None for a quarter), horizon (discrete: occasions ahead; contractual: periods of
    the projected curve).
    """
    from .contractual import analyse_contractual
    from .discrete import analyse_discrete

    if choice.setting not in ("discrete", "contractual"):
        raise ParameterError(f"analyse_setting runs the discrete or contractual setting; got {choice.setting!r}")
    occ = choice.occasion or ("Y" if choice.setting == "discrete" else "M")
    common = {"annual_discount_rate": params.get("annual_discount_rate", 0.10), "margin": params.get("margin", 1.0)}
    try:
        if choice.setting == "discrete":
            return analyse_discrete(ds.purchases, as_of=ds.as_of, occasion=occ, holdout_occasions=params.get("holdout"),
                                    horizon=params.get("horizon"), penalizer=params.get("penalizer", 0.0), **common), None
        if not ds.has("customers") or not {"signup_at", "cancelled_at"} <= set(ds["customers"].columns):
            return None, "the subscription view needs a customers table with signup dates and cancellation dates"
        return analyse_contractual(ds["customers"], ds.purchases, as_of=ds.as_of, period=occ,
                                   holdout_periods=params.get("holdout"), projection=params.get("horizon"), **common), None
    except (ModelError, DataError) as e:
        return None, str(e)


def setting_results(analysis: Any, why: str | None, choice: Choice) -> dict[str, Any]:
    """results.json of the discrete or contractual report: the analysis' figures and the
    setting (``{value, occasion, source, reason}``); without an analysis every figure is
    ``{value: null, reason}`` and ``not_applicable`` says why."""
    if analysis is None:
        from .setting_story import unavailable_results

        return unavailable_results(why or "the data are too few for the model", choice)
    return {**analysis.results(), "setting": choice.to_dict()}


__all__ = ["SETTINGS", "setting_results", "OCCASIONS", "Choice", "analyse_setting", "check_setting", "choose_setting", "fixed_occasion",
           "has_cancellations"]
