"""Probes record what the network does; checked against a forward pass written out in numpy."""

import numpy as np
import pytest

from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun


def _run(name: str, steps: int):
    preset = load_preset(find_presets()[name])
    preset = preset.replace(train={"steps": steps, "record_every": max(1, steps // 4)})
    return TrainingRun(preset).run()


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _forward(history, r, x, hidden=np.tanh, output=_sigmoid):
    """The preset's Linear → hidden → … → Linear → output, from the recorded weights of record r."""
    layers = history.structure
    outputs = {}
    for i, layer in enumerate(layers):
        x = x @ history.params[layer.weight][r].T.astype(np.float64) + history.params[layer.bias][r]
        x = hidden(x) if i < len(layers) - 1 else output(x)
        outputs[layer.name] = x
    return outputs


def test_xor_records_activations_and_the_decision_boundary():
    history = _run("xor", 40)
    probe = history.static["probe/input"]
    extent = history.static["boundary/extent"]
    assert history.static["points/xy"].shape == (200, 2)
    assert set(np.unique(history.static["points/labels"])) == {0, 1}
    grid = history.series["boundary/probability"]
    assert grid.shape == (history.records, 32, 32)
    for r in (0, history.records - 1):
        expected = _forward(history, r, probe[None, :].astype(np.float64))
        np.testing.assert_allclose(history.series["activation/0"][r], expected["0"][0], rtol=1e-5)
        np.testing.assert_allclose(history.series["activation/2"][r], expected["2"][0], rtol=1e-5)
        # the top-right grid cell is the point (xmax, ymax)
        corner = np.array([[extent[1], extent[3]]])
        np.testing.assert_allclose(grid[r, -1, -1], _forward(history, r, corner)["2"][0, 0], rtol=1e-5)
    assert not np.allclose(grid[0], grid[-1]), "the boundary must change as the network learns"


def test_rgb_probe_colours_are_the_networks_predictions():
    history = _run("rgb_perceptron", 20)
    inputs, targets = history.static["rgb/inputs"], history.static["rgb/targets"]
    np.testing.assert_allclose(targets, 1 - inputs, rtol=1e-6)
    outputs = history.series["rgb/outputs"]
    r = history.records - 1
    expected = _forward(history, r, inputs.astype(np.float64))["0"]
    np.testing.assert_allclose(outputs[r], expected, rtol=1e-5)


def test_digits_probe_probabilities_are_a_softmax_of_the_logits():
    history = _run("digits", 20)
    assert history.static["digits/image"].shape == (8, 8)
    assert 0 <= int(history.static["digits/label"]) <= 9
    probabilities = history.series["digits/probabilities"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    r = history.records - 1
    logits = _forward(history, r, history.static["probe/input"][None, :].astype(np.float64),
                      hidden=lambda z: np.maximum(z, 0), output=lambda z: z)["2"][0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities[r], expected, rtol=1e-4, atol=1e-7)


def test_probes_can_be_turned_off():
    preset = load_preset(find_presets()["xor"]).replace(train={"steps": 4, "record_every": 2})
    history = TrainingRun(preset, probes=()).run()
    assert history.series == {} and history.static == {}


@pytest.mark.parametrize("name", ["circle", "moons", "spiral", "gauss", "rgb_mlp"])
def test_every_task_gets_its_view(name):
    history = _run(name, 8)
    assert any(key.startswith("activation/") for key in history.series)
    view = "rgb/outputs" if name.startswith("rgb") else "boundary/probability"
    assert np.isfinite(history.series[view]).all()
