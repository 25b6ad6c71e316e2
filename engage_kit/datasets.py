"""Built-in datasets: the real CDNOW data and a synthetic demo with known truth.

``cdnow`` and ``cdnow-sample`` are the CDNOW transaction files that the ``lifetimes``
wheel ships (read with :mod:`importlib.resources`; ``lifetimes.datasets`` itself imports
``pkg_resources``, which recent setuptools no longer provides). ``demo`` is generated
here from known processes, so tests can check that the analyses recover what was put in:

- purchases follow BG/NBD (Fader, Hardie and Lee 2005): each customer buys at rate
  lambda ~ Gamma(r, alpha) per week while alive and drops out after each purchase with
  probability p ~ Beta(a, b); acquisition dates are spread over the window;
- order values follow Gamma-Gamma (Fader, Hardie and Lee 2005b): z ~ Gamma(p, nu),
  nu ~ Gamma(q, gamma);
- email, SMS and push campaigns with response rates that truly differ, an experiment
  with a control group, social and event engagement, survey answers that are lower
  for customers about to drop out, and support tickets.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import Config, load_config, parse_config, write_config
from .demoworld import DemoWorld, extra_generators, extra_tables, generator_fingerprint
from .errors import ConfigError, did_you_mean

BUILTIN = ("demo", "cdnow", "cdnow-sample", "demo-occasions", "demo-subscriptions")
# demo-occasions, demo-subscriptions: the CLV settings' demo variants (engage_kit.clv.demo.write_variant)
CORE_TABLES = ("transactions", "customers", "touches", "surveys", "tickets", "web_sessions")
DEMO_CUSTOMERS = 20_000
DEMO_SEED = 42


def cache_dir() -> Path:
    """Where built-in datasets are written once (``ENGAGE_KIT_CACHE`` overrides)."""
    root = os.environ.get("ENGAGE_KIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "engage-kit"
    )
    return Path(root)


# --- CDNOW ---------------------------------------------------------------------------


def load_cdnow(sample: bool = True) -> pd.DataFrame:
    """The CDNOW transactions as canonical columns: customer_id, timestamp, amount, quantity.

    Parameters
    ----------
    sample : bool
        True for the 1/10 sample of 2,357 customers used by Fader, Hardie and Lee (2005)
        (6,919 rows); False for the master file (23,570 customers, 69,659 rows).
    """
    files = importlib.resources.files("lifetimes") / "datasets"
    if sample:
        with (files / "CDNOW_sample.txt").open("r") as fh:
            df = pd.read_csv(
                fh,
                sep=r"\s+",
                header=None,
                names=["customer_id", "customer_index", "date", "quantity", "amount"],
                dtype={"customer_id": str, "date": str},
            )
    else:
        with (files / "CDNOW_master.txt").open("r") as fh:
            df = pd.read_csv(fh, sep=r"\s+", dtype={"customer_id": str, "date": str})
        df = df.rename(columns={"number_of_cds": "quantity", "dollar_value": "amount"})
    out = pd.DataFrame(
        {
            "customer_id": df["customer_id"].str.strip().astype("string"),
            "timestamp": pd.to_datetime(df["date"], format="%Y%m%d"),
            "amount": df["amount"].astype(float),
            "quantity": df["quantity"].astype(float),
        }
    )
    return out


# --- demo ----------------------------------------------------------------------------


@dataclass
class DemoData:
    """The demo tables (canonical columns) and the truth they were generated from."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    customers_truth: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


