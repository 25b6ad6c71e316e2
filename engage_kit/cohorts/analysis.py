"""The whole cohort analysis behind the ``cohort_retention`` report, as one call.

:func:`executive_summary` and :func:`segment_summary` give the headline figures;
:func:`analyse` builds the cohort matrix, its retention and revenue views, the survival
curves and the segment comparison from a dataset, and :meth:`CohortAnalysis.results` gives
the figures of ``cohort_retention/results.json`` (:func:`results_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..activity import default_active_days
from ..stats import Estimate
from .compare import TrendResult, retention_trend, segment_difference
from .matrix import CohortMatrix, cohort_matrix
from .params import SUMMARY_OFFSETS, _non_negative_int, _resolve_as_of, as_table, check_period
from .retention import average_retention, cohort_curves, extreme_cohorts
from .revenue import RevenueRetention, earlier_cohorts_share, revenue_retention
from .subscriptions import SubscriberRetention, subscriber_retention
from .survival import lapse_durations, survival_curves, survival_summary


def executive_summary(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    trend_offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Headline figures: customers, cohorts, average retention at ``offsets``, trend, extremes.

    Returns a dict with ``period``, ``cohorts`` (number of cohorts), ``cohorts_charted``
    (those with at least ``min_cohort_size`` customers), ``customers``, ``average_retention``
    ({offset: Estimate}, size-weighted, only cohorts that completed the offset),
    ``trend`` (:class:`TrendResult` at ``trend_offset``) and ``extremes`` (best and worst
    cohort at ``trend_offset``).
    """
    m = matrix.overall()
    min_cohort_size = _non_negative_int("min_cohort_size", min_cohort_size)
    return {
        "period": m.period,
        "retention_mode": m.retention_mode,
        "cohort_by": m.cohort_by,
        "cohorts": m.n_cohorts,
        "cohorts_charted": int(len(m.eligible(min_cohort_size))),
        "customers": m.customers,
        "first_cohort": m.cohorts["cohort"].iloc[0],
        "last_cohort": m.cohorts["cohort"].iloc[-1],
        "average_retention": average_retention(m, offsets=offsets, min_cohort_size=min_cohort_size),
        "trend": retention_trend(m, offset=trend_offset, min_cohort_size=min_cohort_size, alpha=alpha),
        "extremes": extreme_cohorts(m, offset=trend_offset, min_cohort_size=min_cohort_size),
    }


