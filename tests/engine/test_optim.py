"""Optimisers against real torch.optim: whole training trajectories, checkpoints, bad input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nnviz_addon.engine import Tensor, nn, optim
from nnviz_addon.engine.nn import functional as F

STEPS = 100


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# -- small tasks: a net shape, a loss and a few fixed batches ------------------------------------


@dataclass(frozen=True)
class Task:
    sizes: tuple[int, ...]
    activation: str  # "tanh" | "relu"
    loss: str  # "mse" | "bce" | "ce"

    def batches(self, dtype: type, count: int = 4, size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(sum(self.sizes))
        out = []
        for _ in range(count):
            x = rng.normal(size=(size, self.sizes[0])).astype(dtype)
            if self.loss == "mse":
                y = rng.normal(size=(size, self.sizes[-1])).astype(dtype)
            elif self.loss == "bce":
                y = rng.integers(0, 2, (size, 1)).astype(dtype)
            else:
                y = rng.integers(0, self.sizes[-1], size).astype(np.int64)
            out.append((x, y))
        return out


TASKS = {
    "mse": Task((3, 5, 3), "tanh", "mse"),
    "bce": Task((2, 8, 1), "tanh", "bce"),
    "ce": Task((4, 6, 3), "relu", "ce"),
}

# (optimiser, options, task): every option of every optimiser appears at least once.
CASES = [
    ("SGD", {"lr": 0.1}, "mse"),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, "ce"),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}, "bce"),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, "mse"),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}, "ce"),
    ("Adam", {"lr": 0.01}, "ce"),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}, "mse"),
    ("Adam", {"lr": 0.005, "eps": 1e-6, "weight_decay": 0.05, "maximize": True}, "bce"),
    ("AdamW", {"lr": 0.01}, "bce"),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}, "ce"),
    ("RMSprop", {"lr": 0.01}, "mse"),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1}, "ce"),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}, "bce"),
    ("RMSprop", {"lr": 0.001, "centered": True, "maximize": True}, "mse"),
]
CASE_IDS = [f"{name}-{task}-" + "-".join(f"{k}={v}" for k, v in opts.items()) for name, opts, task in CASES]


def engine_model(task: Task, dtype: type) -> nn.Module:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(task.sizes, task.sizes[1:], strict=False)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(task.sizes) - 2:
            layers.append(nn.Tanh() if task.activation == "tanh" else nn.ReLU())
    return nn.Sequential(*layers).to(dtype)


def torch_twin(torch, model: nn.Module) -> Any:
    """The same net in torch, with the engine model's weights."""
    layers = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            layers.append(torch.nn.Linear(layer.in_features, layer.out_features))
        else:
            layers.append(torch.nn.Tanh() if isinstance(layer, nn.Tanh) else torch.nn.ReLU())
    dtype = next(iter(model.parameter_arrays().values())).dtype
    twin = torch.nn.Sequential(*layers).to(getattr(torch, dtype.name))
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.parameter_arrays().items()})
    return twin


def engine_step(model: nn.Module, opt: optim.Optimizer, task: Task, x: np.ndarray, y: np.ndarray) -> None:
    loss_fn = {"mse": F.mse_loss, "bce": F.binary_cross_entropy_with_logits, "ce": F.cross_entropy}[task.loss]
    opt.zero_grad()
    loss_fn(model(Tensor(x)), Tensor(y)).backward()
    opt.step()


def torch_step(torch, model: Any, opt: Any, task: Task, x: np.ndarray, y: np.ndarray) -> None:
    functional = torch.nn.functional
    loss_fn = {
        "mse": functional.mse_loss,
        "bce": functional.binary_cross_entropy_with_logits,
        "ce": functional.cross_entropy,
    }[task.loss]
    opt.zero_grad()
    loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()


def assert_same_weights(model: nn.Module, twin: Any, rtol: float, atol: float, when: str) -> None:
    theirs = twin.state_dict()
    for name, ours in model.parameter_arrays().items():
        np.testing.assert_allclose(
            ours, theirs[name].detach().numpy(), rtol=rtol, atol=atol, err_msg=f"{name} {when}"
        )


# -- trajectories ------------------------------------------------------------------------------------


