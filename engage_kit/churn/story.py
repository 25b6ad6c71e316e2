"""What the churn report says: numbers in, plain words out.

Every sentence, card, caption and chart title of the churn report, and the words the
study records (the contact rule, the value basis, each customer's reasons). The figures
come from the study (:meth:`~engage_kit.churn.study.ChurnStudy.summary` and its tables);
nothing here queries the engine or computes a figure. Values from the data pass through
:func:`engage_kit.text.esc` on their way into Markdown.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..text import esc
from .features import feature_label
from .models import MODEL_LABELS

# the reason given where a section of the report needs a fitted model and there is none
NO_MODEL = "no model could be fitted on this data (see the executive summary)"
NO_CONTACT_COST = "no contact_cost given (set contact_cost, in currency per contact, to see it)"
REASONS_NOTE = (
    "The reasons are the inputs that raise each customer's risk the most in a logistic regression, with the average "
    "active customer's value in brackets; they point to what to check, not to proven causes."
)
METRICS_CAPTION = (
    "Test-set metrics: ROC-AUC (95% bootstrap interval), PR-AUC, Brier score (lower is better), churn rate and "
    "lift in the top 10%"
)
PERIODS_CAPTION = "Customers and churn rate (95% Wilson interval) of the training and test sets"
GAINS_CAPTION = "Gains by tenth of churn probability (test set)"


class StudyFacts(Protocol):
    """What the sentences read from a churn study: its settings and the words it recorded."""

    mode: str
    cutoff: pd.Timestamp | None
    test_cutoff: pd.Timestamp | None
    inactivity_days: int | None
    feature_window_days: int
    rule: str
    value_basis: str
    contact_cost: float | None
    save_rate: float

    @property
    def train_label_end(self) -> pd.Timestamp | None: ...


def _known(x: Any) -> bool:
    """False for NaN."""
    return x == x


def _non_contractual(study: StudyFacts) -> bool:
    return study.mode == "non_contractual"


# --- words the study records ---------------------------------------------------------


def contact_rule_text(kind: str, *, threshold: float | None, contact_cost: float | None, save_rate: float,
                      top_fraction: float = 0.1) -> str:
    """The contact rule in words: ``threshold``, ``expected_value`` or ``top`` (see
    :func:`~engage_kit.churn.decisions.contact_rule`)."""
    if kind == "threshold":
        return f"the customers with a churn probability of at least {float(threshold):.0%}"
    if kind == "expected_value":
        return (
            f"the customers whose expected saving (churn probability x {save_rate:.0%} kept x yearly value) "
            f"exceeds the contact cost of {float(contact_cost):,.2f}"
        )
    return f"the top {top_fraction:.0%} by churn probability"


def value_basis(column: str | None, how: str, *, feature_window_days: int = 365) -> str:
    """How a customer's yearly value is computed, in words (see
    :func:`~engage_kit.churn.decisions.value_source`)."""
    if how == "spend":
        return ("spend in the last 365 days" if feature_window_days == 365
                else f"spend in the last {feature_window_days} days, scaled to a year")
    if how == "monthly":
        return f"{column} x 12"
    if how == "yearly":
        return str(column)
    return "not available"


def _fmt_number(col: str, x: float) -> str:
    if col.endswith("_rate"):
        return f"{x:.0%}"
    if float(x).is_integer() or abs(x) >= 10:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def reason(col: str, value: Any, average: Any) -> str:
    """A reason in words: "<feature>: <value> (average <mean>)", or "(most customers have none)"."""
    label = feature_label(col)
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return f"{label}: none recorded"
    if isinstance(value, (int, float, np.number)):
        if average is None or (isinstance(average, float) and np.isnan(average)):
            t = " (most customers have none)"
        else:
            t = f" (average {_fmt_number(col, float(average))})"
        return f"{label}: {_fmt_number(col, float(value))}{t}"
    return f"{label}: {value}"


def scored_who(study: StudyFacts) -> str:
    """Who is scored: ``customers who bought in the last 365 days`` (or ``current customers``)."""
    if _non_contractual(study):
        return f"customers who bought in the last {study.feature_window_days} days"
    return "current customers"


def churn_window(study: StudyFacts) -> str:
    """`` (no purchase in the next 90 days)`` in non-contractual mode, else ``""``: what churn means."""
    return f" (no purchase in the next {study.inactivity_days} days)" if _non_contractual(study) else ""


def _horizon(study: StudyFacts) -> str:
    """What the probabilities are the chance of."""
    return f"not to buy in the next {study.inactivity_days} days" if _non_contractual(study) else "to churn"


# --- the executive summary -----------------------------------------------------------


def active_sentence(active: Any, study: StudyFacts | None = None) -> str:
    """The report's one sentence on the activity window (an :class:`~engage_kit.activity.ActiveWindow`)
    and what churn means here: no purchase in that window after a cutoff, or the churned label."""
    if study is not None and study.mode == "labelled":
        return active.sentence(uses="This report's churn is the customers table's churned label instead.")
    return active.sentence(uses=f"Here churn = no purchase in the {active.days} days after a cutoff.")


def summary_cards(study: StudyFacts, s: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """The four headline cards, from :meth:`~engage_kit.churn.study.ChurnStudy.summary` ``s``.

    Customers at risk, their yearly value, the churners on the model's list (its top 10%
    of the test set) and the model's ROC-AUC, each with its detail line.
    """
    share = s["at_risk_value_share"]
    best_label = MODEL_LABELS[s["best_model"]]
    return [
        {"label": "Customers at risk", "value": f"{s['at_risk']:,}",
         "detail": (f"{study.rule}, of {s['scored']:,} {scored_who(study)}; "
                    f"predicted churn {s['at_risk_probability']:.0%}{churn_window(study)}")},
        {"label": "Their yearly value", "value": f"{s['at_risk_value']:,.0f} {currency}",
         "detail": (f"{share:.0%} of all scored customers' value; " if _known(share) else "") + study.value_basis},
        {"label": "Churners on the model's list", "value": f"{s['best_top_rate']:.0%}",
         "detail": "of its top 10% in the test period"
         + (f"; calling those longest without a purchase: {s['recency_top_rate']:.0%}"
            if _known(s["recency_top_rate"]) else "")
         + f"; everyone: {s['test_churn_rate']:.0%}"},
        {"label": "Model quality (ROC-AUC)", "value": f"{s['best_auc']:.2f}",
         "detail": best_label
         + (f"; recency alone {s['recency_auc']:.2f}" if _known(s["recency_auc"]) else "")
         + (f"; BG/NBD {s['bgnbd_auc']:.2f}" if _known(s["bgnbd_auc"]) else "") + " (0.5 = coin toss, 1 = perfect)"},
    ]


def at_risk_sentence(study: StudyFacts, s: dict[str, Any], currency: str) -> str:
    """How many customers are at risk, how likely they are to leave, and what they are worth."""
    share = s["at_risk_value_share"]
    quiet = (f" Most have already gone quiet: the median one last bought {s['at_risk_median_days']:,.0f} days ago."
             if _known(s["at_risk_median_days"]) else "")
    among = (f"who bought in the last {study.feature_window_days} days" if _non_contractual(study)
             else "current customers")
    worth = f"{share:.0%} of the value of all scored customers; " if _known(share) else ""
    return (
        f"**{s['at_risk']:,} customers are at risk** ({esc(study.rule)} among the {s['scored']:,} {among}). "
        f"The model gives them on average a {s['at_risk_probability']:.0%} chance {_horizon(study)}; together "
        f"they are worth **{s['at_risk_value']:,.0f} {esc(currency)} a year** ({worth}"
        f"value is {esc(study.value_basis)}).{quiet}"
    )


def expected_sentence(study: StudyFacts, s: dict[str, Any]) -> str:
    """How many of all scored customers are expected to leave (the sum of their probabilities)."""
    return (
        f"Across all {s['scored']:,} scored customers, about {s['expected_churners']:,.0f} "
        f"({s['expected_churn_share']:.0%}) are expected {_horizon(study)}."
    )


def trust_sentence(study: StudyFacts, s: dict[str, Any]) -> str:
    """How the model was tested, and how it compares with calling those longest without a purchase
    and with the BG/NBD baseline."""
    best_label = MODEL_LABELS[s["best_model"]]
    if _non_contractual(study):
        when = (f"trained on what happened after {study.cutoff.date()} and tested on what happened after "
                f"{study.test_cutoff.date()}, a period it had not seen")
    else:
        when = "tested on a random 30% of a labelled snapshot (a weaker test than a later period)"
    compare = ""
    if _known(s["recency_top_rate"]):
        verdict = "beats" if s["best_auc"] > s["recency_auc"] else "does not beat"
        compare = (f" Of the 10% of test customers the {best_label} ranked highest, **{s['best_top_rate']:.0%} churned**, "
                   f"against {s['recency_top_rate']:.0%} of the 10% who had gone longest without buying and "
                   f"{s['test_churn_rate']:.0%} of all test customers: the model {verdict} simply calling everyone who "
                   f"has not bought lately (ROC-AUC {s['best_auc']:.2f} vs {s['recency_auc']:.2f}).")
    if _known(s["bgnbd_auc"]):
        if s["best_auc_low"] > s["bgnbd_auc_high"]:
            standing = f"{best_label} is clearly better (the 95% intervals do not overlap)"
        elif s["best_auc"] > s["bgnbd_auc"]:
            standing = f"{best_label} is only narrowly ahead"
        else:
            standing = f"{best_label} does not beat it"
        compare += (f" The BG/NBD baseline, which reads only the purchase pattern, reaches {s['bgnbd_auc']:.2f}: "
                    f"the {standing}.")
    return f"**How far to trust the list.** The model was {when}.{compare}"


def value_column(currency: str) -> str:
    """The header of the at-risk list's value column."""
    return f"yearly value ({currency})"


