from itertools import pairwise

import numpy as np
import pytest

from nnviz_addon.history import LayerSpec
from nnviz_addon.picture.layout import camera_framing, layout_network
from nnviz_addon.picture.shapes import CHAR_WIDTH, CUBE_SIZE
from nnviz_addon.picture.view_layout import layout_for_frame
from tests.support.histories import mlp


def all_positions(layout) -> np.ndarray:
    return np.concatenate([b.positions for b in layout.blocks])


@pytest.mark.parametrize("sizes", [(3, 3), (2, 4, 1), (64, 32, 10), (2, 16, 16, 1)])
def test_one_cube_per_parameter_none_overlapping(sizes):
    structure, shapes = mlp(*sizes)
    layout = layout_network(structure, shapes)
    assert layout.cube_count == sum(int(np.prod(s)) for s in shapes.values())
    positions = all_positions(layout)
    # Cubes sit on a unit grid: no two share a cell.
    assert len({tuple(p) for p in np.round(positions, 6)}) == len(positions)


def test_digits_weight_is_a_32_by_64_grid_with_the_bias_strip_beside_it():
    layout = layout_network(*mlp(64, 32, 10))
    weight, bias = layout.blocks[0], layout.blocks[1]
    assert (weight.key, bias.key) == ("0.weight", "0.bias")
    assert len(np.unique(weight.positions[:, 0])) == 64 and len(np.unique(weight.positions[:, 2])) == 32
    # Element [r, c] is at row r (downwards) and column c (rightwards), like a printed matrix.
    i = list(map(tuple, weight.indices.tolist())).index((2, 1))
    np.testing.assert_allclose(weight.positions[i] - weight.positions[0], [1.0, 0.0, -2.0])
    assert weight.cube_name(i) == "layer 0 · weight[2,1]"
    # Bias: one column right of the grid, its rows level with the weight rows.
    assert len(np.unique(bias.positions[:, 0])) == 1 and bias.positions[0, 0] > weight.positions[:, 0].max()
    np.testing.assert_allclose(np.sort(bias.positions[:, 2]), np.unique(weight.positions[:, 2]))


def test_layers_run_left_to_right_and_labels_do_not_collide():
    layout = layout_network(*mlp(2, 4, 1))
    lefts = [b.positions[:, 0].min() for b in layout.blocks if b.role == "weight"]
    assert lefts == sorted(lefts)
    labels = list(layout.layer_labels.values())
    assert [lab.text for lab in labels] == ["layer 0 · Linear 2→4", "layer 2 · Linear 4→1"]
    first_end = labels[0].position[0] + len(labels[0].text) * CHAR_WIDTH * labels[0].size
    assert first_end < labels[1].position[0]
    # Labels sit above the cubes, the overlay anchor above the labels.
    top = all_positions(layout)[:, 2].max()
    assert all(lab.position[2] > top for lab in labels)
    assert layout.overlay_anchor[2] > max(lab.position[2] + lab.size for lab in labels)


def test_bounds_hold_cubes_legend_and_overlay():
    caption = "a long legend caption for a small network"
    with_caption = layout_network(*mlp(3, 3), legend_caption=caption)
    assert with_caption.bounds[1][0] > layout_network(*mlp(3, 3)).bounds[1][0]
    layout = layout_network(*mlp(64, 32, 10))
    (x0, _, z0), (x1, _, z1) = layout.bounds
    points = np.concatenate([all_positions(layout), layout.legend.segment_positions,
                             np.array(layout.legend.value_label_anchors), [layout.overlay_anchor]])
    assert np.all(points[:, 0] >= x0) and np.all(points[:, 0] <= x1)
    assert np.all(points[:, 2] >= z0) and np.all(points[:, 2] <= z1)
    assert layout.legend.segment_positions[:, 2].max() < all_positions(layout)[:, 2].min()


def test_norm_layers_draw_weight_and_bias_as_two_strips():
    structure, shapes = mlp(3, 8)
    structure.append(LayerSpec("1", "LayerNorm", 8, 8, "1.weight", "1.bias"))
    shapes.update({"1.weight": (8,), "1.bias": (8,)})
    layout = layout_network(structure, shapes)
    weight, bias = layout.blocks[2], layout.blocks[3]
    assert len(np.unique(weight.positions[:, 0])) == 1 and len(np.unique(bias.positions[:, 0])) == 1
    assert bias.positions[0, 0] > weight.positions[0, 0]
    assert layout.layer_labels["1"].text == "layer 1 · LayerNorm 8"


