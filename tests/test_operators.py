"""The nnviz.* operators, called as a user (or a script) would, checked against the Python API."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from nnviz_addon.picture import magnitude  # noqa: E402
from nnviz_addon.preset.config import find_presets, load_preset  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402
from nnviz_addon.ui import operators  # noqa: E402
from nnviz_addon.ui.props import to_preset  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402

pytestmark = pytest.mark.bpy


class OperatorStandIn:
    """Our operator instance when a method is called directly (the bpy module can't create one)."""

    def __init__(self) -> None:
        self.reports: list[tuple[set[str], str]] = []

    def report(self, kinds: set[str], message: str) -> None:
        self.reports.append((set(kinds), message))


def event(kind: str, value: str = 'NOTHING') -> SimpleNamespace:
    return SimpleNamespace(type=kind, value=value)


def use_preset(settings, preset: str, **changes) -> None:
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()[preset])) == {'FINISHED'}
    for prop, value in changes.items():
        setattr(settings, prop, value)


def cubes() -> list:
    return [obj for obj in bpy.data.objects if "nnviz_param" in obj]


def final_params(history) -> dict[str, np.ndarray]:
    return {key: values[-1] for key, values in history.params.items()}


def assert_same_params(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_load_preset_fills_the_settings(settings):
    settings.preset = "xor"
    assert bpy.ops.nnviz.load_preset() == {'FINISHED'}  # no file: the preset chosen in the list
    assert (settings.task, settings.layers, settings.loss) == ("xor", "2, 4, 1", "bce")
    assert to_preset(settings) == load_preset(find_presets()["xor"])


def test_load_preset_reports_a_missing_file(settings, tmp_path):
    with pytest.raises(RuntimeError, match="no such preset file"):
        bpy.ops.nnviz.load_preset(filepath=str(tmp_path / "nothing.toml"))


def _panel_state(settings) -> dict:
    names = [prop.identifier for prop in settings.bl_rna.properties if prop.identifier not in ("rna_type", "preset")]
    return {name: getattr(settings, name) if name != "resolution" else tuple(settings.resolution) for name in names}


def _preset_file(tmp_path, old: str, new: str) -> str:
    text = find_presets()["rgb_perceptron"].read_text()
    assert old in text
    path = tmp_path / "edge.toml"
    path.write_text(text.replace(old, new))
    return str(path)


# Valid for the CLI (config accepts them) but beyond what a panel property holds.
DOES_NOT_FIT = [
    ("steps = 300\nrecord_every = 2", f"steps = {2 ** 31}\nrecord_every = {2 ** 31}",
     "Steps: train.steps = 2147483648"),
    ("seed = 0\n[train]", f"seed = {2 ** 40}\n[train]", "Data seed: data.seed = 1099511627776"),
    ("lr = 4.0", "lr = 4.0\nweight_decay = 1e39", "Weight decay: train.weight_decay = 1e+39"),
    ("lr = 4.0", "lr = 1e-50", "Learning rate: train.lr = 1e-50"),
    ("output_activation", "dropout = 0.995\noutput_activation", "Dropout: model.dropout = 0.995"),
]


@pytest.mark.parametrize(("old", "new", "named"), DOES_NOT_FIT)
def test_load_preset_refuses_what_the_panel_cannot_hold_and_changes_nothing(settings, tmp_path, old, new,
                                                                            named):
    use_preset(settings, "xor", steps=77)
    before = _panel_state(settings)
    path = _preset_file(tmp_path, old, new)
    load_preset(path)  # the CLI takes it
    with pytest.raises(RuntimeError, match=re.escape(named) + " in edge.toml does not fit the panel"):
        bpy.ops.nnviz.load_preset(filepath=path)
    assert _panel_state(settings) == before


def test_a_setting_error_names_its_label_once(settings):
    use_preset(settings, "rgb_perceptron", layers="3, three")
    with pytest.raises(RuntimeError) as error:
        bpy.ops.nnviz.build()
    assert str(error.value).count("Layer sizes") == 1, error.value


def test_train_gives_the_python_api_result_keyframed(settings):
    use_preset(settings, "xor", steps=24, record_every=4)
    assert bpy.ops.nnviz.train() == {'FINISHED'}

    expected = TrainingRun(to_preset(settings)).run()
    recorded = SESSION.run.history()
    np.testing.assert_array_equal(recorded.steps, expected.steps)
    assert_same_params(final_params(recorded), final_params(expected))
    assert "Finished" in SESSION.message
    # One cube per parameter, each keyed at every record; the timeline spans the run.
    assert len(cubes()) == expected.parameter_count
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, expected.records)
    # Scrubbing replays the run: at the last frame each cube holds its final weight.
    scene.frame_set(scene.frame_end)
    final = final_params(expected)
    for cube in cubes():
        value = final[cube["nnviz_param"]][tuple(cube["nnviz_index"])]
        assert cube["nnviz_value"] == pytest.approx(float(value), abs=1e-6), cube.name


