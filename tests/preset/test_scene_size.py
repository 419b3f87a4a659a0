"""Scene-size limits count everything a scene creates, the same way from a preset and a History."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import census, task_views
from nnviz_addon.picture.view_layout import Rect
from nnviz_addon.preset import limits
from nnviz_addon.preset.config import (
    PresetError,
    check_scene_size,
    find_presets,
    frame_range,
    load_preset,
    preset_from_dict,
    scene_size,
)
from nnviz_addon.training.run import TrainingRun

ROOT = Path(__file__).resolve().parents[2]


def xor(**sections: dict) -> dict:
    data = load_preset(ROOT / "presets" / "xor.toml").to_dict()
    for section, values in sections.items():
        data[section].update(values)
    return data


@pytest.mark.parametrize("name", sorted(find_presets()))
def test_a_preset_is_counted_as_its_history_is(name):
    preset = load_preset(find_presets()[name]).replace(train={"steps": 1})
    run = TrainingRun(preset)
    run.run()
    assert scene_size(preset) == census.scene_size(run.history())


def test_huge_steps_are_refused_naming_train_steps():
    with pytest.raises(PresetError, match=r"train\.steps must be at most 1000000000, got 2305843009213693952"):
        preset_from_dict(xor(train={"steps": 2**61}), source="long.toml")


def test_render_samples_have_blenders_maximum():
    with pytest.raises(PresetError, match=f"render.samples must be at most {limits.MAX_RENDER_SAMPLES}"):
        preset_from_dict(xor(render={"samples": 2**40}))


def test_the_largest_2d_data_set_builds_a_sample_of_its_points():
    preset = preset_from_dict(xor(data={"samples": limits.MAX_SAMPLES}))
    size = scene_size(preset)
    assert size.data_points == limits.MAX_SAMPLES and size.drawn_points == limits.MAX_DRAWN_POINTS
    assert check_scene_size(preset) == []
    # the view draws an even sample of the points, the same ones every time
    rng = np.random.default_rng(0)
    records = 2
    weights = np.zeros((records, 1, 2))
    history = History("many points", [LayerSpec("0", "Linear", 2, 1, "0.weight", None)], np.arange(records),
                      np.ones(records), {"0.weight": weights}, {"0.weight": weights},
                      series={"boundary/probability": rng.uniform(size=(records, 4, 4))},
                      static={"points/xy": rng.uniform(-1, 1, (limits.MAX_SAMPLES, 2)),
                              "points/labels": rng.integers(0, 2, limits.MAX_SAMPLES),
                              "boundary/extent": np.array([-1.0, 1.0, -1.0, 1.0])})
    assert task_views.data_point_count(history) == limits.MAX_SAMPLES
    view = task_views.plan(history, np.arange(1, records + 1), Rect(0.0, 0.0, 10.0, 10.0, 0.5))
    points = [item for item in view.items if isinstance(item, task_views.Patches) and item.mesh == "sphere"]
    assert [len(item.names) for item in points] == [limits.MAX_DRAWN_POINTS] * 2
    assert points[0].names[0] == "data · point[0]" and points[0].names[-1] == f"data · point[{limits.MAX_SAMPLES - 1}]"


def test_the_frame_limit_applies_only_to_a_scene(tmp_path):
    preset = tmp_path / "slow.toml"
    preset.write_text((ROOT / "presets" / "xor.toml").read_text().replace("frames_per_record = 1",
                                                                                  "frames_per_record = 20000"))
    trained = subprocess.run([sys.executable, str(ROOT / "train.py"), "--preset", preset, "--steps", "400",
                              "--no-render"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert frame_range(load_preset(preset)) == (1, 2_000_001)
    with pytest.raises(PresetError, match=r"slow\.toml: render\.frames_per_record: 101 records × 20000 frames"):
        check_scene_size(load_preset(preset))


def test_attention_cells_are_counted_for_every_head_and_count_against_either_writer():
    layers = [{"type": "embedding", "dim": 8}, {"type": "positional"},
              {"type": "transformer", "heads": 2, "feedforward": 16},
              {"type": "residual", "layers": [{"type": "transformer", "heads": 4, "feedforward": 16}]},
              {"type": "linear", "out": 10}]
    preset = preset_from_dict({"name": "two blocks", "model": {"layers": layers},
                               "data": {"task": "reverse", "samples": 64},
                               "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "steps": 1}})
    size = scene_size(preset)
    assert size.attention_cells == (2 + 4) * 8 * 8  # the probe's 8 positions, one tile per head
    run = TrainingRun(preset)
    run.run()
    assert census.scene_size(run.history()) == size
    # objects whichever writer draws the cubes; not cubes, so no part of the writer's choice
    assert size.held("instanced") == size.cubes + size.attention_cells
    assert size.held("objects") == size.cubes + size.attention_cells
    assert "384 attention cells" in size.describe()