def at_risk_caption(top_n: int, at_risk: int) -> str:
    """The caption of the at-risk list."""
    return f"Top {min(top_n, at_risk):,} of {at_risk:,} customers at risk (all scored customers are exported below)"


# --- how good is the model -----------------------------------------------------------


def auc_sentence(s: dict[str, Any], baselines: dict[str, float]) -> str:
    """The best model's test ROC-AUC and each baseline's (:meth:`~engage_kit.churn.study.ChurnStudy.baseline_aucs`)."""
    others = "; ".join(f"the {esc(MODEL_LABELS[name])} {auc:.2f}" for name, auc in baselines.items())
    return (f"On the test set the {esc(MODEL_LABELS[s['best_model']])} reaches a ROC-AUC of {s['best_auc']:.2f}; "
            f"{others or 'no baseline could be scored'}.")


def periods_sentence(study: StudyFacts) -> str:
    """What churn means in the training and test sets, and why no training label sees the test period."""
    if _non_contractual(study):
        return (f"Churn means no purchase in the {study.inactivity_days} days after a cutoff, among customers who "
                f"bought in the {study.feature_window_days} days up to it. The training labels end on "
                f"{study.train_label_end.date()}, before the test cutoff, so no training label sees the test period.")
    return ("This is a labelled snapshot: there is no time order, so the test set is a stratified random split of the "
            "same customers. That is a weaker test than an out-of-time one: it shows who resembles past churners.")