def test_invoke_without_a_ui_runs_to_the_end(settings):
    use_preset(settings, "rgb_perceptron", steps=10, record_every=5)
    assert bpy.ops.nnviz.train('INVOKE_DEFAULT') == {'FINISHED'}
    assert SESSION.run.finished and SESSION.run.step == 10
    assert not SESSION.training


def test_step_advances_one_step(settings):
    use_preset(settings, "xor")
    assert bpy.ops.nnviz.build() == {'FINISHED'}
    assert bpy.ops.nnviz.step() == {'FINISHED'}
    assert SESSION.run.step == 1

    reference = TrainingRun(to_preset(settings))
    reference.train_step()
    assert_same_params(SESSION.run.model.parameter_arrays(), reference.model.parameter_arrays())
    # The live colour replaced the keyed one: the cube shows the weight after the step.
    cube = next(c for c in cubes() if c["nnviz_param"] == "0.weight" and list(c["nnviz_index"]) == [0, 0])
    assert cube["nnviz_value"] == pytest.approx(float(reference.model.parameter_arrays()["0.weight"][0, 0]))


@pytest.mark.parametrize("mode", ["gradient", "update"])
def test_live_steps_size_the_cubes_in_the_gradient_and_update_views(settings, mode):
    use_preset(settings, "xor", magnitude=mode)  # SGD: Adam's first update is ±lr for every weight
    bpy.ops.nnviz.build()
    before = {k: v.copy() for k, v in SESSION.run.model.parameter_arrays().items()}
    bpy.ops.nnviz.step()
    if mode == "gradient":
        shown = {k: np.abs(g) for k, g in SESSION.run.model.gradient_arrays().items()}
    else:
        shown = {k: np.abs(v - before[k]) for k, v in SESSION.run.model.parameter_arrays().items()}
    scale = magnitude.run_scale({k: m[None] for k, m in shown.items()}, "global")
    sizes = []
    for cube in cubes():
        expected = magnitude.sizes(shown[cube["nnviz_param"]][tuple(cube["nnviz_index"])], scale[cube["nnviz_param"]])
        assert cube.scale[0] == pytest.approx(float(expected), rel=1e-5), cube.name
        sizes.append(cube.scale[0])
    assert min(sizes) < 0.9 < max(sizes)  # the sizes differ: they show something


def test_stop_keyframes_steps_taken_one_by_one(settings):
    use_preset(settings, "xor", record_every=1)
    bpy.ops.nnviz.build()
    for _ in range(3):
        bpy.ops.nnviz.step()
    assert bpy.ops.nnviz.stop() == {'FINISHED'}
    assert "Stopped at step 3" in SESSION.message
    assert bpy.context.scene.frame_end == 4  # records of steps 0..3


def test_stop_between_records_keyframes_the_step_it_stopped_at(settings):
    use_preset(settings, "xor", record_every=4)
    bpy.ops.nnviz.build()
    for _ in range(3):
        bpy.ops.nnviz.step()
    assert bpy.ops.nnviz.stop() == {'FINISHED'}
    assert SESSION.run.history().steps.tolist() == [0, 3]
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    weights = SESSION.run.model.parameter_arrays()
    for cube in cubes():
        assert cube["nnviz_value"] == pytest.approx(float(weights[cube["nnviz_param"]][tuple(cube["nnviz_index"])]))


def test_reset_reproduces_the_initial_weights(settings):
    use_preset(settings, "xor", steps=20)
    bpy.ops.nnviz.build()
    initial = {k: v.copy() for k, v in SESSION.run.model.parameter_arrays().items()}
    bpy.ops.nnviz.train()
    assert SESSION.run.step == 20
    assert bpy.ops.nnviz.reset() == {'FINISHED'}
    assert SESSION.run.step == 0
    assert_same_params(SESSION.run.model.parameter_arrays(), initial)
    # and the cubes show them again
    cube = next(c for c in cubes() if c["nnviz_param"] == "0.weight" and list(c["nnviz_index"]) == [1, 0])
    assert cube["nnviz_value"] == pytest.approx(float(initial["0.weight"][1, 0]))


