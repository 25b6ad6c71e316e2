"""Paths before the first purchase and the credit each channel gets for purchases.

A path is a person's sequence of touch channels before their first purchase (all their
touches when they never bought), consecutive repeats collapsed ("email, email, web" is
"email → web"), ending in "purchase" or "no purchase yet". Paths are built and counted in
the engine; only one row per distinct path and per channel pair comes back.

Three ways to share the purchases out between channels, over the people with at least
one touch before buying (or before as_of):

- first touch: each purchase to the first channel of its path;
- last touch: each purchase to the last channel before it;
- Markov removal effect (first order; Anderl, Becker, von Wangenheim and Schumann 2016,
  "Mapping the customer journey", IJRM 33(3)): the paths are read as a Markov chain with
  the states start, the channels, conversion and null (no purchase), with transition
  probabilities p(i → j) = n(i → j) / n(i → ·). P(conversion) is the probability of
  reaching conversion from start (absorption probability, solved from (I − Q) x = r).
  Removing channel c sends every transition into c to null; the removal effect is
  RE(c) = 1 − P(conversion without c) / P(conversion), and the channel's share is
  RE(c) / Σ RE.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
ARROW = " → "
PURCHASE, NO_PURCHASE = "purchase", "no purchase yet"
MORE = "…"


def path_strings(steps: ibis.Table, *, max_steps: int = 5) -> ibis.Table:
    """One row per person with a touch: ``person, path, steps, converted``.

    The path shows the last ``max_steps`` channels (an ellipsis in front when there were
    more) and its end: "search → web → purchase".
    """
    s = steps.filter(steps.from_end < max_steps)
    agg = {f"c{k}": s.channel.max(where=s.from_end == k) for k in range(max_steps)}
    per = s.group_by("person").aggregate(steps=s.steps.max(), converted=s.converted.max(), **agg)
    text = ibis.ifelse(per.steps > max_steps, ibis.literal(MORE + ARROW), ibis.literal(""))
    for k in range(max_steps - 1, -1, -1):
        c = per[f"c{k}"]
        text = text + ibis.ifelse(c.isnull(), ibis.literal(""), c + ibis.literal(ARROW))
    text = text + ibis.ifelse(per.converted, ibis.literal(PURCHASE), ibis.literal(NO_PURCHASE))
    return per.select("person", path=text, steps=per.steps.cast("int64"), converted=per.converted)


def path_counts(paths: ibis.Table) -> pd.DataFrame:
    """Per distinct path: ``path, people, purchases, converted`` (the path ends in a purchase),
    most common first (ties by path)."""
    g = paths.group_by("path").aggregate(people=paths.count(), converted=paths.converted.max())
    df = g.execute()
    if df.empty:
        return pd.DataFrame(columns=["path", "people", "converted"])
    df["people"] = df["people"].astype("int64")
    df["converted"] = df["converted"].astype(bool)
    return df.sort_values(["people", "path"], ascending=[False, True]).reset_index(drop=True)


def channel_sequences(paths: pd.DataFrame) -> pd.DataFrame:
    """Paths of channels without their ends: ``channels`` (the path's channels, a tuple),
    ``people``, ``purchases``: the touching paths, grouped, from :func:`path_counts`."""
    rows = []
    for p, n, conv in paths[["path", "people", "converted"]].itertuples(index=False):
        parts = [x for x in str(p).split(ARROW) if x not in (PURCHASE, NO_PURCHASE, MORE)]
        rows.append((tuple(parts), int(n), int(n) if conv else 0))
    return pd.DataFrame(rows, columns=["channels", "people", "purchases"])


def transitions(steps: ibis.Table) -> pd.DataFrame:
    """Transition counts of the first-order chain: ``source, target, n``, counted in the engine.

    Each person's collapsed steps give start → first channel, channel → next channel, and
    the last channel → conversion (bought) or null (not yet).
    """
    inner = steps.select(source=ibis.coalesce(steps.prev, ibis.literal(START)), target=steps.channel)
    last = steps.filter(steps.from_end == 0)
    end = last.select(source=last.channel,
                      target=ibis.ifelse(last.converted, ibis.literal(CONVERSION), ibis.literal(NULL)))
    u = inner.union(end, distinct=False)
    df = u.group_by(["source", "target"]).aggregate(n=u.count()).execute()
    df["n"] = df["n"].astype("int64")
    return df.sort_values(["source", "target"]).reset_index(drop=True)


def transitions_from_sequences(seqs: pd.DataFrame) -> pd.DataFrame:
    """The same transition counts from grouped sequences (``channels, people, purchases``).

    A sequence bought by ``purchases`` of its ``people`` ends in conversion that often and
    in null the rest; used for hand-made paths and in the tests.
    """
    counts: dict[tuple[str, str], int] = {}
    for chans, n, k in seqs[["channels", "people", "purchases"]].itertuples(index=False):
        if not chans:
            continue
        seq = [START, *chans]
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            counts[(a, b)] = counts.get((a, b), 0) + int(n)
        if k:
            counts[(chans[-1], CONVERSION)] = counts.get((chans[-1], CONVERSION), 0) + int(k)
        if n - k:
            counts[(chans[-1], NULL)] = counts.get((chans[-1], NULL), 0) + int(n - k)
    rows = [(a, b, n) for (a, b), n in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["source", "target", "n"])


def conversion_probability(trans: pd.DataFrame, *, removed: str | None = None) -> float:
    """P(reaching conversion from start) of the chain, with channel ``removed`` sent to null.

    Absorbing Markov chain: with Q the transient-to-transient and r the transient-to-
    conversion probabilities, the absorption probabilities x solve (I − Q) x = r
    (Kemeny and Snell 1960, theorem 3.3.7); the answer is x[start]. NaN without paths.
    """
    if trans.empty:
        return float("nan")
    t = trans.copy()
    if removed is not None:
        t = t[t["source"] != removed]
        t.loc[t["target"] == removed, "target"] = NULL
        t = t.groupby(["source", "target"], as_index=False)["n"].sum()
    states = sorted(set(t["source"]) - {CONVERSION, NULL})
    if START not in states:
        return float("nan")
    idx = {s: i for i, s in enumerate(states)}
    out = t.groupby("source")["n"].sum()
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    for a, b, n in t[["source", "target", "n"]].itertuples(index=False):
        if a not in idx:
            continue
        p = n / out[a]
        if b == CONVERSION:
            r[idx[a]] += p
        elif b in idx:
            q[idx[a], idx[b]] += p
    x = np.linalg.lstsq(np.eye(len(states)) - q, r, rcond=None)[0]
    return float(np.clip(x[idx[START]], 0.0, 1.0))


def markov_attribution(trans: pd.DataFrame) -> pd.DataFrame:
    """Per channel: ``channel, removal_effect, share`` (shares sum to 1), largest first.

    See the module docstring for the formula. Empty when nobody bought (P(conversion) = 0).
    """
    base = conversion_probability(trans)
    channels = sorted((set(trans["source"]) | set(trans["target"])) - {START, CONVERSION, NULL})
    if not channels or not np.isfinite(base) or base <= 0:
        return pd.DataFrame(columns=["channel", "removal_effect", "share"])
    re = np.array([1.0 - conversion_probability(trans, removed=c) / base for c in channels])
    re = np.where(re < 1e-12, 0.0, re)  # a channel on no converting path: 0, not a rounding error
    total = re.sum()
    share = re / total if total > 0 else np.full(len(channels), np.nan)
    df = pd.DataFrame({"channel": channels, "removal_effect": re, "share": share})
    return df.sort_values(["share", "channel"], ascending=[False, True]).reset_index(drop=True)


def touch_attribution(steps: ibis.Table) -> pd.DataFrame:
    """First- and last-touch counts of purchases per channel, counted in the engine:
    ``channel, first_touch, last_touch`` (counts) over people who bought after a touch."""
    bought = steps.filter(steps.converted)
    first = bought.filter(bought.step == 0)
    last = bought.filter(bought.from_end == 0)
    f = first.group_by(channel=first.channel).aggregate(first_touch=first.count()).execute()
    la = last.group_by(channel=last.channel).aggregate(last_touch=last.count()).execute()
    df = f.merge(la, on="channel", how="outer").fillna(0)
    for c in ("first_touch", "last_touch"):
        df[c] = df[c].astype("int64")
    return df.sort_values("channel").reset_index(drop=True)


def attribution_table(steps: ibis.Table | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shares per channel: ``channel, first_touch, last_touch, markov``, the transition counts).

    Shares of each method sum to 1 over the channels; empty tables without purchases
    after a touch.
    """
    cols = ["channel", "first_touch", "last_touch", "markov"]
    if steps is None:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=["source", "target", "n"])
    trans = transitions(steps)
    touches = touch_attribution(steps)
    mk = markov_attribution(trans)
    if touches.empty or mk.empty:
        return pd.DataFrame(columns=cols), trans
    df = touches.merge(mk[["channel", "share"]].rename(columns={"share": "markov"}), on="channel", how="outer")
    df = df.fillna({"first_touch": 0, "last_touch": 0, "markov": 0.0})
    for c in ("first_touch", "last_touch"):
        df[c] = df[c] / df[c].sum() if df[c].sum() > 0 else np.nan
    return df.sort_values(["markov", "channel"], ascending=[False, True]).reset_index(drop=True)[cols], trans


