"""Built-in datasets: CDNOW from the lifetimes wheel, the seeded demo generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import engage_kit as ek
from engage_kit.datasets import generate_demo, load_cdnow, write_demo
from engage_kit.schema import TABLES


def test_cdnow_sample_and_master_sizes():
    sample = load_cdnow(sample=True)
    assert len(sample) == 6919 and sample.customer_id.nunique() == 2357
    master = load_cdnow(sample=False)
    assert len(master) == 69659 and master.customer_id.nunique() == 23570
    assert sample.timestamp.min() == pd.Timestamp("1997-01-01")
    assert (sample.amount == 0).sum() == 8  # the published fit counts these as purchases


def test_cdnow_loads_without_pkg_resources(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def guarded(name, *args, **kwargs):
        if name == "pkg_resources":
            raise ImportError("pkg_resources is not available")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)
    assert len(load_cdnow(sample=True)) == 6919


def test_builtin_cdnow_sample_config_loads():
    ds = ek.open_dataset("cdnow-sample")
    assert ds.reports["transactions"].customers == 2357
    assert ds.reports["transactions"].rows == 6919
    assert ds.as_of == pd.Timestamp("1998-06-30")
    assert ds.config.notebooks["clv_bgnbd"]["calibration_end"] == "1997-09-30"


def test_demo_is_deterministic_and_complete():
    a = generate_demo(500, seed=3)
    b = generate_demo(500, seed=3)
    c = generate_demo(500, seed=4)
    for name, df in a.tables.items():
        pd.testing.assert_frame_equal(df, b.tables[name])
        assert set(TABLES[name].required) <= set(df.columns), name
    assert not a.tables["transactions"].equals(c.tables["transactions"])
    assert a.truth == b.truth


def test_demo_truth_is_sane():
    demo = generate_demo(20_000, seed=11)
    truth, ct = demo.truth, demo.customers_truth
    bg = truth["bgnbd"]
    # the drawn per-customer parameters follow the stated population distributions
    assert ct.lam_per_week.mean() == pytest.approx(bg["r"] / bg["alpha"], rel=0.05)
    assert ct.p_drop.mean() == pytest.approx(bg["a"] / (bg["a"] + bg["b"]), rel=0.05)
    gg = truth["gamma_gamma"]
    tx = demo.tables["transactions"]
    orders = tx[tx.amount > 0].groupby("order_id").amount.sum()
    assert orders.mean() == pytest.approx(gg["p"] * gg["gamma"] / (gg["q"] - 1), rel=0.1)
    # every customer buys first at acquisition; no purchase is outside the window
    assert tx.customer_id.nunique() == 20_000
    assert tx.timestamp.min() >= pd.Timestamp(truth["start"])
    assert tx.timestamp.max() < pd.Timestamp(truth["end"]) + pd.Timedelta(days=1)
    # channels respond at different, known rates
    t = demo.tables["touches"]
    email = t[t.channel == "email"]
    delivered = (email.event == "delivered").sum()
    opens = (email.event == "open").sum()
    assert opens / delivered == pytest.approx(truth["channels"]["email"]["open"], abs=0.01)
    # survey answers are lower for customers about to drop out: NPS answers exist on 0-10
    s = demo.tables["surveys"]
    assert s[s.kind == "nps"].score.between(0, 10).all()
    assert s[s.kind == "csat"].score.between(1, 5).all()
    tk = demo.tables["tickets"]
    fcr = (tk.contacts == 1).mean()
    assert fcr == pytest.approx(truth["service"]["first_contact_resolution"], abs=0.03)
    assert np.isfinite(tk.handle_seconds).all()


def test_demo_data_round_trip_through_cli(tmp_path, capsys):
    from engage_kit.cli import main

    assert main(["demo-data", str(tmp_path / "d"), "--customers", "300", "--seed", "5"]) == 0
    cfg = tmp_path / "d" / "config.yaml"
    assert cfg.exists() and (tmp_path / "d" / "truth.json").exists()
    capsys.readouterr()
    assert main(["validate", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "usable" in out and "transactions" in out and "web_sessions" in out
    # CSV output validates too
    path = write_demo(tmp_path / "csv", 200, seed=5, fmt="csv")
    ds = ek.open_dataset(path)
    assert ds.reports["customers"].rows == 200


def test_messages_name_a_built_in_dataset_not_its_cache_folder():
    cfg = ek.resolve_config("cdnow-sample")
    assert {t.source for t in cfg.tables.values()} == {"built-in dataset cdnow-sample"}
    assert all(t.path is not None and t.path.exists() for t in cfg.tables.values())  # still read from the cache
