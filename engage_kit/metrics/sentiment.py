"""Sentiment of free text: survey comments and touch texts (social comments, reviews, chats).

Every text gets a polarity in [−1, 1] and a label (positive above 0.05, negative below
−0.05, else neutral), offline, with no download at run time:

- English: VADER (Hutto and Gilbert 2014, "VADER: A Parsimonious Rule-based Model for
  Sentiment Analysis of Social Media Text", ICWSM), from the ``vaderSentiment`` package,
  which bundles its lexicon; the compound score is the polarity.
- German: the German Polarity Lexicon of Clematide and Klenner (2010, "Evaluation and
  Extension of a Polarity Lexicon for German", WASSA workshop at ECAI), read as data from
  the copy the ``textblob-de`` package ships (``de-sentiment.xml``, Apache 2.0), plus a few
  additions for customer comments (``lexicon_de.tsv`` beside this module). The rules are
  VADER's, carried over: a negator ("nicht", "kein", "nie", "ohne"...) among the three
  words before a sentiment word, or right after it in German word order ("gefällt mir
  nicht"), multiplies it by −0.74; an intensifier ("sehr") before it adds 0.293 to its size; after
  "aber" / "jedoch" words weigh 1.5 and before it 0.5; the sum s (word values × 2, so that
  "gut" weighs as VADER's "good", 1.9) becomes s / √(s² + 15).
- Language per text: the config's ``language`` (``en``, ``de``), or ``auto``: the language
  whose stop words the text holds more of (German on a tie when it has ä, ö, ü or ß, else
  English).

Texts are scored in Python, each distinct text once, in batches pulled from the engine;
the scores go back into the engine as a table and are joined on the text, so the shares
and means are counted where the data is (:func:`text_table`). Figures:
``sentiment.share_positive``, ``sentiment.share_negative`` (Wilson intervals) and
``sentiment.mean`` (t interval), overall, per period, by channel and by touchpoint;
:func:`by_score`, sentiment beside the NPS / CSAT answer that came with the comment;
:func:`negative_words`, the most frequent words of negative texts, stop words removed.
"""

from __future__ import annotations

import importlib.util
import math
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from ..engine import strip
from ..errors import ParameterError, did_you_mean
from ._common import (
    DateLike,
    Metric,
    TableLike,
    aggregate,
    check_period,
    fill0,
    finish,
    t_mean,
    to_table,
    wilson,
    window,
)

__all__ = [
    "LANGUAGES", "TEXT_COLUMNS", "THRESHOLD", "NO_TEXT", "detect_language", "polarity", "label", "score_texts",
    "text_table", "share_positive", "share_negative", "mean", "by_group", "by_score", "negative_words",
    "SentimentSummary", "summarise", "results", "speed", "check_language", "german_lexicon", "BATCH",
]

LANGUAGES = ("en", "de", "auto")
TEXT_COLUMNS = {"surveys": "comment", "touches": "text"}  # the optional text column of each table
THRESHOLD = 0.05  # |polarity| above it is positive or negative (VADER's own cut-off, Hutto and Gilbert 2014)
NO_TEXT = "the data has no comments or texts (surveys.comment, touches.text)"
BATCH = 20_000  # distinct texts scored per batch pulled from the engine

_WORD = re.compile(r"[a-zäöüß]+(?:'[a-z]+)?", re.IGNORECASE)
_CLAUSE = re.compile(r"[.;:!?,\n]+")

