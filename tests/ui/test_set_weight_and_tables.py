"""The classroom features in real Blender: a table's task view, the test curve and counter, and a
weight set by hand through bpy.ops and the panel's value field.

Undo itself can't be exercised in the bpy module (background mode has no undo stack); what undo
runs, ``SESSION.sync_edits`` from the undo_post handler, is tested directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.picture import colormap  # noqa: E402
from nnviz_addon.picture import overlay as overlay_plan  # noqa: E402
from nnviz_addon.picture import task_views as task_plan  # noqa: E402
from nnviz_addon.preset.config import find_presets, load_preset, preset_from_dict  # noqa: E402
from nnviz_addon.scene import overlay  # noqa: E402
from nnviz_addon.scene.options import SceneOptions  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402
from tests.support.overlay_text import counter_size, mesh_points, reference_text  # noqa: E402

pytestmark = pytest.mark.bpy


def at_frame(obj, frame: int):
    bpy.context.scene.frame_set(frame)
    return obj.evaluated_get(bpy.context.evaluated_depsgraph_get())


@pytest.fixture
def iris(empty_blend):
    history = api.train("iris", steps=30)
    scene.build(history, SceneOptions())
    return history


def test_iris_shows_each_probe_samples_class_probabilities_as_bars(iris):
    probabilities = iris.series["table/probabilities"]  # (R, samples, classes)
    labels = iris.static["table/labels"]
    assert sorted(set(labels.tolist())) == [0, 1, 2]  # the probe samples cover every species
    samples, classes = probabilities.shape[1:]
    last = bpy.context.scene.frame_end
    for sample in range(samples):
        for c in range(classes):
            bar = bpy.data.objects[f"table · bar[{c},{sample}]"]
            assert at_frame(bar, last).scale[2] == pytest.approx(probabilities[-1, sample, c], abs=1e-6)
            green = c == labels[sample]
            expected = task_plan.TRUE_CLASS_BAR_SRGB if green else task_plan.BAR_SRGB
            np.testing.assert_allclose(bar.color, colormap.linear_rgba(np.array(expected)), atol=1e-6)
    assert at_frame(bpy.data.objects["table · bar[0,0]"], 1).scale[2] == pytest.approx(
        probabilities[0, 0, 0], abs=1e-6)
    names = {obj.data.body for obj in bpy.data.objects if obj.type == 'FONT'}
    assert {"setosa", "versicolor", "virginica"} <= names


def test_a_two_feature_table_gets_the_boundary_with_its_class_names(empty_blend, tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[-1, -1], [1, -1], [0, 1]])
    species = np.repeat(["red", "green", "blue"], 20)
    points = np.repeat(centres, 20, axis=0) + rng.normal(0, 0.3, (60, 2))
    path = tmp_path / "blobs.csv"
    path.write_text("x,y,colour\n" + "".join(f"{a},{b},{s}\n" for (a, b), s in zip(points, species, strict=True)))
    preset = preset_from_dict({"name": "blobs", "model": {"layers": [2, 8, 3]},
                               "data": {"task": "table", "path": str(path), "target": "colour"},
                               "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.05,
                                         "batch_size": 20, "steps": 40, "record_every": 10}})
    history = TrainingRun(preset).run()
    probability = history.series["boundary/probability"]
    assert probability.shape[1:] == (32, 32, 3)
    scene.build(history, SceneOptions())
    tile = bpy.data.objects["boundary · tile[5,7]"]
    expected = colormap.linear_rgba(task_plan.TILE_BRIGHTNESS * task_plan.class_mix_srgb(probability[-1, 5, 7]))
    np.testing.assert_allclose(at_frame(tile, bpy.context.scene.frame_end).color, expected, atol=1e-5)
    names = {obj.data.body for obj in bpy.data.objects if obj.type == 'FONT'}
    assert {"blue", "green", "red"} <= names  # the class key, sorted class names
    # Each data point in its class's colour.
    point = bpy.data.objects["data · point[0]"]
    label = history.static["points/labels"][0]
    np.testing.assert_allclose(point.color, colormap.linear_rgba(task_plan.class_colors_srgb(3)[label]), atol=1e-6)


def test_a_regression_table_shows_true_and_predicted_values(empty_blend, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    np.savez(tmp_path / "prices.npz", a=x[:, 0], b=x[:, 1], c=x[:, 2], price=x @ [1.0, -2.0, 0.5] + 3.0)
    preset = preset_from_dict({"name": "prices", "model": {"layers": [3, 8, 1]},
                               "data": {"task": "table", "path": str(tmp_path / "prices.npz"), "target": "price"},
                               "train": {"loss": "mse", "optimizer": "adam", "lr": 0.05, "batch_size": 10,
                                         "steps": 30, "record_every": 10}})
    history = TrainingRun(preset).run()
    scene.build(history, SceneOptions())
    targets, predictions = history.static["table/targets"], history.series["table/predictions"]
    prices = x @ [1.0, -2.0, 0.5] + 3.0
    low, high = prices.min(), prices.max()
    last = bpy.context.scene.frame_end
    for sample in range(len(targets)):
        true_bar = at_frame(bpy.data.objects[f"table · bar[0,{sample}]"], last)
        network_bar = at_frame(bpy.data.objects[f"table · bar[1,{sample}]"], last)
        assert true_bar.scale[2] == pytest.approx(0.05 + 0.95 * (targets[sample] - low) / (high - low), abs=1e-5)
        expected = np.clip(0.05 + 0.95 * (predictions[-1, sample] - low) / (high - low), 0, 1)
        assert network_bar.scale[2] == pytest.approx(expected, abs=1e-5)


def test_the_test_loss_is_a_second_curve_and_in_the_counter(empty_blend):
    history = api.train("overfit", steps=450)
    scene.build(history, SceneOptions())
    train_points = np.array([p.co[:] for p in bpy.data.objects["loss · curve"].data.splines[0].points])
    test_points = np.array([p.co[:] for p in bpy.data.objects["test loss · curve"].data.splines[0].points])
    assert len(test_points) == history.records and len(train_points) == history.records - 1
    # One vertical scale: the higher loss is drawn higher, record for record.
    test_loss = history.metrics["test_loss"]
    higher = test_loss[1:] > history.loss[1:]
    assert higher.any() and not higher.all()  # the curves cross: the test loss starts below, ends above
    np.testing.assert_array_equal(test_points[1:, 2] > train_points[:, 2], higher)
    names = {obj.data.body for obj in bpy.data.objects if obj.type == 'FONT'}
    assert {"training loss", "test loss"} <= names

    record = history.records - 1
    text = overlay_plan.counter_lines(history)[record]
    expected_loss = f"{np.float32(history.loss[record]):.{int(overlay_plan.loss_decimals(history.loss[-1:])[0])}f}"
    expected_test = f"{np.float32(test_loss[record]):.{int(overlay_plan.loss_decimals(test_loss[-1:])[0])}f}"
    accuracy = 100 * history.metrics["accuracy"][record]
    test_accuracy = 100 * history.metrics["test_accuracy"][record]
    assert text == (f"step 450\nloss {expected_loss} · test {expected_test}   "
                    f"accuracy {np.float32(accuracy):.1f}% · test {np.float32(test_accuracy):.1f}%")
    # ... and the counter's mesh is that text, as Blender evaluates it at the last frame.
    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    reference = reference_text(text, counter_size())
    np.testing.assert_allclose(mesh_points(bpy.data.objects[overlay.COUNTER_NAME]), mesh_points(reference),
                               atol=1e-4)


# -- a weight set by hand -------------------------------------------------------------------------

def built_xor(settings) -> None:
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()["xor"])) == {'FINISHED'}
    settings.steps, settings.record_every = 40, 4
    assert bpy.ops.nnviz.build() == {'FINISHED'}


def engine_loss(preset, params: dict[str, np.ndarray]) -> float:
    """The engine's loss over the training data for exactly ``params``, in a run of its own."""
    fresh = TrainingRun(preset, probes=())
    fresh.model.load_state_dict(params)
    return fresh.loss_on(fresh.dataset)


