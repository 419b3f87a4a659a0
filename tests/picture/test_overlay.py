"""The overlay plan (pure numpy): where the title and counter stand and what the counter shows."""

import numpy as np
import pytest

from nnviz_addon.picture import overlay
from tests.support.histories import loss_history


def test_title_on_top_then_the_counter_a_line_and_a_half_below_it():
    picture = overlay.plan(loss_history([np.nan, 0.5], step_every=10), anchor=(1.0, -2.0, 10.0), size=0.5)
    assert picture.title.text == "a run"
    assert picture.title.size == pytest.approx(0.6)  # 1.2 × the text size
    assert picture.title.position == pytest.approx((1.0, -2.0, 9.4))  # its baseline a title height down
    assert picture.counter_location == pytest.approx((1.0, -2.0, 9.4 - 0.75))
    assert picture.size == 0.5


def test_values_per_record_with_unknowns_as_minus_one_and_only_the_metrics_recorded():
    history = loss_history([np.nan, 0.5, 0.000123], accuracy=np.array([np.nan, 0.5, 0.975]), step_every=10)
    picture = overlay.plan(history, anchor=(0, 0, 0), size=1.0)
    assert list(picture.values) == ["Step", "Loss", "Loss Decimals", "Accuracy %"]
    np.testing.assert_array_equal(picture.values["Step"], [0, 10, 20])
    np.testing.assert_array_equal(picture.values["Loss"], [-1, 0.5, 0.000123])
    np.testing.assert_array_equal(picture.values["Loss Decimals"], [4, 4, 6])
    np.testing.assert_allclose(picture.values["Accuracy %"], [-1, 50, 97.5])


def test_counter_text_spells_each_record():
    history = loss_history([np.nan, 0.03125], test_loss=np.array([np.nan, 0.045]),
                           accuracy=np.array([np.nan, 0.975]), test_accuracy=np.array([np.nan, 0.95]), step_every=10)
    assert overlay.counter_lines(history) == [
        "step 0\nloss – · test –   accuracy – · test –",
        "step 10\nloss 0.0312 · test 0.0450   accuracy 97.5% · test 95.0%",
    ]


def test_a_size_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="size must be a positive number"):
        overlay.plan(loss_history([1.0], step_every=10), anchor=(0, 0, 0), size=0.0)
