"""Your own data: a table of feature columns and one target column, from a ``.csv`` or an ``.npz``.

A ``.csv`` has a header row naming its columns, then one sample per row (read with the csv module;
blank lines are skipped). An ``.npz`` holds one 1-D array per column, named like a CSV header.
The target decides the task: whole numbers or text make a classification (the classes are the
distinct values, sorted: numbers by value, text alphabetically), real numbers a regression.

Every problem is a :class:`TableError` naming the file, the row as a text editor numbers it (the
header is row 1; an ``.npz`` names the array index instead) and the column.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np


class TableError(ValueError):
    """A table that can't be trained on; the message names the file, row and column."""


@dataclass(frozen=True, eq=False)
class Table:
    """The feature matrix and target of a table, as read (not standardised, not split)."""

    path: Path
    features: tuple[str, ...]
    target: str
    x: np.ndarray  # float64 (N, len(features))
    y: np.ndarray  # int64 class indices (N,) for a classification, float64 values (N,) for a regression
    class_names: tuple[str, ...]  # empty for a regression

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.x)


def load_table(path: str | Path, target: str, features: tuple[str, ...] | list[str] = ()) -> Table:
    """Read ``path`` and pick its columns: ``features`` (default: every column but ``target``)."""
    path = Path(path)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise TableError(f"{path}: no such file (data.path)") from None
    except OSError as error:
        raise TableError(f"{path}: cannot read the table ({error.strerror or error})") from None
    # Cached on the file's identity, so validating a preset and then training it read the file once.
    return _load(path.resolve(), stat.st_mtime_ns, stat.st_size, target, tuple(features))


@cache
def _load(path: Path, _mtime: int, _size: int, target: str, features: tuple[str, ...]) -> Table:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        columns, rows = _read_csv(path)
    elif suffix == ".npz":
        columns, rows = _read_npz(path)
    else:
        raise TableError(f"{path.name}: a table must be a .csv or an .npz file, not {suffix or 'no extension'!r}")
    if target not in columns:
        raise TableError(f"{path.name}: no column {target!r} (data.target); columns: {', '.join(columns)}")
    features = features or tuple(name for name in columns if name != target)
    for name in features:
        if name not in columns:
            raise TableError(f"{path.name}: no column {name!r} (data.features); columns: {', '.join(columns)}")
    if target in features:
        raise TableError(f"{path.name}: column {target!r} is the target, so it can't be a feature too")
    if len(set(features)) != len(features):
        twice = next(name for name in features if features.count(name) > 1)
        raise TableError(f"{path.name}: data.features names column {twice!r} twice")
    if not features:
        raise TableError(f"{path.name}: no feature columns: the table has only the target {target!r}")
    if not len(rows):
        raise TableError(f"{path.name}: the table has no rows")
    x = np.column_stack([_numbers(path, rows, columns.index(name), name) for name in features])
    y, class_names = _target(path, rows, columns.index(target), target)
    x.setflags(write=False)
    y.setflags(write=False)
    return Table(path=path, features=features, target=target, x=x, y=y, class_names=class_names)


class _Rows:
    """The cells of a table, column by column, with the row number a user would look up."""

    def __init__(self, cells: list[list[object]], row_names: list[str]) -> None:
        self.cells, self.row_names = cells, row_names  # cells[column][row]

    def __len__(self) -> int:
        return len(self.row_names)


def _read_csv(path: Path) -> tuple[list[str], _Rows]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise TableError(f"{path.name}: the file is empty; it needs a header row naming the columns")
            columns = [name.strip() for name in header]
            if any(not name for name in columns):
                raise TableError(f"{path.name}: row 1 (the header): column {columns.index('') + 1} has no name")
            cells: list[list[object]] = [[] for _ in columns]
            row_names: list[str] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(columns):
                    raise TableError(f"{path.name}: row {reader.line_num} has {len(row)} cells but the header "
                                     f"has {len(columns)} columns")
                for column, cell in zip(cells, row, strict=True):
                    column.append(cell.strip())
                row_names.append(f"row {reader.line_num}")
    except UnicodeDecodeError:
        raise TableError(f"{path.name}: not UTF-8 text; save the table as a UTF-8 .csv") from None
    except csv.Error as error:
        raise TableError(f"{path.name}: not a readable CSV file: {error}") from None
    return columns, _Rows(cells, row_names)


def _read_npz(path: Path) -> tuple[list[str], _Rows]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as error:
        raise TableError(f"{path.name}: not a readable .npz file ({error})") from None
    lengths = {name: array.shape for name, array in arrays.items()}
    if any(len(shape) != 1 for shape in lengths.values()):
        name = next(name for name, shape in lengths.items() if len(shape) != 1)
        raise TableError(f"{path.name}: array {name!r} has shape {lengths[name]}; a table's .npz holds one 1-D "
                         "array per column")
    if len({shape[0] for shape in lengths.values()}) > 1:
        raise TableError(f"{path.name}: the columns have different lengths: "
                         + ", ".join(f"{name} {shape[0]}" for name, shape in lengths.items()))
    count = next(iter(lengths.values()))[0] if arrays else 0
    return list(arrays), _Rows([list(array.tolist()) for array in arrays.values()],
                               [f"index {i}" for i in range(count)])


def _numbers(path: Path, rows: _Rows, column: int, name: str) -> np.ndarray:
    values = np.empty(len(rows))
    for i, cell in enumerate(rows.cells[column]):
        try:
            value = float(cell)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            shown = "an empty cell" if cell == "" else f"{cell!r}"
            raise TableError(f"{path.name}: {rows.row_names[i]}, column {name!r}: {shown} is not a number") from None
        if not np.isfinite(value):
            raise TableError(f"{path.name}: {rows.row_names[i]}, column {name!r}: {cell!r} is not a finite number")
        values[i] = value
    return values


def _target(path: Path, rows: _Rows, column: int, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices and names for whole-number or text targets; the values for real numbers."""
    cells = rows.cells[column]
    for i, cell in enumerate(cells):
        if cell == "":
            raise TableError(f"{path.name}: {rows.row_names[i]}, column {name!r} (the target) is empty")
    kind = _target_kind(cells)
    if kind == "real":
        return _numbers(path, rows, column, name), ()
    keys = [int(cell) for cell in cells] if kind == "integer" else [str(cell) for cell in cells]
    names = sorted(set(keys))  # type: ignore[type-var]
    if len(names) < 2:
        raise TableError(f"{path.name}: column {name!r} (the target) has a single class {str(names[0])!r}; a "
                         "classification needs at least 2")
    index = {key: i for i, key in enumerate(names)}
    return np.array([index[key] for key in keys], dtype=np.int64), tuple(str(key) for key in names)


def _target_kind(cells: list[object]) -> str:
    """"integer" (every cell a whole number written without a decimal point, or an integer array),
    "real" (every cell a number) or "text"."""
    if all(_is_integer(cell) for cell in cells):
        return "integer"
    try:
        [float(cell) for cell in cells]  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "text"
    return "real"


def _is_integer(cell: object) -> bool:
    if isinstance(cell, str):
        try:
            int(cell)
        except ValueError:
            return False
        return True
    return isinstance(cell, int) and not isinstance(cell, bool)
