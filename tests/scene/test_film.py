"""The film style in real Blender: every shot shows what it is meant to, the HUD stays in frame,
depths and the camera are keyed data, the diagram is untouched, and the film renders everywhere."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Vector  # noqa: E402

from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.picture import film as film_plan  # noqa: E402
from nnviz_addon.picture import film_passes  # noqa: E402
from nnviz_addon.picture import neurons as neuron_plan  # noqa: E402
from nnviz_addon.preset.config import find_presets  # noqa: E402
from nnviz_addon.preset.limits import FORWARD_STEP_FRAMES, MIN_STEP_FRAMES, pass_frames  # noqa: E402
from nnviz_addon.scene import keyframes  # noqa: E402
from tests.support.histories import synthetic_history  # noqa: E402
from tests.support.pixels import png_pixels  # noqa: E402
from tests.support.scripts import run  # noqa: E402

pytestmark = pytest.mark.bpy
ROOT = Path(__file__).resolve().parents[2]
STEPS = 24  # enough records for a moving film, few enough to train every preset quickly


def build_film(preset: str, **render) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    history = api.train(preset, steps=STEPS)
    # At least ~120 frames, so every shot has frames of its own to hold.
    render.setdefault("frames_per_record", max(2, -(-120 // max(history.records - 1, 1))))
    config = dataclasses.replace(api.render_config_of(history), style="film", resolution=(320, 180), **render)
    api.animate(history, render=config)


def corners_in_view(objs) -> np.ndarray:
    """(x, y, depth) in the camera view of every bounding-box corner of ``objs`` as evaluated."""
    sc = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    points = []
    for obj in objs:
        evaluated = obj.evaluated_get(depsgraph)
        for corner in evaluated.bound_box:
            points.append(tuple(world_to_camera_view(sc, sc.camera.evaluated_get(depsgraph),
                                                     evaluated.matrix_world @ Vector(corner))))
    return np.array(points)


def shown_by(shot_name: str, root) -> list:
    """The objects a shot is meant to show (the close-up: none, its box is checked directly)."""
    world = [o for o in root.all_objects if o.type in {"MESH", "FONT"} and "nnviz_hud" not in o
             and o.name not in ("nnviz · floor", "nnviz · backdrop")]
    if shot_name == "everything":
        return world
    if shot_name == "network":  # the cubes: the objects writer's, or the instanced writer's tensors
        return [o for o in world if "nnviz_param" in o or "/" not in o.get("nnviz_tensor", "/")]
    if shot_name.startswith("layer "):
        # the layers' collections in the order they were made, input to output (bpy.data's is by name)
        layers = [c for c in root.children if c.name.startswith("nnviz · layer ")]
        drawn = set(layers[int(shot_name.split()[1])].all_objects)
        return [o for o in world if o in drawn]
    return []


FILM_PRESETS = list(find_presets())
# A pass at every record, as many as asked (no share bound): the tests of what one pass does.
EVERY_RECORD = {"forward_pass": "every", "forward_pass_every": 1, "forward_pass_share": 1.0}


def seen_at(objs, frame: int) -> list:
    """What a viewer sees of ``objs`` at ``frame``: each one's evaluated size and colour, and for an
    instanced tensor its blocks' depths and colours (its evaluated mesh)."""
    bpy.context.scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    seen = []
    for obj in objs:
        shown = obj.evaluated_get(depsgraph)
        digest = ()
        if shown.type == "MESH" and len(shown.data.vertices) and "nn_color" in shown.data.attributes:
            co = np.empty(3 * len(shown.data.vertices))
            shown.data.vertices.foreach_get("co", co)
            colors = shown.data.attributes["nn_color"]
            rgba = np.empty(4 * len(colors.data))
            colors.data.foreach_get("color", rgba)
            digest = (float(np.abs(co[1::3]).sum()), float(rgba.sum()))
        seen.append((*np.round(shown.scale, 6), *np.round(shown.color, 6), *np.round(digest, 6)))
    return seen


@pytest.mark.parametrize("preset", FILM_PRESETS)
def test_every_shot_shows_its_part_and_the_hud_stays_in_frame(preset: str) -> None:
    build_film(preset)
    sc, root = bpy.context.scene, bpy.data.collections["nnviz"]
    shots = [dict(s) for s in root["nnviz_film_shots"]]
    assert shots[0]["name"] == "network" and shots[-1]["name"] == "everything"
    hud = [o for o in root.all_objects if o.get("nnviz_hud") in ("overlay", "legend")]  # the text, not its band
    assert {o.name for o in hud} >= {"nnviz · title", "nnviz · counter"}
    length = sc.frame_end - sc.frame_start
    for shot in shots:
        frame = sc.frame_start + round((shot["start"] + shot["end"]) / 2 * length)
        sc.frame_set(frame)
        view = corners_in_view(shown_by(shot["name"], root))
        if shot["name"] == "close-up":
            box = shot["box"]
            view = np.array([tuple(world_to_camera_view(sc, sc.camera, Vector(c)))
                             for c in film_plan.corners((box[:3], box[3:]))])
        assert len(view), shot["name"]
        assert np.all(view[:, 2] > 0), f"{preset} {shot['name']}: behind the camera"
        inside = np.all((view[:, :2] >= 0) & (view[:, :2] <= 1))
        assert inside, f"{preset} frame {frame} {shot['name']}: {view.min(0)} {view.max(0)}"
        hud_view = corners_in_view(hud)
        assert np.all((hud_view[:, :2] >= 0) & (hud_view[:, :2] <= 1)), f"{preset} HUD at frame {frame}"
        # The HUD band: above the picture the shot frames.
        assert hud_view[:, 1].min() > 1 - film_plan.HUD_BAND - 0.01


