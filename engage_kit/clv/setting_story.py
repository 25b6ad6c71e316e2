"""What the CLV report says in the fixed-occasion and subscription settings: numbers in,
plain words out.

The body speaks of "the model", "occasions", "renewals" and "the test period"; the model
names (BG/BB, sBG), parameters and papers are said only in the appendix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..text import esc
from .occasions import occasion_label
from .story import money, rounded

if TYPE_CHECKING:
    from .contractual import ContractualAnalysis
    from .discrete import DiscreteAnalysis
    from .settings import Choice

UNIT = {"Y": ("year", "years"), "Q": ("quarter", "quarters"), "M": ("month", "months")}
SECTION_TITLES = {
    "forecast": "How well the forecast matched the test period",
    "active": "Who is still active",
    "value": "What customers are worth",
    "retention": "How many subscribers stay",
    "subscribers": "What subscribers are worth",
}
APPENDIX_INTRO = ("Model parameters, the fit and the checks behind the figures above, for analysts. Intervals of "
                  "derived figures come from 200 draws of the parameters from their estimated distribution.")


def _unit(occasion: str, n: float = 2) -> str:
    return UNIT[occasion][0 if n == 1 else 1]


def _range(fig: dict[str, Any], fmt: str = "{:,.0f}", currency: str = "") -> str:
    if fig.get("value") is None:
        return "n/a"
    low, high = fig["low"], fig["high"]
    if fmt == "pct":
        return f"{low:.0%}–{high:.0%}"
    if fmt == "money":
        return f"{money(rounded(low))}–{money(rounded(high), currency)}"
    return f"{fmt.format(low)}–{fmt.format(high)}"


def _error(err: float | None) -> str:
    if err is None:
        return "no purchases to compare with"
    return f"{abs(err):.1%} {'too high' if err > 0 else 'too low'}"


def setting_sentence(choice: Choice) -> str:
    """Which kind of customer relationship the report assumes, and why (plain words)."""
    kind = {"discrete": "fixed buying occasions", "contractual": "subscriptions",
            "noncontractual": "purchases at any time"}[choice.setting]
    how = "as set for this report" if choice.source == "parameter" else "chosen from the data"
    return f"This report treats the data as {kind} ({how}): {esc(choice.why)}."


def plain_reason(why: str) -> str:
    """A reason the analysis cannot run, without model names and advice."""
    text = str(why).split("; try")[0].split(". Try")[0]
    for name in ("BG/BB: ", "sBG: ", "BG/BB", "sBG", "fixed occasions: ", "subscriptions: "):
        text = text.replace(name, "the model" if name in ("BG/BB", "sBG") else "")
    return text.strip(" .;") or "the data are too few for the model"


def not_applicable(why: str) -> str:
    """The page's only line when the model cannot run on the data."""
    return f"**Not applicable:** {esc(plain_reason(why))}."


def unavailable_results(why: str, choice: Choice) -> dict[str, Any]:
    """results.json of a setting that could not run: figures ``{value: null, reason}``."""
    reason = plain_reason(why)
    out: dict[str, Any] = {k: {"value": None, "reason": reason} for k in ("clv.total", "clv.mean", "clv.customers")}
    return {**out, "setting": choice.to_dict(), "not_applicable": reason}


# --- fixed occasions -------------------------------------------------------------------------


def discrete_findings(a: DiscreteAnalysis, currency: str) -> list[str]:
    """3-5 findings of the fixed-occasion report, each with its number and interval."""
    f = a.figures
    h = a.holdout
    return [
        (f"Future purchases of today's {f['total_value']['n']:,} customers are worth **{money(f['total_value']['value'], currency)}** "
         f"in today's money (likely {_range(f['total_value'], 'money', currency)}), about "
         f"{money(f['value_per_customer']['value'], currency)} per customer: worth keeping in touch with those still active."),
        (f"**{f['share_alive']['value']:.0%}** of customers are likely still active (likely {_range(f['share_alive'], 'pct')}); "
         f"among those who bought again after their first {_unit(a.occasion, 1)}, {f['share_alive_repeat']['value']:.0%}. "
         "Focus appeals on them."),
        (f"Over the next {a.horizon} {_unit(a.occasion, a.horizon)} we expect **{f['expected_purchases']['value']:,.0f}** purchases "
         f"(likely {_range(f['expected_purchases'])}), {f['purchases_per_customer']['value']:.2f} per customer."),
        (f"Tested on the last {h['occasions']} {_unit(a.occasion, h['occasions'])}, which the model had not seen, the forecast "
         f"was {h['predicted_purchases']:,.0f} purchases against {h['actual_purchases']:,.0f} actual ({_error(h['error'])})."),
    ]


