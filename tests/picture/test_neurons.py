"""The neurons' plan (pure numpy): where each sphere sits, how big it is and its colour per record."""

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import colormap, neurons
from nnviz_addon.picture.view_layout import NEURON_CAPTION, NEURON_RADIUS, NeuronPlacement

PLACEMENT = NeuronPlacement(input_x=0.0, layer_x={"0": 5.0}, top=4.0, bottom=0.0, caption=(0.0, 5.0),
                            text_size=1.0)


def history_with(records=3, activation="tanh", probe=(0.5, -1.0)) -> History:
    zeros = {"0.weight": np.zeros((records, 8, 2))}
    activations = np.linspace(-0.8, 0.8, records * 8).reshape(records, 8)
    return History(name="t", structure=[LayerSpec("0", "Linear", 2, 8, "0.weight", None, activation)],
                   steps=np.arange(records), loss=np.ones(records), params=zeros, grads=zeros,
                   series={"activation/0": activations}, static={"probe/input": np.array(probe)})


def test_the_input_column_is_the_static_probe_and_each_layer_is_coloured_per_record():
    history = history_with()
    picture = neurons.plan(history, np.array([1.0, 2.0, 3.0]), PLACEMENT)
    inputs, layer = picture.columns
    assert (inputs.prefix, layer.prefix) == ("input", "layer 0")
    np.testing.assert_array_equal(inputs.values, [[0.5, -1.0]])  # one record: drawn still
    # the probe's largest |value| ends the map; tanh's whole ±1 range spans it
    np.testing.assert_allclose(inputs.rgba[0, 1], colormap.colors(np.array([-1.0]), 1.0)[0])
    np.testing.assert_allclose(inputs.rgba[0, 0], colormap.colors(np.array([0.5]), 1.0)[0])
    np.testing.assert_allclose(layer.rgba, colormap.colors(history.series["activation/0"], 1.0))
    np.testing.assert_array_equal(picture.frames, [1, 2, 3])


def test_columns_stand_at_their_x_top_aligned_and_a_tall_column_packs_closer():
    picture = neurons.plan(history_with(), np.arange(3), PLACEMENT)
    inputs, layer = picture.columns
    np.testing.assert_array_equal(inputs.positions[:, 0], 0.0)
    np.testing.assert_array_equal(layer.positions[:, 0], 5.0)
    np.testing.assert_allclose(inputs.positions[:, 2], [3.5, 2.5])  # one unit apart from the top
    assert inputs.scale == 1.0
    assert layer.scale == pytest.approx(0.5)  # 8 neurons in 4 units
    np.testing.assert_allclose(layer.positions[:, 2], 4.0 - (np.arange(8) + 0.5) * 0.5)


def test_bounds_hold_every_sphere_and_the_caption():
    picture = neurons.plan(history_with(), np.arange(3), PLACEMENT)
    assert picture.caption.text == NEURON_CAPTION and picture.caption.position == (0.0, 0.0, 5.0)
    (x0, _, z0), (x1, _, z1) = picture.bounds
    assert x0 == pytest.approx(-NEURON_RADIUS) and z0 == pytest.approx(0.25 - 0.5 * NEURON_RADIUS)
    assert x1 >= 5.0 + 0.5 * NEURON_RADIUS and z1 > 5.0


def test_an_unbounded_activation_is_scaled_by_its_largest_value():
    assert neurons.activation_scale(np.array([[0.1, -0.3]]), "relu") == pytest.approx(0.3)
    assert neurons.activation_scale(np.array([[0.1, -0.3]]), "sigmoid") == 1.0


def test_no_probe_data_draws_nothing_and_a_wrong_probe_is_refused():
    history = history_with()
    bare = History(name="t", structure=history.structure, steps=history.steps, loss=history.loss,
                   params=history.params, grads=history.grads)
    assert neurons.plan(bare, np.arange(3), PLACEMENT) is None
    with pytest.raises(ValueError, match="'probe/input' has shape"):
        neurons.plan(history_with(probe=(1.0, 2.0, 3.0)), np.arange(3), PLACEMENT)
