"""``evaluate_file`` on DuckDB (``rulecraft evaluate --engine duckdb``): a Parquet file of several row groups is
evaluated in slices, two at a time, and comes out in the input's order with the same columns, types and answers as
one query over the whole file (into Parquet or CSV); a failure in a slice is a DataError, not a hang. (Answers per
operator: the conformance matrix, tests/rules_dsl/test_engine_conformance.py.)"""
from __future__ import annotations

import io
import threading

import pandas as pd
import pytest

import rules_dsl
from rules_dsl import DataError
from tests.conftest import engine_or_skip
from tests.server.test_cli_language import CASES_CSV, SEPSIS

engine_or_skip("duckdb")
engine_or_skip("pyarrow")

import pyarrow.parquet as pq  # noqa: E402  (after the skip: pyarrow comes with the engines)

from rules_dsl.engines import duckdb as duckdb_engine  # noqa: E402

ROWS, GROUP = 1000, 100  # ten row groups


@pytest.fixture(scope="module")
def sepsis():
    return rules_dsl.load(SEPSIS)


@pytest.fixture
def cases(tmp_path) -> tuple[pd.DataFrame, object]:
    """ROWS cases (the six of the CLI tests, over and over, numbered 0.. in `case`), as Parquet in row groups of
    GROUP rows."""
    six = pd.read_csv(io.StringIO(CASES_CSV))
    frame = pd.concat([six] * (ROWS // len(six) + 1), ignore_index=True).iloc[:ROWS]
    frame["temperature"] = frame["temperature"] + (frame.index % 7) * 0.25  # rows differ from one slice to the next
    frame["case"] = range(ROWS)
    path = tmp_path / "cases.parquet"
    frame.to_parquet(path, row_group_size=GROUP)
    assert pq.ParquetFile(path).metadata.num_row_groups == ROWS // GROUP
    return frame, path


@pytest.mark.parametrize("out", ["parquet", "csv"])
def test_a_parquet_file_of_many_row_groups_comes_out_in_order_on_two_workers(sepsis, cases, tmp_path, monkeypatch,
                                                                              out):
    frame, data = cases
    one_query = tmp_path / f"one.{out}"
    duckdb_engine.evaluate_file(sepsis, data, one_query, ["case", "notes"], True)  # one slice: one query
    monkeypatch.setattr(duckdb_engine, "SLICE_ROWS", GROUP)
    monkeypatch.setattr(duckdb_engine, "BATCH_ROWS", 30)  # several batches a slice, a queue that fills
    monkeypatch.setattr(duckdb_engine, "QUEUE_BATCHES", 2)
    workers = set()
    original = duckdb_engine._file_result

    def watched(*args):
        workers.add(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(duckdb_engine, "_file_result", watched)
    sliced = tmp_path / f"sliced.{out}"
    duckdb_engine.evaluate_file(sepsis, data, sliced, ["case", "notes"], True)

    assert len(workers - {threading.current_thread().name}) == 2  # two workers evaluated the ten slices
    if out == "csv":
        assert sliced.read_bytes() == one_query.read_bytes()
        got = pd.read_csv(sliced)
    else:
        got = pd.read_parquet(sliced)
        assert pq.read_schema(sliced).remove_metadata() == pq.read_schema(one_query).remove_metadata()
        assert [str(t) for t in pq.read_schema(sliced).types[2:4]] == ["int8", "int8"]  # 0/1 TINYINT per rule
        pd.testing.assert_frame_equal(got, pd.read_parquet(one_query))
    assert got["case"].tolist() == list(range(ROWS))
    fired = sepsis.matches(frame)
    assert got["dot"].tolist() == fired["dot"].astype(int).tolist()
    assert got["sirs"].tolist() == fired["sirs"].astype(int).tolist()


def test_a_failing_slice_is_a_data_error_and_nothing_hangs(sepsis, cases, tmp_path, monkeypatch):
    import duckdb

    _, data = cases
    monkeypatch.setattr(duckdb_engine, "SLICE_ROWS", GROUP)
    monkeypatch.setattr(duckdb_engine, "BATCH_ROWS", 30)
    monkeypatch.setattr(duckdb_engine, "QUEUE_BATCHES", 1)
    original, calls = duckdb_engine._file_result, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 5:  # the main thread's check, then the fourth slice
            raise duckdb.IOException("IO Error: the disk went away")
        return original(*args)

    monkeypatch.setattr(duckdb_engine, "_file_result", failing)
    with pytest.raises(DataError, match="the disk went away"):
        duckdb_engine.evaluate_file(sepsis, data, tmp_path / "o.parquet", ["case"], False)


def test_several_files_named_by_a_pattern_run_as_one_query(sepsis, cases, tmp_path, monkeypatch):
    frame, data = cases
    (tmp_path / "more").mkdir()
    for name in ("a.parquet", "b.parquet"):
        (tmp_path / "more" / name).write_bytes(data.read_bytes())  # file_row_number starts again in each
    monkeypatch.setattr(duckdb_engine, "SLICE_ROWS", GROUP)
    out = tmp_path / "o.parquet"
    duckdb_engine.evaluate_file(sepsis, tmp_path / "more" / "*.parquet", out, ["case"], False)
    assert pd.read_parquet(out)["case"].tolist() == list(range(ROWS)) * 2
