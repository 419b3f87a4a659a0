"""The cube plan (pure numpy): every cube's values, colours and sizes against independent expectations."""

import dataclasses

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import colormap, cubes, magnitude
from nnviz_addon.picture.layout import layout_network


def small_history(records=4) -> History:
    rng = np.random.default_rng(3)
    structure = [LayerSpec("0", "Linear", 3, 2, "0.weight", "0.bias", "tanh")]
    params = {"0.weight": rng.normal(0, 1, (records, 2, 3)), "0.bias": rng.normal(0, 0.1, (records, 2))}
    grads = {k: rng.normal(0, 1e-2, v.shape) for k, v in params.items()}
    return History(name="t", structure=structure, steps=np.arange(records), loss=np.ones(records),
                   params=params, grads=grads)


def blocks_of(history):
    shapes = {key: array.shape[1:] for key, array in history.params.items()}
    return layout_network(history.structure, shapes).blocks


def test_values_follow_each_cube_index_and_colours_use_the_run_wide_scale():
    history = small_history()
    scales = cubes.scales_for(history, "global", "none")
    top = max(np.abs(v).max() for v in history.params.values())
    assert scales.color == {"0.weight": top, "0.bias": top}
    assert scales.legend_labels == (f"{-top:.3g}", "0", f"{top:+.3g}")
    for tensor, block in zip(cubes.plan(history, blocks_of(history), scales), blocks_of(history), strict=True):
        for i, index in enumerate(block.indices):
            expected = history.params[block.key][(slice(None), *index)]
            np.testing.assert_array_equal(tensor.values[:, i], expected)
            # the map's 0 is the neutral white, its ends the ColorBrewer end colours, in linear RGB
            np.testing.assert_allclose(tensor.rgba[:, i], colormap.colors(expected / top, 1.0))
        np.testing.assert_array_equal(tensor.block.positions, block.positions)
        assert tensor.sizes is None


def test_layer_scale_and_gradient_sizes():
    history = small_history()
    scales = cubes.scales_for(history, "layer", "gradient")
    # the layer's weight and bias share one robust scale: the 99th percentile of their |values|
    pooled = np.abs(np.concatenate([history.params["0.weight"].ravel(), history.params["0.bias"].ravel()]))
    assert scales.color["0.bias"] == scales.color["0.weight"] == pytest.approx(np.percentile(pooled, 99))
    tensor = next(t for t in cubes.plan(history, blocks_of(history), scales) if t.key == "0.bias")
    grads = np.abs(history.grads["0.bias"])
    scale = np.percentile(grads[1:], magnitude.SCALE_PERCENTILE)
    assert tensor.size_scale == pytest.approx(scale)
    expected = magnitude.MIN_SIZE + (1 - magnitude.MIN_SIZE) * np.sqrt(np.clip(grads / scale, 0, 1))
    np.testing.assert_allclose(tensor.sizes, expected)
    assert scales.size_caption.startswith("size: |∂L/∂w|")


def test_the_ramp_the_geometry_nodes_tree_holds_stays_within_2e_3_of_the_map():
    positions = cubes.ramp_positions()
    assert len(positions) == 32 and positions[0] == -1 and positions[-1] == 1
    x = np.linspace(-1, 1, 4001)
    assert np.abs(cubes.ramp_colors(positions, x) - colormap.colors(x, 1.0)[:, :3]).max() < 2e-3


def test_flat_index_is_a_slice_only_for_every_element_in_order():
    whole = blocks_of(small_history())[0]
    assert cubes.flat_index(whole) == slice(None)
    # the first two elements only: a prefix, still in order, yet not the whole tensor
    prefix = dataclasses.replace(whole, positions=whole.positions[:2], indices=whole.indices[:2])
    np.testing.assert_array_equal(cubes.flat_index(prefix), [0, 1])
    backwards = dataclasses.replace(whole, positions=whole.positions[::-1], indices=whole.indices[::-1])
    np.testing.assert_array_equal(cubes.flat_index(backwards), np.arange(6)[::-1])


@pytest.mark.parametrize(("scale", "expected"), [(4.0, 0.125), (0.0, 0.0), (float("inf"), 0.0), (float("nan"), 0.0)])
def test_inverse_scale_is_zero_where_no_scale_is(scale, expected):
    assert cubes.inverse_scale(scale, 0.5) == expected
