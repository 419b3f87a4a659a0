"""The whole-model picture, checked without Blender: every parameter of a recorded torch model gets
exactly one cube per value, drawn as its kind is (Q/K/V, gates, kernels, arcs, marks). That every group
lies inside the frame, groups don't overlap and labels are legible: tests/picture/test_legibility.py."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.picture import features
from nnviz_addon.picture.model_layout import layout_model
from nnviz_addon.picture.view_layout import layout_for_frame

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tests.support.torch_zoo import train_recorded, zoo  # noqa: E402

ZOO = sorted(zoo())
WIDTH, HEIGHT = 1280, 720


def recorded(name: str):
    model, x, y = zoo()[name]
    rec, _ = train_recorded(model, x, y, steps=1)
    return rec.history()


def whole_layout(history):
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    return layout_for_frame(history.structure, shapes, WIDTH / HEIGHT, input_shape=history.input_shape,
                            feature_maps=features.feature_maps(history), graph=history.graph)


@pytest.fixture(scope="module", params=ZOO)
def drawn(request):
    history = recorded(request.param)
    return request.param, history, whole_layout(history)


def test_every_value_of_every_parameter_has_one_cube(drawn):
    _, history, layout = drawn
    assert {block.key for block in layout.blocks} == set(history.params)
    for key, values in history.params.items():
        indices = np.concatenate([b.indices for b in layout.blocks if b.key == key])
        assert len(indices) == values[0].size
        assert len({tuple(i) for i in indices.tolist()}) == values[0].size  # each value once
    positions = np.concatenate([b.positions for b in layout.blocks])
    assert len(np.unique(np.round(positions, 6), axis=0)) == len(positions)  # no two cubes in one place


def test_attention_is_drawn_as_q_k_v_with_a_tile_per_head():
    history = recorded("transformer")
    layout = whole_layout(history)
    (block,) = [b for b in layout.blocks if b.key == "encoder.layers.0.self_attn.in_proj_weight"]
    embed, heads = 8, 2
    rows, columns = block.indices[:, 0], block.indices[:, 1]
    x, z = block.positions[:, 0], block.positions[:, 2]
    for part in range(3):  # Q, K, V side by side: each part's columns left of the next part's
        inside = (rows // embed) == part
        later = (rows // embed) == part + 1
        if later.any():
            assert x[inside].max() < x[later].min() - 1
    first_head = (rows % embed) < embed // heads
    assert z[first_head].min() > z[~first_head].max() + 1  # a gap between the heads' tiles
    assert np.all(np.diff(x[(rows == 0)]) > 0) and len(np.unique(columns)) == embed
    # At 16:9 its names would be too small to read (the frame hides them, test_legibility.py): laid out
    # with text of its own size, each attention's tiles are captioned.
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    named = layout_model(history.graph, history.structure, shapes, text_size=1.0)
    captions = [label.text for label in named.part_labels]
    assert captions.count("Q") == captions.count("K") == captions.count("V") == 2


def test_recurrent_weights_are_split_by_gate():
    history = recorded("lstm")
    layout = whole_layout(history)
    (block,) = [b for b in layout.blocks if b.key == "rnn.weight_ih_l0"]
    gate = block.indices[:, 0] // 5  # hidden size 5, gates i f g o
    z = block.positions[:, 2]
    for g in range(3):
        assert z[gate == g].min() > z[gate == g + 1].max() + 1
    captions = [label.text for label in layout.part_labels]
    assert "weight_hh_l1 (i f g o)" in captions


def test_a_conv1d_kernel_is_drawn_as_tiles_and_free_parameters_are_named():
    history = recorded("conv1d")
    layout = whole_layout(history)
    (block,) = [b for b in layout.blocks if b.key == "conv.weight"]  # (3 out, 2 in, 3 taps)
    out = block.indices[:, 0]
    assert len({tuple(np.round(block.positions[out == o].min(axis=0), 6)) for o in range(3)}) == 3
    history = recorded("free_parameters")
    layout = whole_layout(history)
    assert {"scale, cls · Parameter"} <= {label.text for label in layout.layer_labels.values()}
    assert {"norm.weight", "norm.bias"} <= {b.key for b in layout.blocks}


def test_a_residual_is_an_arc_from_where_it_leaves_to_where_it_is_added():
    history = recorded("residual_mlp")
    layout = whole_layout(history)
    (arc,) = layout.skips
    centre = {name: np.concatenate([b.positions for b in layout.blocks if b.layer == name])[:, 0].mean()
              for name in ("inp", "block.2")}
    assert arc[0, 0] == pytest.approx(centre["inp"], abs=3) and arc[-1, 0] == pytest.approx(centre["block.2"], abs=3)
    assert arc[:, 2].min() < min(arc[0, 2], arc[-1, 2])  # it bows under the groups


def test_the_frame_shows_the_graphs_notes_under_the_model():
    history = recorded("transformer")
    layout = whole_layout(history)
    (note,) = [label for label in layout.part_labels if label.text.startswith("probe tokens: ")]
    lowest_cube = min(float(b.positions[:, 2].min()) for b in layout.blocks)
    assert note.position[2] < lowest_cube


def test_the_rows_a_token_probe_looks_up_are_marked_with_their_positions():
    model, x, y = zoo()["bag_of_embeddings"]
    rec, _ = train_recorded(model, x, y, steps=1)
    layout = whole_layout(rec.history())
    (table,) = [b for b in layout.blocks if b.key == "emb.weight"]
    marks = {label.text: label.position[2] for label in layout.part_labels if label.text.startswith("< ")}
    for position, token in enumerate(x[0].tolist()):
        (text,) = [t for t in marks if str(position) in t[2:].split(", ")]
        row_z = table.positions[table.indices[:, 0] == token][:, 2]
        assert row_z.min() - 0.5 < marks[text] < row_z.max() + 0.5  # beside that token's row


def test_a_wide_free_parameter_is_wrapped_into_bands():
    from nnviz_addon.picture.model_layout import tensor_cells

    positions, indices, width, height = tensor_cells((1, 768))
    assert len(np.unique(positions, axis=0)) == 768 and width < 100 and height > 10
    assert sorted(indices[:, 1].tolist()) == list(range(768))


def test_a_model_drawn_without_names_keeps_its_groups_and_says_so():
    history = recorded("residual_mlp")
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    named = layout_model(history.graph, history.structure, shapes, text_size=1.0)
    unnamed = layout_model(history.graph, history.structure, shapes, text_size=1.0, labels=False)
    assert set(unnamed.layer_labels) == set(named.layer_labels)  # the scene's collections, one per group
    assert all(label.text == "" for label in unnamed.layer_labels.values())
    (note,) = [label.text for label in unnamed.part_labels]
    assert note.startswith("labels hidden: ") and "too small to read" in note
