import numpy as np
import pytest

from nnviz_addon.picture import colormap


def luminance(linear_rgb: np.ndarray) -> np.ndarray:
    return linear_rgb[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def test_shape_alpha_and_vectorised():
    values = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    rgba = colormap.colors(values, 2.0)
    assert rgba.shape == (2, 3, 4, 4)
    assert np.all(rgba[..., 3] == 1.0)
    assert np.all((rgba >= 0) & (rgba <= 1))
    np.testing.assert_array_equal(rgba.reshape(-1, 4), colormap.colors(values.ravel(), 2.0))


def test_zero_is_a_light_neutral_and_signs_are_blue_and_red():
    zero, negative, positive = colormap.colors(np.array([0.0, -1.0, 1.0]), 1.0)
    assert np.ptp(zero[:3]) < 0.01 and luminance(zero) > 0.85
    assert negative[2] > 2 * negative[0]  # blue
    assert positive[0] > 2 * positive[2]  # red
    # Distinct from the map's ends and from small values
    assert np.abs(zero - colormap.colors(np.array([0.15]), 1.0)[0]).max() > 0.05


def test_lightness_falls_symmetrically_away_from_zero():
    t = np.linspace(0, 1, 50)
    light_pos = luminance(colormap.colors(t, 1.0))
    light_neg = luminance(colormap.colors(-t, 1.0))
    assert np.all(np.diff(light_pos) < 0) and np.all(np.diff(light_neg) < 0)
    np.testing.assert_allclose(light_pos, light_neg, atol=0.06)


def test_scale_clips_and_zero_scale_is_neutral():
    beyond, end = colormap.colors(np.array([5.0, 1.0]), 1.0)
    np.testing.assert_array_equal(beyond, end)
    np.testing.assert_array_equal(colormap.colors(np.array([3.0, -3.0]), 0.0),
                                  colormap.colors(np.zeros(2), 1.0))
    per_value = colormap.colors(np.array([1.0, 1.0]), np.array([1.0, 2.0]))
    assert not np.allclose(per_value[0], per_value[1])


def test_not_finite_values_are_grey():
    rgba = colormap.colors(np.array([np.nan, np.inf]), 1.0)
    np.testing.assert_allclose(rgba[0, :3], colormap.srgb_to_linear(np.array(colormap.NAN_COLOR_SRGB)))
    assert rgba[1, 0] > rgba[1, 2]  # +inf clips to the red end


def test_srgb_round_trip_and_known_points():
    x = np.linspace(0, 1, 101)
    np.testing.assert_allclose(colormap.linear_to_srgb(colormap.srgb_to_linear(x)), x, atol=1e-12)
    assert colormap.srgb_to_linear(np.array(0.5)) == pytest.approx(0.21404, abs=1e-5)


@pytest.mark.parametrize("scale", [-1.0, np.nan])
def test_bad_scale_is_named(scale):
    with pytest.raises(ValueError, match="scale"):
        colormap.colors(np.zeros(3), scale)


def test_tabulated_colors_match_the_exact_map():
    # colors() interpolates a table; it must stay far below one 8-bit step from the exact map.
    values = np.linspace(-1.3, 1.3, 100_003)
    exact = colormap.srgb_to_linear(colormap.colors_srgb(values, 1.2))
    np.testing.assert_allclose(colormap.colors(values, 1.2)[:, :3], exact, rtol=0, atol=1e-6)
