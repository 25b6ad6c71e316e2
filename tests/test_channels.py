"""Channel comparison: counts, tests against scipy/statsmodels, demo truth, error rates, notebook."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from engage_kit import channels as ch
from engage_kit.errors import DataError, ParameterError

# --- hand-made frames ----------------------------------------------------------------


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


@pytest.fixture
def tiny():
    """Six customers; A/B/control test groups; email and sms touches; one web conversion."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "signup_at": pd.to_datetime(["2024-01-01"] * 5 + ["2024-03-01"]),
            "test_group": ["A", "A", "B", "B", "control", "control"],
            "acquisition_channel": ["email", "email", "social", "social", "social", "email"],
        }
    )
    rows = [
        ("2024-02-01", "email", "sent", "c1", "K1", None),
        ("2024-02-01", "email", "open", "c1", "K1", None),
        ("2024-02-01", "email", "click", "c1", "K1", None),
        ("2024-02-02", "email", "conversion", "c1", "K1", 10.0),
        ("2024-02-01", "email", "sent", "c2", "K1", None),
        ("2024-03-01", "email", "sent", "c2", "K2", None),
        ("2024-03-02", "email", "Conversion", "c2", "K2", 30.0),  # case is ignored
        ("2024-02-05", "sms", "sent", "c3", "S1", None),
        ("2024-02-05", "sms", "click", "c3", "S1", None),
        ("2024-02-06", "sms", "conversion", "c3", "S1", 5.0),
        ("2024-02-05", "sms", "sent", "c1", "S1", None),
        ("2024-02-10", "web", "conversion", "c5", "S1", 7.0),  # outcome without exposure
        ("2024-02-10", "social", "view", "c6", "P1", None),  # no conversions ever on social
    ]
    touches = pd.DataFrame(rows, columns=["timestamp", "channel", "event", "customer_id", "campaign_id", "value"])
    touches["timestamp"] = pd.to_datetime(touches["timestamp"])
    return touches, customers


def test_units_by_channel_per_customer(tiny):
    touches, customers = tiny
    gc = ch.group_counts(touches, customers)
    c = gc.counts.set_index("group")
    # email: exposed c1, c2; both convert. sms: exposed c1, c3; c3 converts.
    assert c.loc["email", "units"] == 2 and c.loc["email", "conversions"] == 2
    assert c.loc["sms", "units"] == 2 and c.loc["sms", "conversions"] == 1
    assert c.loc["email", "opened"] == 1 and c.loc["email", "clicked"] == 1
    assert c.loc["email", "revenue"] == pytest.approx(40.0)
    # web (outcome only) and social (never records the outcome) are left out, with a note
    assert set(c.index) == {"email", "sms"}
    assert any("web" in n and "no denominator" in n for n in gc.notes)
    assert any("social" in n and "not tracked" in n for n in gc.notes)


def test_units_per_customer_campaign(tiny):
    touches, customers = tiny
    c = ch.group_counts(touches, customers, unit="customer_campaign").counts.set_index("group")
    # email pairs: (c1,K1) converts, (c2,K1) not, (c2,K2) converts
    assert c.loc["email", "units"] == 3 and c.loc["email", "conversions"] == 2
    assert c.loc["sms", "units"] == 2 and c.loc["sms", "conversions"] == 1


def test_units_by_attribute_touched_or_not(tiny):
    touches, customers = tiny
    c = ch.group_counts(touches, customers, compare_by="test_group").counts.set_index("group")
    assert c.loc["A", "units"] == 2 and c.loc["A", "conversions"] == 2
    assert c.loc["B", "units"] == 2 and c.loc["B", "conversions"] == 1  # c4 never touched: still a unit
    assert c.loc["control", "units"] == 2 and c.loc["control", "exposed"] == 1  # c6 viewed a post only
    assert c.loc["control", "conversions"] == 1  # c5's conversion counts for the attribute comparison
    # with a campaign: only its touches; customers signed up after it started are not units
    k = ch.group_counts(touches, customers, compare_by="test_group", campaign="S1").counts.set_index("group")
    assert k.loc["control", "units"] == 1 and k.loc["control", "conversions"] == 1
    assert k.loc["A", "conversions"] == 0 and k.loc["B", "conversions"] == 1


