"""Task views: rgb swatches, the 2D decision boundary with its data points, the probe digit's bars."""

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.picture import colormap
from nnviz_addon.picture.view_layout import Rect
from tests.support.histories import short_run

bpy = pytest.importorskip("bpy")
from nnviz_addon.picture import task_views as task_plan  # noqa: E402
from nnviz_addon.scene import task_views  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
ROOT = Path(__file__).resolve().parents[2]
RECT = Rect(left=20.0, bottom=-6.0, width=8.0, height=8.0, text_size=0.6)


@pytest.fixture(scope="module")
def histories() -> dict[str, History]:
    return {name: short_run(name) for name in ("xor", "rgb_perceptron", "digits")}


def draw(history: History, frames: np.ndarray, rect: Rect = RECT):
    root = bpy.data.collections.new("test root")
    bpy.context.scene.collection.children.link(root)
    view = task_plan.plan(history, frames, rect)
    if view is None:
        return None
    task_views.add_task_view(root, view)
    return view.bounds


def named(prefix: str) -> list:
    return sorted((o for o in bpy.data.objects if o.name.startswith(prefix)), key=lambda o: o.name)


def colour(name: str) -> np.ndarray:
    return np.array(bpy.data.objects[name].evaluated_get(bpy.context.evaluated_depsgraph_get()).color)


def inside(bounds, rect: Rect) -> bool:
    (x0, _, z0), (x1, _, z1) = bounds
    return rect.left - 1e-6 <= x0 and x1 <= rect.right + 1e-6 and rect.bottom - 1e-6 <= z0 and z1 <= rect.top + 1e-6


def test_decision_boundary_tiles_follow_the_probability(histories):
    history = histories["xor"]
    frames = 1 + 3 * np.arange(history.records)
    bounds = draw(history, frames)
    grid = history.series["boundary/probability"].shape[1]
    assert len(named("boundary · tile")) == grid * grid
    assert len(named("data · point")) == len(history.static["points/xy"])
    assert len({o.data.name for o in named("boundary · tile")}) == 1
    assert inside(bounds, RECT)
    probability = history.series["boundary/probability"]
    for record in (0, 5, history.records - 1):
        bpy.context.scene.frame_set(int(frames[record]))
        for row, col in ((0, 0), (7, 20), (grid - 1, grid - 1)):
            expected = task_plan.tile_colors(probability[record, row, col])
            np.testing.assert_allclose(colour(f"boundary · tile[{row},{col}]"), expected, atol=1e-5)
    # A third of the way from one record to the next, the colour is a third of the way too.
    bpy.context.scene.frame_set(int(frames[1]) + 1)
    between = np.array([2 / 3, 1 / 3]) @ task_plan.tile_colors(probability[1:3, 3, 4])
    np.testing.assert_allclose(colour("boundary · tile[3,4]"), between, atol=1e-5)
    # Rows run up the plane (row = y), columns to the right (column = x).
    tiles = bpy.data.objects
    assert tiles["boundary · tile[1,0]"].location.z > tiles["boundary · tile[0,0]"].location.z
    assert tiles["boundary · tile[0,1]"].location.x > tiles["boundary · tile[0,0]"].location.x
    labels = history.static["points/labels"]
    for i in (0, 1, 2):
        expected = colormap.linear_rgba(task_plan.CLASS_COLORS_SRGB[labels[i]])
        np.testing.assert_allclose(colour(f"data · point[{i}]"), expected, atol=1e-6)
    # Class 0 is all first colour, class 1 all second, and the tiles blend between them.
    np.testing.assert_allclose(task_plan.class_blend_srgb(np.array([0.0, 1.0])), task_plan.CLASS_COLORS_SRGB)


def test_rgb_swatches_show_the_colours_as_srgb(histories):
    history = histories["rgb_perceptron"]
    frames = 1 + np.arange(history.records)
    bounds = draw(history, frames)
    probes = len(history.static["rgb/inputs"])
    for kind in ("input", "target", "network"):
        assert len(named(f"rgb · {kind}[")) == probes
    assert inside(bounds, RECT)
    shown = colormap.linear_to_srgb(colour("rgb · input[2]")[:3])
    np.testing.assert_allclose(shown, history.static["rgb/inputs"][2], atol=1e-5)
    outputs = history.series["rgb/outputs"]
    for record in (0, 4, history.records - 1):
        bpy.context.scene.frame_set(int(frames[record]))
        for i in range(probes):
            shown = colormap.linear_to_srgb(colour(f"rgb · network[{i}]")[:3])
            np.testing.assert_allclose(shown, outputs[record, i], atol=1e-4)


def test_digit_bars_scale_with_the_class_probabilities(histories):
    history = histories["digits"]
    frames = 1 + 2 * np.arange(history.records)
    bounds = draw(history, frames)
    assert len(named("digit · pixel")) == 64 and len(named("digit · probability")) == 10
    assert inside(bounds, RECT)
    texts = {o.data.body for o in bpy.data.objects if o.type == "FONT"}
    assert {str(d) for d in range(10)} <= texts
    image = history.static["digits/image"]
    np.testing.assert_allclose(colour("digit · pixel[3,5]"), task_plan.digit_pixel_colors(image[3, 5]), atol=1e-6)
    probabilities = history.series["digits/probabilities"]
    depsgraph = bpy.context.evaluated_depsgraph_get
    for record in (0, 6, history.records - 1):
        bpy.context.scene.frame_set(int(frames[record]))
        for d in range(10):
            bar = bpy.data.objects[f"digit · probability[{d}]"].evaluated_get(depsgraph())
            assert bar.scale.z == pytest.approx(probabilities[record, d], abs=1e-6)


