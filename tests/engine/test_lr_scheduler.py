"""Learning-rate schedulers against real torch.optim.lr_scheduler."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.engine import Tensor, nn, optim
from nnviz_addon.engine.nn import functional as F
from nnviz_addon.engine.optim.lr_scheduler import CosineAnnealingLR, StepLR


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def two_groups(lrs: tuple[float, float]) -> list[dict]:
    return [{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]


def lr_sequences(torch, scheduler_name: str, options: dict, steps: int, lrs=(0.1, 0.03)):
    """(ours, torch's): each group's lr after construction and after every step."""
    ours_opt = optim.SGD(two_groups(lrs), lr=1.0)
    theirs_opt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs])
    ours = getattr(optim.lr_scheduler, scheduler_name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, scheduler_name)(theirs_opt, **options)
    ours_seq, theirs_seq = [ours.get_last_lr()], [theirs.get_last_lr()]
    for _ in range(steps):
        ours_opt.step()
        theirs_opt.step()  # no gradients: only keeps torch from warning about the call order
        ours.step()
        theirs.step()
        ours_seq.append(ours.get_last_lr())
        theirs_seq.append(theirs.get_last_lr())
        assert [g["lr"] for g in ours_opt.param_groups] == ours_seq[-1]
    return ours_seq, theirs_seq


@pytest.mark.torch
@pytest.mark.parametrize("options", [{"step_size": 1}, {"step_size": 7}, {"step_size": 10, "gamma": 0.5}])
def test_step_lr_sequence_equals_torch(torch, options):
    ours, theirs = lr_sequences(torch, "StepLR", options, steps=50)
    assert ours == theirs


@pytest.mark.torch
@pytest.mark.parametrize(
    "options",
    [{"T_max": 1}, {"T_max": 5}, {"T_max": 10, "eta_min": 0.01}, {"T_max": 37, "eta_min": 1e-4}],
)
def test_cosine_annealing_sequence_equals_torch_over_several_periods(torch, options):
    ours, theirs = lr_sequences(torch, "CosineAnnealingLR", options, steps=4 * options["T_max"] + 3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)
    # It really anneals: lowest at T_max, back at the base rate at 2·T_max.
    t_max, eta_min = options["T_max"], options.get("eta_min", 0.0)
    np.testing.assert_allclose(ours[t_max], [eta_min, eta_min], atol=1e-12)
    np.testing.assert_allclose(ours[2 * t_max], [0.1, 0.03], rtol=1e-9)


def test_construction_records_initial_lr_and_base_lrs():
    opt = optim.Adam(two_groups((0.1, 0.03)))
    scheduler = StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]
    assert scheduler.base_lrs == [0.1, 0.03]
    assert scheduler.last_epoch == 0
    assert scheduler.get_last_lr() == [0.1, 0.03]
    scheduler.step()
    scheduler.step()
    assert scheduler.last_epoch == 2
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.003])
    assert scheduler.base_lrs == [0.1, 0.03]


@pytest.mark.torch
def test_optimizer_with_scheduler_trajectory_matches_torch(torch):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, 32)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).to(np.float64)
    twin = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.parameter_arrays().items()})
    opt = optim.Adam(model.parameters(), lr=0.05)
    twin_opt = torch.optim.Adam(twin.parameters(), lr=0.05)
    scheduler = CosineAnnealingLR(opt, T_max=15, eta_min=0.001)
    twin_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(twin_opt, T_max=15, eta_min=0.001)
    for _ in range(60):
        opt.zero_grad()
        F.cross_entropy(model(Tensor(x)), Tensor(y)).backward()
        opt.step()
        scheduler.step()
        twin_opt.zero_grad()
        torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        twin_opt.step()
        twin_scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx(twin_scheduler.get_last_lr(), rel=1e-13)
    theirs = twin.state_dict()
    for name, ours in model.parameter_arrays().items():
        np.testing.assert_allclose(ours, theirs[name].detach().numpy(), rtol=1e-7, atol=1e-12, err_msg=name)


def test_scheduler_state_dict_resumes_the_same_sequence():
    def fresh():
        opt = optim.SGD(two_groups((0.2, 0.05)), lr=1.0, momentum=0.9)
        return opt, CosineAnnealingLR(opt, T_max=6, eta_min=0.01)

    opt, scheduler = fresh()
    for _ in range(4):
        scheduler.step()
    saved_opt, saved = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 4 and saved["base_lrs"] == [0.2, 0.05]
    expected = []
    for _ in range(10):
        scheduler.step()
        expected.append(scheduler.get_last_lr())

    resumed_opt, resumed = fresh()
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    got = []
    for _ in range(10):
        resumed.step()
        got.append(resumed.get_last_lr())
    assert got == expected


def test_bad_scheduler_arguments_are_rejected():
    opt = optim.SGD(two_groups((0.1, 0.1)), lr=0.1)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        StepLR([], step_size=1)
    with pytest.raises(ValueError, match="StepLR step_size must be a positive integer, got 0"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match=r"CosineAnnealingLR T_max must be a positive integer, got 2\.5"):
        CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(KeyError, match="'initial_lr' is not specified in param_groups"):
        StepLR(opt, step_size=3, last_epoch=5)