def test_attribute_per_customer_campaign_pairs(tiny):
    touches, customers = tiny
    c = ch.group_counts(touches, customers, compare_by="test_group", unit="customer_campaign").counts.set_index("group")
    # campaigns K1 (starts 02-01), K2 (03-01), S1 (02-05), P1 (02-10); c6 signed up 03-01: only eligible for none
    # before K2? 03-01 is not < 03-01, so c6 is in no pair; c5 is in 4 pairs.
    assert c.loc["A", "units"] == 8 and c.loc["A", "conversions"] == 2
    assert c.loc["control", "units"] == 4 and c.loc["control", "conversions"] == 1


def test_outcome_click_and_revenue_bootstrap_matches_plain_bootstrap():
    rng = np.random.default_rng(1)
    values = np.round(rng.gamma(2.0, 20.0, 40), 2)
    n = 800
    est = ch.bootstrap_revenue_per_unit(values, np.ones(40), n, n_boot=4000, random_state=3)
    full = np.concatenate([values, np.zeros(n - 40)])
    assert est.value == pytest.approx(full.mean())
    ref = stats.bootstrap((full,), np.mean, n_resamples=4000, method="percentile", random_state=5).confidence_interval
    assert est.low == pytest.approx(ref.low, rel=0.08)
    assert est.high == pytest.approx(ref.high, rel=0.08)
    assert ch.bootstrap_revenue_per_unit([], [], 10).value == 0.0


# --- tests on counts against scipy and statsmodels ------------------------------------


K = np.array([30, 45, 12, 3])
N = np.array([1000, 1100, 700, 90])


def test_pairwise_matches_statsmodels_and_scipy():
    pw = ch.pairwise_tests(K, N, names=list("wxyz"), alpha=0.05, correction="holm")
    assert len(pw) == 6
    for r in pw.itertuples():
        i, j = "wxyz".index(r.a), "wxyz".index(r.b)
        if r.test.startswith("z"):
            z, p = proportions_ztest([K[i], K[j]], [N[i], N[j]])
            assert r.z == pytest.approx(z) and r.p_value == pytest.approx(p)
            table = [[K[i], N[i] - K[i]], [K[j], N[j] - K[j]]]
            assert r.p_value == pytest.approx(stats.chi2_contingency(table, correction=False)[1])
        else:  # small expected counts: Fisher's exact test
            table = [[K[i], N[i] - K[i]], [K[j], N[j] - K[j]]]
            assert r.p_value == pytest.approx(stats.fisher_exact(table).pvalue)
        lo, hi = confint_proportions_2indep(K[i], N[i], K[j], N[j], method="newcomb", compare="diff")
        assert (r.diff_low, r.diff_high) == pytest.approx((lo, hi))
        rlo, rhi = confint_proportions_2indep(K[i], N[i], K[j], N[j], method="log-adjusted", compare="ratio")
        assert (r.lift_low, r.lift_high) == pytest.approx((rlo - 1, rhi - 1))
    for method in ("holm", "fdr_bh"):
        pw = ch.pairwise_tests(K, N, correction=method)
        reject, p_adj, _, _ = multipletests(pw.p_value, alpha=0.05, method=method)
        assert np.allclose(pw.p_adjusted, p_adj) and (pw.significant.to_numpy() == reject).all()


def test_fisher_used_for_small_counts():
    pw = ch.pairwise_tests([1, 6], [20, 22])
    assert pw.test.iloc[0] == "fisher exact"
    assert pw.p_value.iloc[0] == pytest.approx(stats.fisher_exact([[1, 19], [6, 16]]).pvalue)


def test_newcombe_with_zero_counts():
    d, lo, hi = ch.difference_interval(0, 50, 5, 60)
    slo, shi = confint_proportions_2indep(0, 50, 5, 60, method="newcomb", compare="diff")
    assert (float(lo), float(hi)) == pytest.approx((slo, shi))
    assert float(d) == pytest.approx(-5 / 60)


