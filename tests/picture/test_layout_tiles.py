"""Big and image-shaped layers: first-layer weights as image tiles, conv kernels as tiles, wide
matrices wrapped into bands, and how many pixels a cube gets in a frame (pure numpy, no bpy)."""


import numpy as np
import pytest

from nnviz_addon.history import LayerSpec
from nnviz_addon.picture.layout import layout_network
from nnviz_addon.picture.shapes import CHAR_WIDTH
from nnviz_addon.picture.view_layout import cube_pixels, layout_for_frame
from tests.support.histories import mlp


def block(layout, key: str):
    (found,) = [b for b in layout.blocks if b.key == key]
    return found


def by_index(b) -> dict[tuple[int, ...], np.ndarray]:
    return {tuple(i): p for i, p in zip(b.indices.tolist(), b.positions, strict=True)}


def distinct_cells(layout) -> bool:
    positions = np.round(np.concatenate([b.positions for b in layout.blocks]), 6)
    return len({tuple(p) for p in positions}) == len(positions)


def test_digits_first_layer_is_32_tiles_of_8x8_in_a_near_square_grid():
    layout = layout_network(*mlp(64, 32, 10), input_shape=(8, 8))
    weight, bias = block(layout, "0.weight"), block(layout, "0.bias")
    cells = by_index(weight)
    corners = []
    for unit in range(32):
        # Unit u's 64 weights are an 8×8 image: input r*8+c at column c, row r of its tile.
        tile = np.array([cells[(unit, k)] for k in range(64)])
        top_left = tile[0]
        expected = top_left + np.array([[c, 0.0, -r] for r in range(8) for c in range(8)])
        np.testing.assert_allclose(tile, expected)
        corners.append(top_left)
        # Its bias sits right of its tile, level with the tile's top row, nearer its own tile than any other.
        b = by_index(bias)[(unit,)]
        assert b[2] == top_left[2] and b[0] > tile[:, 0].max()
    corners = np.array(corners)
    xs, zs = np.unique(corners[:, 0]), np.unique(corners[:, 2])
    assert (len(xs), len(zs)) == (6, 6)  # 32 tiles: 6 × 6 with the last row part full
    # Tiles in unit order, row by row: unit 7 is the second row's second tile.
    assert (corners[7, 0], corners[7, 2]) == (xs[1], zs[-2])
    # A gap between tiles, wider than the one between a tile and its bias.
    pitch = np.diff(xs)[0]
    assert pitch > 8 + 1 + 1
    tile_right = corners[:, 0].min() + 7
    bias_gap = by_index(bias)[(0,)][0] - tile_right
    next_tile_gap = xs[1] - by_index(bias)[(0,)][0]
    assert 1 < bias_gap < next_tile_gap
    assert distinct_cells(layout)
    assert layout.layer_labels["0"].text == "layer 0 · Linear 64→32"


def test_channel_images_of_one_unit_lie_side_by_side():
    layout = layout_network(*mlp(2 * 3 * 4, 5, 2), input_shape=(2, 3, 4))
    cells = by_index(block(layout, "0.weight"))
    first = cells[(0, 0)]
    # Input (c, h, w) is flat index c*12 + h*4 + w (torch's flatten); channel 1 starts right of channel 0.
    np.testing.assert_allclose(cells[(0, 1 * 12 + 2 * 4 + 3)] - first, [3 + 4 + 1, 0.0, -2])
    np.testing.assert_allclose(cells[(0, 2 * 4 + 3)] - first, [3, 0.0, -2])
    assert distinct_cells(layout)


@pytest.mark.parametrize("input_shape", [None, (64,), (4, 4), (1, 8, 8, 1)])
def test_no_tiles_without_an_image_that_fits_the_first_layer(input_shape):
    plain = layout_network(*mlp(64, 32, 10))
    layout = layout_network(*mlp(64, 32, 10), input_shape=input_shape)
    for a, b in zip(plain.blocks, layout.blocks, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)


def conv_net() -> tuple[list[LayerSpec], dict[str, tuple[int, ...]]]:
    """digits_cnn's parameters, as a hand-made History structure would list them."""
    structure = [LayerSpec("0", "Conv2d", 1, 8, "0.weight", "0.bias", "relu"),
                 LayerSpec("3", "Conv2d", 8, 16, "3.weight", "3.bias", "relu"),
                 LayerSpec("6", "Linear", 144, 10, "6.weight", "6.bias")]
    shapes = {"0.weight": (8, 1, 3, 3), "0.bias": (8,), "3.weight": (16, 8, 3, 3), "3.bias": (16,),
              "6.weight": (10, 144), "6.bias": (10,)}
    return structure, shapes


