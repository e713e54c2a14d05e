"""One answer everywhere: the fixed cases of consistency_cases.py through every way the library answers.

RuleSet.matches (on object and on inferred dtypes), matches_row, decide and decide_row, RuleFeatures, RulePredictor,
SQL on SQLite and PostgreSQL, and the ``rulecraft evaluate`` command give the same answer (the hand-written one),
or the same DataError naming the same column. SQL cannot refuse a value inside an expression: for the cases the
library refuses, the data report (the documented check before SQL) must name the column instead.
The server's predict and evaluate run the same cases in tests/server/test_consistency.py.
"""
from __future__ import annotations

import unicodedata
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import rules_dsl
from rules_dsl import DataError
from rules_dsl.backends.values import MISSING_WORDS, READERS, category_key
from rules_dsl.ml import RuleFeatures, RulePredictor
from tests.server.test_cli_language import rulecraft

from .consistency_cases import CASES, IDS, consistency_ruleset, is_error

RULESET = consistency_ruleset()
VOCABULARY = RULESET.vocabulary
FEATURES = VOCABULARY.by_column()
COLUMNS = RULESET.columns
OK = [(what, case, expected) for what, case, expected in CASES if not is_error(expected)]


def by_column(case: dict) -> dict:
    """The case as a data row: every column the rules read (absent = missing), keyed as frames are."""
    given = VOCABULARY.case_by_column(case)[0]
    return {c: given.get(c) for c in COLUMNS}


def frames(case: dict) -> list[pd.DataFrame]:
    """One row, as object columns and as pandas infers the columns' types."""
    row = by_column(case)
    return [pd.DataFrame({c: pd.Series([v], dtype=object) for c, v in row.items()}), pd.DataFrame([row])]


def ours(fired) -> set[str]:
    return {rule_id for rule_id in fired if rule_id in IDS}


def every_answer(case: dict) -> dict[str, object]:
    """What each way of answering gives for one case: the set of rule ids that fire (with the label), or the
    column a DataError names."""
    answers = {}

    def answer(name, run):
        try:
            answers[name] = run()
        except DataError as e:
            answers[name] = ("error", e.column)

    answer("matches_row", lambda: (ours(RULESET.matches_row(case)), RULESET.decide_row(case).label))
    try:
        tables = frames(case)
    except DataError as e:  # the case's keys cannot become one row (a feature under two names)
        answers["frames"] = ("error", e.column)
        return answers
    for i, frame in enumerate(tables):
        def vectorized(frame=frame):
            fired = RULESET.matches(frame).iloc[0]
            return ours(fired.index[fired.to_numpy()]), RULESET.decide(frame).iloc[0]
        answer(f"matches/decide {i}", vectorized)

        def estimators(frame=frame):
            features = RuleFeatures(RULESET).fit(frame).transform(frame)[0]
            label = RulePredictor(RULESET).fit(frame).predict(frame)[0]
            return ours(rule_id for rule_id, hit in zip(RULESET.rule_ids, features) if hit), label
        answer(f"RuleFeatures/RulePredictor {i}", estimators)
    return answers


@pytest.mark.parametrize("what, case, expected", CASES, ids=[c[0] for c in CASES])
def test_every_library_path_gives_the_same_answer_or_the_same_error(what, case, expected):
    answers = every_answer(case)
    if is_error(expected):
        assert set(answers.values()) == {expected}, answers
        return
    labels = {label for _, label in answers.values()}
    assert {frozenset(fired) for fired, _ in answers.values()} == {frozenset(expected)}, answers
    # the policy's answer: first match, "Hot" concludes high, the rule set's default is low
    assert labels == {"high" if "hot" in expected else "low"}, answers


def test_a_feature_name_key_counts_only_when_its_column_is_absent():
    assert RULESET.matches_row({"lesion diameter": 2.0})  # accepted
    assert "small" not in RULESET.matches_row({"diam_mm": None, "lesion diameter": 2.0})  # the column says missing


# ---- SQL ---------------------------------------------------------------------------------------------------------

_SQL_TYPES = {"number": sa.Float, "category": sa.String, "text": sa.String, "boolean": sa.Boolean}


def sql_row(case: dict) -> dict:
    """The case as a database would hold it: typed values, missing as NULL, category text exactly as given."""
    out = {}
    for column, value in by_column(case).items():
        read = READERS[FEATURES[column].type](value, column)
        out[column] = None if read is None or read != read else read
    return out


