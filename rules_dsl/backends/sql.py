"""SQL backend: each rule as a SQLAlchemy Core boolean expression, evaluated where the data lives.

Expressions are built on the same two rails as the other backends, so each one is plainly true or false, never
NULL: ``select(table).where(expr)`` selects the rows where the rule fires and ``case((expr, 1), else_=0)`` makes
its 0/1 feature column. Missing values must be SQL NULL (floating-point NaN is not missing to most databases).
Text "contains" compares lower-cased text; SQLite's lower() folds only the letters A-Z.

Category values are matched as everywhere else (values.category_key: NFC, surrounding spaces trimmed, case
folded), as nearly as SQL allows: the column's value is trimmed and lower-cased in the database
(``lower(trim(x, <spaces>))``; on PostgreSQL also ``normalize(..., NFC)``, PostgreSQL 13+) and compared with every
spelling of each allowed value that such a value can take. SQLite's lower() folds only A-Z, so the spellings
include the upper and lower case of each other letter (up to 64 spellings per value: "écho" also as "Écho",
"ÉCHO" lower-cased by SQLite). What SQL cannot do: Unicode normalisation outside PostgreSQL (data in SQLite and
other databases must be NFC, as text from keyboards and most files is), and case folds that change a letter's
count (German ß and "ss" match in SQL only when the data is spelt as the allowed value or lower-cased by the
database). Infinite numbers cannot be refused inside an SQL expression: run RuleSet.data_report first.
This is the only module of rules_dsl that imports SQLAlchemy.
"""
from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence

from sqlalchemy import String, and_, case, false, func, literal, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from .. import logic as L
from ..errors import DataError
from .values import SPACES, category_key

MAX_SPELLINGS = 64


class category_key_sql(FunctionElement):  # noqa: N801 (named like the SQL function it stands for)
    """A category column's value as it is compared: trimmed and lower-cased by the database (see the module)."""

    type = String()
    name = "category_key"
    inherit_cache = True


@compiles(category_key_sql)
def _category_key_default(element, compiler, **kw):
    return f"lower(trim({compiler.process(element.clauses, **kw)}))"


@compiles(category_key_sql, "sqlite")
def _category_key_sqlite(element, compiler, **kw):
    spaces = compiler.process(literal(SPACES), **kw)
    return f"lower(trim({compiler.process(element.clauses, **kw)}, {spaces}))"


@compiles(category_key_sql, "postgresql")
def _category_key_postgresql(element, compiler, **kw):
    spaces = compiler.process(literal(SPACES), **kw)
    inner = f"normalize(btrim({compiler.process(element.clauses, **kw)}, {spaces}), NFD)"
    return f"normalize(lower({inner}), NFC)"


def sql_spellings(value: str) -> list[str]:
    """The texts a database's lower(trim(...)) can make of a data value that matches ``value``, sorted."""
    forms = {category_key(value), unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).lower()).strip()}
    spellings: set[str] = set()
    for form in forms:
        choices = [(c, c.upper()) if not c.isascii() and len(c.upper()) == 1 and c.upper() != c else (c,)
                   for c in form]
        variants = itertools.islice(itertools.product(*choices), MAX_SPELLINGS)
        spellings.update("".join(v) for v in variants)
    return sorted(spellings)


def _count(parts: list[ColumnElement]) -> ColumnElement:
    total = None
    for part in parts:
        one = case((part, 1), else_=0)
        total = one if total is None else total + one
    return total


class _Builder:
    def __init__(self, table):
        self.table = table

    def column(self, name: str):
        return self.table.c[name]

    def rail(self, node: L.Logic, want: bool) -> ColumnElement:
        if isinstance(node, L.Test):
            return self.test(node, want)
        if isinstance(node, L.Not):
            return self.rail(node.item, not want)
        if isinstance(node, L.AtLeast):
            if want:
                return _count([self.rail(i, True) for i in node.items]) >= node.count
            return _count([self.rail(i, False) for i in node.items]) > len(node.items) - node.count
        parts = [self.rail(i, want) for i in node.items]
        if len(parts) == 1:
            return parts[0]
        return (and_ if isinstance(node, L.All) == want else or_)(*parts)

    def test(self, t: L.Test, want: bool) -> ColumnElement:
        x = self.column(t.column)
        op, v = t.op, t.value
        known = x.is_not(None)
        if op in ("missing", "known"):
            return known if (op == "known") == want else x.is_(None)
        if t.kind == "boolean":
            return and_(known, x == (true() if v == want else false()))
        if op in ("contains", "not_contains"):
            found = func.lower(x).contains(v.lower(), autoescape=True)
            return and_(known, found if (op == "contains") == want else ~found)
        if t.kind == "category" and op in ("eq", "ne", "in", "not_in"):
            spellings = sorted({s for item in (v if isinstance(v, tuple) else (v,)) for s in sql_spellings(item)})
            key = category_key_sql(x)
            inside = key.in_([literal(s) for s in spellings])
            positive = op in ("eq", "in")
            return and_(known, inside if positive == want else key.not_in([literal(s) for s in spellings]))
        if op in ("in", "not_in"):
            inside = x.in_([literal(item) for item in v])
            return and_(known, inside if (op == "in") == want else x.not_in([literal(item) for item in v]))
        if op in ("eq", "ne"):
            return and_(known, x == literal(v) if (op == "eq") == want else x != literal(v))
        compare = {"gt": x > literal(v), "ge": x >= literal(v), "lt": x < literal(v), "le": x <= literal(v)}
        flip = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}
        return and_(known, compare[op if want else flip[op]])


def rule_conditions(rules: Sequence[tuple[str, L.Logic]], table) -> dict[str, ColumnElement]:
    """{rule id: boolean expression over ``table``'s columns}; raises DataError naming absent columns."""
    present = {c.name for c in table.c}
    missing: dict[str, list[str]] = {}
    for rule_id, logic in rules:
        for t in L.tests(logic):
            if t.column not in present:
                missing.setdefault(t.column, []).append(rule_id)
    if missing:
        names = ", ".join(f"'{c}' (needed by {', '.join(sorted(set(ids)))})" for c, ids in missing.items())
        raise DataError(f"The table has no column {names}.", column=next(iter(missing)))
    builder = _Builder(table)
    return {rule_id: builder.rail(logic, True) for rule_id, logic in rules}
