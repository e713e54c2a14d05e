"""DuckDB: every rule as SQL run inside DuckDB on a relation (a table, a query, a Parquet or CSV file), never
through pandas, so ``duckdb.read_parquet(...)`` streams through the rules in bounded memory.

Three-valued logic is SQL's own: a comparison with NULL is NULL (unknown), AND / OR / NOT follow Kleene's tables,
and a rule column is ``(condition) IS TRUE``: true only where the condition is true, never NULL. ``at least N of``
counts items that are surely true (``COALESCE(item, FALSE)``) and not surely false (``COALESCE(item, TRUE)``).

Missing is missing: DuckDB orders NaN above every number and NaN = NaN is true there, so a number column is read
as ``NULLIF(CAST(x AS DOUBLE), 'NaN')``. A category value is compared by its key, ``nfc_normalize(lower(
nfc_normalize(<x without surrounding spaces>)))`` (DuckDB's lower() is Unicode-aware), against every form such a
key can take (engines.key_spellings). The SQL is built from the checked rules only: identifiers are double-quoted,
text values single-quoted with quotes doubled, numbers printed by Python as floating-point literals.

Each column is read once into a temporary column of an inner projection; the rules read those.
"""
from __future__ import annotations

import math

import duckdb

from .. import logic as L
from ..backends.values import SPACES
from ..errors import DataError
from . import check_new_columns, decision_columns, decision_plan, key_spellings, match_columns

_TEMP = "__rulecraft_"
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text_literal(value: str) -> str:
    if "\x00" in value:
        raise DataError("A text value holds the character NUL, which DuckDB cannot compare.")
    return "'" + value.replace("'", "''") + "'"


def number_literal(value: float) -> str:
    number = float(value)
    if not math.isfinite(number):  # the checker allows finite numbers only
        raise ValueError(f"not a finite number: {value!r}")
    text = repr(number)
    return text if "e" in text else text + "e0"  # an exponent makes a DOUBLE literal (not a DECIMAL)


def _is_numeric(type_name: str) -> bool:
    return type_name in _NUMERIC or type_name.startswith("DECIMAL")


def _read(column: str, kind: str, type_name: str) -> str:
    """SQL reading the column as the tests read it: DOUBLE with NULL for missing, BOOLEAN, or VARCHAR."""
    x, where = identifier(column), f"'{column}'"
    if kind == "number":
        if type_name == "BOOLEAN":
            raise DataError(f"{where} must be a number, but the column holds yes/no (true/false) values. A true/false "
                            "column cannot be compared with numbers: check that the column is the right one.", column)
        if not _is_numeric(type_name) and type_name != '"NULL"':
            raise DataError(f"{where} must be a number, but the column's type is {type_name}. Read it as numbers "
                            f"(for a CSV file: empty cells or nullstr for missing ones), or CAST({x} AS DOUBLE).",
                            column)
        return f"NULLIF(CAST({x} AS DOUBLE), CAST('NaN' AS DOUBLE))"
    if kind == "boolean":
        if type_name == "BOOLEAN":
            return x
        if _is_numeric(type_name):
            number = f"CAST({x} AS DOUBLE)"
            return f"CASE WHEN {number} = 1 THEN TRUE WHEN {number} = 0 THEN FALSE END"
        if type_name == "VARCHAR":
            word = f"lower(trim({x}))"
            return (f"CASE WHEN {word} IN ('yes', 'true', '1') THEN TRUE "
                    f"WHEN {word} IN ('no', 'false', '0') THEN FALSE END")
        raise DataError(f"{where} must be yes or no (true/false, 1/0), but the column's type is {type_name}.", column)
    if type_name == "VARCHAR" or type_name.startswith("ENUM") or (_is_numeric(type_name) and "INT" in type_name):
        text = f"CAST({x} AS VARCHAR)"
    elif type_name in ("FLOAT", "DOUBLE", "REAL") or type_name.startswith("DECIMAL"):
        number = f"NULLIF(CAST({x} AS DOUBLE), CAST('NaN' AS DOUBLE))"
        text = (f"CASE WHEN {number} = floor({number}) THEN CAST(CAST({number} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({number} AS VARCHAR) END")
    else:
        raise DataError(f"{where} must be text, but the column's type is {type_name}.", column)
    if kind == "category":
        return f"nfc_normalize(lower(nfc_normalize({_trimmed(text)})))"
    return text