def sql_answers(engine: sa.Engine) -> list[set[str]]:
    metadata = sa.MetaData()
    table = sa.Table(f"cases_{uuid.uuid4().hex[:8]}", metadata, sa.Column("row_id", sa.Integer, primary_key=True),
                     *[sa.Column(c, _SQL_TYPES[FEATURES[c].type]) for c in COLUMNS])
    conditions = RULESET.sql_conditions(table)
    query = sa.select(*[sa.case((expr, 1), else_=0).label(rule_id) for rule_id, expr in conditions.items()])
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(table.insert(), [{"row_id": i, **sql_row(case)} for i, (_, case, _) in enumerate(OK)])
        rows = connection.execute(query.order_by(table.c.row_id)).all()
        metadata.drop_all(connection)
    return [ours(rule_id for rule_id, hit in zip(conditions, row) if hit) for row in rows]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
        yield engine
        engine.dispose()
        return
    from tests.server.conftest import fresh_postgres_database

    with fresh_postgres_database() as url:
        engine = sa.create_engine(url)
        yield engine
        engine.dispose()


def test_sql_gives_the_same_answers(engine):
    assert sql_answers(engine) == [expected for _, _, expected in OK]


@pytest.mark.parametrize("what, case, expected", [c for c in CASES if is_error(c[2])],
                         ids=[c[0] for c in CASES if is_error(c[2])])
def test_what_sql_cannot_refuse_the_data_report_names(what, case, expected):
    """An SQL expression cannot raise, so the data report is the check before SQL (backends/sql.py)."""
    if what == "one feature under two names":  # about reading a case's keys; a table has one column per feature
        with pytest.raises(DataError):
            RULESET.data_report(case)
        return
    report = RULESET.data_report(pd.DataFrame({c: pd.Series([v], dtype=object) for c, v in by_column(case).items()}))
    problems = [w for w in report.warnings if w["code"] == "wrong-type"]
    assert [w["column"] for w in problems] == [expected[1]], report.lines()


def test_nfc_in_sql_on_postgresql_and_in_python(engine):
    """Decomposed accents (NFD, as some Mac files hold them) match on PostgreSQL (normalize) and in Python; SQLite
    cannot normalise, so there only NFC data is compared (docs/language.md says data in SQLite must be NFC)."""
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": {"site": {"type": "category",
                                                                       "values": ["Épaule", "café"]}}})
    settings = RULESET.settings
    rule = rules_dsl.compile_rule('rule "Shoulder" when site is "épaule"', vocabulary, settings, "shoulder")
    other = rules_dsl.compile_rule('rule "Not cafe" when site is not "CAFÉ"', vocabulary, settings, "not-cafe")
    ruleset = rules_dsl.RuleSet(settings, vocabulary, [rule, other])
    nfd = engine.dialect.name == "postgresql"
    data = ["ÉPAULE", " épaule ", "Épaule", "éPAULE", "CAFÉ", "Café", "cafe", None]
    if nfd:
        data += [unicodedata.normalize("NFD", "Épaule"), unicodedata.normalize("NFD", "CAFÉ ")]
    expected = [(v is not None and category_key(v) == "épaule", v is not None and category_key(v) != "café")
                for v in data]
    assert [bool(ruleset.matches_row({"site": v})) and ("shoulder" in ruleset.matches_row({"site": v}))
            for v in data] == [e[0] for e in expected]
    frame = ruleset.matches(pd.DataFrame({"site": data}))
    assert list(zip(frame["shoulder"], frame["not-cafe"])) == expected
    metadata = sa.MetaData()
    table = sa.Table(f"sites_{uuid.uuid4().hex[:8]}", metadata, sa.Column("i", sa.Integer, primary_key=True),
                     sa.Column("site", sa.String))
    conditions = ruleset.sql_conditions(table)
    query = sa.select(*[sa.case((conditions[k], 1), else_=0) for k in ("shoulder", "not-cafe")]).order_by(table.c.i)
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(table.insert(), [{"i": i, "site": v} for i, v in enumerate(data)])
        rows = connection.execute(query).all()
        metadata.drop_all(connection)
    assert [(bool(a), bool(b)) for a, b in rows] == expected


# ---- the command line and the library read "n/a" alike ----------------------------------------------------------

def test_missing_words_are_the_ones_pandas_reads_as_missing():
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(STR_NA_VALUES) == MISSING_WORDS


def cli_folder(tmp_path):
    folder = tmp_path / "consistency"
    rules_dsl.write_folder(RULESET, folder)
    return folder