DEMO_TRUTH_DEFAULTS: dict[str, Any] = {
    "bgnbd": {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0},  # time unit: weeks
    "gamma_gamma": {"p": 6.0, "q": 4.0, "gamma": 15.0},
    "channels": {
        # per delivered message: P(open), P(click | open), P(conversion | click)
        "email": {"bounce": 0.02, "open": 0.30, "click_given_open": 0.20, "conversion_given_click": 0.15, "unsubscribe": 0.004},
        "sms": {"bounce": 0.01, "open": 0.0, "click_given_open": 0.0, "click": 0.06, "conversion_given_click": 0.25, "unsubscribe": 0.008},
        "push": {"bounce": 0.03, "open": 0.10, "click_given_open": 0.30, "conversion_given_click": 0.10, "unsubscribe": 0.002},
    },
    "experiment": {"campaign_id": "SPRING-24", "conversion": {"control": 0.02, "email": 0.035, "sms": 0.05, "push": 0.025}},
    "social": {"like": 0.05, "share": 0.01, "comment": 0.008, "click": 0.02},
    "events": {"attendance": 0.6, "interactions_per_attendee": 2.0},
    "service": {"first_contact_resolution": 0.72, "resolved": 0.95, "handle_seconds_mean": 420.0},
    "web": {"bounce": 0.40},
    "nps_promoter": {"staying": 0.55, "leaving": 0.20},
    "nps_detractor": {"staying": 0.15, "leaving": 0.50},
}

ACQ_CHANNELS = ["referral", "organic", "email", "paid_search", "social"]


