"""The same rules on the engine the data already lives in: pandas, Polars, DuckDB, Spark, Dask.

``RuleSet.with_matches(frame, prefix="")`` and ``RuleSet.with_decisions(frame, prefix="")`` come here. The engine is
chosen from the frame's type by the name of the module that defines it, so no engine package is imported until a
frame of that engine is given (tests/rules_dsl/test_layers.py keeps `import rules_dsl` free of them). Every engine
module has the same two functions:

    with_matches(ruleset, frame, prefix)   -> the same kind of frame, plus one boolean column per active rule,
                                               named prefix + rule id: true only where the rule's condition is
                                               true, never null (false or unknown is false)
    with_decisions(ruleset, frame, prefix) -> the same kind of frame, plus the rule set's answer in three columns:

        prefix + DECISION       the outcome's label, or null when the rules abstain
        prefix + DECIDING_RULE  the id of the rule that decided (null when none did: the default answered or the
                                rules abstained). Weighted vote: the first rule by priority among those that voted
                                for the winning label.
        prefix + CONFIDENCE     first match: the deciding rule's confidence (1.0 when it gives none); weighted vote:
                                the winning label's share of the votes cast (its score / the sum of all scores);
                                null when no rule decided.

Every engine computes the same three-valued (Kleene) logic as logic.py, natively: Polars expressions, SQL inside
DuckDB, Spark Column expressions, the NumPy engine per Dask partition. tests/rules_dsl/test_engine_conformance.py
proves it operator by operator.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module

from ..backends.values import SPACES, category_key
from ..errors import DataError

DECISION = "decision"
DECIDING_RULE = "deciding_rule"
CONFIDENCE = "confidence"
DECISION_COLUMNS = (DECISION, DECIDING_RULE, CONFIDENCE)

# The top-level module that defines a frame's type -> the engine module of this package that runs rules on it.
ENGINES = {"pandas": "pandas", "polars": "polars", "duckdb": "duckdb", "_duckdb": "duckdb", "pyspark": "spark",
           "dask": "dask"}
FRAME_KINDS = "a pandas DataFrame, a Polars DataFrame or LazyFrame, a DuckDB relation, a PySpark DataFrame or a " \
              "Dask DataFrame"


def engine_name(frame) -> str:
    """Which engine runs rules on ``frame`` ("pandas", "polars", "duckdb", "spark", "dask"); TypeError otherwise."""
    package = type(frame).__module__.split(".")[0]
    name = ENGINES.get(package)
    kinds = {"pandas": ("DataFrame",), "polars": ("DataFrame", "LazyFrame"), "duckdb": ("DuckDBPyRelation",),
             "spark": ("DataFrame",), "dask": ("DataFrame",)}
    if name is None or type(frame).__name__ not in kinds[name]:
        raise TypeError(f"Rules run on {FRAME_KINDS}; got {type(frame).__module__}.{type(frame).__name__}. "
                        "Convert the data to one of these (one case as a dict goes to matches_row / decide_row).")
    return name


def engine_for(frame):
    """The engine module for ``frame`` (imported now, with its engine package)."""
    name = engine_name(frame)
    if name == "pandas":
        return import_module(".pandas_engine", __name__)
    return import_module(f".{name}", __name__)


def with_matches(ruleset, frame, prefix: str = ""):
    return engine_for(frame).with_matches(ruleset, frame, prefix)


def with_decisions(ruleset, frame, prefix: str = ""):
    return engine_for(frame).with_decisions(ruleset, frame, prefix)


FILE_ENGINES = ("polars", "duckdb")


def evaluate_file(ruleset, engine: str, data, out, keep: list[str], decide: bool) -> None:
    """``rulecraft evaluate --engine polars|duckdb``: a Parquet or CSV file through the rules into a Parquet or CSV
    file, streamed by the engine (bounded memory). DataError for anything wrong with the data or the files."""
    if engine not in FILE_ENGINES:
        raise ValueError(engine)
    import_module(f".{engine}", __name__).evaluate_file(ruleset, data, out, keep, decide)


def check_new_columns(existing: Iterable[str], new: Iterable[str], prefix: str) -> None:
    """A clear DataError when a column the rules add already exists in the data."""
    present = set(existing)
    clash = next((name for name in new if name in present), None)
    if clash is not None:
        raise DataError(f"The data already has a column named '{clash}', the name of a column the rules add. "
                        f"Rename or drop that column, or pass a prefix (for example prefix=\"rule_\") so the rule "
                        f"columns get other names{' than with the prefix ' + repr(prefix) if prefix else ''}.",
                        column=clash)


def key_spellings(value: str) -> list[str]:
    """The keys an engine's string functions can make of data matching the allowed value ``value``.

    values.category_key case-folds; engines lower-case (Unicode's lower-case mapping, after NFC or NFD), which
    differs for a few letters (German ß folds to "ss"). Every such form of the allowed value is accepted, so data
    spelt like the allowed value in any letter case and with surrounding spaces matches on every engine.
    """
    nfd_lower = unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).lower()).strip(SPACES)
    nfc_lower = unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower()).strip(SPACES)
    return sorted({category_key(value), nfd_lower, nfc_lower})


def match_columns(ruleset, prefix: str) -> list[str]:
    return [prefix + rule_id for rule_id in ruleset.rule_ids]


def decision_columns(prefix: str) -> list[str]:
    return [prefix + name for name in DECISION_COLUMNS]


@dataclass(frozen=True)
class DecisionPlan:
    """How a rule set's policy turns the fired rules into one answer, for engines that build it as expressions.

    ``voters``: (rule id, label, weight) in priority order (policy.order_voters). ``labels``: the outcome's labels
    in their listed order (ties of a weighted vote go to the first). ``default``: the label when no rule decides,
    None to abstain.
    """

    kind: str                                   # "first match" | "weighted vote"
    voters: tuple[tuple[str, str, float], ...]
    labels: tuple[str, ...]
    default: str | None

    def backers(self, label: str) -> list[tuple[str, float]]:
        return [(rule_id, weight) for rule_id, voted, weight in self.voters if voted == label]


def decision_plan(ruleset) -> DecisionPlan:
    from ..policy import order_voters

    active = set(ruleset.rule_ids)
    voters = tuple((v.id, v.label, v.weight) for v in order_voters(ruleset.voters) if v.id in active)
    return DecisionPlan(ruleset.policy.kind, voters, tuple(ruleset.outcome.labels), ruleset.policy.default)
