"""Counting in the engine: units, funnel stages, outcomes and revenue per group.

What a unit is (a customer, or a customer-campaign pair; exposed through a touches column
or holding a customer attribute) is set out in :mod:`engage_kit.channels`. Only per-group
rows leave the engine; rows without a group, and channels that never record the outcome,
are left out with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from ..engine import cache, strip
from ..errors import DataError, ParameterError, did_you_mean

EXPOSURE_EVENTS: tuple[str, ...] = ("sent", "delivered", "impression", "view", "visit", "registration")
"""Events that expose a unit to a channel (the denominator of its rates)."""
OPEN_EVENTS: tuple[str, ...] = ("open",)
CLICK_EVENTS: tuple[str, ...] = ("click",)
CONVERSION_EVENTS: tuple[str, ...] = ("conversion",)
UNITS = ("customer", "customer_campaign")
CORRECTIONS = {"holm": "holm", "fdr_bh": "fdr_bh"}
PERIODS = ("W", "M", "Q")
_RESERVED = ("timestamp", "event", "customer_id", "value")


def unit_text(unit: str) -> str:
    """The unit as a reader writes it: ``customer_campaign`` becomes ``customer-campaign``."""
    return unit.replace("_", "-")


def as_table(data: Any, name: str) -> ibis.Table:
    """``data`` as an Ibis table (a pandas DataFrame becomes an in-memory table)."""
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    if isinstance(data, ibis.Table):
        return data
    raise ParameterError(f"{name} must be an Ibis table or a pandas DataFrame, got {type(data).__name__}")


def need_columns(t: ibis.Table, name: str, cols: Iterable[str]) -> None:
    """Raise a DataError naming the columns of ``cols`` that table ``name`` lacks."""
    missing = [c for c in cols if c not in t.columns]
    if missing:
        raise DataError(
            f"table {name}: column(s) {', '.join(missing)} missing; its columns are: {', '.join(t.columns)}"
        )


def check_options(*, unit: str, alpha: float, correction: str) -> None:
    """Raise a ParameterError for an unknown unit or correction, or an alpha outside (0, 1)."""
    if unit not in UNITS:
        raise ParameterError(f"unit must be one of {', '.join(UNITS)}; got '{unit}'{did_you_mean(str(unit), UNITS)}")
    if not (isinstance(alpha, (int, float)) and 0 < float(alpha) < 1):
        raise ParameterError(f"alpha must be a number between 0 and 1 (e.g. 0.05); got {alpha!r}")
    if correction not in CORRECTIONS:
        raise ParameterError(
            f"correction must be 'holm' or 'fdr_bh'; got '{correction}'{did_you_mean(str(correction), CORRECTIONS)}"
        )


def campaign_list(campaign: str | Sequence[str] | None) -> list[str] | None:
    """The chosen campaign ids as a list of text (None: all campaigns)."""
    if campaign is None:
        return None
    if isinstance(campaign, str):
        return [campaign]
    return [str(c) for c in campaign]


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


class MissingOutcome(ParameterError):
    """The outcome event does not occur in the touches (``outcome``, ``events``: those that do)."""

    def __init__(self, message: str, outcome: str, events: list[str]):
        super().__init__(message)
        self.outcome, self.events = outcome, events


def _check_outcome(t: ibis.Table, outcome: str) -> str:
    events = sorted(str(e) for e in t.select(e=strip(t.event.lower())).distinct().e.execute().dropna())
    key = str(outcome).strip().lower()
    if key not in events:
        raise MissingOutcome(
            f"outcome='{outcome}': the touches table has no '{key}' events{did_you_mean(key, events)}; "
            f"its events are: {', '.join(events)}", key, events,
        )
    return key


def _prepare_touches(
    touches: Any, *, outcome: str, unit: str, campaign: str | Sequence[str] | None
) -> tuple[ibis.Table, str]:
    t = as_table(touches, "touches")
    need_columns(t, "touches", ["timestamp", "channel", "event", "customer_id"])
    if unit == "customer_campaign" or campaign is not None:
        need_columns(t, "touches", ["campaign_id"])
    if "value" not in t.columns:
        t = t.mutate(value=ibis.null("float64"))
    camps = campaign_list(campaign)
    if camps is not None:
        t = t.filter(t.campaign_id.isin(camps))
        if int(t.count().execute()) == 0:
            raise ParameterError(
                f"campaign={camps!r}: the touches table has no rows for this campaign; check campaign_id values"
            )
    key = _check_outcome(t, outcome)
    t = t.filter(t.customer_id.notnull()).mutate(_event=strip(t.event.lower()))
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
class Prepared:
    """Touches (and customers) reduced to what a comparison reads, materialised once."""

    t: ibis.Table  # timestamp, channel, _event, customer_id, campaign_id, value (+ group in touches mode)
    customers: ibis.Table | None  # customer_id, group, signup_at: the units' population (attribute mode)
    has_signup: bool
    mode: str
    key: str
    unit: str
    campaign: list[str] | None
    notes: list[str]


def prepare(
    touches: Any, customers: Any, *, compare_by: str, outcome: str, unit: str, campaign: str | Sequence[str] | None
) -> Prepared:
    """Check the inputs and reduce the touches (and customers) to what a comparison reads.

    Rows without a group, campaign or outcome tracking are left out, each with a note.
    """
    t, key = _prepare_touches(touches, outcome=outcome, unit=unit, campaign=campaign)
    c = as_table(customers, "customers") if customers is not None else None
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
        t = cache(t.select(*cols, group=t[compare_by]))
    else:
        t = cache(t.select(*cols))
        need_columns(c, "customers", ["customer_id", compare_by])
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
    return Prepared(t=t, customers=cust, has_signup=has_signup, mode=mode, key=key, unit=unit,
                     campaign=campaign_list(campaign), notes=notes)


def units_table(prep: Prepared, exposure_events: Sequence[str]) -> tuple[ibis.Table, ibis.Table | None]:
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


def counts_from(prep: Prepared, units: ibis.Table, outcome_only: ibis.Table | None, *, compare_by: str,
                exposure_events: Sequence[str]) -> GroupCounts:
    """Per-group counts of ``units`` (from :func:`units_table`), pulled from the engine."""
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
    check_options(unit=unit, alpha=0.05, correction="holm")
    prep = prepare(touches, customers, compare_by=compare_by, outcome=outcome, unit=unit, campaign=campaign)
    units, outcome_only = units_table(prep, exposure_events)
    return counts_from(prep, units, outcome_only, compare_by=compare_by, exposure_events=exposure_events)
