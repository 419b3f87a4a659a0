"""A recorded torch model in Blender: one drawn value per parameter, keyed equal to the History (the
objects writer, read back from the saved .blend in a Blender that never imports nnviz) or evaluated
equal (the instanced writer); and a rendered frame shows every group."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.picture import colormap

bpy = pytest.importorskip("bpy")
torch = pytest.importorskip("torch")
from nnviz_addon import scene  # noqa: E402
from nnviz_addon.history import History  # noqa: E402
from nnviz_addon.scene import SceneOptions, instanced  # noqa: E402
from tests.support.instanced_mesh import RAMP_TOLERANCE, evaluated_cubes  # noqa: E402
from tests.support.torch_zoo import train_recorded, zoo  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.torch, pytest.mark.usefixtures("empty_blend")]
ROOT = Path(__file__).resolve().parents[2]
FRAMES_PER_RECORD = 2

# Run by a Blender that has never imported nnviz: every cube's keyed value at each record's frame.
READ_BACK = """
import json, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
s = bpy.context.scene
records, every = int(sys.argv[2]), int(sys.argv[3])
cubes = [o for o in bpy.data.objects if "nnviz_param" in o]
values = []
for r in range(records):
    s.frame_set(s.frame_start + r * every)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    values.append([o.evaluated_get(depsgraph)["nnviz_value"] for o in cubes])
print(json.dumps({"keys": [o["nnviz_param"] for o in cubes], "index": [list(o["nnviz_index"]) for o in cubes],
                  "values": values, "addons": sorted(bpy.context.preferences.addons.keys())}))
"""


def recorded(name: str, steps: int = 3) -> History:
    model, x, y = zoo()[name]
    rec, _ = train_recorded(model, x, y, steps=steps)
    return rec.history()


@pytest.mark.parametrize("name", ["transformer", "lstm", "free_parameters"])
def test_the_saved_blend_holds_one_keyed_value_per_parameter_equal_to_the_history(name, tmp_path):
    history = recorded(name)
    scene.build(history, SceneOptions(cubes="objects", frames_per_record=FRAMES_PER_RECORD, frame_start=1))
    path = tmp_path / f"{name}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    result = subprocess.run([sys.executable, "-c", READ_BACK, str(path), str(history.records),
                             str(FRAMES_PER_RECORD)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert not any("nnviz" in addon for addon in read["addons"])
    assert len(read["keys"]) == history.parameter_count
    drawn = {(key, tuple(index)) for key, index in zip(read["keys"], read["index"], strict=True)}
    assert len(drawn) == history.parameter_count  # every value once
    values = np.array(read["values"])
    for record in range(history.records):
        expected = [history.params[key][record][tuple(index)] for key, index in zip(read["keys"], read["index"],
                                                                                    strict=True)]
        np.testing.assert_allclose(values[record], expected, atol=1e-6)


@pytest.mark.parametrize("name", ["transformer", "gru", "cnn_reused_pool"])
def test_the_instanced_writer_draws_every_parameter_evaluated_equal_to_the_history(name):
    history = recorded(name)
    options = SceneOptions(cubes="instanced", frames_per_record=FRAMES_PER_RECORD, frame_start=1)
    scene.build(history, options)
    objects = instanced.tensor_objects(bpy.data.collections["nnviz"])  # the neurons' and maps' too
    drawn = {key: obj for key, obj in objects.items() if key in history.params}
    assert set(drawn) == set(history.params)
    scales = scene.color_scale_for(history, options)
    for record in range(history.records):
        bpy.context.scene.frame_set(1 + record * FRAMES_PER_RECORD)
        for key, obj in drawn.items():
            colors, _ = evaluated_cubes(obj)
            expected = colormap.colors(history.params[key][record].reshape(-1), scales[key])
            np.testing.assert_allclose(colors, expected, atol=RAMP_TOLERANCE, err_msg=f"{key} @ {record}")


def test_a_version_1_history_without_a_graph_builds_as_before():
    history = recorded("sequential")
    old = History(history.name, history.structure, history.steps, history.loss, history.params, history.grads,
                  history.metrics, history.series, history.static, history.config)  # no graph
    scene.build(old, SceneOptions(cubes="objects"))
    names = {o.name for o in bpy.data.objects if "nnviz_param" in o}
    assert len(names) == history.parameter_count
    assert "layer 0 · weight[0,0]" in names and "layer 2 · bias[2]" in names
    assert not any(o.name.startswith("nnviz · part") for o in bpy.data.objects)


# Renders one frame and reports, for each group, the pixel under the middle of its cubes.
RENDER = """
import json, sys
import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector
from nnviz_addon import scene
from nnviz_addon.history import History
from nnviz_addon.preset.config import RenderConfig
from nnviz_addon.scene.render import configure_render, render_png

bpy.ops.wm.read_factory_settings(use_empty=True)
history = History.load(sys.argv[1])
config = RenderConfig(engine="workbench", resolution=(1280, 720), samples=1, frames_per_record=2)
configure_render(bpy.context.scene, config)
scene.build(history, scene.SceneOptions.from_render_config(config))
out = render_png(sys.argv[2])
s = bpy.context.scene
image = bpy.data.images.load(str(out))
w, h = image.size
pixels = np.array(image.pixels[:]).reshape(h, w, 4)
groups = {}
for collection in bpy.data.collections["nnviz"].children:
    if not collection.name.startswith("nnviz · layer "):
        continue
    cubes = [o for o in collection.objects if "nnviz_param" in o]
    shown = []
    for cube in cubes:
        view = world_to_camera_view(s, s.camera, cube.matrix_world @ Vector((0, 0, 0)))
        x, y = int(view.x * w), int(view.y * h)
        inside = 0 <= x < w and 0 <= y < h
        shown.append(inside and float(np.abs(pixels[y, x, :3] - pixels[2, 2, :3]).max()) > 0.05)
    groups[collection.name] = [len(cubes), int(sum(shown))]
print(json.dumps(groups))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["transformer", "cnn_reused_pool"])
def test_a_rendered_frame_shows_every_group(name, tmp_path):
    history = recorded(name)
    path = history.save(tmp_path / f"{name}.npz")
    out = tmp_path / f"{name}.png"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(RENDER), str(path), str(out)],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    groups = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(groups) == sum(1 for m in history.graph.modules if m.params)
    for group, (cubes, shown) in groups.items():
        assert cubes and shown >= 0.9 * cubes, f"{group}: {shown} of {cubes} cubes show in the frame"
