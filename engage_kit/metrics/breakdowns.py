"""The KPI report's breakdowns by a label of the data, and the comparisons of two groups.

:func:`breakdowns` computes, where the data has them: first contact resolution and handle
time by contact reason; NPS, CSAT and CES by touchpoint; adoption and time to first use by
feature; exit rate and time on page by page (``pageviews``), else exit share and bounce
rate by page from the sessions. :func:`results` flattens them to the results.json keys
(``service.fcr_by_reason.<reason>``, ``adoption.<feature>.rate`` ...) and adds the
member / non-member and referred / other repeat-rate tests (:func:`comparisons`). Per
period (``breakdowns(..., period="M")``) each group's last complete period is tested
against the one before (:func:`period_changes`), as the headline KPIs are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ..engine import strip
from . import adoption, groups, pages, service
from ._common import DateLike, Metric, change_test, check_period, to_table, window
from .kpis import _has_values
from .loyalty import CAVEAT, compare

__all__ = ["breakdowns", "comparisons", "results", "period_changes", "LABELS"]

# breakdown name -> (what it measures, unit of format_value's kind)
LABELS: dict[str, tuple[str, str]] = {
    "service.fcr_by_reason": ("First contact resolution", "share"),
    "service.aht_by_reason": ("Average handle time", "seconds"),
    "satisfaction.nps_by_touchpoint": ("Net Promoter Score", "points"),
    "satisfaction.csat_by_touchpoint": ("CSAT", "share"),
    "satisfaction.ces_by_touchpoint": ("Customer effort score", "scale"),
    "adoption.rate": ("Adoption", "share"),
    "adoption.days_to_first_use": ("Median days to first use", "days"),
    "web.exit_rate_by_page": ("Exit rate", "share"),
    "web.time_on_page": ("Time on page", "seconds"),
    "web.exit_share_by_page": ("Share of exits", "share"),
    "web.bounce_rate_by_landing_page": ("Bounce rate", "share"),
}


def _touchpoints(surveys: Any, *, as_of: DateLike, confidence: float, most: int | None,
                 period: str | None = None) -> dict[str, pd.DataFrame]:
    from ._common import check_scale
    from .satisfaction import SCALES

    t = to_table(surveys, "surveys")
    for kind, (lo, hi) in SCALES.items():
        check_scale(t, kind, lo, hi, surveys if isinstance(surveys, pd.DataFrame) else None)
    t = window(t, "timestamp", as_of=as_of)
    t = t.mutate(group=strip(t.touchpoint), kind=t.kind.lower())
    t = t.filter(t.group.notnull() & (t.group != "") & t.score.notnull())
    t, keys = groups.with_period(t, "timestamp", period)
    s = t.score
    df = t.group_by(["kind", *keys]).aggregate(
        promoters=(s >= 9).sum(), detractors=(s <= 6).sum(), satisfied=(s >= 4).sum(), answers=t.count(),
        score_sum=s.sum(), _squares=(s * s).sum(),
    ).execute()
    out: dict[str, pd.DataFrame] = {}
    nps, csat, ces = (df[df["kind"] == k] for k in ("nps", "csat", "ces"))
    pk = keys[:-1]  # the period index, when per period
    if len(nps):
        out["satisfaction.nps_by_touchpoint"] = groups.per_period(
            nps[[*pk, "group", "promoters", "detractors", "answers"]],
            lambda d: groups.nps_groups(d, confidence=confidence, most=most), period=period, as_of=as_of)
    if len(csat):
        out["satisfaction.csat_by_touchpoint"] = groups.per_period(
            csat[[*pk, "group", "satisfied", "answers"]],
            lambda d: groups.proportion_groups(d, "satisfied", "answers", better="higher", confidence=confidence,
                                               most=most), period=period, as_of=as_of)
    if len(ces):
        out["satisfaction.ces_by_touchpoint"] = groups.per_period(
            ces[[*pk, "group", "answers", "score_sum", "_squares"]],
            lambda d: groups.mean_groups(d, "answers", "score_sum", "_squares", better=None, confidence=confidence,
                                         most=most).drop(columns="_squares"), period=period, as_of=as_of)
    return out


def breakdowns(
    tables: Mapping[str, Any], *, as_of: DateLike = None, confidence: float = 0.95, most: int | None = 20,
    period: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Every breakdown the data allows, by the names of :data:`LABELS` (absent when it does not).

    Each frame has :data:`.groups.GROUP_COLUMNS` (group, value, low, high, n, and the test
    against the rest of the groups) and the counts behind it; ``most`` groups at most, the
    largest first. Over all rows up to ``as_of``; with ``period`` (W, M, Q) the same per
    calendar period, with the columns period, period_start, period_end and complete first
    (median days to first use has no per-period form: a feature is first used once).
    """
    out: dict[str, pd.DataFrame] = {}
    period = check_period(period)
    kw = dict(as_of=as_of, confidence=confidence, most=most, period=period)
    tk = tables.get("tickets")
    if tk is not None and _has_values(tk, "reason", None):
        r = service.by_reason(tk, **kw)
        out["service.fcr_by_reason"], out["service.aht_by_reason"] = r["fcr"], r["aht"]
    sv = tables.get("surveys")
    if sv is not None and _has_values(sv, "touchpoint", None):
        out.update(_touchpoints(sv, **kw))
    if "usage" in tables:
        out["adoption.rate"] = adoption.feature_rates(tables["usage"], **kw)
        if period is None:
            out["adoption.days_to_first_use"] = adoption.time_to_first_use(
                tables["usage"], transactions=tables.get("transactions"), customers=tables.get("customers"),
                as_of=as_of, confidence=confidence, most=most)
    if "pageviews" in tables:
        p = pages.page_exits(tables["pageviews"], **kw)
        out["web.exit_rate_by_page"], out["web.time_on_page"] = p["exit"], p["seconds"]
    elif "web_sessions" in tables:
        ws = tables["web_sessions"]
        if _has_values(ws, "exit_page", None):
            out["web.exit_share_by_page"] = pages.exit_shares(ws, **kw)
        if _has_values(ws, "landing_page", None) and _has_values(ws, "pageviews", None):
            out["web.bounce_rate_by_landing_page"] = pages.landing_bounces(ws, **kw)
    return {k: v for k, v in out.items() if len(v)}


