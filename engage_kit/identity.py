"""One customer across tables: ``identity: {email: lowercase_trim}`` (README, "From your tools").

A shop knows its customers by email, a newsletter tool by email, a help desk by the
requester's email. With ``identity`` in the config, every customer id that is an email
address (it holds an ``@``) is normalised by the rule and replaced by a hash of it,
``em-`` and 16 hex digits of its MD5 digest, in every table: the same person gets the same
id in the orders, the opens and the tickets, and the email itself never reaches a table, a
report or an export. Ids that are not emails (a CRM record number) stay as they are.

Rules: ``lowercase_trim`` (``" Ann@Example.COM "`` and ``ann@example.com`` are one person)
and ``trim`` (surrounding spaces only; case kept).
"""

from __future__ import annotations

import ibis

from . import engine as eng
from .tablekeys import IDENTITY_RULES as RULES  # noqa: F401 - the rules, with what they do

# the canonical columns that hold a customer's identity, per table (any table not listed: customer_id)
ID_COLUMNS = ("customer_id", "referrer_id", "referred_customer_id", "email")
PREFIX = "em-"


def customer_key(value: ibis.Value, rule: str) -> ibis.Value:
    """The customer id of a (trimmed, text) id column: a hash of the normalised email where
    the value is an email, the value itself elsewhere.

    Parameters
    ----------
    value : ibis.Value
        Text ids, surrounding spaces already removed, blanks NULL.
    rule : str
        One of :data:`RULES`.
    """
    norm = value.lower() if rule == "lowercase_trim" else value
    hashed = ibis.literal(PREFIX) + eng._md5(norm).substr(0, 16)
    return ibis.ifelse(value.contains("@"), hashed, value)


def applies(table: str, column: str, identity: dict[str, str]) -> bool:
    """True when ``column`` of ``table`` holds a customer's identity that ``identity`` hashes."""
    return bool(identity.get("email")) and column in ID_COLUMNS and not (table == "leads" and column == "lead_id")