def train_twins(torch, name, options, task_name, dtype, check=None):
    """Train an engine model and its torch twin side by side for STEPS steps on the same batches;
    ``check(model, twin, step)`` after every step. Returns the engine model and optimiser."""
    task = TASKS[task_name]
    model = engine_model(task, dtype)
    twin = torch_twin(torch, model)
    opt = getattr(optim, name)(model.parameters(), **options)
    twin_opt = getattr(torch.optim, name)(twin.parameters(), **options)
    batches = task.batches(dtype)
    for step in range(STEPS):
        x, y = batches[step % len(batches)]
        engine_step(model, opt, task, x, y)
        torch_step(torch, twin, twin_opt, task, x, y)
        if check is not None:
            check(model, twin, step + 1)
    return model, twin, opt


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options", "task_name"), CASES, ids=CASE_IDS)
def test_float64_trajectory_matches_torch_every_step(torch, name, options, task_name):
    def every_step(model, twin, step):
        assert_same_weights(model, twin, rtol=1e-7, atol=1e-12, when=f"after step {step}")

    train_twins(torch, name, options, task_name, np.float64, check=every_step)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options", "task_name"), CASES, ids=CASE_IDS)
def test_float32_trajectory_matches_torch_and_stays_float32(torch, name, options, task_name):
    model, twin, opt = train_twins(torch, name, options, task_name, np.float32)
    assert_same_weights(model, twin, rtol=1e-4, atol=1e-5, when=f"after {STEPS} steps")
    for p in model.parameters():
        assert p.data.dtype == np.float32
        for key, buffer in opt.state[p].items():
            if isinstance(buffer, np.ndarray):
                assert buffer.dtype == np.float32, key


@pytest.mark.torch
def test_param_groups_with_their_own_options_match_torch(torch):
    task = TASKS["ce"]
    model = engine_model(task, np.float64)
    twin = torch_twin(torch, model)

    def groups(net):
        first, _, last = list(net)
        return [{"params": first.parameters(), "lr": 0.1, "momentum": 0.9}, {"params": last.parameters()}]

    opt = optim.SGD(groups(model), lr=0.02, weight_decay=0.01)
    twin_opt = torch.optim.SGD(groups(twin), lr=0.02, weight_decay=0.01)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.02
    assert opt.param_groups[1]["momentum"] == 0
    batches = task.batches(np.float64)
    for step in range(30):
        x, y = batches[step % len(batches)]
        engine_step(model, opt, task, x, y)
        torch_step(torch, twin, twin_opt, task, x, y)
    assert_same_weights(model, twin, rtol=1e-7, atol=1e-12, when="after 30 steps")


def test_parameters_without_grad_are_skipped_and_get_no_state():
    used, unused = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([used, unused], lr=0.1)
    (used * used).sum().backward()
    opt.step()
    assert not np.allclose(used.data, 1.0)
    np.testing.assert_array_equal(unused.data, np.ones(2))
    assert unused not in opt.state and opt.state[used]["step"] == 1
    assert list(opt.state_dict()["state"]) == [0]


def test_zero_grad_drops_or_zeroes_gradients():
    p = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 2.0).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_updates_write_into_the_same_arrays():
    """The visualisation holds live views of the weights: an update must not replace them."""
    model = engine_model(TASKS["mse"], np.float32)
    before = model.parameter_arrays()
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        opt = getattr(optim, name)(model.parameters(), lr=0.01)
        engine_step(model, opt, TASKS["mse"], *TASKS["mse"].batches(np.float32)[0])
    for key, array in model.parameter_arrays().items():
        assert array is before[key]


# -- checkpoints ---------------------------------------------------------------------------------------

CHECKPOINT_CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
]


