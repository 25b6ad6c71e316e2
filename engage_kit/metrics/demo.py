"""Demo tables of the loyalty, referral, usage and page figures, drawn from processes with known truth.

Each table has a random stream of its own (:meth:`engage_kit.demoworld.DemoWorld.rng`,
streams 31-35), so the core tables do not change. The truth goes to ``truth["engagement_extras"]``:

- tickets: ``handled_by`` bot / self_service / agent; a bot or self-service contact is
  escalated with probability 1 − ``containment``; ``reason`` from a fixed mix;
- loyalty: a buying customer joins at its first purchase with probability ``join_rate``
  (more often the more it buys: members choose to join), earns 10 points per later
  purchase, and redeems each batch with probability ``redeem_share``;
- referrals: a buying customer refers with probability ``refer_rate``; the referred
  person becomes a (buying) customer with probability ``referral_conversion``;
- usage: a customer uses each feature with probability ``adoption[feature]``, its
  first use ``first_use_mean_days`` on average after its first purchase, weekly while
  it is active;
- pageviews: each session's pages, the landing page first and the exit page last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..demoworld import DemoWorld

TRUTH = {
    "containment": 0.80,
    "handled_by": {"bot": 0.35, "self_service": 0.15, "agent": 0.50},
    "reasons": {"billing": 0.25, "delivery": 0.30, "returns": 0.20, "login": 0.15, "product question": 0.10},
    "join_rate": 0.30,
    "redeem_share": 0.40,
    "refer_rate": 0.10,
    "referral_conversion": 0.50,
    "adoption": {"search": 0.80, "dashboard": 0.55, "export": 0.35, "api": 0.10},
    "first_use_mean_days": 10.0,
    "uses_per_week": 0.4,
}
PAGES = np.array(["/", "/product", "/category", "/blog", "/sale", "/help"])


def _truth(world: DemoWorld) -> dict:
    return world.truth.setdefault("engagement_extras", dict(TRUTH))


def _first_buy(world: DemoWorld) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: its first purchase day (NaN without one) and number of purchases."""
    n = world.ids.size
    first = np.full(n, np.nan)
    order = np.argsort(world.buy_days, kind="stable")[::-1]
    first[world.buy_owner[order]] = world.buy_days[order]
    return first, np.bincount(world.buy_owner, minlength=n)


def demo_tickets(world: DemoWorld) -> pd.DataFrame:
    """The core tickets with ``handled_by``, ``escalated`` and ``reason`` added (stream 31)."""
    tr, rng = _truth(world), world.rng(31)
    t = world.tables["tickets"].copy()
    m = len(t)
    who = list(tr["handled_by"])
    handled = np.array(who)[rng.choice(len(who), m, p=list(tr["handled_by"].values()))]
    selfserve = handled != "agent"
    escalated = np.where(selfserve, rng.random(m) >= tr["containment"], False)
    reasons = list(tr["reasons"])
    t["handled_by"] = handled
    t["escalated"] = escalated
    t["reason"] = np.array(reasons)[rng.choice(len(reasons), m, p=list(tr["reasons"].values()))]
    return t


def demo_loyalty(world: DemoWorld) -> pd.DataFrame:
    """Join, earn and redeem rows (stream 32)."""
    tr, rng = _truth(world), world.rng(32)
    first, count = _first_buy(world)
    buyers = np.flatnonzero(np.isfinite(first))
    # members choose to join: the odds rise with purchases, the average stays join_rate
    w = np.log1p(count[buyers]).astype(float)
    p = np.clip(tr["join_rate"] * w / w.mean(), 0, 0.95)
    members = buyers[rng.random(buyers.size) < p]
    is_member = np.zeros(world.ids.size, bool)
    is_member[members] = True
    joins = pd.DataFrame({"cust": members, "day": first[members], "kind": "join", "points": 0.0})
    later = is_member[world.buy_owner] & (world.buy_days > first[world.buy_owner])
    eo, ed = world.buy_owner[later], world.buy_days[later]
    earns = pd.DataFrame({"cust": eo, "day": ed, "kind": "earn", "points": 10.0})
    red = rng.random(eo.size) < tr["redeem_share"]
    rd = ed[red] + rng.uniform(1, 60, red.sum())
    redeems = pd.DataFrame({"cust": eo[red], "day": rd, "kind": "redeem", "points": -10.0})
    out = pd.concat([joins, earns, redeems], ignore_index=True)
    out = out[out["day"] < world.window_days - 0.01]
    return pd.DataFrame({"customer_id": world.ids[out["cust"].to_numpy()],
                         "timestamp": world.timestamps(out["day"].to_numpy()).to_numpy(),
                         "kind": out["kind"].to_numpy(), "points": out["points"].to_numpy()}
                        ).sort_values("timestamp", kind="stable").reset_index(drop=True)