def _trimmed(text: str) -> str:
    """``text`` without surrounding SPACES (what str.strip() removes). Not trim(x, characters): it reads its list of
    characters again for every row, and with SPACES' 29 it took 2.5 s of CPU for 6 category columns of 5 million
    values here (the whole category key: 0.6 s with this regular expression; `$` is the end of the text in RE2)."""
    spaces = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES) + "]"
    return f"regexp_replace({text}, '^{spaces}+|{spaces}+$', '', 'g')"


class _Builder:
    """Condition -> SQL text (NULL = unknown), reading each column through ``source(column)``."""

    def __init__(self, source):
        self.source = source

    def condition(self, node: L.Logic) -> str:
        if isinstance(node, L.Test):
            return self.test(node)
        if isinstance(node, L.Not):
            return f"(NOT {self.condition(node.item)})"
        parts = [self.condition(item) for item in node.items]
        if isinstance(node, L.All):
            return "(" + " AND ".join(parts) + ")"
        if isinstance(node, L.Any_):
            return "(" + " OR ".join(parts) + ")"
        if not parts:
            return "TRUE" if node.count <= 0 else "FALSE"
        surely_true = " + ".join(f"CAST(COALESCE({p}, FALSE) AS INTEGER)" for p in parts)
        maybe_true = " + ".join(f"CAST(COALESCE({p}, TRUE) AS INTEGER)" for p in parts)
        return (f"(CASE WHEN ({surely_true}) >= {node.count} THEN TRUE "
                f"WHEN ({maybe_true}) < {node.count} THEN FALSE END)")

    def test(self, t: L.Test) -> str:
        x = self.source(t.column)
        op, v = t.op, t.value
        if op == "missing":
            return f"({x} IS NULL)"
        if op == "known":
            return f"({x} IS NOT NULL)"
        if t.kind == "category":
            values = v if isinstance(v, tuple) else (v,)
            spellings = sorted({s for item in values for s in key_spellings(item)})
            inside = f"{x} IN ({', '.join(map(text_literal, spellings))})"
            return f"({inside})" if op in ("eq", "in") else f"(NOT ({inside}))"
        if op in ("contains", "not_contains"):
            found = f"contains(lower({x}), {text_literal(v.lower())})"
            return f"({found})" if op == "contains" else f"(NOT {found})"
        literal = self.literal(t.kind)
        if op in ("in", "not_in"):
            inside = f"{x} IN ({', '.join(literal(item) for item in v)})"
            return f"({inside})" if op == "in" else f"(NOT ({inside}))"
        sql_op = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        return f"({x} {sql_op} {literal(v)})"

    @staticmethod
    def literal(kind: str):
        if kind == "number":
            return number_literal
        if kind == "boolean":
            return lambda value: "TRUE" if value else "FALSE"
        return text_literal


def _kinds(pairs) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for _, logic in pairs:
        for t in L.tests(logic):
            kinds.setdefault(t.column, t.kind)
    return kinds


def rule_sql(ruleset, types: dict[str, str] | None = None) -> dict[str, str]:
    """{rule id: SQL boolean expression, NULL where unknown}, self-contained (reads the data columns by name).
    ``types``: column -> DuckDB type name; None assumes each column holds its feature's own type."""
    kinds = _kinds(ruleset._pairs)
    default = {"number": "DOUBLE", "boolean": "BOOLEAN", "category": "VARCHAR", "text": "VARCHAR"}
    builder = _Builder(lambda column: _read(column, kinds[column], (types or {}).get(column, default[kinds[column]])))
    return {rule_id: builder.condition(logic) for rule_id, logic in ruleset._pairs}


def _fired(ruleset, relation: duckdb.DuckDBPyRelation, names: list[str]):
    """(relation with each rule's column under ``names``, temporary columns to drop)."""
    from ..backends.vectorized import check_columns

    columns = list(relation.columns)
    check_columns(columns, ruleset._pairs)
    types = {c: str(t) for c, t in zip(columns, relation.types)}
    kinds = _kinds(ruleset._pairs)
    temp = {column: f"{_TEMP}{i}" for i, column in enumerate(kinds)}
    while set(columns) & set(temp.values()):
        temp = {column: "_" + name for column, name in temp.items()}
    read = ", ".join(f"{_read(c, kind, types[c])} AS {identifier(temp[c])}" for c, kind in kinds.items())
    inner = relation.project(f"*{', ' + read if read else ''}")
    builder = _Builder(lambda column: identifier(temp[column]))
    rules = [f"({builder.condition(logic)}) IS TRUE AS {identifier(name)}"
             for name, (_, logic) in zip(names, ruleset._pairs)]
    return inner, list(temp.values()), rules


