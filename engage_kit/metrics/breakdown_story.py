"""What the KPI report says about the breakdowns, the loyalty and referral programmes, product
adoption and pages: numbers in, plain words out (every name from the data escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..text import esc, words
from . import groups
from ._common import Metric
from .breakdowns import LABELS
from .story import between, format_value

__all__ = ["group_table", "changes_table", "reasons", "touchpoints", "loyalty", "referrals", "adoption", "pages",
           "INTRO", "TITLES"]

TITLES = {"loyalty": "Loyalty programme", "referrals": "Referrals", "adoption": "Product adoption",
          "pages": "Pages"}
INTRO = {
    "loyalty": "Participation: the share of buying customers who joined the programme or earned points. Points "
               "redeemed: redeemed points as a share of earned points. Members are compared with the other "
               "customers on how often they buy again.",
    "referrals": "Referral rate: the share of buying customers who referred someone. Referral conversion: the "
                 "share of referrals whose referred person bought.",
    "adoption": "Adoption: the share of customers using the product who used each feature. Declining usage: "
                "customers whose use in the last 30 days fell below half of their usual month over the 90 days "
                "before.",
    "pages": "Exit rate: how often a view of the page was the last of the visit. Time on page: until the next page "
             "of the same visit (the last page of a visit has none).",
}


def _fmt(unit: str, v: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if unit == "share":
        return f"{v:.1%}"
    if unit == "seconds":
        return f"{v:,.0f} s"
    if unit == "points":
        return f"{v:.1f}"
    if unit == "days":
        return f"{v:,.0f} days"
    return f"{v:.2f}"


def group_table(df: pd.DataFrame, name: str, *, group: str) -> pd.DataFrame:
    """A breakdown as a table for readers: the group, its value, 95% interval, count, the rest, a verdict.

    Group names are shown in words (``post_purchase`` reads "post purchase"); page paths and
    addresses stay as they are.
    """
    label, unit = LABELS[name]
    has_test = "p_holm" in df.columns and df["p_holm"].notna().any()
    out = pd.DataFrame({
        group: [_shown(g) for g in df["group"]],
        label: [_fmt(unit, v) for v in df["value"]],
        "95% interval": [f"{_fmt(unit, lo)} – {_fmt(unit, hi)}" for lo, hi in zip(df["low"], df["high"], strict=True)],
        "Count": df["n"].astype("int64").to_numpy(),
    })
    if has_test:
        out["The rest"] = [_fmt(unit, v) for v in df["rest"]]
        out["Compared with the rest"] = [_verdict(r) for _, r in df.iterrows()]
    return out


def _shown(group: Any) -> str:
    """A group name in words; a page path or an address stays as it is."""
    text = str(group)
    return text if text.startswith("/") or "://" in text else words(text)


def _verdict(r: pd.Series) -> str:
    if not np.isfinite(r.get("p_holm", np.nan)) or r["p_holm"] >= 0.05:
        return "within chance"
    if bool(r.get("worse")):
        return "worse"
    if bool(r.get("better")):
        return "better"
    return "higher" if r["value"] > r["rest"] else "lower"


def _names(items: list[str]) -> str:
    items = [esc(_shown(x)) for x in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _worst(bd: Mapping[str, pd.DataFrame], name: str, what: str) -> str:
    df = bd.get(name)
    if df is None:
        return ""
    bad = groups.worse(df)
    label, unit = LABELS[name]
    if not bad:
        return f"{label}: no {what} is worse than the rest by more than chance."
    r = df.set_index(df["group"].astype(str)).loc[bad[0]]
    return (f"{label} is worse than the rest for {_names(bad)} ({esc(_shown(bad[0]))}: **{_fmt(unit, r['value'])}** against "
            f"{_fmt(unit, r['rest'])} for the other {what}s).")


def reasons(bd: Mapping[str, pd.DataFrame]) -> str:
    """The contact reasons whose first contact resolution or handle time is worse than the rest."""
    return " ".join(s for s in (_worst(bd, "service.fcr_by_reason", "reason"),
                                _worst(bd, "service.aht_by_reason", "reason")) if s)


def touchpoints(bd: Mapping[str, pd.DataFrame]) -> str:
    """The touchpoints worse than the rest on NPS and CSAT, and those whose effort score differs."""
    parts = [_worst(bd, "satisfaction.nps_by_touchpoint", "touchpoint"),
             _worst(bd, "satisfaction.csat_by_touchpoint", "touchpoint")]
    ces = bd.get("satisfaction.ces_by_touchpoint")
    if ces is not None:
        odd = groups.differs(ces)
        parts.append(f"Customer effort differs from the rest by more than chance at {_names(odd)}." if odd else
                     "Customer effort is about the same at every touchpoint.")
    return " ".join(p for p in parts if p)


def _rate(head: Mapping[str, Metric | None], key: str) -> str:
    m = head.get(key)
    if not isinstance(m, Metric):
        return ""
    if not m.computable:
        return f"n/a ({esc(m.why_not())})"
    b = between(key, m)
    return f"**{format_value(key, m.value)}**" + (f" ({b})" if b else "")


def _pair(head, comp, key, a, b, who, others) -> str:
    c = comp.get(key)
    ma, mb = head.get(a), head.get(b)
    if c is None or not isinstance(ma, Metric) or not (ma.computable and isinstance(mb, Metric) and mb.computable):
        return ""
    p = c["p_value"]
    noise = ("more than chance" if p is not None and np.isfinite(p) and p < 0.05 else "within chance")
    return (f"{who} bought again {format_value(a, ma.value)} of the time against {format_value(b, mb.value)} "
            f"for {others} ({100 * c['difference']:+.1f} pts, {noise}). {c['caveat']}")


def loyalty(head: Mapping[str, Metric | None], comp: Mapping[str, Any]) -> str:
    """Participation, points redeemed and the members' repeat purchases, with the caveat."""
    parts = []
    if head.get("loyalty.participation_rate") is not None:
        parts.append(f"Loyalty participation is {_rate(head, 'loyalty.participation_rate')} of buying customers.")
    if head.get("loyalty.redemption_rate") is not None:
        parts.append(f"Members redeemed {_rate(head, 'loyalty.redemption_rate')} of the points they earned.")
    parts.append(_pair(head, comp, "loyalty.member_repeat_test", "loyalty.member_repeat_rate",
                       "loyalty.non_member_repeat_rate", "Members", "the other customers"))
    return " ".join(p for p in parts if p)


