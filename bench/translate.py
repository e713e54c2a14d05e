"""The benchmark's rules translated into each engine's own language, from the same neutral tree (workload.py).

Missing values need care in every peer, and this is where hand-written rules go wrong:
- Rulecraft's meaning is three-valued (Kleene, like SQL): a comparison with a missing value is unknown, ``not``
  of unknown is unknown, and a rule fires only when its condition is surely true.
- zen-engine, rule-engine and json-logic say ``null != 5`` is true, and zen-engine and rule-engine raise on
  ``null > 5``; NumPy and pandas say ``NaN != 5`` and ``None != "a"`` are true. So every comparison that can be true
  for a missing value gets an explicit "is known" guard.
- ``not``: a hand-writer cannot just negate (``not (x > 5)`` would fire for a missing x). Each translation is
  written on two rails, as a careful person would: T(node) "surely true" and F(node) "surely false", with
  T(not a) = F(a), T(a and b) = T(a) and T(b), F(a and b) = F(a) or F(b), and so on.
- ``at least N of (...)``: a count where the language has arithmetic on booleans (NumPy, Python), otherwise the
  disjunction of every N-combination (pandas, zen-engine, rule-engine, json-logic), which is how a person writes it
  there.

Two hand-written NumPy versions: the quick one compares Python string objects for every condition and computes
each guard where it is used (``numpy_strings_source``); the careful one, the baseline, turns each text column into
integer codes once (``pd.factorize``), looks values up in small tables, and computes each column's "is known" mask
once (``numpy_codes_source``).
"""
from __future__ import annotations

import itertools
import json

from .workload import AtLeast, BenchRule, Cond, Group, Node, Not, is_number


def _num(x: float) -> str:
    return repr(float(x))


def _str(s: str) -> str:
    return json.dumps(s)


class Dialect:
    """Boolean expressions as source text; subclasses say how to compare, guard and combine."""

    counts = False  # "at least" as a sum of 0/1 (True) or as a disjunction of combinations (False)

    def var(self, column: str) -> str:
        return column

    def and_(self, parts: list[str]) -> str:
        return "(" + " and ".join(parts) + ")" if len(parts) > 1 else parts[0]

    def or_(self, parts: list[str]) -> str:
        return "(" + " or ".join(parts) + ")" if len(parts) > 1 else parts[0]

    def at_least(self, count: int, parts: list[str]) -> str:
        raise NotImplementedError

    def known(self, column: str) -> str:
        return f"{self.var(column)} != null"

    def missing(self, column: str) -> str:
        return f"{self.var(column)} == null"

    def cmp(self, column: str, op: str, value: str) -> str:
        return f"{self.var(column)} {op} {value}"

    def member(self, column: str, values: list[str]) -> str:
        return f"{self.var(column)} in [{', '.join(values)}]"

    def value(self, column: str, v) -> str:
        return _num(v) if is_number(column) else _str(v)

    # ---- the two rails -----------------------------------------------------------------------------------------
    def rail(self, node: Node, want: bool) -> str:
        if isinstance(node, Cond):
            return self.cond(node, want)
        if isinstance(node, Not):
            return self.rail(node.item, not want)
        if isinstance(node, AtLeast):
            if want:
                return self.at_least(node.count, [self.rail(i, True) for i in node.items])
            # surely false: more than k - n items surely false
            return self.at_least(len(node.items) - node.count + 1, [self.rail(i, False) for i in node.items])
        parts = [self.rail(i, want) for i in node.items]
        return self.and_(parts) if (node.kind == "all") == want else self.or_(parts)

    def cond(self, c: Cond, want: bool) -> str:
        """T or F of one condition, guarded so that a missing value is neither."""
        col, op, v = c.column, c.op, c.value
        if op in ("missing", "known"):
            return self.missing(col) if (op == "missing") == want else self.known(col)
        guard = self.guard_numbers if is_number(col) else self.guard_categories
        if op == "between":
            lo, hi = self.value(col, v[0]), self.value(col, v[1])
            if want:
                return self.guarded(col, guard, self.and_([self.cmp(col, ">=", lo), self.cmp(col, "<=", hi)]))
            return self.guarded(col, guard, self.or_([self.cmp(col, "<", lo), self.cmp(col, ">", hi)]))
        if op in ("gt", "lt", "ge", "le"):
            if not want:
                op = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}[op]
            symbol = {"gt": ">", "lt": "<", "ge": ">=", "le": "<="}[op]
            return self.guarded(col, guard, self.cmp(col, symbol, self.value(col, v)))
        if op in ("eq", "ne"):
            if (op == "eq") == want:
                return self.cmp(col, "==", self.value(col, v))  # false for a missing value everywhere
            return self.and_([self.known(col), self.cmp(col, "!=", self.value(col, v))])
        positive = (op == "in") == want
        inside = self.member(col, [self.value(col, x) for x in v])
        if positive:
            return inside
        return self.and_([self.known(col), self.not_(inside)])

    guard_numbers = True      # does an ordering comparison need a guard against a missing number?
    guard_categories = True

    def guarded(self, column: str, guard: bool, expr: str) -> str:
        return self.and_([self.known(column), expr]) if guard else expr

    def not_(self, expr: str) -> str:
        return f"not ({expr})"

    def combinations(self, count: int, parts: list[str]) -> str:
        if count > len(parts):
            return self.false()
        return self.or_([self.and_(list(c)) for c in itertools.combinations(parts, count)])

    def false(self) -> str:
        return "false"