def test_parameters_no_layer_names_still_get_cubes():
    structure, shapes = mlp(3, 3)
    shapes["extra.kernel"] = (2, 3, 4)
    layout = layout_network(structure, shapes)
    assert layout.cube_count == 9 + 3 + 24
    assert layout.blocks[-1].key == "extra.kernel" and layout.blocks[-1].indices.shape == (24, 3)


def test_shape_mismatch_names_both_shapes():
    structure, shapes = mlp(3, 4)
    shapes["0.weight"] = (3, 4)
    with pytest.raises(ValueError, match=r"'0\.weight'.*\(3, 4\).*expected \(4, 3\)"):
        layout_network(structure, shapes)
    with pytest.raises(ValueError, match="lacks"):
        layout_network(structure, {"0.weight": (4, 3)})


@pytest.mark.parametrize("sizes", [(3, 3), (64, 32, 10)])
def test_size_legend_row_under_the_colour_legend(sizes):
    texts = ["0", "0.00012", "0.0005", "0.0011", "≥0.002"]
    caption = "size: |∂L/∂w|, gradient"
    plain = layout_network(*mlp(*sizes))
    assert plain.size_legend is None
    layout = layout_network(*mlp(*sizes), size_labels=texts, size_caption=caption)
    legend = layout.size_legend
    assert [label.text for label in legend.labels] == texts and legend.caption.text == caption
    # Full-size cubes in one row below the colour legend's labels, each label centred under its cube.
    assert len(set(legend.positions[:, 2])) == 1
    assert legend.positions[0, 2] + CUBE_SIZE / 2 < layout.legend.value_label_anchors[0][2] - 0.6 * layout.text_size
    for label, (x, _, z) in zip(legend.labels, legend.positions, strict=True):
        assert label.align == "CENTER" and label.position[0] == x and label.position[2] + label.size < z
    # Neighbouring labels don't touch; the caption starts after the last cube.
    widths = [len(t) * CHAR_WIDTH * legend.labels[0].size for t in texts]
    for (a, b), (wa, wb) in zip(pairwise(legend.positions[:, 0]), pairwise(widths), strict=True):
        assert a + wa / 2 < b - wb / 2
    assert legend.caption.position[0] > legend.positions[-1, 0] + CUBE_SIZE / 2
    # The frame grows to hold it; nothing else moves.
    (_, _, z0), (x1, _, _) = layout.bounds
    caption_end = legend.caption.position[0] + len(caption) * CHAR_WIDTH * legend.caption.size
    assert z0 < min(label.position[2] for label in legend.labels) and x1 >= caption_end
    assert z0 < plain.bounds[0][2] and layout.bounds[1] >= plain.bounds[1]
    np.testing.assert_array_equal(all_positions(layout), all_positions(plain))


@pytest.mark.parametrize("aspect", [16 / 9, 1.0, 9 / 16])
def test_camera_framing_shows_the_bounds(aspect):
    bounds = ((0.0, 0.0, -32.0), (110.0, 0.0, 12.0))
    (cx, _, cz), scale = camera_framing(bounds, aspect)
    frame_w, frame_h = (scale, scale / aspect) if aspect >= 1 else (scale * aspect, scale)
    assert cx - frame_w / 2 < 0 and cx + frame_w / 2 > 110
    assert cz - frame_h / 2 < -32 and cz + frame_h / 2 > 12
    with pytest.raises(ValueError, match="aspect"):
        camera_framing(bounds, 0.0)


def test_task_view_goes_under_a_short_last_layer_and_clear_of_the_legends():
    from nnviz_addon.picture.view_layout import place_views

    layout = layout_network(*mlp(64, 32, 10), legend_caption="weight / bias value")
    legend_right = layout.legend_bounds[1][0]
    caption_width = len("weight / bias value") * CHAR_WIDTH * layout.legend.text_size
    assert legend_right == pytest.approx(layout.legend.caption_anchor[0] + caption_width)
    task = place_views(layout, overlay_width=10.0).task
    last = [b for b in layout.blocks if b.layer == "2"]
    assert task.left >= min(b.positions[:, 0].min() for b in last) - 0.5 and task.left > legend_right
    assert task.top < min(b.positions[:, 2].min() for b in last)
    # A tall last layer leaves no room under it: the view goes right of everything.
    tall = layout_network(*mlp(3, 3))
    assert place_views(tall, overlay_width=10.0).task.left > tall.bounds[1][0]


