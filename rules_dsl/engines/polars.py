"""Polars: every rule as a native Polars expression, on a DataFrame (eager) or a LazyFrame (lazy, streamable).

Three-valued logic maps onto Polars' own: a test on a null is null (unknown), and Polars' ``&``, ``|`` and ``~``
on booleans are Kleene's tables, so ``All``/``Any``/``Not`` are those operators. Not ``pl.all``/``pl.any`` (the
vertical ones skip nulls) and not the horizontal ones (their null handling has changed between releases).
``at least N of`` counts the items that are surely true (null counts as false) and those not surely false (null
counts as true): true when the first reaches N, false when the second cannot. A rule column is
``condition.fill_null(False)``: true only where the condition is true.

Missing is missing: a number column's NaN becomes null before any comparison (Polars orders NaN above every
number). A category value is compared by its key (values.category_key: NFC, surrounding spaces trimmed, case
folded) computed by Polars' string functions, against every form such a key can take (``key_spellings``).

Each column is read once (cast, NaN to null, category key) into a temporary column, and the rules read those, so a
column tested by 50 rules is normalised once; Polars' common-subexpression elimination shares repeated tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

import polars as pl

from .. import logic as L
from ..backends.values import SPACES, category_key
from ..errors import DataError
from . import check_new_columns, decision_columns, decision_plan, key_spellings, match_columns

_TEMP = "__rulecraft_"


def _key(x: pl.Expr) -> pl.Expr:
    return x.str.strip_chars(SPACES).str.normalize("NFD").str.to_lowercase().str.normalize("NFC")


def _keys_of_distinct_values(text: pl.Expr) -> pl.Expr:
    """Each row's category key, computed once per distinct value and looked up: Unicode normalisation costs ~0.6 s
    per column of 2 million strings on this machine, a lookup of the few distinct values a category has ~0.1 s.
    Not elementwise (it reads the whole column), so a streamed file uses ``_key`` row by row instead."""
    distinct = text.unique(maintain_order=True).drop_nulls()  # the same order on both sides of replace_strict
    return text.replace_strict(distinct, _key(distinct), default=None, return_dtype=pl.String)


def _read(column: str, kind: str, dtype, elementwise: bool = False) -> pl.Expr:
    """The column as the tests read it: Float64 with null for missing (numbers), Boolean, or String (a category's
    key; an Enum column stays as it is, its categories are keyed in Python). ``dtype`` None: the column is assumed
    to hold the feature's own type."""
    x = pl.col(column)
    where = f"'{column}'"
    if kind == "number":
        if dtype is not None and dtype == pl.Boolean:
            raise DataError(f"{where} must be a number, but the column holds yes/no (true/false) values. A true/false "
                            "column cannot be compared with numbers: check that the column is the right one.", column)
        if dtype is not None and not dtype.is_numeric() and dtype != pl.Null:
            raise DataError(f"{where} must be a number, but the column's type is {dtype}. Read it as numbers (for a "
                            "CSV file: empty cells or null_values for missing ones), or cast it with "
                            f"pl.col({column!r}).cast(pl.Float64).", column)
        return x.cast(pl.Float64).fill_nan(None)
    if kind == "boolean":
        if dtype is None or dtype == pl.Boolean:
            return x.cast(pl.Boolean)
        if dtype.is_numeric():
            number = x.cast(pl.Float64).fill_nan(None)
            return pl.when(number == 1.0).then(True).when(number == 0.0).then(False).otherwise(None)
        if dtype == pl.String:
            word = x.str.strip_chars().str.to_lowercase()
            return (pl.when(word.is_in(["yes", "true", "1"])).then(True)
                    .when(word.is_in(["no", "false", "0"])).then(False).otherwise(None))
        raise DataError(f"{where} must be yes or no (true/false, 1/0), but the column's type is {dtype}.", column)
    # category or text: Python's spelling of integers ("2" for 2 and 2.0), as values.text_value
    if kind == "category" and isinstance(dtype, pl.Enum):
        return x
    if dtype is None or dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype.is_integer():
        text = x.cast(pl.String)
    elif dtype.is_float():
        number = x.fill_nan(None)
        text = (pl.when(number == number.floor()).then(number.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(number.cast(pl.String)))
    else:
        raise DataError(f"{where} must be text, but the column's type is {dtype}.", column)
    if kind == "category":
        return _key(text) if elementwise else _keys_of_distinct_values(text)
    return text


class _Builder:
    """Condition -> Polars expression (null = unknown), reading each column through ``source(column)``."""

    def __init__(self, source, enums: dict[str, list[str]] | None = None,
                 masks: dict[str, list[tuple[str, pl.Expr]]] | None = None):
        self.source = source
        self.enums = enums or {}  # column -> categories of an Enum column (read as it is, keyed here)
        # column -> [(the key of a spelling, x == spelling)] for every spelling the column holds
        self.masks = masks or {}

    def condition(self, node: L.Logic) -> pl.Expr:
        if isinstance(node, L.Test):
            return self.test(node)
        if isinstance(node, L.Not):
            return ~self.condition(node.item)
        parts = [self.condition(item) for item in node.items]
        if isinstance(node, L.All):
            return reduce(lambda a, b: a & b, parts)
        if isinstance(node, L.Any_):
            return reduce(lambda a, b: a | b, parts)
        surely_true = pl.sum_horizontal([p.fill_null(False).cast(pl.UInt32) for p in parts])
        maybe_true = pl.sum_horizontal([p.fill_null(True).cast(pl.UInt32) for p in parts])
        return (pl.when(surely_true >= node.count).then(True)
                .when(maybe_true < node.count).then(False).otherwise(None))

    def test(self, t: L.Test) -> pl.Expr:
        x = self.source(t.column)
        op, v = t.op, t.value
        if op == "missing":
            return x.is_null()
        if op == "known":
            return x.is_not_null()
        if t.kind == "category" and t.column in self.masks:  # the keys the lookup below would compare with
            wanted = {s for item in (v if isinstance(v, tuple) else (v,)) for s in key_spellings(item)}
            hits = [mask for key, mask in self.masks[t.column] if key in wanted]
            some = self.masks[t.column][0][1]
            inside = reduce(lambda a, b: a | b, hits) if hits else some != some  # none: false, null if null
            return inside if op in ("eq", "in") else ~inside
        if t.kind == "category" and t.column in self.enums:
            wanted = {category_key(item) for item in (v if isinstance(v, tuple) else (v,))}
            codes = [code for code, c in enumerate(self.enums[t.column]) if category_key(c) in wanted]
            physical = x.to_physical()
            # equalities on the codes: is_in hashes every row, a gather copies (each ~50x an equality here)
            inside = _one_of(physical, codes) if codes else physical != physical  # no code: false, null if null
            return inside if op in ("eq", "in") else ~inside
        if t.kind == "category":
            values = v if isinstance(v, tuple) else (v,)
            inside = _one_of(x, sorted({s for item in values for s in key_spellings(item)}))
            return inside if op in ("eq", "in") else ~inside
        if op in ("contains", "not_contains"):
            found = x.str.to_lowercase().str.contains(v.lower(), literal=True)
            return found if op == "contains" else ~found
        if op in ("in", "not_in"):
            inside = _one_of(x, list(v))
            return inside if op == "in" else ~inside
        value = pl.lit(v, dtype=pl.Boolean if t.kind == "boolean" else
                       pl.Float64 if t.kind == "number" else pl.String)
        return {"eq": x == value, "ne": x != value, "gt": x > value, "ge": x >= value, "lt": x < value,
                "le": x <= value}[op]


class _Rails(_Builder):
    """Condition -> Polars expression that is true where the condition is surely true (never null), on the two
    rails of logic.py: T(not a) = F(a), T(all) = and of T, F(all) = or of F, T(at least n) = count(T) >= n,
    F(at least n) = count(not F) < n. Null-free booleans skip Kleene's validity bookkeeping and when/then:
    50 rules over 2 M rows took 1.4 s three-valued (an "at least" with when/then 0.2 s alone), and less on rails."""

    def rail(self, node: L.Logic, want: bool) -> pl.Expr:
        if isinstance(node, L.Test):
            result = self.test(node)
            return (result if want else ~result).fill_null(False)
        if isinstance(node, L.Not):
            return self.rail(node.item, not want)
        if isinstance(node, L.AtLeast):  # F(at least n of k) = at least k - n + 1 of the F rails
            parts = [self.rail(item, want) for item in node.items]
            return _at_least(node.count if want else len(parts) - node.count + 1, parts)
        parts = [self.rail(item, want) for item in node.items]
        if isinstance(node, L.All) == want:
            return reduce(lambda a, b: a & b, parts)
        return reduce(lambda a, b: a | b, parts)


def _at_least(n: int, parts: list[pl.Expr]) -> pl.Expr:
    """At least n of the null-free booleans are true. Few parts: "at least j of the first i" as bitmaps (and, or),
    ~2.5x faster than summing the parts as integers (a byte or more per row each); the expression holds about
    C(k, n) paths, so many parts are summed instead."""
    if n <= 0:
        return pl.lit(True)
    if n > len(parts):
        return pl.lit(False)
    if len(parts) <= 6:
        at_least: list = [None] * (n + 1)  # at_least[j]: at least j of the parts so far (None: not yet possible)
        for i, part in enumerate(parts):
            for j in range(min(i + 1, n), 0, -1):
                one_more = part if j == 1 else at_least[j - 1] & part
                at_least[j] = one_more if at_least[j] is None else at_least[j] | one_more
        return at_least[n]
    count_type = pl.UInt8 if len(parts) < 256 else pl.UInt32
    return reduce(lambda a, b: a + b, [part.cast(count_type) for part in parts]) >= n


def _one_of(x: pl.Expr, values: list) -> pl.Expr:
    """x is one of the values (null for null): a few equalities cost less than is_in, which hashes every row."""
    if 0 < len(values) <= 8:
        return reduce(lambda a, b: a | b, [x == value for value in values])
    return x.is_in(values)


def expressions(pairs, schema=None) -> dict[str, pl.Expr]:
    """{rule id: expression}, null where the condition is unknown; self-contained (each reads its columns)."""
    kinds = _kinds(pairs)
    builder = _Builder(lambda column: _read(column, kinds[column], None if schema is None else schema[column]),
                       _enums(kinds, schema))
    return {rule_id: builder.condition(logic) for rule_id, logic in pairs}


def _kinds(pairs) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for _, logic in pairs:
        for t in L.tests(logic):
            kinds.setdefault(t.column, t.kind)
    return kinds


def _enums(kinds: dict[str, str], schema) -> dict[str, list[str]]:
    if schema is None:
        return {}
    return {c: list(schema[c].categories) for c, kind in kinds.items()
            if kind == "category" and isinstance(schema[c], pl.Enum)}


def _schema(frame):
    return frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema


def _fired(ruleset, frame, names: list[str], elementwise: bool = False) -> tuple[pl.LazyFrame, list[str]]:
    """The frame (lazy) with each rule's column (true only where it fires) under ``names``, and the temporary
    column names to drop afterwards. ``elementwise``: only row-by-row expressions, so Polars' streaming engine
    runs them batch by batch (a category's key is then computed per row, not per distinct value)."""
    from ..backends.vectorized import check_columns

    schema = _schema(frame)
    check_columns(list(schema.names()), ruleset._pairs)
    kinds = _kinds(ruleset._pairs)
    enums = _enums(kinds, schema)
    spelt = Spelt({}, {}, {}) if elementwise or not isinstance(frame, pl.DataFrame) else _spelt(ruleset, frame, kinds,
                                                                                           schema)
    enums.update({column: list(series.dtype.categories) for column, series in spelt.enums.items()})
    temp = {column: f"{_TEMP}{i}" for i, column in enumerate(kinds)}
    mask_names = {column: {spelling: f"{temp[column]}_{j}" for j, spelling in enumerate(masks)}
                  for column, masks in spelt.masks.items()}
    taken = set(schema.names())
    # a data column named like a temporary one: make ours longer
    while taken & {*temp.values(), *(n for names_ in mask_names.values() for n in names_.values())}:
        temp = {column: "_" + name for column, name in temp.items()}
        mask_names = {column: {s: "_" + n for s, n in names_.items()} for column, names_ in mask_names.items()}
    read = []
    for column, kind in kinds.items():
        if column in spelt.enums:
            read.append(pl.lit(spelt.enums[column]).alias(temp[column]))
        elif column in spelt.masks:  # the tests read the masks; the column itself only for "is missing"
            read.append(pl.col(column).alias(temp[column]))
            read += [pl.lit(mask).alias(mask_names[column][s]) for s, mask in spelt.masks[column].items()]
        else:
            read.append(_read(column, kind, schema[column], elementwise).alias(temp[column]))
    masks = {column: [(spelt.keys[column][s], pl.col(n)) for s, n in names_.items()]
             for column, names_ in mask_names.items()}
    builder = _Rails(lambda column: pl.col(temp[column]), enums, masks)
    rules = [builder.rail(logic, True).alias(name) for name, (_, logic) in zip(names, ruleset._pairs)]
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    dropped = [*temp.values(), *(n for names_ in mask_names.values() for n in names_.values())]
    return lazy.with_columns(read).with_columns(rules), dropped


# At most this many expected spellings in a column: it is compared as text, one equality per spelling (~1 ns a row
# each here: a short string's view holds it inline); more: cast to an Enum (~15-20 ns a row, hashing each string).
EQUALITIES = 12


@dataclass(frozen=True)
class Spelt:
    """The String category columns of an eager frame read without keying each row. ``masks``: column ->
    {spelling: column == spelling} for every spelling it holds (few), ``keys``: their keys (``_key``), ``found``:
    the spellings among them that the rules did not expect (found in the data); ``enums``: column -> the column
    cast to an Enum of the expected spellings (many, and nothing else)."""

    masks: dict[str, dict[str, pl.Series]]
    enums: dict[str, pl.Series]
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    found: dict[str, list[str]] = field(default_factory=dict)


def _spellings(ruleset, kinds: dict[str, str], schema) -> dict[str, list[str]]:
    """Each String category column -> the spellings the rules expect in it: the vocabulary's values, the tested
    values, and every key such a value has on an engine (values.category_key, key_spellings)."""
    features = ruleset.vocabulary.by_column()
    out = {}
    for column, kind in kinds.items():
        if kind != "category" or schema[column] != pl.String:
            continue
        allowed = list(features[column].values) if column in features else []
        for _, logic in ruleset._pairs:
            for t in L.tests(logic):
                if t.column == column and t.kind == "category" and t.op not in ("missing", "known"):
                    allowed += list(t.value if isinstance(t.value, tuple) else (t.value,))
        spellings = list(dict.fromkeys(s for value in allowed
                                       for s in (value, category_key(value), *key_spellings(value))))
        if spellings:
            out[column] = spellings
    return out


def _spelt(ruleset, frame: pl.DataFrame, kinds: dict[str, str], schema) -> Spelt:
    """The String category columns of an eager frame that can be read without keying each row, and how.

    Keying each row (its category key per distinct value, looked up per row) hashes every string: ~0.18 s per
    column of 2 million strings here, more than the 50 rules take on Enum columns. A column holding few distinct
    spellings needs no key per row: a test is true where the value is one of the spellings whose key (``_key``,
    as the lookup computes it) is a tested one. A column of at most ``EQUALITIES`` expected spellings is compared
    to each of them (one pass of view comparisons each; their "or" counts the values that are expected); the
    other spellings it holds (" Oak", an unknown value) are found by filtering the rows that are none of them,
    and compared the same way while there are at most ``EQUALITIES`` spellings in all. A column of more expected
    spellings is cast to an Enum of them (a value outside the Enum becomes null) and the rules compare codes, if
    it holds nothing else. Any other column keeps the key lookup: the answers are the same on every route, only
    the time differs."""
    spellings = _spellings(ruleset, kinds, schema)
    few = {c: s for c, s in spellings.items() if len(s) <= EQUALITIES}
    many = {c: s for c, s in spellings.items() if len(s) > EQUALITIES}
    masks: dict[str, dict[str, pl.Series]] = {}
    keys: dict[str, dict[str, str]] = {}
    found: dict[str, list[str]] = {}
    if few:
        names = {c: [f"{i}_{j}" for j in range(len(s))] for i, (c, s) in enumerate(few.items())}
        computed = frame.select([(pl.col(c) == s).alias(name) for c, spelt in few.items()
                                 for s, name in zip(spelt, names[c])])
        for c, spelt in few.items():
            columns = {s: computed.get_column(name).alias(c) for s, name in zip(spelt, names[c])}
            # null where the value is missing, false where it is none of the spellings
            expected = reduce(lambda a, b: a | b, columns.values())
            if expected.sum() < frame.height - frame.get_column(c).null_count():
                others = frame.get_column(c).filter(~expected).unique(maintain_order=True).to_list()
                if len(columns) + len(others) > EQUALITIES:
                    continue  # many other spellings: the key lookup
                extra = frame.select([(pl.col(c) == o).alias(str(j)) for j, o in enumerate(others)])
                columns.update({o: extra.get_column(str(j)).alias(c) for j, o in enumerate(others)})
                found[c] = others
            masks[c] = columns
            spellings_ = pl.Series(c, list(columns), dtype=pl.String)
            keys[c] = dict(zip(columns, pl.select(_key(pl.lit(spellings_))).to_series().to_list()))
    enums = {}
    if many:
        cast = frame.select([pl.col(c).cast(pl.Enum(s), strict=False) for c, s in many.items()])
        # a value outside the Enum became null: then the column is not spelt as expected
        enums = {c: cast.get_column(c) for c in many
                 if cast.get_column(c).null_count() == frame.get_column(c).null_count()}
    return Spelt(masks, enums, keys, found)


def _same_kind(frame, lazy: pl.LazyFrame):
    return lazy.collect() if isinstance(frame, pl.DataFrame) else lazy


def matches(ruleset, frame):
    """Only the rule columns (named by rule id), like RuleSet.matches; the same kind of frame."""
    lazy, _ = _fired(ruleset, frame, [f"{_TEMP}rule {i}" for i in range(len(ruleset.rule_ids))])
    selected = lazy.select([pl.col(f"{_TEMP}rule {i}").alias(rule_id) for i, rule_id in enumerate(ruleset.rule_ids)])
    return _same_kind(frame, selected)


def with_matches(ruleset, frame, prefix: str):
    names = match_columns(ruleset, prefix)
    check_new_columns(_schema(frame).names(), names, prefix)
    lazy, temp = _fired(ruleset, frame, names)
    return _same_kind(frame, lazy.drop(temp))


def with_decisions(ruleset, frame, prefix: str):
    names = decision_columns(prefix)
    check_new_columns(_schema(frame).names(), names, prefix)
    rule_names = [f"{_TEMP}rule {i}" for i in range(len(ruleset.rule_ids))]
    lazy, temp = _fired(ruleset, frame, rule_names)
    fired = dict(zip(ruleset.rule_ids, (pl.col(name) for name in rule_names)))
    label, deciding, confidence = decision_expressions(decision_plan(ruleset), fired)
    out = lazy.with_columns(label.alias(names[0]), deciding.alias(names[1]), confidence.alias(names[2]))
    return _same_kind(frame, out.drop(temp + rule_names))


def decision_expressions(plan, fired: dict[str, pl.Expr]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(label, deciding rule, confidence) from each rule's fired column (true / false, never null)."""
    none_str, none_float = pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.Float64)
    if plan.kind == "first match":
        if not plan.voters:
            return pl.lit(plan.default, dtype=pl.String), none_str, none_float
        label, deciding, confidence = pl, pl, pl
        for rule_id, voted, weight in plan.voters:
            label = label.when(fired[rule_id]).then(pl.lit(voted, dtype=pl.String))
            deciding = deciding.when(fired[rule_id]).then(pl.lit(rule_id, dtype=pl.String))
            confidence = confidence.when(fired[rule_id]).then(pl.lit(weight, dtype=pl.Float64))
        return (label.otherwise(pl.lit(plan.default, dtype=pl.String)), deciding.otherwise(none_str),
                confidence.otherwise(none_float))
    scores = []
    for name in plan.labels:
        score = pl.lit(0.0, dtype=pl.Float64)
        for rule_id, weight in plan.backers(name):  # summed in priority order, as policy.vote_scores does
            score = score + fired[rule_id].cast(pl.Float64) * weight
        scores.append(score)
    total = reduce(lambda a, b: a + b, scores)
    label, deciding, confidence = pl, pl, pl
    for k, name in enumerate(plan.labels):
        wins = [scores[k] > 0] + [scores[k] > scores[j] for j in range(k)] + \
               [scores[k] >= scores[j] for j in range(k + 1, len(plan.labels))]
        won = reduce(lambda a, b: a & b, wins)
        label = label.when(won).then(pl.lit(name, dtype=pl.String))
        confidence = confidence.when(won).then(scores[k] / total)
        for rule_id, _ in plan.backers(name):
            deciding = deciding.when(won & fired[rule_id]).then(pl.lit(rule_id, dtype=pl.String))
    if label is pl:  # no labels voted for
        return pl.lit(plan.default, dtype=pl.String), none_str, none_float
    return (label.otherwise(pl.lit(plan.default, dtype=pl.String)),
            deciding.otherwise(none_str) if deciding is not pl else none_str, confidence.otherwise(none_float))


# ---- files (the `rulecraft evaluate --engine polars` command) ----------------------------------------------------

def evaluate_file(ruleset, data, out, keep: list[str], decide: bool) -> None:
    """Rules over a Parquet or CSV file into a Parquet or CSV file, streamed (Polars' streaming engine reads and
    writes in batches, so a file larger than memory is evaluated in bounded memory). Output: the ``keep`` columns,
    one 0/1 column per rule (named by id), and with ``decide`` the decision columns."""
    from ..backends.values import MISSING_WORDS
    from . import DECISION_COLUMNS

    try:
        if str(data).lower().endswith(".parquet"):
            source = pl.scan_parquet(data)
        else:  # the words pandas' CSV reader reads as missing, so both engines read a file alike
            # number features read as numbers whatever the first rows hold (an all-empty column, say); a cell
            # that is not a number stops the read with the engine's message naming the column and the value
            numbers = {c: pl.Float64 for c, kind in _kinds(ruleset._pairs).items() if kind == "number"}
            source = pl.scan_csv(data, null_values=sorted(MISSING_WORDS), infer_schema_length=100_000,
                                 schema_overrides=numbers)
        names = source.collect_schema().names()
        absent = [c for c in keep if c not in names]
        if absent:
            raise DataError(f"--keep: the data has no column '{absent[0]}'.", absent[0])
        source = source.select(list(dict.fromkeys([*keep, *(c for c in ruleset.columns if c in names)])))
        if decide:
            check_new_columns([*keep, *ruleset.rule_ids], DECISION_COLUMNS, "")
        rule_names = [f"{_TEMP}rule {i}" for i in range(len(ruleset.rule_ids))]
        lazy, _ = _fired(ruleset, source, rule_names, elementwise=True)
        fired = dict(zip(ruleset.rule_ids, (pl.col(name) for name in rule_names)))
        columns = [pl.col(c) for c in keep]
        columns += [pl.col(name).cast(pl.Int8).alias(rule_id) for name, rule_id in zip(rule_names, ruleset.rule_ids)]
        if decide:
            decided = decision_expressions(decision_plan(ruleset), fired)
            columns += [e.alias(name) for e, name in zip(decided, DECISION_COLUMNS)]
        result = lazy.select(columns)
        if str(out).lower().endswith(".parquet"):
            result.sink_parquet(out)
        else:
            result.sink_csv(out)
    except (pl.exceptions.PolarsError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Polars cannot read or write the data: {first}") from None
