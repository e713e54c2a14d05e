"""Per-row backend: one Python function for a whole rule set, for one case at a time (microseconds).

The function is built as a Python syntax tree (the ``ast`` module) from the checked logic, never from text: rule
values enter it only as constants, so no user text can become code. It reads each feature once, normalises it
(numbers become floats with NaN for missing, so a comparison with a missing number is simply False on both rails),
then tests each rule with short-circuit ``and``/``or``, the parts of each ordered by how likely they are to
decide it (a guess from the vocabulary: selectivity.py).

    def fired_rules(row):
        if row.__class__ is dict:
            try:
                v0 = row['temperature']; v1 = row['hr']; v2 = row['location']
            except KeyError:
                row = by_column(row)     # feature names and synonyms as keys, as the server reads a case
                v0 = row.get('temperature'); v1 = row.get('hr'); v2 = row.get('location')
        else:
            row = by_column(row)
            v0 = row.get('temperature'); ...
        if type(v0) is not float or v0 in INFINITE: v0 = read_number(v0, 'temperature')   # refuses +-inf
        if type(v2) is not str or v2 not in KEYS_2: v2 = read_category(v2, 'location')    # NFC, trimmed, folded
        ...
        out = []
        if v0 > 38.0 and v1 > 90.0: out.append('sirs')
        if v2 in {'margin', 'border'}: out.append('site')     # a frozenset constant of category keys
        return out

A category value spelt exactly as an allowed value's key (the common case) skips normalising: KEYS_n holds the
keys of the values the rules test, each its own key.
"""
from __future__ import annotations

import ast
import math
import sys
import types
from collections.abc import Callable, Mapping, Sequence

from .. import logic as L
from ..gc_pause import collector_paused
from .selectivity import likelihood
from .values import READERS, category_key, category_value, is_key

_CLASS = {"number": "float", "category": "str", "text": "str", "boolean": "bool"}