# ---- NumPy (vectorized, hand-written style: one expression per rule, nothing shared between rules) ---------------

class NumpyDialect(Dialect):
    """The quick version: text columns as arrays of Python objects (None for missing), compared with ``==``."""

    counts = True
    guard_numbers = False  # NaN compares False both ways

    def and_(self, parts):
        return "(" + " & ".join(f"({p})" for p in parts) + ")" if len(parts) > 1 else parts[0]

    def or_(self, parts):
        return "(" + " | ".join(f"({p})" for p in parts) + ")" if len(parts) > 1 else parts[0]

    def known(self, column):
        return f"~np.isnan({column})" if is_number(column) else f"({column} != None)"

    def missing(self, column):
        return f"np.isnan({column})" if is_number(column) else f"({column} == None)"

    def member(self, column, values):
        if is_number(column):
            return f"np.isin({column}, [{', '.join(values)}])"
        return self.or_([f"{column} == {v}" for v in values])  # what np.isin does for a short list

    def not_(self, expr):
        return f"~({expr})"

    def at_least(self, count, parts):
        return "(" + " + ".join(f"({p}).astype(np.int8)" for p in parts) + f") >= {count}"


def numpy_strings_source(rules: list[BenchRule]) -> str:
    """The quick version. Text is read as objects with None for every missing value: str and category columns
    give NaN there, which ``!= None`` does not see."""
    d = NumpyDialect()
    used = sorted({c.column for r in rules for c in _conds(r.condition)})
    lines = ["def numpy_rules(frame):"]
    lines += [f"    {c} = frame[{c!r}].to_numpy()" if is_number(c)
              else f"    {c} = frame[{c!r}].to_numpy(dtype=object, na_value=None)" for c in used]
    lines.append(f"    out = np.empty(({len(rules)}, len(frame)), dtype=bool)")
    lines += [f"    out[{i}] = {d.rail(r.condition, True)}" for i, r in enumerate(rules)]
    lines.append("    return out")
    return "\n".join(lines)


class NumpyCodesDialect(NumpyDialect):
    """The careful version: each text column factorized once (codes, -1 for missing), each value looked up once
    as a code, each "one of" list as a table indexed by the codes (its last slot, index -1, is for missing), each
    column's "is known" mask computed once. The names it needs are collected in ``self.setup``."""

    def __init__(self):
        self.setup: dict[str, str] = {}  # variable -> expression, computed once per call before the rules

    def _once(self, prefix: str, expression: str, numbered: bool = True) -> str:
        """The variable holding ``expression`` (a new one, named prefix [+ a number], the first time)."""
        for name, known in self.setup.items():
            if known == expression:
                return name
        name = f"{prefix}{sum(1 for k in self.setup if k.startswith(prefix))}" if numbered else prefix
        self.setup[name] = expression
        return name

    def known(self, column):
        if is_number(column):
            return self._once(f"{column}_known", f"~np.isnan({column})", False)
        return self._once(f"{column}_known", f"{column} >= 0", False)

    def missing(self, column):
        if is_number(column):
            return self._once(f"{column}_missing", f"np.isnan({column})", False)
        return self._once(f"{column}_missing", f"{column} < 0", False)

    def cmp(self, column, op, value):
        if is_number(column):
            return super().cmp(column, op, value)
        return f"{column} {op} {self._once(f'{column}_v', f'code({column}_values, {value})')}"

    def member(self, column, values):
        if is_number(column):
            return super().member(column, values)
        name = self._once(f"{column}_t", f"table({column}_values, [{', '.join(values)}])")
        return f"{name}[{column}]"