EN_STOP = frozenset(
    "a about above after again all am an and any are as at be because been before being below between both but by "
    "can could did do does doing down during each few for from further had has have having he her here hers him his "
    "how i if in into is it its itself just me more most my no nor not of off on once only or other our out over own "
    "same she should so some such than that the their them then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with would you your yours isn't wasn't "
    "don't didn't doesn't won't can't couldn't it's i'm i've you're they're we're".split()
)
DE_STOP = frozenset(
    "aber alle allem allen aller alles als also am an andere anderen auch auf aus bei beim bin bis bist da damit dann kam "
    "das dass dein deine dem den denn der des dich die dies diese diesem diesen dieser dieses dir doch dort du durch "
    "ein eine einem einen einer eines er es etwas euch euer für gegen gewesen hab habe haben hat hatte hätte ich ihm "
    "ihn ihnen ihr ihre ihrem ihren im in ist ja jede jedem jeden jeder jetzt kann kein keine keinem keinen keiner "
    "können könnte man manche mein meine mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne schon "
    "sehr sein seine sich sie sind so soll sollte sondern um und uns unser unter viel vom von vor war waren warum was "
    "weil welche wenn wer werde werden wie wieder will wir wird wo wurde wurden zu zum zur über".split()
)
_EN_ONLY, _DE_ONLY = EN_STOP - DE_STOP, DE_STOP - EN_STOP
DE_NEGATORS = frozenset("nicht nichts kein keine keinem keinen keiner keines nie niemals nirgends ohne weder kaum".split())
DE_BOOSTERS = frozenset(
    "sehr total extrem wirklich absolut besonders äußerst echt richtig völlig super so ziemlich höchst".split()
)
DE_BUT = frozenset("aber jedoch allerdings sondern trotzdem".split())
N_SCALAR, B_INCR, ALPHA, DE_SCALE = -0.74, 0.293, 15.0, 2.0  # VADER's constants; German values × 2 (see module)
_SUFFIXES = ("en", "em", "er", "es", "e", "n", "s")


# --- scoring one text -------------------------------------------------------------------


