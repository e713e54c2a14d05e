"""Reference data sets: labelled cases registered for a rule set, kept as CSV files in the data folder.

The file name comes from the row id (``<id>.csv``), never from what the person called the data set. Loaded frames
are cached by content hash, so "try it" on every keystroke does not re-read the file.
"""
from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound, Unprocessable
from ..models import ReferenceDataset, User

MAX_ROWS = 2_000_000
_cache: OrderedDict[str, pd.DataFrame] = OrderedDict()
_lock = threading.Lock()


def register(db: Session, folder: Path, user: User, ruleset: str, name: str, data: bytes,
             label_column: str | None = None, group_columns: list[str] | None = None) -> ReferenceDataset:
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100 or not name.isprintable():
        raise Unprocessable("Give the data set a short name (at most 100 characters).", field="name")
    if db.scalar(select(ReferenceDataset).where(ReferenceDataset.ruleset == ruleset,
                                                ReferenceDataset.name == name)):
        raise Unprocessable(f"This rule set already has a data set called '{name}'.", field="name")
    try:
        frame = pd.read_csv(io.BytesIO(data), low_memory=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise Unprocessable(f"The file is not a CSV table that can be read ({e}).", field="file") from None
    if frame.empty or len(frame.columns) == 0:
        raise Unprocessable("The CSV file has no rows.", field="file")
    if len(frame) > MAX_ROWS:
        raise Unprocessable(f"The data set is too large (at most {MAX_ROWS:,} rows).", field="file")
    if label_column and label_column not in frame.columns:
        raise Unprocessable(f"The data has no column '{label_column}' to use as the true outcome.",
                            field="label_column")
    for column in group_columns or []:
        if column not in frame.columns:
            raise Unprocessable(f"The data has no column '{column}' to group by.", field="group_columns")
    dataset = ReferenceDataset(ruleset=ruleset, name=name, label_column=label_column or None,
                               group_columns=list(group_columns or []), rows=len(frame),
                               columns=[str(c) for c in frame.columns], sha256=hashlib.sha256(data).hexdigest(),
                               registered_by=user.id)
    db.add(dataset)
    db.flush()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset.id}.csv"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return dataset


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
    with _lock:
        if dataset.sha256 in _cache:
            _cache.move_to_end(dataset.sha256)
            return _cache[dataset.sha256]
    loaded = pd.read_csv(folder / f"{dataset.id}.csv", low_memory=False)
    with _lock:
        _cache[dataset.sha256] = loaded
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return loaded


def default_dataset(db: Session, ruleset: str) -> ReferenceDataset | None:
    found = datasets_of(db, ruleset)
    return found[0] if found else None
