"""The held-out test split and the features' standardisation, both from the training split alone."""

from __future__ import annotations

import dataclasses

import numpy as np

from .dataset import SPLIT_STREAM, Dataset


def test_size(samples: int, test_fraction: float) -> int:
    """How many of ``samples`` the split holds out: the fraction, rounded, 0 only for a fraction of 0."""
    if test_fraction <= 0:
        return 0
    return max(1, round(test_fraction * samples))


def train_test(dataset: Dataset, test_fraction: float, seed: int,
               standardize: bool = False) -> tuple[Dataset, Dataset | None]:
    """(training split, test split or None for a fraction of 0), drawn with ``seed``'s split stream.

    A fraction of 0 returns ``dataset`` itself, so a run without a test split trains exactly as
    before. With ``standardize``, both splits' features are shifted and scaled by the training
    split's mean and standard deviation (a constant feature is only shifted).
    """
    held_out = test_size(len(dataset), test_fraction)
    train, test = dataset, None
    if held_out:
        order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(len(dataset))
        train, test = dataset.subset(np.sort(order[held_out:])), dataset.subset(np.sort(order[:held_out]))
    if not standardize:
        return train, test
    mean = train.x.mean(axis=0)
    std = train.x.std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def scaled(part: Dataset) -> Dataset:
        return dataclasses.replace(part, x=((part.x - mean) / std).astype(part.x.dtype))

    return scaled(train), None if test is None else scaled(test)