def assert_scene_shows_model() -> None:
    """Every cube keys, at the last frame, the live model's value in the colour of that value."""
    root = bpy.data.collections["nnviz"]
    scales = root[scene.SCALE_PROPERTY].to_dict()
    arrays = SESSION.run.model.parameter_arrays()
    last = bpy.context.scene.frame_end
    bpy.context.scene.frame_set(last)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    checked = 0
    for cube in root.all_objects:
        if "nnviz_param" not in cube:
            continue
        value = float(arrays[cube["nnviz_param"]][tuple(cube["nnviz_index"])])
        shown = cube.evaluated_get(depsgraph)
        assert shown["nnviz_value"] == pytest.approx(value, abs=1e-6), cube.name
        expected = colormap.colors(np.array([value]), scales[cube["nnviz_param"]])[0]
        np.testing.assert_allclose(shown.color, expected, atol=1e-5, err_msg=cube.name)
        checked += 1
    assert checked == sum(array.size for array in arrays.values())


def test_set_weight_changes_the_loss_as_the_engine_computes_it(settings):
    built_xor(settings)
    preset = SESSION.preset
    assert bpy.ops.nnviz.step() == {'FINISHED'}
    assert bpy.ops.nnviz.set_weight(param="0.weight", index=(2, 1), value=1.75) == {'FINISHED'}
    run = SESSION.run
    assert run.step == 1  # no training step was taken
    params = {key: array.copy() for key, array in run.model.parameter_arrays().items()}
    assert params["0.weight"][2, 1] == np.float32(1.75)
    history = run.history()
    assert history.steps.tolist() == [0, 1]
    assert history.loss[-1] == pytest.approx(engine_loss(preset, params), rel=1e-6)
    assert run.last_loss == history.loss[-1]
    # The scene was redrawn from it: the cube, still selected, the counter's loss, the neurons' probe.
    cube = bpy.context.view_layer.objects.active
    assert cube.name == "layer 0 · weight[2,1]" and cube.select_get()
    assert_scene_shows_model()
    counter = at_frame(bpy.data.objects[overlay.COUNTER_NAME], bpy.context.scene.frame_end)
    sockets = overlay.input_identifiers(counter.modifiers[overlay.COUNTER_NAME].node_group)
    assert counter.modifiers[overlay.COUNTER_NAME][sockets["Loss"]] == pytest.approx(history.loss[-1], rel=1e-6)
    fresh = TrainingRun(preset)
    fresh.model.load_state_dict(params)
    fresh.writer.discard_last()
    fresh._record(0.0)  # the standard probes on the edited weights
    expected = fresh.history().series
    for key in ("activation/0", "boundary/probability"):
        np.testing.assert_allclose(history.series[key][-1], expected[key][-1], atol=1e-6, err_msg=key)

    # A bias takes (i, 0).
    assert bpy.ops.nnviz.set_weight(param="0.bias", index=(3, 0), value=-0.5) == {'FINISHED'}
    assert run.model.parameter_arrays()["0.bias"][3] == np.float32(-0.5)