def generate_demo(
    n_customers: int = DEMO_CUSTOMERS,
    *,
    seed: int = DEMO_SEED,
    start: str = "2023-01-01",
    end: str = "2024-12-31",
    tables: tuple[str, ...] | None = None,
) -> DemoData:
    """Generate the synthetic demo dataset (every table of the data contract).

    Parameters
    ----------
    n_customers : int
        Number of customers (default 20,000).
    seed : int
        Seed of the random generator: the same seed gives the same data.
    start, end : str
        The window; customers are acquired uniformly over it.
    tables : tuple of str, optional
        Generate only these tables (benchmarks need just transactions); default all.

    Returns
    -------
    DemoData
        ``tables`` (transactions, customers, touches, surveys, tickets, web_sessions) and
        ``truth`` (the parameters behind them; BG/NBD in weeks).
    """
    if n_customers < 10:
        raise ValueError("n_customers must be at least 10")
    truth = json.loads(json.dumps(DEMO_TRUTH_DEFAULTS))
    rng = np.random.default_rng(seed)
    t_start, t_end = pd.Timestamp(start), pd.Timestamp(end)
    window_days = (t_end - t_start).days + 1
    n = n_customers
    bg, gg = truth["bgnbd"], truth["gamma_gamma"]

    ids = np.array([f"C{i:06d}" for i in range(1, n + 1)])
    acq_days = rng.uniform(0, window_days, n)
    lam = rng.gamma(bg["r"], 1.0 / bg["alpha"], n)  # purchases per week
    p_drop = rng.beta(bg["a"], bg["b"], n)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)

    # purchases: first at acquisition; after each purchase drop out with p; gaps Exp(lambda)
    # BG/NBD: drop-out happens only right after a repeat purchase, so every customer
    # makes 1 + Geometric(p) purchases before leaving (Fader, Hardie and Lee 2005)
    n_total = np.minimum(1 + rng.geometric(p_drop), 400)
    n_gaps = n_total - 1
    owner = np.repeat(np.arange(n), n_gaps)
    gaps_days = rng.exponential(1.0, owner.size) / lam[owner] * 7.0
    csum = np.cumsum(gaps_days)
    first_of = np.concatenate([[0], np.cumsum(n_gaps)[:-1]])
    offsets = np.repeat(csum[first_of - 1] * (first_of > 0), n_gaps) if owner.size else np.array([])
    within = csum - offsets
    rep_days = acq_days[owner] + within
    keep = rep_days < window_days
    buy_owner = np.concatenate([np.arange(n), owner[keep]])
    buy_days = np.concatenate([acq_days, rep_days[keep]])
    # alive at the end: made all purchases it would make and the last one was not the drop
    made = np.bincount(buy_owner, minlength=n)
    dropped_after_last = made >= n_total  # its last purchase in the window was its final one
    last_day = np.zeros(n)
    np.maximum.at(last_day, buy_owner, buy_days)
    # engagement (browsing, support contacts) lasts while a customer is alive and fades
    # within 30 days of dropping out; it never depends on purchases still to come
    active_until = np.where(dropped_after_last, np.minimum(last_day + 30, window_days), window_days)

    order = np.lexsort((buy_days, buy_owner))
    buy_owner, buy_days = buy_owner[order], buy_days[order]
    n_orders = buy_owner.size
    spend = rng.gamma(gg["p"], 1.0 / nu[buy_owner])
    spend = np.round(spend, 2)
    zero = rng.random(n_orders) < 0.002
    spend[zero] = 0.0
    ts = t_start + pd.to_timedelta(buy_days, unit="D")
    # keep purchases inside the calendar day the process put them on
    order_ids = np.array([f"O{i:07d}" for i in range(1, n_orders + 1)])
    tx_channel = rng.choice(["web", "app", "store"], n_orders, p=[0.55, 0.30, 0.15])

    # split some orders into lines (amounts sum to the order's value)
    n_lines = np.where(spend > 0, rng.choice([1, 2, 3], n_orders, p=[0.6, 0.3, 0.1]), 1)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    w = rng.random(line_order.size) + 0.1
    w_sum = np.bincount(line_order, weights=w)
    line_amount = np.round(spend[line_order] * w / w_sum[line_order], 2)
    # put rounding remainders on each order's first line so lines sum exactly
    diff = spend - np.bincount(line_order, weights=line_amount, minlength=n_orders)
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    line_amount[first_line] = np.round(line_amount[first_line] + diff, 2)
    tx = pd.DataFrame(
        {
            "order_id": order_ids[line_order],
            "customer_id": ids[buy_owner][line_order],
            "timestamp": ts[line_order],
            "amount": line_amount,
            "quantity": rng.integers(1, 4, line_order.size).astype(float),
            "channel": tx_channel[line_order],
        }
    )
    # returns: 3% of orders with a value get a negative row 3-20 days later
    ret = np.flatnonzero((rng.random(n_orders) < 0.03) & (spend > 0))
    ret_days = buy_days[ret] + rng.uniform(3, 20, ret.size)
    ok = ret_days < window_days
    ret, ret_days = ret[ok], ret_days[ok]
    returns = pd.DataFrame(
        {
            "order_id": order_ids[ret],
            "customer_id": ids[buy_owner[ret]],
            "timestamp": t_start + pd.to_timedelta(ret_days, unit="D"),
            "amount": -np.round(spend[ret] * rng.uniform(0.2, 1.0, ret.size), 2),
            "quantity": 1.0,
            "channel": tx_channel[ret],
        }
    )
    tx = pd.concat([tx, returns], ignore_index=True).sort_values(["timestamp", "order_id"], kind="stable")
    tx["timestamp"] = tx["timestamp"].dt.floor("s")
    # identical lines would be read as duplicated rows: tell them apart by quantity
    for _ in range(5):
        dup = tx.duplicated(keep="first")
        if not dup.any():
            break
        tx.loc[dup, "quantity"] += 1

    # customers: acquisition channel tied to lambda's rank so lambda's marginal stays Gamma
    rank = lam.argsort().argsort() / max(n - 1, 1)
    weights = np.stack(
        [0.10 + 0.25 * rank, 0.25 + 0.0 * rank, 0.15 + 0.0 * rank, 0.25 - 0.05 * rank, 0.25 - 0.20 * rank],
        axis=1,
    )
    weights /= weights.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    acq_channel = np.array(ACQ_CHANNELS)[(u > np.cumsum(weights, axis=1)).sum(axis=1)]
    groups = np.array(["control", "email", "sms", "push"])
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": (t_start + pd.to_timedelta(acq_days - rng.uniform(0, 14, n), unit="D")).floor("s"),
            "acquisition_channel": acq_channel,
            "segment": rng.choice(["consumer", "business"], n, p=[0.8, 0.2]),
            "country": rng.choice(["DE", "FR", "NL", "AT", "other"], n, p=[0.4, 0.2, 0.15, 0.1, 0.15]),
            "test_group": groups[rng.integers(0, 4, n)],
        }
    )

    wanted = set(tables or (*CORE_TABLES, *extra_generators()))
    out = {"transactions": tx.reset_index(drop=True), "customers": customers}
    if "touches" in wanted:
        out["touches"] = _demo_touches(rng, truth, ids, acq_days, t_start, window_days, customers["test_group"].to_numpy())
    if "surveys" in wanted:
        out["surveys"] = _demo_surveys(rng, truth, ids, buy_owner, buy_days, made, n_total, t_start, window_days)
    if "tickets" in wanted:
        out["tickets"] = _demo_tickets(rng, truth, ids, acq_days, active_until, t_start, window_days)
    if "web_sessions" in wanted:
        out["web_sessions"] = _demo_sessions(rng, truth, ids, buy_owner, buy_days, acq_days, active_until, t_start, window_days)
    world = DemoWorld(
        seed=seed, t_start=t_start, window_days=window_days, ids=ids, acq_days=acq_days, lam=lam, p_drop=p_drop,
        nu=nu, made=made, dropped_after_last=dropped_after_last, last_day=last_day, active_until=active_until,
        buy_owner=buy_owner, buy_days=buy_days, tables=out, truth=truth,
    )  # fmt: skip
    extra_tables(world, wanted)

    truth.update(
        {
            "start": t_start.date().isoformat(),
            "end": t_end.date().isoformat(),
            "n_customers": n,
            "seed": seed,
            "time_unit": "W",
        }
    )
    customers_truth = pd.DataFrame(
        {
            "customer_id": ids,
            "lam_per_week": lam,
            "p_drop": p_drop,
            "nu": nu,
            "purchases_before_dropout": n_total,
            "purchases_in_window": made,
            "dropped_out": dropped_after_last,
        }
    )
    return DemoData(tables={k: v for k, v in out.items() if k in wanted}, truth=truth, customers_truth=customers_truth)