def gains_sentence(s: dict[str, Any], gains: pd.DataFrame) -> str:
    """The share of churners the top 10% and 30% reach (a :meth:`~engage_kit.churn.study.ChurnStudy.gains` table)."""
    return (f"Contacting the top 10% of test customers by the {esc(MODEL_LABELS[s['best_model']])} reaches "
            f"{gains.loc[0, 'share_of_churners']:.0%} of all churners; the top 30% reaches "
            f"{gains.loc[2, 'share_of_churners']:.0%}. With {s['test_churn_rate']:.0%} of customers churning, a "
            f"perfect list of 10% could reach at most {s['perfect_top_reach']:.0%}.")


def calibration_sentence(calibration: pd.DataFrame) -> str:
    """Predicted against observed churn in the highest- and lowest-risk tenths."""
    pred, obs = calibration["predicted"], calibration["observed"]
    return (f"In the highest-risk tenth the model predicts {pred.iloc[-1]:.0%} churn and {obs.iloc[-1]:.0%} "
            f"churned; in the lowest tenth {pred.iloc[0]:.0%} predicted vs {obs.iloc[0]:.0%} observed.")


# --- the decision --------------------------------------------------------------------


def decision_caption(rule: str) -> str:
    """The caption of the test set's contacted / churned table."""
    return f"Test set, contacting {rule}"