def test_omnibus_by_hand_and_scipy():
    # 10/100 vs 20/100: pooled 0.15, expected 15 and 85; X² = 2·(25/15 + 25/85) = 3.9216
    om = ch.omnibus_test([10, 20], [100, 100])
    assert om["statistic"] == pytest.approx(2 * (25 / 15 + 25 / 85))
    assert om["dof"] == 1
    table = np.column_stack([K, N - K])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    om = ch.omnibus_test(K, N)
    assert om["statistic"] == pytest.approx(chi2) and om["p_value"] == pytest.approx(p) and om["dof"] == dof
    assert ch.omnibus_test([0, 0], [10, 10])["p_value"] == 1.0


def test_mde_matches_statsmodels_power():
    p0, n1, n2 = 0.05, 2000, 1500
    mde = float(ch.minimum_detectable_effect(p0, n1, n2, alpha=0.05, power=0.8))
    h = 2 * np.arcsin(np.sqrt(p0 + mde)) - 2 * np.arcsin(np.sqrt(p0))
    h_ref = NormalIndPower().solve_power(effect_size=None, nobs1=n1, alpha=0.05, power=0.8, ratio=n2 / n1)
    assert h == pytest.approx(h_ref, rel=1e-3)
    # larger groups detect smaller effects; a stricter alpha needs larger ones
    assert ch.minimum_detectable_effect(p0, 10 * n1, 10 * n2) < mde
    assert ch.minimum_detectable_effect(p0, n1, n2, alpha=0.01) > mde


def test_bayes_probability_best():
    b = ch.bayes_best([50, 80], [1000, 1000], names=["x", "y"], control="x", draws=40_000, random_state=1)
    # exact P(y > x) for two Betas by numerical integration
    xs = np.linspace(0, 0.2, 20001)
    px = stats.beta(51, 951)
    py = stats.beta(81, 921)
    exact = np.trapezoid(py.pdf(xs) * px.cdf(xs), xs)
    assert b.set_index("group").loc["y", "p_best"] == pytest.approx(exact, abs=0.01)
    assert b.set_index("group").loc["y", "p_beats_control"] == pytest.approx(exact, abs=0.01)
    assert b.posterior_mean.tolist() == pytest.approx([51 / 1002, 81 / 1002])
    assert b.cred_low.iloc[0] == pytest.approx(px.ppf(0.025))
    same = ch.bayes_best([50, 50], [1000, 1000], draws=40_000)
    assert same.p_best.tolist() == pytest.approx([0.5, 0.5], abs=0.02)


def test_family_wise_error_rate_stays_near_alpha(monkeypatch):
    # statsmodels' Holm calls gc.collect() on every call (about 0.1 s in a large process); off for the loop
    import gc

    monkeypatch.setattr(gc, "collect", lambda *a: 0)
    rng = np.random.default_rng(2024)
    reps, groups, n, p = 1000, 5, 2000, 0.05
    any_holm = any_raw = any_bh = 0
    for _ in range(reps):
        k = rng.binomial(n, p, groups)
        pw = ch.pairwise_tests(k, np.full(groups, n), alpha=0.05, correction="holm")
        any_holm += bool(pw.significant.any())
        any_raw += bool((pw.p_value < 0.05).any())
        any_bh += bool(multipletests(pw.p_value, alpha=0.05, method="fdr_bh")[0].any())  # what correction="fdr_bh" does
    assert any_holm / reps <= 0.07
    assert any_bh / reps <= 0.07  # under the global null the FDR is the family-wise rate
    assert any_raw / reps > 0.15  # ten uncorrected tests: false winners are common
    assert any_holm > 0  # the test can fire


def test_control_lift_by_hand():
    lift = ch.control_lift([60, 20], [1000, 1000], names=["t", "c"], control="c")
    r = lift.iloc[0]
    assert r.lift == pytest.approx(0.04)
    assert r.relative_lift == pytest.approx(2.0)
    assert r.incremental == pytest.approx(40.0)
    lo, hi = confint_proportions_2indep(60, 1000, 20, 1000, method="newcomb", compare="diff")
    assert (r.lift_low, r.lift_high) == pytest.approx((lo, hi))


# --- the whole comparison, results and escaping ----------------------------------------