def _days_to_ts(t_start: pd.Timestamp, days: np.ndarray) -> pd.Series:
    return pd.Series(t_start + pd.to_timedelta(days, unit="D")).dt.floor("s")


def _demo_touches(rng, truth, ids, acq_days, t_start, window_days, test_group) -> pd.DataFrame:
    frames = []
    n = ids.size
    ch = truth["channels"]
    # (channel, campaign prefix, interval days, share of customers reachable)
    plans = [("email", "NL", 30, 0.7), ("sms", "SMS", 91, 0.6), ("push", "PUSH", 30, 0.4)]
    reachable = {name: rng.random(n) < share for name, _, _, share in plans}
    for name, prefix, every, _ in plans:
        rates = ch[name]
        for day in np.arange(every / 2, window_days, every):
            who = np.flatnonzero((acq_days < day) & reachable[name])
            if who.size == 0:
                continue
            camp = f"{prefix}-{(t_start + pd.Timedelta(days=float(day))).strftime('%Y-%m')}"
            send = day + rng.uniform(0, 0.5, who.size)
            bounced = rng.random(who.size) < rates["bounce"]
            delivered = ~bounced
            if rates["open"] > 0:
                opened = delivered & (rng.random(who.size) < rates["open"])
                clicked = opened & (rng.random(who.size) < rates["click_given_open"])
            else:
                opened = np.zeros(who.size, bool)
                clicked = delivered & (rng.random(who.size) < rates["click"])
            converted = clicked & (rng.random(who.size) < rates["conversion_given_click"])
            unsub = delivered & (rng.random(who.size) < rates["unsubscribe"])
            for event, mask, lag in [
                ("sent", np.ones(who.size, bool), 0.0),
                ("bounce", bounced, 0.001),
                ("delivered", delivered, 0.001),
                ("open", opened, 0.2),
                ("click", clicked, 0.25),
                ("conversion", converted, 0.3),
                ("unsubscribe", unsub, 0.3),
            ]:
                if mask.any():
                    frames.append(
                        pd.DataFrame(
                            {
                                "timestamp": _days_to_ts(t_start, send[mask] + lag),
                                "channel": name,
                                "event": event,
                                "customer_id": ids[who[mask]],
                                "campaign_id": camp,
                                "value": np.nan,
                            }
                        )
                    )
    # experiment with a control group: conversions within two weeks of the send
    exp = truth["experiment"]
    day = (pd.Timestamp("2024-04-15") - t_start).days
    if 0 < day < window_days:
        who = np.flatnonzero(acq_days < day)
        grp = test_group[who]
        for g, rate in exp["conversion"].items():
            members = who[grp == g]
            if members.size == 0:
                continue
            if g != "control":
                frames.append(
                    pd.DataFrame(
                        {
                            "timestamp": _days_to_ts(t_start, day + rng.uniform(0, 0.5, members.size)),
                            "channel": g,
                            "event": "sent",
                            "customer_id": ids[members],
                            "campaign_id": exp["campaign_id"],
                            "value": np.nan,
                        }
                    )
                )
            conv = members[rng.random(members.size) < rate]
            frames.append(
                pd.DataFrame(
                    {
                        "timestamp": _days_to_ts(t_start, day + rng.uniform(0.5, 14, conv.size)),
                        "channel": g if g != "control" else "web",
                        "event": "conversion",
                        "customer_id": ids[conv],
                        "campaign_id": exp["campaign_id"],
                        "value": np.round(rng.gamma(6.0, 5.0, conv.size), 2),
                    }
                )
            )
    # social: views of posts by known customers, and reactions to them
    views = int(n * 2.5)
    v_owner = rng.integers(0, n, views)
    v_day = acq_days[v_owner] + rng.uniform(0, 1, views) * (window_days - acq_days[v_owner])
    v_ts = _days_to_ts(t_start, v_day)
    posts = np.array([f"POST-{i:03d}" for i in range(1, 61)])[rng.integers(0, 60, views)]
    frames.append(pd.DataFrame({"timestamp": v_ts, "channel": "social", "event": "view", "customer_id": ids[v_owner], "campaign_id": posts, "value": np.nan}))
    for event, rate in truth["social"].items():
        m = rng.random(views) < rate
        frames.append(pd.DataFrame({"timestamp": v_ts[m] + pd.Timedelta(minutes=5), "channel": "social", "event": event, "customer_id": ids[v_owner[m]], "campaign_id": posts[m], "value": np.nan}))
    # events (webinars): registration, attendance, interactions
    ev = truth["events"]
    for k, day in enumerate(np.arange(45, window_days, 60)):
        who = np.flatnonzero(acq_days < day)
        reg = who[rng.random(who.size) < 0.05]
        camp = f"EVENT-{k + 1:02d}"
        att = reg[rng.random(reg.size) < ev["attendance"]]
        inter = np.repeat(att, rng.poisson(ev["interactions_per_attendee"], att.size))
        for event, who_e, lag in [("registration", reg, -7.0), ("attendance", att, 0.0), ("interaction", inter, 0.02)]:
            frames.append(pd.DataFrame({"timestamp": _days_to_ts(t_start, np.full(who_e.size, day + lag) + rng.uniform(0, 0.1, who_e.size)), "channel": "event", "event": event, "customer_id": ids[who_e], "campaign_id": camp, "value": np.nan}))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["timestamp"] < t_start + pd.Timedelta(days=window_days)]
    dup = out.duplicated(keep="first")
    out.loc[dup, "timestamp"] -= pd.Timedelta(seconds=1)
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _demo_surveys(rng, truth, ids, buy_owner, buy_days, made, n_total, t_start, window_days) -> pd.DataFrame:
    # NPS after 20% of purchases; lower when the purchase is the customer's last before dropping out
    idx_in_cust = np.arange(buy_owner.size) - np.concatenate([[0], np.cumsum(np.bincount(buy_owner, minlength=ids.size))[:-1]])[buy_owner]
    is_final = (idx_in_cust + 1 == n_total[buy_owner]) & (made[buy_owner] >= n_total[buy_owner])
    asked = rng.random(buy_owner.size) < 0.2
    sel = np.flatnonzero(asked)
    leaving = is_final[sel]
    prom = np.where(leaving, truth["nps_promoter"]["leaving"], truth["nps_promoter"]["staying"])
    detr = np.where(leaving, truth["nps_detractor"]["leaving"], truth["nps_detractor"]["staying"])
    u = rng.random(sel.size)
    score = np.where(u < prom, rng.integers(9, 11, sel.size), np.where(u < prom + detr, rng.integers(0, 7, sel.size), rng.integers(7, 9, sel.size)))
    day = np.minimum(buy_days[sel] + rng.uniform(1, 5, sel.size), window_days - 0.01)
    nps = pd.DataFrame({"timestamp": _days_to_ts(t_start, day), "kind": "nps", "score": score.astype(float), "customer_id": ids[buy_owner[sel]], "touchpoint": "post_purchase", "channel": "email"})
    # CSAT (1-5) and CES (1-7) after 10% of purchases, also lower for leavers
    sel2 = np.flatnonzero(rng.random(buy_owner.size) < 0.1)
    leaving2 = is_final[sel2]
    csat = np.clip(np.round(rng.normal(np.where(leaving2, 3.0, 4.2), 0.9)), 1, 5)
    ces = np.clip(np.round(rng.normal(np.where(leaving2, 4.5, 2.8), 1.2)), 1, 7)
    day2 = np.minimum(buy_days[sel2] + rng.uniform(1, 5, sel2.size), window_days - 0.01)
    ts2 = _days_to_ts(t_start, day2)
    c = pd.DataFrame({"timestamp": ts2, "kind": "csat", "score": csat, "customer_id": ids[buy_owner[sel2]], "touchpoint": "delivery", "channel": "web"})
    e = pd.DataFrame({"timestamp": ts2, "kind": "ces", "score": ces, "customer_id": ids[buy_owner[sel2]], "touchpoint": "checkout", "channel": "web"})
    return pd.concat([nps, c, e], ignore_index=True).sort_values("timestamp", kind="stable").reset_index(drop=True)


