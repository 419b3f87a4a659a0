"""A layer-table model with a transformer or residual block gets a ModelGraph in the order its layer
table runs, with its residuals, so the picture draws the block as it is built (no bpy)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nnviz_addon.history import Skip
from nnviz_addon.picture.model_layout import layout_model
from nnviz_addon.preset.config import find_presets, load_preset, preset_from_dict
from nnviz_addon.training.run import TrainingRun, build_stack
from nnviz_addon.training.stack_graph import draws_as_graph, stack_graph

BLOCK = [{"type": "embedding", "dim": 16}, {"type": "positional"},
         {"type": "transformer", "heads": 2, "feedforward": 24},
         {"type": "residual", "layers": [{"type": "layernorm"}, {"type": "linear", "out": 20}, {"type": "gelu"},
                                         {"type": "linear", "out": 16}]},
         {"type": "linear", "out": 10}]


def graph_of(layers: list, shape: tuple[int, ...] = (8,), vocab: int = 10):
    model, structure = build_stack(layers, shape, np.random.default_rng(0), np.random.default_rng(1), vocab)
    return stack_graph(model, structure), structure


def test_modules_follow_the_layer_table_and_every_residual_is_an_arc():
    graph, _ = graph_of(BLOCK)
    # post-norm: norm1 runs between the attention and the feed-forward pair, norm2 last (registration
    # order would put both norms after linear2)
    assert [node.path for node in graph.modules if node.params] == [
        "0", "1", "2.self_attn", "2.self_attn.out_proj", "2.norm1", "2.linear1", "2.linear2", "2.norm2",
        "3.layers.0", "3.layers.1", "3.layers.3", "4"]
    assert graph.skips == (Skip("1", "2.self_attn"), Skip("2.norm1", "2.linear2"), Skip("2.norm2", "3.layers.3"))
    assert graph.module("2.self_attn").info == {"heads": 2}


def test_a_causal_pre_norm_block_keeps_its_residuals():
    causal = [*BLOCK[:2], {**BLOCK[2], "causal": True, "norm": "pre"}, BLOCK[-1]]
    graph, _ = graph_of(causal)
    assert graph.module("2").kind == "CausalEncoderLayer"
    assert graph.skips == (Skip("1", "2.self_attn"), Skip("2.self_attn", "2.linear2"))
    drawn = [node.path for node in graph.modules if node.params]
    assert drawn.index("2.norm1") < drawn.index("2.self_attn") < drawn.index("2.norm2") < drawn.index("2.linear1")


def test_a_residual_block_first_takes_the_models_input():
    layers = [{"type": "residual", "layers": [{"type": "linear", "out": 4}, {"type": "relu"},
                                              {"type": "linear", "out": 3}]}, {"type": "linear", "out": 2}]
    graph, _ = graph_of(layers, shape=(3,), vocab=0)
    assert graph.skips == (Skip("", "0.layers.2"),)


def test_only_transformer_and_residual_tables_are_drawn_as_graphs():
    assert draws_as_graph(BLOCK) and draws_as_graph([{"type": "linear", "out": 2}, BLOCK[3]])
    assert not draws_as_graph([{"type": "conv2d", "out": 4, "kernel": 3}, {"type": "flatten"}])
    cnn = TrainingRun(load_preset(find_presets()["digits_cnn"]).replace(train={"steps": 1}), probes=())
    assert cnn.history().graph is None  # drawn as before: a row of layers


def test_the_run_draws_q_k_v_per_head_and_the_block_as_a_group():
    preset = preset_from_dict({"name": "seq", "model": {"layers": [*BLOCK[:3], BLOCK[-1]]},
                               "data": {"task": "reverse", "samples": 64},
                               "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "steps": 1}})
    run = TrainingRun(preset, probes=())
    history = run.history()
    assert history.graph is not None
    history.validate()  # the graph names only parameters the History holds
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    layout = layout_model(history.graph, history.structure, shapes, layer_notes={"2.self_attn": "±0.5"})
    qkv = next(block for block in layout.blocks if block.key == "2.self_attn.in_proj_weight")
    # Q, K and V side by side, 16 columns each, a gap apart; in each, 2 heads of 8 rows, a gap apart
    columns, rows = np.unique(qkv.positions[:, 0]), np.unique(qkv.positions[:, 2])
    assert len(columns) == 48 and np.count_nonzero(np.diff(columns) > 1.5) == 2
    assert len(rows) == 16 and np.count_nonzero(np.diff(rows) > 1.5) == 1
    captions = [label.text for label in layout.part_labels]
    assert {"Q", "K", "V"} <= set(captions)
    assert "2 · TransformerEncoderLayer" in captions
    assert "self_attn · MultiheadAttention · 2 heads · ±0.5" in {label.text for label in layout.layer_labels.values()}
    assert len(layout.skips) == 2


def test_a_model_with_attention_packs_its_groups_wider_over_the_maps_band():
    preset = load_preset(find_presets()["reverse"]).replace(train={"steps": 1})
    history = TrainingRun(preset, probes=()).history()
    shapes = {key: values.shape[1:] for key, values in history.params.items()}
    without = replace(history.graph, modules=tuple(replace(node, kind="Attention") if node.kind == "MultiheadAttention"
                                                   else node for node in history.graph.modules))

    def aspect(graph) -> float:
        (x0, _, z0), (x1, _, z1) = layout_model(graph, history.structure, shapes, 16 / 9).bounds
        return (x1 - x0) / (z1 - z0)

    assert aspect(history.graph) > 1.2 * aspect(without)