PORTRAIT = 9 / 16


def layer_boxes(layout) -> list[tuple[float, float, float, float]]:
    """(left, right, bottom, top) of each layer's cubes and its label, in layout order."""
    boxes = []
    for name, label in layout.layer_labels.items():
        cubes = np.concatenate([b.positions for b in layout.blocks if b.layer == name])
        (x, _, z), size = label.position, label.size
        boxes.append((min(cubes[:, 0].min() - CUBE_SIZE / 2, x),
                      max(cubes[:, 0].max() + CUBE_SIZE / 2, x + len(label.text) * CHAR_WIDTH * size),
                      cubes[:, 2].min() - CUBE_SIZE / 2, max(cubes[:, 2].max() + CUBE_SIZE / 2, z + size)))
    return boxes


@pytest.mark.parametrize("sizes", [(64, 32, 10), (2, 16, 16, 1), (3, 8, 3)])
def test_stacked_layers_run_top_to_bottom(sizes):
    layout = layout_network(*mlp(*sizes), aspect=PORTRAIT, stacked=True)
    assert layout.stacked
    boxes = layer_boxes(layout)
    # Input first, at the top; each layer (label included) wholly under the one before: no overlap.
    for upper, lower in pairwise(boxes):
        assert upper[2] > lower[3]
    # Left-aligned, each label above its own weight grid.
    weights = [b for b in layout.blocks if b.role == "weight"]
    assert {float(w.positions[:, 0].min()) for w in weights} == {0.5}
    for weight in weights:
        label = layout.layer_labels[weight.layer]
        assert label.position[0] == 0.0 and label.position[2] > weight.positions[:, 2].max()
    # Every block keeps its own arrangement: a grid of out rows × in columns, the bias strip right of
    # it with its rows level with the weight rows.
    for weight, bias in zip(layout.blocks[::2], layout.blocks[1::2], strict=True):
        out, inputs = weight.shape
        assert len(np.unique(weight.positions[:, 2])) == out and len(np.unique(weight.positions[:, 0])) == inputs
        assert bias.positions[0, 0] > weight.positions[:, 0].max()
        np.testing.assert_allclose(np.sort(bias.positions[:, 2]), np.unique(weight.positions[:, 2]))
    # The legend under the last layer, the overlay above the first label; the bounds hold them all.
    assert layout.legend.segment_positions[:, 2].max() < boxes[-1][2]
    assert layout.overlay_anchor[2] > boxes[0][3]
    (x0, _, z0), (x1, _, z1) = layout.bounds
    assert x0 <= min(b[0] for b in boxes) and x1 >= max(b[1] for b in boxes)
    assert z0 < boxes[-1][2] and z1 > boxes[0][3]


@pytest.mark.parametrize("aspect", [16 / 9, 1.0])
def test_landscape_and_square_frames_keep_the_row(aspect):
    layout = layout_for_frame(*mlp(64, 32, 10), aspect=aspect)
    assert not layout.stacked
    boxes = layer_boxes(layout)
    for left, right in pairwise(boxes):
        assert left[1] < right[0]
    assert len({float(b.positions[:, 2].max()) for b in layout.blocks}) == 1  # top-aligned


def framed_picture(layout, aspect: float):
    """The views placed for ``layout`` and the frame (left, right, bottom, top) the camera shows of the
    whole picture: cubes, labels, legends, neurons, task view, loss curve and overlay text."""
    from nnviz_addon.picture.view_layout import neuron_extent, place_views, union

    overlay_width = len("loss 0.00556   accuracy 100.0%") * CHAR_WIDTH * layout.text_size
    places = place_views(layout, overlay_width, aspect)
    (x, _, z), size = layout.overlay_anchor, layout.text_size
    neuron_left, neuron_right = neuron_extent(places.neurons)
    bounds = union(layout.bounds, ((x, 0.0, z - 5 * size), (x + overlay_width, 0.0, z)),
                   ((neuron_left, 0.0, places.neurons.bottom), (neuron_right, 0.0, places.neurons.top)),
                   *(((r.left, 0.0, r.bottom), (r.right, 0.0, r.top)) for r in (places.task, places.loss)))
    (cx, _, cz), scale = camera_framing(bounds, aspect)
    width, height = (scale, scale / aspect) if aspect >= 1 else (scale * aspect, scale)
    return places, (cx - width / 2, cx + width / 2, cz - height / 2, cz + height / 2)


