"""Satisfaction KPIs from survey answers: NPS, CSAT and CES.

Scales (fixed by the survey kinds of the data contract): NPS 0-10, CSAT 1-5, CES 1-7,
whole numbers. An answer off its scale (an NPS of 11, a CSAT of 0, a CES of 4.5) is a
:class:`~engage_kit.errors.DataError` naming the rows, never silently dropped. Answers
of other kinds are ignored by each measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    check_scale,
    fill0,
    finish,
    t_mean,
    to_table,
    wilson,
    window,
    z_value,
)

__all__ = ["SCALES", "nps", "csat", "ces_mean", "ces_share_high"]

SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _answers(surveys: TableLike, kind: str, start: DateLike, as_of: DateLike):
    t = to_table(surveys, "surveys")
    lo, hi = SCALES[kind]
    check_scale(t, kind, lo, hi, surveys if isinstance(surveys, pd.DataFrame) else None)
    t = window(t, "timestamp", start=start, as_of=as_of)
    return t.filter((t.kind.lower() == kind) & t.score.notnull())


def _share(
    surveys: TableLike, kind: str, lo: int, *, period, by, customers, start, as_of, confidence, names
) -> Metric | pd.DataFrame:
    period = check_period(period)
    t = _answers(surveys, kind, start, as_of)
    k, n = names
    df, keys = aggregate(
        t, "timestamp", lambda x: {k: (x.score >= lo).sum(), n: x.count()},
        table="surveys", period=period, by=by, customers=customers,
    )
    df = wilson(fill0(df, [k, n]), k, n, confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=[k, n])


def nps(
    surveys: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Net Promoter Score NPS = 100 · (promoters − detractors) / answers.

    Promoters answer 9-10, detractors 0-6, passives 7-8, on the 0-10 "how likely are you
    to recommend" scale (Reichheld 2003). Unit: points from −100 to 100.

    Interval: normal approximation with Var(NPS) = 100² · (p + d − (p − d)²) / n, p and d
    the promoter and detractor shares (the variance of a difference of two multinomial
    shares), clipped to [−100, 100].

    Parameters
    ----------
    surveys : Ibis table or DataFrame
        Canonical surveys (timestamp, kind, score); rows of kind ``nps`` are used.
    period : {"W", "M", "Q"}, optional
        One row per calendar period of the answer's timestamp.
    by : str, optional
        ``touchpoint``, ``channel`` or a customer attribute (with ``customers``).

    Returns
    -------
    Metric or DataFrame
        Counts ``promoters``, ``passives``, ``detractors``, ``answers``.
    """
    period = check_period(period)
    t = _answers(surveys, "nps", start, as_of)
    df, keys = aggregate(
        t, "timestamp",
        lambda x: {"promoters": (x.score >= 9).sum(), "detractors": (x.score <= 6).sum(), "answers": x.count()},
        table="surveys", period=period, by=by, customers=customers,
    )
    df = fill0(df, ["promoters", "detractors", "answers"])
    df["passives"] = df["answers"] - df["promoters"] - df["detractors"]
    z = z_value(confidence)
    n = df["answers"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = df["promoters"].to_numpy(dtype=float) / n
        d = df["detractors"].to_numpy(dtype=float) / n
        value = 100 * (p - d)
        half = z * 100 * np.sqrt(np.maximum(p + d - (p - d) ** 2, 0) / n)
    ok = n > 0
    df["value"] = np.where(ok, value, np.nan)
    df["low"] = np.where(ok, np.clip(value - half, -100, 100), np.nan)
    df["high"] = np.where(ok, np.clip(value + half, -100, 100), np.nan)
    df["n"] = n.astype("int64")
    df["method"] = "nps-normal"
    return finish(df, keys, by=by, period=period, as_of=as_of,
                  counts=["promoters", "passives", "detractors", "answers"])


def csat(
    surveys: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Customer satisfaction CSAT = answers of 4 or 5 / all answers, on the 1-5 scale.

    Unit: fraction of answers ("satisfied" or "very satisfied"); Wilson interval.
    Counts ``satisfied``, ``answers``.
    """
    return _share(surveys, "csat", 4, period=period, by=by, customers=customers, start=start,
                  as_of=as_of, confidence=confidence, names=("satisfied", "answers"))


def ces_share_high(
    surveys: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Customer effort score, share of answers 5-7 on the 1-7 scale.

    Unit: fraction of answers in the top three points; Wilson interval. Whether the top
    of the scale is good ("the company made it easy", CES 2.0) or bad ("how much effort
    did you have to make") depends on the question asked. Counts ``top_box``, ``answers``.
    """
    return _share(surveys, "ces", 5, period=period, by=by, customers=customers, start=start,
                  as_of=as_of, confidence=confidence, names=("top_box", "answers"))


def ces_mean(
    surveys: TableLike,
    *,
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> Metric | pd.DataFrame:
    """Customer effort score CES = mean answer on the 1-7 scale (Dixon, Freeman and Toman 2010).

    Unit: points 1-7. Interval: t interval of the mean. Counts ``score_sum``, ``answers``.
    """
    period = check_period(period)
    t = _answers(surveys, "ces", start, as_of)
    df, keys = aggregate(
        t, "timestamp",
        lambda x: {"score_sum": x.score.sum(), "answers": x.count(), "_mean": x.score.mean(), "_sd": x.score.std()},
        table="surveys", period=period, by=by, customers=customers,
    )
    df = t_mean(fill0(df, ["score_sum", "answers"]), "answers", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["score_sum", "answers"])