def start_modal(settings) -> OperatorStandIn:
    """What ``invoke()`` does, minus handing the (stand-in) operator to the window manager."""
    SESSION.ensure_run(to_preset(settings), restart_finished=True)
    SESSION.add_timer(bpy.context.window_manager, bpy.context.window)
    return OperatorStandIn()


def test_modal_trains_on_timer_events_and_ends_on_esc(settings):
    use_preset(settings, "digits", steps=5000)
    stand_in = start_modal(settings)
    modal = operators.NNVIZ_OT_train.modal

    assert modal(stand_in, bpy.context, event('MOUSEMOVE')) == {'PASS_THROUGH'}
    assert SESSION.run.step == 0
    assert modal(stand_in, bpy.context, event('TIMER')) == {'RUNNING_MODAL'}
    trained = SESSION.run.step
    assert 0 < trained < SESSION.run.total_steps  # a ~30 ms slice, not the whole run
    assert SESSION.training

    assert modal(stand_in, bpy.context, event('ESC', 'PRESS')) == {'FINISHED'}
    assert not SESSION.training and SESSION.timer is None
    assert SESSION.run.step == trained
    assert stand_in.reports == [({'INFO'}, f"Stopped at step {trained} of {SESSION.run.total_steps}")]
    assert SESSION.keyed_step == trained and bpy.context.scene.frame_end > 1


def test_modal_runs_to_the_end_and_keyframes(settings):
    use_preset(settings, "xor", steps=40, record_every=10)
    stand_in = start_modal(settings)
    result = {'RUNNING_MODAL'}
    for _ in range(1000):
        result = operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('TIMER'))
        if result != {'RUNNING_MODAL'}:
            break
    assert result == {'FINISHED'} and SESSION.run.finished
    assert stand_in.reports[-1][1].startswith("Finished")
    assert bpy.context.scene.frame_end == 5  # steps 0, 10, 20, 30, 40


def test_stop_button_ends_the_modal_on_its_next_event(settings):
    use_preset(settings, "xor", steps=5000)
    stand_in = start_modal(settings)
    operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('TIMER'))
    with pytest.raises(RuntimeError, match="poll"):  # the network can't change under a running Train
        bpy.ops.nnviz.build()
    assert bpy.ops.nnviz.stop() == {'FINISHED'}
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('MOUSEMOVE')) == {'FINISHED'}
    assert not SESSION.training and "Stopped" in SESSION.message


def test_deleted_cubes_during_training_are_skipped(settings):
    use_preset(settings, "xor", steps=5000)
    stand_in = start_modal(settings)
    for cube in cubes()[:3]:
        bpy.data.objects.remove(cube)
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('TIMER')) == {'RUNNING_MODAL'}
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('ESC', 'PRESS')) == {'FINISHED'}
    assert len(cubes()) == SESSION.run.history().parameter_count  # rebuilt whole by the keyframing


def test_diverging_run_stops_and_keeps_the_good_keyframes(settings):
    use_preset(settings, "rgb_perceptron", output_activation="none", lr=1000.0, steps=200)
    stand_in = OperatorStandIn()
    assert operators.NNVIZ_OT_train.execute(stand_in, bpy.context) == {'FINISHED'}
    run = SESSION.run
    assert run.diverged and run.step < 200
    kinds, message = stand_in.reports[-1]
    assert kinds == {'WARNING'} and message.startswith("Diverged at step")
    assert SESSION.message == message  # shown in the panel too
    history = run.history()
    assert all(np.isfinite(values).all() for values in history.params.values())
    assert bpy.context.scene.frame_end == history.records


BAD_SETTINGS = [
    ({"layers": "3, 0, 3"}, "Layer sizes"),
    ({"layers": "3, three"}, "Layer sizes"),
    ({"layers": "3"}, "Layer sizes"),
    ({"task": "digits"}, "Layer sizes"),  # 3 inputs in the first layer, 64 in the task
    ({"lr": 0.0}, "Learning rate"),
    ({"loss": "cross_entropy"}, "Loss"),  # rgb is a regression task
    ({"name": " "}, "name"),
]


@pytest.mark.parametrize(("changes", "named"), BAD_SETTINGS)
@pytest.mark.parametrize("operator", ["build", "train", "step"])
def test_bad_settings_are_reported_by_name(settings, operator, changes, named):
    use_preset(settings, "rgb_perceptron", **changes)
    stand_in = OperatorStandIn()
    cls = getattr(operators, f"NNVIZ_OT_{operator}")
    assert cls.execute(stand_in, bpy.context) == {'CANCELLED'}
    [(kinds, message)] = stand_in.reports
    assert kinds == {'ERROR'} and named in message
    # The same through bpy.ops: in background mode the ERROR report becomes a RuntimeError.
    with pytest.raises(RuntimeError, match=named):
        getattr(bpy.ops.nnviz, operator)()
    assert SESSION.run is None and not cubes()


