"""The task generators, the shipped digits and the mini-batch iterator (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.datasets import RGB_MAPPINGS, TASKS, Batches, DataConfig, make_dataset, output_size
from nnviz_addon.datasets.tasks import SPIRAL_TURNS, XOR_MARGIN

POINT_TASKS = ["xor", "circle", "gauss", "spiral", "moons"]


def data(task: str, loss: str = "bce", **settings) -> object:
    return make_dataset(DataConfig(task=task, **settings), loss)


@pytest.mark.parametrize("task", POINT_TASKS)
def test_point_tasks_are_seeded_balanced_and_shaped_for_bce(task):
    first = data(task, samples=201, seed=3)
    again = data(task, samples=201, seed=3)
    other = data(task, samples=201, seed=4)
    assert first.x.shape == (201, 2) and first.x.dtype == np.float32
    assert first.y.shape == (201, 1) and first.y.dtype == np.float32
    assert (first.in_features, first.out_features, first.kind, first.classes) == (2, 1, "binary", 2)
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not np.array_equal(first.x, other.x)
    assert np.bincount(first.labels).tolist() == [101, 100]
    np.testing.assert_array_equal(first.y[:, 0], first.labels)
    assert np.all(np.abs(first.x) < 2.0)


@pytest.mark.parametrize("task", POINT_TASKS)
def test_cross_entropy_gets_class_indices_and_two_outputs(task):
    dataset = data(task, loss="cross_entropy", samples=50)
    assert dataset.y.dtype == np.int64 and dataset.y.shape == (50,)
    assert dataset.out_features == 2
    np.testing.assert_array_equal(dataset.y, dataset.labels)


def test_xor_labels_follow_the_quadrants_and_keep_a_margin():
    dataset = data("xor", samples=400, noise=0.0)
    x, y = dataset.x[:, 0], dataset.x[:, 1]
    np.testing.assert_array_equal(dataset.labels, (np.sign(x) * np.sign(y) < 0).astype(np.int64))
    assert np.abs(dataset.x).min() >= XOR_MARGIN - 1e-6
    assert np.abs(dataset.x).max() <= 1.0


def test_noise_jitters_the_points():
    clean, noisy = data("xor", samples=100, noise=0.0), data("xor", samples=100, noise=0.2)
    np.testing.assert_array_equal(clean.labels, noisy.labels)
    spread = np.std(noisy.x - clean.x)
    assert 0.1 < spread < 0.3


def test_circle_separates_inside_from_the_ring():
    dataset = data("circle", samples=400, noise=0.0)
    radius = np.hypot(dataset.x[:, 0], dataset.x[:, 1])
    assert radius[dataset.labels == 1].max() <= 0.5 + 1e-6
    assert radius[dataset.labels == 0].min() >= 0.7 - 1e-6
    assert radius.max() <= 1.0 + 1e-6


def test_gauss_blobs_sit_on_opposite_diagonal_corners():
    dataset = data("gauss", samples=1000, noise=0.0)
    np.testing.assert_allclose(dataset.x[dataset.labels == 1].mean(axis=0), [0.5, 0.5], atol=0.05)
    np.testing.assert_allclose(dataset.x[dataset.labels == 0].mean(axis=0), [-0.5, -0.5], atol=0.05)


def test_spiral_arms_are_half_a_turn_apart():
    dataset = data("spiral", samples=300, noise=0.0)
    radius = np.hypot(dataset.x[:, 0], dataset.x[:, 1]).astype(np.float64)
    angle = np.arctan2(dataset.x[:, 1], dataset.x[:, 0]).astype(np.float64)
    expected = 2 * np.pi * SPIRAL_TURNS * radius + np.pi * dataset.labels
    # Angles agree modulo a full turn.
    np.testing.assert_allclose(np.cos(angle - expected), 1.0, atol=1e-4)


def test_moons_span_minus_one_to_one():
    dataset = data("moons", samples=500, noise=0.0)
    assert dataset.x[:, 0].min() >= -1 - 1e-6 and dataset.x[:, 0].max() <= 1 + 1e-6
    assert dataset.x[:, 0].min() < -0.95 and dataset.x[:, 0].max() > 0.95
    # The upper moon (label 0) lies above the lower one on average.
    assert dataset.x[dataset.labels == 0, 1].mean() > dataset.x[dataset.labels == 1, 1].mean()


@pytest.mark.parametrize("mapping", list(RGB_MAPPINGS))
def test_rgb_targets_are_colours(mapping):
    dataset = data("rgb", loss="mse", samples=64, mapping=mapping)
    assert dataset.x.shape == dataset.y.shape == (64, 3)
    assert dataset.kind == "regression" and dataset.labels is None and dataset.out_features == 3
    assert dataset.x.min() >= 0 and dataset.x.max() <= 1
    assert dataset.y.min() >= 0 and dataset.y.max() <= 1


def test_rgb_mappings_compute_what_they_say():
    colour = np.array([[0.2, 0.5, 0.9]])
    np.testing.assert_allclose(RGB_MAPPINGS["complement"](colour), [[0.8, 0.5, 0.1]])
    luma = 0.299 * 0.2 + 0.587 * 0.5 + 0.114 * 0.9
    np.testing.assert_allclose(RGB_MAPPINGS["grayscale"](colour), [[luma, luma, luma]])
    np.testing.assert_allclose(RGB_MAPPINGS["swap"](colour), [[0.9, 0.2, 0.5]])
    sepia_red = 0.393 * 0.2 + 0.769 * 0.5 + 0.189 * 0.9
    np.testing.assert_allclose(RGB_MAPPINGS["sepia"](colour)[0, 0], sepia_red)
    np.testing.assert_allclose(RGB_MAPPINGS["sepia"](np.ones((1, 3))), [[1.0, 1.0, 0.937]])  # R, G clipped


def test_rgb_follows_the_mapping():
    dataset = data("rgb", loss="l1", samples=10, mapping="complement")
    np.testing.assert_allclose(dataset.y, 1 - dataset.x, atol=1e-6)


def test_digits_are_the_full_uci_set_scaled_to_unit_range():
    dataset = data("digits", loss="cross_entropy", samples=1797)
    assert dataset.x.shape == (1797, 64) and dataset.x.dtype == np.float32
    assert dataset.x.min() == 0.0 and dataset.x.max() == 1.0
    assert np.all(np.isin(np.round(dataset.x * 16, 4), np.arange(17)))
    assert dataset.y.dtype == np.int64
    assert np.bincount(dataset.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert (dataset.kind, dataset.classes, dataset.out_features) == ("multiclass", 10, 10)
    # The first image of the set is a zero with an empty centre column.
    assert dataset.y[0] == 0 and dataset.x[0].reshape(8, 8)[3:5, 3:5].max() == 0


def test_digits_subset_is_seeded_and_mse_gets_one_hot():
    subset = data("digits", loss="mse", samples=100, seed=1)
    again = data("digits", loss="mse", samples=100, seed=1)
    np.testing.assert_array_equal(subset.x, again.x)
    assert subset.y.shape == (100, 10) and subset.y.dtype == np.float32
    np.testing.assert_array_equal(subset.y.argmax(axis=1), subset.labels)
    np.testing.assert_array_equal(subset.y.sum(axis=1), 1)
    assert len(np.unique(subset.labels)) > 5


def test_digits_refuses_more_samples_than_it_has():
    with pytest.raises(ValueError, match="1797"):
        data("digits", loss="cross_entropy", samples=2000)


def test_output_size_per_task_and_loss():
    assert output_size("rgb", "mse") == 3
    assert output_size("xor", "bce") == 1
    assert output_size("xor", "cross_entropy") == 2
    assert output_size("digits", "cross_entropy") == output_size("digits", "bce") == 10
    with pytest.raises(ValueError, match="regression"):
        output_size("rgb", "cross_entropy")
    assert set(TASKS) == {"rgb", "xor", "circle", "gauss", "spiral", "moons", "digits", "reverse", "sort",
                          "modular_addition"}


def test_unknown_task_or_loss_is_named():
    with pytest.raises(ValueError, match="unknown task 'ring'; allowed: rgb"):
        make_dataset(DataConfig(task="ring"), "mse")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        make_dataset(DataConfig(task="xor"), "hinge")


def _indexed(n: int) -> object:
    """A data set whose x rows are their own indices, so batches show which samples they hold."""
    dataset = data("xor", samples=n)
    return type(dataset)(name="index", x=np.arange(n, dtype=np.float32)[:, None], y=dataset.y,
                         in_features=1, out_features=1, kind="binary", classes=2, labels=dataset.labels)


def test_batches_have_fixed_size_and_wrap_across_epochs():
    batches = Batches(_indexed(10), batch_size=4, rng=np.random.default_rng(0))
    drawn = np.concatenate([next(batches)[0][:, 0] for _ in range(5)]).astype(int)
    assert len(drawn) == 20
    # Two whole epochs, each a permutation of all samples; the third batch straddles them.
    assert sorted(drawn[:10]) == list(range(10)) and sorted(drawn[10:]) == list(range(10))
    assert drawn[:10].tolist() != list(range(10))


def test_batches_cover_many_epochs_and_are_seeded():
    def stream(seed: int) -> np.ndarray:
        batches = Batches(_indexed(7), batch_size=3, rng=np.random.default_rng(seed))
        return np.concatenate([next(batches)[0][:, 0] for _ in range(7 * 700)]).astype(int)

    drawn = stream(1)
    epochs = drawn.reshape(-1, 7)  # 3 × 7 × 700 indices = 2100 whole epochs
    assert np.all(np.sort(epochs, axis=1) == np.arange(7))
    np.testing.assert_array_equal(drawn, stream(1))
    assert not np.array_equal(drawn, stream(2))


def test_batches_keep_x_and_y_rows_together():
    dataset = data("xor", samples=50)
    xb, yb = next(Batches(dataset, 8, np.random.default_rng(0)))
    rows = [int(np.flatnonzero((dataset.x == row).all(axis=1))[0]) for row in xb]
    np.testing.assert_array_equal(yb, dataset.y[rows])


def test_a_batch_as_big_as_the_data_is_the_whole_data_set():
    dataset = data("xor", samples=20)
    batches = Batches(dataset, batch_size=64, rng=np.random.default_rng(0))
    assert batches.batch_size == 20 and batches.full_batch
    xb, yb = next(batches)
    assert xb is dataset.x and yb is dataset.y


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        Batches(data("xor", samples=20), 0, np.random.default_rng(0))
