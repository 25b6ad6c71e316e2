"""Credentials never leave the config: not in messages, logs, notebooks, results or HTML."""

from __future__ import annotations

from pathlib import Path

import pytest

import engage_kit as ek
from engage_kit.cli import main
from engage_kit.config import safe_url, url_credentials

from .test_loaders import pg  # noqa: F401 - the PostgreSQL server fixture


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db?password=s3cr3t", "postgresql://u@h/db?password=***"),
        ("postgresql://u:p%40ss@h:5432/db?sslmode=require&token=abc", "postgresql://u@h:5432/db?sslmode=require&token=***"),
        ("postgresql://h/db?PASSWORD=x&application_name=ek", "postgresql://h/db?PASSWORD=***&application_name=ek"),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_safe_url_strips_every_credential(url, shown):
    assert safe_url(url) == shown


def test_percent_encoded_and_query_passwords_are_decoded_for_use():
    assert url_credentials("postgresql://an%20alyst:p%40ss%3Aw%2Frd@h/db") == ("an alyst", "p@ss:w/rd")
    assert url_credentials("postgresql://u@h/db?password=q%26s") == ("u", "q&s")
    assert url_credentials("postgresql://h/db") == (None, None)


def test_password_in_the_query_string_is_not_printed(tmp_path, capsys):
    cfg = tmp_path / "down.yaml"
    cfg.write_text(
        "tables:\n  transactions:\n"
        "    connection: postgresql://ek@127.0.0.1:1/nodb?password=query-secret-42\n    table: orders\n"
    )
    assert main(["validate", str(cfg)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "cannot connect" in text and "password=***" in text
    assert "query-secret-42" not in text and "Traceback" not in text


ENCODED_PASSWORD = "p@ss:w/rd%"


def _grant_encoded_role(server) -> None:
    import psycopg

    with psycopg.connect(server.url(), password=server.password, autocommit=True) as c:
        c.execute(f"CREATE ROLE enc LOGIN PASSWORD '{ENCODED_PASSWORD}'")
        c.execute("GRANT SELECT ON orders TO enc")


def test_percent_encoded_password_connects_and_is_never_shown(pg, tmp_path, capsys):  # noqa: F811
    _grant_encoded_role(pg)
    host = pg.url().split("@", 1)[1]
    good = tmp_path / "good.yaml"
    good.write_text(
        "tables:\n  transactions:\n"
        f"    connection: postgresql://enc:p%40ss%3Aw%2Frd%25@{host}\n    table: orders\n    columns: {{timestamp: ts}}\n"
    )
    ds = ek.open_dataset(good)
    assert ds.reports["transactions"].rows > 0
    assert "p%40ss" not in ds.reports["transactions"].source and ENCODED_PASSWORD not in ds.reports["transactions"].source
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("p%40ss%3Aw%2Frd%25", "p%40ss%3Awrong"))
    assert main(["validate", str(bad)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "cannot connect" in text
    for secret in ("p%40ss", "p@ss", "wrong"):
        assert secret not in text


@pytest.mark.slow
def test_no_credential_in_any_output_of_a_run(pg, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ENGAGE_KIT_NOTEBOOKS", str(Path(__file__).parent / "fixtures" / "notebooks"))
    host = pg.url().split("@", 1)[1]
    cfg = tmp_path / "pg.yaml"
    cfg.write_text(
        "tables:\n  transactions:\n"
        f"    connection: postgresql://ek:{pg.password}@{host}?password={pg.password}\n"
        "    table: orders\n    columns: {timestamp: ts}\n"
    )
    out = tmp_path / "out"
    assert main(["report", str(cfg), "--out", str(out), "--only", "ok_report"]) == 0
    logs = capsys.readouterr()
    assert pg.password not in logs.out + logs.err
    for f in out.rglob("*"):
        if f.is_file():
            assert pg.password not in f.read_text(errors="replace"), f
