"""What the scene refuses before any work, in one line, and what it does where a user expects it to
work: a History built in memory, frames outside the scene, a scene without a camera, a long name,
a cube index edited by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture.shapes import MAX_LABEL_CHARS

bpy = pytest.importorskip("bpy")
from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.scene import objects, overlay  # noqa: E402
from nnviz_addon.scene.options import SceneOptions  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]


def small(name: str = "small", records: int = 3, **changes) -> History:
    rng = np.random.default_rng(1)
    fields = dict(name=name, structure=[LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh")],
                  steps=np.arange(records), loss=np.linspace(1, 0.5, records),
                  params={"0.weight": rng.normal(size=(records, 3, 2)), "0.bias": rng.normal(size=(records, 3))},
                  grads={"0.weight": rng.normal(size=(records, 3, 2)), "0.bias": rng.normal(size=(records, 3))})
    fields.update(changes)
    return History(**fields)


def nnviz_objects() -> int:
    return sum(1 for obj in bpy.data.objects if obj.get("nnviz"))


@pytest.mark.parametrize(("changes", "message"), [
    ({"grads": {"0.weight": np.zeros((3, 2, 3)), "0.bias": np.zeros((3, 3))}},
     "'grad/0.weight' has shape (3, 2, 3), expected (3, 3, 2)"),
    ({"params": {"0.weight": np.full((3, 3, 2), np.inf), "0.bias": np.zeros((3, 3))}},
     "'param/0.weight' is not finite (inf or nan) in record 0 (step 0)"),
    ({"steps": np.arange(3).reshape(3, 1)}, "'steps' must be a 1-D integer array"),
    ({"steps": np.array([2, 1, 0])}, "'steps' must be strictly increasing"),
])
def test_animate_checks_a_history_built_in_memory_before_any_scene_work(changes, message):
    api.animate(small("kept"))
    before = nnviz_objects()
    with pytest.raises(ValueError) as error:
        api.animate(small(**changes), options=SceneOptions(magnitude="gradient"))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert nnviz_objects() == before  # the earlier scene is untouched


def test_animate_refuses_a_scene_past_its_writers_limit():
    records = 2
    big = small(records=records, params={"0.weight": np.zeros((records, 400, 300)), "0.bias": np.zeros((records, 400))},
                grads={"0.weight": np.zeros((records, 400, 300)), "0.bias": np.zeros((records, 400))})
    with pytest.raises(ValueError, match=r"small: 120,400 parameters: 120,400 cubes and objects; a scene of objects "
                                         r"holds at most 100,000"):
        api.animate(big, options=SceneOptions(cubes="objects"))
    assert nnviz_objects() == 0


def test_render_refuses_frames_outside_the_scene(tmp_path):
    api.animate(small())
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (1, 3)
    with pytest.raises(ValueError, match=r"^frame_start 1000 is outside the scene's frames 1\.\.3$"):
        api.render(tmp_path / "late.mp4", frame_start=1000)
    with pytest.raises(ValueError, match=r"^frame_end 9 is outside the scene's frames 1\.\.3$"):
        api.render(tmp_path / "late.mp4", frame_end=9)
    assert list(tmp_path.iterdir()) == []


def test_rendering_a_scene_without_a_camera_is_one_line(tmp_path):
    for render in (lambda: api.render(tmp_path / "x.mp4"), lambda: api.render_still(tmp_path / "x.png")):
        with pytest.raises(ValueError, match=r"has no camera to render from: build a run first") as error:
            render()
        assert "\n" not in str(error.value)


def test_the_render_operator_without_nnviz_is_one_line(settings, tmp_path):
    settings.output_path = str(tmp_path / "x.mp4")
    with pytest.raises(RuntimeError) as error:
        bpy.ops.nnviz.render()
    assert "has no camera to render from" in str(error.value)
    assert str(error.value).strip().count("\n") == 0


def test_a_long_name_is_shortened_and_the_network_stays_in_frame():
    api.animate(small("short name"))
    framed = bpy.context.scene.camera.data.ortho_scale
    api.animate(small("x" * 5000))
    title = bpy.data.objects[overlay.TITLE_NAME]
    assert len(title.data.body) == MAX_LABEL_CHARS and title.data.body.endswith("...")
    assert bpy.context.scene.camera.data.ortho_scale < 3 * framed


@pytest.mark.parametrize("edited", ["text", 1.5, [0], [[0, 1]], [0.5, 1.0]])
def test_a_cube_index_edited_by_hand_is_skipped(edited):
    history = small()
    scene.build(history)
    cube = next(obj for obj in bpy.data.objects if obj.get("nnviz_param") == "0.weight")
    cube["nnviz_index"] = edited
    values = {key: array[-1] for key, array in history.params.items()}
    scene.show_values(values)  # the others are coloured; the edited one is left as it was
    assert objects.cube_index(cube) is None or len(objects.cube_index(cube)) != 2