NUMPY_CODES_HELPERS = '''
def code(values, value):
    """The code of one value (-2, which no row has, for a value the column never holds)."""
    i = values.get_indexer([value])[0]
    return i if i >= 0 else -2


def table(values, accepted):
    """True at the codes of the accepted values; the last slot (index -1: missing) is False."""
    return np.append(np.asarray(values.isin(accepted), dtype=bool), False)
'''


def numpy_codes_source(rules: list[BenchRule]) -> str:
    """The careful version, the baseline (helpers ``code`` and ``table``: NUMPY_CODES_HELPERS)."""
    d = NumpyCodesDialect()
    body = [f"    out[{i}] = {d.rail(r.condition, True)}" for i, r in enumerate(rules)]
    used = sorted({c.column for r in rules for c in _conds(r.condition)})
    lines = ["def numpy_codes_rules(frame):"]
    lines += [f"    {c} = frame[{c!r}].to_numpy()" if is_number(c)
              else f"    {c}, {c}_values = pd.factorize(frame[{c!r}])" for c in used]
    lines += [f"    {name} = {expression}" for name, expression in d.setup.items()]
    lines.append(f"    out = np.empty(({len(rules)}, len(frame)), dtype=bool)")
    lines += body
    lines.append("    return out")
    return NUMPY_CODES_HELPERS + "\n\n" + "\n".join(lines)


# ---- pandas eval -------------------------------------------------------------------------------------------------

class PandasDialect(NumpyDialect):
    counts = False

    def known(self, column):
        return f"({column} == {column})"  # NaN and None are unequal to themselves in pandas

    def missing(self, column):
        return f"({column} != {column})"

    def member(self, column, values):
        return f"{column} in [{', '.join(values)}]"

    def at_least(self, count, parts):
        return self.combinations(count, parts)

    def false(self):
        return "False"


def pandas_expressions(rules: list[BenchRule]) -> list[str]:
    d = PandasDialect()
    return [d.rail(r.condition, True) for r in rules]


# ---- plain Python, one function for all rules, reads each feature once -------------------------------------------

class PythonDialect(Dialect):
    counts = True
    guard_numbers = False  # numbers are NaN when missing (normalised once at the top)

    def known(self, column):
        return f"{column} == {column}" if is_number(column) else f"{column} is not None"

    def missing(self, column):
        return f"{column} != {column}" if is_number(column) else f"{column} is None"

    def member(self, column, values):
        return f"{column} in {{{', '.join(values)}}}"  # a set literal: constant-folded to a frozenset

    def at_least(self, count, parts):
        return "(" + " + ".join(f"({p})" for p in parts) + f") >= {count}"

    def false(self):
        return "False"


def python_source(rules: list[BenchRule]) -> str:
    d = PythonDialect()
    used = sorted({c.column for r in rules for c in _conds(r.condition)})
    lines = ["def python_rules(row):"]
    for c in used:
        if is_number(c):
            lines.append(f"    {c} = row[{c!r}]")
            lines.append(f"    if {c} is None: {c} = NAN")
        else:
            lines.append(f"    {c} = row[{c!r}]")
    lines.append("    return [")
    lines += [f"        {d.rail(r.condition, True)}," for r in rules]
    lines.append("    ]")
    return "\n".join(lines)


class SnorkelDialect(PythonDialect):
    """Labeling functions read the row's attributes; a number may be NaN (from a DataFrame) or None (a mapping)."""

    guard_numbers = True

    def var(self, column):
        return f"x.{column}"

    def known(self, column):
        v = self.var(column)
        return f"({v} is not None and {v} == {v})" if is_number(column) else f"isinstance({v}, str)"

    def missing(self, column):
        return f"not {self.known(column)}"

    def member(self, column, values):
        return f"{self.var(column)} in {{{', '.join(values)}}}"


def snorkel_sources(rules: list[BenchRule]) -> list[str]:
    d = SnorkelDialect()
    return [f"def lf_{i}(x):\n    return 1 if {d.rail(r.condition, True)} else -1" for i, r in enumerate(rules)]


# ---- zen-engine, rule-engine (expression languages with null) -----------------------------------------------------