def test_conv_weights_are_a_tile_per_channel_pair_with_the_bias_beside_each_row():
    layout = layout_network(*conv_net())
    assert layout.cube_count == 72 + 8 + 1152 + 16 + 1440 + 10
    assert distinct_cells(layout)
    weight, bias = block(layout, "3.weight"), block(layout, "3.bias")
    cells = by_index(weight)
    origin = cells[(0, 0, 0, 0)]
    # Output channel o is tile row o, input channel i tile column i; each tile 3×3, one cell apart.
    for o, i, y, x in [(0, 0, 2, 1), (5, 3, 0, 2), (15, 7, 2, 2)]:
        np.testing.assert_allclose(cells[(o, i, y, x)] - origin, [i * 4 + x, 0.0, -(o * 4 + y)])
    # The bias of output channel o: right of the row's last tile, level with the row's top.
    last_tile_right = origin[0] + 7 * 4 + 2
    for o in range(16):
        b = by_index(bias)[(o,)]
        assert b[0] > last_tile_right and b[2] == origin[2] - o * 4
    labels = [label.text for label in layout.layer_labels.values()]
    assert labels == ["layer 0 · Conv2d 1→8 3×3", "layer 3 · Conv2d 8→16 3×3", "layer 6 · Linear 144→10"]
    # Every cube and label inside the bounds.
    (x0, _, z0), (x1, _, z1) = layout.bounds
    everything = np.concatenate([b.positions for b in layout.blocks])
    assert np.all((everything[:, 0] >= x0) & (everything[:, 0] <= x1))
    assert np.all((everything[:, 2] >= z0) & (everything[:, 2] <= z1))
    for label in layout.layer_labels.values():
        assert label.position[0] + len(label.text) * CHAR_WIDTH * label.size <= x1


def test_a_conv_weight_that_is_not_4d_is_refused():
    structure, shapes = conv_net()
    shapes["0.weight"] = (8, 9)
    with pytest.raises(ValueError, match=r"'0\.weight' of Conv2d layer '0' has shape \(8, 9\), expected \(out, in"):
        layout_network(structure, shapes)


def test_a_wide_output_layer_wraps_into_bands_under_each_other():
    layout = layout_network(*mlp(784, 128, 10), input_shape=(28, 28))
    weight, bias = block(layout, "2.weight"), block(layout, "2.bias")
    cells = by_index(weight)
    rows = np.unique(weight.positions[:, 2])
    assert len(rows) == 3 * 10  # 10×128 as three bands of 10 rows
    per_band = len(np.unique(weight.positions[:, 0]))
    assert per_band == 43
    # Column c goes to band c // 43, its row r of that band, one cell gap between bands.
    np.testing.assert_allclose(cells[(4, 43 * 2 + 5)] - cells[(0, 0)], [5, 0.0, -(2 * 11 + 4)])
    # The bias strip beside the first band, level with its rows.
    np.testing.assert_allclose(np.sort(bias.positions[:, 2]), np.sort(cells[(0, 0)][2] - np.arange(10)))
    assert bias.positions[0, 0] > weight.positions[:, 0].max()
    assert distinct_cells(layout)


def test_small_strips_stay_one_row():
    layout = layout_network(*mlp(2, 16, 16, 1))
    assert len(np.unique(block(layout, "4.weight").positions[:, 2])) == 1


def test_cube_pixels_scale_with_the_frame():
    layout = layout_for_frame(*mlp(64, 32, 10), aspect=16 / 9, input_shape=(8, 8))
    assert cube_pixels(layout, (2560, 1440)) == pytest.approx(2 * cube_pixels(layout, (1280, 720)))
    assert cube_pixels(layout, (1280, 720)) > 5


def big_layout(sizes, resolution, input_shape=(28, 28)):
    return layout_for_frame(*mlp(*sizes), aspect=resolution[0] / resolution[1],
                            legend_caption="weight / bias value", input_shape=input_shape)


def test_mnist_mlp_tiles_at_1080p_and_the_resolution_readme_names_for_two_pixels():
    # docs/big-networks.md: 784-128-10 with input_shape (28, 28) draws 128 tiles of 28×28 whose cubes are
    # about 1.7 px wide at 1920×1080 (each tile some 60 px wide), 2 px or more from 2560×1440.
    at_1080 = cube_pixels(big_layout((784, 128, 10), (1920, 1080)), (1920, 1080))
    assert 1.5 <= at_1080 < 2
    assert cube_pixels(big_layout((784, 128, 10), (2560, 1440)), (2560, 1440)) >= 2
    # Without an input shape the 128×784 matrix wraps into two bands: 2 px at 1920×1080.
    assert cube_pixels(big_layout((784, 128, 10), (1920, 1080), None), (1920, 1080)) >= 2


def test_a_million_parameters_need_an_8k_frame_for_two_pixel_cubes():
    # docs/big-networks.md: 784-1024-128-10's 802,816 first-layer weights can't all be 2 px wide in
    # 1920×1080's 2 million pixels; every cube is still drawn, and 7680×4320 shows each at 2 px.
    sizes = (784, 1024, 128, 10)
    assert cube_pixels(big_layout(sizes, (1920, 1080)), (1920, 1080)) < 1
    assert cube_pixels(big_layout(sizes, (7680, 4320)), (7680, 4320)) >= 2
    layout = big_layout(sizes, (1920, 1080))
    assert layout.cube_count == 784 * 1024 + 1024 + 1024 * 128 + 128 + 128 * 10 + 10
