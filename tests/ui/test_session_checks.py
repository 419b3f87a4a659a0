"""The panel runs the scene-size check train.py runs, before any training."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")
from nnviz_addon.preset.config import find_presets  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402

pytestmark = pytest.mark.bpy


@pytest.mark.parametrize("operator", ["train", "build", "step"])
def test_a_scene_too_big_to_build_is_refused_before_training(settings, operator):
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()["xor"])) == {"FINISHED"}
    settings.layers, settings.cubes, settings.steps = "2, 400, 300, 1", "objects", 3
    with pytest.raises(RuntimeError) as error:
        getattr(bpy.ops.nnviz, operator)()
    message = str(error.value).strip()
    assert "\n" not in message
    assert "Layer sizes: model.layers has 121,801 parameters" in message
    assert "a scene of objects holds at most 100,000" in message
    assert SESSION.run is None  # nothing trained
    assert not [obj for obj in bpy.data.objects if obj.get("nnviz")]


def test_the_largest_2d_data_set_trains_and_draws_a_sample_of_its_points(settings):
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()["xor"])) == {"FINISHED"}
    settings.samples, settings.steps = 100_000, 2
    assert bpy.ops.nnviz.train() == {"FINISHED"}
    points = [obj for obj in bpy.data.objects if obj.name.startswith("data · point[")]
    assert len(points) == 500