class ZenDialect(Dialect):
    counts = True

    def at_least(self, count, parts):
        return "(" + " + ".join(f"({p} ? 1 : 0)" for p in parts) + f") >= {count}"


def zen_expression(rules: list[BenchRule]) -> str:
    """One expression for the whole rule set: a list of booleans, one per rule."""
    d = ZenDialect()
    return "[" + ", ".join(d.rail(r.condition, True) for r in rules) + "]"


def zen_rule_expressions(rules: list[BenchRule]) -> list[str]:
    d = ZenDialect()
    return [d.rail(r.condition, True) for r in rules]


class RuleEngineDialect(Dialect):
    def at_least(self, count, parts):
        return self.combinations(count, parts)


def rule_engine_texts(rules: list[BenchRule]) -> list[str]:
    d = RuleEngineDialect()
    return [d.rail(r.condition, True) for r in rules]


# ---- json-logic (a JSON tree, not text) -----------------------------------------------------------------------------

def _jl(node: Node, want: bool):
    def var(c):
        return {"var": c}

    def known(c):
        return {"!=": [var(c), None]}

    def and_(parts):
        return {"and": parts} if len(parts) > 1 else parts[0]

    def or_(parts):
        return {"or": parts} if len(parts) > 1 else parts[0]

    def at_least(count, parts):
        if count > len(parts):
            return False
        return or_([and_(list(c)) for c in itertools.combinations(parts, count)])

    if isinstance(node, Not):
        return _jl(node.item, not want)
    if isinstance(node, AtLeast):
        if want:
            return at_least(node.count, [_jl(i, True) for i in node.items])
        return at_least(len(node.items) - node.count + 1, [_jl(i, False) for i in node.items])
    if isinstance(node, Group):
        parts = [_jl(i, want) for i in node.items]
        return and_(parts) if (node.kind == "all") == want else or_(parts)
    c: Cond = node
    col, op, v = c.column, c.op, c.value
    if op in ("missing", "known"):
        return {"==": [var(col), None]} if (op == "missing") == want else known(col)
    if op == "between":
        if want:
            return and_([known(col), {">=": [var(col), v[0]]}, {"<=": [var(col), v[1]]}])
        return and_([known(col), or_([{"<": [var(col), v[0]]}, {">": [var(col), v[1]]}])])
    if op in ("gt", "lt", "ge", "le"):
        if not want:
            op = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}[op]
        return and_([known(col), {{"gt": ">", "lt": "<", "ge": ">=", "le": "<="}[op]: [var(col), v]}])
    if op in ("eq", "ne"):
        if (op == "eq") == want:
            return {"==": [var(col), v]}
        return and_([known(col), {"!=": [var(col), v]}])
    inside = {"in": [var(col), list(v)]}
    return inside if (op == "in") == want else and_([known(col), {"!": [inside]}])


def json_logic_rules(rules: list[BenchRule]) -> list[dict]:
    return [_jl(r.condition, True) for r in rules]


def _conds(node: Node) -> list[Cond]:
    if isinstance(node, Cond):
        return [node]
    if isinstance(node, Not):
        return _conds(node.item)
    return [c for i in node.items for c in _conds(i)]


# ---- the oracle: the rules' meaning, evaluated directly on the neutral tree (three-valued) ------------------------

def oracle(node: Node, row: dict):
    """True, False or None (unknown) for one case: the reference every engine is checked against."""
    if isinstance(node, Cond):
        x = row.get(node.column)
        if x is not None and x != x:
            x = None
        if node.op == "missing":
            return x is None
        if node.op == "known":
            return x is not None
        if x is None:
            return None
        op, v = node.op, node.value
        if op == "between":
            return v[0] <= x <= v[1]
        if op == "gt":
            return x > v
        if op == "lt":
            return x < v
        if op == "ge":
            return x >= v
        if op == "le":
            return x <= v
        if op == "eq":
            return x == v
        if op == "ne":
            return x != v
        return (x in v) if op == "in" else (x not in v)
    if isinstance(node, Not):
        inner = oracle(node.item, row)
        return None if inner is None else not inner
    results = [oracle(i, row) for i in node.items]
    if isinstance(node, AtLeast):
        true, false = results.count(True), results.count(False)
        if true >= node.count:
            return True
        return False if len(results) - false < node.count else None
    if node.kind == "all":
        return False if False in results else None if None in results else True
    return True if True in results else None if None in results else False

