"""Derived columns: ``derive: {amount: "Quantity * UnitPrice"}`` (DESIGN.md, Config contract).

An expression is arithmetic over a table's source columns: numbers, ``+ - * /``, unary
minus and parentheses; a column name with spaces or other characters is written in
double quotes (``"Unit Price"``, ``"a ""quoted"" name"``). ``coalesce(a, b, ...)`` is
the first of its arguments that is not blank: ``coalesce("Discount Amount", 0)`` reads a
column that only an order's first line fills as 0 on the other lines. The kit parses it itself (no
SQL text, no ``eval``) into a small tree that :func:`to_ibis` turns into an engine
expression, so it runs on DuckDB and Spark alike.

Grammar::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := ("-" | "+") factor | NUMBER | NAME | QUOTED | "(" expr ")"
            | "coalesce" "(" expr ("," expr)* ")"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, closest

OPERATORS = "+-*/"
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Num | Col | Neg | BinOp | Call
FUNCTIONS = ("coalesce",)


class DeriveSyntaxError(ConfigError):
    """An expression that is not arithmetic over columns; ``position`` is 0-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    """(kind, value, position) tokens: num, col, op, (, ), end."""
    out: list[tuple[str, Any, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in OPERATORS or ch in "(),":
            out.append(("op" if ch in OPERATORS else ch, ch, i))
            i += 1
            continue
        if ch == '"':
            j = i + 1
            name = []
            while True:
                if j >= len(text):
                    raise DeriveSyntaxError("a quoted column name is not closed", i)
                if text[j] == '"':
                    if j + 1 < len(text) and text[j + 1] == '"':  # "" inside quotes is one "
                        name.append('"')
                        j += 2
                        continue
                    break
                name.append(text[j])
                j += 1
            if not name:
                raise DeriveSyntaxError("an empty quoted column name", i)
            out.append(("col", "".join(name), i))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and not (m.end() < len(text) and (text[m.end()].isalpha() or text[m.end()] == "_")):
            out.append(("num", float(m.group()), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(("col", m.group(), i))
            i = m.end()
            continue
        raise DeriveSyntaxError(
            f"unexpected character {ch!r}; only numbers, column names, + - * /, parentheses and coalesce(...) are allowed "
            '(write a column name with spaces or other characters in double quotes, e.g. "Unit Price")',
            i,
        )
    out.append(("end", None, len(text)))
    return out


def parse(text: str) -> Node:
    """Parse an expression into a tree; :class:`DeriveSyntaxError` with the position on failure."""
    if not isinstance(text, str) or not text.strip():
        raise DeriveSyntaxError("the expression is empty", 0)
    toks = _tokens(text)
    pos = 0

    def peek() -> tuple[str, Any, int]:
        return toks[pos]

    def take() -> tuple[str, Any, int]:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        return tok

    def expr() -> Node:
        node = term()
        while peek()[0] == "op" and peek()[1] in "+-":
            op = take()[1]
            node = BinOp(op, node, term())
        return node

    def term() -> Node:
        node = factor()
        while peek()[0] == "op" and peek()[1] in "*/":
            op = take()[1]
            node = BinOp(op, node, factor())
        return node

    def factor() -> Node:
        kind, value, at = take()
        if kind == "op" and value in "+-":
            inner = factor()
            return Neg(inner) if value == "-" else inner
        if kind == "num":
            return Num(value)
        if kind == "col" and peek()[0] == "(" and toks[pos - 1][1] in FUNCTIONS and text[at] != '"':
            take()
            args = [expr()]
            while peek()[0] == ",":
                take()
                args.append(expr())
            if peek()[0] != ")":
                raise DeriveSyntaxError(f"{value}( is not closed", peek()[2])
            take()
            return Call(value, tuple(args))
        if kind == "col":
            return Col(value)
        if kind == "(":
            node = expr()
            if peek()[0] != ")":
                raise DeriveSyntaxError("a parenthesis is not closed", peek()[2])
            take()
            return node
        if kind == "end":
            raise DeriveSyntaxError("the expression ends where a number or column is expected", at)
        raise DeriveSyntaxError(f"{value!r} where a number or column is expected", at)

    node = expr()
    kind, value, at = peek()
    if kind != "end":
        what = "a closing parenthesis without an opening one" if kind == ")" else f"{value!r} after a complete expression"
        raise DeriveSyntaxError(f"{what} (a missing operator?)", at)
    return node


def columns(node: Node) -> list[str]:
    """The column names an expression uses, in order of first use."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Col):
            seen.setdefault(n.name, None)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, BinOp):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)

    walk(node)
    return list(seen)


def to_ibis(node: Node, column: Callable[[str], Any]) -> Any:
    """The engine expression of ``node``; ``column(name)`` gives a source column as float64.

    Division by zero gives NULL (not an error or infinity), on every engine.
    """
    import ibis

    if isinstance(node, Num):
        return ibis.literal(node.value, type="float64")
    if isinstance(node, Col):
        return column(node.name)
    if isinstance(node, Neg):
        return -to_ibis(node.operand, column)
    if isinstance(node, Call):  # coalesce: the only function
        return ibis.coalesce(*[to_ibis(a, column) for a in node.args])
    left, right = to_ibis(node.left, column), to_ibis(node.right, column)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return left / right.nullif(0)


def check(text: str, available: Iterable[str], *, where: str) -> Node:
    """Parse ``text`` and check its columns against ``available``; a :class:`ConfigError` naming
    ``where`` (e.g. ``tables.transactions.derive.amount``) on failure."""
    try:
        node = parse(text)
    except DeriveSyntaxError as e:
        pointer = f'\n      "{text}"\n       ' + " " * e.position + "^"
        raise ConfigError(f"{where}: '{text}' is not an arithmetic expression: {e} (at character {e.position + 1}){pointer}") from None
    names = list(available)
    missing = [c for c in columns(node) if c not in names]
    if missing:
        parts = []
        for c in missing:
            near = closest(c, names)
            parts.append(f"'{c}'" + (f" (did you mean '{near}'?)" if near else ""))
        raise ConfigError(
            f"{where}: '{text}' uses column(s) the source does not have: {', '.join(parts)}; "
            f"its columns are: {', '.join(names)}"
        )
    return node


def looks_like_expression(value: str) -> bool:
    """True when a ``columns:`` value reads as arithmetic rather than a column name."""
    try:
        node = parse(value)
    except DeriveSyntaxError:
        return False
    return isinstance(node, (BinOp, Neg, Call))
