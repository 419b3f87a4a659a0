"""Bad input gets a clear error that names the thing and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn
from nnviz_addon.engine.nn import functional as F


def _t(*shape: int, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(shape, dtype=np.float32), requires_grad=requires_grad)


def test_backward_on_non_scalar_without_gradient_uses_torchs_message() -> None:
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (_t(2, 3, requires_grad=True) * 2).backward()


def test_backward_without_graph_or_with_wrong_gradient_shape() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        _t(1).sum().backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (_t(2, requires_grad=True) * 2).backward(np.ones(3))


@pytest.mark.parametrize(
    ("left", "right"),
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 6)), ((4,), (3, 2))],
)
def test_matmul_shape_mismatch_names_both_shapes(left: tuple, right: tuple) -> None:
    with pytest.raises(ValueError) as error:
        _t(*left) @ _t(*right)
    assert str(left) in str(error.value) and str(right) in str(error.value)


def test_matmul_batch_mismatch_and_scalars() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4, 2\)"):
        _t(2, 3, 4) @ _t(5, 4, 2)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        Tensor(np.array(1.0)) @ _t(2)


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"])
def test_elementwise_broadcast_failure_names_both_shapes(op: str) -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        getattr(_t(2, 3), op)(_t(4))


def test_reshape_to_wrong_size_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):
        _t(2, 3).reshape(4)


@pytest.mark.parametrize("call", [lambda t: t.sum(dim=2), lambda t: t.softmax(-3), lambda t: t.max(dim=5)])
def test_dimension_out_of_range(call) -> None:
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\]"):
        call(_t(2, 3))


def test_scalar_conversions_and_numpy_on_graph() -> None:
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        _t(2, 3).item()
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        _t(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="floating point"):
        Tensor(np.arange(3), requires_grad=True)


@pytest.mark.parametrize(
    "loss",
    [F.mse_loss, F.l1_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.cross_entropy],
    ids=lambda f: f.__name__,
)
def test_unknown_reduction_names_it_and_the_allowed_ones(loss) -> None:
    with pytest.raises(ValueError, match=r"reduction='average'.*'none', 'mean', 'sum'"):
        loss(_t(3, 2) * 0.5, Tensor(np.full((3, 2), 0.5, dtype=np.float32)), reduction="average")


@pytest.mark.parametrize("module", ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"])
def test_loss_modules_reject_unknown_reduction_at_construction(module: str) -> None:
    with pytest.raises(ValueError, match="reduction='avg'"):
        getattr(nn, module)(reduction="avg")


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits], ids=lambda f: f.__name__)
def test_pointwise_loss_target_shape_mismatch_names_both(loss) -> None:
    with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        loss(_t(4, 1), _t(4))


def test_binary_cross_entropy_rejects_probabilities_outside_0_1() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(Tensor(np.array([0.5, 1.5])), Tensor(np.array([0.0, 1.0])))


def test_cross_entropy_target_errors() -> None:
    with pytest.raises(IndexError, match=r"target 3 is out of bounds.*\[0, 2\]"):
        F.cross_entropy(_t(2, 3), engine.tensor([0, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.nll_loss(_t(2, 3), engine.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"target of shape \(3,\).*input of shape \(2, 3\)"):
        F.cross_entropy(_t(2, 3), engine.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"probability target of shape \(2, 4\)"):
        F.cross_entropy(_t(2, 3), _t(2, 4))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="integer class indices"):
        F.nll_loss(_t(2, 3), _t(2))


def test_linear_input_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"input of shape \(5, 4\).*weight of shape \(2, 3\)"):
        nn.Linear(3, 2)(_t(5, 4))


def test_normalisation_input_errors() -> None:
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expects input of shape \(N, 3\).*\(4, 2\)"):
        nn.BatchNorm1d(3)(_t(4, 2))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(_t(1, 3))
    with pytest.raises(ValueError, match=r"\(2, 5\) does not end in normalized_shape \(4,\)"):
        nn.LayerNorm(4)(_t(2, 5))


def test_option_errors_name_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1\.2"):
        nn.Dropout(1.2)
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(_t(2), -0.1)
    with pytest.raises(ValueError, match=r"approximate='fast'.*'none', 'tanh'"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="clamp needs at least one of min and max"):
        _t(2).clamp()
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")


def test_load_state_dict_strict_errors_list_every_problem() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    state = {k: v.data for k, v in model.state_dict().items() if k != "2.bias"}
    state["0.weight"] = np.zeros((4, 3))
    state["9.weight"] = np.zeros(1)
    before = model[0].bias.data.copy()
    state["0.bias"] = before + 1
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "Error(s) in loading state_dict for Sequential" in message
    assert 'Missing key(s) in state_dict: "2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "9.weight"' in message
    assert "size mismatch for 0.weight: copying a param with shape (4, 3) from checkpoint" in message
    assert "the shape in current model is (2, 3)" in message
    np.testing.assert_array_equal(model[0].bias.data, before)  # nothing was copied


def test_load_state_dict_shape_mismatch_is_an_error_even_when_not_strict() -> None:
    model = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="size mismatch for bias"):
        model.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(3)}, strict=False)
    with pytest.raises(TypeError, match="state_dict value for 'weight' is a str"):
        model.load_state_dict({"weight": "zeros", "bias": np.zeros(2)})


def test_module_assignment_errors() -> None:
    with pytest.raises(TypeError, match=r"module '1' is a int, not an nn\.Module"):
        nn.Sequential(nn.ReLU(), 3)
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign ndarray as parameter 'weight'"):
        layer.weight = np.zeros((2, 2))

    class Early(nn.Module):
        def __init__(self) -> None:
            self.weight = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Early()
    with pytest.raises(IndexError, match="index 5 is out of range for a Sequential of 1 modules"):
        nn.Sequential(nn.ReLU())[5]


def test_second_backward_through_a_freed_graph_says_how_to_keep_it() -> None:
    x = _t(2, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])  # the failed pass added nothing


def test_retain_grad_needs_a_tensor_that_requires_grad() -> None:
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        _t(2).retain_grad()


def test_mean_of_an_integer_tensor_names_the_dtype_and_the_fix() -> None:
    with pytest.raises(RuntimeError, match=r"floating point or complex dtype. Got: Long.*x\.float\(\)\.mean\(\)"):
        engine.tensor([1, 2]).mean()


def test_integer_division_by_zero_and_unknown_rounding_mode() -> None:
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        engine.tensor([1, 2]) // engine.tensor([1, 0])
    with pytest.raises(RuntimeError, match="one of None, 'trunc', or 'floor' but found 'round'"):
        _t(2).div(2, rounding_mode="round")


def test_floor_divide_backward_points_to_the_differentiable_alternative() -> None:
    with pytest.raises(RuntimeError, match=r"floor_divide is not implemented.*rounding_mode='floor'"):
        (_t(2, requires_grad=True) // 2).sum().backward()


def test_cross_entropy_class_weight_errors() -> None:
    scores, target = _t(2, 3), engine.tensor([0, 1])
    with pytest.raises(TypeError, match="weight must be a tensor of class weights, got 'sum'"):
        F.cross_entropy(scores, target, "sum")
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.cross_entropy(scores, target, _t(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="weight has dtype float64 but input has dtype float32"):
        F.cross_entropy(scores, target, Tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match=r"all 3 classes or no classes but got weight tensor of shape: \[2\]"):
        F.nll_loss(scores, target, _t(2))
    with pytest.raises(TypeError, match="weight must be a Tensor of class weights or None, got list"):
        nn.CrossEntropyLoss([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"target -1 is out of bounds.*or equal ignore_index \(-100\)"):
        F.cross_entropy(scores, engine.tensor([-1, -100]))
