"""Reference data sets: labelled cases registered for a rule set, kept as CSV files in the data folder.

The file name comes from the row id (``<id>.csv``), never from what the person called the data set. Loaded frames
are cached by content hash, so "try it" on every keystroke does not re-read the file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules_dsl import RuleError
from rules_dsl.tables import CsvError, read_csv

from ..caches import LRUCache
from ..config import private_folder, write_private
from ..db import begin_write
from ..models import ReferenceDataset, User
from .errors import Invalid, NotFound
from .preview import plain_value
from .saving import record

MAX_ROWS = 2_000_000
_cache = LRUCache(8)  # loaded data frames by content hash


def register(db: Session, folder: Path, user: User, ruleset: str, name: str, data: bytes,
             label_column: str | None = None, group_columns: list[str] | None = None) -> ReferenceDataset:
    name, frame = check_cases(db, ruleset, name, data, label_column, group_columns)
    dataset = ReferenceDataset(ruleset=ruleset, name=name, label_column=label_column or None,
                               group_columns=list(group_columns or []), rows=len(frame),
                               columns=[str(c) for c in frame.columns], sha256=hashlib.sha256(data).hexdigest(),
                               registered_by=user.id)
    db.add(dataset)
    db.flush()
    private_folder(folder)
    path = folder / f"{dataset.id}.csv"
    temporary = path.with_suffix(".tmp")
    write_private(temporary, data)  # reference cases may be patient data: owner-only (server/config.py)
    temporary.replace(path)
    return dataset


def check_cases(db: Session, ruleset: str, name: str, data: bytes, label_column: str | None = None,
                group_columns: list[str] | None = None) -> tuple[str, pd.DataFrame]:
    """Everything ``register`` refuses, checked without writing anything: the name (tidied) and the cases as a
    table, or Invalid (field "name", "file", "label_column" or "group_columns"). A new rule set checks its cases
    with this before it is created (services/starting.py), so that a bad file refuses both."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100 or not name.isprintable():
        raise Invalid("Give the data set a short name (at most 100 characters).", field="name")
    if db.scalar(select(ReferenceDataset).where(ReferenceDataset.ruleset == ruleset,
                                                ReferenceDataset.name == name)):
        raise Invalid(f"This rule set already has a data set called '{name}'.", field="name")
    frame = read_table(data)
    if len(frame) > MAX_ROWS:
        raise Invalid(f"The data set is too large (at most {MAX_ROWS:,} rows).", field="file")
    if label_column and label_column not in frame.columns:
        raise Invalid(f"The data has no column '{label_column}' to use as the true outcome.",
                      field="label_column")
    if label_column:
        empty = int(frame[label_column].isna().sum())
        if empty:
            raise Invalid(f"The outcome column '{label_column}' is empty in {empty} of {len(frame)} rows: fill "
                          "in the true outcome there, leave those cases out, or choose no outcome column.",
                          field="label_column")
    for column in group_columns or []:
        if column not in frame.columns:
            raise Invalid(f"The data has no column '{column}' to group by.", field="group_columns")
    return name, frame


def add(db: Session, folder: Path, user: User, ruleset: str, name: str, data: bytes,
        label_column: str | None = None, group_columns: list[str] | None = None) -> ReferenceDataset:
    """``register`` and its audit row "dataset.register", in one transaction."""
    begin_write(db)
    dataset = register(db, folder, user, ruleset, name, data, label_column, group_columns)
    record(db, user, "dataset.register", ruleset=ruleset, message=dataset.name,
           details={"dataset": dataset.id, "rows": dataset.rows})
    db.commit()
    return dataset


def head(frame: pd.DataFrame, count: int) -> list[dict]:
    """The first ``count`` rows, column -> value, as JSON can hold them."""
    return [{str(c): plain_value(v) for c, v in row.items()} for row in frame.head(count).to_dict("records")]


def read_table(data: bytes) -> pd.DataFrame:
    """The CSV file as a table, or a plain-words 422 (field "file") saying what is wrong with it and where."""
    try:
        frame = read_csv(data)
    except CsvError as e:
        raise Invalid(e.message, field="file") from None
    if len(frame.columns) == 0 or frame.empty:
        raise Invalid("The file has column names but no cases below them.", field="file")
    if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in (";", "\t")):
        raise Invalid("The values in this file are separated by semicolons or tabs; Rulecraft reads values "
                      "separated by commas. Save the file as CSV with commas and add it again.", field="file")
    return frame


