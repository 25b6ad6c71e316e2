"""Canonical tables of the data contract (DESIGN.md, Data contract)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id", "timestamp", "float", "int", "bool", "string"
    required: bool = False
    minimum: float | None = None  # smallest possible value (counts, durations); below it a row is impossible


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def kind(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.kind
        return "string"

    @property
    def time_column(self) -> str | None:
        for c in self.columns:
            if c.kind == "timestamp" and c.required:
                return c.name
        return None


def _t(name: str, *cols: tuple) -> TableSpec:
    return TableSpec(name, tuple(Column(*c) for c in cols))


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        _t(
            "transactions",
            ("customer_id", "id", True),
            ("timestamp", "timestamp", True),
            ("amount", "float", True),
            ("order_id", "id"),
            ("channel", "string"),
            ("quantity", "float"),
            ("product_id", "id"),
        ),
        _t(
            "customers",
            ("customer_id", "id", True),
            ("signup_at", "timestamp"),
            ("acquisition_channel", "string"),
            ("churned", "bool"),
            ("cancelled_at", "timestamp"),
        ),
        _t(
            "touches",
            ("timestamp", "timestamp", True),
            ("channel", "string", True),
            ("event", "string", True),
            ("customer_id", "id"),
            ("campaign_id", "id"),
            ("value", "float"),
            ("text", "string"),  # free text: a social comment, a review, a chat transcript
        ),
        _t(
            "surveys",
            ("timestamp", "timestamp", True),
            ("kind", "string", True),
            ("score", "float", True),
            ("customer_id", "id"),
            ("touchpoint", "string"),
            ("channel", "string"),
            ("comment", "string"),  # free text written with the answer
        ),
        _t(
            "tickets",
            ("ticket_id", "id", True),
            ("opened_at", "timestamp", True),
            ("customer_id", "id"),
            ("resolved_at", "timestamp"),
            ("channel", "string"),
            ("contacts", "float", False, 0),
            ("handle_seconds", "float", False, 0),
            ("handled_by", "string"),
            ("escalated", "bool"),
            ("reason", "string"),
        ),
        _t(
            "web_sessions",
            ("session_id", "id", True),
            ("started_at", "timestamp", True),
            ("pageviews", "float", False, 0),
            ("duration_seconds", "float", False, 0),
            ("customer_id", "id"),
            ("landing_page", "string"),
            ("exit_page", "string"),
            ("converted", "bool"),
        ),
        _t(
            "pageviews",
            ("session_id", "id", True),
            ("page", "string", True),
            ("timestamp", "timestamp", True),
        ),
        _t(
            "leads",
            ("lead_id", "id", True),
            ("created_at", "timestamp", True),
            ("source", "string"),
            ("customer_id", "id"),
            ("email", "string"),
        ),
        _t(
            "loyalty",
            ("customer_id", "id", True),
            ("timestamp", "timestamp", True),
            ("kind", "string", True),
            ("points", "float"),
        ),
        _t(
            "referrals",
            ("referrer_id", "id", True),
            ("timestamp", "timestamp", True),
            ("referred_customer_id", "id"),
            ("reward", "float"),
        ),
        _t(
            "usage",
            ("customer_id", "id", True),
            ("timestamp", "timestamp", True),
            ("feature", "string", True),
            ("quantity", "float", False, 0),
        ),
    ]
}

BOOL_TRUE = ("true", "t", "yes", "y", "1", "1.0")
BOOL_FALSE = ("false", "f", "no", "n", "0", "0.0")
