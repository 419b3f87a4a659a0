"""The loss curve: a bevelled poly spline through the finite losses, growing with the run."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.picture import loss_curve as loss_plan
from nnviz_addon.picture.view_layout import NEURON_RADIUS, Rect
from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun

bpy = pytest.importorskip("bpy")
from nnviz_addon.scene import loss_curve  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
RECT = Rect(left=10.0, bottom=2.0, width=12.0, height=3.0, text_size=0.6)


@pytest.fixture(scope="module")
def xor() -> History:
    return TrainingRun(load_preset(find_presets()["xor"]).replace(train={"steps": 40, "record_every": 4})).run()


def with_loss(history: History, loss: np.ndarray) -> History:
    return History(history.name, history.structure, history.steps, np.asarray(loss, dtype=np.float64),
                   history.params, history.grads)


def draw(history: History, frames: np.ndarray):
    root = bpy.data.collections.new("test root")
    bpy.context.scene.collection.children.link(root)
    picture = loss_plan.plan(history, frames, RECT)
    if picture is None:
        return None
    loss_curve.add_loss_curve(root, picture)
    return picture.bounds


def test_heights_skip_nans_and_go_logarithmic_past_two_decades():
    drawn, heights, log = loss_plan.loss_heights(np.array([np.nan, 1.0, 0.5, 0.25]))
    assert drawn.tolist() == [1, 2, 3] and not log
    np.testing.assert_allclose(heights, [1.0, 1 / 3, 0.0])
    drawn, heights, log = loss_plan.loss_heights(np.array([np.nan, 10.0, 1.0, np.inf, 0.01]))
    assert drawn.tolist() == [1, 2, 4] and log
    np.testing.assert_allclose(heights, [1.0, 2 / 3, 0.0])
    # The curve reaches point k of n at the record that drew it, and waits before the first.
    np.testing.assert_allclose(loss_plan.bevel_end_factors(np.array([np.nan, 10.0, 1.0, np.nan, 0.01])),
                               [0.0, 0.0, 0.5, 0.5, 1.0])


def test_the_curve_grows_with_the_run(xor):
    frames = 1 + 2 * np.arange(xor.records)
    bounds = draw(xor, frames)
    curve = bpy.data.objects["loss · curve"].data
    assert curve.bevel_factor_mapping_end == "RESOLUTION" and curve.bevel_depth > 0
    points = curve.splines[0].points
    assert len(points) == xor.records - 1  # record 0's loss is NaN
    co = np.array([p.co[:] for p in points])
    spacing = np.diff(co[:, 0])
    np.testing.assert_allclose(spacing, spacing[0], rtol=1e-5)  # evenly spaced: time runs at a steady pace
    finite = xor.loss[1:]
    assert np.argmax(co[:, 2]) == np.argmax(finite) and np.argmin(co[:, 2]) == np.argmin(finite)
    expected = loss_plan.bevel_end_factors(xor.loss)
    assert expected[0] == 0.0 and expected[-1] == 1.0
    for record in (0, 1, 5, xor.records - 1):
        bpy.context.scene.frame_set(int(frames[record]))
        assert curve.bevel_factor_end == pytest.approx(expected[record], abs=1e-6)
        tip = bpy.data.objects["loss · tip"]
        assert tip.location.x == pytest.approx(co[max(record - 1, 0), 0], abs=1e-4)
    texts = {o.data.body for o in bpy.data.objects if o.type == "FONT"}
    assert {f"{finite.max():.3g}", f"{finite.min():.3g}", "loss"} <= texts
    (x0, _, z0), (x1, _, z1) = bounds
    assert x0 >= RECT.left and z0 >= RECT.bottom and z1 <= RECT.top and x1 <= RECT.right + 0.1


def test_the_drawn_tube_ends_at_the_marker_however_steep_the_start(xor):
    # A steep zig-zag first, flat after: most of the curve's length lies in its first few points, so a
    # length-based bevel mapping would run far ahead of the records; the tube must follow the points.
    loss = np.full(xor.records, 0.01)
    loss[0], loss[1:5] = np.nan, [1.0, 0.01, 1.0, 0.01]
    frames = 1 + np.arange(xor.records)
    draw(with_loss(xor, loss), frames)
    line, tip = bpy.data.objects["loss · curve"], bpy.data.objects["loss · tip"]
    for record in range(2, xor.records):
        bpy.context.scene.frame_set(int(frames[record]))
        shown = line.evaluated_get(bpy.context.evaluated_depsgraph_get())
        mesh = shown.to_mesh()
        drawn_to = max(v.co.x for v in mesh.vertices)
        shown.to_mesh_clear()
        assert drawn_to == pytest.approx(tip.location.x, abs=1.5 * line.data.bevel_depth), record


def test_the_tip_marker_appears_with_the_first_loss(xor):
    # Record 0 has no loss (the counter shows "–"): no marker may claim one on the chart.
    frames = 1 + 3 * np.arange(xor.records)
    draw(xor, frames)
    tip = bpy.data.objects["loss · tip"]
    depsgraph = bpy.context.evaluated_depsgraph_get
    bpy.context.scene.frame_set(int(frames[0]))
    assert max(tip.evaluated_get(depsgraph()).scale) == 0.0
    for record in (1, xor.records - 1):
        bpy.context.scene.frame_set(int(frames[record]))
        scale = tip.evaluated_get(depsgraph()).scale
        assert min(scale) == pytest.approx(2.2 * bpy.data.objects["loss · curve"].data.bevel_depth / NEURON_RADIUS)


def test_a_loss_spanning_decades_is_labelled_log(xor):
    loss = np.r_[np.nan, np.geomspace(5.0, 0.001, xor.records - 1)]
    draw(with_loss(xor, loss), np.arange(xor.records) + 1.0)
    texts = {o.data.body for o in bpy.data.objects if o.type == "FONT"}
    assert "loss (log)" in texts
    zs = np.array([p.co[2] for p in bpy.data.objects["loss · curve"].data.splines[0].points])
    np.testing.assert_allclose(np.diff(zs), np.diff(zs)[0], rtol=1e-4)  # a geometric fall is a straight line


def test_too_few_losses_draw_nothing(xor):
    loss = np.full(xor.records, np.nan)
    loss[3] = 0.5
    assert draw(with_loss(xor, loss), np.arange(xor.records) + 1.0) is None
    assert "nnviz · loss" not in bpy.data.collections and "loss · curve" not in bpy.data.objects
