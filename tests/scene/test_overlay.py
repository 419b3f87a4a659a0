"""The overlay's title and keyed step/loss/accuracy counter, evaluated in real Blender."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec

bpy = pytest.importorskip("bpy")
from nnviz_addon import scene  # noqa: E402
from nnviz_addon.picture import overlay as overlay_plan  # noqa: E402
from nnviz_addon.scene import SceneOptions, overlay  # noqa: E402
from tests.support.overlay_text import counter_size, mesh_points, reference_text  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]


def small_history(accuracy: bool = True) -> History:
    """A 2-2 network over five records with a NaN initial loss and losses spanning decades."""
    records = 5
    rng = np.random.default_rng(3)
    params = {"0.weight": rng.normal(size=(records, 2, 2)), "0.bias": rng.normal(size=(records, 2))}
    metrics = {"accuracy": np.array([np.nan, 0.5, 0.625, 0.8125, 1.0])} if accuracy else {}
    return History(
        name="tiny run",
        structure=[LayerSpec("0", "Linear", 2, 2, "0.weight", "0.bias", "tanh")],
        steps=np.array([0, 10, 20, 30, 40]),
        loss=np.array([np.nan, 0.83721, 0.0312, 0.00123456, 2.5e-6]),
        params=params,
        grads={k: np.zeros_like(v) for k, v in params.items()},
        metrics=metrics,
    )


def counter() -> bpy.types.Object:
    return bpy.data.objects[overlay.COUNTER_NAME]


def f32(value: float) -> float:
    """Curves store keys as 32-bit floats; format what Blender will format."""
    return float(np.float32(value))


def expected_text(history: History, record: int) -> str:
    loss = history.loss[record]
    loss_text = "–"
    if np.isfinite(loss):
        decimals = int(overlay_plan.loss_decimals(np.array([loss]))[0])
        loss_text = f"{f32(loss):.{decimals}f}"
    text = f"step {history.steps[record]}\nloss {loss_text}"
    if "accuracy" in history.metrics:
        accuracy = history.metrics["accuracy"][record]
        text += "   accuracy " + ("–" if np.isnan(accuracy) else f"{f32(100 * accuracy):.1f}%")
    return text


@pytest.mark.parametrize("accuracy", [True, False])
def test_counter_shows_each_records_numbers(accuracy):
    history = small_history(accuracy)
    scene.build(history, SceneOptions(frames_per_record=3, frame_start=1))
    sockets = overlay.input_identifiers(counter().modifiers[overlay.COUNTER_NAME].node_group)
    assert ("Accuracy %" in sockets) == accuracy
    reference = reference_text("", counter_size())
    texts = set()
    # Record r is at frame 1 + 3r; the frames between must still show record r (no invented steps).
    for frame, record in [(1, 0), (2, 0), (3, 0), (4, 1), (6, 1), (7, 2), (10, 3), (12, 3), (13, 4)]:
        bpy.context.scene.frame_set(frame)
        modifier = counter().evaluated_get(bpy.context.evaluated_depsgraph_get()).modifiers[overlay.COUNTER_NAME]
        assert modifier[sockets["Step"]] == pytest.approx(history.steps[record])
        loss = history.loss[record]
        assert modifier[sockets["Loss"]] == pytest.approx(loss if np.isfinite(loss) else -1.0, rel=1e-6)
        if accuracy:
            shown = modifier[sockets["Accuracy %"]]
            assert shown == pytest.approx(-1.0 if record == 0 else 100 * history.metrics["accuracy"][record])

        # The mesh is exactly the text of that record, in order (a literal string drawn the same way).
        text = expected_text(history, record)
        assert overlay_plan.counter_lines(history)[record] == text  # what the scene measures the counter by
        reference.modifiers["text"].node_group.nodes["String"].string = text
        points = mesh_points(counter())
        np.testing.assert_allclose(points, mesh_points(reference), atol=1e-4, err_msg=text)
        texts.add(text)
    assert len(texts) == history.records


def test_loss_decimals_keep_small_losses_readable():
    decimals = overlay_plan.loss_decimals(np.array([np.nan, 12.5, 0.0312, 0.00123, 2.5e-6, 1e-12, 0.0]))
    assert decimals.tolist() == [4, 4, 4, 5, 8, 8, 4]


def test_title_and_shared_material():
    history = small_history()
    scene.build(history)
    title = bpy.data.objects[overlay.TITLE_NAME]
    assert title.data.body == "tiny run"
    cube = next(o for o in bpy.data.objects if "nnviz_param" in o)
    tree = counter().modifiers[overlay.COUNTER_NAME].node_group
    set_material = next(n for n in tree.nodes if n.bl_idname == "GeometryNodeSetMaterial")
    shared = cube.material_slots[0].material
    assert set_material.inputs["Material"].default_value == shared
    assert title.material_slots[0].material == shared
    # Readable on the near-black background: light grey or brighter.
    assert min(counter().color[:3]) > 0.5 and min(title.color[:3]) > 0.5
    # The counter sits below the title, inside the block layout keeps free above the layer labels.
    assert counter().location.z < title.location.z
    assert all(f.lower().find("overlay") < 0 for f in map(str, bpy.app.handlers.frame_change_pre))


def test_rebuild_replaces_the_counter_tree():
    scene.build(small_history())
    scene.build(small_history(accuracy=False))
    trees = [t for t in bpy.data.node_groups if t.name.startswith(overlay.COUNTER_NAME)]
    assert [t.name for t in trees] == [overlay.COUNTER_NAME]
    assert "Accuracy %" not in overlay.input_identifiers(trees[0])


def test_bad_frames_named():
    history = small_history()
    collection = bpy.data.collections.new("c")
    picture = overlay_plan.plan(history, (0, 0, 0), 1.0)
    with pytest.raises(ValueError, match=r"at 3 frames must have shape \(\d+, 3\), got \(\d+, 5\)"):
        overlay.add_overlay(collection, picture, np.arange(3))
