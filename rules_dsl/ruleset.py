"""A rule set: settings (outcome, policy), vocabulary and rules, checked and compiled for every backend.

On disk and in the store, a rule set is a folder in the layout of layout.py (ruleset.yaml, vocabulary.yaml,
rules/<id>.rule, examples.csv).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import logic as L
from .backends.row import compile_rules
from .backends.vectorized import VectorizedRules, check_columns
from .checker import check
from .errors import Problem, RuleError, name_key
from .examples import unreadable as unreadable_examples
from .formatter import format_syntax
from .gc_pause import collector_paused
from .layout import (
    EXAMPLES_FILE,
    ID_WORDS,
    NOT_DERIVED,
    RULE_ID,
    RULE_SUFFIX,
    RULES_FOLDER,
    SETTINGS_FILE,
    VOCABULARY_FILE,
    dump_yaml,
    parse_yaml,
    rule_file,
    rule_stem,
)
from .parser import parse_rule
from .policy import Decision, Voter, decide, decide_frame
from .quality import DataReport
from .syntax import Rule as RuleSyntax
from .tables import CsvError, read_csv
from .vocabulary import Settings, Vocabulary

MAX_RULES = 10_000


def slugify(name: str, taken: Iterable[str] = (), fallback: str = "rule") -> str:
    """A file-safe id from a name: lower-case ASCII letters, digits and hyphens; unique among ``taken``; never
    a name Windows keeps for a device nor an editor address ("Con" -> con-2, "New" -> new-2: layout.RULE_ID)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:50].strip("-") or fallback
    taken = set(taken)
    candidate, n = slug, 2
    while candidate in taken or candidate in NOT_DERIVED or not RULE_ID.fullmatch(candidate):
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


@dataclass(frozen=True)
class CompiledRule:
    id: str
    syntax: RuleSyntax               # names in the vocabulary's spelling
    logic: L.Logic
    text: str                        # canonical text
    warnings: tuple[Problem, ...] = ()

    @property
    def name(self) -> str:
        return self.syntax.name

    @property
    def enabled(self) -> bool:
        return self.syntax.enabled

    @property
    def priority(self) -> int:
        return self.syntax.priority

    @property
    def conclusion(self):
        return self.syntax.conclusion


def compile_rule(text_or_syntax: str | RuleSyntax, vocabulary: Vocabulary, settings: Settings | None = None,
                 rule_id: str | None = None, file: str | None = None) -> CompiledRule:
    """Parse (if text), check and compile one rule; raises RuleError with every problem found."""
    try:
        syntax = parse_rule(text_or_syntax) if isinstance(text_or_syntax, (str, bytes)) else text_or_syntax
        checked = check(syntax, vocabulary, settings.outcome if settings else None)
        checked.raise_errors()
    except RuleError as e:
        if file:
            raise RuleError([p.in_file(file) for p in e.problems]) from None
        raise
    warnings = tuple(p.in_file(file) if file else p for p in checked.warnings)
    return CompiledRule(rule_id or slugify(checked.rule.name), checked.rule, checked.logic,
                        format_syntax(checked.rule), warnings)


