"""The demo's leads and the touches that move people from first contact to purchase.

Drawn from the :class:`engage_kit.demoworld.DemoWorld` with a random stream of its own
(``world.rng(19)``), so the core demo tables keep their draws:

- ``leads``: people who gave their contact details, by source. A lead converts with a
  probability that depends on its source (``LEAD_CONVERSION``, written to
  ``truth["journey"]``); a converted lead is a demo customer, created a few days
  (exponential, mean ``LEAD_DAYS`` days) before that customer's first purchase. Unconverted
  leads are spread uniformly over the window, so among leads created early enough the
  share converted is the source's probability.
- ``touches`` gains form fills (``event: form_submit`` on the web, at the lead's creation,
  with the customer's id once it converted), paid-search clicks and chat replies in the
  days before a first purchase, and the same touches from prospects (ids ``P...``) who
  never buy. Only the channels ``search`` and ``chat`` and the event ``form_submit`` are
  new, so the email, SMS, push, social and event rates the other reports recover from
  the demo are unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

STREAM = 19
LEAD_CONVERSION: dict[str, float] = {"chat": 0.55, "webinar": 0.40, "event": 0.30, "form": 0.22, "download": 0.06}
LEAD_SHARE: dict[str, float] = {"form": 0.35, "download": 0.25, "webinar": 0.15, "event": 0.10, "chat": 0.15}
LEAD_DAYS = 21.0  # mean days from lead to first purchase of a converting lead
LEAD_CUSTOMERS = 0.35  # share of customers who were a lead first
PROSPECTS = 0.25  # prospects (never buy) per customer, with search and chat touches


def _leads_and_prospects(world: Any) -> dict[str, Any]:
    """The draws behind both tables (same stream, drawn once per world)."""
    cached = getattr(world, "_journey_draws", None)
    if cached is not None:
        return cached
    rng = world.rng(STREAM)
    n = world.ids.size
    sources = np.array(list(LEAD_CONVERSION))
    p = np.array([LEAD_CONVERSION[s] for s in sources])
    w = np.array([LEAD_SHARE[s] for s in sources])
    # converted leads: chosen customers, the lead created before the first purchase
    chosen = np.flatnonzero(rng.random(n) < LEAD_CUSTOMERS)
    conv_source = sources[rng.choice(sources.size, chosen.size, p=w * p / (w * p).sum())]
    created = world.acq_days[chosen] - rng.exponential(LEAD_DAYS, chosen.size) - 0.01
    keep = created >= 0
    chosen, conv_source, created = chosen[keep], conv_source[keep], created[keep]
    # unconverted leads: as many per source as its conversion probability implies
    counts = {s: int((conv_source == s).sum()) for s in sources}
    un_source = np.concatenate([np.full(int(round(counts[s] * (1 - q) / q)), s) for s, q in zip(sources, p, strict=True)])
    un_created = rng.uniform(0, world.window_days, un_source.size)
    k = chosen.size + un_source.size
    order = np.argsort(np.concatenate([created, un_created]), kind="stable")
    leads = pd.DataFrame({
        "created_day": np.concatenate([created, un_created])[order],
        "source": np.concatenate([conv_source, un_source])[order],
        "customer_id": pd.array(np.concatenate([world.ids[chosen], np.full(un_source.size, None, dtype=object)])[order],
                                dtype="string"),
    })
    leads["lead_id"] = [f"L{i:06d}" for i in range(1, k + 1)]
    leads["email"] = [f"lead{i}@example.com" for i in range(1, k + 1)]
    # touches before a first purchase: 0-3 search clicks or chat replies between lead (or 20 days) and purchase
    first_day = world.acq_days
    lead_day = np.full(n, np.nan)
    lead_day[chosen] = created
    start = np.where(np.isnan(lead_day), np.maximum(first_day - rng.uniform(1, 20, n), 0), lead_day)
    m = rng.choice([0, 1, 2, 3], n, p=[0.35, 0.35, 0.2, 0.1])
    owner = np.repeat(np.arange(n), m)
    day = start[owner] + rng.uniform(0, 1, owner.size) * np.maximum(first_day[owner] - 0.02 - start[owner], 0)
    chat = rng.random(owner.size) < 0.3
    pre = pd.DataFrame({"day": day, "channel": np.where(chat, "chat", "search"), "event": np.where(chat, "reply", "click"),
                        "customer_id": world.ids[owner]})
    # prospects: 1-4 touches spread over the window, never a purchase
    n_p = int(PROSPECTS * n)
    p_ids = np.array([f"P{i:06d}" for i in range(1, n_p + 1)])
    m_p = rng.integers(1, 5, n_p)
    p_owner = np.repeat(np.arange(n_p), m_p)
    p_start = rng.uniform(0, world.window_days, n_p)
    p_day = p_start[p_owner] + rng.exponential(15, p_owner.size)  # past the window: dropped
    p_chat = rng.random(p_owner.size) < 0.3
    prospects = pd.DataFrame({"day": p_day, "channel": np.where(p_chat, "chat", "search"),
                              "event": np.where(p_chat, "reply", "click"), "customer_id": p_ids[p_owner]})
    draws = {"leads": leads, "pre": pre, "prospects": prospects}
    world._journey_draws = draws  # both generators share one set of draws
    return draws


def _truth(world: Any) -> None:
    world.truth["journey"] = {
        "lead_conversion": dict(LEAD_CONVERSION),
        "lead_share": dict(LEAD_SHARE),
        "lead_days_mean": LEAD_DAYS,
        "lead_customers_share": LEAD_CUSTOMERS,
    }


def demo_leads(world: Any) -> pd.DataFrame:
    """The ``leads`` table: lead_id, created_at, source, customer_id (once converted), email."""
    d = _leads_and_prospects(world)["leads"]
    _truth(world)
    return pd.DataFrame({
        "lead_id": d["lead_id"], "created_at": world.timestamps(d["created_day"].to_numpy()), "source": d["source"],
        "customer_id": d["customer_id"], "email": d["email"],
    })


def demo_touches(world: Any) -> pd.DataFrame:
    """The core touches plus form fills, pre-purchase search and chat touches and prospects' touches."""
    d = _leads_and_prospects(world)
    leads = d["leads"]
    forms = leads[leads["source"].isin(["form", "download"])]
    new = pd.concat([
        pd.DataFrame({"day": forms["created_day"].to_numpy(), "channel": "web", "event": "form_submit",
                      "customer_id": forms["customer_id"].to_numpy()}),
        d["pre"], d["prospects"],
    ], ignore_index=True)
    new = new[(new["day"] >= 0) & (new["day"] < world.window_days)]
    rows = pd.DataFrame({
        "timestamp": world.timestamps(new["day"].to_numpy()), "channel": new["channel"].to_numpy(),
        "event": new["event"].to_numpy(), "customer_id": pd.array(new["customer_id"].to_numpy(), dtype="string"),
        "campaign_id": pd.array([None] * len(new), dtype="string"), "value": np.nan,
    })
    base = world.tables["touches"]
    out = pd.concat([base, rows], ignore_index=True)
    out = out.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return out


DEMO_TABLES = {"leads": demo_leads, "touches": demo_touches}
