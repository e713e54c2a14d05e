"""Spark engine: every rule as a native Spark SQL expression, so Catalyst optimizes it where the data lives.

No Python UDF anywhere: a UDF is opaque to the optimizer (no filter push-down, no code generation) and every row
goes to Python and back (the NumPy engine through mapInPandas: 2-3x the native rules' time here, with compiled
stages; docs/benchmarks.md). Expressions are built from the checked logic
(logic.py) in Spark's own three-valued logic (its AND, OR and NOT are Kleene's; NULL is unknown), and a rule's
column is ``coalesce(condition, false)``: true only where the rule surely fires. ``at least N of`` counts the items
surely true and those not surely false, as in every backend.

- ``spark_columns(ruleset)``: rule id -> three-valued Column (true, false, or NULL for unknown);
- ``with_matches(ruleset, frame, prefix="")``: one boolean column per active rule, true only where surely true;
- ``with_decisions(ruleset, frame, prefix="")``: the policy's answer (policy.py) as three columns: the outcome's
  label (NULL when abstaining), the deciding rule and the confidence.

Missing means NULL *and* NaN: Spark orders NaN above every number, so a float column is read as
``CASE WHEN NOT isnan(x) THEN x END`` (NaN becomes NULL) before any test.
A category value is compared as the SQL backend does it, ``lower(trim(x, <spaces>))`` against every lower-case
spelling of the allowed values (Spark's lower() folds every letter, as Java does); Spark has no Unicode
normalisation, so category data must be NFC (text from keyboards and most files is). An integer column read where
a category is expected (grade codes read as numbers) is compared as its decimal spelling.

Two forms of the same logic, chosen from the session's settings (``jit_compiles_stages``): HotSpot does not
JIT-compile a method above 8,000 bytes of bytecode, and Spark's whole-stage code for a few dozen rules passes it.
- By default (``spark.sql.codegen.hugeMethodLimit`` 65,535) that code runs in the JVM's interpreter, where its
  size is what costs: the *compact* form, Spark's own three-valued logic over one projection that reads each column
  once (NaN as NULL, a category as its key).
- When the code is compiled (the limit at 8,000 as Spark's documentation advises for HotSpot, whole-stage code off,
  or the JVM told ``-XX:-DontCompileHugeMethods``), the work per row is what costs: the *rails* form, each test
  guarded on the raw column and the two rails of logic.py written out (what a careful person writes in SQL), and
  a category value spelt as an allowed value's key compared as it is, with no per-row trim or lower-casing.
  docs/benchmarks.md ("Spark local[2]") has the figures.
This is the only module of rules_dsl that imports PySpark.
"""
from __future__ import annotations

import functools
import unicodedata
import warnings
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 (the name every PySpark text uses)
from pyspark.sql import types as T  # noqa: N812

from .. import logic as L
from ..backends.values import SPACES, category_key
from ..backends.vectorized import check_columns
from ..errors import DataError
from ..policy import order_voters

# Column names of with_decisions, after the prefix: the same on every engine.
from . import CONFIDENCE, DECIDING_RULE, DECISION

_COMPARE = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


# ---- Spark SQL text ----------------------------------------------------------------------------------------------
# Rules are written as SQL text and handed to Spark once per rule (F.expr): built from PySpark Column objects
# instead, each node is a round trip to the JVM, and 50 rules took 1.7-2.5 s to build before Spark ran a row
# (hand-written SQL text: 0.3-0.5 s), more than evaluating a million rows with the rails form.

def _quoted(name: str) -> str:
    """A column reference that takes the name literally (dots and spaces are not struct fields or syntax)."""
    return "`" + name.replace("`", "``") + "`"