def test_compare_channels_results_keep_raw_names():
    evil = "<script>alert(1)</script>"
    rows = []
    for name, n, k in [(evil, 400, 40), ("paid.search", 500, 20), ("email", 600, 30)]:
        for i in range(n):
            cid = f"{name}-{i}"
            rows.append(("2024-01-05", name, "sent", cid, "K", None))
            if i < k:
                rows.append(("2024-01-06", name, "conversion", cid, "K", 12.5))
    touches = pd.DataFrame(rows, columns=["timestamp", "channel", "event", "customer_id", "campaign_id", "value"])
    touches["timestamp"] = pd.to_datetime(touches["timestamp"])
    res = ch.compare_channels(touches, costs={"email": 300.0})
    out = res.to_results()
    assert set(out["groups"]) == {evil, "paid.search", "email"}
    g = out["groups"][evil]
    assert g["units"] == 400 and g["conversions"] == 40
    assert g["rate"]["value"] == pytest.approx(0.1) and g["rate"]["n"] == 400
    assert g["revenue_per_unit"]["value"] == pytest.approx(40 * 12.5 / 400)
    assert g["revenue_per_unit"]["low"] < 1.25 < g["revenue_per_unit"]["high"]
    assert out["groups"]["email"]["cost_per_outcome"] == pytest.approx(10.0)
    assert {p["a"] for p in out["pairwise"]} | {p["b"] for p in out["pairwise"]} == set(out["groups"])
    assert set(out["pairwise"][0]) >= {"a", "b", "difference", "p_value", "p_adjusted", "significant"}
    text = "\n".join(res.summary())
    assert evil not in text and "&lt;script&gt;" in text
    assert res.trends is not None and set(res.trends.group) == set(out["groups"])
    csv = res.groups_table()
    assert evil in set(csv.group)


def test_trends_by_period(tiny):
    touches, customers = tiny
    tr = ch.group_trends(touches, customers, period="M")
    email = tr[tr.group == "email"].set_index("period")
    # Feb: c1, c2 exposed, c1 converts; Mar: c2 exposed and converts
    assert email.loc[pd.Timestamp("2024-02-01"), ["units", "conversions"]].tolist() == [2, 1]
    assert email.loc[pd.Timestamp("2024-03-01"), ["units", "conversions"]].tolist() == [1, 1]
    at = ch.group_trends(touches, customers, compare_by="test_group", period="M")
    ctl = at[at.group == "control"].set_index("period")
    # control members by period end: c5 (Feb), c5 and c6 (Mar, c6 signed up 03-01); c5 converts in Feb
    assert ctl.loc[pd.Timestamp("2024-02-01"), ["units", "conversions"]].tolist() == [1, 1]


def test_reader_helpers_p_values_and_trend_leaders():
    assert ch.format_p(1e-85) == "p < 0.001" and ch.format_p(0.0123) == "p = 0.012"
    tr = pd.DataFrame({
        "group": ["a", "b", "a", "b", "a"],
        "period": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"]),
        "units": [10, 10, 10, 10, 10], "rate": [0.1, 0.2, 0.3, 0.2, 0.9],
    })
    # March has no b: a's lead there does not count
    assert ch.trend_leader(tr, "a") == (1, 2) and ch.trend_leader(tr, "b") == (1, 2)
    assert ch.trend_leader(tr.iloc[:0], "a") == (0, 0)


def test_display_tables_read_as_words():
    rows = []
    for name, n, k, opens in [("email", 300, 30, True), ("sms", 300, 15, False)]:
        for i in range(n):
            cid = f"{name}-{i}"
            rows.append(("2024-01-05", name, "sent", cid, "K", None))
            if opens and i < 100:
                rows.append(("2024-01-05", name, "open", cid, "K", None))
            if i < 50:
                rows.append(("2024-01-05", name, "click", cid, "K", None))
            if i < k:
                rows.append(("2024-01-06", name, "conversion", cid, "K", 10.0))
    touches = pd.DataFrame(rows, columns=["timestamp", "channel", "event", "customer_id", "campaign_id", "value"])
    touches["timestamp"] = pd.to_datetime(touches["timestamp"])
    res = ch.compare_channels(touches, period=None)
    f = res.funnel_display("EUR").set_index("channel")
    assert f.loc["email", "opened"] == 100 and np.isnan(f.loc["sms", "opened"])  # not tracked, not zero
    assert f.loc["email", "converted"] == 30 and f.loc["email", "95% interval"].endswith("%")
    pw = res.pairwise_display()
    assert pw.loc[0, "real difference"] in ("yes", "no")
    assert pw.loc[0, "difference (pts)"] == pytest.approx(res.pairwise.loc[0, "difference"] * 100)