def last_channel_before_leaving(steps: ibis.Table | None) -> pd.DataFrame:
    """Among people who touched but have not bought: ``channel, people, share`` of their last touch."""
    if steps is None:
        return pd.DataFrame(columns=["channel", "people", "share"])
    s = steps.filter(~steps.converted & (steps.from_end == 0))
    df = s.group_by("channel").aggregate(people=s.count()).execute()
    if df.empty:
        return pd.DataFrame(columns=["channel", "people", "share"])
    df["people"] = df["people"].astype("int64")
    df["share"] = df["people"] / df["people"].sum()
    return df.sort_values(["people", "channel"], ascending=[False, True]).reset_index(drop=True)


def paths_export(paths: pd.DataFrame) -> pd.DataFrame:
    """paths.csv: per sequence of channels (the path without its end, bought or not):
    ``path, people, purchases, conversion_rate, conversion_low, conversion_high`` (Wilson
    95% interval), most common first. People without a touch are not in it."""
    from ..stats import wilson_interval

    seqs = channel_sequences(paths)
    seqs["channels_text"] = [ARROW.join(c) if c else "(no touch)" for c in seqs["channels"]]
    g = seqs.groupby("channels_text", as_index=False)[["people", "purchases"]].sum()
    lo, hi = wilson_interval(g["purchases"].to_numpy(), g["people"].to_numpy())
    g["conversion_rate"] = g["purchases"] / g["people"]
    g["conversion_low"], g["conversion_high"] = lo, hi
    g = g.rename(columns={"channels_text": "path"})
    return g.sort_values(["people", "path"], ascending=[False, True]).reset_index(drop=True)