def demo_referrals(world: DemoWorld) -> pd.DataFrame:
    """One referral per referring buyer (stream 33); half the referred people are customers who bought."""
    tr, rng = _truth(world), world.rng(33)
    first, _ = _first_buy(world)
    buyers = np.flatnonzero(np.isfinite(first))
    who = buyers[rng.random(buyers.size) < tr["refer_rate"]]
    day = first[who] + rng.uniform(1, 90, who.size)
    keep = day < world.window_days - 0.01
    who, day = who[keep], day[keep]
    converts = rng.random(who.size) < tr["referral_conversion"]
    referred = np.where(converts, world.ids[rng.choice(buyers, who.size)], None)
    return pd.DataFrame({
        "referrer_id": world.ids[who], "timestamp": world.timestamps(day).to_numpy(),
        "referred_customer_id": pd.array(referred, dtype="string"), "reward": np.where(converts, 10.0, 0.0),
    }).sort_values("timestamp", kind="stable").reset_index(drop=True)


def demo_usage(world: DemoWorld) -> pd.DataFrame:
    """Feature use while customers are active (stream 34)."""
    tr, rng = _truth(world), world.rng(34)
    first, _ = _first_buy(world)
    buyers = np.flatnonzero(np.isfinite(first))
    frames = []
    for feature, rate in tr["adoption"].items():
        users = buyers[rng.random(buyers.size) < rate]
        start = first[users] + rng.exponential(tr["first_use_mean_days"], users.size)
        end = np.minimum(np.maximum(world.active_until[users], start + 1), world.window_days - 0.01)
        k = 1 + rng.poisson(tr["uses_per_week"] * np.maximum(end - start, 0) / 7)
        owner = np.repeat(np.arange(users.size), k)
        first_row = np.r_[0, np.cumsum(k)[:-1]]
        u = rng.uniform(0, 1, owner.size)
        u[first_row] = 0.0  # each user's first row is its first use
        day = start[owner] + u * (end[owner] - start[owner])
        frames.append(pd.DataFrame({"cust": users[owner], "day": day, "feature": feature,
                                    "quantity": 1.0 + rng.poisson(2.0, owner.size)}))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["day"] < world.window_days - 0.01]
    return pd.DataFrame({"customer_id": world.ids[out["cust"].to_numpy()],
                         "timestamp": world.timestamps(out["day"].to_numpy()).to_numpy(),
                         "feature": out["feature"].to_numpy(), "quantity": out["quantity"].to_numpy()}
                        ).sort_values("timestamp", kind="stable").reset_index(drop=True)


def demo_pageviews(world: DemoWorld) -> pd.DataFrame:
    """Up to five pages per web session, landing page first, exit page last (stream 35)."""
    rng = world.rng(35)
    s = world.tables["web_sessions"]
    k = np.clip(s["pageviews"].fillna(1).to_numpy(dtype=int), 1, 5)
    owner = np.repeat(np.arange(len(s)), k)
    pos = np.arange(owner.size) - np.repeat(np.r_[0, np.cumsum(k)[:-1]], k)
    page = PAGES[rng.integers(0, PAGES.size, owner.size)].astype(object)
    page[pos == 0] = s["landing_page"].to_numpy()[owner[pos == 0]]
    last = pos == k[owner] - 1
    page[last & (k[owner] > 1)] = s["exit_page"].to_numpy()[owner[last & (k[owner] > 1)]]
    gap = rng.exponential(45.0, owner.size)
    gap[pos == 0] = 0.0
    secs = pd.Series(gap).groupby(owner).cumsum().to_numpy()
    ts = pd.to_datetime(s["started_at"]).to_numpy()[owner] + pd.to_timedelta(np.round(secs), unit="s").to_numpy()
    return pd.DataFrame({"session_id": s["session_id"].to_numpy()[owner], "page": page.astype(str), "timestamp": ts})


DEMO_TABLES = {"tickets": demo_tickets, "loyalty": demo_loyalty, "referrals": demo_referrals, "usage": demo_usage,
               "pageviews": demo_pageviews}
