"""Subscribers who cancel, month by month: the churn report's view of recorded cancellations.

When the customers table gives ``signup_at`` and ``cancelled_at``, churn is not a guess
from silence but a recorded event. The report then shows, per calendar month, the
subscribers at its start and the share who cancelled in it, from the survivor counts the
cohort report's "How long subscribers stay" and the contractual CLV setting use
(:func:`engage_kit.clv.occasions.survivor_counts`), so the three reports count the same
subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..cohorts.subscriptions import (
    SubscriberRetention,
    cancellations_by_period,
    recent_cancellation_rate,
    subscriber_retention,
)
from ..text import esc, pct

TITLE = "Subscribers who cancel"
RECENT_PERIODS = 12


@dataclass
class SubscriberChurn:
    """Cancellations per calendar period (:func:`cancellations_by_period`) and the last twelve pooled."""

    retention: SubscriberRetention
    by_period: pd.DataFrame  # period (label), at_risk, cancelled, rate, low, high
    recent: dict[str, Any]

    @property
    def unit(self) -> str:
        return self.retention.unit

    def results(self) -> dict[str, Any]:
        """results.json's ``subscriptions``: the rate per period and over the last twelve."""
        last = self.by_period.iloc[-1]
        return {
            "period": self.retention.period,
            "cancellation_rate": self.recent,
            "last_period": {"period": str(last["period"]), "value": float(last["rate"]), "low": float(last["low"]),
                            "high": float(last["high"]), "n": int(last["at_risk"]), "cancelled": int(last["cancelled"])},
            "by_period": {str(r.period): {"value": float(r.rate), "low": float(r.low), "high": float(r.high),
                                         "n": int(r.at_risk), "cancelled": int(r.cancelled)}
                          for r in self.by_period.itertuples()},
        }


def subscriber_churn(ds: Any) -> SubscriberChurn | None:
    """:class:`SubscriberChurn` of a dataset whose customers table records cancellations; else None."""
    customers = ds["customers"] if ds.has("customers") else None
    r = subscriber_retention(customers, "M", as_of=ds.as_of)
    if r is None:
        return None
    by = cancellations_by_period(r.survivors, r.period)
    if by.empty:
        return None
    return SubscriberChurn(retention=r, by_period=by, recent=recent_cancellation_rate(by, periods=RECENT_PERIODS))


def finding(sc: SubscriberChurn | None) -> list[str]:
    """The finding on recorded cancellations (none without them), for the report's opening."""
    if sc is None or sc.recent.get("value") is None:
        return []
    r = sc.recent
    return [f"**{pct(r['value'])}** of subscribers cancel in a {sc.unit} (over {esc(r['from'])} to {esc(r['to'])}, "
            f"between {pct(r['low'])} and {pct(r['high'])}): the churn of subscriptions counted from "
            f"{r['cancelled']:,} recorded cancellations, not guessed from silence."]


def with_finding(findings: list[str], sc: SubscriberChurn | None, *, most: int = 5) -> list[str]:
    """``findings`` with the recorded-cancellation finding second (the report keeps at most ``most``)."""
    extra = finding(sc)
    return (findings[:1] + extra + findings[1:])[:most] if extra else findings


def sentence(sc: SubscriberChurn) -> str:
    """The section's sentence: the last month and the last twelve."""
    res = sc.results()
    last, r = res["last_period"], sc.recent
    text = (f"In {esc(last['period'])}, {last['cancelled']:,} of that {sc.unit}'s {last['n']:,} subscribers "
            "cancelled: **{pct(last['value'])}** (between {pct(last['low'])} and {pct(last['high'])}).")
    if r.get("value") is not None and r["periods"] > 1:
        text += (f" Over the last {r['periods']} {sc.unit}s ({esc(r['from'])} to {esc(r['to'])}), "
                 f"**{pct(r['value'])}** a {sc.unit} ({pct(r['low'])} – {pct(r['high'])}).")
    return text + (" The counts are the cohort report's subscribers, read by calendar month: a cancellation "
                   "is counted in the month it was made.")


def chart_title(sc: SubscriberChurn) -> str:
    r = sc.recent
    if r.get("value") is None:
        return f"Share of subscribers who cancel each {sc.unit}"
    return f"{pct(r['value'])} of subscribers cancel in a {sc.unit} (the last {r['periods']})"


def plot_cancellations(sc: SubscriberChurn, *, most: int = 24):
    """The share of subscribers who cancelled in each of the last ``most`` periods, with its 95% interval."""
    import matplotlib.pyplot as plt
    import numpy as np

    from ..plots import percent_axis
    from ..text import chart_label

    b = sc.by_period.tail(most)
    x = np.arange(len(b))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar(x, b["rate"], color="#4c72b0", label="Cancelled in the month")
    ax.errorbar(x, b["rate"], yerr=[b["rate"] - b["low"], b["high"] - b["rate"]], fmt="none", ecolor="#333333",
                lw=0.8, capsize=2, label="95% interval")
    ax.set_xticks(x)
    ax.set_xticklabels([chart_label(p) for p in b["period"]], rotation=90 if len(b) > 12 else 0)
    ax.set_ylabel(f"Share of the {sc.unit}'s subscribers")
    ax.set_ylim(0, max(0.05, float(b["high"].max()) * 1.15))
    percent_axis(ax, decimals=1 if float(b["high"].max()) < 0.1 else 0)
    ax.legend(loc="upper right")
    ax.set_title(chart_title(sc))
    return fig


def with_results(results: dict[str, Any], sc: SubscriberChurn | None) -> dict[str, Any]:
    """``results`` with ``subscriptions`` (:meth:`SubscriberChurn.results`) when cancellations are recorded."""
    return results if sc is None else {**results, "subscriptions": sc.results()}
