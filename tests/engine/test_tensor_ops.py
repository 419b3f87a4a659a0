"""The ops attention is built from, against torch in float64: values and gradients (≤ 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor
from nnviz_addon.engine.nn import functional as EF

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tests.support.parity import assert_close, check  # noqa: E402  (imports torch)


def normal(*shapes: tuple[int, ...]):
    """Leaf arrays of standard normal values of these shapes, from a generator."""
    return lambda r: [r.standard_normal(shape) for shape in shapes]


# name: (fn(lib, F, *leaves), leaf arrays from a generator); integer and bool leaves carry no gradient
OP_CASES = {
    "masked_fill method, broadcast mask": (
        lambda lib, F, x, m: x.masked_fill(m, -2.5),
        lambda r: [r.standard_normal((3, 4)), r.random((1, 4)) > 0.5],
    ),
    "masked_fill function, -inf then softmax": (
        lambda lib, F, x, m: lib.masked_fill(x, m, float("-inf")).softmax(-1),
        lambda r: [r.standard_normal((2, 3, 4)), np.triu(np.ones((3, 4), bool), 1)],
    ),
    "masked_fill with a 0-d tensor value": (
        lambda lib, F, x, m, v: x.masked_fill(m, v),
        lambda r: [r.standard_normal((3, 4)), r.random((3, 4)) > 0.5, np.array(1.5)],
    ),
    "tril": (lambda lib, F, x: lib.tril(x), lambda r: [r.standard_normal((2, 4, 5))]),
    "tril diagonal -1 method": (lambda lib, F, x: x.tril(-1), lambda r: [r.standard_normal((4, 5))]),
    "triu diagonal 2": (lambda lib, F, x: lib.triu(x, diagonal=2), lambda r: [r.standard_normal((2, 3, 5, 4))]),
    "triu method": (lambda lib, F, x: x.triu(), lambda r: [r.standard_normal((5, 3))]),
    "cat dim 0": (lambda lib, F, a, b: lib.cat([a, b]), normal((2, 3), (4, 3))),
    "cat dim -1, three": (
        lambda lib, F, a, b, c: lib.cat((a, b, c), dim=-1),
        lambda r: [r.standard_normal((2, 3, 1)), r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 2))],
    ),
    "cat the same tensor twice": (lambda lib, F, a: lib.cat([a, a * 2], 1), lambda r: [r.standard_normal((2, 3))]),
    "stack dim 0": (lambda lib, F, a, b: lib.stack([a, b]), lambda r: [r.standard_normal((2, 3))] * 2),
    "stack dim 1": (
        lambda lib, F, a, b, c: lib.stack([a, b, c], dim=1),
        lambda r: [r.standard_normal((2, 3)) for _ in range(3)],
    ),
    "stack dim -1": (lambda lib, F, a, b: lib.stack([a, b], -1), lambda r: [r.standard_normal((4,)) for _ in range(2)]),
    "split by size, uneven": (lambda lib, F, x: x.split(2, dim=1), lambda r: [r.standard_normal((3, 5))]),
    "split by sections": (lambda lib, F, x: lib.split(x, [1, 3, 2], -1), lambda r: [r.standard_normal((2, 6))]),
    "split, some pieces unused": (lambda lib, F, x: lib.split(x, 2)[1], lambda r: [r.standard_normal((6, 2))]),
    "chunk 5 into 3": (lambda lib, F, x: x.chunk(3), lambda r: [r.standard_normal((5, 2))]),
    "chunk 6 into 4 (torch gives 3)": (lambda lib, F, x: lib.chunk(x, 4, dim=1), lambda r: [r.standard_normal((2, 6))]),
    "matmul 4-D @ 2-D": (lambda lib, F, a, b: a @ b, normal((2, 3, 4, 5), (5, 6))),
    "matmul broadcast batch dims": (
        lambda lib, F, a, b: lib.matmul(a, b),
        lambda r: [r.standard_normal((2, 1, 4, 5)), r.standard_normal((3, 5, 6))],
    ),
    "matmul 2-D @ 3-D": (lambda lib, F, a, b: a @ b, normal((4, 5), (2, 5, 3))),
    "matmul 1-D @ 3-D": (lambda lib, F, a, b: a @ b, normal((5,), (2, 5, 3))),
    "matmul 4-D @ 1-D": (lambda lib, F, a, b: a @ b, normal((2, 2, 3, 5), (5,))),
    "transpose, permute, view, reshape": (
        lambda lib, F, x: x.transpose(0, 2).permute(2, 0, 1).reshape(6, -1).view(3, 2, 4).transpose(-1, -2),
        lambda r: [r.standard_normal((2, 3, 4))],
    ),
    "layer_norm last dim": (
        lambda lib, F, x, w, b: F.layer_norm(x, (5,), w, b),
        lambda r: [r.standard_normal((2, 3, 5)), r.standard_normal(5), r.standard_normal(5)],
    ),
    "layer_norm two dims, eps": (
        lambda lib, F, x, w, b: F.layer_norm(x, [3, 4], w, b, eps=1e-3),
        lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((3, 4)), r.standard_normal((3, 4))],
    ),
    "layer_norm without affine": (lambda lib, F, x: F.layer_norm(x, (4,)), lambda r: [r.standard_normal((3, 4))]),
    "embedding, repeated indices": (
        lambda lib, F, i, w: F.embedding(i, w),
        lambda r: [np.array([[1, 3, 1], [0, 3, 3]]), r.standard_normal((5, 4))],
    ),
    "embedding, a table too big for the one-hot product": (
        lambda lib, F, i, w: F.embedding(i, w, padding_idx=7),
        lambda r: [np.array([[1, 299, 1], [7, 200, 299]]), r.standard_normal((300, 3))],
    ),
    "embedding with padding_idx": (
        lambda lib, F, i, w: F.embedding(i, w, padding_idx=3),
        lambda r: [np.array([[1, 3, 1], [0, 3, 4]]), r.standard_normal((5, 4))],
    ),
    "embedding with a negative padding_idx": (
        lambda lib, F, i, w: F.embedding(i, w, padding_idx=-1),
        lambda r: [np.array([4, 2, 4]), r.standard_normal((5, 2))],
    ),
}


@pytest.mark.parametrize("name", list(OP_CASES))
def test_op_matches_torch(name: str, rng: np.random.Generator) -> None:
    fn, make = OP_CASES[name]
    check(fn, make(rng), rng)


@pytest.mark.parametrize("dim", [0, 1, 2, 3, -1, -2, -3, -4])
def test_softmax_and_log_softmax_along_any_dim_match_torch(dim: int, rng: np.random.Generator) -> None:
    check(lambda lib, F, x: (F.softmax(x, dim), x.softmax(dim), x.log_softmax(dim)), normal((2, 3, 4, 5))(rng), rng)


def _qkv(rng: np.random.Generator, batch: tuple[int, ...] = (2, 3), length: int = 4, source: int = 5,
         depth: int = 6) -> list[np.ndarray]:
    return [rng.standard_normal((*batch, length, depth)), rng.standard_normal((*batch, source, depth)),
            rng.standard_normal((*batch, source, depth + 1))]


SDPA_MASKS = {
    "no mask": lambda r: None,
    "bool (L, S), True attends": lambda r: r.random((4, 5)) > 0.3,
    "bool broadcast (N, 1, L, S)": lambda r: r.random((2, 1, 4, 5)) > 0.3,
    "float (L, S)": lambda r: r.standard_normal((4, 5)),
    "float with -inf": lambda r: np.where(r.random((2, 3, 4, 5)) > 0.3, r.standard_normal((2, 3, 4, 5)), -np.inf),
    "bool with a fully masked row": lambda r: np.vstack([np.zeros((1, 5), bool), r.random((3, 5)) > 0.3]),
}


@pytest.mark.parametrize("mask_name", list(SDPA_MASKS))
def test_scaled_dot_product_attention_matches_torch(mask_name: str, rng: np.random.Generator) -> None:
    mask = SDPA_MASKS[mask_name](rng)

    def attend(lib, F, q, k, v):
        m = None if mask is None else lib.tensor(mask)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m)

    check(attend, _qkv(rng), rng)


@pytest.mark.parametrize(("length", "source"), [(4, 4), (3, 5), (5, 3)])
def test_scaled_dot_product_attention_causal_and_scale_match_torch(length: int, source: int,
                                                                   rng: np.random.Generator) -> None:
    check(lambda lib, F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
          _qkv(rng, (2,), length, source), rng)


def test_scaled_dot_product_attention_broadcasts_batch_dims_like_torch(rng: np.random.Generator) -> None:
    q, k, v = _qkv(rng, (2, 3))
    check(lambda lib, F, q, k, v: F.scaled_dot_product_attention(q, k, v), [q, k[:1], v[:, :1]], rng)


def test_scaled_dot_product_attention_float_mask_gets_a_gradient_like_torch(rng: np.random.Generator) -> None:
    check(lambda lib, F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
          [*_qkv(rng), rng.standard_normal((3, 4, 5))], rng)


def test_scaled_dot_product_attention_rejects_a_mask_with_is_causal(rng: np.random.Generator) -> None:
    q, k, v = (Tensor(a) for a in _qkv(rng))
    with pytest.raises(RuntimeError, match="is_causal"):
        EF.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)


def test_attention_dropout_gradient_is_the_derivative_of_the_seeded_function(rng: np.random.Generator) -> None:
    """With dropout the function depends on the generator; reseeding before each call makes it a
    fixed function, so central differences check the fused backward, dropout mask included."""
    q, k, v = _qkv(rng, (2,), 3, 4, 2)
    upstream = rng.standard_normal((2, 3, 3))

    def loss(q_array: np.ndarray) -> float:
        engine.manual_seed(7)
        out = EF.scaled_dot_product_attention(Tensor(q_array), Tensor(k), Tensor(v), dropout_p=0.4)
        return float((out.data * upstream).sum())

    leaf = Tensor(q.copy(), requires_grad=True)
    engine.manual_seed(7)
    out = EF.scaled_dot_product_attention(leaf, Tensor(k), Tensor(v), dropout_p=0.4)
    out.backward(upstream)
    numeric = np.zeros_like(q)
    step = 1e-6
    for index in np.ndindex(q.shape):
        plus, minus = q.copy(), q.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (loss(plus) - loss(minus)) / (2 * step)
    np.testing.assert_allclose(leaf.grad.data, numeric, rtol=1e-6, atol=1e-8)
    engine.manual_seed(7)
    again = EF.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), dropout_p=0.4)
    engine.manual_seed(8)
    other = EF.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), dropout_p=0.4)
    np.testing.assert_array_equal(again.data, out.data)
    assert not np.allclose(other.data, out.data)


def test_split_and_chunk_sizes_follow_torch() -> None:
    x = np.arange(14.0).reshape(7, 2)
    for ours, theirs in [
        (Tensor(x).split(3), torch.tensor(x).split(3)),
        (engine.split(Tensor(x), [2, 5]), torch.split(torch.tensor(x), [2, 5])),
        (Tensor(x).chunk(3), torch.tensor(x).chunk(3)),
        (Tensor(x).chunk(10), torch.tensor(x).chunk(10)),
        (engine.chunk(Tensor(x), 2, dim=1), torch.chunk(torch.tensor(x), 2, dim=1)),
    ]:
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
        for a, b in zip(ours, theirs, strict=True):
            assert_close(a, b)
    with pytest.raises(RuntimeError, match="sum exactly"):
        Tensor(x).split([2, 2])


def test_masked_fill_refuses_a_non_boolean_mask() -> None:
    with pytest.raises(RuntimeError, match="boolean"):
        Tensor(np.zeros(3)).masked_fill(np.array([0, 1, 0]), 1.0)


def test_cat_and_stack_refuse_mismatched_shapes() -> None:
    with pytest.raises(RuntimeError, match="cat"):
        engine.cat([Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4)))])
    with pytest.raises(RuntimeError, match="stack"):
        engine.stack([Tensor(np.zeros(2)), Tensor(np.zeros(3))])


def test_new_ops_are_exported_where_torch_has_them() -> None:
    for name in ("cat", "stack", "split", "chunk", "tril", "triu", "masked_fill", "matmul"):
        assert callable(getattr(engine, name)) and callable(getattr(torch, name))
    for name in ("embedding", "scaled_dot_product_attention", "layer_norm", "softmax"):
        assert callable(getattr(EF, name)) and callable(getattr(torch.nn.functional, name))
    for name in ("split", "chunk", "tril", "triu", "masked_fill", "transpose", "permute", "view", "reshape"):
        assert callable(getattr(Tensor, name)) and callable(getattr(torch.Tensor, name))


def test_a_small_tables_gradient_keeps_an_inf_to_its_own_row():
    # the one-hot product would spread it as nan (0 · inf) to every row; torch's scatter does not
    weight = Tensor(np.zeros((6, 2)), requires_grad=True)
    out = EF.embedding(np.array([1, 4, 4]), weight)
    out.backward(np.array([[np.inf, 1.0], [2.0, 3.0], [1.0, 1.0]]))
    expected = np.zeros((6, 2))
    expected[1], expected[4] = (np.inf, 1.0), (3.0, 4.0)
    np.testing.assert_array_equal(weight.grad.data, expected)


def test_a_gradient_summed_back_over_a_batch_to_an_empty_shape_is_empty():
    bias = Tensor(np.zeros((3, 0)), requires_grad=True)
    (Tensor(np.ones((2, 3, 0))) + bias).sum().backward()
    assert bias.grad.shape == (3, 0)

