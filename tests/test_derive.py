"""Derived columns: the expression parser, its messages and its engine expressions."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from engage_kit import derive
from engage_kit.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quantity * UnitPrice", derive.BinOp("*", derive.Col("Quantity"), derive.Col("UnitPrice"))),
        ('"Unit Price" * 2', derive.BinOp("*", derive.Col("Unit Price"), derive.Num(2.0))),
        ("-a + b * c", derive.BinOp("+", derive.Neg(derive.Col("a")), derive.BinOp("*", derive.Col("b"), derive.Col("c")))),
        ("(a + b) * c", derive.BinOp("*", derive.BinOp("+", derive.Col("a"), derive.Col("b")), derive.Col("c"))),
        ("a - b - c", derive.BinOp("-", derive.BinOp("-", derive.Col("a"), derive.Col("b")), derive.Col("c"))),
        ('"say ""hi""" / 1.5e2', derive.BinOp("/", derive.Col('say "hi"'), derive.Num(150.0))),
        ("price.net * 1.19", derive.BinOp("*", derive.Col("price.net"), derive.Num(1.19))),
    ],
)
def test_parse(text, expected):
    assert derive.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "words", "position"),
    [
        ("Quantity *", "ends where a number or column is expected", 10),
        ("Quantity ** 2", "'*' where a number or column is expected", 10),
        ("(a + b", "parenthesis is not closed", 6),
        ("a + b)", "closing parenthesis without an opening one", 5),
        ("a b", "'b' after a complete expression", 2),
        ("a; drop table x", "unexpected character ';'", 1),
        ('"Unit Price * 2', "quoted column name is not closed", 0),
        ("__import__('os')", "unexpected character \"'\"", 11),
        ("", "empty", 0),
    ],
)
def test_syntax_errors_name_the_position(text, words, position):
    with pytest.raises(derive.DeriveSyntaxError) as e:
        derive.parse(text)
    assert words in str(e.value) and e.value.position == position


def test_check_names_the_table_the_expression_and_the_closest_column():
    with pytest.raises(ConfigError) as e:
        derive.check("Quantity * UnitPrize", ["InvoiceNo", "Quantity", "UnitPrice", "Country"],
                     where="tables.transactions.derive.amount")
    msg = str(e.value)
    assert "tables.transactions.derive.amount" in msg and "'UnitPrize' (did you mean 'UnitPrice'?)" in msg
    with pytest.raises(ConfigError) as e:
        derive.check("Qty *", ["Qty"], where="tables.transactions.derive.amount")
    assert "at character 6" in str(e.value) and "^" in str(e.value)


def test_engine_values_equal_pandas():
    df = pd.DataFrame({"Quantity": [2.0, -1.0, 3.0, None], "Unit Price": [1.5, 4.0, 0.0, 2.0]})
    t = ibis.memtable(df)
    node = derive.parse('-(Quantity * "Unit Price") + 10 / "Unit Price"')
    got = t.select(v=derive.to_ibis(node, lambda c: t[c].cast("float64"))).execute()["v"]
    expected = -(df["Quantity"] * df["Unit Price"]) + 10 / df["Unit Price"].where(df["Unit Price"] != 0)
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_looks_like_expression():
    assert derive.looks_like_expression("Quantity * UnitPrice")
    assert not derive.looks_like_expression("UnitPrice")
    assert not derive.looks_like_expression("Unit Price")
