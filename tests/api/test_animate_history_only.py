"""Animating a History needs only the History: its stored [render] section, no preset data files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nnviz_addon import api
from nnviz_addon.history import History
from nnviz_addon.preset.config import PresetError

ROOT = Path(__file__).resolve().parents[2]


def _table_run_without_its_csv(tmp_path: Path) -> Path:
    """An iris run (a table preset) saved, then its CSV taken away, as on another machine."""
    shutil.copy(ROOT / "presets" / "iris.csv", tmp_path / "iris.csv")
    text = (ROOT / "presets" / "iris.toml").read_text()
    (tmp_path / "iris.toml").write_text(text + '[render]\nfps = 12\ncolor_scale = "layer"\nresolution = [320, 240]\n')
    history = api.train(tmp_path / "iris.toml", steps=6)
    path = history.save(tmp_path / "run.npz")
    (tmp_path / "iris.csv").unlink()
    return path


def test_the_render_settings_of_a_table_run_come_from_the_history_alone(tmp_path):
    history = History.load(_table_run_without_its_csv(tmp_path))
    render = api.render_config_of(history)
    assert (render.fps, render.color_scale, render.resolution) == (12, "layer", (320, 240))


def test_a_stored_render_section_with_a_bad_value_is_named(tmp_path):
    history = History.load(_table_run_without_its_csv(tmp_path))
    history.config["render"]["fps"] = 40000
    with pytest.raises(PresetError, match=r"the \[render\] settings stored in 'Iris': render.fps 40000: frames per"):
        api.render_config_of(history)


@pytest.mark.bpy
@pytest.mark.usefixtures("empty_blend")
def test_a_table_run_animates_with_its_csv_gone(tmp_path):
    bpy = pytest.importorskip("bpy")
    path = _table_run_without_its_csv(tmp_path)
    api.animate(path)
    scene = bpy.context.scene
    assert (scene.render.resolution_x, scene.render.resolution_y, scene.render.fps) == (320, 240, 12)
    assert len([o for o in bpy.data.objects if "nnviz_param" in o]) == History.load(path).parameter_count
