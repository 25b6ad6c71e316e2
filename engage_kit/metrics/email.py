"""Message KPIs (email, and the same definitions for SMS and push) from the touches table.

Each (channel, customer, campaign) pair is one message and counts once, however many
open or click events it has. For each pair:

- sent = it has a ``sent`` event; bounced = sent and a ``bounce`` event;
- delivered = it has a ``delivered`` event; for a campaign without any ``delivered``
  events (some platforms export none): sent and not bounced (delivered = sent − bounced);
- opened, clicked, converted, unsubscribed = delivered and an ``open``, ``click``,
  ``conversion``, ``unsubscribe`` event (so each rate stays a share of delivered messages).

Rates: open rate = opened / delivered; click rate = clicked / delivered; click-to-open
rate = clicked and opened / opened; conversion rate = converted / delivered; unsubscribe
rate = unsubscribed / delivered; bounce rate = bounced / sent. Wilson intervals.
Messages are placed in periods by the time of their ``sent`` event (else their first
event). Rows without a customer_id cannot be paired and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from ..errors import DataError
from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    fill0,
    finish,
    to_table,
    wilson,
    window,
)

__all__ = [
    "EVENT_ALIASES",
    "RATES",
    "message_pairs",
    "message_counts",
    "message_rates",
    "open_rate",
    "click_rate",
    "click_to_open_rate",
    "conversion_rate",
    "unsubscribe_rate",
    "bounce_rate",
]

EVENT_ALIASES = {
    "sent": ("sent", "send"),
    "delivered": ("delivered", "delivery"),
    "bounce": ("bounce", "bounced"),
    "open": ("open", "opened"),
    "click": ("click", "clicked"),
    "conversion": ("conversion", "converted"),
    "unsubscribe": ("unsubscribe", "unsubscribed"),
}
# rate name -> (numerator, denominator) among the pair flags
RATES = {
    "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"),
    "click_to_open_rate": ("clicked_opened", "opened"),
    "conversion_rate": ("converted", "delivered"),
    "unsubscribe_rate": ("unsubscribed", "delivered"),
    "bounce_rate": ("bounced", "sent"),
}
FLAGS = ["sent", "bounced", "delivered", "opened", "clicked", "clicked_opened", "converted", "unsubscribed"]


def _channels(channel: str | Sequence[str] | None) -> list[str] | None:
    if channel is None:
        return None
    return [channel.lower()] if isinstance(channel, str) else [c.lower() for c in channel]


def message_pairs(
    touches: TableLike,
    *,
    channel: str | Sequence[str] | None = "email",
    start: DateLike = None,
    as_of: DateLike = None,
) -> ibis.Table:
    """One row per (channel, customer, campaign) message with its flags (an engine expression).

    Columns: channel, customer_id, campaign_id, send_ts, and the boolean flags sent,
    bounced, delivered, opened, clicked, clicked_opened, converted, unsubscribed, as
    defined in the module docstring. ``channel``: one channel, a list, or None for all
    channels that have ``sent`` events.
    """
    t = to_table(touches, "touches")
    t = window(t, "timestamp", start=start, as_of=as_of)
    t = t.mutate(channel=t.channel.lower(), event=t.event.lower())
    t = t.filter(t.customer_id.notnull())
    chans = _channels(channel)
    if chans is not None:
        t = t.filter(t.channel.isin(chans))
    else:
        with_sends = t.filter(t.event.isin(EVENT_ALIASES["sent"])).select("channel").distinct()
        t = t.filter(t.channel.isin(with_sends.channel))
    check = t.aggregate(rows=t.count(), with_campaign=t.campaign_id.count()).execute().iloc[0]
    if int(check["rows"]) and int(check["with_campaign"]) == 0:
        raise DataError(
            f"table touches: column 'campaign_id' is empty for every {'/'.join(chans or ['message'])} row; "
            "message rates count each (customer, campaign) pair once and need it: map it with "
            "tables.touches.columns: {campaign_id: <your column>}"
        )
    t = t.mutate(campaign_id=t.campaign_id.fill_null("(none)"))
    ev = {k: t.event.isin(v) for k, v in EVENT_ALIASES.items()}
    p = t.group_by(["channel", "customer_id", "campaign_id"]).aggregate(
        _sent=ev["sent"].any(),
        _bounce=ev["bounce"].any(),
        _deliv=ev["delivered"].any(),
        _open=ev["open"].any(),
        _click=ev["click"].any(),
        _conv=ev["conversion"].any(),
        _unsub=ev["unsubscribe"].any(),
        send_ts=t.timestamp.min(where=ev["sent"]).fill_null(t.timestamp.min()),
    )
    camp = ibis.window(group_by=["channel", "campaign_id"])
    p = p.mutate(_camp_deliv=p._deliv.any().over(camp))
    delivered = p._deliv | (~p._camp_deliv & p._sent & ~p._bounce)
    p = p.mutate(
        sent=p._sent,
        bounced=p._sent & p._bounce,
        delivered=delivered,
        opened=delivered & p._open,
        clicked=delivered & p._click,
        clicked_opened=delivered & p._open & p._click,
        converted=delivered & p._conv,
        unsubscribed=delivered & p._unsub,
    )
    return p.select("channel", "customer_id", "campaign_id", "send_ts", *FLAGS)


def message_counts(
    touches: TableLike,
    *,
    channel: str | Sequence[str] | None = "email",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
) -> pd.DataFrame:
    """Counts of messages per flag (sent, bounced, delivered, opened, ...), per period / segment.

    One row (no ``period``, no ``by``) or one row per period and/or segment; ``by`` may
    be ``channel``, ``campaign_id`` or a customer attribute (with ``customers``).
    """
    period = check_period(period)
    p = message_pairs(touches, channel=channel, start=start, as_of=as_of)
    df, keys = aggregate(p, "send_ts", lambda x: {f: x[f].sum() for f in FLAGS},
                         table="touches", period=period, by=by, customers=customers)
    df = fill0(df, FLAGS)
    df.attrs["keys"] = keys
    df.attrs["as_of"] = as_of if as_of is not None else df.attrs.get("last")
    return df


def message_rates(
    touches: TableLike,
    *,
    channel: str | Sequence[str] | None = "email",
    period: str | None = None,
    by: str | None = None,
    customers: TableLike | None = None,
    start: DateLike = None,
    as_of: DateLike = None,
    confidence: float = 0.95,
) -> dict[str, Metric] | pd.DataFrame:
    """All six message rates from one engine query.

    Returns a dict rate name -> :class:`Metric` (no ``period``, no ``by``), else a long
    DataFrame with a ``metric`` column and one row per rate, period and segment.
    """
    counts = message_counts(touches, channel=channel, period=period, by=by, customers=customers,
                            start=start, as_of=as_of)
    keys, as_of = counts.attrs["keys"], counts.attrs["as_of"]
    out = {}
    for name, (num, den) in RATES.items():
        df = wilson(counts[keys + [num, den]].copy(), num, den, confidence)
        out[name] = finish(df, keys, by=by, period=check_period(period), as_of=as_of, counts=[num, den])
    if not keys:
        return out
    frames = []
    for name, df in out.items():
        num, den = RATES[name]
        df = df.rename(columns={num: "numerator", den: "denominator"})
        df.insert(0, "metric", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _rate(name: str, touches: TableLike, **kwargs) -> Metric | pd.DataFrame:
    confidence = kwargs.pop("confidence", 0.95)
    counts = message_counts(touches, **kwargs)
    keys = counts.attrs["keys"]
    num, den = RATES[name]
    df = wilson(counts[keys + [num, den]].copy(), num, den, confidence)
    return finish(df, keys, by=kwargs.get("by"), period=check_period(kwargs.get("period")),
                  as_of=counts.attrs["as_of"], counts=[num, den])


def open_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email", period: str | None = None,
              by: str | None = None, customers: TableLike | None = None, start: DateLike = None,
              as_of: DateLike = None, confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Open rate = opened messages / delivered messages (per (customer, campaign) pair).

    Unit: fraction of delivered messages; Wilson interval. Counts ``opened``,
    ``delivered``. See the module docstring for the pair flags.
    """
    return _rate("open_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)


def click_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email", period: str | None = None,
               by: str | None = None, customers: TableLike | None = None, start: DateLike = None,
               as_of: DateLike = None, confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Click rate (click-through rate) = clicked messages / delivered messages.

    Unit: fraction of delivered messages; Wilson interval. Counts ``clicked``, ``delivered``.
    """
    return _rate("click_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)


def click_to_open_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email",
                       period: str | None = None, by: str | None = None, customers: TableLike | None = None,
                       start: DateLike = None, as_of: DateLike = None,
                       confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Click-to-open rate = messages opened and clicked / opened messages.

    A click counts when its message was also opened, so the rate is a share of opens
    (clicks with images blocked, without an open event, are not counted here). Unit:
    fraction of opened messages; Wilson interval. Counts ``clicked_opened``, ``opened``.
    """
    return _rate("click_to_open_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)


def conversion_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email",
                    period: str | None = None, by: str | None = None, customers: TableLike | None = None,
                    start: DateLike = None, as_of: DateLike = None,
                    confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Conversion rate = messages followed by a conversion event / delivered messages.

    Unit: fraction of delivered messages; Wilson interval. Counts ``converted``, ``delivered``.
    """
    return _rate("conversion_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)


def unsubscribe_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email",
                     period: str | None = None, by: str | None = None, customers: TableLike | None = None,
                     start: DateLike = None, as_of: DateLike = None,
                     confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Unsubscribe rate = messages with an unsubscribe event / delivered messages.

    Unit: fraction of delivered messages; Wilson interval. Counts ``unsubscribed``, ``delivered``.
    """
    return _rate("unsubscribe_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)


def bounce_rate(touches: TableLike, *, channel: str | Sequence[str] | None = "email", period: str | None = None,
                by: str | None = None, customers: TableLike | None = None, start: DateLike = None,
                as_of: DateLike = None, confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Bounce rate = sent messages that bounced / sent messages.

    Unit: fraction of sent messages; Wilson interval. Counts ``bounced``, ``sent``.
    """
    return _rate("bounce_rate", touches, channel=channel, period=period, by=by, customers=customers,
                 start=start, as_of=as_of, confidence=confidence)
