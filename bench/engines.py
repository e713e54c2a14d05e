"""Every engine in the comparison behind one small interface.

An engine has a ``batch`` callable (a whole data set: a DataFrame for vectorized engines, a list of mappings for
row-at-a-time ones) and/or a ``single`` callable (one case as a mapping). ``matrix`` turns either's raw answer into
a (rules x rows) boolean array, outside the timed region, so answers can be compared cell by cell with Rulecraft's.

Peers that are not installed are skipped with the reason; install them with ``pip install -e '.[bench]'``.
"""
from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import translate
from .workload import BenchRule

NUMPY_BASELINE = "hand-written NumPy, factorized"
NUMPY_STRINGS = "hand-written NumPy, string compares"
# Every peer the benchmark names, as its package is called (a missing one is reported in ``skipped`` under this name).
PEERS = {"zen-engine": "zen-engine", "rule-engine": "rule-engine", "json-logic": "json-logic-qubit",
         "Snorkel": "snorkel"}


@dataclass
class Engine:
    name: str
    kind: str                                  # "vectorized" or "row"
    batch: Callable | None = None
    single: Callable | None = None
    batch_matrix: Callable | None = None       # raw batch answer -> (rules x rows) bool
    single_fired: Callable | None = None       # raw single answer -> tuple of bools, one per rule
    note: str = ""
    rulecraft: bool = False
    version: str = ""
    extra: dict = field(default_factory=dict)


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return ""