def test_story_words_a_comparison(tiny):
    touches, customers = tiny
    res = ch.compare_channels(touches, customers, period=None)
    found = res.summary()
    assert 1 <= len(found) <= 5 and all(isinstance(t, str) and t for t in found)
    om = ch.story.omnibus_sentence(res)
    assert om.startswith(f"Chi-square test of homogeneity across {len(res.groups)} groups")
    assert om.endswith(f"Correction: {ch.CORRECTION_NAMES['holm']}.")
    res.notes.append("<b>web</b> left out")
    caveats = ch.story.caveats(res).split("\n")
    assert "&lt;b&gt;" in caveats[-6] and "no opens recorded" in caveats[-5]  # sms clicks without opens
    assert caveats[-4:] == [f"- {c}" for c in ch.story.CAVEATS]
    assert ch.story.cost_skip_reason(None, res).startswith("no costs given")
    assert ch.story.cost_skip_reason({"email": 5.0}, res) == "no compared group has a cost"
    assert ch.story.no_units_reason("customer_campaign") == "no customer-campaign units to count"
    assert ch.story.acquisition_reason("no column", "acquisition_channel") == (
        "the customers table has no acquisition_channel column")
    # the reason is plain words; how to measure the lift on a control group is a separate hint
    assert ch.story.lift_skip_text(res, {"test_group": "control"}) == (
        "none of the compared channel groups is a control group that got no message")
    hint = html.unescape(ch.story.control_hint({"test_group": "control"}))
    assert "column test_group, group control" in hint and "=" not in hint and "compare_by" not in hint
    assert ch.story.control_hint({}) == ""
    assert ch.story.outputs_sentence("a&b", ["results.json", "groups.csv"]) == (
        "Written in the folder <code>a&amp;b</code> next to this report: groups.csv, results.json.")


def _two_channel_touches(k_a: int, k_b: int, *, n: int = 400, sends_a: int = 1) -> pd.DataFrame:
    """Channels a and b, ``n`` customers each; a sends ``sends_a`` campaigns per customer; k_* customers convert."""
    rows = []
    for name, k, sends in (("a", k_a, sends_a), ("b", k_b, 1)):
        for i in range(n):
            cid = f"{name}{i}"
            for j in range(sends):
                rows.append((f"2024-01-{j + 1:02d}", name, "sent", cid, f"{name}-K{j}", None))
            if i < k:
                rows.append((f"2024-01-{sends:02d}", name, "conversion", cid, f"{name}-K{sends - 1}", 20.0))
    t = pd.DataFrame(rows, columns=["timestamp", "channel", "event", "customer_id", "campaign_id", "value"])
    t["timestamp"] = pd.to_datetime(t["timestamp"])
    return t


