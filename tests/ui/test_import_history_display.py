"""The panel's Import History takes its own colour scale and cube size, for a recorded run."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from nnviz_addon.preset.config import find_presets, load_preset  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402

pytestmark = pytest.mark.bpy


def _cube_sizes(frame: int) -> set[float]:
    bpy.context.scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return {round(o.evaluated_get(depsgraph).scale[0], 4) for o in bpy.data.objects if "nnviz_param" in o}


def test_import_history_with_update_sizes_draws_cubes_of_many_sizes(settings, tmp_path):
    preset = load_preset(find_presets()["xor"]).replace(train={"steps": 12, "record_every": 3})
    path = TrainingRun(preset).run().save(tmp_path / "xor.npz")
    assert settings.magnitude == "none"
    assert bpy.ops.nnviz.import_history(filepath=str(path)) == {'FINISHED'}
    assert len(_cube_sizes(5)) == 1  # the panel's choice: every cube full size
    assert bpy.ops.nnviz.import_history(filepath=str(path), magnitude="update") == {'FINISHED'}
    assert len(_cube_sizes(5)) > 3  # each cube's size now follows how much its weight moved