def _exclude(names: list[str]) -> str:
    return f"* EXCLUDE ({', '.join(map(identifier, names))})" if names else "*"


def with_matches(ruleset, relation, prefix: str):
    names = match_columns(ruleset, prefix)
    check_new_columns(relation.columns, names, prefix)
    inner, temp, rules = _fired(ruleset, relation, names)
    return inner.project(", ".join([_exclude(temp), *rules]))


def with_decisions(ruleset, relation, prefix: str):
    names = decision_columns(prefix)
    check_new_columns(relation.columns, names, prefix)
    rule_names = [f"{_TEMP}rule {i}" for i in range(len(ruleset.rule_ids))]
    inner, temp, rules = _fired(ruleset, relation, rule_names)
    fired = inner.project(", ".join([_exclude(temp), *rules]))
    columns = dict(zip(ruleset.rule_ids, map(identifier, rule_names)))
    label, deciding, confidence = decision_sql(decision_plan(ruleset), columns)
    return fired.project(", ".join([_exclude(rule_names), f"{label} AS {identifier(names[0])}",
                                    f"{deciding} AS {identifier(names[1])}",
                                    f"{confidence} AS {identifier(names[2])}"]))


def decision_sql(plan, fired: dict[str, str]) -> tuple[str, str, str]:
    """(label, deciding rule, confidence) as SQL from each rule's fired column (true / false, never NULL)."""
    default = "CAST(NULL AS VARCHAR)" if plan.default is None else text_literal(plan.default)
    if plan.kind == "first match":
        if not plan.voters:
            return default, "CAST(NULL AS VARCHAR)", "CAST(NULL AS DOUBLE)"
        label = " ".join(f"WHEN {fired[r]} THEN {text_literal(v)}" for r, v, _ in plan.voters)
        deciding = " ".join(f"WHEN {fired[r]} THEN {text_literal(r)}" for r, _, _ in plan.voters)
        confidence = " ".join(f"WHEN {fired[r]} THEN {number_literal(w)}" for r, _, w in plan.voters)
        return (f"CASE {label} ELSE {default} END", f"CASE {deciding} ELSE CAST(NULL AS VARCHAR) END",
                f"CASE {confidence} ELSE CAST(NULL AS DOUBLE) END")
    scores = []
    for name in plan.labels:  # summed in priority order, as policy.vote_scores does
        terms = "".join(f" + CASE WHEN {fired[r]} THEN {number_literal(w)} ELSE 0e0 END" for r, w in plan.backers(name))
        scores.append(f"(0e0{terms})")
    total = "(" + " + ".join(scores) + ")"
    labels, deciding, confidence = [], [], []
    for k, name in enumerate(plan.labels):
        wins = [f"{scores[k]} > 0"] + [f"{scores[k]} > {scores[j]}" for j in range(k)] + \
               [f"{scores[k]} >= {scores[j]}" for j in range(k + 1, len(plan.labels))]
        won = "(" + " AND ".join(wins) + ")"
        labels.append(f"WHEN {won} THEN {text_literal(name)}")
        confidence.append(f"WHEN {won} THEN {scores[k]} / {total}")
        deciding.extend(f"WHEN {won} AND {fired[r]} THEN {text_literal(r)}" for r, _ in plan.backers(name))
    deciding_sql = f"CASE {' '.join(deciding)} ELSE CAST(NULL AS VARCHAR) END" if deciding else "CAST(NULL AS VARCHAR)"
    return (f"CASE {' '.join(labels)} ELSE {default} END", deciding_sql,
            f"CASE {' '.join(confidence)} ELSE CAST(NULL AS DOUBLE) END")


# ---- files (the `rulecraft evaluate --engine duckdb` command) ----------------------------------------------------