def decision_sentence(rule: str, rates: dict[str, float]) -> str:
    """How many test customers the rule selects, how many of them churned and what share of all churners
    they are (:func:`~engage_kit.churn.evaluation.confusion_rates`)."""
    return (f"Contacting {esc(rule)} selects {rates['contacted']:,} test customers, {rates['precision']:.0%} of whom "
            f"churned; they are {rates['recall']:.0%} of all churners.")


def cost_benefit_sentence(study: StudyFacts, best: pd.Series, currency: str) -> str:
    """The net value of contacting the test customers with the highest expected saving
    (the best row of :func:`~engage_kit.churn.decisions.cost_benefit_curve`)."""
    return (f"With a contact cost of {study.contact_cost:,.2f} {esc(currency)} and {study.save_rate:.0%} of contacted "
            f"churners kept, contacting the {int(best['contacted']):,} test customers with the highest expected saving "
            f"would have netted {best['net']:,.0f} {esc(currency)}; value is {esc(study.value_basis)}.")


def importance_sentence(importance: pd.DataFrame) -> str:
    """The two inputs whose shuffling lowers the test ROC-AUC the most."""
    imp = importance
    return (f"Shuffling '{esc(imp.loc[0, 'label'])}' lowers the test ROC-AUC by {imp.loc[0, 'importance']:.3f}, "
            f"'{esc(imp.loc[1, 'label'])}' by {imp.loc[1, 'importance']:.3f}: these inputs carry the most information "
            "(permutation importance on held-out customers).")


# --- export --------------------------------------------------------------------------


def export_sentence(scores_file: str, s: dict[str, Any]) -> str:
    """Where the scores of every scored customer are."""
    return (f"<code>{esc(scores_file)}</code> holds all {s['scored']:,} scored customers with their churn "
            "probability, rank and top reasons.")


def notes(items: list[str]) -> str:
    """The study's notes as a Markdown list."""
    return "\n".join(f"- {esc(note)}" for note in items)


# --- chart titles --------------------------------------------------------------------


def auc_title(best_model: str, best_auc: float, recency_auc: float | None = None) -> str:
    """The title of the ROC-AUC chart."""
    title = f"{MODEL_LABELS[best_model].capitalize()} ranks churners with AUC {best_auc:.2f}"
    return title if recency_auc is None else f"{title} vs {recency_auc:.2f} for recency alone"


def gains_title(best_model: str, top20: float, recency_top20: float | None = None) -> str:
    """The title of the gains chart: the share of churners the top 20% reaches."""
    title = f"Calling the top 20% by {MODEL_LABELS[best_model]} reaches {top20:.0%} of churners"
    return title if recency_top20 is None else f"{title}\n(recency alone {recency_top20:.0%}, random calls 20%)"


def calibration_title(gap: float) -> str:
    """The title of the calibration chart: the largest gap between predicted and observed churn."""
    return f"Predicted and observed churn differ by at most {gap * 100:.0f} points per decile"


def importance_title(label: str) -> str:
    """The title of the importance chart: the input that tells churners apart the most."""
    return f"{label[:1].upper() + label[1:]} tells churners apart the most"


def cost_benefit_title(contacted: int, net: float, currency: str) -> str:
    """The title of the cost and benefit chart."""
    return f"Contacting the top {contacted:,} would have netted {net:,.0f} {currency}"
