"""Feature maps in a built scene: the evaluated colours of every map cell follow the colour map of the
History's ``feature/<layer>`` values on and between records, with both cube writers; a conv network's
kernel tiles through the instanced writer; a rendered Workbench frame of digits_cnn shows them."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.picture import colormap  # noqa: E402
from nnviz_addon.scene import SceneOptions, instanced  # noqa: E402
from nnviz_addon.scene.feature_maps import FEATURE_PROPERTY  # noqa: E402
from tests.support.instanced_mesh import RAMP_TOLERANCE, between, evaluated_cubes  # noqa: E402
from tests.support.pixels import png_pixels  # noqa: E402
from tests.support.scripts import run  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
FRAMES_PER_RECORD = 2


@pytest.fixture(scope="module")
def cnn():
    return api.train("digits_cnn", steps=20)  # records at steps 0, 10 and 20


def expected_rgba(history, key: str) -> np.ndarray:
    """(records, cells, 4): the colour map of a group's recorded values on the group's scale."""
    values = history.series[key].reshape(history.records, -1).astype(np.float64)
    return colormap.colors(values, float(np.abs(values).max()))


def feature_cells() -> dict[str, list]:
    """Group key → its cell objects, in the recorded (C, H, W) order."""
    cells: dict[str, list] = {}
    for obj in bpy.data.objects:
        if FEATURE_PROPERTY in obj:
            cells.setdefault(obj[FEATURE_PROPERTY], []).append(obj)
    return {key: sorted(objs, key=lambda o: tuple(o["nnviz_index"])) for key, objs in cells.items()}


@pytest.mark.parametrize("writer", ["objects", "instanced"])
def test_map_colours_follow_the_recorded_feature_maps_on_and_between_records(cnn, writer):
    scene.build(cnn, SceneOptions(cubes=writer, frames_per_record=FRAMES_PER_RECORD, frame_start=1))
    keys = ["feature/0", "feature/2", "feature/3"]
    bpy_scene = bpy.context.scene
    for frame in (1, 2, 3, 4, 5, 9):  # records at frames 1, 3, 5; 9 is past the last
        bpy_scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for key in keys:
            expected = between(expected_rgba(cnn, key), frame, 1, FRAMES_PER_RECORD)
            if writer == "objects":
                cells = feature_cells()[key]
                assert len(cells) == cnn.series[key][0].size
                colours = np.array([c.evaluated_get(depsgraph).color[:] for c in cells])
                np.testing.assert_allclose(colours, expected, atol=1e-5)
            else:
                colours, _ = evaluated_cubes(instanced.tensor_objects(bpy.data.collections["nnviz"])[key])
                np.testing.assert_allclose(colours, expected, atol=RAMP_TOLERANCE)
    # The probe image is one static group, and no map cell poses as a weight the panel could edit.
    probe = np.asarray(cnn.static["probe/image"], dtype=np.float64).ravel()
    if writer == "objects":
        colours = np.array([c.color[:] for c in feature_cells()["probe/image"]])
        np.testing.assert_allclose(colours, colormap.colors(probe, probe.max()), atol=1e-5)
        assert not [o for o in bpy.data.objects if FEATURE_PROPERTY in o and "nnviz_param" in o]
    for label in ("probe image", "after Conv2d 0", "after MaxPool2d 2", "after Conv2d 3"):
        assert f"{label} · label" in bpy.data.objects


def test_a_conv_network_builds_instanced_with_its_kernels_in_the_colour_map(cnn):
    options = SceneOptions(cubes="instanced", frames_per_record=FRAMES_PER_RECORD, frame_start=1)
    scene.build(cnn, options)
    assert not [o for o in bpy.data.objects if "nnviz_param" in o]  # no object per weight
    drawn = instanced.tensor_objects(bpy.data.collections["nnviz"])
    assert set(cnn.params) <= set(drawn)
    scales = scene.color_scale_for(cnn, options)
    for frame in (1, 4, 5):
        bpy.context.scene.frame_set(frame)
        for key in ("0.weight", "0.bias", "3.weight", "6.weight"):
            rgba = colormap.colors(cnn.params[key].reshape(cnn.records, -1), scales[key])
            colours, corners = evaluated_cubes(drawn[key])
            np.testing.assert_allclose(colours, between(rgba, frame, 1, FRAMES_PER_RECORD), atol=RAMP_TOLERANCE)
    # A kernel tile sits where the layout puts it: weight[2,0,1,2] is row 1, column 2 of tile row 2.
    _, corners = evaluated_cubes(drawn["0.weight"])
    centres = corners.mean(axis=1).reshape(8, 1, 3, 3, 3)
    np.testing.assert_allclose(centres[2, 0, 1, 2] - centres[0, 0, 0, 0], [2.0, 0.0, -(2 * 4 + 1)], atol=1e-5)


# Trains digits_cnn briefly, renders its last frame with Workbench and prints where a few map cells'
# centres land in the picture with their expected sRGB colour.
RENDER = """
import json, sys
import numpy as np
import bpy
from bpy_extras.object_utils import world_to_camera_view
from nnviz_addon import api  # noqa: E402
from nnviz_addon.picture import colormap  # noqa: E402
from nnviz_addon.preset.config import RenderConfig  # noqa: E402
out = sys.argv[1]
bpy.ops.wm.read_factory_settings(use_empty=True)
history = api.train("digits_cnn", steps=20)
api.animate(history, render=RenderConfig(engine="workbench", resolution=(1280, 720), frames_per_record=2))
api.render_still(out)
sc = bpy.context.scene
cells = []
for key in ("feature/0", "feature/2", "probe/image"):
    values = (history.series[key][-1] if key != "probe/image" else history.static[key]).astype(np.float64)
    scale = float(np.abs(history.series[key]).max() if key != "probe/image" else np.abs(values).max())
    flat = values.ravel()
    for i in (int(np.argmax(flat)), int(np.argmin(flat)), len(flat) // 2):
        c, y, x = np.unravel_index(i, values.shape)
        obj = next(o for o in bpy.data.objects if o.get("nnviz_feature") == key and list(o["nnviz_index"]) == [c, y, x])
        u, v, _ = world_to_camera_view(sc, sc.camera, obj.location)
        cells.append([key, u, v, *colormap.linear_to_srgb(colormap.colors(flat[i], scale)[:3]).tolist()])
print(json.dumps(cells))
"""


@pytest.mark.slow
def test_a_rendered_digits_cnn_frame_shows_its_feature_maps(tmp_path):
    out = tmp_path / "frame.png"
    result = run(RENDER, str(out))
    picture = png_pixels(out)
    height, width = picture.shape[:2]
    cells = json.loads(result.stdout.strip().splitlines()[-1])
    assert len({tuple(np.round(cell[3:], 2)) for cell in cells}) > 2  # bright, dark and between: not all alike
    for key, u, v, *srgb in cells:
        x, y = int(u * width), int(v * height)
        np.testing.assert_allclose(picture[y, x, :3], srgb, atol=4 / 255, err_msg=f"{key} at ({x}, {y})")


@pytest.mark.torch
def test_a_recorded_torch_cnn_draws_and_names_the_maps_of_its_pools(tmp_path):
    pytest.importorskip("torch")  # the Blender legs have no torch
    from nnviz_addon.history import History
    from tests.support.recorded import train_recorded_cnn

    _, _, rec, _ = train_recorded_cnn(steps=4, every=2)
    history = History.load(rec.save(tmp_path / "cnn.npz"))
    scene.build(history, SceneOptions(cubes="objects"))
    cells = feature_cells()
    assert {key: len(objs) for key, objs in cells.items()} == {
        "probe/image": 64, "feature/0": 4 * 64, "feature/2": 4 * 16, "feature/3": 6 * 4, "feature/4": 6 * 4,
        "feature/6": 6}
    for label in ("after MaxPool2d 2", "after BatchNorm2d 4", "after AdaptiveAvgPool2d 6"):
        assert f"{label} · label" in bpy.data.objects
    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    pooled = np.array([c.color[:] for c in cells["feature/6"]])
    np.testing.assert_allclose(pooled, expected_rgba(history, "feature/6")[-1], atol=1e-5)