def test_train_continues_from_the_edited_weights(settings):
    built_xor(settings)
    bpy.ops.nnviz.set_weight(param="2.weight", index=(0, 3), value=-2.0)
    assert bpy.ops.nnviz.train() == {'FINISHED'}
    # The same edit made on a run of its own, then trained: the very same weights.
    expected = TrainingRun(SESSION.preset)
    expected.set_parameter("2.weight", (0, 3), -2.0)
    expected.run()
    for key, array in expected.model.parameter_arrays().items():
        np.testing.assert_array_equal(SESSION.run.model.parameter_arrays()[key], array, err_msg=key)
    assert_scene_shows_model()


@pytest.mark.parametrize(("param", "index", "message"), [
    ("0.weight", (4, 0), r"index \(4, 0\) is out of range for '0\.weight' of shape \(4, 2\)"),
    ("0.bias", (1, 1), r"index \(1, 1\) is out of range for '0\.bias' of shape \(4,\): a 1-D parameter takes"),
    ("3.weight", (0, 0), r"unknown parameter '3\.weight'; parameters: 0\.weight \(4, 2\), 0\.bias \(4,\), "
                         r"2\.weight \(1, 4\), 2\.bias \(1,\)"),
])
def test_bad_set_weight_names_the_shape_and_index(settings, param, index, message):
    built_xor(settings)
    before = {key: array.copy() for key, array in SESSION.run.model.parameter_arrays().items()}
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.nnviz.set_weight(param=param, index=index, value=1.0)
    for key, array in SESSION.run.model.parameter_arrays().items():
        np.testing.assert_array_equal(array, before[key])


