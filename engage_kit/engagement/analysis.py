"""The whole engagement analysis of a dataset (:func:`analyse`) and its results.json.

Three dates (each inclusive, components over the trailing ``window_days``):

- ``as_of``: the score everybody gets now, with the weights learned at the cutoff;
- ``cutoff = as_of − horizon_days``: the weights are learned here, against purchases in
  the ``horizon_days`` after it (up to ``as_of``); the score is validated here too;
- ``train_cutoff = cutoff − horizon_days``: the validation's weights are learned here, so
  the check at the cutoff scores customers with weights that never saw the purchases it is
  checked against (out of time). When the data do not reach back that far, the
  validation uses the cutoff's own weights and says so.

Only the customers at the cutoffs (a hash-drawn sample of at most ``max_training_rows``,
stratified by the outcome; 200,000 by default) come into pandas to fit and
check; the scores of all customers stay in the engine and are written by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ..churn.sampling import class_counts, stratified_sample
from ..engine import cache, training_cap
from ..errors import ParameterError
from ..stats import Estimate
from . import components as comp
from . import movement as mv
from . import scoring as sc
from . import validation as val

LABEL = "active_next"


@dataclass
class EngagementAnalysis:
    """What the notebook shows: scores now, weights, validation, movement, drivers."""

    as_of: pd.Timestamp
    cutoff: pd.Timestamp
    window_days: int
    horizon_days: int
    cuts: tuple[float, float]
    weights_mode: str
    components: tuple[str, ...] = ()
    left_out: dict[str, str] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    scores: Any = None  # ibis table: customer_id, score, level, ranks, raw values
    counts: pd.DataFrame | None = None
    validation: dict[str, Any] = field(default_factory=dict)
    transitions: pd.DataFrame | None = None
    previous_end: pd.Timestamp | None = None
    mix: pd.DataFrame | None = None
    segment: str | None = None
    segments: pd.DataFrame | None = None
    means: pd.DataFrame | None = None
    drivers: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    why: str | None = None  # why there is no score at all

    @property
    def customers(self) -> int:
        return int(self.counts["customers"].sum()) if self.counts is not None else 0

    def export_table(self) -> ibis.Table:
        """customer_id, score, level and each component's rank, highest score first."""
        cols = ["customer_id", "score", "level", *[comp.rank_column(c) for c in self.components]]
        return self.scores.select(*cols).order_by([ibis.desc("score"), "customer_id"])

    def moved_down(self) -> int | None:
        return mv.moved(self.transitions, "down") if self.transitions is not None else None

    def results(self) -> dict[str, Any]:
        """The results.json figures (DESIGN.md, Output contract)."""
        out: dict[str, Any] = {
            "as_of": self.as_of.date().isoformat(),
            "cutoff": self.cutoff.date().isoformat(),
            "window_days": self.window_days,
            "horizon_days": self.horizon_days,
            "cut_points": list(self.cuts),
            "weights_mode": self.weights_mode,
            "components": list(self.components),
            "left_out": dict(self.left_out),
        }
        if self.why:
            reason = {"value": None, "reason": self.why}
            out.update({"customers": 0, "not_applicable": self.why, "moved_down": reason,
                        "validation": {"roc_auc": reason, "recency_roc_auc": reason}})
            return out
        rates = self.validation.get("level_rates", {})
        v_reason = self.validation.get("reason")
        levels = {}
        for _, r in self.counts.iterrows():
            e = rates.get(r["level"])
            nxt = e.to_dict() if e is not None and e.n > 0 else {
                "value": None, "reason": v_reason or f"no {r['level']} customers at the cutoff"}
            levels[r["level"]] = {"customers": int(r["customers"]), "share": float(r["share"]), "next_active": nxt}
        out["customers"] = self.customers
        out["levels"] = levels
        out["weights"] = {c: float(w) for c, w in self.weights.items()}
        out["validation"] = self.validation_results()
        out["moved_down"] = self.moved_down()
        out["moved_up"] = mv.moved(self.transitions, "up")
        out["previous_period_end"] = self.previous_end.date().isoformat() if self.previous_end is not None else None
        if self.mix is not None and len(self.mix):  # the level mix at each period end (the stacked chart)
            out["mix"] = {f"{pd.Timestamp(r.period_end).date().isoformat()}.{r.level}": float(r.share)
                          for r in self.mix.itertuples(index=False)}
        t = self.transitions
        if t is not None and len(t):  # share of each level then that is at each level now
            out["transitions"] = {f"{r.before}.{r.now}": {"customers": int(r.customers), "share": _share(r.share)}
                                  for r in t.itertuples(index=False)}
        if self.drivers is not None and len(self.drivers):  # the signals that set each level apart, as quoted
            out["drivers"] = [{"level": str(r.level), "component": str(r.component), "level_mean": float(r.level_mean),
                               "all_mean": float(r.all_mean), "ratio": float(r.ratio)}
                              for r in self.drivers.itertuples(index=False)]
        if self.segments is not None:
            out["segments"] = {str(r["segment"]): {"customers": int(r["customers"]), "high": float(r["high"]),
                                                   "low": float(r["low"]), "moved_down": int(r["moved_down"])}
                               for _, r in self.segments.iterrows()}
        return out

    def validation_results(self) -> dict[str, Any]:
        v = self.validation
        reason = v.get("reason")

        def figure(key: str) -> Any:
            e = v.get(key)
            if isinstance(e, Estimate) and np.isfinite(e.value):
                return e.to_dict()
            return {"value": None, "reason": reason or "only one outcome among the customers at the cutoff"}

        trend = v.get("trend") or {}
        better = v.get("versus_recency")
        return {
            "roc_auc": figure("score"),
            "recency_roc_auc": figure("recency"),
            "frequency_roc_auc": figure("frequency"),
            "score_minus_recency": figure("versus_recency"),
            "better_than_recency": bool(better.low > 0) if isinstance(better, Estimate) and np.isfinite(better.low) else None,
            "trend": {"z": trend.get("z"), "p_value": trend.get("p_value"), "rises": trend.get("rises")},
            "customers": int(v.get("customers", 0)),
            "weights_learned_at": v.get("weights_at"),
            "out_of_time": bool(v.get("out_of_time", False)),
        }


