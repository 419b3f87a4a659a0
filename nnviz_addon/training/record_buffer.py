"""Where a Recorder keeps its records while training: rows copied straight in, nothing copied twice.

Each parameter's values and gradients live in chunks of preallocated rows; full chunks are never
copied again while recording, so a record costs one memory copy per array, whatever the run's
length. The chunks are joined once, when a History is asked for.

New memory is the expensive part of a record: the kernel maps and zeroes every fresh page on its
first write (on a VM whose host has taken freed memory back, the host maps it again too), which
costs more than the copy itself. So each chunk is allocated and has every page touched on a
background thread while the training thread fills the one before it (numpy releases the GIL while it
writes), and the records land in memory already mapped. The training thread never shares a chunk
with that thread: it gets a chunk only once it is fully prepared. Chunks double from one row up to
``capacity`` rows or about :data:`CHUNK_BYTES`, so the first records wait for little and at most
one prepared chunk is held ahead of need.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CHUNK_BYTES = 32 * 2**20  # a chunk's values and gradients at most (unless one record is larger)
_ALIGN = 64  # bytes: each array of a chunk starts on a cache line
_preparer: ThreadPoolExecutor | None = None  # one worker thread for every Recorder, started at first need


@dataclass
class _Chunk:
    rows: int
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    series: dict[str, np.ndarray] = field(default_factory=dict)
    used: int = 0


def _prepared_chunk(rows: int, shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype,
                    series_kinds: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> _Chunk:
    """A chunk of ``rows`` zeroed records whose every page is already mapped.

    All its arrays are views of one block, allocated by one numpy call and touched by another that
    releases the GIL: this thread takes the GIL back only a few times a chunk, since each time it
    can be paused holding it, and the training thread would wait (on a busy machine, for
    milliseconds)."""
    arrays = ([("params", key, shape, dtype) for key, shape in shapes.items()]
              + [("grads", key, shape, dtype) for key, shape in shapes.items()]
              + [("series", key, shape, kind) for key, (shape, kind) in series_kinds.items()])
    sizes = [rows * int(np.prod(shape)) * np.dtype(kind).itemsize for _, _, shape, kind in arrays]
    starts = np.cumsum([0] + [-(-size // _ALIGN) * _ALIGN for size in sizes])  # each on its own cache line
    block = np.zeros(int(starts[-1]), dtype=np.uint8)  # calloc: fresh memory the kernel zeroes as it maps it
    _touch(block)
    chunk = _Chunk(rows=rows, params={}, grads={})
    for (group, key, shape, kind), start, size in zip(arrays, starts[:-1].tolist(), sizes, strict=True):
        getattr(chunk, group)[key] = block[start:start + size].view(kind).reshape(rows, *shape)
    return chunk


def _touch(block: np.ndarray) -> None:
    """Write a zero into every page of ``block`` (bytes, already zero), so the kernel maps its memory
    now rather than at the first record copied into it."""
    if block.size:
        block[::mmap.PAGESIZE] = 0
        block[-1] = 0


def _forget_preparer() -> None:
    """A forked child has none of its parent's threads: it starts its own preparer when it needs one
    (else its chunks would wait forever on the parent's thread, which is not there)."""
    global _preparer
    _preparer = None


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_preparer)


def _prepare(rows: int, shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype,
             series_kinds: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> Future[_Chunk]:
    """:func:`_prepared_chunk` on the preparing thread."""
    global _preparer
    if _preparer is None:
        _preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnviz-record-buffer")
    return _preparer.submit(_prepared_chunk, rows, dict(shapes), dtype, dict(series_kinds))


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
    kept in lists. ``capacity`` caps the records a chunk holds (None: as many as fit in
    :data:`CHUNK_BYTES`).
    """

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype, capacity: int | None = None) -> None:
        self.shapes = {key: tuple(shape) for key, shape in shapes.items()}
        self.dtype = np.dtype(dtype)
        # values and gradients of one record (series not counted: a probe's few values)
        self.bytes_per_record = 2 * self.dtype.itemsize * sum(int(np.prod(s)) for s in self.shapes.values())
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.metrics: list[dict[str, float]] = []
        self._chunks: list[_Chunk] = []
        fitting = CHUNK_BYTES // max(1, self.bytes_per_record)
        self._most_rows = max(1, fitting if capacity is None else min(int(capacity), fitting))
        self._next_rows = 1
        self._series_kinds: dict[str, tuple[tuple[int, ...], np.dtype]] = {}  # learnt from the first record
        self._next: Future[_Chunk] | None = self._prepare_next()  # ready, or nearly, by the first record

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
            if key not in chunk.series:  # the chunks prepared from now on come with it
                chunk.series[key] = np.zeros((chunk.rows, *value.shape), dtype=value.dtype)
                self._series_kinds.setdefault(key, (value.shape, value.dtype))
            chunk.series[key][chunk.used - 1] = value

    def drop_last(self) -> None:
        """Forget the last record (a snapshot that failed half-way must not leave a half-filled row)."""
        self.steps.pop()
        self.loss.pop()
        self.metrics.pop()
        self._chunks[-1].used -= 1

    def _new_chunk(self) -> _Chunk:
        """The chunk prepared while the last one filled (waited for if it isn't ready yet); the one
        after it starts being prepared now."""
        preparing, self._next = self._next, None
        chunk = (preparing or self._prepare_next()).result()  # a failed preparation is tried afresh next time
        self._chunks.append(chunk)
        self._next = self._prepare_next()
        return chunk

    def _prepare_next(self) -> Future[_Chunk]:
        rows = self._next_rows
        self._next_rows = min(2 * rows, self._most_rows)
        return _prepare(rows, self.shapes, self.dtype, self._series_kinds)

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
