"""Colour scales the viewer can read (pure numpy): robust per-layer scales, "auto" choosing them when
the layers' ranges differ much, the legend and labels saying which scale is used, and the colour mode
that shows each weight's change since the first record."""

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import colormap, cubes
from nnviz_addon.picture.layout import layout_network


def two_layer_history(first_spread: float, records: int = 5, seed: int = 0) -> History:
    """A 20-8-3 run whose first layer's values spread ``first_spread``, the second's 1.0."""
    rng = np.random.default_rng(seed)
    structure = [LayerSpec("0", "Linear", 20, 8, "0.weight", "0.bias", "relu"),
                 LayerSpec("2", "Linear", 8, 3, "2.weight", "2.bias", None)]
    params = {"0.weight": rng.normal(0, first_spread, (records, 8, 20)),
              "0.bias": rng.normal(0, first_spread, (records, 8)),
              "2.weight": rng.normal(0, 1.0, (records, 3, 8)), "2.bias": rng.normal(0, 1.0, (records, 3))}
    return History(name="t", structure=structure, steps=np.arange(records), loss=np.ones(records),
                   params=params, grads={})


def pooled(history: History, *keys: str) -> np.ndarray:
    return np.abs(np.concatenate([history.params[k].ravel() for k in keys]))


def test_a_layer_on_its_own_scale_is_the_99th_percentile_and_an_outlier_saturates():
    history = two_layer_history(0.05)
    history.params["0.weight"][3, 0, 0] = 40.0  # one wild value must not set the layer's scale
    scales = cubes.color_scales(history, "layer")
    expected = np.percentile(pooled(history, "0.weight", "0.bias"), 99)
    assert scales["0.weight"] == scales["0.bias"] == pytest.approx(expected)
    assert expected < 0.2
    assert scales["2.weight"] == pytest.approx(np.percentile(pooled(history, "2.weight", "2.bias"), 99))
    # the outlier is drawn in the map's end colour, as any value beyond the scale
    end = colormap.colors(np.array([1.0]), 1.0)
    np.testing.assert_allclose(colormap.colors(np.array([40.0]), scales["0.weight"]), end)


def test_auto_gives_each_layer_its_scale_only_when_one_would_stay_pale():
    spread = cubes.AUTO_SPREAD
    # first layer's 99th percentile ≈ 2.6 σ: with σ = 0.05 it is far under 1/AUTO_SPREAD of the global max
    pale = two_layer_history(0.05)
    assert cubes.resolved_scale(pale, "auto") == "layer"
    assert cubes.color_scales(pale, "auto") == cubes.color_scales(pale, "layer")
    even = two_layer_history(0.9)
    assert cubes.resolved_scale(even, "auto") == "global"
    assert set(cubes.color_scales(even, "auto").values()) == {even.value_range()}
    # the rule as stated: global max over the smallest layer's robust scale against AUTO_SPREAD
    for history in (pale, even):
        ratio = history.value_range() / min(cubes.layer_scales(history).values())
        assert (ratio > spread) == (cubes.resolved_scale(history, "auto") == "layer")
    assert cubes.resolved_scale(pale, "global") == "global"
    with pytest.raises(ValueError, match="color_scale must be one of"):
        cubes.resolved_scale(pale, "local")


def test_the_legend_and_each_layer_label_say_which_scale_is_used():
    history = two_layer_history(0.05)
    scales = cubes.scales_for(history, "auto", "none")
    assert scales.legend_labels == ("−scale", "0", "+scale")
    assert "each layer on its own scale" in scales.caption and "99th pct |w|" in scales.caption
    layer_scales = cubes.layer_scales(history)
    assert scales.layer_notes == {name: f"±{scale:.2g}" for name, scale in layer_scales.items()}
    shapes = {key: array.shape[1:] for key, array in history.params.items()}
    layout = layout_network(history.structure, shapes, layer_notes=scales.layer_notes)
    assert layout.layer_labels["0"].text == f"layer 0 · Linear 20→8 · ±{layer_scales['0']:.2g}"
    # one global scale: the bar's ends carry the numbers and the labels stay as they were
    even = cubes.scales_for(two_layer_history(0.9), "auto", "none")
    assert even.layer_notes == {} and even.caption == "weight / bias value"
    assert layout_network(history.structure, shapes).layer_labels["0"].text == "layer 0 · Linear 20→8"


def test_change_colours_show_w_minus_w0_on_scales_of_the_change():
    history = two_layer_history(0.9)
    shown = cubes.shown_history(history, "change")
    assert cubes.shown_history(history, "value") is history
    for key, values in history.params.items():
        np.testing.assert_array_equal(shown.params[key], values - values[0])
        assert not shown.params[key][0].any()  # the first record shows no change: every cube neutral
    scales = cubes.scales_for(shown, "global", "none", "change")
    top = max(np.abs(v - v[0]).max() for v in history.params.values())
    assert scales.color["0.weight"] == pytest.approx(top)
    assert scales.caption == "change since the first record (w − w₀)"
    blocks = layout_network(history.structure, {k: v.shape[1:] for k, v in history.params.items()}).blocks
    tensor = next(cubes.plan(shown, blocks, scales))
    white = colormap.colors(np.zeros(1), 1.0)[0]
    np.testing.assert_allclose(tensor.rgba[0], np.broadcast_to(white, tensor.rgba[0].shape))
    per_layer = cubes.scales_for(shown, "layer", "none", "change")
    assert per_layer.caption.startswith("w − w₀, each layer on its own scale") and "|w − w₀|" in per_layer.caption
    with pytest.raises(ValueError, match="color_values must be one of"):
        cubes.shown_history(history, "delta")
