"""The legends' plan (pure numpy): the colour bar's colours and labels, the size legend's sizes."""

import numpy as np
import pytest

from nnviz_addon.picture import colormap, legends
from nnviz_addon.picture.shapes import CUBE_SIZE, Label, Legend, SizeLegend


def test_colour_bar_segments_run_from_the_low_end_through_white_to_the_high_end():
    legend = Legend(segment_positions=np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]),
                    segment_values=np.array([-1.0, 0.0, 1.0]), segment_size=(0.8, 0.4, 0.2),
                    value_label_anchors=((0, 0, -1), (1, 0, -1), (2, 0, -1)), caption_anchor=(3, 0, 0),
                    text_size=0.3)
    picture = legends.color_legend(legend, ("-2", "0", "+2"), "weight / bias value")
    low, white, high = picture.rgba
    assert white[0] == white[1] == white[2] > 0.9  # the map's middle is a neutral near-white
    assert low[2] > low[0] and high[0] > high[2]  # blue at -1, red at +1
    np.testing.assert_allclose(picture.rgba, colormap.colors(np.array([-1.0, 0.0, 1.0]), 1.0))
    assert picture.scale == pytest.approx((1.0, 0.5, 0.25))  # the segment's extent over the cube's edge
    assert picture.scale[0] * CUBE_SIZE == pytest.approx(0.8)
    assert [(lb.text, lb.position, lb.align, lb.size) for lb in picture.value_labels] == [
        ("-2", (0, 0, -1), "LEFT", 0.3), ("0", (1, 0, -1), "CENTER", 0.3), ("+2", (2, 0, -1), "RIGHT", 0.3)]
    assert picture.caption == Label("weight / bias value", (3, 0, 0), 0.3)


def test_a_colour_bar_needs_its_three_value_labels():
    legend = Legend(np.zeros((2, 3)), np.array([-1.0, 1.0]), (1, 1, 1), ((0, 0, 0),) * 3, (0, 0, 0), 1.0)
    with pytest.raises(ValueError):
        legends.color_legend(legend, ("-1", "+1"), "")


def test_size_legend_cubes_are_neutral_and_grow_with_their_fraction_of_the_scale():
    labels = tuple(Label(str(i), (i, 0, -1), 0.2, "CENTER") for i in range(5))
    legend = SizeLegend(positions=np.arange(15.0).reshape(5, 3), labels=labels, caption=Label("|g|", (9, 0, 0), 0.2))
    picture = legends.size_legend(legend)
    assert np.all(np.diff(picture.sizes) > 0)
    assert picture.sizes[-1] == 1.0  # the scale itself is drawn full size
    assert 0 < picture.sizes[0] < picture.sizes[1]  # zero still shows as a small cube
    assert np.all(np.ptp(picture.rgba, axis=0) == 0)  # one colour: only size varies
    assert picture.labels == labels and picture.caption.text == "|g|"
    np.testing.assert_array_equal(picture.positions, legend.positions)
