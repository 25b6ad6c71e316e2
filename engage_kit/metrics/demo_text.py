"""Free text for the demo: a comment on survey answers and a text on social comment touches.

Known truth (``truth.json``, key ``sentiment``): the tone of a comment is drawn from the
answer's score, so detractors (NPS 0–6) and dissatisfied CSAT answers (1–3) write negative
comments far more often than promoters (9–10) and satisfied ones (4–5). A share of the
comments is German, and some of each language carry a negation ("not bad", "nicht gut").
Drawn from the demo world's stream 41 (one child stream per table), after the core tables, so no other table changes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..demoworld import DemoWorld

STREAM = 41
COMMENT_SHARE = {"nps": 0.5, "csat": 0.4}  # answers with a comment, by survey kind
GERMAN_SHARE = 0.3
# P(negative), P(positive) of a comment by answer group; the rest is neutral
TONE = {
    "detractor": (0.70, 0.10), "passive": (0.25, 0.35), "promoter": (0.05, 0.80),
    "dissatisfied": (0.65, 0.10), "satisfied": (0.08, 0.70),
}
SOCIAL_TONE = (0.30, 0.50)

TEXTS = {
    ("en", "positive"): [
        "Great service, thank you!", "The delivery was fast and the product is excellent.",
        "Friendly staff and a very easy checkout.", "Not bad at all, I am happy with my order.",
        "I love the quality, will buy again.", "Helpful support, they solved my problem quickly.",
        "Everything arrived in perfect condition.", "Really good value for the money.",
    ],
    ("en", "negative"): [
        "The parcel arrived damaged.", "Terrible support, I waited for an hour.",
        "Not good, the size was wrong and the return was a hassle.", "Delivery was late again, very disappointed.",
        "The product broke after two days.", "The app is slow and confusing.",
        "Too expensive for such poor quality.", "Rude driver and a missing item.",
    ],
    ("en", "neutral"): [
        "I ordered for my brother.", "The parcel came on Tuesday.", "Bought it in the app.",
        "Second order this year.",
    ],
    ("de", "positive"): [
        "Super Service, vielen Dank!", "Die Lieferung war schnell und die Ware ist top.",
        "Sehr freundliche Beratung.", "Nicht schlecht, ich bin zufrieden.", "Alles bestens, gerne wieder.",
        "Die Bestellung lief ohne Probleme.", "Tolle Qualität, ich bin begeistert.",
    ],
    ("de", "negative"): [
        "Das Paket kam beschädigt an.", "Der Service war nicht gut.", "Die Lieferung kam zu spät.",
        "Ich bin sehr enttäuscht.", "Der Artikel war nach zwei Tagen kaputt.", "Das gefällt mir nicht.",
        "Viel zu teuer und schlechte Qualität.",
    ],
    ("de", "neutral"): [
        "Ich habe für meine Schwester bestellt.", "Das Paket kam am Dienstag.", "In der App bestellt.",
    ],
}


def _group(kind: str, score: float) -> str | None:
    if kind == "nps":
        return "detractor" if score <= 6 else ("passive" if score <= 8 else "promoter")
    if kind == "csat":
        return "dissatisfied" if score <= 3 else "satisfied"
    return None


def _draw(rng: np.random.Generator, tones: list[tuple[float, float]]) -> list[str]:
    """One text per (P(negative), P(positive)) pair: tone, then language, then the sentence."""
    u = rng.random(len(tones))
    german = rng.random(len(tones)) < GERMAN_SHARE
    pick = rng.random(len(tones))
    out = []
    for (neg, pos), x, de, p in zip(tones, u, german, pick, strict=True):
        tone = "negative" if x < neg else ("positive" if x < neg + pos else "neutral")
        pool = TEXTS[("de" if de else "en", tone)]
        out.append(pool[int(p * len(pool))])
    return out


def surveys_with_comments(world: DemoWorld) -> pd.DataFrame:
    """The core surveys table with a ``comment`` column (null where the answer has none)."""
    rng = world.rng(STREAM).spawn(2)[0]
    s = world.tables["surveys"].copy()
    share = s["kind"].map(COMMENT_SHARE).fillna(0.0).to_numpy()
    has = rng.random(len(s)) < share
    idx = np.flatnonzero(has)
    tones = [TONE[_group(k, v)] for k, v in zip(s["kind"].to_numpy()[idx], s["score"].to_numpy()[idx], strict=True)]
    comment = pd.Series(pd.NA, index=s.index, dtype="string")
    comment.iloc[idx] = _draw(rng, tones)
    s["comment"] = comment
    world.truth["sentiment"] = {
        "comment_share": COMMENT_SHARE, "german_share": GERMAN_SHARE, "social_tone": list(SOCIAL_TONE),
        "tone": {g: {"negative": n, "positive": p} for g, (n, p) in TONE.items()},
    }
    return s


def touches_with_text(world: DemoWorld) -> pd.DataFrame:
    """The core touches table with a ``text`` column on the social comment events (null elsewhere)."""
    rng = world.rng(STREAM).spawn(2)[1]  # a stream of its own: the surveys' draws do not shift it
    t = world.tables["touches"].copy()
    idx = np.flatnonzero((t["channel"].to_numpy() == "social") & (t["event"].to_numpy() == "comment"))
    text = pd.Series(pd.NA, index=t.index, dtype="string")
    text.iloc[idx] = _draw(rng, [SOCIAL_TONE] * idx.size)
    t["text"] = text
    return t


DEMO_TABLES: dict[str, Callable[[DemoWorld], pd.DataFrame]] = {
    "surveys": surveys_with_comments,
    "touches": touches_with_text,
}
