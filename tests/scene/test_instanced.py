"""The instanced cube writer against the History it draws: the evaluated geometry's colours and sizes
at frames on and between records, live values, every preset, and rendered pixels in Workbench,
EEVEE and Cycles, also from a saved .blend opened without nnviz. Renders run in a subprocess: without
EGL, Workbench aborts the whole process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.picture import colormap, magnitude
from nnviz_addon.picture.shapes import CUBE_SIZE
from nnviz_addon.preset.limits import writer_for

bpy = pytest.importorskip("bpy")
from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.scene import SceneOptions, instanced  # noqa: E402
from tests.support.histories import synthetic_history  # noqa: E402
from tests.support.instanced_mesh import RAMP_TOLERANCE, between, evaluated_blocks, evaluated_cubes  # noqa: E402
from tests.support.pixels import png_pixels  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
ROOT = Path(__file__).resolve().parents[2]


def tensor_objects() -> dict:
    return instanced.tensor_objects(bpy.data.collections["nnviz"])


@pytest.mark.parametrize("frame", [1, 2, 4, 5, 7, 12])
def test_colours_follow_the_records_and_mix_between_them_like_linear_keys(frame):
    history = synthetic_history((2, 4, 1), records=4)
    options = SceneOptions(cubes="instanced", frames_per_record=2, frame_start=1)
    scene.build(history, options)
    bpy.context.scene.frame_set(frame)
    scales = scene.color_scale_for(history, options)
    drawn = tensor_objects()
    assert set(drawn) == set(history.params)
    for key, obj in drawn.items():
        rgba = colormap.colors(history.params[key].reshape(history.records, -1), scales[key])
        expected = between(rgba, frame, 1, 2)
        colors, _ = evaluated_cubes(obj)
        np.testing.assert_allclose(colors, expected, atol=RAMP_TOLERANCE)


@pytest.mark.parametrize("frame", [2, 3, 4, 6])
def test_smooth_motion_eases_the_colours_as_the_objects_writers_smooth_keys(frame):
    """With motion = "smooth" the tree eases between records exactly as the SMOOTH (sine) keys do."""
    history = synthetic_history((2, 4, 1), records=3)
    options = dict(frames_per_record=4, frame_start=1, motion="smooth")
    scene.build(history, SceneOptions(cubes="objects", **options))
    bpy.context.scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    keyed = {}
    for obj in bpy.data.objects:
        if "nnviz_param" in obj:
            keyed.setdefault(obj["nnviz_param"], []).append(
                (tuple(obj["nnviz_index"]), tuple(obj.evaluated_get(depsgraph).color)))
    scene.build(history, SceneOptions(cubes="instanced", **options))
    bpy.context.scene.frame_set(frame)
    linear = between(colormap.colors(history.params["0.weight"].reshape(history.records, -1),
                                     scene.color_scale_for(history)["0.weight"]), frame, 1, 4)
    for key, obj in tensor_objects().items():
        expected = np.array([color for _, color in sorted(keyed[key])])
        colors, _ = evaluated_cubes(obj)
        np.testing.assert_allclose(colors, expected, atol=RAMP_TOLERANCE)
        if key == "0.weight" and frame != 3:  # off the midpoint (t = 0.5) the ease differs from a straight mix
            assert np.abs(colors - linear).max() > 10 * RAMP_TOLERANCE


@pytest.mark.parametrize("mode", ["gradient", "update"])
def test_sizes_show_the_magnitudes_and_mix_between_records(mode):
    history = synthetic_history((2, 4, 1), records=4)
    options = SceneOptions(cubes="instanced", magnitude=mode, color_scale="layer")
    scene.build(history, options)
    magnitudes = magnitude.per_record(history, mode)
    scales = magnitude.run_scale(magnitudes, "layer")
    for frame in (1, 2.5, 4):
        bpy.context.scene.frame_set(int(frame), subframe=frame % 1)
        for key, obj in tensor_objects().items():
            sizes = magnitude.sizes(magnitudes[key].reshape(history.records, -1), scales[key])
            _, corners = evaluated_cubes(obj)
            width = corners[:, :, 0].max(axis=1) - corners[:, :, 0].min(axis=1)
            height = corners[:, :, 2].max(axis=1) - corners[:, :, 2].min(axis=1)
            expected = between(sizes, frame, 1, 1) * CUBE_SIZE
            np.testing.assert_allclose(width, expected, atol=1e-5)
            np.testing.assert_allclose(height, expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["none", "gradient"])
def test_film_blocks_are_as_deep_as_the_objects_writers_cubes_and_mix_between_records(mode):
    history = synthetic_history((2, 4, 1), records=4)
    options = SceneOptions(cubes="instanced", style="film", magnitude=mode, color_scale="layer",
                           frames_per_record=2, frame_start=1)
    scene.build(history, options)
    if mode == "none":  # depth follows |value| on the run's one scale (whatever the colours use), else
        # the magnitude on the size scale
        shown, scales = history.params, dict.fromkeys(history.params, history.value_range())
    else:
        shown = magnitude.per_record(history, mode)
        scales = magnitude.run_scale(shown, "layer")
    color_scales = scene.color_scale_for(history, options)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for key, obj in tensor_objects().items():  # neuron columns (in a recorded History) stay squares
        if key not in history.params:
            assert len(obj.evaluated_get(depsgraph).data.polygons) == len(obj.data.polygons)
    for frame in (3, 4, 5.5):  # on a record, half way and a quarter past one
        bpy.context.scene.frame_set(int(frame), subframe=frame % 1)
        for key in history.params:  # the weights' and biases' blocks (the neuron columns stay squares)
            obj = tensor_objects()[key]
            flat = np.abs(shown[key].reshape(history.records, -1))
            relief = 0.12 + 2.4 * np.clip(flat / scales[key], 0.0, 1.0)  # film_plan.relief, written out
            expected = between(relief, frame, 1, 2) * CUBE_SIZE
            low, high, colors = evaluated_blocks(obj)
            np.testing.assert_allclose(high - low, expected, atol=1e-5)
            np.testing.assert_allclose((high + low) / 2, 0.0, atol=1e-5)  # centred, as a scaled cube
            rgba = between(colormap.colors(history.params[key].reshape(history.records, -1), color_scales[key]),
                           frame, 1, 2)
            for cube_colors, color in zip(colors, rgba, strict=True):  # every face of a block its colour
                np.testing.assert_allclose(cube_colors, np.broadcast_to(color, cube_colors.shape),
                                           atol=RAMP_TOLERANCE)


def test_cubes_sit_where_the_layout_puts_them_and_no_object_per_cube_is_made():
    history = synthetic_history((3, 5, 2), records=2)
    scene.build(history, SceneOptions(cubes="objects"))
    centres = {o["nnviz_param"]: [] for o in bpy.data.objects if "nnviz_param" in o}
    for o in bpy.data.objects:
        if "nnviz_param" in o:
            centres[o["nnviz_param"]].append((tuple(o["nnviz_index"]), tuple(o.location)))
    scene.build(history, SceneOptions(cubes="instanced"))
    assert not [o for o in bpy.data.objects if "nnviz_param" in o]
    for key, obj in tensor_objects().items():
        _, corners = evaluated_cubes(obj)
        expected = np.array([location for _, location in sorted(centres[key])])
        np.testing.assert_allclose(corners.mean(axis=1), expected, atol=1e-5)


def test_live_values_replace_the_records_until_the_next_build():
    history = synthetic_history((2, 4, 1), records=3)
    scene.build(history, SceneOptions(cubes="instanced", magnitude="gradient"))
    centres = {key: evaluated_cubes(obj)[1].mean(axis=1) for key, obj in tensor_objects().items()}
    rng = np.random.default_rng(5)
    now = {key: rng.normal(0, 1, values.shape[1:]) for key, values in history.params.items()}
    grads = {key: np.abs(rng.normal(0, 1e-2, values.shape[1:])) for key, values in history.params.items()}
    scene.show_values(now, 2.0, magnitudes=grads, size_scale=dict.fromkeys(now, 1e-2))
    for frame in (1, 3):  # live values show whatever the frame
        bpy.context.scene.frame_set(frame)
        for key, obj in tensor_objects().items():
            colors, corners = evaluated_cubes(obj)
            np.testing.assert_allclose(colors, colormap.colors(now[key].ravel(), 2.0), atol=RAMP_TOLERANCE)
            width = corners[:, :, 0].max(axis=1) - corners[:, :, 0].min(axis=1)
            np.testing.assert_allclose(width, magnitude.sizes(grads[key].ravel(), 1e-2) * CUBE_SIZE, atol=1e-5)
    scene.show_values(now, 2.0)  # without sizes the squares are full size again, still centred
    for key, obj in tensor_objects().items():
        _, corners = evaluated_cubes(obj)
        np.testing.assert_allclose(corners[:, :, 0].max(axis=1) - corners[:, :, 0].min(axis=1), CUBE_SIZE, atol=1e-5)
        np.testing.assert_allclose(corners.mean(axis=1), centres[key], atol=1e-5)


def test_auto_draws_big_networks_instanced():
    assert writer_for("auto", 2_410) == "objects"
    assert writer_for("auto", 101_770) == "instanced"
    assert writer_for("objects", 101_770) == "objects"
    with pytest.raises(ValueError, match=r"render\.cubes must be one of"):
        writer_for("quads", 10)
    with pytest.raises(ValueError, match=r"SceneOptions\.cubes"):
        SceneOptions(cubes="many")


@pytest.mark.parametrize("preset", ["rgb_perceptron", "rgb_mlp", "xor", "circle", "gauss", "moons",
                                    "spiral", "digits"])
def test_every_preset_builds_instanced(preset):
    history = api.train(preset, steps=3)
    scene.build(history, SceneOptions(cubes="instanced"))
    drawn = tensor_objects()  # the parameters' tensors, and the neuron columns and feature maps
    assert sum(len(drawn[key].data.polygons) for key in history.params) == history.parameter_count
    for obj in drawn.values():
        colors, _ = evaluated_cubes(obj)
        assert len(colors) == len(obj.data.polygons)


# Builds a 2-3-1 network over three records, two frames apart, renders frame 4 (half way between
# records 1 and 2) and prints where each cube's (and legend segment's) centre lands in the picture
# and its expected colour.
RENDER = """
import json, sys
import numpy as np
import bpy
from bpy_extras.object_utils import world_to_camera_view
from nnviz_addon import scene
from nnviz_addon.picture import colormap
from nnviz_addon.preset.config import RenderConfig
from nnviz_addon.history import History, LayerSpec
from nnviz_addon.scene import instanced
from nnviz_addon.scene.render import configure_render, render_png

