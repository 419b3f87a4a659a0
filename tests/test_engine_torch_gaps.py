"""Parity with real PyTorch for the corners once missing from the engine: freeing the graph after
backward (retain_graph), retain_grad on non-leaves, mean of integers, floor and rounded division,
and class weights / ignore_index in cross_entropy and nll_loss. All in float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn
from nnviz_addon.engine.nn import functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12
REDUCTIONS = ["none", "mean", "sum"]
CLASS_WEIGHTS = np.array([0.2, 1.0, 3.0, 0.7])


def _pair(array: np.ndarray, requires_grad: bool = True) -> tuple[Tensor, object]:
    return Tensor(array.copy(), requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


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


# -- cross_entropy / nll_loss: weight, ignore_index, label_smoothing -----------------------------


def _compare_loss(call_e, call_t, scores: np.ndarray, rng: np.random.Generator) -> None:
    """Same loss; then the same input gradient for a random upstream gradient."""
    (xe, xt) = _pair(scores)
    loss_e, loss_t = call_e(xe), call_t(xt)
    np.testing.assert_allclose(loss_e.data, loss_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng.standard_normal(tuple(loss_t.shape))
    loss_e.backward(upstream)
    loss_t.backward(torch.tensor(upstream))
    _same(xe.grad, xt.grad)


TARGETS = {  # (N, C=4) rows: valid targets / some ignored with the default -100 / ignore_index=1
    "valid": (np.array([0, 3, 1, 2, 3]), -100),
    "ignored": (np.array([0, -100, 2, -100, 3]), -100),
    "ignore_class_1": (np.array([1, 3, 1, 2, 0]), 1),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("targets", list(TARGETS))
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_with_weight_ignore_index_and_smoothing_matches_torch(
    reduction: str, weighted: bool, targets: str, label_smoothing: float
) -> None:
    rng = np.random.default_rng(3)
    target, ignore_index = TARGETS[targets]
    options = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": label_smoothing}
    weight_e = Tensor(CLASS_WEIGHTS) if weighted else None
    weight_t = torch.tensor(CLASS_WEIGHTS) if weighted else None
    _compare_loss(
        lambda x: F.cross_entropy(x, engine.tensor(target), weight_e, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(target), weight_t, **options),
        rng.standard_normal((5, 4)),
        rng,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_module_with_spatial_dims_matches_torch(reduction: str, label_smoothing: float) -> None:
    rng = np.random.default_rng(4)
    target = np.array([[0, 1, -100], [3, -100, 2]])  # (N=2, d=3), classes on dim 1
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    ours = nn.CrossEntropyLoss(Tensor(CLASS_WEIGHTS), **options)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(CLASS_WEIGHTS), **options)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    _compare_loss(
        lambda x: ours(x, engine.tensor(target)),
        lambda x: theirs(x, torch.tensor(target)),
        rng.standard_normal((2, 4, 3)),
        rng,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_weighted_cross_entropy_with_probability_targets_matches_torch(reduction: str, label_smoothing: float) -> None:
    rng = np.random.default_rng(5)
    probabilities = rng.dirichlet(np.ones(4), size=5)
    (xe, xt), (pe, pt) = _pair(rng.standard_normal((5, 4))), _pair(probabilities)
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    loss_e = F.cross_entropy(xe, pe, Tensor(CLASS_WEIGHTS), **options)
    loss_t = torch.nn.functional.cross_entropy(xt, pt, torch.tensor(CLASS_WEIGHTS), **options)
    np.testing.assert_allclose(loss_e.data, loss_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng.standard_normal(tuple(loss_t.shape))
    loss_e.backward(upstream)
    loss_t.backward(torch.tensor(upstream))
    _same(xe.grad, xt.grad)
    _same(pe.grad, pt.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_with_every_row_ignored_matches_torch(
    reduction: str, weighted: bool, label_smoothing: float
) -> None:
    rng = np.random.default_rng(6)
    scores = rng.standard_normal((3, 4))
    target = np.full(3, -100)
    (xe, xt) = _pair(scores)
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    loss_e = F.cross_entropy(xe, engine.tensor(target), Tensor(CLASS_WEIGHTS) if weighted else None, **options)
    loss_t = torch.nn.functional.cross_entropy(
        xt, torch.tensor(target), torch.tensor(CLASS_WEIGHTS) if weighted else None, **options
    )
    np.testing.assert_array_equal(loss_e.data, loss_t.detach().numpy())  # the mean is nan in both
    loss_e.sum().backward()
    loss_t.sum().backward()
    np.testing.assert_array_equal(xe.grad.data, xt.grad.numpy())  # zeros in both, not nan


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("targets", list(TARGETS))
def test_nll_loss_with_weight_and_ignore_index_matches_torch(reduction: str, targets: str) -> None:
    rng = np.random.default_rng(7)
    target, ignore_index = TARGETS[targets]
    options = {"ignore_index": ignore_index, "reduction": reduction}
    _compare_loss(
        lambda x: nn.NLLLoss(Tensor(CLASS_WEIGHTS), **options)(x.log_softmax(1), engine.tensor(target)),
        lambda x: torch.nn.NLLLoss(torch.tensor(CLASS_WEIGHTS), **options)(x.log_softmax(1), torch.tensor(target)),
        rng.standard_normal((5, 4)),
        rng,
    )


def test_cross_entropy_weight_errors_match_torch() -> None:
    scores, target = np.zeros((2, 4)), np.array([0, 1])
    cases = [
        ("weight tensor should be defined either for all 4 classes", np.ones(3), np.ones(3)),
        ("weight tensor should be defined either for all 4 classes", np.ones((1, 4)), np.ones((1, 4))),
    ]
    for message, weight_e, weight_t in cases:
        with pytest.raises(RuntimeError, match=message):
            F.cross_entropy(Tensor(scores), engine.tensor(target), Tensor(weight_e))
        with pytest.raises(RuntimeError, match=message):
            torch.nn.functional.cross_entropy(torch.tensor(scores), torch.tensor(target), torch.tensor(weight_t))
    probabilities = np.full((2, 4), 0.25)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(Tensor(scores), Tensor(probabilities), ignore_index=0)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        torch.nn.functional.cross_entropy(torch.tensor(scores), torch.tensor(probabilities), ignore_index=0)