def world_box(name: str) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of an object's evaluated geometry (a text's glyphs, descenders included)."""
    from mathutils import Vector

    shown = bpy.data.objects[name].evaluated_get(bpy.context.evaluated_depsgraph_get())
    corners = [shown.matrix_world @ Vector(corner) for corner in shown.bound_box]
    return (min(c.x for c in corners), max(c.x for c in corners), min(c.z for c in corners),
            max(c.z for c in corners))


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


@pytest.mark.parametrize("rect", [RECT, Rect(left=20.0, bottom=-6.0, width=5.0, height=5.0, text_size=0.6)])
def test_digit_texts_stay_clear_of_each_other_and_of_a_full_bar(histories, rect):
    # RECT's width (13 text sizes) is a 4:3 picture's: the title is wider than the digit image there.
    draw(histories["digits"], 1.0 + np.arange(histories["digits"].records), rect)
    caption = world_box("task · P(digit)")
    track = world_box("digit · track[0]")
    assert caption[2] - track[3] >= 0.2 * rect.text_size  # a certain prediction fills its track
    title = next(o.name for o in bpy.data.objects if o.name.startswith("task · probe digit"))
    assert not overlap(caption, world_box(title))
    digits = [world_box(f"task · {d}") for d in range(10)]
    assert all(left[1] < right[0] for left, right in itertools.pairwise(digits))


def test_no_task_data_draws_nothing(histories):
    history = histories["xor"]
    for dropped in ("boundary/probability", "points/xy"):
        partial = History(history.name, history.structure, history.steps, history.loss, history.params,
                          history.grads,
                          series={k: v for k, v in history.series.items() if k != dropped},
                          static={k: v for k, v in history.static.items() if k != dropped})
        assert draw(partial, np.arange(partial.records) + 1.0) is None
    assert "nnviz · task" not in bpy.data.collections and not named("boundary")


def test_bad_labels_are_named(histories):
    history = histories["xor"]
    static = {**history.static, "points/labels": history.static["points/labels"] + 1}
    bad = History(history.name, history.structure, history.steps, history.loss, history.params,
                  history.grads, series=history.series, static=static)
    with pytest.raises(ValueError, match=r"points/labels must be 0 or 1, got \[1, 2\]"):
        draw(bad, np.arange(bad.records) + 1.0)


@pytest.mark.slow
def test_rendered_swatch_pixels_are_the_probe_colours(tmp_path):
    """Workbench (in a subprocess: it needs EGL) renders an input swatch as its sRGB value."""
    script = tmp_path / "render.py"
    script.write_text(textwrap.dedent(f"""
        import bpy, numpy as np
        from nnviz_addon.preset.config import find_presets, load_preset
        from nnviz_addon.training.run import TrainingRun
        from nnviz_addon.picture.view_layout import Rect
        from nnviz_addon.picture import task_views as task_plan
        from nnviz_addon.scene import stage, task_views, objects
        history = TrainingRun(load_preset(find_presets()["rgb_perceptron"]).replace(
            train={{"steps": 4, "record_every": 2}})).run()
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        root = objects.tagged(bpy.data.collections.new(objects.ROOT_COLLECTION))
        scene.collection.children.link(root)
        rect = Rect(0.0, 0.0, 8.0, 8.0, 0.6)
        view = task_plan.plan(history, np.arange(3) + 1.0, rect)
        task_views.add_task_view(root, view)
        stage.set_up(scene, root, view.bounds)
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.render.resolution_x, scene.render.resolution_y = 320, 320
        scene.render.dither_intensity = 0.0  # dither noise would blur the exact comparison
        scene.render.filepath = r"{tmp_path / 'swatch.png'}"
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(scene.render.filepath)
        pixels = np.array(image.pixels[:]).reshape(320, 320, 4)
        swatch = bpy.data.objects["rgb · input[0]"]
        # Camera framing maps the bounds' centre to the image centre; find the swatch's pixel.
        camera = scene.camera
        scale = camera.data.ortho_scale / 320
        col = int(160 + (swatch.location.x - camera.location.x) / scale)
        row = int(160 + (swatch.location.z - camera.location.z) / scale)  # images are stored bottom-up
        print("PIXEL", *pixels[row, col, :3], *history.static["rgb/inputs"][0])
    """))
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("PIXEL")), None)
    assert line is not None, result.stdout[-2000:] + result.stderr[-2000:]
    values = np.array(line.split()[1:], dtype=float)
    # Loaded PNG pixels come back as the stored 8-bit sRGB values / 255.
    np.testing.assert_allclose(values[:3], values[3:], atol=0.75 / 255)  # 8-bit rounding only
