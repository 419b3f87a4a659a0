"""The loss curve's plan (pure numpy): points, growth, tip marker, axes, labels and the key."""

import numpy as np
import pytest

from nnviz_addon.picture import loss_curve
from nnviz_addon.picture.view_layout import NEURON_RADIUS, Rect
from tests.support.histories import loss_history

RECT = Rect(left=0.0, bottom=0.0, width=10.0, height=4.0, text_size=1.0)


def test_points_run_left_to_right_by_record_and_up_by_loss_inside_the_plot():
    picture = loss_curve.plan(loss_history([np.nan, 3.0, 2.0, 1.0]), np.array([1, 5, 9, 13]), RECT)
    (curve,) = picture.curves
    assert curve.name == "loss" and not picture.log
    x, y, z = curve.points.T
    assert len(x) == 3  # the NaN of record 0 is not drawn
    assert np.all(np.diff(x) > 0) and np.allclose(np.diff(x), np.diff(x)[0])  # a steady pace
    assert x[-1] == pytest.approx(RECT.right)
    np.testing.assert_array_equal(y, 0.0)
    assert z[0] == pytest.approx(RECT.top - 0.3) and z[-1] == pytest.approx(RECT.bottom + 0.3)  # highest first
    np.testing.assert_array_equal(picture.frames, [1, 5, 9, 13])
    assert [label.text for label in picture.labels] == ["3", "loss", "1"]
    assert all(label.align == "RIGHT" and label.position[0] < x[0] for label in picture.labels)
    assert picture.key == []


def test_growth_and_the_tip_follow_the_points_drawn_so_far():
    picture = loss_curve.plan(loss_history([np.nan, 3.0, 2.0, np.inf, 1.0]), np.arange(5), RECT)
    (curve,) = picture.curves
    np.testing.assert_allclose(curve.bevel_end, [0, 0, 0.5, 0.5, 1.0])
    x, _, z = curve.points.T
    np.testing.assert_array_equal(curve.marker_x, x[[0, 0, 1, 1, 2]])
    np.testing.assert_array_equal(curve.marker_z, z[[0, 0, 1, 1, 2]])
    # no tip before the first loss; then a sphere 2.2 tube radii across
    np.testing.assert_allclose(curve.marker_scale, [0] + [2.2 * curve.tube_radius / NEURON_RADIUS] * 4)


def test_a_loss_over_more_than_two_decades_is_drawn_on_a_log_scale():
    picture = loss_curve.plan(loss_history([np.nan, 100.0, 10.0, 0.1]), np.arange(4), RECT)
    assert picture.log
    z = picture.curves[0].points[:, 2]
    assert (z[0] - z[1]) == pytest.approx((z[1] - z[2]) / 2)  # one decade, then two
    assert [label.text for label in picture.labels] == ["100", "loss (log)", "0.1"]


def test_a_test_loss_gets_its_own_curve_and_a_key_in_each_curves_colour():
    picture = loss_curve.plan(loss_history([np.nan, 2.0, 1.0], test_loss=np.array([np.nan, 4.0, 3.0])),
                              np.arange(3), RECT)
    train, test = picture.curves
    assert (train.name, test.name) == ("loss", "test loss")
    assert test.points[:, 2].min() > train.points[:, 2].max()  # one scale: the higher loss draws higher
    assert [(name, label.text) for name, label, _ in picture.key] == [("test loss", "test loss"),
                                                                     ("loss", "training loss")]
    for name, _, rgba in picture.key:
        np.testing.assert_array_equal(rgba, {"loss": train, "test loss": test}[name].rgba[0])
    assert train.rgba[0, 0] > train.rgba[0, 2] and test.rgba[0, 2] > test.rgba[0, 0]  # yellow, blue


def test_axes_frame_the_plot_and_the_bounds_hold_the_tube():
    picture = loss_curve.plan(loss_history([np.nan, 2.0, 1.0]), np.arange(3), RECT)
    (y_axis, x_axis) = picture.axis_centres
    assert y_axis[0] < picture.curves[0].points[0, 0] and x_axis[2] < picture.curves[0].points[:, 2].min()
    assert picture.axis_scales[0][0] == picture.axis_scales[1][2] == pytest.approx(0.05)  # thin bars
    (left, _, bottom), (right, _, top) = picture.bounds
    assert (left, bottom, top) == (RECT.left, RECT.bottom, RECT.top)
    assert right == pytest.approx(RECT.right + picture.curves[0].tube_radius)


def test_fewer_than_two_finite_losses_draw_nothing():
    assert loss_curve.plan(loss_history([np.nan, 1.0]), np.arange(2), RECT) is None
