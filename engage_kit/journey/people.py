"""Every person's stages, in the engine: from first contact to purchase, repeat and advocacy.

A person is a customer id (in transactions, customers, touches, web sessions or a
converted lead) or an unconverted lead (``lead:<lead_id>``). Each stage's date is the first
time its evidence appears up to and including ``as_of``:

- ``lead``: the first contact of any kind: a lead created (``leads.created_at``), a sign-up
  (``customers.signup_at``), a touch the person made (any event but sent, delivered,
  bounce, impression, unsubscribe), a web session, or else the first purchase;
- ``engaged``: the first click, reply, comment, event attendance or web session;
- ``first_purchase``: the first purchase (an order with amount >= 0);
- ``repeat_purchase``: the first purchase on a later day than the first purchase;
- ``advocate``: for a customer with a purchase, the first NPS answer of 9 or 10 (a
  promoter; Reichheld 2003) or the first referral made.

The funnel places every person at the furthest stage they reached; the stages before it
count as passed even when their own evidence is missing (a customer who bought without a
recorded click passed the engaged stage unseen). Only one row per person leaves the engine
in the exports; the figures are counted in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from ..engine import strip

STAGES: tuple[str, ...] = ("lead", "engaged", "first_purchase", "repeat_purchase", "advocate")
NOT_INTERACTIONS: tuple[str, ...] = ("sent", "delivered", "bounce", "impression", "unsubscribe")
ENGAGED_EVENTS: tuple[str, ...] = ("click", "reply", "comment", "attendance")
FORM_EVENT = "form_submit"
PROMOTER_MIN = 9  # NPS answers of 9 and 10 are promoters
WEB = "web"  # the channel of a web session
LEAD_PREFIX = "lead:"
SECONDS_PER_DAY = 86_400
TS = "timestamp"  # every date in the union tables has one type (sources differ in precision)


def day_number(ts: ibis.Value) -> ibis.Value:
    """Days since 1970-01-01 of a naive timestamp (the calendar day it falls on)."""
    return (ts.truncate("D").epoch_seconds() // SECONDS_PER_DAY).cast("int64")


@dataclass
class People:
    """The per-person tables of one dataset, as Ibis expressions (nothing executed yet).

    ``stages``: one row per person: ``person, customer_id, source, acquisition_channel``,
    one ``<stage>_at`` timestamp per stage (the stage's own evidence, null when none) and
    ``furthest`` (0 to 4, the index in :data:`STAGES` of the furthest stage reached).
    ``steps``: the person's touches before their first purchase (all of them for people
    who never bought), consecutive repeats of a channel collapsed: ``person, ts, channel,
    step`` (0 first), ``from_end`` (0 the last), ``steps`` (how many), ``converted``.
    """

    stages: ibis.Table
    steps: ibis.Table | None
    as_of: pd.Timestamp
    has_leads: bool
    has_touches: bool
    has_advocacy: bool


def _interactions(ds: Any, end: Any) -> ibis.Table | None:
    """person, ts, channel, engaged: touches the person made and web sessions."""
    parts = []
    if ds.has("touches"):
        t = ds.table("touches")
        ev = strip(t.event.lower())
        t = t.filter(t.customer_id.notnull(), t.timestamp.notnull(), t.timestamp < end, ~ev.isin(list(NOT_INTERACTIONS)))
        ev = strip(t.event.lower())
        parts.append(t.select(person=t.customer_id.cast("string"), ts=t.timestamp.cast(TS),
                              channel=ibis.coalesce(strip(t.channel.cast("string")), ibis.literal("other")),
                              engaged=ev.isin(list(ENGAGED_EVENTS))))
    if ds.has("web_sessions"):
        w = ds.table("web_sessions")
        w = w.filter(w.customer_id.notnull(), w.started_at.notnull(), w.started_at < end)
        parts.append(w.select(person=w.customer_id.cast("string"), ts=w.started_at.cast(TS), channel=ibis.literal(WEB),
                              engaged=ibis.literal(True)))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def _lead_rows(ds: Any, end: Any) -> ibis.Table | None:
    """person, ts, source, lead_id: every lead created up to as_of."""
    if not ds.has("leads"):
        return None
    lt = ds.table("leads")
    lt = lt.filter(lt.lead_id.notnull(), lt.created_at.notnull(), lt.created_at < end)
    person = ibis.coalesce(lt.customer_id.cast("string"), ibis.literal(LEAD_PREFIX) + lt.lead_id.cast("string"))
    return lt.select(person=person, ts=lt.created_at.cast(TS), source=lt.source.cast("string"), lead_id=lt.lead_id.cast("string"))


def purchase_days(ds: Any, end: Any) -> ibis.Table:
    """customer_id, first_purchase_at, first_day, repeat_purchase_at per customer with a purchase."""
    p = ds.purchases
    p = p.filter(p.customer_id.notnull(), p.timestamp.notnull(), p.timestamp < end)
    p = p.select(customer_id=p.customer_id.cast("string"), ts=p.timestamp.cast(TS))
    first = p.group_by("customer_id").aggregate(first_purchase_at=p.ts.min())
    first = first.mutate(first_day=day_number(first.first_purchase_at))
    j = p.join(first, "customer_id")
    later = j.filter(day_number(j.ts) > j.first_day)
    rep = later.group_by("customer_id").aggregate(repeat_purchase_at=later.ts.min())
    return first.left_join(rep, "customer_id").select(first.customer_id, first.first_purchase_at, first.first_day,
                                                     rep.repeat_purchase_at)


def _advocacy(ds: Any, end: Any) -> ibis.Table | None:
    """person, ts: NPS promoter answers and referrals made."""
    parts = []
    if ds.has("surveys"):
        s = ds.table("surveys")
        s = s.filter(s.customer_id.notnull(), s.timestamp < end, strip(s.kind.lower()) == "nps", s.score >= PROMOTER_MIN)
        parts.append(s.select(person=s.customer_id.cast("string"), ts=s.timestamp.cast(TS)))
    if ds.has("referrals"):
        r = ds.table("referrals")
        r = r.filter(r.referrer_id.notnull(), r.timestamp < end)
        parts.append(r.select(person=r.referrer_id.cast("string"), ts=r.timestamp.cast(TS)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0].union(parts[1])


def people(ds: Any) -> People:
    """The per-person stage table and touch steps of a dataset (see the module's definitions)."""
    end = (ds.as_of + pd.Timedelta(days=1)).to_pydatetime()
    buys = purchase_days(ds, end)
    inter = _interactions(ds, end)
    leads = _lead_rows(ds, end)
    adv = _advocacy(ds, end)
    null_ts = ibis.null(TS)
    null_s = ibis.null("string")
    rows = [buys.select(person=buys.customer_id, contact=null_ts, engaged_at=null_ts)]
    if inter is not None:
        rows.append(inter.select("person", contact=inter.ts, engaged_at=ibis.ifelse(inter.engaged, inter.ts, null_ts)))
    if leads is not None:
        rows.append(leads.select("person", contact=leads.ts, engaged_at=null_ts))
    if ds.has("customers") and "signup_at" in ds.table("customers").columns:
        c = ds.table("customers")
        c = c.filter(c.customer_id.notnull(), c.signup_at.notnull(), c.signup_at < end)
        rows.append(c.select(person=c.customer_id.cast("string"), contact=c.signup_at.cast(TS), engaged_at=null_ts))
    u = rows[0]
    for r in rows[1:]:
        u = u.union(r)
    per = u.group_by("person").aggregate(contact_at=u.contact.min(), engaged_at=u.engaged_at.min())
    per = per.left_join(buys, per.person == buys.customer_id).select(
        per.person, per.contact_at, per.engaged_at, buys.first_purchase_at, buys.repeat_purchase_at)
    if adv is not None:
        a = adv.group_by("person").aggregate(advocate_at=adv.ts.min())
        per = per.left_join(a, "person").select(per, advocate_at=a.advocate_at)
    else:
        per = per.mutate(advocate_at=null_ts)
    if leads is not None:
        first = leads.group_by("person").aggregate(lead_created=leads.ts.min())
        j = leads.join(first, "person").filter(lambda t: t.ts == t.lead_created)
        src = j.group_by("person").aggregate(lead_created=j.lead_created.min(), source=j.source.min())
        per = per.left_join(src, "person").select(per, lead_created=src.lead_created, source=src.source)
    else:
        per = per.mutate(lead_created=null_ts, source=null_s)
    if ds.has("customers") and "acquisition_channel" in ds.table("customers").columns:
        c = ds.table("customers")
        acq = c.group_by(person=c.customer_id.cast("string")).aggregate(
            acquisition_channel=c.acquisition_channel.cast("string").min())
        per = per.left_join(acq, "person").select(per, acquisition_channel=acq.acquisition_channel)
    else:
        per = per.mutate(acquisition_channel=null_s)
    bought = per.first_purchase_at.notnull()
    advocate = bought & per.advocate_at.notnull()
    furthest = (ibis.cases((advocate, 4), (per.repeat_purchase_at.notnull(), 3), (bought, 2),
                           (per.engaged_at.notnull(), 1), else_=0))
    lead_at = ibis.least(*[ibis.coalesce(per.contact_at, per.first_purchase_at),
                           ibis.coalesce(per.first_purchase_at, per.contact_at)])
    stages = per.select(
        "person",
        customer_id=ibis.ifelse(per.person.startswith(LEAD_PREFIX), null_s, per.person),
        source=per.source, acquisition_channel=per.acquisition_channel,
        lead_created_at=per.lead_created,
        lead_at=lead_at, engaged_at=per.engaged_at, first_purchase_at=per.first_purchase_at,
        repeat_purchase_at=per.repeat_purchase_at, advocate_at=ibis.ifelse(advocate, per.advocate_at, null_ts),
        furthest=furthest.cast("int64"),
    )
    steps = None
    if inter is not None:
        steps = _steps(inter, stages)
    return People(stages=stages, steps=steps, as_of=ds.as_of, has_leads=leads is not None,
                  has_touches=inter is not None, has_advocacy=adv is not None)


def _steps(inter: ibis.Table, stages: ibis.Table) -> ibis.Table:
    """Touches before the first purchase, consecutive repeats of a channel collapsed, numbered."""
    s = inter.join(stages.select("person", "first_purchase_at"), "person")
    s = s.filter(s.first_purchase_at.isnull() | (s.ts < s.first_purchase_at))
    s = s.select("person", "ts", "channel", converted=s.first_purchase_at.notnull())
    w = ibis.window(group_by="person", order_by=["ts", "channel"])
    s = s.mutate(prev=s.channel.lag().over(w))
    s = s.filter(s.prev.isnull() | (s.prev != s.channel))
    w2 = ibis.window(group_by="person", order_by=["ts", "channel"])
    s = s.mutate(step=ibis.row_number().over(w2).cast("int64"),
                 prev=s.channel.lag().over(w2))
    s = s.mutate(steps=s.step.max().over(ibis.window(group_by="person")) + 1)
    return s.mutate(from_end=s.steps - 1 - s.step)
