"""Channel comparison: which channels, campaigns or customer groups truly perform better.

Raw rates invite wrong decisions: small groups look great by chance and many pairwise
comparisons produce false winners. This module counts units and outcomes per group in
the engine (Ibis), then tests the differences on those counts:

- a funnel per group (exposed, opened, clicked, converted, revenue) with Wilson intervals,
  and revenue per exposed unit with a bootstrap interval over units;
- an omnibus chi-square test of homogeneity across groups;
- two-proportion tests for every pair, corrected as one family (Holm or Benjamini-Hochberg);
- effect sizes: the difference of rates with Newcombe's hybrid score interval (built on
  Wilson intervals) and the relative lift with a log (Katz) interval;
- a Bayesian view: Beta(1, 1) prior, beta-binomial posterior, probability each group is best;
- the minimum detectable effect at the data's group sizes (80% power);
- with a control group that received nothing: the incremental lift of each group;
- value by acquisition channel (retention, historic revenue per customer, cost per
  acquisition and return on spend when costs are given) and trends by period.

Units (``unit="customer"``): comparing by a touches column (``channel``, ``campaign_id``),
the units of a group are the customers exposed through it (an exposure event, e.g. sent,
delivered, view); comparing by a customer attribute (``acquisition_channel``,
``test_group``), the units are every customer with that value, touched or not. A unit
converts when it has at least one ``outcome`` event (through the group's channel or
campaign when comparing by a touches column). ``unit="customer_campaign"`` does the same
per (customer, campaign) pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, ParameterError, did_you_mean
from .stats import Estimate, error_bars, wilson_interval
from .text import chart_label, esc

EXPOSURE_EVENTS: tuple[str, ...] = ("sent", "delivered", "impression", "view", "visit", "registration")
"""Events that expose a unit to a channel (the denominator of its rates)."""
OPEN_EVENTS: tuple[str, ...] = ("open",)
CLICK_EVENTS: tuple[str, ...] = ("click",)
CONVERSION_EVENTS: tuple[str, ...] = ("conversion",)
UNITS = ("customer", "customer_campaign")
CORRECTIONS = {"holm": "holm", "fdr_bh": "fdr_bh"}
CORRECTION_NAMES = {
    "holm": "Holm's step-down method (controls the family-wise error rate)",
    "fdr_bh": "Benjamini-Hochberg (controls the false discovery rate)",
}
PERIODS = ("W", "M", "Q")
_RESERVED = ("timestamp", "event", "customer_id", "value")

__all__ = [
    "ChannelComparison",
    "acquisition_value",
    "bayes_best",
    "bootstrap_revenue_per_unit",
    "check_costs",
    "compare_channels",
    "control_lift",
    "difference_interval",
    "find_control_groups",
    "group_counts",
    "group_trends",
    "minimum_detectable_effect",
    "omnibus_test",
    "pairwise_tests",
    "parse_costs",
    "chart_label",
    "plot_acquisition",
    "plot_funnel",
    "plot_lift",
    "plot_pairwise",
    "plot_rates",
    "plot_trends",
    "ratio_interval",
    "summarise",
    # picks, titles and sentences of the report (safe on zero and one groups)
    "acquisition_or_reason",
    "acquisition_sentence",
    "acquisition_title",
    "bayes_sentence",
    "best_and_worst",
    "compare_other_unit",
    "cost_sentence",
    "funnel_sentence",
    "funnel_title",
    "lift_sentence",
    "lift_skip_reason",
    "lift_title",
    "pairwise_sentence",
    "pairwise_skip_reason",
    "pairwise_title",
    "pick",
    "rates_sentence",
    "rates_title",
    "summary_cards",
    "trend_top_group",
    "trends_sentence",
    "trends_title",
    "unit_views",
    "unit_views_sentence",
]


# --- input checks --------------------------------------------------------------------


def _as_table(data: Any, name: str) -> ibis.Table:
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    if isinstance(data, ibis.Table):
        return data
    raise ParameterError(f"{name} must be an Ibis table or a pandas DataFrame, got {type(data).__name__}")


def _need(t: ibis.Table, name: str, cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in t.columns]
    if missing:
        raise DataError(
            f"table {name}: column(s) {', '.join(missing)} missing; its columns are: {', '.join(t.columns)}"
        )


def _check_options(*, unit: str, alpha: float, correction: str) -> None:
    if unit not in UNITS:
        raise ParameterError(f"unit must be one of {', '.join(UNITS)}; got '{unit}'{did_you_mean(str(unit), UNITS)}")
    if not (isinstance(alpha, (int, float)) and 0 < float(alpha) < 1):
        raise ParameterError(f"alpha must be a number between 0 and 1 (e.g. 0.05); got {alpha!r}")
    if correction not in CORRECTIONS:
        raise ParameterError(
            f"correction must be 'holm' or 'fdr_bh'; got '{correction}'{did_you_mean(str(correction), CORRECTIONS)}"
        )


def _campaign_list(campaign: str | Sequence[str] | None) -> list[str] | None:
    if campaign is None:
        return None
    if isinstance(campaign, str):
        return [campaign]
    return [str(c) for c in campaign]


# --- counting in the engine ----------------------------------------------------------


@dataclass
class GroupCounts:
    """What :func:`group_counts` returns: small per-group tables pulled from the engine.

    Attributes
    ----------
    counts : DataFrame
        One row per group: group, units, exposed, opened, clicked, converted, conversions
        (units with at least one outcome event), revenue.
    revenue_values : DataFrame
        group, revenue, units: how many units of the group had each non-zero revenue
        (cents), for the bootstrap over units.
    mode : str
        ``"touches"`` (group is a touches column) or ``"attribute"`` (customer attribute).
    notes : list of str
        What was left out and why (rows without a group, outcome-only channels...).
    """

    counts: pd.DataFrame
    revenue_values: pd.DataFrame
    mode: str
    compare_by: str
    outcome: str
    unit: str
    notes: list[str] = field(default_factory=list)
    outcome_only: pd.DataFrame = field(default_factory=pd.DataFrame)


def _resolve_mode(t: ibis.Table, customers: ibis.Table | None, compare_by: str) -> str:
    if compare_by in t.columns and compare_by not in _RESERVED:
        return "touches"
    if customers is not None and compare_by in customers.columns and compare_by != "customer_id":
        return "attribute"
    choices = [c for c in t.columns if c not in _RESERVED]
    if customers is not None:
        choices += [c for c in customers.columns if c not in ("customer_id", "signup_at")]
    raise ParameterError(
        f"compare_by='{compare_by}' is neither a touches column nor a customer attribute"
        f"{did_you_mean(compare_by, choices)}; choose one of: {', '.join(dict.fromkeys(choices))}"
    )


def _check_outcome(t: ibis.Table, outcome: str) -> str:
    events = sorted(str(e) for e in t.select(e=t.event.lower().strip()).distinct().e.execute().dropna())
    key = str(outcome).strip().lower()
    if key not in events:
        raise ParameterError(
            f"outcome='{outcome}': the touches table has no '{key}' events{did_you_mean(key, events)}; "
            f"its events are: {', '.join(events)}"
        )
    return key


def _prepare_touches(
    touches: Any, *, outcome: str, unit: str, campaign: str | Sequence[str] | None
) -> tuple[ibis.Table, str]:
    t = _as_table(touches, "touches")
    _need(t, "touches", ["timestamp", "channel", "event", "customer_id"])
    if unit == "customer_campaign" or campaign is not None:
        _need(t, "touches", ["campaign_id"])
    if "value" not in t.columns:
        t = t.mutate(value=ibis.null("float64"))
    camps = _campaign_list(campaign)
    if camps is not None:
        t = t.filter(t.campaign_id.isin(camps))
        if int(t.count().execute()) == 0:
            raise ParameterError(
                f"campaign={camps!r}: the touches table has no rows for this campaign; check campaign_id values"
            )
    key = _check_outcome(t, outcome)
    t = t.filter(t.customer_id.notnull()).mutate(_event=t.event.lower().strip())
    return t, key


def _tracked_only(t: ibis.Table, outcome: str, notes: list[str] | None = None) -> ibis.Table:
    """Keep the channels that record the outcome at all (elsewhere it is not tracked)."""
    have = t.select("channel", o=(t._event == outcome)).group_by("channel").aggregate(o=ibis._.o.any()).execute()
    untracked = sorted(str(c) for c in have.loc[~have["o"].astype(bool), "channel"].dropna())
    if not untracked:
        return t
    if notes is not None:
        notes.append(
            f"no {outcome} events are recorded for {', '.join(untracked)}: the outcome is not tracked there, "
            "so they are left out"
        )
    return t.filter(t.channel.isin([str(c) for c in have.loc[have["o"].astype(bool), "channel"]]))


def _unit_flags(t: ibis.Table, keys: list[str], outcome: str, exposure: Sequence[str]) -> ibis.Table:
    """One row per unit key: exposure, funnel and outcome flags, revenue, first exposure."""
    ev = t._event
    value_events = list(dict.fromkeys([outcome, *CONVERSION_EVENTS]))
    return t.group_by(keys).aggregate(
        exposed=ev.isin(list(exposure)).any(),
        opened=ev.isin(list(OPEN_EVENTS)).any(),
        clicked=ev.isin(list(CLICK_EVENTS)).any(),
        converted=ev.isin(list(CONVERSION_EVENTS)).any(),
        outcome=(ev == outcome).any(),
        revenue=t.value.sum(where=ev.isin(value_events)),
        first_exposure=t.timestamp.min(where=ev.isin(list(exposure))),
    )


@dataclass
class _Prepared:
    """Touches (and customers) reduced to what a comparison reads, materialised once."""

    t: ibis.Table  # timestamp, channel, _event, customer_id, campaign_id, value (+ group in touches mode)
    customers: ibis.Table | None  # customer_id, group, signup_at: the units' population (attribute mode)
    has_signup: bool
    mode: str
    key: str
    unit: str
    campaign: list[str] | None
    notes: list[str]


def _prepare(
    touches: Any, customers: Any, *, compare_by: str, outcome: str, unit: str, campaign: str | Sequence[str] | None
) -> _Prepared:
    t, key = _prepare_touches(touches, outcome=outcome, unit=unit, campaign=campaign)
    c = _as_table(customers, "customers") if customers is not None else None
    mode = _resolve_mode(t, c, compare_by)
    notes: list[str] = []
    if unit == "customer_campaign":
        nulls = int(t.filter(t.campaign_id.isnull()).count().execute())
        if nulls:
            notes.append(f"{nulls:,} touches without a campaign_id are left out of the per-campaign units")
        t = t.filter(t.campaign_id.notnull())
    cols = ["timestamp", "channel", "_event", "customer_id", "value"]
    cols += ["campaign_id"] if "campaign_id" in t.columns else []
    cust = None
    has_signup = False
    if mode == "touches":
        nulls = int(t.filter(t[compare_by].isnull()).count().execute())
        if nulls:
            notes.append(f"{nulls:,} touches without a {compare_by} are left out")
        t = _tracked_only(t.filter(t[compare_by].notnull()), key, notes)
        t = t.select(*cols, group=t[compare_by]).cache()
    else:
        t = t.select(*cols).cache()
        _need(c, "customers", ["customer_id", compare_by])
        has_signup = "signup_at" in c.columns
        cust = c.select(customer_id=c.customer_id.cast("string"), group=c[compare_by],
                        signup_at=c.signup_at if has_signup else ibis.null("timestamp"))
        nulls = int(cust.filter(cust.group.isnull()).count().execute())
        if nulls:
            notes.append(f"{nulls:,} customers without a {compare_by} are left out")
        cust = cust.filter(cust.group.notnull())
        if unit == "customer" and campaign is not None and has_signup:
            # eligible for at least one chosen campaign: signed up before the last one started
            starts = t.group_by("campaign_id").aggregate(s=t.timestamp.min()).s.execute()
            cutoff = pd.Timestamp(starts.max()).to_pydatetime()
            late = int(cust.filter(cust.signup_at >= cutoff).count().execute())
            cust = cust.filter(cust.signup_at.isnull() | (cust.signup_at < cutoff))
            if late:
                notes.append(
                    f"{late:,} customers who signed up after the campaign started ({cutoff:%Y-%m-%d}) are not units"
                )
    return _Prepared(t=t, customers=cust, has_signup=has_signup, mode=mode, key=key, unit=unit,
                     campaign=_campaign_list(campaign), notes=notes)


def _units_table(prep: _Prepared, exposure_events: Sequence[str]) -> tuple[ibis.Table, ibis.Table | None]:
    """The units of every group (one row per unit) as an Ibis expression, and outcome-only groups.

    Columns: group, exposed, opened, clicked, converted, outcome, revenue, start (the
    unit's first exposure, or its campaign's start), signup_at (attribute mode).
    """
    t, key = prep.t, prep.key
    exposure = [e.lower() for e in exposure_events]
    unit_keys = ["customer_id"] + (["campaign_id"] if prep.unit == "customer_campaign" else [])
    bools = ["exposed", "opened", "clicked", "converted", "outcome"]
    if prep.mode == "touches":
        flags = _unit_flags(t, ["group", *unit_keys], key, exposure)
        units = flags.filter(flags.exposed).select(
            "group", *bools, revenue=flags.revenue.fill_null(0.0), start=flags.first_exposure,
            signup_at=ibis.null("timestamp"),
        )
        outcome_only = flags.filter(~flags.exposed & flags.outcome).group_by("group").aggregate(units=ibis._.count())
        return units, outcome_only

    # attribute mode: every customer with the value, touched or not
    cust = prep.customers
    flags = _unit_flags(t, unit_keys, key, exposure).rename(_cid="customer_id")
    if prep.unit == "customer":
        j = cust.left_join(flags, cust.customer_id == flags._cid)
        start = ibis.null("timestamp")
    else:
        camps = t.group_by("campaign_id").aggregate(cstart=t.timestamp.min()).rename(_camp="campaign_id")
        pairs = cust.cross_join(camps)
        if prep.has_signup:
            pairs = pairs.filter(pairs.signup_at.isnull() | (pairs.signup_at < pairs.cstart))
        j = pairs.left_join(flags, (pairs.customer_id == flags._cid) & (pairs._camp == flags.campaign_id))
        start = j.cstart
    units = j.select(
        "group",
        *[j[b].fill_null(False).name(b) for b in bools],
        revenue=j.revenue.fill_null(0.0),
        start=start,
        signup_at=j.signup_at,
    )
    return units, None


def _counts_from(prep: _Prepared, units: ibis.Table, outcome_only: ibis.Table | None, *, compare_by: str,
                 exposure_events: Sequence[str]) -> GroupCounts:
    as_int = {b: units[b].cast("int64").sum() for b in ["exposed", "opened", "clicked", "converted"]}
    agg = units.group_by("group").aggregate(
        units=units.count(),
        **as_int,
        conversions=units.outcome.cast("int64").sum(),
        revenue=units.revenue.sum(),
    )
    counts = agg.execute()
    for col in ["units", "exposed", "opened", "clicked", "converted", "conversions"]:
        counts[col] = counts[col].fillna(0).astype("int64")
    counts["revenue"] = counts["revenue"].astype(float).fillna(0.0)
    counts = counts.sort_values("group", kind="stable").reset_index(drop=True)
    nz = units.filter(units.revenue != 0)
    rv = nz.group_by(["group", nz.revenue.round(2).name("revenue")]).aggregate(units=nz.count()).execute()
    # engines return groups in any order; the seeded bootstrap must see the same one
    rv = rv.sort_values(["group", "revenue"], kind="stable").reset_index(drop=True)
    notes = list(prep.notes)
    oo = outcome_only.execute() if outcome_only is not None else pd.DataFrame(columns=["group", "units"])
    oo = oo[~oo["group"].isin(counts["group"])] if len(oo) else oo
    if len(oo):
        names = ", ".join(f"{g} ({int(u):,} units)" for g, u in zip(oo["group"], oo["units"], strict=True))
        notes.append(
            f"{prep.key} events recorded under {names} without any exposure there: a group seen only at the "
            "outcome (last touch) has no denominator and is left out"
        )
    if counts.empty:
        raise DataError(
            f"table touches: no units to compare by {compare_by}: no customer has an exposure event "
            f"({', '.join(exposure_events)}) with a {compare_by}; check the event names"
        )
    return GroupCounts(counts=counts, revenue_values=rv, mode=prep.mode, compare_by=compare_by, outcome=prep.key,
                       unit=prep.unit, notes=notes, outcome_only=oo)


def group_counts(
    touches: Any,
    customers: Any = None,
    *,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    campaign: str | Sequence[str] | None = None,
    exposure_events: Sequence[str] = EXPOSURE_EVENTS,
) -> GroupCounts:
    """Count units, funnel stages, outcomes and revenue per group, in the engine.

    Parameters
    ----------
    touches : Ibis table or DataFrame
        Canonical touches (timestamp, channel, event, customer_id, campaign_id, value).
    customers : Ibis table or DataFrame, optional
        Canonical customers; needed when ``compare_by`` is a customer attribute.
    compare_by : str
        A touches column (``channel``, ``campaign_id``) or a customer attribute
        (``acquisition_channel``, ``test_group``...). A name in both is read from touches.
    outcome : str
        The event that counts as success (``conversion``, ``click``, ``open`` or any event
        name; case-insensitive).
    unit : {"customer", "customer_campaign"}
        The unit counted: a customer, or a (customer, campaign) pair.
    campaign : str or list of str, optional
        Only touches of these campaigns. Comparing by a customer attribute, customers who
        signed up after the (last) chosen campaign started are not units.
    exposure_events : sequence of str
        Events that expose a unit (default: sent, delivered, impression, view, visit,
        registration).

    Returns
    -------
    GroupCounts
        Per-group counts; only per-group rows leave the engine.

    Notes
    -----
    Comparing by a touches column, channels that never record the outcome event are left
    out (the outcome is not tracked there), and so are groups seen only at the outcome,
    with no exposure. Revenue is the sum of the touches' ``value`` on the unit's outcome
    and conversion events (the value the sending system attributes to them), not
    transactions.
    """
    _check_options(unit=unit, alpha=0.05, correction="holm")
    prep = _prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    units, outcome_only = _units_table(prep, exposure_events)
    return _counts_from(prep, units, outcome_only, compare_by=compare_by, exposure_events=exposure_events)


# --- tests on counts -----------------------------------------------------------------


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def difference_interval(
    k1: Any, n1: Any, k2: Any, n2: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two proportions p1 − p2 with Newcombe's hybrid score interval.

    low = d − sqrt((p1 − l1)² + (u2 − p2)²), high = d + sqrt((u1 − p1)² + (p2 − l2)²),
    where (l, u) are the Wilson intervals of each proportion (Newcombe 1998, method 10;
    statsmodels ``confint_proportions_2indep(method="newcomb")``). Vectorised.
    """
    k1, n1, k2, n2 = map(_arr, (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        l1, u1 = wilson_interval(k1, n1, confidence=confidence)
        l2, u2 = wilson_interval(k2, n2, confidence=confidence)
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def ratio_interval(
    k1: Any, n1: Any, k2: Any, n2: Any, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two proportions p1 / p2 with the adjusted log (Katz) interval.

    With 0.5 added to each count and each size (which keeps zero counts finite):
    exp(log(p1'/p2') ± z·sqrt(1/k1' − 1/n1' + 1/k2' − 1/n2')) (Katz et al. 1978; statsmodels
    ``confint_proportions_2indep(compare="ratio", method="log-adjusted")``). The point
    estimate is the plain ratio (NaN when p2 = 0). Vectorised.
    """
    k1, n1, k2, n2 = map(_arr, (k1, n1, k2, n2))
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(k2 > 0, (k1 / n1) / (k2 / n2), np.nan)
        a1, m1, a2, m2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5
        centre = np.log((a1 / m1) / (a2 / m2))
        half = z * np.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    return ratio, np.exp(centre - half), np.exp(centre + half)


def minimum_detectable_effect(
    baseline: Any, n1: Any, n2: Any, *, alpha: float = 0.05, power: float = 0.8
) -> np.ndarray:
    """Smallest rise over ``baseline`` a two-sided test at ``alpha`` detects with ``power``.

    On Cohen's arcsine scale h = 2·asin√p2 − 2·asin√p1, a two-sample test has the given
    power when h = (z₁₋α/₂ + z_power)·sqrt(1/n1 + 1/n2) (Cohen 1988, ch. 6; statsmodels
    ``NormalIndPower``). Returns p2 − p1 with p2 = sin(asin√p1 + h/2)², capped at 1.
    Vectorised.
    """
    p, n1, n2 = map(_arr, (baseline, n1, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        h = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * np.sqrt(1 / n1 + 1 / n2)
        angle = np.minimum(np.arcsin(np.sqrt(np.clip(p, 0, 1))) + h / 2, np.pi / 2)
        return np.sin(angle) ** 2 - p


def omnibus_test(successes: Any, n: Any) -> dict[str, float]:
    """Chi-square test of homogeneity of k proportions (k×2 table, no continuity correction).

    X² = Σ (O − E)² / E over the successes and failures of every group, k − 1 degrees of
    freedom (Pearson; scipy ``chi2_contingency(correction=False)``); Cramér's V = sqrt(X²/N).
    """
    k, m = _arr(successes), _arr(n)
    keep = m > 0
    k, m = k[keep], m[keep]
    table = np.column_stack([k, m - k])
    if len(k) < 2 or table.sum(axis=0).min() == 0:
        return {"statistic": 0.0, "dof": max(len(k) - 1, 0), "p_value": 1.0, "cramers_v": 0.0,
                "method": "chi-square test of homogeneity"}
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return {"statistic": float(chi2), "dof": int(dof), "p_value": float(p),
            "cramers_v": float(math.sqrt(chi2 / table.sum())), "method": "chi-square test of homogeneity"}


def _two_proportion_p(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, min_expected: float):
    """Pooled two-proportion z-test; Fisher's exact test where an expected count is small."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - k2 / n2) / se
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
        expected = np.minimum.reduce([pooled * n1, (1 - pooled) * n1, pooled * n2, (1 - pooled) * n2])
    small = (expected < min_expected) & (se > 0)
    method = np.where(small, "fisher exact", "z-test (pooled)")
    for i in np.flatnonzero(small):
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        p[i] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    return z, p, method


def pairwise_tests(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    min_expected: float = 5.0,
    power: float = 0.8,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Two-proportion tests for every pair of groups, corrected as one family.

    Each pair (a, b) is tested with the pooled two-proportion z-test (equivalent to the
    2×2 chi-square test without continuity correction), or with Fisher's exact test when an
    expected cell count is below ``min_expected``. All p-values form one family corrected
    with statsmodels ``multipletests(method=correction)``: ``"holm"`` (Holm 1979, family-wise
    error) or ``"fdr_bh"`` (Benjamini and Hochberg 1995, false discovery rate).

    Returns
    -------
    DataFrame
        a, b, units_a, units_b, rate_a, rate_b, difference (rate_a − rate_b) with
        Newcombe's interval (diff_low, diff_high), relative_lift (rate_a / rate_b − 1) with
        the log interval, z, p_value, p_adjusted, significant, test, mde (the rise over the
        pair's pooled rate detectable with ``power`` at alpha / number of pairs, the
        strictest level the correction applies) and mde_uncorrected (at ``alpha``).
    """
    from statsmodels.stats.multitest import multipletests

    _check_options(unit="customer", alpha=alpha, correction=correction)
    k, m = _arr(successes), _arr(n)
    if k.shape != m.shape or k.ndim != 1:
        raise ParameterError("successes and n must be one-dimensional and of the same length")
    if np.any(k < 0) or np.any(k > m):
        raise ParameterError("every count of successes must be between 0 and its group's size")
    labels = list(names) if names is not None else list(range(len(k)))
    ia, ib = np.triu_indices(len(k), 1)
    cols = ["a", "b", "units_a", "units_b", "rate_a", "rate_b", "difference", "diff_low", "diff_high",
            "relative_lift", "lift_low", "lift_high", "z", "p_value", "p_adjusted", "significant", "test",
            "mde", "mde_uncorrected"]
    if ia.size == 0:
        return pd.DataFrame(columns=cols)
    k1, n1, k2, n2 = k[ia], m[ia], k[ib], m[ib]
    z, p, method = _two_proportion_p(k1, n1, k2, n2, min_expected)
    reject, p_adj, _, _ = multipletests(p, alpha=alpha, method=CORRECTIONS[correction])
    d, dlo, dhi = difference_interval(k1, n1, k2, n2, confidence=confidence)
    r, rlo, rhi = ratio_interval(k1, n1, k2, n2, confidence=confidence)
    pooled = (k1 + k2) / (n1 + n2)
    return pd.DataFrame(
        {
            "a": [labels[i] for i in ia],
            "b": [labels[i] for i in ib],
            "units_a": n1.astype("int64"),
            "units_b": n2.astype("int64"),
            "rate_a": k1 / n1,
            "rate_b": k2 / n2,
            "difference": d,
            "diff_low": dlo,
            "diff_high": dhi,
            "relative_lift": r - 1,
            "lift_low": rlo - 1,
            "lift_high": rhi - 1,
            "z": z,
            "p_value": p,
            "p_adjusted": p_adj,
            "significant": reject.astype(bool),
            "test": method,
            "mde": minimum_detectable_effect(pooled, n1, n2, alpha=alpha / ia.size, power=power),
            "mde_uncorrected": minimum_detectable_effect(pooled, n1, n2, alpha=alpha, power=power),
        },
        columns=cols,
    )


def bayes_best(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any] | None = None,
    control: Any = None,
    draws: int = 20_000,
    prior: tuple[float, float] = (1.0, 1.0),
    confidence: float = 0.95,
    random_state: int = 0,
) -> pd.DataFrame:
    """Beta-binomial posterior of each group's rate and the probability each is best.

    With a Beta(α, β) prior (default uniform), the posterior of a rate after k successes in
    n units is Beta(α + k, β + n − k) (conjugacy; Gelman et al., BDA3 ch. 2). P(best) is the
    share of Monte Carlo draws (``draws``, seeded) in which a group has the highest rate;
    with a ``control``, P(beats control) is the share in which it beats the control.

    Returns
    -------
    DataFrame
        group, posterior_mean, cred_low, cred_high (equal-tailed credible interval),
        p_best and, with a control, p_beats_control.
    """
    k, m = _arr(successes), _arr(n)
    labels = list(names) if names is not None else list(range(len(k)))
    a, b = prior[0] + k, prior[1] + m - k
    rng = np.random.default_rng(random_state)
    sample = rng.beta(a[None, :], b[None, :], size=(draws, len(k)))
    best = np.bincount(sample.argmax(axis=1), minlength=len(k)) / draws
    q = (1 - confidence) / 2
    out = pd.DataFrame(
        {
            "group": labels,
            "posterior_mean": a / (a + b),
            "cred_low": stats.beta.ppf(q, a, b),
            "cred_high": stats.beta.ppf(1 - q, a, b),
            "p_best": best,
        }
    )
    if control is not None and control in labels:
        ci = labels.index(control)
        out["p_beats_control"] = (sample > sample[:, [ci]]).mean(axis=0)
        out.loc[ci, "p_beats_control"] = np.nan
    return out


def bootstrap_revenue_per_unit(
    values: Any,
    counts: Any,
    n_units: int,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int = 0,
    max_draws: int = 20_000_000,
) -> Estimate:
    """Revenue per unit with a percentile bootstrap over units, from non-zero values only.

    Most units spend nothing, so a group is summarised by its ``n_units`` and the
    non-zero revenues (``values``, each held by ``counts`` units). Resampling n units with
    replacement draws K ~ Binomial(n, m/n) spending units (m = Σ counts) and K values from
    the spenders: exactly the ordinary bootstrap over units (Efron and Tibshirani 1993),
    without materialising the zeros. Beyond ``max_draws`` draws, the normal (CLT) interval
    x̄ ± z·s/√n is used.
    """
    v = _arr(values)
    c = _arr(counts)
    n = int(n_units)
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "bootstrap")
    m = int(c.sum())
    total = float((v * c).sum())
    mean = total / n
    if m == 0:
        return Estimate(0.0, 0.0, 0.0, n, "bootstrap")
    q = (1 - confidence) / 2
    if n_boot * m > max_draws:
        var = ((v**2 * c).sum() / n - mean**2) * n / max(n - 1, 1)
        half = stats.norm.ppf(1 - q) * math.sqrt(max(var, 0) / n)
        return Estimate(mean, mean - half, mean + half, n, "normal")
    rng = np.random.default_rng(random_state)
    k = rng.binomial(n, m / n, size=n_boot)
    draws = rng.choice(v, size=int(k.sum()), p=c / m)
    ends = np.cumsum(k)
    sums = np.concatenate([[0.0], np.cumsum(draws)])
    reps = (sums[ends] - sums[ends - k]) / n
    lo, hi = np.quantile(reps, [q, 1 - q])
    return Estimate(mean, float(lo), float(hi), n, "bootstrap")


def control_lift(
    successes: Any,
    n: Any,
    *,
    names: Sequence[Any],
    control: Any,
    pairwise: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Incremental lift of each group over a control group that received nothing.

    absolute = p_g − p_control (Newcombe interval), relative = p_g / p_control − 1 (log
    interval), incremental = absolute · n_g (the outcomes the treatment added). Only this
    comparison is causal, and only when units were assigned to groups at random. When
    ``pairwise`` (from :func:`pairwise_tests`) is given, its family-corrected p-values are
    attached.
    """
    labels = list(names)
    if control not in labels:
        raise ParameterError(f"control='{control}' is not a group{did_you_mean(str(control), map(str, labels))}; "
                             f"the groups are: {', '.join(map(str, labels))}")
    k, m = _arr(successes), _arr(n)
    ci = labels.index(control)
    rows = []
    for i, g in enumerate(labels):
        if i == ci:
            continue
        d, lo, hi = difference_interval(k[i], m[i], k[ci], m[ci], confidence=confidence)
        r, rlo, rhi = ratio_interval(k[i], m[i], k[ci], m[ci], confidence=confidence)
        row = {"group": g, "units": int(m[i]), "rate": k[i] / m[i] if m[i] else np.nan,
               "control_rate": k[ci] / m[ci] if m[ci] else np.nan,
               "lift": float(d), "lift_low": float(lo), "lift_high": float(hi),
               "relative_lift": float(r) - 1, "relative_low": float(rlo) - 1, "relative_high": float(rhi) - 1,
               "incremental": float(d) * m[i], "incremental_low": float(lo) * m[i], "incremental_high": float(hi) * m[i]}
        if pairwise is not None and len(pairwise):
            hit = pairwise[((pairwise.a == g) & (pairwise.b == control)) | ((pairwise.a == control) & (pairwise.b == g))]
            if len(hit):
                row["p_adjusted"] = float(hit.p_adjusted.iloc[0])
                row["significant"] = bool(hit.significant.iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


# --- trends --------------------------------------------------------------------------


def group_trends(
    touches: Any,
    customers: Any = None,
    *,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    period: str = "M",
    campaign: str | Sequence[str] | None = None,
    exposure_events: Sequence[str] = EXPOSURE_EVENTS,
) -> pd.DataFrame:
    """Each group's outcome rate by period, with Wilson intervals.

    Comparing by a touches column with ``unit="customer"``: the units of a period are the
    customers exposed through the group in it, converting when they have an outcome event
    there in the same period. Comparing by a customer attribute with ``unit="customer"``:
    the units are the group's customers signed up by the period's end, converting when they
    have an outcome event in the period. With ``unit="customer_campaign"``: each pair in the
    period of its first exposure (or its campaign's start).

    Returns
    -------
    DataFrame
        group, period (start date), units, conversions, rate, rate_low, rate_high.
    """
    if period not in PERIODS:
        raise ParameterError(f"period must be one of W, M, Q; got '{period}'")
    _check_options(unit=unit, alpha=0.05, correction="holm")
    prep = _prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    return _trends_from(prep, None, period=period, exposure_events=exposure_events)


def _trends_from(prep: _Prepared, units: ibis.Table | None, *, period: str, exposure_events: Sequence[str]) -> pd.DataFrame:
    if units is None:
        units, _ = _units_table(prep, exposure_events)
    t, key = prep.t, prep.key
    if prep.unit == "customer_campaign":
        u = units.mutate(period=units.start.truncate(period))
        df = u.group_by(["group", "period"]).aggregate(units=u.count(), conversions=u.outcome.cast("int64").sum()).execute()
    elif prep.mode == "touches":
        exposure = [e.lower() for e in exposure_events]
        t = t.mutate(period=t.timestamp.truncate(period))
        f = t.group_by(["group", "customer_id", "period"]).aggregate(
            exposed=t._event.isin(exposure).any(), outcome=(t._event == key).any()
        )
        f = f.filter(f.exposed)
        df = f.group_by(["group", "period"]).aggregate(units=f.count(), conversions=f.outcome.cast("int64").sum()).execute()
    else:
        cust = prep.customers
        o = t.filter(t._event == key)
        o = o.mutate(period=o.timestamp.truncate(period))
        o = o.join(cust, o.customer_id == cust.customer_id)
        conv = o.group_by(["group", "period"]).aggregate(conversions=o.customer_id.nunique()).execute()
        signup = cust.mutate(period=cust.signup_at.truncate(period))
        members = signup.group_by(["group", "period"]).aggregate(units=signup.count()).execute()
        periods = sorted(pd.to_datetime(conv["period"]).unique()) if len(conv) else []
        members["period"] = pd.to_datetime(members["period"])
        rows = []
        for g, sub in members.groupby("group", dropna=False, sort=False):
            always = int(sub.loc[sub["period"].isna(), "units"].sum())
            dated = sub.dropna(subset=["period"])
            for p in periods:
                rows.append({"group": g, "period": p, "units": always + int(dated.loc[dated["period"] <= p, "units"].sum())})
        df = pd.DataFrame(rows, columns=["group", "period", "units"])
        conv["period"] = pd.to_datetime(conv["period"])
        df = df.merge(conv, on=["group", "period"], how="left")
    df = df.dropna(subset=["period"]).copy()
    df["units"] = df["units"].astype("int64")
    df["conversions"] = df["conversions"].fillna(0).astype("int64")
    df["period"] = pd.to_datetime(df["period"])
    df = df[df["units"] > 0].sort_values(["group", "period"]).reset_index(drop=True)
    lo, hi = wilson_interval(df["conversions"].to_numpy(), df["units"].to_numpy())
    df["rate"] = df["conversions"] / df["units"]
    df["rate_low"], df["rate_high"] = lo, hi
    return df


# --- value by acquisition channel ----------------------------------------------------


def acquisition_value(
    transactions: Any,
    customers: Any,
    *,
    as_of: Any,
    by: str = "acquisition_channel",
    active_days: int = 90,
    costs: Mapping[Any, float] | None = None,
) -> pd.DataFrame:
    """Retention and historic value of customers by acquisition channel.

    Per customer (in the engine): net revenue to date (purchases minus returns), purchase
    days, last purchase. Per channel: customers, buyers, repeat rate (buyers with two or
    more purchase days / buyers, Wilson), active rate (customers with a purchase in the
    ``active_days`` up to ``as_of`` / customers, Wilson), net revenue per customer with a t
    interval (historic CLV to date), net revenue per customer-year of tenure (tenure from
    signup, or first purchase, to ``as_of``). With ``costs`` (spend per channel): cost per
    acquisition = spend / customers and return on spend = net revenue / spend.
    """
    tx = _as_table(transactions, "transactions")
    c = _as_table(customers, "customers")
    _need(tx, "transactions", ["customer_id", "timestamp", "amount"])
    _need(c, "customers", ["customer_id", by])
    costs = parse_costs(costs)
    as_of_ts = pd.Timestamp(as_of).normalize()
    end = (as_of_ts + pd.Timedelta(days=1)).to_pydatetime()
    active_from = (as_of_ts + pd.Timedelta(days=1) - pd.Timedelta(days=int(active_days))).to_pydatetime()
    tx = tx.filter(tx.timestamp < end)
    buy = tx.amount >= 0
    per = tx.group_by(tx.customer_id.cast("string").name("_cid")).aggregate(
        net=tx.amount.sum(),
        days=tx.timestamp.date().nunique(where=buy),
        last=tx.timestamp.max(where=buy),
        first=tx.timestamp.min(where=buy),
    )
    cust = c.select(customer_id=c.customer_id.cast("string"), group=c[by],
                    signup_at=c.signup_at if "signup_at" in c.columns else ibis.null("timestamp"))
    cust = cust.filter(cust.group.notnull())
    j = cust.left_join(per, cust.customer_id == per._cid)
    since = ibis.coalesce(j.signup_at, j.first)
    j = j.mutate(
        net=j.net.fill_null(0.0),
        buyer=j.days.fill_null(0) > 0,
        repeat=j.days.fill_null(0) >= 2,
        active=j.last.notnull() & (j.last >= active_from),
        tenure_years=(ibis.literal(pd.Timestamp(end)).epoch_seconds() - since.epoch_seconds()) / (365.25 * 86400),
    )
    g = j.group_by("group").aggregate(
        customers=j.count(),
        buyers=j.buyer.cast("int64").sum(),
        repeat_buyers=j.repeat.cast("int64").sum(),
        active=j.active.cast("int64").sum(),
        revenue=j.net.sum(),
        revenue_sq=(j.net * j.net).sum(),
        tenure_years=j.tenure_years.sum(),
    ).execute()
    g = g.sort_values("group", kind="stable").reset_index(drop=True)
    n = g["customers"].to_numpy(float)
    rl, rh = wilson_interval(g["repeat_buyers"].to_numpy(), g["buyers"].to_numpy())
    al, ah = wilson_interval(g["active"].to_numpy(), n)
    mean = g["revenue"].to_numpy(float) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (g["revenue_sq"].to_numpy(float) - n * mean**2) / (n - 1)
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * np.sqrt(np.maximum(var, 0) / n)
        out = pd.DataFrame(
            {
                "group": g["group"],
                "customers": g["customers"].astype("int64"),
                "buyers": g["buyers"].astype("int64"),
                "repeat_rate": g["repeat_buyers"] / g["buyers"].replace(0, np.nan),
                "repeat_low": rl,
                "repeat_high": rh,
                "active_rate": g["active"] / n,
                "active_low": al,
                "active_high": ah,
                "revenue": g["revenue"].astype(float),
                "revenue_per_customer": mean,
                "rpc_low": mean - half,
                "rpc_high": mean + half,
                "revenue_per_customer_year": g["revenue"].to_numpy(float) / g["tenure_years"].to_numpy(float),
            }
        )
    if costs:
        spend = out["group"].map(lambda x: costs.get(x, costs.get(str(x), np.nan))).astype(float)
        out["spend"] = spend
        out["cost_per_acquisition"] = spend / out["customers"]
        out["return_on_spend"] = out["revenue"] / spend
    return out


def acquisition_display(value: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`acquisition_value` as a reader sees it: headers in words, intervals as text,
    money in whole units with the currency in the header."""
    cur = f" ({currency})" if currency else ""
    out = pd.DataFrame({
        "acquisition channel": value["group"].to_numpy(),
        "customers": value["customers"].to_numpy(),
        "repeat rate": value["repeat_rate"].to_numpy(),
        "95% interval": [f"{lo:.1%} to {hi:.1%}" for lo, hi in zip(value["repeat_low"], value["repeat_high"], strict=True)],
        "active rate": value["active_rate"].to_numpy(),
        "95% interval ": [f"{lo:.1%} to {hi:.1%}" for lo, hi in zip(value["active_low"], value["active_high"], strict=True)],
        f"net revenue{cur}": value["revenue"].to_numpy().round(),
        f"per customer{cur}": value["revenue_per_customer"].to_numpy(),
        "95% interval  ": [f"{lo:,.2f} to {hi:,.2f}" for lo, hi in zip(value["rpc_low"], value["rpc_high"], strict=True)],
        f"per customer-year{cur}": value["revenue_per_customer_year"].to_numpy(),
    })
    for col, name in (("spend", "spend"), ("cost_per_acquisition", "cost per acquisition"),
                      ("return_on_spend", "return on spend")):
        if col in value.columns:
            out[name + (cur if col != "return_on_spend" else "")] = value[col].to_numpy()
    return out


# --- the whole comparison ------------------------------------------------------------


@dataclass
class ChannelComparison:
    """The result of :func:`compare_channels`.

    Attributes
    ----------
    groups : DataFrame
        One row per group: units, funnel counts and rates with Wilson intervals, conversions
        (outcome units), rate, revenue, revenue per unit with its bootstrap interval,
        posterior mean, credible interval, p_best (and p_beats_control), cost figures.
    omnibus : dict
        statistic, dof, p_value, cramers_v of the chi-square test across groups.
    pairwise : DataFrame
        Every pair, corrected as one family (see :func:`pairwise_tests`).
    lift : DataFrame or None
        Lift of each group over the control (see :func:`control_lift`).
    trends : DataFrame or None
        Rates by period (see :func:`group_trends`).
    notes : list of str
        What was left out and why.
    """

    compare_by: str
    outcome: str
    unit: str
    control: Any
    alpha: float
    correction: str
    mode: str
    groups: pd.DataFrame
    omnibus: dict[str, Any]
    pairwise: pd.DataFrame
    lift: pd.DataFrame | None = None
    trends: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    period: str | None = None
    campaign: list[str] | None = None

    def __repr__(self) -> str:
        sig = int(self.pairwise["significant"].sum()) if len(self.pairwise) else 0
        return (
            f"<ChannelComparison by {self.compare_by} ({self.unit}), outcome {self.outcome}: "
            f"{len(self.groups)} groups, omnibus p = {self.omnibus['p_value']:.3g}, "
            f"{sig} of {len(self.pairwise)} pairs differ ({self.correction}, alpha {self.alpha})>"
        )

    def rate(self, group: Any) -> Estimate:
        """The outcome rate of ``group`` with its Wilson interval."""
        row = self.groups.loc[self.groups["group"] == group].iloc[0]
        return Estimate(float(row.rate), float(row.rate_low), float(row.rate_high), int(row.units), "wilson")

    def revenue_per_unit(self, group: Any) -> Estimate:
        """Revenue per unit of ``group`` with its bootstrap interval."""
        row = self.groups.loc[self.groups["group"] == group].iloc[0]
        return Estimate(float(row.revenue_per_unit), float(row.rpu_low), float(row.rpu_high), int(row.units), "bootstrap")

    def to_results(self) -> dict[str, Any]:
        """The results.json payload (group names are raw keys, never split on dots)."""
        groups = {}
        for row in self.groups.itertuples(index=False):
            entry: dict[str, Any] = {
                "units": int(row.units),
                "conversions": int(row.conversions),
                "rate": self.rate(row.group).to_dict(),
                "revenue_per_unit": self.revenue_per_unit(row.group).to_dict(),
                "revenue": float(row.revenue),
                "p_best": float(row.p_best),
                "exposed": int(row.exposed),
                "opened": int(row.opened),
                "clicked": int(row.clicked),
                "converted": int(row.converted),
            }
            for extra in ("spend", "cost_per_outcome", "return_on_spend"):
                if extra in self.groups.columns and pd.notna(getattr(row, extra)):
                    entry[extra] = float(getattr(row, extra))
            groups[str(row.group)] = entry
        pairs = [
            {
                "a": str(r.a), "b": str(r.b), "difference": float(r.difference),
                "difference_low": float(r.diff_low), "difference_high": float(r.diff_high),
                "relative_lift": float(r.relative_lift), "p_value": float(r.p_value),
                "p_adjusted": float(r.p_adjusted), "significant": bool(r.significant), "test": str(r.test),
                "mde": float(r.mde),
            }
            for r in self.pairwise.itertuples(index=False)
        ]
        out: dict[str, Any] = {
            "compare_by": self.compare_by,
            "outcome": self.outcome,
            "unit": self.unit,
            "control": None if self.control is None else str(self.control),
            "alpha": self.alpha,
            "correction": self.correction,
            "groups": groups,
            "omnibus": dict(self.omnibus),
            "pairwise": pairs,
            "significant_pairs": int(self.pairwise["significant"].sum()) if len(self.pairwise) else 0,
        }
        if self.lift is not None and len(self.lift):
            lift = {}
            for r in self.lift.itertuples(index=False):
                entry = Estimate(r.lift, r.lift_low, r.lift_high, int(r.units), "newcombe").to_dict()
                entry["relative"] = Estimate(r.relative_lift, r.relative_low, r.relative_high, int(r.units), "log").to_dict()
                entry["incremental"] = Estimate(r.incremental, r.incremental_low, r.incremental_high, int(r.units), "").to_dict()
                if hasattr(r, "p_adjusted"):
                    entry["p_adjusted"] = float(r.p_adjusted)
                    entry["significant"] = bool(r.significant)
                lift[str(r.group)] = entry
            out["lift"] = lift
        return out

    def groups_table(self) -> pd.DataFrame:
        """The per-group table exported as ``groups.csv`` (raw group values kept)."""
        cols = ["group", "units", "exposed", "opened", "clicked", "converted", "conversions", "rate", "rate_low",
                "rate_high", "open_rate", "click_rate", "conversion_rate", "revenue", "revenue_per_unit",
                "rpu_low", "rpu_high", "posterior_mean", "cred_low", "cred_high", "p_best", "p_beats_control",
                "spend", "cost_per_outcome", "return_on_spend"]
        return self.groups[[c for c in cols if c in self.groups.columns]].copy()

    def funnel_display(self, currency: str = "") -> pd.DataFrame:
        """The funnel per group as a reader sees it: headers in words, intervals as text,
        opens left blank where they are not tracked (clicks but no opens)."""
        g = self.groups
        cur = f" ({currency})" if currency else ""
        opened = g["opened"].astype("float64").where(~_not_tracked(g))
        return pd.DataFrame({
            "group": g["group"].to_numpy(),
            "units": g["units"].to_numpy(),
            "exposed": g["exposed"].to_numpy(),
            "opened": opened.to_numpy(),
            "clicked": g["clicked"].to_numpy(),
            "converted": g["conversions"].to_numpy(),
            f"{self.outcome} rate": g["rate"].to_numpy(),
            "95% interval": [f"{lo:.1%} to {hi:.1%}" for lo, hi in zip(g["rate_low"], g["rate_high"], strict=True)],
            f"revenue{cur}": g["revenue"].to_numpy(),
            f"revenue per unit{cur}": g["revenue_per_unit"].to_numpy(),
            "95% interval ": [f"{lo:,.2f} to {hi:,.2f}" for lo, hi in zip(g["rpu_low"], g["rpu_high"], strict=True)],
        })

    def pairwise_display(self, max_rows: int = 50) -> pd.DataFrame:
        """The pairwise tests as a reader sees them, smallest p-value first: differences
        in percentage points, p-values as text, "yes"/"no" for significance."""
        pw = self.pairwise.sort_values("p_value", kind="stable").head(max_rows)

        def p_text(p: float) -> str:
            return "< 0.001" if p < 0.001 else f"{p:.3f}"

        return pd.DataFrame({
            "a": pw["a"].to_numpy(), "b": pw["b"].to_numpy(),
            "rate a": pw["rate_a"].to_numpy(), "rate b": pw["rate_b"].to_numpy(),
            "difference (pts)": pw["difference"].to_numpy() * 100,
            "95% interval (pts)": [f"{lo * 100:+.2f} to {hi * 100:+.2f}" for lo, hi in zip(pw["diff_low"], pw["diff_high"], strict=True)],
            "relative lift": pw["relative_lift"].to_numpy(),
            "p-value": [p_text(p) for p in pw["p_value"]],
            "p adjusted": [p_text(p) for p in pw["p_adjusted"]],
            "real difference": np.where(pw["significant"], "yes", "no"),
            "test": pw["test"].to_numpy(),
            "detectable gap (pts)": pw["mde"].to_numpy() * 100,
        })

    def summary(self, *, currency: str = "", other: ChannelComparison | None = None) -> list[str]:
        """Plain-language findings (Markdown, group names escaped); see :func:`summarise`."""
        return summarise(self, currency=currency, other=other)


def compare_channels(
    touches: Any,
    customers: Any = None,
    *,
    compare_by: str = "channel",
    outcome: str = "conversion",
    unit: str = "customer",
    control: Any = None,
    alpha: float = 0.05,
    correction: str = "holm",
    costs: Mapping[Any, float] | None = None,
    period: str | None = "M",
    campaign: str | Sequence[str] | None = None,
    exposure_events: Sequence[str] = EXPOSURE_EVENTS,
    n_boot: int = 2000,
    draws: int = 20_000,
    random_state: int = 0,
) -> ChannelComparison:
    """Compare the outcome rate of channels, campaigns or customer groups, with honest tests.

    Parameters
    ----------
    touches, customers : Ibis table or DataFrame
        Canonical touches; customers when ``compare_by`` is a customer attribute.
    compare_by, outcome, unit, campaign, exposure_events
        What is compared and counted (see :func:`group_counts`).
    control : optional
        The group that received nothing (e.g. ``"control"`` of an experiment's test_group);
        the lift of every other group over it is reported.
    alpha : float
        Significance level of the family of pairwise tests (default 0.05).
    correction : {"holm", "fdr_bh"}
        Multiple-comparison correction of all pairs as one family.
    costs : mapping, optional
        Spend per group (currency of the data): cost per outcome and return on spend.
    period : {"W", "M", "Q"} or None
        Period of the trends; None skips them.
    n_boot, draws, random_state
        Bootstrap resamples, posterior draws and their seed.

    Returns
    -------
    ChannelComparison
    """
    _check_options(unit=unit, alpha=alpha, correction=correction)
    if period is not None and period not in PERIODS:
        raise ParameterError(f"period must be one of W, M, Q (or None); got '{period}'")
    prep = _prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    units, outcome_only = _units_table(prep, exposure_events)
    units = units.cache()
    gc = _counts_from(prep, units, outcome_only, compare_by=compare_by, exposure_events=exposure_events)
    counts = gc.counts.copy()
    labels = list(counts["group"])
    if control is not None and control not in labels:
        raise ParameterError(
            f"control='{control}' is not a group of {compare_by}{did_you_mean(str(control), map(str, labels))}; "
            f"the groups are: {', '.join(map(str, labels))}"
        )
    # order: best rate first, the control last
    counts["rate"] = counts["conversions"] / counts["units"]
    counts["_ctl"] = counts["group"] == control if control is not None else False
    counts = counts.sort_values(["_ctl", "rate", "units"], ascending=[True, False, False], kind="stable")
    counts = counts.drop(columns="_ctl").reset_index(drop=True)
    labels = list(counts["group"])
    k, n = counts["conversions"].to_numpy(), counts["units"].to_numpy()
    counts["rate_low"], counts["rate_high"] = wilson_interval(k, n)
    for stage, col in [("opened", "open_rate"), ("clicked", "click_rate"), ("converted", "conversion_rate"),
                       ("exposed", "exposed_rate")]:
        counts[col] = counts[stage] / counts["units"]
    rpu = []
    for i, g in enumerate(labels):
        rv = gc.revenue_values[gc.revenue_values["group"] == g]
        rpu.append(bootstrap_revenue_per_unit(rv["revenue"], rv["units"], int(n[i]), n_boot=n_boot,
                                              random_state=random_state + i))
    counts["revenue_per_unit"] = [e.value for e in rpu]
    counts["rpu_low"] = [e.low for e in rpu]
    counts["rpu_high"] = [e.high for e in rpu]
    bayes = bayes_best(k, n, names=labels, control=control, draws=draws, random_state=random_state)
    counts = counts.merge(bayes, on="group", how="left")
    pw = pairwise_tests(k, n, names=labels, alpha=alpha, correction=correction)
    lift = control_lift(k, n, names=labels, control=control, pairwise=pw) if control is not None else None
    notes = list(gc.notes)
    costs = parse_costs(costs)
    if costs:
        spend = counts["group"].map(lambda x: costs.get(x, costs.get(str(x), np.nan))).astype(float)
        if spend.notna().any():
            counts["spend"] = spend
            with np.errstate(invalid="ignore", divide="ignore"):
                counts["cost_per_outcome"] = spend / counts["conversions"].replace(0, np.nan)
                counts["return_on_spend"] = counts["revenue"] / spend
    trends = None
    if period is not None:
        trends = _trends_from(prep, units, period=period, exposure_events=exposure_events)
    return ChannelComparison(
        compare_by=compare_by, outcome=gc.outcome, unit=unit, control=control, alpha=float(alpha),
        correction=correction, mode=gc.mode, groups=counts, omnibus=omnibus_test(k, n), pairwise=pw,
        lift=lift, trends=trends, notes=notes, period=period, campaign=_campaign_list(campaign),
    )


def parse_costs(costs: Any) -> dict[Any, float] | None:
    """Spend per group as a dict; a JSON/YAML text such as '{"email": 5000}' is read too."""
    if costs is None or (isinstance(costs, str) and not costs.strip()):
        return None
    if isinstance(costs, str):
        import yaml

        try:
            costs = yaml.safe_load(costs)
        except yaml.YAMLError:
            raise ParameterError(f"costs must be a mapping of group to spend, e.g. {{'email': 5000}}; got {costs!r}") from None
    _check_costs(costs)
    return {k: float(v) for k, v in costs.items()}


def _check_costs(costs: Any) -> None:
    if not isinstance(costs, Mapping):
        raise ParameterError(f"costs must be a mapping of group to spend, e.g. {{'email': 5000}}; got {costs!r}")
    bad = {k: v for k, v in costs.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0}
    if bad:
        raise ParameterError(f"costs must be non-negative numbers; got {bad!r}")


def check_costs(costs: Mapping[Any, float] | None, *known: Iterable[Any]) -> list[str]:
    """Validate ``costs`` and return its keys that match no known group (each set in ``known``)."""
    costs = parse_costs(costs)
    if not costs:
        return []
    names = {str(x) for group in known for x in group}
    unknown = [str(k) for k in costs if str(k) not in names]
    if unknown and len(unknown) == len(costs):
        raise ParameterError(
            f"costs: none of {', '.join(unknown)} is a compared group or an acquisition channel"
            f"{did_you_mean(unknown[0], names)}; known: {', '.join(sorted(names))}"
        )
    return unknown


def find_control_groups(customers: Any, *, names: Sequence[str] = ("control", "holdout", "hold-out")) -> dict[str, str]:
    """Customer attributes that hold a control-like value: {attribute: value}."""
    c = _as_table(customers, "customers")
    out: dict[str, str] = {}
    for col in c.columns:
        if col in ("customer_id", "signup_at") or not c[col].type().is_string():
            continue
        vals = c.select(v=c[col].lower()).distinct().limit(50).v.execute()
        for v in vals.dropna():
            if v in names:
                orig = c.filter(c[col].lower() == v).select(col).limit(1).execute()[col].iloc[0]
                out[col] = orig
                break
    return out


# --- plain language ------------------------------------------------------------------


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x * 100:.{digits}f}%"


def _pts(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x * 100:+.2f} pts"


def format_p(p: float) -> str:
    """A p-value for a reader: "p < 0.001" below one in a thousand, else two significant digits."""
    if p is None or not np.isfinite(p):
        return "p = –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def trend_leader(trends: pd.DataFrame, group: Any) -> tuple[int, int]:
    """In how many periods ``group`` has the highest rate, counting only the periods where
    every group has units (a period where a channel did not run says nothing about it).

    Returns (periods led, periods compared).
    """
    if trends is None or trends.empty:
        return 0, 0
    n_groups = trends["group"].nunique()
    live = trends[trends["units"] > 0]
    full = live.groupby("period")["group"].transform("nunique") == n_groups
    both = live[full]
    if both.empty:
        return 0, 0
    leaders = both.loc[both.groupby("period")["rate"].idxmax(), "group"]
    return int((leaders == group).sum()), int(leaders.size)


def _not_tracked(g: pd.DataFrame) -> pd.Series:
    """Groups with clicks but no opens at all: opens are not tracked there (SMS, push)."""
    return (g["opened"] == 0) & (g["clicked"] > 0)


def summarise(result: ChannelComparison, *, currency: str = "", other: ChannelComparison | None = None) -> list[str]:
    """Plain-language findings of a comparison: what is real, what is noise, what the data cannot say.

    ``other``: the same comparison per the other unit (:func:`compare_other_unit`); when
    its leader differs, a line says so. Group names are HTML-escaped (they come from the data).
    """
    def e(x: Any) -> str:
        return f"**{esc(x)}**"

    lines: list[str] = []
    g = result.groups
    unit_word = "customer" if result.unit == "customer" else "customer-campaign pair"
    om = result.omnibus
    if len(g) < 2:
        lines.append(
            f"Only one group of {esc(result.compare_by)} has units, so there is nothing to compare it with: the "
            "figures below describe it alone."
        )
    elif om["p_value"] < result.alpha:
        lines.append(
            f"The {result.outcome} rate differs across the {len(g)} groups of {esc(result.compare_by)} "
            f"(chi-square test, {format_p(om['p_value'])})."
        )
    else:
        lines.append(
            f"The {len(g)} groups of {esc(result.compare_by)} show no difference in {result.outcome} rate "
            f"beyond chance (chi-square test, {format_p(om['p_value'])}): the spread in the chart is noise at this "
            "sample size."
        )
    best, rich = pick(g, "p_best"), pick(g, "revenue_per_unit")
    if best is not None and len(g) > 1:
        lines.append(
            f"{e(best.group)} has the highest rate, {_pct(best.rate, 2)} per {unit_word} "
            f"(95% interval {_pct(best.rate_low, 2)} to {_pct(best.rate_high, 2)}); the probability that it is truly "
            f"the best is {_chance(best.p_best)}."
        )
    elif best is not None:
        lines.append(
            f"{e(best.group)}: {_pct(best.rate, 2)} per {unit_word} "
            f"(95% interval {_pct(best.rate_low, 2)} to {_pct(best.rate_high, 2)})."
        )
    if best is not None and rich is not None and rich.group != best.group:
        lines.append(
            f"The most revenue per {unit_word} comes from {e(rich.group)}, not {e(best.group)}: "
            f"{rich.revenue_per_unit:,.2f} {esc(currency)} (95% {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f}) against "
            f"{best.revenue_per_unit:,.2f}; a higher {esc(str(result.outcome))} rate is not the same as more value."
        )
    view = _unit_view_line(result, other)
    if view:
        lines.append(view)
    pw = result.pairwise
    method = "Holm" if result.correction == "holm" else "Benjamini-Hochberg"
    if len(pw):
        sig = pw[pw.significant]
        real = [f"{e(r.a)} vs {e(r.b)} ({_pts(r.difference)})" for r in sig.head(8).itertuples()]
        if real:
            lines.append(
                f"Real differences ({len(sig)} of {len(pw)} pairs, {method}-corrected at alpha {result.alpha:g}): "
                + "; ".join(real) + ("; …" if len(sig) > 8 else "") + "."
            )
        else:
            lines.append(f"No pair differs after the {method} correction of {len(pw)} comparisons.")
        noise = pw[~pw.significant.astype(bool)]
        r = pick(noise, "mde", largest=False)
        if r is not None:
            lines.append(
                f"{len(noise)} pair(s) are indistinguishable from noise; for example {e(r.a)} vs {e(r.b)} "
                f"({_pts(r.difference)}) could only have been detected if the true gap were at least "
                f"{_pts(r.mde).lstrip('+')} (80% power): a non-significant result does not rule out smaller gaps."
            )
    if result.lift is not None and len(result.lift):
        parts = [
            f"{e(r.group)} {_pts(r.lift)} (95% {_pts(r.lift_low)} to {_pts(r.lift_high)})"
            for r in result.lift.itertuples()
        ]
        lines.append(
            f"Against the control group {e(result.control)} (no message), the incremental lift is: "
            + "; ".join(parts)
            + ". This is the only causal number in this report, valid because the groups were assigned at random."
        )
    else:
        lines.append(
            "Without a control group these are associations, not effects: customers reached through a channel "
            "differ from the others, and a channel may take credit for conversions that would have happened anyway."
        )
    caveats = []
    if result.mode == "touches" and result.unit == "customer":
        caveats.append(
            "per-customer rates reward channels that send more often; compare per message with "
            "unit='customer_campaign'"
        )
    caveats.append("conversions logged by the last touch inflate that channel (last-touch attribution)")
    if result.outcome == "open" or "open" in str(result.outcome):
        caveats.append("email opens are inflated by mail privacy proxies that pre-load images")
    else:
        caveats.append("opens are inflated by mail privacy proxies, so clicks and conversions are the better outcomes")
    if _not_tracked(g).any():
        no_open = [e(x) for x in g.loc[_not_tracked(g), "group"]]
        caveats.append(f"{', '.join(no_open)}: no opens recorded (not tracked there), so open rates are not comparable")
    lines.append("What the data cannot say: " + "; ".join(caveats) + ".")
    return lines


# --- picks and sentences of the report (each safe on zero groups and on one) ----------


def pick(df: pd.DataFrame | None, column: str, *, largest: bool = True) -> pd.Series | None:
    """The row of ``df`` with the largest (``largest=False``: smallest) finite ``column``.

    None when no row has a finite value: no rows, no such column, or every value NaN.
    Ties go to the first row in table order.
    """
    if df is None or column not in df.columns or df.empty:
        return None
    arr = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(arr))
    if ok.size == 0:
        return None
    i = ok[np.argmax(arr[ok])] if largest else ok[np.argmin(arr[ok])]
    return df.iloc[int(i)]


def best_and_worst(df: pd.DataFrame | None, column: str) -> tuple[pd.Series | None, pd.Series | None]:
    """``(highest, lowest)`` rows of ``df`` by ``column`` (see :func:`pick`).

    ``(None, None)`` when there is nothing to rank; with one row it is both.
    """
    return pick(df, column), pick(df, column, largest=False)


def _unit_word(unit: str) -> str:
    return unit.replace("_", "-")


def _method(correction: str) -> str:
    return {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}.get(correction, correction)


def _chance(p: float) -> str:
    return "above 99%" if p > 0.99 else f"{p:.0%}"


def summary_cards(result: ChannelComparison, *, currency: str = "") -> list[dict[str, Any]]:
    """The executive summary's KPI cards (label, value, detail; text escaped by ``nb.kpi_cards``)."""
    g, pw = result.groups, result.pairwise
    unit_word = _unit_word(result.unit)
    cards: list[dict[str, Any]] = [
        {"label": f"{result.compare_by.replace('_', ' ')} groups compared", "value": f"{len(g)}",
         "detail": f"{int(g['units'].sum()):,} {unit_word} units"},
    ]
    best = pick(g, "p_best")
    if best is not None:
        detail = f"95% interval {best.rate_low:.1%} to {best.rate_high:.1%}"
        detail += f"; chance it is truly the best: {_chance(best.p_best)}" if len(g) > 1 else "; the only group"
        cards.append({"label": f"{'best ' if len(g) > 1 else ''}{result.outcome} rate",
                      "value": f"{best.group}: {best.rate:.1%}", "detail": detail})
    n_sig = int(pw["significant"].sum()) if len(pw) else 0
    if len(pw):
        cards.append({"label": "real differences", "value": f"{n_sig} of {len(pw)} pairs",
                      "detail": f"after the {_method(result.correction)} correction for {len(pw)} comparisons "
                                f"(alpha {result.alpha:g})"})
    else:
        cards.append({"label": "real differences", "value": "none to test",
                      "detail": "one group: there is no pair to compare"})
    rich = pick(g, "revenue_per_unit")
    if rich is not None:
        cards.append({"label": f"{'most ' if len(g) > 1 else ''}revenue per {unit_word}",
                      "value": f"{rich.group}: {rich.revenue_per_unit:,.2f} {currency}".rstrip(),
                      "detail": f"95% interval {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f}"})
    top = pick(result.lift, "lift")
    if top is not None:
        cards.append({"label": f"best lift over {result.control}", "value": f"{top.lift * 100:+.2f} pts",
                      "detail": f"{top.group}: 95% {top.lift_low * 100:+.2f} to {top.lift_high * 100:+.2f} pts (causal)"})
    return cards


def compare_other_unit(
    touches: Any, customers: Any, result: ChannelComparison
) -> tuple[ChannelComparison | None, str | None]:
    """The same comparison counted per the other unit (customer ⇄ customer-campaign pair).

    Returns ``(comparison, None)``, or ``(None, reason)`` when the view does not apply
    (comparing by a customer attribute) or has no units (e.g. touches without campaign ids).
    """
    if result.mode != "touches":
        return None, "applies when comparing by a touches column (channel, campaign_id)"
    other_unit = "customer_campaign" if result.unit == "customer" else "customer"
    if other_unit == "customer_campaign":
        t = _as_table(touches, "touches")
        if "campaign_id" not in t.columns or int(t.filter(t.campaign_id.notnull()).count().execute()) == 0:
            return None, "the touches carry no campaign_id, so there are no customer-campaign pairs to count"
    try:
        other = compare_channels(touches, customers, compare_by=result.compare_by, outcome=result.outcome,
                                 unit=other_unit, alpha=result.alpha, correction=result.correction, period=None,
                                 campaign=result.campaign)
    except DataError as e:
        return None, f"no {_unit_word(other_unit)} units to count: {e}"
    if other.groups.empty:
        return None, f"no {_unit_word(other_unit)} units to count"
    return other, None


def unit_views(result: ChannelComparison, other: ChannelComparison | None) -> pd.DataFrame:
    """The groups counted per ``result.unit`` and per ``other.unit`` side by side (headers in words)."""
    if other is None:
        return pd.DataFrame(columns=["group"])
    a, b = _unit_word(result.unit), _unit_word(other.unit)
    both = result.groups[["group", "units", "rate"]].merge(
        other.groups[["group", "units", "rate"]], on="group", suffixes=("_a", "_b"))
    both.columns = ["group", f"{a}s", f"rate per {a}", f"{b}s", f"rate per {b}"]
    return both


def unit_views_sentence(result: ChannelComparison, other: ChannelComparison | None) -> str:
    """Who leads per customer and who per message, and what that says."""
    both = unit_views(result, other)
    if other is None or both.empty:
        return "No group can be counted both ways."
    a, b = _unit_word(result.unit), _unit_word(other.unit)
    lead_a, lead_b = pick(both, f"rate per {a}"), pick(both, f"rate per {b}")
    if lead_a is None or lead_b is None:
        return "No group has a rate in both views."
    if len(both) == 1:
        return (f"With one group, {esc(lead_a.group)}, there is no ranking to compare: its rate is "
                f"{_pct(lead_a[f'rate per {a}'], 2)} per {a} and {_pct(lead_b[f'rate per {b}'], 2)} per {b}.")
    return (f"Per {a} the leader is {esc(lead_a.group)}; per {b} it is {esc(lead_b.group)}"
            + (": the ranking depends on the unit, so frequency, not message quality, drives part of the gap."
               if lead_a.group != lead_b.group else ": the ranking holds in both views."))


def _unit_view_line(result: ChannelComparison, other: ChannelComparison | None) -> str | None:
    """The summary line when the leader changes with the unit (None when it does not)."""
    if other is None or len(result.groups) < 2:
        return None
    best, o = pick(result.groups, "p_best"), pick(other.groups, "rate")
    if best is None or o is None or o.group == best.group:
        return None
    ou = _unit_word(other.unit)
    return (f"Per {ou} the order changes: **{esc(o.group)}** leads with {_pct(o.rate, 2)} (see 'Per customer or "
            f"per message'): part of {esc(best.group)}'s lead is that it reaches each customer more often, not that "
            "each message works better.")


def rates_title(result: ChannelComparison) -> str:
    """Title of the rates chart: the leader, and its gap to the runner-up."""
    g = result.groups
    best = pick(g, "p_best")
    if best is None:
        return f"{result.outcome} rate by {result.compare_by}"
    if len(g) == 1:
        return f"{chart_label(best.group)}: {best.rate:.2%} {result.outcome} rate (the only group)"
    top2 = g.sort_values("rate", ascending=False, kind="stable").head(2)
    return (f"{chart_label(best.group)} leads on {result.outcome} rate "
            f"({top2.rate.iloc[0]:.2%} vs {top2.rate.iloc[1]:.2%})")


def rates_sentence(result: ChannelComparison) -> str:
    """The lowest and highest rate, and the widest interval (the least certain group)."""
    g = result.groups
    unit_word = _unit_word(result.unit)
    hi, lo = best_and_worst(g, "rate")
    if hi is None:
        return f"No group has a {result.outcome} rate yet."
    width = g.assign(_w=g["rate_high"] - g["rate_low"])
    wide = pick(width, "_w")
    if len(g) == 1 or wide is None:
        return (f"{esc(hi.group)} converts {_pct(hi.rate, 2)} per {unit_word} (95% interval "
                f"{_pct(hi.rate_low, 2)} to {_pct(hi.rate_high, 2)}, {int(hi.units):,} units).")
    return (f"Rates range from {_pct(lo.rate, 2)} ({esc(lo.group)}) to {_pct(hi.rate, 2)} ({esc(hi.group)}) per "
            f"{unit_word}; the widest interval, {wide._w * 100:.2f} points, is that of {esc(wide.group)} "
            f"({int(wide.units):,} units).")


def funnel_title(result: ChannelComparison) -> str:
    """Title of the funnel chart: the group with the highest click-through."""
    lead = pick(result.groups, "click_rate")
    unit_word = _unit_word(result.unit)
    if lead is None:
        return f"Funnel per {unit_word}"
    more = "highest click-through" if len(result.groups) > 1 else "click-through"
    return f"{chart_label(lead.group)} has the {more} per {unit_word} ({lead.click_rate:.1%})"


def funnel_sentence(result: ChannelComparison, *, currency: str = "") -> str:
    """Clickers and converters of the leader, and where the most revenue per unit comes from."""
    g = result.groups
    lead, rich = pick(g, "click_rate"), pick(g, "revenue_per_unit")
    if lead is not None and lead.click_rate > 0:
        text = f"{esc(lead.group)} turns {lead.click_rate:.1%} of its units into clickers and {lead.conversion_rate:.2%} into converters"
    else:
        text = "No clicks are recorded for these units"
    if rich is not None:
        text += (f"; the {'most ' if len(g) > 1 else ''}revenue per unit comes from {esc(rich.group)}: "
                 f"{rich.revenue_per_unit:,.2f} {esc(currency)} (95% {rich.rpu_low:,.2f} to {rich.rpu_high:,.2f})")
    return text + "."


def pairwise_title(result: ChannelComparison) -> str:
    pw = result.pairwise
    n_sig = int(pw["significant"].sum()) if len(pw) else 0
    return f"{n_sig} of {len(pw)} differences survive the {_method(result.correction)} correction"


def pairwise_sentence(result: ChannelComparison) -> str:
    """How many pairs differ, and what the others could have missed."""
    pw = result.pairwise
    if not len(pw):
        return "With one group there is no pair to test."
    n_sig = int(pw["significant"].sum())
    ns = pw[~pw["significant"].astype(bool)]
    widest = pick(ns, "mde")
    return f"{n_sig} of {len(pw)} pairs differ after correction; " + (
        f"the other {len(ns)} could miss true gaps of up to {widest.mde * 100:.2f} points (their largest minimum "
        "detectable effect), so they show no difference, not equality." if widest is not None else
        ("every pair differs." if not len(ns) else f"the other {len(ns)} show no difference, not equality."))


def pairwise_skip_reason(result: ChannelComparison) -> str | None:
    """Why there are no pairwise tests (one group), or None."""
    return None if len(result.pairwise) else (
        f"only one {result.compare_by} group has units, so there is no pair to test")


def bayes_sentence(result: ChannelComparison) -> str:
    """The group most likely to be the best, and how likely."""
    best = pick(result.groups, "p_best")
    if best is None:
        return "No group has units."
    if len(result.groups) == 1:
        return f"{esc(best.group)} is the only group: there is no other to be better than."
    return (f"{esc(best.group)} is the best group with probability {_chance(best.p_best)}"
            + ("; no group is a clear winner (none above 90%)." if best.p_best < 0.9 else "."))


def lift_skip_reason(result: ChannelComparison, customers: Any = None) -> str | None:
    """Why the incremental-lift section cannot be shown (no control group, or nothing beside it), or None."""
    if result.lift is None:
        hint = find_control_groups(customers) if customers is not None else {}
        more = "; ".join(f"the customers table has one (column {k}, group '{v}'): rerun with compare_by='{k}', "
                         f"control='{v}' and campaign set to the experiment's campaign_id" for k, v in hint.items())
        return ("this run compares channels, and no channel is a no-message control group"
                + (f"; {more}" if more else ""))
    if result.lift.empty:
        return f"the control group {result.control} is the only group with units: there is nothing to compare it with"
    return None


def lift_title(result: ChannelComparison) -> str:
    top = pick(result.lift, "lift")
    if top is None:
        return f"Lift over {chart_label(result.control)}"
    return (f"{chart_label(top.group)} adds {top.lift * 100:.1f} points of {result.outcome} over "
            f"{chart_label(result.control)}")


def lift_sentence(result: ChannelComparison) -> str:
    lift = result.lift
    top = pick(lift, "lift")
    if top is None:
        return f"No group has a lift over {esc(result.control)}."
    n_sig = int(lift["significant"].sum()) if "significant" in lift.columns else 0
    return (f"{esc(top.group)} lifts the {result.outcome} rate by {top.lift * 100:+.2f} points over {esc(result.control)} "
            f"(95% {top.lift_low * 100:+.2f} to {top.lift_high * 100:+.2f}), about {top.incremental:,.0f} extra outcomes; "
            f"{n_sig} of {len(lift)} groups beat the control after correction.")


def acquisition_or_reason(
    transactions: Any, customers: Any, *, by: str = "acquisition_channel", **kwargs: Any
) -> tuple[pd.DataFrame | None, str | None]:
    """:func:`acquisition_value`, or ``(None, reason)`` when no customer has an acquisition channel."""
    if customers is None:
        return None, f"there is no customers table (with an {by} column)"
    c = _as_table(customers, "customers")
    if by not in c.columns:
        return None, f"the customers table has no {by} column"
    if int(c.filter(c[by].notnull()).count().execute()) == 0:
        return None, f"no customer has an {by} value (the column is empty)"
    value = acquisition_value(transactions, customers, by=by, **kwargs)
    if value.empty:
        return None, f"no customer has an {by} value"
    return value, None


def acquisition_title(value: pd.DataFrame) -> str:
    """Title of the acquisition chart: the most and the least valuable channel per customer-year."""
    top, low = best_and_worst(value, "revenue_per_customer_year")
    if top is None:
        return "Net revenue per customer-year by acquisition channel"
    if len(value) == 1 or top.group == low.group:
        return f"Customers from {chart_label(top.group)} bring {top.revenue_per_customer_year:,.2f} per customer-year"
    if low.revenue_per_customer_year > 0:
        ratio = top.revenue_per_customer_year / low.revenue_per_customer_year
        return (f"Customers from {chart_label(top.group)} are worth {ratio:.1f}× those from "
                f"{chart_label(low.group)} per year")
    return (f"Customers from {chart_label(top.group)} bring the most per customer-year, those from "
            f"{chart_label(low.group)} the least")


def acquisition_sentence(value: pd.DataFrame, *, currency: str = "") -> str:
    """The most and the least valuable acquisition channel per customer-year, with their active rates."""
    top, low = best_and_worst(value, "revenue_per_customer_year")
    caveat = ("Acquisition channels are not randomised: they differ in who they bring, not only in what they do.")
    if top is None:
        return "No acquisition channel has a tenure to divide by yet. " + caveat
    cur = esc(currency)
    if len(value) == 1 or top.group == low.group:
        return (f"All customers with an acquisition channel came through {esc(top.group)}: "
                f"{top.revenue_per_customer_year:,.2f} {cur} per customer-year, active rate {_pct(top.active_rate)}; "
                "there is no other channel to compare with.")
    return (f"Per customer-year, {esc(top.group)} customers bring {top.revenue_per_customer_year:,.2f} {cur} "
            f"against {low.revenue_per_customer_year:,.2f} for {esc(low.group)}; their active rates are "
            f"{_pct(top.active_rate)} and {_pct(low.active_rate)}. " + caveat)


def cost_sentence(cost: pd.DataFrame, *, currency: str = "", has_control: bool = False) -> str:
    """The cheapest outcome among the groups with a cost."""
    cheap = pick(cost, "cost_per_outcome", largest=False)
    tail = ("cost per incremental outcome (over the control) is the figure to budget on." if has_control else
            "without a control group these are costs per attributed outcome, not per incremental one.")
    if cheap is None:
        return "No group with a cost has an outcome yet, so there is no cost per outcome; " + tail
    return (f"The cheapest outcome comes from {esc(cheap.group)} at {cheap.cost_per_outcome:,.2f} {esc(currency)}; "
            + tail)


def trend_top_group(trends: pd.DataFrame | None) -> Any:
    """The group with the highest median rate across periods (None without trends)."""
    if trends is None or trends.empty:
        return None
    med = trends.groupby("group", sort=False)["rate"].median().reset_index()
    top = pick(med, "rate")
    return None if top is None else top.group


def trends_title(result: ChannelComparison) -> str:
    """Title of the trends chart: the group that leads most often (empty when no period has every group)."""
    tr = result.trends
    top = trend_top_group(tr)
    if top is None:
        return ""
    led, shared = trend_leader(tr, top)
    if not shared:
        return ""
    return f"{chart_label(top)} has the highest rate in {led} of the {shared} periods where every group had units"


def trends_sentence(result: ChannelComparison, *, period: str | None = None) -> str:
    """What the per-period rates show: who leads in the periods every group ran."""
    tr = result.trends
    words = {"W": "week", "M": "month", "Q": "quarter"}.get(period or result.period or "", "period")
    if tr is None or tr.empty:
        return f"No {words} has units."
    text = f"Rates are per {words} ({tr.period.nunique()} {words}s), so they are lower than the whole-period rates above. "
    top, best = trend_top_group(tr), pick(result.groups, "p_best")
    led, shared = trend_leader(tr, top) if top is not None else (0, 0)
    if top is not None and len(result.groups) > 1:  # one group leads every period it has: nothing to say
        if shared:
            text += f"In the {shared} {words}s where every group had units, {esc(top)} has the highest rate in {led}"
            if best is not None and best.group != top:
                text += f"; {esc(best.group)} in {trend_leader(tr, best.group)[0]}"
            text += ". "
        else:
            text += "No single period had units in every group. "
    return text + "A missing point means the group sent nothing that period."

# --- plots ---------------------------------------------------------------------------


def plot_rates(result: ChannelComparison, ax: Any = None) -> Any:
    """Each group's outcome rate with its 95% Wilson interval (dots and bars)."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    g = result.groups.iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(g) + 1)))
    y = np.arange(len(g))
    labels = [str(x) for x in g["group"]]
    for i, r in enumerate(g.itertuples()):
        ax.errorbar(r.rate, i, xerr=error_bars(r.rate, r.rate_low, r.rate_high), fmt="o",
                    color=color_for(r.group), capsize=4, ms=7)
    ax.set_yticks(y, [chart_label(x) for x in labels])
    percent_axis(ax, "x", decimals=1)
    ax.set_xlabel(f"{result.outcome} rate per {result.unit.replace('_', '-')} (95% Wilson interval)")
    return ax


def plot_pairwise(result: ChannelComparison, ax: Any = None, max_pairs: int = 30) -> Any:
    """Differences of every pair with Newcombe intervals; significant pairs highlighted."""
    import matplotlib.pyplot as plt

    from .plots import ACCENT, percent_axis

    pw = result.pairwise.head(max_pairs).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.4 * len(pw) + 1)))
    for i, r in enumerate(pw.itertuples()):
        colour = ACCENT if r.significant else "#999999"
        ax.errorbar(r.difference, i, xerr=error_bars(r.difference, r.diff_low, r.diff_high),
                    fmt="o", color=colour, capsize=3)
    ax.axvline(0, color="#444", lw=1)
    ax.set_yticks(np.arange(len(pw)), [f"{chart_label(a)} − {chart_label(b)}" for a, b in zip(pw["a"], pw["b"], strict=True)])
    percent_axis(ax, "x", decimals=1)
    ax.set_xlabel("difference in rate (points; 95% Newcombe interval); blue = significant after correction")
    return ax


def plot_funnel(result: ChannelComparison, ax: Any = None) -> Any:
    """Funnel stage rates per group (exposed, opened, clicked, converted) per unit."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    g = result.groups
    stages = ["exposed_rate", "open_rate", "click_rate", "conversion_rate"]
    names = ["exposed", "opened", "clicked", "converted"]
    if ax is None:
        _, ax = plt.subplots()
    width = 0.8 / max(len(g), 1)
    x = np.arange(len(stages))
    untracked = set(g.loc[_not_tracked(g), "group"])
    for i, r in enumerate(g.itertuples()):
        vals = [getattr(r, s) for s in stages]
        bars = ax.bar(x + i * width, vals, width, label=chart_label(r.group), color=color_for(r.group))
        for j, (b, v) in enumerate(zip(bars, vals, strict=True)):
            text = "not\ntracked" if names[j] == "opened" and r.group in untracked else f"{v:.0%}" if v >= 0.1 else f"{v:.1%}"
            ax.annotate(text, (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x + width * (len(g) - 1) / 2, names)
    ax.set_ylim(0, 1.12)
    percent_axis(ax, "y")
    ax.set_ylabel(f"share of {result.unit.replace('_', '-')}s")
    ax.legend(title=result.compare_by, fontsize=9, loc="upper right", framealpha=0.95)
    return ax


def plot_trends(trends: pd.DataFrame, ax: Any = None, *, outcome: str = "conversion") -> Any:
    """Each group's rate by period with a shaded 95% interval."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    if ax is None:
        _, ax = plt.subplots()
    for grp, sub in trends.groupby("group", sort=False):
        colour = color_for(grp)
        ax.plot(sub["period"], sub["rate"], marker="o", ms=3, color=colour, label=chart_label(grp))
        ax.fill_between(sub["period"], sub["rate_low"], sub["rate_high"], color=colour, alpha=0.15)
    percent_axis(ax, "y", decimals=1)
    ax.set_ylabel(f"{outcome} rate")
    ax.legend(fontsize=9)
    return ax


def plot_lift(result: ChannelComparison, ax: Any = None) -> Any:
    """Each group's lift over the control with its 95% Newcombe interval."""
    import matplotlib.pyplot as plt

    from .plots import color_for, percent_axis

    lift = result.lift if result.lift is not None else pd.DataFrame(columns=["group", "lift", "lift_low", "lift_high"])
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(lift) + 1.2)))
    for i, r in enumerate(lift.itertuples()):
        ax.errorbar(r.lift, i, xerr=error_bars(r.lift, r.lift_low, r.lift_high), fmt="o", capsize=4,
                    color=color_for(r.group), ms=7)
    ax.axvline(0, color="#444", lw=1)
    ax.set_yticks(np.arange(len(lift)), [chart_label(x) for x in lift["group"]])
    percent_axis(ax, "x", decimals=1)
    ax.set_xlabel(f"lift over {chart_label(result.control)} (points, 95% Newcombe interval)")
    return ax


def plot_acquisition(value: pd.DataFrame, ax: Any = None, *, currency: str = "") -> Any:
    """Net revenue per customer-year by acquisition channel (from :func:`acquisition_value`)."""
    import matplotlib.pyplot as plt

    from .plots import color_for, money_axis

    a = value.sort_values("revenue_per_customer_year")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(2.5, 0.5 * len(a) + 1.2)))
    ax.barh([chart_label(x) for x in a["group"]], a["revenue_per_customer_year"], color=[color_for(x) for x in a["group"]])
    money_axis(ax, currency, axis="x")
    ax.set_xlabel(f"net revenue per customer-year ({currency})")
    return ax