def _text(value: str) -> str:
    """A Spark SQL string literal of ``value`` (Spark unescapes backslash sequences in literals by default; any
    character but printable ASCII is written as a \\u escape, so spaces of every kind and quotes survive)."""
    out = []
    for ch in value:
        if ch in "\\'":
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "$":  # "${x}" would be replaced by a variable's value
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            out.extend(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
    return "'" + "".join(out) + "'"


def _number(value) -> str:
    return f"{float(value)!r}D"  # a DOUBLE literal (38.0 alone is a DECIMAL in Spark SQL)


def _one_of(x: str, literals: list[str]) -> str:
    return f"({x} = {literals[0]})" if len(literals) == 1 else f"({x} IN ({', '.join(literals)}))"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _count(parts: list[str]) -> str:
    return "(" + " + ".join(f"CAST({part} AS INT)" for part in parts) + ")" if parts else "0"


_KEY = "lower(trim(BOTH " + _text(SPACES) + " FROM {}))"  # a category value's key, as the SQL backend makes it


def spark_spellings(value: str) -> list[str]:
    """What Spark's lower(trim(...)) can make of a data value that matches ``value`` (NFC data), sorted."""
    lowered = unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).lower()).strip()
    return sorted({category_key(value), lowered})


class _Builder:
    """Conditions as Spark SQL text; ``schema`` (column -> DataType) adapts them to the data's types."""

    def __init__(self, schema: Mapping[str, T.DataType] | None = None, prepared: Mapping[str, str] | None = None):
        self.schema = dict(schema or {})
        self.prepared = dict(prepared or {})  # data column -> name of its normalised copy in the frame

    # ---- the compact form: Spark's own three-valued logic ----------------------------------------------------
    # Spark's AND, OR and NOT are Kleene's, and a comparison with NULL is NULL: once NaN is NULL and a category
    # value is its key, a rule is written with no guard at all (much smaller than the two rails). That matters beyond
    # taste: the JVM does not JIT-compile a method of more than 8,000 bytes of bytecode, and whole-stage code for
    # 50 rules passes it (several times slower; docs/benchmarks.md, "Spark local[2]").
    def kleene(self, node: L.Logic) -> str:
        """True, False, or NULL for unknown."""
        if isinstance(node, L.Test):
            return self.kleene_test(node)
        if isinstance(node, L.Not):
            return f"(NOT {self.kleene(node.item)})"
        if isinstance(node, L.AtLeast):
            items = [self.kleene(i) for i in node.items]
            surely = _count([f"coalesce({i}, false)" for i in items])
            possibly = _count([f"coalesce({i}, true)" for i in items])
            return f"CASE WHEN {surely} >= {node.count} THEN true WHEN {possibly} < {node.count} THEN false END"
        parts = [self.kleene(i) for i in node.items]
        return _and(parts) if isinstance(node, L.All) else _or(parts)

    def surely(self, node: L.Logic) -> str:
        """True where the condition is surely true, else false (never NULL).

        The top level's tests (the rule's own test, or each test of a top-level ``and``) are written on the raw
        column with explicit guards, ``x IS NOT NULL AND NOT isnan(x) AND x > 38``, so that a filter on the rule's
        column reaches the data source (Parquet push-down); nested parts stay compact."""
        if isinstance(node, L.Test):
            return self.guarded(node)
        if isinstance(node, L.All):
            return _and([self.surely(item) for item in node.items])
        return f"coalesce({self.kleene(node)}, false)"

    def known(self, t: L.Test) -> str:
        dtype, raw = self.schema.get(t.column), _quoted(t.column)
        if isinstance(dtype, (T.DoubleType, T.FloatType)) or (dtype is None and t.kind == "number"):
            return f"({raw} IS NOT NULL AND NOT isnan({raw}))"
        return f"({raw} IS NOT NULL)"

    def guarded(self, t: L.Test) -> str:
        dtype, raw, known = self.schema.get(t.column), _quoted(t.column), self.known(t)
        if t.op in ("missing", "known"):
            return f"(NOT {known})" if t.op == "missing" else known
        if t.kind == "number" and t.op in _COMPARE:
            x = raw if dtype is None else f"CAST({raw} AS DOUBLE)"
            return f"({known} AND {x} {_COMPARE[t.op]} {_number(t.value)})"
        return f"({known} AND coalesce({self.kleene_test(t)}, false))"

    def value(self, t: L.Test) -> str:
        """The column as tests read it: numbers with NaN as NULL, categories as their key (see ``prepared``)."""
        if t.column in self.prepared:
            return _quoted(self.prepared[t.column])
        return self.normalised(t.column, t.kind)

    def normalised(self, column: str, kind: str) -> str:
        dtype, x = self.schema.get(column), _quoted(column)
        if kind == "number" or (kind == "boolean" and isinstance(dtype, T.NumericType)):
            if dtype is None:
                return f"CASE WHEN NOT isnan({x}) THEN {x} END"
            if isinstance(dtype, (T.DoubleType, T.FloatType)):
                return f"CASE WHEN NOT isnan({x}) THEN CAST({x} AS DOUBLE) END"
            return f"CAST({x} AS DOUBLE)"  # integers and decimals hold no NaN
        if isinstance(dtype, T.IntegralType):  # category codes read as numbers: 2, not "2"
            x = f"CAST({x} AS STRING)"
        return _KEY.format(x) if kind == "category" else x

    def kleene_test(self, t: L.Test) -> str:
        x, op, v = self.value(t), t.op, t.value
        if op in ("missing", "known"):
            return f"({x} IS NULL)" if op == "missing" else f"({x} IS NOT NULL)"
        if t.kind == "boolean":
            numeric = isinstance(self.schema.get(t.column), T.NumericType)
            return f"({x} = {_number(v) if numeric else str(bool(v)).lower()})"
        if op in _COMPARE:
            return f"({x} {_COMPARE[op]} {_number(v)})"
        hit = self.hit_on(x, t)
        return hit if op in ("eq", "in", "contains") else f"(NOT {hit})"

    @staticmethod
    def hit_on(x: str, t: L.Test) -> str:
        """``x = v`` (or one of, or contains) of an equality test on ``x``, its category key or its number."""
        v = t.value
        if t.op in ("contains", "not_contains"):
            return f"contains(lower({x}), {_text(v.lower())})"
        if t.kind == "category":
            values = v if isinstance(v, tuple) else (v,)
            return _one_of(x, [_text(s) for s in sorted({s for item in values for s in spark_spellings(item)})])
        items = v if t.op in ("in", "not_in") else (v,)
        return _one_of(x, [_number(i) if t.kind == "number" else _text(i) for i in items])

    def three_valued(self, node: L.Logic) -> str:
        """True, False, or NULL for unknown."""
        return self.kleene(node)


