"""Config: defaults, value checks, unknown keys with suggestions."""

from __future__ import annotations

import datetime as dt

import pytest

from engage_kit.config import load_config, parse_config
from engage_kit.errors import ConfigError


def test_defaults_and_relative_paths(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tables:\n  transactions: raw/tx.csv\n")
    c = load_config(cfg)
    assert c.period == "M" and c.timezone == "UTC" and c.currency == "EUR" and c.as_of is None
    assert c.engine.kind == "duckdb"
    assert c.tables["transactions"].path == tmp_path / "raw" / "tx.csv"


def test_values_are_checked():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"period": "Y", "timezone": "Mars/Base", "as_of": "31.12.2024", "tables": {"transactions": {"path": "x"}}}
        )
    msg = str(err.value)
    assert "period" in msg and "timezone" in msg and "as_of" in msg


def test_unknown_keys_come_first_and_all_at_once():
    with pytest.raises(ConfigError) as err:
        parse_config({"titel": 1, "period": "Y", "engine": {"knd": "duckdb"}, "notebooks": {"clv": {}}, "tables": {}})
    msg = str(err.value)
    assert "'titel'" in msg and "'engine.knd'" in msg and "'notebooks.clv'" in msg
    assert "did you mean 'kind'" in msg and "did you mean 'clv_bgnbd'" in msg
    assert "period" not in msg.split("unknown key")[0] or "is not one of" not in msg  # values not checked yet


def test_as_of_date_and_notebook_overrides():
    c = parse_config(
        {"as_of": dt.date(2024, 6, 30), "tables": {"transactions": {"path": "x"}}, "notebooks": {"clv_bgnbd": {"horizon": 26}}}
    )
    assert c.as_of == dt.date(2024, 6, 30)
    assert c.notebooks == {"clv_bgnbd": {"horizon": 26}}


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_active_days_is_one_top_level_setting():
    c = parse_config({"active_days": 90, "tables": {"transactions": {"path": "x"}}})
    assert c.active_days == 90
    assert parse_config(c.to_dict()).active_days == 90  # read back (report snapshots)
    assert parse_config({"tables": {"transactions": {"path": "x"}}}).active_days is None  # from the data
    assert "active_days" not in parse_config({"tables": {"transactions": {"path": "x"}}}).to_dict()
    for bad in (0, -30, 1.5, "ninety", True):
        with pytest.raises(ConfigError, match="active_days: .* whole number of days"):
            parse_config({"active_days": bad, "tables": {"transactions": {"path": "x"}}})
    with pytest.raises(ConfigError, match="unknown key 'active_day'.*did you mean 'active_days'"):
        parse_config({"active_day": 90, "tables": {"transactions": {"path": "x"}}})


def test_benchmarks_default_change_remove_and_read_back(tmp_path):
    from engage_kit.config import write_config

    tx = {"transactions": {"path": "x"}}
    assert parse_config({"tables": tx}).benchmarks == {"customer_retention_rate": 0.85}  # the default target
    assert "benchmarks" not in parse_config({"tables": tx}).to_dict()
    c = parse_config({"benchmarks": {"customer_retention_rate": 0.9}, "tables": tx})
    assert c.benchmarks == {"customer_retention_rate": 0.9}
    assert parse_config(c.to_dict()).benchmarks == {"customer_retention_rate": 0.9}
    for off in ({"customer_retention_rate": None}, None):  # null: no target line
        c = parse_config({"benchmarks": off, "tables": tx})
        assert c.benchmarks == {}
        assert c.to_dict()["benchmarks"] == {"customer_retention_rate": None}
        assert load_config(write_config(c, tmp_path / "c.yaml")).benchmarks == {}  # round trip through YAML
    assert parse_config({"benchmarks": {}, "tables": tx}).benchmarks == {"customer_retention_rate": 0.85}


def test_benchmark_values_and_names_are_checked():
    tx = {"transactions": {"path": "x"}}
    for bad in (1.5, -0.1, 85, "85%", True):
        with pytest.raises(ConfigError, match=r"benchmarks.customer_retention_rate: .* not a share between 0 and 1; "
                                              r"write 0.85 for 85%"):
            parse_config({"benchmarks": {"customer_retention_rate": bad}, "tables": tx})
    with pytest.raises(ConfigError, match="unknown key 'benchmarks.customer_retention'.*did you mean "
                                          "'customer_retention_rate'"):
        parse_config({"benchmarks": {"customer_retention": 0.8}, "tables": tx})
    with pytest.raises(ConfigError, match="benchmarks: expected a mapping"):
        parse_config({"benchmarks": 0.85, "tables": tx})
