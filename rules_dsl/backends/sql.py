"""SQL backend: each rule as a SQLAlchemy Core boolean expression, evaluated where the data lives.

Expressions are built on the same two rails as the other backends, so each one is plainly true or false, never
NULL: ``select(table).where(expr)`` selects the rows where the rule fires and ``case((expr, 1), else_=0)`` makes
its 0/1 feature column. Missing values must be SQL NULL (floating-point NaN is not missing to most databases).
Text "contains" compares lower-cased text; SQLite's lower() folds only the letters A-Z.
This is the only module of rules_dsl that imports SQLAlchemy.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, false, func, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .. import logic as L
from ..errors import DataError


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
