import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.picture import colormap

bpy = pytest.importorskip("bpy")
from nnviz_addon import scene  # noqa: E402
from nnviz_addon.picture.frame import plan_frame  # noqa: E402
from nnviz_addon.scene import SceneOptions, keyframes, stage  # noqa: E402
from tests.support.histories import short_run, synthetic_history  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
ROOT = Path(__file__).resolve().parents[2]


def cubes() -> list:
    return [o for o in bpy.data.objects if "nnviz_param" in o]


def evaluated(obj):
    return obj.evaluated_get(bpy.context.evaluated_depsgraph_get())


@pytest.mark.parametrize(("sizes", "norm"), [((3, 3), False), ((2, 4, 1), False), ((2, 16, 16, 1), False),
                                             ((3, 8, 3), True)])
def test_one_cube_per_parameter(sizes, norm):
    history = synthetic_history(sizes, records=3, norm=norm)
    scene.build(history)
    assert len(cubes()) == history.parameter_count
    root = bpy.data.collections["nnviz"]
    layer_names = {c.name for c in root.children}
    assert {f"nnviz · layer {spec.name}" for spec in history.structure} <= layer_names
    assert "nnviz · legend" in layer_names


def test_names_and_custom_properties():
    history = synthetic_history((3, 4, 2), records=4)
    scene.build(history)
    cube = bpy.data.objects["layer 0 · weight[2,1]"]
    assert cube["nnviz_param"] == "0.weight" and list(cube["nnviz_index"]) == [2, 1]
    assert cube.users_collection[0].name == "nnviz · layer 0"
    bias = bpy.data.objects["layer 2 · bias[1]"]
    assert bias["nnviz_param"] == "2.bias" and list(bias["nnviz_index"]) == [1]
    assert bpy.data.objects["layer 0 · Linear 3→4 · label"].data.body == "layer 0 · Linear 3→4"
    assert {c.data for c in cubes()} == {bpy.data.meshes["nnviz · cube"]}
    assert {c.active_material for c in cubes()} == {bpy.data.materials["nnviz · object colour"]}


@pytest.mark.parametrize(("color_scale", "color_values"), [("global", "value"), ("layer", "value"),
                                                           ("auto", "change")])
def test_keyed_colours_and_values_follow_the_history(color_scale, color_values):
    history = synthetic_history((3, 5, 2), records=7, seed=3)
    options = SceneOptions(frames_per_record=3, frame_start=5, color_scale=color_scale, color_values=color_values)
    scene.build(history, options)
    bpy_scene = bpy.context.scene
    assert (bpy_scene.frame_start, bpy_scene.frame_end) == (5, 5 + 6 * 3)
    scales = scene.color_scale_for(history, options)
    sample = cubes()[::3]
    for record in (0, 2, 6):
        bpy_scene.frame_set(5 + 3 * record)
        for cube in sample:
            key, index = cube["nnviz_param"], tuple(cube["nnviz_index"])
            value = history.params[key][record][index]
            if color_values == "change":  # the colour (and the value a cube reports) is w − w₀
                value -= history.params[key][0][index]
            expected = colormap.colors(np.array(value), scales[key])
            assert evaluated(cube)["nnviz_value"] == pytest.approx(value, abs=1e-6)
            np.testing.assert_allclose(evaluated(cube).color, expected, atol=1e-6)


def test_colour_scale_global_and_per_layer():
    history = synthetic_history((3, 5, 2), records=4)
    global_scale = scene.color_scale_for(history, SceneOptions(color_scale="global"))
    per_layer = scene.color_scale_for(history, SceneOptions(color_scale="layer"))
    assert set(global_scale) == set(per_layer) == set(history.params)
    assert set(global_scale.values()) == {history.value_range()}
    for key, scale in per_layer.items():  # the 99th percentile of the layer's weight and bias together
        layer = key.split(".")[0]
        pooled = np.concatenate([np.abs(v).ravel() for k, v in history.params.items() if k.startswith(f"{layer}.")])
        assert scale == pytest.approx(np.percentile(pooled, 99))


def datablock_counts() -> dict[str, int]:
    kinds = ("objects", "meshes", "curves", "materials", "actions", "node_groups", "cameras", "lights",
             "worlds", "collections")
    return {kind: len(getattr(bpy.data, kind)) for kind in kinds}


def assert_no_orphan_actions() -> None:
    animated = [*bpy.data.objects, *bpy.data.curves]  # the loss curve keys its curve datablock
    in_use = {i.animation_data.action for i in animated if i.animation_data and i.animation_data.action}
    assert set(bpy.data.actions) == in_use


