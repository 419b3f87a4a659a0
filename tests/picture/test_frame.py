"""The frame plan (pure numpy, no Blender): what a build will draw, decided before any bpy call."""

import dataclasses

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.picture import camera, film_passes, frame
from nnviz_addon.picture.options import SceneOptions
from tests.support.histories import short_run, synthetic_history

ASPECT, SIZE = 16 / 9, (320, 180)


@pytest.fixture(scope="module")
def xor() -> History:
    return short_run("xor")


def inside(points: np.ndarray, bounds, slack: float = 1e-9) -> bool:
    low, high = np.asarray(bounds[0]), np.asarray(bounds[1])
    return bool(np.all(points >= low - slack) and np.all(points <= high + slack))


def test_every_block_label_and_view_is_inside_the_bounds_the_camera_frames(xor):
    plan = frame.plan_frame(xor, SceneOptions(), ASPECT, SIZE)
    for block in plan.layout.blocks:
        assert inside(block.positions, plan.bounds), block.key
    for label in plan.labels():
        assert inside(np.array([label.position]), plan.bounds), label.text
    assert [name for name, view in zip(("neurons", "task", "loss"), plan.views[:3], strict=True) if view is None] == []
    for view in plan.views:
        if view is not None:
            assert inside(np.array(view), plan.bounds)
    # the camera is the one for these bounds, and its frame holds them whole
    assert plan.camera == camera.framing(plan.bounds, ASPECT)
    (left, _, bottom), (right, _, top) = plan.bounds
    x, _, z = plan.camera.location
    half_width = plan.camera.ortho_scale / 2
    assert x - half_width <= left and right <= x + half_width
    assert z - half_width / ASPECT <= bottom and top <= z + half_width / ASPECT


def test_the_writer_and_keys_follow_the_cubes_option_and_the_records():
    history = synthetic_history(records=5)
    objects = frame.plan_frame(history, SceneOptions(), ASPECT, SIZE)
    assert (objects.writer, objects.keyed) == ("objects", True)  # a small network: one keyed object per cube
    instanced = frame.plan_frame(history, SceneOptions(cubes="instanced"), ASPECT, SIZE)
    assert (instanced.writer, instanced.keyed) == ("instanced", False)  # its node tree reads the records
    still = frame.plan_frame(synthetic_history(records=1), SceneOptions(), ASPECT, SIZE)
    assert (still.writer, still.keyed) == ("objects", False)


def test_records_sit_frames_per_record_apart_from_frame_start():
    history = synthetic_history(records=6)
    plan = frame.plan_frame(history, SceneOptions(frames_per_record=4, frame_start=10), ASPECT, SIZE)
    np.testing.assert_array_equal(plan.record_frames, 10 + 4 * np.arange(6))
    assert plan.timeline.frame_end == 10 + 4 * 5
    assert len(plan.timeline.passes) == 0 and plan.film_scales is None


def test_a_film_plan_holds_its_timeline_of_forward_passes_and_depth_scales(xor):
    options = SceneOptions(style="film", forward_pass="intro", frames_per_record=2)
    plan = frame.plan_frame(xor, options, ASPECT, SIZE)
    assert plan.timeline.passes.tolist() == [0, xor.records - 1]  # before the run and after it
    assert plan.timeline.lit.shape == (2, len(film_passes.pass_stages(xor)))  # each column lit in turn
    assert plan.record_frames[0] > options.frame_start  # the intro pass comes first
    assert plan.fill == 1.0  # the film's camera comes close: no sub-pixel shrinking
    # the film's depths use the run's one scale whatever the colours use
    assert set(plan.film_scales.color.values()) == {plan.shown.value_range()}
    # the same options in the diagram have no passes
    diagram = frame.plan_frame(xor, dataclasses.replace(options, style="diagram"), ASPECT, SIZE)
    assert len(diagram.timeline.passes) == 0


def test_instanced_tensors_fold_the_fill_into_the_object_scale():
    history = synthetic_history(sizes=(2, 4, 1), records=3)
    plan = frame.plan_frame(history, SceneOptions(cubes="instanced"), ASPECT, SIZE)
    plan = dataclasses.replace(plan, fill=0.5)
    for drawn, block in zip(plan.tensors(), plan.layout.blocks, strict=True):
        assert drawn.object_scale == (0.5, 1.0, 0.5)
        # scaled by the object, each square's centre lands where the layout put it
        np.testing.assert_allclose(drawn.cubes.block.positions * np.array(drawn.object_scale), block.positions)
    objects = dataclasses.replace(plan, writer="objects")
    drawn = next(objects.tensors())
    np.testing.assert_array_equal(drawn.cubes.block.positions, plan.layout.blocks[0].positions)
    np.testing.assert_array_equal(drawn.first_sizes, np.full(len(drawn.cubes.block.positions), 0.5))


def test_the_summary_counts_what_the_plan_holds(xor):
    plan = frame.plan_frame(xor, SceneOptions(frames_per_record=2), ASPECT, SIZE)
    text = str(plan)
    assert text == plan.summary()
    assert f"{len(plan.layout.blocks)} blocks, {plan.layout.cube_count} cubes" in text
    assert f"{len(plan.labels())} labels" in text
    assert "views: neurons, task view, loss curve" in text
    assert f"{xor.records} records" in text and "objects writer, keyed" in text


def test_a_history_without_records_is_refused_before_any_plan():
    empty = synthetic_history(records=1)
    empty = dataclasses.replace(empty, steps=empty.steps[:0], loss=empty.loss[:0],
                                params={k: v[:0] for k, v in empty.params.items()},
                                grads={k: v[:0] for k, v in empty.grads.items()})
    with pytest.raises(ValueError, match="the history has no records"):
        frame.plan_frame(empty, SceneOptions(), ASPECT, SIZE)