def discrete_cards(a: DiscreteAnalysis, currency: str) -> list[dict[str, Any]]:
    """Key figures of the fixed-occasion report."""
    f = a.figures
    h = a.holdout
    err = h["error"]
    return [
        {"label": "Value of future purchases", "value": money(f["total_value"]["value"], currency),
         "detail": f"likely {_range(f['total_value'], 'money', currency)}; {money(f['value_per_customer']['value'], currency)} per customer"},
        {"label": "Customers likely still active", "value": f"{f['share_alive']['value']:.0%}",
         "detail": f"likely {_range(f['share_alive'], 'pct')} of {f['share_alive']['n']:,} customers"},
        {"label": f"Purchases, next {a.horizon} {_unit(a.occasion, a.horizon)}", "value": f"{f['expected_purchases']['value']:,.0f}",
         "detail": f"likely {_range(f['expected_purchases'])}"},
        {"label": "Forecast error, test period", "value": f"{err:+.1%}" if err is not None else "n/a",
         "detail": f"{h['predicted_purchases']:,.0f} forecast vs {h['actual_purchases']:,.0f} actual",
         "delta": _error(err), "up": (err > 0) if err else None, "good": None},
    ]


def discrete_text(a: DiscreteAnalysis, currency: str) -> str:
    """What the key figures mean and over which occasions."""
    worth = "revenue" if a.margin >= 1 else f"profit ({a.margin:.0%} of revenue)"
    return (f"Each {_unit(a.occasion, 1)} is one buying occasion: a customer buys in it or not. The model learnt from the "
            f"occasions {a.label(a.first_occasion)} to {a.label(a.calibration_last)}, was tested on "
            f"{a.label(a.calibration_last + 1)} to {a.label(a.last)}, then recomputed on all of them. A customer's value is "
            f"the {worth} of all their expected future purchases, at {money(a.average_amount, currency)} a purchase "
            f"(the average), in today's money (discounted at {a.annual_discount_rate:.0%} a year).")


def discrete_forecast_text(a: DiscreteAnalysis) -> str:
    t = a.tracking[a.tracking["holdout"]]
    return (f"In the test {_unit(a.occasion, len(t))} customers bought again {t['actual'].sum():,.0f} times; the forecast, "
            f"which includes customers who joined later, was {t['expected'].sum():,.0f}.")


def discrete_value_table(a: DiscreteAnalysis) -> pd.DataFrame:
    """Customers by past occasions with a purchase: how many, chance still active, expected
    purchases and value each."""
    s = a.scored.assign(group=a.scored["frequency"].clip(upper=6))
    w = s["weight"]
    g = s.assign(pa=w * s["p_alive"], ex=w * s["expected_purchases"], v=w * s["value"]).groupby("group")
    out = pd.DataFrame({"Customers": g["weight"].sum(), "Chance still active": g["pa"].sum() / g["weight"].sum(),
                        f"Purchases, next {a.horizon} {_unit(a.occasion, a.horizon)}": g["ex"].sum() / g["weight"].sum(),
                        "Value each": g["v"].sum() / g["weight"].sum()}).reset_index()
    top = int(out["group"].max())
    out.insert(0, "Occasions bought again", [f"{int(v)}+" if int(v) == top and top == 6 else f"{int(v)}" for v in out.pop("group")])
    return out


def discrete_method(a: DiscreteAnalysis) -> str:
    p = a.model_full.params_
    return (f"Model: BG/BB (beta-geometric / beta-Bernoulli; Fader, Hardie and Shang 2010, Marketing Science 29(6)). An "
            f"active customer buys at each occasion with probability p ~ Beta(alpha, beta) and drops out before the next with "
            f"probability theta ~ Beta(gamma, delta). Fitted by maximum likelihood (equation 5) on the distinct (x, t_x, n) rows; "
            f"refit on all occasions: alpha {p['alpha']:.3f}, beta {p['beta']:.3f}, gamma {p['gamma']:.3f}, delta {p['delta']:.3f}. "
            f"P(alive) is equation 11, expected purchases equation 13, the value DERT (equation 14) times the average "
            f"purchase amount. Holdout: {a.holdout_occasions} occasion(s).")


# --- subscriptions ---------------------------------------------------------------------------