@pytest.mark.parametrize("first", [SceneOptions(), SceneOptions(magnitude="gradient")])
def test_rebuild_replaces_the_previous_scene(first):
    def build_with_a_user_object(history):
        bpy.context.scene.collection.objects.link(bpy.data.objects.new("mine", None))
        scene.build(history)

    history = synthetic_history((2, 3, 1), records=4)
    build_with_a_user_object(history)
    fresh = datablock_counts()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene.build(synthetic_history((3, 5, 2)), first)
    build_with_a_user_object(history)
    assert datablock_counts() == fresh
    assert len(cubes()) == history.parameter_count
    assert {c.data for c in cubes()} == {bpy.data.meshes["nnviz · cube"]}
    assert_no_orphan_actions()
    assert not [o.name for o in bpy.data.objects if ".0" in o.name]
    assert "mine" in bpy.data.objects


def test_show_values_colours_live_and_skips_deleted_cubes():
    history = synthetic_history((3, 4, 2), records=3)
    scene.build(history)
    bpy.data.objects.remove(bpy.data.objects["layer 0 · weight[0,0]"])
    live = {key: np.full(array.shape[1:], 0.5) for key, array in history.params.items()}
    live["0.weight"][1, 2] = -1.0
    scene.show_values(live, scale=1.0)
    bpy.context.scene.frame_set(3)  # the keyed run must not override the live colours
    cube = bpy.data.objects["layer 0 · weight[1,2]"]
    np.testing.assert_allclose(evaluated(cube).color, colormap.colors(np.array(-1.0), 1.0), atol=1e-6)
    assert evaluated(cube)["nnviz_value"] == -1.0
    other = bpy.data.objects["layer 2 · bias[1]"]
    np.testing.assert_allclose(evaluated(other).color, colormap.colors(np.array(0.5), 1.0), atol=1e-6)
    # Without a scale the build's scale is used.
    scene.show_values({"2.bias": np.array([0.0, 0.1])})
    expected = colormap.colors(np.array(0.1), history.value_range())
    np.testing.assert_allclose(evaluated(other).color, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"'0\.weight' has shape \(2, 2\)"):
        scene.show_values({"0.weight": np.zeros((2, 2))})


def test_clear_removes_everything_nnviz_made():
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("mine", None))
    scene.build(synthetic_history((3, 4, 2)))
    scene.clear()
    assert [o.name for o in bpy.data.objects] == ["mine"]
    made = ("collections", "meshes", "materials", "actions", "curves", "cameras", "lights", "worlds")
    for attribute in made:
        assert len(getattr(bpy.data, attribute)) == 0, attribute
    scene.show_values({"0.weight": np.zeros((4, 3))})  # nothing built: nothing to colour


def expected_sizes(magnitudes: dict, key: str, color_scale: str) -> tuple[float, np.ndarray]:
    """The documented mapping, written out: the 99th percentile of the run's magnitudes after record 0
    (all tensors pooled, or this one) is full size; sizes run from 0.25 to 1 by the square root."""
    pooled = magnitudes.values() if color_scale == "global" else [magnitudes[key]]
    full = np.percentile(np.concatenate([m[1:].ravel() for m in pooled]), 99)
    return full, 0.25 + 0.75 * np.sqrt(np.minimum(magnitudes[key] / full, 1.0))


@pytest.mark.parametrize(("mode", "color_scale"), [("gradient", "global"), ("gradient", "layer"),
                                                    ("update", "global")])
def test_cube_sizes_follow_gradients_or_updates(mode, color_scale):
    history = synthetic_history((3, 5, 2), records=6, seed=2)
    options = SceneOptions(frames_per_record=2, color_scale=color_scale, magnitude=mode)
    scene.build(history, options)
    if mode == "gradient":
        magnitudes = {k: np.abs(v) for k, v in history.grads.items()}
    else:
        magnitudes = {k: np.abs(np.diff(v, axis=0, prepend=v[:1])) for k, v in history.params.items()}
    root = bpy.data.collections["nnviz"]
    assert root["nnviz_magnitude"] == mode
    sample = cubes()[::2]
    for record in (0, 1, 3, 5):
        bpy.context.scene.frame_set(1 + 2 * record)
        for cube in sample:
            key, index = cube["nnviz_param"], tuple(cube["nnviz_index"])
            full, sizes = expected_sizes(magnitudes, key, color_scale)
            assert root["nnviz_magnitude_scale"][key] == pytest.approx(full)
            size = sizes[record][index]
            if record == 0:
                assert size == 0.25
            x, y, z = evaluated(cube).scale
            assert (x, y, z) == (pytest.approx(size, abs=1e-6), 1.0, pytest.approx(size, abs=1e-6)), cube.name
    # Between records the size moves linearly, like the colour.
    bpy.context.scene.frame_set(1 + 2 * 3 + 1)
    cube = sample[0]
    key, index = cube["nnviz_param"], tuple(cube["nnviz_index"])
    sizes = expected_sizes(magnitudes, key, color_scale)[1]
    assert evaluated(cube).scale[0] == pytest.approx((sizes[3][index] + sizes[4][index]) / 2, abs=1e-6)


