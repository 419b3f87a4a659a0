"""The public Python API: train (numpy only), animate (bpy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnviz_addon import api
from nnviz_addon.history import History
from nnviz_addon.preset.config import PresetError, RenderConfig, load_preset

ROOT = Path(__file__).resolve().parents[1]


def test_resolve_preset_by_name_path_or_object():
    by_name = api.resolve_preset("xor")
    by_path = api.resolve_preset(ROOT / "presets" / "xor.toml")
    assert by_name == by_path == load_preset(ROOT / "presets" / "xor.toml")
    assert api.resolve_preset(by_name) is by_name
    with pytest.raises(PresetError, match=r"no preset 'nope'.*xor"):
        api.resolve_preset("nope")
    with pytest.raises(PresetError, match="no such preset file"):
        api.resolve_preset(ROOT / "presets" / "missing.toml")


def test_train_overrides_steps_and_seed():
    history = api.train("xor", steps=12, seed=3)
    assert history.steps[-1] == 12
    assert history.config["train"]["steps"] == 12 and history.config["train"]["seed"] == 3
    again = api.train("xor", steps=12, seed=3)
    other = api.train("xor", steps=12, seed=4)
    np.testing.assert_array_equal(history.params["0.weight"], again.params["0.weight"])
    assert not np.array_equal(history.params["0.weight"], other.params["0.weight"])
    assert "accuracy" in history.metrics


def test_train_reports_progress_per_record():
    seen = []
    api.train("xor", steps=8, progress=lambda run: seen.append(run.step))
    assert seen == [4, 8]  # xor records every 4 steps


def test_divergence_raises_with_the_kept_records():
    preset = api.resolve_preset("rgb_perceptron").replace(model={"output_activation": None},
                                                          train={"lr": 1e6, "steps": 50})
    with pytest.raises(api.TrainingDiverged, match="diverged at step") as caught:
        api.train(preset)
    history = caught.value.history
    assert 1 <= history.records < 26
    assert all(np.isfinite(a).all() for a in history.params.values())


def test_render_config_of_a_history():
    history = api.train(api.resolve_preset("xor").replace(render={"fps": 12}), steps=4)
    assert api.render_config_of(history).fps == 12
    history.config = {"source": "torch"}  # what a PyTorch recording stores
    assert api.render_config_of(history) == RenderConfig()


@pytest.mark.bpy
@pytest.mark.usefixtures("empty_blend")
def test_animate_a_history_or_its_file(tmp_path):
    bpy = pytest.importorskip("bpy")
    history = api.train(api.resolve_preset("xor").replace(render={"resolution": [320, 240], "frames_per_record": 2}),
                        steps=8)
    api.animate(history)
    scene = bpy.context.scene
    cubes = [o for o in bpy.data.objects if "nnviz_param" in o]
    assert len(cubes) == history.parameter_count
    assert (scene.render.resolution_x, scene.render.resolution_y) == (320, 240)
    assert (scene.frame_start, scene.frame_end) == (1, 1 + 2 * (history.records - 1))

    path = history.save(tmp_path / "run.npz")
    api.animate(path, render=RenderConfig(resolution=(160, 90)))
    assert len([o for o in bpy.data.objects if "nnviz_param" in o]) == History.load(path).parameter_count
    assert (scene.render.resolution_x, scene.render.resolution_y) == (160, 90)
    assert scene.frame_end == history.records  # frames_per_record 1 from the explicit RenderConfig
