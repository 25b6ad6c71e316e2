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
NO_MODEL = "no model could be fitted on this data"
NO_CONTACT_COST = "no cost per retention contact was given"
REASONS_HEADER = "main reasons (the average customer in brackets)"
REASONS_NOTE = (
    "The reasons are the inputs that raise each customer's risk the most in a logistic regression, with the average "
    "active customer's value in brackets; they point to what to check, not to proven causes."
)
# the report's sections, by their titles, and what each says first
SECTION_TITLES = {
    "list": "Customers to contact first",
    "trust": "How far to trust the list",
    "drivers": "What drives churn",
    "cost": "Cost and benefit",
}
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
    if x.is_integer() or abs(x) >= 10:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def reason(col: str, value: Any, average: Any) -> str:
    """A reason in words: "<feature>: <value> (average <mean>)", or "(most customers have none)"."""
    return reasons(col, [value], average)[0]


def reasons(col: str, values: Any, average: Any) -> list[str]:
    """:func:`reason` of each of ``values`` of one feature column, with the column's label
    and average worded once (a churn list words hundreds of thousands of reasons)."""
    label = feature_label(col)
    tail = None
    out = []
    for value in values:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):  # NaN
            out.append(f"{label}: none recorded")
        elif isinstance(value, (int, float, np.number)):
            if tail is None:
                tail = (" (most customers have none)" if average is None or (isinstance(average, float) and np.isnan(average))
                        else f" (average {_fmt_number(col, float(average))})")
            out.append(f"{label}: {_fmt_number(col, float(value))}{tail}")
        else:
            out.append(f"{label}: {value}")
    return out


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
    reach = getattr(study, "reachable_days", None)
    if reach is None or reach == active.days:
        tail = " and customers within it can still be won back" if reach is not None else ""
        return active.sentence(uses=f"Here churn = no purchase in the {active.days} days after a cutoff{tail}.")
    return active.sentence(uses=f"Here churn = no purchase in the {active.days} days after a cutoff; customers who "
                                f"bought in the last {reach} days can still be won back.")