class _Rails(_Builder):
    """The rails form: each test guarded on the raw column (``x IS NOT NULL AND NOT isnan(x) AND x > 38``), the
    rails of logic.py written out (T(not a) = F(a), T(all) = and of T, F(all) = or of F, T(at least n) =
    count(T) >= n, F(at least n) = count(F) > items - n), so no part is ever NULL and no column is prepared
    apart. ``own_keys``: per category column, the spellings of its values that are their own key (ASCII,
    lower-case, nothing to trim): data spelt so is compared as it is."""

    def __init__(self, schema: Mapping[str, T.DataType], own_keys: Mapping[str, list[str]]):
        super().__init__(schema)
        self.own_keys = own_keys

    def surely(self, node: L.Logic) -> str:
        return self.rail(node, True)

    def rail(self, node: L.Logic, want: bool) -> str:
        if isinstance(node, L.Test):
            known = self.known(node)
            if node.op in ("missing", "known"):
                return known if (node.op == "known") == want else f"(NOT {known})"
            hit = self.hit(node)
            positive = node.op not in ("ne", "not_in", "not_contains")
            return f"({known} AND {hit if positive == want else f'(NOT {hit})'})"
        if isinstance(node, L.Not):
            return self.rail(node.item, not want)
        if isinstance(node, L.AtLeast):
            counted = _count([self.rail(item, want) for item in node.items])
            return f"({counted} >= {node.count})" if want else f"({counted} > {len(node.items) - node.count})"
        parts = [self.rail(item, want) for item in node.items]
        return _and(parts) if isinstance(node, L.All) == want else _or(parts)

    def hit(self, t: L.Test) -> str:
        """The test's positive form (``x = v`` for ``is not``) on the raw column: never NULL where it is known."""
        dtype, raw, op, v = self.schema.get(t.column), _quoted(t.column), t.op, t.value
        if t.kind == "number" or (t.kind == "boolean" and isinstance(dtype, T.NumericType)):
            x = raw if isinstance(dtype, T.DoubleType) else f"CAST({raw} AS DOUBLE)"
            if op in _COMPARE:
                return f"({x} {_COMPARE[op]} {_number(v)})"
            return f"({x} = {_number(v)})" if t.kind == "boolean" else self.hit_on(x, t)
        if t.kind == "boolean":
            return f"({raw} = {str(bool(v)).lower()})"
        if isinstance(dtype, T.IntegralType):  # category codes read as numbers: 2, not "2"
            raw = f"CAST({raw} AS STRING)"
        if t.kind != "category" or op in ("contains", "not_contains"):
            return self.hit_on(raw, t)
        spellings = sorted({s for item in (v if isinstance(v, tuple) else (v,)) for s in spark_spellings(item)})
        keyed = _one_of(_KEY.format(raw), [_text(s) for s in spellings])
        own = [] if isinstance(dtype, T.IntegralType) else self.own_keys.get(t.column, [])
        if not own:
            return keyed
        # Spark computes a subexpression repeated across rules once per row, before the rules: "is the value spelt
        # as a key" is shared by every test of the column, and the key itself sits in a later branch of a CASE,
        # which Spark never computes ahead, so data spelt as a key never reaches the trim.
        wanted = [_text(s) for s in spellings if s in own]
        spelt = _one_of(raw, [_text(s) for s in own])
        return f"(CASE WHEN NOT {spelt} THEN {keyed} ELSE {_one_of(raw, wanted) if wanted else 'false'} END)"