def _exec(source: str, name: str, namespace: dict):
    """Compile the benchmark's own generated source (never user text: it is built from workload.py's tree)."""
    exec(compile(source, f"<bench {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]


def build(rules: list[BenchRule], ruleset, only: set[str] | None = None) -> tuple[list[Engine], dict[str, str]]:
    """(engines that can run here, {peer: why it was skipped})."""
    n = len(rules)
    ids = [r.id for r in rules]
    position = {rule_id: i for i, rule_id in enumerate(ids)}
    engines: list[Engine] = []
    skipped: dict[str, str] = {}

    def fired_ids(answer) -> tuple[bool, ...]:
        out = [False] * n
        for rule_id in answer:
            out[position[rule_id]] = True
        return tuple(out)

    def rows_matrix(answers, fired) -> np.ndarray:
        return np.array([fired(a) for a in answers], dtype=bool).reshape(-1, n).T

    assert ruleset.rule_ids == ids, "the compiled rule set must keep the workload's rule order"
    engines.append(Engine(
        "Rulecraft vectorized", "vectorized", rulecraft=True, version=_version("rulecraft"),
        batch=ruleset.matches, batch_matrix=lambda frame: frame.to_numpy().T,
        note="RuleSet.matches(frame) -> boolean DataFrame"))
    engines.append(Engine(
        "Rulecraft per row", "row", rulecraft=True, version=_version("rulecraft"),
        single=ruleset.matches_row, single_fired=fired_ids,
        batch=lambda rows, f=ruleset.matches_row: [f(r) for r in rows],
        batch_matrix=lambda answers: rows_matrix(answers, fired_ids),
        note="RuleSet.matches_row(mapping) -> ids of the rules that fire"))

    numpy_codes = _exec(translate.numpy_codes_source(rules), "numpy_codes_rules", {"np": np, "pd": pd})
    engines.append(Engine(
        NUMPY_BASELINE, "vectorized", version=np.__version__, batch=numpy_codes,
        batch_matrix=lambda a: a,
        note="the baseline: each text column turned into integer codes once (pd.factorize, timed) and looked up in "
             "small tables; each column's 'is known' mask computed once; one NumPy expression per rule"))
    numpy_strings = _exec(translate.numpy_strings_source(rules), "numpy_rules", {"np": np})
    engines.append(Engine(
        NUMPY_STRINGS, "vectorized", version=np.__version__, batch=numpy_strings,
        batch_matrix=lambda a: a,
        note="the quick version (this benchmark's baseline before issue 21): text read as Python objects and "
             "compared with == for every condition, each guard computed where it is used"))

    expressions = translate.pandas_expressions(rules)
    try:
        import numexpr  # noqa: F401

        pandas_engine = "numexpr"
    except ImportError:
        pandas_engine = "python"

    def pandas_eval(frame):
        # pandas asks for engine="python" by hand on category columns (numexpr does not take them; it warns)
        engine = "python" if any(isinstance(t, pd.CategoricalDtype) for t in frame.dtypes) else None
        return [frame.eval(e, engine=engine) for e in expressions]

    engines.append(Engine(
        "pandas eval", "vectorized", version=pd.__version__, batch=pandas_eval,
        batch_matrix=lambda series: np.array([s.to_numpy(dtype=bool) for s in series]),
        note=f"DataFrame.eval, one expression per rule (engine chosen by pandas, 'python' on category columns "
             f"as pandas asks; numexpr {'installed' if pandas_engine == 'numexpr' else 'not installed'})"))

    python_rules = _exec(translate.python_source(rules), "python_rules", {"NAN": float("nan")})
    engines.append(Engine(
        "hand-written Python function", "row", single=python_rules, single_fired=tuple,
        batch=lambda rows, f=python_rules: [f(r) for r in rows],
        batch_matrix=lambda answers: rows_matrix(answers, tuple),
        note="one function for all rules, reads each feature once, None -> NaN for numbers"))

    try:
        import zen

        compiled = zen.compile_expression(translate.zen_expression(rules))
        engines.append(Engine(
            "zen-engine expression", "row", version=_version("zen-engine"),
            single=compiled.evaluate, single_fired=tuple,
            batch=lambda rows, f=compiled.evaluate: [f(r) for r in rows],
            batch_matrix=lambda answers: rows_matrix(answers, tuple),
            note="zen.compile_expression of one list expression for all rules; .evaluate(mapping)"))
        table = _zen_decision_table(zen, rules)
        if table is not None:
            def table_fired(answer):
                out = [False] * n
                for hit in answer["result"]:
                    out[position[hit["rule"]]] = True
                return tuple(out)

            engines.append(Engine(
                "zen-engine decision table", "row", version=_version("zen-engine"),
                single=table.evaluate, single_fired=table_fired,
                batch=lambda rows, f=table.evaluate: [f(r) for r in rows],
                batch_matrix=lambda answers: rows_matrix(answers, table_fired),
                note="a decision table, hit policy collect, one row per rule (ZenDecision.evaluate)"))
    except ImportError as e:
        skipped["zen-engine"] = f"not installed ({e})"

    try:
        import rule_engine

        context = rule_engine.Context(default_value=None)
        compiled_rules = [rule_engine.Rule(text, context=context) for text in translate.rule_engine_texts(rules)]

        def rule_engine_all(row, compiled_rules=compiled_rules):
            return [r.matches(row) for r in compiled_rules]

        engines.append(Engine(
            "rule-engine", "row", version=_version("rule-engine"), single=rule_engine_all, single_fired=tuple,
            batch=lambda rows: [rule_engine_all(r) for r in rows],
            batch_matrix=lambda answers: rows_matrix(answers, tuple),
            note="one rule_engine.Rule per rule, Rule.matches(mapping)"))
    except ImportError as e:
        skipped["rule-engine"] = f"not installed ({e})"

    try:
        from json_logic import jsonLogic

        logic = translate.json_logic_rules(rules)

        def json_logic_all(row, logic=logic):
            return [bool(jsonLogic(r, row)) for r in logic]

        engines.append(Engine(
            "json-logic", "row", version=_version("json-logic-qubit"), single=json_logic_all, single_fired=tuple,
            batch=lambda rows: [json_logic_all(r) for r in rows],
            batch_matrix=lambda answers: rows_matrix(answers, tuple),
            note="json-logic-qubit jsonLogic(rule, mapping), one JSON rule per rule"))
    except ImportError as e:
        skipped["json-logic"] = f"not installed ({e})"

    try:
        from snorkel.labeling import LabelingFunction, PandasLFApplier

        lfs = []
        for i, source in enumerate(translate.snorkel_sources(rules)):
            lfs.append(LabelingFunction(ids[i], _exec(source, f"lf_{i}", {})))
        applier = PandasLFApplier(lfs)

        def snorkel_single(row, lfs=lfs):
            x = types.SimpleNamespace(**row)
            return [lf(x) for lf in lfs]

        engines.append(Engine(
            "Snorkel PandasLFApplier", "vectorized-rows", version=_version("snorkel"),
            batch=lambda frame: applier.apply(frame, progress_bar=False), batch_matrix=lambda L: (L == 1).T,
            single=snorkel_single, single_fired=lambda labels: tuple(v == 1 for v in labels),
            note="one labeling function per rule; batch: PandasLFApplier.apply(frame); single case: the 50 "
                 "labeling functions called on the mapping's values as attributes"))
    except ImportError as e:
        skipped["Snorkel"] = f"not installed ({e})"
    except Exception as e:  # noqa: BLE001 - torch or another dependency failing to load
        skipped["Snorkel"] = f"does not load here ({type(e).__name__}: {e})"

    if only:
        engines = [e for e in engines if e.rulecraft or any(o.lower() in e.name.lower() for o in only)]
    return engines, skipped


def _zen_decision_table(zen, rules: list[BenchRule]):
    """A zen decision table (hit policy "collect") with one row per rule, or None if this zen cannot build it.

    The input column has no field, so each cell is a whole expression. A cell that starts with "(" is read as an
    interval and silently never matches: every cell starts with "true and".
    """
    import json

    expressions = translate.zen_rule_expressions(rules)
    table = {
        "id": "table", "type": "decisionTableNode", "name": "rules", "position": {"x": 0, "y": 0},
        "content": {
            "hitPolicy": "collect",
            "inputs": [{"id": "condition", "name": "Condition", "field": ""}],
            "outputs": [{"id": "rule", "name": "Rule", "field": "rule"}],
            "rules": [{"_id": f"row{i}", "condition": f"true and {e}", "rule": json.dumps(r.id)}
                      for i, (r, e) in enumerate(zip(rules, expressions))],
        },
    }
    graph = {
        "nodes": [{"id": "in", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}}, table,
                  {"id": "out", "type": "outputNode", "name": "response", "position": {"x": 0, "y": 0}}],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
                  {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"}],
    }
    try:
        engine = zen.ZenEngine()
        decision = engine.create_decision(json.dumps(graph))
        decision.evaluate({})
        return decision
    except Exception:  # noqa: BLE001 - an older or newer zen with another graph format
        return None
