"""Live training in the panel colours the cubes as the build does: with "Colour shows: change" each
cube shows w − w₀ after a step, on the build's scale."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from nnviz_addon.picture import colormap  # noqa: E402
from nnviz_addon.preset.config import find_presets  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402


@pytest.mark.bpy
def test_a_live_step_colours_the_change_since_the_first_record(settings):
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()["xor"])) == {'FINISHED'}
    settings.color_values = "change"
    assert bpy.ops.nnviz.build() == {'FINISHED'}
    first = {key: values.copy() for key, values in SESSION.run.model.parameter_arrays().items()}
    cubes = [obj for obj in bpy.data.objects if "nnviz_param" in obj]
    white = colormap.colors(np.zeros(1), 1.0)[0]
    for cube in cubes:  # the first record changed nothing yet
        np.testing.assert_allclose(cube.color, white, atol=1e-6)
    assert bpy.ops.nnviz.step() == {'FINISHED'}
    now = SESSION.run.model.parameter_arrays()
    for cube in cubes:
        key, index = cube["nnviz_param"], tuple(cube["nnviz_index"])
        change = now[key][index] - first[key][index]
        expected = colormap.colors(np.array(change), SESSION.scale[key])
        np.testing.assert_allclose(cube.color, expected, atol=1e-5, err_msg=cube.name)
    assert any(not np.allclose(cube.color, white) for cube in cubes)  # the step moved something