def _own_keys(ruleset, kinds: Mapping[str, str]) -> dict[str, list[str]]:
    """Per category column, the spellings of its allowed and tested values that Spark's ``lower(trim(x))`` leaves
    as they are (ASCII, lower-case, no space at either end: Java and Python agree on those)."""
    features = ruleset.vocabulary.by_column()
    values: dict[str, set[str]] = {c: set(features[c].values) if c in features else set()
                                   for c, kind in kinds.items() if kind == "category"}
    for _, logic in ruleset._pairs:
        for t in L.tests(logic):
            if t.kind == "category" and t.op not in ("missing", "known"):
                values[t.column].update(t.value if isinstance(t.value, tuple) else (t.value,))
    return {column: sorted({s for value in found for s in spark_spellings(value)
                            if s.isascii() and s == s.lower() and s == s.strip()})
            for column, found in values.items()}


# From about this many rules, one stage's generated method passes HotSpot's 8,000 bytes (measured: 1 rule 1.6 s,
# 10 rules 2.6 s, 50 rules 23-26 s on the same rows; docs/benchmarks.md).
SLOW_STAGE_RULES = 20


class SlowSparkStage(UserWarning):
    """Spark's settings leave a stage of many rules to the JVM's interpreter (see ``jit_compiles_stages``)."""


def jit_compiles_stages(session) -> bool:
    """Whether the JVM will compile the code of a stage of many rules (see the module's docstring): whole-stage
    code off, ``spark.sql.codegen.hugeMethodLimit`` at most 8,000, or HotSpot told to compile huge methods."""
    def setting(key: str, default: str) -> str:
        return str(session.conf.get(key, default) or default)

    if setting("spark.sql.codegen.wholeStage", "true").strip().lower() == "false":
        return True
    try:
        if int(setting("spark.sql.codegen.hugeMethodLimit", "65535").strip()) <= 8000:
            return True
    except ValueError:
        pass
    options = " ".join(setting(f"spark.{side}.extraJavaOptions", "") for side in ("driver", "executor"))
    return "-XX:-DontCompileHugeMethods" in options


def spark_columns(ruleset, schema: Mapping[str, T.DataType] | None = None) -> dict[str, Column]:
    """{rule id: three-valued boolean Column} for every active rule: NULL where the rule's truth is unknown.

    ``schema`` (column name -> Spark DataType, e.g. ``dict((f.name, f.dataType) for f in frame.schema)``) lets the
    expressions adapt to integer or float number columns, 1/0 yes/no columns and integer category codes; without
    it numbers are read as double, yes/no as boolean and categories as text.
    """
    builder = _Builder(schema)
    return {rule_id: F.expr(builder.three_valued(logic)) for rule_id, logic in ruleset._pairs}