def _demo_tickets(rng, truth, ids, acq_days, active_until, t_start, window_days) -> pd.DataFrame:
    sv = truth["service"]
    n = ids.size
    k = rng.poisson(0.3, n)
    owner = np.repeat(np.arange(n), k)
    span = np.maximum(active_until[owner] - acq_days[owner], 1)
    day = acq_days[owner] + rng.uniform(0, 1, owner.size) * span
    m = day < window_days - 0.01
    owner, day = owner[m], day[m]
    m_tickets = owner.size
    contacts = np.where(rng.random(m_tickets) < sv["first_contact_resolution"], 1, rng.integers(2, 5, m_tickets)).astype(float)
    resolved = rng.random(m_tickets) < sv["resolved"]
    hours = rng.gamma(2.0, 12.0, m_tickets) * contacts
    opened = _days_to_ts(t_start, day)
    resolved_at = opened + pd.to_timedelta(np.round(hours * 3600), unit="s")
    resolved_at = resolved_at.where(resolved & (resolved_at < t_start + pd.Timedelta(days=window_days)))
    mu = np.log(sv["handle_seconds_mean"]) - 0.5 * 0.5**2
    handle = np.round(rng.lognormal(mu, 0.5, m_tickets) * contacts)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i:07d}" for i in range(1, m_tickets + 1)],
            "opened_at": opened,
            "customer_id": ids[owner],
            "resolved_at": resolved_at,
            "channel": rng.choice(["phone", "chat", "email"], m_tickets, p=[0.4, 0.4, 0.2]),
            "contacts": contacts,
            "handle_seconds": handle,
        }
    ).sort_values("opened_at", kind="stable").reset_index(drop=True)


