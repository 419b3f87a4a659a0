"""Tiles in a built scene: a recorded PyTorch MLP with an input_shape, and a cube's width in pixels
as the camera sees it against view_layout.cube_pixels."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Vector  # noqa: E402

from nnviz_addon import api  # noqa: E402
from nnviz_addon.history import History  # noqa: E402
from nnviz_addon.preset.config import RenderConfig  # noqa: E402
from nnviz_addon.training.record import Recorder  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]


def recorded_run(tmp_path) -> tuple[History, dict[str, np.ndarray]]:
    """A 16-6-3 torch MLP on 4×4 'images', trained by a torch loop, recorded every 5 steps."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.rand(32, 4, 4), torch.randint(0, 3, (32,))
    rec = Recorder(model, name="torch tiles", input_shape=(4, 4))
    for step in range(1, 16):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % 5 == 0:
            rec.snapshot(step, loss=loss.item())
    final = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return History.load(rec.save(tmp_path / "run.npz")), final


@pytest.mark.torch
def test_a_recorded_torch_mlp_with_an_input_shape_shows_its_first_layer_as_tiles(tmp_path):
    history, final = recorded_run(tmp_path)
    assert history.input_shape == (4, 4)
    api.animate(history, render=RenderConfig(resolution=(640, 360)))
    depsgraph = bpy.context.evaluated_depsgraph_get()

    def location(name: str) -> np.ndarray:
        return np.array(bpy.data.objects[name].evaluated_get(depsgraph).matrix_world.translation)

    boxes = []
    for unit in range(6):
        tile = np.array([location(f"layer 1 · weight[{unit},{k}]") for k in range(16)])
        # Input r*4 + c of unit u sits at column c, row r of u's own 4×4 tile.
        expected = tile[0] + np.array([[c, 0.0, -r] for r in range(4) for c in range(4)])
        np.testing.assert_allclose(tile, expected, atol=1e-5)
        boxes.append((tile[:, 0].min(), tile[:, 0].max(), tile[:, 2].min(), tile[:, 2].max()))
        bias = location(f"layer 1 · bias[{unit}]")
        assert bias[0] > tile[:, 0].max() and bias[2] == pytest.approx(tile[0, 2])
    # No two tiles overlap; they form a near-square grid (3 × 2 for 6 units).
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[1] < b[0] or b[1] < a[0] or a[3] < b[2] or b[3] < a[2]
    assert len({round(b[0], 4) for b in boxes}) == 3 and len({round(b[3], 4) for b in boxes}) == 2
    # The second layer stays a matrix; the tiles play the recorded run.
    assert bpy.data.objects["layer 3 · weight[2,5]"].location.z == pytest.approx(
        bpy.data.objects["layer 3 · weight[2,0]"].location.z)
    bpy_scene = bpy.context.scene
    bpy_scene.frame_set(bpy_scene.frame_end)
    cube = bpy.data.objects["layer 1 · weight[4,9]"]
    assert cube["nnviz_value"] == pytest.approx(float(final["1.weight"][4, 9]), abs=1e-6)


def test_a_cube_is_as_many_pixels_wide_as_cube_pixels_says():
    from nnviz_addon.picture import view_layout

    history = api.train("digits", steps=4)
    resolution = (1280, 720)
    api.animate(history, render=RenderConfig(resolution=resolution))
    bpy_scene = bpy.context.scene
    cube = bpy.data.objects["layer 0 · weight[0,0]"]
    corners = [cube.matrix_world @ Vector(c) for c in cube.bound_box]
    xs = [world_to_camera_view(bpy_scene, bpy_scene.camera, c).x for c in corners]
    drawn = (max(xs) - min(xs)) * resolution[0]
    shapes = {key: array.shape[1:] for key, array in history.params.items()}
    layout = view_layout.layout_for_frame(history.structure, shapes, resolution[0] / resolution[1],
                                          legend_caption="weight / bias value", input_shape=history.input_shape)
    # The estimate frames a typical overlay line; the scene frames the run's own: within 10%.
    assert view_layout.cube_pixels(layout, resolution) == pytest.approx(drawn, rel=0.1)


def test_a_hand_made_conv_history_builds_its_kernels_as_tiles():
    from nnviz_addon.history import LayerSpec
    from nnviz_addon.scene import build

    rng = np.random.default_rng(0)
    records = 3
    structure = [LayerSpec("0", "Conv2d", 2, 3, "0.weight", "0.bias", "relu"),
                 LayerSpec("3", "Linear", 12, 4, "3.weight", "3.bias")]
    shapes = {"0.weight": (3, 2, 3, 3), "0.bias": (3,), "3.weight": (4, 12), "3.bias": (4,)}
    params = {key: rng.normal(0, 0.5, (records, *shape)) for key, shape in shapes.items()}
    history = History(name="hand-made CNN", structure=structure, steps=np.arange(records), loss=np.ones(records),
                      params=params, grads={key: np.zeros_like(v) for key, v in params.items()})
    build(history)
    assert "layer 0 · Conv2d 2→3 3×3 · label" in bpy.data.objects
    location = {name: np.array(bpy.data.objects[name].location) for name in (
        "layer 0 · weight[0,0,0,0]", "layer 0 · weight[2,1,1,2]", "layer 0 · bias[2]")}
    origin = location["layer 0 · weight[0,0,0,0]"]
    # Output channel 2 is the third tile row, input channel 1 the second tile column, a cell apart.
    np.testing.assert_allclose(location["layer 0 · weight[2,1,1,2]"] - origin, [4 + 2, 0.0, -(2 * 4 + 1)], atol=1e-6)
    bias = location["layer 0 · bias[2]"]
    assert bias[0] > origin[0] + 4 + 2 and bias[2] == pytest.approx(origin[2] - 2 * 4)
    bpy_scene = bpy.context.scene
    bpy_scene.frame_set(bpy_scene.frame_end)
    cube = bpy.data.objects["layer 0 · weight[2,1,1,2]"]
    assert cube["nnviz_value"] == pytest.approx(params["0.weight"][-1, 2, 1, 1, 2], abs=1e-6)