def _schema(ruleset, frame: DataFrame) -> dict[str, T.DataType]:
    """The frame's column types, checked against what the rules read: DataError naming the column otherwise."""
    check_columns(frame.columns, ruleset._pairs)
    schema = {f.name: f.dataType for f in frame.schema.fields}
    for column, kind in _kinds(ruleset).items():
        dtype = schema[column]
        if kind == "number":
            ok, expected = isinstance(dtype, T.NumericType), "a number column (double, float, integer, decimal)"
        elif kind == "boolean":
            ok, expected = isinstance(dtype, (T.BooleanType, T.NumericType)), "a boolean (or 1/0) column"
        elif kind == "category":
            ok, expected = isinstance(dtype, (T.StringType, T.IntegralType)), "a string column"
        else:
            ok, expected = isinstance(dtype, T.StringType), "a string column"
        if not ok:
            raise DataError(f"'{column}' must be {expected}, but the Spark frame holds {dtype.simpleString()}. "
                            f"Cast it (frame.withColumn('{column}', col('{column}').cast(...))) or choose the right "
                            "column.", column)
    return schema


def _refuse_collisions(frame: DataFrame, names: list[str]) -> None:
    taken = set(frame.columns)
    clash = [n for n in names if n in taken]
    if clash:
        raise ValueError(f"The frame already has a column named {', '.join(repr(n) for n in clash[:5])}, which "
                         "the result would add. Pass prefix='rule_' (or another prefix) or rename the input column.")


def _fired(ruleset, frame: DataFrame, names: Mapping[str, str]) -> DataFrame:
    """``frame`` with each active rule's column (true only where it surely fires, never NULL) named ``names[id]``.

    The rails form is one projection. The compact form is two: the first gives each number column with NaN as
    NULL and each category column as its key (computed once per row, not once per test: Catalyst keeps a
    projection whose non-trivial columns are read more than once), the second the rules in Spark's own
    three-valued logic; the helper columns are dropped."""
    schema = _schema(ruleset, frame)
    compiled = jit_compiles_stages(frame.sparkSession)  # reads settings through the JVM: once per call
    if len(ruleset._pairs) >= SLOW_STAGE_RULES and not compiled:
        warnings.warn(f"Spark will run the code of these {len(ruleset._pairs)} rules in the JVM's interpreter, "
                      "several times slower than compiled: set spark.sql.codegen.hugeMethodLimit to 8000 (Spark's "
                      "advice for HotSpot JVMs), e.g. spark.conf.set('spark.sql.codegen.hugeMethodLimit', '8000'). "
                      "See Rulecraft's docs/scale.md, 'What it costs'.", SlowSparkStage, stacklevel=3)
    if compiled:
        rails = _Rails(schema, _own_keys(ruleset, _kinds(ruleset)))
        return frame.withColumns({names[rule_id]: F.expr(rails.surely(logic)) for rule_id, logic in ruleset._pairs})
    plain = _Builder(schema)
    taken = set(frame.columns) | set(names.values())
    helpers, prepared = {}, {}
    for column, kind in _kinds(ruleset).items():
        numeric = kind == "number" or (kind == "boolean" and isinstance(schema[column], T.NumericType))
        if numeric or kind == "category":
            name = _unused(f"__rulecraft_{len(helpers)}", taken)
            helpers[name], prepared[column] = F.expr(plain.normalised(column, kind)), name
    builder = _Builder(schema, prepared)
    rules = {names[rule_id]: F.expr(builder.surely(logic)) for rule_id, logic in ruleset._pairs}
    staged = frame.withColumns(helpers) if helpers else frame
    return staged.withColumns(rules).drop(*helpers)


def _kinds(ruleset) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for _, logic in ruleset._pairs:
        for t in L.tests(logic):
            kinds.setdefault(t.column, t.kind)
    return kinds