@pytest.mark.parametrize("sizes", [(64, 32, 10), (2, 16, 16, 1), (2, 4, 1), (3, 3)])
def test_every_cube_of_a_stacked_network_is_inside_the_portrait_frame(sizes):
    layout = layout_network(*mlp(*sizes), aspect=PORTRAIT, legend_caption="weight / bias value", stacked=True)
    _, (left, right, bottom, top) = framed_picture(layout, PORTRAIT)
    cubes = all_positions(layout)
    assert np.all(cubes[:, 0] - CUBE_SIZE / 2 > left) and np.all(cubes[:, 0] + CUBE_SIZE / 2 < right)
    assert np.all(cubes[:, 2] - CUBE_SIZE / 2 > bottom) and np.all(cubes[:, 2] + CUBE_SIZE / 2 < top)


def test_a_stacked_network_spans_the_width_of_a_9_16_frame():
    # Digits' 64-32-10 in a row is a thin strip across a tall frame (a cell 1/180 of its width); stacked,
    # its widest layer spans most of the width, with cells over twice as large.
    layout = layout_for_frame(*mlp(64, 32, 10), aspect=PORTRAIT, legend_caption="weight / bias value")
    assert layout.stacked
    _, (left, right, _, _) = framed_picture(layout, PORTRAIT)
    cubes = all_positions(layout)
    network_width = cubes[:, 0].max() - cubes[:, 0].min() + CUBE_SIZE
    assert network_width >= 0.7 * (right - left)
    assert right - left <= 100  # cells across the frame


def test_a_row_wraps_onto_shelves_with_each_label_on_two_lines():
    structure, shapes = mlp(4, 6, 6, 6, 6, 3)  # five layers
    layout = layout_network(structure, shapes, per_shelf=2, text_size=1.0)
    tops = {}
    for block in layout.blocks:
        tops[block.layer] = max(tops.get(block.layer, -np.inf), float(block.positions[:, 2].max()))
    shelf_tops = sorted({round(top, 6) for top in tops.values()}, reverse=True)
    assert len(shelf_tops) == 3  # 2 + 2 + 1 layers
    assert [round(tops[s.name], 6) for s in structure] == [shelf_tops[i // 2] for i in range(5)]
    assert layout.grouped and not layout.stacked
    for spec in structure:
        label = layout.layer_labels[spec.name]
        assert label.text == f"layer {spec.name}\nLinear {spec.in_features}→{spec.out_features}"
        # Its second line's baseline stays above the layer's cubes.
        assert label.position[2] - 1.2 * label.size > tops[spec.name] + 0.5
    assert layout.overlay_anchor[2] > max(label.position[2] + label.size for label in layout.layer_labels.values())
    one_row = layout_network(structure, shapes, text_size=1.0)
    assert all("\n" not in label.text for label in one_row.layer_labels.values()) and not one_row.grouped


def test_layers_without_labels_keep_an_empty_label_each_and_a_note_under_them():
    structure, shapes = mlp(4, 6, 3)
    named = layout_network(structure, shapes, text_size=1.0)
    unnamed = layout_network(structure, shapes, text_size=1.0, labels=False)
    assert list(unnamed.layer_labels) == list(named.layer_labels)  # the scene's collections, one per layer
    assert all(label.text == "" for label in unnamed.layer_labels.values())
    (note,) = unnamed.part_labels
    assert note.text == "labels hidden: the names of 2 layers would be too small to read in this frame"
    lowest_cube = min(float(b.positions[:, 2].min()) for b in unnamed.blocks)
    assert lowest_cube - 0.5 > note.position[2] + note.size > unnamed.legend.segment_positions[0, 2]
