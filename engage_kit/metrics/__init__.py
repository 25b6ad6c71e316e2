"""Engagement KPIs: every measure computed the same, documented way, with its uncertainty.

One module per area: :mod:`.retention`, :mod:`.revenue`, :mod:`.returns`,
:mod:`.satisfaction`, :mod:`.service`, :mod:`.email`, :mod:`.web`, :mod:`.social`,
:mod:`.events`, :mod:`.sentiment` (comments and texts). Each function takes a canonical table (Ibis, or pandas for small frames)
and returns a :class:`Metric` (value, interval, ``n`` and the counts behind it) for the
window, or a DataFrame with one row per calendar period (``period="W" | "M" | "Q"``)
and/or segment (``by=``: a column of the table such as ``channel``, or a customer
attribute with ``customers=``).

Beside them: :mod:`.kpis`, the catalogue of headline KPIs (:data:`KPIS`) and the functions
that compute them all at once from a mapping of tables (``Dataset.tables``);
:mod:`.story`, what the report says (formatting, cards, sentences, the glossary);
:mod:`.charts`, its figures; :mod:`._common`, the shared counting and interval helpers.
This module is only their face.
"""

from __future__ import annotations

from . import (
    adoption,
    breakdown_story,
    breakdowns,
    charts,
    detail,
    email,
    events,
    groups,
    loyalty,
    pages,
    referrals,
    retention,
    returns,
    revenue,
    satisfaction,
    sentiment,
    service,
    social,
    story,
    web,
)
from ._common import Metric, change_test, check_period
from .charts import plot_segments, plot_sentiment_by_score, plot_trends
from .kpis import (
    KPI,
    KPI_BY_KEY,
    KPIS,
    choose_segment,
    compute,
    every_view,
    has_segments,
    headline,
    kpis_by_period,
    kpis_by_segment,
    period_changes,
    sections,
    wide,
)
from .story import (
    changes_table,
    channel_rates,
    describe_notes,
    describe_segment_keys,
    describe_segments,
    describe_trend,
    describe_trends,
    describe_unavailable,
    finding,
    format_delta,
    format_value,
    glossary,
    kpi_cards,
    summary,
)

__all__ = [
    "KPI",
    "KPIS",
    "KPI_BY_KEY",
    "Metric",
    "change_test",
    "changes_table",
    "channel_rates",
    "charts",
    "check_period",
    "choose_segment",
    "compute",
    "detail",
    "has_segments",
    "describe_notes",
    "describe_segment_keys",
    "describe_segments",
    "describe_trend",
    "describe_trends",
    "describe_unavailable",
    "every_view",
    "finding",
    "format_delta",
    "format_value",
    "glossary",
    "headline",
    "kpi_cards",
    "kpis_by_period",
    "kpis_by_segment",
    "period_changes",
    "plot_segments",
    "plot_sentiment_by_score",
    "plot_trends",
    "sections",
    "story",
    "summary",
    "wide",
    "email",
    "events",
    "retention",
    "returns",
    "revenue",
    "satisfaction",
    "sentiment",
    "service",
    "social",
    "web",
    "adoption",
    "breakdown_story",
    "breakdowns",
    "groups",
    "loyalty",
    "pages",
    "referrals",
]
