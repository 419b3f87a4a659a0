"""A portrait frame: the layers stacked top to bottom when that shows them larger than a row, the
neurons beside their own layer, the loss curve and task view under the stack, and the built scene
filling a phone-video frame."""

from itertools import pairwise

import numpy as np
import pytest

from nnviz_addon.history import LayerSpec
from nnviz_addon.picture.view_layout import NEURON_RADIUS, layout_for_frame, place_views

PORTRAIT = 9 / 16


def network(*sizes: int, aspect: float = PORTRAIT):
    structure, shapes = [], {}
    for i, (a, b) in enumerate(pairwise(sizes)):
        name = str(2 * i)
        structure.append(LayerSpec(name, "Linear", a, b, f"{name}.weight", f"{name}.bias"))
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (b, a), (b,)
    return layout_for_frame(structure, shapes, aspect=aspect, legend_caption="weight / bias value")


def stacked(*sizes: int):
    layout = network(*sizes)
    assert layout.stacked
    return layout


def test_each_neuron_column_stands_beside_its_own_layer():
    layout = stacked(64, 32, 10)
    neurons = place_views(layout, overlay_width=20.0, aspect=PORTRAIT).neurons
    for name in layout.layer_labels:
        weight, bias = (b for b in layout.blocks if b.layer == name)
        x = neurons.layer_x[name]
        assert x - NEURON_RADIUS > bias.positions[:, 0].max() + 0.5
        # Output neuron i level with weight row i, which computes it.
        column = neurons.positions(x, weight.shape[0], name)
        np.testing.assert_allclose(column[:, 2], np.unique(weight.positions[:, 2])[::-1])
    # The 64 inputs pack beside the first layer's 32 rows, not down past them into the next layer.
    first = layout.blocks[0].positions
    inputs = neurons.positions(neurons.input_x, 64)
    assert neurons.input_x + NEURON_RADIUS < first[:, 0].min() - 0.5
    assert inputs[:, 2].min() > first[:, 2].min() - 0.5 and inputs[:, 2].max() < first[:, 2].max() + 0.5


@pytest.mark.parametrize("sizes", [(64, 32, 10), (2, 16, 16, 1), (3, 8, 3)])
def test_loss_curve_and_task_view_go_under_the_stack_as_wide_as_the_picture(sizes):
    layout = stacked(*sizes)
    places = place_views(layout, overlay_width=20.0, aspect=PORTRAIT)
    caption_z = places.neurons.caption[1]
    loss, task = places.loss, places.task
    assert loss.top < caption_z and task.top < loss.bottom
    assert loss.left == task.left == 0.0
    assert loss.right == task.right >= layout.bounds[1][0]
    assert loss.width <= 6 * loss.height and task.height <= task.width


@pytest.mark.bpy
@pytest.mark.usefixtures("empty_blend")
def test_a_built_network_fills_the_width_of_a_phone_frame():
    bpy = pytest.importorskip("bpy")
    from bpy_extras.object_utils import world_to_camera_view

    from nnviz_addon import scene
    from nnviz_addon.preset.config import find_presets, load_preset
    from nnviz_addon.training.run import TrainingRun

    bpy_scene = bpy.context.scene
    bpy_scene.render.resolution_x, bpy_scene.render.resolution_y = 1080, 1920
    preset = load_preset(find_presets()["digits"]).replace(train={"steps": 4, "record_every": 2})
    scene.build(TrainingRun(preset).run())
    depsgraph = bpy.context.evaluated_depsgraph_get()
    view = {}  # layer → camera-view (x, y) of its cubes' centres, 0..1 inside the frame
    for obj in bpy.data.objects:
        if "nnviz_param" in obj:
            centre = obj.evaluated_get(depsgraph).matrix_world.translation
            point = world_to_camera_view(bpy_scene, bpy_scene.camera, centre)
            view.setdefault(obj["nnviz_param"].split(".")[0], []).append((point.x, point.y))
    first, last = np.array(view["0"]), np.array(view["2"])
    everything = np.concatenate([first, last])
    assert np.all((everything > 0.0) & (everything < 1.0))
    assert first[:, 1].min() > last[:, 1].max()  # input layer above the output layer
    # The first layer (32 tiles of 8×8, a near-square block) spans most of the frame's width.
    assert np.ptp(first[:, 0]) >= 0.6


@pytest.mark.parametrize(("sizes", "aspect", "stack"), [
    ((64, 32, 10), 9 / 16, True),  # a row would be a thin strip across the middle
    ((2, 8, 8, 8, 8, 1), 4 / 5, True),  # five layers in a row are five times as wide as tall
    ((2, 4, 1), 4 / 5, False),  # 4:5 is nearly square: the row with the task view under it fills it
    ((2, 16, 16, 1), 4 / 5, False),
    ((64, 32, 10), 700 / 720, False),
])
def test_a_portrait_frame_stacks_the_layers_only_when_that_shows_them_larger(sizes, aspect, stack):
    assert network(*sizes, aspect=aspect).stacked == stack