def period_changes(by_period: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each group's last complete period against the one before, from ``breakdowns(..., period=...)``.

    Shares use the pooled two-proportion z-test, the other figures the z-test from the two
    intervals (:func:`._common.change_test`), as :func:`.kpis.period_changes` does; p-values
    are Holm-adjusted across every group and figure tested. A group without figures in the
    period just before its last is not tested. Columns: name, group,
    previous_period, period, previous, current, delta, z, p_value, p_holm, significant.
    """
    cols = ["name", "group", "previous_period", "period", "previous", "current", "delta", "z", "p_value", "p_holm",
            "significant"]
    rows = []
    for name, df in by_period.items():
        if "period" not in df.columns:
            continue
        kind = "proportion" if LABELS[name][1] == "share" else "normal"
        done = df[df["complete"].astype(bool)]
        for grp, g in done.groupby("group", sort=True):
            g = g.sort_values("period_start")
            if len(g) < 2:
                continue
            a, b = g.iloc[-2], g.iloc[-1]
            if pd.Timestamp(a["period_end"]) + pd.Timedelta(days=1) != pd.Timestamp(b["period_start"]):
                continue
            prev, cur = (Metric(float(r["value"]), float(r["low"]), float(r["high"]), int(r["n"])) for r in (a, b))
            rows.append({"name": name, "group": grp, "previous_period": a["period"], "period": b["period"],
                         "previous": prev.value, "current": cur.value, **change_test(prev, cur, kind=kind)})
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_holm", "significant")])
    out["p_holm"] = np.nan
    ok = out["p_value"].notna()
    if ok.any():
        out.loc[ok, "p_holm"] = multipletests(out.loc[ok, "p_value"], method="holm")[1]
    out["significant"] = out["p_holm"] < 0.05
    return out[cols]


def comparisons(head: Mapping[str, Metric | None]) -> dict[str, dict[str, Any]]:
    """Members against non-members and referred against other customers: repeat purchase
    rate difference and its two-proportion test (:func:`.loyalty.compare`), with the caveat."""
    out: dict[str, dict[str, Any]] = {}
    pairs = {"loyalty.member_repeat_test": ("loyalty.member_repeat_rate", "loyalty.non_member_repeat_rate", CAVEAT),
             "referrals.referred_repeat_test": ("referrals.referred_repeat_rate", "referrals.other_repeat_rate",
                                                "Referred customers were brought by customers who chose to refer "
                                                "them; the difference is no proof of what referrals cause.")}
    for key, (a, b, caveat) in pairs.items():
        got = compare(head.get(a), head.get(b))
        if got is not None:
            out[key] = {**got, "caveat": caveat}
    return out


def results(bd: Mapping[str, pd.DataFrame], head: Mapping[str, Metric | None],
            changes: pd.DataFrame | None = None) -> dict[str, Any]:
    """The breakdowns and comparisons as flat results.json keys.

    ``service.fcr_by_reason.<reason>``, ``satisfaction.nps_by_touchpoint.<touchpoint>``,
    ``web.exit_rate_by_page.<page>`` ...: ``{value, low, high, n}``; adoption by feature as
    ``adoption.<feature>.rate`` and ``adoption.<feature>.median_days_to_first_use``. Dots
    in a group's name become ``_`` (:func:`.groups.key_part`). ``changes`` (from
    :func:`period_changes`): under ``period_changes_by_group``, one record per group tested.
    """
    out: dict[str, Any] = {}
    for name, df in bd.items():
        if name == "adoption.rate":
            out.update({f"adoption.{groups.key_part(r['group'])}.rate": _metric(r) for _, r in df.iterrows()})
        elif name == "adoption.days_to_first_use":
            out.update({f"adoption.{groups.key_part(r['group'])}.median_days_to_first_use": _metric(r)
                        for _, r in df.iterrows()})
        else:
            out.update(groups.metrics(df, name))
    out.update(comparisons(head))
    if changes is not None:
        out["period_changes_by_group"] = changes.to_dict(orient="records")
    return out


def _metric(r: pd.Series) -> Metric:
    return Metric(float(r["value"]), float(r["low"]), float(r["high"]), int(r["n"]), str(r.get("method", "")))