engine, out, blend = sys.argv[1:4]
bpy.ops.wm.read_factory_settings(use_empty=True)
rng = np.random.default_rng(0)
params = {"0.weight": rng.normal(size=(3, 3, 2)), "0.bias": rng.normal(size=(3, 3)),
          "1.weight": rng.normal(size=(3, 1, 3)), "1.bias": rng.normal(size=(3, 1))}
history = History("instanced render", [LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh"),
                                       LayerSpec("1", "Linear", 3, 1, "1.weight", "1.bias")],
                  steps=np.array([0, 5, 10]), loss=np.array([np.nan, 0.5, 0.25]), params=params,
                  grads={k: np.zeros_like(v) for k, v in params.items()})
config = RenderConfig(engine=engine, resolution=(320, 180), samples=1, frames_per_record=2, cubes="instanced")
configure_render(bpy.context.scene, config)
options = scene.SceneOptions.from_render_config(config)
scene.build(history, options)
render_png(out, frame=4)
bpy.ops.wm.save_as_mainfile(filepath=blend)
sc = bpy.context.scene
scales = scene.color_scale_for(history, options)
cubes = []
for key, obj in instanced.tensor_objects(bpy.data.collections["nnviz"]).items():
    rgba = colormap.colors(history.params[key].reshape(3, -1), scales[key])
    halfway = (rgba[1] + rgba[2]) / 2
    for square, color in zip(obj.data.polygons, halfway):
        u, v, _ = world_to_camera_view(sc, sc.camera, obj.matrix_world @ square.center)
        cubes.append([u, v, *colormap.linear_to_srgb(color[:3]).tolist()])
