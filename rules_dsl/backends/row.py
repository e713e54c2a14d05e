"""Per-row backend: one Python function for a whole rule set, for one case at a time (microseconds).

The function is built as a Python syntax tree (the ``ast`` module) from the checked logic, never from text: rule
values enter it only as constants, so no user text can become code. It reads each feature once, normalises it
(numbers become floats with NaN for missing, so a comparison with a missing number is simply False on both rails),
then tests each rule with short-circuit ``and``/``or``.

    def fired(row):
        get = row.get
        v0 = get('temperature')
        if v0.__class__ is not float: v0 = number_value(v0, 'temperature')
        out = []
        if v0 > 38.0 and v1 > 90.0: out.append('sirs')
        return out
"""
from __future__ import annotations

import ast
import sys
import types
from typing import Callable, Mapping, Sequence

from .. import logic as L
from .values import READERS

_CLASS = {"number": "float", "category": "str", "text": "str", "boolean": "bool"}


class _Builder:
    def __init__(self, rules: Sequence[tuple[str, L.Logic]]):
        self.rules = rules
        self.columns: dict[str, tuple[str, str]] = {}  # column -> (variable, kind)
        self.constants: dict[object, str] = {}            # sets passed in through the function's globals
        self.namespace: dict[str, object] = {"float": float, "str": str, "bool": bool}

    def var(self, test: L.Test) -> ast.Name:
        if test.column not in self.columns:
            self.columns[test.column] = (f"v{len(self.columns)}", test.kind)
        return ast.Name(self.columns[test.column][0], ast.Load())

    def const(self, value) -> ast.expr:
        if isinstance(value, frozenset):
            if value not in self.constants:
                name = f"S{len(self.constants)}"
                self.constants[value] = name
                self.namespace[name] = value
            return ast.Name(self.constants[value], ast.Load())
        return ast.Constant(value)

    # ---- the two rails -------------------------------------------------------------------------------------
    def rail(self, node: L.Logic, want: bool) -> ast.expr:
        """An expression that is True exactly when ``node`` is surely ``want`` (True: T rail, False: F rail)."""
        if isinstance(node, L.Test):
            return self.test(node, want)
        if isinstance(node, L.Not):
            return self.rail(node.item, not want)
        if isinstance(node, L.AtLeast):
            if want:
                parts = [self.rail(i, True) for i in node.items]
                return _compare(_sum(parts), ast.GtE(), ast.Constant(node.count))
            parts = [self.rail(i, False) for i in node.items]  # surely false items
            return _compare(_sum(parts), ast.Gt(), ast.Constant(len(node.items) - node.count))
        conjunction = isinstance(node, L.All) == want  # T(all) and F(any) are "and"s
        parts = [self.rail(i, want) for i in node.items]
        if len(parts) == 1:
            return parts[0]
        return ast.BoolOp(ast.And() if conjunction else ast.Or(), parts)

    def test(self, t: L.Test, want: bool) -> ast.expr:
        x = self.var(t)
        op, v = t.op, t.value
        if t.kind == "number":
            if op in ("missing", "known"):
                nan = _compare(x, ast.NotEq(), x)  # only NaN differs from itself
                return nan if (op == "missing") == want else _compare(x, ast.Eq(), x)
            if op in ("eq", "ne"):
                equal = (op == "eq") == want
                if equal:
                    return _compare(x, ast.Eq(), ast.Constant(v))
                return ast.BoolOp(ast.Or(), [_compare(x, ast.Lt(), ast.Constant(v)),
                                             _compare(x, ast.Gt(), ast.Constant(v))])
            if op in ("in", "not_in"):
                inside = (op == "in") == want
                members = self.const(frozenset(v))
                if inside:
                    return _compare(x, ast.In(), members)
                return ast.BoolOp(ast.And(), [_compare(x, ast.Eq(), x), _compare(x, ast.NotIn(), members)])
            flip = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}
            symbol = {"gt": ast.Gt(), "ge": ast.GtE(), "lt": ast.Lt(), "le": ast.LtE()}
            return _compare(x, symbol[op if want else flip[op]], ast.Constant(v))  # NaN: False both ways
        known = _compare(x, ast.IsNot(), ast.Constant(None))
        if op in ("missing", "known"):
            return known if (op == "known") == want else _compare(x, ast.Is(), ast.Constant(None))
        if t.kind == "boolean":  # op is eq
            return _compare(x, ast.Is(), ast.Constant(v if want else not v))
        if op in ("eq", "ne"):
            if (op == "eq") == want:
                return _compare(x, ast.Eq(), ast.Constant(v))
            return ast.BoolOp(ast.And(), [known, _compare(x, ast.NotEq(), ast.Constant(v))])
        if op in ("in", "not_in"):
            members = self.const(frozenset(v))
            if (op == "in") == want:
                return _compare(x, ast.In(), members)
            return ast.BoolOp(ast.And(), [known, _compare(x, ast.NotIn(), members)])
        # contains / not_contains: letters compared without case
        lowered = ast.Call(ast.Attribute(x, "lower", ast.Load()), [], [])
        found = (op == "contains") == want
        return ast.BoolOp(ast.And(), [known, _compare(ast.Constant(v.lower()), ast.In() if found else ast.NotIn(),
                                                      lowered)])

    # ---- the function --------------------------------------------------------------------------------------
    def function(self) -> Callable[[Mapping], list[str]]:
        checks = []
        for rule_id, logic in self.rules:
            condition = self.rail(logic, True)
            append = ast.Expr(ast.Call(ast.Name("add", ast.Load()), [ast.Constant(rule_id)], []))
            checks.append(ast.If(condition, [append], []))
        body: list[ast.stmt] = [_assign("get", ast.Attribute(ast.Name("row", ast.Load()), "get", ast.Load()))]
        for column, (name, kind) in self.columns.items():
            reader = f"read_{kind}"
            self.namespace[reader] = READERS[kind]
            body.append(_assign(name, ast.Call(ast.Name("get", ast.Load()), [ast.Constant(column)], [])))
            # Normalise only when the value is not already of the expected class: one cheap check per feature.
            wrong_class = _compare(ast.Attribute(ast.Name(name, ast.Load()), "__class__", ast.Load()),
                                   ast.IsNot(), ast.Name(_CLASS[kind], ast.Load()))
            fix = _assign(name, ast.Call(ast.Name(reader, ast.Load()),
                                         [ast.Name(name, ast.Load()), ast.Constant(column)], []))
            body.append(ast.If(wrong_class, [fix], []))
        body.append(_assign("out", ast.List([], ast.Load())))
        body.append(_assign("add", ast.Attribute(ast.Name("out", ast.Load()), "append", ast.Load())))
        body.extend(checks)
        body.append(ast.Return(ast.Name("out", ast.Load())))
        args = ast.arguments(posonlyargs=[], args=[ast.arg("row")], kwonlyargs=[], kw_defaults=[], defaults=[])
        definition = ast.FunctionDef("fired_rules", args, body, [], None)
        if sys.version_info >= (3, 12):
            definition.type_params = []
        module = ast.fix_missing_locations(ast.Module([definition], type_ignores=[]))
        code = compile(module, "<rulecraft rules>", "exec")
        function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        return types.FunctionType(function_code, self.namespace, "fired_rules")


def _compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.Compare:
    return ast.Compare(left, [op], [right])


def _sum(parts: list[ast.expr]) -> ast.expr:
    total = parts[0]
    for part in parts[1:]:
        total = ast.BinOp(total, ast.Add(), part)
    return total if len(parts) > 1 else ast.BinOp(total, ast.Add(), ast.Constant(0))


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def compile_rules(rules: Sequence[tuple[str, L.Logic]]) -> Callable[[Mapping], list[str]]:
    """A function from a mapping (column -> value) to the ids of the rules that fire, in the given order."""
    return _Builder(rules).function()
