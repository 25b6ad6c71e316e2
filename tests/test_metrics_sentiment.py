"""Sentiment of comments and texts: labels of hand-written sentences, the figures on a small table
computed by hand, the demo's known truth, and nothing new for data without text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engage_kit import metrics as M
from engage_kit.config import parse_config
from engage_kit.errors import ConfigError, ParameterError
from engage_kit.metrics import sentiment as S
from engage_kit.metrics import story

# sentences with an obvious tone; negation in both languages ("not bad", "nicht gut", "ohne Probleme")
ENGLISH = [
    ("The support team was friendly and helpful.", "positive"),
    ("Great product, I love it!", "positive"),
    ("Delivery was fast and everything arrived in perfect condition.", "positive"),
    ("Excellent service, thank you so much.", "positive"),
    ("Not bad at all, I am happy with my order.", "positive"),
    ("The app is easy to use and works well.", "positive"),
    ("Very good quality for the price.", "positive"),
    ("I would definitely recommend this shop to my friends.", "positive"),
    ("The staff was kind and the checkout was smooth.", "positive"),
    ("Amazing experience, will buy again.", "positive"),
    ("Not bad.", "positive"),
    ("I was pleasantly surprised by how quickly they solved my problem.", "positive"),
    ("Absolutely fantastic support, they fixed everything.", "positive"),
    ("The package arrived damaged and nobody answered my emails.", "negative"),
    ("Terrible customer service, I waited an hour on the phone.", "negative"),
    ("The product broke after two days.", "negative"),
    ("Not good, the size was wrong and the return was a hassle.", "negative"),
    ("I am very disappointed with this purchase.", "negative"),
    ("The website is slow and confusing.", "negative"),
    ("Worst order ever, never again.", "negative"),
    ("The delivery was late and the driver was rude.", "negative"),
    ("I did not like the taste at all.", "negative"),
    ("The quality is poor and the price is too high.", "negative"),
    ("This is not what I ordered and I am angry.", "negative"),
    ("The chat agent was useless and unhelpful.", "negative"),
    ("The service was not good.", "negative"),
    ("Never buying from them again, what a waste of money.", "negative"),
    ("I ordered a blue shirt in size M.", "neutral"),
    ("The parcel arrived on Tuesday.", "neutral"),
    ("I used the mobile app to place the order.", "neutral"),
    ("My order number is 4711.", "neutral"),
    ("The store opens at nine.", "neutral"),
]
GERMAN = [
    ("Der Kundenservice war sehr freundlich und hilfsbereit.", "positive"),
    ("Tolles Produkt, ich bin begeistert!", "positive"),
    ("Die Lieferung war schnell und alles kam in perfektem Zustand an.", "positive"),
    ("Super Service, vielen Dank!", "positive"),
    ("Nicht schlecht, ich bin zufrieden.", "positive"),
    ("Die App ist einfach zu bedienen und funktioniert gut.", "positive"),
    ("Sehr gute Qualität zum fairen Preis.", "positive"),
    ("Ich kann den Shop nur weiterempfehlen.", "positive"),
    ("Die Beratung war kompetent und freundlich.", "positive"),
    ("Alles bestens, gerne wieder.", "positive"),
    ("Die Bestellung lief ohne Probleme.", "positive"),
    ("Hervorragende Beratung, sie haben alles gelöst.", "positive"),
    ("Das Paket kam beschädigt an und niemand hat auf meine E-Mails geantwortet.", "negative"),
    ("Schrecklicher Kundenservice, ich habe eine Stunde in der Warteschleife gewartet.", "negative"),
    ("Das Produkt war nach zwei Tagen kaputt.", "negative"),
    ("Nicht gut, die Größe war falsch.", "negative"),
    ("Ich bin sehr enttäuscht von diesem Kauf.", "negative"),
    ("Die Webseite ist langsam und unübersichtlich.", "negative"),
    ("Nie wieder, die schlechteste Bestellung überhaupt.", "negative"),
    ("Die Lieferung kam zu spät und der Fahrer war unfreundlich.", "negative"),
    ("Das hat mir gar nicht gefallen.", "negative"),
    ("Die Qualität ist schlecht und der Preis zu hoch.", "negative"),
    ("Der Service war nicht gut.", "negative"),
    ("Der Chat war nutzlos und nicht hilfreich.", "negative"),
    ("Ich bin leider nicht zufrieden.", "negative"),
    ("Das gefällt mir nicht.", "negative"),
    ("Keine gute Erfahrung, der Artikel war defekt.", "negative"),
    ("Ich habe ein blaues Hemd in Größe M bestellt.", "neutral"),
    ("Das Paket kam am Dienstag.", "neutral"),
    ("Ich habe die App für die Bestellung benutzt.", "neutral"),
    ("Meine Bestellnummer ist 4711.", "neutral"),
    ("Der Laden öffnet um neun Uhr.", "neutral"),
]


def _accuracy(sentences: list[tuple[str, str]], language: str = "auto") -> float:
    return float(np.mean([S.label(S.polarity(t, language)) == want for t, want in sentences]))


def test_labels_of_hand_written_sentences_are_mostly_right():
    assert len(ENGLISH) + len(GERMAN) >= 60 and len(ENGLISH) == len(GERMAN)
    assert _accuracy(ENGLISH) >= 0.85
    assert _accuracy(GERMAN) >= 0.85
    assert _accuracy(ENGLISH + GERMAN) >= 0.85
    assert _accuracy(ENGLISH, "en") >= 0.85 and _accuracy(GERMAN, "de") >= 0.85  # the language set, not detected


@pytest.mark.parametrize("text, want", [
    ("nicht gut", "negative"), ("Das ist nicht gut.", "negative"), ("nicht schlecht", "positive"),
    ("Das gefällt mir nicht.", "negative"), ("Das gefällt mir.", "positive"), ("ohne Probleme", "positive"),
    ("kein guter Service", "negative"), ("not bad", "positive"), ("not good", "negative"),
    ("Gut, aber zu teuer.", "negative"), ("Teuer, aber sehr gut.", "positive"),
])
def test_negation_and_but(text, want):
    lang = "en" if text.startswith("not ") else "de"
    assert S.label(S.polarity(text, lang)) == want


def test_intensifier_strengthens_and_scale_stays_within_one():
    assert S.polarity("sehr gut", "de") > S.polarity("gut", "de") > 0
    assert -1 <= S.polarity("schlecht schlecht schlecht schlecht furchtbar", "de") < -0.9
    assert S.polarity("", "de") == 0.0 and S.polarity("   ") == 0.0


def test_language_is_chosen_per_text_by_stop_words():
    en = np.mean([S.detect_language(t) == "en" for t, _ in ENGLISH])
    de = np.mean([S.detect_language(t) == "de" for t, _ in GERMAN])
    assert en == 1.0 and de >= 0.9
    assert S.detect_language("Schöne Grüße") == "de"  # no stop word: umlauts decide
    with pytest.raises(ParameterError, match="en, de or auto"):
        S.polarity("good", "fr")


def test_config_language_key(tmp_path):
    tx = tmp_path / "t.csv"
    tx.write_text("customer_id,timestamp,amount\n1,2024-01-01,10\n")
    assert parse_config({"tables": {"transactions": {"path": str(tx)}}}).language == "auto"
    cfg = parse_config({"language": "DE", "tables": {"transactions": {"path": str(tx)}}})
    assert cfg.language == "de" and cfg.to_dict()["language"] == "de"
    with pytest.raises(ConfigError, match="language"):
        parse_config({"language": "fr", "tables": {"transactions": {"path": str(tx)}}})


# --- a small table computed by hand -------------------------------------------------------------------

SURVEYS = pd.DataFrame(
    [
        # time, kind, score, customer, touchpoint, channel, comment (label by hand)
        ("2024-01-05", "nps", 2, "a", "post_purchase", "email", "The parcel arrived damaged."),  # negative
        ("2024-01-10", "nps", 10, "b", "post_purchase", "email", "Great service, thank you!"),  # positive
        ("2024-01-20", "nps", 8, "c", "checkout", "web", "Bought it in the app."),  # neutral
        ("2024-02-03", "nps", 5, "a", "post_purchase", "email", "Der Service war nicht gut."),  # negative
        ("2024-02-10", "csat", 5, "b", "delivery", "web", "Super Service, vielen Dank!"),  # positive
        ("2024-02-11", "csat", 2, "c", "delivery", "web", "Das Paket kam beschädigt an."),  # negative
        ("2024-02-12", "nps", 9, "d", "post_purchase", "email", None),  # no comment
        ("2024-02-13", "csat", 4, "d", "delivery", "web", "   "),  # blank: no comment
    ],
    columns=["timestamp", "kind", "score", "customer_id", "touchpoint", "channel", "comment"],
)
TOUCHES = pd.DataFrame(
    [
        ("2024-01-15", "social", "comment", "a", "Not bad at all, I am happy with my order."),  # positive
        ("2024-02-15", "social", "comment", "b", "Terrible support, the parcel was late."),  # negative
        ("2024-02-16", "social", "view", "c", None),
        ("2024-02-20", "email", "open", "d", None),
    ],
    columns=["timestamp", "channel", "event", "customer_id", "text"],
)
TABLES = {"surveys": SURVEYS, "touches": TOUCHES}
TEXTS = [c for c in SURVEYS["comment"] if isinstance(c, str) and c.strip()] + [t for t in TOUCHES["text"] if isinstance(t, str)]
LABELS = ["negative", "positive", "neutral", "negative", "positive", "negative", "positive", "negative"]


def test_each_text_gets_the_label_given_by_hand():
    scored = S.score_texts(TEXTS)
    assert scored["label"].tolist() == LABELS
    assert scored["language"].tolist() == ["en", "en", "en", "de", "en", "de", "en", "en"]
    assert scored["polarity"].between(-1, 1).all()


def test_window_figures_by_hand():
    pos = M.compute("sentiment.share_positive", TABLES)
    neg = M.compute("sentiment.share_negative", TABLES)
    avg = M.compute("sentiment.mean", TABLES)
    assert pos.counts == {"positive": 3, "texts": 8} and pos.value == 3 / 8
    assert neg.counts == {"negative": 4, "texts": 8} and neg.value == 4 / 8
    assert 0 < pos.low < 3 / 8 < pos.high < 1
    pol = [S.polarity(t) for t in TEXTS]
    assert avg.value == pytest.approx(np.mean(pol)) and avg.n == 8
    half = avg.high - avg.value
    from scipy import stats
    assert half == pytest.approx(stats.t.ppf(0.975, 7) * np.std(pol, ddof=1) / np.sqrt(8))


def test_per_period_figures_by_hand():
    p = M.compute("sentiment.share_negative", TABLES, per_period=True, as_of="2024-02-29").set_index("period")
    assert p.loc["2024-01", "negative"] == 1 and p.loc["2024-01", "texts"] == 4
    assert p.loc["2024-02", "negative"] == 3 and p.loc["2024-02", "texts"] == 4
    trend = M.kpis_by_period(TABLES, as_of="2024-02-29", keys=["sentiment.share_positive", "sentiment.mean"])
    q = trend[trend["key"] == "sentiment.share_positive"].set_index("period")
    assert q.loc["2024-01", "value"] == 2 / 4 and q.loc["2024-02", "value"] == 1 / 4
    m = trend[trend["key"] == "sentiment.mean"].set_index("period")
    pol = np.array([S.polarity(t) for t in TEXTS])
    jan = np.array([0, 1, 2, 6])  # the texts of January: three comments and one social comment
    assert m.loc["2024-01", "value"] == pytest.approx(pol[jan].mean())
    changes = M.period_changes(trend)
    assert set(changes["key"]) == {"sentiment.share_positive", "sentiment.mean"}


def test_by_channel_and_touchpoint_by_hand():
    texts = S.text_table(TABLES)
    ch = S.by_group(texts, "channel").set_index("channel")
    assert ch["texts"].to_dict() == {"email": 3, "web": 3, "social": 2}
    assert ch.loc["email", "share_negative"] == 2 / 3 and ch.loc["email", "share_positive"] == 1 / 3
    assert ch.loc["web", "share_negative"] == 1 / 3 and ch.loc["social", "share_positive"] == 1 / 2
    tp = S.by_group(texts, "touchpoint").set_index("touchpoint")
    assert tp["texts"].to_dict() == {"post_purchase": 3, "delivery": 2, "checkout": 1}  # touches have none
    assert tp.loc["checkout", "share_positive"] == 0 and tp.loc["checkout", "share_negative"] == 0
    pol = dict(zip(TEXTS, (S.polarity(t) for t in TEXTS), strict=True))
    assert tp.loc["delivery", "mean"] == pytest.approx((pol[TEXTS[4]] + pol[TEXTS[5]]) / 2)
    seg = M.kpis_by_segment(TABLES, "channel", keys=["sentiment.share_negative"]).set_index("segment")
    assert seg.loc["email", "value"] == 2 / 3


def test_sentiment_beside_the_score_by_hand():
    got = S.by_score(S.text_table(TABLES)).set_index(["kind", "group"])
    assert got.loc[("nps", "detractor"), "texts"] == 2 and got.loc[("nps", "detractor"), "share_negative"] == 1.0
    assert got.loc[("nps", "passive"), "texts"] == 1 and got.loc[("nps", "passive"), "negative"] == 0
    assert got.loc[("nps", "promoter"), "texts"] == 1 and got.loc[("nps", "promoter"), "share_positive"] == 1.0
    assert got.loc[("csat", "dissatisfied"), "negative"] == 1 and got.loc[("csat", "satisfied"), "positive"] == 1
    text = story.describe_scores(got.reset_index())
    assert "Detractors (0–6) wrote a negative comment **100.0%**" in text and "promoters (9–10) **0.0%**" in text


def test_frequent_words_of_negative_comments_by_hand():
    words = S.negative_words(S.text_table(TABLES)).set_index("word")
    # negative: parcel arrived damaged / Service (war nicht) gut / Paket (kam) beschädigt / terrible support parcel late
    assert words.loc["parcel", "texts"] == 2 and words.loc["parcel", "share"] == 2 / 4
    assert words.index[0] == "parcel"
    assert set(words.index) == {"parcel", "arrived", "damaged", "service", "gut", "paket", "beschädigt", "terrible",
                                "support", "late"}
    assert not {"the", "der", "war", "nicht", "kam"} & set(words.index)  # stop words and negators removed


def test_words_from_customers_cannot_carry_markup():
    tables = {"touches": pd.DataFrame({"timestamp": ["2024-01-01"] * 2, "channel": "social", "event": "comment",
                                       "text": ["<script>alert(1)</script> terrible **awful** service",
                                                "[bad](http://x) | horrible_thing `awful`"]})}
    words = S.negative_words(S.text_table(tables))
    assert words["word"].str.fullmatch(r"[a-zäöüß]+").all()
    sentence = story.describe_words(words)
    assert "<" not in sentence and "*" not in sentence and "`" not in sentence and "[" not in sentence


def test_batches_give_the_same_scores():
    import ibis

    con = ibis.duckdb.connect()
    tables = {"surveys": con.create_table("s", M.sentiment._texts(SURVEYS).execute()),
              "touches": con.create_table("t", TOUCHES.assign(timestamp=pd.to_datetime(TOUCHES["timestamp"])))}
    small = S.text_table(tables, batch=2).order_by(["timestamp", "text"]).execute()
    S._CACHE.clear()
    whole = S.text_table(tables).order_by(["timestamp", "text"]).execute()
    pd.testing.assert_frame_equal(small, whole)
    assert S.text_table(tables) is S.text_table(tables)  # scored once per tables and language


def test_without_text_nothing_changes():
    surveys = SURVEYS.drop(columns="comment")
    touches = TOUCHES.drop(columns="text")
    for tables in ({"surveys": surveys, "touches": touches}, {"surveys": surveys},
                   {"surveys": SURVEYS.assign(comment=None), "touches": TOUCHES.assign(text="  ")}):
        assert S.text_table(tables) is None
        head = {k: M.compute(k, tables) for k in ("sentiment.share_positive", "sentiment.mean")}
        assert head == {"sentiment.share_positive": None, "sentiment.mean": None}
        assert "sentiment" not in M.sections(tables, head)
        assert S.summarise(tables) is None and S.results(None) == {}
    assert M.sections(TABLES, {"sentiment.mean": M.compute("sentiment.mean", TABLES)})["sentiment"] is None


def test_summary_holds_every_table_for_results_json():
    summary = S.summarise(TABLES, as_of="2024-02-29")
    assert summary.texts == 8 and summary.distinct == 8 and summary.languages == {"de": 2, "en": 6}
    res = S.results(summary)
    assert set(res) == {"sentiment.by_channel", "sentiment.by_touchpoint", "sentiment.by_score",
                        "sentiment.negative_words", "sentiment.languages", "sentiment.texts"}
    assert "8 comments and texts (2 German, 6 English" in story.sentiment_method(summary)
    readers = story.sentiment_table(summary.by_touchpoint, "touchpoint")
    assert "post purchase" in readers["Touchpoint"].tolist()  # plain words in the report


def test_scoring_speed():
    texts = [t for t, _ in ENGLISH + GERMAN] * 20
    rate = S.speed(texts)
    print(f"sentiment: {rate:,.0f} texts per second")
    assert rate > 500


# --- the demo's known truth ---------------------------------------------------------------------------------


def test_demo_comments_follow_the_known_truth():
    from engage_kit.datasets import generate_demo

    d = generate_demo(2000, seed=7, tables=("transactions", "customers", "touches", "surveys"))
    s, t = d.tables["surveys"], d.tables["touches"]
    assert s["comment"].notna().sum() > 500 and t["text"].notna().sum() > 10
    assert set(t.loc[t["text"].notna(), "event"]) == {"comment"}
    assert "sentiment" in d.truth
    c = s[s["comment"].notna() & (s["kind"] == "nps")].copy()
    c["label"] = [S.label(S.polarity(x)) for x in c["comment"]]
    det = (c.loc[c["score"] <= 6, "label"] == "negative").mean()
    pro = (c.loc[c["score"] >= 9, "label"] == "negative").mean()
    assert det > 0.55 and pro < 0.15  # truth: 70% and 5%
    langs = [S.detect_language(x) for x in c["comment"]]
    assert 0.2 < np.mean([x == "de" for x in langs]) < 0.4  # truth: 30% German
    assert c["comment"].str.contains("nicht|Not bad|Not good").any()


@pytest.mark.slow
def test_report_figures_equal_a_hand_computation_on_the_demo(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    executed, out = run_notebook("engagement_kpis", tmp_path, small_demo_config)
    res = json.loads((out / "results.json").read_text())["sentiment"]
    folder = small_demo_config.parent
    s = pd.read_parquet(folder / "surveys.parquet")
    t = pd.read_parquet(folder / "touches.parquet").drop_duplicates()
    texts = pd.concat([
        s.assign(text=s["comment"].str.strip(), source="survey")[["text", "channel", "touchpoint", "kind", "score"]],
        t.assign(text=t["text"].str.strip())[["text", "channel"]],
    ])
    texts = texts[texts["text"].fillna("").str.len() > 0].copy()
    texts["polarity"] = [S.polarity(x) for x in texts["text"]]
    texts["label"] = [S.label(p) for p in texts["polarity"]]
    assert res["texts"] == len(texts)
    assert res["share_positive"]["value"] == pytest.approx((texts["label"] == "positive").mean())
    assert res["share_negative"]["value"] == pytest.approx((texts["label"] == "negative").mean())
    assert res["mean"]["value"] == pytest.approx(texts["polarity"].mean())
    by_ch = {r["channel"]: r for r in res["by_channel"]}
    for ch, g in texts.groupby("channel"):
        assert by_ch[ch]["texts"] == len(g)
        assert by_ch[ch]["share_negative"] == pytest.approx((g["label"] == "negative").mean())
    by_tp = {r["touchpoint"]: r for r in res["by_touchpoint"]}
    for tp, g in texts.dropna(subset=["touchpoint"]).groupby("touchpoint"):
        assert by_tp[tp]["mean"] == pytest.approx(g["polarity"].mean())
    det = texts[(texts["kind"] == "nps") & (texts["score"] <= 6)]
    got = {(r["kind"], r["group"]): r for r in res["by_score"]}
    assert got[("nps", "detractor")]["texts"] == len(det)
    assert got[("nps", "detractor")]["share_negative"] == pytest.approx((det["label"] == "negative").mean())
    assert got[("nps", "detractor")]["share_negative"] > got[("nps", "promoter")]["share_negative"]
    assert res["negative_words"][0]["texts"] >= res["negative_words"][-1]["texts"] > 0
    cells = json.loads(executed.read_text())["cells"]
    shown = "".join(str(o) for c in cells for o in c.get("outputs", []))
    assert "Comments and sentiment" in shown and "Words of negative comments" in shown
