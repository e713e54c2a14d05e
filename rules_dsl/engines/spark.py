"""Spark engine: every rule as a native PySpark Column expression, so Catalyst optimizes it where the data lives.

No Python UDF anywhere: a UDF is opaque to the optimizer (no filter push-down, no code generation) and moving rows
to Python and back cost about 7x on 2 cores here (docs/benchmarks.md). Expressions are built from the checked logic
(logic.py) on the two rails every backend uses, T (surely true) and F (surely false), each a plain boolean that is
never NULL:

- ``spark_columns(ruleset)``: rule id -> three-valued Column (true, false, or NULL for unknown);
- ``with_matches(ruleset, frame, prefix="")``: one boolean column per active rule, true only where surely true;
- ``with_decisions(ruleset, frame, prefix="")``: the policy's answer (policy.py) as three columns: the outcome's
  label (NULL when abstaining), the deciding rule and the confidence.

Missing means NULL *and* NaN: Spark orders NaN above every number, so every number test carries ``NOT isnan(x)``.
A category value is compared as the SQL backend does it, ``lower(trim(x, <spaces>))`` against every lower-case
spelling of the allowed values (Spark's lower() folds every letter, as Java does); Spark has no Unicode
normalisation, so category data must be NFC (text from keyboards and most files is). An integer column read where
a category is expected (grade codes read as numbers) is compared as its decimal spelling.
This is the only module of rules_dsl that imports PySpark.
"""
from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 (the name every PySpark text uses)
from pyspark.sql import types as T  # noqa: N812

from .. import logic as L
from ..backends.values import SPACES, category_key
from ..backends.vectorized import check_columns
from ..errors import DataError
from ..policy import order_voters

# Column names of with_decisions, after the prefix (the same on every engine: rules_dsl/engines/__init__.py).
DECISION, DECIDING_RULE, CONFIDENCE = "decision", "deciding_rule", "confidence"

_FLIP = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}
_COMPARE = {"gt": Column.__gt__, "ge": Column.__ge__, "lt": Column.__lt__, "le": Column.__le__}


def spark_spellings(value: str) -> list[str]:
    """What Spark's lower(trim(...)) can make of a data value that matches ``value`` (NFC data), sorted."""
    lowered = unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).lower()).strip()
    return sorted({category_key(value), lowered})


class _Builder:
    """The two rails of each node as Spark Columns; ``schema`` (column -> DataType) adapts to the data's types."""

    def __init__(self, schema: Mapping[str, T.DataType] | None = None):
        self.schema = dict(schema or {})

    def rail(self, node: L.Logic, want: bool) -> Column:
        if isinstance(node, L.Test):
            return self.test(node, want)
        if isinstance(node, L.Not):
            return self.rail(node.item, not want)
        if isinstance(node, L.AtLeast):
            if want:  # at least n items surely true
                return _count([self.rail(i, True) for i in node.items]) >= node.count
            # surely false: fewer than n items can still be true (are not surely false)
            return _count([self.rail(i, False) for i in node.items]) > len(node.items) - node.count
        parts = [self.rail(i, want) for i in node.items]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if isinstance(node, L.All) == want else (combined | part)
        return combined

    def three_valued(self, node: L.Logic) -> Column:
        """True, False, or NULL for unknown."""
        return F.when(self.rail(node, True), F.lit(True)).when(self.rail(node, False), F.lit(False))

    # ---- one test --------------------------------------------------------------------------------------------
    def test(self, t: L.Test, want: bool) -> Column:
        dtype = self.schema.get(t.column)
        x = F.col(_quoted(t.column))
        if t.kind == "number" or (t.kind == "boolean" and isinstance(dtype, T.NumericType)):
            return self._number(t, x, dtype, want)
        if t.kind == "boolean":
            return self._boolean(t, x, want)
        return self._text(t, x, dtype, want)

    def _number(self, t: L.Test, x: Column, dtype, want: bool) -> Column:
        if dtype is not None and not isinstance(dtype, T.DoubleType):
            x = x.cast("double")  # Catalyst unwraps the cast again in comparisons with literals (push-down holds)
        known = x.isNotNull() & ~F.isnan(x)
        op, v = t.op, t.value
        if op in ("missing", "known"):
            return known if (op == "known") == want else ~known
        if t.kind == "boolean":  # a 1/0 column: eq True / eq False on 1.0 / 0.0
            return known & (x == F.lit(float(v == want)))
        if op in ("eq", "ne"):
            same = x == F.lit(float(v))
            return known & (same if (op == "eq") == want else ~same)
        if op in ("in", "not_in"):
            inside = x.isin([F.lit(float(item)) for item in v])
            return known & (inside if (op == "in") == want else ~inside)
        return known & _COMPARE[op if want else _FLIP[op]](x, F.lit(float(v)))

    def _boolean(self, t: L.Test, x: Column, want: bool) -> Column:
        known = x.isNotNull()
        if t.op in ("missing", "known"):
            return known if (t.op == "known") == want else x.isNull()
        return known & (x == F.lit(bool(t.value) == want))

    def _text(self, t: L.Test, x: Column, dtype, want: bool) -> Column:
        if isinstance(dtype, T.IntegralType):  # category codes read as numbers: 2, not "2"
            x = x.cast("string")
        known = x.isNotNull()
        op, v = t.op, t.value
        if op in ("missing", "known"):
            return known if (op == "known") == want else x.isNull()
        positive = op in ("eq", "in", "contains")
        if op in ("contains", "not_contains"):
            hit = F.lower(x).contains(F.lit(v.lower()))
        elif t.kind == "category":
            values = v if isinstance(v, tuple) else (v,)
            spellings = sorted({s for item in values for s in spark_spellings(item)})
            hit = F.lower(F.trim(x, F.lit(SPACES))).isin([F.lit(s) for s in spellings])
        elif op in ("in", "not_in"):
            hit = x.isin([F.lit(item) for item in v])
        else:
            hit = x == F.lit(v)
        return known & (hit if positive == want else ~hit)


