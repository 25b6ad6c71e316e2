"""The reports the kit renders: their notebook names, in the contract's order, and titles.

One catalogue that the config (which notebooks may take parameters), the report runner and
the index page all read (DESIGN.md, Outputs: notebook names).
"""

from __future__ import annotations

NOTEBOOK_TITLES: dict[str, str] = {
    "engagement_kpis": "Engagement KPIs",
    "cohort_retention": "Cohort retention",
    "clv_bgnbd": "Customer lifetime value",
    "churn_prediction": "Churn prediction",
    "channel_comparison": "Channel comparison",
    "customer_engagement": "Customer engagement",
    "customer_journey": "Customer journey",
}
NOTEBOOKS: tuple[str, ...] = tuple(NOTEBOOK_TITLES)


def title(name: str) -> str:
    """A report's title; a notebook the catalogue does not know gets its name in title case."""
    return NOTEBOOK_TITLES.get(name, name.replace("_", " ").title())