def test_import_history_animates_a_recorded_run(settings, tmp_path):
    preset = load_preset(find_presets()["xor"]).replace(train={"steps": 12, "record_every": 3})
    path = TrainingRun(preset).run().save(tmp_path / "xor.npz")
    assert bpy.ops.nnviz.import_history(filepath=str(path)) == {'FINISHED'}
    assert len(cubes()) == 17  # 2·4 + 4 + 4·1 + 1
    assert bpy.context.scene.frame_end == 5
    assert SESSION.run is None and "Imported" in SESSION.message


def test_import_history_reports_a_bad_file(settings, tmp_path):
    path = tmp_path / "not_a_history.npz"
    path.write_bytes(b"nope")
    with pytest.raises(RuntimeError, match="not an nnviz history"):
        bpy.ops.nnviz.import_history(filepath=str(path))


def test_modal_gives_up_when_the_run_is_discarded(settings):
    use_preset(settings, "xor")
    stand_in = start_modal(settings)
    SESSION.discard()  # what loading another file or disabling the add-on does
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, event('TIMER')) == {'CANCELLED'}


RENDER = textwrap.dedent("""
    import sys

    import bpy

    import nnviz_addon
    from nnviz_addon.preset.config import find_presets

    bpy.ops.wm.read_factory_settings(use_empty=True)
    nnviz_addon.register()
    try:
        bpy.ops.nnviz.load_preset(filepath=str(find_presets()["xor"]))
        settings = bpy.context.scene.nnviz
        settings.steps, settings.record_every, settings.resolution = 8, 1, (160, 90)
        settings.output_path = sys.argv[1]
        bpy.ops.nnviz.build()
        for _ in range(3):  # Steps without Stop: Render MP4 keys them first
            bpy.ops.nnviz.step()
        print("RENDER", bpy.ops.nnviz.render())
        print("FRAMES", bpy.data.movieclips.load(sys.argv[1]).frame_duration)
    finally:
        nnviz_addon.unregister()
""")


@pytest.mark.slow
def test_render_writes_the_steps_taken_so_far_to_the_output_path(tmp_path):
    # In a subprocess: Workbench aborts the whole process on a machine without EGL.
    video = tmp_path / "xor.mp4"
    result = subprocess.run([sys.executable, "-c", RENDER, str(video)], capture_output=True, text=True,
                            timeout=600, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RENDER {'FINISHED'}" in result.stdout
    assert "FRAMES 4" in result.stdout  # records of steps 0, 1, 2, 3


def test_render_refuses_a_blend_relative_path_in_an_unsaved_file(settings, tmp_path, monkeypatch):
    # '//nnviz.mp4' (the default) would otherwise land in Blender's working directory
    monkeypatch.chdir(tmp_path)
    settings.output_path = "//nnviz.mp4"
    assert not bpy.data.filepath
    with pytest.raises(RuntimeError, match=r"relative to the \.blend file, which is not saved"):
        bpy.ops.nnviz.render()
    assert not (tmp_path / "nnviz.mp4").exists()


def built_picture() -> dict[str, tuple]:
    """Every nnviz object's location (the camera's ortho scale too): the built layout."""
    picture = {obj.name: tuple(round(v, 5) for v in obj.location) for obj in bpy.data.collections["nnviz"].all_objects}
    picture["camera scale"] = round(bpy.context.scene.camera.data.ortho_scale, 5)
    return picture


def test_build_at_a_portrait_resolution_lays_out_as_the_api_does(settings):
    # The panel's resolution is applied before the layout is chosen: a portrait frame stacks the
    # digits layers (as api.animate does), instead of keeping a landscape row reframed afterwards.
    use_preset(settings, "digits", steps=4, record_every=2, resolution=(540, 960))
    bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y = 1280, 720  # stale
    assert bpy.ops.nnviz.build() == {'FINISHED'}
    render = bpy.context.scene.render
    assert (render.resolution_x, render.resolution_y) == (540, 960)
    from_panel = built_picture()
    preset = to_preset(settings)

    from nnviz_addon import api

    bpy.ops.wm.read_factory_settings(use_empty=True)  # the settings' scene is gone from here on
    api.animate(TrainingRun(preset).history())
    assert built_picture() == from_panel
    # ... and that layout is the portrait one: the output layer under the input layer.
    assert from_panel["layer 2 · weight[0,0]"][2] < from_panel["layer 0 · weight[31,0]"][2]