# The legend's segments stay objects with object colours, shown beside the attribute colours (a few
# away from the ends: a segment is about 2 pixels wide here, so each pixel mixes neighbours).
legend = []
for i in (8, 16, 47, 55):
    segment = bpy.data.objects[f"nnviz · legend {i:02d}"]
    u, v, _ = world_to_camera_view(sc, sc.camera, segment.location)
    legend.append([u, v, *colormap.linear_to_srgb(np.array(segment.color[:3])).tolist()])
# The counter: a mesh the Geometry Nodes tree makes; its pixel box and its colour.
counter = bpy.data.objects["nnviz · counter"]
evaluated = counter.evaluated_get(bpy.context.evaluated_depsgraph_get())
from mathutils import Vector
corners = [world_to_camera_view(sc, sc.camera, evaluated.matrix_world @ Vector(c))[:2] for c in evaluated.bound_box]
box = [*np.min(corners, axis=0).tolist(), *np.max(corners, axis=0).tolist()]
text = colormap.linear_to_srgb(np.array(counter.color[:3])).tolist()
print(json.dumps({"cubes": cubes, "legend": legend, "counter": [box, text]}))
"""

# Opens the saved .blend in a Python that never imports nnviz, and renders frame 4 again.
REOPEN = """
import sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
scene.frame_set(4)
scene.render.filepath = sys.argv[2]
settings = scene.render.image_settings
if hasattr(settings, "media_type"):  # 5.0: a movie output must become an image output first
    settings.media_type = "IMAGE"
