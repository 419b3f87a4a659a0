"""Where a Recorder keeps its records while training: rows copied straight in, nothing copied twice.

Each parameter's values and gradients live in chunks of preallocated rows. When a chunk is full the
next one is as large as all before it (the capacity doubles) and the full chunks are never copied
again while recording: a record costs one memory copy per array, whatever the run's length. The
chunks are joined once, when a History is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class _Chunk:
    rows: int
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    series: dict[str, np.ndarray] = field(default_factory=dict)
    used: int = 0


def as_number(value: Any) -> float:
    """A logged number as a float: a Python number, a numpy scalar or a one-element tensor (read
    without autograd; None is NaN, "not known")."""
    if value is None:
        return float("nan")
    detach = getattr(value, "detach", None)
    return float(detach() if callable(detach) else value)


class RecordBuffer:
    """Records of the parameters ``shapes`` stored as ``dtype`` (float16 halves the memory of float32).

    :meth:`append` returns the rows to fill; the step, loss and metrics of each record are small and
    kept in lists.
    """

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype, capacity: int = 64) -> None:
        self.shapes = {key: tuple(shape) for key, shape in shapes.items()}
        self.dtype = np.dtype(dtype)
        # values and gradients of one record (series not counted: a probe's few values)
        self.bytes_per_record = 2 * self.dtype.itemsize * sum(int(np.prod(s)) for s in self.shapes.values())
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.metrics: list[dict[str, float]] = []
        self._chunks: list[_Chunk] = []
        self._next_rows = max(1, int(capacity))

    def __len__(self) -> int:
        return len(self.steps)


    def append(self, step: int, loss: Any, metrics: Mapping[str, Any] | None = None
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
        """Start a record: (its value rows, its gradient rows, its index). The rows are uninitialised
        memory until the caller fills them."""
        chunk = self._chunks[-1] if self._chunks else None
        if chunk is None or chunk.used == chunk.rows:
            chunk = self._new_chunk()
        row = chunk.used
        chunk.used += 1
        self.steps.append(int(step))
        self.loss.append(as_number(loss))
        self.metrics.append({key: as_number(value) for key, value in (metrics or {}).items()})
        # a[row, ...] is a view even for a 0-d parameter (a[row] would be a numpy scalar, a copy)
        return ({k: a[row, ...] for k, a in chunk.params.items()}, {k: a[row, ...] for k, a in chunk.grads.items()},
                len(self.steps) - 1)

    def update_last(self, values: Mapping[str, Any]) -> None:
        """Give the last record its loss (``"loss"``) and metrics, logged after it was taken."""
        values = {key: as_number(value) for key, value in values.items()}
        if "loss" in values:
            self.loss[-1] = values.pop("loss")
        self.metrics[-1].update(values)

    def set_series(self, values: Mapping[str, np.ndarray]) -> None:
        """The last record's per-record arrays (a probe's activations and feature maps)."""
        chunk = self._chunks[-1]
        for key, value in values.items():
            value = np.asarray(value)
            if key not in chunk.series:
                chunk.series[key] = np.zeros((chunk.rows, *value.shape), dtype=value.dtype)
            chunk.series[key][chunk.used - 1] = value

    def drop_last(self) -> None:
        """Forget the last record (a snapshot that failed half-way must not leave a half-filled row)."""
        self.steps.pop()
        self.loss.pop()
        self.metrics.pop()
        self._chunks[-1].used -= 1

    def _new_chunk(self) -> _Chunk:
        rows = self._next_rows
        self._next_rows = len(self.steps) + rows  # the next chunk holds as many as all so far: doubling
        chunk = _Chunk(rows=rows,
                       params={k: np.empty((rows, *s), dtype=self.dtype) for k, s in self.shapes.items()},
                       grads={k: np.empty((rows, *s), dtype=self.dtype) for k, s in self.shapes.items()})
        self._chunks.append(chunk)
        return chunk

    def first_non_finite(self) -> tuple[int, str] | None:
        """The index of the first record whose values aren't all finite (NaN or inf) and the first
        such parameter in it, else None."""
        start = 0
        for chunk in self._chunks:
            bad = {key: np.flatnonzero(~np.isfinite(values[:chunk.used].reshape(chunk.used, -1)).all(axis=1))
                   for key, values in chunk.params.items()}
            first = {key: int(rows[0]) for key, rows in bad.items() if len(rows)}
            if first:
                key = min(first, key=first.__getitem__)
                return start + first[key], key
            start += chunk.used
        return None

    def joined(self, records: int) -> dict[str, Any]:
        """The first ``records`` records as whole arrays: steps, loss, params, grads, metrics, series."""
        taken: list[tuple[_Chunk, int]] = []
        left = records
        for chunk in self._chunks:
            n = min(chunk.used, left)
            if n:
                taken.append((chunk, n))
            left -= n

        def join(group: str, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
            parts = []
            for chunk, n in taken:
                arrays = getattr(chunk, group)
                parts.append(arrays[key][:n] if key in arrays else np.zeros((n, *shape), dtype=dtype))
            return np.concatenate(parts) if parts else np.zeros((0, *shape), dtype=dtype)

        series_kinds = {key: (array.shape[1:], array.dtype)
                        for chunk, _ in taken for key, array in chunk.series.items()}
        metric_names = sorted({name for values in self.metrics[:records] for name in values})
        return {
            "steps": np.asarray(self.steps[:records], dtype=np.int64),
            "loss": np.asarray(self.loss[:records], dtype=np.float64),
            "params": {k: join("params", k, s, self.dtype) for k, s in self.shapes.items()},
            "grads": {k: join("grads", k, s, self.dtype) for k, s in self.shapes.items()},
            "metrics": {name: np.asarray([values.get(name, np.nan) for values in self.metrics[:records]],
                                         dtype=np.float64) for name in metric_names},
            "series": {k: join("series", k, s, d) for k, (s, d) in series_kinds.items()},
        }
