import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import magnitude


def history_of(params: dict, grads: dict) -> History:
    structure = [LayerSpec("0", "Linear", 2, 1, "0.weight", "0.bias")]
    records = len(next(iter(params.values())))
    return History("m", structure, np.arange(records), np.zeros(records), params, grads)


def test_gradient_and_update_magnitudes_per_record():
    weight = np.array([[[1.0, -2.0]], [[1.5, -2.5]], [[0.5, -2.5]]])
    grad = np.array([[[0.0, 0.0]], [[-0.1, 0.2]], [[0.3, -0.4]]])
    history = history_of({"0.weight": weight, "0.bias": np.zeros((3, 1))},
                         {"0.weight": grad})  # no gradient stored for the bias: zeros
    gradients = magnitude.per_record(history, "gradient")
    np.testing.assert_allclose(gradients["0.weight"], np.abs(grad))
    np.testing.assert_array_equal(gradients["0.bias"], np.zeros((3, 1)))
    updates = magnitude.per_record(history, "update")
    np.testing.assert_allclose(updates["0.weight"], [[[0.0, 0.0]], [[0.5, 0.5]], [[1.0, 0.0]]])
    with pytest.raises(ValueError, match=r"mode must be 'gradient' or 'update'.*'none'"):
        magnitude.per_record(history, "none")


def test_run_scale_is_a_high_percentile_after_record_0():
    rng = np.random.default_rng(0)
    small = np.abs(rng.normal(0, 1, (11, 100)))
    small[0] = 1e6  # record 0 does not count
    big = np.abs(rng.normal(0, 10, (11, 10)))
    magnitudes = {"a": small, "b": big}
    pooled = np.concatenate([small[1:].ravel(), big[1:].ravel()])
    assert magnitude.run_scale(magnitudes) == dict.fromkeys("ab", pytest.approx(np.percentile(pooled, 99)))
    per_tensor = magnitude.run_scale(magnitudes, "layer")
    assert per_tensor["a"] == pytest.approx(np.percentile(small[1:], 99))
    assert per_tensor["b"] == pytest.approx(np.percentile(big[1:], 99))
    # One outlier step does not set the scale.
    small[5, 0] = 1e9
    assert magnitude.run_scale({"a": small}, "layer")["a"] < 10
    # Mostly-zero magnitudes (say, always-blank input pixels) fall back to the maximum.
    sparse = np.zeros((3, 1000))
    sparse[2, 7] = 0.5
    assert magnitude.run_scale({"a": sparse})["a"] == 0.5
    assert magnitude.run_scale({"a": np.zeros((3, 4))})["a"] == 0.0
    with pytest.raises(ValueError, match="color_scale must be 'global' or 'layer', got 'local'"):
        magnitude.run_scale(magnitudes, "local")


def test_sizes_grow_by_the_square_root_from_the_minimum_to_full():
    sizes = magnitude.sizes(np.array([0.0, 0.25, 1.0, 4.0, -1.0, np.nan, np.inf]), 1.0)
    np.testing.assert_allclose(sizes, [0.25, 0.625, 1.0, 1.0, 1.0, 1.0, 1.0])
    # A hundredth of the scale already adds 10% of the edge: small gradients stay visible.
    assert magnitude.sizes(np.array([0.01]), 1.0)[0] == pytest.approx(0.325)
    assert np.all(np.diff(magnitude.sizes(np.geomspace(1e-6, 1.0, 50), 1.0)) > 0)
    np.testing.assert_array_equal(magnitude.sizes(np.array([0.0, 3.0]), 0.0), [0.25, 0.25])
    with pytest.raises(ValueError, match="scale must be finite and >= 0, got -1"):
        magnitude.sizes(np.zeros(2), -1.0)


def test_legend_labels_name_the_magnitude():
    labels, caption = magnitude.legend_labels("gradient", 0.032)
    assert labels == ["0", "0.002", "0.008", "0.018", "≥0.032"]
    assert caption == "size: |∂L/∂w|, gradient"
    assert len(labels) == len(magnitude.LEGEND_FRACTIONS)
    labels, caption = magnitude.legend_labels("update", None)
    assert labels == ["0", "0.062", "0.25", "0.56", "≥1"]
    assert caption.startswith("size: |Δw|") and "÷ its tensor's 99th percentile" in caption