# DuckDB's cap on its buffers; the process adds Python, pandas and NumPy (~100-150 MB) on top.
MEMORY_LIMIT = "700MB"
# DuckDB runs on one thread per query: rows must stay in order (the output lines up with the input row by row), and
# with two threads DuckDB buffers finished batches outside memory_limit to write them in order (peak of the whole
# process on a 5 million-row Parquet file here: 742 MB with 2 threads, 1,046 MB at 20 million rows, at a 700 MB or a
# 1 GB cap alike; 235 MB with 1). The second core comes from slices instead: a Parquet file is cut into runs of
# whole row groups (SLICE_ROWS rows or more), WORKERS slices are evaluated at once, each by its own one-thread query
# streamed into a bounded queue (BATCH_ROWS rows a batch, QUEUE_BATCHES batches), and DuckDB's writer, on one
# thread, reads the batches in order as an Arrow stream. Peak at 20 million rows: 473 MB (docs/benchmarks.md). A CSV
# file (no row groups) or a Parquet file of one row group runs as one query on one thread.
THREADS = 1
WORKERS = 2
SLICE_ROWS = 500_000
BATCH_ROWS = 122_880      # DuckDB's row group size
QUEUE_BATCHES = 8         # a worker waits once it is this many batches (~1 M rows) ahead of the writer
_ROW_NUMBER = "file_row_number"


def evaluate_file(ruleset, data, out, keep: list[str], decide: bool, memory_limit: str = MEMORY_LIMIT) -> None:
    """Rules over a Parquet or CSV file into a Parquet or CSV file inside DuckDB, which streams both (a file larger
    than memory is evaluated in bounded memory; ``memory_limit`` caps DuckDB's buffers). Output: the ``keep``
    columns, one 0/1 column per rule (named by id), and with ``decide`` the decision columns, rows in the input's
    order. File paths are passed to DuckDB as arguments, never spliced into SQL."""
    from ..backends.values import MISSING_WORDS

    connection = duckdb.connect()
    try:
        connection.sql(f"SET memory_limit = {text_literal(memory_limit)}")
        connection.sql(f"SET threads = {THREADS}")
        parquet = str(data).lower().endswith(".parquet")
        if parquet:
            source = connection.read_parquet(str(data))
        else:
            # number features read as numbers whatever the first rows hold (see the Polars engine)
            numbers = {c: "DOUBLE" for c, kind in _kinds(ruleset._pairs).items() if kind == "number"}
            header = connection.read_csv(str(data), header=True, na_values=sorted(MISSING_WORDS)).columns
            source = connection.read_csv(str(data), header=True, na_values=sorted(MISSING_WORDS),
                                         dtype={c: t for c, t in numbers.items() if c in header})
        names = list(source.columns)
        absent = [c for c in keep if c not in names]
        if absent:
            raise DataError(f"--keep: the data has no column '{absent[0]}'.", absent[0])
        result = _file_result(ruleset, source, keep, decide)  # checks the columns before anything runs
        slices = _slices(connection, data) if parquet and _ROW_NUMBER not in names else []
        if len(slices) > 1:
            _write_slices(connection, ruleset, data, slices, out, keep, decide, result.types)
        else:
            _write(result, out)
    except duckdb.Error as e:
        # DuckDB's first lines say where and what (line, the line's text, the column and value); the rest is advice
        # about DuckDB's own options
        lines = [line for line in str(e).strip().splitlines() if line.strip()][:3] or [type(e).__name__]
        raise DataError(f"DuckDB cannot read or write the data: {' '.join(lines)}. A number column must hold "
                        "numbers (empty cells for missing ones).") from None
    finally:
        connection.close()


def _file_result(ruleset, source, keep: list[str], decide: bool):
    """The relation ``evaluate_file`` writes: the keep columns, a 0/1 TINYINT per rule, the decision columns."""
    from . import DECISION_COLUMNS

    needed = list(dict.fromkeys([*keep, *(c for c in ruleset.columns if c in source.columns)]))
    source = source.project(", ".join(map(identifier, needed)))
    if decide:
        check_new_columns([*keep, *ruleset.rule_ids], DECISION_COLUMNS, "")
    rule_names = [f"{_TEMP}rule {i}" for i in range(len(ruleset.rule_ids))]
    inner, temp, rules = _fired(ruleset, source, rule_names)
    fired = inner.project(", ".join([_exclude(temp), *rules]))
    columns = [identifier(c) for c in keep]
    columns += [f"CAST({identifier(name)} AS TINYINT) AS {identifier(rule_id)}"
                for name, rule_id in zip(rule_names, ruleset.rule_ids)]
    if decide:
        decided = decision_sql(decision_plan(ruleset), dict(zip(ruleset.rule_ids, map(identifier, rule_names))))
        columns += [f"{sql} AS {identifier(name)}" for sql, name in zip(decided, DECISION_COLUMNS)]
    return fired.project(", ".join(columns))


