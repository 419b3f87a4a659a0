"""Embedding, MultiheadAttention and the transformer encoder against torch in float64 (≤ 1e-9):
forward, input gradients and parameter gradients, every mask kind, both layouts; state_dicts
both ways; dropout; and 30 AdamW steps of a small causal transformer trained side by side."""

from __future__ import annotations

import copy
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn, optim
from nnviz_addon.engine.nn import functional as EF

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tests.support.parity import assert_close, assert_parameter_grads, check_module, copy_weights  # noqa: E402  (imports torch)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_transformer  # noqa: E402  (the benchmark's model, trained here against torch)

E, HEADS, N, L, S = 8, 2, 3, 4, 5


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """torch's worker threads spin while they wait; on this shared 2-core machine that made its
    side of the 30-step run 20-80x slower. One thread computes the same float64 values."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _pair(make_ours, make_theirs):
    """The engine module in float64 and torch's, with torch's weights copied over."""
    ours, theirs = make_ours().double(), make_theirs().double()
    copy_weights(ours, theirs)
    return ours, theirs


# -- Embedding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(padding_idx: int | None, rng: np.random.Generator) -> None:
    ours, theirs = _pair(lambda: nn.Embedding(6, 3, padding_idx=padding_idx),
                         lambda: torch.nn.Embedding(6, 3, padding_idx=padding_idx))
    indices = np.array([[0, 2, 5, 2], [5, 5, 1, 3]])
    check_module(ours, theirs, lambda lib, module, leaves: module(leaves[0]), [indices], rng)


def test_embedding_init_and_state_dict_like_torch() -> None:
    engine.manual_seed(0)
    ours = nn.Embedding(1000, 4, padding_idx=3)
    theirs = torch.nn.Embedding(1000, 4, padding_idx=3)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    weight = ours.weight.data
    assert weight.shape == (1000, 4) and weight.dtype == np.float32
    assert not weight[3].any()
    assert abs(weight.std() - 1) < 0.05  # N(0, 1), as torch
    theirs.load_state_dict({"weight": torch.from_numpy(weight.copy())})  # engine → torch
    assert repr(ours) == repr(theirs)


# -- MultiheadAttention --------------------------------------------------------------------------------


def _mha_pair(batch_first: bool, bias: bool = True):
    return _pair(lambda: nn.MultiheadAttention(E, HEADS, bias=bias, batch_first=batch_first),
                 lambda: torch.nn.MultiheadAttention(E, HEADS, bias=bias, batch_first=batch_first))


def _sequence(rng: np.random.Generator, length: int, batch_first: bool) -> np.ndarray:
    return rng.standard_normal((N, length, E) if batch_first else (length, N, E))


# the masks, drawn once per test from its generator; bool True = masked in MultiheadAttention
MHA_MASKS = {
    "none": lambda r: {},
    "bool attn_mask (L, S)": lambda r: {"attn_mask": r.random((L, S)) > 0.7},
    "float attn_mask (L, S)": lambda r: {"attn_mask": r.standard_normal((L, S))},
    "bool 3-D attn_mask (N*heads, L, S)": lambda r: {"attn_mask": r.random((N * HEADS, L, S)) > 0.7},
    "float 3-D attn_mask (N*heads, L, S)": lambda r: {"attn_mask": r.standard_normal((N * HEADS, L, S))},
    "bool key_padding_mask": lambda r: {"key_padding_mask": np.arange(S) >= np.array([[5], [3], [1]])},
    "float key_padding_mask": lambda r: {"key_padding_mask": r.standard_normal((N, S))},
    "bool attn_mask and key_padding_mask": lambda r: {"attn_mask": r.random((L, S)) > 0.8,
                                                      "key_padding_mask": np.arange(S) >= np.array([[5], [4], [2]])},
    "a fully masked query row": lambda r: {"attn_mask": np.vstack([np.ones((1, S), bool), np.zeros((L - 1, S), bool)])},
}


def _torch_masks(masks: dict, lib) -> dict:
    return {name: lib.tensor(mask) for name, mask in masks.items()}


@pytest.mark.parametrize(("mask_name", "batch_first", "need_weights", "average"), [
    *((m, bf, nw, True) for m, bf, nw in itertools.product(MHA_MASKS, (False, True), (False, True))),
    *((m, bf, True, False) for m, bf in itertools.product(("none", "bool 3-D attn_mask (N*heads, L, S)",
                                                             "float key_padding_mask"), (False, True))),
])
def test_multihead_attention_matches_torch(mask_name: str, batch_first: bool, need_weights: bool, average: bool,
                                           rng: np.random.Generator) -> None:
    """Cross-attention (query length L, key/value length S); the weights, when asked for, are
    part of the loss, so their gradient path is compared too."""
    masks = MHA_MASKS[mask_name](rng)
    ours, theirs = _mha_pair(batch_first)
    arrays = [_sequence(rng, L, batch_first), _sequence(rng, S, batch_first), _sequence(rng, S, batch_first)]

    def call(lib, module, leaves):
        query, key, value = leaves
        out, weights = module(query, key, value, need_weights=need_weights, average_attn_weights=average,
                              **_torch_masks(masks, lib))
        assert (weights is None) == (not need_weights)
        return out, weights

    check_module(ours, theirs, call, arrays, rng)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_self_attention_with_a_causal_mask_matches_torch(batch_first: bool, need_weights: bool,
                                                         rng: np.random.Generator) -> None:
    """query is key is value: the one packed in-projection path; is_causal with its mask."""
    ours, theirs = _mha_pair(batch_first)
    causal = np.triu(np.ones((L, L), bool), 1)

    def call(lib, module, leaves):
        x = leaves[0]
        return module(x, x, x, attn_mask=lib.tensor(causal), is_causal=True, need_weights=need_weights)

    check_module(ours, theirs, call, [_sequence(rng, L, batch_first)], rng)


def test_key_is_value_and_no_bias_match_torch(rng: np.random.Generator) -> None:
    ours, theirs = _mha_pair(True, bias=False)
    arrays = [_sequence(rng, L, True), _sequence(rng, S, True)]
    check_module(ours, theirs, lambda lib, module, leaves: module(leaves[0], leaves[1], leaves[1])[0], arrays, rng)


@pytest.mark.parametrize("need_weights", [False, True])
def test_unbatched_input_matches_torch(need_weights: bool, rng: np.random.Generator) -> None:
    ours, theirs = _mha_pair(False)
    padding = np.array([False, False, True, False, True])

    def call(lib, module, leaves):
        return module(*leaves, key_padding_mask=lib.tensor(padding), need_weights=need_weights)

    arrays = [rng.standard_normal((L, E)), rng.standard_normal((S, E)), rng.standard_normal((S, E))]
    check_module(ours, theirs, call, arrays, rng)


def test_multihead_attention_state_dict_loads_both_ways() -> None:
    ours, theirs = nn.MultiheadAttention(E, HEADS), torch.nn.MultiheadAttention(E, HEADS)
    keys = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    for key in keys:
        assert ours.state_dict()[key].shape == tuple(theirs.state_dict()[key].shape)
    assert not ours.in_proj_bias.data.any() and not ours.out_proj.bias.data.any()  # zero, as torch
    bound = np.sqrt(6 / (E + 3 * E))  # Xavier-uniform over the packed (3E, E) matrix
    assert np.abs(ours.in_proj_weight.data).max() <= bound
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
    ours.load_state_dict(theirs.state_dict())
    without_bias = nn.MultiheadAttention(E, HEADS, bias=False)
    assert list(without_bias.state_dict()) == list(torch.nn.MultiheadAttention(E, HEADS, bias=False).state_dict())


def test_multihead_attention_errors_like_torch(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    module = nn.MultiheadAttention(E, HEADS).double()
    x = Tensor(_sequence(rng, L, False))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        module(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        module(x, x, x, attn_mask=np.zeros((L, L + 1), bool))
    with pytest.raises(RuntimeError, match="3D attn_mask"):
        module(x, x, x, attn_mask=np.zeros((N, L, L), bool))


# -- Transformer encoder ---------------------------------------------------------------------------


def _layer_pair(batch_first: bool, norm_first: bool, activation: str = "relu", dropout: float = 0.0):
    options = dict(dim_feedforward=16, dropout=dropout, activation=activation, batch_first=batch_first,
                   norm_first=norm_first, layer_norm_eps=1e-6)
    return _pair(lambda: nn.TransformerEncoderLayer(E, HEADS, **options),
                 lambda: torch.nn.TransformerEncoderLayer(E, HEADS, **options))


ENCODER_MASKS = {
    "none": lambda r: {},
    "causal float src_mask, is_causal": lambda r: {
        "src_mask": np.triu(np.full((L, L), -np.inf), 1), "is_causal": True},
    "bool src_mask": lambda r: {"src_mask": r.random((L, L)) > 0.7},
    "bool src_key_padding_mask": lambda r: {"src_key_padding_mask": np.arange(L) >= np.array([[4], [2], [3]])},
    "3-D float src_mask and padding": lambda r: {"src_mask": r.standard_normal((N * HEADS, L, L)),
                                                 "src_key_padding_mask": np.arange(L) >= np.array([[4], [3], [1]])},
}


def _with_lib(masks: dict, lib) -> dict:
    return {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in masks.items()}


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask_name", list(ENCODER_MASKS))
def test_transformer_encoder_layer_matches_torch(mask_name: str, batch_first: bool, norm_first: bool, activation: str,
                                                 rng: np.random.Generator) -> None:
    masks = ENCODER_MASKS[mask_name](rng)
    ours, theirs = _layer_pair(batch_first, norm_first, activation)
    check_module(ours, theirs, lambda lib, module, leaves: module(leaves[0], **_with_lib(masks, lib)),
                 [_sequence(rng, L, batch_first)], rng)


@pytest.mark.parametrize(("norm_first", "activation", "batch_first"),
                         [(False, "relu", True), (True, "gelu", False), (True, "relu", True)])
def test_the_fused_layer_step_computes_what_the_submodules_do(norm_first: bool, activation: str, batch_first: bool,
                                                              rng: np.random.Generator) -> None:
    """The parity tests above run the fused step (dropout 0); a forward patched onto one submodule
    (as the attention probe does) sends the layer through its submodules, with the same numbers."""
    fused = nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, activation, batch_first=batch_first,
                                       norm_first=norm_first).double()
    composed = copy.deepcopy(fused)
    composed.linear1.forward = composed.linear1.forward  # an instance forward: the fused step stands aside
    assert fused._fused_activation(Tensor(_sequence(rng, L, batch_first)), None, False) == activation
    assert composed._fused_activation(Tensor(_sequence(rng, L, batch_first)), None, False) is None
    x = _sequence(rng, L, batch_first)
    mask = rng.random((L, L)) > 0.7
    results = []
    for layer in (fused, composed):
        src = Tensor(x.copy(), requires_grad=True)
        out = layer(src, src_mask=Tensor(mask))
        (out * Tensor(np.arange(out.data.size).reshape(out.shape) / out.data.size)).sum().backward()
        results.append((out.data, src.grad.data, {k: p.grad.data for k, p in layer.named_parameters()}))
    (out_a, grad_a, params_a), (out_b, grad_b, params_b) = results
    np.testing.assert_allclose(out_a, out_b, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-10, atol=1e-12)
    assert params_a.keys() == params_b.keys()
    for name in params_a:
        np.testing.assert_allclose(params_a[name], params_b[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_fused_step_differentiates_the_weights_its_forward_used(rng: np.random.Generator) -> None:
    # as F.linear does: a weight array swapped between forward and backward does not enter the gradient
    fused = nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, batch_first=True).double()
    composed = copy.deepcopy(fused)
    composed.linear1.forward = composed.linear1.forward  # the submodules' path
    x = _sequence(rng, L, True)
    grads = []
    for layer in (fused, composed):
        src = Tensor(x.copy(), requires_grad=True)
        out = layer(src)
        for weight in (layer.linear1.weight, layer.linear2.weight, layer.self_attn.in_proj_weight):
            weight.data = weight.data * 2.0
        # not out.sum(): a uniform gradient is all but zero behind the last LayerNorm
        out.backward(np.random.default_rng(1).standard_normal(out.shape))
        grads.append(src.grad.data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)


def test_transformer_encoder_layer_state_dict_and_submodules_are_torchs() -> None:
    ours = nn.TransformerEncoderLayer(E, HEADS)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape)
    assert [name for name, _ in ours.named_children()] == [
        "self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2"]
    assert ours.linear1.out_features == 2048 and ours.dropout.p == 0.1  # torch's defaults
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(E, HEADS, activation="tanh")


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_with_final_norm_matches_torch(norm_first: bool, rng: np.random.Generator) -> None:
    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(E, HEADS, 16, 0.0, batch_first=True, norm_first=norm_first)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(E))

    ours, theirs = _pair(lambda: build(engine), lambda: build(torch))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "layers.1.self_attn.in_proj_weight" in ours.state_dict()
    causal = np.triu(np.ones((L, L), bool), 1)
    padding = np.arange(L) >= np.array([[4], [2], [3]])

    def call(lib, module, leaves):
        return module(leaves[0], mask=lib.tensor(causal), src_key_padding_mask=lib.tensor(padding))

    check_module(ours, theirs, call, [_sequence(rng, L, True)], rng)


def test_transformer_encoder_layers_are_independent_deep_copies() -> None:
    layer = nn.TransformerEncoderLayer(E, HEADS, 16)
    encoder = nn.TransformerEncoder(layer, 3)
    weights = [m.linear1.weight for m in encoder.layers]
    assert len({id(w) for w in weights}) == 3 and all(w is not layer.linear1.weight for w in weights)
    np.testing.assert_array_equal(weights[0].data, weights[2].data)
    weights[0].data += 1
    assert not np.array_equal(weights[0].data, weights[1].data)
    assert isinstance(weights[1], nn.Parameter)
    assert encoder.norm is None and "norm" not in dict(encoder.named_children())


# -- dropout ---------------------------------------------------------------------------------------


def test_dropout_is_seeded_in_train_mode_and_the_identity_in_eval(rng: np.random.Generator) -> None:
    ours, theirs = _layer_pair(True, False, dropout=0.3)
    x = Tensor(_sequence(rng, L, True))
    outputs = []
    for seed in (1, 1, 2):
        engine.manual_seed(seed)
        outputs.append(ours(x).data)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert not np.allclose(outputs[0], outputs[2])
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.tensor(x.data))
    assert_close(ours(x), expected)  # no dropout in eval: the same function as torch's
    assert not np.allclose(outputs[0], ours(x).data)


def test_attention_dropout_drops_weights_in_training_only(rng: np.random.Generator) -> None:
    module = nn.MultiheadAttention(E, HEADS, dropout=0.5, batch_first=True).double()
    x = Tensor(_sequence(rng, L, True))
    engine.manual_seed(3)
    _, weights = module(x, x, x, average_attn_weights=False)
    dropped = weights.data == 0
    assert dropped.any() and not dropped.all()
    kept = weights.data[~dropped]
    module.eval()
    _, clean = module(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(kept, 2 * clean.data[~dropped], rtol=1e-12)  # survivors scaled by 1/(1-p)
    np.testing.assert_allclose(clean.data.sum(-1), 1.0, rtol=1e-12)


# -- a small causal transformer trained side by side --------------------------------------------------

VOCAB, D_MODEL, SEQ, BATCH, STEPS = 11, 16, 6, 4, 30


def _tiny_gpt(lib):
    """bench_transformer's model, smaller: embedding + learned positions + 2 causal encoder
    layers (2 heads, feed-forward 32) + a linear head."""
    return bench_transformer.tiny_gpt(lib, vocab=VOCAB, d_model=D_MODEL, layers=2, heads=2, feed_forward=32, seq=SEQ)


def test_thirty_adamw_steps_of_a_causal_transformer_follow_torch() -> None:
    torch.manual_seed(0)
    theirs = _tiny_gpt(torch).double()
    with torch.no_grad():
        theirs.position.normal_(0, 0.1)
    ours = _tiny_gpt(engine).double()
    copy_weights(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    opt_ours = optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=0.05)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.05)
    data = np.random.default_rng(0)
    losses = []
    for step in range(STEPS):
        # counting sequences (start, start + 1, ...) mod VOCAB: the next token is learnable
        tokens = (data.integers(0, VOCAB, (BATCH, 1)) + np.arange(SEQ + 1)) % VOCAB
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        for model, opt, lib, F in ((ours, opt_ours, engine, EF), (theirs, opt_theirs, torch, torch.nn.functional)):
            opt.zero_grad()
            logits = model(lib.tensor(inputs))
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), lib.tensor(targets.reshape(-1)))
            loss.backward()
            opt.step()
            if lib is torch:
                losses.append(float(loss.detach()))
        theirs_now = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            assert_close(param, theirs_now[name], f"{name} after step {step + 1}")
    assert losses[-1] < 0.8 * losses[0]  # it learned: the run is a real training run, not a no-op


def test_parameter_gradients_of_the_tiny_gpt_match_torch(rng: np.random.Generator) -> None:
    torch.manual_seed(1)
    theirs = _tiny_gpt(torch).double()
    ours = _tiny_gpt(engine).double()
    copy_weights(ours, theirs)
    tokens = rng.integers(0, VOCAB, (BATCH, SEQ))
    for model, lib in ((ours, engine), (theirs, torch)):
        (model(lib.tensor(tokens)) ** 2).sum().backward()
    assert_parameter_grads(ours, theirs)


def test_engine_weights_load_into_torch_and_give_torchs_output(rng: np.random.Generator) -> None:
    engine.manual_seed(5)
    ours = copy.deepcopy(_tiny_gpt(engine)).double()
    theirs = _tiny_gpt(torch).double()
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
    tokens = rng.integers(0, VOCAB, (BATCH, SEQ))
    with torch.no_grad():
        assert_close(ours(Tensor(tokens)), theirs(torch.tensor(tokens)))