def test_the_command_line_and_the_library_agree_on_missing_words(tmp_path):
    """pandas' CSV reader (the command line, the server's CSV) reads "n/a" as missing; the library reads the same
    words as missing in number and yes/no columns, so both give the same answers."""
    cells = {"temperature": ["n/a", "NA", "38", "null", "39.5", ""], "smoker": ["yes", "n/a", "no", "NA", "", "yes"],
             "location": ["margin", " Margin", "elsewhere", "MARGIN", "", "centre"]}
    header = list(cells) + [c for c in COLUMNS if c not in cells]
    lines = [",".join(header)] + [",".join([cells[c][i] for c in cells] + [""] * (len(header) - len(cells)))
                                  for i in range(6)]
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text("\n".join(lines) + "\n")
    result = rulecraft("evaluate", cli_folder(tmp_path), "--data", data, "--out", out)
    assert result.returncode == 0, result.stderr
    by_cli = pd.read_csv(out)
    # the library, given the cells as text (empty cells as missing, as any reader gives them)
    frame = pd.DataFrame({c: pd.Series([None if v == "" else float(v) if c == "temperature" and v[0].isdigit()
                                        else v for v in cells.get(c, [""] * 6)], dtype=object) for c in header})
    by_library = RULESET.matches(frame).astype("int8")
    assert (by_cli[RULESET.rule_ids].to_numpy() == by_library.to_numpy()).all(), (by_cli, by_library)
    assert by_cli["no-temperature"].tolist() == [1, 1, 0, 1, 0, 1]
    assert by_cli["at-margin"].tolist() == [1, 1, 0, 1, 0, 0]


@pytest.mark.parametrize("column, cells, phrase", [
    ("temperature", ["38", "inf"], "'temperature' holds an infinite number (inf) in row 1"),
    ("temperature", ["-inf", "38"], "'temperature' holds an infinite number (-inf) in row 0"),
    ("heart rate", ["true", "false"], "'heart rate' must be a number, but the column holds yes/no"),
])
def test_the_command_line_and_the_library_refuse_alike(tmp_path, column, cells, phrase):
    header = [column] + [c for c in COLUMNS if c != column]
    data = tmp_path / "cases.csv"
    data.write_text(",".join(header) + "\n" + "".join(f"{cell}{',' * (len(header) - 1)}\n" for cell in cells))
    result = rulecraft("evaluate", cli_folder(tmp_path), "--data", data, "--out", tmp_path / "out.csv")
    assert result.returncode == 2 and phrase in result.stderr, result.stderr
    if "infinite" in phrase:  # the row as the file's line (header on line 1)
        bad = next(i for i, cell in enumerate(cells) if cell in ("inf", "-inf"))
        assert f"(line {bad + 2} of the file)" in result.stderr
    with pytest.raises(DataError) as info:
        RULESET.matches(pd.read_csv(data))
    assert info.value.column == column and phrase in info.value.message


def test_evaluate_and_analyze_print_the_data_check(tmp_path):
    """Temperatures in Fahrenheit where the vocabulary says °C, and a location the vocabulary does not know."""
    header = ["temperature", "location", "sepsis risk"] + [c for c in COLUMNS if c not in ("temperature", "location")]
    rows = [["102.2", "margin", "high"], ["98.6", "elsewhere", "low"], ["37", "", "low"], ["39", "border", "high"]]
    data = tmp_path / "cases.csv"
    data.write_text("\n".join([",".join(header)] + [",".join(r + [""] * (len(header) - 3)) for r in rows]) + "\n")
    folder = cli_folder(tmp_path)
    for command in (["evaluate", folder, "--data", data, "--out", tmp_path / "out.csv"],
                    ["analyze", folder, "--data", data, "--label", "sepsis risk"]):
        result = rulecraft(*command)
        assert result.returncode == 0, result.stderr
        assert "Data check:" in result.stdout
        assert ("'temperature': 2 of 4 values are outside the range 30 to 45 °C of the vocabulary, e.g. 102.2, "
                "98.6. Is the column in another unit?") in result.stdout
        assert "'location': 1 of 4 values are none of the allowed values" in result.stdout
        assert "'location': 1 of 4 values missing." in result.stdout


# ---- the category key itself -----------------------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
def test_the_category_key_is_its_own_key_and_ignores_spaces_and_case(text):
    """The per-row backend skips normalising a value already spelt as a key: sound only if a key is its own key."""
    key = category_key(text)
    assert category_key(key) == key
    assert category_key(f" \t{text.upper()}\u00a0") == category_key(text.upper().strip())
    assert category_key(unicodedata.normalize("NFD", text)) == key