settings.file_format = "PNG"
bpy.ops.render.render(write_still=True)
assert not [name for name in sys.modules if name.startswith("nnviz")]
"""




@pytest.mark.slow
@pytest.mark.parametrize("engine", ["workbench", "eevee", "cycles"])
def test_rendered_cubes_show_the_colour_map_between_records_also_without_nnviz(engine, tmp_path):
    out, blend, again = tmp_path / "frame.png", tmp_path / "scene.blend", tmp_path / "again.png"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(RENDER), engine, str(out), str(blend)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = json.loads(result.stdout.strip().splitlines()[-1])
    picture = png_pixels(out)
    height, width = picture.shape[:2]
    for what, tolerance in (("cubes", 4 / 255), ("legend", 12 / 255)):
        for u, v, *srgb in expected[what]:
            x, y = int(u * width), int(v * height)  # Blender images are stored bottom row first, as v runs
            np.testing.assert_allclose(picture[y, x, :3], srgb, atol=tolerance, err_msg=f"{what} at ({x}, {y})")
    # The step counter's text shows in its colour too (on 5.0 a tree-made mesh showed black in Workbench).
    (u0, v0, u1, v1), text = expected["counter"]
    box = picture[int(v0 * height):int(np.ceil(v1 * height)) + 1, int(u0 * width):int(np.ceil(u1 * width)) + 1, :3]
    brightest = box.reshape(-1, 3)[np.argmax(box.sum(axis=-1))]
    np.testing.assert_allclose(brightest, text, atol=0.1)

    result = subprocess.run([sys.executable, "-c", textwrap.dedent(REOPEN), str(blend), str(again)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(png_pixels(again), picture, atol=1 / 255)
