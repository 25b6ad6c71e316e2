"""Customer journey: stages, funnel, Markov credit, time to convert, leads, the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from engage_kit.journey import funnel as fn
from engage_kit.journey import leads as ld
from engage_kit.journey import paths as pa
from engage_kit.journey import timing as tm
from engage_kit.journey.analysis import analyse
from engage_kit.journey.people import STAGES, people

# --- a small hand-made dataset ---------------------------------------------------------


class _Config:
    period = "M"
    label = "hand-made data"


class FakeData:
    """The few parts of a Dataset the journey reads: tables, has, purchases, as_of, config."""

    def __init__(self, as_of: str, **tables: pd.DataFrame) -> None:
        self.tables = {k: ibis.memtable(v) for k, v in tables.items()}
        self.as_of = pd.Timestamp(as_of)
        self.config = _Config()

    def has(self, name: str) -> bool:
        return name in self.tables

    def table(self, name: str) -> ibis.Table:
        return self.tables[name]

    @property
    def purchases(self) -> ibis.Table:
        t = self.tables["transactions"]
        return t.filter(t.amount >= 0)


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def hand_made() -> FakeData:
    """Five customers and two unconverted leads; every stage worked out by hand below."""
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "B", "C", "C", "D", "E"],
        "timestamp": [ts("2024-01-10"), ts("2024-02-01"), ts("2024-01-20"), ts("2024-03-01 09:00"),
                      ts("2024-03-01 18:00"), ts("2024-04-01"), ts("2024-06-01")],
        "amount": [10.0, 20.0, 5.0, 8.0, 9.0, 7.0, -3.0],
    })
    touches = pd.DataFrame({
        "timestamp": [ts("2024-01-01"), ts("2024-01-05"), ts("2024-01-06"), ts("2024-01-08"), ts("2024-01-15"),
                      ts("2024-02-10"), ts("2024-01-02"), ts("2024-05-01"), ts("2024-05-02")],
        "channel": ["email", "email", "email", "web", "social", "email", "sms", "search", "chat"],
        "event": ["sent", "open", "click", "click", "like", "click", "open", "click", "reply"],
        "customer_id": ["A", "A", "A", "A", "B", "B", "C", "P", "P"],
    })
    leads = pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4"],
        "created_at": [ts("2023-12-20"), ts("2024-01-15"), ts("2024-02-01"), ts("2024-03-01")],
        "source": ["form", "chat", "form", "chat"],
        "customer_id": ["A", "B", None, None],
    })
    surveys = pd.DataFrame({"timestamp": [ts("2024-02-05"), ts("2024-02-06")], "kind": ["nps", "nps"],
                            "score": [10.0, 9.0], "customer_id": ["A", "B"]})
    return FakeData("2024-06-30", transactions=tx, touches=touches, leads=leads, surveys=surveys)


# furthest stage by hand: A repeat + promoter -> advocate (4); B one purchase, a like (not an
# engagement), promoter -> advocate (4, a passed repeat stage); C two purchases on one day -> first
# purchase (2); D bought -> 2; E only a return -> not a person; P touches, clicks -> engaged (1);
# lead:L3, lead:L4 -> lead (0)
HAND_FURTHEST = {"A": 4, "B": 4, "C": 2, "D": 2, "P": 1, "lead:L3": 0, "lead:L4": 0}


def test_stages_of_every_person_by_hand():
    pp = people(hand_made())
    st = pp.stages.execute().set_index("person")
    assert st["furthest"].to_dict() == HAND_FURTHEST
    assert st.loc["A", "lead_at"] == ts("2023-12-20")  # the lead came before any touch
    assert st.loc["A", "engaged_at"] == ts("2024-01-06")  # an open is a contact, the click engages
    assert st.loc["A", "repeat_purchase_at"] == ts("2024-02-01")
    assert pd.isna(st.loc["C", "repeat_purchase_at"])  # the same day is not a repeat
    assert st.loc["C", "lead_at"] == ts("2024-01-02")
    assert st.loc["D", "lead_at"] == ts("2024-04-01")  # no contact before: the purchase itself
    assert st.loc["B", "source"] == "chat" and pd.isna(st.loc["D", "source"])
    assert pd.isna(st.loc["lead:L3", "customer_id"])


def independent_funnel(furthest: dict[str, int]) -> list[int]:
    """People at each stage counted one person at a time."""
    return [sum(1 for f in furthest.values() if f >= k) for k in range(len(STAGES))]


def test_funnel_counts_and_conversion_against_a_plain_count():
    counts = fn.furthest_counts(people(hand_made()).stages)
    table = fn.funnel_table(counts)
    expected = independent_funnel(HAND_FURTHEST)
    assert table["people"].tolist() == expected == [7, 5, 4, 2, 2]
    assert np.isnan(table["conversion"].iloc[0])
    assert table["conversion"].iloc[1:].tolist() == pytest.approx([5 / 7, 4 / 5, 2 / 4, 2 / 2])
    assert table["stopped"].tolist() == [2, 1, 2, 0, 2]
    res = fn.funnel_results(table)
    assert res[0]["conversion"]["value"] is None and res[0]["conversion"]["reason"]
    assert res[2] == {"stage": "first_purchase", "people": 4,
                      "conversion": {"value": 0.8, "low": pytest.approx(0.3755, abs=1e-3),
                                     "high": pytest.approx(0.9638, abs=1e-3), "n": 5}}


def test_paths_collapse_repeats_and_end_in_the_outcome():
    pp = people(hand_made())
    paths = pp.steps.execute()
    p = pa.path_strings(pp.steps).execute().set_index("person")["path"].to_dict()
    # A: email open, email click, web click before the purchase -> email → web; the sent email is no step
    assert p == {"A": "email → web → purchase", "B": "social → purchase", "C": "sms → purchase",
                 "P": "search → chat → no purchase yet"}  # B's like is a contact, not an engagement
    assert set(paths["person"]) == {"A", "B", "C", "P"}
    assert pa.path_strings(pp.steps, max_steps=1).execute().set_index("person")["path"]["A"] == "… → web → purchase"


# --- Markov removal effects --------------------------------------------------------------


def seqs(*rows: tuple[str, int, int]) -> pd.DataFrame:
    """(path "a>b>c", people, purchases) rows as channel sequences."""
    return pd.DataFrame([(tuple(p.split(">")), n, k) for p, n, k in rows], columns=["channels", "people", "purchases"])


def test_markov_on_the_classic_three_paths_by_hand():
    # C1 → C2 → C3 → conversion; C1 → null; C2 → C3 → null. By hand: start→C1 2/3, start→C2 1/3,
    # C1→C2 1/2, C1→null 1/2, C2→C3 1, C3→conversion 1/2, C3→null 1/2.
    # P(conv) = (2/3 · 1/2 + 1/3) · 1/2 = 1/3; without C1: 1/3 · 1/2 = 1/6 (RE 0.5);
    # without C2 or C3 nothing converts (RE 1). Shares 0.5/2.5, 1/2.5, 1/2.5.
    trans = pa.transitions_from_sequences(seqs(("C1>C2>C3", 1, 1), ("C1", 1, 0), ("C2>C3", 1, 0)))
    assert pa.conversion_probability(trans) == pytest.approx(1 / 3)
    assert pa.conversion_probability(trans, removed="C1") == pytest.approx(1 / 6)
    m = pa.markov_attribution(trans).set_index("channel")
    assert m["removal_effect"].to_dict() == pytest.approx({"C1": 0.5, "C2": 1.0, "C3": 1.0})
    assert m["share"].to_dict() == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})


def independent_markov(paths: list[tuple[list[str], int, int]]) -> dict[str, float]:
    """Removal-effect shares by value iteration on transition probabilities, one path at a time."""
    def probs(removed: str | None) -> float:
        counts: dict[str, dict[str, int]] = {}
        for chans, n, k in paths:
            seq = ["S", *chans]
            for a, b in zip(seq, seq[1:], strict=False):
                counts.setdefault(a, {}).setdefault(b, 0)
                counts[a][b] += n
            counts.setdefault(chans[-1], {})
            counts[chans[-1]]["CONV"] = counts[chans[-1]].get("CONV", 0) + k
            counts[chans[-1]]["NULL"] = counts[chans[-1]].get("NULL", 0) + n - k
        value = {s: 0.0 for s in counts}
        for _ in range(2000):
            new = {}
            for s, out in counts.items():
                total = sum(out.values())
                v = 0.0
                for t, c in out.items():
                    if t == "CONV":
                        v += c / total
                    elif t not in ("NULL", removed):
                        v += c / total * value[t]
                new[s] = 0.0 if s == removed else v
            value = new
        return value["S"]

    base = probs(None)
    channels = sorted({c for chans, _, _ in paths for c in chans})
    re = {c: 1 - probs(c) / base for c in channels}
    total = sum(re.values())
    return {c: v / total for c, v in re.items()}


def test_markov_shares_agree_with_value_iteration_on_loops_and_repeats():
    rows = [("email>web", 40, 30), ("search>email>web", 25, 20), ("search", 50, 4), ("social>search>web>email", 10, 3),
            ("web>search>web", 8, 8), ("email", 30, 2), ("social", 20, 0)]
    trans = pa.transitions_from_sequences(seqs(*rows))
    mine = pa.markov_attribution(trans).set_index("channel")["share"].to_dict()
    other = independent_markov([(p.split(">"), n, k) for p, n, k in rows])
    assert mine == pytest.approx(other, abs=1e-6)
    assert sum(mine.values()) == pytest.approx(1.0)


def test_engine_transitions_match_the_ones_from_paths():
    pp = people(hand_made())
    got = pa.transitions(pp.steps)
    want = pa.transitions_from_sequences(seqs(("email>web", 1, 1), ("social", 1, 1), ("sms", 1, 1),
                                              ("search>chat", 1, 0)))
    assert got.to_dict("records") == want.to_dict("records")
    att, _ = pa.attribution_table(pp.steps)
    att = att.set_index("channel")
    third = pytest.approx(1 / 3)
    none = {"chat": 0.0, "search": 0.0}  # touched only on a path without a purchase
    assert att["first_touch"].to_dict() == {"email": third, "sms": third, "social": third, "web": 0.0, **none}
    assert att["last_touch"].to_dict() == {"email": 0.0, "sms": third, "social": third, "web": third, **none}
    assert att.loc["chat", "markov"] == 0.0
    assert att["markov"].sum() == pytest.approx(1.0)


def test_markov_without_any_purchase_is_empty():
    trans = pa.transitions_from_sequences(seqs(("email", 5, 0), ("web>email", 3, 0)))
    assert pa.markov_attribution(trans).empty


# --- tests between groups, time to convert, leads -----------------------------------------


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    got = fn.holm(p)
    assert np.isnan(got[-1])
    assert got[:-1] == pytest.approx(multipletests(p[:-1], method="holm")[1])


def test_group_funnels_find_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(3)
    rows = []
    for g, p_buy in (("a", 0.5), ("b", 0.2), ("c", 0.5)):
        engaged = rng.random(400) < 0.6
        buy = engaged & (rng.random(400) < p_buy)
        rep = buy & (rng.random(400) < 0.4)
        furthest = engaged.astype(int) + buy + rep
        rows += [{"group": g, "furthest": int(f)} for f in furthest]
    counts = pd.DataFrame(rows).groupby(["group", "furthest"]).size().rename("people").reset_index()
    _, tests = fn.group_funnels(counts)
    t = tests.set_index("stage")
    assert t.loc["first_purchase", "differs"]
    assert not t.loc["engaged", "differs"] and not t.loc["repeat_purchase", "differs"]


def test_kaplan_meier_median_recovers_a_known_exponential_median():
    rng = np.random.default_rng(11)
    n = 4000
    true = rng.exponential(30.0, n)  # median 30 ln 2 = 20.8 days
    censor = rng.uniform(0, 120, n)
    days = np.floor(np.minimum(true, censor)).astype(int)
    grouped = pd.DataFrame({"days": days, "converted": true <= censor}).value_counts().rename("people").reset_index()
    est = tm.estimate(grouped, what="a lead")
    assert est.median.low <= 30 * np.log(2) + 1 and 30 * np.log(2) - 1 <= est.median.high
    assert tm.estimate(grouped.assign(converted=False), what="a lead").median_dict()["reason"]


def test_lead_conversion_and_days_by_hand():
    lf = ld.lead_conversion(hand_made())
    by = lf.by_source.set_index("source")
    # chat: L2 -> B bought on 01-20 (5 days), L4 open; form: L1 -> A bought 01-10 (21 days), L3 open
    assert by["converted"].to_dict() == {"chat": 1, "form": 1} and by["leads"].to_dict() == {"chat": 2, "form": 2}
    assert by["median_days"].to_dict() == {"chat": 5.0, "form": 21.0}
    assert lf.rate.value == 0.5 and lf.rate.n == 4


def test_demo_leads_recover_the_conversion_by_source(small_demo, small_demo_truth):
    lf = ld.lead_conversion(small_demo)
    truth = small_demo_truth["journey"]["lead_conversion"]
    by = lf.by_source.set_index("source")
    assert set(by.index) == set(truth)
    for src, p in truth.items():
        assert by.loc[src, "low"] <= p <= by.loc[src, "high"], src
    assert lf.test_p < 1e-6
    assert lf.already_customers == 0
    # a converted lead's first purchase comes after the lead was created
    leads = small_demo.table("leads").execute()
    assert leads["customer_id"].notna().any() and leads["source"].notna().all()


# --- degenerate data ---------------------------------------------------------------------


def test_one_person_who_never_bought():
    ds = FakeData("2024-06-30",
                  transactions=pd.DataFrame({"customer_id": ["X"], "timestamp": [ts("2024-01-01")], "amount": [-5.0]}),
                  leads=pd.DataFrame({"lead_id": ["L1"], "created_at": [ts("2024-01-01")], "source": ["form"],
                                      "customer_id": pd.array([None], dtype="string")}))
    a = analyse(ds)
    res = a.results()
    assert [s["people"] for s in res["funnel"]["stages"]] == [1, 0, 0, 0, 0]
    assert res["funnel"]["stages"][2]["conversion"] == {"value": None, "reason": "nobody reached the stage before"}
    assert res["time_to_first_purchase"]["median_days"] == {"value": None, "reason": "nobody has converted yet"}
    assert res["attribution"]["value"] is None and res["attribution"]["reason"]
    assert res["leads"]["conversion_rate"]["value"] == 0.0
    json.dumps(res, allow_nan=False)
    from engage_kit.journey import story

    assert 3 <= len(story.findings(a)) <= 5


def test_nobody_converts_and_no_leads_table():
    ds = FakeData("2024-06-30",
                  transactions=pd.DataFrame({"customer_id": ["X"], "timestamp": [ts("2024-01-01")], "amount": [-5.0]}),
                  touches=pd.DataFrame({"timestamp": [ts("2024-01-01"), ts("2024-01-02")], "channel": ["email", "web"],
                                        "event": ["click", "click"], "customer_id": ["Y", "Z"]}))
    a = analyse(ds)
    res = a.results()
    assert res["people"] == 2 and res["buyers"] == 0
    assert res["leads"]["conversion_rate"] == {"value": None, "reason": "no leads table"}
    assert a.reasons["Leads"] == "no leads table" and a.reasons["Which channels get the credit"]
    assert a.path_table["purchases"].sum() == 0
    json.dumps(res, allow_nan=False)


def test_parameters_are_checked():
    from engage_kit.errors import ParameterError

    with pytest.raises(ParameterError, match="max_path_steps"):
        analyse(hand_made(), max_path_steps=0)
    with pytest.raises(ParameterError, match="period"):
        analyse(hand_made(), period="D")


# --- the notebook ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rendered(small_demo_config, tmp_path_factory) -> Path:
    from engage_kit.cli import main

    out = tmp_path_factory.mktemp("journey") / "out"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "customer_journey"]) == 0
    return out


@pytest.mark.slow
def test_notebook_renders_on_the_demo_in_plain_words(rendered):
    from tests.helpers import plain_words_problems, visible_text

    page = (rendered / "customer_journey.html").read_text(encoding="utf-8")
    body, appendix = visible_text(page)
    assert plain_words_problems(body) == []
    assert "Markov" in appendix and "Holm" in appendix
    res = json.loads((rendered / "customer_journey" / "results.json").read_text())
    assert [s["stage"] for s in res["funnel"]["stages"]] == list(STAGES)
    assert 0 < res["leads"]["conversion_rate"]["value"] < 1
    assert set(res["attribution"]) == {"first_touch", "last_touch", "markov"}
    for shares in res["attribution"].values():
        assert sum(shares.values()) == pytest.approx(1.0)
    assert "median_days" in res["time_to_first_purchase"]
    assert 3 <= len(res["findings"]) <= 5
    journeys = pd.read_csv(rendered / "customer_journey" / "journeys.csv")
    assert len(journeys) == res["people"]
    assert {"person", "lead_at", "first_purchase_at", "path"} <= set(journeys.columns)
    paths = pd.read_csv(rendered / "customer_journey" / "paths.csv")
    assert {"path", "people", "purchases", "conversion_rate"} <= set(paths.columns)
    index = (rendered / "index.html").read_text(encoding="utf-8")
    assert "Leads who became customers" in index


@pytest.mark.slow
def test_notebook_without_a_leads_table_says_so(small_demo_config, tmp_path):
    import yaml

    from engage_kit.cli import main

    cfg = yaml.safe_load(small_demo_config.read_text())
    cfg["tables"] = {k: {**v, "path": str(small_demo_config.parent / v["path"])} for k, v in cfg["tables"].items()
                     if k in ("transactions", "customers", "touches")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out), "--only", "customer_journey"]) == 0
    res = json.loads((out / "customer_journey" / "results.json").read_text())
    assert res["leads"]["conversion_rate"] == {"value": None, "reason": "no leads table"}
    page = (out / "customer_journey.html").read_text(encoding="utf-8")
    assert "no leads table" in page
