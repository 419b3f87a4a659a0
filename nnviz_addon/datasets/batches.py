"""Shuffled mini-batches for the training loop, cheap enough to call once per step."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

_STREAM_TARGET = 4096  # indices drawn ahead at a time, so refills are rare for any data size


class Batches:
    """An endless iterator of ``(x, y)`` mini-batches.

    Each epoch is a fresh permutation drawn from ``rng``; the permutations are laid end to end and
    cut into batches of exactly ``batch_size``, so a batch that reaches the end of an epoch wraps
    into the next one: nothing is dropped and every batch has the same size. A ``batch_size`` at
    least the data's size means full-batch training: every batch is the whole data set, unshuffled
    and uncopied.
    """

    def __init__(self, dataset: Dataset, batch_size: int, rng: np.random.Generator) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.x, self.y = dataset.x, dataset.y
        self.size = len(dataset)
        self.batch_size = min(batch_size, self.size)
        self._rng = rng
        self._stream = np.empty(0, dtype=np.intp)
        self._position = 0

    @property
    def full_batch(self) -> bool:
        return self.batch_size == self.size

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        if self.full_batch:
            return self.x, self.y
        end = self._position + self.batch_size
        if end > len(self._stream):
            self._refill()
            end = self.batch_size
        indices = self._stream[self._position:end]
        self._position = end
        return self.x[indices], self.y[indices]

    def _refill(self) -> None:
        epochs = max(1, -(-_STREAM_TARGET // self.size))
        fresh = [self._rng.permutation(self.size) for _ in range(epochs)]
        self._stream = np.concatenate([self._stream[self._position:], *fresh])
        self._position = 0
