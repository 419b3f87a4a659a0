"""Layer tables for sequence tasks: embedding, positional, transformer and residual blocks traced
shape by shape, refused with one line naming the layer and both shapes, built with torch's
parameter names, and trained with a loss and an accuracy over every position (no bpy)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnviz_addon.engine import Tensor
from nnviz_addon.preset import layer_stack
from nnviz_addon.preset.config import PresetError, parameter_count, preset_from_dict
from nnviz_addon.training.run import TrainingRun, build_stack

BLOCK = [{"type": "embedding", "dim": 16}, {"type": "positional"},
         {"type": "transformer", "heads": 2, "feedforward": 24},
         {"type": "residual", "layers": [{"type": "layernorm"}, {"type": "linear", "out": 20}, {"type": "gelu"},
                                         {"type": "linear", "out": 16}]},
         {"type": "linear", "out": 10}]


def sequence(layers: list, task: str = "reverse", loss: str = "cross_entropy", **data) -> dict:
    return {"name": "seq", "model": {"layers": copy.deepcopy(layers)},
            "data": {"task": task, "samples": 64, "test_fraction": 0.25, **data},
            "train": {"loss": loss, "optimizer": "adamw", "lr": 0.003, "batch_size": 16, "steps": 3}}


def refused(data: dict, message: str) -> None:
    with pytest.raises(PresetError) as caught:
        preset_from_dict(data, "seq.toml")
    assert str(caught.value) == f"seq.toml: {message}"


def test_a_sequence_stack_is_traced_position_by_position():
    steps = layer_stack.trace(layer_stack.check_tables("model.layers", BLOCK), (8,), vocab=10)
    assert [(s.module, s.input, s.output) for s in steps] == [
        ("Embedding", (8,), (8, 16)), ("PositionalEmbedding", (8, 16), (8, 16)),
        ("TransformerEncoderLayer", (8, 16), (8, 16)), ("Residual", (8, 16), (8, 16)), ("Linear", (8, 16), (8, 10))]
    assert [s.module for s in steps[3].inner] == ["LayerNorm", "Linear", "gelu", "Linear"]


@pytest.mark.parametrize(("layers", "message"), [
    ([{"type": "linear", "out": 10}],
     "model.layers[0]: linear can't take the task's input, 8 token ids (vocabulary 10); start with "
     '{type = "embedding", dim = 32}'),
    ([BLOCK[0], {"type": "transformer", "heads": 3}, BLOCK[-1]],
     "model.layers[1].heads: 3 heads don't divide the 16 features of the output of model.layers[0] (Embedding) 8×16"),
    ([BLOCK[0], {"type": "residual", "layers": [{"type": "linear", "out": 4}]}, BLOCK[-1]],
     "model.layers[1]: a residual block must keep its input's shape 8×16, but its layers end with 8×4"),
    ([{"type": "embedding", "dim": 16, "vocab": 12}, BLOCK[-1]],
     "model.layers[0]: embedding expects a vocabulary of 12 tokens, the task has 10"),
    ([BLOCK[0], {"type": "positional", "length": 9}, BLOCK[-1]],
     "model.layers[1]: positional expects sequences of 9, the output of model.layers[0] (Embedding) 8×16 has 8 "
     "positions"),
    ([BLOCK[0], {"type": "batchnorm"}, BLOCK[-1]],
     'model.layers[1]: batchnorm can\'t take the sequence 8×16; use {type = "layernorm"} on a sequence'),
    ([BLOCK[0], {"type": "flatten"}, {"type": "linear", "out": 10}],
     "model.layers: the task scores a token at each of its 8 positions, but the network ends with 10; end with a "
     "linear layer on the sequence (no flatten)"),
    ([BLOCK[0], {"type": "linear", "out": 7}],
     "the output of model.layers[1] is 7 but task 'reverse' with loss 'cross_entropy' needs 10 outputs"),
    ([BLOCK[0], {"type": "residual", "layers": [{"type": "embedding", "dim": 16}]}, BLOCK[-1]],
     "model.layers[1].layers[0]: embedding needs token ids, but the output of model.layers[0] (Embedding) is the "
     "sequence 8×16; it goes first, on a sequence task's tokens"),
    ([BLOCK[0], {"type": "transformer", "heads": 2, "norm": "middle"}, BLOCK[-1]],
     "model.layers[1].norm: 'middle' is not allowed; allowed: post, pre"),
])
def test_bad_sequence_stacks_are_refused_naming_the_layer_and_both_shapes(layers, message):
    refused(sequence(layers), message)


def test_sequence_tasks_refuse_sizes_other_losses_and_standardising():
    refused({**sequence(BLOCK), "model": {"layers": [8, 10]}},
            "task 'reverse' is a sequence of 8 tokens: write model.layers as layer tables starting with "
            '{type = "embedding", dim = 32}')
    refused(sequence(BLOCK, loss="mse"),
            "train.loss: task 'reverse' predicts a token at every position; use 'cross_entropy', not 'mse'")
    refused(sequence(BLOCK, standardize=True),
            "data.standardize doesn't apply to task 'reverse': its inputs are token ids; remove it")
    refused(sequence([{"type": "embedding", "dim": 4}, {"type": "linear", "out": 2}], task="xor", loss="bce"),
            "model.layers[0]: embedding needs token ids, but the task's input is 2; it goes first, on a sequence "
            "task's tokens")


def test_built_parameters_carry_torch_names_and_the_counted_sizes():
    preset = preset_from_dict(sequence([*BLOCK[:3], {**BLOCK[2], "causal": True, "norm": "pre"}, *BLOCK[3:]]))
    run = TrainingRun(preset, probes=())
    arrays = run.model.parameter_arrays()
    assert sum(a.size for a in arrays.values()) == parameter_count(preset)
    assert {"0.weight", "1.weight", "2.self_attn.in_proj_weight", "2.self_attn.out_proj.bias", "2.linear1.weight",
            "2.norm2.bias", "3.norm1.weight", "4.layers.0.weight", "4.layers.3.bias", "5.weight"} <= set(arrays)
    assert arrays["2.self_attn.in_proj_weight"].shape == (48, 16) and arrays["1.weight"].shape == (8, 16)
    # every parameter is drawn: the structure names each one once, in the order the signal meets them
    drawn = [key for spec in run.structure for key in (spec.weight, spec.bias) if key]
    assert sorted(drawn) == sorted(arrays)
    names = [spec.name for spec in run.structure]
    assert names[:8] == ["0", "1", "2.self_attn", "2.self_attn.out_proj", "2.norm1", "2.linear1", "2.linear2",
                         "2.norm2"]
    assert names[8:12] == ["3.norm1", "3.self_attn", "3.self_attn.out_proj", "3.norm2"]  # pre-norm order


def test_a_causal_block_sees_no_later_position():
    tables = layer_stack.check_tables("model.layers", [BLOCK[0], {**BLOCK[2], "causal": True}, BLOCK[-1]])
    model, _ = build_stack(tables, (8,), np.random.default_rng(0), np.random.default_rng(1), vocab=10)
    model.eval()
    tokens = np.random.default_rng(2).integers(0, 10, (3, 8))
    changed = tokens.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 10
    before, after = model(Tensor(tokens)).data, model(Tensor(changed)).data
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def test_loss_and_accuracy_count_every_position_with_a_target():
    layers = [*BLOCK[:-1], {"type": "linear", "out": 24}]
    run = TrainingRun(preset_from_dict(sequence(layers, task="modular_addition", samples=200)), probes=())
    outputs = run.evaluate(run.dataset.x)
    assert outputs.shape == (len(run.dataset), 3, 24)
    answers = run.dataset.y[:, 2]
    expected = float(np.mean(outputs[:, 2].argmax(axis=-1) == answers))  # only the answer counts
    assert run.accuracy() == pytest.approx(expected)
    shifted = outputs[:, 2] - outputs[:, 2].max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert run.loss_on(run.dataset) == pytest.approx(-log_p[np.arange(len(answers)), answers].mean(), rel=1e-5)
    loss = run.train_step()
    assert np.isfinite(loss) and set(run.history().metrics) == {"accuracy", "test_loss", "test_accuracy"}


@pytest.mark.torch
def test_a_state_dict_loads_into_the_same_torch_model_and_gives_its_outputs():
    torch = pytest.importorskip("torch")
    tables = layer_stack.check_tables("model.layers", [*BLOCK[:3], BLOCK[-1]])
    model, _ = build_stack(tables, (8,), np.random.default_rng(0), np.random.default_rng(1), vocab=10)
    model.eval()

    class Positions(torch.nn.Module):  # what a torch user writes for a learned positional embedding
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(8, 16))

        def forward(self, x):
            return x + self.weight

    reference = torch.nn.Sequential(torch.nn.Embedding(10, 16), Positions(),
                                    torch.nn.TransformerEncoderLayer(16, 2, 24, dropout=0.0, batch_first=True),
                                    torch.nn.Linear(16, 10)).double().eval()
    reference.load_state_dict({k: torch.tensor(v, dtype=torch.float64)
                               for k, v in model.parameter_arrays().items()})
    tokens = np.random.default_rng(3).integers(0, 10, (4, 8))
    with torch.no_grad():
        expected = reference(torch.tensor(tokens)).numpy()
    np.testing.assert_allclose(model(Tensor(tokens)).data, expected, atol=2e-5)