class RuleSet:
    """Rules ready to run. ``rules`` holds every rule; only enabled ones are evaluated."""

    def __init__(self, settings: Settings, vocabulary: Vocabulary, rules: Iterable[CompiledRule],
                 id: str = "", version: str | None = None, release: str | None = None,
                 examples: pd.DataFrame | None = None):
        self.settings = settings
        self.vocabulary = vocabulary
        self.rules: list[CompiledRule] = sorted(rules, key=lambda r: r.id)
        self.id = id
        self.version = version
        self.release = release
        self.examples = examples
        _check_unique(self.rules)

    # ---- what is in it ---------------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.settings.title

    @property
    def outcome(self):
        return self.settings.outcome

    @property
    def policy(self):
        return self.settings.policy

    @cached_property
    def active_rules(self) -> list[CompiledRule]:
        return [r for r in self.rules if r.enabled]

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.active_rules]

    def rule(self, rule_id: str) -> CompiledRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def warnings(self) -> list[Problem]:
        return [w for r in self.rules for w in r.warnings]

    @cached_property
    def columns(self) -> list[str]:
        """The data columns the enabled rules read."""
        seen: dict[str, None] = {}
        for r in self.active_rules:
            for t in L.tests(r.logic):
                seen.setdefault(t.column, None)
        return list(seen)

    @cached_property
    def voters(self) -> list[Voter]:
        return [Voter(r.id, r.conclusion.label, float(r.conclusion.confidence or 1), r.priority)
                for r in self.active_rules if r.conclusion is not None]

    # ---- evaluation ------------------------------------------------------------------------------------------
    @cached_property
    def _pairs(self) -> list[tuple[str, L.Logic]]:
        return [(r.id, r.logic) for r in self.active_rules]


    @cached_property
    def _vectorized(self) -> VectorizedRules:
        return VectorizedRules(self._pairs)

    def matches(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A boolean DataFrame: one column per enabled rule (named by id), True where it fires; index kept.

        A Polars DataFrame or LazyFrame gives the same columns as the same kind of Polars frame."""
        if not isinstance(frame, pd.DataFrame):
            if type(frame).__module__.split(".")[0] == "polars" and type(frame).__name__ in ("DataFrame", "LazyFrame"):
                from .engines import polars as polars_engine

                return polars_engine.matches(self, frame)
            raise TypeError("matches() takes a pandas or Polars DataFrame; use matches_row() for one case, "
                            "with_matches() for DuckDB, Spark and Dask frames.")
        return self._vectorized.frame(frame)

    def with_matches(self, frame, prefix: str = ""):
        """The frame with one boolean column per enabled rule, named ``prefix + rule id``, true only where the rule
        fires (never null); the same kind of frame it was given: pandas, Polars (eager or lazy), DuckDB relation,
        PySpark or Dask DataFrame (rules_dsl/engines). A rule column named like an input column is a DataError."""
        from .engines import with_matches

        return with_matches(self, frame, prefix)

    def with_decisions(self, frame, prefix: str = ""):
        """The frame with the rule set's answer under the policy: ``prefix + "decision"`` (the label, null when the
        rules abstain), ``prefix + "deciding_rule"`` and ``prefix + "confidence"`` (rules_dsl/engines, where the
        columns are described); the same kind of frame as ``with_matches``."""
        from .engines import with_decisions

        return with_decisions(self, frame, prefix)

    def polars_expressions(self, schema=None) -> dict:
        """{rule id: Polars expression}, null where the condition is unknown (``.fill_null(False)`` gives where the
        rule fires). ``schema`` (a frame's schema) lets the expressions read columns of other types than the
        features' own (category codes held as integers, yes/no held as 1/0 or words)."""
        from .engines.polars import expressions

        return expressions(self._pairs, schema)

    def matches_array(self, frame: pd.DataFrame) -> np.ndarray:
        """The same answers as ``matches`` as a writable (rows x rules) boolean NumPy array, without a copy.

        Columns follow ``rule_ids``. For callers that need an array (scikit-learn): pandas hands out read-only
        views of a frame's data, so going through ``matches(...).to_numpy()`` would cost a copy.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("matches_array() takes a pandas DataFrame; use matches_row() for one case.")
        check_columns(frame.columns, self._pairs)
        return self._vectorized.evaluate(frame).T

    @cached_property
    def matches_row(self) -> Callable[[Mapping], list[str]]:
        """``ruleset.matches_row(row)``: ids of the enabled rules that fire for one case (column -> value); absent
        keys are missing values.

        The attribute is the compiled per-row function itself (built on first use, dropped when pickling), so a
        call costs no Python call on top of it: about a tenth of the time of evaluating 50 rules.
        """
        return compile_rules(self._pairs, self.vocabulary)

    def sql_conditions(self, table) -> dict:
        """{rule id: SQLAlchemy boolean expression over the table's columns}."""
        from .backends.sql import rule_conditions  # SQLAlchemy only when asked for

        return rule_conditions(self._pairs, table)

    def spark_columns(self, schema: Mapping | None = None) -> dict:
        """{rule id: PySpark boolean Column}, NULL where the rule's truth is unknown (engines/spark.py).

        Native expressions, no UDF: Catalyst optimizes them and pushes filters down. ``schema`` (column name ->
        Spark DataType) adapts them to integer or 1/0 columns; without it numbers are read as double."""
        from .engines.spark import spark_columns  # PySpark only when asked for

        return spark_columns(self, schema)

    def decide_row(self, row: Mapping) -> Decision:
        """The prediction for one case under the rule set's policy, with the rules that fired and why."""
        return decide(self.matches_row(row), self.voters, self.outcome, self.policy)

    def decide(self, frame: pd.DataFrame) -> pd.Series:
        """The predicted label per row (None where the rules abstain)."""
        return decide_frame(self.matches(frame), self.voters, self.outcome, self.policy)

    def check_columns(self, columns: Iterable[str]) -> None:
        check_columns(columns, self._pairs)

    def data_report(self, data) -> DataReport:
        """What in ``data`` does not fit the vocabulary: per column the missing values, numbers outside the declared
        range and category values outside the allowed ones, with examples (quality.py). ``data``: a DataFrame, one
        case (a mapping) or a list of cases. Never raises for the data's content: a column that cannot be read as
        its type is reported with the message evaluation gives."""
        from .quality import report_cases, report_frame

        if isinstance(data, pd.DataFrame):
            return report_frame(self.vocabulary, data, self.columns)
        cases = [data] if isinstance(data, Mapping) else list(data)
        return report_cases(self.vocabulary, cases, self.columns)

    # ---- pickling ----------------------------------------------------------------------------------------------
    # The compiled evaluators (a generated function, NumPy plans) are caches: they are dropped when pickling and
    # rebuilt from the checked rules on first use, so a pickled rule set (e.g. inside a joblib-saved scikit-learn
    # pipeline) loads anywhere and evaluates exactly as before.
    def __getstate__(self) -> dict:
        # Every cached_property is dropped, so the state is what the constructor was given: pickles (and joblib
        # hashes) of a rule set do not depend on which evaluations happened before.
        cached = {name for klass in type(self).__mro__ for name, value in vars(klass).items()
                  if isinstance(value, cached_property)}
        return {k: v for k, v in self.__dict__.items() if k not in cached}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # ---- building ----------------------------------------------------------------------------------------------
    def with_rule(self, rule: CompiledRule) -> RuleSet:
        """A copy with one rule added or replaced (same id)."""
        others = [r for r in self.rules if r.id != rule.id]
        return RuleSet(self.settings, self.vocabulary, others + [rule], self.id, None, None, self.examples)

    def __repr__(self) -> str:
        version = f" @ {self.release or (self.version or '')[:12]}" if (self.release or self.version) else ""
        return f"<RuleSet {self.id or self.title!r}{version}: {len(self.active_rules)} rules>"


def _check_unique(rules: list[CompiledRule]) -> None:
    problems = _duplicate_names(rules)
    if len(rules) > MAX_RULES:
        problems.append(Problem("too-many-rules", f"A rule set holds at most {MAX_RULES:,} rules."))
    if problems:
        raise RuleError(problems)


def _duplicate_names(rules: list[CompiledRule]) -> list[Problem]:
    problems, names = [], {}
    for r in rules:
        key = name_key(r.name)
        if key in names:
            problems.append(Problem("duplicate-name", f"Two rules are called '{r.name}' ({names[key]} and {r.id}); "
                                    "give each rule its own name (names that differ only in capitals, accents or "
                                    "look-alike letters count as the same).", field="name",
                                    file=rule_file(r.id)))
        names[key] = r.id
    return problems


# ---- folders -----------------------------------------------------------------------------------------------------

def ruleset_from_files(files: Mapping[str, bytes], id: str = "", version: str | None = None,
                       release: str | None = None, memo: dict | None = None) -> RuleSet:
    """A rule set from its files (paths relative to the rule-set folder -> bytes), as the store keeps them.

    Raises RuleError listing every problem, each naming its file.

    ``memo`` (optional, any dict the caller keeps) remembers what was compiled from exactly these bytes: the
    settings, the vocabulary, and each rule file together with the settings and vocabulary it was checked against.
    Compiling is deterministic, so a version that differs from a remembered one in one rule compiles that rule
    only (the server keeps one memo per workspace: after a save, the next read of the rule set compiled 50 rules
    to change one).
    """
    if memo is not None and len(memo) > MEMO_LIMIT:
        for key in list(memo)[:len(memo) // 2]:  # the least recently used half (see _remembered)
            memo.pop(key, None)
    problems: list[Problem] = []
    settings = vocabulary = None
    # Entries are keyed by digests of the files: keys holding the bytes kept every version's copy of the
    # vocabulary alive (~15 KB per save in the server).
    context = (_digest(files.get(SETTINGS_FILE)), _digest(files.get(VOCABULARY_FILE)))
    try:
        settings = _remembered(memo, ("settings", context[0]),
                               lambda: Settings.from_dict(parse_yaml(files.get(SETTINGS_FILE), SETTINGS_FILE)))
    except RuleError as e:
        problems.extend(e.problems)
    try:
        vocabulary = _remembered(memo, ("vocabulary", context[1]), lambda: Vocabulary.from_dict(
            parse_yaml(files.get(VOCABULARY_FILE), VOCABULARY_FILE)))
    except RuleError as e:
        problems.extend(e.problems)
    if problems:
        raise RuleError(problems)
    with collector_paused():
        rules, rule_problems = _compile_files(files, settings, vocabulary, memo, context)
    problems.extend(rule_problems)
    problems.extend(_duplicate_names(rules))  # reported with the other files' errors, not after they are fixed
    if problems:
        raise RuleError(problems)
    examples = None
    if files.get(EXAMPLES_FILE):
        try:
            examples = read_csv(files[EXAMPLES_FILE])
        except CsvError as e:
            # the file's own lines say best what is wrong and where (rules_dsl/examples.py); the reader's
            # message is the fallback
            raise RuleError(unreadable_examples(files[EXAMPLES_FILE], e)) from None
    return RuleSet(settings, vocabulary, rules, id=id, version=version, release=release, examples=examples)


def _compile_files(files: Mapping[str, bytes], settings, vocabulary, memo, context) -> tuple[list, list[Problem]]:
    """``context``: digests of the settings and vocabulary each rule is remembered with (it was checked against
    them)."""
    rules, problems = [], []
    for name in sorted(files):
        stem = rule_stem(name)
        if stem is None:
            continue
        if not RULE_ID.fullmatch(stem):
            problems.append(Problem("bad-file-name", f"A rule file is named by the rule's id, such as "
                                    f"high-fever.rule; an id is {ID_WORDS}.", file=name))
            continue
        try:
            key = ("rule", context, name, _digest(files[name]))
            rules.append(_remembered(memo, key, lambda: compile_rule(files[name], vocabulary, settings, stem, name)))  # noqa: B023
        except RuleError as e:
            problems.extend(e.problems)
    return rules, problems


# Entries; a memo that grows past it forgets its least recently used half. A compiled rule takes about 5 KB: every
# save makes a new entry, and a server that saved for days must not grow for ever (the soak run's memory slope).
# It holds the largest rule set allowed and then some: at 4,096, a rule set of 5,000 rules was compiled again in
# full on every read after a save (the rule list took 5.4 s instead of well under 1 s). Full: about 70 MB.
MEMO_LIMIT = MAX_RULES + 4_096
_ABSENT = object()


def _digest(data: bytes | None) -> bytes | None:
    return None if data is None else hashlib.blake2b(data, digest_size=20).digest()


def _remembered(memo: dict | None, key: tuple, make):
    """``make()``, or what it gave before for the same key (errors are not remembered: they raise again).
    A hit moves the entry to the end, so the dict's order is least recently used first. Only single dict operations
    touch the memo, so server threads sharing one need no lock (at worst both compile the same rule)."""
    if memo is None:
        return make()
    value = memo.pop(key, _ABSENT)
    if value is _ABSENT:
        value = make()
    memo[key] = value
    return value


def load_folder(path: str | Path) -> RuleSet:
    """Load a rule-set folder; raises RuleError listing every problem, each naming its file."""
    folder = Path(path)
    if not folder.is_dir():
        raise RuleError(Problem("missing-folder", f"'{folder}' is not a rule set folder."))
    files: dict[str, bytes] = {}
    problems = []
    for name in (SETTINGS_FILE, VOCABULARY_FILE, EXAMPLES_FILE):
        if (folder / name).is_file():
            files[name] = (folder / name).read_bytes()
    if (folder / RULES_FOLDER).is_dir():
        for file in sorted((folder / RULES_FOLDER).glob("*" + RULE_SUFFIX)):
            if file.is_symlink():
                problems.append(Problem("symlink", "Rule files must be ordinary files, not links.",
                                        file=f"{RULES_FOLDER}/{file.name}"))
                continue
            try:
                files[f"{RULES_FOLDER}/{file.name}"] = file.read_bytes()
            except OSError as e:  # a folder named like a rule file, a file that may not be read
                problems.append(Problem("unreadable", f"This rule file cannot be read ({e.strerror or e}).",
                                        file=f"{RULES_FOLDER}/{file.name}"))
    if problems:
        try:
            ruleset_from_files(files, id=folder.name)
        except RuleError as e:  # report the other files' problems too, not only after these are fixed
            problems.extend(e.problems)
        raise RuleError(problems)
    return ruleset_from_files(files, id=folder.name)


def write_folder(ruleset: RuleSet, path: str | Path) -> None:
    """Write a rule set in the folder layout (used by the demo and by exports)."""
    folder = Path(path)
    (folder / RULES_FOLDER).mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_FILE).write_text(dump_yaml(ruleset.settings.to_dict()), encoding="utf-8")
    (folder / VOCABULARY_FILE).write_text(dump_yaml(ruleset.vocabulary.to_dict()), encoding="utf-8")
    for r in ruleset.rules:
        (folder / rule_file(r.id)).write_text(r.text + "\n", encoding="utf-8")