def contractual_findings(a: ContractualAnalysis, currency: str) -> list[str]:
    """3-5 findings of the subscription report, each with its number and interval."""
    f = a.figures
    u1, un = UNIT[a.period]
    h = a.holdout
    out = []
    if f["total_value"].get("value") is not None:
        out.append(f"The {f['active_subscribers']['value']:,} active subscribers are worth **{money(f['total_value']['value'], currency)}** "
                   f"in future payments, in today's money (likely {_range(f['total_value'], 'money', currency)}), about "
                   f"{money(f['value_per_subscriber']['value'], currency)} each: the budget ceiling for keeping them.")
    out += [
        (f"An active subscriber can be expected to pay for about **{f['remaining_periods']['value']:,.0f} more {un}** "
         f"(counted in today's money; likely {_range(f['remaining_periods'])})."),
        (f"Of a new group of subscribers, **{f['first_year_retention']['value']:.0%}** are still there after a year "
         f"(likely {_range(f['first_year_retention'], 'pct')}); loyalty grows with time as the least loyal leave first, so "
         f"{f['next_retention']['value']:.0%} of today's subscribers are expected to renew at the next {u1}'s end: the first "
         f"{un} are where cancellations can be prevented."),
        (f"Tested on the last {h['periods']} {_unit(a.period, h['periods'])}, which the model had not seen, it expected "
         f"{h['predicted_subscribers']:,.0f} subscribers at the end against {h['actual_subscribers']:,.0f} actual "
         f"({_error(h['error'])})."),
    ]
    return out


def contractual_cards(a: ContractualAnalysis, currency: str) -> list[dict[str, Any]]:
    """Key figures of the subscription report."""
    f = a.figures
    u1, un = UNIT[a.period]
    h = a.holdout
    err = h["error"]
    tv = f["total_value"]
    return [
        {"label": "Active subscribers", "value": f"{f['active_subscribers']['value']:,}", "detail": f"at the end of {a.label(a.last)}"},
        {"label": "Value of future payments", "value": money(tv["value"], currency) if tv.get("value") is not None else "n/a",
         "detail": f"likely {_range(tv, 'money', currency)}" if tv.get("value") is not None else esc(tv.get("reason", ""))},
        {"label": f"Expected further {un} per subscriber", "value": f"{f['remaining_periods']['value']:,.1f}",
         "detail": f"likely {_range(f['remaining_periods'], '{:,.1f}')}, in today's money"},
        {"label": "Still subscribed after a year", "value": f"{f['first_year_retention']['value']:.0%}",
         "detail": f"of a new group; likely {_range(f['first_year_retention'], 'pct')}"},
        {"label": "Forecast error, test period", "value": f"{err:+.1%}" if err is not None else "n/a",
         "detail": f"{h['predicted_subscribers']:,.0f} expected vs {h['actual_subscribers']:,.0f} actual subscribers",
         "delta": _error(err), "up": (err > 0) if err else None, "good": None},
    ]


def contractual_text(a: ContractualAnalysis, currency: str) -> str:
    """What the key figures mean."""
    u1, un = UNIT[a.period]
    worth = "revenue" if a.margin >= 1 else f"profit ({a.margin:.0%} of revenue)"
    value = (f"at {money(a.value_per_period, currency)} per subscriber and {u1} (the average payment)"
             if a.value_per_period == a.value_per_period else "")
    return (f"Subscribers are grouped by the {u1} they signed up in and followed {u1} by {u1} until the end of "
            f"{a.label(a.last)}. A subscriber's value is the {worth} of their expected future payments {value}, in today's "
            f"money (discounted at {a.annual_discount_rate:.0%} a year). The model learnt from all but the last "
            f"{a.holdout_periods} {_unit(a.period, a.holdout_periods)}, was tested on them, then recomputed on all.")


def retention_text(a: ContractualAnalysis) -> str:
    c = a.curve
    u1, un = UNIT[a.period]
    end = int(c["period"].max())
    seen = c.dropna(subset=["observed"])
    last_seen = int(seen["period"].max())
    return (f"After {last_seen} {_unit(a.period, last_seen)} {seen['observed'].iloc[-1]:.0%} of subscribers were still there; "
            f"the model gives {c.loc[c['period'] == last_seen, 'projected'].iloc[0]:.0%} and projects "
            f"{c['projected'].iloc[-1]:.0%} after {end} {un} (likely {c['low'].iloc[-1]:.0%}–{c['high'].iloc[-1]:.0%}).")