def referrals(head: Mapping[str, Metric | None], comp: Mapping[str, Any]) -> str:
    """Referral rate, conversion, and the referred customers' repeat purchases."""
    parts = []
    if head.get("referrals.referral_rate") is not None:
        parts.append(f"{_rate(head, 'referrals.referral_rate')} of buying customers referred someone;")
        parts.append(f"{_rate(head, 'referrals.conversion_rate')} of referrals led to a purchase.")
    parts.append(_pair(head, comp, "referrals.referred_repeat_test", "referrals.referred_repeat_rate",
                       "referrals.other_repeat_rate", "Referred customers", "the others"))
    return " ".join(p for p in parts if p)


def adoption(bd: Mapping[str, pd.DataFrame], head: Mapping[str, Metric | None]) -> str:
    """The most and least adopted features, and the share of customers whose usage declines."""
    parts = []
    df = bd.get("adoption.rate")
    if df is not None and len(df):
        hi, lo = df.iloc[0], df.iloc[-1]
        parts.append(f"The most used feature, {esc(hi['group'])}, reaches **{hi['value']:.1%}** of the customers using "
                     f"the product" + (f"; the least used, {esc(lo['group'])}, {lo['value']:.1%}." if len(df) > 1 else "."))
    d = head.get("adoption.declining_share")
    if isinstance(d, Metric):
        parts.append(f"Usage is declining for {_rate(head, 'adoption.declining_share')} of the customers who used "
                     "the product in the 90 days before the last 30.")
    return " ".join(parts)


def pages(bd: Mapping[str, pd.DataFrame]) -> str:
    """The pages whose exit rate (or landing-page bounce rate) is worse than the rest."""
    if "web.exit_rate_by_page" in bd:
        return _worst(bd, "web.exit_rate_by_page", "page")
    parts = []
    ex = bd.get("web.exit_share_by_page")
    if ex is not None and len(ex):
        parts.append(f"Most visits end on {esc(ex.iloc[0]['group'])} ({ex.iloc[0]['value']:.1%} of exits).")
    parts.append(_worst(bd, "web.bounce_rate_by_landing_page", "landing page"))
    return " ".join(p for p in parts if p)


def changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Each group's last complete period against the one before (from :func:`.breakdowns.period_changes`),
    for readers: the figure, the group, both periods and values, and whether the change is more than chance."""
    cols = ["Figure", "Group", "Before", "Last", "Then", "Now", "Change"]
    if changes is None or not len(changes):
        return pd.DataFrame(columns=cols)
    units = [LABELS[n][1] for n in changes["name"]]
    return pd.DataFrame({
        "Figure": [LABELS[n][0] for n in changes["name"]],
        "Group": [str(g) for g in changes["group"]],
        "Before": changes["previous_period"].astype(str).to_numpy(),
        "Last": changes["period"].astype(str).to_numpy(),
        "Then": [_fmt(u, v) for u, v in zip(units, changes["previous"], strict=True)],
        "Now": [_fmt(u, v) for u, v in zip(units, changes["current"], strict=True)],
        "Change": ["more than chance" if bool(x) else "within chance" for x in changes["significant"]],
    }, columns=cols)