def _demo_sessions(rng, truth, ids, buy_owner, buy_days, acq_days, active_until, t_start, window_days) -> pd.DataFrame:
    n = ids.size
    # one converting session before each purchase, plus browsing sessions while engaged
    k = rng.poisson(3.0 * np.maximum(active_until - acq_days, 1) / 365 + 1)
    owner = np.repeat(np.arange(n), k)
    day = acq_days[owner] + rng.uniform(0, 1, owner.size) * np.maximum(active_until[owner] - acq_days[owner], 1)
    anon = int(0.25 * owner.size)
    all_days = np.concatenate([buy_days - 0.01, day, rng.uniform(0, window_days, anon)])
    cust = np.concatenate([ids[buy_owner], ids[owner], np.full(anon, None, dtype=object)])
    converted = np.concatenate([np.ones(buy_owner.size, bool), np.zeros(owner.size + anon, bool)])
    m = (all_days >= 0) & (all_days < window_days - 0.001)
    all_days, cust, converted = all_days[m], cust[m], converted[m]
    s = all_days.size
    bounce = (~converted) & (rng.random(s) < truth["web"]["bounce"])  # among browsing sessions
    pageviews = np.where(bounce, 1, 2 + rng.geometric(0.25, s))
    duration = np.where(bounce, rng.exponential(15, s), pageviews * rng.gamma(2.0, 30.0, s))
    pages = np.array(["/", "/product", "/category", "/blog", "/sale"])
    out = pd.DataFrame(
        {
            "session_id": [f"S{i:08d}" for i in range(1, s + 1)],
            "started_at": _days_to_ts(t_start, all_days),
            "pageviews": pageviews.astype(float),
            "duration_seconds": np.round(duration, 1),
            "customer_id": pd.array(cust, dtype="string"),
            "landing_page": pages[rng.integers(0, 5, s)],
            "exit_page": np.where(converted, "/checkout/thanks", pages[rng.integers(0, 5, s)]),
            "converted": converted,
        }
    )
    return out.sort_values("started_at", kind="stable").reset_index(drop=True)