def _unused(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def with_matches(ruleset, frame: DataFrame, prefix: str = "") -> DataFrame:
    """``frame`` with one boolean column per active rule, named ``prefix + rule id``: true where it fires."""
    names = {rule_id: prefix + rule_id for rule_id in ruleset.rule_ids}
    _refuse_collisions(frame, list(names.values()))
    return _fired(ruleset, frame, names)


def decision_columns(ruleset, fired: Mapping[str, Column]) -> dict[str, Column]:
    """The policy (policy.py) over the rules' surely-true Columns: decision, deciding rule, confidence."""
    voters = [v for v in order_voters(ruleset.voters) if v.id in fired]
    labels = list(ruleset.outcome.labels)
    default = F.lit(ruleset.policy.default).cast("string")
    no_rule, no_confidence = F.lit(None).cast("string"), F.lit(None).cast("double")
    if not voters:
        return {DECISION: default, DECIDING_RULE: no_rule, CONFIDENCE: no_confidence}
    if ruleset.policy.kind == "first match":  # the first rule by priority that fires decides
        return {DECISION: _cases([(fired[v.id], F.lit(v.label)) for v in voters], default),
                DECIDING_RULE: _cases([(fired[v.id], F.lit(v.id)) for v in voters], no_rule),
                CONFIDENCE: _cases([(fired[v.id], F.lit(v.weight)) for v in voters], no_confidence)}
    # weighted vote: a label's score is the sum of the confidences of its firing rules; -1 when none of them fired
    # (as policy.decide does), so a label that got votes beats one that got none even at weight 0.
    scores, voted = {}, {}
    for label in labels:
        own = [v for v in voters if v.label == label]
        if not own:
            scores[label] = F.lit(-1.0)
            continue
        voted[label] = _any([fired[v.id] for v in own])
        total = _sum([F.when(fired[v.id], F.lit(v.weight)).otherwise(F.lit(0.0)) for v in own])
        scores[label] = F.when(voted[label], total).otherwise(F.lit(-1.0))
    decided = _any(list(voted.values()))
    winners = []
    for i, label in enumerate(labels):  # the highest score; ties go to the label listed first
        beats = [scores[label] > scores[other] if j < i else scores[label] >= scores[other]
                 for j, other in enumerate(labels) if j != i]
        winners.append((_all([decided, *beats]), F.lit(label)))
    decision = _cases(winners, default)
    deciding = _cases([(fired[v.id] & (decision == F.lit(v.label)), F.lit(v.id)) for v in voters], no_rule)
    votes = _sum([F.greatest(scores[label], F.lit(0.0)) for label in voted])
    winner = _cases([(decision == F.lit(label), scores[label]) for label in voted], no_confidence)
    confidence = F.when(decided & (votes > 0), winner / votes).otherwise(no_confidence)
    return {DECISION: decision, DECIDING_RULE: deciding, CONFIDENCE: confidence}


def _cases(pairs: list[tuple[Column, Column]], otherwise: Column) -> Column:
    """CASE WHEN c1 THEN v1 WHEN c2 THEN v2 ... ELSE otherwise END (the first true condition wins)."""
    expression = F.when(*pairs[0])
    for condition, value in pairs[1:]:
        expression = expression.when(condition, value)
    return expression.otherwise(otherwise)


def _any(parts: list[Column]) -> Column:
    return functools.reduce(Column.__or__, parts)


def _all(parts: list[Column]) -> Column:
    return functools.reduce(Column.__and__, parts)


def _sum(parts: list[Column]) -> Column:
    return functools.reduce(Column.__add__, parts)


def with_decisions(ruleset, frame: DataFrame, prefix: str = "") -> DataFrame:
    """``frame`` with the rule set's answer: ``prefix + "decision"`` (the outcome's label, NULL when the rules
    abstain), ``prefix + "deciding_rule"`` (the rule that decided; under a weighted vote the first rule by priority
    that voted for the winning label) and ``prefix + "confidence"`` (the deciding rule's confidence under first
    match; the winning label's share of the votes under a weighted vote; NULL when no rule decided)."""
    columns = [prefix + name for name in (DECISION, DECIDING_RULE, CONFIDENCE)]
    _refuse_collisions(frame, columns)
    taken = set(frame.columns) | set(columns)
    hidden = {rule_id: _unused(f"__rulecraft_rule_{i}", taken) for i, rule_id in enumerate(ruleset.rule_ids)}
    fired = _fired(ruleset, frame, hidden)
    decided = decision_columns(ruleset, {rule_id: F.col(_quoted(name)) for rule_id, name in hidden.items()})
    return fired.withColumns({prefix + name: column for name, column in decided.items()}).drop(*hidden.values())
