"""The sequence tasks: seeded token sequences with a target token per position, and their test split."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.datasets import TASKS, DataConfig, make_dataset, train_test
from nnviz_addon.datasets.sequences import DIGITS_LENGTH, EQUALS, IGNORE, MODULUS, token_names


def data(task: str, **settings):
    return make_dataset(DataConfig(task=task, **settings), "cross_entropy")


@pytest.mark.parametrize("task", ["reverse", "sort", "modular_addition"])
def test_sequence_tasks_are_seeded_int_tokens_with_a_target_per_position(task):
    first, again = data(task, samples=300, seed=1), data(task, samples=300, seed=1)
    other = data(task, samples=300, seed=2)
    info = TASKS[task]
    assert info.is_sequence and first.x.dtype == np.int64 and first.y.dtype == np.int64
    assert first.x.shape == first.y.shape == (300, info.inputs)
    assert first.x.min() >= 0 and first.x.max() < info.vocab
    assert (first.in_features, first.out_features, first.classes, first.kind) == (info.inputs, info.vocab,
                                                                                  info.vocab, "multiclass")
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.labels, first.y)
    assert not np.array_equal(first.x, other.x)
    assert len(token_names(task)) == info.vocab


def test_reverse_and_sort_targets():
    reverse, sort = data("reverse", samples=50), data("sort", samples=50)
    assert reverse.x.shape[1] == DIGITS_LENGTH
    np.testing.assert_array_equal(reverse.y, reverse.x[:, ::-1])
    np.testing.assert_array_equal(sort.y, np.sort(sort.x, axis=1))
    assert not np.array_equal(sort.x, sort.y)


def test_modular_addition_is_every_sum_once_with_only_the_answer_as_target():
    every = data("modular_addition", samples=MODULUS**2)
    a, b = every.x[:, 0], every.x[:, 1]
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == MODULUS**2
    assert (every.x[:, 2] == EQUALS).all() and token_names("modular_addition")[EQUALS] == "="
    assert (every.y[:, :2] == IGNORE).all()
    np.testing.assert_array_equal(every.y[:, 2], (a + b) % MODULUS)


def test_the_test_split_holds_out_unseen_sums():
    train, test = train_test(data("modular_addition", samples=MODULUS**2), 0.6, seed=0)
    assert len(test) == round(0.6 * MODULUS**2) and len(train) + len(test) == MODULUS**2
    seen = {tuple(row) for row in train.x.tolist()}
    assert not any(tuple(row) in seen for row in test.x.tolist())


def test_sequence_tasks_need_cross_entropy():
    with pytest.raises(ValueError, match=r"reverse.*cross_entropy"):
        make_dataset(DataConfig(task="reverse"), "mse")