def _write(relation, out) -> None:
    if str(out).lower().endswith(".parquet"):
        relation.write_parquet(str(out))
    else:
        relation.write_csv(str(out), header=True)


def _slices(connection, data) -> list[tuple[int, int]]:
    """[start, stop) row ranges of the Parquet file, each a run of whole row groups of SLICE_ROWS rows or more (the
    last may be shorter), so a slice's query reads only its own row groups. No slices for several files (a pattern):
    file_row_number starts again in each."""
    groups = connection.execute("SELECT file_name, row_group_id, any_value(row_group_num_rows) "
                                "FROM parquet_metadata(?) GROUP BY ALL ORDER BY row_group_id", [str(data)]).fetchall()
    if len({name for name, _, _ in groups}) > 1:
        return []
    slices, start, stop = [], 0, 0
    for _, _, rows in groups:
        stop += rows
        if stop - start >= SLICE_ROWS:
            slices.append((start, stop))
            start = stop
    if stop > start:
        slices.append((start, stop))
    return slices


def _write_slices(connection, ruleset, data, slices, out, keep: list[str], decide: bool, types) -> None:
    """Evaluate ``slices`` of the Parquet file WORKERS at a time (one DuckDB thread each) and write their batches
    to ``out`` in the input's order. Memory: at most WORKERS slices in flight, each QUEUE_BATCHES batches ahead."""
    import itertools
    import queue
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    done = object()
    stop = threading.Event()
    queues = [queue.Queue(maxsize=QUEUE_BATCHES) for _ in slices]

    def put(k, item) -> bool:
        while not stop.is_set():
            try:
                queues[k].put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def work(k: int) -> None:
        if stop.is_set():
            return
        cursor = cursors[k]
        try:
            first, last = slices[k]
            source = cursor.read_parquet(str(data), file_row_number=True).filter(
                f"{_ROW_NUMBER} >= {first} AND {_ROW_NUMBER} < {last}")
            result = _file_result(ruleset, source, keep, decide)
            reader = result.to_arrow_reader(BATCH_ROWS) if hasattr(result, "to_arrow_reader") else \
                result.fetch_record_batch(BATCH_ROWS)  # duckdb < 1.4
            for batch in reader:
                if not put(k, batch):
                    return
            put(k, done)
        except BaseException as e:  # handed to the writer, which raises it
            put(k, e)
        finally:
            cursor.close()

    def in_order():
        for k in range(len(slices)):
            while (item := queues[k].get()) is not done:
                if isinstance(item, BaseException):
                    failure.append(item)
                    raise item
                yield item

    failure: list[BaseException] = []
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="rulecraft-duckdb") as pool:
        try:
            cursors = [connection.cursor() for _ in slices]  # made here: a connection is not shared by threads
            for k in range(len(slices)):
                pool.submit(work, k)
            batches = in_order()
            first = next(batches)
            # DuckDB's own writer, on this connection's one thread, reads the batches in order (cheaper than
            # pyarrow's: 1 s against 3 s of CPU for 5 million rows x 50 rule columns here)
            reader = pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches))
            streamed = connection.from_arrow(reader)
            if streamed.types != types:  # a type Arrow holds as another (UUID as text, say): back to DuckDB's
                streamed = streamed.project(", ".join(f"CAST({identifier(c)} AS {t}) AS {identifier(c)}"
                                                      for c, t in zip(streamed.columns, types)))
            try:
                _write(streamed, out)
            except duckdb.Error:
                if failure:  # a slice failed: its own error, not DuckDB's report of the reader's
                    raise failure[0] from None
                raise
        finally:
            stop.set()  # workers still running give up at their next batch