def test_findings_say_which_channel_to_use_and_whether_it_is_chance():
    # a clear winner: "use a", more than chance
    res = ch.compare_channels(_two_channel_touches(80, 20), period=None)
    found = ch.story.findings(res)
    assert found[0].startswith("Use **a** for conversions: **20.0%**") and "more than chance above b (5.0%)" in found[0]
    # a gap within chance says so, and names no winner
    res = ch.compare_channels(_two_channel_touches(22, 20), period=None)
    found = ch.story.findings(res)
    assert "not by more than chance over b" in found[0] and "no group is a clear winner" in found[0]
    # a writes 5 times to each customer: it leads per customer, b per message; the frequency is named
    t = _two_channel_touches(60, 40, sends_a=5)
    per_customer = ch.compare_channels(t, period="M")
    per_message, _ = ch.compare_other_unit(t, None, per_customer)
    found = ch.story.findings(per_customer, per_message)
    assert found[0].startswith("Use **b** for conversions: **10.0%** of its messages led to a conversion")
    assert found[1].startswith("**a** converts the most customers from 2024-01 to 2024-01: **15.0%**")
    assert "about **5.0** times against 1.0 for b" in found[1]
    cards = ch.story.summary_cards(per_customer, other=per_message)
    assert [c["value"] for c in cards[1:3]] == ["b: 10.0%", "a: 15.0%"]
    assert ch.story.rates_title(per_customer, per_message) == "a converts the most customers, b the most per message"
    # no messages at all: one finding saying so, and the report is not applicable
    assert ch.story.findings(None) == [f"Channels cannot be compared on this data: {ch.story.NO_TOUCHES_PLAIN}."]
    assert ch.story.not_applicable(None, None).startswith(ch.story.NO_TOUCHES_PLAIN)
    assert ch.story.not_applicable(res, None) is None


def test_acquisition_value_by_hand():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "acquisition_channel": ["x", "x", "y"],
                              "signup_at": pd.to_datetime(["2023-12-31", "2023-12-31", "2024-06-30"])})
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "c"],
                       "timestamp": pd.to_datetime(["2024-01-10", "2024-11-20", "2024-11-25", "2024-07-01"]),
                       "amount": [100.0, 50.0, -20.0, 40.0]})
    v = ch.acquisition_value(tx, customers, as_of="2024-12-30", active_days=90, costs={"x": 60.0}).set_index("group")
    assert v.loc["x", "customers"] == 2 and v.loc["x", "buyers"] == 1
    assert v.loc["x", "repeat_rate"] == 1.0  # a bought on two days
    assert v.loc["x", "active_rate"] == 0.5
    assert v.loc["x", "revenue_per_customer"] == pytest.approx(65.0)  # (100 + 50 - 20 + 0) / 2
    assert v.loc["x", "revenue_per_customer_year"] == pytest.approx(130 / (2 * 1.0), rel=0.01)
    assert v.loc["x", "cost_per_acquisition"] == 30.0 and v.loc["x", "return_on_spend"] == pytest.approx(130 / 60)
    assert v.loc["y", "active_rate"] == 0.0
    shown = ch.acquisition_display(v.reset_index(), "EUR")
    assert list(shown.columns[:3]) == ["acquisition channel", "customers", "repeat rate"]
    assert "cost per acquisition (EUR)" in shown.columns and "return on spend" in shown.columns


# --- bad input -----------------------------------------------------------------------


def test_bad_input_gives_clear_errors(tiny):
    touches, customers = tiny
    with pytest.raises(ParameterError, match="did you mean 'channel'"):
        ch.compare_channels(touches, customers, compare_by="chanel")
    with pytest.raises(ParameterError, match="no 'purchase' events"):
        ch.compare_channels(touches, customers, outcome="purchase")
    with pytest.raises(ParameterError, match="control='ctrl' is not a group.*did you mean 'control'"):
        ch.compare_channels(touches, customers, compare_by="test_group", control="ctrl")
    with pytest.raises(ParameterError, match="unit must be one of"):
        ch.compare_channels(touches, customers, unit="household")
    with pytest.raises(ParameterError, match="correction must be"):
        ch.compare_channels(touches, customers, correction="bonferroni")
    with pytest.raises(ParameterError, match="alpha must be"):
        ch.compare_channels(touches, customers, alpha=5)
    with pytest.raises(ParameterError, match="non-negative"):
        ch.compare_channels(touches, customers, costs={"email": -1})
    with pytest.raises(ParameterError, match="no rows for this campaign"):
        ch.compare_channels(touches, customers, campaign="NOPE")
    with pytest.raises(ParameterError, match="neither a touches column"):
        ch.compare_channels(touches, None, compare_by="test_group")
    with pytest.raises(DataError, match="column\\(s\\) event missing"):
        ch.compare_channels(touches.drop(columns="event"))
    with pytest.raises(ParameterError, match="between 0 and its group's size"):
        ch.pairwise_tests([5, 20], [10, 10])
    assert ch.parse_costs('{"email": 5}') == {"email": 5.0}
    with pytest.raises(ParameterError, match="none of"):
        ch.check_costs({"fax": 1.0}, ["email"], ["referral"])


