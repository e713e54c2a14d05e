"""CSV files of cases, read one way everywhere: the server's uploads and batch evaluation, the command line, and a
rule set's examples.csv.

Why one reader: pandas, given a file whose data lines all have one value more than the first line (a comma at the
end of each line, common in spreadsheet exports), silently takes the first column as the row labels and moves every
value one column to the left, under the wrong name. Here a line with more values than the first line names columns
is refused, with its line number; the row labels are never taken from the data (``index_col=False``).

Also bounded: at most ``MAX_COLUMNS`` columns, and (when asked) at most ``max_rows`` rows, counted while reading
so that a 16 MB body of tiny rows is refused after the first rows, not after building millions of them. Errors
are ``CsvError`` (a ``DataError``) in plain words, with ``code`` saying which kind and ``line`` where.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Collection, Iterator
from pathlib import Path

import pandas as pd

from .errors import DataError

MAX_COLUMNS = 2_000
HEAD_BYTES = 1 << 20   # the first line (the column names) and the first case must fit in this
CHUNK_CELLS = 200_000  # cells per chunk when only some columns are kept (bounds memory: ~12 MB of strings)

_TRAILING = ("If the line ends with a comma, remove that comma (it adds an empty value), or give the extra column "
             "a name on the first line.")


class CsvError(DataError):
    """A CSV file that cannot be read as a table of cases. ``code``: empty, binary, encoding, columns, rows,
    ragged, quote or unreadable; ``line``: the line it was found on, when known."""

    def __init__(self, message: str, code: str, line: int | None = None):
        super().__init__(message)
        self.code = code
        self.line = line


def read_csv(source: bytes | str | Path, *, max_rows: int | None = None, max_columns: int = MAX_COLUMNS,
             keep: Collection[str] | None = None) -> pd.DataFrame:
    """The file (its bytes or its path) as a table. ``keep``: read only these columns (the others are read in
    chunks and dropped, which bounds memory); ``max_rows``: refuse more rows than this (code "rows")."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    columns = check_head(data[:HEAD_BYTES], max_columns)
    nrows = None if max_rows is None else max_rows + 1
    if keep is None:
        frame = _parsed(lambda: pd.read_csv(io.BytesIO(data), index_col=False, low_memory=False, nrows=nrows))
    else:
        wanted = set(keep)
        chunks = _parsed(lambda: [chunk[[c for c in chunk.columns if c in wanted]] for chunk in pd.read_csv(
            io.BytesIO(data), index_col=False, chunksize=max(1, CHUNK_CELLS // columns), nrows=nrows)])
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if max_rows is not None and len(frame) > max_rows:
        raise CsvError(f"The file has more than {max_rows:,} cases; send at most {max_rows:,} at a time.", "rows")
    return frame


def csv_chunks(path: str | Path, chunk_rows: int, *, max_columns: int = MAX_COLUMNS) -> Iterator[pd.DataFrame]:
    """The file at ``path`` in chunks of ``chunk_rows`` cases (for files too large to hold at once)."""
    with open(path, "rb") as f:
        check_head(f.read(HEAD_BYTES), max_columns)
    with _parsed(lambda: pd.read_csv(path, index_col=False, chunksize=chunk_rows, low_memory=False)) as reader:
        while (chunk := _parsed(lambda: next(reader, None))) is not None:
            yield chunk


def check_head(head: bytes, max_columns: int = MAX_COLUMNS) -> int:
    """Refuse what pandas would read wrongly or expensively, from the first bytes of the file: nothing, a binary
    file, too many columns, a first case with more values than there are column names. Returns the number of
    columns."""
    if not head.strip():
        raise CsvError("The file is empty.", "empty")
    if head.startswith(b"PK\x03\x04") or b"\x00" in head[:4096]:
        raise CsvError("This is not a CSV file (it looks like a spreadsheet or another binary file). In the "
                       "spreadsheet program, save it as \u201cCSV UTF-8\u201d and use that file.", "binary")
    records = _records(head, 2)
    if not records:
        raise CsvError("The file is empty.", "empty")
    names, line = records[0]
    if len(names) > max_columns:
        raise CsvError(f"The file has {len(names):,} columns; Rulecraft reads at most {max_columns:,}. Leave out "
                       "the columns the rules do not need.", "columns", line)
    if len(records) > 1 and len(records[1][0]) > len(names):
        values, line = records[1]
        raise CsvError(_ragged(line, len(values), len(names)), "ragged", line)
    return len(names)


def _records(head: bytes, count: int) -> list[tuple[list[str], int]]:
    """The first ``count`` non-blank records of ``head`` with the line each ends on, read by the csv module (it
    keeps quoted commas and line breaks inside their value, as pandas does)."""
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(head)
    reader = csv.reader(io.StringIO(text))
    out = []
    try:
        for record in reader:
            if record:
                out.append((record, reader.line_num))
                if len(out) == count:
                    break
    except csv.Error:
        raise CsvError(f"Line {reader.line_num + 1} holds a value longer than {csv.field_size_limit():,} "
                       "characters, or a line that does not end; it cannot be a case.", "unreadable",
                       reader.line_num + 1) from None
    if len(head) >= HEAD_BYTES and b"\n" not in head:
        raise CsvError("The first line (the column names) is longer than 1 MB.", "columns", 1)
    return out


def _ragged(line: int, values: int, columns: int) -> str:
    message = (f"Line {line} has {values} values, but the first line names {columns} columns. Every line needs "
               "one value per column (leave a value empty with two commas in a row).")
    return f"{message} {_TRAILING}" if values > columns else message


def _parsed(read):
    """``read()`` with pandas' errors in plain words (CsvError)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return read()
    except UnicodeDecodeError:
        raise CsvError("The file is not plain text in UTF-8. In the spreadsheet program, save it as \u201cCSV "
                       "UTF-8\u201d and use that file.", "encoding") from None
    except pd.errors.EmptyDataError:
        raise CsvError("The file is empty.", "empty") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as e:
        raise _parser_problem(str(e)) from None
    except ValueError as e:
        raise CsvError(f"The file cannot be read as a CSV table ({e}).", "unreadable") from None


def _parser_problem(message: str) -> CsvError:
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        columns, line, values = map(int, ragged.groups())
        return CsvError(_ragged(line, values, columns), "ragged", line)
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        line = int(quote.group(1)) + 1
        return CsvError(f"A quotation mark on line {line} is never closed: every value that starts with \" needs "
                        "a closing \".", "quote", line)
    return CsvError("The file cannot be read as a CSV table: check that every line has one value per column.",
                    "unreadable")


def read_sample(data: bytes, max_rows: int) -> tuple[list[str], list[list[str]]]:
    """The first line (the column names) and up to ``max_rows`` cases of a CSV file, as the text of each cell,
    for a guess at what each column holds (rules_dsl/draft.py). Reads no further than those rows; the same
    refusals as ``read_csv`` for an empty, binary, too wide or ragged file, and for text that is not UTF-8."""
    check_head(data[:HEAD_BYTES])
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
                continue
            if len(record) > len(header):
                raise CsvError(_ragged(reader.line_num, len(record), len(header)), "ragged", reader.line_num)
            rows.append(record)
            if len(rows) >= max_rows:
                break
    except UnicodeDecodeError:
        raise CsvError("The file is not plain text in UTF-8. In the spreadsheet program, save it as \u201cCSV "
                       "UTF-8\u201d and use that file.", "encoding") from None
    except csv.Error:
        raise CsvError(f"Line {reader.line_num + 1} cannot be read: a quotation mark that is never closed, or a "
                       "value that is too long.", "unreadable", reader.line_num + 1) from None
    if header is None:
        raise CsvError("The file is empty.", "empty")
    return header, rows