# --- writing and resolving built-in datasets -----------------------------------------


def write_demo(
    directory: str | Path,
    n_customers: int = DEMO_CUSTOMERS,
    *,
    seed: int = DEMO_SEED,
    fmt: str = "parquet",
) -> Path:
    """Write the demo tables, ``truth.json`` and a ``config.yaml`` that points at them.

    Returns the path of the config file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    demo = generate_demo(n_customers, seed=seed)
    tables = {}
    for name, df in demo.tables.items():
        path = directory / f"{name}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        else:
            df.to_csv(path, index=False)
        tables[name] = {"path": path.name}
    (directory / "truth.json").write_text(json.dumps(demo.truth, indent=2), encoding="utf-8")
    demo.customers_truth.to_parquet(directory / "customers_truth.parquet", index=False)
    config = parse_config(
        {
            "title": "Demo shop: customer engagement review",
            "currency": "EUR",
            "period": "M",
            "timezone": "UTC",
            "tables": tables,
        },
        base_dir=directory,
    )
    return write_config(config, directory / "config.yaml")


def write_cdnow(directory: str | Path, *, sample: bool) -> Path:
    """Write a CDNOW transactions Parquet file and a config for it; return the config path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    load_cdnow(sample).to_parquet(directory / "transactions.parquet", index=False, coerce_timestamps="us")
    which = "1/10 sample" if sample else "master file"
    config = parse_config(
        {
            "title": f"CDNOW customers ({which})",
            "currency": "USD",
            "period": "M",
            "as_of": "1998-06-30",
            "tables": {"transactions": {"path": "transactions.parquet"}},
            "notebooks": {
                "clv_bgnbd": {"calibration_end": "1997-09-30", "observation_end": "1998-06-30"},
            },
        },
        base_dir=directory,
    )
    return write_config(config, directory / "config.yaml")


def builtin_config(name: str) -> Config:
    """The config of built-in dataset ``name`` (written to the cache on first use)."""
    if name not in BUILTIN:
        raise ConfigError(f"unknown dataset '{name}'{did_you_mean(name, BUILTIN)}; built-in: {', '.join(BUILTIN)}")
    from ._version import __version__

    folder = cache_dir() / f"{name}-{__version__}-g{generator_fingerprint()}"
    path = folder / "config.yaml"
    if not path.exists():
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        if name == "demo":
            write_demo(tmp)
        elif name.startswith("demo-"):
            from .clv.demo import write_variant

            write_variant(name.removeprefix("demo-"), tmp)
        else:
            write_cdnow(tmp, sample=name == "cdnow-sample")
        try:
            tmp.rename(folder)
        except OSError:  # another process wrote it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    config = load_config(path)
    config.name = name
    for tcfg in config.tables.values():  # messages name the dataset, not the cache folder it is kept in
        tcfg.label = f"built-in dataset {name}"
    return config


def demo_truth(config: Config) -> dict[str, Any] | None:
    """The generator's truth for a demo config (its ``truth.json``), else None."""
    if config.source is None:
        return None
    path = Path(config.source).parent / "truth.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
