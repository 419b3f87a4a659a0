"""The film's forward passes as plain numpy (no bpy): where they sit on the frames, what each one
lights in turn, and each weight's share of the signal."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.history.graph import ModelGraph, ModuleNode, Skip
from nnviz_addon.picture import film as film_plan
from nnviz_addon.picture import film_passes
from nnviz_addon.preset import limits
from nnviz_addon.preset.limits import pass_records
from tests.support.histories import short_run, synthetic_history


def recorded(modules: list[ModuleNode], structure: list[LayerSpec], shapes: dict[str, tuple[int, ...]],
             skips: tuple[Skip, ...] = (), **extra) -> History:
    """A History as the Recorder leaves one (a graph in running order), two records of made-up values."""
    rng = np.random.default_rng(0)
    params = {key: rng.normal(size=(2, *shape)) for key, shape in shapes.items()}
    return History(name="recorded", structure=structure, steps=np.arange(2), loss=np.ones(2), params=params,
                   grads={k: np.zeros_like(v) for k, v in params.items()}, graph=ModelGraph(tuple(modules), "hooks",
                                                                                            skips), **extra)


def linear(path: str, n_in: int, n_out: int, activation: str | None = None) -> tuple[ModuleNode, LayerSpec, dict]:
    node = ModuleNode(path, "Linear", (f"{path}.weight", f"{path}.bias"), 1, activation)
    spec = LayerSpec(path, "Linear", n_in, n_out, f"{path}.weight", f"{path}.bias", activation)
    return node, spec, {f"{path}.weight": (n_out, n_in), f"{path}.bias": (n_out,)}


def test_passes_come_before_the_run_at_its_end_and_every_n_records_pausing_it() -> None:
    step, fpr, columns = 4, 2, 3
    length = (columns + 1) * step
    plain = film_passes.timeline(7, fpr, 1, columns, "none")
    assert plain.record_frames.tolist() == [1, 3, 5, 7, 9, 11, 13] and plain.frame_end == 13
    assert len(plain.passes) == 0
    intro = film_passes.timeline(7, fpr, 1, columns, "intro", step=step, share=1.0)
    assert intro.passes.tolist() == [0, 6]  # before the run, and on the trained network
    assert intro.record_frames.tolist() == [1 + length + fpr * r for r in range(7)]
    assert intro.starts.tolist() == [1, intro.record_frames[-1] + 1]
    assert intro.frame_end == intro.starts[-1] + length and len(intro.holds) == 0
    every = film_passes.timeline(7, fpr, 1, columns, "every", every=2, step=step, share=1.0)
    assert every.passes.tolist() == [0, 2, 4, 6]
    # Each middle pass pauses the run: the records after it come one pass later.
    gaps = np.diff(every.record_frames).tolist()
    assert gaps == [fpr, fpr, fpr + length, fpr, fpr + length, fpr]
    for i, r in enumerate(every.passes.tolist()[1:-1], start=1):
        assert every.starts[i] == every.record_frames[r] + 1
        assert every.record_frames[r] < every.lit[i, 0] and every.lit[i, -1] < every.record_frames[r + 1]
    assert every.holds.tolist() == (every.record_frames[[3, 5]] - fpr).tolist()
    assert np.array_equal(np.diff(every.lit, axis=1), np.full((4, columns - 1), step))
    assert every.frame_end == every.starts[-1] + length
    assert film_passes.timeline(1, fpr, 1, columns, "every", 2).passes.tolist() == [0]
    assert len(film_passes.timeline(7, fpr, 1, 0, "every", 2).passes) == 0  # nothing to light up
    with pytest.raises(ValueError, match="every must be at least 1"):
        pass_records(5, "every", 0)


def test_contributions_are_each_weights_share_of_the_signal() -> None:
    rng = np.random.default_rng(3)
    weight, x = rng.normal(size=(4, 3)), rng.normal(size=3)
    share = film_passes.contributions(weight, x)
    expected = np.array([[abs(weight[i, j] * x[j]) for j in range(3)] for i in range(4)])
    np.testing.assert_allclose(share, expected / expected.max())
    assert share.max() == 1.0
    assert not film_passes.contributions(weight, np.zeros(3)).any()
    np.testing.assert_allclose(film_plan.flash_depths(np.array([1.0, 2.0]), np.array([0.0, 1.0])),
                               [1.0, 2.0 * (1 + film_plan.FLASH_GAIN)])
    with pytest.raises(ValueError, match="does not take"):
        film_passes.contributions(weight, np.zeros(4))


def test_kernel_contributions_are_each_kernel_weights_share_of_the_channel_it_reads() -> None:
    rng = np.random.default_rng(4)
    weight, maps = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=(2, 5, 5))
    share = film_passes.kernel_contributions(weight, maps)
    level = [np.mean([abs(maps[i, y, x]) for y in range(5) for x in range(5)]) for i in range(2)]
    expected = np.array([[[[abs(weight[o, i, u, v]) * level[i] for v in range(2)] for u in range(2)]
                          for i in range(2)] for o in range(3)])
    np.testing.assert_allclose(share, expected / expected.max())
    assert not film_passes.kernel_contributions(weight, np.zeros((2, 5, 5))).any()
    with pytest.raises(ValueError, match=r"weight \(3, 2, 2, 2\) does not take feature maps of shape \(3, 5, 5\)"):
        film_passes.kernel_contributions(weight, np.zeros((3, 5, 5)))


def test_an_mlps_pass_lights_the_input_then_each_layer_flashing_its_weights_by_its_input() -> None:
    history = short_run("xor", steps=4, record_every=2)
    stages = film_passes.pass_stages(history)
    assert [(s.name, s.column, s.flashes) for s in stages] == [
        ("input", "input", ()), ("layer 0", "layer 0", ("0.weight",)), ("layer 2", "layer 2", ("2.weight",))]
    shares = film_passes.flash_shares(history, stages[1], 1)
    expected = film_passes.contributions(history.params["0.weight"][1], history.static["probe/input"])
    np.testing.assert_array_equal(shares["0.weight"], expected)


def test_a_cnns_pass_flashes_each_convolution_then_lights_the_dense_columns() -> None:
    history = short_run("digits_cnn", steps=4, record_every=2)
    stages = film_passes.pass_stages(history)
    convs = [s.name for s in history.structure if s.kind == "Conv2d"]
    assert [s.name for s in stages] == [*(f"layer {c}" for c in convs), "layer 6"]
    assert all(s.flashes == (f"{s.name[6:]}.weight",) and s.column is None for s in stages[:2])
    assert stages[-1].column == "layer 6" and not stages[-1].flashes  # its input (the flattened maps) unrecorded


def test_a_sequence_presets_pass_runs_embedding_attention_feed_forward_output() -> None:
    history = short_run("reverse", steps=4, record_every=2)
    stages = film_passes.pass_stages(history)
    assert [s.name for s in stages] == ["embedding", "attention 2", "feed-forward 2", "layer 3"]
    embedding, attention, feed_forward, output = stages
    assert sorted(embedding.flashes) == ["0.weight", "1.weight"]  # the tokens' table and the positions'
    assert attention.attention == "attention/2.self_attn"
    assert attention.flashes == ("2.self_attn.in_proj_weight", "2.self_attn.out_proj.weight")
    assert feed_forward.flashes == ("2.linear1.weight", "2.linear2.weight") and output.flashes == ("3.weight",)
    # The embedding's rows of the probe's tokens carry the signal, each as often as its token occurs.
    share = film_passes.flash_shares(history, embedding, 1)["0.weight"]
    tokens = np.asarray(history.static["sequence/input"])
    unused = np.setdiff1d(np.arange(len(share)), tokens)
    assert not share[unused].any() and share[tokens].min() > 0 and share.max() == 1.0


def test_a_recorded_residual_mlp_runs_in_graph_order_and_lights_the_skip_where_it_is_added() -> None:
    inp, block0, block2, out = (linear("inp", 6, 8, "relu()"), linear("block.0", 8, 8, "ReLU"),
                                linear("block.2", 8, 8), linear("out", 8, 3))
    modules = [ModuleNode("", "ResidualMLP", (), 1), inp[0], ModuleNode("block", "Sequential", (), 1), block0[0],
               ModuleNode("block.1", "ReLU", (), 1), block2[0], out[0]]
    # Registered in another order than they run: the graph's order is the one a pass follows.
    structure = [out[1], inp[1], block0[1], block2[1]]
    history = recorded(modules, structure, {**inp[2], **block0[2], **block2[2], **out[2]},
                       skips=(Skip("inp", "block.2"),))
    stages = film_passes.pass_stages(history)
    assert [s.name for s in stages] == ["layer inp", "layer block.0", "layer block.2", "layer out"]
    assert [s.skips for s in stages] == [(), (), (0,), ()]
    assert all(s.flashes == (f"{s.name[6:]}.weight",) for s in stages)  # no column or input: |w|
    share = film_passes.flash_shares(history, stages[0], 1)["inp.weight"]
    weight = np.abs(history.params["inp.weight"][1])
    np.testing.assert_allclose(share, weight / weight.max())


def test_a_recorded_transformer_merges_its_layers_parts_and_lights_its_free_parameters_with_the_embedding() -> None:
    d = 4
    attention = ModuleNode("enc.0.self_attn", "MultiheadAttention", ("enc.0.self_attn.in_proj_weight",), 1,
                           info={"heads": 2})
    modules = [ModuleNode("", "Tiny", ("pos",), 1), ModuleNode("embed", "Embedding", ("embed.weight",), 1),
               ModuleNode("enc", "TransformerEncoder", (), 1), ModuleNode("enc.0", "TransformerEncoderLayer", (), 1),
               attention, ModuleNode("enc.0.norm1", "LayerNorm", ("enc.0.norm1.weight",), 1),
               ModuleNode("enc.0.linear1", "Linear", ("enc.0.linear1.weight",), 1),
               ModuleNode("enc.0.linear2", "Linear", ("enc.0.linear2.weight",), 1),
               ModuleNode("head", "Linear", ("head.weight",), 1),
               # out_proj runs inside the attention's own forward, so hooks never see it called
               ModuleNode("enc.0.self_attn.out_proj", "NonDynamicallyQuantizableLinear",
                          ("enc.0.self_attn.out_proj.weight",), 0)]
    shapes = {"pos": (5, d), "embed.weight": (12, d), "enc.0.self_attn.in_proj_weight": (3 * d, d),
              "enc.0.norm1.weight": (d,), "enc.0.linear1.weight": (8, d), "enc.0.linear2.weight": (d, 8),
              "head.weight": (3, d), "enc.0.self_attn.out_proj.weight": (d, d)}
    skips = (Skip("embed", "enc.0.self_attn"), Skip("enc.0.norm1", "enc.0.linear2"))
    history = recorded(modules, [], shapes, skips=skips,
                       series={"attention/enc.0.self_attn": np.full((2, 2, 5, 5), 0.2)},
                       static={"probe/tokens": np.array([1, 1, 3, 0, 2])})
    stages = film_passes.pass_stages(history)
    assert [s.name for s in stages] == ["embedding", "attention enc.0", "feed-forward enc.0", "layer head"]
    embedding, attend, feed_forward, _ = stages
    assert embedding.flashes == ("embed.weight", "pos")
    assert attend.attention == "attention/enc.0.self_attn" and attend.skips == (0,)
    assert attend.flashes == ("enc.0.self_attn.in_proj_weight", "enc.0.self_attn.out_proj.weight")
    assert feed_forward.skips == (1,)
    share = film_passes.flash_shares(history, embedding, 1)["embed.weight"]
    table = np.abs(history.params["embed.weight"][1]) * np.array([1, 2, 1, 1] + [0] * 8)[:, None]
    np.testing.assert_allclose(share, table / table.max())


def test_a_history_without_neurons_or_matrices_has_no_pass() -> None:
    history = synthetic_history((3, 2), records=3)
    assert [s.name for s in film_passes.pass_stages(history)] == ["layer 0"]  # its weight flashes by |w|
    vectors = {"0.weight": np.ones((2, 2)), "0.bias": np.ones((2, 2))}
    only_bias = History(name="b", structure=[LayerSpec("0", "LayerNorm", 2, 2, "0.weight", "0.bias")],
                        steps=np.arange(2), loss=np.ones(2), params=vectors, grads=vectors)
    assert film_passes.pass_stages(only_bias) == []


def pass_frames_share(plan: film_passes.Timeline, frame_start: int = 1) -> float:
    return len(plan.passes) * plan.pass_length / (plan.frame_end - frame_start + 1)


def test_passes_take_at_most_their_share_of_the_film_thinning_the_middle_ones_first() -> None:
    records, fpr, stages = 1001, 2, 4
    plan = film_passes.timeline(records, fpr, 1, stages, "every", every=1)  # asks for a pass at every record
    assert pass_frames_share(plan) <= limits.DEFAULT_PASS_SHARE == 0.25
    assert plan.pass_length == (stages + 1) * limits.FORWARD_STEP_FRAMES  # each pass as long as ever
    passes = plan.passes.tolist()
    assert passes[0] == 0 and passes[-1] == records - 1 and len(passes) > 4
    gaps = np.diff(passes[1:-1])
    assert gaps.max() - gaps.min() <= 1  # the kept ones evenly spread over the run
    # A user can raise the share: at 1 every pass asked for shows.
    everything = film_passes.timeline(records, fpr, 1, stages, "every", every=1, share=1.0)
    assert everything.passes.tolist() == list(range(records))
    wider = film_passes.timeline(records, fpr, 1, stages, "every", every=1, share=0.5)
    assert len(passes) < len(wider.passes) and pass_frames_share(wider) <= 0.5
    # The preset's frame count (checked before training) counts the passes the scene's timeline has.
    assert limits.frame_count(records, fpr, "film", "every", 1, stages)[1:] == (
        len(passes), len(passes) * plan.pass_length)


def test_a_short_runs_opening_and_closing_passes_get_shorter_turns_down_to_one_flash() -> None:
    plan = film_passes.timeline(31, 2, 1, 3, "intro")  # 61 frames of run: 20 may be passes
    assert plan.passes.tolist() == [0, 30] and plan.pass_length < 4 * limits.FORWARD_STEP_FRAMES
    assert pass_frames_share(plan) <= 0.25 + 1e-9 or plan.pass_length == 4 * limits.MIN_STEP_FRAMES
    assert np.all(np.diff(plan.lit, axis=1) >= film_plan.FLASH_FRAMES)  # a flash ends before the next turn
    tiny = film_passes.timeline(3, 1, 1, 3, "intro")
    assert tiny.pass_length == 4 * limits.MIN_STEP_FRAMES  # no shorter: the share is then exceeded
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\]"):
        film_passes.timeline(3, 1, 1, 3, "intro", share=0.0)
