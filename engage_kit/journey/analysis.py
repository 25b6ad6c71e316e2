"""The whole customer-journey analysis of a dataset and its results.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..errors import ParameterError
from . import funnel as fn
from . import leads as ld
from . import paths as pa
from . import timing as tm
from .people import STAGES, People, people


@dataclass
class JourneyAnalysis:
    """What the notebook shows: funnel, groups, times, paths, credit, leads (see :func:`analyse`)."""

    people: People
    funnel: pd.DataFrame
    by_source: tuple[pd.DataFrame, pd.DataFrame] | None
    by_channel: tuple[pd.DataFrame, pd.DataFrame] | None
    to_first: tm.TimeToConvert
    to_repeat: tm.TimeToConvert
    paths: pd.DataFrame  # path strings with people, converted
    path_table: pd.DataFrame  # paths.csv
    leaving: pd.DataFrame
    attribution: pd.DataFrame
    transitions: pd.DataFrame
    leads: ld.LeadFigures | None
    periods: pd.DataFrame
    period: str
    max_path_steps: int
    min_group_size: int
    reasons: dict[str, str | None] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(self.funnel["people"].iloc[0]) if len(self.funnel) else 0

    def journeys(self) -> ibis.Table:
        """journeys.csv: per person the stage dates, lead source, acquisition channel and path."""
        st = self.people.stages
        cols = ["person", "customer_id", "source", "acquisition_channel", *[f"{s}_at" for s in STAGES]]
        if self.people.steps is None:
            out = st.select(*cols, furthest_stage=_stage_name(st.furthest), path=ibis.null("string"))
        else:
            p = pa.path_strings(self.people.steps, max_steps=self.max_path_steps)
            j = st.left_join(p, "person")
            out = j.select(*[st[c] for c in cols], furthest_stage=_stage_name(st.furthest), path=p.path)
        return out.order_by("person")

    def results(self) -> dict[str, Any]:
        """results.json (see README, customer_journey)."""
        return results_dict(self)


def _stage_name(idx: ibis.Value) -> ibis.Value:
    return ibis.cases(*[(idx == k, s) for k, s in enumerate(STAGES)], else_=ibis.null("string"))


def _check(max_path_steps: Any, min_group_size: Any, top_paths: Any, period: Any) -> None:
    for name, v, lo in (("max_path_steps", max_path_steps, 1), ("min_group_size", min_group_size, 1),
                        ("top_paths", top_paths, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ParameterError(f"The '{name}' parameter must be a whole number of at least {lo}. Got {v!r} instead.")
    if period not in ld.PERIOD_UNITS:
        raise ParameterError(f"The 'period' parameter must be one of W, M, Q. Got {period!r} instead.")


def analyse(ds: Any, *, period: str | None = None, max_path_steps: int = 5, min_group_size: int = 30,
            top_paths: int = 10) -> JourneyAnalysis:
    """Run the customer-journey analysis on a dataset.

    Parameters
    ----------
    ds : Dataset
        A validated dataset with transactions and leads or touches.
    period : {"W", "M", "Q"}, optional
        Period of the leads and form fills counts; None: the config's period.
    max_path_steps : int
        Channels shown per path (the last ones before the purchase).
    min_group_size : int
        People; smaller lead sources or acquisition channels stay out of the tests.
    top_paths : int
        Paths kept in the report's path table (paths.csv keeps all).
    """
    period = period or getattr(ds.config, "period", None) or "M"
    _check(max_path_steps, min_group_size, top_paths, period)
    pp = people(ds)
    counts = fn.furthest_counts(pp.stages)
    funnel = fn.funnel_table(counts)
    reasons: dict[str, str | None] = {}
    by_source = by_channel = None
    if pp.has_leads:
        c = fn.furthest_counts(pp.stages, "source")
        by_source = fn.group_funnels(c, min_people=min_group_size) if len(c) else None
    c = fn.furthest_counts(pp.stages, "acquisition_channel")
    by_channel = fn.group_funnels(c, min_people=min_group_size) if len(c) else None
    reasons["By lead source"] = None if by_source and len(by_source[0]) else (
        "no leads table" if not pp.has_leads else "no lead has a source")
    reasons["By acquisition channel"] = None if by_channel and len(by_channel[0]) else (
        "no acquisition channel in the customers table")
    to_first = tm.lead_to_purchase(pp.stages, ds.as_of)
    to_repeat = tm.first_to_repeat(pp.stages, ds.as_of)
    if pp.steps is not None:
        paths = pa.path_counts(pa.path_strings(pp.steps, max_steps=max_path_steps))
        attribution, trans = pa.attribution_table(pp.steps)
        leaving = pa.last_channel_before_leaving(pp.steps)
    else:
        paths = pd.DataFrame(columns=["path", "people", "converted"])
        attribution, trans = pa.attribution_table(None)
        leaving = pa.last_channel_before_leaving(None)
    path_table = pa.paths_export(paths) if len(paths) else pd.DataFrame(
        columns=["path", "people", "purchases", "conversion_rate", "conversion_low", "conversion_high"])
    reasons["Paths before the first purchase"] = None if len(paths) else "no touches before a purchase"
    reasons["Which channels get the credit"] = None if len(attribution) else (
        "no touches" if pp.steps is None else "nobody bought after a touch")
    lead_figs = ld.lead_conversion(ds) if pp.has_leads else None
    reasons["Leads"] = None if lead_figs is not None and lead_figs.rate.n > 0 else "no leads table"
    periods = ld.per_period(ds, period)
    return JourneyAnalysis(
        people=pp, funnel=funnel, by_source=by_source, by_channel=by_channel, to_first=to_first, to_repeat=to_repeat,
        paths=paths, path_table=path_table.head(10_000), leaving=leaving, attribution=attribution, transitions=trans,
        leads=lead_figs, periods=periods, period=period, max_path_steps=max_path_steps, min_group_size=min_group_size,
        reasons=reasons,
    )


def _num(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _tests(pair: tuple[pd.DataFrame, pd.DataFrame] | None) -> list[dict[str, Any]] | None:
    if not pair or pair[1].empty:
        return None
    return [{"stage": r.stage, "groups": int(r.groups), "p_value": _num(r.p_value), "p_holm": _num(r.p_holm),
             "differs": bool(r.differs)} for r in pair[1].itertuples(index=False)]


def results_dict(a: JourneyAnalysis) -> dict[str, Any]:
    """The figures of results.json; every rate ``{value, low, high, n}``, a missing one with a reason."""
    none = {"value": None, "reason": "no leads table"}
    res: dict[str, Any] = {
        "people": a.total,
        "buyers": int(a.funnel["people"].iloc[2]) if len(a.funnel) else 0,
        "period": a.period,
        "funnel": {"stages": fn.funnel_results(a.funnel),
                   "stopped": {r.stage: int(r.stopped) for r in a.funnel.itertuples(index=False)}},
        "time_to_first_purchase": {"median_days": a.to_first.median_dict(), "people": a.to_first.people,
                                   "converted": a.to_first.converted},
        "time_to_repeat_purchase": {"median_days": a.to_repeat.median_dict(), "people": a.to_repeat.people,
                                    "converted": a.to_repeat.converted},
    }
    if a.total:  # the shares of everyone the page quotes
        res["funnel"]["share_of_everyone"] = {
            r.stage: {"reached": float(r.people) / a.total, "stopped": float(r.stopped) / a.total}
            for r in a.funnel.itertuples(index=False)}
    for key, pair in (("by_source", a.by_source), ("by_acquisition_channel", a.by_channel)):
        if pair and not pair[0].empty:  # conversion from the stage before, per group and stage
            res["funnel"][key] = {f"{g}.{st}": _num(c) for g, st, c in
                                  zip(pair[0]["group"], pair[0]["stage"], pair[0]["conversion"], strict=True)}
    if a.by_source:
        res["funnel"]["by_source_tests"] = _tests(a.by_source)
    if a.by_channel:
        res["funnel"]["by_acquisition_channel_tests"] = _tests(a.by_channel)
    if len(a.attribution):
        res["attribution"] = {m: {str(r.channel): float(getattr(r, m)) for r in a.attribution.itertuples(index=False)}
                              for m in ("first_touch", "last_touch", "markov")}
    else:
        res["attribution"] = {"value": None, "reason": a.reasons.get("Which channels get the credit") or "no paths"}
    if len(a.path_table):
        top = a.path_table.iloc[0]
        res["paths"] = {"distinct": int(len(a.path_table)), "most_common": str(top["path"]), "people": int(top["people"]),
                        "most_common_conversion": _num(top["conversion_rate"])}
        if len(a.leaving):
            res["paths"]["last_contact_before_leaving"] = {str(r.channel): _num(r.share)
                                                           for r in a.leaving.itertuples(index=False)}
    if not a.periods.empty:
        res["form_fills"] = int(a.periods["form_fills"].sum())
        res["leads_created"] = int(a.periods["leads"].sum())
    if a.leads is not None:
        lf = a.leads
        res["leads"] = {
            "conversion_rate": lf.rate.to_dict() if lf.rate.n else {"value": None, "reason": "no leads"},
            "median_days_to_convert": _num(lf.median_days),
            "already_customers": lf.already_customers,
            "sources_differ_p_value": _num(lf.test_p),
            "by_source": {str(r.source): {"leads": int(r.leads), "conversion_rate": {
                "value": _num(r.rate), "low": _num(r.low), "high": _num(r.high), "n": int(r.leads)},
                "median_days": _num(r.median_days)} for r in lf.by_source.itertuples(index=False)},
        }
    else:
        res["leads"] = {"conversion_rate": none}
    return res
