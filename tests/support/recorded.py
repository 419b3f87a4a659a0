"""A user's plain torch training loop, and a small CNN trained by one and recorded, for the tests of
recorded runs (need torch)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from nnviz_addon.record import Recorder


def torch_steps(model: Any, optimizer: Any, loss_of: Callable[[Any], Any], steps: int) -> Iterator[tuple[int, Any]]:
    """A plain torch loop: ``steps`` optimiser steps of ``loss_of(model)``, yielding (step, loss) after
    each (steps from 1), where a test records what it wants."""
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = loss_of(model)
        loss.backward()
        optimizer.step()
        yield step, loss


def train_recorded_cnn(steps: int, every: int, probe: bool = True):
    """A small CNN on random 1×8×8 images, trained by a plain torch loop and recorded."""
    import torch  # only the torch tests call this; the Blender legs have no torch

    torch.manual_seed(1)
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(4, 6, 3, bias=False), tnn.BatchNorm2d(6), tnn.Tanh(),
                           tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(6, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    rec = Recorder(model, name="torch CNN", probe=x[0] if probe else None)
    expected = {}
    for step, loss in torch_steps(model, opt, lambda m: torch.nn.functional.cross_entropy(m(x), y), steps):
        if step % every == 0:
            rec.snapshot(step, loss=loss.item())
            expected[step] = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    return model, x[0], rec, expected