@pytest.mark.parametrize(("name", "options"), CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_state_dict_round_trip_continues_exactly(name, options):
    task = TASKS["ce"]
    batches = task.batches(np.float32)
    reference = engine_model(task, np.float32)
    start = {k: v.copy() for k, v in reference.parameter_arrays().items()}
    reference_opt = getattr(optim, name)(reference.parameters(), **options)
    for step in range(40):
        engine_step(reference, reference_opt, task, *batches[step % len(batches)])
    checkpoint_weights = {k: v.copy() for k, v in reference.parameter_arrays().items()}
    checkpoint = reference_opt.state_dict()
    for step in range(40, 60):
        engine_step(reference, reference_opt, task, *batches[step % len(batches)])

    resumed = engine_model(task, np.float32)
    resumed.load_state_dict(checkpoint_weights)
    resumed_opt = getattr(optim, name)(resumed.parameters(), lr=123.0)  # options come from the checkpoint
    resumed_opt.load_state_dict(checkpoint)
    for step in range(40, 60):
        engine_step(resumed, resumed_opt, task, *batches[step % len(batches)])

    for key, array in reference.parameter_arrays().items():
        np.testing.assert_array_equal(resumed.parameter_arrays()[key], array, err_msg=key)
        assert not np.array_equal(array, start[key])
    assert resumed_opt.param_groups[0]["lr"] == options["lr"]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_state_dict_has_torch_layout_and_loads_torch_checkpoints(torch, name, options):
    task = TASKS["mse"]
    batches = task.batches(np.float64)
    model = engine_model(task, np.float64)
    twin = torch_twin(torch, model)
    opt = getattr(optim, name)(model.parameters(), **options)
    twin_opt = getattr(torch.optim, name)(twin.parameters(), **options)
    for step in range(10):
        engine_step(model, opt, task, *batches[step % len(batches)])
        torch_step(torch, twin, twin_opt, task, *batches[step % len(batches)])

    ours, theirs = opt.state_dict(), twin_opt.state_dict()
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert set(ours["param_groups"][0]) <= set(theirs["param_groups"][0])
    assert ours["state"].keys() == theirs["state"].keys()
    for index, buffers in theirs["state"].items():
        assert ours["state"][index].keys() == buffers.keys()
        for key, value in buffers.items():
            np.testing.assert_allclose(ours["state"][index][key], value.numpy(), rtol=1e-7, atol=1e-12)

    # Continue from torch's checkpoint (its tensors as numpy arrays) and still match torch.
    as_numpy = {
        "state": {i: {k: v.numpy() for k, v in st.items()} for i, st in theirs["state"].items()},
        "param_groups": theirs["param_groups"],
    }
    fresh = getattr(optim, name)(model.parameters(), **options)
    fresh.load_state_dict(as_numpy)
    for step in range(10, 30):
        engine_step(model, fresh, task, *batches[step % len(batches)])
        torch_step(torch, twin, twin_opt, task, *batches[step % len(batches)])
    assert_same_weights(model, twin, rtol=1e-7, atol=1e-12, when="after resuming from torch's checkpoint")


def test_state_dict_is_a_snapshot():
    p = Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    saved = opt.state_dict()
    frozen = saved["state"][0]["momentum_buffer"].copy()
    opt.zero_grad()
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], frozen)


def test_load_state_dict_rejects_a_different_layout():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters, this optimizer's has 1"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="has 1 parameter groups, this optimizer has 2"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(
            optim.SGD([a, b], lr=0.1).state_dict()
        )
    momentum = optim.SGD([a], lr=0.1, momentum=0.9)
    wrong_shape = {**momentum.state_dict(), "state": {0: {"momentum_buffer": np.zeros(5)}}}
    with pytest.raises(ValueError, match=r"has shape \(5,\), its parameter has shape \(2,\)"):
        momentum.load_state_dict(wrong_shape)


# -- bad input ------------------------------------------------------------------------------------------

BAD_OPTIONS = [
    ("SGD", {"lr": -1}, "Invalid learning rate: -1"),
    ("SGD", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov momentum requires"),
    ("Adam", {"lr": "fast"}, "Invalid learning rate: 'fast'"),
    ("Adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0 (must be in [0, 1))"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"betas": 0.9}, "Invalid betas: 0.9"),
    ("AdamW", {"weight_decay": -0.01}, "Invalid weight_decay value: -0.01"),
    ("RMSprop", {"alpha": -0.9}, "Invalid alpha value: -0.9"),
    ("RMSprop", {"momentum": -1}, "Invalid momentum value: -1"),
]


@pytest.mark.parametrize(("name", "options", "message"), BAD_OPTIONS, ids=[m for _, _, m in BAD_OPTIONS])
def test_bad_hyper_parameters_are_rejected(name, options, message):
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(optim, name)([p], **options)


def test_bad_hyper_parameters_in_a_group_are_rejected():
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"Invalid learning rate: -0\.1 \(must be >= 0\)"):
        optim.Adam([{"params": [p], "lr": -0.1}])


def test_bad_params_are_rejected():
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="param_group must have a 'params' key"):
        optim.SGD([p], lr=0.1).add_param_group({"lr": 0.1})


@pytest.mark.torch
@pytest.mark.parametrize("name", ["Adam", "RMSprop"])
def test_parameters_frozen_for_a_while_match_torch(torch, name):
    """Steps where one parameter has no gradient: it keeps its value and its own step count."""
    task = TASKS["mse"]
    model = engine_model(task, np.float64)
    twin = torch_twin(torch, model)
    opt = getattr(optim, name)(model.parameters(), lr=0.01)
    twin_opt = getattr(torch.optim, name)(twin.parameters(), lr=0.01)
    batches = task.batches(np.float64)
    for step in range(40):
        x, y = batches[step % len(batches)]
        opt.zero_grad()
        F.mse_loss(model(Tensor(x)), Tensor(y)).backward()
        twin_opt.zero_grad()
        torch.nn.functional.mse_loss(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        if 10 <= step < 20:
            list(model.parameters())[-1].grad = None
            list(twin.parameters())[-1].grad = None
        opt.step()
        twin_opt.step()
        assert_same_weights(model, twin, rtol=1e-7, atol=1e-12, when=f"after step {step + 1}")
    assert [opt.state[p]["step"] for p in model.parameters()] == [40, 40, 40, 30]