def summary_cards(study: StudyFacts, s: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """The four headline cards, from :meth:`~engage_kit.churn.study.ChurnStudy.summary` ``s``.

    The customers at risk who can still be won back and their yearly value, the customers
    already gone, and how many of the model's top 10% of the test period really left.
    """
    gone = s["gone"]
    cards = [
        {"label": "At risk, still reachable", "value": f"{s['reachable_at_risk']:,}",
         "detail": (f"{_reach_words(study, s)}; average chance {_horizon(study)}: "
                    f"{s['reachable_at_risk_probability']:.0%}" if s["reachable_at_risk"] else _reach_words(study, s))},
        {"label": "Their value at risk", "value": f"{s['reachable_at_risk_loss']:,.0f} {currency}",
         "detail": f"chance of leaving x yearly value; their yearly value is {s['reachable_at_risk_value']:,.0f} "
                   f"{currency}"},
    ]
    if _known(gone):
        cards.append({"label": "Already gone", "value": f"{int(gone):,}",
                      "detail": f"bought in the last {study.feature_window_days} days, but not in the last "
                                f"{s['reachable_days']} days: a win-back audience"})
    cards.append({"label": "Leavers on the model's list", "value": f"{s['best_top_rate']:.0%}",
                  "detail": "of its top 10% in the test period"
                  + (f"; those longest without a purchase: {s['recency_top_rate']:.0%}"
                     if _known(s["recency_top_rate"]) else "")
                  + f"; all customers: {s['test_churn_rate']:.0%}"})
    return cards


def _reach_words(study: StudyFacts, s: dict[str, Any]) -> str:
    """Who is reachable, in words."""
    if s.get("reachable_days") is None or not _known(s["gone"]):
        return f"of {s['scored']:,} {scored_who(study)}"
    return f"of the {s['reachable']:,} who bought in the last {s['reachable_days']} days"


def _pct_between(low: float, high: float) -> str:
    """An interval of a share in words: "between 59% and 61%"."""
    return f"between {low:.0%} and {high:.0%}"


def findings(study: StudyFacts, s: dict[str, Any], currency: str, importance: pd.DataFrame | None = None) -> list[str]:
    """What we found: 3-5 sentences, each with its number and what it suggests doing.

    The customers at risk who can still be won back and their value at risk; those already
    gone (a separate audience); how well the model picks leavers, against the time since the
    last purchase alone; what churn counts here, and why it is not the KPI report's monthly
    churn; the input that tells leavers apart the most (the first of ``importance``).
    """
    top_driver = str(importance["label"].iloc[0]) if importance is not None and len(importance) else None
    out = []
    if s["reachable_at_risk"]:
        out.append(
            f"**{s['reachable_at_risk']:,} customers at risk can still be won back**: they "
            f"{'bought in the last ' + str(s['reachable_days']) + ' days' if s.get('reachable_days') else 'are current'}"
            f", and the model puts their average chance {_horizon(study)} at {s['reachable_at_risk_probability']:.0%}. "
            f"Their value at risk (chance of leaving x yearly value) is **{s['reachable_at_risk_loss']:,.0f} "
            f"{esc(currency)}**, of the {s['reachable_at_risk_value']:,.0f} {esc(currency)} they spend a year: contact "
            "them first, highest value at risk first (the list below)."
        )
    else:
        out.append(f"**No customer who can still be won back is at risk** by the contact rule ({esc(study.rule)}).")
    if _known(s["gone"]):
        out.append(
            f"**{int(s['gone']):,} customers have already gone**: they bought in the last {study.feature_window_days} "
            f"days but not in the last {s['reachable_days']} days, together {s['gone_value']:,.0f} {esc(currency)} a "
            "year. They are a win-back audience (a new offer), not a retention one, and are not on the list."
        )
    if _known(s["recency_top_rate"]):
        verdict = ("the list is worth using" if s["best_auc"] > s["recency_auc"]
                   else "the model adds little to sorting customers by the time since their last purchase")
        out.append(
            f"Of the 10% of test customers the model ranked highest, **{s['best_top_rate']:.0%} stopped buying**, "
            f"against {s['recency_top_rate']:.0%} of the 10% longest without a purchase and {s['test_churn_rate']:.0%} "
            f"of all: {verdict}."
        )
    if _non_contractual(study):
        out.append(
            f"**{s['test_churn_rate']:.0%}** of the customers who bought in the year before "
            f"{_day(study.test_cutoff)} made no purchase in the {study.inactivity_days} days after it "
            f"({_pct_between(s['test_churn_low'], s['test_churn_high'])}). This churn counts a "
            f"{study.inactivity_days}-day silence among everyone who bought in a year; the Engagement KPIs report's "
            "churn rate is a monthly figure among active customers, so it is much lower: compare each with itself "
            "over time, not with the other."
        )
    if top_driver:
        out.append(f"**{esc(top_driver[:1].upper() + top_driver[1:])}** tells leavers apart the most: it is the "
                   "first thing to watch for an early warning.")
    return out[:5]


def _day(day: pd.Timestamp | None) -> str:
    """A date in words: "4 July 2024"."""
    return "" if day is None else f"{day.day} {day:%B %Y}"


def definition_sentence(study: StudyFacts, s: dict[str, Any]) -> str:
    """What churn counts here and why it differs from the KPI report's churn rate."""
    if not _non_contractual(study):
        return ("**What churn means here:** the customers table's churned label; the model learns who resembles the "
                "customers marked as churned.")
    return (
        f"**What churn means here:** a customer who bought in the {study.feature_window_days} days up to a cutoff "
        f"churns when they make no purchase in the {study.inactivity_days} days after it; "
        f"{s['test_churn_rate']:.0%} did after {_day(study.test_cutoff)}. The Engagement KPIs report's churn rate "
        f"counts, month by month, the active customers (a purchase in the last {study.inactivity_days} days) who "
        "are no longer active at the month's end. A month is much shorter than this window and its customers are "
        "all active, so that rate is far lower; both are right for what they count."
    )


def list_intro(study: StudyFacts, s: dict[str, Any]) -> str:
    """What the list to act on holds, and who is left out."""
    gone = (f" The {int(s['gone']):,} customers quiet for more than {s['reachable_days']} days have already gone "
            "and are left out." if _known(s["gone"]) and s["gone"] else "")
    return (f"Customers who can still be won back ({_reach_words(study, s)}) and are at risk: "
            f"{esc(study.rule)} among them, highest value at risk (chance of leaving x yearly value) first.{gone}")


def reasons_note(best_model: str) -> str:
    """Where each customer's reasons come from."""
    return (f"Each customer's reasons come from the model that scored them (the {esc(MODEL_LABELS[best_model])} "
            "model): the inputs which, set to the average customer's value (in brackets), would lower that "
            "customer's chance of leaving the most. They point to what to check, not to proven causes.")


def list_caption(shown: int, total: int) -> str:
    """The caption of the list to act on."""
    return f"The first {shown:,} of {total:,} customers at risk who can still be won back"


def not_covered(has_cost_view: bool) -> dict[str, str | None]:
    """The sections this data does not allow, by their titles, with why (for :func:`engage_kit.nb.not_covered`):
    the cost and benefit view needs a cost per contact (``has_cost_view``: the study has one)."""
    return {SECTION_TITLES["cost"]: None if has_cost_view else NO_CONTACT_COST}


def not_applicable(why: str) -> str:
    """Why the report does not apply to these data, in plain words (the study's reason without
    the analyst's instructions and parameter names)."""
    import re

    m = re.match(r"the data cover ([\d,]+) day\(s\) \((\S+) to (\S+)\): churn prediction needs at least ([\d,]+) "
                 r"days of history before as_of, one label window of (\d+) days .*?at most ([\d,]+) days", why)
    if m:
        days, first, last, need, window, most = m.groups()
        return (f"the data cover {days} days ({_day(pd.Timestamp(first))} to {_day(pd.Timestamp(last))}), and "
                f"predicting who stops buying over {window} days needs {need} days: one period of {window} days to "
                f"learn from and a later one to test on. A churn window of at most {most} days would fit these data.")
    text = re.split(r"; (?:use|choose|set) ", why)[0]
    text = re.sub(r"\b([a-z]+)_([a-z_]+)\b", lambda g: g.group(0).replace("_", " "), text)
    return text.replace("table ", "the ", 1) + "."


def not_applicable_sentence(why: str) -> str:
    """The one sentence a report that cannot run shows."""
    return f"**This report does not apply to these data:** {esc(not_applicable(why))}"


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
    """How the model was tested, and how well it ranks leavers against the time since the last purchase alone."""
    if _non_contractual(study):
        when = (f"learnt from what happened after {_day(study.cutoff)} and was tested on what happened after "
                f"{_day(study.test_cutoff)}, a period it had not seen")
    else:
        when = "was tested on a random 30% of the labelled customers (a weaker test than a later period)"
    score = (f" It ranks leavers above stayers with a score of **{s['best_auc']:.2f}** "
             f"(between {s['best_auc_low']:.2f} and {s['best_auc_high']:.2f}; 0.5 is chance, 1 is perfect)")
    if _known(s["recency_auc"]):
        better = "better than" if s["best_auc"] > s["recency_auc"] else "no better than"
        score += (f", {better} sorting customers by the time since their last purchase "
                  f"({s['recency_auc']:.2f})")
    return f"The model {when}.{score}."


def baseline_sentence(study: StudyFacts, s: dict[str, Any]) -> str:
    """How the best model compares with the recency and BG/NBD baselines (ROC-AUC, for the appendix)."""
    best_label = MODEL_LABELS[s["best_model"]]
    out = f"The {best_label} model was the better of the fitted models (test ROC-AUC {s['best_auc']:.2f})."
    if _known(s["recency_auc"]):
        verdict = "beats" if s["best_auc"] > s["recency_auc"] else "does not beat"
        out += f" It {verdict} the recency baseline (ROC-AUC {s['recency_auc']:.2f})."
    if _known(s["bgnbd_auc"]):
        if s["best_auc_low"] > s["bgnbd_auc_high"]:
            standing = "clearly better (the 95% intervals do not overlap)"
        elif s["best_auc"] > s["bgnbd_auc"]:
            standing = "only narrowly ahead"
        else:
            standing = "not better"
        out += (f" The BG/NBD baseline, which reads only the purchase pattern, reaches {s['bgnbd_auc']:.2f}: the "
                f"{best_label} model is {standing}.")
    return out


def appendix_intro(study: StudyFacts, s: dict[str, Any]) -> str:
    """What the appendix holds, and how the reasons and the scores file differ."""
    best_label = MODEL_LABELS[s["best_model"]]
    out = ("The models compared, their test figures, the training and test periods, calibration and the "
           f"decision rule on the test set. The scores come from the {best_label} model, refitted on the latest "
           "complete period. The reasons on the page come from that model (each input set to the average customer's "
           "value); the three reasons per customer in the scores file come from a logistic regression fitted on "
           "the same customers, quicker to compute for every customer.")
    if study.contact_cost is None:
        out += (" No cost per retention contact was given, so the cost and benefit view is left out; give the "
                "report a cost per contact (in the currency of the data) to see it.")
    return out


GLOSSARY = pd.DataFrame({
    "term": ["ROC-AUC", "PR-AUC", "Brier score", "Top-decile lift", "Recency baseline", "BG/NBD baseline",
             "Calibration", "Permutation importance", "Wilson interval", "Value at risk"],
    "meaning": [
        "Chance that a random leaver gets a higher score than a random customer who stayed (0.5 chance, 1 perfect).",
        "Average share of leavers on the list over all list lengths.",
        "Mean squared gap between predicted probabilities and what happened (lower is better).",
        "How many times more leavers the top 10% holds than a random 10%.",
        "Ranking customers by the days since their last purchase, nothing else.",
        "A purchase-pattern model's chance of no purchase in the window (from the purchase history alone).",
        "Whether customers given 70% really leave 70% of the time.",
        "Drop in the test ROC-AUC when one input is shuffled: how much the model relies on it.",
        "The 95% interval of a share, from the number of customers counted.",
        "Chance of leaving x yearly value.",
    ],
})


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
    """The share of leavers the top 10% and 30% of the model's list reach (a
    :meth:`~engage_kit.churn.study.ChurnStudy.gains` table)."""
    return (f"Contacting the top 10% of the model's list in the test period would have reached "
            f"**{gains.loc[0, 'share_of_churners']:.0%} of all who left**; the top 30% reaches "
            f"{gains.loc[2, 'share_of_churners']:.0%}. With {s['test_churn_rate']:.0%} of customers leaving, a "
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


def drivers_sentence(importance: pd.DataFrame) -> str:
    """The inputs the model relies on the most, in plain words."""
    labels = [esc(x) for x in importance["label"].head(3)]
    if not labels:
        return ""
    rest = f", then {' and '.join(labels[1:])}" if len(labels) > 1 else ""
    return (f"The model relies most on **{labels[0]}**{rest}: customers who differ from the rest on these are the ones "
            "it flags. They tell leavers apart; they are not proven causes.")


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
    """The title of the gains chart: the share of leavers the top 20% on the model's list reaches."""
    title = f"Calling the top 20% on the model's list reaches {top20:.0%} of leavers"
    return (title if recency_top20 is None
            else f"{title}\n(longest without a purchase first: {recency_top20:.0%}; random calls: 20%)")


def calibration_title(gap: float) -> str:
    """The title of the calibration chart: the largest gap between predicted and observed churn."""
    return f"Predicted and observed churn differ by at most {gap * 100:.0f} points per decile"


def importance_title(label: str) -> str:
    """The title of the importance chart: the input that tells churners apart the most."""
    return f"{label[:1].upper() + label[1:]} tells leavers apart the most"


def cost_benefit_title(contacted: int, net: float, currency: str) -> str:
    """The title of the cost and benefit chart."""
    return f"Contacting the top {contacted:,} would have netted {net:,.0f} {currency}"


def whole_number_columns(table: pd.DataFrame) -> list[str]:
    """The columns of the at-risk table shown as whole numbers: days and yearly or at-risk value."""
    return [c for c in table.columns if str(c).startswith(("days", "yearly", "value"))]
