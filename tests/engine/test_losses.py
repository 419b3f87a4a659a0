"""Every loss (functional and module) against real PyTorch in float64, for every reduction."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn
from nnviz_addon.engine.nn import functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12
REDUCTIONS = ["none", "mean", "sum"]


def _compare(loss_e, loss_t, inputs_e, inputs_t, rng: np.random.Generator, rtol: float = RTOL) -> None:
    """Same values; then the same gradients for the same upstream gradient."""
    np.testing.assert_allclose(loss_e.data, loss_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng.standard_normal(tuple(loss_t.shape))
    loss_e.backward(upstream)
    loss_t.backward(torch.tensor(upstream))
    for ours, theirs in zip(inputs_e, inputs_t, strict=True):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=rtol, atol=ATOL)


def _leaf_pair(array: np.ndarray) -> tuple[Tensor, object]:
    return Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


POINTWISE = {
    "mse_loss": (
        lambda shape, rng: rng.standard_normal(shape),
        lambda shape, rng: rng.standard_normal(shape),
    ),
    "l1_loss": (lambda shape, rng: rng.standard_normal(shape), lambda shape, rng: rng.standard_normal(shape)),
    "binary_cross_entropy": (
        lambda shape, rng: rng.uniform(0.02, 0.98, shape),
        lambda shape, rng: rng.random(shape),
    ),
    "binary_cross_entropy_with_logits": (
        lambda shape, rng: 4 * rng.standard_normal(shape),
        lambda shape, rng: rng.random(shape),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_losses_match_torch_with_input_and_target_gradients(
    name: str, reduction: str, rng: np.random.Generator
) -> None:
    make_input, make_target = POINTWISE[name]
    x, y = make_input((5, 3), rng), make_target((5, 3), rng)
    (xe, xt), (ye, yt) = _leaf_pair(x), _leaf_pair(y)
    loss_e = getattr(F, name)(xe, ye, reduction=reduction)
    loss_t = getattr(torch.nn.functional, name)(xt, yt, reduction=reduction)
    _compare(loss_e, loss_t, [xe, ye], [xt, yt], rng)


MODULES = [
    ("MSELoss", {}),
    ("L1Loss", {}),
    ("BCELoss", {}),
    ("BCEWithLogitsLoss", {}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kwargs"), MODULES)
def test_loss_modules_match_torch(name: str, kwargs: dict, reduction: str, rng: np.random.Generator) -> None:
    x, y = rng.uniform(0.05, 0.95, (4, 2)), rng.random((4, 2))
    (xe, xt), ye = _leaf_pair(x), Tensor(y)
    loss_e = getattr(nn, name)(reduction=reduction, **kwargs)(xe, ye)
    loss_t = getattr(torch.nn, name)(reduction=reduction, **kwargs)(xt, torch.tensor(y))
    _compare(loss_e, loss_t, [xe], [xt], rng)


def test_bce_clamps_log_at_minus_100_like_torch(rng: np.random.Generator) -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.3])
    (pe, pt) = _leaf_pair(p)
    loss_e = F.binary_cross_entropy(pe, Tensor(y), reduction="none")
    loss_t = torch.nn.functional.binary_cross_entropy(pt, torch.tensor(y), reduction="none")
    np.testing.assert_allclose(loss_e.data, [100.0, 100.0, 0.0, 0.0, 100.0, loss_t[5].item()], rtol=RTOL)
    # gradients of ~1e12 (p(1-p) floored at 1e-12): the same formula, rounded in another order
    _compare(loss_e, loss_t, [pe], [pt], rng, rtol=1e-8)


def test_bce_with_logits_is_stable_for_huge_logits(rng: np.random.Generator) -> None:
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    (xe, xt) = _leaf_pair(x)
    loss_e = F.binary_cross_entropy_with_logits(xe, Tensor(y), reduction="none")
    loss_t = torch.nn.functional.binary_cross_entropy_with_logits(xt, torch.tensor(y), reduction="none")
    assert np.all(np.isfinite(loss_e.data))
    _compare(loss_e, loss_t, [xe], [xt], rng)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (4,), (3, 4, 5)], ids=["NC", "C", "NCd"])
def test_cross_entropy_with_class_indices(
    shape: tuple[int, ...], reduction: str, label_smoothing: float, rng: np.random.Generator
) -> None:
    logits = 3 * rng.standard_normal(shape)
    target_shape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    classes = shape[1] if len(shape) > 1 else shape[0]
    target = rng.integers(0, classes, target_shape)
    (xe, xt) = _leaf_pair(logits)
    loss_e = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=label_smoothing)(xe, engine.tensor(target))
    loss_t = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=label_smoothing)(xt, torch.tensor(target))
    _compare(loss_e, loss_t, [xe], [xt], rng)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_probabilities(
    reduction: str, label_smoothing: float, rng: np.random.Generator
) -> None:
    logits = rng.standard_normal((5, 3))
    probabilities = rng.random((5, 3))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    (xe, xt), (pe, pt) = _leaf_pair(logits), _leaf_pair(probabilities)
    loss_e = F.cross_entropy(xe, pe, reduction=reduction, label_smoothing=label_smoothing)
    loss_t = torch.nn.functional.cross_entropy(xt, pt, reduction=reduction, label_smoothing=label_smoothing)
    _compare(loss_e, loss_t, [xe, pe], [xt, pt], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (4,), (2, 4, 3)], ids=["NC", "C", "NCd"])
def test_nll_loss_matches_torch(shape: tuple[int, ...], reduction: str, rng: np.random.Generator) -> None:
    scores = rng.standard_normal(shape)
    classes = shape[1] if len(shape) > 1 else shape[0]
    target = rng.integers(0, classes, (shape[0], *shape[2:]) if len(shape) > 1 else ())
    (xe, xt) = _leaf_pair(scores)
    loss_e = nn.NLLLoss(reduction=reduction)(F.log_softmax(xe, 0 if len(shape) == 1 else 1), engine.tensor(target))
    loss_t = torch.nn.NLLLoss(reduction=reduction)(
        torch.log_softmax(xt, 0 if len(shape) == 1 else 1), torch.tensor(target)
    )
    _compare(loss_e, loss_t, [xe], [xt], rng)


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    logits = Tensor(np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, engine.tensor([1]))
    loss.backward()
    assert loss.item() == pytest.approx(2000.0)
    assert np.all(np.isfinite(logits.grad.data))


@pytest.mark.parametrize(
    "loss_fn",
    [F.mse_loss, F.l1_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits],
    ids=lambda f: f.__name__,
)
def test_float32_losses_stay_float32(loss_fn) -> None:
    x = Tensor(np.full((4, 1), 0.3, dtype=np.float32), requires_grad=True)
    loss = loss_fn(x, Tensor(np.ones((4, 1), dtype=np.float32)))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_float32_cross_entropy_stays_float32() -> None:
    x = Tensor(np.zeros((4, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(x, engine.tensor([0, 1, 2, 0]), label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# -- cross_entropy / nll_loss: weight, ignore_index, label_smoothing -----------------------------


CLASS_WEIGHTS = np.array([0.2, 1.0, 3.0, 0.7])


def _compare_loss(call_e, call_t, scores: np.ndarray, rng: np.random.Generator) -> None:
    """Same loss; then the same input gradient for a random upstream gradient."""
    (xe, xt) = _leaf_pair(scores)
    _compare(call_e(xe), call_t(xt), [xe], [xt], rng)


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
    (xe, xt), (pe, pt) = _leaf_pair(rng.standard_normal((5, 4))), _leaf_pair(probabilities)
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    loss_e = F.cross_entropy(xe, pe, Tensor(CLASS_WEIGHTS), **options)
    loss_t = torch.nn.functional.cross_entropy(xt, pt, torch.tensor(CLASS_WEIGHTS), **options)
    _compare(loss_e, loss_t, [xe, pe], [xt, pt], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_with_every_row_ignored_matches_torch(
    reduction: str, weighted: bool, label_smoothing: float
) -> None:
    rng = np.random.default_rng(6)
    scores = rng.standard_normal((3, 4))
    target = np.full(3, -100)
    (xe, xt) = _leaf_pair(scores)
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