def legend_texts(prefix: str) -> list[str]:
    return [o.data.body for o in sorted(bpy.data.objects, key=lambda o: o.name) if o.name.startswith(prefix)]


@pytest.mark.parametrize(("mode", "symbol"), [("gradient", "|∂L/∂w|"), ("update", "|Δw|")])
def test_size_legend_names_the_magnitudes_its_cubes_stand_for(mode, symbol):
    history = synthetic_history((3, 5, 2), records=5)
    scene.build(history, SceneOptions(magnitude=mode))
    full = bpy.data.collections["nnviz"]["nnviz_magnitude_scale"]["0.weight"]
    labels = legend_texts("nnviz · size legend label")
    assert labels == ["0", f"{full / 16:.2g}", f"{full / 4:.2g}", f"{full * 9 / 16:.2g}", f"≥{full:.2g}"]
    caption = bpy.data.objects["nnviz · size legend caption"].data.body
    assert caption.startswith(f"size: {symbol}")
    legend_cubes = sorted((o for o in bpy.data.objects if o.name.startswith("nnviz · size legend ")
                           and o.type == "MESH"), key=lambda o: o.name)
    np.testing.assert_allclose([c.scale[0] for c in legend_cubes], [0.25, 0.4375, 0.625, 0.8125, 1.0])
    # The size legend sits under the colour legend, both inside the camera's framing bounds.
    colour_bar = min(o.location.z for o in bpy.data.objects if o.name.startswith("nnviz · legend "))
    assert max(c.location.z for c in legend_cubes) < colour_bar
    bounds = list(bpy.data.collections["nnviz"]["nnviz_bounds"])
    assert min(o.location.z for o in bpy.data.objects if o.name.startswith("nnviz · size legend")) > bounds[2]
    # Per-tensor scales: the labels are fractions of each tensor's own scale.
    scene.build(history, SceneOptions(magnitude=mode, color_scale="layer"))
    assert legend_texts("nnviz · size legend label") == ["0", "0.062", "0.25", "0.56", "≥1"]
    assert "÷ its tensor's 99th percentile" in bpy.data.objects["nnviz · size legend caption"].data.body


def test_without_a_magnitude_no_size_is_keyed():
    history = synthetic_history((3, 4, 2), records=4)
    scene.build(history, SceneOptions(magnitude="gradient"))
    scene.build(history)  # rebuilding replaces the sized scene with a plain one
    assert not [o for o in bpy.data.objects if o.name.startswith("nnviz · size legend")]
    assert_no_orphan_actions()
    for cube in cubes():
        assert tuple(cube.scale) == (1.0, 1.0, 1.0)
        cube.scale = (2.0, 2.0, 2.0)  # a keyed scale would put this back on the next frame change
    bpy.context.scene.frame_set(3)
    assert all(tuple(evaluated(c).scale) == (2.0, 2.0, 2.0) for c in cubes())


def test_show_values_sizes_cubes_live():
    history = synthetic_history((3, 4, 2), records=3)
    scene.build(history, SceneOptions(magnitude="gradient"))
    full = bpy.data.collections["nnviz"]["nnviz_magnitude_scale"]["0.weight"]
    values = {key: array[-1] for key, array in history.params.items()}
    live = {"0.weight": np.zeros((4, 3))}
    live["0.weight"][1, 2] = -full / 4
    scene.show_values(values, magnitudes=live)
    bpy.context.scene.frame_set(2)
    assert evaluated(bpy.data.objects["layer 0 · weight[1,2]"]).scale[0] == pytest.approx(0.625)
    assert evaluated(bpy.data.objects["layer 0 · weight[0,0]"]).scale[0] == pytest.approx(0.25)
    # Tensors without live magnitudes are drawn full size, not frozen at a recorded step.
    assert tuple(evaluated(bpy.data.objects["layer 2 · bias[1]"]).scale) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"magnitudes\['0\.weight'\] has shape \(2,\), but values"):
        scene.show_values(values, magnitudes={"0.weight": np.zeros(2)})


