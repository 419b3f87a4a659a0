"""Feature maps in the picture (pure numpy, no bpy): the probe image and each image layer's maps as
channel grids in a band under the layers, every map present and shaped as recorded, clear of the
weights, the labels and the learning views, inside what the camera frames."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon import api
from nnviz_addon.history import History
from nnviz_addon.history.keys import FEATURE_KINDS
from nnviz_addon.picture import features, view_layout
from nnviz_addon.picture.shapes import CUBE_SIZE, text_width


@pytest.fixture(scope="module")
def cnn() -> History:
    return api.train("digits_cnn", steps=20)


def shapes_of(history: History) -> dict[str, tuple[int, ...]]:
    return {key: array.shape[1:] for key, array in history.params.items()}


def layout_of(history: History, aspect: float = 16 / 9):
    return view_layout.layout_for_frame(history.structure, shapes_of(history), aspect,
                                        input_shape=history.input_shape,
                                        feature_maps=features.feature_maps(history))


def cell_box(positions: np.ndarray) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of a set of cubes."""
    h = CUBE_SIZE / 2
    return (positions[:, 0].min() - h, positions[:, 0].max() + h, positions[:, 2].min() - h,
            positions[:, 2].max() + h)


def label_box(label) -> tuple[float, float, float, float]:
    lines = label.text.split("\n")
    width = max(text_width(line, label.size) for line in lines)
    bottom = label.position[2] - 0.3 * label.size - (len(lines) - 1) * features.LINE_HEIGHT * label.size
    return label.position[0], label.position[0] + width, bottom, label.position[2] + label.size


def apart(a, b) -> bool:
    return a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]


def test_the_probe_image_and_every_recorded_layer_is_a_group_in_running_order(cnn):
    maps = features.feature_maps(cnn)
    assert [m.key for m in maps] == ["probe/image", "feature/0", "feature/2", "feature/3"]
    assert [m.shape for m in maps] == [(1, 8, 8), (8, 8, 8), (8, 4, 4), (16, 2, 2)]
    assert features.cell_count(maps) == 64 + 512 + 128 + 64
    assert [m.title for m in maps] == ["probe image\n1×8×8", "after Conv2d 0\n8×8×8", "after MaxPool2d 2\n8×4×4",
                                       "after Conv2d 3\n16×2×2"]
    # The pool has no LayerSpec: its class comes from feature_kinds; without it the name still shows.
    assert "2" not in {spec.name for spec in cnn.structure}
    kinds = cnn.static.pop(FEATURE_KINDS)
    try:
        assert features.feature_maps(cnn)[2].title == "after layer 2\n8×4×4"
        assert features.feature_maps(cnn)[1].title == "after Conv2d 0\n8×8×8"  # from the structure
    finally:
        cnn.static[FEATURE_KINDS] = kinds


@pytest.mark.parametrize("aspect", [16 / 9, 9 / 16, 1.0])
def test_each_channel_is_an_image_of_cubes_in_a_grid_clear_of_everything_else(cnn, aspect):
    layout = layout_of(cnn, aspect)
    maps = features.feature_maps(cnn)
    assert [b.key for b in layout.feature_blocks] == [m.key for m in maps]
    assert len(layout.feature_labels) == len(maps) + 1  # and the caption
    assert layout.feature_labels[-1].text == features.CAPTION
    channel_boxes, group_boxes = [], []
    for block, fmap in zip(layout.feature_blocks, maps, strict=True):
        channels, height, width = fmap.shape
        assert block.shape == fmap.shape and len(block.positions) == channels * height * width
        # Every cell once, in row-major order of (C, H, W), as the recorded values are flattened.
        np.testing.assert_array_equal(block.indices, np.indices(fmap.shape).reshape(3, -1).T)
        by_channel = block.positions.reshape(channels, height * width, 3)
        for c in range(channels):
            image = by_channel[c]
            expected = image[0] + np.array([[x, 0.0, -y] for y in range(height) for x in range(width)])
            np.testing.assert_allclose(image, expected)
            channel_boxes.append(cell_box(image))
        group_boxes.append(cell_box(block.positions))
    for i, a in enumerate(channel_boxes):
        assert all(apart(a, b) for b in channel_boxes[i + 1:])
    # Groups left to right in the signal's order, each under its own label.
    lefts = [box[0] for box in group_boxes]
    assert lefts == sorted(lefts)
    others = [cell_box(b.positions) for b in layout.blocks]
    others += [label_box(label) for label in layout.layer_labels.values()]
    others.append(cell_box(layout.legend.segment_positions))
    labels = [label_box(label) for label in layout.feature_labels]
    for i, box in enumerate(group_boxes + labels):
        assert all(apart(box, other) for other in others)
        assert all(apart(box, other) for other in (group_boxes + labels)[i + 1:] if other is not box)
    assert labels[-1][3] <= min(group[2] for group in group_boxes)  # the caption under the maps
    for group, label in zip(group_boxes, labels[:-1], strict=True):
        assert label[2] >= group[3] and label[0] == pytest.approx(group[0], abs=0.5)  # above its maps, left-aligned
    # The learning views keep clear of the maps too, and the camera frames them.
    places = view_layout.place_views(layout, overlay_width=30.0, aspect=aspect)
    task = places.task
    for box in group_boxes + labels:
        assert apart(box, (task.left, task.right, task.bottom, task.top))
        (x0, _, z0), (x1, _, z1) = layout.bounds
        assert x0 <= box[0] and box[1] <= x1 and z0 <= box[2] and box[3] <= z1


def test_the_band_keeps_as_low_as_the_width_it_is_given_allows():
    maps = [features.FeatureMap("feature/0", "0", "a", (8, 8, 8))]
    wide = features.place(maps, 0.0, 0.0, max_width=200.0, size=1.0)
    narrow = features.place(maps, 0.0, 0.0, max_width=40.0, size=1.0)
    height = {name: band.bounds[1][2] - band.bounds[0][2] for name, band in (("wide", wide), ("narrow", narrow))}
    assert wide.blocks[0].positions[:, 0].max() + 0.5 == pytest.approx(8 * 9 - 1)  # one row of eight maps
    assert narrow.bounds[1][0] <= 40.0 and height["narrow"] > height["wide"]
    with pytest.raises(ValueError, match="no feature maps"):
        features.place([], 0.0, 0.0, 10.0, 1.0)


def test_an_mlp_has_no_feature_maps_and_its_layout_is_unchanged():
    history = api.train("digits", steps=3)
    assert features.feature_maps(history) == []
    assert FEATURE_KINDS not in history.static
    shapes = shapes_of(history)
    plain = view_layout.layout_for_frame(history.structure, shapes, 16 / 9, input_shape=history.input_shape)
    assert plain.feature_blocks == [] and plain.features_bounds is None
    again = layout_of(history)  # asked for feature maps, of which an MLP run has none
    assert again.bounds == plain.bounds and again.layer_labels == plain.layer_labels
    for a, b in zip(again.blocks, plain.blocks, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)


def test_feature_kinds_survive_a_history_file(cnn, tmp_path):
    loaded = History.load(cnn.save(tmp_path / "cnn.npz"))
    assert [m.title for m in features.feature_maps(loaded)] == [m.title for m in features.feature_maps(cnn)]
    values = features.values_of(loaded, layout_of(loaded).feature_blocks[1])
    np.testing.assert_array_equal(values, cnn.series["feature/0"].reshape(cnn.records, -1))
    assert features.color_scale(values) == pytest.approx(float(np.abs(cnn.series["feature/0"]).max()))
