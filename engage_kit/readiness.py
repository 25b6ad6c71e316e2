"""Which reports a dataset allows, and why the others are skipped (DESIGN.md, Data contract).

Only the tables and columns a report cannot do without are checked here; a report that
runs skips, with a reason, the sections whose optional tables are missing.
"""

from __future__ import annotations

from typing import Any

KPI_TABLES = ("transactions", "touches", "surveys", "tickets", "web_sessions")


def _has_column(ds: Any, table: str, column: str) -> bool:
    """True when ``table`` has ``column`` with at least one value (loaders add every
    canonical column, empty where the source has none)."""
    if not ds.has(table) or column not in ds.table(table).columns:
        return False
    return bool(ds.table(table)[column].notnull().any().execute())


def report_readiness(ds: Any) -> dict[str, str | None]:
    """For each report, None when the dataset allows it, else why it is skipped.

    - ``engagement_kpis``: any of transactions, touches, surveys, tickets, web_sessions;
    - ``cohort_retention``, ``clv_bgnbd``: transactions;
    - ``churn_prediction``: transactions, or a customers table with a ``churned`` column
      (the labelled mode);
    - ``channel_comparison``: touches, or transactions with a ``channel`` column;
    - ``customer_engagement``: transactions (the other signals join in when their tables exist);
    - ``customer_journey``: transactions, and leads or touches (the contacts before a purchase).
    """
    has_tx = ds.has("transactions")
    no_tx = "needs a transactions table (customer_id, timestamp, amount)"
    return {
        "engagement_kpis": None if any(ds.has(t) for t in KPI_TABLES) else f"needs one of the tables {', '.join(KPI_TABLES)}",
        "cohort_retention": None if has_tx else no_tx,
        "clv_bgnbd": None if has_tx else no_tx,
        "churn_prediction": None
        if has_tx or _has_column(ds, "customers", "churned")
        else "needs a transactions table, or a customers table with a churned column (yes/no per customer)",
        "channel_comparison": None
        if ds.has("touches") or _has_column(ds, "transactions", "channel")
        else "needs a touches table (marketing events) or a channel column in transactions",
        "customer_engagement": None if has_tx else no_tx,
        "customer_journey": (no_tx if not has_tx else None if ds.has("leads") or ds.has("touches")
                             else "needs a leads table or a touches table (the contacts before a purchase)"),
    }