def _count(parts: list[Column]) -> Column:
    total = None
    for part in parts:
        one = part.cast("int")
        total = one if total is None else total + one
    return total if total is not None else F.lit(0)


def _quoted(name: str) -> str:
    """A column reference that takes the name literally (dots and spaces are not struct fields or syntax)."""
    return "`" + name.replace("`", "``") + "`"


def spark_columns(ruleset, schema: Mapping[str, T.DataType] | None = None) -> dict[str, Column]:
    """{rule id: three-valued boolean Column} for every active rule: NULL where the rule's truth is unknown.

    ``schema`` (column name -> Spark DataType, e.g. ``dict((f.name, f.dataType) for f in frame.schema)``) lets the
    expressions adapt to integer or float number columns, 1/0 yes/no columns and integer category codes; without
    it numbers are read as double, yes/no as boolean and categories as text.
    """
    builder = _Builder(schema)
    return {rule_id: builder.three_valued(logic) for rule_id, logic in ruleset._pairs}


def _schema(ruleset, frame: DataFrame) -> dict[str, T.DataType]:
    """The frame's column types, checked against what the rules read: DataError naming the column otherwise."""
    check_columns(frame.columns, ruleset._pairs)
    schema = {f.name: f.dataType for f in frame.schema.fields}
    kinds: dict[str, str] = {}
    for _, logic in ruleset._pairs:
        for t in L.tests(logic):
            kinds.setdefault(t.column, t.kind)
    for column, kind in kinds.items():
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


def rail_columns(ruleset, frame: DataFrame) -> dict[str, Column]:
    """{rule id: Column true only where the rule surely fires, never NULL} for ``frame``'s types."""
    builder = _Builder(_schema(ruleset, frame))
    return {rule_id: builder.rail(logic, True) for rule_id, logic in ruleset._pairs}


def with_matches(ruleset, frame: DataFrame, prefix: str = "") -> DataFrame:
    """``frame`` with one boolean column per active rule, named ``prefix + rule id``: true where it fires."""
    fired = rail_columns(ruleset, frame)
    _refuse_collisions(frame, [prefix + rule_id for rule_id in fired])
    return frame.withColumns({prefix + rule_id: column for rule_id, column in fired.items()})


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
    columns = decision_columns(ruleset, rail_columns(ruleset, frame))
    _refuse_collisions(frame, [prefix + name for name in columns])
    return frame.withColumns({prefix + name: column for name, column in columns.items()})