def _label(purchases: ibis.Table, population: ibis.Table, *, cutoff: pd.Timestamp, horizon_days: int) -> ibis.Table:
    """``population`` with ``active_next`` = 1 when the customer bought in the ``horizon_days``
    after ``cutoff`` (timestamps in [cutoff + 1 day, cutoff + 1 day + horizon_days))."""
    start = comp.day_end(cutoff)
    stop = start + pd.Timedelta(days=int(horizon_days))
    p = purchases
    later = p.filter(p.timestamp >= start.to_pydatetime(), p.timestamp < stop.to_pydatetime())
    later = later.select("customer_id").distinct().mutate(_bought=ibis.literal(1))
    j = population.left_join(later, population.customer_id == later.customer_id)
    return j.select(population, **{LABEL: j._bought.fill_null(0).cast("int64")})


def _fetch(t: ibis.Table, cap: int | None, random_state: int) -> tuple[pd.DataFrame, int]:
    """A bounded frame in pandas, ordered by customer_id (a stratified hash sample above ``cap``),
    and the number of customers it was drawn from."""
    counts = class_counts(t, LABEL)
    t = stratified_sample(t, cap, random_state=random_state, label=LABEL, counts=counts)
    return t.order_by("customer_id").to_pyarrow().to_pandas(), sum(counts.values())


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise ParameterError(f"{name} must be a whole number of at least {low}; got {value!r}")
    return int(value)


