"""Two demo variants with known truth for the CLV report's other settings.

- ``occasions``: donors who give at most once a year (a yearly appeal), drawn from a BG/BB
  process with known (alpha, beta, gamma, delta); the config sets ``setting: discrete``,
  ``occasion: Y``.
- ``subscriptions``: monthly subscribers with ``signup_at`` and ``cancelled_at`` drawn from
  an sBG process with known (alpha, beta), and their monthly payments as transactions; the
  config sets ``setting: contractual``, ``occasion: M``.

They are separate datasets, not tables of the default demo: a ``cancelled_at`` column in the
default demo's customers would become a churn feature and an attribute of the KPI and
channel reports and change their figures, and yearly gifts cannot share one transactions
table with the shop's weekly purchases. Random streams 51 and 52 of the demo seed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import parse_config, write_config

OCCASION_TRUTH = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
SUBSCRIPTION_TRUTH = {"alpha": 0.6, "beta": 4.0}
DEMO_SEED = 42


def occasion_tables(n_customers: int = 6000, *, seed: int = DEMO_SEED, first_year: int = 2017,
                    last_year: int = 2024, cohort_years: int = 4) -> dict[str, pd.DataFrame]:
    """Yearly gifts from a BG/BB process (Fader, Hardie and Shang 2010, section 2).

    Each donor's first gift falls in one of the first ``cohort_years`` years; at every later
    year a donor still alive drops out first with probability θ ~ Beta(γ, δ) and otherwise
    gives with probability p ~ Beta(α, β), on one day of the year-end appeal (1 November to
    31 December). Gift amounts are Gamma distributed around a donor's own mean.
    """
    rng = np.random.default_rng([seed, 51])
    t = OCCASION_TRUTH
    n = int(n_customers)
    p = rng.beta(t["alpha"], t["beta"], n)
    theta = rng.beta(t["gamma"], t["delta"], n)
    cohort = first_year + rng.integers(0, cohort_years, n)
    mean_gift = rng.gamma(4.0, 12.5, n)
    owners, years = [np.arange(n)], [cohort]
    alive = np.ones(n, dtype=bool)
    for year in range(first_year + 1, last_year + 1):
        started = cohort < year
        alive &= ~(started & (rng.random(n) < theta))
        gives = started & alive & (rng.random(n) < p)
        owners.append(np.flatnonzero(gives))
        years.append(np.full(int(gives.sum()), year))
    owner = np.concatenate(owners)
    year = np.concatenate(years)
    day = rng.integers(0, 61, owner.size)
    ts = pd.to_datetime(pd.DataFrame({"year": year, "month": 11, "day": 1})) + pd.to_timedelta(day, unit="D")
    ids = np.array([f"D{i:05d}" for i in range(n)])
    tx = pd.DataFrame({
        "customer_id": ids[owner],
        "timestamp": ts.to_numpy(),
        "amount": np.round(rng.gamma(6.0, mean_gift[owner] / 6.0), 2),
    }).sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    tx["order_id"] = [f"G{i:06d}" for i in range(len(tx))]
    return {"transactions": tx}


def subscription_tables(n_customers: int = 5000, *, seed: int = DEMO_SEED, start: str = "2023-01-01",
                        end: str = "2024-12-31", price: tuple[float, ...] = (19.0, 39.0)) -> dict[str, pd.DataFrame]:
    """Monthly subscribers from an sBG process (Fader and Hardie 2007, section 3).

    Signups are spread uniformly over the months from ``start`` to ``end``; each subscriber
    leaves at each month's renewal with probability θ ~ Beta(α, β) (cancelling on a day of
    that month after its payment) and pays ``price`` on the signup day every month while
    subscribed.
    """
    rng = np.random.default_rng([seed, 52])
    t = SUBSCRIPTION_TRUTH
    n = int(n_customers)
    first = pd.Timestamp(start)
    months = (pd.Timestamp(end).year - first.year) * 12 + pd.Timestamp(end).month - first.month + 1
    cohort = rng.integers(0, months, n)
    dom = rng.integers(1, 29, n)
    theta = rng.beta(t["alpha"], t["beta"], n)
    life = rng.geometric(theta)  # periods paid: cancels at renewal decision ``life``
    plan = rng.choice(np.asarray(price, dtype=float), n, p=[0.7, 0.3][: len(price)] if len(price) == 2 else None)
    ids = np.array([f"S{i:05d}" for i in range(n)])
    m0 = first.year * 12 + first.month - 1

    def day_of(month_offset: np.ndarray, day: np.ndarray) -> pd.Series:
        y, m = np.divmod(m0 + np.asarray(month_offset, dtype=int), 12)
        return pd.Series(pd.to_datetime(pd.DataFrame({"year": y, "month": m + 1, "day": 1}))
                         + pd.to_timedelta(np.asarray(day) - 1, unit="D"))

    life = np.minimum(life, months - cohort + 1)  # beyond the window: still subscribed at its end
    gone = life <= months - cohort
    signup = day_of(cohort, dom) + pd.to_timedelta(rng.integers(8, 20, n), unit="h")
    last_month = cohort + life - 1
    end_day = pd.Timestamp(end)
    days_in = day_of(last_month, np.ones(n, dtype=int)).dt.days_in_month.to_numpy()
    cancel_day = dom + np.floor(rng.random(n) * (days_in - dom + 1)).astype(int)
    cancelled = day_of(last_month, np.minimum(cancel_day, days_in)) + pd.to_timedelta(rng.integers(8, 20, n), unit="h")
    cancelled = cancelled.where(gone)
    customers = pd.DataFrame({
        "customer_id": ids,
        "signup_at": signup.dt.floor("s"),
        "cancelled_at": cancelled.dt.floor("s"),
        "acquisition_channel": rng.choice(["organic", "paid_search", "referral"], n, p=[0.5, 0.3, 0.2]),
    })
    owner = np.repeat(np.arange(n), life)
    k = np.arange(owner.size) - np.repeat(np.cumsum(life) - life, life)
    pay = day_of(cohort[owner] + k, dom[owner]) + pd.to_timedelta(np.repeat(rng.integers(0, 8, n), life), unit="h")
    keep = (pay <= end_day).to_numpy()
    tx = pd.DataFrame({"customer_id": ids[owner][keep], "timestamp": pay[keep].dt.floor("s").to_numpy(),
                       "amount": plan[owner][keep]})
    tx = tx.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    tx["order_id"] = [f"P{i:07d}" for i in range(len(tx))]
    return {"customers": customers, "transactions": tx}


VARIANTS: dict[str, tuple[Callable[..., dict[str, pd.DataFrame]], dict[str, Any], str]] = {
    "occasions": (occasion_tables, {"setting": "discrete", "occasion": "Y"}, "Demo charity: yearly donors"),
    "subscriptions": (subscription_tables, {"setting": "contractual", "occasion": "M"}, "Demo service: monthly subscribers"),
}


def write_variant(name: str, directory: str | Path, n_customers: int | None = None, *, seed: int = DEMO_SEED) -> Path:
    """Write demo variant ``name`` (``occasions`` or ``subscriptions``): its tables as
    Parquet, ``truth.json`` and a ``config.yaml`` that selects the CLV setting; return the
    config path."""
    if name not in VARIANTS:
        raise ValueError(f"unknown demo variant {name!r}; one of {', '.join(VARIANTS)}")
    make, clv_params, title = VARIANTS[name]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = make(n_customers, seed=seed) if n_customers else make(seed=seed)
    files = {}
    for table, df in tables.items():
        df.to_parquet(directory / f"{table}.parquet", index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        files[table] = {"path": f"{table}.parquet"}
    truth = {"occasions": {"bgbb": OCCASION_TRUTH}, "subscriptions": {"sbg": SUBSCRIPTION_TRUTH}}[name]
    (directory / "truth.json").write_text(json.dumps({**truth, "seed": seed}, indent=2), encoding="utf-8")
    config = parse_config(
        {"title": title, "currency": "EUR", "period": "M", "timezone": "UTC", "as_of": "2024-12-31",
         "tables": files, "notebooks": {"clv_bgnbd": dict(clv_params)}},
        base_dir=directory,
    )
    return write_config(config, directory / "config.yaml")