def segment_summary(
    matrix: CohortMatrix,
    *,
    offsets: tuple[int, ...] = SUMMARY_OFFSETS,
    trend_offset: int = 1,
    min_cohort_size: int = 1,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per segment: customers, cohorts, average retention at ``offsets``, trend.

    ``min_cohort_size`` applies to the segment's own cohorts (segment × period). Columns:
    ``segment, customers, cohorts, retention_<k>, retention_<k>_low, retention_<k>_high,
    nrr_<k>`` (average net revenue retention), ``trend, trend_p_value``.
    """
    rows = []
    for seg, m in matrix.split().items():
        avg = average_retention(m, offsets=offsets, min_cohort_size=min_cohort_size)
        tr = retention_trend(m, offset=trend_offset, min_cohort_size=min_cohort_size, alpha=alpha)
        row: dict[str, Any] = {"segment": seg, "customers": m.customers, "cohorts": m.n_cohorts}
        for k in offsets:
            e = avg.get(k)
            row[f"retention_{k}"] = e.value if e else np.nan
            row[f"retention_{k}_low"] = e.low if e else np.nan
            row[f"retention_{k}_high"] = e.high if e else np.nan
        nrr = revenue_retention(m, min_cohort_size=min_cohort_size).average_nrr.set_index("offset")["value"]
        for k in offsets:
            row[f"nrr_{k}"] = float(nrr[k]) if k in nrr.index else np.nan
        row["trend"] = tr.direction
        row["trend_p_value"] = tr.p_value
        rows.append(row)
    return pd.DataFrame(rows)


def results_dict(
    summary: dict[str, Any],
    *,
    revenue: RevenueRetention | None = None,
    survival: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    segment_test: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The figures for results.json (dotted keys nest; rates as {value, low, high, n})."""
    out: dict[str, Any] = {
        "period": summary["period"],
        "cohort_by": summary["cohort_by"],
        "retention_mode": summary["retention_mode"],
        "cohorts": summary["cohorts"],
        "cohorts_charted": summary["cohorts_charted"],
        "customers": summary["customers"],
        "first_cohort": summary["first_cohort"],
        "last_cohort": summary["last_cohort"],
        "average_retention": {str(k): e for k, e in summary["average_retention"].items()},
        "trend": summary["trend"].to_dict(),
    }
    for name, ex in (summary.get("extremes") or {}).items():
        out[f"{name}_cohort"] = {"cohort": ex["cohort"], "retention": ex["retention"]}
    if revenue is not None and not revenue.average_nrr.empty:
        out["net_revenue_retention"] = {
            str(int(r.offset)): float(r.value) for r in revenue.average_nrr.itertuples() if r.offset in SUMMARY_OFFSETS
        }
    share = earlier_cohorts_share(revenue) if revenue is not None else None
    if share is not None:
        out["revenue_from_earlier_cohorts"] = {"period": share["period"], "revenue": share["revenue"],
                                               "share": share["share"]}
    if survival is not None and len(survival):
        s = survival.iloc[0]
        out["survival"] = {
            "lapsed_share": Estimate(float(s["lapsed_share"]), float(s["lapsed_low"]), float(s["lapsed_high"]),
                                     int(s["customers"]), "wilson"),
            "median_days": Estimate(float(s["median_days"]), float(s["median_low"]), float(s["median_high"]),
                                    int(s["customers"]), "kaplan-meier"),
            "one_day_only": Estimate(float(s["one_day"]), float(s["one_day_low"]), float(s["one_day_high"]),
                                     int(s["customers"]), "kaplan-meier"),
        }
        if "survival_365d" in survival.columns and pd.notna(s["survival_365d"]):
            out["survival"]["still_buying_after_one_year"] = float(s["survival_365d"])
    if segments is not None and len(segments):
        out["segments"] = {
            str(r["segment"]): {
                "customers": int(r["customers"]),
                "average_retention": {
                    c.split("_")[1]: r[c] for c in segments.columns
                    if c.startswith("retention_") and c.count("_") == 1 and pd.notna(r[c])
                },
                "trend": {"direction": r["trend"], "p_value": r["trend_p_value"]},
            }
            for _, r in segments.iterrows()
        }
    if segment_test is not None:
        out["segment_test"] = segment_test
    return out


@dataclass
class CohortAnalysis:
    """Everything the cohort report shows (see :func:`analyse`).

    Attributes
    ----------
    matrix : the cohort matrix, split by ``segment`` when one is given.
    overall : the matrix with the segments added together.
    summary : :func:`executive_summary` of ``overall``.
    revenue : :func:`revenue_retention` of ``overall``.
    lapses, curves, survival : :func:`lapse_durations`, :func:`survival_curves` and
        :func:`survival_summary` (``curves`` and ``survival`` None without follow-up).
    segments, segment_test : :func:`segment_summary` and :func:`segment_difference` (None
        without a segment).
    trend_table : :func:`cohort_curves` of ``overall`` at ``trend_offset``.
    subscriptions : :func:`~engage_kit.cohorts.subscriptions.subscriber_retention` when the
        customers table gives cancellations (``cancelled_at``), else None.
    without_customers : sign-up cohorts or a segment split were asked for but the dataset
        has no customers table, so the analysis uses first-purchase cohorts and no split.
    """

    period: str
    cohort_by: str
    segment: str | None
    min_cohort_size: int
    trend_offset: int
    inactivity_days: int
    censor_at: str
    without_customers: bool
    matrix: CohortMatrix
    overall: CohortMatrix
    summary: dict[str, Any]
    revenue: RevenueRetention
    lapses: pd.DataFrame
    has_survival: bool
    curves: dict[str, pd.DataFrame] | None
    survival: pd.DataFrame | None
    segments: pd.DataFrame | None
    segment_test: dict[str, Any] | None
    trend_table: pd.DataFrame
    subscriptions: SubscriberRetention | None = None

    @property
    def trend(self) -> TrendResult:
        """The cohort trend test at ``trend_offset``."""
        return self.summary["trend"]

    def results(self) -> dict[str, Any]:
        """The figures for ``ctx.write_results`` (results.json), see :func:`results_dict`."""
        out = results_dict(self.summary, revenue=self.revenue, survival=self.survival, segments=self.segments,
                           segment_test=self.segment_test)
        if self.subscriptions is not None:
            out["subscriptions"] = self.subscriptions.results()
        return out


def analyse(
    ds: Any,
    *,
    period: str | None = None,
    cohort_by: str = "first_purchase",
    metric: str = "customers",
    retention_mode: str = "n_period",
    segment: str | None = None,
    max_periods: int | None = None,
    min_cohort_size: int = 30,
    inactivity_days: int | None = None,
    trend_offset: int = 1,
    censor_at: str = "lapse_horizon",
) -> CohortAnalysis:
    """Cohort matrix, retention, revenue, survival and segment views of a dataset.

    Parameters
    ----------
    ds : Dataset
        The opened dataset: its ``orders`` (purchases and returns), ``as_of``, the
        configured ``period`` and, when it has one, its ``customers`` table.
    period : {"W", "M", "Q"}, optional
        Cohort period; None takes the config's.
    cohort_by, metric, retention_mode, segment, max_periods
        As in :func:`cohort_matrix`. Without a customers table, sign-up cohorts and the
        segment split fall back to first-purchase cohorts and no split
        (``without_customers`` True).
    min_cohort_size : int
        Smaller cohorts are left out of the averages, curves and tests (never out of the
        matrices).
    inactivity_days, censor_at
        As in :func:`lapse_durations`; ``inactivity_days`` None is chosen from the data
        (:func:`engage_kit.activity.default_active_days`) and kept in the result.
    trend_offset : int
        Offset at which recent and older cohorts are compared.
    """
    period = check_period(period or ds.config.period)
    if inactivity_days is None:
        orders = as_table(ds.orders, name="transactions", required=("customer_id", "timestamp", "amount"))
        inactivity_days = default_active_days(orders, as_of=_resolve_as_of(orders, ds.as_of))
    customers = ds["customers"] if ds.has("customers") else None
    without_customers = customers is None and (cohort_by == "signup" or bool(segment))
    if without_customers:
        cohort_by, segment = "first_purchase", None
    matrix = cohort_matrix(
        ds.orders, period=period, metric=metric, retention_mode=retention_mode, as_of=ds.as_of,
        cohort_by=cohort_by, customers=customers, segment=segment, max_periods=max_periods,
    )
    overall = matrix.overall()
    summary = executive_summary(overall, trend_offset=trend_offset, min_cohort_size=min_cohort_size)
    revenue = revenue_retention(overall, min_cohort_size=min_cohort_size)
    lapses = lapse_durations(
        ds.orders, as_of=ds.as_of, inactivity_days=inactivity_days, customers=customers, segment=segment,
        censor_at=censor_at,
    )
    has_survival = bool(lapses["followed"].any())
    curves = survival_curves(lapses) if has_survival else None
    survival = survival_summary(lapses, curves) if has_survival else None
    segments = segment_summary(matrix, trend_offset=trend_offset, min_cohort_size=min_cohort_size) if segment else None
    segment_test = (segment_difference(matrix, offset=trend_offset, min_cohort_size=min_cohort_size)
                    if segment else None)
    cc = cohort_curves(overall, min_cohort_size=min_cohort_size)
    subscriptions = subscriber_retention(customers, period, as_of=ds.as_of)
    return CohortAnalysis(
        period=period, cohort_by=cohort_by, segment=segment, min_cohort_size=min_cohort_size,
        trend_offset=trend_offset, inactivity_days=inactivity_days, censor_at=censor_at,
        without_customers=without_customers, matrix=matrix, overall=overall, summary=summary, revenue=revenue,
        lapses=lapses, has_survival=has_survival, curves=curves, survival=survival, segments=segments,
        segment_test=segment_test, trend_table=cc[cc["offset"] == trend_offset], subscriptions=subscriptions,
    )