def analyse(
    ds: Any,
    *,
    window_days: int = 180,
    horizon_days: int = 90,
    weights: Any = "learned",
    levels: Any = (33, 66),
    period: str | None = None,
    periods: int = 6,
    segment: str | None = None,
    max_training_rows: int | None = None,
    n_boot: int = 500,
    random_state: int = 0,
) -> EngagementAnalysis:
    """Score every customer's engagement at ``as_of`` and check the score out of time.

    Parameters
    ----------
    ds : Dataset
        A loaded dataset (transactions needed).
    window_days : int
        Trailing window of the components (days).
    horizon_days : int
        The outcome window: bought in the ``horizon_days`` after a cutoff (days).
    weights : "learned", "equal" or mapping
        How the component ranks are weighted (see :mod:`.scoring`).
    levels : two numbers
        Cut points of the 0-100 score between low, medium and high.
    period : "W", "M" or "Q", optional
        Periods of the movement views (default: the config's).
    periods : int
        Period ends in the level mix.
    segment : str, optional
        A customers column to split the levels by.
    max_training_rows : int, optional
        Cap on the customers pulled to fit and check (default:
        :data:`engage_kit.engine.MODEL_TRAINING_ROWS`, 200,000, on every engine).
    n_boot : int
        Bootstrap draws of the AUC intervals.
    random_state : int
        Seed of the sample and the bootstrap.
    """
    window_days = _check_int("window_days", window_days)
    horizon_days = _check_int("horizon_days", horizon_days)
    periods = _check_int("periods", periods)
    cuts = sc.check_levels(levels)
    period = str(period or ds.config.period).upper()
    if period not in mv.PERIOD_FREQ:
        raise ParameterError(f"period must be W, M or Q; got {period!r}")
    as_of = pd.Timestamp(ds.as_of).normalize()
    cutoff = as_of - pd.Timedelta(days=horizon_days)
    tables = comp.engagement_tables(ds)
    mode_in = sc.check_weights(weights, tuple(comp.COMPONENTS))
    a = EngagementAnalysis(as_of=as_of, cutoff=cutoff, window_days=window_days, horizon_days=horizon_days, cuts=cuts,
                           weights_mode=mode_in if isinstance(mode_in, str) else "given")
    if segment is not None and (not ds.has("customers") or segment not in ds.table("customers").columns):
        raise ParameterError(f"segment '{segment}' is not a column of the customers table"
                             + (f"; columns: {', '.join(ds.customer_attributes())}" if ds.has("customers") else
                                " (this dataset has no customers table)"))
    if "purchases" not in tables:
        a.why = "this report needs a transactions table"
        return a
    candidates = comp.candidate_components(tables)
    raw_now = cache(comp.raw_components(tables, date=as_of, window_days=window_days))  # read four times
    n_now = int(raw_now.count().execute())
    if n_now < 2:
        a.why = (f"only {n_now} customer bought before {as_of.date()}; ranking customers against each other needs "
                 "at least two")
        a.left_out = {k: r for k, r in candidates.items() if r}
        return a
    avail = comp.available_components(raw_now, candidates, window_days=window_days)
    a.left_out = {k: r for k, r in avail.items() if r}
    a.components = tuple(k for k in comp.COMPONENTS if avail[k] is None)
    if not a.components:
        a.why = "no engagement signal tells customers apart in this window"
        return a
    comps = a.components
    cap = training_cap(raw_now, max_training_rows, every_engine=True)

    def ranked_at(date: pd.Timestamp) -> ibis.Table:
        return comp.ranked(comp.raw_components(tables, date=date, window_days=window_days, components=comps), comps)

    scored_at: dict[pd.Timestamp, ibis.Table] = {}

    def scored_on(date: pd.Timestamp) -> ibis.Table:
        """Every customer's score on ``date`` with the report's weights (built once per date)."""
        if date not in scored_at:
            scored_at[date] = sc.scored(ranked_at(date), a.weights, cuts)
        return scored_at[date]

    # the cutoff: learn the weights of the score now; check the score
    # each table read by several queries is worked out once and kept in the engine (on 10M
    # rows a table of every customer's components costs about 4 s to build)
    at_cut = cache(_label(tables["purchases"], ranked_at(cutoff), cutoff=cutoff, horizon_days=horizon_days))
    frame_cut, n_cut = _fetch(at_cut, cap, random_state)
    if len(frame_cut) < n_cut:
        a.notes.append(f"the weights are learned and the score is checked on a stratified sample of {len(frame_cut):,} "
                       f"of the {n_cut:,} customers at {cutoff.date()}; every customer is scored")
    model_cut = sc.fit_logistic(frame_cut, comps) if len(frame_cut) else None
    if isinstance(mode_in, dict):
        a.weights = sc.normalise(mode_in, comps)
        ignored = sorted(set(mode_in) - set(comps))
        if ignored:
            a.notes.append("weights given for components without data were left out: " + ", ".join(ignored))
    elif mode_in == "equal":
        a.weights = sc.equal_weights(comps)
    elif model_cut is None:
        a.weights = sc.equal_weights(comps)
        a.notes.append(f"weights could not be learned (nobody, or everybody, bought in the {horizon_days} days after "
                       f"{cutoff.date()}), so every component has the same weight")
        a.weights_mode = "equal"
    else:
        a.weights = sc.learned_weights(model_cut, comps)

    # the validation's weights: learned one horizon earlier when the data reach back
    val_weights, val_model, weights_at, out_of_time = a.weights, model_cut, cutoff, a.weights_mode != "learned"
    if a.weights_mode == "learned":
        train_cutoff = cutoff - pd.Timedelta(days=horizon_days)
        at_train = cache(_label(tables["purchases"], ranked_at(train_cutoff), cutoff=train_cutoff,
                                horizon_days=horizon_days))
        frame_train, _ = _fetch(at_train, cap, random_state)
        model_train = sc.fit_logistic(frame_train, comps) if len(frame_train) > 1 else None
        if model_train is not None:
            val_weights, val_model, weights_at, out_of_time = (
                sc.learned_weights(model_train, comps), model_train, train_cutoff, True)
        else:
            a.notes.append(f"the data do not reach back to {train_cutoff.date()} with customers who did and did not buy "
                           "after it, so the check uses the weights learned at the cutoff itself (in sample)")
    a.validation = _validate(frame_cut, at_cut, val_weights, val_model, cuts, comps, n_boot=n_boot,
                             random_state=random_state, horizon_days=horizon_days, cutoff=cutoff)
    a.validation.update(weights_at=weights_at.date().isoformat(), out_of_time=out_of_time)

    # now: every customer's score, level counts, drivers
    a.scores = scored_at[as_of] = cache(sc.scored(comp.ranked(raw_now, comps), a.weights, cuts))
    a.counts = mv.level_counts(a.scores)
    a.means = mv.level_means(a.scores, comps)
    a.drivers = mv.drivers(a.means, comps)

    # movement: the previous period end, the mix by period, segments
    first = tables["purchases"].timestamp.min().execute()
    a.previous_end = mv.previous_end(as_of, period)
    before = scored_at[a.previous_end] = cache(scored_on(a.previous_end))
    a.transitions = mv.transitions(a.scores, before)
    ends = mv.period_ends(as_of, period, periods, first=first)
    a.mix = mv.mix_by_period({e: scored_on(e) for e in ends})
    if segment is not None:
        a.segment = segment
        a.segments = mv.segment_mix(a.scores, before, ds.table("customers"), segment)
    return a


