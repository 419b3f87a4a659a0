"""The film's forward passes as plain numpy (no bpy): where they sit on the frames, what each one
lights in turn, and each weight's share of the signal."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.picture import film as film_plan
from nnviz_addon.picture import film_passes
from nnviz_addon.preset.limits import pass_records


def test_passes_come_before_the_run_at_its_end_and_every_n_records_pausing_it() -> None:
    step, fpr, columns = 4, 2, 3
    length = (columns + 1) * step
    plain = film_passes.timeline(7, fpr, 1, columns, "none")
    assert plain.record_frames.tolist() == [1, 3, 5, 7, 9, 11, 13] and plain.frame_end == 13
    assert len(plain.passes) == 0
    intro = film_passes.timeline(7, fpr, 1, columns, "intro", step=step)
    assert intro.passes.tolist() == [0, 6]  # before the run, and on the trained network
    assert intro.record_frames.tolist() == [1 + length + fpr * r for r in range(7)]
    assert intro.starts.tolist() == [1, intro.record_frames[-1] + 1]
    assert intro.frame_end == intro.starts[-1] + length and len(intro.holds) == 0
    every = film_passes.timeline(7, fpr, 1, columns, "every", every=2, step=step)
    assert every.passes.tolist() == [0, 2, 4, 6]
    # Each middle pass pauses the run: the records after it come one pass later.
    gaps = np.diff(every.record_frames).tolist()
    assert gaps == [fpr, fpr, fpr + length, fpr, fpr + length, fpr]
    for i, r in enumerate(every.passes.tolist()[1:-1], start=1):
        assert every.starts[i] == every.record_frames[r] + 1
        assert every.record_frames[r] < every.lit[i, 0] and every.lit[i, -1] < every.record_frames[r + 1]
    assert every.holds.tolist() == (every.record_frames[[3, 5]] - fpr).tolist()
    assert np.array_equal(np.diff(every.lit, axis=1), np.full((4, columns - 1), step))
    assert every.frame_end == every.starts[-1] + length
    assert film_passes.timeline(1, fpr, 1, columns, "every", 2).passes.tolist() == [0]
    assert len(film_passes.timeline(7, fpr, 1, 0, "every", 2).passes) == 0  # nothing to light up
    with pytest.raises(ValueError, match="every must be at least 1"):
        pass_records(5, "every", 0)


def test_contributions_are_each_weights_share_of_the_signal() -> None:
    rng = np.random.default_rng(3)
    weight, x = rng.normal(size=(4, 3)), rng.normal(size=3)
    share = film_passes.contributions(weight, x)
    expected = np.array([[abs(weight[i, j] * x[j]) for j in range(3)] for i in range(4)])
    np.testing.assert_allclose(share, expected / expected.max())
    assert share.max() == 1.0
    assert not film_passes.contributions(weight, np.zeros(3)).any()
    np.testing.assert_allclose(film_plan.flash_depths(np.array([1.0, 2.0]), np.array([0.0, 1.0])),
                               [1.0, 2.0 * (1 + film_plan.FLASH_GAIN)])
    with pytest.raises(ValueError, match="does not take"):
        film_passes.contributions(weight, np.zeros(4))


def test_kernel_contributions_are_each_kernel_weights_share_of_the_channel_it_reads() -> None:
    rng = np.random.default_rng(4)
    weight, maps = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=(2, 5, 5))
    share = film_passes.kernel_contributions(weight, maps)
    level = [np.mean([abs(maps[i, y, x]) for y in range(5) for x in range(5)]) for i in range(2)]
    expected = np.array([[[[abs(weight[o, i, u, v]) * level[i] for v in range(2)] for u in range(2)]
                          for i in range(2)] for o in range(3)])
    np.testing.assert_allclose(share, expected / expected.max())
    assert not film_passes.kernel_contributions(weight, np.zeros((2, 5, 5))).any()
    with pytest.raises(ValueError, match=r"weight \(3, 2, 2, 2\) does not take feature maps of shape \(3, 5, 5\)"):
        film_passes.kernel_contributions(weight, np.zeros((3, 5, 5)))