class _Builder:
    def __init__(self, rules: Sequence[tuple[str, L.Logic]], vocabulary=None):
        self.rules = rules
        self.vocabulary = vocabulary
        self.estimate = likelihood(vocabulary) if vocabulary is not None else None
        self.columns: dict[str, tuple[str, str]] = {}  # column -> (variable, kind)
        self.keys: dict[str, set[str]] = {}  # category column -> keys of the values its tests name
        self.namespace: dict[str, object] = {"float": float, "str": str, "bool": bool, "type": type, "dict": dict,
                                             "KeyError": KeyError, "INFINITE": frozenset((math.inf, -math.inf))}

    def var(self, test: L.Test) -> ast.Name:
        if test.column not in self.columns:
            self.columns[test.column] = (f"v{len(self.columns)}", test.kind)
        return ast.Name(self.columns[test.column][0], ast.Load())

    def const(self, value) -> ast.expr:
        # A frozenset is a constant of the code object (what Python makes of ``x in {"a", "b"}``), loaded without
        # a name lookup.
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
        items = node.items
        if self.estimate is not None and len(items) > 1:
            # the part most likely to decide first: in an "and" the one most likely not to hold, in an "or" the one
            # most likely to hold (selectivity.py; the order changes the work skipped, never the answer)
            def holds(item):
                p = self.estimate(item)
                return p if want else 1 - p
            items = sorted(items, key=holds, reverse=not conjunction)
        parts = [self.rail(i, want) for i in items]
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
        if t.kind == "category":  # the variable holds the data value's key: compare with the allowed values' keys
            v = frozenset(category_key(item) for item in v) if isinstance(v, tuple) else category_key(v)
            self.keys.setdefault(t.column, set()).update(v if isinstance(v, frozenset) else (v,))
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
            append = ast.Expr(ast.Call(ast.Attribute(ast.Name("out", ast.Load()), "append", ast.Load()),
                                       [ast.Constant(rule_id)], []))
            checks.append(ast.If(condition, [append], []))
        row = ast.Name("row", ast.Load())

        def reads(by_key: bool) -> list[ast.stmt]:
            """Every feature read once: ``row[column]`` (a plain dict) or ``row.get(column)`` (absent = missing),
            the latter after re-keying the case by data column when there is a vocabulary (names as keys)."""
            out = []
            if not by_key and self.vocabulary is not None:
                out.append(_assign("row", ast.Call(ast.Name("by_column", ast.Load()), [row], [])))
            for column, (name, _) in self.columns.items():
                if by_key:
                    value = ast.Subscript(row, ast.Constant(column), ast.Load())
                else:
                    value = ast.Call(ast.Attribute(row, "get", ast.Load()), [ast.Constant(column)], [])
                out.append(_assign(name, value))
            return out

        # A plain dict (what JSON gives) is read by subscripts, the cheapest read there is; a key that is absent
        # falls back to .get for every feature. Other mappings always use .get: a defaultdict or a Counter would
        # invent a value for an absent key.
        is_dict = _compare(ast.Attribute(row, "__class__", ast.Load()), ast.Is(), ast.Name("dict", ast.Load()))
        key_error = ast.ExceptHandler(ast.Name("KeyError", ast.Load()), None, reads(False))
        # No feature to read (no rule in use): nothing to read, and a try with an empty body would not compile.
        body: list[ast.stmt] = ([ast.If(is_dict, [ast.Try(reads(True), [key_error], [], [])], reads(False))]
                                if self.columns else [])
        if self.vocabulary is not None:
            vocabulary, memo = self.vocabulary, {}
            self.namespace["by_column"] = lambda case: vocabulary.case_by_column(case, memo)[0]
        for column, (name, kind) in self.columns.items():
            reader = f"read_{kind}"
            self.namespace[reader] = category_value if kind == "category" else READERS[kind]
            # Normalise only when the value is not already of the expected class: one cheap check per feature.
            variable = ast.Name(name, ast.Load())
            wrong = _compare(ast.Call(ast.Name("type", ast.Load()), [variable], []),
                             ast.IsNot(), ast.Name(_CLASS[kind], ast.Load()))
            if kind == "number":  # a float, but infinite: refused
                wrong = ast.BoolOp(ast.Or(), [wrong, _compare(variable, ast.In(), ast.Name("INFINITE", ast.Load()))])
            elif kind == "category":  # text, but not spelt as a key the rules test: normalised
                keys = frozenset(k for k in self.keys.get(column, ()) if is_key(k))
                wrong = ast.BoolOp(ast.Or(), [wrong, _compare(variable, ast.NotIn(), ast.Constant(keys))])
            fix = _assign(name, ast.Call(ast.Name(reader, ast.Load()), [variable, ast.Constant(column)], []))
            body.append(ast.If(wrong, [fix], []))
        body.append(_assign("out", ast.List([], ast.Load())))
        body.extend(checks)
        body.append(ast.Return(ast.Name("out", ast.Load())))
        args = ast.arguments(posonlyargs=[], args=[ast.arg("row")], kwonlyargs=[], kw_defaults=[], defaults=[])
        definition = ast.FunctionDef("fired_rules", args, body, [], None)
        if sys.version_info >= (3, 12):
            definition.type_params = []
        module = _locate(ast.Module([definition], type_ignores=[]))
        code = compile(module, "<rulecraft rules>", "exec")
        function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        return types.FunctionType(function_code, self.namespace, "fired_rules")


def _locate(tree: ast.AST) -> ast.AST:
    """Give every node line 1, column 0 (compile() insists on locations; the function has no source text).

    ast.fix_missing_locations does the same recursively, and took 60% of compiling 1,000 rules' function."""
    stack = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        if node._attributes:
            node.lineno = node.end_lineno = 1
            node.col_offset = node.end_col_offset = 0
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                push(value)
    return tree


def _compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.Compare:
    return ast.Compare(left, [op], [right])


def _sum(parts: list[ast.expr]) -> ast.expr:
    total = parts[0]
    for part in parts[1:]:
        total = ast.BinOp(total, ast.Add(), part)
    return total if len(parts) > 1 else ast.BinOp(total, ast.Add(), ast.Constant(0))


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def compile_rules(rules: Sequence[tuple[str, L.Logic]], vocabulary=None) -> Callable[[Mapping], list[str]]:
    """A function from a mapping (column -> value) to the ids of the rules that fire, in the given order.

    With the ``vocabulary``, the parts of each and/or are tested in the order most likely to short-circuit
    (selectivity.py).
    """
    with collector_paused():
        return _Builder(rules, vocabulary).function()
