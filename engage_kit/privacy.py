"""Customer ids in what leaves the analyst's machine: stable salted hashes instead of real ids."""

from __future__ import annotations

import hashlib
import os
import secrets

import pandas as pd

from .datasets import cache_dir

PSEUDONYMISE_ENV = "ENGAGE_KIT_PSEUDONYMISE"  # set by the report runner unless --show-ids
SALT_ENV = "ENGAGE_KIT_ID_SALT"


def _salt() -> str:
    salt = os.environ.get(SALT_ENV)
    if salt:
        return salt
    path = cache_dir() / "id_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def pseudonymise(ids: pd.Series | list, *, force: bool | None = None) -> pd.Series:
    """Stable salted hashes of customer ids, for HTML that leaves the analyst's machine.

    Active when the report runner sets ``ENGAGE_KIT_PSEUDONYMISE=1`` (its default; the
    ``--show-ids`` flag turns it off), or when ``force`` is True. CSV exports keep the
    real ids: call this only on what is displayed.
    """
    s = pd.Series(ids)
    on = force if force is not None else os.environ.get(PSEUDONYMISE_ENV) == "1"
    if not on:
        return s
    salt = _salt().encode("utf-8")
    return s.map(
        lambda v: v if v is None or pd.isna(v) else "cust-" + hashlib.sha256(salt + str(v).encode("utf-8")).hexdigest()[:10]
    )