# --- the demo generator's truth ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    """The default-size demo (20,000 customers, seed 42) generated in memory, and its truth."""
    import ibis

    from engage_kit.datasets import generate_demo

    d = generate_demo(20_000, seed=42)
    return {n: ibis.memtable(d.tables[n]) for n in ("touches", "customers")}, d.truth


def test_demo_channels_per_message_recover_truth(demo):
    ds, truth = demo
    t = ds["touches"]
    t = t.filter(t.campaign_id != truth["experiment"]["campaign_id"])  # the regular campaigns only
    res = ch.compare_channels(t, ds["customers"], unit="customer_campaign", period=None)
    rates = {}
    for name, r in truth["channels"].items():
        p_open = r["open"] if r["open"] > 0 else 1.0
        p_click = r["click_given_open"] if r["open"] > 0 else r["click"]
        rates[name] = (1 - r["bounce"]) * p_open * p_click * r["conversion_given_click"]  # per sent message
    for name, p in rates.items():
        est = res.rate(name)
        assert est.low <= p <= est.high, (name, p, est)
    # the three channels truly differ: every pair is declared different
    assert len(res.pairwise) == 3 and res.pairwise.significant.all()
    assert res.omnibus["p_value"] < 1e-10
    assert list(res.groups.group) == sorted(rates, key=rates.get, reverse=True)


def test_demo_experiment_lift_recovered(demo):
    ds, truth = demo
    exp = truth["experiment"]
    res = ch.compare_channels(ds["touches"], ds["customers"], compare_by="test_group", control="control",
                              campaign=exp["campaign_id"], period=None)
    conv = exp["conversion"]
    lift = res.lift.set_index("group")
    for g in ("email", "sms", "push"):
        true_lift = conv[g] - conv["control"]
        assert lift.loc[g, "lift_low"] <= true_lift <= lift.loc[g, "lift_high"], (g, lift.loc[g].to_dict())
    # big true lifts are found; the control is never a unit that was messaged
    assert lift.loc["sms", "significant"] and lift.loc["email", "significant"]
    assert res.groups.set_index("group").loc["control", "exposed"] == 0
    ctl = res.rate("control")
    assert ctl.low <= conv["control"] <= ctl.high
    out = res.to_results()
    assert set(out["lift"]) == {"email", "sms", "push"}
    assert out["lift"]["sms"]["low"] <= out["lift"]["sms"]["value"] <= out["lift"]["sms"]["high"]


# --- the notebook ----------------------------------------------------------------------


@pytest.mark.slow
def test_notebook_runs_on_small_demo(tmp_path, small_demo_config):
    from tests.conftest import run_notebook

    _, out = run_notebook("channel_comparison", tmp_path, small_demo_config)
    res = json.loads((out / "results.json").read_text())
    assert res["compare_by"] == "channel" and res["outcome"] == "conversion"
    assert set(res["groups"]) == {"email", "sms", "push"}
    for g in res["groups"].values():
        assert set(g["rate"]) == {"value", "low", "high", "n"}
        assert 0 <= g["rate"]["low"] <= g["rate"]["value"] <= g["rate"]["high"] <= 1
        assert set(g["revenue_per_unit"]) == {"value", "low", "high", "n"}
    assert 0 <= res["omnibus"]["p_value"] <= 1
    assert len(res["pairwise"]) == 3 and "lift" not in res
    groups = pd.read_csv(out / "groups.csv")
    assert set(groups.group) == set(res["groups"])