def detect_language(text: str) -> str:
    """``de`` or ``en`` for one text: the language whose stop words it holds more of.

    Words that are stop words in both languages do not count; on a tie a text with
    ä, ö, ü or ß is German, any other English (VADER also reads emoticons and slang).
    """
    words = [w.lower() for w in _WORD.findall(text or "")]
    en = sum(w in _EN_ONLY for w in words)
    de = sum(w in _DE_ONLY for w in words)
    if de != en:
        return "de" if de > en else "en"
    return "de" if re.search(r"[äöüß]", text or "", re.IGNORECASE) else "en"


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _lexicon_path() -> Path:
    """The German Polarity Lexicon in the installed ``textblob-de`` package (found without importing it)."""
    spec = importlib.util.find_spec("textblob_de")
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(
            "German sentiment needs the package textblob-de (it ships the German Polarity Lexicon): "
            "pip install textblob-de, or set language: en in the config"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "de-sentiment.xml"


@lru_cache(maxsize=1)
def german_lexicon() -> dict[str, float]:
    """Word form (lower case) → polarity in [−1, 1]: Clematide and Klenner (2010) with this module's additions.

    Forms that meet in lower case (a noun and an adjective) keep the first one listed.
    """
    lex: dict[str, float] = {}
    for el in ET.parse(_lexicon_path()).getroot().iter("word"):
        form, pol = el.get("form"), el.get("polarity")
        if form and pol is not None:
            lex.setdefault(form.lower(), float(pol))
    extra = Path(__file__).with_name("lexicon_de.tsv")
    for line in extra.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            form, pol = line.split("\t")
            lex[form.strip().lower()] = float(pol)
    return lex


def _de_value(words: list[str], i: int, lex: Mapping[str, float]) -> tuple[float | None, int]:
    """The polarity of the word at ``i`` (or of the pair starting there) and how many words it took."""
    if i + 1 < len(words) and f"{words[i]} {words[i + 1]}" in lex:
        return lex[f"{words[i]} {words[i + 1]}"], 2
    w = words[i]
    if w in lex:
        return lex[w], 1
    for suf in _SUFFIXES:  # inflected forms: gute, guten, schlechter, Problemen
        if w.endswith(suf) and len(w) - len(suf) >= 3 and w[: -len(suf)] in lex:
            return lex[w[: -len(suf)]], 1
    return None, 1


def _german(text: str) -> float:
    """German polarity in [−1, 1] by the rules in the module docstring."""
    lex = german_lexicon()
    total = 0.0
    clauses = [c for c in _CLAUSE.split(text.lower()) if c.strip()]
    words_all = [_WORD.findall(c) for c in clauses]
    but_at = next(((ci, wi) for ci, ws in enumerate(words_all) for wi, w in enumerate(ws) if w in DE_BUT), None)
    for ci, words in enumerate(words_all):
        found: list[tuple[int, int, float]] = []  # (start, length, value)
        i = 0
        while i < len(words):
            v, used = _de_value(words, i, lex)
            if used == 1 and (words[i] in DE_NEGATORS or (
                    words[i] in DE_BOOSTERS and i + 1 < len(words) and _de_value(words, i + 1, lex)[0])):
                v = None  # a negator or an intensifier before a sentiment word is no sentiment of its own
            if v:
                found.append((i, used, v))
            i += used
        for j, (start, used, v) in enumerate(found):
            if start > 0 and words[start - 1] in DE_BOOSTERS:
                v += math.copysign(B_INCR / DE_SCALE, v)
            negated = any(w in DE_NEGATORS for w in words[max(0, start - 3): start])
            if not negated and j == len(found) - 1:  # German puts it after the verb: "das gefällt mir nicht"
                negated = any(w in DE_NEGATORS for w in words[start + used: start + used + 3])
            if negated:
                v *= N_SCALAR
            if but_at is not None:
                v *= 0.5 if (ci, start) < but_at else 1.5
            total += v * DE_SCALE
    return 0.0 if total == 0 else total / math.sqrt(total * total + ALPHA)


def polarity(text: str, language: str = "auto") -> float:
    """The polarity of one text in [−1, 1] (0 for an empty one); ``language``: en, de or auto."""
    language = check_language(language)
    if not text or not str(text).strip():
        return 0.0
    text = str(text)
    lang = detect_language(text) if language == "auto" else language
    if lang == "de":
        return float(_german(text))
    return float(_vader().polarity_scores(text)["compound"])


def label(value: float) -> str:
    """``positive`` above 0.05, ``negative`` below −0.05, else ``neutral``."""
    return "positive" if value > THRESHOLD else ("negative" if value < -THRESHOLD else "neutral")


def check_language(language: str | None) -> str:
    """``en``, ``de`` or ``auto`` (None is auto); anything else is a ParameterError."""
    lang = "auto" if language is None else str(language).strip().lower()
    if lang not in LANGUAGES:
        raise ParameterError(f"language must be en, de or auto; got {language!r}{did_you_mean(str(language), LANGUAGES)}")
    return lang


def score_texts(texts: Iterable[str], *, language: str = "auto") -> pd.DataFrame:
    """One row per text given: text, language (en / de), polarity, label."""
    language = check_language(language)
    rows = []
    for t in texts:
        s = "" if t is None else str(t)
        lang = detect_language(s) if language == "auto" else language
        p = polarity(s, lang)
        rows.append((s, lang, p, label(p)))
    return pd.DataFrame(rows, columns=["text", "language", "polarity", "label"])


def speed(texts: Sequence[str], *, language: str = "auto") -> float:
    """Texts scored per second on ``texts`` (for the benchmark and the report's method notes)."""
    t0 = time.perf_counter()
    score_texts(texts, language=language)
    return len(texts) / max(time.perf_counter() - t0, 1e-9)


# --- the texts of a dataset, scored, in the engine -------------------------------------------

_CACHE: dict[Any, ibis.Table | None] = {}


def _has_column(t: TableLike, column: str) -> bool:
    return column in (t.columns if hasattr(t, "columns") else [])


def text_table(tables: Mapping[str, Any], *, language: str = "auto", batch: int = BATCH) -> ibis.Table | None:
    """Every non-blank comment and text of ``tables``, scored: one engine table, or None when there is none.

    Columns: source (``survey`` / ``touch``), timestamp, customer_id, channel, touchpoint,
    kind and score (of the survey answer; null for touches), text (blanks trimmed),
    language, polarity, label. The distinct texts are pulled from the engine in batches of
    ``batch``, scored in Python and registered back as a table joined on the text. A call
    with the same tables and language is answered from a small cache.
    """
    language = check_language(language)
    present = [n for n, c in TEXT_COLUMNS.items() if n in tables and _has_column(tables[n], c)]
    if not present:
        return None
    key = None
    if all(isinstance(tables[n], ibis.Table) for n in present):
        key = (tuple((n, tables[n].op()) for n in present), language)
        if key in _CACHE:
            return _CACHE[key]
    parts = []
    for name in present:
        t = to_table(tables[name], name)
        txt = strip(t[TEXT_COLUMNS[name]].cast("string"))
        t = t.mutate(_text=txt).filter(txt.length() > 0)
        survey = name == "surveys"
        parts.append(t.select(
            source=ibis.literal("survey" if survey else "touch"),
            timestamp=t.timestamp,
            customer_id=t.customer_id.cast("string"),
            channel=t.channel.cast("string"),
            touchpoint=t.touchpoint.cast("string") if survey else ibis.null("string"),
            kind=strip(t.kind.cast("string")).lower() if survey else ibis.null("string"),
            score=t.score.cast("float64") if survey else ibis.null("float64"),
            text=t._text,
        ))
    u = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
    scored = []
    for rb in u.select("text").distinct().to_pyarrow_batches(chunk_size=batch):
        texts = rb.column(0).to_pylist()
        if texts:
            scored.append(pa.Table.from_pandas(score_texts(texts, language=language), preserve_index=False))
    out = None
    if scored:
        scores = ibis.memtable(pa.concat_tables(scored))
        out = u.inner_join(scores, "text")
    if key is not None:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = out
    return out


# --- figures ----------------------------------------------------------------------------------


def _texts(texts: TableLike) -> ibis.Table:
    """A scored text table (from :func:`text_table`) as Ibis; a DataFrame is wrapped."""
    if isinstance(texts, pd.DataFrame):
        df = texts.copy()
        df["timestamp"] = pd.to_datetime(df["timestamp"], format="mixed")
        for c in ("customer_id", "channel", "touchpoint", "kind", "label", "text", "source", "language"):
            if c in df.columns:
                df[c] = df[c].astype("string")
        for c in ("polarity", "score"):
            if c in df.columns:
                df[c] = pd.to_numeric(df[c]).astype("float64")
        return ibis.memtable(df)
    return texts


def _share(texts: TableLike, which: str, *, period: str | None, by: str | None, customers: TableLike | None,
           start: DateLike, as_of: DateLike, confidence: float) -> Metric | pd.DataFrame:
    period = check_period(period)
    t = window(_texts(texts), "timestamp", start=start, as_of=as_of)
    df, keys = aggregate(t, "timestamp", lambda x: {which: (x.label == which).sum(), "texts": x.count()},
                         table="surveys", period=period, by=by, customers=customers)
    df = wilson(fill0(df, [which, "texts"]), which, "texts", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=[which, "texts"])


def share_positive(texts: TableLike, *, period: str | None = None, by: str | None = None,
                   customers: TableLike | None = None, start: DateLike = None, as_of: DateLike = None,
                   confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Share positive = texts with polarity > 0.05 / texts, Wilson interval (Wilson 1927).

    ``texts``: the scored table of :func:`text_table` (polarity by VADER, Hutto and Gilbert
    2014, or the German Polarity Lexicon, Clematide and Klenner 2010). Returns a
    :class:`Metric` (counts ``positive``, ``texts``) or, with ``period`` / ``by`` (a column
    such as ``channel`` or ``touchpoint``, or a customer attribute), one row per group.
    """
    return _share(texts, "positive", period=period, by=by, customers=customers, start=start, as_of=as_of,
                  confidence=confidence)


def share_negative(texts: TableLike, *, period: str | None = None, by: str | None = None,
                   customers: TableLike | None = None, start: DateLike = None, as_of: DateLike = None,
                   confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Share negative = texts with polarity < −0.05 / texts, Wilson interval; as :func:`share_positive`."""
    return _share(texts, "negative", period=period, by=by, customers=customers, start=start, as_of=as_of,
                  confidence=confidence)


def mean(texts: TableLike, *, period: str | None = None, by: str | None = None, customers: TableLike | None = None,
         start: DateLike = None, as_of: DateLike = None, confidence: float = 0.95) -> Metric | pd.DataFrame:
    """Mean polarity of the texts (−1 to 1) with the t interval mean ± t(n−1)·sd/√n (Student 1908).

    Returns a :class:`Metric` (counts ``polarity_sum``, ``texts``) or one row per group.
    """
    period = check_period(period)
    t = window(_texts(texts), "timestamp", start=start, as_of=as_of)
    df, keys = aggregate(t, "timestamp", lambda x: {"polarity_sum": x.polarity.sum(), "texts": x.count(),
                                                   "_mean": x.polarity.mean(), "_sd": x.polarity.std(how="sample")},
                         table="surveys", period=period, by=by, customers=customers)
    df = t_mean(fill0(df, ["polarity_sum", "texts"]), "texts", "_mean", "_sd", confidence)
    return finish(df, keys, by=by, period=period, as_of=as_of, counts=["polarity_sum", "texts"])


def by_group(texts: TableLike, by: str, *, as_of: DateLike = None, confidence: float = 0.95) -> pd.DataFrame:
    """Share positive, share negative and mean polarity per value of ``by`` (``channel``, ``touchpoint``...).

    Rows without a value of ``by`` (touch texts have no touchpoint) are left out. Columns:
    ``by``, texts, share_positive, share_negative, mean and the 95% bounds of each
    (``*_low``, ``*_high``); most texts first.
    """
    t = _texts(texts)
    t = t.filter(t[by].notnull())
    out = None
    for name, func in (("share_positive", share_positive), ("share_negative", share_negative), ("mean", mean)):
        df = func(t, by=by, as_of=as_of, confidence=confidence)
        df = df[[by, "n", "value", "low", "high"]].rename(
            columns={"n": "texts", "value": name, "low": f"{name}_low", "high": f"{name}_high"})
        out = df if out is None else out.merge(df.drop(columns="texts"), on=by)
    cols = [by, "texts", "share_positive", "share_negative", "mean", "share_positive_low", "share_positive_high",
            "share_negative_low", "share_negative_high", "mean_low", "mean_high"]
    if out is None or out.empty:
        return pd.DataFrame(columns=cols)
    return out.sort_values(["texts", by], ascending=[False, True], kind="stable").reset_index(drop=True)[cols]


SCORE_GROUPS = {  # (kind, group, lowest score, highest score): the standard NPS and CSAT groups
    "nps": (("detractor", 0, 6), ("passive", 7, 8), ("promoter", 9, 10)),
    "csat": (("dissatisfied", 1, 3), ("satisfied", 4, 5)),
}


def by_score(texts: TableLike, *, as_of: DateLike = None) -> pd.DataFrame:
    """Sentiment beside the score of the same survey answer: do detractors write negative comments?

    NPS answers as detractors (0–6), passives (7–8) and promoters (9–10); CSAT answers as
    dissatisfied (1–3) and satisfied (4–5). Counted in the engine. Columns: kind, group,
    texts, negative, positive, share_negative, share_positive, mean (empty groups left out).
    """
    t = window(_texts(texts), "timestamp", as_of=as_of)
    t = t.filter(t.source == "survey")
    cases = []
    for kind, groups in SCORE_GROUPS.items():
        for name, lo, hi in groups:
            cases.append(((t.kind == kind) & (t.score >= lo) & (t.score <= hi), f"{kind}:{name}"))
    grp = ibis.cases(*cases, else_=ibis.null("string"))
    t = t.mutate(_grp=grp).filter(grp.notnull())
    df = t.group_by("_grp").aggregate(texts=t.count(), negative=(t.label == "negative").sum(),
                                      positive=(t.label == "positive").sum(), mean=t.polarity.mean()).execute()
    order = [f"{k}:{g[0]}" for k, gs in SCORE_GROUPS.items() for g in gs]
    cols = ["kind", "group", "texts", "negative", "positive", "share_negative", "share_positive", "mean"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["_o"] = df["_grp"].map(order.index)
    df = df.sort_values("_o").reset_index(drop=True)
    df[["kind", "group"]] = df["_grp"].str.split(":", expand=True)
    for c in ("texts", "negative", "positive"):
        df[c] = df[c].astype("int64")
    df["share_negative"] = df["negative"] / df["texts"]
    df["share_positive"] = df["positive"] / df["texts"]
    df["mean"] = df["mean"].astype("float64")
    return df[cols]


def _tokens(text: str) -> list[str]:
    return [w for w in (x.lower() for x in _WORD.findall(text)) if len(w) > 2 and w not in EN_STOP
            and w not in DE_STOP and w not in DE_NEGATORS and "'" not in w]


def negative_words(texts: TableLike, *, top: int = 15, as_of: DateLike = None, batch: int = BATCH) -> pd.DataFrame:
    """The most frequent words of negative texts (stop words of both languages removed).

    Each text counts with its number of rows (a comment written twice counts twice); a word
    counts once per text. Words are letters only (lower case), so no markup survives.
    Columns: word, texts (negative texts that hold it), share (of the negative texts).
    """
    t = window(_texts(texts), "timestamp", as_of=as_of)
    t = t.filter(t.label == "negative")
    g = t.group_by("text").aggregate(rows=t.count())
    counts: Counter[str] = Counter()
    total = 0
    for rb in g.to_pyarrow_batches(chunk_size=batch):
        for text, rows in zip(rb.column(0).to_pylist(), rb.column(1).to_pylist(), strict=True):
            total += rows
            for w in set(_tokens(text)):
                counts[w] += rows
    rows_out = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    df = pd.DataFrame(rows_out, columns=["word", "texts"])
    df["texts"] = df["texts"].astype("int64")
    df["share"] = df["texts"] / total if total else float("nan")
    return df


# --- what the report holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class SentimentSummary:
    """The sentiment tables of one report: by channel, by touchpoint, beside the score, words, languages."""

    by_channel: pd.DataFrame
    by_touchpoint: pd.DataFrame
    by_score: pd.DataFrame
    negative_words: pd.DataFrame
    languages: dict[str, int]
    texts: int
    distinct: int


def summarise(tables: Mapping[str, Any], *, language: str = "auto", as_of: DateLike = None,
              top: int = 15) -> SentimentSummary | None:
    """Every sentiment table of the KPI report, or None when the data holds no text."""
    t = text_table(tables, language=language)
    if t is None:
        return None
    w = window(t, "timestamp", as_of=as_of)
    lang = w.group_by("language").aggregate(n=w.count()).execute()
    n = int(lang["n"].sum()) if len(lang) else 0
    if n == 0:
        return None
    distinct = int(w.text.nunique().execute())
    return SentimentSummary(
        by_channel=by_group(w, "channel", as_of=as_of),
        by_touchpoint=by_group(w, "touchpoint", as_of=as_of),
        by_score=by_score(w, as_of=as_of),
        negative_words=negative_words(w, top=top, as_of=as_of),
        languages={str(k): int(v) for k, v in zip(lang["language"], lang["n"], strict=True)},
        texts=n,
        distinct=distinct,
    )


def results(summary: SentimentSummary | None) -> dict[str, Any]:
    """The results.json entries of the sentiment tables (dotted keys; empty without text)."""
    if summary is None:
        return {}
    return {
        "sentiment.by_channel": summary.by_channel,
        "sentiment.by_touchpoint": summary.by_touchpoint,
        "sentiment.by_score": summary.by_score,
        "sentiment.negative_words": summary.negative_words,
        "sentiment.languages": summary.languages,
        "sentiment.texts": summary.texts,
    }