def subscriber_table(a: ContractualAnalysis) -> pd.DataFrame:
    """Active subscribers by how long they have been subscribed: how many, expected further
    periods and value each."""
    u1, un = UNIT[a.period]
    d = a.active.sort_values("renewals")
    return pd.DataFrame({
        "Signed up in": [occasion_label(int(c), a.period) for c in d["cohort"]],
        f"{un.capitalize()} subscribed": d["renewals"].to_numpy(),
        "Subscribers": d["subscribers"].to_numpy(),
        f"Expected further {un}": d["derl"].to_numpy(),
        "Value each": d["value"].to_numpy(),
    })


def cohort_parameter_table(a: ContractualAnalysis) -> pd.DataFrame:
    """Per-cohort sBG fits for the appendix."""
    rows = []
    for c, m in a.by_cohort.items():
        if isinstance(m, str):
            rows.append((occasion_label(int(c), a.period), float("nan"), float("nan"), m))
        else:
            rows.append((occasion_label(int(c), a.period), m.params_["alpha"], m.params_["beta"], f"{m.n_customers_:,} customers"))
    return pd.DataFrame(rows, columns=["Cohort", "alpha", "beta", "Note"])


def contractual_method(a: ContractualAnalysis) -> str:
    p = a.model_full.params_
    return (f"Model: shifted-beta-geometric (sBG; Fader and Hardie 2007, Journal of Interactive Marketing 21(1)): each "
            f"subscriber cancels at each renewal with probability theta ~ Beta(alpha, beta). Pooled over "
            f"{a.survivors['cohort'].nunique()} cohorts by maximum likelihood (equation 7) on survivors per cohort and period: "
            f"alpha {p['alpha']:.3f}, beta {p['beta']:.3f}. Expected further periods are DERL (Fader and Hardie 2010, "
            f"Marketing Science 29(1), equation 6) at the per-period discount rate; values multiply them by the average "
            f"payment per subscriber and period. A cancellation in a subscriber's k-th calendar period is a loss at the "
            f"k-th renewal.")


# --- either setting --------------------------------------------------------------------------


def findings(s: DiscreteAnalysis | ContractualAnalysis | None, currency: str) -> list[str]:
    """The report's findings for the setting's analysis (none when it could not run)."""
    if s is None:
        return []
    return discrete_findings(s, currency) if s.setting == "discrete" else contractual_findings(s, currency)  # type: ignore[arg-type]


def cards(s: DiscreteAnalysis | ContractualAnalysis, currency: str) -> list[dict[str, Any]]:
    """The key-figure cards of the setting's analysis."""
    return discrete_cards(s, currency) if s.setting == "discrete" else contractual_cards(s, currency)  # type: ignore[arg-type]


def key_text(s: DiscreteAnalysis | ContractualAnalysis, currency: str) -> str:
    """What the key figures mean, for the setting's analysis."""
    return discrete_text(s, currency) if s.setting == "discrete" else contractual_text(s, currency)  # type: ignore[arg-type]


def method(s: DiscreteAnalysis | ContractualAnalysis) -> str:
    """The appendix' model paragraph for the setting's analysis."""
    return discrete_method(s) if s.setting == "discrete" else contractual_method(s)  # type: ignore[arg-type]


def contractual_holdout_text(a: ContractualAnalysis) -> str:
    """The test-period check of the subscription forecast in one sentence."""
    h = a.holdout
    return (f"The model learnt from all but the last {h['periods']} {_unit(a.period, h['periods'])} and then projected how many "
            f"of the {h['cohorts']} groups' subscribers would still be there at the end of {a.label(a.last)}: "
            f"{h['predicted_subscribers']:,.0f}, against {h['actual_subscribers']:,.0f} actual ({_error(h['error'])}).")


def setting_method(choice: Choice) -> str:
    """The appendix' line on the setting parameter and how it was chosen."""
    how = ("given by the setting parameter" if choice.source == "parameter"
           else "chosen by setting auto (contractual when customers.cancelled_at is filled; discrete when no customer "
                "bought on two days of one occasion and at least 80% of occasions have purchases)")
    return f"Setting: {choice.setting}, occasion {choice.occasion or 'none'}, {how}."


def parameters_caption(s: DiscreteAnalysis | ContractualAnalysis, full: bool) -> str:
    """Caption of a parameter table (calibration or all periods)."""
    model = s.model_full if full else s.model
    when = "all periods" if full else "the calibration periods"
    return f"{model.name} parameters on {when}, 95% intervals; log-likelihood {model.log_likelihood_:,.2f}"
