"""Tensor ops against real PyTorch (float64): forward values and gradients, plus autograd rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, no_grad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12


def _inputs(rng: np.random.Generator, shapes: list[tuple[int, ...]], positive: bool) -> list[np.ndarray]:
    arrays = [rng.standard_normal(shape) for shape in shapes]
    return [np.abs(a) + 0.5 for a in arrays] if positive else arrays


def _run_both(fn, arrays: list[np.ndarray], rng: np.random.Generator):
    """Apply ``fn`` to engine and torch leaves, backpropagate the same random upstream gradient,
    and return (engine output, torch output, engine leaves, torch leaves)."""
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_e, out_t = fn(*ours), fn(*theirs)
    upstream = rng.standard_normal(out_t.shape)
    out_e.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    return out_e, out_t, ours, theirs


def _assert_matches(out_e, out_t, ours, theirs) -> None:
    np.testing.assert_allclose(out_e.data, out_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert out_e.shape == tuple(out_t.shape)
    for leaf_e, leaf_t in zip(ours, theirs, strict=True):
        assert leaf_e.grad is not None
        np.testing.assert_allclose(leaf_e.grad.data, leaf_t.grad.numpy(), rtol=RTOL, atol=ATOL)


OP_CASES = {
    # name: (function of the leaves, leaf shapes, positive inputs only)
    "add": (lambda a, b: a + b, [(3, 4), (3, 4)], False),
    "add broadcast both": (lambda a, b: a + b, [(3, 1), (1, 4)], False),
    "sub broadcast rank": (lambda a, b: a - b, [(2, 3, 4), (4,)], False),
    "mul broadcast": (lambda a, b: a * b, [(2, 3, 4), (3, 1)], False),
    "div": (lambda a, b: a / b, [(3, 4), (3, 4)], True),
    "pow tensor": (lambda a, b: a**b, [(3, 4), (3, 4)], True),
    "pow scalar": (lambda a: a**3, [(3, 4)], False),
    "pow fractional": (lambda a: a**0.5, [(3, 4)], True),
    "rpow scalar": (lambda a: 2.0**a, [(3, 4)], False),
    "radd scalar": (lambda a: 1.5 + a, [(3,)], False),
    "rsub scalar": (lambda a: 2 - a, [(3,)], False),
    "rmul scalar": (lambda a: 3 * a, [(3,)], False),
    "rdiv scalar": (lambda a: 1 / a, [(3,)], True),
    "neg": (lambda a: -a, [(3, 2)], False),
    "matmul 2d": (lambda a, b: a @ b, [(3, 4), (4, 5)], False),
    "matmul vec-mat": (lambda a, b: a @ b, [(4,), (4, 5)], False),
    "matmul mat-vec": (lambda a, b: a @ b, [(3, 4), (4,)], False),
    "matmul vec-vec": (lambda a, b: a @ b, [(4,), (4,)], False),
    "matmul batched broadcast": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)], False),
    "matmul batch both": (lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)], False),
    "sum all": (lambda a: a.sum(), [(3, 4)], False),
    "sum dim": (lambda a: a.sum(dim=1), [(3, 4, 2)], False),
    "sum dims keepdim": (lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)], False),
    "sum negative dim": (lambda a: a.sum(dim=-1), [(3, 4)], False),
    "mean all": (lambda a: a.mean(), [(3, 4)], False),
    "mean dim keepdim": (lambda a: a.mean(dim=0, keepdim=True), [(3, 4)], False),
    "mean dims": (lambda a: a.mean(dim=(1, 2)), [(2, 3, 4)], False),
    "max all": (lambda a: a.max(), [(3, 4)], False),
    "max dim": (lambda a: a.max(dim=1).values, [(3, 4)], False),
    "max dim keepdim": (lambda a: a.max(dim=0, keepdim=True).values, [(3, 4)], False),
    "min dim": (lambda a: a.min(dim=-1).values, [(3, 4)], False),
    "reshape": (lambda a: a.reshape(4, 3), [(3, 4)], False),
    "reshape -1": (lambda a: a.reshape(-1), [(3, 4)], False),
    "view tuple": (lambda a: a.view((2, 6)), [(3, 4)], False),
    "transpose": (lambda a: a.transpose(0, 2), [(2, 3, 4)], False),
    "T": (lambda a: a.T, [(3, 4)], False),
    "permute": (lambda a: a.permute(2, 0, 1), [(2, 3, 4)], False),
    "unsqueeze squeeze": (lambda a: a.unsqueeze(1).squeeze(1) * a.unsqueeze(0), [(3,)], False),
    "flatten": (lambda a: a.flatten(1), [(2, 3, 4)], False),
    "index basic": (lambda a: a[1:, ::2], [(4, 5)], False),
    "index int": (lambda a: a[2], [(4, 5)], False),
    "index ellipsis none": (lambda a: a[..., None, 1], [(4, 5)], False),
    "index integer array repeats": (lambda a: a[[0, 2, 0, 0]], [(4, 5)], False),
    "index pair of arrays": (lambda a: a[[0, 1, 1], [2, 2, 2]], [(4, 5)], False),
    "exp": (lambda a: a.exp(), [(3, 4)], False),
    "log": (lambda a: a.log(), [(3, 4)], True),
    "sqrt": (lambda a: a.sqrt(), [(3, 4)], True),
    "abs": (lambda a: a.abs(), [(3, 4)], False),
    "clamp both": (lambda a: a.clamp(-0.5, 0.5), [(5, 4)], False),
    "clamp min": (lambda a: a.clamp(min=0.1), [(5, 4)], False),
    "tanh": (lambda a: a.tanh(), [(3, 4)], False),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 4)], False),
    "relu": (lambda a: a.relu(), [(3, 4)], False),
    "softmax": (lambda a: a.softmax(1), [(3, 4)], False),
    "softmax dim0": (lambda a: a.softmax(dim=0), [(3, 4)], False),
    "log_softmax": (lambda a: a.log_softmax(-1), [(2, 3, 4)], False),
    "composite": (lambda a, b: ((a @ b).tanh() * 2 + a.sum()).mean(dim=0), [(3, 4), (4, 2)], False),
    "reused input": (lambda a: a * a + a.exp() * a, [(3,)], False),
}


@pytest.mark.parametrize("name", list(OP_CASES))
def test_op_matches_torch(name: str, rng: np.random.Generator) -> None:
    fn, shapes, positive = OP_CASES[name]
    _assert_matches(*_run_both(fn, _inputs(rng, shapes, positive), rng))


def test_operands_from_numpy_arrays_and_scalars(rng: np.random.Generator) -> None:
    a = rng.standard_normal((2, 3))
    other = rng.standard_normal(3)
    x = Tensor(a, requires_grad=True)
    out = other + x * other - np.float64(2.0) / (x * x + 1)
    xt = torch.tensor(a, requires_grad=True)
    ref = torch.tensor(other) + xt * torch.tensor(other) - 2.0 / (xt * xt + 1)
    assert isinstance(out, Tensor)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=RTOL)


@pytest.mark.parametrize("values", [[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 5.0], [[1.0, 4.0], [4.0, 0.0]]])
def test_max_full_reduction_splits_gradient_among_ties_like_torch(values: list) -> None:
    x = Tensor(np.array(values), requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    x.max().backward()
    xt.max().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())


@pytest.mark.parametrize("keepdim", [False, True])
def test_max_dim_gradient_goes_to_returned_index_like_torch(keepdim: bool) -> None:
    values = [[2.0, 7.0, 7.0], [1.0, 1.0, 0.0], [3.0, 3.0, 3.0]]
    x = Tensor(np.array(values), requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    result, ref = x.max(dim=1, keepdim=keepdim), xt.max(dim=1, keepdim=keepdim)
    np.testing.assert_array_equal(result.indices.data, ref.indices.numpy())
    values_e, _ = result  # unpacks like torch's (values, indices)
    values_e.sum().backward()
    ref.values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())


def test_backward_twice_accumulates_like_torch(rng: np.random.Generator) -> None:
    a = rng.standard_normal(4)
    x, xt = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for _ in range(2):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=RTOL)
    np.testing.assert_allclose(x.grad.data, 4 * a, rtol=RTOL)


def test_gradients_through_add_do_not_alias_between_leaves() -> None:
    a = Tensor(np.zeros(3), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad.data += 10  # an optimiser changing one gradient in place must not touch the other
    np.testing.assert_array_equal(b.grad.data, np.ones(3))


def test_only_leaves_keep_gradients() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    hidden = x * 3
    hidden.sum().backward()
    assert x.is_leaf and not hidden.is_leaf
    assert hidden.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_inputs_without_requires_grad_get_no_gradient_and_build_no_graph() -> None:
    x = Tensor(np.ones(3))
    w = Tensor(np.ones(3), requires_grad=True)
    assert not (x * 2).requires_grad
    (x * w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.data, np.ones(3))


def test_no_grad_as_context_manager_and_decorator() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        assert not (w * 2).requires_grad
        assert not engine.is_grad_enabled()
    assert engine.is_grad_enabled()

    @no_grad()
    def predict(t: Tensor) -> Tensor:
        return t * 2

    assert not predict(w).requires_grad
    assert (w * 2).requires_grad


def test_detach_numpy_item_and_properties() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == engine.float64
    detached = x.detach()
    assert not detached.requires_grad and np.shares_memory(detached.numpy(), x.data)
    assert x.sum().item() == 15.0
    assert isinstance(x.sum().item(), float)
    assert x.T.shape == (3, 2)
    assert len(x) == 2 and x.size() == (2, 3) and x.size(1) == 3 and x.numel() == 6


def test_tensor_factory_dtypes_follow_torch() -> None:
    assert engine.tensor([1.0, 2.0]).dtype == engine.float32
    assert engine.tensor([1, 2]).dtype == engine.int64
    assert engine.tensor([1.0], dtype=engine.float64).dtype == engine.float64
    assert engine.tensor(np.zeros(2, dtype=np.float64)).dtype == engine.float64
    source = np.zeros(2)
    copied = engine.tensor(source, requires_grad=True)
    assert copied.requires_grad and not np.shares_memory(copied.data, source)
    assert np.shares_memory(Tensor(source).data, source)  # Tensor(array) wraps without copying


def test_float32_stays_float32_through_every_op() -> None:
    x = Tensor(np.linspace(0.1, 1.2, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    w = Tensor(np.ones((4, 2), dtype=np.float32), requires_grad=True)
    out = (x @ w).tanh().sigmoid().relu().exp().log().sqrt().abs().clamp(0.0, 5.0)
    out = out.softmax(1).log_softmax(1) + x.max() * 2.5 - np.float64(1.5) / x.mean()
    loss = out.sum() * 0.5 + x[0, 1] ** 2 + 2.0 ** x.sum() * 1e-3 + np.float64(3.0) * x.sum()
    assert loss.dtype == engine.float32
    loss.backward()
    assert x.grad.dtype == engine.float32 and w.grad.dtype == engine.float32


def test_float64_is_kept() -> None:
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    loss = ((x * 0.5).tanh() ** 2).mean()
    loss.backward()
    assert loss.dtype == engine.float64 and x.grad.dtype == engine.float64


def test_integer_operand_takes_float_dtype_like_torch() -> None:
    x = Tensor(np.ones(3, dtype=np.float32))
    assert (x + engine.tensor([1, 2, 3])).dtype == engine.float32
    assert (x * np.array([1, 2, 3])).dtype == engine.float32


def test_comparisons_and_argmax_give_plain_tensors() -> None:
    x = Tensor(np.array([[0.1, 0.9], [0.8, 0.2]]))
    labels = engine.tensor([1, 0])
    correct = x.argmax(dim=1) == labels
    assert correct.dtype == np.bool_ and correct.data.all()
    assert (correct.float().mean()).item() == 1.0


def test_deep_graph_needs_no_recursion() -> None:
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_with_explicit_gradient_and_leaf_root() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_manual_seed_makes_init_reproducible() -> None:
    engine.manual_seed(7)
    first = engine.nn.Linear(4, 3).weight.data.copy()
    engine.manual_seed(7)
    np.testing.assert_array_equal(engine.nn.Linear(4, 3).weight.data, first)


def test_repr_looks_like_torch() -> None:
    assert repr(engine.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert "dtype=float64" in repr(engine.tensor([1.0], dtype=engine.float64))


def test_python_conversions_and_numpy_interop() -> None:
    x = Tensor(np.array([1.5, 2.5]))
    assert np.asarray(x) is x.data
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert float(x.sum()) == 4.0 and int(x[0]) == 1
    assert bool(x[0] > 1) and not bool(x[0] > 2)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x > 0)


def test_models_deep_copy_and_pickle() -> None:
    import copy
    import pickle

    model = engine.nn.Sequential(engine.nn.Linear(2, 3), engine.nn.BatchNorm1d(3))
    model(Tensor(np.ones((4, 2), dtype=np.float32))).sum().backward()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert list(clone.state_dict()) == list(model.state_dict())
        np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)
        assert not np.shares_memory(clone[0].weight.data, model[0].weight.data)
        np.testing.assert_array_equal(clone[0].weight.grad.data, model[0].weight.grad.data)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax", "log_softmax"])
def test_zero_dim_float32_activations_stay_float32_and_match_torch(name: str) -> None:
    # 0-d arrays are where numpy 1.x promotes float32 to float64 when a Python float joins in
    functional = engine.nn.functional
    x = Tensor(np.array(0.7, dtype=np.float32), requires_grad=True)
    xt = torch.tensor(0.7, dtype=torch.float32, requires_grad=True)
    args = (0,) if "softmax" in name else ()
    out, ref = getattr(functional, name)(x, *args), getattr(torch.nn.functional, name)(xt, *args)
    out.backward()
    ref.backward()
    assert out.dtype == engine.float32 and x.grad.dtype == engine.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


# -- review fixes: torch semantics the engine used to miss silently ---------------------------


def test_integer_true_division_and_float_power_give_float32_like_torch() -> None:
    ints = [1, 2, 3]
    for ours, theirs in [
        (Tensor(ints) / 2, torch.tensor(ints) / 2),
        (Tensor(ints) / Tensor(ints), torch.tensor(ints) / torch.tensor(ints)),
        (Tensor(ints) ** 0.5, torch.tensor(ints) ** 0.5),
    ]:
        assert ours.dtype == np.float32 and theirs.dtype == torch.float32
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_pow_gradients_at_zero_match_torch() -> None:
    # base grad where the exponent is 0 (formula: 0 * 0**-1 = NaN), exponent grad where base is 0
    base, exponent = np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, -1.0, 0.0, 2.0])
    rng = np.random.default_rng(0)
    _, _, ours, theirs = _run_both(lambda a, b: a**b, [base, exponent], rng)
    for leaf_e, leaf_t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(leaf_e.grad.data, leaf_t.grad.numpy())
    x_e, x_t = Tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
    (x_e**0).sum().backward()
    (x_t**0).sum().backward()
    np.testing.assert_array_equal(x_e.grad.data, x_t.grad.numpy())


def test_in_place_update_under_no_grad_changes_the_parameter_like_torch() -> None:
    # the classic hand-written SGD loop: `p -= lr * p.grad` must update p itself, not rebind it
    ours = [Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0]), requires_grad=True)]
    theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
    for params, grad_mode in [(ours, no_grad), (theirs, torch.no_grad)]:
        (params[0] * params[0]).sum().backward()
        (params[1] * 3).sum().backward()
        with grad_mode():
            for p in params:
                p -= 0.1 * p.grad
            params[0] *= 2
            params[1] /= 4
            params[0] += params[1]
            params[1].add_(params[1], alpha=-0.5)
    for p_e, p_t in zip(ours, theirs, strict=True):
        assert p_e.requires_grad and p_e.is_leaf
        np.testing.assert_allclose(p_e.data, p_t.detach().numpy())


def test_in_place_ops_keep_aliases_and_refuse_what_torch_refuses() -> None:
    x = Tensor(np.array([1.0, 2.0]))
    alias = x
    x += 1
    assert alias is x and alias.tolist() == [2.0, 3.0]
    x[0] = 5.0
    x[Tensor(np.array([False, True]))] = Tensor(np.array(-1.0))
    assert x.tolist() == [5.0, -1.0]
    leaf = Tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf += 1
    with pytest.raises(RuntimeError, match="autograd graph"):
        leaf[0] = 2.0
    hidden = leaf * 2
    with pytest.raises(RuntimeError, match=r"add_\(\) on a tensor that is part of the autograd graph"):
        hidden.add_(1)
    hidden += leaf  # rebinding a non-leaf keeps the graph correct: d(3 * leaf)/d(leaf) = 3
    hidden.sum().backward()
    assert leaf.grad.tolist() == [3.0]
    ints = Tensor([1, 2])
    with pytest.raises(TypeError, match="cannot be stored in a int64 tensor"):
        ints /= 2
    with pytest.raises(ValueError, match=r"shape \(2, 2\) cannot be written into one of shape \(2,\)"):
        ints += Tensor(np.ones((2, 2), dtype=np.int64))


def test_casting_to_an_integer_dtype_leaves_the_graph_and_reshape_takes_numpy_ints() -> None:
    x = Tensor(np.array([1.5, 2.5]), requires_grad=True)
    assert not x.to(np.int64).requires_grad
    assert torch.tensor([1.5], requires_grad=True).to(torch.int64).requires_grad is False
    assert Tensor(np.zeros((2, 3))).reshape(np.int64(6)).shape == (6,)


# -- freeing the graph after backward (retain_graph), retain_grad, integer means, floor and rounded
# division: corners once missing from the engine, against torch


def _pair(array: np.ndarray) -> tuple[Tensor, object]:
    return Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


def _same(ours: Tensor | None, theirs: object) -> None:
    assert (ours is None) == (theirs is None)
    if ours is not None:
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


def _same_values_and_dtype(ours: Tensor, theirs: object) -> None:
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())


# -- retain_graph and retain_grad -----------------------------------------------------------------


def _two_level_graph(lib, x):
    hidden = x * 3
    hidden.retain_grad()
    return hidden, (hidden * hidden).sum() + hidden.tanh().sum()


def test_retain_graph_accumulates_then_the_graph_is_freed_like_torch() -> None:
    values = np.array([0.5, -1.0, 2.0])
    (xe, xt) = _pair(values)
    he, ye = _two_level_graph(engine, xe)
    ht, yt = _two_level_graph(torch, xt)
    assert he.retains_grad and ht.retains_grad
    for retain in (True, None):  # the second pass accumulates, then frees the graph
        ye.backward(retain_graph=retain)
        yt.backward(retain_graph=retain)
        _same(xe.grad, xt.grad)
        _same(he.grad, ht.grad)
    for y in (ye, yt):
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()


def test_a_new_graph_reusing_a_freed_node_fails_like_torch() -> None:
    for x in (Tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)):
        hidden = x * x
        (hidden * 2).sum().backward()
        with pytest.raises(RuntimeError, match="second time"):
            (hidden + 1).sum().backward()


def test_leaf_backward_twice_and_retain_grad_on_root_and_leaves_match_torch() -> None:
    (xe, xt) = _pair(np.array([1.0, 2.0]))
    for x in (xe, xt):
        x.backward(x.detach() * 0 + 1)
        x.backward(x.detach() * 0 + 1)  # a leaf has no graph to free
        x.retain_grad()  # a no-op on leaves
        assert not x.retains_grad
    _same(xe.grad, xt.grad)
    ye, yt = (xe * xe).sum(), (xt * xt).sum()
    for y in (ye, yt):
        y.retain_grad()
        y.backward()
    _same(ye.grad, yt.grad)


def test_non_leaf_grad_is_none_without_retain_grad_like_torch() -> None:
    (xe, xt) = _pair(np.array([1.0, 2.0]))
    he, ht = xe * 2, xt * 2
    he.sum().backward()
    ht.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns about reading a non-leaf's .grad
        assert he.grad is None and ht.grad is None
    assert not he.retains_grad and not ht.retains_grad



def test_retain_grad_follows_an_in_place_op_like_torch() -> None:
    (xe, xt) = _pair(np.array([1.0, 2.0]))
    results = []
    for x in (xe, xt):
        hidden = x * 2
        hidden.retain_grad()
        hidden += 1  # the engine records a new node here; torch bumps the version of the same tensor
        (hidden * hidden).sum().backward()
        assert hidden.retains_grad
        results.append(hidden.grad)
    _same(*results)
    _same(xe.grad, xt.grad)

# -- mean of integers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "name"), [([1, 2, 3], "Long"), ([True, False], "Bool")])
@pytest.mark.parametrize("dim", [None, 0])
def test_mean_of_integers_raises_like_torch(values: list, name: str, dim: int | None) -> None:
    expected = f"mean\\(\\): could not infer output dtype.*Got: {name}"
    for x in (engine.tensor(values), torch.tensor(values)):
        with pytest.raises(RuntimeError, match=expected):
            x.mean() if dim is None else x.mean(dim)


# -- floor division and rounding modes -------------------------------------------------------------

FLOATS = np.array([-7.0, -3.5, 2.0, 7.5, 1.0, -0.5])
FLOAT_DIVISORS = np.array([2.0, -2.0, 3.0, -2.0, 0.1, 1.0])
INTS = np.array([-7, 7, 5, -6, 0])
INT_DIVISORS = np.array([2, -2, 3, 4, -3])


@pytest.mark.parametrize(
    "expression",
    [
        lambda a, b: a // b,
        lambda a, b: a // 2,
        lambda a, b: a // 2.5,
        lambda a, b: 7 // b,
        lambda a, b: 7.5 // b,
        lambda a, b: a.floor_divide(b),
        lambda a, b: a.div(b, rounding_mode="floor"),
        lambda a, b: a.div(b, rounding_mode="trunc"),
        lambda a, b: a.div(3, rounding_mode="trunc"),
        lambda a, b: a.div(b),
    ],
)
@pytest.mark.parametrize(("a", "b"), [(FLOATS, FLOAT_DIVISORS), (INTS, INT_DIVISORS)], ids=["float", "int"])
def test_floor_and_rounded_division_match_torch_values_and_dtypes(expression, a, b) -> None:
    _same_values_and_dtype(expression(Tensor(a), Tensor(b)), expression(torch.tensor(a), torch.tensor(b)))


def test_float_floor_division_by_zero_and_infinity_match_torch() -> None:
    a, b = np.array([1.0, -1.0, 0.0, 7.0, -7.0, np.inf]), np.array([0.0, 0.0, 0.0, np.inf, np.inf, 2.0])
    _same_values_and_dtype(Tensor(a) // Tensor(b), torch.tensor(a) // torch.tensor(b))


@pytest.mark.parametrize(
    "expression", [lambda a: a // 0, lambda a: a.div(0, rounding_mode="trunc"), lambda a: 7 // (a * 0)]
)
def test_integer_division_by_zero_raises_like_torch(expression) -> None:
    for lib_tensor in (engine.tensor, torch.tensor):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            expression(lib_tensor([1, 2]))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_rounded_div_has_a_zero_gradient_like_torch(mode: str) -> None:
    (ae, at), (be, bt) = _pair(FLOATS), _pair(FLOAT_DIVISORS)
    (ae.div(be, rounding_mode=mode) * 3).sum().backward()
    (at.div(bt, rounding_mode=mode) * 3).sum().backward()
    _same(ae.grad, at.grad)
    _same(be.grad, bt.grad)


def test_floor_divide_requires_grad_but_has_no_derivative_like_torch() -> None:
    for x in (Tensor(FLOATS, requires_grad=True), torch.tensor(FLOATS, requires_grad=True)):
        out = x // 2
        assert out.requires_grad
        with pytest.raises(RuntimeError, match=r"derivative for .*floor_divide is not implemented"):
            out.sum().backward()


def test_div_rejects_an_unknown_rounding_mode_like_torch() -> None:
    for x in (engine.tensor([1.0]), torch.tensor([1.0])):
        with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
            x.div(2, rounding_mode="round")
