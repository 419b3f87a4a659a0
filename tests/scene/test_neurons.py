"""Neuron spheres: one per input and per drawn layer's output, keyed with the recorded activations."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.picture import colormap, view_layout
from nnviz_addon.picture.layout import layout_network
from nnviz_addon.picture.shapes import text_width
from tests.support.histories import short_run

bpy = pytest.importorskip("bpy")
from nnviz_addon.picture import neurons as neuron_plan  # noqa: E402
from nnviz_addon.scene import neurons  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]


@pytest.fixture(scope="module")
def xor() -> History:
    return short_run("xor")


def placement(history: History) -> view_layout.ViewPlacement:
    shapes = {k: v.shape[1:] for k, v in history.params.items()}
    return view_layout.place_views(layout_network(history.structure, shapes), overlay_width=10.0)


def draw(history: History, frames: np.ndarray):
    root = bpy.data.collections.new("test root")
    bpy.context.scene.collection.children.link(root)
    picture = neuron_plan.plan(history, frames, placement(history).neurons)
    if picture is None:
        return None
    neurons.add_neurons(root, picture)
    return picture.bounds


def spheres() -> list:
    return [o for o in bpy.data.objects if "nnviz_neuron" in o]


def test_columns_sit_in_the_gaps_between_grids(xor):
    layout = layout_network(xor.structure, {k: v.shape[1:] for k, v in xor.params.items()})
    place = view_layout.neuron_placement(layout)
    edges = {b.layer: (b.positions[:, 0].min() - 0.5, b.positions[:, 0].max() + 0.5) for b in layout.blocks
             if b.role == "weight"}
    bias_right = {b.layer: b.positions[:, 0].max() + 0.5 for b in layout.blocks if b.role == "bias"}
    assert place.input_x < edges["0"][0]
    assert bias_right["0"] < place.layer_x["0"] < edges["2"][0]
    assert place.layer_x["2"] > bias_right["2"]
    assert (place.top, place.bottom) == (0.0, -4.0)
    # Output neuron i is level with the weight row that computes it.
    np.testing.assert_allclose(place.positions(0.0, 4)[:, 2], [-0.5, -1.5, -2.5, -3.5])
    # A column taller than the network packs closer instead of growing.
    assert place.spacing(8) == 0.5 and place.positions(0.0, 8)[-1, 2] == pytest.approx(-3.75)


def test_colours_follow_the_recorded_activations(xor):
    frames = 1 + 2 * np.arange(xor.records)
    bounds = draw(xor, frames)
    assert len(spheres()) == 2 + 4 + 1
    assert len({o.data.name for o in spheres()}) == 1  # one shared sphere mesh
    scene = bpy.context.scene
    for record in (0, 3, xor.records - 1):
        scene.frame_set(int(frames[record]))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for spec in xor.structure:
            values = xor.series[f"activation/{spec.name}"]
            expected = colormap.colors(values[record], neuron_plan.activation_scale(values, spec.activation))
            for i in range(spec.out_features):
                sphere = bpy.data.objects[f"layer {spec.name} · neuron[{i}]"].evaluated_get(depsgraph)
                np.testing.assert_allclose(sphere.color, expected[i], atol=1e-5)
                assert sphere["nnviz_value"] == pytest.approx(values[record, i], abs=1e-6)
        probe = xor.static["probe/input"]
        for i in range(2):
            colour = bpy.data.objects[f"input · neuron[{i}]"].evaluated_get(depsgraph).color
            np.testing.assert_allclose(colour, colormap.colors(probe, np.abs(probe).max())[i], atol=1e-6)
    (x0, _, z0), (x1, _, z1) = bounds
    for sphere in spheres():
        assert x0 <= sphere.location.x <= x1 and z0 <= sphere.location.z <= z1


def test_bounded_activations_use_their_natural_range():
    values = np.array([[0.1, -0.3], [0.2, 0.05]])
    assert neuron_plan.activation_scale(values, "tanh") == 1.0
    assert neuron_plan.activation_scale(values, "relu") == pytest.approx(0.3)
    assert neuron_plan.activation_scale(np.array([[np.nan, 2.0]]), None) == 2.0


def test_a_history_without_probes_draws_nothing(xor):
    bare = History(xor.name, xor.structure, xor.steps, xor.loss, xor.params, xor.grads)
    assert draw(bare, np.arange(bare.records) + 1.0) is None
    assert not spheres() and "nnviz · neurons" not in bpy.data.collections


def test_wrong_shapes_are_named(xor):
    bad = History(xor.name, xor.structure, xor.steps, xor.loss, xor.params, xor.grads,
                  series={"activation/0": np.zeros((xor.records, 3))})
    with pytest.raises(ValueError, match=r"'activation/0' has shape \(11, 3\), expected \(11, 4\)"):
        draw(bad, np.arange(bad.records) + 1.0)



@pytest.fixture(scope="module")
def digits() -> History:
    from nnviz_addon import api

    return api.train("digits", steps=20)  # 64 inputs, 32 and 10 neurons, records at steps 0, 10, 20


@pytest.mark.parametrize("frame", [1, 2, 4, 5])  # records at frames 1, 3 and 5
def test_instanced_columns_follow_the_recorded_activations_on_and_between_records(digits, frame):
    from nnviz_addon import scene
    from nnviz_addon.scene import SceneOptions, instanced
    from tests.support.instanced_mesh import RAMP_TOLERANCE, between, evaluated_cubes

    options = {"frames_per_record": 2, "frame_start": 1}
    scene.build(digits, SceneOptions(cubes="objects", **options))  # where the spheres go, and how big
    sphere_at = {key: np.array([[*o.location, 2 * view_layout.NEURON_RADIUS * o.scale.x] for o in
                                sorted((o for o in spheres() if o["nnviz_neuron"] == prefix),
                                       key=lambda o: o["nnviz_index"])])
                 for key, prefix in (("probe/input", "input"), ("activation/0", "layer 0"),
                                     ("activation/2", "layer 2"))}
    scene.build(digits, SceneOptions(cubes="instanced", **options))
    assert not spheres()  # no object per neuron: one per column
    columns = {key: obj for key, obj in instanced.tensor_objects(bpy.data.collections["nnviz"]).items()
               if obj.users_collection[0].name == "nnviz · neurons"}
    assert set(columns) == set(sphere_at)
    assert bpy.data.objects["neurons · caption"].data.body.startswith("squares:")
    assert text_width(view_layout.INSTANCED_NEURON_CAPTION, 1.0) == text_width(
        view_layout.NEURON_CAPTION, 1.0)  # the layout made room for the circles' caption
    bpy.context.scene.frame_set(frame)
    probe = digits.static["probe/input"].astype(np.float64)
    expected = {"probe/input": colormap.colors(probe, np.abs(probe).max())}
    for spec in digits.structure:
        values = digits.series[f"activation/{spec.name}"].astype(np.float64)
        rgba = colormap.colors(values, neuron_plan.activation_scale(values, spec.activation))
        expected[f"activation/{spec.name}"] = between(rgba, frame, 1, 2)
    for key, obj in columns.items():
        colours, corners = evaluated_cubes(obj)
        np.testing.assert_allclose(colours, expected[key], atol=RAMP_TOLERANCE, err_msg=key)
        # Each neuron sits where its sphere would, its square as wide as the sphere.
        world = np.array(obj.matrix_world)
        corners = corners @ world[:3, :3].T + world[:3, 3]
        np.testing.assert_allclose(corners.mean(axis=1), sphere_at[key][:, :3], atol=1e-4, err_msg=key)
        width = corners[:, :, 0].max(axis=1) - corners[:, :, 0].min(axis=1)
        np.testing.assert_allclose(width, sphere_at[key][:, 3], atol=1e-5, err_msg=key)