def data_report(ws, ruleset: str, version: str, frame: pd.DataFrame) -> dict | None:
    """What in the cases does not fit the rule set's vocabulary (RuleSet.data_report), as JSON; None when the rule
    set cannot be compiled at that version (its errors are shown where it is edited)."""
    try:
        rules = ws.ruleset(ruleset, version)
    except RuleError:
        return None
    return rules.data_report(frame).to_dict()


def datasets_of(db: Session, ruleset: str) -> list[ReferenceDataset]:
    return list(db.scalars(select(ReferenceDataset).where(ReferenceDataset.ruleset == ruleset)
                           .order_by(ReferenceDataset.id)))


def get(db: Session, ruleset: str, dataset_id) -> ReferenceDataset:
    dataset = None
    if isinstance(dataset_id, int) and not isinstance(dataset_id, bool) and 0 < dataset_id < 10**9:
        dataset = db.get(ReferenceDataset, dataset_id)
    if dataset is None or dataset.ruleset != ruleset:
        raise NotFound("There is no such data set for this rule set.")
    return dataset


def frame(folder: Path, dataset: ReferenceDataset) -> pd.DataFrame:
    if (cached := _cache.get(dataset.sha256)) is not None:
        return cached
    try:
        loaded = read_csv(folder / f"{dataset.id}.csv")
    except CsvError as e:  # registered before lines with more values than columns were refused
        raise Invalid(f"The data set '{dataset.name}' cannot be read any more: {e.message} Correct the file "
                      "and add it again as a new data set.", field="dataset") from None
    _cache.put(dataset.sha256, loaded)
    return loaded


def default_dataset(db: Session, ruleset: str) -> ReferenceDataset | None:
    found = datasets_of(db, ruleset)
    return found[0] if found else None


# ---- splitting the cases into groups (analysis and impact by subgroup) -------------------------------------------
MAX_GROUPS = 30       # more groups than this cannot be compared side by side
BAND_ABOVE = 12       # a number column with more distinct values than this is cut into bands


@dataclass
class Split:
    """The cases as the analysis sees them when split by ``column``: ``frame`` and the column of it that holds
    each case's group, ``group_column`` (``column`` itself, or a column added for its bands, since the rules may
    read the column), and ``bands``, the band names lowest first (None when not banded)."""

    frame: pd.DataFrame
    column: str
    group_column: str
    bands: list[str] | None = None


def split(frame: pd.DataFrame, column: str, bands: int = 4) -> Split:
    """Split by ``column``: a number column with many values is cut into ``bands`` bands holding about as many
    cases each ("below 11.7", "11.7 to 13.4", "13.4 and above"; a value on a boundary goes to the higher band);
    a column with more than MAX_GROUPS values otherwise is refused (422, field "group")."""
    if column not in frame.columns:
        raise Invalid(f"The data set has no column '{column}' to split by. Its columns: "
                      f"{', '.join(map(str, frame.columns[:30]))}.", field="group")
    values = frame[column]
    distinct = int(values.nunique(dropna=True))
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and distinct > BAND_ABOVE:
        edges = _band_edges(values.dropna().to_numpy(dtype=float), bands)
        if len(edges) >= 1:
            names = _band_names(edges)
            codes = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right")
            banded = pd.Series([None if pd.isna(v) else names[c] for v, c in zip(values, codes)],
                               index=frame.index, dtype=object)
            added = f"{column} (band)"
            while added in frame.columns:
                added += "_"
            return Split(frame.assign(**{added: banded}), column, added, names)
    if distinct > MAX_GROUPS:
        raise Invalid(f"The column '{column}' has {distinct} different values: too many groups to compare. "
                      "Split by a column with a few groups (such as sex or an age band).", field="group")
    return Split(frame, column, column)


def _band_edges(values: np.ndarray, bands: int) -> list[float]:
    """Inner edges at the quantiles, rounded to 3 significant digits so they read well, without repeats."""
    bands = min(max(int(bands), 2), 10)
    quantiles = np.quantile(values, [i / bands for i in range(1, bands)])
    edges: list[float] = []
    for q in quantiles:
        edge = float(f"{q:.3g}")
        if edge > values.min() and edge <= values.max() and (not edges or edge > edges[-1]):
            edges.append(edge)
    return edges


def _band_names(edges: list[float]) -> list[str]:
    text = [f"{e:g}" for e in edges]
    return [f"below {text[0]}"] + [f"{a} to {b}" for a, b in pairwise(text)] + [f"{text[-1]} and above"]