def _validate(frame: pd.DataFrame, at_cut: ibis.Table, weights: dict[str, float], model: Any,
              cuts: tuple[float, float], comps: tuple[str, ...], *, n_boot: int, random_state: int,
              horizon_days: int, cutoff: pd.Timestamp) -> dict[str, Any]:
    """AUCs, level rates, trend test and calibration of the score at the cutoff."""
    t = sc.scored(at_cut, weights, cuts)
    t = t.filter(t.level.notnull())
    counts = t.group_by("level").aggregate(customers=t.count(), buyers=t[LABEL].sum()).execute()
    out: dict[str, Any] = {"customers": int(counts["customers"].sum()) if len(counts) else 0}
    if not out["customers"]:
        out["reason"] = f"no customer had bought by the cutoff {cutoff.date()}"
        return out
    out["level_rates"] = val.level_rates(counts)
    out["counts"] = counts
    out["trend"] = val.trend_test(counts)
    y = frame[LABEL].astype(float).to_numpy()
    if len(np.unique(y)) < 2:
        out["reason"] = (f"{'nobody' if y.sum() == 0 else 'everybody'} bought in the {horizon_days} days after the "
                         f"cutoff {cutoff.date()}, so there is nothing to tell apart")
        return out
    score = np.asarray(_score_in_pandas(frame, weights), dtype=float)
    ranks = {"recency": comp.rank_column("recency"), "frequency": comp.rank_column("frequency")}
    scores = {"score": np.nan_to_num(score, nan=0.0)}
    scores.update({k: frame[c].astype(float).fillna(0.0).to_numpy() for k, c in ranks.items() if c in frame})
    out.update(val.auc_estimates(y, scores, n_boot=n_boot, random_state=random_state))
    if "recency" in scores:
        out["versus_recency"] = val.auc_difference(y, scores["score"], scores["recency"], n_boot=n_boot,
                                                   random_state=random_state)
    prob = model.predict_proba(sc.design_matrix(frame, comps))[:, 1] if model is not None else np.full(len(y), np.nan)
    out["calibration"] = val.calibration_table(score, prob, y)
    return out


def _score_in_pandas(frame: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """:func:`.scoring.score_expr` on a pulled frame (the same formula, for the bootstrap)."""
    num = np.zeros(len(frame))
    den = np.zeros(len(frame))
    for c, w in weights.items():
        if w <= 0:
            continue
        r = frame[comp.rank_column(c)].astype(float).to_numpy()
        ok = np.isfinite(r)
        num += np.where(ok, r * w, 0.0)
        den += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * num / den, np.nan)


def _share(value: Any) -> float | None:
    """A share for results.json: None where it is not a number (a level nobody was in)."""
    return float(value) if value is not None and np.isfinite(float(value)) else None
