"""``rulecraft evaluate --engine polars|duckdb|spark [--decide]``: the same answers as the pandas engine, from CSV
and Parquet, into CSV and Parquet; clear refusals (issue 16)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import engine_or_skip
from tests.server.test_cli_language import CASES_CSV, SEPSIS, rulecraft

DOT, SIRS = [1, 0, 0, 0, 1, 0], [1, 1, 0, 0, 0, 0]


@pytest.fixture
def cases(tmp_path):
    data = tmp_path / "cases.csv"
    data.write_text(CASES_CSV)
    return data


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("source, target", [("csv", "csv"), ("csv", "parquet"), ("parquet", "csv"),
                                            ("parquet", "parquet")])
def test_evaluate_on_a_streaming_engine_gives_the_pandas_answers(tmp_path, cases, engine, source, target):
    engine_or_skip(engine)
    engine_or_skip("pyarrow")
    data = cases
    if source == "parquet":
        data = tmp_path / "cases.parquet"
        pd.read_csv(cases).to_parquet(data)
    out = tmp_path / f"fired.{target}"
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out, "--keep", "case", "--engine", engine,
                       "--decide")
    assert result.returncode == 0, result.stderr
    fired = _read(out)
    assert list(fired.columns) == ["case", "dot", "sirs", "decision", "deciding_rule", "confidence"]
    assert fired["case"].tolist() == list("abcdef")
    assert fired["dot"].tolist() == DOT and fired["sirs"].tolist() == SIRS
    assert fired["decision"].tolist() == ["high", "high", "low", "low", "low", "low"]
    pandas_out = tmp_path / "pandas.csv"
    assert rulecraft("evaluate", SEPSIS, "--data", cases, "--out", pandas_out, "--keep", "case",
                     "--decide").returncode == 0
    expected = pd.read_csv(pandas_out)
    pd.testing.assert_frame_equal(fired.astype(expected.dtypes.to_dict()), expected, check_dtype=False)


def test_the_default_engine_and_output_are_unchanged(tmp_path, cases):
    out = tmp_path / "fired.csv"
    result = rulecraft("evaluate", SEPSIS, "--data", cases, "--out", out, "--keep", "case")
    assert result.returncode == 0 and "6 cases x 2 rules" in result.stdout
    assert list(pd.read_csv(out).columns) == ["case", "dot", "sirs"]


@pytest.mark.parametrize("args, phrase", [
    (["--engine", "polars", "--predict"], "--predict works with the pandas engine alone; use --decide"),
    (["--engine", "duckdb", "--keep", "nope"], "--keep: the data has no column 'nope'"),
    (["--engine", "polars", "--keep", "nope"], "--keep: the data has no column 'nope'"),
])
def test_evaluate_on_an_engine_refuses_clearly(tmp_path, cases, args, phrase):
    result = rulecraft("evaluate", SEPSIS, "--data", cases, "--out", tmp_path / "fired.csv", *args)
    assert result.returncode == 2 and phrase in result.stderr, result.stderr


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_a_number_column_holding_words_is_named(tmp_path, engine):
    data = tmp_path / "cases.csv"
    data.write_text(CASES_CSV.replace("a,39,", "a,hot,"))
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", tmp_path / "o.csv", "--engine", engine)
    assert result.returncode == 2 and "temperature" in result.stderr and "hot" in result.stderr, result.stderr


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_an_all_empty_number_column_is_missing_not_text(tmp_path, engine):
    data = tmp_path / "cases.csv"
    lines = CASES_CSV.strip().split("\n")
    data.write_text("\n".join([lines[0]] + [",".join(v if i != 4 else "" for i, v in enumerate(line.split(",")))
                                            for line in lines[1:]]) + "\n")  # white cell count: all empty
    out = tmp_path / "o.csv"
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out, "--engine", engine)
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(out)["sirs"].tolist() == [1, 1, 0, 0, 1, 0]  # "white cell count is missing" counts


def test_a_parquet_file_on_the_pandas_engine_is_refused_with_the_way_out(tmp_path, cases):
    result = rulecraft("evaluate", SEPSIS, "--data", cases, "--out", tmp_path / "o.parquet", "--decide")
    assert result.returncode == 2 and "use --engine polars or duckdb" in result.stderr