@pytest.mark.slow
def test_notebook_experiment_on_small_demo(tmp_path, small_demo_config, small_demo, small_demo_truth):
    from tests.conftest import run_notebook

    campaign = small_demo_truth["experiment"]["campaign_id"]
    _, out = run_notebook("channel_comparison", tmp_path, small_demo_config, compare_by="test_group",
                          control="control", campaign=campaign, costs={"sms": 1000.0})
    res = json.loads((out / "results.json").read_text())
    assert res["control"] == "control" and set(res["lift"]) == {"email", "sms", "push"}
    direct = ch.compare_channels(small_demo["touches"], small_demo["customers"], compare_by="test_group",
                                 control="control", campaign=campaign, period=None)
    lift = direct.lift.set_index("group")
    for g, got in res["lift"].items():
        assert got["value"] == pytest.approx(lift.loc[g, "lift"])
        assert got["low"] <= got["value"] <= got["high"]
        assert set(got["relative"]) == {"value", "low", "high", "n"}
    assert res["groups"]["control"]["units"] == int(direct.groups.set_index("group").loc["control", "units"])
    assert res["groups"]["sms"]["spend"] == 1000.0
    assert len(res["pairwise"]) == 6  # the control is in the family


def _numbers_results_allow(res: dict) -> set[str]:
    """Every way a report writes a number of results.json: rates, money, counts, points; messages per
    customer (per-message units over per-customer units) and ratios of acquisition values."""
    values: list[float] = []

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, int | float) and not isinstance(x, bool):
            values.append(float(x))

    walk({k: v for k, v in res.items() if k not in ("meta", "findings")})
    other = res.get("other_unit", {}).get("groups", {})
    for g, entry in other.items():
        if g in res["groups"] and res["groups"][g]["units"]:
            values.append(entry["units"] / res["groups"][g]["units"])
    acq = [a["revenue_per_customer_year"] for a in res.get("acquisition", {}).values()]
    ratios = {f"{x / y:.1f}×" for x in acq for y in acq if y > 0}
    out = set(ratios)
    for v in values:
        out |= {f"{v * 100:.1f}%", f"{v * 100:.2f}%", f"{v:,.2f}", f"{v:,.0f}", f"{v:.1f}", f"{v * 100:+.1f}"}
    return out


@pytest.mark.slow
def test_report_opens_with_findings_in_plain_words(tmp_path, small_demo_config):
    import re

    from engage_kit.cli import main
    from tests.helpers import plain_words_problems, visible_text

    out = tmp_path / "out"
    assert main(["report", str(small_demo_config), "--out", str(out), "--only", "channel_comparison"]) == 0
    page = (out / "channel_comparison.html").read_text(encoding="utf-8")
    body, appendix = visible_text(page)
    assert plain_words_problems(body) == []
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)
    assert re.sub(r"<[^>]+>|¶", "", headings[0]).strip() == "What we found"
    for word in ("Holm", "Newcombe", "Cramér", "Beta(1, 1)", "chi-square", "p-value", "compare_by", "Outputs"):
        assert word not in body, word
    assert "Holm" in appendix and "Beta(1, 1)" in appendix and "results.json" in appendix
    res = json.loads((out / "channel_comparison" / "results.json").read_text())
    found = res["findings"]
    assert 3 <= len(found) <= 5
    # every number a finding quotes is a figure of results.json (dates: within the data's window)
    allowed = _numbers_results_allow(res)
    start, end = res["meta"]["data_start"][:7], res["meta"]["data_end"][:7]
    for text in found:
        for date in re.findall(r"\b\d{4}-\d{2}\b", text):
            assert start <= date <= end, (date, text)
        rest = re.sub(r"\b\d{4}-\d{2}\b", " ", text)
        for number in re.findall(r"[+−-]?\d[\d,]*(?:\.\d+)?[%×]?", rest):
            assert number.replace("−", "-") in allowed, (number, text)
    # the first finding names the best group per message, with its rate and interval from results.json
    per_message = res["other_unit"]["groups"]
    best = max(per_message, key=lambda g: per_message[g]["rate"]["value"])
    rate = per_message[best]["rate"]
    assert found[0].startswith(f"Use {best} for conversions: {rate['value']:.1%}")
    assert f"between {rate['low']:.1%} and {rate['high']:.1%}" in found[0]
    assert res["findings"][0] in html.unescape(re.sub(r"<[^>]+>", "", page))
    # the written files are the ones listed, and nothing else is claimed
    written = sorted(p.name for p in (out / "channel_comparison").iterdir())
    assert f"next to this report: {', '.join(written)}." in appendix