def test_magnitude_must_be_a_known_mode():
    assert replace(SceneOptions(magnitude="gradient"), magnitude="none").magnitude == "none"
    with pytest.raises(ValueError, match=r"magnitude must be one of \('none', 'gradient', 'update'\)"):
        SceneOptions(magnitude="hessian")


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="color_scale must be one of"):
        SceneOptions(color_scale="local")
    with pytest.raises(ValueError, match="frames_per_record"):
        SceneOptions(frames_per_record=0)


def test_options_from_render_config_duck_typed():
    class Render:
        frames_per_record, color_scale, magnitude = 4, "layer", "none"

    assert SceneOptions.from_render_config(Render()) == SceneOptions(frames_per_record=4, color_scale="layer")
    Render.magnitude = "update"
    assert SceneOptions.from_render_config(Render()).magnitude == "update"


RENDER_SCRIPT = textwrap.dedent("""
    import json, sys
    import bpy, numpy as np
    from bpy_extras.object_utils import world_to_camera_view
    sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
    from tests.support.histories import synthetic_history
    from nnviz_addon import scene
    from nnviz_addon.picture import colormap
    bpy.ops.wm.read_factory_settings(use_empty=True)
    history = synthetic_history((3, 3), records=2, seed=1)
    scene.build(history)
    s = bpy.context.scene
    engines = {item.identifier for item in s.render.bl_rna.properties["engine"].enum_items}
    eevee = ({"BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"} & engines).pop()  # renamed back in 5.0
    s.render.engine = eevee if sys.argv[2] == "EEVEE" else sys.argv[2]
    s.render.resolution_x, s.render.resolution_y, s.render.resolution_percentage = 320, 180, 100
    s.render.dither_intensity = 0.0
    s.render.image_settings.file_format = "PNG"
    if sys.argv[2] == "CYCLES":
        s.cycles.samples, s.cycles.use_denoising, s.cycles.device = 4, False, "CPU"
    s.frame_set(2)
    s.render.filepath = sys.argv[3]
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(sys.argv[3])
    w, h = image.size
    pixels = np.array(image.pixels[:]).reshape(h, w, 4)
    rows = []
    for cube in [o for o in bpy.data.objects if "nnviz_param" in o]:
        p = world_to_camera_view(s, s.camera, cube.location)
        x, y = int(p.x * w), int(p.y * h)  # image rows start at the bottom, as camera view y does
        value = history.params[cube["nnviz_param"]][1][tuple(cube["nnviz_index"])]
        expected = colormap.linear_to_srgb(colormap.colors(np.array(value), history.value_range())[:3])
        rows.append((cube.name, pixels[y, x, :3].tolist(), expected.tolist()))
    print("RESULT" + json.dumps(rows))
""")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["BLENDER_WORKBENCH", "EEVEE", "CYCLES"])
def test_rendered_pixels_match_the_colour_map(engine, tmp_path):
    # In a subprocess: without EGL, Workbench aborts the whole process.
    command = [sys.executable, "-c", RENDER_SCRIPT, str(ROOT), engine, str(tmp_path / "frame.png")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and result, done.stdout[-2000:] + done.stderr[-2000:]
    rows = json.loads(result[0][len("RESULT"):])
    assert len(rows) == 12
    for name, rendered, expected in rows:
        np.testing.assert_allclose(rendered, expected, atol=1.5 / 255, err_msg=name)


# -- the learning views in the built scene ----------------------------------------------------------

VIEW_COLLECTIONS = ("nnviz · neurons", "nnviz · task", "nnviz · loss")


def view_objects(collection: str) -> list:
    return list(bpy.data.collections[collection].all_objects) if collection in bpy.data.collections else []


def test_probe_series_add_neurons_task_view_and_loss_curve():
    history = short_run("xor", steps=8, record_every=2)
    scene.build(history)
    root = bpy.data.collections["nnviz"]
    assert {c.name for c in root.children} >= set(VIEW_COLLECTIONS)
    neurons = [o for o in view_objects("nnviz · neurons") if "nnviz_neuron" in o]
    assert len(neurons) == 2 + 4 + 1
    assert len([o for o in view_objects("nnviz · task") if o.name.startswith("boundary · tile")]) == 32 * 32
    assert "loss · curve" in bpy.data.objects
    # One material for everything nnviz draws.
    materials = {s.material for o in root.all_objects for s in o.material_slots}
    assert materials == {bpy.data.materials["nnviz · object colour"]}
    assert len(bpy.data.materials) == 1


def test_write_makes_what_the_frame_plan_says():
    history = short_run("xor", steps=8, record_every=2)
    render = bpy.context.scene.render
    plan = plan_frame(history, SceneOptions(frames_per_record=3), stage.frame_aspect(render), stage.render_size(render))
    scene.write(plan)
    assert len(cubes()) == plan.layout.cube_count
    assert len([o for o in view_objects("nnviz · neurons") if "nnviz_neuron" in o]) == sum(
        len(column.positions) for column in plan.neurons.columns)
    camera = bpy.context.scene.camera
    np.testing.assert_allclose(camera.location, plan.camera.location, rtol=1e-6)
    assert camera.data.ortho_scale == pytest.approx(plan.camera.ortho_scale)
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (1, plan.timeline.frame_end)
    action_frames = {p.co[0] for c in keyframes.fcurves_of(cubes()[0]) for p in c.keyframe_points}
    assert action_frames == set(plan.record_frames.tolist())


def test_a_history_without_series_builds_without_neurons_or_task_view():
    scene.build(synthetic_history((3, 4, 2), records=4))
    assert not view_objects("nnviz · neurons") and not view_objects("nnviz · task")
    assert "loss · curve" in bpy.data.objects  # the loss needs no probe
    assert len(cubes()) == 3 * 4 + 4 + 4 * 2 + 2


@pytest.mark.torch
def test_a_history_recorded_from_torch_builds():
    torch = pytest.importorskip("torch")
    from nnviz_addon.training.record import Recorder

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    recorder = Recorder(model, name="torch")
    for step in (1, 2):
        recorder.snapshot(step, loss=1.0 / step)
    history = recorder.history()
    scene.build(history)
    assert len(cubes()) == history.parameter_count
    assert not view_objects("nnviz · neurons") and not view_objects("nnviz · task")


def corners_in_camera_view(frame: int) -> np.ndarray:
    """Every nnviz object's evaluated bounding-box corners at ``frame``, in camera view (0..1 inside)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    bpy_scene = bpy.context.scene
    bpy_scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    camera = bpy_scene.camera
    points = []
    for obj in bpy.data.collections["nnviz"].all_objects:
        if obj.type in ("CAMERA", "LIGHT"):
            continue
        shown = obj.evaluated_get(depsgraph)
        for corner in shown.bound_box:
            view = world_to_camera_view(bpy_scene, camera, shown.matrix_world @ Vector(corner))
            points.append((view.x, view.y, obj.name))
    return points


PRESETS = ["rgb_perceptron", "rgb_mlp", "xor", "circle", "gauss", "moons", "spiral", "digits"]
RESOLUTIONS = [(1280, 720), (1080, 1080), (720, 1280)]


@pytest.mark.parametrize("resolution", RESOLUTIONS, ids=lambda r: f"{r[0]}x{r[1]}")
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_draws_every_parameter_and_the_camera_sees_it_all(preset, resolution):
    bpy_scene = bpy.context.scene
    bpy_scene.render.resolution_x, bpy_scene.render.resolution_y = resolution
    history = short_run(preset, steps=8, record_every=2)
    scene.build(history, SceneOptions(magnitude="gradient"))
    assert len(cubes()) == history.parameter_count
    assert "nnviz · size legend caption" in bpy.data.objects
    for frame in (bpy_scene.frame_start, bpy_scene.frame_end):
        outside = [(round(x, 3), round(y, 3), name) for x, y, name in corners_in_camera_view(frame)
                   if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0)]
        assert not outside, f"{preset}, frame {frame}: {outside[:5]}"


@pytest.mark.parametrize("resolution", RESOLUTIONS, ids=lambda r: f"{r[0]}x{r[1]}")
@pytest.mark.parametrize("preset", PRESETS)
def test_the_picture_fills_the_frame(preset, resolution):
    # Whatever the aspect ratio, the picture spans most of the frame's width or height, and a
    # square frame is filled both ways (not a 16:9 strip across its middle).
    bpy_scene = bpy.context.scene
    bpy_scene.render.resolution_x, bpy_scene.render.resolution_y = resolution
    scene.build(short_run(preset, steps=8, record_every=2))
    points = np.array([(x, y) for x, y, _ in corners_in_camera_view(bpy_scene.frame_end)])
    width, height = points.max(axis=0) - points.min(axis=0)
    assert max(width, height) >= 0.8, f"{preset} at {resolution}: spans {width:.2f} × {height:.2f}"
    if resolution[0] == resolution[1]:
        assert min(width, height) >= 0.6, f"{preset} at {resolution}: spans {width:.2f} × {height:.2f}"