@pytest.mark.parametrize("cubes", ["objects", "instanced"])
@pytest.mark.parametrize("preset", FILM_PRESETS)
def test_forward_passes_keep_the_camera_path_light_every_stage_and_take_their_share(preset: str, cubes: str) -> None:
    from nnviz_addon.scene import film, instanced

    build_film(preset, forward_pass="every", forward_pass_every=2, cubes=cubes)
    sc, root = bpy.context.scene, bpy.data.collections["nnviz"]
    history = api.train(preset, steps=STEPS)
    shots = [dict(s)["name"] for s in root["nnviz_film_shots"]]
    assert shots[0] == "network" and shots[-1] == "everything" and "forward pass" not in shots  # the path, kept
    options = scene.SceneOptions(frames_per_record=max(2, -(-120 // max(history.records - 1, 1))), style="film",
                                 forward_pass="every", forward_pass_every=2, cubes=cubes)
    plan = film.timeline(history, options)
    stages = film_passes.pass_stages(history)
    assert len(plan.passes) >= 2 and len(stages) >= 2 and sc.frame_end == plan.frame_end
    share = len(plan.passes) * plan.pass_length / (plan.frame_end - sc.frame_start + 1)
    assert share <= options.forward_pass_share or plan.pass_length == (len(stages) + 1) * MIN_STEP_FRAMES
    # Each stage lights something at its turn in the last pass: a flashing block grows, a column or
    # an attention map lights up.
    columns = neuron_plan.column_keys(history)
    for k, stage in enumerate(stages):
        cells = None if stage.attention is None else f"attention · {stage.attention.removeprefix('attention/')} · head"
        keys = {*stage.flashes, columns.get(stage.column)}
        lighting = [o for o in root.all_objects
                    if o.get("nnviz_param") in stage.flashes or o.get(instanced.TENSOR_PROPERTY) in keys
                    or (stage.column and o.get("nnviz_neuron") == stage.column) or (cells and o.name.startswith(cells))]
        lit = int(plan.lit[-1, k])
        before, at = (seen_at(lighting, frame) for frame in (lit - 1, lit))
        assert before and before != at, f"{preset} {cubes}: stage {stage.name} lights nothing"


def test_camera_path_and_depths_are_keyed_data() -> None:
    build_film("xor", frames_per_record=2)
    sc, camera = bpy.context.scene, bpy.context.scene.camera
    assert camera.data.type == "PERSP"
    paths = {(c.data_path, c.array_index) for c in keyframes.fcurves_of(camera)}
    assert paths == {("location", i) for i in range(3)} | {("rotation_euler", i) for i in range(3)}
    assert not bpy.app.handlers.frame_change_pre and not bpy.app.handlers.frame_change_post
    locations = []
    for frame in (sc.frame_start, (sc.frame_start + sc.frame_end) // 2, sc.frame_end):
        sc.frame_set(frame)
        locations.append(tuple(camera.matrix_world.translation))
    assert len(set(locations)) == 3  # it moves

    history = api.train("xor", steps=STEPS)
    top = history.value_range()
    cube = bpy.data.objects["layer 0 · weight[1,0]"]
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for record in (0, history.records // 2, history.records - 1):
        sc.frame_set(1 + 2 * record)
        value = history.params["0.weight"][record][1, 0]
        expected = film_plan.relief(np.array([value]), top)[0]
        assert cube.evaluated_get(depsgraph).scale[1] == pytest.approx(expected, rel=1e-5)


def test_smooth_motion_eases_between_records_and_keeps_each_record() -> None:
    build_film("xor", motion="smooth", frames_per_record=2)
    sc = bpy.context.scene
    history = api.train("xor", steps=STEPS)
    cube = bpy.data.objects["layer 0 · weight[0,1]"]
    curve = next(c for c in keyframes.fcurves_of(cube) if c.data_path == '["nnviz_value"]')
    values = history.params["0.weight"][:, 0, 1]
    assert curve.evaluate(3.0) == pytest.approx(values[1], abs=1e-6)  # record 1 at frame 3
    quarter = curve.evaluate(1.5)  # a quarter of the way from record 0 to 1
    linear = values[0] + 0.25 * (values[1] - values[0])
    eased = values[0] + (1 - np.cos(np.pi * 0.25)) / 2 * (values[1] - values[0])
    assert quarter == pytest.approx(eased, abs=1e-5) and quarter != pytest.approx(linear, abs=1e-5)
    del sc


FILM_SCENE = """
import sys, dataclasses
import bpy
from nnviz_addon import api  # noqa: E402
bpy.ops.wm.read_factory_settings(use_empty=True)
history = api.train("xor", steps=16)
config = dataclasses.replace(api.render_config_of(history), style=sys.argv[3], engine=sys.argv[2],
                             resolution=(128, 72), samples=1)
api.animate(history, render=config)
"""


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["workbench", "eevee"])  # EEVEE: with the compositor's bloom
def test_a_saved_film_renders_the_same_frame_without_nnviz(tmp_path: Path, engine: str) -> None:
    blend, first, second = tmp_path / "film.blend", tmp_path / "a.png", tmp_path / "b.png"
    # With forward passes, at the frame a pass in the run lights its output layer and flashes its weights.
    result = run(FILM_SCENE + textwrap.dedent("""
        from nnviz_addon import scene
        from nnviz_addon.scene import film
        config = dataclasses.replace(config, forward_pass="every", forward_pass_share=1.0, forward_pass_every=1)
        api.animate(history, render=config)
        frame = int(film.timeline(history, scene.SceneOptions.from_render_config(config)).lit[1, -1])
        api.render_still(sys.argv[1] + "/a.png", frame=frame)
        bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1] + "/film.blend")
        print(frame)
    """), str(tmp_path), engine, "film")
    frame = result.stdout.strip().splitlines()[-1]
    # A fresh interpreter that can't import nnviz (run from the temporary folder, no repo on the path).
    run("""
import sys, bpy
try:
    import nnviz_addon  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("nnviz is importable")
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
image = scene.render.image_settings
if hasattr(image, "media_type"):
    image.media_type = "IMAGE"
image.file_format, image.color_mode = "PNG", "RGB"
scene.frame_set(int(sys.argv[3]))
scene.render.filepath = sys.argv[2]
bpy.ops.render.render(write_still=True)
""", str(blend), str(second), frame, cwd=tmp_path)
    assert np.array_equal(png_pixels(first), png_pixels(second))


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["workbench", "eevee", "cycles"])
def test_film_frames_render_in_every_engine(tmp_path: Path, engine: str) -> None:
    result = run(FILM_SCENE + textwrap.dedent("""
        import json
        api.render_still(sys.argv[1] + "/film.png")
        print(json.dumps({"camera": bpy.context.scene.camera.data.type}))
    """), str(tmp_path), engine, "film")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"camera": "PERSP"}
    pixels = png_pixels(tmp_path / "film.png")[..., :3]
    assert pixels.shape[:2] == (72, 128)
    # Lit blocks and glowing colours: many distinct colours, not a flat or empty frame.
    assert len(np.unique(np.round(pixels.reshape(-1, 3), 2), axis=0)) > 50
    assert pixels.max() > 0.3


@pytest.mark.slow
def test_diagram_frames_are_unchanged_by_a_film_built_before(tmp_path: Path) -> None:
    run(FILM_SCENE.replace('style=sys.argv[3], ', '') + textwrap.dedent("""
        api.render_still(sys.argv[1] + "/before.png", frame=3)
        api.animate(history, render=dataclasses.replace(config, style="film"))
        api.animate(history, render=config)
        api.render_still(sys.argv[1] + "/after.png", frame=3)
    """), str(tmp_path), "workbench", "diagram")
    before, after = png_pixels(tmp_path / "before.png"), png_pixels(tmp_path / "after.png")
    assert np.array_equal(before, after)


def test_diagram_is_the_default_and_builds_no_film() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    history = api.train("xor", steps=8)
    api.animate(history)
    assert bpy.context.scene.camera.data.type == "ORTHO"
    assert "nnviz_film_shots" not in bpy.data.collections["nnviz"]
    assert not [o for o in bpy.data.objects if "nnviz_hud" in o]
    assert scene.SceneOptions().style == "diagram"


def test_forward_pass_lights_each_layer_with_its_probe_activations_in_turn() -> None:
    from nnviz_addon.picture import colormap, neurons
    from nnviz_addon.scene import film

    build_film("xor", forward_pass="intro", forward_pass_share=1.0, frames_per_record=2)
    sc = bpy.context.scene
    history = api.train("xor", steps=STEPS)
    columns = film_passes.neuron_columns(history)
    assert columns == ["input", "layer 0", "layer 2"]
    lit_at = film_passes.forward_pass_frames(len(columns), sc.frame_start)
    first_record = sc.frame_start + (len(columns) + 1) * FORWARD_STEP_FRAMES
    # ... and a pass at the end, on the trained network
    assert int(sc.frame_end) == first_record + 2 * (history.records - 1) + 1 + pass_frames(len(columns))
    for k, (column, frame) in enumerate(zip(columns, lit_at, strict=True)):
        if column == "input":
            values = np.asarray(history.static["probe/input"], dtype=np.float64)[None]
            scale = neurons.activation_scale(values, None)
        else:
            spec = next(s for s in history.structure if f"layer {s.name}" == column)
            series = np.asarray(history.series[f"activation/{spec.name}"], dtype=np.float64)
            values, scale = series[:1], neurons.activation_scale(series, spec.activation)
        expected = colormap.colors(values, scale)[0, :, :3]
        spheres = sorted((o for o in bpy.data.objects if o.get("nnviz_neuron") == column),
                         key=lambda o: o["nnviz_index"])
        depsgraph = bpy.context.evaluated_depsgraph_get()
        sc.frame_set(int(frame) - 1)
        before = np.array([tuple(s.evaluated_get(depsgraph).color)[:3] for s in spheres])
        assert np.allclose(before, film.DARK, atol=1e-6), f"{column} lit before its turn"
        sc.frame_set(int(frame))
        lit = np.array([tuple(s.evaluated_get(depsgraph).color)[:3] for s in spheres])
        assert np.allclose(lit, expected, atol=1e-5), column
        if k + 1 < len(columns):  # the next column is still dark
            following = [o for o in bpy.data.objects if o.get("nnviz_neuron") == columns[k + 1]]
            assert np.allclose(tuple(following[0].evaluated_get(depsgraph).color)[:3], film.DARK, atol=1e-6)


def test_a_pass_in_the_run_pauses_it_lights_that_records_activations_and_flashes_the_weights() -> None:
    from nnviz_addon.picture import colormap, neurons
    from nnviz_addon.scene import film

    build_film("xor", **EVERY_RECORD, frames_per_record=2)
    sc = bpy.context.scene
    history = api.train("xor", steps=STEPS)
    plan = film.timeline(history, scene.SceneOptions(frames_per_record=2, style="film", **EVERY_RECORD))
    columns = film_passes.neuron_columns(history)
    assert len(plan.passes) == history.records and int(sc.frame_end) == plan.frame_end
    depsgraph = bpy.context.evaluated_depsgraph_get()
    i = 1
    r = int(plan.passes[i])  # a pass in the middle of the run
    weights = sorted((o for o in bpy.data.objects if o.get("nnviz_param") == "2.weight"),
                     key=lambda o: tuple(o["nnviz_index"]))

    def colors(objs, frame):
        sc.frame_set(int(frame))
        return np.array([tuple(o.evaluated_get(depsgraph).color)[:3] for o in objs])

    def depths(frame):
        sc.frame_set(int(frame))
        return np.array([o.evaluated_get(depsgraph).matrix_world.to_scale()[1] for o in weights])

    # The run is paused: the weights show record r from its frame until the pass is over.
    held = colors(weights, plan.record_frames[r])
    assert np.allclose(colors(weights, plan.lit[i, -1]), held, atol=1e-6)
    assert not np.allclose(colors(weights, plan.record_frames[r + 1]), held, atol=1e-4)
    for k, column in enumerate(columns):
        spheres = sorted((o for o in bpy.data.objects if o.get("nnviz_neuron") == column),
                         key=lambda o: o["nnviz_index"])
        if column == "input":
            values = np.asarray(history.static["probe/input"], dtype=np.float64)[None]
            scale = neurons.activation_scale(values, None)
        else:
            series = np.asarray(history.series[f"activation/{column.split()[1]}"], dtype=np.float64)
            spec = next(s for s in history.structure if f"layer {s.name}" == column)
            values, scale = series[r:r + 1], neurons.activation_scale(series, spec.activation)
        assert np.allclose(colors(spheres, plan.lit[i, k] - 1), film.DARK, atol=1e-6), column
        assert np.allclose(colors(spheres, plan.lit[i, k]), colormap.colors(values, scale)[0, :, :3], atol=1e-5)
    # Layer 2's weights flash when it lights up, by |w_ij x_j| with x = layer 0's activation at record r.
    lit = plan.lit[i, columns.index("layer 2")]
    normal = depths(lit - 1)
    x = np.asarray(history.series["activation/0"], dtype=np.float64)[r]
    w = np.asarray(history.params["2.weight"], dtype=np.float64)[r]
    carried = np.abs(w * x[None, :])
    share = np.array([carried[tuple(o["nnviz_index"])] for o in weights]) / carried.max()
    np.testing.assert_allclose(depths(lit), normal * (1 + film_plan.FLASH_GAIN * share), rtol=1e-4)
    np.testing.assert_allclose(depths(lit + film_plan.FLASH_FRAMES), normal, rtol=1e-5)
    assert share.max() == 1.0 and share.min() < 0.9  # the flash differs between weights


@pytest.mark.parametrize("cubes", ["objects", "instanced"])
def test_conv_kernels_flash_at_their_layers_turn_by_the_level_of_the_channel_they_read(cubes: str) -> None:
    from nnviz_addon.scene import film

    build_film("digits_cnn", **EVERY_RECORD, frames_per_record=2, cubes=cubes)
    sc = bpy.context.scene
    history = api.train("digits_cnn", steps=STEPS)
    plan = film.timeline(history, scene.SceneOptions(frames_per_record=2, style="film", **EVERY_RECORD))
    stages = [stage.name for stage in film_passes.pass_stages(history)]
    convs = [f"layer {s.name}" for s in history.structure if s.kind == "Conv2d"]
    assert stages == [*convs, *film_passes.neuron_columns(history)] and len(convs) == 2  # in the signal's order
    i = 1
    r = int(plan.passes[i])
    for spec, maps in ((history.structure[0], np.asarray(history.static["probe/image"], dtype=np.float64)),
                       (history.structure[1], np.asarray(history.series["feature/2"], dtype=np.float64)[r])):
        # written out: |w| times the mean |x| of the input channel, over the layer's largest
        w = np.abs(np.asarray(history.params[spec.weight], dtype=np.float64)[r])
        carried = w * np.abs(maps).reshape(len(maps), -1).mean(axis=1)[None, :, None, None]
        share = carried / carried.max()
        lit = int(plan.lit[i, stages.index(f"layer {spec.name}")])
        if cubes == "objects":
            blocks = [o for o in bpy.data.objects if o.get("nnviz_param") == spec.weight]

            def depths(frame, blocks=blocks):
                sc.frame_set(int(frame))
                depsgraph = bpy.context.evaluated_depsgraph_get()
                return np.array([o.evaluated_get(depsgraph).matrix_world.to_scale()[1] for o in blocks])

            normal = depths(lit - 1)
            expected = normal * (1 + film_plan.FLASH_GAIN * np.array([share[tuple(o["nnviz_index"])] for o in blocks]))
            np.testing.assert_allclose(depths(lit), expected, rtol=1e-4, err_msg=spec.name)
            np.testing.assert_allclose(depths(lit + film_plan.FLASH_FRAMES), normal, rtol=1e-5)
        else:
            from nnviz_addon.scene import instanced
            from tests.support.instanced_mesh import evaluated_blocks

            obj = instanced.tensor_objects(bpy.data.collections["nnviz"])[spec.weight]
            drawn = np.asarray(obj.get(instanced.INDICES_PROPERTY, np.arange(share.size)), dtype=np.intp)

            def depths(frame, obj=obj):
                sc.frame_set(int(frame))
                low, high, _ = evaluated_blocks(obj)
                return high - low

            normal = depths(lit - 1)
            np.testing.assert_allclose(depths(lit), normal * (1 + film_plan.FLASH_GAIN * share.ravel()[drawn]),
                                       rtol=1e-4, err_msg=spec.name)
        assert share.min() < 0.5  # the flash differs between weights


@pytest.mark.parametrize("cubes", ["objects", "instanced"])
def test_a_run_of_one_record_flashes_its_weights_in_its_pass(cubes: str) -> None:
    from nnviz_addon.scene import film, instanced
    from tests.support.instanced_mesh import evaluated_blocks

    full = api.train("xor", steps=STEPS)
    first = {name: {key: array[:1] for key, array in getattr(full, name).items()}
             for name in ("params", "grads", "metrics", "series")}
    history = dataclasses.replace(full, steps=full.steps[:1], loss=full.loss[:1], **first)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    config = dataclasses.replace(api.render_config_of(history), style="film", resolution=(320, 180),
                                 forward_pass="intro", cubes=cubes)
    api.animate(history, render=config)
    plan = film.timeline(history, scene.SceneOptions.from_render_config(config))
    assert plan.passes.tolist() == [0]
    lit = int(plan.lit[0, [s.name for s in film_passes.pass_stages(history)].index("layer 2")])
    x = np.asarray(history.series["activation/0"], dtype=np.float64)[0]
    carried = np.abs(np.asarray(history.params["2.weight"], dtype=np.float64)[0] * x[None, :])
    share = carried / carried.max()
    sc = bpy.context.scene
    if cubes == "objects":
        blocks = [o for o in bpy.data.objects if o.get("nnviz_param") == "2.weight"]
        expected_share = np.array([share[tuple(o["nnviz_index"])] for o in blocks])

        def depths(frame):
            sc.frame_set(int(frame))
            depsgraph = bpy.context.evaluated_depsgraph_get()
            return np.array([o.evaluated_get(depsgraph).matrix_world.to_scale()[1] for o in blocks])
    else:
        obj = instanced.tensor_objects(bpy.data.collections["nnviz"])["2.weight"]
        expected_share = share.ravel()

        def depths(frame):
            sc.frame_set(int(frame))
            low, high, _ = evaluated_blocks(obj)
            return high - low

    normal = depths(lit - 1)
    np.testing.assert_allclose(depths(lit), normal * (1 + film_plan.FLASH_GAIN * expected_share), rtol=1e-4)
    np.testing.assert_allclose(depths(lit + film_plan.FLASH_FRAMES), normal, rtol=1e-5)
    assert expected_share.min() < 0.9


def test_instanced_cubes_pause_during_a_pass() -> None:
    from nnviz_addon.scene import film

    build_film("xor", **EVERY_RECORD, frames_per_record=2, cubes="instanced")
    history = api.train("xor", steps=STEPS)
    plan = film.timeline(history, scene.SceneOptions(frames_per_record=2, style="film", **EVERY_RECORD))
    obj = next(o for o in bpy.data.objects if o.get("nnviz_tensor") == "0.weight")

    r = int(plan.passes[1])
    held = _instance_colors(obj, plan.record_frames[r])
    assert np.allclose(_instance_colors(obj, plan.holds[0]), held, atol=1e-6)
    assert not np.allclose(_instance_colors(obj, plan.record_frames[r + 1]), held, atol=1e-4)


def test_a_pass_lights_the_instanced_neuron_columns_in_turn_with_that_records_activations() -> None:
    from nnviz_addon.picture import colormap, neurons
    from nnviz_addon.scene import film, instanced
    from tests.support.instanced_mesh import RAMP_TOLERANCE

    build_film("xor", **EVERY_RECORD, frames_per_record=2, cubes="instanced")
    history = api.train("xor", steps=STEPS)
    plan = film.timeline(history, scene.SceneOptions(frames_per_record=2, style="film", **EVERY_RECORD))
    columns = film_passes.neuron_columns(history)
    drawn = instanced.tensor_objects(bpy.data.collections["nnviz"])
    keys = ["probe/input"] + [f"activation/{c.split()[1]}" for c in columns[1:]]
    assert columns[0] == "input" and set(keys) <= set(drawn)
    i = 1
    r = int(plan.passes[i])  # a pass in the middle of the run
    for k, (column, key) in enumerate(zip(columns, keys, strict=True)):
        if column == "input":
            values = np.asarray(history.static["probe/input"], dtype=np.float64)[None]
            scale = neurons.activation_scale(values, None)
        else:
            series = np.asarray(history.series[key], dtype=np.float64)
            spec = next(s for s in history.structure if f"layer {s.name}" == column)
            values, scale = series[r:r + 1], neurons.activation_scale(series, spec.activation)
        lit = colormap.colors(values, scale)[0, :, :3]
        unlit = _column_colors(drawn[key], plan.lit[i, k] - 1)
        assert np.allclose(unlit, film.DARK, atol=1e-6), column
        np.testing.assert_allclose(_column_colors(drawn[key], plan.lit[i, k]), lit, atol=RAMP_TOLERANCE,
                                   err_msg=column)
        assert np.abs(lit - np.array(film.DARK)).max() > 10 * RAMP_TOLERANCE  # lighting it shows
    # After the pass the run goes on: the columns show the next record's activations again.
    after = colormap.colors(series[r + 1:r + 2], scale)[0, :, :3]
    np.testing.assert_allclose(_column_colors(drawn[keys[-1]], plan.record_frames[r + 1]), after,
                               atol=RAMP_TOLERANCE)


def test_only_the_weight_and_bias_blocks_cast_workbench_shadows_with_either_writer() -> None:
    from nnviz_addon.scene import film, instanced

    history = api.train("digits", steps=STEPS)  # a probe image, neuron columns and tiles
    for cubes in ("objects", "instanced"):
        build_film("digits", cubes=cubes)
        sc = bpy.context.scene
        casting = {o.get("nnviz_param", o.get(instanced.TENSOR_PROPERTY, o.name))
                   for o in bpy.data.objects if o.display.show_shadows and o.type == "MESH"}
        assert casting == set(history.params), cubes
        if cubes == "instanced":  # the neuron columns are tensor objects too, and cast nothing
            assert len(instanced.tensor_objects(bpy.data.collections["nnviz"])) > len(casting)
        assert sc.display.shading.show_shadows
        assert tuple(sc.display.light_direction) == pytest.approx(film.SHADOW_DIRECTION)



def test_of_a_big_network_only_the_smaller_tensors_blocks_cast_workbench_shadows() -> None:
    from nnviz_addon.scene import instanced

    history = synthetic_history((80, 64, 2), records=2)  # 5,120 weights, past the shadow budget
    bpy.ops.wm.read_factory_settings(use_empty=True)
    api.animate(history, render=dataclasses.replace(api.render_config_of(history), style="film",
                                                    resolution=(320, 180), cubes="instanced"))
    casting = {o.get(instanced.TENSOR_PROPERTY, o.name) for o in bpy.data.objects
               if o.display.show_shadows and o.type == "MESH"}
    assert casting == {"0.bias", "2.weight", "2.bias"}
    assert bpy.context.scene.display.shading.show_shadows  # which the blocks still receive


@pytest.mark.slow
def test_a_big_tensor_out_of_the_shadows_shows_the_same_coloured_blocks(tmp_path: Path) -> None:
    result = run(textwrap.dedent("""
        import sys, dataclasses, json
        import bpy
        from bpy_extras.object_utils import world_to_camera_view
        from nnviz_addon import api
        from nnviz_addon.scene import instanced
        from tests.support.histories import synthetic_history
        bpy.ops.wm.read_factory_settings(use_empty=True)
        history = synthetic_history((80, 64, 2), records=2)
        api.animate(history, render=dataclasses.replace(api.render_config_of(history), style="film",
                                                        resolution=(320, 180), cubes="instanced"))
        big = instanced.tensor_objects(bpy.data.collections["nnviz"])["0.weight"]
        api.render_still(sys.argv[1] + "/now.png")
        big.display.show_shadows = True  # as every block cast before
        api.render_still(sys.argv[1] + "/casting.png")
        sc = bpy.context.scene
        sc.frame_set(sc.frame_end)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        evaluated = big.evaluated_get(depsgraph)
        print(json.dumps([tuple(world_to_camera_view(sc, sc.camera.evaluated_get(depsgraph),
                                                     evaluated.matrix_world @ Vector(c)))[:2]
                          for c in evaluated.bound_box]))
    """).replace("import bpy\n", "import bpy\nfrom mathutils import Vector\n", 1), str(tmp_path))
    box = np.array(json.loads(result.stdout.strip().splitlines()[-1]))
    now, casting = (png_pixels(tmp_path / f"{n}.png")[..., :3] for n in ("now", "casting"))
    height, width = now.shape[:2]
    (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
    blocks = now[int(y0 * height) + 2:int(y1 * height) - 2, int(x0 * width) + 2:int(x1 * width) - 2]
    assert blocks.size > 0
    red, blue = blocks[..., 0] - blocks[..., 2], blocks[..., 2] - blocks[..., 0]
    # the colour map reads on the blocks, a few to a pixel here (a quarter or so of them red, of them blue)
    assert (red > 0.05).mean() > 0.1 and (blue > 0.05).mean() > 0.1
    differs = np.abs(now - casting).max(axis=-1) > 8 / 255
    assert differs.mean() < 0.02  # the shadows it no longer casts hardly showed

def test_instanced_weight_blocks_flash_by_their_share_of_the_signal_in_a_pass() -> None:
    from nnviz_addon.scene import film, instanced
    from tests.support.instanced_mesh import evaluated_blocks

    build_film("xor", **EVERY_RECORD, frames_per_record=2, cubes="instanced")
    history = api.train("xor", steps=STEPS)
    plan = film.timeline(history, scene.SceneOptions(frames_per_record=2, style="film", **EVERY_RECORD))
    weights = instanced.tensor_objects(bpy.data.collections["nnviz"])["2.weight"]

    def depths(frame):
        bpy.context.scene.frame_set(int(frame))
        low, high, _ = evaluated_blocks(weights)
        return high - low

    i = 1
    r = int(plan.passes[i])
    lit = plan.lit[i, film_passes.neuron_columns(history).index("layer 2")]
    normal = depths(lit - 1)
    x = np.asarray(history.series["activation/0"], dtype=np.float64)[r]
    w = np.asarray(history.params["2.weight"], dtype=np.float64)[r]
    carried = np.abs(w * x[None, :]).ravel()  # the tensor's faces are its elements in order
    share = carried / carried.max()
    np.testing.assert_allclose(depths(lit), normal * (1 + film_plan.FLASH_GAIN * share), rtol=1e-4)
    half = depths(lit + film_plan.FLASH_FRAMES // 2)  # fading back, linearly
    np.testing.assert_allclose(half, normal * (1 + film_plan.FLASH_GAIN * share / 2), rtol=1e-4)
    np.testing.assert_allclose(depths(lit + film_plan.FLASH_FRAMES), normal, rtol=1e-5)
    assert share.max() == 1.0 and share.min() < 0.9  # the flash differs between weights
    # the next pass flashes with its own record's shares
    j = i + 1
    x = np.asarray(history.series["activation/0"], dtype=np.float64)[int(plan.passes[j])]
    w = np.asarray(history.params["2.weight"], dtype=np.float64)[int(plan.passes[j])]
    carried = np.abs(w * x[None, :]).ravel()
    lit = plan.lit[j, film_passes.neuron_columns(history).index("layer 2")]
    np.testing.assert_allclose(depths(lit), depths(lit - 1) * (1 + film_plan.FLASH_GAIN * carried / carried.max()),
                               rtol=1e-4)


def _column_colors(obj, frame) -> np.ndarray:
    """The (neurons, 3) colours of an instanced neuron column's evaluated squares at ``frame``."""
    from tests.support.instanced_mesh import evaluated_cubes

    bpy.context.scene.frame_set(int(frame))
    return evaluated_cubes(obj)[0][:, :3]


def _instance_colors(obj, frame) -> np.ndarray:
    """The colours and vertex positions (the blocks' depths) of ``obj``'s evaluated Geometry Nodes
    cubes at ``frame``."""
    from nnviz_addon.scene import instanced

    bpy.context.scene.frame_set(int(frame))
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    colors = np.zeros(len(mesh.loops) * 4, dtype=np.float32)
    mesh.attributes[instanced.COLOR_ATTRIBUTE].data.foreach_get("color", colors)
    positions = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", positions)
    return np.concatenate([colors, positions])


# Renders the xor film between two records with the given cube writer and prints where each weight
# and bias block lands in the picture (the pixel boxes of its bounding box's corners).
WRITER_FILM = FILM_SCENE + textwrap.dedent("""
    import json
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from nnviz_addon import scene
    from nnviz_addon.scene import film, instanced
    config = dataclasses.replace(config, cubes=sys.argv[4], resolution=(320, 180))
    api.animate(history, render=config)
    plan = film.timeline(history, scene.SceneOptions.from_render_config(config))
    frame = int(plan.record_frames[len(plan.record_frames) // 2]) + 1
    api.render_still(sys.argv[1] + "/" + sys.argv[4] + ".png", frame=frame)
    sc = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    boxes = []
    for obj in sc.objects:
        if "nnviz_param" in obj:
            evaluated = obj.evaluated_get(depsgraph)
            view = [world_to_camera_view(sc, sc.camera, evaluated.matrix_world @ Vector(c))
                    for c in evaluated.bound_box]
            boxes.append([min(v.x for v in view), max(v.x for v in view), min(v.y for v in view),
                          max(v.y for v in view)])
    print(json.dumps({"boxes": boxes, "instanced": len(instanced.tensor_objects(bpy.data.collections["nnviz"]))}))
""")


@pytest.mark.slow
def test_instanced_film_blocks_render_as_the_objects_writers_cubes(tmp_path: Path) -> None:
    """Workbench, between two records: where the objects writer's lit cubes are, the instanced
    writer's film shows the same coloured 3D blocks."""
    found = {}
    for writer in ("objects", "instanced"):
        result = run(WRITER_FILM, str(tmp_path), "workbench", "film", writer)
        found[writer] = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["instanced"]["instanced"] > 0 and found["objects"]["instanced"] == 0
    objects_png, instanced_png = (png_pixels(tmp_path / f"{w}.png")[..., :3] for w in ("objects", "instanced"))
    height, width = objects_png.shape[:2]
    blocks = np.zeros((height, width), dtype=bool)
    for u0, u1, v0, v1 in found["objects"]["boxes"]:
        blocks[int(v0 * height) + 1:int(v1 * height) - 1, int(u0 * width) + 1:int(u1 * width) - 1] = True
    assert blocks.mean() > 0.02  # the network shot shows the blocks large enough to compare
    difference = np.abs(instanced_png - objects_png).max(axis=-1)[blocks]
    assert np.mean(difference < 3 / 255) > 0.98, np.percentile(difference, [50, 98, 100])
    red_over_blue = (instanced_png[..., 0] - instanced_png[..., 2])[blocks]
    assert np.mean(red_over_blue > 0.15) > 0.03 and np.mean(red_over_blue < -0.15) > 0.03  # both ends of the map


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["eevee", "workbench"])
def test_film_bloom_brightens_round_glowing_blocks_in_eevee_only(tmp_path: Path, engine: str) -> None:
    run(FILM_SCENE + textwrap.dedent("""
        sc = bpy.context.scene
        api.render_still(sys.argv[1] + "/bloom.png")
        sc.render.use_compositing = False
        api.render_still(sys.argv[1] + "/plain.png")
    """), str(tmp_path), engine, "film")
    bloom, plain = (png_pixels(tmp_path / f"{name}.png")[..., :3].sum(-1) for name in ("bloom", "plain"))
    if engine == "workbench":  # no emission pass: Workbench's picture goes out as rendered
        assert np.array_equal(bloom, plain)
        return
    brighter = bloom - plain > 0.03
    assert np.all(bloom - plain > -0.02)  # bloom only adds light
    # The glow spills round the blocks onto the dark floor and backdrop.
    assert brighter.mean() > 0.05 and np.any(brighter & (plain < 0.3))


def test_a_dark_band_fixed_to_the_camera_lies_behind_the_hud_text_and_before_the_picture() -> None:
    from nnviz_addon.scene import film

    build_film("spiral")
    sc, root = bpy.context.scene, bpy.data.collections["nnviz"]
    band = bpy.data.objects[film.HUD_BAND_NAME]
    assert band.parent == sc.camera and band.display.show_shadows is False
    length = sc.frame_end - sc.frame_start
    for shot in (dict(s) for s in root["nnviz_film_shots"]):
        sc.frame_set(sc.frame_start + round((shot["start"] + shot["end"]) / 2 * length))
        view = np.array([tuple(world_to_camera_view(sc, sc.camera, band.matrix_world @ v.co))
                         for v in band.data.vertices])
        # the whole width of the frame's top HUD band
        np.testing.assert_allclose([view[:, 0].min(), view[:, 0].max(), view[:, 1].max()], [0, 1, 1], atol=1e-4)
        assert view[:, 1].min() == pytest.approx(1 - film_plan.HUD_BAND, abs=1e-4)
        text = corners_in_view([o for o in root.all_objects if o.get("nnviz_hud") in ("overlay", "legend")])
        picture = corners_in_view(shown_by("everything", root))
        assert text[:, 2].max() < view[:, 2].min() and view[:, 2].max() < picture[:, 2].min(), shot["name"]


@pytest.mark.slow
def test_the_hud_text_reads_over_the_close_up(tmp_path: Path) -> None:
    run(FILM_SCENE + textwrap.dedent("""
        from nnviz_addon.scene import film
        sc = bpy.context.scene
        shot = next(dict(s) for s in bpy.data.collections["nnviz"]["nnviz_film_shots"] if s["name"] == "close-up")
        frame = round(sc.frame_start + (shot["start"] + shot["end"]) / 2 * (sc.frame_end - sc.frame_start))
        api.render_still(sys.argv[1] + "/band.png", frame=frame)
        bpy.data.objects[film.HUD_BAND_NAME].hide_render = True
        api.render_still(sys.argv[1] + "/bare.png", frame=frame)
    """), str(tmp_path), "workbench", "film")
    band, bare = (png_pixels(tmp_path / f"{n}.png")[..., :3].sum(-1) for n in ("band", "bare"))
    top = round(band.shape[0] * (1 - film_plan.HUD_BAND))  # rows from the bottom: the band's rows
    # Behind the text the close-up's blocks are bright; the band darkens them, so the text reads.
    assert np.median(band[top:]) < 0.25 and np.median(bare[top:]) > 0.4
    np.testing.assert_array_equal(band[:top - 1], bare[:top - 1])  # and leaves the picture under it be


@pytest.mark.slow
def test_film_workbench_blocks_cast_shadows_on_the_floor_next_to_them(tmp_path: Path) -> None:
    result = run(FILM_SCENE + textwrap.dedent("""
        import json
        from bpy_extras.object_utils import world_to_camera_view
        sc = bpy.context.scene
        api.render_still(sys.argv[1] + "/shadows.png")
        casting = [o for o in bpy.data.objects if o.display.show_shadows and o.type == "MESH"]
        for obj in bpy.data.objects:
            obj.display.show_shadows = False
        api.render_still(sys.argv[1] + "/none.png")
        sc.frame_set(sc.frame_end)  # the frame rendered
        blocks = [tuple(world_to_camera_view(sc, sc.camera, o.matrix_world.translation))[:2]
                  for o in bpy.data.objects if "nnviz_param" in o]
        print(json.dumps({"casting": sorted({o.get("nnviz_param", o.get("nnviz_neuron", "other"))[:5]
                                              for o in casting}), "blocks": blocks}))
    """), str(tmp_path), "workbench", "film")
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "other" not in seen["casting"]  # the floor, backdrop, text and task view cast nothing
    shadowed, unshadowed = (png_pixels(tmp_path / f"{n}.png")[..., :3].sum(-1) for n in ("shadows", "none"))
    darker = unshadowed - shadowed > 0.05
    assert np.all(shadowed <= unshadowed + 0.02)  # shadows only darken
    assert darker.mean() > 0.01
    # The shadows lie on and beside the blocks, not far from them.
    height, width = shadowed.shape
    rows, cols = np.nonzero(darker)
    points = np.stack([cols / width, rows / height], axis=1)  # Blender images start at the bottom row
    nearest = np.min(np.linalg.norm(points[:, None] - np.array(seen["blocks"])[None], axis=2), axis=1)
    assert np.median(nearest) < 0.15 and nearest.max() < 0.3
