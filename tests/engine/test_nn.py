"""nn layers, activations and Module machinery against real PyTorch (weights copied via state_dict)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import Tensor, nn
from nnviz_addon.engine.nn import functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12


def _copy_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _check_module(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray, rng: np.random.Generator) -> None:
    """Same output, input gradient and parameter gradients for one random upstream gradient."""
    xe, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out_e, out_t = ours(xe), theirs(xt)
    np.testing.assert_allclose(out_e.data, out_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng.standard_normal(tuple(out_t.shape))
    out_e.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_allclose(xe.grad.data, xt.grad.numpy(), rtol=RTOL, atol=ATOL)
    torch_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.data, torch_params[name].grad.numpy(), rtol=RTOL, atol=ATOL)


ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "Tanh": (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    "GELU": (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    "GELU tanh": (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    "SiLU": (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    "Identity": (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    "Flatten": (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_modules_match_torch(name: str, rng: np.random.Generator) -> None:
    ours, theirs = ACTIVATIONS[name]
    x = 3 * rng.standard_normal((4, 5, 2))
    x[0, 0, :] = 0.0  # gradients exactly at 0 follow torch's conventions
    _check_module(ours(), theirs(), x, rng)


def test_relu_and_leaky_relu_gradients_at_zero() -> None:
    x = Tensor(np.zeros(3), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 0.0)
    y = Tensor(np.zeros(3), requires_grad=True)
    F.leaky_relu(y, 0.3).sum().backward()
    np.testing.assert_array_equal(y.grad.data, 0.3)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("input_shape", [(5, 3), (3,), (2, 4, 3)], ids=["batch", "vector", "3d"])
def test_linear_matches_torch(bias: bool, input_shape: tuple[int, ...], rng: np.random.Generator) -> None:
    theirs = torch.nn.Linear(3, 4, bias=bias).double()
    ours = nn.Linear(3, 4, bias=bias, dtype=engine.float64)
    _copy_weights(ours, theirs)
    _check_module(ours, theirs, rng.standard_normal(input_shape), rng)


def test_linear_init_is_torchs_uniform_bound_and_float32() -> None:
    layer = nn.Linear(400, 300, generator=np.random.default_rng(0))
    bound = 1 / math.sqrt(400)
    for param in (layer.weight, layer.bias):
        assert param.dtype == engine.float32
        assert np.abs(param.data).max() <= bound
        assert np.abs(param.data).max() > 0.98 * bound  # uniform over the whole range
    assert layer.weight.shape == (300, 400)
    assert np.std(layer.weight.data) == pytest.approx(bound / math.sqrt(3), rel=0.02)
    same = nn.Linear(400, 300, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(same.weight.data, layer.weight.data)


def test_mlp_training_steps_match_torch(rng: np.random.Generator) -> None:
    """A few plain SGD steps (done by hand on .data) keep the two models identical."""
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).double()
    ours = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    _copy_weights(ours, theirs)
    for _ in range(5):
        x, y = rng.standard_normal((16, 3)), rng.integers(0, 3, 16)
        ours.zero_grad()
        theirs.zero_grad()
        loss_e = F.cross_entropy(ours(Tensor(x)), engine.tensor(y))
        loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        loss_e.backward()
        loss_t.backward()
        assert loss_e.item() == pytest.approx(loss_t.item(), rel=1e-12)
        with torch.no_grad():
            for p in theirs.parameters():
                p -= 0.1 * p.grad
        for p in ours.parameters():
            p.data -= 0.1 * p.grad.data
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].data, value.numpy(), rtol=1e-10)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(4,), (2, 3)], ids=["1d", "2d"])
def test_layer_norm_matches_torch(affine: bool, shape: tuple[int, ...], rng: np.random.Generator) -> None:
    theirs = torch.nn.LayerNorm(shape, elementwise_affine=affine).double()
    ours = nn.LayerNorm(shape, elementwise_affine=affine, dtype=engine.float64)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
        _copy_weights(ours, theirs)
    _check_module(ours, theirs, 2 + 3 * rng.standard_normal((5, *shape)), rng)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 3), (6, 3, 4)], ids=["NC", "NCL"])
def test_batch_norm_train_then_eval_matches_torch(
    momentum: float | None, shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=engine.float64)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    _copy_weights(ours, theirs)
    for _ in range(3):  # training: batch statistics, running statistics updated
        ours.zero_grad()
        theirs.zero_grad()
        _check_module(ours, theirs, 1 + 2 * rng.standard_normal(shape), rng)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].data, value.numpy(), rtol=RTOL)
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype == engine.int64
    ours.eval()
    theirs.eval()
    ours.zero_grad()
    theirs.zero_grad()
    _check_module(ours, theirs, rng.standard_normal(shape), rng)
    assert ours.num_batches_tracked.item() == 3


def test_batch_norm_state_dict_names_match_torch() -> None:
    assert list(nn.BatchNorm1d(4).state_dict()) == list(torch.nn.BatchNorm1d(4).state_dict())
    assert [n for n, _ in nn.BatchNorm1d(4).named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]


def test_dropout_statistics_scaling_and_eval_identity() -> None:
    layer = nn.Dropout(0.3, generator=np.random.default_rng(1))
    x = Tensor(np.ones((200, 500)), requires_grad=True)
    out = layer(x)
    zeroed = np.mean(out.data == 0)
    assert zeroed == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(out.data[out.data != 0], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, out.data)  # the gradient is the same mask
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)


def test_dropout_follows_manual_seed() -> None:
    x = Tensor(np.ones(100))
    engine.manual_seed(3)
    first = nn.Dropout(0.5)(x).data
    engine.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)


def _torch_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.Sigmoid())


def _engine_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3), nn.Sigmoid())


def test_state_dict_keys_shapes_and_repr_match_torch() -> None:
    ours, theirs = _engine_mlp(), _torch_mlp()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert ours.state_dict()["0.weight"].shape == (8, 3)
    assert repr(ours) == repr(theirs)


def test_repr_of_every_layer_matches_torch() -> None:
    ours = nn.Sequential(
        nn.Linear(2, 4, bias=False), nn.LeakyReLU(), nn.GELU(), nn.Dropout(0.2), nn.BatchNorm1d(4),
        nn.LayerNorm(4), nn.Softmax(dim=1), nn.Flatten(), nn.Identity(), nn.SiLU(), nn.ReLU(),
    )  # fmt: skip
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 4, bias=False), torch.nn.LeakyReLU(), torch.nn.GELU(), torch.nn.Dropout(0.2),
        torch.nn.BatchNorm1d(4), torch.nn.LayerNorm(4), torch.nn.Softmax(dim=1), torch.nn.Flatten(),
        torch.nn.Identity(), torch.nn.SiLU(), torch.nn.ReLU(),
    )  # fmt: skip
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize(
    ("layer", "kwargs"),
    [
        ("LayerNorm", {"normalized_shape": (2, 3), "elementwise_affine": False}),
        ("LayerNorm", {"normalized_shape": 3, "bias": False}),
        ("BatchNorm1d", {"num_features": 3, "affine": False}),
        ("BatchNorm1d", {"num_features": 3, "bias": False}),
        ("BatchNorm1d", {"num_features": 3, "momentum": None, "track_running_stats": False}),
        ("GELU", {"approximate": "tanh"}),
        ("Softmax", {}),
    ],
)
def test_layer_options_repr_and_state_dict_match_torch(layer: str, kwargs: dict) -> None:
    ours, theirs = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval(rng: np.random.Generator) -> None:
    ours = nn.BatchNorm1d(3, track_running_stats=False, dtype=engine.float64).eval()
    theirs = torch.nn.BatchNorm1d(3, track_running_stats=False).double().eval()
    _check_module(ours, theirs, rng.standard_normal((5, 3)), rng)


def test_module_traversal_and_modes() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout()), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[1], nn.Sequential) and isinstance(model[-1], nn.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "Sequential", "Linear"]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "1.0", "1.1", "2"]
    assert len(list(model.modules())) == 6
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert model.training and model[1][1].training
    model.eval()
    assert not model.training and not model[1][1].training
    model.train()
    assert model[1][1].training


def test_zero_grad_sets_gradients_to_none() -> None:
    model = _engine_mlp()
    model(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_load_state_dict_accepts_tensors_and_arrays_and_keeps_objects() -> None:
    source, target = _engine_mlp(), _engine_mlp()
    weight_before = target[0].weight
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target[0].weight is weight_before
    np.testing.assert_array_equal(target[0].weight.data, source[0].weight.data)
    arrays = {k: np.zeros_like(v.data, dtype=np.float64) for k, v in source.state_dict().items()}
    target.load_state_dict(arrays)
    assert target[0].weight.dtype == engine.float32 and not target[0].weight.data.any()


def test_load_state_dict_strict_false_reports_missing_and_unexpected() -> None:
    model = _engine_mlp()
    state = {k: v for k, v in model.state_dict().items() if k != "2.bias"}
    state["extra.weight"] = np.zeros(2)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"]
    assert result.unexpected_keys == ["extra.weight"]


def test_parameter_and_gradient_arrays_are_live_views() -> None:
    model = _engine_mlp()
    params = model.parameter_arrays()
    assert list(params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert params["0.weight"] is model[0].weight.data
    assert all(g is None for g in model.gradient_arrays().values())
    model(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    grads = model.gradient_arrays()
    assert grads["2.bias"] is model[2].bias.grad.data
    model[0].weight.data -= 1.0  # an optimiser's in-place update shows through the same array
    assert params["0.weight"] is model[0].weight.data


def test_float32_training_run_stays_float32(rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.LayerNorm(6), nn.BatchNorm1d(6), nn.Dropout(0.1),
                          nn.Linear(6, 2))  # fmt: skip
    x = Tensor(rng.standard_normal((8, 4)).astype(np.float32))
    loss = F.cross_entropy(model(x), engine.tensor(rng.integers(0, 2, 8))) * 0.5 + 1.0
    loss.backward()
    assert loss.dtype == engine.float32
    for tensor in (*model.parameters(), *model.buffers()):
        assert tensor.dtype in (engine.float32, engine.int64)
    assert all(p.grad.dtype == engine.float32 for p in model.parameters())


def test_module_to_double_converts_parameters_and_buffers() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    assert all(p.dtype == engine.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == engine.float64
    assert model[1].num_batches_tracked.dtype == engine.int64


def test_custom_module_registers_attributes() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(np.ones(1))
            self.body = nn.Linear(2, 2)
            self.register_buffer("count", Tensor(np.zeros(1)))
            self.note = "not registered"

        def forward(self, x: Tensor) -> Tensor:
            return self.body(x) * self.scale

    net = Net()
    assert list(net.state_dict()) == ["scale", "count", "body.weight", "body.bias"]
    assert [n for n, _ in net.named_parameters()] == ["scale", "body.weight", "body.bias"]
    assert net(Tensor(np.ones((1, 2), dtype=np.float32))).shape == (1, 2)


def test_state_dict_of_shared_and_tied_modules_has_torchs_keys_in_torchs_order() -> None:
    shared, shared_t = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    ours, theirs = nn.Sequential(shared, nn.Tanh(), shared), torch.nn.Sequential(shared_t, torch.nn.Tanh(), shared_t)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})  # strict: no key unexpected

    first, second = nn.Linear(2, 2), nn.Linear(2, 2)
    second.weight = first.weight  # tying keeps 'weight' before 'bias', as torch does
    first_t, second_t = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    second_t.weight = first_t.weight
    tied, tied_t = nn.Sequential(first, second), torch.nn.Sequential(first_t, second_t)
    assert list(tied.state_dict()) == list(tied_t.state_dict())
    assert [n for n, _ in tied.named_parameters()] == [n for n, _ in tied_t.named_parameters()]