def test_set_weight_needs_a_built_run(settings):
    SESSION.discard()
    with pytest.raises(RuntimeError, match="Build the network first"):
        bpy.ops.nnviz.set_weight(param="0.weight", index=(0, 0), value=1.0)


def test_the_panel_value_is_the_selected_cubes_live_weight(settings):
    built_xor(settings)
    cube = bpy.data.objects["layer 0 · weight[1,0]"]
    bpy.context.view_layer.objects.active = cube
    live = SESSION.run.model.parameter_arrays()["0.weight"]
    assert settings.weight_value == pytest.approx(float(live[1, 0]))
    settings.weight_value = 0.625  # typing a value in the panel
    assert live[1, 0] == np.float32(0.625) and settings.weight_value == pytest.approx(0.625)
    assert bpy.context.view_layer.objects.active.name == "layer 0 · weight[1,0]"
    assert_scene_shows_model()
    bpy.context.view_layer.objects.active = bpy.data.objects[overlay.TITLE_NAME]
    assert settings.weight_value == 0.0  # not a cube


def test_what_undo_runs_brings_the_model_back_and_redo_forward(settings):
    built_xor(settings)
    original = SESSION.run.model.parameter_arrays()["0.weight"].copy()
    bpy.ops.nnviz.set_weight(param="0.weight", index=(0, 0), value=3.0)
    bpy.ops.nnviz.set_weight(param="0.weight", index=(0, 1), value=-3.0)
    assert bpy.data.collections["nnviz"]["nnviz_edits"] == 2
    SESSION.sync_edits(1)  # what the undo_post handler calls with the restored scene's count
    live = SESSION.run.model.parameter_arrays()["0.weight"]
    assert live[0, 0] == np.float32(3.0) and live[0, 1] == original[0, 1]
    SESSION.sync_edits(0)
    np.testing.assert_array_equal(live, original)
    np.testing.assert_array_equal(SESSION.run.history().params["0.weight"][-1], original)
    SESSION.sync_edits(2)  # redo
    assert live[0, 1] == np.float32(-3.0)


def test_the_panel_builds_a_table_run(settings, tmp_path):
    path = Path(find_presets()["iris"]).with_name("iris.csv")
    settings.task = "table"
    settings.table_path = str(path)
    settings.table_target = "species"
    settings.table_features = "petal_length, petal_width"
    settings.test_fraction = 0.25
    settings.layers = "2, 3"
    settings.loss = "cross_entropy"
    settings.batch_size = 16
    assert bpy.ops.nnviz.build() == {'FINISHED'}
    run = SESSION.run
    assert run.dataset.feature_names == ("petal_length", "petal_width")
    assert len(run.test_set) == 38 and len(run.dataset) == 112
    assert load_preset(find_presets()["iris"]).data.path == str(path.resolve())
    settings.layers = "4, 3"
    with pytest.raises(RuntimeError, match=r"model\.layers\[0\] is 4 but iris\.csv has 2 feature columns "
                                           r"\(petal_length, petal_width\)"):
        bpy.ops.nnviz.build()
